// test/unit/health-manager.test.ts — the health manager driving a real ServiceTable over the in-memory
// datapath with scripted check results: fall/rise counting, flapping, quiesce vs remove, the configured
// weight restored, dynamic weights, the sorry server, bounded concurrency and config validation.
import t, { type Test } from 'tap';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { DestSpec, ServiceSpec } from '../../src/model/service.js';
import { DEST_NONE, RING_SLOTS } from '../../src/datapath/abi.js';
import { HealthManager, type CheckRunner } from '../../src/health/manager.js';
import { HealthConfig, type HealthCheck } from '../../src/health/schema.js';
import type { CheckResult } from '../../src/health/checkers.js';
import { createLogger } from '../../src/log/logger.js';
import { waitFor } from '../../src/netns/wait.js';
import { XvsError } from '../../src/model/errors.js';

const SVC = ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler: 'wrr' });
const WEB1 = '192.0.2.11';
const WEB2 = '192.0.2.12';

interface Harness {
  dp: FakeDatapath;
  table: ServiceTable;
  hm: HealthManager;
  /** Next result per dest address (default ok). */
  results: Map<string, boolean | (() => CheckResult)>;
  calls: string[];
  logs: Record<string, unknown>[];
  weights(): Record<string, number>;
  /** The dests of the next `n` decisions of the ring. */
  picks(n?: number): string[];
}

function setup(t: Test, opts: { maxConcurrent?: number; runner?: CheckRunner } = {}): Harness {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 4, maxDests: 16 });
  table.addService(SVC);
  table.addDest(SVC, DestSpec.parse({ addr: WEB1, port: 80, weight: 3 }));
  table.addDest(SVC, DestSpec.parse({ addr: WEB2, port: 80, weight: 1 }));
  const results = new Map<string, boolean | (() => CheckResult)>();
  const calls: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const runner: CheckRunner = opts.runner ?? (async (_c, target) => {
    calls.push(target.addr);
    const r = results.get(target.addr) ?? true;
    return typeof r === 'function' ? r() : { ok: r, message: r ? 'connected' : 'ECONNREFUSED' };
  });
  const hm = new HealthManager({
    table, runner, maxConcurrent: opts.maxConcurrent,
    log: createLogger('debug', (line) => { logs.push(JSON.parse(line)); }),
  });
  t.teardown(() => hm.close());
  return {
    dp, table, hm, results, calls, logs,
    weights: () => Object.fromEntries(table.list(undefined, { hidden: true })[0].dests.map((d) => [d.addr, d.weight])),
    picks: (n = 8) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = dp.consume(0);
        table.refillRings();
        out.push(id === DEST_NONE ? 'none' : dp.dests.get(id)!.addr);
      }
      return out;
    },
  };
}

const cfg = (check: Partial<HealthCheck> = {}, onFailure: 'quiesce' | 'remove' = 'quiesce'): HealthConfig =>
  HealthConfig.parse({ check: { type: 'tcp', intervalMs: 50, timeoutMs: 40, fall: 3, rise: 2, ...check }, onFailure });

t.test('fall failures quiesce a dest (weight 0, listed), rise successes restore its configured weight', async (t) => {
  const h = setup(t);
  // Checks every 100 ms, polled every 5 ms: the transition is seen before another check can run.
  h.hm.configure(SVC, undefined, cfg({ intervalMs: 100 }));
  await waitFor(() => h.calls.filter((a) => a === WEB1).length >= 2, { timeoutMs: 2000 });
  t.same(h.weights(), { [WEB1]: 3, [WEB2]: 1 }, 'healthy: configured weights');
  h.results.set(WEB1, false);
  const failedAt = h.calls.length;
  await waitFor(() => h.weights()[WEB1] === 0, { timeoutMs: 2000, intervalMs: 5, what: 'web1 quiesced' });
  const failures = h.calls.slice(failedAt).filter((a) => a === WEB1).length;
  t.equal(failures, 3, 'down after exactly fall=3 failed checks');
  t.same(h.picks(6), Array(6).fill(WEB2), 'new connections avoid the quiesced dest');
  t.ok([...h.dp.dests.values()].find((d) => d.addr === WEB1)?.available, 'quiesced dest stays available (its connections finish)');
  t.match(h.hm.status().find((s) => s.dest.addr === WEB1), { up: false, onFailure: 'quiesce', last: { ok: false, message: 'ECONNREFUSED' } });
  t.match(h.logs.find((l) => l.msg === 'real server down'), { level: 'warn', rs: `${WEB1}:80`, reason: 'ECONNREFUSED', action: 'quiesce' });
  h.results.set(WEB1, true);
  const okAt = h.calls.length;
  await waitFor(() => h.weights()[WEB1] === 3, { timeoutMs: 2000, intervalMs: 5, what: 'web1 restored' });
  t.equal(h.calls.slice(okAt).filter((a) => a === WEB1).length, 2, 'up after exactly rise=2 good checks');
  t.match(h.logs.find((l) => l.msg === 'real server up'), { level: 'info', rs: `${WEB1}:80`, weight: 3 });
  const picks = h.picks(RING_SLOTS + 8);
  t.equal(picks.slice(-8).filter((a) => a === WEB1).length, 6, 'wrr 3:1 again');
});

