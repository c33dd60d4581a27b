// src/sched/wlc.ts — weighted least connection as ip_vs_wlc.c ip_vs_wlc_schedule(): the first usable dest
// (not overloaded, weight > 0) seeds `least`; every later non-overloaded dest replaces it when
// loh * w(dest) > doh * w(least) (cross-multiplied overhead/weight, strict, so ties keep the earlier one).
// A later weight-0 dest never wins (loh * 0 > doh * w is false), exactly as in the kernel.
import { CountingScheduler } from './counting.js';
import type { SchedDest } from './types.js';

/** The wlc walk with a given overhead (sed's, lblc's and lblcr's are the same walk). */
export function weightedLeast(
  dests: readonly SchedDest[],
  overhead: (d: SchedDest) => number,
  overloaded: (d: SchedDest) => boolean = (d) => d.overloaded,
): SchedDest | null {
  let i = 0;
  while (i < dests.length && (overloaded(dests[i]) || dests[i].weight <= 0)) i++;
  if (i === dests.length) return null;
  let least = dests[i];
  let loh = overhead(least);
  for (i++; i < dests.length; i++) {
    const d = dests[i];
    if (overloaded(d)) continue;
    const doh = overhead(d);
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

export class WeightedLeastConnection extends CountingScheduler {
  readonly name = 'wlc';
  private readonly oh = (d: SchedDest): number => this.overhead(d);
  private readonly over = (d: SchedDest): boolean => this.overloaded(d);

  protected pick(dests: readonly SchedDest[]): SchedDest | null {
    return weightedLeast(dests, this.oh, this.over);
  }
}
