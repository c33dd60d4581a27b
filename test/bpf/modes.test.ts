// test/bpf/modes.test.ts — NAT (-m), FULLNAT and TUN (-i) of the real bpf/xvs.o through BPF_PROG_TEST_RUN:
// a fixture table per mode × {IPv4, IPv6} × {TCP, UDP} whose expected packets are built independently by
// the packet builder (addresses, ports, TTL and every checksum computed from scratch), then the reply
// direction through the reverse index, two-way TCP states, FULLNAT port allocation and exhaustion,
// stale reverse entries, TTL expiry, TUN's ICMP "fragmentation needed" / "packet too big", ICMP errors of
// tracked connections (TTL as the mode's other packets) and the reverse-first lookup from RS ports.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { native } from '../../src/datapath/native.js';
import {
  buildPacket, checksumsOk, encapsulate, icmpTooBig, readEth, rewritten, truncate, type PacketSpec,
} from '../fixtures/packet.js';
import {
  XvsHarness, createTestNet, isRoot, XDP, TCP_S, CONN_F_INACTIVE, FWD_MASQ, FWD_TUNNEL, FWD_FULLNAT,
  type TestNet, type Tuple, type Teardown,
} from '../fixtures/bpf-harness.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN, veth, neighbours)';

const CLIENT_MAC = '02:00:00:00:00:c1';
const LB_MAC = '02:00:00:00:00:1b';
const VIP4 = '203.0.113.100';
const VIP6 = '2001:db8:ffff::100';
const CONN_F_OUTPUT = 2;

// Service ids by mode, family and protocol; each has one dest (id = svc * 10).
const S = {
  nat4t: 1, nat4u: 2, nat6t: 3, nat6u: 4,
  fnat4t: 5, fnat4u: 6, fnat6t: 7, fnat6u: 8,
  tun4t: 9, tun4u: 10, tun6t: 11, tun6u: 12,
  fnatEx: 13, fnatNoLaddr: 14,
} as const;
type Mode = 'nat' | 'fullnat' | 'tun';
const FWD: Record<Mode, number> = { nat: FWD_MASQ, fullnat: FWD_FULLNAT, tun: FWD_TUNNEL };
// VIP port per mode/proto, and the RS port it maps to (TUN keeps the port, as IPVS does).
const VPORT: Record<Mode, { tcp: number; udp: number }> = { nat: { tcp: 80, udp: 53 }, fullnat: { tcp: 81, udp: 54 }, tun: { tcp: 82, udp: 55 } };
const RPORT: Record<Mode, { tcp: number; udp: number }> = { nat: { tcp: 8080, udp: 5353 }, fullnat: { tcp: 8081, udp: 5354 }, tun: { tcp: 82, udp: 55 } };

/** The test net plus the addresses these tests derive from it. */
interface Env {
  h: XvsHarness;
  net: TestNet;
  /** Client behind c (permanent neighbour CLIENT_MAC), the director's addresses on a (LIP, TUN source). */
  cip: { 4: string; 6: string };
  dip: { 4: string; 6: string };
  rip: { 4: string; 6: string };
}

/** RFC 5952 form (the test net's random hex may carry leading zeros). */
const canon6 = (addr: string): string => new URL(`http://[${addr}]/`).hostname.slice(1, -1);
const v4Offset = (addr: string, delta: number): string => addr.replace(/\.(\d+)$/, (_, n: string) => `.${Number(n) + delta}`);

