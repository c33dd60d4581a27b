// src/sched/lblc.ts — locality-based least connection as net/netfilter/ipvs/ip_vs_lblc.c and its
// replicating twin ip_vs_lblcr.c: a table destination address -> dest (lblc) or dest set (lblcr). A hit
// keeps its dest unless that dest is gone, quiesced or "overloaded" in lblc's sense (more active
// connections than its weight while some dest has fewer than half its weight active); a miss or a
// rejected hit takes wlc's pick. lblcr drops the set's most loaded dest when the set has not changed for
// lblcr_expiration. The periodic timer (every 60 s from init, a full expiry check every 30th run)
// removes entries unused for lblc(r)_expiration, as in ip_vs_lblc_check_expire()/ip_vs_lblc_full_check().
//
// Entries hold dests by identity (address:port), as the kernel holds dest pointers: a deleted dest stays
// referenced (unavailable) and comes back as the same dest when re-added from the trash.
import { weightedLeast } from './wlc.js';
import { connOverhead, type PacketKey, type SchedDest, type SequenceScheduler } from './types.js';
import type { SchedContext } from './context.js';

const CHECK_EXPIRE_INTERVAL_MS = 60_000;
const ENTRY_TIMEOUT_MS = 6 * 60_000;
const COUNT_FOR_FULL_EXPIRATION = 30;
const TAB_SIZE = 1024;
const MAX_SIZE = TAB_SIZE * 16;

const keyOf = (d: SchedDest): string => (d.addr !== undefined ? `${d.addr}:${d.port ?? 0}` : `#${d.id}`);

/** is_overloaded() of ip_vs_lblc.c / ip_vs_lblcr.c. */
function lblcOverloaded(dest: SchedDest, dests: readonly SchedDest[]): boolean {
  if ((dest.activeConns ?? 0) <= dest.weight) return false;
  return dests.some((d) => (d.activeConns ?? 0) * 2 < d.weight);
}

interface Entry {
  lastuse: number;
  /** lblc: one dest key; lblcr: the set, newest first (list_add_rcu at the head). */
  set: string[];
  lastmod: number;
}

abstract class LocalityBase implements SequenceScheduler<null> {
  abstract readonly name: string;
  protected readonly entries = new Map<string, Entry>();
  /** Deleted dests still referenced by entries (the kernel's trash). */
  private readonly gone = new Map<string, SchedDest>();
  private nextTimer: number;
  private counter = 1;

  constructor(protected readonly ctx: SchedContext) {
    this.nextTimer = ctx.nowMs() + CHECK_EXPIRE_INTERVAL_MS;
  }

  protected abstract expirationMs(): number;

  /** Runs the periodic timer for every deadline up to now. */
  advance(): void {
    const now = this.ctx.nowMs();
    while (this.nextTimer <= now) {
      this.checkExpire(this.nextTimer);
      this.nextTimer += CHECK_EXPIRE_INTERVAL_MS;
    }
  }

  private checkExpire(now: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      for (const [k, en] of this.entries) if (now >= en.lastuse + this.expirationMs()) this.entries.delete(k);
      this.counter = 1;
      return;
    }
    if (this.entries.size <= MAX_SIZE) {
      this.counter++;
      return;
    }
    // Table over its size: drop entries idle longer than ENTRY_TIMEOUT (the kernel walks buckets from a
    // rover; xvs walks insertion order — only the set removed differs, and only past 16384 entries).
    let goal = Math.min(Math.trunc(((this.entries.size - MAX_SIZE) * 4) / 3), MAX_SIZE / 2);
    for (const [k, en] of this.entries) {
      if (goal <= 0) break;
      if (now < en.lastuse + ENTRY_TIMEOUT_MS) continue;
      this.entries.delete(k);
      goal--;
    }
  }

  protected resolve(key: string, dests: readonly SchedDest[]): { dest: SchedDest; available: boolean } | null {
    const live = dests.find((d) => keyOf(d) === key);
    if (live) return { dest: live, available: live.available !== false };
    const g = this.gone.get(key);
    return g ? { dest: g, available: false } : null;
  }

  protected static keyOf = keyOf;
  protected static overloaded = lblcOverloaded;

  abstract schedule(dests: readonly SchedDest[], pkt?: PacketKey): SchedDest | null;

  onAdd(_dests: readonly SchedDest[], added: SchedDest): void {
    this.gone.delete(keyOf(added));
  }

  onDelete(_dests: readonly SchedDest[], removed: SchedDest): void {
    this.gone.set(keyOf(removed), removed);
  }

  onUpdate(): void {}
  snapshot(): null { return null; }
  restore(): void {}

  /** Entries as (daddr, dest keys) for tests and listings. */
  table(): Map<string, string[]> {
    return new Map([...this.entries].map(([k, en]) => [k, [...en.set]]));
  }
}

