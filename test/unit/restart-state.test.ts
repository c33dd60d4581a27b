// test/unit/restart-state.test.ts — what a restarted xvsd adopts (no root): ServiceTable.snapshot() and
// adopt() keep every map id and counter baseline and never reset a ring; a snapshot that cannot be
// adopted leaves the table empty; the state file round-trips, and a corrupt one is an error naming it.
import t from 'tap';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { ServiceTable } from '../../src/control/table.js';
import { ServiceSpec, type ServiceKey } from '../../src/model/service.js';
import { abiFingerprint, readState, writeState, type DaemonState } from '../../src/daemon/state.js';

const limits = { maxServices: 64, maxDests: 256 };
const dest = (addr: string, weight = 1, fwd: 'route' | 'masq' = 'route') => ({ addr, port: 80, fwd, weight, uThreshold: 0, lThreshold: 0 });

function build(dp: FakeDatapath): ServiceTable {
  const table = new ServiceTable(dp, limits);
  const a: ServiceKey = { protocol: 'tcp', addr: '192.0.2.10', port: 80 };
  const b: ServiceKey = { protocol: 'udp', addr: '192.0.2.11', port: 53 };
  table.execute({ op: 'add-service', service: ServiceSpec.parse({ ...a, scheduler: 'wrr' }) });
  table.execute({ op: 'add-service', service: ServiceSpec.parse({ ...b, scheduler: 'rr' }) });
  // Churn so ids are not simply 0, 1, 2: add, delete, add again.
  for (const addr of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) table.execute({ op: 'add-dest', key: a, dest: dest(addr, 2) });
  table.execute({ op: 'del-dest', key: a, dest: { addr: '198.51.100.2', port: 80 } });
  table.execute({ op: 'add-dest', key: b, dest: dest('198.51.100.4') });
  table.execute({ op: 'add-dest', key: a, dest: dest('198.51.100.5', 5) });
  table.execute({ op: 'set-sorry-server', key: a, server: { addr: '198.51.100.9', port: 80, fwd: 'route' } });
  table.setDestHealth(a, { addr: '198.51.100.3', port: 80 }, { up: false, remove: false });
  table.execute({ op: 'set-timeouts', timeouts: { tcp: 600, tcpfin: 60, udp: 100 } });
  return table;
}

const ids = (table: ServiceTable) => (table as unknown as { services: Map<string, { id: number; dests: { id: number; spec: { addr: string }; sched: { weight: number } }[] }> }).services;

t.test('snapshot and adopt keep ids, weights, health, timeouts and never reset rings', async (t) => {
  const dp = new FakeDatapath();
  const t1 = build(dp);
  const svcA = [...ids(t1).values()][0];
  for (let i = 0; i < 5; i++) dp.consume(svcA.id); // the data path took decisions
  const ringBefore = dp.ring(svcA.id);
  const consBefore = ringBefore.cons();
  const snap = JSON.parse(JSON.stringify(t1.snapshot()));
  const listBefore = t1.list(undefined, { hidden: true });

  const t2 = new ServiceTable(dp, limits); // same maps, new process
  t2.adopt(snap);
  t.same([...ids(t2).values()].map((s) => [s.id, s.dests.map((d) => [d.id, d.spec.addr, d.sched.weight])]),
    [...ids(t1).values()].map((s) => [s.id, s.dests.map((d) => [d.id, d.spec.addr, d.sched.weight])]),
    'same service and dest ids, same kernel list order, same effective weights (health and sorry state)');
  t.equal(dp.ring(svcA.id), ringBefore, 'the ring was not reset (same ring object)');
  t.equal(dp.ring(svcA.id).cons(), consBefore, 'consumer position kept');
  t.same(t2.timeouts, { tcp: 600, tcpfin: 60, udp: 100 }, 'timeouts adopted');
  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}` : x)));
  t.same(plain(t2.list(undefined, { hidden: true })), plain(listBefore), 'the listing is identical');
  // A command after adoption allocates ids the old table did not use.
  t2.execute({ op: 'add-dest', key: { protocol: 'udp', addr: '192.0.2.11', port: 53 }, dest: dest('198.51.100.6') });
  const used = [...ids(t2).values()].flatMap((s) => s.dests.map((d) => d.id));
  t.equal(new Set(used).size, used.length, 'no dest id handed out twice');
  t.throws(() => t2.adopt(snap), { message: /empty table/ }, 'adopt only into an empty table');
});

t.test('a snapshot that cannot be adopted leaves the table empty', async (t) => {
  const dp = new FakeDatapath();
  const snap = JSON.parse(JSON.stringify(build(dp).snapshot()));
  snap.services[1].dests[0].id = snap.services[0].dests[0].id; // two dests claiming one id
  const t2 = new ServiceTable(new FakeDatapath(), limits);
  t.throws(() => t2.adopt(snap), { code: 'INTERNAL', message: /no usable dest id/ });
  t.equal(t2.size, 0, 'nothing adopted');
  t2.execute({ op: 'add-service', service: ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.10', port: 80, scheduler: 'rr' }) });
  t.equal(t2.size, 1, 'and the table works normally afterwards');
});

t.test('state file: atomic round trip; corrupt or foreign files are errors naming the file', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-state-'));
  t.teardown(() => { /* tmp dir left to the OS tmp cleaner */ });
  const file = path.join(dir, 'sub', 'ns-1.json');
  t.equal(readState(file), null, 'no file: nothing to adopt');
  const st: DaemonState = {
    format: 1, version: '0.1.0', abi: abiFingerprint(), pid: 42, maxConns: 4096,
    attachments: [{ name: 'eth0', ifindex: 2, mode: 'native', progId: 17 }],
    sync: [{ role: 'backup', mcastInterface: 'eth0', syncId: 3, maxLen: 0 }],
    table: build(new FakeDatapath()).snapshot(),
  };
  writeState(file, st);
  t.same(readState(file), JSON.parse(JSON.stringify(st)), 'round trip');
  t.match(abiFingerprint(), /^[0-9a-f]{16}$/, 'the ABI fingerprint is a stable hash');
  t.equal(abiFingerprint(), abiFingerprint());
  writeFileSync(file, '{"format":1,');
  t.throws(() => readState(file), { message: new RegExp(`${file}: not JSON`) });
  writeFileSync(file, JSON.stringify({ ...st, format: 2 }));
  t.throws(() => readState(file), { message: /format/ });
  t.ok(readFileSync(file, 'utf8').length > 0);
});