async function setup(t: Teardown): Promise<Env> {
  const net = createTestNet(t);
  const h = await XvsHarness.load(t);
  // createTestNet: a has .1 of the /28 the RIP (.10) is in, c has .17 and rip2 (.26); v6 likewise.
  const env: Env = {
    h, net,
    cip: { 4: v4Offset(net.v4.rip2, -6), 6: canon6(net.v6.rip2.replace(/::26$/, '::20')) },
    dip: { 4: v4Offset(net.v4.rip, -9), 6: canon6(net.v6.rip.replace(/::10$/, '::1')) },
    rip: { 4: net.v4.rip, 6: canon6(net.v6.rip) },
  };
  execFileSync('ip', ['neigh', 'replace', env.cip[4], 'lladdr', CLIENT_MAC, 'dev', net.c.name, 'nud', 'permanent']);
  execFileSync('ip', ['-6', 'neigh', 'replace', env.cip[6], 'lladdr', CLIENT_MAC, 'dev', net.c.name, 'nud', 'permanent']);
  const svc = (id: number, mode: Mode, fam: 4 | 6, proto: 'tcp' | 'udp', vport = VPORT[mode][proto]): void => {
    h.addService({ id, vip: fam === 4 ? VIP4 : VIP6, port: vport, proto });
    h.addDest({ id: id * 10, svcId: id, addr: env.rip[fam], port: RPORT[mode][proto], fwd: FWD[mode] });
    h.setRing(id, new Array<number>(1024).fill(id * 10));
    if (mode === 'fullnat') h.setLaddrs(id, [env.dip[fam]]);
  };
  svc(S.nat4t, 'nat', 4, 'tcp'); svc(S.nat4u, 'nat', 4, 'udp'); svc(S.nat6t, 'nat', 6, 'tcp'); svc(S.nat6u, 'nat', 6, 'udp');
  svc(S.fnat4t, 'fullnat', 4, 'tcp'); svc(S.fnat4u, 'fullnat', 4, 'udp'); svc(S.fnat6t, 'fullnat', 6, 'tcp'); svc(S.fnat6u, 'fullnat', 6, 'udp');
  svc(S.tun4t, 'tun', 4, 'tcp'); svc(S.tun4u, 'tun', 4, 'udp'); svc(S.tun6t, 'tun', 6, 'tcp'); svc(S.tun6u, 'tun', 6, 'udp');
  svc(S.fnatEx, 'fullnat', 4, 'tcp', 90);
  h.setLaddrs(S.fnatEx, [env.dip[4]], 50000, 50000); // one port: the second connection to the RS finds none
  h.addService({ id: S.fnatNoLaddr, vip: VIP4, port: 91, proto: 'tcp' });
  h.addDest({ id: S.fnatNoLaddr * 10, svcId: S.fnatNoLaddr, addr: env.rip[4], port: 91, fwd: FWD_FULLNAT });
  h.setRing(S.fnatNoLaddr, new Array<number>(1024).fill(S.fnatNoLaddr * 10));
  h.allowTxPort(net.a.ifindex);
  h.allowTxPort(net.c.ifindex);
  return env;
}

let nextPort = 41000;
const port = (): number => nextPort++;

/** A client packet to the VIP: TTL/hop limit 61, TOS/traffic class 0x10, DF (the builder's default). */
function client(env: Env, mode: Mode, fam: 4 | 6, proto: 'tcp' | 'udp', flags = 'S', payload = 'hello', vport = VPORT[mode][proto]): PacketSpec {
  const l3 = fam === 4
    ? { ipv4: { src: env.cip[4], dst: VIP4, ttl: 61, tos: 0x10 } }
    : { ipv6: { src: env.cip[6], dst: VIP6, hopLimit: 61, trafficClass: 0x10, flowLabel: 0x12345 } };
  const l4 = proto === 'tcp' ? { tcp: { sport: port(), dport: vport, flags, seq: 7777 } } : { udp: { sport: port(), dport: vport } };
  return { eth: { src: CLIENT_MAC, dst: LB_MAC }, ...l3, ...l4, payload };
}

const tupleOf = (spec: PacketSpec): Tuple => {
  const l3 = spec.ipv4 ?? spec.ipv6!;
  const l4 = spec.tcp ?? spec.udp!;
  return { saddr: l3.src, daddr: l3.dst, sport: l4.sport, dport: l4.dport, proto: spec.tcp ? 'tcp' : 'udp' };
};

const l4Of = (spec: PacketSpec): { sport: number; dport: number } => (spec.tcp ?? spec.udp)!;
const ipBuf = (addr: string): Buffer => {
  const b = Buffer.alloc(16);
  if (addr.includes(':')) {
    const full = new URL(`http://[${addr}]/`).hostname.slice(1, -1);
    const [head, tail] = full.includes('::') ? full.split('::') : [full, undefined];
    const h = head ? head.split(':') : [];
    const tl = tail ? tail.split(':') : [];
    const words = tail === undefined ? h : [...h, ...new Array(8 - h.length - tl.length).fill('0'), ...tl];
    words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), 2 * i));
  } else addr.split('.').forEach((x, i) => { b[i] = Number(x); });
  return b;
};

