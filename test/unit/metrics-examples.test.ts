// test/unit/metrics-examples.test.ts — the examples under docker/: the Prometheus config passes `promtool
// check config`; every Grafana panel query is valid PromQL (checked by promtool as recording rules) and
// only names metrics that xvsd really exports.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../src/paths.js';
import { createRegistry } from '../../src/metrics/collectors.js';

const promtool = (...args: string[]) => spawnSync('promtool', args, { encoding: 'utf8' });

t.test('docker/prometheus.yml passes promtool check config', async (t) => {
  const r = promtool('check', 'config', path.join(repoRoot, 'docker/prometheus.yml'));
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

t.test('docker/grafana-dashboard.json: valid PromQL over metrics xvsd exports', async (t) => {
  const dash = JSON.parse(readFileSync(path.join(repoRoot, 'docker/grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; type: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; query?: unknown }[] };
  };
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((x) => ({ panel: p.title, expr: x.expr })));
  t.ok(exprs.length >= 20, `${exprs.length} queries`);
  const registry = createRegistry({
    services: () => [], realServers: () => [], sorryServers: () => [], health: () => [], reasons: () => ({}),
    interfaces: () => [], conntrack: () => ({ entries: 0, capacity: 0, gcDurationSeconds: 0, expired: 0, gcRuns: 0 }),
    rings: () => ({ refills: 0, decisions: 0 }),
  }, { version: '0' });
  const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
  const used = new Set<string>();
  for (const q of [...exprs.map((e) => e.expr), ...dash.templating.list.map((v) => String(v.query ?? ''))]) {
    for (const m of q.matchAll(/\bxvs_[a-z_]+\b/g)) used.add(m[0]);
  }
  const unknown = [...used].filter((n) => !exported.has(n));
  t.same(unknown, [], 'every metric a panel uses is exported');
  t.ok(used.size >= 20, `the dashboard uses ${used.size} of ${exported.size} metrics`);
  // Grafana variables replaced by a value, each query checked as the expression of a recording rule.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-dash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rules = exprs.map((e, i) => `      - record: xvs:dashboard_query_${i}\n        expr: ${JSON.stringify(e.expr.replace(/\$\w+/g, '.*'))}`).join('\n');
  writeFileSync(path.join(dir, 'rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
  const r = promtool('check', 'rules', path.join(dir, 'rules.yml'));
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  // The check can fail: a broken query is rejected.
  writeFileSync(path.join(dir, 'bad.yml'), 'groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: "rate(xvs_x[1m]"\n');
  t.not(promtool('check', 'rules', path.join(dir, 'bad.yml')).status, 0, 'promtool rejects broken PromQL');
});
