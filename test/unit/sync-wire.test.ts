// test/unit/sync-wire.test.ts — the sync datagram (docs/SYNC.md): exact bytes of the documented layout,
// round trips of every kind of connection, splitting at maxLen, and rejection of every damaged datagram
// (each truncation length, each flipped bit, re-signed impossible values) without ever throwing; sync keys.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  decode, encode, encodeMessage, recordsPerMessage, HEADER_LEN, RECORD_LEN, TAG_LEN, SYNC_MAGIC,
} from '../../src/sync/wire.js';
import { keyFromEnv, readSyncKey } from '../../src/sync/key.js';
import { XvsError } from '../../src/model/errors.js';
import type { SyncConn } from '../../src/sync/types.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const T0 = 1_790_000_000_123;

const base = { output: false, fwmark: 0, template: false, inactive: false } as const;
const CONNS: SyncConn[] = [
  { ...base, protocol: 'tcp', caddr: '192.0.2.1', cport: 40000, vaddr: '203.0.113.10', vport: 80, daddr: '198.51.100.11', dport: 80, fwd: 'route', state: 1, timeoutS: 900 },
  { ...base, protocol: 'udp', caddr: '2001:db8::1', cport: 5353, vaddr: '2001:db8:ffff::10', vport: 53, daddr: '2001:db8:1::11', dport: 5300, fwd: 'tunnel', state: 0, inactive: true, timeoutS: 300 },
  { ...base, protocol: 'tcp', caddr: '192.0.2.2', cport: 1, vaddr: '203.0.113.10', vport: 443, daddr: '198.51.100.12', dport: 8443, fwd: 'masq', state: 4, inactive: true, output: true, timeoutS: 120 },
  { ...base, protocol: 'tcp', caddr: '192.0.2.3', cport: 65535, vaddr: '203.0.113.10', vport: 80, daddr: '198.51.100.13', dport: 80, fwd: 'fullnat', state: 1, output: true, laddr: '198.51.100.200', lport: 61000, timeoutS: 0xffffffff },
  { ...base, protocol: 'tcp', caddr: '2001:db8::7', cport: 33333, vaddr: '2001:db8:ffff::10', vport: 80, daddr: '2001:db8:1::12', dport: 80, fwd: 'fullnat', state: 3, inactive: true, laddr: '2001:db8:2::1', lport: 1024, timeoutS: 60 },
  { ...base, protocol: 'tcp', caddr: '192.0.2.0', cport: 0, vaddr: '203.0.113.10', vport: 0, daddr: '198.51.100.11', dport: 80, fwd: 'route', state: 0, template: true, fwmark: 7, timeoutS: 360 },
  { ...base, protocol: 'udp', caddr: '2001:db8::', cport: 0, vaddr: '2001:db8:ffff::10', vport: 0, daddr: '2001:db8:1::11', dport: 53, fwd: 'masq', state: 0, template: true, timeoutS: 1 },
];
const HDR = { syncId: 9, senderId: 0x0102030405060708n, seq: 42n, sendTimeMs: T0 };

/** Recomputes the tag, so a test can hand decode() a well-signed datagram with impossible values. */
function resign(buf: Buffer, key = KEY): Buffer {
  const body = buf.subarray(0, buf.length - TAG_LEN);
  createHmac('sha256', key).update(body).digest().copy(buf, buf.length - TAG_LEN);
  return buf;
}

t.test('layout: the header and a record byte for byte as docs/SYNC.md shows them', async (t) => {
  const msg = encodeMessage(HDR, [CONNS[3]], KEY);
  t.equal(msg.length, HEADER_LEN + RECORD_LEN + TAG_LEN);
  t.equal(HEADER_LEN, 40);
  t.equal(RECORD_LEN, 88);
  t.equal(msg.subarray(0, HEADER_LEN).toString('hex'),
    '58565359' + '01' + '01' + '09' + '00' + '0102030405060708' + '000000000000002a' + (T0).toString(16).padStart(16, '0')
    + '0001' + '0058' + '00000000');
  t.equal(msg.readUInt32BE(0), SYNC_MAGIC);
  const rec = msg.subarray(HEADER_LEN, HEADER_LEN + RECORD_LEN).toString('hex');
  const v4 = (a: string): string => Buffer.from(a.split('.').map(Number)).toString('hex') + '00'.repeat(12);
  t.equal(rec,
    '02' + '06' + '05' + '01' + '0a' + '00' + 'ffff' + '0050' + '0050' + 'ee48' + '0000' + '00000000' + 'ffffffff'
    + v4('192.0.2.3') + v4('203.0.113.10') + v4('198.51.100.13') + v4('198.51.100.200'));
  const tagHex = createHmac('sha256', KEY).update(msg.subarray(0, HEADER_LEN + RECORD_LEN)).digest('hex');
  t.equal(msg.subarray(HEADER_LEN + RECORD_LEN).toString('hex'), tagHex, 'tag = HMAC-SHA256(key, header + records)');
  const v6 = encodeMessage(HDR, [CONNS[1]], KEY).subarray(HEADER_LEN, HEADER_LEN + RECORD_LEN);
  t.equal(v6.subarray(0, 6).toString('hex'), '0a1102000100', 'v6 UDP tunnel, state 0, inactive');
  t.equal(v6.subarray(24, 40).toString('hex'), '20010db8000000000000000000000001');
});

