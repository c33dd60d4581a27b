// src/lab/daemon-info.ts — prints the `info` answer of this namespace's xvsd as JSON (pid, interfaces,
// reason counters). The lab and the tests run it under `ip netns exec`, since the control socket is
// per namespace. Exit 1 (message on stderr) when no xvsd answers.
import { request } from '../api/client.js';
import { encodeBigints } from '../api/protocol.js';

try {
  const info = await request({ op: 'info' }, { timeoutMs: 5000 });
  process.stdout.write(JSON.stringify(encodeBigints(info)) + '\n');
} catch (e) {
  process.stderr.write(`daemon-info: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
