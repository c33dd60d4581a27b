// bench/dr-cost.ts — `npm run bench`: per-packet cost of xvs's DR fast path for an established flow,
// against a trivial parse + MAC swap + XDP_TX program (bpf/bench_trivial.o), both timed in the same run
// with BPF_PROG_TEST_RUN in live-frames mode. Builds a throw-away namespace with a veth pair, runs
// bench/dr-cost-measure.ts inside it, prints a table (or --json) and removes everything again.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { z } from 'zod';
import { Topology } from '../src/netns/index.js';
import type { MeasureConfig, MeasureReport, Mode, Program, Series } from './dr-cost-measure.js';

/** The issue's target: xvs costs at most this many times the trivial program. */
const TARGET_RATIO = 1.5;
/** The whole measurement is killed after this long, whatever the counts. */
const TIME_LIMIT_MS = 300_000;

const Args = z.object({
  json: z.boolean().default(false),
  rounds: z.coerce.number().int().min(1).max(50).default(7),
  repeat: z.coerce.number().int().min(1000).max(20_000_000).default(2_000_000),
  'program-repeat': z.coerce.number().int().min(1000).max(20_000_000).default(2_000_000),
  'batch-size': z.coerce.number().int().min(1).max(256).default(64),
});
type Args = z.infer<typeof Args>;

const USAGE = `usage: npm run bench [-- --json] [--rounds N] [--repeat N] [--program-repeat N] [--batch-size N]
  --rounds N          measured rounds (plus one warm-up), programs interleaved (default 7)
  --repeat N          frames per live-frames run (default 2000000)
  --program-repeat N  runs per program-only (non-live) measurement (default 2000000)
  --batch-size N      live-frames batch size, 1..256 (default 64)
  --json              print the raw report as JSON instead of the table`;

