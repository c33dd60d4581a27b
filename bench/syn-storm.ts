// bench/syn-storm.ts — a bounded storm of new TCP connections through the real director program and the
// real control plane in one process, shared by bench/sched-rate.ts and test/bpf/storm.test.ts. The
// generator bpf/bench_syn.o (BPF_PROG_TEST_RUN live frames) writes each frame as a SYN from a source
// (address, port) no earlier frame had and tail-calls xvs_xdp, while the main thread runs xvsd's ring
// refill (ServiceTable.refillRings every 5 ms, as src/daemon/main.ts does) against the same maps.
import { native, bpfObjectPath } from '../src/datapath/native.js';
import { BpfDatapath } from '../src/datapath/bpf-datapath.js';
import { ServiceTable } from '../src/control/table.js';
import { DestSpec, ServiceSpec, type SchedulerName } from '../src/model/service.js';

const BPF_F_TEST_XDP_LIVE_FRAMES = 2;
/** xvsd's refill period (src/daemon/main.ts). */
export const REFILL_PERIOD_MS = 5;
/** Clients: 192.0.2.1-254, ports 1024-65535: 16.4 million distinct sources per service port. */
const SADDR_BASE = ((192 << 24) | (0 << 16) | (2 << 8) | 1) >>> 0;
const NADDRS = 254;
const SPORT_BASE = 1024;
const NPORTS = 65536 - 1024;
export const MAX_SOURCES = NADDRS * NPORTS;
export const STORM_VIP = '203.0.113.10';
const FRAME_LEN = 64;
/** Paced: no catch-up burst after a pause (the run descheduled, or between two runs): the SYNs offered
 * over the time the runs were on the CPU are the paced rate. */
const PACED_BURST = 1;
/** A test run's fixed cost: the kernel tears down the run's page pool, waiting for an RCU grace period
 * (~25 ms here), so runs are made long and the gaps between them are left out of the rate. */
const TARGET_RUN_S = 0.25;

/** Where the director's frames enter: a device with forwarding on and the RIPs' neighbours resolved. */
export interface StormLink { ifindex: number; mac: string }

export interface StormService {
  /** A scheduler, or 'trivial': no director at all, the generator hands every frame to bench_trivial's
   * parse + MAC swap + XDP_TX (the baseline). */
  scheduler: SchedulerName | 'trivial';
  rips: string[];
  weights?: number[];
}

export interface StormPlan {
  /** Bound on the storm's wall time. */
  seconds: number;
  /** Bound on the SYNs offered (exact flat out; paced, checked between test runs). */
  maxSyns: number;
  /** Offered SYNs per second, paced by the generator; as fast as it goes when absent. */
  rate?: number;
  /** Run xvsd's refill loop during the storm (false: the rings hold what was filled before it). */
  refill: boolean;
}

export interface StormResult {
  scheduler: StormService['scheduler'];
  rate: number | null;
  /** SYNs the generator offered, and the time spent offering them (test runs, without their teardown). */
  offered: number;
  seconds: number;
  /** XVS_R_CONN_NEW, XVS_R_FWD_TX and XVS_R_RING_EXHAUSTED during the storm (0 for 'trivial'). */
  connNew: number;
  fwdTx: number;
  underflows: number;
  /** Every other reason counter that moved. */
  other: Record<string, number>;
  /** New connections per second (SYNs per second for 'trivial'). */
  perSecond: number;
  /** Wall time of the storm, gaps between test runs included. */
  wallSeconds: number;
  /** The refill loop: ticks, decisions published, time spent in refillRings(). */
  refills: number;
  refillDecisions: number;
  refillMs: number;
  /** The longest time between two refills (the timer's period plus its lateness), ms. */
  refillMaxGapMs: number;
}

