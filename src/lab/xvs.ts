// src/lab/xvs.ts — driving xvs inside a namespace the way an operator would: start xvsd, wait for its
// control socket, run xvsadm and xvs-rs, read the daemon's info (reason counters). Shared by the lab,
// the e2e tests and the benchmarks.
import { existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { PIN_ROOT, isBpffs } from '../datapath/pin.js';
import path from 'node:path';
import { binArgv, nodeArgv, repoRoot, waitFor, type ExecOptions, type ExecResult, type Netns, type NsProcess, type SpawnOptions } from '../netns/index.js';

/** Files that must exist before anything here can run (`npm run build`). Returns the missing ones. */
export function missingBuild(): string[] {
  const need = [
    'bin/xvsd', 'bin/xvsadm', 'bin/xvs-rs',
    'dist/src/daemon/main.js', 'dist/src/rs/main.js', 'dist/src/lab/daemon-info.js', 'bpf/xdp_pass.o',
  ];
  return need.filter((f) => !existsSync(path.join(repoRoot, f)));
}

/** The part of a node-tap test these helpers use (src/ does not depend on tap). */
export interface TestLike {
  plan(n: number, comment?: string): void;
  fail(message: string): void;
  teardown(fn: () => unknown): void;
  passing(): boolean;
  comment(...args: unknown[]): void;
}

/**
 * Whether an end-to-end test can run here: it needs root and a build. When not, it plans zero tests
 * (not root: skipped with the reason) or fails (not built), and returns false.
 */
export function e2eReady(t: TestLike): boolean {
  if (process.getuid?.() !== 0) {
    t.plan(0, 'needs root (network namespaces, XDP)');
    return false;
  }
  const missing = missingBuild();
  if (missing.length) {
    t.fail(`missing ${missing.join(', ')}: run npm run build first`);
    return false;
  }
  return true;
}

/** Starts `xvsd ARGS` on `ns` for a test: waits until it answers; its output is shown if the test fails. */
export async function startTestXvsd(t: TestLike, ns: Netns, args: readonly string[]): Promise<NsProcess> {
  const daemon = startXvsd(ns, args);
  t.teardown(() => {
    if (!t.passing()) t.comment(`xvsd output:\n${daemon.output()}`);
  });
  await waitXvsdReady(ns, daemon);
  return daemon;
}

/**
 * The bpffs xvsd pins on, mounted in this (the host's) mount namespace: an xvsd under `ip netns exec`
 * would otherwise mount one that dies with it, and a restarted xvsd could adopt nothing.
 */
export function ensureHostBpffs(): void {
  if (isBpffs(PIN_ROOT)) return;
  mkdirSync(PIN_ROOT, { recursive: true });
  execFileSync('mount', ['-t', 'bpf', 'bpf', PIN_ROOT]);
}

/** Starts `xvsd ARGS` in `ns`. */
export function startXvsd(ns: Netns, args: readonly string[] = [], opts: SpawnOptions = {}): NsProcess {
  ensureHostBpffs();
  return ns.spawn(binArgv('xvsd', args), { label: `xvsd@${ns.label}`, ...opts });
}

/** `xvsadm ARGS` in `ns` (throws on a non-zero exit unless `allowFail`). */
export function xvsadm(ns: Netns, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  return ns.exec(binArgv('xvsadm', args), opts);
}

/** `xvs-rs ARGS` in `ns`. */
export function xvsRs(ns: Netns, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  return ns.exec(binArgv('xvs-rs', args), opts);
}

/** Waits until `xvsadm -Ln` succeeds in `ns`; fails at once if the daemon exits meanwhile. */
export async function waitXvsdReady(ns: Netns, daemon: NsProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await xvsadm(ns, ['-Ln'], { allowFail: true, quiet: true })).code === 0, {
    timeoutMs,
    intervalMs: 100,
    what: `xvsd in ${ns.name} to answer xvsadm -Ln`,
    failFast: () => {
      const st = daemon.exitStatus;
      return st ? new Error(`xvsd exited (code ${st.code}, signal ${st.signal}) before it was ready:\n${daemon.output().trim()}`) : null;
    },
  });
}

export interface XvsdInfo {
  pid: number;
  version: string;
  interfaces: { name: string; ifindex: number; mode: string }[];
  /** Reason counters (enum xvs_reason), when this xvsd reports them. */
  reasons?: Record<string, number>;
}

/** The `info` answer of the xvsd in `ns`, or null when there is none (or it does not answer). */
export async function xvsdInfo(ns: Netns): Promise<XvsdInfo | null> {
  const res = await ns.exec(nodeArgv(path.join(repoRoot, 'dist/src/lab/daemon-info.js')), { allowFail: true, quiet: true });
  if (res.code !== 0) return null;
  const raw = JSON.parse(res.stdout) as XvsdInfo & { reasons?: Record<string, string | number> };
  const reasons = raw.reasons
    ? Object.fromEntries(Object.entries(raw.reasons).map(([k, v]) => [k, Number(v)]))
    : undefined;
  return { ...raw, reasons };
}

/** The per-dest rows of `xvsadm -Ln`: `  -> RIP:PORT  Forward Weight ActiveConn InActConn`. */
export interface ListedDest {
  addr: string;
  forward: string;
  weight: number;
  activeConns: number;
  inactConns: number;
}

export function parseDestRows(listing: string): ListedDest[] {
  const rows: ListedDest[] = [];
  for (const line of listing.split('\n')) {
    const m = /^\s+->\s+(\S+)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) rows.push({ addr: m[1], forward: m[2], weight: +m[3], activeConns: +m[4], inactConns: +m[5] });
  }
  return rows;
}

/** Sends one control-socket command to the xvsd in `ns` (src/lab/control.ts); resolves with its JSON result. */
export async function xvsControl(ns: Netns, cmd: object, opts?: ExecOptions): Promise<unknown> {
  const res = await ns.exec(nodeArgv(path.join(repoRoot, 'dist/src/lab/control.js'), [JSON.stringify(cmd)]), opts);
  return res.code === 0 ? JSON.parse(res.stdout) : null;
}
