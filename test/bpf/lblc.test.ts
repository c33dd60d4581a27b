// test/bpf/lblc.test.ts — lblc and lblcr in the real bpf/xvs.o (BPF_PROG_TEST_RUN): the destination-address
// cache of bpf/include/xvs_lblc.h. A first SYN to a destination address takes the ring's decision and
// inserts the entry; later SYNs from other clients to that address follow it without touching the ring;
// a quiesced or overloaded (is_overloaded(): activeconns > weight while some dest has activeconns * 2 <
// weight) dest is replaced (lblc) or joined by the ring's pick (lblcr); lblcr sets shrink by their most
// loaded member once unchanged for lblcr_expiration. One service answers two destination addresses, as a
// fwmark service matching a cache cluster's targets would.
import t, { type Test } from 'tap';
import { buildPacket } from '../fixtures/packet.js';
import { XvsHarness, createTestNet, isRoot, type TestNet } from '../fixtures/bpf-harness.js';
import { native } from '../../src/datapath/native.js';
import { DEST_NONE, DSCHED_F_OVERLOAD, LAYOUTS, SCHED_KIND, encode } from '../../src/datapath/abi.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN, veth, neighbours)';
const VIP1 = '203.0.113.101';
const VIP2 = '203.0.113.102';

const u32 = (n: number): Buffer => Buffer.from(Uint32Array.of(n).buffer);

let shared: Promise<{ h: XvsHarness; net: TestNet }> | null = null;
function setup(): Promise<{ h: XvsHarness; net: TestNet }> {
  shared ??= (async () => {
    const net = createTestNet(t);
    const h = await XvsHarness.load(t);
    h.allowTxPort(net.a.ifindex);
    return { h, net };
  })();
  return shared;
}

interface Case {
  h: XvsHarness;
  net: TestNet;
  svcId: number;
  vport: number;
  ids: number[];
  /** Opens a connection with a SYN from a fresh client to `vip`; returns the dest id it got (or null). */
  syn(vip: string): Promise<number | null>;
  entry(vip: string): { lastUse: bigint; lastMod: bigint; dests: number[] } | null;
  setWeight(id: number, weight: number, overload?: boolean): void;
  setCounts(id: number, active: number, inactive: number): void;
  setLastMod(vip: string, ns: bigint): void;
}

let nextSvc = 1;
let nextClient = 1;

/** A service of kind lblc/lblcr over `n` dests of weight 1 (ids newest first, as the kernel's list). */
async function makeCase(kind: 'lblc' | 'lblcr', n: number, ring: (ids: number[]) => number[], expirationS = 0): Promise<Case> {
  const { h, net } = await setup();
  const svcId = nextSvc++;
  const vport = 2000 + svcId;
  for (const vip of [VIP1, VIP2]) h.addService({ id: svcId, vip, port: vport, proto: 'tcp' });
  const ids = Array.from({ length: n }, (_, i) => 100 * svcId + i);
  ids.forEach((id, i) => h.addDest({ id, svcId, addr: net.v4.rip, port: 8080 + i }));
  const tab = Buffer.alloc(LAYOUTS.xvs_sched_tab.size, 0xff);
  tab.writeUInt32LE(SCHED_KIND[kind], 0);
  tab.writeUInt32LE(0, 4);
  tab.writeUInt32LE(ids.length, 8);
  tab.writeUInt32LE(expirationS, 12);
  ids.forEach((id, i) => tab.writeUInt32LE(id, 16 + 4 * i));
  native.mapUpdate(h.fd('xvs_sched_tab'), u32(svcId), tab);
  const c: Case = {
    h, net, svcId, vport, ids,
    async syn(vip) {
      const client = nextClient++;
      const cip = `198.18.${client >> 8}.${client & 255}`;
      const sport = 10000 + client;
      await h.run(buildPacket({
        eth: { src: '02:00:00:00:00:c1', dst: '02:00:00:00:00:1b' },
        ipv4: { src: cip, dst: vip }, tcp: { sport, dport: vport, flags: 'S' },
      }), net.a.ifindex);
      return h.conn({ saddr: cip, daddr: vip, sport, dport: vport, proto: 'tcp' })?.destId ?? null;
    },
    entry(vip) {
      const v = Buffer.alloc(LAYOUTS.xvs_lblc.size);
      if (!native.mapLookup(h.fd('xvs_lblc'), encode('xvs_lblc_key', { addr: vip, svc_id: svcId, af: 2 }), v)) return null;
      const dests: number[] = [];
      for (let i = 0; i < 8; i++) {
        const id = v.readUInt32LE(16 + 4 * i);
        if (id === DEST_NONE) break;
        dests.push(id);
      }
      return { lastUse: v.readBigUInt64LE(0), lastMod: v.readBigUInt64LE(8), dests };
    },
    setWeight(id, weight, overload = false) {
      native.mapUpdate(h.fd('xvs_dsched'), u32(id), encode('xvs_dsched', { weight, flags: overload ? DSCHED_F_OVERLOAD : 0 }));
    },
    setCounts(id, active, inactive) {
      native.mapUpdate(h.fd('xvs_dcnt'), u32(id), Buffer.from(Uint32Array.of(active, inactive).buffer));
    },
    setLastMod(vip, ns) {
      const k = encode('xvs_lblc_key', { addr: vip, svc_id: svcId, af: 2 });
      const v = Buffer.alloc(LAYOUTS.xvs_lblc.size);
      if (!native.mapLookup(h.fd('xvs_lblc'), k, v)) throw new Error('no entry');
      v.writeBigUInt64LE(ns, 8);
      native.mapUpdate(h.fd('xvs_lblc'), k, v);
    },
  };
  for (const id of ids) {
    c.setWeight(id, 1);
    c.setCounts(id, 0, 0);
  }
  h.setRing(svcId, ring(ids));
  return c;
}

