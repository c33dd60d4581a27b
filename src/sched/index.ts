// src/sched/index.ts — the scheduler registry: ipvsadm's scheduler names to implementations, and which
// of them can run ahead of the data path as a decision ring.
import type { SchedulerName } from '../model/service.js';
import { RoundRobin } from './rr.js';
import { WeightedRoundRobin } from './wrr.js';
import { LeastConnection } from './lc.js';
import { WeightedLeastConnection } from './wlc.js';
import { ShortestExpectedDelay } from './sed.js';
import { NeverQueue } from './nq.js';
import { WeightedFailOver } from './fo.js';
import { OverflowConnection } from './ovf.js';
import { SourceHashing } from './sh.js';
import { DestinationHashing } from './dh.js';
import { MaglevHashing } from './mh.js';
import { LocalityLeastConnection, LocalityLeastConnectionReplicated } from './lblc.js';
import { defaultContext, type SchedContext } from './context.js';
import type { SchedDest, SequenceScheduler } from './types.js';

/** Schedulers whose decisions do not depend on the packet: the data path takes them from a ring. */
export const SEQUENCE_SCHEDULERS: readonly SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf'];
/** Sequence schedulers that read the live connection counters (their rings are resimulated as those move). */
export const COUNTING_SCHEDULERS: readonly SchedulerName[] = ['lc', 'wlc', 'sed', 'nq', 'fo', 'ovf'];

export interface SchedulerOptions {
  ctx?: SchedContext;
  /** Count every pick as a new inactive connection for the picks after it (ring mode). */
  simulate?: boolean;
}

/** A new scheduler bound to a service whose dests are `dests` (the kernel's init_service). */
export function createScheduler(name: SchedulerName, dests: readonly SchedDest[], opts: SchedulerOptions = {}): SequenceScheduler {
  const ctx = opts.ctx ?? defaultContext();
  const sim = opts.simulate ?? false;
  switch (name) {
    case 'rr': return new RoundRobin();
    case 'wrr': return new WeightedRoundRobin(dests);
    case 'lc': return new LeastConnection(sim);
    case 'wlc': return new WeightedLeastConnection(sim);
    case 'sed': return new ShortestExpectedDelay(sim);
    case 'nq': return new NeverQueue(sim);
    case 'fo': return new WeightedFailOver(sim);
    case 'ovf': return new OverflowConnection(sim);
    case 'sh': return new SourceHashing(dests, ctx);
    case 'dh': return new DestinationHashing(dests);
    case 'mh': return new MaglevHashing(dests, ctx);
    case 'lblc': return new LocalityLeastConnection(ctx);
    case 'lblcr': return new LocalityLeastConnectionReplicated(ctx);
  }
}