export class LocalityLeastConnection extends LocalityBase {
  readonly name = 'lblc';

  protected expirationMs(): number {
    return this.ctx.lblcExpirationS * 1000;
  }

  schedule(dests: readonly SchedDest[], pkt?: PacketKey): SchedDest | null {
    if (!pkt) return null;
    this.advance();
    const now = this.ctx.nowMs();
    const en = this.entries.get(pkt.daddr);
    if (en) {
      en.lastuse = now;
      const r = this.resolve(en.set[0], dests);
      if (r && r.available && r.dest.weight > 0 && !lblcOverloaded(r.dest, dests)) return r.dest;
    }
    const dest = weightedLeast(dests, connOverhead);
    if (!dest) return null;
    // ip_vs_lblc_new(): keep an entry already naming this dest, else replace it with a fresh one.
    if (!en || en.set[0] !== keyOf(dest)) {
      this.entries.delete(pkt.daddr);
      this.entries.set(pkt.daddr, { lastuse: now, set: [keyOf(dest)], lastmod: now });
    }
    return dest;
  }
}

export class LocalityLeastConnectionReplicated extends LocalityBase {
  readonly name = 'lblcr';

  protected expirationMs(): number {
    return this.ctx.lblcrExpirationS * 1000;
  }

  /** ip_vs_dest_set_min(). */
  private setMin(set: string[], dests: readonly SchedDest[]): SchedDest | null {
    const members = set.map((k) => this.resolve(k, dests)).filter((r): r is NonNullable<typeof r> => r !== null);
    let i = 0;
    let least: SchedDest | null = null;
    for (; i < members.length; i++) {
      const m = members[i];
      if (m.dest.overloaded) continue;
      if (m.dest.weight > 0 && m.available) {
        least = m.dest;
        break;
      }
    }
    if (!least) return null;
    let loh = connOverhead(least);
    for (i++; i < members.length; i++) {
      const m = members[i];
      if (m.dest.overloaded) continue;
      const doh = connOverhead(m.dest);
      if (loh * m.dest.weight > doh * least.weight && m.available) {
        least = m.dest;
        loh = doh;
      }
    }
    return least;
  }

  /** ip_vs_dest_set_max(): returns the key of the most loaded member. */
  private setMax(set: string[], dests: readonly SchedDest[]): string | null {
    const members = set.map((k) => ({ k, r: this.resolve(k, dests) })).filter((m) => m.r !== null);
    let i = 0;
    let most: { k: string; d: SchedDest } | null = null;
    for (; i < members.length; i++) {
      const d = members[i].r!.dest;
      if (d.weight > 0) {
        most = { k: members[i].k, d };
        break;
      }
    }
    if (!most) return null;
    let moh = connOverhead(most.d);
    for (i++; i < members.length; i++) {
      const d = members[i].r!.dest;
      const doh = connOverhead(d);
      if (moh * d.weight < doh * most.d.weight && d.weight > 0) {
        most = { k: members[i].k, d };
        moh = doh;
      }
    }
    return most.k;
  }

  schedule(dests: readonly SchedDest[], pkt?: PacketKey): SchedDest | null {
    if (!pkt) return null;
    this.advance();
    const now = this.ctx.nowMs();
    const en = this.entries.get(pkt.daddr);
    if (en) {
      en.lastuse = now;
      const dest = this.setMin(en.set, dests);
      if (en.set.length > 1 && now > en.lastmod + this.expirationMs()) {
        const m = this.setMax(en.set, dests);
        if (m !== null) {
          en.set.splice(en.set.indexOf(m), 1);
          en.lastmod = now;
        }
      }
      if (dest && !lblcOverloaded(dest, dests)) return dest;
      const pick = weightedLeast(dests, connOverhead);
      if (!pick) return null;
      if (!en.set.includes(keyOf(pick))) {
        en.set.unshift(keyOf(pick));
        en.lastmod = now;
      }
      return pick;
    }
    const pick = weightedLeast(dests, connOverhead);
    if (!pick) return null;
    this.entries.set(pkt.daddr, { lastuse: now, set: [keyOf(pick)], lastmod: now });
    return pick;
  }
}
