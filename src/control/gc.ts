// src/control/gc.ts — connection expiry: removes connections idle longer than their state's timeout
// (IPVS's defaults: tcp 900 s established, 120 s fin_wait, udp 300 s, ...) and keeps the per-dest
// active/inactive counts exact for what it removes.
import net from 'node:net';
import type { ConnEntry, Datapath } from '../datapath/datapath.js';
import { TCP_S_ESTABLISHED } from '../datapath/abi.js';

/** Seconds per TCP state, as ip_vs_proto_tcp.c's tcp_timeouts (index = enum xvs_tcp_state). */
export const TCP_TIMEOUTS_S = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];
export const UDP_TIMEOUT_S = 300;

export interface Timeouts {
  /** ipvsadm --set tcp: the ESTABLISHED timeout. */
  tcp: number;
  /** ipvsadm --set tcpfin: the FIN_WAIT timeout. */
  tcpfin: number;
  udp: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { tcp: 900, tcpfin: 120, udp: 300 };

export function timeoutFor(protocol: 'tcp' | 'udp', state: number, t: Timeouts): number {
  if (protocol === 'udp') return t.udp;
  if (state === TCP_S_ESTABLISHED) return t.tcp;
  if (state === 4) return t.tcpfin;
  return TCP_TIMEOUTS_S[state] ?? TCP_TIMEOUTS_S[0];
}

/**
 * The per-dest counts of connections the data path's LRU table evicted. xvs_conns is an LRU hash: when it
 * is full, inserting a new connection silently evicts idle ones, and nothing in the data path sees that,
 * so the dest such a connection was counted on would keep it in activeconns or inactconns for ever. Two
 * mechanisms, both run by every GC sweep:
 *
 * 1. Vanished keys. The tracker remembers every connection a sweep left in the table (key -> dest and
 *    whether it counted as inactive). A key missing from the next sweep's dump was evicted (the GC is the
 *    only other remover; the data path replaces closing connections in place under the same key and
 *    settles their counts itself), and its count is taken back as the previous sweep saw it.
 * 2. Recount at rest. Connections opened and evicted between two sweeps (a SYN flood on a full table)
 *    were never seen. So for every dest whose counters did not move while the table was dumped (nothing
 *    opened, closed or changed state there), the counters are compared with the dump: the dump holds at
 *    least what the table holds (a connection evicted during the dump may still be in it, and a new one
 *    would have moved the counters), so any excess of the counters over the dump is evictions, and it is
 *    taken back (inactive first: the LRU evicts the idlest entries). Never below what the dump shows,
 *    never below zero.
 *
 * Together: exact whenever a dest is quiet for one dump, and for busy dests exact for every connection
 * that lived through one sweep (a busy dest's counters can stay high by the connections opened and
 * evicted within one interval until its next quiet dump).
 */
export class EvictionTracker {
  private prev = new Map<string, { destId: number; inactive: boolean }>();
  private before: Uint32Array | null = null;
  /** Connections whose counts were taken back since the tracker was made. */
  evicted = 0;

  /** maxDests: the dest id space (counters are read for ids 0 .. maxDests - 1). */
  constructor(private readonly maxDests: number) {}

  private counts(dp: Datapath): Uint32Array {
    const out = new Uint32Array(this.maxDests * 2);
    for (let id = 0; id < this.maxDests; id++) {
      const c = dp.destCounts(id);
      out[id * 2] = c.active;
      out[id * 2 + 1] = c.inactive;
    }
    return out;
  }

  /** Call right before the sweep dumps the table. */
  beforeDump(dp: Datapath): void {
    this.before = this.counts(dp);
  }

  /** Settles what vanished since the last sweep, then recounts quiet dests. Returns how many. */
  settle(dp: Datapath, conns: readonly ConnEntry[]): number {
    const now = new Map<string, { destId: number; inactive: boolean }>();
    const inDump = new Uint32Array(this.maxDests * 2);
    for (const c of conns) {
      now.set(c.key.toString('latin1'), { destId: c.destId, inactive: c.inactive });
      if (c.destId < this.maxDests) inDump[c.destId * 2 + (c.inactive ? 1 : 0)]++;
    }
    const own = new Int32Array(this.maxDests * 2);
    let n = 0;
    for (const [k, c] of this.prev) {
      if (now.has(k)) continue;
      if (takeBack(dp, c.destId, c.inactive) && c.destId < this.maxDests) own[c.destId * 2 + (c.inactive ? 1 : 0)]--;
      n++;
    }
    this.prev = now;
    const before = this.before;
    this.before = null;
    if (before) {
      const after = this.counts(dp);
      for (let id = 0; id < this.maxDests; id++) {
        const a = id * 2;
        const i = a + 1;
        // Moved during the dump (other than by our own take-backs): not at rest, next time.
        if (after[a] !== before[a] + own[a] || after[i] !== before[i] + own[i]) continue;
        let excess = after[a] + after[i] - inDump[a] - inDump[i];
        if (excess <= 0) continue;
        const fromInactive = Math.min(excess, Math.max(0, after[i] - inDump[i]));
        excess -= fromInactive;
        const fromActive = Math.min(excess, Math.max(0, after[a] - inDump[a]));
        if (fromInactive || fromActive) dp.adjustDestCounts(id, -fromActive, -fromInactive);
        n += fromInactive + fromActive;
      }
    }
    this.evicted += n;
    return n;
  }