const MODES: Mode[] = ['nat', 'fullnat', 'tun'];
const FAMS: (4 | 6)[] = [4, 6];
const PROTOS: ('tcp' | 'udp')[] = ['tcp', 'udp'];

t.test('client -> RS: exact packets per mode x family x protocol', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const toRs = { src: net.a.mac, dst: net.ripMac };
  for (const mode of MODES) for (const fam of FAMS) for (const proto of PROTOS) {
    const what = `${mode} IPv${fam} ${proto}`;
    const spec = client(env, mode, fam, proto);
    const pk = buildPacket(spec);
    h.clearReasons();
    const r = await h.run(pk, net.c.ifindex);
    t.equal(r.verdict, XDP.REDIRECT, `${what}: redirected toward the RS (behind a)`);
    const c = h.conn(tupleOf(spec));
    t.ok(c, `${what}: connection opened`);
    if (!c) continue;
    t.equal(c.fwd, FWD[mode], `${what}: forwarding method recorded`);
    let want: Buffer;
    const { sport, dport } = l4Of(spec);
    if (mode === 'nat') {
      want = buildPacket(rewritten(spec, toRs, env.cip[fam], sport, env.rip[fam], RPORT.nat[proto], 60));
    } else if (mode === 'fullnat') {
      t.same(c.laddr, ipBuf(env.dip[fam]), `${what}: local address from the pool`);
      t.ok(c.lport >= 1024 && c.lport <= 65535, `${what}: local port in range`);
      want = buildPacket(rewritten(spec, toRs, env.dip[fam], c.lport, env.rip[fam], RPORT.fullnat[proto], 60));
    } else {
      // Inner: the client's packet, TTL decremented (IPv4 header checksum recomputed); outer: DIP -> RIP.
      const inner = buildPacket(rewritten(spec, spec.eth, env.cip[fam], sport, fam === 4 ? VIP4 : VIP6, dport, 60));
      want = encapsulate(inner, { src: env.dip[fam], dst: env.rip[fam], tos: 0x10, flowLabel: fam === 6 ? 0x12345 : undefined, df: true, id: 0 }, toRs);
    }
    t.same(r.out, want, `${what}: packet out, byte for byte`);
    if (mode !== 'tun') t.ok(checksumsOk(r.out), `${what}: checksums verify`);
    t.same(h.reasons(), { CONN_NEW: 1, FWD_REDIRECT: 1 }, `${what}: reasons`);
    if (mode !== 'tun') {
      const rk = { saddr: env.rip[fam], daddr: mode === 'nat' ? env.cip[fam] : env.dip[fam], sport: RPORT[mode][proto], dport: mode === 'nat' ? sport : c.lport, proto };
      t.same(h.rconn(rk), tupleOf(spec), `${what}: reverse index entry`);
    }
  }
});

t.test('RS -> client: replies translated back to VIP:vport through the reverse index', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const toClient = { src: net.c.mac, dst: CLIENT_MAC };
  for (const mode of ['nat', 'fullnat'] as Mode[]) for (const fam of FAMS) for (const proto of PROTOS) {
    const what = `${mode} IPv${fam} ${proto} reply`;
    const spec = client(env, mode, fam, proto);
    await h.run(buildPacket(spec), net.c.ifindex);
    const c = h.conn(tupleOf(spec))!;
    const { sport, dport } = l4Of(spec);
    const vip = fam === 4 ? VIP4 : VIP6;
    const laddr = mode === 'nat' ? env.cip[fam] : env.dip[fam];
    const lport = mode === 'nat' ? sport : c.lport;
    // What the RS sends: from RIP:rport to the source it saw.
    const reply: PacketSpec = {
      eth: { src: net.ripMac, dst: net.a.mac },
      ...(fam === 4 ? { ipv4: { src: env.rip[4], dst: laddr, ttl: 64 } } : { ipv6: { src: env.rip[6], dst: laddr, hopLimit: 64 } }),
      ...(proto === 'tcp' ? { tcp: { sport: RPORT[mode][proto], dport: lport, flags: 'SA', seq: 99, ack: 7778 } } : { udp: { sport: RPORT[mode][proto], dport: lport } }),
      payload: 'world!',
    };
    h.clearReasons();
    const r = await h.run(buildPacket(reply), net.a.ifindex);
    t.equal(r.verdict, XDP.REDIRECT, `${what}: redirected toward the client (behind c)`);
    t.same(r.out, buildPacket(rewritten(reply, toClient, vip, dport, env.cip[fam], sport, 63)), `${what}: packet out, byte for byte`);
    t.ok(checksumsOk(r.out), `${what}: checksums verify`);
    t.same(h.reasons(), { FWD_REPLY: 1, FWD_REDIRECT: 1 }, `${what}: reasons`);
    t.ok((h.conn(tupleOf(spec))!.flags & CONN_F_OUTPUT) !== 0, `${what}: connection saw output`);
    const st = h.svcStats(c.svcId);
    t.match(st, { conns: 1, inpkts: 1, outpkts: 1, outbytes: r.out.length - 14 }, `${what}: out counters`);
  }
});

