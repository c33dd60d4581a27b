// src/sync/engine.ts — the two sync daemons. SyncMaster batches offered connections into datagrams at a
// bounded rate; SyncBackup authenticates and filters what arrives (syncid, staleness, replay window) and
// hands the accepted connections to its owner. Transport and clock are injected (UDP and real time by default).
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { XvsError } from '../model/errors.js';
import type { SyncConn, SyncDaemonSpec, SyncStats } from './types.js';
import { UdpTransport, parsePeer, type SyncTransport } from './transport.js';
import { canonicalIp } from '../model/service.js';
import { connProblem, decode, encodeMessage, recordsPerMessage, HEADER_LEN, RECORD_LEN, TAG_LEN } from './wire.js';
import { SYNC_KEY_MIN_BYTES } from './key.js';

type Reason = keyof SyncStats['rejected'];

/** Time and timers, injectable so rate and staleness can be tested without waiting. */
export interface SyncClock {
  /** Unix time in ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: SyncClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

const emptyStats = (role: 'master' | 'backup'): SyncStats => ({
  role, messagesSent: 0, connsSent: 0, queued: 0, queueDropped: 0, messagesReceived: 0, connsReceived: 0,
  rejected: { auth: 0, truncated: 0, malformed: 0, replay: 0, stale: 0, syncid: 0, version: 0, peer: 0 }, lagSeconds: 0,
});

function checkCommon(spec: SyncDaemonSpec, role: 'master' | 'backup', key: Buffer): void {
  if (spec.role !== role) throw new XvsError('EINVAL', `sync: a ${role} needs a spec with role ${role}, got ${spec.role}`);
  if (key.length < SYNC_KEY_MIN_BYTES) throw new XvsError('EINVAL', `sync: the key must be at least ${SYNC_KEY_MIN_BYTES} bytes`);
}

/** A warn line per key at most every `intervalMs` (with how many were suppressed since). */
class WarnLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly clock: SyncClock, private readonly intervalMs = 10_000) {}
  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.clock.now();
    const e = this.last.get(key);
    if (e && now - e.at < this.intervalMs) {
      e.suppressed++;
      return;
    }
    this.log.warn({ ...fields, suppressed: e?.suppressed ?? 0 }, msg);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}

/** The queue key: a connection's client-side 5-tuple plus the template flag (and the fwmark, for templates of -f services). */
export const connKey = (c: SyncConn): string =>
  `${c.protocol}|${c.caddr}|${c.cport}|${c.vaddr}|${c.vport}|${c.fwmark}|${c.template ? 't' : 'c'}`;

export interface SyncMasterOptions {
  spec: SyncDaemonSpec;
  key: Buffer;
  log: Logger;
  /** Messages per second, at most (default 1000). */
  ratePerSec?: number;
  /** Conns waiting at most; more drop the oldest (default 65536). */
  maxQueue?: number;
  /** A partial message waits at most this long for more conns (default 20 ms). */
  flushMs?: number;
  transport?: SyncTransport;
  clock?: SyncClock;
}

/**
 * Rate bound: a token bucket (rate ratePerSec, burst one flush interval's worth) smooths the sending, and
 * a log of the last ratePerSec send times makes the bound exact: never more than ratePerSec messages in
 * any 1000 ms.
 */
export class SyncMaster {
  private readonly spec: SyncDaemonSpec;
  private readonly key: Buffer;
  private readonly log: Logger;
  private readonly clock: SyncClock;
  private readonly transport: SyncTransport;
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxQueue: number;
  private readonly flushMs: number;
  private readonly queue = new Map<string, { conn: SyncConn; since: number }>();
  private readonly sendLog: Float64Array;
  private sendLogNext = 0;
  private sendLogCount = 0;
  private tokens: number;
  private refilledAt = 0;
  private timer: unknown;
  private timerDue = Infinity;
  private perMessage = 0;
  private started = false;
  private closed = false;
  private readonly warns: WarnLimiter;
  /** Random per start: a restarted master is a new sender to the backups' replay windows. */
  readonly senderId: bigint;
  private seq = 1n;
  private readonly st = emptyStats('master');