function parseArgv(argv: string[]): Args {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' }, rounds: { type: 'string' }, repeat: { type: 'string' },
        'program-repeat': { type: 'string' }, 'batch-size': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const parsed = Args.safeParse(values);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

class UsageError extends Error {
  override name = 'UsageError';
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Builds the namespace, runs the measuring half in it, returns its report. */
async function measure(args: Args): Promise<MeasureReport> {
  const topo = await Topology.create({ prefix: `xb${randomBytes(2).toString('hex')}-` });
  try {
    const lb = await topo.addNs('lb');
    // Both ends in the one namespace: the director's side (a) and the peer that receives XDP_TX (b).
    const [a, b] = await topo.veth(lb, 'a', lb, 'b', { txOff: false });
    await lb.addAddr(a.ifname, '198.51.100.1/24');
    await lb.sysctl(`net.ipv4.conf.${a.ifname}.forwarding`, 1); // bpf_fib_lookup: FWD_DISABLED otherwise
    const cfg: MeasureConfig = {
      ifname: a.ifname, peer: b.ifname,
      cip: '203.0.113.7', vip: '192.0.2.10', vport: 80, rip: '198.51.100.2',
      nextHopMac: '02:00:00:00:00:02',
      frameSizes: [64, 1514],
      repeat: args.repeat, programRepeat: args['program-repeat'], rounds: args.rounds, batchSize: args['batch-size'],
    };
    await lb.ip(['neigh', 'replace', cfg.rip, 'lladdr', cfg.nextHopMac, 'dev', a.ifname, 'nud', 'permanent']);
    // No IPv6 router solicitations or MLD reports: the peer's receive counter sees only our frames.
    for (const end of [a, b]) await lb.sysctl(`net.ipv6.conf.${end.ifname}.disable_ipv6`, 1);

    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dr-cost-measure.js');
    let stdout = '';
    const proc = lb.spawn([process.execPath, script, JSON.stringify(cfg)], {
      label: 'dr-cost-measure',
      onLine: (stream, line) => {
        if (stream === 'stdout') stdout += line + '\n';
        else process.stderr.write(line + '\n');
      },
    });
    const timer = setTimeout(() => {
      process.stderr.write(`[dr-cost] time limit of ${TIME_LIMIT_MS / 1000} s reached, stopping\n`);
      void proc.stop('SIGKILL');
    }, TIME_LIMIT_MS);
    const status = await proc.exited;
    clearTimeout(timer);
    if (status.error) throw status.error;
    if (status.code !== 0) throw new Error(`the measurement failed (exit ${status.code ?? status.signal}); see the messages above`);
    return JSON.parse(stdout) as MeasureReport;
  } finally {
    await topo.teardown();
  }
}

interface Row { mode: Mode; frameSize: number; program: Program; median: number; min: number; received: number | null }

function rows(series: Series[]): Row[] {
  return series.map((s) => ({
    mode: s.mode, frameSize: s.frameSize, program: s.program,
    median: median(s.kernelNs), min: Math.min(...s.kernelNs),
    received: s.sent > 0 ? s.received / s.sent : null,
  }));
}

/** xvs / trivial per mode and frame size, from the medians. */
function ratios(rs: Row[]): { mode: Mode; frameSize: number; ratio: number; meets: boolean }[] {
  const out = [];
  for (const x of rs.filter((r) => r.program === 'xvs')) {
    const t = rs.find((r) => r.program === 'trivial' && r.mode === x.mode && r.frameSize === x.frameSize);
    if (!t) continue;
    const ratio = x.median / t.median;
    out.push({ mode: x.mode, frameSize: x.frameSize, ratio, meets: ratio <= TARGET_RATIO });
  }
  return out;
}

const PROGRAM_LABEL: Record<Program, string> = {
  trivial: 'trivial_tx',
  xvs: 'xvs_xdp',
  'xvs-no-service': 'xvs_xdp, no service',
};
const MODE_LABEL: Record<Mode, string> = { live: 'live, delivered', 'live-no-rx': 'live, not received', program: 'program only' };

function table(report: MeasureReport): string {
  const c = report.config;
  const rs = rows(report.series);
  const lines: string[] = [];
  lines.push(`xvs DR fast path, established TCP flow (IPv4), vs trivial parse + XDP_TX`);
  lines.push(`kernel ${report.kernel}, ${report.cpus} CPUs; veth, native XDP; ${c.rounds} rounds (+1 warm-up), `
    + `live: ${c.repeat} frames/run, batch ${c.batchSize}; program only: ${c.programRepeat} runs`);
  lines.push('ns/packet as BPF_PROG_TEST_RUN reports it (duration), median and min over rounds');
  lines.push('');
  const head = ['mode', 'frame', 'program', 'ns/pkt med', 'ns/pkt min', 'Mpps (med)', 'peer rx'];
  const body = rs.map((r) => [MODE_LABEL[r.mode], `${r.frameSize} B`, PROGRAM_LABEL[r.program],
    r.median.toFixed(0), r.min.toFixed(0), (1000 / r.median).toFixed(2),
    r.received === null ? '-' : `${(100 * r.received).toFixed(1)} %`]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]): string => cells.map((x, i) => (i < 3 ? x.padEnd(width[i]) : x.padStart(width[i]))).join('  ');
  lines.push(fmt(head));
  for (const b of body) lines.push(fmt(b));
  lines.push('');
  const rt = ratios(rs);
  const sizes = c.frameSizes;
  const modes = [...new Set(rt.map((r) => r.mode))];
  const label = (m: Mode): string => (m === 'live' ? `${MODE_LABEL[m]} (the target's measure)` : MODE_LABEL[m]);
  const lw = Math.max(...modes.map((m) => label(m).length), 'ratio xvs_xdp / trivial_tx'.length);
  lines.push(['ratio xvs_xdp / trivial_tx'.padEnd(lw), ...sizes.map((z) => `${z} B`.padStart(7))].join('  '));
  for (const m of modes) {
    const cells = sizes.map((z) => rt.find((r) => r.mode === m && r.frameSize === z));
    const verdict = m === 'live' ? `  target <= ${TARGET_RATIO}: ${cells.every((r) => r?.meets) ? 'met' : 'MISSED'}` : '';
    lines.push([label(m).padEnd(lw), ...cells.map((r) => (r ? r.ratio.toFixed(2) : '-').padStart(7))].join('  ') + verdict);
  }
  const k = report.checks;
  lines.push('');
  lines.push(`check: XVS_R_FWD_TX +${k.fwdTxSeen} (expected +${k.fwdTxExpected})`
    + (Object.keys(k.otherReasons).length ? `; other xvs reasons: ${JSON.stringify(k.otherReasons)}` : ''));
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgv(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new UsageError('needs root (BPF_PROG_TEST_RUN, namespaces, XDP)');
  const report = await measure(args);
  if (args.json) {
    process.stdout.write(JSON.stringify({ ...report, ratios: ratios(rows(report.series)), target: TARGET_RATIO }, null, 2) + '\n');
  } else {
    process.stdout.write(table(report) + '\n');
  }
  if (report.checks.fwdTxSeen !== report.checks.fwdTxExpected) {
    throw new Error(`XVS_R_FWD_TX grew by ${report.checks.fwdTxSeen}, expected ${report.checks.fwdTxExpected}: `
      + 'the fast path did not run for every frame, so these figures are not valid');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`dr-cost: ${e instanceof Error ? e.message : String(e)}\n`);
  if (e instanceof UsageError) process.stderr.write(USAGE + '\n');
  process.exitCode = 1;
});
