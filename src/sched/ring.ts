// src/sched/ring.ts — the decision ring of DESIGN.md "Scheduling": runs a sequence scheduler ahead of the
// data path and publishes its picks into the service's mmapped ring. The scheduler's state before each
// produced decision is remembered, so a change to the dest list rewinds to the decision the data path
// will consume next and continues from there exactly as the kernel would have.
import { DEST_NONE, RING_MASK, RING_SLOTS } from '../datapath/abi.js';
import type { SchedDest, SequenceScheduler } from './types.js';

/** The data path's side of one service's ring (struct xvs_ring), as the datapath layer exposes it. */
export interface RingPort {
  cons(): bigint;
  prod(): bigint;
  writeSlot(index: bigint, destId: number): void;
  /** Publishes decisions up to `prod` (exclusive); slots must be written before (release ordering). */
  publish(prod: bigint): void;
}

export class DecisionRing<S = unknown> {
  private readonly before: S[] = new Array(RING_SLOTS);
  /** Index of the next decision to produce. */
  private next: bigint;
  /** The first decision this object produced: earlier ones (a previous xvsd's, adopted) have no
   * remembered scheduler state to rewind to. */
  private readonly firstOwn: bigint;

  constructor(
    private readonly port: RingPort,
    private sched: SequenceScheduler<S>,
    private readonly dests: () => readonly SchedDest[],
  ) {
    this.next = port.prod();
    this.firstOwn = this.next;
  }

  get scheduler(): SequenceScheduler<S> {
    return this.sched;
  }

  /**
   * Rewinds the scheduler to its state just before the next decision the data path will take, so a
   * following change (hook) and refill continue the kernel's exact sequence.
   */
  rewind(): void {
    const cons = this.port.cons();
    if (cons < this.next && cons >= this.firstOwn) {
      this.sched.restore(this.before[Number(cons & BigInt(RING_MASK))]);
      this.next = cons;
    } else if (cons < this.next) {
      this.next = cons; // a previous xvsd's decisions: overwritten from the scheduler's current state
    } else {
      this.next = cons; // exhausted: the data path reused stale slots past `next`; continue from cons
    }
  }

  /**
   * Re-simulates from the consumer position: the live counters now hold every decision the data path
   * took, so the simulated connections of earlier fills are dropped (counting schedulers) and the
   * decisions not yet taken are recomputed from the counts as they are now. A decision the data path
   * takes while the slots are rewritten is either the old or the new one: both name a usable dest.
   */
  resync(): void {
    this.rewind();
    const s = this.sched as SequenceScheduler<S> & { resetSimulation?: () => void };
    s.resetSimulation?.();
  }

  /** Replaces the scheduler (ipvsadm -E -s): the new one starts from its init state at the next slot. */
  replaceScheduler(sched: SequenceScheduler<S>): void {
    this.rewind();
    this.sched = sched;
  }

  /** Fills the ring up to RING_SLOTS decisions ahead of the consumer; returns how many were produced. */
  refill(): number {
    const cons = this.port.cons();
    if (this.next < cons) this.next = cons;
    const limit = cons + BigInt(RING_SLOTS);
    let produced = 0;
    const dests = this.dests();
    while (this.next < limit) {
      this.before[Number(this.next & BigInt(RING_MASK))] = this.sched.snapshot();
      const pick = this.sched.schedule(dests);
      this.port.writeSlot(this.next, pick ? pick.id : DEST_NONE);
      this.next++;
      produced++;
    }
    if (produced > 0 || this.port.prod() < this.next) this.port.publish(this.next);
    return produced;
  }
}