  constructor(o: SyncMasterOptions) {
    checkCommon(o.spec, 'master', o.key);
    const rate = o.ratePerSec ?? 1000;
    if (!Number.isInteger(rate) || rate < 1 || rate > 100_000) throw new XvsError('EINVAL', `sync: rate ${rate} messages/s out of 1..100000`);
    const maxQueue = o.maxQueue ?? 65536;
    if (!Number.isInteger(maxQueue) || maxQueue < 1) throw new XvsError('EINVAL', `sync: bad queue size ${maxQueue}`);
    const flushMs = o.flushMs ?? 20;
    if (!(flushMs >= 0 && flushMs <= 60_000)) throw new XvsError('EINVAL', `sync: bad flush interval ${flushMs} ms`);
    this.spec = o.spec;
    this.key = o.key;
    this.log = o.log;
    this.clock = o.clock ?? realClock;
    this.transport = o.transport ?? new UdpTransport(o.spec);
    this.rate = rate;
    this.burst = Math.max(1, Math.ceil((rate * Math.max(flushMs, 1)) / 1000));
    this.tokens = this.burst;
    this.maxQueue = maxQueue;
    this.flushMs = flushMs;
    this.sendLog = new Float64Array(rate);
    this.warns = new WarnLimiter(o.log, this.clock);
    this.senderId = randomBytes(8).readBigUInt64BE(0);
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.transport.open();
    this.perMessage = recordsPerMessage(this.transport.maxPayload);
    if (this.perMessage < 1) {
      await this.transport.close();
      throw new XvsError('EINVAL', `sync: a datagram of ${this.transport.maxPayload} bytes cannot hold one connection (needs ${HEADER_LEN + RECORD_LEN + TAG_LEN})`);
    }
    this.refilledAt = this.clock.now();
    this.started = true;
    this.log.info({ role: 'master', iface: this.spec.mcastInterface, syncId: this.spec.syncId, maxLen: this.transport.maxPayload,
      perMessage: this.perMessage, senderId: this.senderId.toString(16) }, 'sync daemon started');
    if (this.queue.size > 0) this.schedule(0);
  }

  /** Queues conns for sending; one already queued (same 5-tuple and template flag) is replaced in place. */
  offer(conns: readonly SyncConn[]): void {
    if (this.closed) return;
    const now = this.clock.now();
    for (const c of conns) {
      const problem = connProblem(c);
      if (problem) {
        this.warns.warn('bad-conn', { problem }, 'sync: connection not sent');
        continue;
      }
      const k = connKey(c);
      const queued = this.queue.get(k);
      if (queued) {
        queued.conn = c;
        continue;
      }
      if (this.queue.size >= this.maxQueue) {
        const oldest = this.queue.keys().next().value as string;
        this.queue.delete(oldest);
        this.st.queueDropped++;
      }
      this.queue.set(k, { conn: c, since: now });
    }
    if (this.started && this.queue.size > 0) this.schedule(this.queue.size >= this.perMessage ? 0 : this.flushMs);
  }

  stats(): SyncStats {
    return { ...this.st, rejected: { ...this.st.rejected }, queued: this.queue.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.clear();
    await this.transport.close();
    if (this.started) this.log.info({ role: 'master', messagesSent: this.st.messagesSent }, 'sync daemon stopped');
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    const due = this.clock.now() + Math.max(0, delayMs);
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.flush();
    }, Math.max(0, delayMs));
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }

  /** 0 when a message may go now, else how many ms until one may. */
  private waitMs(now: number): number {
    let wait = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
    if (this.sendLogCount === this.rate) {
      const oldest = this.sendLog[this.sendLogNext]; // the ring is full: the next slot holds the oldest
      wait = Math.max(wait, oldest + 1000 - now);
    }
    return Math.max(0, wait);
  }

  private flush(): void {
    if (this.closed || !this.started) return;
    for (;;) {
      const now = this.clock.now();
      const first = this.queue.values().next();
      if (first.done) return;
      // A full message goes at once; a partial one when its oldest conn has waited flushMs.
      if (this.queue.size < this.perMessage && now - first.value.since < this.flushMs) {
        this.schedule(first.value.since + this.flushMs - now);
        return;
      }
      this.refill(now);
      const wait = this.waitMs(now);
      if (wait > 0) {
        this.schedule(wait);
        return;
      }
      const batch: SyncConn[] = [];
      let oldest = now;
      for (const [k, e] of this.queue) {
        if (batch.length === this.perMessage) break;
        batch.push(e.conn);
        oldest = Math.min(oldest, e.since);
        this.queue.delete(k);
      }
      this.sendOne(batch, now, oldest);
    }
  }

  private sendOne(batch: SyncConn[], now: number, oldest: number): void {
    const msg = encodeMessage({ syncId: this.spec.syncId, senderId: this.senderId, seq: this.seq, sendTimeMs: now }, batch, this.key);
    this.seq++;
    this.tokens -= 1;
    this.sendLog[this.sendLogNext] = now;
    this.sendLogNext = (this.sendLogNext + 1) % this.rate;
    this.sendLogCount = Math.min(this.rate, this.sendLogCount + 1);
    this.st.messagesSent++;
    this.st.connsSent += batch.length;
    this.st.lagSeconds = (now - oldest) / 1000;
    this.transport.send(msg).catch((err: unknown) => {
      this.warns.warn('send', { err }, 'sync: sending a message failed');
    });
  }
}

