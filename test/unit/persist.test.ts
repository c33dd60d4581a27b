// test/unit/persist.test.ts — persistence in the control plane (no root): -p/-M reach the data path's
// struct xvs_persist as a mask of the service's family, bad masks and port-zero services are refused,
// templates list as /proc/net/ip_vs_conn shows them (ipvsadm -Lnc, text written by hand from
// print_conn's printf), count in PersistConn, and the GC's template rules (sweepTemplates).
import t from 'tap';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { ServiceTable, persistMask } from '../../src/control/table.js';
import { maskAddr, sweepTemplates } from '../../src/control/gc.js';
import { connectionTable, listService, saveRules, DEFAULT_LIST_FORMAT, NO_NAMES } from '../../src/cli/format.js';
import type { TemplateEntry, ConnEntry } from '../../src/datapath/datapath.js';
import type { ServiceKey, ServiceView } from '../../src/model/service.js';

const S = 1_000_000_000n;
const key: ServiceKey = { protocol: 'tcp', addr: '203.0.113.10', port: 80 };

function setup(): { dp: FakeDatapath; table: ServiceTable; svcId: number; destIds: Map<string, number> } {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 16, maxDests: 64 });
  table.execute({ op: 'add-service', service: { ...key, scheduler: 'rr', persistent: 300, netmask: '255.255.255.0' } });
  for (const addr of ['192.0.2.5', '192.0.2.6']) {
    table.execute({ op: 'add-dest', key, dest: { addr, port: 80, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0 } });
  }
  const svcId = [...dp.persist.keys()][0];
  const destIds = new Map([...dp.dests.entries()].map(([id, d]) => [d.addr, id]));
  return { dp, table, svcId, destIds };
}

const tmpl = (dp: FakeDatapath, over: Partial<TemplateEntry> & { caddr: string; svcId: number; destId: number }): TemplateEntry => {
  const e: TemplateEntry = { key: Buffer.from(`${over.svcId}/${over.caddr}`), lastSeenNs: 0n, createdNs: 0n, timeoutS: 300, assured: false, ...over };
  dp.tmplTable.set(e.key.toString('hex'), e);
  return e;
};

const conn = (dp: FakeDatapath, caddr: string, cport: number, svcId: number, destId: number, state = 1, lastSeenNs = 0n): void => {
  const e: ConnEntry = {
    key: Buffer.from(`${caddr}:${cport}`), protocol: 'tcp', caddr, cport, vaddr: key.addr, vport: 80,
    lastSeenNs, createdNs: 0n, destId, svcId, state, inactive: state !== 1,
  };
  dp.connTable.set(e.key.toString('hex'), e);
};

