// test/unit/abi.test.ts — the map codecs: byte layouts of keys/values written by hand from xvs_abi.h,
// addresses in network order, round trips. (The layouts themselves are checked against BTF in test/bpf.)
import t from 'tap';
import { LAYOUTS, decode, encode, encodeAddr, decodeAddr, AF_INET6, checkLayouts } from '../../src/datapath/abi.js';

t.test('struct sizes match the _Static_asserts of xvs_abi.h', async (t) => {
  t.same(Object.fromEntries(Object.entries(LAYOUTS).map(([k, l]) => [k, l.size])), {
    xvs_svc_key: 20, xvs_svc: 8, xvs_dest: 28, xvs_dest_cnt: 8, xvs_ring: 16 + 4 * 1024,
    xvs_conn_key: 40, xvs_conn: 72, xvs_laddr_pool: 8 + 16 * 8, xvs_stats: 40, xvs_sched_tab: 16 + 4 * 4096,
    xvs_persist: 24, xvs_tmpl_key: 24, xvs_tmpl: 32,
    xvs_lblc_key: 24, xvs_lblc: 16 + 4 * 8, xvs_dsched: 8, xvs_cfg: 8, xvs_fc_ctl: 8,
  });
});

t.test('service key bytes: VIP and port in network order', async (t) => {
  const b = encode('xvs_svc_key', { addr: '192.0.2.100', port: 80, proto: 6, af: 2 });
  t.equal(b.toString('hex'), 'c0000264' + '00'.repeat(12) + '0050' + '06' + '02');
  t.same(decode('xvs_svc_key', b), { addr: '192.0.2.100', port: 80, proto: 6, af: 2 });
});

t.test('IPv6 addresses', async (t) => {
  const b = Buffer.alloc(16);
  encodeAddr('2001:db8::1', b, 0);
  t.equal(b.toString('hex'), '20010db8000000000000000000000001');
  t.equal(decodeAddr(b, 0, AF_INET6), '2001:db8::1');
  encodeAddr('2001:db8:0:0:1::', b, 0);
  t.equal(decodeAddr(b, 0, AF_INET6), '2001:db8:0:0:1::');
  encodeAddr('::ffff:192.0.2.1', b, 0);
  t.equal(b.toString('hex'), '00000000000000000000ffffc0000201');
  t.throws(() => encodeAddr('not-an-ip', b, 0));
});

t.test('dest and conn values', async (t) => {
  const d = encode('xvs_dest', { addr: '198.51.100.1', port: 8080, af: 2, fwd: 3, flags: 1, svc_id: 7 });
  t.equal(d.length, 28);
  t.equal(d.readUInt16BE(16), 8080);
  t.equal(d[18], 2); t.equal(d[19], 3);
  t.equal(d.readUInt32LE(20), 1); t.equal(d.readUInt32LE(24), 7);
  const c = encode('xvs_conn', { last_seen_ns: 123n, created_ns: 5n, dest_id: 9, svc_id: 2, state: 1, fwd: 3, flags: 1 });
  t.same(decode('xvs_conn', c), {
    last_seen_ns: 123n, created_ns: 5n, dest_id: 9, svc_id: 2, state: 1, fwd: 3, flags: 1, pad: 0,
    raddr: '0.0.0.0', laddr: '0.0.0.0', rport: 0, lport: 0, pad2: 0,
  });
  // The RS side (NAT/FULLNAT): RIP at 32, LIP at 48, ports in network order at 64 and 66.
  const n = encode('xvs_conn', { raddr: '198.51.100.10', laddr: '198.51.100.2', rport: 8080, lport: 40000, fwd: 5 });
  t.equal(n.length, 72);
  t.equal(n.subarray(32, 36).toString('hex'), 'c633640a');
  t.equal(n.subarray(48, 52).toString('hex'), 'c6336402');
  t.equal(n.readUInt16BE(64), 8080); t.equal(n.readUInt16BE(66), 40000);
  const pool = encode('xvs_laddr_pool', { count: 2, lport_min: 1024, lport_max: 65535 });
  t.equal(pool.readUInt32LE(0), 2); t.equal(pool.readUInt16LE(4), 1024); t.equal(pool.readUInt16LE(6), 65535);
});

t.test('checkLayouts reports drift', async (t) => {
  const good = (name: string) => {
    const l = Object.values(LAYOUTS).find((x) => x.name === name)!;
    return { name, size: l.size, members: l.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size })) };
  };
  t.same(checkLayouts(good), []);
  const drifted = (name: string) => {
    const g = good(name);
    return name === 'xvs_dest' ? { ...g, members: g.members.map((m) => (m.name === 'svc_id' ? { ...m, offset: 28 } : m)) } : g;
  };
  t.match(checkLayouts(drifted), [/struct xvs_dest: members differ/]);
  t.match(checkLayouts(() => { throw new Error('nope'); }).length, Object.keys(LAYOUTS).length);
});
