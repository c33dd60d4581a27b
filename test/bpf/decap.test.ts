// test/bpf/decap.test.ts — the TUN real server's decapsulation program (bpf/xvs_decap.o, tc ingress)
// through BPF_PROG_TEST_RUN: IPIP and IP6IP6 frames come out as the inner packet behind the same
// Ethernet header; everything else passes untouched.
import t from 'tap';
import { native, bpfObjectPath } from '../../src/datapath/native.js';
import { buildPacket, encapsulate, type PacketSpec } from '../fixtures/packet.js';
import { isRoot, TC } from '../fixtures/bpf-harness.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN)';
const ETH = { src: '02:00:00:00:00:0d', dst: '02:00:00:00:00:0e' };

t.test('IPIP / IP6IP6 decapsulated, other traffic untouched', { skip }, async (t) => {
  const obj = new native.BpfObject(bpfObjectPath('xvs_decap'));
  t.teardown(() => obj.close());
  await obj.load();
  const fd = obj.progFd('xvs_decap');
  const run = async (frame: Buffer) => {
    const r = await native.progTestRun(fd, { data: frame });
    return { verdict: r.retval, out: r.dataOut };
  };
  const inner4: PacketSpec = { eth: ETH, ipv4: { src: '203.0.113.7', dst: '198.51.100.100', ttl: 60 }, tcp: { sport: 40000, dport: 80, flags: 'S' }, payload: 'hi' };
  const inner6: PacketSpec = { eth: ETH, ipv6: { src: '2001:db8:1::7', dst: '2001:db8:1::100' }, udp: { sport: 40000, dport: 53 }, payload: 'q' };
  for (const [what, inner, outer] of [
    ['IPIP', inner4, { src: '192.0.2.1', dst: '192.0.2.11', df: true }],
    ['IP6IP6', inner6, { src: '2001:db8:2::1', dst: '2001:db8:2::11' }],
  ] as const) {
    const bare = buildPacket(inner);
    const r = await run(encapsulate(bare, outer, ETH));
    t.equal(r.verdict, TC.OK, `${what}: passed on to the stack`);
    t.same(r.out, bare, `${what}: the inner packet behind the same Ethernet header`);
  }
  for (const [what, frame] of [
    ['plain IPv4', buildPacket(inner4)],
    ['plain IPv6', buildPacket(inner6)],
    ['IPv4 fragment of an IPIP packet', (() => { const f = encapsulate(buildPacket(inner4), { src: '192.0.2.1', dst: '192.0.2.11' }, ETH); f.writeUInt16BE(0x2000, 14 + 6); return f; })()],
  ] as const) {
    const r = await run(frame);
    t.equal(r.verdict, TC.OK, what);
    t.same(r.out, frame, `${what}: untouched`);
  }
});
