// bench/modes-cost.ts — `npm run bench:modes`: per-packet cost of an established flow in each forwarding
// mode (DR, NAT in, NAT reply, FULLNAT in, FULLNAT reply, TUN) against the trivial parse + MAC swap +
// XDP_TX program, all timed in one run with BPF_PROG_TEST_RUN. Builds a throw-away namespace with a veth,
// re-runs itself inside it (the fib lookups resolve in the caller's namespace) and removes it again.
//
// Timing a rewriting program millions of times needs a packet that comes out as it went in: the flows
// are set up so that every rewrite writes the bytes that are already there (RIP:rport = VIP:vport, the
// FULLNAT local address:port = the client's), and the object is bpf/xvs_bench.o — bpf/xvs.bpf.c built
// with XVS_BENCH_KEEP_TTL, which only leaves out the TTL decrement. Every lookup, checksum computation,
// store, state step and counter of the real path runs.
//
// TUN changes the frame's length: it is timed in live-frames mode only, where the frame pointers are
// reset between runs but the bytes are not. bpf/bench_tun.o's restore_tail writes the frame's Ethernet
// header back (the encapsulation overwrote it with the outer IP header's tail; the inner packet stays
// as it was) and tail-calls the program under test. The TUN row is compared with the trivial program
// behind the same wrapper ("trivial*") and with a trivial program that also encapsulates
// (trivial_encap: parse, bpf_xdp_adjust_head, outer IPv4 header and checksum, XDP_TX).
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
const PORT = { dr: 80, nat: 81, fullnat: 82, tun: 83 } as const;
const MAC_NEXT_HOP = '02:00:00:00:00:77';

type Flow = 'dr' | 'nat-in' | 'nat-reply' | 'fullnat-in' | 'fullnat-reply' | 'tun*';
type Case = 'trivial' | 'trivial*' | 'trivial-encap*' | Flow | `${Flow}@full`;
const FLOWS: Flow[] = ['dr', 'nat-in', 'nat-reply', 'fullnat-in', 'fullnat-reply', 'tun*'];
const CASES: Case[] = ['trivial', 'trivial*', 'trivial-encap*', ...FLOWS, ...FLOWS.map((f) => `${f}@full` as const)];
/** Cases timed with the established-flow cache off (bpf/include/xvs_fc.h): every packet takes the full walk
 *  (connection lookup, dest, next hop, state step) — the same object and flow, so the difference is the
 *  cache alone. The other xvs rows are the cache's hits, which is what an established flow gets. */