t.test('NAT TCP: IPVS two-way states and active/inactive counters', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const syn = client(env, 'nat', 4, 'tcp', 'S', '');
  await h.run(buildPacket(syn), net.c.ifindex);
  const tuple = tupleOf(syn);
  t.match(h.conn(tuple), { state: TCP_S.SYN_RECV, flags: CONN_F_INACTIVE });
  const { sport } = l4Of(syn);
  const fromRs = (flags: string): Buffer => buildPacket({
    eth: { src: net.ripMac, dst: net.a.mac }, ipv4: { src: env.rip[4], dst: env.cip[4] },
    tcp: { sport: 8080, dport: sport, flags }, payload: '',
  });
  const fromClient = (flags: string): Buffer => buildPacket({ ...syn, tcp: { ...syn.tcp!, flags } });
  await h.run(fromRs('SA'), net.a.ifindex);
  t.match(h.conn(tuple), { state: TCP_S.SYN_RECV, flags: CONN_F_INACTIVE | CONN_F_OUTPUT }, 'SYN+ACK out: OUTPUT row keeps SYN_RECV');
  await h.run(fromClient('A'), net.c.ifindex);
  t.match(h.conn(tuple), { state: TCP_S.ESTABLISHED, flags: CONN_F_OUTPUT }, 'ACK in: ESTABLISHED');
  t.same(h.dcnt(S.nat4t * 10), { activeconns: 1, inactconns: 0 });
  await h.run(fromRs('FA'), net.a.ifindex);
  t.match(h.conn(tuple), { state: TCP_S.FIN_WAIT }, 'FIN out: FIN_WAIT (OUTPUT row)');
  t.same(h.dcnt(S.nat4t * 10), { activeconns: 0, inactconns: 1 });
  await h.run(fromClient('FA'), net.c.ifindex);
  t.match(h.conn(tuple), { state: TCP_S.TIME_WAIT }, 'FIN in: TIME_WAIT (INPUT row)');
});

t.test('UDP over IPv4 with checksum 0 keeps checksum 0 (NAT and FULLNAT)', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  for (const mode of ['nat', 'fullnat'] as Mode[]) {
    const pk = buildPacket(client(env, mode, 4, 'udp'));
    pk.writeUInt16BE(0, 14 + 20 + 6);
    const r = await h.run(pk, net.c.ifindex);
    t.equal(r.verdict, XDP.REDIRECT);
    t.equal(r.out.readUInt16BE(14 + 20 + 6), 0, `${mode}: UDP checksum stays 0`);
    t.not(r.out.readUInt32BE(14 + 16), pk.readUInt32BE(14 + 16), `${mode}: destination rewritten`);
  }
});

