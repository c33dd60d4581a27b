// test/unit/config.test.ts — the config file: validation whole with field-level messages, the diff plan
// (unchanged services get no command, removed dests drain to weight 0), the applier on the real table
// over the in-memory datapath (counters and dest ids kept, drained dests removed once idle, a bad
// config changes nothing), and rules files in ipvsadm-save format.
import t from 'tap';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, parseConfigText, serviceHealthOf } from '../../src/config/schema.js';
import { ConfigApplier, loadConfigFile, planConfig } from '../../src/config/apply.js';
import { rulesToServices } from '../../src/config/rules.js';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { numericResolver } from '../../src/cli/names.js';
import { createLogger } from '../../src/log/logger.js';
import { repoRoot } from '../../src/paths.js';

const log = createLogger('error', () => {});
const base = {
  services: [
    { protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'wrr', dests: [{ addr: '198.51.100.1', weight: 2 }, { addr: '198.51.100.2' }] },
    { protocol: 'udp', addr: '192.0.2.1', port: 53, scheduler: 'rr', dests: [{ addr: '198.51.100.3' }] },
  ],
};
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

t.test('invalid configs are rejected whole, naming the field', async (t) => {
  const cases: [unknown, string][] = [
    [{ services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 80, dests: [{ addr: '198.51.100.1', weight: 70000 }] }] }, 'services[0].dests[0].weight'],
    [{ services: [{ protocol: 'sctp', addr: '192.0.2.1', port: 80 }] }, 'services[0].protocol'],
    [{ services: [{ protocol: 'tcp', addr: 'not-an-ip', port: 80 }] }, 'services[0].addr'],
    [{ services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 80, sheduler: 'rr' }] }, 'services[0]'],
    [{ services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'fastest' }] }, 'services[0].scheduler'],
    [{ services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 80 }, { protocol: 'tcp', addr: '192.0.2.1', port: 80 }] }, 'services[1]: duplicate service tcp:192.0.2.1:80'],
    [{ services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 80, dests: [{ addr: '198.51.100.1' }, { addr: '198.51.100.1', port: 80 }] }] }, 'services[0].dests[1]: duplicate destination'],
    [{ rules: '/etc/xvs/rules', services: base.services }, 'rules: give either rules or services'],
    [{ attach: 'fast' }, 'attach'],
    [{ extra: 1 }, '(root)'],
  ];
  for (const [raw, field] of cases) {
    t.throws(() => parseConfig(raw, 'xvs.json'), { code: 'BAD_REQUEST', message: new RegExp(`^xvs\\.json: ${field.replace(/[[\]().]/g, '\\$&')}`) }, field);
  }
  t.throws(() => parseConfigText('{"services": [', 'xvs.json'), { code: 'BAD_REQUEST', message: /^xvs\.json: not valid JSON/ });
  t.same(parseConfig(base).services[0].dests[1], { addr: '198.51.100.2', fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0 }, 'defaults filled');
});

t.test('the shipped configs and unit', async (t) => {
  const example = loadConfigFile(path.join(repoRoot, 'packaging/xvs.example.json'));
  t.equal(example.services.length, 2);
  t.same(loadConfigFile(path.join(repoRoot, 'packaging/xvs.json')), { rules: '/etc/xvs/rules', services: [] }, 'the default: the saved rules');
  const unit = readFileSync(path.join(repoRoot, 'packaging/xvs.service'), 'utf8');
  t.match(unit, /^ExecStart=\/usr\/bin\/xvsd --config \/etc\/xvs\/xvs\.json$/m, 'restore on start (through the default config)');
  t.match(unit, /^ExecStop=.*xvsadm -S -n > \/etc\/xvs\/rules\.new && mv/m, 'save on stop');
  t.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
});

function setup() {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 16, maxDests: 64 });
  const applier = new ConfigApplier(table, log);
  return { dp, table, applier };
}

t.test('plan: nothing for an unchanged table; edits, adds, deletes and drains by difference', async (t) => {
  const { table, applier } = setup();
  await applier.apply(parseConfig(base));
  t.same(planConfig(table.list(), parseConfig(base).services).commands, [], 'same config, no command');
  const next = clone(base) as any;
  next.services[0].dests = [{ addr: '198.51.100.1', weight: 5 }, { addr: '198.51.100.4' }]; // .2 removed, .1 edited, .4 new
  next.services[1].scheduler = 'wrr';
  next.services.push({ protocol: 'tcp', addr: '192.0.2.2', port: 443, scheduler: 'rr', dests: [{ addr: '198.51.100.9' }] });
  const plan = planConfig(table.list(), parseConfig(next).services);
  t.same(plan.commands.map((c) => [c.op, 'dest' in c && c.dest ? `${c.dest.addr}${'weight' in c.dest ? `/${c.dest.weight}` : ''}` : '']), [
    ['edit-dest', '198.51.100.1/5'],
    ['add-dest', '198.51.100.4/1'],
    ['edit-dest', '198.51.100.2/0'],
    ['edit-service', ''],
    ['add-service', ''],
    ['add-dest', '198.51.100.9/1'],
  ]);
  t.same(plan.summary, { added: 1, edited: 1, deleted: 0, destsAdded: 2, destsEdited: 1, destsDrained: 1 });
  const gone = planConfig(table.list(), []);
  t.same(gone.commands.map((c) => c.op), ['del-service', 'del-service'], 'services left out are deleted');
});

