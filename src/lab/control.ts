// src/lab/control.ts — sends one JSON command (argv[2]) to this namespace's xvsd and prints the JSON
// result: how the lab and the tests use the control-socket API (e.g. set-health, set-sorry-server)
// from inside a namespace. Exit 1 with the error code and message on stderr when it fails.
import { request } from '../api/client.js';
import { Command } from '../model/command.js';
import { encodeBigints } from '../api/protocol.js';
import { isXvsError } from '../model/errors.js';

const parsed = Command.safeParse(JSON.parse(process.argv[2] ?? 'null'));
if (!parsed.success) {
  process.stderr.write(`control: invalid command: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}\n`);
  process.exitCode = 2;
} else {
  try {
    const result = await request(parsed.data, { timeoutMs: 10_000 });
    process.stdout.write(JSON.stringify(encodeBigints(result ?? null)) + '\n');
  } catch (e) {
    process.stderr.write(`control: ${isXvsError(e) ? `${e.code}: ` : ''}${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