const FULL_WALK = (c: Case): boolean => c.endsWith('@full');
/** Behind bench_tun.o's restore_tail, live frames only (the frame changes length or is overwritten). */
const WRAPPED = (c: Case): boolean => c.includes('*');
const flowOf = (c: Case): Case => c.replace(/@full$/, '') as Case;

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
  const tun = new native.BpfObject(bpfObjectPath('bench_tun'));
  try {
    await trivial.load();
    await tun.load();
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
    table.addService(svc(PORT.tun));
    table.addDest(svc(PORT.tun), DestSpec.parse({ addr: VIP, port: PORT.tun, fwd: 'tunnel' }));

    const xvs = dp.progFd('xvs_xdp');
    const inFrame = (port: number, flags: number) => frame(lbMac, CIP, CPORT, VIP, port, flags);
    const replyFrame = (port: number) => frame(lbMac, VIP, port, CIP, CPORT, 0x10);
    const flowFrames: Partial<Record<Case, Buffer>> = {
      trivial: inFrame(PORT.dr, 0x10), dr: inFrame(PORT.dr, 0x10), 'nat-in': inFrame(PORT.nat, 0x10),
      'nat-reply': replyFrame(PORT.nat), 'fullnat-in': inFrame(PORT.fullnat, 0x10), 'fullnat-reply': replyFrame(PORT.fullnat),
      'trivial*': inFrame(PORT.tun, 0x10), 'trivial-encap*': inFrame(PORT.tun, 0x10), 'tun*': inFrame(PORT.tun, 0x10),
    };
    const frames = Object.fromEntries(CASES.map((c) => [c, flowFrames[flowOf(c)]!])) as Record<Case, Buffer>;
    // Open and establish each flow (SYN, reply SYN+ACK where there is one, ACK); all must be forwarded.
    for (const port of [PORT.dr, PORT.nat, PORT.fullnat, PORT.tun]) {
      const twoWay = port === PORT.nat || port === PORT.fullnat;
      const steps = [inFrame(port, 0x02), ...(twoWay ? [frame(lbMac, VIP, port, CIP, CPORT, 0x12)] : []), inFrame(port, 0x10)];
      for (const f of steps) {
        const r = await native.progTestRun(xvs, { data: f, ingressIfindex: ifindex });
        if (r.retval !== XDP_TX) throw new Error(`setting up port ${port}: verdict ${r.retval}, reasons ${JSON.stringify(dp.reasons(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
        // TUN: the frame grows by the outer header, the inner packet (from the IP header on) unchanged.
        const same = port === PORT.tun
          ? r.dataOut.length === f.length + 20 && r.dataOut.subarray(34).equals(f.subarray(14)) && r.dataOut[14 + 9] === 4
          : r.dataOut.subarray(12).equals(f.subarray(12));
        if (!same) throw new Error(`port ${port}: the rewrite is not a no-op; the benchmark would time a changing packet`);
      }
    }
    // restore_tail puts the frame's Ethernet header back before every run, then tail-calls tun_next[0].
    const eth = Buffer.alloc(16);
    frames['tun*'].copy(eth, 0, 0, 14);
    native.mapUpdate(tun.mapFd('tun_eth'), Buffer.alloc(4), eth);
    const behind = (fd: number): void => {
      const v = Buffer.alloc(4);
      v.writeUInt32LE(fd);
      native.mapUpdate(tun.mapFd('tun_next'), Buffer.alloc(4), v);
    };
    const nextOf: Partial<Record<Case, number>> = {
      'trivial*': trivial.progFd('trivial_tx'), 'trivial-encap*': tun.progFd('trivial_encap'), 'tun*': xvs, 'tun*@full': xvs,
    };
    const progOf = (c: Case): number => (c === 'trivial' ? trivial.progFd('trivial_tx') : WRAPPED(c) ? tun.progFd('restore_tail') : xvs);
    // Each wrapped program once, classic mode: it must reach XDP_TX with the frame it is meant to send.
    for (const c of CASES.filter(WRAPPED)) {
      behind(nextOf[c]!);
      const r = await native.progTestRun(progOf(c), { data: frames[c], ingressIfindex: ifindex });
      const grows = c === 'trivial*' ? 0 : 20;
      if (r.retval !== XDP_TX || r.dataOut.length !== frames[c].length + grows) throw new Error(`${c}: verdict ${r.retval}, ${r.dataOut.length} bytes out`);
    }
    if (!dp.clockAnchored) throw new Error('the data path clock is not anchored (xvs_clock_init)');
    // Cached rows must be timed on the cache (all but the first two runs of each batch are hits: one
    // arms the fill, the next commits it), full-walk rows never touch it.
    const hits = (): bigint => dp.reasons().XVS_R_FC_HIT;
    const checkHits = (c: Case, n: bigint, runs: number): void => {
      if (FULL_WALK(c) ? n !== 0n : n < BigInt(runs - 2)) throw new Error(`${c}: ${n} flow-cache hits in ${runs} runs`);
    };
    const before = dp.reasons().XVS_R_FWD_TX;
    const programNs = Object.fromEntries(CASES.map((c) => [c, [] as number[]])) as Record<Case, number[]>;
    const liveNs = Object.fromEntries(CASES.map((c) => [c, [] as number[]])) as Record<Case, number[]>;
    let expected = 0n;
    for (let round = 0; round <= rounds; round++) {
      const order = round % 2 ? [...CASES].reverse() : CASES;
      for (const c of order) {
        dp.setFlowCache(!FULL_WALK(c));
        const xvsCase = c !== 'trivial' && c !== 'trivial*' && c !== 'trivial-encap*';
        if (WRAPPED(c)) {
          behind(nextOf[c]!);
          const txBefore = dp.reasons().XVS_R_FWD_TX;
          const h0 = hits();
          const l = await native.progTestRun(progOf(c), { data: frames[c], repeat, ingressIfindex: ifindex, flags: BPF_F_TEST_XDP_LIVE_FRAMES, batchSize: 64 });
          // Live frames report no verdict: the forward counter says every frame took the TUN path.
          if (xvsCase) {
            const tx = dp.reasons().XVS_R_FWD_TX - txBefore;
            if (tx !== BigInt(repeat)) throw new Error(`${c}: ${tx} of ${repeat} frames forwarded`);
            checkHits(c, hits() - h0, repeat);
            expected += BigInt(repeat);
          }
          if (round > 0) liveNs[c].push(l.duration);
          continue;
        }
        const h0 = hits();
        const p = await native.progTestRun(progOf(c), { data: frames[c], repeat, ingressIfindex: ifindex });
        const h1 = hits();
        const l = await native.progTestRun(progOf(c), { data: frames[c], repeat, ingressIfindex: ifindex, flags: BPF_F_TEST_XDP_LIVE_FRAMES, batchSize: 64 });
        if (p.retval !== XDP_TX) throw new Error(`${c}: verdict ${p.retval}`);
        if (xvsCase) {
          checkHits(c, h1 - h0, repeat);
          checkHits(c, hits() - h1, repeat);
          expected += 2n * BigInt(repeat);
        }
        if (round > 0) { programNs[c].push(p.duration); liveNs[c].push(l.duration); }
      }
      dp.setFlowCache(true);
      process.stderr.write(`[modes-cost] round ${round}/${rounds}${round === 0 ? ' (warm-up)' : ''}\n`);
    }
    const seen = dp.reasons().XVS_R_FWD_TX - before;
    if (seen !== expected) throw new Error(`XVS_R_FWD_TX grew by ${seen}, expected ${expected}: not every run took the fast path`);
    return { rounds, repeat, programNs, liveNs };
  } finally {
    tun.close();
    trivial.close();
    dp.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function table(r: Report): string {
  const rows = [`${'case'.padEnd(14)} ${'program ns'.padStart(10)} ${'×trivial'.padStart(9)} ${'live ns'.padStart(8)} ${'×trivial'.padStart(9)}`];
  for (const c of CASES) {
    const l = median(r.liveNs[c]);
    // Wrapped rows: no program-only figure; the ratio is to the trivial program behind the same wrapper.
    const base = WRAPPED(c) ? median(r.liveNs['trivial*']) : median(r.liveNs.trivial);
    const p = WRAPPED(c) ? '-' : String(median(r.programNs[c]));
    const pr = WRAPPED(c) ? '-' : (median(r.programNs[c]) / median(r.programNs.trivial)).toFixed(2);
    rows.push(`${c.padEnd(14)} ${p.padStart(10)} ${pr.padStart(9)} ${String(l).padStart(8)} ${(l / base).toFixed(2).padStart(9)}`);
  }
  const tunEncap = median(r.liveNs['tun*']) / median(r.liveNs['trivial-encap*']);
  const tunEncapFull = median(r.liveNs['tun*@full']) / median(r.liveNs['trivial-encap*']);
  return rows.join('\n') + `\ntun* / trivial-encap* (live): ${tunEncap.toFixed(2)}; tun*@full / trivial-encap*: ${tunEncapFull.toFixed(2)}` +
    `\n(medians of ${r.rounds} rounds × ${r.repeat} runs; live = live frames, XDP_TX refused by the veth peer;` +
    ` * = behind restore_tail (Ethernet header restored, tail call), live only, ratio to trivial*;` +
    ` @full = flow cache off, every packet takes the full walk)\n`;
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
