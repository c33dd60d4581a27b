// test/unit/health-cli.test.ts — `xvsadm --health`: its request, its table (sorted, UP/DOWN, the last
// result, sorry servers) and its argument errors, with a fake daemon.
import t from 'tap';
import { runXvsadm, type XvsadmDeps } from '../../src/cli/main.js';
import type { Command } from '../../src/model/command.js';
import type { HealthReport } from '../../src/cli/health.js';
import { XvsError } from '../../src/model/errors.js';
import { numericResolver } from '../../src/cli/names.js';

const SVC = { protocol: 'tcp' as const, addr: '192.0.2.100', port: 80 };
const REPORT: HealthReport = {
  dests: [
    { service: SVC, dest: { addr: '192.0.2.12', port: 80 }, check: 'http', onFailure: 'quiesce', up: false, streak: 1, checks: 12, failures: 5, transitions: 1,
      last: { ok: false, message: 'status 503', durationMs: 1.2, at: '2026-01-01T00:00:00.000Z' } },
    { service: SVC, dest: { addr: '192.0.2.11', port: 80 }, check: 'script', onFailure: 'remove', up: true, streak: 0, checks: 12, failures: 0, transitions: 0, weight: 7,
      last: { ok: true, message: 'exit 0, weight 7', durationMs: 3, at: '2026-01-01T00:00:00.000Z' } },
  ],
  sorryServers: [{ service: SVC, server: { addr: '192.0.2.50', port: 80, fwd: 'route' }, active: false }],
};

async function run(argv: string[], answer: (cmd: Command) => unknown = () => REPORT) {
  const sent: Command[] = [];
  let out = '';
  let err = '';
  const deps: XvsadmDeps = {
    request: async (cmd) => { sent.push(cmd); return answer(cmd); },
    resolver: numericResolver,
    stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, program: 'xvsadm', version: '0.1.0',
  };
  const code = await runXvsadm(argv, deps);
  return { code, out, err, sent };
}

t.test('--health prints every checked server and the sorry server', async (t) => {
  const r = await run(['--health']);
  t.equal(r.code, 0);
  t.same(r.sent, [{ op: 'health', key: undefined }]);
  t.equal(r.out, [
    'Prot LocalAddress:Port',
    '  -> RemoteAddress:Port           Check  State Action    Checks Failures LastResult',
    'TCP  192.0.2.100:80',
    '  -> 192.0.2.11:80                script UP    remove        12        0 ok: exit 0, weight 7 (3 ms) weight=7',
    '  -> 192.0.2.12:80                http   DOWN  quiesce       12        5 failed: status 503 (1.2 ms)',
    '  -> 192.0.2.50:80                sorry  idle',
    '',
  ].join('\n'));
});

t.test('--health -t VIP:PORT asks for one service; errors', async (t) => {
  const r = await run(['--health', '-n', '-t', '192.0.2.100:80']);
  t.same(r.sent, [{ op: 'health', key: SVC }]);
  const missing = await run(['--health', '-t', '192.0.2.100:81'], () => { throw new XvsError('ESRCH', 'no such service'); });
  t.same([missing.code, missing.err], [1, 'No such service\n']);
  const bad = await run(['--health', '-t', 'nonsense']);
  t.equal(bad.code, 2);
  t.match(bad.err, /Illegal virtual server address/);
  const extra = await run(['--health', '--bogus']);
  t.equal(extra.code, 2);
  t.match(extra.err, /unexpected argument with --health: --bogus/);
  t.same(extra.sent, [], 'nothing asked');
});
