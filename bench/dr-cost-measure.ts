// bench/dr-cost-measure.ts — the measuring half of the DR cost benchmark. Runs inside the namespace that
// bench/dr-cost.ts built (BPF_PROG_TEST_RUN resolves ingress_ifindex and routes in the caller's namespace):
// establishes one DR flow through the real control plane, then times xvs_xdp (of bpf/xvs_bench.o) and
// trivial_tx on it.
// Prints progress on stderr and one JSON document (a MeasureReport) on stdout.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { native, bpfObjectPath } from '../src/datapath/native.js';
import { BpfDatapath } from '../src/datapath/bpf-datapath.js';
import { TCP_S_ESTABLISHED, type ReasonName } from '../src/datapath/abi.js';
import { ServiceTable } from '../src/control/table.js';
import { DestSpec, ServiceSpec } from '../src/model/service.js';

/** What bench/dr-cost.ts hands over (argv[2], JSON). */
export interface MeasureConfig {
  ifname: string;      // the director's veth: ingress and (XDP_TX) egress
  peer: string;        // its peer; this process attaches bpf/xdp_pass.o there so transmitted frames are received
  cip: string;
  vip: string;
  vport: number;
  rip: string;
  /** Source MAC of the client's frames and the RIP's neighbour entry: one MAC, so both programs emit
   *  byte-identical frames and the peer's receive cost is the same for both. */
  nextHopMac: string;
  frameSizes: number[];
  repeat: number;      // frames per live-frames run
  programRepeat: number; // runs per program-only (non-live) measurement
  rounds: number;
  batchSize: number;
}

export type Program = 'xvs' | 'trivial' | 'xvs-no-service';
/** live: live frames, the peer receives them; live-no-rx: live frames refused by the peer's veth at
 *  transmit; program: classic test run, no transmission (only the program and the run loop). */
export type Mode = 'live' | 'live-no-rx' | 'program';

/** One program × frame size × mode: ns per packet of each round, wall clock and as the kernel reports it. */
export interface Series {
  program: Program;
  mode: Mode;
  frameSize: number;
  wallNs: number[];
  kernelNs: number[];
  /** Live frames only: frames sent in the measured rounds, and how many of them the peer received. */
  sent: number;
  received: number;
}

export interface MeasureReport {
  kernel: string;
  cpus: number;
  config: MeasureConfig;
  series: Series[];
  /** XVS_R_FWD_TX must grow by exactly the number of xvs runs: then the fast path ran for every frame. */
  checks: { fwdTxExpected: number; fwdTxSeen: number; otherReasons: Record<string, string> };
}

const XDP_PASS = 2;
const XDP_TX = 3;
const BPF_F_TEST_XDP_LIVE_FRAMES = 2;
const XDP_FLAGS_DRV_MODE = 4;

const log = (msg: string): void => {
  process.stderr.write(`[dr-cost] ${msg}\n`);
};

class BenchError extends Error {
  override name = 'BenchError';
}

const readSys = (path: string): string => readFileSync(path, 'utf8').trim();
const ifindexOf = (ifname: string): number => Number(readSys(`/sys/class/net/${ifname}/ifindex`));
const rxPackets = (ifname: string): number => Number(readSys(`/sys/class/net/${ifname}/statistics/rx_packets`));