const v4 = (a: string): Buffer => Buffer.from(a.split('.').map(Number));
const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
function csum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** struct syn_tmpl of bench_syn.bpf.c: the SYN of the first source with both checksums, and the ranges. */
function synTemplate(dstMac: string, dport: number, intervalNs: bigint): Buffer {
  const t = Buffer.alloc(80);
  macBytes(dstMac).copy(t, 0);
  macBytes('02:00:00:00:00:c1').copy(t, 6);
  t.writeUInt16BE(0x0800, 12);
  const ip = t.subarray(14, 34);
  const saddr = Buffer.alloc(4);
  saddr.writeUInt32BE(SADDR_BASE);
  ip[0] = 0x45; ip.writeUInt16BE(FRAME_LEN - 14, 2); ip.writeUInt16BE(0x4000, 6); ip[8] = 64; ip[9] = 6;
  saddr.copy(ip, 12); v4(STORM_VIP).copy(ip, 16);
  ip.writeUInt16BE(csum(ip), 10);
  const tcp = t.subarray(34, 54);
  tcp.writeUInt16BE(SPORT_BASE, 0); tcp.writeUInt16BE(dport, 2); tcp.writeUInt32BE(1, 4);
  tcp[12] = 5 << 4; tcp[13] = 0x02; tcp.writeUInt16BE(65535, 14);
  // The frame carries 10 bytes of zeros after the TCP header (IP total length 50): in the checksum too.
  const seg = Buffer.concat([tcp, Buffer.alloc(FRAME_LEN - 54)]);
  const pseudo = Buffer.alloc(12);
  saddr.copy(pseudo, 0); v4(STORM_VIP).copy(pseudo, 4); pseudo[9] = 6; pseudo.writeUInt16BE(seg.length, 10);
  tcp.writeUInt16BE(csum(Buffer.concat([pseudo, seg])), 16);
  t.writeUInt16LE(NPORTS, 54);
  t.writeUInt32LE(SADDR_BASE, 56);
  t.writeUInt32LE(NADDRS, 60);
  t.writeUInt16LE(SPORT_BASE, 64);
  t.writeUInt16LE(PACED_BURST, 66);
  t.writeBigUInt64LE(intervalNs, 72);
  return t;
}

/**
 * One director under test: a BpfDatapath (loading it runs the verifier for seconds, so it is done once)
 * and a ServiceTable holding one service at a time; each use() puts a new service on a new port, so
 * its SYNs are new 5-tuples even after earlier storms. close() releases everything.
 */
export class SynStorm {
  private svc: ServiceSpec | null = null;
  private port = 1000;
  private readonly seqFd: number;

  private constructor(
    private readonly link: StormLink,
    private readonly gen: InstanceType<typeof native.BpfObject>,
    private readonly trivial: InstanceType<typeof native.BpfObject>,
    readonly dp: BpfDatapath,
    readonly table: ServiceTable,
    private scheduler: StormService['scheduler'] = 'trivial',
  ) {
    this.seqFd = gen.mapFd(gen.mapNames().find((n) => n.endsWith('.bss'))!);
  }

  static async open(link: StormLink, opts: { maxConns?: number } = {}): Promise<SynStorm> {
    native.setLogLevel('warn');
    const gen = new native.BpfObject(bpfObjectPath('bench_syn'));
    const trivial = new native.BpfObject(bpfObjectPath('bench_trivial'));
    let dp: BpfDatapath | null = null;
    try {
      await gen.load();
      await trivial.load();
      dp = await BpfDatapath.open({ maxConns: opts.maxConns ?? 1 << 20 });
      return new SynStorm(link, gen, trivial, dp, new ServiceTable(dp, { maxServices: 16, maxDests: 256 }));
    } catch (e) {
      gen.close();
      trivial.close();
      dp?.close();
      throw e;
    }
  }

  /** Replaces the service under test (its rings filled once, as adding a service does in xvsd). */
  use(service: StormService): void {
    if (this.svc) this.table.deleteService(this.svc);
    this.svc = null;
    this.port++;
    this.scheduler = service.scheduler;
    let target = this.trivial.progFd('trivial_tx');
    if (service.scheduler !== 'trivial') {
      const svc = ServiceSpec.parse({ protocol: 'tcp', addr: STORM_VIP, port: this.port, scheduler: service.scheduler });
      this.table.addService(svc);
      this.svc = svc;
      service.rips.forEach((rip, i) => {
        this.table.addDest(svc, DestSpec.parse({ addr: rip, port: this.port, fwd: 'route', weight: service.weights?.[i] ?? 1 }));
      });
      target = this.dp.progFd('xvs_xdp');
    }
    native.mapUpdate(this.gen.mapFd('syn_next'), u32(0), u32(target));
  }

