// src/netns/exec.ts — runs commands, in the root namespace or inside a named network namespace
// (`ip netns exec`), and turns a failure into an ExecError that carries the command and its output.
import { execFile, execFileSync } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; 0 unless `allowFail` was set. */
  code: number;
}

export interface ExecOptions {
  /** Resolve with the result instead of throwing when the command exits non-zero. */
  allowFail?: boolean;
  /** Kill the command (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Leave the command out of the topology's transcript (polling loops). */
  quiet?: boolean;
}

/** A command exited non-zero, was killed, or could not be started. */
export class ExecError extends Error {
  readonly code = 'EXEC_FAILED';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stdout: string,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const how = signal ? `was killed by ${signal}` : exitCode === null ? 'could not be run' : `exited with ${exitCode}`;
    const detail = (stderr.trim() || stdout.trim()).split('\n').slice(-5).join('\n');
    super(`\`${formatArgv(argv)}\` ${how}${detail ? `: ${detail}` : ''}`, options);
    this.name = 'ExecError';
  }
}

/** Quotes argv the way an operator would type it in a shell (for messages and transcripts). */
export const formatArgv = (argv: readonly string[]): string =>
  argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');

/** The argv that runs `argv` inside network namespace `ns` (`null`: the current namespace). */
export const inNetns = (ns: string | null, argv: readonly string[]): string[] =>
  ns === null ? [...argv] : ['ip', 'netns', 'exec', ns, ...argv];

/** Runs argv (no shell) and collects its output. */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: opts.env, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr, code: 0 });
        const e = err as NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null };
        const exitCode = typeof e.code === 'number' ? e.code : null;
        const signal = e.signal ?? null;
        if (opts.allowFail && exitCode !== null && !signal) return resolve({ stdout, stderr, code: exitCode });
        reject(new ExecError(argv, exitCode, signal, stdout ?? '', stderr ?? (typeof e.code === 'string' ? e.message : ''), { cause: err }));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs argv inside network namespace `ns`. */
export const runIn = (ns: string | null, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> =>
  run(inNetns(ns, argv), opts);

/** Synchronous variant for exit handlers, where no promise will ever settle. Never throws. */
export function runSyncQuiet(argv: readonly string[], timeoutMs = 10_000): boolean {
  try {
    execFileSync(argv[0], argv.slice(1), { stdio: 'ignore', timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}
