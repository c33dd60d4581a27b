// test/unit/table.test.ts — the service table on the in-memory datapath: commands apply whole or not at
// all, errors carry IPVS's errno, and the decision rings carry the kernel's rr/wrr sequence across
// dest changes made while decisions were being consumed.
import t from 'tap';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { DestSpec, ServiceSpec } from '../../src/model/service.js';
import { DEST_NONE, RING_SLOTS } from '../../src/datapath/abi.js';
import { XvsError } from '../../src/model/errors.js';

const svc = (over: Partial<ServiceSpec> = {}) => ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler: 'rr', ...over });
const dest = (addr: string, over: Partial<DestSpec> = {}) => DestSpec.parse({ addr, port: 80, ...over });

function setup() {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 4, maxDests: 8 });
  const addr = (id: number) => (id === DEST_NONE ? 'none' : dp.dests.get(id)?.addr);
  return { dp, table, addr };
}

const code = (fn: () => unknown) => {
  try { fn(); } catch (e) { return (e as XvsError).code; }
  return 'no error';
};

t.test('rr ring: newest dest first, exact sequence, refilled as consumed', async (t) => {
  const { dp, table, addr } = setup();
  table.addService(svc());
  table.addDest(svc(), dest('198.51.100.1'));
  table.addDest(svc(), dest('198.51.100.2'));
  const seq = Array.from({ length: 2 * RING_SLOTS + 3 }, () => { const id = dp.consume(0); table.refillRings(); return addr(id); });
  t.same(seq.slice(0, 4), ['198.51.100.2', '198.51.100.1', '198.51.100.2', '198.51.100.1']);
  t.ok(seq.every((a, i) => a === (i % 2 ? '198.51.100.1' : '198.51.100.2')), 'alternates over ring wrap-around');
  t.ok(dp.ring(0).prod() - dp.ring(0).cons() === BigInt(RING_SLOTS), 'ring kept full');
});

t.test('a dest added mid-stream continues the kernel sequence from the consumer position', async (t) => {
  const { dp, table, addr } = setup();
  table.addService(svc());
  table.addDest(svc(), dest('198.51.100.1'));
  table.addDest(svc(), dest('198.51.100.2'));
  t.same([dp.consume(0), dp.consume(0), dp.consume(0)].map(addr), ['198.51.100.2', '198.51.100.1', '198.51.100.2']);
  // The kernel is now positioned at .2 (the head of [.2, .1]); adding .3 puts it at the head: [.3, .2, .1]
  table.addDest(svc(), dest('198.51.100.3'));
  t.same([dp.consume(0), dp.consume(0), dp.consume(0), dp.consume(0)].map(addr),
    ['198.51.100.1', '198.51.100.3', '198.51.100.2', '198.51.100.1']);
});

t.test('deleting the last dest leaves "no dest" decisions; adding one restores', async (t) => {
  const { dp, table, addr } = setup();
  table.addService(svc());
  table.addDest(svc(), dest('198.51.100.1'));
  table.deleteDest(svc(), dest('198.51.100.1'));
  t.equal(addr(dp.consume(0)), 'none');
  table.addDest(svc(), dest('198.51.100.9'));
  t.equal(addr(dp.consume(0)), '198.51.100.9');
});

t.test('weight 0 quiesces a dest', async (t) => {
  const { dp, table, addr } = setup();
  table.addService(svc());
  table.addDest(svc(), dest('198.51.100.1'));
  table.addDest(svc(), dest('198.51.100.2'));
  table.editDest(svc(), dest('198.51.100.2', { weight: 0 }));
  t.same([dp.consume(0), dp.consume(0)].map(addr), ['198.51.100.1', '198.51.100.1']);
});

t.test('wrr ring and switching scheduler with -E', async (t) => {
  const { dp, table, addr } = setup();
  table.addService(svc({ scheduler: 'wrr' }));
  table.addDest(svc(), dest('198.51.100.1', { weight: 1 }));
  table.addDest(svc(), dest('198.51.100.2', { weight: 3 }));
  // The kernel's wrr after "add .1 (w1), add .2 (w3)": dest_changed kept cw=1 from the first add, so
  // the first pass is the weight>=1 pass over [.2, .1]; then the 3:1 cycle from cw=mw=3.
  t.same(Array.from({ length: 10 }, () => addr(dp.consume(0))),
    ['198.51.100.2', '198.51.100.1', '198.51.100.2', '198.51.100.2', '198.51.100.2', '198.51.100.1', '198.51.100.2', '198.51.100.2', '198.51.100.2', '198.51.100.1']);
  table.editService(svc({ scheduler: 'rr' }));
  t.same(Array.from({ length: 3 }, () => addr(dp.consume(0))), ['198.51.100.2', '198.51.100.1', '198.51.100.2']);
  t.equal(table.list()[0].scheduler, 'rr');
});

