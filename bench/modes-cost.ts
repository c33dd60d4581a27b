// bench/modes-cost.ts — `npm run bench:modes`: per-packet cost of an established flow in each forwarding
// mode (DR, NAT in, NAT reply, FULLNAT in, FULLNAT reply) against the trivial parse + MAC swap + XDP_TX
// program, all timed in one run with BPF_PROG_TEST_RUN. Builds a throw-away namespace with a veth,
// re-runs itself inside it (the fib lookups resolve in the caller's namespace) and removes it again.
//
// Timing a rewriting program millions of times needs a packet that comes out as it went in: the flows
// are set up so that every rewrite writes the bytes that are already there (RIP:rport = VIP:vport, the
// FULLNAT local address:port = the client's), and the object is bpf/xvs_bench.o — bpf/xvs.bpf.c built
// with XVS_BENCH_KEEP_TTL, which only leaves out the TTL decrement. Every lookup, checksum computation,
// store, state step and counter of the real path runs. TUN changes the frame's length, so it cannot be
// timed this way (see BENCHMARKS.md).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { native, bpfObjectPath } from '../src/datapath/native.js';
import { BpfDatapath } from '../src/datapath/bpf-datapath.js';
import { ServiceTable } from '../src/control/table.js';
import { DestSpec, ServiceSpec } from '../src/model/service.js';
import { Topology } from '../src/netns/index.js';

const XDP_TX = 3;
const BPF_F_TEST_XDP_LIVE_FRAMES = 2;
const CIP = '192.0.2.7';
const VIP = '198.51.100.10';
const CPORT = 40000;
const PORT = { dr: 80, nat: 81, fullnat: 82 } as const;
const MAC_NEXT_HOP = '02:00:00:00:00:77';

type Case = 'trivial' | 'dr' | 'nat-in' | 'nat-reply' | 'fullnat-in' | 'fullnat-reply';
const CASES: Case[] = ['trivial', 'dr', 'nat-in', 'nat-reply', 'fullnat-in', 'fullnat-reply'];

