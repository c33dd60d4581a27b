// src/replay/main.ts — xvs-sched-replay: reads a scenario on stdin, drives ReplayService (the daemon's
// own schedulers and the kernel's counter bookkeeping) and prints one line per `conn` (IP:PORT or none)
// and the `ipvsadm -Ln` block for each `list`. Bad input: a message on stderr and exit status 2.
import { isXvsError } from '../model/errors.js';
import { DEFAULT_LIST_FORMAT, NO_NAMES, listService } from '../cli/format.js';
import { ReplayService } from './engine.js';
import { ScriptError, parseLine, type Step } from './script.js';

export interface ReplayResult {
  out: string;
  err: string;
  code: number;
}

function apply(svc: ReplayService, step: Step, out: string[]): void {
  switch (step.op) {
    case 'sched': throw new ScriptError("'sched' must be the first command, and only once");
    case 'dest': svc.addDest(step.ep.addr, step.ep.port, step.weight, step.u, step.l); break;
    case 'del': svc.deleteDest(step.ep.addr, step.ep.port); break;
    case 'weight': svc.editDest(step.ep.addr, step.ep.port, { weight: step.weight }); break;
    case 'thresholds': svc.editDest(step.ep.addr, step.ep.port, { u: step.u, l: step.l }); break;
    case 'overload': svc.setOverload(step.ep.addr, step.ep.port, step.on); break;
    case 'flags': svc.setFlags(step.flags); break;
    case 'resched': svc.reschedule(step.name); break;
    case 'option': svc.setOption(step.name, step.seconds); break;
    case 'conn': {
      const d = svc.connect(step.id, { saddr: step.from.addr, sport: step.from.port, daddr: step.to.addr, dport: step.to.port }, step.kind);
      out.push(d ? `${d.addr}:${d.port}\n` : 'none\n');
      break;
    }
    case 'estab': svc.establish(step.id); break;
    case 'close': svc.close(step.id); break;
    case 'expire': svc.expire(step.id); break;
    case 'tick': svc.tick(step.seconds); break;
    case 'list': out.push(listService(svc.view(), { ...DEFAULT_LIST_FORMAT, numeric: true }, NO_NAMES)); break;
  }
}

/** Runs a whole scenario; pure apart from its result. */
export function replay(script: string): ReplayResult {
  const out: string[] = [];
  let svc: ReplayService | null = null;
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    try {
      const step = parseLine(lines[i]);
      if (!step) continue;
      if (!svc) {
        if (step.op !== 'sched') throw new ScriptError("the first command must be 'sched NAME'");
        svc = new ReplayService(step.name);
        continue;
      }
      apply(svc, step, out);
    } catch (e) {
      if (e instanceof ScriptError || isXvsError(e)) {
        return { out: out.join(''), err: `xvs-sched-replay: line ${i + 1}: ${(e as Error).message}\n`, code: 2 };
      }
      throw e;
    }
  }
  if (!svc) return { out: '', err: "xvs-sched-replay: empty scenario (expected 'sched NAME')\n", code: 2 };
  return { out: out.join(''), err: '', code: 0 };
}

const USAGE = `Usage: xvs-sched-replay < scenario
Replays a scheduling scenario (one command per line) through xvs's schedulers and prints one line per
'conn': the chosen real server IP:PORT, or 'none'. See README.md "xvs-sched-replay" for the commands.
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`xvs-sched-replay: unexpected argument '${argv[0]}'\n${USAGE}`);
    return 2;
  }
  const r = replay(await readStdin());
  process.stdout.write(r.out);
  process.stderr.write(r.err);
  return r.code;
}
