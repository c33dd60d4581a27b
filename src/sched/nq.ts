// src/sched/nq.ts — never queue as ip_vs_nq.c: the first usable dest with no active connection wins at
// once; otherwise sed's choice (overhead activeconns + 1, cross-multiplied by weight, strict >).
import { CountingScheduler } from './counting.js';
import type { SchedDest } from './types.js';

export class NeverQueue extends CountingScheduler {
  readonly name = 'nq';

  protected pick(dests: readonly SchedDest[]): SchedDest | null {
    let least: SchedDest | null = null;
    let loh = 0;
    for (const d of dests) {
      if (this.overloaded(d) || !d.weight) continue;
      const doh = this.active(d) + 1;
      if (this.active(d) === 0) return d;
      if (!least || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