const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const v4 = (a: string): Buffer => Buffer.from(a.split('.').map(Number));
function csum(...bufs: Buffer[]): number {
  const b = Buffer.concat(bufs);
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A 64-byte IPv4/TCP frame src:sport -> dst:dport, checksums right. */
function frame(dstMac: string, src: string, sport: number, dst: string, dport: number, flags: number): Buffer {
  const f = Buffer.alloc(64, 0x61);
  macBytes(dstMac).copy(f, 0);
  macBytes(MAC_NEXT_HOP).copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  const ip = f.subarray(14, 34);
  ip.fill(0);
  ip[0] = 0x45; ip.writeUInt16BE(50, 2); ip.writeUInt16BE(0x4000, 6); ip[8] = 64; ip[9] = 6;
  v4(src).copy(ip, 12); v4(dst).copy(ip, 16);
  ip.writeUInt16BE(csum(ip), 10);
  const tcp = f.subarray(34);
  tcp.fill(0, 0, 20);
  tcp.writeUInt16BE(sport, 0); tcp.writeUInt16BE(dport, 2); tcp.writeUInt32BE(1000, 4); tcp.writeUInt32BE(5000, 8);
  tcp[12] = 5 << 4; tcp[13] = flags; tcp.writeUInt16BE(65535, 14);
  const pseudo = Buffer.alloc(12);
  v4(src).copy(pseudo, 0); v4(dst).copy(pseudo, 4); pseudo[9] = 6; pseudo.writeUInt16BE(tcp.length, 10);
  tcp.writeUInt16BE(csum(pseudo, tcp), 16);
  return f;
}

interface Report { rounds: number; repeat: number; programNs: Record<Case, number[]>; liveNs: Record<Case, number[]> }

async function inside(ifname: string, rounds: number, repeat: number): Promise<Report> {
  const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
  const lbMac = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  native.setLogLevel('warn');
  const dp = await BpfDatapath.open({ objectPath: bpfObjectPath('xvs_bench'), maxConns: 4096 });
  const trivial = new native.BpfObject(bpfObjectPath('bench_trivial'));
  try {
    await trivial.load();
    const table = new ServiceTable(dp, { maxServices: 16, maxDests: 16 });
    const svc = (port: number) => ServiceSpec.parse({ protocol: 'tcp', addr: VIP, port, scheduler: 'rr' });
    table.addService(svc(PORT.dr));
    table.addDest(svc(PORT.dr), DestSpec.parse({ addr: VIP, port: PORT.dr, fwd: 'route' }));
    table.addService(svc(PORT.nat));
    table.addDest(svc(PORT.nat), DestSpec.parse({ addr: VIP, port: PORT.nat, fwd: 'masq' }));
    table.addService(svc(PORT.fullnat));
    table.addDest(svc(PORT.fullnat), DestSpec.parse({ addr: VIP, port: PORT.fullnat, fwd: 'fullnat' }));
    // Service ids are handed out from 0 in order: the FULLNAT one is 2. Its one local address:port is
    // the client's own, so the rewrite writes what is there.
    dp.setLaddrs(2, { addrs: [CIP], portMin: CPORT, portMax: CPORT });

    const xvs = dp.progFd('xvs_xdp');
    const inFrame = (port: number, flags: number) => frame(lbMac, CIP, CPORT, VIP, port, flags);
    const replyFrame = (port: number) => frame(lbMac, VIP, port, CIP, CPORT, 0x10);
    const frames: Record<Case, Buffer> = {
      trivial: inFrame(PORT.dr, 0x10), dr: inFrame(PORT.dr, 0x10), 'nat-in': inFrame(PORT.nat, 0x10),
      'nat-reply': replyFrame(PORT.nat), 'fullnat-in': inFrame(PORT.fullnat, 0x10), 'fullnat-reply': replyFrame(PORT.fullnat),
    };
    // Open and establish each flow (SYN, reply SYN+ACK where there is one, ACK); all must be forwarded.
    for (const port of [PORT.dr, PORT.nat, PORT.fullnat]) {
      const steps = [inFrame(port, 0x02), ...(port === PORT.dr ? [] : [frame(lbMac, VIP, port, CIP, CPORT, 0x12)]), inFrame(port, 0x10)];
      for (const f of steps) {
        const r = await native.progTestRun(xvs, { data: f, ingressIfindex: ifindex });
        if (r.retval !== XDP_TX) throw new Error(`setting up port ${port}: verdict ${r.retval}, reasons ${JSON.stringify(dp.reasons(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
        if (!r.dataOut.subarray(12).equals(f.subarray(12))) throw new Error(`port ${port}: the rewrite is not a no-op; the benchmark would time a changing packet`);
      }
    }
    const progOf = (c: Case): number => (c === 'trivial' ? trivial.progFd('trivial_tx') : xvs);
    const before = dp.reasons().XVS_R_FWD_TX;
    const programNs = Object.fromEntries(CASES.map((c) => [c, [] as number[]])) as Record<Case, number[]>;
    const liveNs = Object.fromEntries(CASES.map((c) => [c, [] as number[]])) as Record<Case, number[]>;
    let expected = 0n;
    for (let round = 0; round <= rounds; round++) {
      const order = round % 2 ? [...CASES].reverse() : CASES;
      for (const c of order) {
        const p = await native.progTestRun(progOf(c), { data: frames[c], repeat, ingressIfindex: ifindex });
        const l = await native.progTestRun(progOf(c), { data: frames[c], repeat, ingressIfindex: ifindex, flags: BPF_F_TEST_XDP_LIVE_FRAMES, batchSize: 64 });
        if (p.retval !== XDP_TX) throw new Error(`${c}: verdict ${p.retval}`);
        if (c !== 'trivial') expected += 2n * BigInt(repeat);
        if (round > 0) { programNs[c].push(p.duration); liveNs[c].push(l.duration); }
      }
      process.stderr.write(`[modes-cost] round ${round}/${rounds}${round === 0 ? ' (warm-up)' : ''}\n`);
    }
    const seen = dp.reasons().XVS_R_FWD_TX - before;
    if (seen !== expected) throw new Error(`XVS_R_FWD_TX grew by ${seen}, expected ${expected}: not every run took the fast path`);
    return { rounds, repeat, programNs, liveNs };
  } finally {
    trivial.close();
    dp.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function table(r: Report): string {
  const rows = [`${'case'.padEnd(14)} ${'program ns'.padStart(10)} ${'×trivial'.padStart(9)} ${'live ns'.padStart(8)} ${'×trivial'.padStart(9)}`];
  for (const c of CASES) {
    const p = median(r.programNs[c]);
    const l = median(r.liveNs[c]);
    rows.push(`${c.padEnd(14)} ${String(p).padStart(10)} ${(p / median(r.programNs.trivial)).toFixed(2).padStart(9)} ${String(l).padStart(8)} ${(l / median(r.liveNs.trivial)).toFixed(2).padStart(9)}`);
  }
  return rows.join('\n') + `\n(medians of ${r.rounds} rounds × ${r.repeat} runs; live = live frames, XDP_TX refused by the veth peer)\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { inside: { type: 'string' }, rounds: { type: 'string' }, repeat: { type: 'string' }, json: { type: 'boolean' } } });
  const rounds = Math.min(50, Math.max(1, Number(values.rounds ?? 5)));
  const repeat = Math.min(20_000_000, Math.max(1000, Number(values.repeat ?? 1_000_000)));
  if (values.inside) {
    process.stdout.write(JSON.stringify(await inside(values.inside, rounds, repeat)) + '\n');
    return;
  }
  const topo = await Topology.create();
  try {
    const ns = await topo.addNs('bench');
    const peerNs = await topo.addNs('peer');
    const [end] = await topo.veth(ns, 'lb', peerNs, 'rs');
    await ns.addAddr(end.ifname, '192.0.2.1/24');
    await ns.ip(['route', 'add', `${VIP}/32`, 'dev', end.ifname]);
    for (const a of [CIP, VIP]) await ns.ip(['neigh', 'replace', a, 'lladdr', MAC_NEXT_HOP, 'dev', end.ifname, 'nud', 'permanent']);
    await ns.sysctl(`net.ipv4.conf.${end.ifname}.forwarding`, 1);
    const res = await ns.exec([process.execPath, fileURLToPath(import.meta.url), '--inside', end.ifname, '--rounds', String(rounds), '--repeat', String(repeat)],
      { timeoutMs: 600_000, env: { ...process.env, NODE_OPTIONS: '' } });
    const report = JSON.parse(res.stdout) as Report;
    process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : table(report));
  } finally {
    await topo.teardown();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`[modes-cost] ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