const cons = (c: Case): number => c.h.ring(c.svcId).cons;

t.test('lblc: a destination address sticks to the dest its first connection got', { skip }, async (t: Test) => {
  const c = await makeCase('lblc', 2, ([a, b]) => [a, b, b, a, a]);
  const [a, b] = c.ids;
  t.equal(c.entry(VIP1), null, 'no entry before the first connection');
  t.equal(await c.syn(VIP1), a, 'first SYN to VIP1: the ring decision');
  t.same(c.entry(VIP1)?.dests, [a], 'and the entry VIP1 -> a is inserted');
  t.equal(cons(c), 1);
  t.equal(await c.syn(VIP1), a, 'another client to VIP1: the cached dest');
  t.equal(await c.syn(VIP1), a);
  t.equal(cons(c), 1, 'hits do not consume the ring');
  t.equal(await c.syn(VIP2), b, 'VIP2 misses: next ring decision');
  t.same(c.entry(VIP2)?.dests, [b]);
  t.ok((c.entry(VIP1)?.lastUse ?? 0n) > 0n, 'lastuse is stamped');

  c.setWeight(a, 0);
  t.equal(await c.syn(VIP1), b, 'weight 0: the cached dest is rejected, the ring decides');
  t.same(c.entry(VIP1)?.dests, [b], 'and the entry now names the new dest');
  t.equal(cons(c), 3);
  c.setWeight(a, 1);
  t.equal(await c.syn(VIP1), b, 'the entry stays on b once a is back');
});

t.test('lblc: is_overloaded() exactly as the kernel', { skip }, async (t: Test) => {
  const c = await makeCase('lblc', 2, ([a, b]) => [a, b, b, b]);
  const [a, b] = c.ids;
  t.equal(await c.syn(VIP1), a);
  // a: 2 active > weight 1, but b has 1 active: 1 * 2 < 1 is false -> nobody is less loaded: keep a.
  c.setCounts(a, 2, 0);
  c.setCounts(b, 1, 0);
  t.equal(await c.syn(VIP1), a, 'over its weight but no dest below half of its own: kept');
  t.equal(cons(c), 1);
  // b drops to 0 active: 0 * 2 < 1 -> a is overloaded.
  c.setCounts(b, 0, 0);
  t.equal(await c.syn(VIP1), b, 'over its weight while b is below half: rescheduled');
  t.same(c.entry(VIP1)?.dests, [b]);
  // The thresholds' OVERLOAD flag is not lblc's test for a cached dest (the kernel checks weight and
  // is_overloaded() only).
  c.setWeight(b, 1, true);
  t.equal(await c.syn(VIP1), b, 'OVERLOAD flag alone keeps the cached dest');
});

