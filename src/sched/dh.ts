// src/sched/dh.ts — destination hashing as net/netfilter/ipvs/ip_vs_dh.c: a 256-bucket table filled with
// the dests in list order, one bucket each, cyclically (weights do not matter), rebuilt on add and
// delete only (dh has no upd_dest hook). A pick indexes hash_32(addr_fold(daddr), 8); a dest that is
// weight 0 or overloaded means no dest.
import { addrFold, hash32 } from './hash.js';
import type { PacketKey, SchedDest, SequenceScheduler } from './types.js';

export const DH_TAB_BITS = 8;
export const DH_TAB_SIZE = 1 << DH_TAB_BITS;

/** ip_vs_dh_reassign(). */
export function dhTable(dests: readonly SchedDest[]): (number | null)[] {
  return Array.from({ length: DH_TAB_SIZE }, (_, i) => (dests.length ? dests[i % dests.length].id : null));
}

export const dhHashKey = (addr: string): number => hash32(addrFold(addr), DH_TAB_BITS);

export class DestinationHashing implements SequenceScheduler<null> {
  readonly name = 'dh';
  private table: (number | null)[];

  constructor(dests: readonly SchedDest[]) {
    this.table = dhTable(dests);
  }

  get buckets(): readonly (number | null)[] {
    return this.table;
  }

  schedule(dests: readonly SchedDest[], pkt?: PacketKey): SchedDest | null {
    if (!pkt) return null;
    const id = this.table[dhHashKey(pkt.daddr)];
    const d = id === null ? null : dests.find((x) => x.id === id) ?? null;
    if (!d || d.available === false || d.weight <= 0 || d.overloaded) return null;
    return d;
  }

  onAdd(dests: readonly SchedDest[]): void { this.table = dhTable(dests); }
  onDelete(dests: readonly SchedDest[]): void { this.table = dhTable(dests); }
  onUpdate(): void {}
  snapshot(): null { return null; }
  restore(): void {}
}