const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const macString = (b: Buffer): string => [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ipv4Bytes = (addr: string): Buffer => Buffer.from(addr.split('.').map(Number));

/** RFC 1071 over the concatenation of the buffers. */
function inetChecksum(...bufs: Buffer[]): number {
  const b = Buffer.concat(bufs);
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An IPv4/TCP frame of the flow, exactly `frameSize` bytes long (Ethernet header included, FCS not),
 * checksums right. (test/fixtures/packet.ts has a fuller builder, but it is test-only code outside the
 * tsc build; this is the one packet the benchmark needs.)
 */
function flowFrame(cfg: MeasureConfig, dstMac: string, flags: 'S' | 'A', frameSize: number, dport = cfg.vport): Buffer {
  const ETH = 14;
  const IP = 20;
  const TCP = 20;
  if (frameSize < ETH + IP + TCP) throw new BenchError(`frame size ${frameSize} is below the ${ETH + IP + TCP} bytes of headers`);
  const f = Buffer.alloc(frameSize, 0x61);
  macBytes(dstMac).copy(f, 0);
  macBytes(cfg.nextHopMac).copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  const ip = f.subarray(ETH, ETH + IP);
  ip.fill(0);
  ip[0] = 0x45;
  ip.writeUInt16BE(frameSize - ETH, 2);
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = 6;
  ipv4Bytes(cfg.cip).copy(ip, 12);
  ipv4Bytes(cfg.vip).copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  const tcp = f.subarray(ETH + IP);
  tcp.fill(0, 0, TCP);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(dport, 2);
  tcp.writeUInt32BE(1000, 4);
  tcp.writeUInt32BE(flags === 'S' ? 0 : 5000, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags === 'S' ? 0x02 : 0x10;
  tcp.writeUInt16BE(65535, 14);
  const pseudo = Buffer.alloc(12);
  ipv4Bytes(cfg.cip).copy(pseudo, 0);
  ipv4Bytes(cfg.vip).copy(pseudo, 4);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(tcp.length, 10);
  tcp.writeUInt16BE(inetChecksum(pseudo, tcp), 16);
  return f;
}

interface Timed { wallNs: number; kernelNs: number; retval: number; dataOut: Buffer }

async function timedRun(progFd: number, data: Buffer, repeat: number, live: boolean, cfg: MeasureConfig, ifindex: number): Promise<Timed> {
  const start = process.hrtime.bigint();
  const r = await native.progTestRun(progFd, {
    data, repeat, ingressIfindex: ifindex,
    ...(live ? { flags: BPF_F_TEST_XDP_LIVE_FRAMES, batchSize: cfg.batchSize } : {}),
  });
  const wall = Number(process.hrtime.bigint() - start);
  return { wallNs: wall / repeat, kernelNs: r.duration, retval: r.retval, dataOut: r.dataOut };
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '') as MeasureConfig;
  const ifindex = ifindexOf(cfg.ifname);
  const lbMac = readSys(`/sys/class/net/${cfg.ifname}/address`);

  native.setLogLevel('warn');
  // bpf/xvs_bench.o: xvs.bpf.c built with XVS_BENCH_KEEP_TTL, the one difference from xvs.o being that
  // forwarded packets keep their TTL (the decrement and its checksum arithmetic still run). A classic
  // test run re-runs the program on the same buffer, and live frames recycle their pages with the bytes
  // the program left: with xvs.o the TTL would reach 1 and the frames would go to the kernel instead.
  const dp = await BpfDatapath.open({ objectPath: bpfObjectPath('xvs_bench'), maxConns: 4096 });
  const trivialObj = new native.BpfObject(bpfObjectPath('bench_trivial'));
  const passObj = new native.BpfObject(bpfObjectPath('xdp_pass'));
  const peerIfindex = ifindexOf(cfg.peer);
  try {
    await trivialObj.load();
    await passObj.load();
    const passFd = passObj.progFd('xdp_pass');
    const progs: Record<Program, number> = {
      xvs: dp.progFd('xvs_xdp'),
      'xvs-no-service': dp.progFd('xvs_xdp'),
      trivial: trivialObj.progFd('trivial_tx'),
    };

    // The service and its one real server, programmed as xvsd would (rings filled by the table).
    const table = new ServiceTable(dp, { maxServices: 1024, maxDests: 8192 });
    const svc = ServiceSpec.parse({ protocol: 'tcp', addr: cfg.vip, port: cfg.vport, scheduler: 'rr' });
    table.addService(svc);
    table.addDest(svc, DestSpec.parse({ addr: cfg.rip, port: cfg.vport }));

    // Establish the flow: SYN (creates the connection), then an ACK (ESTABLISHED). Both must be forwarded.
    for (const flags of ['S', 'A'] as const) {
      const r = await native.progTestRun(progs.xvs, { data: flowFrame(cfg, lbMac, flags, 64), ingressIfindex: ifindex });
      if (r.retval !== XDP_TX) {
        const counted = Object.entries(dp.reasons()).filter(([, n]) => n > 0n).map(([k, n]) => `${k}=${n}`).join(' ');
        throw new BenchError(`xvs_xdp returned ${r.retval} instead of XDP_TX (3) for the ${flags === 'S' ? 'SYN' : 'ACK'} `
          + `that sets up the flow; reason counters: ${counted || 'none'}. Does bpf/xvs_bench.o forward DR, and can `
          + `bpf_fib_lookup resolve ${cfg.rip} (forwarding on ${cfg.ifname}, permanent neighbour)?`);
      }
    }
    const conns = dp.conns();
    if (conns.length !== 1 || conns[0].state !== TCP_S_ESTABLISHED) {
      throw new BenchError(`expected one ESTABLISHED connection after SYN+ACK, found ${JSON.stringify(conns.map((c) => c.state))}`);
    }

    // The same ACK through both programs must leave as the same bytes (src = our MAC, dst = next hop).
    for (const size of cfg.frameSizes) {
      const frame = flowFrame(cfg, lbMac, 'A', size);
      const [a, b] = [await native.progTestRun(progs.xvs, { data: frame, ingressIfindex: ifindex }),
        await native.progTestRun(progs.trivial, { data: frame, ingressIfindex: ifindex })];
      if (a.retval !== XDP_TX || b.retval !== XDP_TX) throw new BenchError(`size ${size}: verdicts ${a.retval}/${b.retval}, expected XDP_TX`);
      if (!a.dataOut.equals(b.dataOut)) {
        throw new BenchError(`size ${size}: xvs and trivial emit different frames (dst ${macString(a.dataOut)} vs ${macString(b.dataOut)})`);
      }
    }
    // A packet for no virtual service: the parse, the lookups that find nothing, a counter and XDP_PASS.
    // Timed program-only, it tells how much of xvs's cost comes before any forwarding work.
    const noService = flowFrame(cfg, lbMac, 'A', 64, cfg.vport + 1);
    const ns = await native.progTestRun(progs.xvs, { data: noService, ingressIfindex: ifindex });
    if (ns.retval !== XDP_PASS) throw new BenchError(`a packet for no service got verdict ${ns.retval}, expected XDP_PASS`);

    const reasonsBefore = dp.reasons();
    let fwdTxExpected = 0;
    const series: Series[] = [];
    const record = (program: Program, mode: Mode, frameSize: number, t: Timed, sent = 0, received = 0): void => {
      let s = series.find((x) => x.program === program && x.mode === mode && x.frameSize === frameSize);
      if (!s) series.push(s = { program, mode, frameSize, wallNs: [], kernelNs: [], sent: 0, received: 0 });
      s.wallNs.push(t.wallNs);
      s.kernelNs.push(t.kernelNs);
      s.sent += sent;
      s.received += received;
    };
    const frames = new Map(cfg.frameSizes.map((size) => [size, flowFrame(cfg, lbMac, 'A', size)]));

    /** One live-frames run; counts what the peer received. */
    const live = async (program: Program, size: number, mode: Mode, measured: boolean): Promise<void> => {
      const rx0 = rxPackets(cfg.peer);
      const t = await timedRun(progs[program], frames.get(size)!, cfg.repeat, true, cfg, ifindex);
      const received = rxPackets(cfg.peer) - rx0;
      if (program === 'xvs') fwdTxExpected += cfg.repeat;
      if (measured) record(program, mode, size, t, cfg.repeat, received);
    };
    const programOnly = async (program: Program, frame: Buffer, verdict: number, measured: boolean): Promise<void> => {
      const t = await timedRun(progs[program], frame, cfg.programRepeat, false, cfg, ifindex);
      if (t.retval !== verdict) throw new BenchError(`${program}, ${frame.length} B: verdict ${t.retval} in a timed run, expected ${verdict}`);
      if (program === 'xvs') fwdTxExpected += cfg.programRepeat;
      if (measured) record(program, 'program', frame.length, t);
    };

    // Round 0 warms up (page pools, caches) and is not recorded. The order of the two programs
    // alternates between rounds, so a drift over time weighs on both alike.
    for (let round = 0; round <= cfg.rounds; round++) {
      const measured = round > 0;
      const order: Program[] = round % 2 === 0 ? ['xvs', 'trivial'] : ['trivial', 'xvs'];
      await native.xdpAttach(peerIfindex, passFd, XDP_FLAGS_DRV_MODE);
      for (const size of cfg.frameSizes) for (const program of order) await live(program, size, 'live', measured);
      // Without a program on the peer, veth refuses XDP frames at transmit (they are freed there): the
      // same runs minus the receive path, closer to what XDP_TX costs on a NIC.
      native.xdpDetach(peerIfindex, XDP_FLAGS_DRV_MODE);
      for (const size of cfg.frameSizes) for (const program of order) await live(program, size, 'live-no-rx', measured);
      for (const size of cfg.frameSizes) for (const program of order) await programOnly(program, frames.get(size)!, XDP_TX, measured);
      await programOnly('xvs-no-service', noService, XDP_PASS, measured);
      log(`round ${round}/${cfg.rounds}${round === 0 ? ' (warm-up)' : ''} done`);
    }

    const reasonsAfter = dp.reasons();
    const otherReasons: Record<string, string> = {};
    for (const [k, v] of Object.entries(reasonsAfter) as [ReasonName, bigint][]) {
      const d = v - reasonsBefore[k];
      // The flow cache's own counters move with every established packet (its hits are the DR path now).
      if (k !== 'XVS_R_FWD_TX' && k !== 'XVS_R_PASS_NO_SERVICE' && !k.startsWith('XVS_R_FC_') && d !== 0n) otherReasons[k] = String(d);
    }
    const report: MeasureReport = {
      kernel: readSys('/proc/sys/kernel/osrelease'),
      cpus: os.availableParallelism(),
      config: cfg,
      series,
      checks: {
        fwdTxExpected,
        fwdTxSeen: Number(reasonsAfter.XVS_R_FWD_TX - reasonsBefore.XVS_R_FWD_TX),
        otherReasons,
      },
    };
    process.stdout.write(JSON.stringify(report) + '\n');
  } finally {
    try {
      native.xdpDetach(peerIfindex, XDP_FLAGS_DRV_MODE);
    } catch {
      /* the namespace goes away next anyway */
    }
    passObj.close();
    trivialObj.close();
    dp.close();
  }
}

main().catch((e: unknown) => {
  log(e instanceof BenchError ? e.message : (e instanceof Error ? e.stack ?? e.message : String(e)));
  process.exitCode = 1;
});