t.test('FULLNAT: local ports never reused for the same (LIP, RIP, rport); exhaustion counted', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const a = client(env, 'fullnat', 4, 'tcp', 'S', '', 90);
  let r = await h.run(buildPacket(a), net.c.ifindex);
  t.equal(r.verdict, XDP.REDIRECT, 'first connection takes the only port');
  t.equal(h.conn(tupleOf(a))!.lport, 50000);
  h.clearReasons();
  const b = client(env, 'fullnat', 4, 'tcp', 'S', '', 90);
  r = await h.run(buildPacket(b), net.c.ifindex);
  t.equal(r.verdict, XDP.DROP, 'second connection: no free port');
  t.same(r.out, buildPacket(b), 'dropped untouched');
  t.same(h.reasons(), { DROP_LPORT_EXHAUSTED: 1 });
  t.equal(h.conn(tupleOf(b)), null, 'no connection opened');
  // The first connection expires (GC deletes the entry only): its stale reverse entry is reusable.
  h.deleteConn(tupleOf(a));
  h.clearReasons();
  r = await h.run(buildPacket(b), net.c.ifindex);
  t.equal(r.verdict, XDP.REDIRECT, 'the port of an expired connection is reused');
  t.same(h.rconn({ saddr: env.rip[4], daddr: env.dip[4], sport: 8081, dport: 50000, proto: 'tcp' }), tupleOf(b));
  // Many connections over the default range all get distinct ports.
  const seen = new Set<number>();
  for (let i = 0; i < 64; i++) {
    const s = client(env, 'fullnat', 4, 'tcp', 'S', '');
    await h.run(buildPacket(s), net.c.ifindex);
    seen.add(h.conn(tupleOf(s))!.lport);
  }
  t.equal(seen.size, 64, '64 connections, 64 distinct local ports');
});

t.test('FULLNAT service without local addresses: dropped, counted', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const s = client(env, 'fullnat', 4, 'tcp', 'S', '', 91);
  const r = await h.run(buildPacket(s), net.c.ifindex);
  t.equal(r.verdict, XDP.DROP);
  t.match(h.reasons(), { DROP_NO_LADDR: 1 });
  t.equal(h.conn(tupleOf(s)), null);
});

t.test('replies: stale reverse entries pass, non-replies pass, truncated replies drop', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const spec = client(env, 'nat', 4, 'tcp');
  await h.run(buildPacket(spec), net.c.ifindex);
  const { sport } = l4Of(spec);
  const reply = buildPacket({
    eth: { src: net.ripMac, dst: net.a.mac }, ipv4: { src: env.rip[4], dst: env.cip[4] },
    tcp: { sport: 8080, dport: sport, flags: 'A' }, payload: 'data',
  });
  h.clearReasons();
  let r = await h.run(truncate(reply, 14 + 20 + 10), net.a.ifindex);
  t.equal(r.verdict, XDP.DROP, 'truncated reply of a connection: dropped');
  t.same(h.reasons(), { DROP_MALFORMED: 1 });
  const other = buildPacket({
    eth: { src: net.ripMac, dst: net.a.mac }, ipv4: { src: env.rip[4], dst: env.cip[4] },
    tcp: { sport: 8080, dport: sport + 1, flags: 'A' },
  });
  h.clearReasons();
  r = await h.run(other, net.a.ifindex);
  t.equal(r.verdict, XDP.PASS, 'a packet from the RS that is no reply: passed');
  t.same(h.reasons(), { PASS_NO_SERVICE: 1 });
  h.deleteConn(tupleOf(spec));
  h.clearReasons();
  r = await h.run(reply, net.a.ifindex);
  t.equal(r.verdict, XDP.PASS, 'reverse entry of an expired connection: passed untouched');
  t.same(r.out, reply);
  t.same(h.reasons(), { PASS_STALE_REPLY: 1 });
});

t.test('TTL 1: passed to the kernel untouched (it answers time-exceeded)', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  for (const mode of MODES) for (const fam of FAMS) {
    const spec = client(env, mode, fam, 'tcp');
    if (spec.ipv4) spec.ipv4.ttl = 1; else spec.ipv6!.hopLimit = 1;
    const pk = buildPacket(spec);
    h.clearReasons();
    const r = await h.run(pk, net.c.ifindex);
    t.equal(r.verdict, XDP.PASS, `${mode} IPv${fam}`);
    t.same(r.out, pk);
    t.match(h.reasons(), { PASS_TTL: 1 });
  }
});

