// src/sched/sh.ts — source hashing as net/netfilter/ipvs/ip_vs_sh.c: a 256-bucket table filled in list
// order, each dest taking `weight` consecutive buckets (at least one, so weight 0 takes one: the
// "++d_count >= weight" rule of ip_vs_sh_reassign()), rebuilt on every add/delete/edit. A pick hashes
// hash_32(port + addr_fold, 8) of the client address (port = the client's port with sh-port, else 0);
// a weight-0 or overloaded bucket dest means no dest, unless sh-fallback walks the table from there.
import { addrFold, hash32 } from './hash.js';
import { SCHED_F_1, SCHED_F_2, type SchedContext } from './context.js';
import type { PacketKey, SchedDest, SequenceScheduler } from './types.js';

export const SH_TAB_BITS = 8;
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;

/** ip_vs_sh_reassign(): bucket -> dest id (or null when the list is empty). */
export function shTable(dests: readonly SchedDest[]): (number | null)[] {
  const table: (number | null)[] = new Array(SH_TAB_SIZE).fill(null);
  if (dests.length === 0) return table;
  let p = 0;
  let count = 0;
  for (let i = 0; i < SH_TAB_SIZE; i++) {
    const d = dests[p];
    table[i] = d.id;
    if (++count >= d.weight) {
      p = (p + 1) % dests.length;
      count = 0;
    }
  }
  return table;
}

/** ip_vs_sh_hashkey(). */
export const shHashKey = (addr: string, port: number, offset: number): number =>
  (offset + hash32((port + addrFold(addr)) >>> 0, SH_TAB_BITS)) & (SH_TAB_SIZE - 1);

const unavailable = (d: SchedDest): boolean => d.weight <= 0 || d.overloaded;

export class SourceHashing implements SequenceScheduler<null> {
  readonly name = 'sh';
  private table: (number | null)[];

  constructor(dests: readonly SchedDest[], private readonly ctx: SchedContext) {
    this.table = shTable(dests);
  }

  get buckets(): readonly (number | null)[] {
    return this.table;
  }

  schedule(dests: readonly SchedDest[], pkt?: PacketKey): SchedDest | null {
    if (!pkt) return null;
    const port = this.ctx.flags & SCHED_F_2 ? pkt.sport : 0;
    const byId = (id: number | null): SchedDest | null => (id === null ? null : dests.find((d) => d.id === id) ?? null);
    const ihash = shHashKey(pkt.saddr, port, 0);
    const first = byId(this.table[ihash]);
    if (!first) return null;
    if (!unavailable(first)) return first;
    if (!(this.ctx.flags & SCHED_F_1)) return null;
    // ip_vs_sh_get_fallback(): walk on from the original bucket, rehashing with the offset.
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % SH_TAB_SIZE;
      const d = byId(this.table[shHashKey(pkt.saddr, port, roffset)]);
      if (!d) break;
      if (!unavailable(d)) return d;
    }
    return null;
  }

  private rebuild(dests: readonly SchedDest[]): void {
    this.table = shTable(dests);
  }

  onAdd(dests: readonly SchedDest[]): void { this.rebuild(dests); }
  onDelete(dests: readonly SchedDest[]): void { this.rebuild(dests); }
  onUpdate(dests: readonly SchedDest[]): void { this.rebuild(dests); }
  snapshot(): null { return null; }
  restore(): void {}
}
