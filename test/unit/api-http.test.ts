// test/unit/api-http.test.ts — the JSON API over HTTP on loopback against the real service table on the
// in-memory datapath: bearer token required (and never optional), routes → commands, bodies validated
// with field-level messages, stable codes → statuses from one table, atomic batches, and concurrent
// updates that leave the table consistent. Also the daemon's API flags.
import t from 'tap';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createHttpApi, httpApiListener } from '../../src/api/http.js';
import { HTTP_STATUS } from '../../src/api/errors.js';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { createLogger } from '../../src/log/logger.js';
import { parseConfig } from '../../src/config/schema.js';
import { ConfigApplier } from '../../src/config/apply.js';
import { parseOptions } from '../../src/daemon/main.js';
import type { Command } from '../../src/model/command.js';
import { XvsError } from '../../src/model/errors.js';

const log = createLogger('error', () => {});
const TOKEN = 'test-token-0123456789abcdef';

async function start(t: { teardown(fn: () => unknown): void }) {
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 64, maxDests: 256 });
  const applier = new ConfigApplier(table, log);
  const handler = async (cmd: Command): Promise<unknown> => {
    if (cmd.op === 'info') return { pid: 1 };
    if (cmd.op === 'apply-config') return applier.apply(parseConfig(cmd.config, 'config'));
    if (cmd.op === 'reload') throw new XvsError('EINVAL', 'xvsd was started without --config or --restore');
    return table.execute(cmd);
  };
  const server: Server = await createHttpApi({ host: '127.0.0.1', port: 0, token: TOKEN, handler, log });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body?: unknown, auth: string | null = `Bearer ${TOKEN}`) => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(auth !== null ? { authorization: auth } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
  return { table, call };
}

t.test('no token, a wrong token, a malformed header: 401 and nothing runs', async (t) => {
  const { table, call } = await start(t);
  for (const auth of [null, 'Bearer wrong-token-0123456789abcdef', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `bearer ${TOKEN}`, 'Bearer ']) {
    const r = await call('POST', '/v1/services', { protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'rr' }, auth);
    t.equal(r.status, 401, `authorization ${JSON.stringify(auth)}`);
    t.same(r.body, { error: { code: 'UNAUTHORIZED', message: 'a valid bearer token is required' } });
    t.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
  t.equal(table.size, 0);
  t.throws(() => httpApiListener({ token: 'short', handler: () => null, log }), { code: 'BAD_REQUEST' }, 'a weak token is refused');
});

t.test('services and dests over REST; errors carry IPVS codes with their statuses', async (t) => {
  const { call } = await start(t);
  t.equal((await call('POST', '/v1/services', { protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'rr' })).status, 201);
  t.same(await call('POST', '/v1/services', { protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'rr' }).then((r) => [r.status, r.body.error.code]), [409, 'EEXIST']);
  t.equal((await call('POST', '/v1/services/tcp/192.0.2.1/80/dests', { addr: '198.51.100.1', port: 80, weight: 2 })).status, 201);
  t.equal((await call('PUT', '/v1/services/tcp/192.0.2.1/80/dests/198.51.100.1/80', { weight: 5 })).status, 204);
  t.equal((await call('PUT', '/v1/services/tcp/192.0.2.1/80', { scheduler: 'wrr' })).status, 204);
  const one = await call('GET', '/v1/services/tcp/192.0.2.1/80');
  t.equal(one.status, 200);
  t.match(one.body, [{ scheduler: 'wrr', stats: { conns: '0' }, dests: [{ addr: '198.51.100.1', weight: 5 }] }]);
  t.same(await call('GET', '/v1/services/tcp/192.0.2.9/80').then((r) => [r.status, r.body.error.code]), [404, 'ESRCH']);
  t.same(await call('DELETE', '/v1/services/tcp/192.0.2.1/80/dests/198.51.100.7/80').then((r) => [r.status, r.body.error.code]), [404, 'ENOENT']);
  t.equal((await call('POST', '/v1/zero', {})).status, 204);
  t.equal((await call('DELETE', '/v1/services/tcp/192.0.2.1/80/dests/198.51.100.1/80')).status, 204);
  t.equal((await call('DELETE', '/v1/services/tcp/192.0.2.1/80')).status, 204);
  t.same((await call('GET', '/v1/services')).body ?? [], []);
  t.same(await call('GET', '/v1/nothing').then((r) => [r.status, r.body.error.code]), [404, 'NOT_FOUND']);
  const wrong = await call('PATCH', '/v1/services');
  t.same([wrong.status, wrong.headers.get('allow')], [400, 'GET, POST']);
  t.equal((await call('POST', '/v1/config/reload')).status, HTTP_STATUS.EINVAL);
});

t.test('bad bodies: 400 with the field named, nothing changed', async (t) => {
  const { table, call } = await start(t);
  await call('POST', '/v1/services', { protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'rr' });
  const cases: [string, string, unknown, RegExp][] = [
    ['POST', '/v1/services', '{not json', /^body is not valid JSON$/],
    ['POST', '/v1/services', { protocol: 'tcp', addr: '192.0.2.300', port: 80 }, /^body\.addr: /],
    ['POST', '/v1/services', { protocol: 'tcp', addr: '192.0.2.2', port: 80, weight: 1 }, /^body: .*weight/],
    ['POST', '/v1/services/tcp/192.0.2.1/80/dests', { addr: '198.51.100.1', port: 80, weight: -1 }, /^body\.weight: /],
    ['PUT', '/v1/services/tcp/192.0.2.1/80/dests/198.51.100.1/80', { weight: 'heavy' }, /^body\.weight: /],
    ['GET', '/v1/services/tcp/192.0.2.1/http', undefined, /^path\.port: /],
    ['GET', '/v1/services/icmp/192.0.2.1/80', undefined, /^path\.protocol: /],
    ['POST', '/v1/batch', { commands: [{ op: 'add-service', service: { protocol: 'tcp', addr: '192.0.2.3', port: 80, scheduler: 'rr' } }, { op: 'nope' }] }, /^body\.commands\[1\]\.op: /],
    ['POST', '/v1/config', { services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 80, dests: [{ addr: '198.51.100.1', weight: 1e6 }] }] }, /^config: services\[0\]\.dests\[0\]\.weight: /],
  ];
  for (const [method, path, body, message] of cases) {
    const r = await call(method, path, body);
    t.equal(r.status, 400, `${method} ${path}`);
    t.match(r.body.error, { code: 'BAD_REQUEST', message });
  }
  t.equal(table.size, 1);
  t.equal(table.destinations().length, 0);
});

