// src/sched/lc.ts — least connection as net/netfilter/ipvs/ip_vs_lc.c ip_vs_lc_schedule(): the first dest
// in list order with the smallest activeconns*256 + inactconns wins (strict <, so ties keep the earlier
// dest); overloaded and weight-0 dests are skipped.
import { CountingScheduler } from './counting.js';
import type { SchedDest } from './types.js';

export class LeastConnection extends CountingScheduler {
  readonly name = 'lc';

  protected pick(dests: readonly SchedDest[]): SchedDest | null {
    let least: SchedDest | null = null;
    let loh = 0;
    for (const d of dests) {
      if (this.overloaded(d) || d.weight === 0) continue;
      const doh = this.overhead(d);
      if (!least || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
