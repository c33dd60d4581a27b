// src/lab/traffic.ts — bounded, checked traffic against VIPs for the HA and restart tests and `lab --ha`:
// long paced TCP transfers whose bytes are verified by SHA-256 on both ends, and a stream of short new
// connections counted ok/failed. The ends run as src/lab/traffic-agent.ts inside the namespaces.
import path from 'node:path';
import { z } from 'zod';
import { nodeArgv, repoRoot, waitFor, type Netns, type NsProcess } from '../netns/index.js';
import type { ConnOutcome } from './traffic-agent.js';

export const TrafficTarget = z.object({
  /** Names the target in the results, e.g. the forwarding mode. */
  label: z.string().min(1).max(32),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});
export type TrafficTarget = z.infer<typeof TrafficTarget>;

export const TrafficSpec = z.object({
  targets: z.array(TrafficTarget).min(1).max(16),
  long: z.object({
    /** Long transfers per target. */
    perTarget: z.number().int().min(0).max(8),
    /** Bytes each way per transfer (echoed). */
    bytes: z.number().int().min(1).max(16 << 20),
    /** The client paces its sending over this long. */
    durationMs: z.number().int().min(0).max(120_000),
  }),
  short: z.object({
    ratePerS: z.number().min(0).max(200),
    /** Short connections are started during this long (count = rate × duration). */
    durationMs: z.number().int().min(0).max(120_000),
    timeoutMs: z.number().int().min(100).max(30_000),
    bytes: z.number().int().min(1).max(1 << 20),
  }),
  /** A long transfer fails if it has not completed `graceMs` after its pacing ended. */
  graceMs: z.number().int().min(0).max(120_000),
});
export type TrafficSpec = z.infer<typeof TrafficSpec>;

export interface LongResult extends ConnOutcome {
  target: string;
  index: number;
  bytes: number;
}

export interface ShortResult {
  target: string;
  /** Started this long after the traffic began. */
  atMs: number;
  ok: boolean;
  server: string | null;
  ms: number;
  error?: string;
}

export interface TrafficResult {
  long: LongResult[];
  short: ShortResult[];
  ms: number;
}

const AGENT = path.join(repoRoot, 'dist/src/lab/traffic-agent.js');
export const TRAFFIC_PORT = 9000;

/** Starts the echo server `name` in `ns` on `ports` and waits until it listens. */
export async function startTrafficServer(ns: Netns, name: string, ports: readonly number[] = [TRAFFIC_PORT]): Promise<NsProcess> {
  let ready = false;
  const proc = ns.spawn(nodeArgv(AGENT, ['server', name, ...ports.map(String)]), {
    label: `traffic@${name}`,
    onLine: (_s, line) => {
      if (line === 'ready') ready = true;
    },
  });
  await waitFor(() => ready, {
    timeoutMs: 10_000,
    what: `the traffic server of ${name}`,
    failFast: () => (proc.running ? null : new Error(`traffic server ${name} exited: ${proc.output().trim()}`)),
  });
  return proc;
}

export interface RunningTraffic {
  /** Resolves once every long transfer has been answered by its server (ms since start). */
  ready: Promise<number>;
  /** Resolves with the results when everything has finished (bounded by the spec). */
  done: Promise<TrafficResult>;
  proc: NsProcess;
}

/** Runs `spec` from `client` (a namespace); every connection is bounded in time. */
export function startTraffic(client: Netns, spec: TrafficSpec): RunningTraffic {
  const checked = TrafficSpec.parse(spec);
  let onReady: (ms: number) => void = () => {};
  let result: TrafficResult | null = null;
  const ready = new Promise<number>((resolve) => {
    onReady = resolve;
  });
  const proc = client.spawn(nodeArgv(AGENT, ['client', JSON.stringify(checked)]), {
    label: 'traffic@client',
    onLine: (_s, line) => {
      if (line.startsWith('ready ')) onReady(Number(line.slice(6)));
      else if (line.startsWith('result ')) result = JSON.parse(line.slice(7)) as TrafficResult;
    },
  });
  const done = proc.exited.then((st) => {
    if (!result) throw new Error(`traffic client ended (code ${st.code}, signal ${st.signal}) without a result: ${proc.output().trim()}`);
    return result;
  });
  // A client that dies before every transfer is up would leave `ready` pending: settle it via `done`.
  void done.then(() => onReady(-1), () => onReady(-1));
  return { ready, done, proc };
}

/** Per-target tallies of a result, for reports and assertions. */
export function summarize(result: TrafficResult): Record<string, { longOk: number; longFailed: number; shortOk: number; shortFailed: number; maxGapMs: number }> {
  const out: Record<string, { longOk: number; longFailed: number; shortOk: number; shortFailed: number; maxGapMs: number }> = {};
  const row = (label: string) => (out[label] ??= { longOk: 0, longFailed: 0, shortOk: 0, shortFailed: 0, maxGapMs: 0 });
  for (const l of result.long) {
    const r = row(l.target);
    if (l.ok) r.longOk++;
    else r.longFailed++;
    r.maxGapMs = Math.max(r.maxGapMs, l.maxGapMs);
  }
  for (const s of result.short) {
    if (s.ok) row(s.target).shortOk++;
    else row(s.target).shortFailed++;
  }
  return out;
}

/** One line per target, e.g. `nat: long 2/2 ok (max gap 812 ms), short 58/60 ok`. */
export function formatSummary(result: TrafficResult): string {
  return Object.entries(summarize(result))
    .map(([label, r]) => `${label}: long ${r.longOk}/${r.longOk + r.longFailed} ok (max gap ${r.maxGapMs} ms), short ${r.shortOk}/${r.shortOk + r.shortFailed} ok`)
    .join('\n');
}
