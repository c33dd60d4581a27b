// src/sched/tables.ts — the table builders of DESIGN.md "Scheduling" for the hash schedulers: turn the
// kernel's bucket table (sh/dh: 256 buckets, mh: 4093 slots, as the scheduler modules build them) into
// the slots the data path indexes, marking dests the kernel would refuse (weight 0 or OVERLOAD). For sh
// with sh-fallback the fallback walk depends only on the bucket (ip_vs_sh_get_fallback() rehashes with
// offset (k + ihash), i.e. visits buckets 2 * ihash + k), so its result is stored per bucket here.
import { DEST_NONE, SCHED_F_FALLBACK, SCHED_F_PORT, SCHED_KIND, SLOT_UNAVAIL } from '../datapath/abi.js';
import type { SchedTable } from '../datapath/datapath.js';
import { SCHED_F_1, SCHED_F_2 } from './context.js';
import { DestinationHashing } from './dh.js';
import { MaglevHashing } from './mh.js';
import { SourceHashing, SH_TAB_SIZE } from './sh.js';
import type { SchedDest, SequenceScheduler } from './types.js';

const refused = (d: SchedDest | undefined): boolean => !d || d.weight <= 0 || d.overloaded;

/** The data path's table for a hash scheduler, or null for schedulers that run from a ring. */
export function schedTable(sched: SequenceScheduler, dests: readonly SchedDest[], flags: number): SchedTable | null {
  const byId = new Map(dests.map((d) => [d.id, d]));
  const slot = (id: number | null): number => {
    if (id === null) return DEST_NONE;
    return refused(byId.get(id)) ? (id | SLOT_UNAVAIL) >>> 0 : id;
  };
  const tabFlags = (flags & SCHED_F_1 ? SCHED_F_FALLBACK : 0) | (flags & SCHED_F_2 ? SCHED_F_PORT : 0);
  if (sched instanceof SourceHashing) {
    const b = sched.buckets;
    const slots = Uint32Array.from(b, (id, i) => {
      if (!(flags & SCHED_F_1) || id === null || !refused(byId.get(id))) return slot(id);
      for (let k = 0; k < SH_TAB_SIZE; k++) {
        const alt = b[(2 * i + k) & (SH_TAB_SIZE - 1)];
        if (alt === null) break;
        if (!refused(byId.get(alt))) return alt;
      }
      return DEST_NONE;
    });
    return { kind: SCHED_KIND.sh, flags: tabFlags, slots };
  }
  if (sched instanceof DestinationHashing) return { kind: SCHED_KIND.dh, flags: 0, slots: Uint32Array.from(sched.buckets, slot) };
  if (sched instanceof MaglevHashing) return { kind: SCHED_KIND.mh, flags: tabFlags, slots: Uint32Array.from(sched.lookup, slot) };
  return null;
}