  /** SYNs the generator has offered since it was loaded. */
  private offeredSoFar(): number {
    const b = Buffer.alloc(16);
    native.mapLookup(this.seqFd, u32(0), b);
    return Number(b.readBigUInt64LE(0));
  }

  async run(plan: StormPlan): Promise<StormResult> {
    const rate = plan.rate && plan.rate > 0 ? plan.rate : null;
    native.mapUpdate(this.gen.mapFd('syn_tmpl'), u32(0), synTemplate(this.link.mac, this.port, rate ? BigInt(Math.round(1e9 / rate)) : 0n));
    const before = this.dp.reasons();
    const refill = { n: 0, decisions: 0, ms: 0, last: performance.now(), maxGap: 0 };
    const table = this.table;
    // xvsd's loop runs all the time: the ring is full when a storm starts (this one's loop stopped with
    // the previous storm).
    if (plan.refill) table.refillRings();
    const timer = plan.refill ? setInterval(() => {
      const t0 = performance.now();
      refill.maxGap = Math.max(refill.maxGap, t0 - refill.last);
      refill.last = t0;
      const produced = table.refillRings();
      refill.ms += performance.now() - t0;
      refill.n++;
      refill.decisions += produced;
    }, REFILL_PERIOD_MS) : null;
    const seq0 = this.offeredSoFar();
    let offeredNs = 0;
    // Frames per test run, adapted so a run lasts about TARGET_RUN_S (paced: most frames are dropped
    // while the generator waits for the next SYN's time, ~130 ns each).
    let frames = rate ? 1 << 20 : 1 << 16;
    const start = performance.now();
    const deadline = start + plan.seconds * 1e3;
    try {
      while (performance.now() < deadline) {
        const left = plan.maxSyns - (this.offeredSoFar() - seq0);
        if (left <= 0) break;
        const repeat = rate ? frames : Math.min(frames, left);
        const r = await native.progTestRun(this.gen.progFd('syn_gen'), {
          data: Buffer.alloc(FRAME_LEN), repeat, ingressIfindex: this.link.ifindex,
          flags: BPF_F_TEST_XDP_LIVE_FRAMES, batchSize: 64,
        });
        // Live frames report no verdict: what became of the frames is read from the director's counters.
        const ns = r.duration * repeat;
        offeredNs += ns;
        const remainingS = (deadline - performance.now()) / 1e3;
        const perFrameNs = Math.max(1, ns / repeat);
        frames = Math.max(1024, Math.min(1 << 26, Math.round((Math.min(TARGET_RUN_S, Math.max(0.01, remainingS)) * 1e9) / perFrameNs)));
      }
    } finally {
      if (timer) clearInterval(timer);
    }
    const offered = this.offeredSoFar() - seq0;
    const seconds = offeredNs / 1e9;
    const wallSeconds = (performance.now() - start) / 1e3;
    const after = this.dp.reasons();
    const moved: Record<string, number> = {};
    for (const [k, v] of Object.entries(after)) {
      const d = Number(v - (before[k as keyof typeof before] ?? 0n));
      if (d !== 0) moved[k] = d;
    }
    const take = (k: string): number => { const v = moved[k] ?? 0; delete moved[k]; return v; };
    const connNew = take('XVS_R_CONN_NEW');
    const fwdTx = take('XVS_R_FWD_TX');
    const underflows = take('XVS_R_RING_EXHAUSTED');
    return {
      scheduler: this.scheduler, rate, offered, seconds, wallSeconds, connNew, fwdTx, underflows, other: moved,
      perSecond: (this.scheduler === 'trivial' ? offered : connNew) / seconds,
      refills: refill.n, refillDecisions: refill.decisions, refillMs: refill.ms, refillMaxGapMs: refill.maxGap,
    };
  }

  close(): void {
    // The generator first: its syn_next holds a reference to the program it hands frames to.
    this.gen.close();
    this.trivial.close();
    this.dp.close();
  }
}
