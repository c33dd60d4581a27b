// src/sched/index.ts — the scheduler registry: ipvsadm's scheduler names to implementations.
import type { SchedulerName } from '../model/service.js';
import { XvsError } from '../model/errors.js';
import { RoundRobin } from './rr.js';
import { WeightedRoundRobin } from './wrr.js';
import type { SchedDest, SequenceScheduler } from './types.js';

/** A new scheduler bound to a service whose dests are `dests` (the kernel's init_service). */
export function createScheduler(name: SchedulerName, dests: readonly SchedDest[]): SequenceScheduler {
  switch (name) {
    case 'rr': return new RoundRobin();
    case 'wrr': return new WeightedRoundRobin(dests);
    default: throw new XvsError('EOPNOTSUPP', `scheduler ${name} is not implemented in xvs yet`);
  }
}
