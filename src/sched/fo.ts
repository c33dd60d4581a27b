// src/sched/fo.ts — weighted fail over as ip_vs_fo.c: the non-overloaded dest with the highest weight
// (strictly greater, so the earliest in list order wins a tie; weight 0 never qualifies).
import { CountingScheduler } from './counting.js';
import type { SchedDest } from './types.js';

export class WeightedFailOver extends CountingScheduler {
  readonly name = 'fo';

  protected pick(dests: readonly SchedDest[]): SchedDest | null {
    let best: SchedDest | null = null;
    let hw = 0;
    for (const d of dests) {
      if (!this.overloaded(d) && d.weight > hw) {
        best = d;
        hw = d.weight;
      }
    }
    return best;
  }
}