t.test('lblcr: sets grow on overload and shrink after lblcr_expiration', { skip }, async (t: Test) => {
  const c = await makeCase('lblcr', 3, ([a, b, x]) => [a, b, x, x, x], 1);
  const [a, b, x] = c.ids;
  t.equal(await c.syn(VIP1), a, 'first SYN: ring decision');
  t.same(c.entry(VIP1)?.dests, [a], 'set {a}');
  t.equal(await c.syn(VIP1), a, 'set member used');
  t.equal(cons(c), 1);

  // a overloaded (2 active > weight 1, b below half): the ring's pick joins the set at its head.
  c.setCounts(a, 2, 0);
  t.equal(await c.syn(VIP1), b, 'overloaded member: the ring decides');
  t.same(c.entry(VIP1)?.dests, [b, a], 'b added at the head of the set');
  const mod = c.entry(VIP1)!.lastMod;
  // set_min over {b, a}: b's overhead 1 (one inactive) against a's 2 * 256 -> b, no ring decision.
  t.equal(await c.syn(VIP1), b, 'least loaded member');
  t.equal(cons(c), 2);

  // Unchanged for more than lblcr_expiration (1 s): the most loaded member (a) leaves; b still serves.
  c.setLastMod(VIP1, mod - 2_000_000_000n);
  t.equal(await c.syn(VIP1), b);
  t.same(c.entry(VIP1)?.dests, [b], 'shrunk to {b}: a (overhead 512) was the most loaded');
  t.ok(c.entry(VIP1)!.lastMod > mod - 2_000_000_000n, 'lastmod moves with the shrink');

  // Quiesced member: set_min finds none -> the ring decides and the new dest joins.
  c.setWeight(b, 0);
  t.equal(await c.syn(VIP1), x, 'no usable member: ring decision');
  t.same(c.entry(VIP1)?.dests, [x, b]);
  // A member with the OVERLOAD flag is skipped by set_min.
  c.setWeight(b, 1);
  c.setWeight(x, 1, true);
  c.setCounts(b, 0, 0);
  t.equal(await c.syn(VIP1), b, 'OVERLOAD member skipped');
  t.equal(cons(c), 3);
  t.same(c.entry(VIP2), null, 'VIP2 untouched');
  t.same(c.h.reasons().RING_EXHAUSTED ?? 0, 0);
});

t.test('through the control plane: ServiceTable + BpfDatapath program, list, purge and flush the cache', { skip }, async (t: Test) => {
  const { net } = await setup();
  const { BpfDatapath } = await import('../../src/datapath/bpf-datapath.js');
  const { ServiceTable } = await import('../../src/control/table.js');
  const { DestSpec, ServiceSpec } = await import('../../src/model/service.js');
  const dp = await BpfDatapath.open({ maxConns: 4096 });
  t.teardown(() => dp.close());
  dp.setTxPorts([net.a.ifindex]);
  const table = new ServiceTable(dp, { maxServices: 16, maxDests: 64 });
  const spec = (scheduler: 'lblc' | 'lblcr') => ServiceSpec.parse({ protocol: 'tcp', addr: VIP1, port: 80, scheduler });
  table.addService(spec('lblc'));
  table.addDest(spec('lblc'), DestSpec.parse({ addr: net.v4.rip, port: 8080, weight: 1 }));
  table.addDest(spec('lblc'), DestSpec.parse({ addr: net.v4.rip, port: 8081, weight: 1 }));
  /** The id of the dest with RS port `port`, read back from xvs_dests (struct xvs_dest.port). */
  const idOf = (port: number): number => table.destinations().find((d) => {
    const v = Buffer.alloc(LAYOUTS.xvs_dest.size);
    native.mapLookup(dp.object.mapFd('xvs_dests'), u32(d.id), v);
    return v.readUInt16BE(16) === port;
  })!.id;
  let client = 1;
  const syn = async (): Promise<void> => {
    const n = client++;
    await native.progTestRun(dp.progFd('xvs_xdp'), {
      data: buildPacket({
        eth: { src: '02:00:00:00:00:c1', dst: '02:00:00:00:00:1b' },
        ipv4: { src: `198.19.0.${n}`, dst: VIP1 }, tcp: { sport: 30000 + n, dport: 80, flags: 'S' },
      }),
      ingressIfindex: net.a.ifindex,
    });
    table.refillRings();
  };
  for (let i = 0; i < 6; i++) await syn();
  const used = new Set(dp.conns().map((c) => c.destId));
  t.equal(dp.conns().length, 6);
  t.equal(used.size, 1, 'every connection to the one destination address went to the same dest (wlc alone would alternate)');
  const [first] = used;
  t.same(dp.localityEntries().map((e) => [e.addr, e.dests]), [[VIP1, [first]]], 'the entry as the control plane lists it');
  t.equal(first, idOf(8081), 'the list head (newest dest) got the first connection');

  table.deleteDest(spec('lblc'), DestSpec.parse({ addr: net.v4.rip, port: 8081 }));
  t.same(dp.localityEntries(), [], 'deleting the cached dest purges its entry');
  await syn();
  t.same(dp.localityEntries().map((e) => e.dests), [[idOf(8080)]], 'the next connection re-learns');

  table.editService(spec('lblcr'));
  t.same(dp.localityEntries(), [], '-E -s lblcr flushes the cache');
  await syn();
  const [en] = dp.localityEntries();
  t.same(en.dests, [idOf(8080)]);
  t.ok(dp.updateLocality(en.key, { dests: [idOf(8080), 12345], lastModNs: 7n }), 'updateLocality rewrites an entry');
  t.same(dp.localityEntries().map((e) => [e.dests, e.lastModNs]), [[[idOf(8080), 12345], 7n]]);
  t.ok(dp.deleteLocality(en.key));
  t.notOk(dp.updateLocality(en.key, { lastModNs: 1n }), 'a gone entry stays gone');
  table.deleteService(spec('lblcr'));
});
