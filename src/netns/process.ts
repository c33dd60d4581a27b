// src/netns/process.ts — a long-running process started inside a namespace (a daemon, a web server):
// its output is kept (and optionally streamed line by line), and it can be stopped politely or not.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { sleepSync } from './wait.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

export interface SpawnOptions {
  /** Short name used in messages, e.g. `xvsd@director`. */
  label?: string;
  /** Called for every line the process prints. */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Send stdout and stderr to this file (appended) instead of pipes: the process then survives its
   * parent (`lab --keep`). `onLine` and output() see nothing; follow the file instead (followFile).
   */
  logFile?: string;
}

const OUTPUT_KEEP = 256 * 1024;

export class NsProcess {
  readonly pid: number;
  readonly label: string;
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | null = null;
  private out = '';
  private readonly child: ChildProcess;

  constructor(readonly argv: readonly string[], opts: SpawnOptions = {}) {
    this.label = opts.label ?? argv[0];
    const logFd = opts.logFile ? openSync(opts.logFile, 'a') : null;
    // Own process group: stop() reaches the process's children too (nginx workers, shells).
    this.child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: logFd === null ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
      env: opts.env,
      cwd: opts.cwd,
    });
    if (logFd !== null) closeSync(logFd);
    this.pid = this.child.pid ?? -1;
    const streams = logFd === null ? { stdout: this.child.stdout!, stderr: this.child.stderr! } : {};
    const closed: Promise<void>[] = [];
    for (const [name, stream] of Object.entries(streams) as ['stdout' | 'stderr', NodeJS.ReadableStream][]) {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => {
        this.out = (this.out + line + '\n').slice(-OUTPUT_KEEP);
        opts.onLine?.(name, line);
      });
      closed.push(new Promise((resolve) => rl.once('close', () => resolve())));
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.status = { code: null, signal: null, error };
        resolve(this.status);
      });
      this.child.once('exit', (code, signal) => {
        // Resolve after the output is drained, so callers see the last lines.
        void Promise.all(closed).then(() => {
          this.status ??= { code, signal };
          resolve(this.status);
        });
      });
    });
  }

  /** The exit status, or null while it runs. */
  get exitStatus(): ExitStatus | null {
    return this.status;
  }

  get running(): boolean {
    return this.status === null && this.pid > 0;
  }

  /** Everything the process printed (stdout and stderr interleaved, the last 256 KiB). */
  output(): string {
    return this.out;
  }

  /** Lets the process outlive this one: no more tracking, and it no longer keeps the event loop alive. */
  detach(): void {
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.child.unref();
  }

  /** Sends a signal to the process itself (not its group). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Sends `sig` to the process group; SIGKILL after `timeoutMs` if it is still there. */
  async stop(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    killGroup(this.pid, sig);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    killGroup(this.pid, 'SIGKILL');
    return this.exited;
  }

  /** For exit handlers (no event loop): SIGTERM, up to `graceMs` for it to go, then SIGKILL. */
  stopSync(graceMs = 1500): void {
    if (!this.running) return;
    killGroup(this.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && isAlive(this.pid)) sleepSync(20);
    killGroup(this.pid, 'SIGKILL');
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** True while `pid` exists and is not a zombie (an exit handler cannot reap its children). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
