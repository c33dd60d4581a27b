// src/cli/restore.ts — `ipvsadm -R` input (what ipvsadm-save writes) → one batch of commands. Lines are
// split like ipvsadm's config_stream.c and each is parsed exactly as an xvsadm command line; unlike
// ipvsadm (which applies line by line), nothing is sent until every line parsed, and the daemon applies
// the batch all or nothing, so any failure leaves the table untouched and names its line.
import { SingleCommand } from '../model/command.js';
import { parseArgv, planInvocation, type ParseContext } from './parse.js';
import { CliExit, ipvsStrerror, tryHelp, EXIT_FAIL, EXIT_KERNEL } from './messages.js';
import { isLaddrInvocation, parseLaddrArgv } from './laddr.js';

export interface RestoreBatch {
  commands: SingleCommand[];
  /** The 1-based input line of each command. */
  lines: number[];
}

/**
 * config_stream_read: tokens separated by blanks, the token "ipvsadm" dropped wherever it stands (so
 * `ipvsadm -A ...` lines work). xvs also drops "xvsadm" and skips lines whose first token starts with
 * '#' (ipvsadm would fail on them).
 */
export function restoreTokens(line: string): string[] {
  const tokens = line.split(/[ \t\r\n]+/).filter((t) => t !== '' && t !== 'ipvsadm' && t !== 'xvsadm');
  return tokens.length > 0 && tokens[0].startsWith('#') ? [] : tokens;
}

/** Prefixes a failure with the line it came from; the exit status stays ipvsadm's for that failure. */
export const atLine = (line: number, err: CliExit): CliExit => new CliExit(`line ${line}: ${err.stderr}`, err.exitCode);

/** Parses a whole restore input; throws CliExit naming the first bad line. */
export async function parseRestore(text: string, ctx: ParseContext): Promise<RestoreBatch> {
  const batch: RestoreBatch = { commands: [], lines: [] };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const argv = restoreTokens(raw);
    if (argv.length === 0) continue;
    try {
      // xvs's FULLNAT local addresses, as -S writes them (ipvsadm has no FULLNAT).
      if (isLaddrInvocation(argv)) {
        const cmd = parseLaddrArgv(argv);
        if (cmd.op !== 'add-laddr' && cmd.op !== 'del-laddr') throw new CliExit(`only commands that change the table can be restored (not ${argv[0]})\n`, EXIT_FAIL);
        batch.commands.push(cmd);
        batch.lines.push(n);
        continue;
      }
      const parsed = await parseArgv(argv, ctx);
      if (parsed.kind !== 'invocation') throw new CliExit(`-h and -v cannot be restored\n`, EXIT_FAIL);
      const inv = parsed.invocation;
      // restore_table: a -R inside the input would loop, ipvsadm answers with its usage hint.
      if (inv.command === 'restore') throw tryHelp(ctx.program);
      const plan = planInvocation(inv);
      // The sync daemons are not part of the table the batch replaces (ipvsadm would start one mid-restore).
      if (plan.kind === 'command' && (plan.command.op === 'start-sync' || plan.command.op === 'stop-sync')) {
        throw new CliExit(`--${inv.command} cannot be restored (-R changes the table as one batch); run it on its own\n`, EXIT_FAIL);
      }
      if (plan.kind === 'command') {
        const single = SingleCommand.safeParse(plan.command);
        if (!single.success) throw new CliExit(`the ${plan.command.op} command cannot be restored\n`, EXIT_FAIL);
        batch.commands.push(single.data);
        batch.lines.push(n);
      } else if (plan.kind === 'unknown-scheduler') {
        throw new CliExit(`${ipvsStrerror(plan.op === 'add-service' ? 'add_service' : 'update_service', 'ENOENT')}\n`, EXIT_KERNEL);
      } else {
        throw new CliExit(`only commands that change the table can be restored (not ${inv.command})\n`, EXIT_FAIL);
      }
    } catch (err) {
      if (err instanceof CliExit) throw atLine(n, err);
      throw err;
    }
  }
  return batch;
}
