// src/sched/sed.ts — shortest expected delay as ip_vs_sed.c: wlc's walk with overhead activeconns + 1
// (inactive connections do not count; scaling by 256 changes no comparison).
import { CountingScheduler } from './counting.js';
import { weightedLeast } from './wlc.js';
import type { SchedDest } from './types.js';

export class ShortestExpectedDelay extends CountingScheduler {
  readonly name = 'sed';
  private readonly oh = (d: SchedDest): number => this.active(d) + 1;
  private readonly over = (d: SchedDest): boolean => this.overloaded(d);

  protected pick(dests: readonly SchedDest[]): SchedDest | null {
    return weightedLeast(dests, this.oh, this.over);
  }
}