/**
 * Per sender, IPsec's anti-replay window: the highest sequence seen and a 64-bit bitmap of the 64
 * sequences up to it. Senders idle for `idleMs` are forgotten; at most `maxSenders` are tracked (the one
 * idle longest is evicted). Forgetting is safe because the receiver's staleness check rejects anything
 * older than maxAgeS, and idleMs is kept above it.
 */
export class ReplayFilter {
  static readonly WINDOW = 64n;
  private readonly senders = new Map<bigint, { top: bigint; bitmap: bigint; seenAt: number }>();
  constructor(private readonly idleMs = 600_000, private readonly maxSenders = 64) {}

  get size(): number { return this.senders.size; }

  /** Whether (sender, seq) is new; does not record it. */
  check(sender: bigint, seq: bigint): boolean {
    const s = this.senders.get(sender);
    if (!s || seq > s.top) return true;
    const diff = s.top - seq;
    if (diff >= ReplayFilter.WINDOW) return false;
    return ((s.bitmap >> diff) & 1n) === 0n;
  }

  /** Records an accepted (sender, seq) (after check() said it is new). */
  accept(sender: bigint, seq: bigint, now: number): void {
    this.expire(now);
    const mask = (1n << ReplayFilter.WINDOW) - 1n;
    const s = this.senders.get(sender);
    if (!s) {
      if (this.senders.size >= this.maxSenders) this.senders.delete(this.senders.keys().next().value as bigint);
      this.senders.set(sender, { top: seq, bitmap: 1n, seenAt: now });
      return;
    }
    if (seq > s.top) {
      const shift = seq - s.top;
      s.bitmap = shift >= ReplayFilter.WINDOW ? 1n : ((s.bitmap << shift) | 1n) & mask;
      s.top = seq;
    } else {
      s.bitmap |= 1n << (s.top - seq);
    }
    s.seenAt = now;
    // Keep the map in order of last activity, so the first entry is the one idle longest.
    this.senders.delete(sender);
    this.senders.set(sender, s);
  }

  private expire(now: number): void {
    for (const [id, s] of this.senders) {
      if (now - s.seenAt <= this.idleMs) break;
      this.senders.delete(id);
    }
  }
}

export interface SyncBackupOptions {
  spec: SyncDaemonSpec;
  key: Buffer;
  log: Logger;
  onConns: (conns: SyncConn[]) => void;
  /** Messages sent longer ago (or further in the future) than this are stale (default 60 s). */
  maxAgeS?: number;
  transport?: SyncTransport;
  clock?: SyncClock;
}

export class SyncBackup {
  private readonly spec: SyncDaemonSpec;
  private readonly key: Buffer;
  private readonly log: Logger;
  private readonly clock: SyncClock;
  private readonly transport: SyncTransport;
  private readonly onConns: (conns: SyncConn[]) => void;
  private readonly maxAgeMs: number;
  private readonly replay: ReplayFilter;
  private readonly warns: WarnLimiter;
  private readonly st = emptyStats('backup');
  /** A unicast backup accepts datagrams from its peers' addresses only (null: multicast, any sender). */
  private readonly peerAddrs: Set<string> | null;
  private started = false;
  private closed = false;