t.test('errors carry IPVS errnos and change nothing', async (t) => {
  const { table } = setup();
  t.equal(code(() => table.addDest(svc(), dest('198.51.100.1'))), 'ESRCH', 'dest on a missing service');
  t.equal(code(() => table.deleteService(svc())), 'ESRCH');
  t.equal(code(() => table.editService(svc())), 'ESRCH');
  table.addService(svc());
  t.equal(code(() => table.addService(svc())), 'EEXIST');
  t.equal(code(() => table.addService(svc({ port: 0, persistent: 0 }))), 'EINVAL', 'port zero without persistence');
  t.equal(table.size, 1, 'the refused service was not added');
  table.addDest(svc(), dest('198.51.100.1'));
  t.equal(code(() => table.addDest(svc(), dest('198.51.100.1'))), 'EEXIST');
  t.equal(code(() => table.editDest(svc(), dest('198.51.100.7'))), 'ENOENT');
  t.equal(code(() => table.deleteDest(svc(), dest('198.51.100.7'))), 'ENOENT');
  t.equal(code(() => table.addDest(svc(), dest('2001:db8::1'))), 'EINVAL');
  t.same(table.list()[0].dests.map((d) => d.addr), ['198.51.100.1'], 'failed adds left no trace');
});

t.test('tables full → ENOMEM; ids are recycled after delete', async (t) => {
  const { table } = setup();
  for (let p = 1; p <= 4; p++) table.addService(svc({ port: p }));
  t.equal(code(() => table.addService(svc({ port: 5 }))), 'ENOMEM');
  table.deleteService(svc({ port: 1 }));
  table.addService(svc({ port: 5 }));
  for (let i = 1; i <= 8; i++) table.addDest(svc({ port: 5 }), dest(`198.51.100.${i}`));
  t.equal(code(() => table.addDest(svc({ port: 5 }), dest('198.51.100.9'))), 'ENOMEM');
  table.clear();
  t.equal(table.size, 0);
});

t.test('list reports live counts from the data path', async (t) => {
  const { dp, table } = setup();
  table.addService(svc());
  table.addDest(svc(), dest('198.51.100.1'));
  const id = [...dp.dests.keys()][0];
  dp.adjustDestCounts(id, 2, 5);
  const v = table.list(svc())[0];
  t.match(v.dests[0], { addr: '198.51.100.1', activeConns: 2, inactConns: 5, weight: 1, fwd: 'route' });
});

t.test('every forwarding method is accepted; FULLNAT local address pools', async (t) => {
  const { dp, table } = setup();
  table.addService(svc());
  for (const [i, fwd] of (['route', 'masq', 'tunnel', 'fullnat'] as const).entries()) {
    table.addDest(svc(), dest(`198.51.100.${i + 1}`, { fwd, port: 8080 }));
    t.equal([...dp.dests.values()].find((d) => d.addr === `198.51.100.${i + 1}`)?.fwd, fwd, `${fwd} programmed`);
  }
  table.addLaddr(svc(), '192.0.2.1');
  table.execute({ op: 'add-laddr', key: svc(), addr: '192.0.2.2' });
  t.same(dp.laddrs.get(0), { addrs: ['192.0.2.1', '192.0.2.2'], portMin: 1024, portMax: 65535 }, 'pool written to the data path');
  t.equal(code(() => table.addLaddr(svc(), '192.0.2.1')), 'EEXIST');
  t.equal(code(() => table.addLaddr(svc(), '2001:db8::1')), 'EINVAL', 'family must match the VIP');
  t.equal(code(() => table.addLaddr(svc({ port: 9 }), '192.0.2.9')), 'ESRCH');
  t.equal(code(() => table.deleteLaddr(svc(), '192.0.2.9')), 'ENOENT');
  for (let i = 3; i <= 8; i++) table.addLaddr(svc(), `192.0.2.${i}`);
  t.equal(code(() => table.addLaddr(svc(), '192.0.2.9')), 'ENOMEM', 'at most 8 per service');
  table.deleteLaddr(svc(), '192.0.2.1');
  t.same(table.execute({ op: 'list-laddrs' }), [{ service: { protocol: 'tcp', addr: '192.0.2.100', port: 80 }, laddrs: ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7', '192.0.2.8'] }]);
  table.deleteService(svc());
  t.equal(dp.laddrs.get(0), undefined, 'the pool goes with its service');
});