t.test('round trip: v4/v6, TCP/UDP, every mode, templates, FULLNAT laddr, extreme values', async (t) => {
  const [msg, ...rest] = encode(CONNS, { ...HDR, firstSeq: 42n, key: KEY, maxLen: 1500 });
  t.equal(rest.length, 0, 'one datagram');
  const d = decode(msg, KEY);
  if (!d.ok) return t.fail(`rejected: ${d.reason} ${d.detail}`);
  t.strictSame(d.header, { version: 1, type: 1, syncId: 9, senderId: 0x0102030405060708n, seq: 42n, sendTimeMs: T0, count: CONNS.length });
  t.strictSame(d.conns, CONNS);
  t.equal(d.conns[3].laddr, '198.51.100.200');
  t.equal(d.conns[3].lport, 61000);
  t.notOk('laddr' in d.conns[0], 'no laddr when none was sent');
  const empty = decode(encodeMessage(HDR, [], KEY), KEY);
  t.match(empty, { ok: true, conns: [] }, 'an empty message is valid');
});

t.test('encode splits a batch at maxLen', async (t) => {
  t.equal(recordsPerMessage(HEADER_LEN + TAG_LEN + 3 * RECORD_LEN), 3);
  t.equal(recordsPerMessage(HEADER_LEN + TAG_LEN + 3 * RECORD_LEN - 1), 2);
  t.equal(recordsPerMessage(1472), 15);
  const many = Array.from({ length: 10 }, (_, i) => ({ ...CONNS[0], cport: 1000 + i }));
  const maxLen = HEADER_LEN + TAG_LEN + 3 * RECORD_LEN;
  const msgs = encode(many, { ...HDR, firstSeq: 100n, key: KEY, maxLen });
  t.same(msgs.map((m) => m.length), [maxLen, maxLen, maxLen, HEADER_LEN + TAG_LEN + RECORD_LEN]);
  const decoded = msgs.map((m) => decode(m, KEY));
  t.same(decoded.map((d) => (d.ok ? d.header.seq : -1n)), [100n, 101n, 102n, 103n], 'one sequence number each');
  t.strictSame(decoded.flatMap((d) => (d.ok ? d.conns : [])), many);
  t.same(encode([], { ...HDR, firstSeq: 1n, key: KEY, maxLen }), []);
  t.throws(() => encode(many, { ...HDR, firstSeq: 1n, key: KEY, maxLen: HEADER_LEN + TAG_LEN + RECORD_LEN - 1 }), RangeError);
  t.throws(() => encodeMessage(HDR, [{ ...CONNS[0], daddr: '2001:db8::1' }], KEY), TypeError, 'mixed families refused');
});

t.test('wrong key → auth', async (t) => {
  const msg = encodeMessage(HDR, CONNS, KEY);
  t.match(decode(msg, Buffer.from('fedcba9876543210fedcba9876543210')), { ok: false, reason: 'auth' });
  t.match(decode(msg, KEY.subarray(0, 31)), { ok: false, reason: 'auth' });
});

t.test('every truncation of a valid datagram → truncated, never a throw', async (t) => {
  const msg = encodeMessage(HDR, CONNS.slice(0, 3), KEY);
  const reasons = new Set<string>();
  let bad = 0;
  for (let len = 0; len < msg.length; len++) {
    const d = decode(Buffer.from(msg.subarray(0, len)), KEY);
    if (d.ok || d.reason !== 'truncated') bad++;
    reasons.add(d.ok ? 'ok' : d.reason);
  }
  t.equal(bad, 0, `all ${msg.length} shorter lengths rejected as truncated`);
  t.same([...reasons], ['truncated']);
  const longer = Buffer.concat([msg, Buffer.alloc(1)]);
  t.match(decode(longer, KEY), { ok: false, reason: 'truncated' }, 'a trailing byte too');
});

t.test('every flipped bit is caught: magic → malformed, version → version, count → truncated, else auth', async (t) => {
  const msg = encodeMessage(HDR, CONNS.slice(0, 2), KEY);
  const wrong: string[] = [];
  for (let i = 0; i < msg.length; i++) {
    const expect = i < 4 ? 'malformed' : i === 4 ? 'version' : i === 32 || i === 33 ? 'truncated' : 'auth';
    for (let bit = 0; bit < 8; bit++) {
      const b = Buffer.from(msg);
      b[i] ^= 1 << bit;
      const d = decode(b, KEY);
      if (d.ok || d.reason !== expect) wrong.push(`byte ${i} bit ${bit}: ${d.ok ? 'accepted' : d.reason}`);
    }
  }
  t.same(wrong, [], `${msg.length * 8} flips`);
});