t.test('-p/-M program the data path; bad masks and port-zero services are refused', async (t) => {
  const { dp, table, svcId } = setup();
  t.same(dp.persist.get(svcId), { timeoutS: 300, mask: '255.255.255.0' }, 'timeout and mask');
  t.equal(persistMask({ ...key, scheduler: 'rr', persistent: 1, netmask: '255.255.255.255', addr: '2001:db8::1' }), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'IPv6 with the default mask: /128');
  t.equal(persistMask({ ...key, scheduler: 'rr', persistent: 1, netmask: '64', addr: '2001:db8::1' }), 'ffff:ffff:ffff:ffff:0:0:0:0', '/64');
  t.equal(persistMask({ ...key, scheduler: 'rr', persistent: 1, netmask: '17', addr: '2001:db8::1' }), 'ffff:8000:0:0:0:0:0:0', '/17');
  t.throws(() => table.execute({ op: 'add-service', service: { ...key, port: 81, scheduler: 'rr', persistent: 60, netmask: 'x' } }), { code: 'EINVAL' });
  t.throws(() => table.execute({ op: 'add-service', service: { ...key, addr: '2001:db8::1', scheduler: 'rr', persistent: 60, netmask: '129' } }), { code: 'EINVAL' });
  t.throws(() => table.execute({ op: 'add-service', service: { ...key, port: 0, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255' } }),
    { code: 'EINVAL', message: /port zero is only supported in persistent services/ });
  t.equal(dp.persist.size, 1, 'nothing changed');
  t.equal(dp.nullServices, false, 'no port-zero service: the data path does not try port 0');
  // A port-zero persistent service (all ports of its VIP): the data path is told; its dests have no port there.
  const zero = { ...key, port: 0 };
  table.execute({ op: 'add-service', service: { ...zero, scheduler: 'rr', persistent: 60, netmask: '255.255.255.255' } });
  table.execute({ op: 'add-dest', key: zero, dest: { addr: '192.0.2.9', port: 8080, fwd: 'masq', weight: 1, uThreshold: 0, lThreshold: 0 } });
  t.equal(dp.nullServices, true, 'port 0 tried on a service miss');
  t.equal([...dp.dests.values()].find((d) => d.addr === '192.0.2.9')?.port, 0, "the dest's port is 0 in the data path (connections keep the client's)");
  t.throws(() => table.execute({ op: 'edit-service', service: { ...zero, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255' } }), { code: 'EINVAL' }, '-E cannot make it non-persistent');
  table.execute({ op: 'del-service', key: zero });
  t.equal(dp.nullServices, false, 'gone with the last port-zero service');
  // -E without -p: no longer persistent; its templates go.
  tmpl(dp, { caddr: '198.51.100.0', svcId, destId: 0 });
  table.execute({ op: 'edit-service', service: { ...key, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255' } });
  t.equal(dp.persist.size, 0, 'persistence off');
  t.equal(dp.tmplTable.size, 0, 'templates dropped');
});

t.test('templates in -Lnc, PersistConn and -S', async (t) => {
  const { dp, table, svcId, destIds } = setup();
  const d5 = destIds.get('192.0.2.5')!;
  const now = 1000n * S;
  tmpl(dp, { caddr: '198.51.100.0', svcId, destId: d5, lastSeenNs: now - 1n * S });
  tmpl(dp, { caddr: '198.51.101.0', svcId, destId: d5, lastSeenNs: now - 250n * S, assured: true });
  conn(dp, '198.51.100.7', 40000, svcId, d5, 1, now);
  const conns = table.listConns(now);
  t.equal(connectionTable(conns, { ...DEFAULT_LIST_FORMAT, numeric: true }, NO_NAMES), [
    'IPVS connection entries',
    'pro expire state       source             virtual            destination',
    'TCP 15:00  ESTABLISHED 198.51.100.7:40000 203.0.113.10:80    192.0.2.5:80',
    'TCP 04:59  NONE        198.51.100.0:0     203.0.113.10:80    192.0.2.5:80',
    'TCP 00:50  ASSURED     198.51.101.0:0     203.0.113.10:80    192.0.2.5:80',
    '',
  ].join('\n'));
  const [svc] = table.execute({ op: 'list', key }) as ServiceView[];
  t.same(svc.dests.map((d) => [d.addr, d.persistConns]).sort(), [['192.0.2.5', 2], ['192.0.2.6', 0]], 'PersistConn counts templates');
  const lines = listService(svc, { ...DEFAULT_LIST_FORMAT, numeric: true, persistentConn: true }, NO_NAMES).split('\n');
  t.ok(lines.includes('TCP  203.0.113.10:80 rr persistent 300 mask 255.255.255.0'), '-Ln service line');
  // print_service_entry with FMT_PERSISTENTCONN: "  -> %-28s %-9u %-11u %-10u %-10u"
  t.ok(lines.includes(`  -> ${'192.0.2.5:80'.padEnd(28)} ${'1'.padEnd(9)} ${'2'.padEnd(11)} ${'0'.padEnd(10)} ${'0'.padEnd(10)}`), '--persistent-conn row');
  t.equal(saveRules([svc], { numeric: true, nosort: false }, NO_NAMES).split('\n')[0], '-A -t 203.0.113.10:80 -s rr -p 300 -M 255.255.255.0', '-S');
});

t.test('fwmark templates: protocol IP, the mark as virtual address, port 0', async (t) => {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 16, maxDests: 64 });
  const fkey: ServiceKey = { protocol: 'tcp', addr: '0.0.0.0', port: 0, fwmark: 7 };
  table.execute({ op: 'add-service', service: { ...fkey, scheduler: 'rr', persistent: 60, netmask: '255.255.255.255' } });
  table.execute({ op: 'add-dest', key: fkey, dest: { addr: '192.0.2.5', port: 80, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0 } });
  const svcId = [...dp.persist.keys()][0];
  tmpl(dp, { caddr: '198.51.100.7', svcId, destId: [...dp.dests.keys()][0], lastSeenNs: 10n * S, timeoutS: 60 });
  t.equal(connectionTable(table.listConns(10n * S), { ...DEFAULT_LIST_FORMAT, numeric: true }, NO_NAMES).split('\n')[2],
    'IP  01:00  NONE        198.51.100.7:0     0.0.0.7:0          192.0.2.5:0', 'the template names no dest port (<IPPROTO_IP,caddr,0,fwmark,0,daddr,0>)');
  // Connections of a persistent fwmark service keep the client's port (the dest's port is 0 in the data
  // path); without persistence the dest's port applies.
  const mdest = [...dp.dests.values()].find((d) => d.addr === '192.0.2.5');
  t.equal(mdest?.port, 0, 'persistent: the data path forwards to the packet\'s port');
  table.execute({ op: 'edit-service', service: { ...fkey, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255' } });
  t.equal([...dp.dests.values()].find((d) => d.addr === '192.0.2.5')?.port, 80, '-E without -p: the dest\'s port again');
});

t.test('GC: re-armed while controlling connections, expired after; unassured ones go with their last connection', async (t) => {
  const { dp, table, svcId, destIds } = setup();
  const d5 = destIds.get('192.0.2.5')!;
  const masks = table.persistMasks();
  t.same([...masks], [[svcId, '255.255.255.0']]);
  const now = 10_000n * S;
  const held = tmpl(dp, { caddr: '198.51.100.0', svcId, destId: d5, lastSeenNs: now - 301n * S });
  conn(dp, '198.51.100.99', 1234, svcId, d5, 4); // FIN_WAIT: was established
  const idle = tmpl(dp, { caddr: '198.51.102.0', svcId, destId: d5, lastSeenNs: now - 299n * S, assured: true });
  const old = tmpl(dp, { caddr: '198.51.103.0', svcId, destId: d5, lastSeenNs: now - 301n * S, assured: true });
  const unassured = tmpl(dp, { caddr: '198.51.104.0', svcId, destId: d5, lastSeenNs: now - 3n * S });
  const young = tmpl(dp, { caddr: '198.51.105.0', svcId, destId: d5, lastSeenNs: now - 1n * S });
  const orphan = tmpl(dp, { caddr: '198.51.106.0', svcId: svcId + 5, destId: d5, lastSeenNs: now });
  t.equal(sweepTemplates(dp, now, masks), 3, 'three expire');
  t.same(dp.template(held.key), { ...held, lastSeenNs: now, assured: true }, 'held: re-armed, and assured by its established connection');
  t.ok(dp.template(idle.key), 'assured, within its timeout: stays');
  t.equal(dp.template(old.key), null, 'assured, timed out, no connections: gone');
  t.equal(dp.template(unassured.key), null, 'never assured, no connections: gone');
  t.ok(dp.template(young.key), 'a just-made template gets a grace (its connection may not be in yet)');
  t.equal(dp.template(orphan.key), null, 'a template of a service that is not persistent: gone');
});

t.test('maskAddr', async (t) => {
  t.equal(maskAddr('198.51.100.77', '255.255.255.0'), '198.51.100.0');
  t.equal(maskAddr('198.51.100.77', '255.255.0.255'), '198.51.0.77');
  t.equal(maskAddr('2001:db8:1:2:3:4:5:6', 'ffff:ffff:ffff:ffff:0:0:0:0'), '2001:db8:1:2::');
  t.equal(maskAddr('2001:db8::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), '2001:db8::1');
});
