// test/unit/table-batch.test.ts — the table's atomic batch (ipvsadm -R, config apply, API batches) and
// -Z's baseline counters, on the in-memory datapath: a batch with one bad command changes nothing and
// names the failing index; -Z makes listings read zero while the data path's counters keep running.
import t from 'tap';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { DestSpec, ServiceSpec, type Stats } from '../../src/model/service.js';
import type { SingleCommand } from '../../src/model/command.js';
import { XvsError } from '../../src/model/errors.js';

const svc = (port: number) => ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.1', port, scheduler: 'rr' });
const dest = (addr: string, weight = 1) => DestSpec.parse({ addr, port: 80, weight });
const key = (port: number) => ({ protocol: 'tcp' as const, addr: '192.0.2.1', port });

/** A datapath whose counters the test sets, to check the -Z baseline arithmetic. */
class CountingDatapath extends FakeDatapath {
  readonly svcCounters = new Map<number, Stats>();
  readonly destCounters = new Map<number, Stats>();
  override svcStats(id?: number): Stats { return { ...(this.svcCounters.get(id ?? -1) ?? super.svcStats()) }; }
  override destStats(id?: number): Stats { return { ...(this.destCounters.get(id ?? -1) ?? super.destStats()) }; }
}
const stats = (n: bigint): Stats => ({ conns: n, inpkts: n * 10n, outpkts: 0n, inbytes: n * 1000n, outbytes: 0n });

t.test('a batch applies in order, all of it', async (t) => {
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 8, maxDests: 32 });
  const cmds: SingleCommand[] = [
    { op: 'add-service', service: svc(80) },
    { op: 'add-dest', key: key(80), dest: dest('198.51.100.1') },
    { op: 'add-dest', key: key(80), dest: dest('198.51.100.2', 3) },
    { op: 'edit-dest', key: key(80), dest: dest('198.51.100.1', 5) },
  ];
  table.applyBatch(cmds);
  const [view] = table.list();
  t.same(view.dests.map((d) => [d.addr, d.weight]), [['198.51.100.2', 3], ['198.51.100.1', 5]]);
});

t.test('a bad command anywhere in a batch changes nothing and names its index', async (t) => {
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 8, maxDests: 32 });
  table.addService(svc(80));
  table.addDest(key(80), dest('198.51.100.1'));
  const before = JSON.stringify(table.list(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  const cases: [SingleCommand[], number, string][] = [
    [[{ op: 'add-service', service: svc(81) }, { op: 'add-service', service: svc(80) }], 1, 'EEXIST'],
    [[{ op: 'del-service', key: key(80) }, { op: 'add-dest', key: key(80), dest: dest('198.51.100.9') }], 1, 'ESRCH'],
    [[{ op: 'add-dest', key: key(80), dest: dest('198.51.100.9') }, { op: 'edit-dest', key: key(80), dest: dest('198.51.100.7') }], 1, 'ENOENT'],
    [[{ op: 'clear' }, { op: 'zero', key: key(80) }], 1, 'ESRCH'],
    [[{ op: 'add-service', service: svc(82) }, { op: 'list' }], 1, 'EINVAL'],
    // the copy enforces the same limits: 8 services at most
    [[81, 82, 83, 84, 85, 86, 87, 88].map((p): SingleCommand => ({ op: 'add-service', service: svc(p) })), 7, 'ENOMEM'],
  ];
  for (const [cmds, index, code] of cases) {
    const err = t.throws(() => table.applyBatch(cmds)) as XvsError;
    t.match({ code: err.code, index: err.index }, { code, index }, `${code} at ${index}`);
    t.equal(JSON.stringify(table.list(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)), before, 'table untouched');
  }
});

t.test('1,000 services × 10 dests in one batch, then a failing batch on top of them', async (t) => {
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 1024, maxDests: 16384 });
  const cmds: SingleCommand[] = [];
  for (let s = 0; s < 1000; s++) {
    const k = { protocol: 'tcp' as const, addr: `192.0.2.${1 + (s % 250)}`, port: 1000 + s };
    cmds.push({ op: 'add-service', service: ServiceSpec.parse({ ...k, scheduler: s % 2 ? 'rr' : 'wrr' }) });
    for (let d = 0; d < 10; d++) cmds.push({ op: 'add-dest', key: k, dest: DestSpec.parse({ addr: `198.51.100.${d + 1}`, port: k.port, weight: d }) });
  }
  const start = Date.now();
  table.applyBatch(cmds);
  t.equal(table.size, 1000);
  t.equal(table.destinations().length, 10_000);
  const err = t.throws(() => table.applyBatch([{ op: 'del-service', key: { protocol: 'tcp', addr: '192.0.2.1', port: 1000 } }, { op: 'del-service', key: { protocol: 'tcp', addr: '192.0.2.1', port: 1000 } }])) as XvsError;
  t.equal(err.index, 1);
  t.equal(table.size, 1000, 'the first delete was not applied');
  t.ok(Date.now() - start < 60_000, `took ${Date.now() - start} ms`);
});

t.test('-Z: listings read zero from the baseline on; the data path counters keep counting', async (t) => {
  const dp = new CountingDatapath();
  const table = new ServiceTable(dp, { maxServices: 8, maxDests: 32 });
  table.addService(svc(80));
  table.addService(svc(81));
  table.addDest(key(80), dest('198.51.100.1'));
  const [d] = table.destinations();
  dp.svcCounters.set(0, stats(5n));
  dp.svcCounters.set(1, stats(7n));
  dp.destCounters.set(d.id, stats(5n));
  t.equal(table.list(key(80))[0].stats.conns, 5n);
  table.zero(key(80));
  t.same(table.list(key(80))[0].stats, stats(0n), 'service zeroed');
  t.same(table.list(key(80))[0].dests[0].stats, stats(0n), 'its dests zeroed');
  t.same(table.list(key(81))[0].stats, stats(7n), 'other services untouched');
  dp.svcCounters.set(0, stats(8n));
  t.same(table.list(key(80))[0].stats, stats(3n), 'counts on from the baseline');
  table.execute({ op: 'zero' });
  t.same(table.list().map((s) => s.stats.conns), [0n, 0n], 'no key: every service');
  t.throws(() => table.zero(key(99)), { code: 'ESRCH' });
});