t.test('batches and config apply are atomic', async (t) => {
  const { table, call } = await start(t);
  const svc = (port: number) => ({ op: 'add-service', service: { protocol: 'tcp', addr: '192.0.2.1', port, scheduler: 'rr' } });
  const bad = await call('POST', '/v1/batch', { commands: [svc(1), svc(2), svc(1)] });
  t.same([bad.status, bad.body.error.code, bad.body.error.index], [409, 'EEXIST', 2]);
  t.equal(table.size, 0);
  t.equal((await call('POST', '/v1/batch', { commands: [svc(1), svc(2)] })).status, 200);
  t.equal(table.size, 2);
  const applied = await call('POST', '/v1/config', { services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 2, scheduler: 'rr', dests: [{ addr: '198.51.100.1' }] }] });
  // The applier's result also carries the applied services (ConfigApplier.apply, for the daemon's health sync).
  t.same([applied.status, { ...applied.body, services: undefined }], [200, { added: 0, edited: 0, deleted: 1, destsAdded: 1, destsEdited: 0, destsDrained: 0, services: undefined }]);
  t.same(table.list().map((s) => s.port), [2]);
});

t.test('concurrent updates: every request answered, the table consistent', async (t) => {
  const { table, call } = await start(t);
  await call('POST', '/v1/services', { protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'wrr' });
  const adds = Array.from({ length: 100 }, (_, i) => call('POST', '/v1/services/tcp/192.0.2.1/80/dests', { addr: `198.51.100.${1 + (i % 50)}`, port: 80, weight: 1 + (i % 5) }));
  const results = await Promise.all(adds);
  t.equal(results.filter((r) => r.status === 201).length, 50, 'each dest added once');
  t.equal(results.filter((r) => r.status === 409).length, 50, 'the duplicates refused');
  const edits = await Promise.all(Array.from({ length: 50 }, (_, i) => call('PUT', `/v1/services/tcp/192.0.2.1/80/dests/198.51.100.${i + 1}/80`, { weight: 7 })));
  t.ok(edits.every((r) => r.status === 204));
  const [view] = table.list();
  t.equal(view.dests.length, 50);
  t.ok(view.dests.every((d) => d.weight === 7));
});

t.test('xvsd API flags', async (t) => {
  t.same(parseOptions(['--api-addr', '127.0.0.1:9090'])['api-addr'], { host: '127.0.0.1', port: 9090 });
  t.equal(parseOptions([])['api-addr'], null);
  t.throws(() => parseOptions(['--api-addr', 'everywhere']), { code: 'BAD_REQUEST', message: /^--api-addr: / });
  t.throws(() => parseOptions(['--config', 'a.json', '--restore', 'rules']), { code: 'BAD_REQUEST', message: /^--restore: give --config or --restore/ });
  t.equal(parseOptions(['--config', '/etc/xvs/xvs.json']).config, '/etc/xvs/xvs.json');
});