t.test('flapping below fall never takes a dest down; a dest edited while down returns with the new weight', async (t) => {
  const h = setup(t);
  h.hm.configure(SVC, { addr: WEB2, port: 80 }, cfg());
  let n = 0;
  h.results.set(WEB2, () => ({ ok: n++ % 2 === 0, message: n % 2 ? 'ok' : 'refused' })); // ok, fail, ok, fail, ...
  await waitFor(() => h.calls.length >= 8, { timeoutMs: 3000 });
  t.equal(h.weights()[WEB2], 1, 'alternating results never reach fall=3');
  t.equal(h.calls.filter((a) => a === WEB1).length, 0, 'web1 has no check: only web2 is probed');
  h.results.set(WEB2, false);
  await waitFor(() => h.weights()[WEB2] === 0, { timeoutMs: 2000 });
  h.table.editDest(SVC, DestSpec.parse({ addr: WEB2, port: 80, weight: 5 }));
  t.equal(h.weights()[WEB2], 0, 'an edit does not resurrect a down dest');
  h.results.set(WEB2, true);
  await waitFor(() => h.weights()[WEB2] === 5, { timeoutMs: 2000, what: 'the edited weight' });
  t.pass('recovered with the weight configured meanwhile');
});

t.test('remove: a down dest is unlisted and unavailable (its connections end), and comes back', async (t) => {
  const h = setup(t);
  h.hm.configure(SVC, { addr: WEB1, port: 80 }, cfg({ fall: 1, rise: 1 }, 'remove'));
  const id = [...h.dp.dests.entries()].find(([, d]) => d.addr === WEB1)![0];
  h.results.set(WEB1, false);
  await waitFor(() => !h.table.list()[0].dests.some((d) => d.addr === WEB1), { timeoutMs: 2000, what: 'web1 removed' });
  t.equal(h.dp.dests.get(id)!.available, false, 'unavailable in the data path');
  t.same(h.picks(4), Array(4).fill(WEB2));
  h.results.set(WEB1, true);
  await waitFor(() => h.table.list()[0].dests.some((d) => d.addr === WEB1), { timeoutMs: 2000, what: 'web1 back' });
  t.equal(h.dp.dests.get(id)!.available, true);
  t.equal(h.weights()[WEB1], 3);
});

t.test('dynamic weight from a script check; clearing the check restores the configured weight', async (t) => {
  const h = setup(t);
  h.results.set(WEB1, () => ({ ok: true, message: 'exit 0, weight 9', weight: 9 }));
  h.hm.configure(SVC, { addr: WEB1, port: 80 }, cfg());
  await waitFor(() => h.weights()[WEB1] === 9, { timeoutMs: 2000 });
  t.equal(h.table.realServers().find((r) => r.dest.addr === WEB1)!.dest.weight, 3, 'configured weight kept');
  h.hm.configure(SVC, { addr: WEB1, port: 80 }, null);
  t.equal(h.weights()[WEB1], 3, 'no check: configured weight at once');
  t.same(h.hm.status(), []);
});

