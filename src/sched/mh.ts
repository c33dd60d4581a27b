// src/sched/mh.ts — Maglev hashing as net/netfilter/ipvs/ip_vs_mh.c: a 4093-entry lookup table
// (primes[CONFIG_IP_VS_MH_TAB_INDEX - 8], default index 12) populated by ip_vs_mh_permutate() +
// ip_vs_mh_populate(): each dest's offset/skip from hsiphash of its address and port with the two fixed
// keys, `turns` = (last_weight / gcd) >> rshift (at least 1 for a non-zero last_weight), dests taking
// turns consecutive preferred slots in list order. A pick is lookup[hsiphash(port + fold(saddr)) % 4093]
// (port = the client's port with mh-port, else 0), with mh-fallback's rehash walk.
import { addrFold, hsiphashU32 } from './hash.js';
import { SCHED_F_1, SCHED_F_2, type SchedContext } from './context.js';
import type { PacketKey, SchedDest, SequenceScheduler } from './types.js';

export const MH_TAB_SIZE = 4093;
const MH_TAB_BITS = 6; // CONFIG_IP_VS_MH_TAB_INDEX / 2
export const MH_KEY1 = 2654435761n;
export const MH_KEY2 = 2654446892n;

/** ip_vs_mh_hashkey(). */
export const mhHashKey = (addr: string, port: number, key: bigint, offset: number): number =>
  hsiphashU32((offset + port + addrFold(addr)) >>> 0, key, key);

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const fls = (x: number): number => (x === 0 ? 0 : 32 - Math.clz32(x));
const lastWeight = (d: SchedDest): number => d.lastWeight ?? d.weight;

/** The lookup table for `dests` (in list order): index -> dest id, or null everywhere if no weight. */
export function mhTable(dests: readonly SchedDest[]): (number | null)[] {
  const table: (number | null)[] = new Array(MH_TAB_SIZE).fill(null);
  let g = 0;
  for (const d of dests) {
    const w = lastWeight(d);
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
  }
  if (g < 1) return table;
  const mw = Math.max(...dests.map(lastWeight)) / g;
  const rshift = Math.max(0, fls(mw) - MH_TAB_BITS);
  const setup = dests.map((d) => {
    const addr = d.addr ?? '0.0.0.0';
    const port = d.port ?? 0;
    const offset = mhHashKey(addr, port, MH_KEY1, 0) % MH_TAB_SIZE;
    const skip = (mhHashKey(addr, port, MH_KEY2, 0) % (MH_TAB_SIZE - 1)) + 1;
    const lw = lastWeight(d);
    return { id: d.id, perm: offset, skip, turns: (Math.trunc(lw / g) >> rshift) || (lw !== 0 ? 1 : 0) };
  });
  const taken = new Uint8Array(MH_TAB_SIZE);
  let n = 0;
  let dtCount = 0;
  for (;;) {
    for (let p = 0; p < setup.length;) {
      const ds = setup[p];
      if (ds.turns < 1) { p++; continue; }
      let c = ds.perm;
      while (taken[c]) {
        ds.perm += ds.skip;
        if (ds.perm >= MH_TAB_SIZE) ds.perm -= MH_TAB_SIZE;
        c = ds.perm;
      }
      taken[c] = 1;
      table[c] = ds.id;
      if (++n === MH_TAB_SIZE) return table;
      if (++dtCount >= ds.turns) {
        dtCount = 0;
        p++;
      }
    }
  }
}

const unavailable = (d: SchedDest): boolean => d.weight <= 0 || d.overloaded;

export class MaglevHashing implements SequenceScheduler<null> {
  readonly name = 'mh';
  private table: (number | null)[];

  constructor(dests: readonly SchedDest[], private readonly ctx: SchedContext) {
    this.table = mhTable(dests);
  }

  get lookup(): readonly (number | null)[] {
    return this.table;
  }

  schedule(dests: readonly SchedDest[], pkt?: PacketKey): SchedDest | null {
    if (!pkt) return null;
    const port = this.ctx.flags & SCHED_F_2 ? pkt.sport : 0;
    const byId = (id: number | null): SchedDest | null => (id === null ? null : dests.find((d) => d.id === id) ?? null);
    const ihash = mhHashKey(pkt.saddr, port, MH_KEY1, 0) % MH_TAB_SIZE;
    const first = byId(this.table[ihash]);
    if (!first) return null;
    if (!unavailable(first)) return first;
    if (!(this.ctx.flags & SCHED_F_1)) return null;
    for (let offset = 0; offset < MH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % MH_TAB_SIZE;
      const d = byId(this.table[mhHashKey(pkt.saddr, port, MH_KEY1, roffset) % MH_TAB_SIZE]);
      if (!d) break;
      if (!unavailable(d)) return d;
    }
    return null;
  }

  private rebuild(dests: readonly SchedDest[]): void {
    this.table = mhTable(dests);
  }

  onAdd(dests: readonly SchedDest[]): void { this.rebuild(dests); }
  onDelete(dests: readonly SchedDest[]): void { this.rebuild(dests); }
  onUpdate(dests: readonly SchedDest[]): void { this.rebuild(dests); }
  snapshot(): null { return null; }
  restore(): void {}
}
