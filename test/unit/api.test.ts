// test/unit/api.test.ts — the control socket edge: zod validation of requests, stable error codes,
// bigint counters on the wire, and a real round trip over a unix socket with the client.
import t from 'tap';
import os from 'node:os';
import path from 'node:path';
import { handleLine, listen } from '../../src/api/server.js';
import { request } from '../../src/api/client.js';
import { decodeServiceViews } from '../../src/api/protocol.js';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { createLogger } from '../../src/log/logger.js';
import { XvsError } from '../../src/model/errors.js';
import { parseOptions } from '../../src/daemon/main.js';

const log = createLogger('error', () => {});
const table = () => new ServiceTable(new FakeDatapath(), { maxServices: 8, maxDests: 8 });

t.test('malformed and invalid requests get BAD_REQUEST and change nothing', async (t) => {
  const tb = table();
  const h = (cmd: any) => tb.execute(cmd);
  t.match(await handleLine('{nope', h, log), { ok: false, error: { code: 'BAD_REQUEST' } });
  t.match(await handleLine(JSON.stringify({ cmd: { op: 'explode' } }), h, log), { ok: false, error: { code: 'BAD_REQUEST' } });
  const bad = await handleLine(JSON.stringify({ cmd: { op: 'add-service', service: { protocol: 'tcp', addr: '300.1.1.1', port: 80 } } }), h, log);
  t.match(bad, { ok: false, error: { code: 'BAD_REQUEST', message: /service\.addr/ } });
  t.match(await handleLine(JSON.stringify({ cmd: { op: 'add-service', service: { protocol: 'tcp', addr: '192.0.2.1', port: 70000 } } }), h, log), { ok: false });
  t.equal(tb.size, 0);
});

t.test('errors keep their IPVS codes; results carry bigints as strings', async (t) => {
  const tb = table();
  const h = (cmd: any) => tb.execute(cmd);
  const key = { protocol: 'tcp', addr: '192.0.2.1', port: 80 };
  t.match(await handleLine(JSON.stringify({ id: 7, cmd: { op: 'del-service', key } }), h, log), { id: 7, ok: false, error: { code: 'ESRCH' } });
  t.match(await handleLine(JSON.stringify({ cmd: { op: 'add-service', service: { ...key, scheduler: 'rr' } } }), h, log), { ok: true });
  const res = await handleLine(JSON.stringify({ cmd: { op: 'list' } }), h, log);
  t.ok(res.ok);
  const views = decodeServiceViews((res as any).result);
  t.equal(views[0].stats.conns, 0n);
  t.equal(views[0].scheduler, 'rr');
});

t.test('round trip over a unix socket', async (t) => {
  const tb = table();
  const sock = path.join(os.tmpdir(), `xvs-api-test-${process.pid}.sock`);
  const server = await listen(sock, (cmd) => tb.execute(cmd), log);
  t.teardown(() => server.close());
  await request({ op: 'add-service', service: { protocol: 'udp', addr: '2001:db8::5', port: 53, scheduler: 'wrr', persistent: 0, netmask: '128' } }, { socketPath: sock });
  const err: any = await request({ op: 'add-service', service: { protocol: 'udp', addr: '2001:db8::5', port: 53, scheduler: 'wrr', persistent: 0, netmask: '128' } }, { socketPath: sock }).catch((e) => e);
  t.ok(err instanceof XvsError);
  t.equal(err.code, 'EEXIST');
  await t.rejects(listen(sock, () => null, log), { code: 'EEXIST' }, 'a second server on the same socket is refused');
  await t.rejects(request({ op: 'list' }, { socketPath: sock + '.missing' }), { code: 'NO_DAEMON' });
});

t.test('xvsd options', async (t) => {
  t.match(parseOptions(['--iface', 'eth0', '-i', 'eth1', '--attach', 'tc']), { iface: ['eth0', 'eth1'], attach: 'tc' });
  t.match(parseOptions([]), { iface: [], attach: 'auto', 'max-conns': 262144 });
  t.throws(() => parseOptions(['--attach', 'fast']), { code: 'BAD_REQUEST' });
  t.throws(() => parseOptions(['--bogus']), { code: 'BAD_REQUEST' });
  t.throws(() => parseOptions(['--max-conns', '12']), { code: 'BAD_REQUEST' });
});