t.test('sorry server: takes new connections only while no real server is usable', async (t) => {
  const h = setup(t);
  h.table.execute({ op: 'set-sorry-server', key: SVC, server: { addr: '192.0.2.50', port: 80, fwd: 'route' } });
  t.same(h.table.list()[0].dests.map((d) => d.addr).sort(), [WEB1, WEB2], 'not listed');
  t.match(h.table.sorryServer(SVC), { active: false });
  t.notOk(h.picks(RING_SLOTS + 8).includes('192.0.2.50'), 'unused while the pool is healthy');
  h.hm.configure(SVC, undefined, cfg({ fall: 1, rise: 1 }));
  h.results.set(WEB1, false);
  h.results.set(WEB2, false);
  await waitFor(() => h.table.sorryServer(SVC)?.active, { timeoutMs: 2000, what: 'sorry server active' });
  t.same(h.picks(4), Array(4).fill('192.0.2.50'), 'all down: the sorry server answers');
  h.results.set(WEB2, true);
  await waitFor(() => !h.table.sorryServer(SVC)?.active, { timeoutMs: 2000, what: 'sorry server idle' });
  t.same(h.picks(4), Array(4).fill(WEB2), 'back to the pool');
  t.same(h.hm.status().map((s) => s.dest.addr).sort(), [WEB1, WEB2], 'the sorry server is not health checked');
  h.table.execute({ op: 'set-sorry-server', key: SVC, server: null });
  t.equal(h.table.sorryServer(SVC), null);
  t.equal(h.table.specs().filter((c) => c.op === 'add-dest').length, 2, 'specs() never contains the sorry server');
});

t.test('at most maxConcurrent checks run at once, the others wait their turn', async (t) => {
  let running = 0;
  let peak = 0;
  const release: (() => void)[] = [];
  const h = setup(t, {
    maxConcurrent: 2,
    runner: (_c, target) => new Promise<CheckResult>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      release.push(() => { running--; resolve({ ok: true, message: target.addr }); });
    }),
  });
  for (let i = 0; i < 4; i++) h.table.addDest(SVC, DestSpec.parse({ addr: `192.0.2.${30 + i}`, port: 80 }));
  h.hm.configure(SVC, undefined, cfg());
  await waitFor(() => release.length >= 2, { timeoutMs: 2000 });
  await new Promise((r) => setTimeout(r, 200));
  t.equal(peak, 2, 'two checks started, the rest wait');
  for (let i = 0; i < 20 && release.length; i++) {
    release.shift()!();
    await new Promise((r) => setTimeout(r, 5));
  }
  t.equal(peak, 2, 'never more than two at once');
});

t.test('configure validates the service and dest; deleting a dest stops its check', async (t) => {
  const h = setup(t);
  const code = (f: () => void) => { try { f(); } catch (e) { return (e as XvsError).code; } return 'none'; };
  t.equal(code(() => h.hm.configure({ ...SVC, port: 81 }, undefined, cfg())), 'ESRCH');
  t.equal(code(() => h.hm.configure(SVC, { addr: '192.0.2.99', port: 80 }, cfg())), 'ENOENT');
  h.hm.configure(SVC, undefined, cfg());
  t.equal(h.hm.status().length, 2);
  h.table.deleteDest(SVC, { addr: WEB2, port: 80 });
  h.hm.sync();
  t.same(h.hm.status().map((s) => s.dest.addr), [WEB1]);
  h.table.deleteService(SVC);
  h.hm.sync();
  t.same(h.hm.status(), []);
  t.same(h.hm.config(), { services: [], dests: [] }, 'configuration of a deleted service is gone');
});

t.test('config file section: applyServiceHealth sets checks and sorry server, idempotently', async (t) => {
  const { applyServiceHealth } = await import('../../src/health/config.js');
  const { ServiceHealth } = await import('../../src/health/schema.js');
  const h = setup(t);
  const section = ServiceHealth.parse({
    health: { check: { type: 'tcp', intervalMs: 50, timeoutMs: 40 } },
    dests: [{ addr: WEB2, port: 80, health: null }],
    sorryServer: { addr: '192.0.2.50', port: 80 },
  });
  applyServiceHealth(h.table, h.hm, SVC, section);
  t.same(h.hm.status().map((s) => s.dest.addr), [WEB1], 'web2 opted out');
  t.match(h.table.sorryServer(SVC), { server: { addr: '192.0.2.50' }, active: false });
  await waitFor(() => h.hm.status()[0].checks >= 2, { timeoutMs: 2000 });
  const before = h.hm.status()[0].checks;
  applyServiceHealth(h.table, h.hm, SVC, section);
  t.ok(h.hm.status()[0].checks >= before, 'same section again: the running check keeps its state');
  applyServiceHealth(h.table, h.hm, SVC, undefined);
  t.same(h.hm.status(), []);
  t.equal(h.table.sorryServer(SVC), null);
  t.notOk(ServiceHealth.safeParse({ health: { check: { type: 'tcp' }, onFailure: 'explode' } }).success, 'bad action rejected');
});
