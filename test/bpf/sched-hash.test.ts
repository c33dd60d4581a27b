// test/bpf/sched-hash.test.ts — the hash schedulers in the real bpf/xvs.o (BPF_PROG_TEST_RUN): for many
// clients, the dest the data path picks from the table equals the TypeScript scheduler's pick for the
// same packet (so the BPF hash_32()/hsiphash() and bucket indexing agree with src/sched/hash.ts), for
// sh, dh and mh, with and without the port and fallback flags and with a quiesced dest.
import t, { type Test } from 'tap';
import { buildPacket, type PacketSpec } from '../fixtures/packet.js';
import { XvsHarness, createTestNet, isRoot, type TestNet } from '../fixtures/bpf-harness.js';
import { native } from '../../src/datapath/native.js';
import { createScheduler } from '../../src/sched/index.js';
import { defaultContext, SCHED_F_1, SCHED_F_2 } from '../../src/sched/context.js';
import { schedTable } from '../../src/sched/tables.js';
import type { SchedDest } from '../../src/sched/types.js';
import type { SchedulerName } from '../../src/model/service.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN, veth, neighbours)';
const VIP4 = '203.0.113.100';
const VIP6 = '2001:db8:ffff::100';
let nextCase = 1;

/** The table bytes of struct xvs_sched_tab, written here by hand from xvs_abi.h. */
function tableBytes(kind: number, flags: number, slots: Uint32Array): Buffer {
  const b = Buffer.alloc(16 + 4 * 4096, 0xff);
  b.writeUInt32LE(kind, 0);
  b.writeUInt32LE(flags, 4);
  b.writeUInt32LE(slots.length, 8);
  b.writeUInt32LE(0, 12);
  slots.forEach((s, i) => b.writeUInt32LE(s, 16 + 4 * i));
  return b;
}

/** One object for every case (loading it is the slow part): each case gets its own services. */
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

let nextPort = 20000;

async function compare(t: Test, name: SchedulerName, flags: number, weights: number[], v6 = false): Promise<void> {
  const { h, net } = await setup();
  const svcId = nextCase++;
  const vport = 1000 + svcId;
  h.addService({ id: svcId, vip: v6 ? VIP6 : VIP4, port: vport, proto: 'tcp' });
  const rip = v6 ? net.v6.rip : net.v4.rip;
  // Dests added 0, 1, 2...: the kernel's list is newest first.
  const dests: SchedDest[] = weights.map((w, i) => ({ id: 10 * svcId + i, weight: w, overloaded: false, addr: rip, port: 8080 + i, lastWeight: w || 1 })).reverse();
  for (const d of dests) h.addDest({ id: d.id, svcId, addr: rip, port: d.port });
  const ctx = { ...defaultContext(), flags };
  const sched = createScheduler(name, dests, { ctx });
  const tab = schedTable(sched, dests, flags)!;
  native.mapUpdate(h.fd('xvs_sched_tab'), Buffer.from(Uint32Array.of(svcId).buffer), tableBytes(tab.kind, tab.flags, tab.slots));
  let agree = 0;
  let none = 0;
  const mismatches: string[] = [];
  for (let i = 0; i < 64; i++) {
    const cip = v6 ? `2001:db8:ffff:${((i * 7919) % 65536).toString(16)}::${(i + 1).toString(16)}` : `198.18.${(i * 37) % 256}.${(i * 11) % 254 + 1}`;
    const sport = nextPort++;
    const spec: PacketSpec = {
      eth: { src: '02:00:00:00:00:c1', dst: '02:00:00:00:00:1b' },
      ...(v6 ? { ipv6: { src: cip, dst: VIP6 } } : { ipv4: { src: cip, dst: VIP4 } }),
      tcp: { sport, dport: vport, flags: 'S' },
    };
    await h.run(buildPacket(spec), net.a.ifindex);
    const conn = h.conn({ saddr: cip, daddr: v6 ? VIP6 : VIP4, sport, dport: vport, proto: 'tcp' });
    const want = sched.schedule(dests, { saddr: cip, sport, daddr: v6 ? VIP6 : VIP4, dport: vport });
    const got = conn ? conn.destId : null;
    if (got === (want ? want.id : null)) agree++;
    else mismatches.push(`${cip}:${sport}: bpf ${got} ts ${want?.id ?? null}`);
    if (!want) none++;
  }
  t.same(mismatches, [], `${name}: BPF and TypeScript agree on ${agree} of 64 clients (${none} with no dest)`);
}

t.test('sh: weighted buckets', { skip }, async (t) => { await compare(t, 'sh', 0, [1, 2, 3, 1]); });
t.test('sh: quiesced dest without fallback drops', { skip }, async (t) => { await compare(t, 'sh', 0, [1, 0, 2]); });
t.test('sh-fallback,sh-port with a quiesced dest', { skip }, async (t) => { await compare(t, 'sh', SCHED_F_1 | SCHED_F_2, [1, 0, 2, 1]); });
t.test('sh over IPv6 (folded address)', { skip }, async (t) => { await compare(t, 'sh', SCHED_F_2, [2, 1, 1], true); });
t.test('dh: the VIP picks the bucket', { skip }, async (t) => { await compare(t, 'dh', 0, [1, 1, 1]); });
t.test('dh over IPv6', { skip }, async (t) => { await compare(t, 'dh', 0, [1, 2, 1, 1, 1], true); });
t.test('mh: siphash lookup', { skip }, async (t) => { await compare(t, 'mh', 0, [1, 2, 1, 3]); });
t.test('mh-port', { skip }, async (t) => { await compare(t, 'mh', SCHED_F_2, [1, 1, 1]); });
t.test('mh-fallback walk (bpf_loop) around a quiesced dest', { skip }, async (t) => { await compare(t, 'mh', SCHED_F_1 | SCHED_F_2, [1, 0, 1, 1]); });
t.test('mh over IPv6', { skip }, async (t) => { await compare(t, 'mh', SCHED_F_2, [1, 1, 2], true); });
