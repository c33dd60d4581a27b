// test/unit/metrics.test.ts — the Prometheus collectors over a real ServiceTable (in-memory datapath with
// counters set by the test): values read at scrape time, labels, health and sorry state, rates; the text
// passes `promtool check metrics`; the HTTP endpoint and its address parsing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { Registry } from 'prom-client';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { DestSpec, ServiceSpec, zeroStats, type Stats } from '../../src/model/service.js';
import { REASONS, type ReasonName } from '../../src/datapath/abi.js';
import { createRegistry, reasonLabel, type MetricsSource } from '../../src/metrics/collectors.js';
import { RateEstimator, tickEstimator, withRates } from '../../src/metrics/rate.js';
import { parseListenAddr, serveMetrics } from '../../src/metrics/server.js';
import { createLogger } from '../../src/log/logger.js';
import type { DestHealthStatus } from '../../src/health/schema.js';

/** The in-memory datapath with counters a test can set. */
class CountingDatapath extends FakeDatapath {
  readonly svc = new Map<number, Stats>();
  readonly dst = new Map<number, Stats>();
  readonly reasonCounts = Object.fromEntries(REASONS.map((r) => [r, 0n])) as Record<ReasonName, bigint>;
  override svcStats(id?: number): Stats { return { ...(this.svc.get(id ?? -1) ?? zeroStats()) }; }
  override destStats(id?: number): Stats { return { ...(this.dst.get(id ?? -1) ?? zeroStats()) }; }
  override reasons(): Record<ReasonName, bigint> { return { ...this.reasonCounts }; }
}

const SVC = ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler: 'rr' });
const stats = (c: number, ip: number, op: number, ib: number, ob: number): Stats =>
  ({ conns: BigInt(c), inpkts: BigInt(ip), outpkts: BigInt(op), inbytes: BigInt(ib), outbytes: BigInt(ob) });

function setup() {
  const dp = new CountingDatapath();
  const table = new ServiceTable(dp, { maxServices: 4, maxDests: 8 });
  table.addService(SVC);
  table.addDest(SVC, DestSpec.parse({ addr: '192.0.2.11', port: 80, weight: 2 }));
  table.addDest(SVC, DestSpec.parse({ addr: '192.0.2.12', port: 80, weight: 1 }));
  table.execute({ op: 'set-sorry-server', key: SVC, server: { addr: '192.0.2.50', port: 80, fwd: 'route' } });
  const idOf = (addr: string) => [...dp.dests.entries()].find(([, d]) => d.addr === addr)![0];
  const rates = new RateEstimator();
  const health: DestHealthStatus[] = [];
  const source: MetricsSource = {
    services: () => withRates(rates, table.list(undefined, { hidden: true })),
    realServers: () => table.realServers(),
    sorryServers: () => table.list().flatMap((s) => {
      const x = table.sorryServer(s);
      return x ? [{ service: s, server: x.server, active: x.active }] : [];
    }),
    health: () => health,
    reasons: () => dp.reasons(),
    interfaces: () => [{ name: 'eth0', mode: 'native' }],
    conntrack: () => ({ entries: 7, capacity: 262144, gcDurationSeconds: 0.0042, expired: 3, gcRuns: 11 }),
    rings: () => ({ refills: 5, decisions: 4096 }),
  };
  return { dp, table, idOf, rates, health, registry: createRegistry(source, { version: '9.9.9' }) };
}

/** `name{labels} value` lines of an exposition, as a map. */
const samples = (text: string): Map<string, number> =>
  new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const i = l.lastIndexOf(' ');
    return [l.slice(0, i), Number(l.slice(i + 1))];
  }));

const promtool = (text: string) => spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });

