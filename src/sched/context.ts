// src/sched/context.ts — what a scheduler reads from its service and host at decision time (the kernel
// reads svc->flags and the ipvs sysctls live, so these are read on every pick, never copied).
/** IP_VS_SVC_F_SCHED1..3 (ipvsadm -b flag-1..3; sh-fallback/mh-fallback = 1, sh-port/mh-port = 2). */
export const SCHED_F_1 = 1;
export const SCHED_F_2 = 2;
export const SCHED_F_3 = 4;

export interface SchedContext {
  /** The service's scheduler flags (SCHED_F_* bits). */
  flags: number;
  /** Clock in milliseconds (jiffies), for lblc/lblcr's entry ages and timers. */
  nowMs(): number;
  /** sysctl lblc_expiration / lblcr_expiration in seconds (default one day). */
  lblcExpirationS: number;
  lblcrExpirationS: number;
}

export const DEFAULT_EXPIRATION_S = 24 * 60 * 60;

export const defaultContext = (nowMs: () => number = () => Date.now()): SchedContext =>
  ({ flags: 0, nowMs, lblcExpirationS: DEFAULT_EXPIRATION_S, lblcrExpirationS: DEFAULT_EXPIRATION_S });

/** ipvsadm's -b names to bits (parse_sched_flags in ipvsadm.c: names of both schedulers map to the same bits). */
export const SCHED_FLAG_NAMES: Readonly<Record<string, number>> = {
  'flag-1': SCHED_F_1, 'flag-2': SCHED_F_2, 'flag-3': SCHED_F_3,
  'sh-fallback': SCHED_F_1, 'sh-port': SCHED_F_2,
  'mh-fallback': SCHED_F_1, 'mh-port': SCHED_F_2,
};