  constructor(o: SyncBackupOptions) {
    checkCommon(o.spec, 'backup', o.key);
    const maxAgeS = o.maxAgeS ?? 60;
    if (!(maxAgeS > 0 && maxAgeS <= 86_400)) throw new XvsError('EINVAL', `sync: bad maximum message age ${maxAgeS} s`);
    this.spec = o.spec;
    this.key = o.key;
    this.log = o.log;
    this.clock = o.clock ?? realClock;
    this.transport = o.transport ?? new UdpTransport(o.spec);
    this.onConns = o.onConns;
    this.peerAddrs = o.spec.peers?.length ? new Set(o.spec.peers.map((p) => canonicalSender(parsePeer(p, 1).address))) : null;
    this.maxAgeMs = maxAgeS * 1000;
    this.replay = new ReplayFilter(Math.max(600_000, 2 * this.maxAgeMs));
    this.warns = new WarnLimiter(o.log, this.clock);
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.transport.open((msg, from) => this.receive(msg, from));
    this.started = true;
    this.log.info({ role: 'backup', iface: this.spec.mcastInterface, syncId: this.spec.syncId }, 'sync daemon started');
  }

  stats(): SyncStats {
    return { ...this.st, rejected: { ...this.st.rejected } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
    if (this.started) this.log.info({ role: 'backup', messagesReceived: this.st.messagesReceived }, 'sync daemon stopped');
  }

  /** One datagram as it arrived (the transport calls this; public for tests and other transports). */
  receive(msg: Buffer, from = 'unknown'): void {
    if (this.closed) return;
    if (this.peerAddrs) {
      // Before anything else: a stranger's datagram costs no HMAC. In-memory transports name no address.
      const addr = senderAddress(from);
      if (addr !== null && !this.peerAddrs.has(addr)) return this.reject('peer', `${addr} is not a sync peer`, from);
    }
    const now = this.clock.now();
    const d = decode(msg, this.key);
    if (!d.ok) return this.reject(d.reason, d.detail, from);
    const h = d.header;
    if (this.spec.syncId !== 0 && h.syncId !== this.spec.syncId) return this.reject('syncid', `syncid ${h.syncId}, ours ${this.spec.syncId}`, from);
    if (now - h.sendTimeMs > this.maxAgeMs) return this.reject('stale', `sent ${(now - h.sendTimeMs) / 1000} s ago`, from);
    if (h.sendTimeMs - now > this.maxAgeMs) return this.reject('stale', `sent ${(h.sendTimeMs - now) / 1000} s in the future`, from);
    if (!this.replay.check(h.senderId, h.seq)) return this.reject('replay', `sender ${h.senderId.toString(16)} seq ${h.seq} already seen or too old`, from);
    this.replay.accept(h.senderId, h.seq, now);
    this.st.messagesReceived++;
    this.st.connsReceived += d.conns.length;
    this.st.lagSeconds = Math.max(0, now - h.sendTimeMs) / 1000;
    if (d.conns.length === 0) return;
    try {
      this.onConns(d.conns);
    } catch (err) {
      this.warns.warn('onConns', { err }, 'sync: installing synced connections failed');
    }
  }

  private reject(reason: Reason, detail: string, from: string): void {
    this.st.rejected[reason]++;
    this.log.debug({ reason, detail, from }, 'sync message rejected');
    this.warns.warn(`reject-${reason}`, { reason, detail, from, rejected: this.st.rejected[reason] }, 'sync messages rejected');
  }
}

/** An address in one canonical text form: an IPv4-mapped IPv6 address (a dual-stack socket's view of
 *  an IPv4 sender) as IPv4, IPv6 compressed (canonicalIp). */
const canonicalSender = (addr: string): string => canonicalIp(addr.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1'));

/** The address of a transport's `from` ("ADDR:PORT" or "[V6]:PORT", as a peer is written), canonical;
 *  null if it names none (an in-memory transport). */
function senderAddress(from: string): string | null {
  try {
    return canonicalSender(parsePeer(from, 1).address);
  } catch {
    return null;
  }
}
