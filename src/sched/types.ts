// src/sched/types.ts — what a scheduler sees of a service's dests, in the kernel's list order
// (the kernel adds a new dest at the head of svc->destinations, so the newest comes first).
export interface SchedDest {
  /** Stable identity of the dest (the data path's dest id). */
  readonly id: number;
  weight: number;
  /** IP_VS_DEST_F_OVERLOAD: set by thresholds (not implemented yet); schedulers skip such dests. */
  overloaded: boolean;
}

/**
 * A sequence scheduler as IPVS runs it: schedule() picks the next dest (or null) and advances the
 * scheduler's own state; the hooks mirror the kernel's add_dest/del_dest/upd_dest callbacks and are
 * called after the list was changed. snapshot()/restore() let the ring builder rewind the state to the
 * last decision the data path actually consumed.
 */
export interface SequenceScheduler<S = unknown> {
  readonly name: string;
  schedule(dests: readonly SchedDest[]): SchedDest | null;
  onAdd(dests: readonly SchedDest[], added: SchedDest): void;
  /** `index` is where the removed dest was in the list before removal. */
  onDelete(dests: readonly SchedDest[], removed: SchedDest, index: number): void;
  onUpdate(dests: readonly SchedDest[], updated: SchedDest): void;
  snapshot(): S;
  restore(state: S): void;
}