t.test('TUN: oversize packets answered with ICMP frag-needed / packet-too-big', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  execFileSync('ip', ['link', 'set', net.a.name, 'mtu', '1400']);
  for (const fam of FAMS) {
    const what = `IPv${fam}`;
    const room = fam === 4 ? 20 : 40;
    const fits = client(env, 'tun', fam, 'tcp', 'S', 'x'.repeat(1400 - room - (fam === 4 ? 40 : 60)));
    let r = await h.run(buildPacket(fits), net.c.ifindex);
    t.equal(r.verdict, XDP.REDIRECT, `${what}: exactly the MTU once encapsulated: forwarded`);
    t.equal(r.out.length, 14 + 1400);
    const big = client(env, 'tun', fam, 'tcp', 'S', 'x'.repeat(1401 - room - (fam === 4 ? 40 : 60)));
    const pk = buildPacket(big);
    h.clearReasons();
    r = await h.run(pk, net.c.ifindex);
    t.equal(r.verdict, XDP.TX, `${what}: one byte over: ICMP back out of the ingress interface`);
    t.same(r.out, icmpTooBig(pk, fam === 4 ? VIP4 : VIP6, 1400 - room, { src: LB_MAC, dst: CLIENT_MAC }), `${what}: ICMP error, byte for byte`);
    t.same(h.reasons(), { CONN_NEW: 1, ICMP_TOO_BIG: 1 });
  }
  // IPv4 without DF may be fragmented: the kernel's business.
  const nodf = client(env, 'tun', 4, 'tcp', 'S', 'x'.repeat(1400));
  nodf.ipv4!.fragOff = 0;
  h.clearReasons();
  const r = await h.run(buildPacket(nodf), net.c.ifindex);
  t.equal(r.verdict, XDP.PASS);
  t.same(h.reasons(), { CONN_NEW: 1, PASS_TOO_BIG: 1 });
});

t.test('established NAT flow follows its connection, not the ring', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  h.addDest({ id: 99, svcId: S.nat4t, addr: net.v4.rip2, port: 8080, fwd: FWD_MASQ });
  h.setRing(S.nat4t, [10, 99, 10, 99]);
  const syn = client(env, 'nat', 4, 'tcp', 'S', '');
  await h.run(buildPacket(syn), net.c.ifindex);
  for (let i = 0; i < 3; i++) {
    const r = await h.run(buildPacket({ ...syn, tcp: { ...syn.tcp!, flags: 'A' } }), net.c.ifindex);
    t.equal(readEth(r.out).dst, net.ripMac);
    t.equal(r.out.subarray(14 + 16, 14 + 20).join('.'), env.rip[4]);
  }
  t.equal(h.ring(S.nat4t).cons, 1);
});