  /** The sweep removed this connection itself (expiry): it is not an eviction. */
  forget(key: Buffer): void {
    this.prev.delete(key.toString('latin1'));
  }
}

/** Takes one connection back from a dest's counts, never below zero; false if there was none. */
function takeBack(dp: Datapath, destId: number, inactive: boolean): boolean {
  const have = dp.destCounts(destId);
  if (inactive ? have.inactive === 0 : have.active === 0) return false;
  dp.adjustDestCounts(destId, inactive ? 0 : -1, inactive ? -1 : 0);
  return true;
}

/** One GC sweep; returns how many connections expired. `nowNs` is CLOCK_MONOTONIC. With a tracker,
 *  connections the LRU table evicted since the last sweep are settled first (EvictionTracker). */
export function sweepConnections(dp: Datapath, nowNs: bigint, t: Timeouts = DEFAULT_TIMEOUTS, evictions?: EvictionTracker): number {
  let expired = 0;
  evictions?.beforeDump(dp);
  const conns = dp.conns();
  evictions?.settle(dp, conns);
  for (const c of conns) {
    const limit = BigInt(timeoutFor(c.protocol, c.state, t)) * 1_000_000_000n;
    if (nowNs - c.lastSeenNs <= limit) continue;
    // Re-read just before deleting: a packet may have refreshed it since the batch was taken.
    const fresh = dp.conn(c.key);
    if (!fresh || nowNs - fresh.lastSeenNs <= limit) continue;
    if (!dp.deleteConn(c.key)) continue;
    evictions?.forget(c.key);
    if (fresh.inactive) dp.adjustDestCounts(fresh.destId, 0, -1);
    else dp.adjustDestCounts(fresh.destId, -1, 0);
    expired++;
  }
  return expired;
}

/** The client address under a mask of its family (textual addresses, in decodeAddr's normal form). */
export function maskAddr(addr: string, mask: string): string {
  if (net.isIPv6(addr)) {
    const a = expand6(addr);
    const m = expand6(mask);
    return new net.SocketAddress({ address: a.map((g, i) => (g & m[i]).toString(16)).join(':'), family: 'ipv6' }).address;
  }
  const a = addr.split('.').map(Number);
  const m = mask.split('.').map(Number);
  return a.map((o, i) => o & m[i]).join('.');
}

function expand6(addr: string): number[] {
  const [head, tail] = addr.split('::');
  const h = head ? head.split(':').map((g) => parseInt(g, 16)) : [];
  const t = tail === undefined ? [] : tail ? tail.split(':').map((g) => parseInt(g, 16)) : [];
  return [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
}

/** How long a template stays once it controls no connection and is not ASSURED (see sweepTemplates). */
const UNASSURED_GRACE_NS = 2_000_000_000n;

/**
 * Persistence templates' expiry, as ip_vs_conn_expire() treats a template (IP_VS_CONN_F_TEMPLATE):
 * - a template whose timeout ran out while connections it controls are alive (n_control > 0) is
 *   re-armed for another full timeout;
 * - one that ran out with none is removed;
 * - one that never became ASSURED (no controlled connection got established) goes as soon as its last
 *   connection does ("drop CTL or non-assured TPL if not used anymore"), after a short grace that covers
 *   a template the data path created just before its connection.
 * The connections a template controls are those of its service whose client address, under the
 * service's mask, is the template's. ASSURED is set here when such a connection is (or was) established
 * (the kernel sets it on the ESTABLISHED transition; the data path leaves it to the GC).
 * `masks`: the persistent services' masks by id; templates of other services are removed.
 * Returns how many templates expired.
 */
export function sweepTemplates(dp: Datapath, nowNs: bigint, masks: Map<number, string>): number {
  const tmpls = dp.templates();
  if (tmpls.length === 0) return 0;
  const controlled = new Map<string, { any: boolean; established: boolean }>();
  for (const c of dp.conns()) {
    const mask = masks.get(c.svcId);
    if (mask === undefined) continue;
    const k = `${c.svcId}/${maskAddr(c.caddr, mask)}`;
    const e = controlled.get(k) ?? { any: false, established: false };
    e.any = true;
    // ESTABLISHED, or a closing state reached from it (input-only table: FIN_WAIT/TIME_WAIT/CLOSE_WAIT/LAST_ACK).
    if (c.protocol === 'tcp' && (c.state === TCP_S_ESTABLISHED || (c.state >= 4 && c.state <= 8 && c.state !== 6))) e.established = true;
    controlled.set(k, e);
  }
  let expired = 0;
  for (const t of tmpls) {
    if (!masks.has(t.svcId)) {
      if (dp.deleteTemplate(t.key)) expired++;
      continue;
    }
    const ctl = controlled.get(`${t.svcId}/${t.caddr}`);
    const assured = t.assured || Boolean(ctl?.established);
    if (assured && !t.assured) dp.updateTemplate(t.key, { assured: true });
    const idle = nowNs - t.lastSeenNs;
    if (ctl?.any) {
      if (idle > BigInt(t.timeoutS) * 1_000_000_000n) dp.updateTemplate(t.key, { lastSeenNs: nowNs });
      continue;
    }
    const limit = assured ? BigInt(t.timeoutS) * 1_000_000_000n : UNASSURED_GRACE_NS;
    if (idle <= limit) continue;
    // Re-read: a new connection may have re-armed it since the batch was taken.
    const fresh = dp.template(t.key);
    if (!fresh || nowNs - fresh.lastSeenNs <= limit) continue;
    if (dp.deleteTemplate(t.key)) expired++;
  }
  return expired;
}
