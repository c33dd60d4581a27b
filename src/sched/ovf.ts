// src/sched/ovf.ts — overflow connection as ip_vs_ovf.c: among dests that are not overloaded, have
// weight > 0 and no more active connections than their weight, the first with the highest weight.
import { CountingScheduler } from './counting.js';
import type { SchedDest } from './types.js';

export class OverflowConnection extends CountingScheduler {
  readonly name = 'ovf';

  protected pick(dests: readonly SchedDest[]): SchedDest | null {
    let best: SchedDest | null = null;
    let hw = 0;
    for (const d of dests) {
      const w = d.weight;
      if (this.overloaded(d) || this.active(d) > w || w === 0) continue;
      if (!best || w > hw) {
        best = d;
        hw = w;
      }
    }
    return best;
  }
}