t.test('ICMP errors of tracked connections: to the RS (client side), back to the client (RS side)', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const toRs = { src: net.a.mac, dst: net.ripMac };
  const toClient = { src: net.c.mac, dst: CLIENT_MAC };
  for (const mode of ['nat', 'fullnat'] as Mode[]) for (const fam of FAMS) {
    const what = `${mode} IPv${fam}`;
    const vip = fam === 4 ? VIP4 : VIP6;
    const spec = client(env, mode, fam, 'tcp');
    await h.run(buildPacket(spec), net.c.ifindex);
    const c = h.conn(tupleOf(spec))!;
    const { sport, dport } = l4Of(spec);
    const rport = RPORT[mode].tcp;
    const laddr = mode === 'nat' ? env.cip[fam] : env.dip[fam];
    const lport = mode === 'nat' ? sport : c.lport;

    // Client side: "too big" about a reply the client got (VIP:vport -> CIP:cport, TTL 63).
    const got: PacketSpec = {
      eth: toClient,
      ...(fam === 4 ? { ipv4: { src: vip, dst: env.cip[4], ttl: 63 } } : { ipv6: { src: vip, dst: env.cip[6], hopLimit: 63 } }),
      tcp: { sport: dport, dport: sport, flags: 'A', seq: 5, ack: 6 }, payload: 'x'.repeat(100),
    };
    const fromClient = icmpTooBig(buildPacket(got), env.cip[fam], 1280, { src: CLIENT_MAC, dst: LB_MAC });
    // What the RS sent: RIP:rport -> laddr:lport; the error reaches it from the client (NAT) or the LIP.
    const sent = buildPacket(rewritten(got, toClient, env.rip[fam], rport, laddr, lport, 63));
    // The error's own TTL / hop limit is decremented as NAT/FULLNAT forwarding does (64 -> 63).
    const wantRs = icmpTooBig(sent, mode === 'nat' ? env.cip[fam] : env.dip[fam], 1280, toRs, 63);
    h.clearReasons();
    let r = await h.run(fromClient, net.c.ifindex);
    t.equal(r.verdict, XDP.REDIRECT, `${what}: client's ICMP error forwarded toward the RS`);
    t.same(r.out, wantRs, `${what}: outer and quoted packet translated, checksums right`);
    t.same(h.reasons(), { FWD_ICMP: 1, FWD_REDIRECT: 1 });

    // RS side: the RS (or a router behind) reports about a packet it got from us.
    const rsGot = buildPacket(rewritten(spec, toRs, laddr, lport, env.rip[fam], rport, 60));
    const fromRs = icmpTooBig(rsGot, env.rip[fam], 1280, { src: net.ripMac, dst: net.a.mac });
    const wantClient = icmpTooBig(buildPacket(rewritten(spec, toClient, env.cip[fam], sport, vip, dport, 60)), vip, 1280, toClient, 63);
    h.clearReasons();
    r = await h.run(fromRs, net.a.ifindex);
    t.equal(r.verdict, XDP.REDIRECT, `${what}: RS-side ICMP error routed to the client`);
    t.same(r.out, wantClient, `${what}: translated to what the client sent, from the VIP`);
    t.same(h.reasons(), { FWD_ICMP: 1, FWD_REDIRECT: 1 });

    // An error that would expire on the way, either direction: the kernel's, untouched.
    for (const [dir, pkt, ifindex] of [
      ['client side', icmpTooBig(buildPacket(got), env.cip[fam], 1280, { src: CLIENT_MAC, dst: LB_MAC }, 1), net.c.ifindex],
      ['RS side', icmpTooBig(rsGot, env.rip[fam], 1280, { src: net.ripMac, dst: net.a.mac }, 1), net.a.ifindex],
    ] as const) {
      h.clearReasons();
      r = await h.run(pkt, ifindex);
      t.equal(r.verdict, XDP.PASS, `${what}: ${dir} ICMP error with TTL 1 passed`);
      t.same(r.out, pkt, `${what}: ${dir} ICMP error with TTL 1 untouched`);
      t.same(h.reasons(), { PASS_TTL: 1 });
    }
  }

  // TUN: the client's error goes to the RS encapsulated.
  const spec = client(env, 'tun', 4, 'tcp');
  await h.run(buildPacket(spec), net.c.ifindex);
  const { sport, dport } = l4Of(spec);
  const got = buildPacket({ eth: toClient, ipv4: { src: VIP4, dst: env.cip[4] }, tcp: { sport: dport, dport: sport, flags: 'A' } });
  h.clearReasons();
  let r = await h.run(icmpTooBig(got, env.cip[4], 1280, { src: CLIENT_MAC, dst: LB_MAC }), net.c.ifindex);
  t.equal(r.verdict, XDP.REDIRECT, 'TUN: forwarded');
  t.equal(r.out[14 + 9], 4, 'TUN: encapsulated in IPIP');
  t.equal(r.out[14 + 20 + 9], 1, 'TUN: carrying the ICMP error');
  t.same(h.reasons(), { FWD_ICMP: 1, FWD_REDIRECT: 1 });
  // As TUN's other packets: the error's TTL decremented inside, outer DIP -> RIP with its TOS; no DF on
  // the error, so the outer IP ID is random (taken from the output; the outer checksum is computed here).
  const tunInner = icmpTooBig(got, env.cip[4], 1280, { src: CLIENT_MAC, dst: LB_MAC }, 63);
  t.same(r.out, encapsulate(tunInner, { src: env.dip[4], dst: env.rip[4], tos: 0xc0, df: false, id: r.out.readUInt16BE(14 + 4) }, { src: net.a.mac, dst: net.ripMac }),
    'TUN: ICMP error out, byte for byte');
  h.clearReasons();
  const tunTtl1 = icmpTooBig(got, env.cip[4], 1280, { src: CLIENT_MAC, dst: LB_MAC }, 1);
  r = await h.run(tunTtl1, net.c.ifindex);
  t.equal(r.verdict, XDP.PASS, 'TUN: ICMP error with TTL 1 passed');
  t.same(r.out, tunTtl1, 'TUN: ICMP error with TTL 1 untouched');
  t.same(h.reasons(), { PASS_TTL: 1 });

  // Errors about flows we do not know, and echo requests, are the kernel's.
  const stranger = buildPacket({ eth: toClient, ipv4: { src: VIP4, dst: env.cip[4] }, tcp: { sport: 80, dport: 1, flags: 'A' } });
  h.clearReasons();
  r = await h.run(icmpTooBig(stranger, env.cip[4], 1280, { src: CLIENT_MAC, dst: LB_MAC }), net.c.ifindex);
  t.equal(r.verdict, XDP.PASS);
  t.same(h.reasons(), { PASS_NOT_L4: 1 });
});

