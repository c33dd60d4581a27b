// src/sched/rr.ts — round robin exactly as net/netfilter/ipvs/ip_vs_rr.c: the state is the list position
// of the last pick (or the list head); a pick scans cyclically after it and skips overloaded and
// weight-0 dests; deleting the current dest moves the position to its predecessor.
import type { SchedDest, SequenceScheduler } from './types.js';

/** null = the list head (svc->destinations), else the id of the last picked dest. */
type RrState = number | null;

export class RoundRobin implements SequenceScheduler<RrState> {
  readonly name = 'rr';
  private last: RrState = null;

  schedule(dests: readonly SchedDest[]): SchedDest | null {
    const n = dests.length;
    const at = this.last === null ? -1 : dests.findIndex((d) => d.id === this.last);
    // The kernel scans from after `last` to the end, then (unless `last` was the head) from the start
    // up to and including `last`: n entries in cyclic order either way.
    for (let k = 1; k <= n; k++) {
      const d = dests[(at + k + n) % n];
      if (!d.overloaded && d.weight > 0) {
        this.last = d.id;
        return d;
      }
    }
    return null;
  }

  onAdd(): void {}

  onDelete(dests: readonly SchedDest[], removed: SchedDest, index: number): void {
    if (this.last === removed.id) this.last = index === 0 ? null : dests[index - 1].id;
  }

  onUpdate(): void {}

  snapshot(): RrState {
    return this.last;
  }

  restore(state: RrState): void {
    this.last = state;
  }
}