t.test('apply: unchanged services keep dest ids and counts; drained dests leave once idle', async (t) => {
  const { dp, table, applier } = setup();
  await applier.apply(parseConfig(base));
  const ids = new Map(table.destinations().map((d) => [d.addr, d.id]));
  const id2 = ids.get('198.51.100.2') as number;
  dp.adjustDestCounts(id2, 1, 0); // a live connection on .2
  const udpId = ids.get('198.51.100.3') as number;
  dp.adjustDestCounts(udpId, 0, 3);
  const next = clone(base) as any;
  next.services[0].dests = [{ addr: '198.51.100.1', weight: 2 }];
  await applier.apply(parseConfig(next));
  const tcp = table.list({ protocol: 'tcp', addr: '192.0.2.1', port: 80 })[0];
  t.same(tcp.dests.map((d) => [d.addr, d.weight, d.activeConns]), [['198.51.100.2', 0, 1], ['198.51.100.1', 2, 0]], '.2 drains with its connection');
  t.equal(applier.drainingCount, 1);
  t.same(new Map(table.destinations().map((d) => [d.addr, d.id])), ids, 'no dest was re-created');
  t.equal(table.list({ protocol: 'udp', addr: '192.0.2.1', port: 53 })[0].dests[0].inactConns, 3, 'untouched service keeps its counts');
  t.equal(applier.sweep(), 0, 'still busy');
  dp.adjustDestCounts(id2, -1, 0);
  t.equal(applier.sweep(), 1, 'idle: removed');
  t.same(table.list({ protocol: 'tcp', addr: '192.0.2.1', port: 80 })[0].dests.map((d) => d.addr), ['198.51.100.1']);
  t.equal(applier.drainingCount, 0);
});

t.test('a dest that comes back while draining gets its weight again and is not removed', async (t) => {
  const { dp, table, applier } = setup();
  await applier.apply(parseConfig(base));
  const id2 = table.destinations().find((d) => d.addr === '198.51.100.2')?.id as number;
  dp.adjustDestCounts(id2, 1, 0);
  const without = clone(base) as any;
  without.services[0].dests = [{ addr: '198.51.100.1', weight: 2 }];
  await applier.apply(parseConfig(without));
  await applier.apply(parseConfig(base));
  dp.adjustDestCounts(id2, -1, 0);
  t.equal(applier.sweep(), 0);
  t.same(table.list({ protocol: 'tcp', addr: '192.0.2.1', port: 80 })[0].dests.map((d) => [d.addr, d.weight]), [['198.51.100.2', 1], ['198.51.100.1', 2]]);
});

t.test('a config the table refuses changes nothing', async (t) => {
  const { table, applier } = setup();
  await applier.apply(parseConfig(base));
  const before = JSON.stringify(table.specs());
  const bad = clone(base) as any;
  bad.services[0].dests.push({ addr: '2001:db8::8' }); // an IPv6 dest in an IPv4 service: EINVAL from the table
  bad.services.push({ protocol: 'tcp', addr: '192.0.2.3', port: 80, scheduler: 'rr' });
  await t.rejects(applier.apply(parseConfig(bad)), { code: 'EINVAL', message: /^add-dest tcp:192\.0\.2\.1:80 -> \[2001:db8::8\]:80: the real server and the virtual service must be of the same address family/ });
  t.equal(JSON.stringify(table.specs()), before);
});

t.test('rules: an ipvsadm-save file as the config', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-rules-'));
  const file = path.join(dir, 'rules');
  writeFileSync(file, readFileSync(path.join(repoRoot, 'test/fixtures/golden/save-n.txt'), 'utf8')
    .split('\n').filter((l) => !/-m|-i|-p|2001/.test(l)).join('\n'));
  const services = await rulesToServices(file, numericResolver);
  t.same(services.map((s) => [s.protocol, s.addr, s.port, s.scheduler, s.dests.map((d) => `${d.addr}:${d.port}/${d.weight}`)]), [
    ['tcp', '192.0.2.10', 80, 'wrr', ['198.51.100.1:80/1', '198.51.100.2:80/3']],
    ['udp', '192.0.2.10', 53, 'rr', []],
  ]);
  const { table, applier } = setup();
  const withRules = new ConfigApplier(table, log, (f) => rulesToServices(f, numericResolver));
  await withRules.apply(parseConfig({ rules: file }));
  t.equal(table.size, 2);
  t.equal(applier.drainingCount, 0);
  writeFileSync(file, '-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.9:80 -r 198.51.100.1\n');
  await t.rejects(withRules.apply(parseConfig({ rules: file })), { code: 'BAD_REQUEST', message: `${file}: line 2: no such service tcp:192.0.2.9:80` });
  t.equal(table.size, 2, 'unchanged');
});

