// test/unit/sync-engine.test.ts — the sync daemons: SyncMaster's batching, replacement, rate bound and
// queue overflow on a fake clock; SyncBackup's rejections (auth, truncated, syncid, stale, replay with a
// 64-message window) and their counted, rate-limited logging; the UDP transport's planning and a real
// SyncMaster → SyncBackup exchange over 127.0.0.1 (and ::1) unicast.
import t from 'tap';
import dgram from 'node:dgram';
import os from 'node:os';
import { ReplayFilter, SyncBackup, SyncMaster, type SyncClock } from '../../src/sync/engine.js';
import { MemoryTransport, memoryPair, parsePeer, planUdp, type HostInfo } from '../../src/sync/transport.js';
import { decode, encodeMessage, HEADER_LEN, RECORD_LEN, TAG_LEN } from '../../src/sync/wire.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import type { SyncConn, SyncDaemonSpec } from '../../src/sync/types.js';

const KEY = Buffer.from('test-sync-key-0123456789');
const T0 = 1_790_000_000_000;

/** Virtual time: timers run in due order when advance() passes them. */
class FakeClock implements SyncClock {
  t = T0;
  private seq = 0;
  private timers = new Map<number, { due: number; fn: () => void }>();
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { due: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void { this.timers.delete(h as number); }
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      let next: [number, { due: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].due <= end && (!next || e[1].due < next[1].due)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].due);
      next[1].fn();
    }
    this.t = end;
  }
  get pending(): number { return this.timers.size; }
}

function capture(level: 'debug' | 'info' = 'info'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger(level, (l) => { lines.push(JSON.parse(l) as Record<string, unknown>); }), lines };
}

const conn = (i: number, over: Partial<SyncConn> = {}): SyncConn => ({
  protocol: 'tcp', caddr: `192.0.2.${1 + (i % 250)}`, cport: 10000 + i, vaddr: '203.0.113.10', vport: 80,
  daddr: '198.51.100.11', dport: 80, fwd: 'masq', state: 1, inactive: false, output: true, fwmark: 0, timeoutS: 900,
  template: false, ...over,
});

const masterSpec: SyncDaemonSpec = { role: 'master', mcastInterface: 'eth0', syncId: 0, maxLen: 0 };
const backupSpec: SyncDaemonSpec = { role: 'backup', mcastInterface: 'eth0', syncId: 0, maxLen: 0 };
/** A datagram that holds exactly n records. */
const sized = (n: number): number => HEADER_LEN + n * RECORD_LEN + TAG_LEN;

function decodedConns(msgs: Buffer[]): SyncConn[] {
  return msgs.flatMap((m) => {
    const d = decode(m, KEY);
    if (!d.ok) throw new Error(`own message rejected: ${d.reason}`);
    return d.conns;
  });
}