t.test('replies are looked up reverse-first from RS ports: the hint, its fallback, clients on an RS port', { skip }, async (t) => {
  const env = await setup(t);
  const { h, net } = env;
  const hintFd = h.fd('xvs_rport_hint');
  const word = (p: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(p >> 6); return b; };
  const hinted = (p: number): boolean => {
    const v = Buffer.alloc(8);
    t.ok(native.mapLookup(hintFd, word(p), v));
    return ((v.readBigUInt64LE(0) >> BigInt(p & 63)) & 1n) === 1n;
  };
  t.notOk(hinted(RPORT.nat.tcp), 'no hint before a connection');
  const spec = client(env, 'nat', 4, 'tcp');
  await h.run(buildPacket(spec), net.c.ifindex);
  const { sport, dport } = l4Of(spec);
  t.ok(hinted(RPORT.nat.tcp), 'a NAT connection marks its RS port');
  t.notOk(hinted(sport), 'not the client port');

  // A client whose source port is a marked RS port: the reverse lookup misses, and it is scheduled
  // and forwarded as any client (SYN, then an established ACK).
  const onRsPort: PacketSpec = { ...client(env, 'nat', 4, 'tcp', 'S', ''), tcp: { sport: RPORT.nat.tcp, dport: VPORT.nat.tcp, flags: 'S', seq: 1 } };
  for (const flags of ['S', 'A']) {
    h.clearReasons();
    const r = await h.run(buildPacket({ ...onRsPort, tcp: { ...onRsPort.tcp!, flags } }), net.c.ifindex);
    t.equal(r.verdict, XDP.REDIRECT, `client from port ${RPORT.nat.tcp} (${flags}): forwarded to the RS`);
    t.equal(readEth(r.out).dst, net.ripMac);
    t.equal(r.out.subarray(14 + 16, 14 + 20).join('.'), env.rip[4]);
    t.same(h.reasons(), flags === 'S' ? { CONN_NEW: 1, FWD_REDIRECT: 1 } : { FWD_REDIRECT: 1 }, `client from port ${RPORT.nat.tcp} (${flags}): reasons`);
  }
  t.equal(h.conn(tupleOf(onRsPort))?.state, TCP_S.ESTABLISHED, 'its connection is established');

  // Without the hint (connections installed by sync do not set it) a reply is still found, after its
  // own connection lookup misses: same bytes out.
  native.mapUpdate(hintFd, word(RPORT.nat.tcp), Buffer.alloc(8));
  t.notOk(hinted(RPORT.nat.tcp), 'hint cleared');
  const reply: PacketSpec = {
    eth: { src: net.ripMac, dst: net.a.mac }, ipv4: { src: env.rip[4], dst: env.cip[4], ttl: 64 },
    tcp: { sport: RPORT.nat.tcp, dport: sport, flags: 'SA', seq: 99, ack: 7778 }, payload: 'world!',
  };
  h.clearReasons();
  const r = await h.run(buildPacket(reply), net.a.ifindex);
  t.equal(r.verdict, XDP.REDIRECT, 'unhinted reply: redirected toward the client');
  t.same(r.out, buildPacket(rewritten(reply, { src: net.c.mac, dst: CLIENT_MAC }, VIP4, dport, env.cip[4], sport, 63)), 'unhinted reply: packet out, byte for byte');
  t.same(h.reasons(), { FWD_REPLY: 1, FWD_REDIRECT: 1 }, 'unhinted reply: reasons');
  t.notOk(hinted(RPORT.nat.tcp), 'a reply does not set the hint');
});
