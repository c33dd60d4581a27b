// test/bpf/ops.test.ts — ipvsadm -o (one-packet scheduling) in the real bpf/xvs.o: every UDP datagram of
// the flow is scheduled on its own (rr alternates within one 5-tuple), no connection entry is written for
// DR dests, every datagram counts as a connection and the live counts stay 0, as the kernel's expired-at-
// once ONE_PACKET connections leave them; without -o the flow sticks to one dest. A NAT dest keeps an
// ordinary entry (its reply must be translated).
import t from 'tap';
import { buildPacket } from '../fixtures/packet.js';
import { XDP, createTestNet, isRoot } from '../fixtures/bpf-harness.js';
import { native } from '../../src/datapath/native.js';
import { BpfDatapath } from '../../src/datapath/bpf-datapath.js';
import { ServiceTable } from '../../src/control/table.js';
import { ServiceSpec, type ServiceKey } from '../../src/model/service.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN, veth)';

t.test('one-packet scheduling', { skip }, async (t) => {
  const net = createTestNet(t);
  const dp = await BpfDatapath.open({ maxConns: 4096 });
  t.teardown(() => dp.close());
  dp.setTxPorts([net.a.ifindex, net.c.ifindex]);
  const table = new ServiceTable(dp, { maxServices: 16, maxDests: 64 });
  const mk = (key: ServiceKey, onePacket: boolean, fwd: 'route' | 'masq'): void => {
    table.execute({ op: 'add-service', service: ServiceSpec.parse({ ...key, scheduler: 'rr', ...(onePacket ? { onePacket } : {}) }) });
    for (const addr of [net.v4.rip, net.v4.rip2]) table.execute({ op: 'add-dest', key, dest: { addr, port: 53, fwd, weight: 1, uThreshold: 0, lThreshold: 0 } });
    table.refillRings();
  };
  const ops: ServiceKey = { protocol: 'udp', addr: '203.0.113.53', port: 53 };
  const plain: ServiceKey = { protocol: 'udp', addr: '203.0.113.54', port: 53 };
  const natOps: ServiceKey = { protocol: 'udp', addr: '203.0.113.55', port: 53 };
  mk(ops, true, 'route');
  mk(plain, false, 'route');
  mk(natOps, true, 'masq');
  const send = async (key: ServiceKey, sport: number): Promise<{ retval: number; mac: string }> => {
    const r = await native.progTestRun(dp.progFd('xvs_xdp'), {
      data: buildPacket({ eth: { src: '02:00:00:00:00:c1', dst: net.a.mac }, ipv4: { src: '198.51.100.99', dst: key.addr }, udp: { sport, dport: 53 }, payload: 'q' }),
      ingressIfindex: net.a.ifindex,
    });
    return { retval: r.retval, mac: r.dataOut.subarray(0, 6).toString('hex') };
  };
  const flow = async (key: ServiceKey): Promise<string[]> => {
    const macs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await send(key, 5353);
      t.ok(r.retval === XDP.TX || r.retval === XDP.REDIRECT, `${key.addr}: datagram ${i + 1} forwarded`);
      macs.push(r.mac);
    }
    return macs;
  };
  const a = await flow(ops);
  t.equal(new Set(a).size, 2, `-o: one 5-tuple, datagrams alternate between the dests (${a.join(' ')})`);
  t.equal(dp.conns().filter((c) => c.vaddr === ops.addr).length, 0, '-o: no connection entry');
  const [svc] = table.list(ops);
  t.equal(svc.stats.conns, 4n, 'every datagram counts as a connection');
  t.same(svc.dests.map((d) => [d.activeConns, d.inactConns]), [[0, 0], [0, 0]], 'live counts stay 0');
  const b = await flow(plain);
  t.equal(new Set(b).size, 1, 'without -o the flow sticks to one dest');
  t.equal(dp.conns().filter((c) => c.vaddr === plain.addr).length, 1, 'one connection entry');
  await send(natOps, 5354);
  const nat = dp.conns().filter((c) => c.vaddr === natOps.addr);
  t.equal(nat.length, 1, '-o with a NAT dest: an ordinary entry, for the reply');
  t.equal(table.list(natOps)[0].stats.conns, 1n);
  // -E turning -o off: the flow is pinned again.
  table.execute({ op: 'edit-service', service: ServiceSpec.parse({ ...ops, scheduler: 'rr' }) });
  table.refillRings();
  await send(ops, 6000);
  t.equal(dp.conns().filter((c) => c.vaddr === ops.addr).length, 1, 'after -E without -o a connection entry is kept');
});
