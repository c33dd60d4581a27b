// src/rs/main.ts — the xvs-rs command: parse (exit 2 on bad usage, nothing changed), then up/down/status
// in the current network namespace (run it under `ip netns exec NS` for another one).
import { USAGE, parseRsArgs } from './args.js';
import { RsError, defaultContext, down, formatStatus, status, up, type Reporter } from './real-server.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs xvs-rs with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  const parsed = parseRsArgs(argv);
  if (!parsed.ok) {
    io.err(`xvs-rs: ${parsed.message}\nTry 'xvs-rs --help' for more information.\n`);
    return 2;
  }
  const command = parsed.command;
  if (command.cmd === 'help') {
    io.out(USAGE + '\n');
    return 0;
  }
  const report: Reporter = {
    info: (line) => io.out(`xvs-rs: ${line}\n`),
    warn: (line) => io.err(`xvs-rs: warning: ${line}\n`),
  };
  try {
    const ctx = defaultContext(report);
    switch (command.cmd) {
      case 'up':
        await up(ctx, command.vips, command.mode ?? 'dr');
        return 0;
      case 'down':
        return (await down(ctx)) ? 0 : 1;
      case 'status': {
        const s = await status(ctx);
        io.out(command.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
        return 0;
      }
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof RsError) io.err(`xvs-rs: ${e.message}\n`);
    else if (err.code === 'EACCES' || err.code === 'EPERM') io.err(`xvs-rs: permission denied (${err.message}): run as root\n`);
    else io.err(`xvs-rs: ${err.message}\n`);
    return 1;
  }
}
