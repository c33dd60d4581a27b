// src/sched/counting.ts — the base of the connection-count schedulers (lc, wlc, sed, nq, fo, ovf): they
// keep no state of their own in the kernel, but when they run ahead of the data path (a decision ring)
// each simulated pick must add the connection it would create, as ip_vs_bind_dest() counts it at
// that moment: a new connection is always in inactconns first (the dest's conn_flags carry
// IP_VS_CONN_F_INACTIVE, __ip_vs_update_dest()); it only becomes active once established. The
// simulated connections live in a small map beside the dests (no copies: a ring refill runs a
// thousand picks), and the upper threshold sets OVERLOAD for them as ip_vs_bind_dest() would.
import type { PacketKey, SchedDest, SequenceScheduler } from './types.js';

/** Extra inactive connections per dest id, picked ahead but not yet seen in the live counters. */
export type SimState = ReadonlyMap<number, number>;

export abstract class CountingScheduler implements SequenceScheduler<SimState> {
  abstract readonly name: string;
  private sim = new Map<number, number>();

  /** `simulate`: add every pick to the counts seen by later picks (ring mode). */
  constructor(private readonly simulate = false) {}

  /** The kernel's decision on `dests` with their current counts (read through the helpers below). */
  protected abstract pick(dests: readonly SchedDest[]): SchedDest | null;

  protected active(d: SchedDest): number {
    return d.activeConns ?? 0;
  }

  /** Live inactive connections plus those picked ahead. */
  protected inactive(d: SchedDest): number {
    const extra = this.sim.size ? this.sim.get(d.id) : undefined;
    return (d.inactConns ?? 0) + (extra ?? 0);
  }

  /** IP_VS_DEST_F_OVERLOAD, including what the upper threshold sets as picked-ahead connections bind. */
  protected overloaded(d: SchedDest): boolean {
    if (d.overloaded) return true;
    const u = d.uThreshold ?? 0;
    return u !== 0 && this.sim.size !== 0 && this.sim.has(d.id) && this.active(d) + this.inactive(d) >= u;
  }

  /** ip_vs_dest_conn_overhead(): activeconns * 256 + inactconns. */
  protected overhead(d: SchedDest): number {
    return this.active(d) * 256 + this.inactive(d);
  }

  schedule(dests: readonly SchedDest[], _pkt?: PacketKey): SchedDest | null {
    const d = this.pick(dests);
    if (d && this.simulate) this.sim.set(d.id, (this.sim.get(d.id) ?? 0) + 1);
    return d;
  }

  onAdd(): void {}
  onDelete(): void {}
  onUpdate(): void {}

  snapshot(): SimState {
    return new Map(this.sim);
  }

  restore(state: SimState): void {
    this.sim = new Map(state);
  }

  /** The live counters now include everything picked so far (ring resync). */
  resetSimulation(): void {
    this.sim.clear();
  }
}