t.test('master → backup over a memory pair: exact conns, one seq per message, stats', async (t) => {
  const clock = new FakeClock();
  const { master: mt, backup: bt } = memoryPair(sized(4));
  const got: SyncConn[] = [];
  const m = new SyncMaster({ spec: { ...masterSpec, syncId: 3 }, key: KEY, log: capture().log, transport: mt, clock });
  const b = new SyncBackup({ spec: { ...backupSpec, syncId: 3 }, key: KEY, log: capture().log, transport: bt, clock, onConns: (c) => got.push(...c) });
  await b.start();
  await m.start();
  const sent = Array.from({ length: 10 }, (_, i) => conn(i));
  m.offer(sent);
  clock.advance(0);
  t.equal(mt.sent.length, 2, 'two full messages at once');
  t.equal(m.stats().queued, 2, 'the partial one waits');
  clock.advance(19);
  t.equal(mt.sent.length, 2, 'not before flushMs');
  clock.advance(1);
  t.equal(mt.sent.length, 3, 'the partial message after flushMs');
  await new Promise((r) => setImmediate(r));
  t.strictSame(got, sent);
  const seqs = mt.sent.map((x) => { const d = decode(x, KEY); return d.ok ? [d.header.seq, d.header.syncId, d.header.senderId] : []; });
  t.same(seqs, [[1n, 3, m.senderId], [2n, 3, m.senderId], [3n, 3, m.senderId]]);
  t.match(m.stats(), { role: 'master', messagesSent: 3, connsSent: 10, queued: 0, queueDropped: 0, lagSeconds: 0.02 });
  t.match(b.stats(), { role: 'backup', messagesReceived: 3, connsReceived: 10, rejected: { auth: 0, replay: 0 } });
  await m.close();
  await b.close();
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('a conn offered again while queued replaces the queued copy (5-tuple + template flag)', async (t) => {
  const clock = new FakeClock();
  const mt = new MemoryTransport(sized(16));
  const m = new SyncMaster({ spec: masterSpec, key: KEY, log: capture().log, transport: mt, clock });
  await m.start();
  m.offer([conn(1, { state: 3, inactive: true }), conn(2)]);
  clock.advance(5);
  m.offer([conn(1, { state: 1 }), conn(1, { template: true, cport: 10001, state: 0 }), conn(2, { daddr: '198.51.100.12' })]);
  t.equal(m.stats().queued, 3);
  clock.advance(15);
  t.equal(mt.sent.length, 1, 'sent flushMs after the first offer, not after the second');
  t.strictSame(decodedConns(mt.sent), [conn(1, { state: 1 }), conn(2, { daddr: '198.51.100.12' }), conn(1, { template: true, cport: 10001, state: 0 })]);
  await m.close();
});

// flushMs 1000 gives the token bucket a burst of 50: only the log of send times keeps the bound exact.
for (const flushMs of [20, 1000]) t.test(`rate bound (flushMs ${flushMs}): at most ratePerSec messages in any second; nothing lost`, async (t) => {
  const clock = new FakeClock();
  const mt = new MemoryTransport(sized(2));
  const times: number[] = [];
  mt.onSend = () => times.push(clock.now());
  const m = new SyncMaster({ spec: masterSpec, key: KEY, log: capture().log, transport: mt, clock, ratePerSec: 50, flushMs });
  await m.start();
  const all = Array.from({ length: 400 }, (_, i) => conn(i));
  m.offer(all.slice(0, 300));
  clock.advance(1000);
  m.offer(all.slice(300));
  clock.advance(1500);
  t.ok(times.length < 200, `still sending after 2.5 s (${times.length} of 200)`);
  clock.advance(2000);
  t.equal(times.length, 200, 'all 200 messages sent in the end');
  let worst = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    for (let j = i; j < times.length && times[j] < times[i] + 1000; j++) n++;
    worst = Math.max(worst, n);
  }
  t.equal(worst, 50, 'the busiest 1000 ms window holds exactly ratePerSec messages');
  t.ok(times[times.length - 1] - times[0] >= 3000, 'spread over more than 3 s');
  t.strictSame(decodedConns(mt.sent), all, 'every conn once, in order');
  t.match(m.stats(), { messagesSent: 200, connsSent: 400, queued: 0, queueDropped: 0 });
  t.ok(m.stats().lagSeconds >= 2, `lag of the last batch ${m.stats().lagSeconds} s`);
  await m.close();
});

t.test('lagSeconds: age of the oldest conn of the last batch when it was sent', async (t) => {
  const clock = new FakeClock();
  const mt = new MemoryTransport(sized(1));
  const m = new SyncMaster({ spec: masterSpec, key: KEY, log: capture().log, transport: mt, clock, ratePerSec: 1 });
  await m.start();
  m.offer([conn(1), conn(2), conn(3)]);
  const lags: number[] = [];
  for (let i = 0; i < 3; i++) {
    clock.advance(i === 0 ? 0 : 1000);
    lags.push(m.stats().lagSeconds);
  }
  t.equal(mt.sent.length, 3);
  t.same(lags, [0, 1, 2]);
  await m.close();
});

t.test('queue overflow drops the oldest and counts it', async (t) => {
  const clock = new FakeClock();
  const mt = new MemoryTransport(sized(10));
  const { log, lines } = capture();
  const m = new SyncMaster({ spec: masterSpec, key: KEY, log, transport: mt, clock, maxQueue: 100 });
  const all = Array.from({ length: 150 }, (_, i) => conn(i));
  m.offer(all); // before start: queued, sent once started
  t.match(m.stats(), { queued: 100, queueDropped: 50 });
  await m.start();
  clock.advance(100);
  t.strictSame(decodedConns(mt.sent), all.slice(50));
  t.match(m.stats(), { queued: 0, queueDropped: 50, connsSent: 100, messagesSent: 10 });
  m.offer([conn(1, { daddr: '2001:db8::1' })]);
  t.equal(m.stats().queued, 0, 'a conn of mixed families is not queued');
  t.match(lines.at(-1), { level: 'warn', msg: 'sync: connection not sent' });
  await m.close();
  m.offer([conn(1)]);
  t.equal(m.stats().queued, 0, 'nothing queued after close');
});

function backupHarness(over: Partial<SyncDaemonSpec> = {}, maxAgeS?: number) {
  const clock = new FakeClock();
  const bt = new MemoryTransport();
  const got: SyncConn[][] = [];
  const { log, lines } = capture('debug');
  const b = new SyncBackup({ spec: { ...backupSpec, ...over }, key: KEY, log, transport: bt, clock, maxAgeS, onConns: (c) => got.push(c) });
  const msg = (seq: bigint, o: { syncId?: number; sender?: bigint; time?: number; conns?: SyncConn[] } = {}): Buffer =>
    encodeMessage({ syncId: o.syncId ?? 0, senderId: o.sender ?? 0xabcn, seq, sendTimeMs: o.time ?? clock.now() }, o.conns ?? [conn(Number(seq))], KEY);
  return { clock, bt, got, lines, b, msg };
}

t.test('backup: wrong key, truncated and version are rejected and counted, nothing installed', async (t) => {
  const { bt, got, b, msg, lines } = backupHarness();
  await b.start();
  const good = msg(1n);
  bt.deliver(encodeMessage({ syncId: 0, senderId: 1n, seq: 1n, sendTimeMs: T0 }, [conn(1)], Buffer.from('another-key-0123456789')));
  bt.deliver(good.subarray(0, good.length - 1));
  const v2 = Buffer.from(good);
  v2[4] = 2;
  bt.deliver(v2);
  bt.deliver(Buffer.alloc(0));
  t.same(got, []);
  t.same(b.stats().rejected, { auth: 1, truncated: 2, malformed: 0, replay: 0, stale: 0, syncid: 0, version: 1, peer: 0 });
  bt.deliver(good);
  t.strictSame(got, [[conn(1)]], 'the genuine message is still accepted');
  t.equal(lines.filter((l) => l.msg === 'sync message rejected' && l.level === 'debug').length, 4, 'each rejection at debug');
  await b.close();
});

t.test('backup: warn at most once per 10 s per reason', async (t) => {
  const { bt, b, clock, lines } = backupHarness();
  await b.start();
  const warns = (): Record<string, unknown>[] => lines.filter((l) => l.level === 'warn');
  for (let i = 0; i < 5; i++) bt.deliver(Buffer.alloc(3));
  bt.deliver(Buffer.alloc(200));
  t.equal(warns().length, 2, 'one warn for truncated, one for malformed (no magic)');
  t.match(warns()[0], { reason: 'truncated', suppressed: 0, rejected: 1 });
  clock.advance(9_999);
  bt.deliver(Buffer.alloc(3));
  t.equal(warns().length, 2);
  clock.advance(1);
  bt.deliver(Buffer.alloc(3));
  t.equal(warns().length, 3);
  t.match(warns()[2], { reason: 'truncated', suppressed: 5, rejected: 7 });
  await b.close();
});

t.test('backup: syncid filter; syncid 0 accepts every group', async (t) => {
  const h = backupHarness({ syncId: 5 });
  await h.b.start();
  h.bt.deliver(h.msg(1n, { syncId: 6 }));
  h.bt.deliver(h.msg(2n, { syncId: 0 }));
  h.bt.deliver(h.msg(3n, { syncId: 5 }));
  t.strictSame(h.got, [[conn(3)]]);
  t.equal(h.b.stats().rejected.syncid, 2);
  const any = backupHarness({ syncId: 0 });
  await any.b.start();
  any.bt.deliver(any.msg(1n, { syncId: 6 }));
  any.bt.deliver(any.msg(2n, { syncId: 255 }));
  t.strictSame(any.got, [[conn(1)], [conn(2)]]);
  t.equal(any.b.stats().rejected.syncid, 0);
});

t.test('backup: stale and future messages (maxAgeS), lag of the last accepted', async (t) => {
  const h = backupHarness({}, 60);
  await h.b.start();
  h.bt.deliver(h.msg(1n, { time: T0 - 60_001 }));
  h.bt.deliver(h.msg(2n, { time: T0 + 60_001 }));
  t.equal(h.b.stats().rejected.stale, 2);
  h.bt.deliver(h.msg(3n, { time: T0 - 60_000 }));
  h.bt.deliver(h.msg(4n, { time: T0 + 60_000 }));
  t.strictSame(h.got, [[conn(3)], [conn(4)]]);
  h.bt.deliver(h.msg(5n, { time: T0 - 1500 }));
  t.equal(h.b.stats().lagSeconds, 1.5);
  const short = backupHarness({}, 5);
  await short.b.start();
  short.bt.deliver(short.msg(1n, { time: T0 - 5001 }));
  t.equal(short.b.stats().rejected.stale, 1, 'maxAgeS is honoured');
});

t.test('backup: replay rejected; reordering inside the 64-message window accepted; older rejected', async (t) => {
  const h = backupHarness();
  await h.b.start();
  const deliver = (seq: bigint, sender?: bigint): void => h.bt.deliver(h.msg(seq, { sender }));
  const accepted = (): number => h.b.stats().messagesReceived;
  deliver(3n);
  deliver(1n);
  deliver(2n);
  t.equal(accepted(), 3, '3, 1, 2 all accepted');
  deliver(2n);
  deliver(3n);
  t.equal(h.b.stats().rejected.replay, 2, 'the same messages again');
  const again = h.msg(4n);
  h.bt.deliver(again);
  h.bt.deliver(again);
  t.equal(h.b.stats().rejected.replay, 3, 'a byte-identical replay');
  deliver(70n);
  deliver(6n); // 70 - 6 = 64: outside the window
  t.equal(h.b.stats().rejected.replay, 4, 'older than the window');
  deliver(7n); // 70 - 7 = 63: inside, never seen
  deliver(5n, 0x999n); // another sender has its own window
  t.equal(accepted(), 7);
  deliver(7n);
  t.equal(h.b.stats().rejected.replay, 5);
  deliver(200n);
  deliver(137n);
  deliver(136n);
  t.equal(accepted(), 9, '200 and 137 (63 back) accepted');
  t.equal(h.b.stats().rejected.replay, 6, '136 (64 back) rejected');
  t.same(h.got.map((c) => c[0].cport - 10000), [3, 1, 2, 4, 70, 7, 5, 200, 137]);
});

t.test('replay filter: idle senders forgotten after 10 min, at most 64 tracked', async (t) => {
  const f = new ReplayFilter();
  f.accept(1n, 10n, 0);
  t.notOk(f.check(1n, 10n));
  f.accept(2n, 1n, 600_000);
  t.notOk(f.check(1n, 10n), 'still known at 10 min');
  f.accept(2n, 2n, 600_001);
  t.ok(f.check(1n, 10n), 'forgotten after 10 min idle');
  t.equal(f.size, 1);
  const g = new ReplayFilter();
  for (let s = 1n; s <= 64n; s++) g.accept(s, 5n, Number(s));
  g.accept(1n, 6n, 100); // sender 1 active again: sender 2 is now the one idle longest
  g.accept(65n, 1n, 101);
  t.equal(g.size, 64);
  t.ok(g.check(2n, 5n), 'sender 2 evicted');
  t.notOk(g.check(1n, 6n), 'sender 1 kept');
  t.notOk(g.check(3n, 5n), 'sender 3 kept');
});

t.test('engine options are checked', async (t) => {
  const log = capture().log;
  const tr = new MemoryTransport();
  t.throws(() => new SyncMaster({ spec: backupSpec, key: KEY, log, transport: tr }), { code: 'EINVAL', message: /role master/ });
  t.throws(() => new SyncBackup({ spec: masterSpec, key: KEY, log, transport: tr, onConns: () => undefined }), { code: 'EINVAL' });
  t.throws(() => new SyncMaster({ spec: masterSpec, key: Buffer.from('short'), log, transport: tr }), { code: 'EINVAL', message: /16 bytes/ });
  t.throws(() => new SyncMaster({ spec: masterSpec, key: KEY, log, transport: tr, ratePerSec: 0 }), { code: 'EINVAL' });
  const tiny = new SyncMaster({ spec: masterSpec, key: KEY, log, transport: new MemoryTransport(sized(1) - 1) });
  await t.rejects(tiny.start(), { code: 'EINVAL', message: /cannot hold one connection/ });
});

t.test('UDP plan: interface address, group, peers, maxLen from the MTU', async (t) => {
  const host = (ifs: NodeJS.Dict<os.NetworkInterfaceInfo[]>, mtu = 1500): HostInfo => ({ networkInterfaces: () => ifs, mtu: () => mtu });
  const v4 = { address: '192.0.2.1', netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:01', internal: false, cidr: '192.0.2.1/24' } as const;
  const v6 = { address: '2001:db8::1', netmask: 'ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:01', internal: false, cidr: '2001:db8::1/64', scopeid: 0 } as const;
  t.match(planUdp(masterSpec, host({ eth0: [v6, v4] })), { ifAddr4: '192.0.2.1', group: '224.0.0.81', port: 8848, ttl: 1, v6: false, maxPayload: 1472 });
  t.match(planUdp({ ...masterSpec, group: 'ff02::8:81', port: 9000, ttl: 3 }, host({ eth0: [v6] }, 9000)), { group: 'ff02::8:81', port: 9000, ttl: 3, v6: true, maxPayload: 8952 });
  t.match(planUdp({ ...masterSpec, maxLen: 600 }, host({ eth0: [v4] })), { maxPayload: 600 });
  t.match(planUdp({ ...masterSpec, mcastInterface: 'lo' }, host({ lo: [v4] }, 65536)), { maxPayload: 65507 });
  t.throws(() => planUdp(masterSpec, host({ eth1: [v4] })), { code: 'EINVAL', message: 'sync: no interface eth0' });
  t.throws(() => planUdp(masterSpec, host({ eth0: [v6] })), { code: 'EINVAL', message: /eth0 has no IPv4 address/ });
  t.throws(() => planUdp({ ...masterSpec, group: '192.0.2.9' }, host({ eth0: [v4] })), { code: 'EINVAL', message: /not a multicast group/ });
  t.throws(() => planUdp(masterSpec, { networkInterfaces: () => ({ eth0: [v4] }), mtu: () => { throw new Error('ENOENT'); } }), { code: 'EINVAL', message: /MTU of eth0/ });
  const p = planUdp({ ...masterSpec, peers: ['192.0.2.7', '192.0.2.8:9999', '[2001:db8::8]:7777'] }, host({ eth0: [v6] }));
  t.same(p.peers, [{ address: '192.0.2.7', port: 8848 }, { address: '192.0.2.8', port: 9999 }, { address: '2001:db8::8', port: 7777 }]);
  t.equal(p.group, undefined);
  t.equal(p.maxPayload, 1452, 'a v6 peer: MTU - 48');
  t.same(parsePeer('2001:db8::9', 1), { address: '2001:db8::9', port: 1 });
  t.same(parsePeer('[2001:db8::9]', 1), { address: '2001:db8::9', port: 1 });
  for (const bad of ['host:80', '192.0.2.1:0', '192.0.2.1:70000', '[192.0.2.1]:80', '2001:db8::1:80x', '']) {
    t.throws(() => parsePeer(bad, 1), { code: 'EINVAL' }, bad);
  }
});

async function freePort(type: 'udp4' | 'udp6'): Promise<number> {
  const s = dgram.createSocket(type);
  await new Promise<void>((r) => s.bind(0, r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

const hasLo6 = (os.networkInterfaces().lo ?? []).some((a) => a.address === '::1');
for (const [family, addr] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
  t.test(`real UDP over ${addr}: SyncMaster → SyncBackup, unicast peers`, { skip: family === 'udp6' && !hasLo6 ? 'no ::1 on lo' : false }, async (t) => {
    const port = await freePort(family);
    const peer = family === 'udp6' ? `[${addr}]:${port}` : `${addr}:${port}`;
    const got: SyncConn[] = [];
    const b = new SyncBackup({ spec: { ...backupSpec, mcastInterface: 'lo', port, peers: [addr] }, key: KEY, log: capture().log, onConns: (c) => got.push(...c) });
    const m = new SyncMaster({ spec: { ...masterSpec, mcastInterface: 'lo', maxLen: 1400, peers: [peer] }, key: KEY, log: capture().log });
    const stranger = new SyncMaster({ spec: { ...masterSpec, mcastInterface: 'lo', peers: [peer] }, key: Buffer.from('not-the-shared-key!!'), log: capture().log });
    t.teardown(async () => { await m.close(); await b.close(); await stranger.close(); });
    await b.start();
    await m.start();
    await stranger.start();
    const v6 = family === 'udp6';
    const all = Array.from({ length: 1000 }, (_, i) => conn(i, v6
      ? { caddr: `2001:db8::${(i + 1).toString(16)}`, vaddr: '2001:db8:ffff::10', daddr: '2001:db8:1::11', fwd: 'fullnat', laddr: '2001:db8:2::1', lport: 2000 + i }
      : { fwd: i % 2 ? 'route' : 'fullnat', ...(i % 2 ? {} : { laddr: '198.51.100.200', lport: 2000 + i }) }));
    stranger.offer([conn(5000)]);
    m.offer(all);
    t.ok(await waitFor(() => got.length >= 1000 && b.stats().rejected.auth >= 1, 5000), `received ${got.length} of 1000`);
    t.strictSame(got, all, 'every conn, exactly');
    t.equal(m.stats().messagesSent, Math.ceil(1000 / 15), '15 records per 1400-byte datagram');
    t.match(b.stats(), { messagesReceived: m.stats().messagesSent, connsReceived: 1000, rejected: { auth: 1, replay: 0 } });
    if (family === 'udp4') {
      // An authentic datagram (the shared key, a fresh sender) from an address that is not a peer:
      // 127.0.0.2 is on lo as well. Rejected before its HMAC is checked, nothing installed.
      const msg = encodeMessage({ syncId: 0, senderId: 0x5eedn, seq: 1n, sendTimeMs: Date.now() }, [conn(7000)], KEY);
      const s = dgram.createSocket('udp4');
      t.teardown(() => s.close());
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.2', resolve));
      await new Promise<void>((resolve, reject) => s.send(msg, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      t.ok(await waitFor(() => b.stats().rejected.peer === 1, 5000), 'the datagram from 127.0.0.2 was rejected (peer)');
      t.equal(got.length, 1000, 'nothing installed from it');
      // The same datagram from the peer's address is accepted.
      const ok = dgram.createSocket('udp4');
      t.teardown(() => ok.close());
      await new Promise<void>((resolve) => ok.bind(0, '127.0.0.1', resolve));
      await new Promise<void>((resolve, reject) => ok.send(msg, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      t.ok(await waitFor(() => got.length === 1001, 5000), 'the same datagram from the peer is installed');
    }
    const clash = new SyncBackup({ spec: { ...backupSpec, mcastInterface: 'lo', port, peers: [addr] }, key: KEY, log: capture().log, onConns: () => undefined });
    await t.rejects(clash.start(), { code: 'EINVAL', message: new RegExp(`cannot open UDP port ${port}`) }, 'a second listener on the port');
    await clash.close();
  });
}
