// src/sched/types.ts — what a scheduler sees of a service's dests, in the kernel's list order
// (the kernel adds a new dest at the head of svc->destinations, so the newest comes first), and the
// packet fields the hashing/locality schedulers key on.
export interface SchedDest {
  /** Stable identity of the dest (the data path's dest id). */
  readonly id: number;
  weight: number;
  /** IP_VS_DEST_F_OVERLOAD: set/cleared by the connection thresholds; schedulers skip such dests. */
  overloaded: boolean;
  /** Live connection counts (struct ip_vs_dest activeconns/inactconns); 0 when absent. */
  activeConns?: number;
  inactConns?: number;
  /** The RIP and port (mh hashes them to build its permutation). */
  addr?: string;
  port?: number;
  /** The latest non-zero weight (dest->last_weight, which mh fills its table with). */
  lastWeight?: number;
  /** IP_VS_DEST_F_AVAILABLE: false once deleted (lblc/lblcr may still hold such a dest). */
  available?: boolean;
  /** Connection thresholds (ipvsadm -x/-y); 0 = none. A simulated pick sets OVERLOAD at the upper one. */
  uThreshold?: number;
  lThreshold?: number;
}

/** The fields of a new connection's first packet the hash and locality schedulers use. */
export interface PacketKey {
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
}

/**
 * A scheduler as IPVS runs it: schedule() picks the next dest (or null) and advances the
 * scheduler's own state; the hooks mirror the kernel's add_dest/del_dest/upd_dest callbacks and are
 * called after the list was changed. snapshot()/restore() let the ring builder rewind the state to the
 * last decision the data path actually consumed. `pkt` is only read by the hashing and locality
 * schedulers (sh, dh, mh, lblc, lblcr), which cannot be precomputed into a ring.
 */
export interface SequenceScheduler<S = unknown> {
  readonly name: string;
  schedule(dests: readonly SchedDest[], pkt?: PacketKey): SchedDest | null;
  onAdd(dests: readonly SchedDest[], added: SchedDest): void;
  /** `index` is where the removed dest was in the list before removal. */
  onDelete(dests: readonly SchedDest[], removed: SchedDest, index: number): void;
  onUpdate(dests: readonly SchedDest[], updated: SchedDest): void;
  snapshot(): S;
  restore(state: S): void;
}

/** ip_vs_dest_conn_overhead(): active connections weigh 256 times an inactive one. */
export const connOverhead = (d: SchedDest): number => (d.activeConns ?? 0) * 256 + (d.inactConns ?? 0);

/** Neither overloaded nor quiesced: what the list-walking schedulers accept. */
export const usable = (d: SchedDest): boolean => !d.overloaded && d.weight > 0;