t.test('well-signed impossible values → malformed (or version), naming the problem', async (t) => {
  const rec = HEADER_LEN; // first record
  const cases: { name: string; at: number; value: number; reason?: string; detail: RegExp }[] = [
    { name: 'magic', at: 0, value: 0x59, detail: /magic/ },
    { name: 'version 2', at: 4, value: 2, reason: 'version', detail: /version 2/ },
    { name: 'message type', at: 5, value: 9, detail: /type 9/ },
    { name: 'header flags', at: 7, value: 1, detail: /reserved/ },
    { name: 'record length', at: 35, value: 0x59, detail: /record length/ },
    { name: 'header reserved', at: 39, value: 1, detail: /reserved/ },
    { name: 'address family', at: rec, value: 3, detail: /family 3/ },
    { name: 'protocol', at: rec + 1, value: 1, detail: /protocol 1/ },
    { name: 'forwarding method 1 (localnode)', at: rec + 2, value: 1, detail: /forwarding method 1/ },
    { name: 'forwarding method 9', at: rec + 2, value: 9, detail: /forwarding method 9/ },
    { name: 'TCP state 11', at: rec + 3, value: 11, detail: /state 11/ },
    { name: 'record flags', at: rec + 4, value: 0x10, detail: /flags/ },
    { name: 'record reserved', at: rec + 5, value: 1, detail: /reserved/ },
    { name: 'record reserved 2', at: rec + 15, value: 1, detail: /reserved/ },
    { name: 'lport without laddr flag', at: rec + 13, value: 1, detail: /laddr/ },
    { name: 'IPv4 caddr with a fifth byte', at: rec + 28, value: 1, detail: /fourth/ },
  ];
  for (const c of cases) {
    const b = encodeMessage(HDR, [CONNS[0]], KEY);
    b[c.at] = c.value;
    const d = decode(resign(b), KEY);
    t.match(d, { ok: false, reason: c.reason ?? 'malformed', detail: c.detail }, c.name);
  }
  const udp = encodeMessage(HDR, [CONNS[1]], KEY);
  udp[rec + 3] = 1;
  t.match(decode(resign(udp), KEY), { ok: false, reason: 'malformed', detail: /state 1/ }, 'UDP with a TCP state');
  const late = encodeMessage(HDR, [CONNS[0], CONNS[0]], KEY);
  late[rec + RECORD_LEN + 1] = 99;
  t.match(decode(resign(late), KEY), { ok: false, reason: 'malformed', detail: /^record 1: bad protocol 99/ }, 'names the record');
  const ok = encodeMessage(HDR, [CONNS[0]], KEY);
  t.match(decode(resign(ok), KEY), { ok: true }, 're-signing alone changes nothing');
});

t.test('sync keys: text of at least 16 bytes from a file or XVS_SYNC_KEY', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-sync-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'good');
  writeFileSync(good, '  00112233445566778899aabbccddeeff\n');
  t.same(readSyncKey(good), Buffer.from('00112233445566778899aabbccddeeff'), 'trimmed, hex used as text');
  const short = path.join(dir, 'short');
  writeFileSync(short, 'fifteen-bytes!!\n');
  t.throws(() => readSyncKey(short), { name: 'XvsError', code: 'EINVAL', message: new RegExp(`${short}.*15 bytes`) });
  writeFileSync(path.join(dir, 'sixteen'), 'sixteen-bytes!!!');
  t.equal(readSyncKey(path.join(dir, 'sixteen')).length, 16);
  const missing = path.join(dir, 'missing');
  t.throws(() => readSyncKey(missing), { code: 'EINVAL', message: new RegExp(`cannot read sync key file ${missing}`) });
  const huge = path.join(dir, 'huge');
  writeFileSync(huge, 'x'.repeat(10_000));
  t.throws(() => readSyncKey(huge), { code: 'EINVAL', message: /too long/ });
  t.equal(keyFromEnv({}), undefined);
  t.equal(keyFromEnv({ XVS_SYNC_KEY: '  ' }), undefined);
  t.same(keyFromEnv({ XVS_SYNC_KEY: 'a-long-enough-shared-secret\n' }), Buffer.from('a-long-enough-shared-secret'));
  try {
    keyFromEnv({ XVS_SYNC_KEY: 'short' });
    t.fail('short env key accepted');
  } catch (e) {
    t.ok(e instanceof XvsError && e.code === 'EINVAL' && /XVS_SYNC_KEY/.test(e.message), (e as Error).message);
  }
});