t.test('values are read from the table and maps at scrape time', async (t) => {
  const { dp, table, idOf, registry, health } = setup();
  dp.svc.set(0, stats(10, 100, 0, 6000, 0));
  dp.dst.set(idOf('192.0.2.11'), stats(7, 70, 0, 4200, 0));
  dp.dst.set(idOf('192.0.2.12'), stats(3, 30, 0, 1800, 0));
  dp.adjustDestCounts(idOf('192.0.2.11'), 2, 1);
  dp.reasonCounts.XVS_R_DROP_NO_DEST = 4n;
  health.push({
    service: SVC, dest: { addr: '192.0.2.12', port: 80 }, check: 'tcp', onFailure: 'quiesce', up: false, streak: 0,
    last: { ok: false, message: 'ECONNREFUSED', durationMs: 1.5, at: new Date().toISOString() }, checks: 9, failures: 4, transitions: 1,
  });
  table.setDestHealth(SVC, { addr: '192.0.2.12', port: 80 }, { up: false, remove: false });
  const m = samples(await registry.metrics());
  const svcL = 'protocol="tcp",vip="192.0.2.100",vport="80"';
  const d1 = `${svcL},rip="192.0.2.11",rport="80"`;
  const d2 = `${svcL},rip="192.0.2.12",rport="80"`;
  t.equal(m.get(`xvs_service_connections_total{${svcL}}`), 10);
  t.equal(m.get(`xvs_service_packets_total{${svcL},direction="in"}`), 100);
  t.equal(m.get(`xvs_service_bytes_total{${svcL},direction="in"}`), 6000);
  t.equal(m.get(`xvs_service_bytes_total{${svcL},direction="out"}`), 0);
  t.equal(m.get(`xvs_dest_connections_total{${d1}}`), 7);
  t.equal(m.get(`xvs_dest_active_connections{${d1}}`), 2);
  t.equal(m.get(`xvs_dest_inactive_connections{${d1}}`), 1);
  t.equal(m.get(`xvs_service_active_connections{${svcL}}`), 2);
  t.equal(m.get(`xvs_dest_weight{${d1}}`), 2);
  t.equal(m.get(`xvs_dest_weight{${d2}}`), 0, 'quiesced: effective weight 0');
  t.equal(m.get(`xvs_dest_configured_weight{${d2}}`), 1, 'configured weight kept');
  t.equal(m.get(`xvs_dest_up{${d2}}`), 0);
  t.equal(m.get(`xvs_dest_health_check_success{${d2}}`), 0);
  t.equal(m.get(`xvs_dest_health_check_duration_seconds{${d2}}`), 0.0015);
  t.equal(m.get(`xvs_dest_health_check_failures_total{${d2}}`), 4);
  t.equal(m.get(`xvs_dest_up{${d1}}`), undefined, 'unchecked dests have no health series');
  t.equal(m.get(`xvs_service_sorry_server_active{${svcL},rip="192.0.2.50",rport="80"}`), 0);
  t.equal(m.get('xvs_datapath_packets_total{reason="drop_no_dest"}'), 4);
  t.equal(m.get('xvs_ring_underflows_total'), 0);
  t.equal(m.get('xvs_conntrack_entries'), 7);
  t.equal(m.get('xvs_conntrack_gc_duration_seconds'), 0.0042);
  t.equal(m.get('xvs_interface_attached{interface="eth0",mode="native"}'), 1);
  t.equal(m.get(`xvs_build_info{version="9.9.9",nodejs="${process.versions.node}"}`), 1);
  // Scrape time: a later change shows in the next scrape; a deleted dest disappears.
  dp.svc.set(0, stats(12, 120, 0, 7000, 0));
  table.setDestHealth(SVC, { addr: '192.0.2.11', port: 80 }, { up: false, remove: false });
  const m2 = samples(await registry.metrics());
  t.equal(m2.get(`xvs_service_connections_total{${svcL}}`), 12);
  t.equal(m2.get(`xvs_service_sorry_server_active{${svcL},rip="192.0.2.50",rport="80"}`), 1, 'all quiesced: sorry server active');
  table.deleteDest(SVC, { addr: '192.0.2.12', port: 80 });
  const m3 = samples(await registry.metrics());
  t.equal(m3.get(`xvs_dest_connections_total{${d2}}`), undefined, 'deleted dest: its series are gone');
  t.equal(reasonLabel('XVS_R_FWD_TX'), 'fwd_tx');
});

t.test('rates: the estimator\'s numbers, the same the list command carries', async (t) => {
  const { dp, table, rates, registry } = setup();
  tickEstimator(rates, table.list(undefined, { hidden: true }));
  dp.svc.set(0, stats(400, 800, 0, 80_000, 0));
  tickEstimator(rates, table.list(undefined, { hidden: true }));
  const m = samples(await registry.metrics());
  const svcL = 'protocol="tcp",vip="192.0.2.100",vport="80"';
  t.equal(m.get(`xvs_service_connections_per_second{${svcL}}`), 50, '400 in 2 s, one round: 200/4');
  t.equal(m.get(`xvs_service_packets_per_second{${svcL},direction="in"}`), 100);
  t.equal(m.get(`xvs_service_bytes_per_second{${svcL},direction="in"}`), 10000);
  t.equal(withRates(rates, table.list())[0].rates!.cps, 50n);
});

t.test('the exposition passes promtool check metrics', async (t) => {
  const { dp, idOf, registry } = setup();
  dp.dst.set(idOf('192.0.2.11'), stats(1, 2, 3, 4, 5));
  const text = await registry.metrics();
  t.match(text, /# TYPE xvs_dest_connections_total counter/);
  t.match(text, /# TYPE xvs_dest_weight gauge/);
  const r = promtool(text);
  t.equal(r.error, undefined, 'promtool runs (Debian package prometheus)');
  t.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  // The check itself can fail: a gauge named like a counter is rejected.
  t.not(promtool('# HELP x_total x\n# TYPE x_total gauge\nx_total 1\n').status, 0, 'promtool does reject bad metrics');
});

t.test('the registry is the daemon\'s own, never the global one', async (t) => {
  const { registry } = setup();
  const { register } = await import('prom-client');
  t.ok(registry instanceof Registry);
  t.not(registry, register);
  t.equal(register.getSingleMetric('xvs_service_connections_total'), undefined);
  t.ok(registry.getSingleMetric('xvs_service_connections_total'));
});

t.test('HTTP endpoint: /metrics, 404, 405; listen address parsing', async (t) => {
  const { registry } = setup();
  const server = await serveMetrics(registry, { host: '127.0.0.1', port: 0 }, createLogger('error', () => {}));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const get = (path: string, method = 'GET') => new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
  const ok = await get('/metrics');
  t.equal(ok.status, 200);
  t.match(ok.type, /^text\/plain; version=0\.0\.4/);
  t.match(ok.body, /xvs_build_info\{/);
  t.equal((await get('/nope')).status, 404);
  t.equal((await get('/metrics', 'POST')).status, 405);
  t.same(parseListenAddr('127.0.0.1:9469'), { host: '127.0.0.1', port: 9469 });
  t.same(parseListenAddr('[::1]:9469'), { host: '::1', port: 9469 });
  t.equal(parseListenAddr('off'), null);
  for (const bad of ['9469', 'host:80', '127.0.0.1:99999', '[zz]:1', '127.0.0.1']) t.throws(() => parseListenAddr(bad), { code: 'BAD_REQUEST' }, bad);
});