t.test('timeouts, FULLNAT local addresses and fwmark services from the config', async (t) => {
  const { table, applier } = setup();
  const cfg = (matches: { protocol: 'tcp' | 'udp'; addr: string; portLo: number; portHi: number }[], laddrs?: string[]) => parseConfig({
    timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
    services: [
      { protocol: 'tcp', addr: '0.0.0.0', port: 0, fwmark: 3, scheduler: 'rr', matches, dests: [{ addr: '198.51.100.1' }] },
      { protocol: 'tcp', addr: '192.0.2.9', port: 80, scheduler: 'rr', ...(laddrs ? { laddrs } : {}), dests: [{ addr: '198.51.100.2', fwd: 'fullnat' }] },
    ],
  });
  await applier.apply(cfg([{ protocol: 'tcp', addr: '192.0.2.5', portLo: 80, portHi: 81 }], ['192.0.2.200']));
  t.match(table.execute({ op: 'get-timeouts' }), { tcp: 900, tcpfin: 120, udp: 300 });
  const fwm = () => table.list().find((s) => s.fwmark === 3);
  t.same(fwm()?.matches, [{ protocol: 'tcp', addr: '192.0.2.5', portLo: 80, portHi: 81 }]);
  t.same(fwm()?.dests.map((d) => [d.addr, d.port]), [['198.51.100.1', 0]]);
  const laddrs = () => (table.execute({ op: 'list-laddrs' }) as { laddrs: string[] }[]).flatMap((v) => v.laddrs);
  t.same(laddrs(), ['192.0.2.200']);
  await applier.apply(cfg([{ protocol: 'udp', addr: '192.0.2.5', portLo: 53, portHi: 53 }]));
  t.same(fwm()?.matches, [{ protocol: 'udp', addr: '192.0.2.5', portLo: 53, portHi: 53 }], 'matches replaced');
  t.same(laddrs(), ['192.0.2.200'], 'laddrs omitted: left as they are');
  await applier.apply(cfg([{ protocol: 'udp', addr: '192.0.2.5', portLo: 53, portHi: 53 }], ['192.0.2.201']));
  t.same(laddrs(), ['192.0.2.201'], 'laddrs given: the whole set');
  t.same(planConfig(table.list(), cfg([{ protocol: 'udp', addr: '192.0.2.5', portLo: 53, portHi: 53 }]).services).commands, [], 'nothing to do');
});

t.test('rules with a fwmark service keep its mark and matches', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-rules-'));
  const file = path.join(dir, 'rules');
  writeFileSync(file, '-A -f 4 -s rr\n--add-fwmark-match tcp:192.0.2.5:80-82 -f 4\n-a -f 4 -r 198.51.100.1:0 -g -w 2\n');
  const [svc] = await rulesToServices(file, numericResolver);
  t.match(svc, { fwmark: 4, scheduler: 'rr', matches: [{ protocol: 'tcp', addr: '192.0.2.5', portLo: 80, portHi: 82 }], dests: [{ addr: '198.51.100.1', port: 0, weight: 2 }] });
  const { table } = setup();
  await new ConfigApplier(table, log, (f) => rulesToServices(f, numericResolver)).apply(parseConfig({ rules: file }));
  t.match(table.list(), [{ fwmark: 4, matches: [{ portLo: 80, portHi: 82 }] }]);
});

t.test('health checks and the sorry server in the config file map to the health manager\'s shape', async (t) => {
  const cfg = parseConfig({
    services: [{
      protocol: 'tcp', addr: '192.0.2.1', port: 80, scheduler: 'rr',
      health: { check: { type: 'http', path: '/health', intervalMs: 1000 } },
      sorryServer: { addr: '192.0.2.99', port: 8080 },
      dests: [{ addr: '192.0.2.11' }, { addr: '192.0.2.12', health: null }, { addr: '192.0.2.13', port: 81, health: { check: { type: 'tcp' }, onFailure: 'remove' } }],
    }],
  });
  const h = serviceHealthOf(cfg.services[0]);
  t.match(h.health, { check: { type: 'http', path: '/health', intervalMs: 1000, fall: 3, rise: 2 }, onFailure: 'quiesce' });
  t.same(h.sorryServer, { addr: '192.0.2.99', port: 8080, fwd: 'route' });
  t.same(h.dests.map((d) => [d.addr, d.port, d.health?.check.type ?? null]), [['192.0.2.12', 80, null], ['192.0.2.13', 81, 'tcp']]);
  t.throws(() => parseConfig({ services: [{ protocol: 'tcp', addr: '192.0.2.1', port: 80, health: { check: { type: 'ping' } } }] }),
    { message: /services\[0\]\.health\.check/ });
});
