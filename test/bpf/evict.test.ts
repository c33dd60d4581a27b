// test/bpf/evict.test.ts — a full connection table: xvs_conns is an LRU hash, so opening more connections
// than it holds evicts the idlest ones without the data path noticing. The GC's EvictionTracker
// (src/control/gc.ts) must take their counts back: after every sweep each dest's activeconns/inactconns
// equal what the table really holds. Real bpf/xvs.o through ServiceTable + BpfDatapath, SYNs and ACKs run
// with BPF_PROG_TEST_RUN. A control run without the tracker shows the counts drifting.
import t, { type Test } from 'tap';
import { buildPacket } from '../fixtures/packet.js';
import { createTestNet, isRoot, type TestNet } from '../fixtures/bpf-harness.js';
import { native } from '../../src/datapath/native.js';
import { BpfDatapath } from '../../src/datapath/bpf-datapath.js';
import { ServiceTable } from '../../src/control/table.js';
import { EvictionTracker, sweepConnections } from '../../src/control/gc.js';
import { monotonicNs } from '../../src/datapath/datapath.js';
import { DestSpec, ServiceSpec, type ServiceKey } from '../../src/model/service.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN, veth, neighbours)';
const TABLE = 256;
const ROUNDS = 12;
const PER_ROUND = 48; // 576 connections through a 256-entry table
const LONG = { tcp: 100_000, tcpfin: 100_000, udp: 100_000 }; // nothing expires: every removal is an eviction

async function run(t: Test, net: TestNet, tracker: EvictionTracker | undefined): Promise<{ drift: number; evicted: number; opened: number }> {
  const dp = await BpfDatapath.open({ maxConns: TABLE });
  t.teardown(() => dp.close());
  dp.setTxPorts([net.a.ifindex, net.c.ifindex]);
  const table = new ServiceTable(dp, { maxServices: 8, maxDests: 16 });
  const key: ServiceKey = { protocol: 'tcp', addr: '203.0.113.70', port: 80 };
  const svc = ServiceSpec.parse({ ...key, scheduler: 'rr' });
  table.addService(svc);
  for (const addr of [net.v4.rip, net.v4.rip2]) table.addDest(svc, DestSpec.parse({ addr, port: 80, fwd: 'route' }));
  const send = async (sport: number, flags: string): Promise<void> => {
    const frame = buildPacket({
      eth: { src: '02:00:00:00:00:c1', dst: net.a.mac },
      ipv4: { src: `192.0.2.${1 + (sport % 200)}`, dst: key.addr },
      tcp: { sport, dport: 80, flags },
    });
    await native.progTestRun(dp.progFd('xvs_xdp'), { data: frame, ingressIfindex: net.a.ifindex });
  };
  let opened = 0;
  let sport = 20000;
  for (let round = 0; round < ROUNDS; round++) {
    table.refillRings();
    for (let i = 0; i < PER_ROUND; i++) {
      const p = sport++;
      await send(p, 'S');
      if (p % 3 !== 0) await send(p, 'A'); // two of three established (active), the rest half-open (inactive)
      opened++;
    }
    sweepConnections(dp, monotonicNs(), LONG, tracker);
  }
  // What the table holds, per dest, against the counters the schedulers read.
  const conns = dp.conns();
  let drift = 0;
  for (const id of new Set(conns.map((c) => c.destId))) {
    const have = dp.destCounts(id);
    const mine = conns.filter((c) => c.destId === id);
    const want = { active: mine.filter((c) => !c.inactive).length, inactive: mine.filter((c) => c.inactive).length };
    drift += Math.abs(have.active - want.active) + Math.abs(have.inactive - want.inactive);
    if (tracker) t.same(have, want, `dest ${id}: counts equal the table (${want.active} active, ${want.inactive} inactive)`);
  }
  return { drift, evicted: opened - conns.length, opened };
}

t.test('evicted connections are taken back from their dest counts', { skip }, async (t) => {
  const net = createTestNet(t);
  const tracker = new EvictionTracker(16);
  const r = await run(t, net, tracker);
  t.ok(r.evicted > 200, `the table evicted ${r.evicted} of ${r.opened} connections`);
  t.equal(tracker.evicted, r.evicted, 'the tracker settled every eviction');
  t.equal(r.drift, 0, 'no drift');
});

t.test('control: without the tracker the counts drift by the evictions', { skip }, async (t) => {
  const net = createTestNet(t);
  const r = await run(t, net, undefined);
  t.ok(r.drift >= r.evicted && r.evicted > 200, `drift ${r.drift} for ${r.evicted} evictions`);
});
