// src/control/lblc.ts — the control plane's half of lblc/lblcr (bpf/include/xvs_lblc.h is the data path's
// half): the per-service periodic timer of ip_vs_lblc.c / ip_vs_lblcr.c that expires cache entries, and
// the table edits the kernel gets for free from holding dest pointers (purge of a deleted dest's id, flush
// when the scheduler goes). The cache itself lives in the xvs_lblc map, filled by the data path.
//
// The timer, as ip_vs_lblc_check_expire(): every CHECK_EXPIRE_INTERVAL (60 s) after the service got the
// scheduler; every COUNT_FOR_FULL_EXPIRATION-th run (the 30th, then every 30 runs) is a full check that
// removes entries unused for lblc(r)_expiration (default 24 h); the other runs only collect when the
// service has more than max_size (16 × 1024) entries, removing up to (entries - max_size) × 4/3 (at most
// max_size / 2) entries unused for ENTRY_TIMEOUT (6 min). Approximation: the kernel walks its 1024
// buckets from a rover; xvs walks the map's order, so past 16384 entries a different subset may go.
import type { Datapath, LocalityEntry } from '../datapath/datapath.js';

const S = 1_000_000_000n;
export const CHECK_EXPIRE_INTERVAL_NS = 60n * S;
export const ENTRY_TIMEOUT_NS = 6n * 60n * S;
export const COUNT_FOR_FULL_EXPIRATION = 30;
export const LBLC_MAX_SIZE = 1024 * 16;

/** One service's periodic timer (tbl->periodic_timer, tbl->counter). */
export class LocalityTimer {
  private nextNs: bigint;
  private counter = 1;

  constructor(startNs: bigint) {
    this.nextNs = startNs + CHECK_EXPIRE_INTERVAL_NS;
  }

  /** The next deadline (CLOCK_MONOTONIC ns). */
  get deadline(): bigint {
    return this.nextNs;
  }

  /**
   * Runs every deadline up to `nowNs` over the service's entries (each run sees the clock at its
   * deadline, as the kernel's timer sees jiffies); returns the entries it removes.
   */
  run(nowNs: bigint, entries: readonly LocalityEntry[], expirationS: number): LocalityEntry[] {
    const alive = new Set(entries);
    const removed: LocalityEntry[] = [];
    const drop = (e: LocalityEntry): void => {
      alive.delete(e);
      removed.push(e);
    };
    while (this.nextNs <= nowNs) {
      const now = this.nextNs;
      if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
        // ip_vs_lblc_full_check(): time_before(now, lastuse + expiration) keeps an entry.
        const exp = BigInt(expirationS) * S;
        for (const e of [...alive]) if (now >= e.lastUseNs + exp) drop(e);
        this.counter = 1;
      } else if (alive.size <= LBLC_MAX_SIZE) {
        this.counter++;
      } else {
        let goal = Math.min(Math.trunc(((alive.size - LBLC_MAX_SIZE) * 4) / 3), LBLC_MAX_SIZE / 2);
        for (const e of [...alive]) {
          if (goal <= 0) break;
          if (now < e.lastUseNs + ENTRY_TIMEOUT_NS) continue;
          drop(e);
          goal--;
        }
      }
      this.nextNs += CHECK_EXPIRE_INTERVAL_NS;
    }
    return removed;
  }
}

/** ip_vs_lblc_flush(): every entry of a service goes (scheduler unbound, service deleted). */
export function flushLocality(dp: Datapath, svcId: number): number {
  let n = 0;
  for (const e of dp.localityEntries()) if (e.svcId === svcId && dp.deleteLocality(e.key)) n++;
  return n;
}

/**
 * A dest left the service: its id leaves the service's entries now (ids are reused, while the kernel's
 * entries keep the dest itself). lblc: the entry goes — the next connection reschedules and creates a
 * new one, as the kernel replaces an entry whose dest is unavailable. lblcr: the member goes (an emptied
 * set takes its entry with it); the kernel would keep the dead member, skipped by ip_vs_dest_set_min(),
 * until the set shrinks or the entry expires.
 */
export function purgeLocalityDest(dp: Datapath, svcId: number, destId: number): void {
  for (const e of dp.localityEntries()) {
    if (e.svcId !== svcId || !e.dests.includes(destId)) continue;
    const rest = e.dests.filter((id) => id !== destId);
    if (rest.length === 0) dp.deleteLocality(e.key);
    else dp.updateLocality(e.key, { dests: rest });
  }
}
