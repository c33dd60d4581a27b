// test/unit/sched-conns.test.ts — connection timeouts (--set, --timeout) and the -Lc listing: the table
// keeps ipvsadm's timeout semantics (0 keeps a value), the GC uses them, and the listing prints
// ipvsadm.c list_conn/print_conn's columns byte for byte.
import t from 'tap';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { DestSpec, ServiceSpec } from '../../src/model/service.js';
import { sweepConnections } from '../../src/control/gc.js';
import { connectionTable, timeoutLine, DEFAULT_LIST_FORMAT, NO_NAMES } from '../../src/cli/format.js';
import type { ConnEntry } from '../../src/datapath/datapath.js';

const S = 1_000_000_000n;

function setup() {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 2, maxDests: 4 });
  const spec = ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler: 'wlc' });
  table.addService(spec);
  table.addDest(spec, DestSpec.parse({ addr: '198.51.100.1', port: 8080 }));
  const conn = (n: number, state: number, lastSeenNs: bigint, protocol: 'tcp' | 'udp' = 'tcp'): ConnEntry => {
    const e: ConnEntry = {
      key: Buffer.from([n]), protocol, caddr: '203.0.113.7', cport: 40000 + n, vaddr: '192.0.2.100', vport: 80,
      lastSeenNs, createdNs: lastSeenNs, destId: 0, svcId: 0, state, inactive: state !== 1,
    };
    dp.connTable.set(e.key.toString('hex'), e);
    dp.adjustDestCounts(0, state === 1 ? 1 : 0, state === 1 ? 0 : 1);
    return e;
  };
  return { dp, table, conn };
}

t.test('--set: 0 keeps a timeout; --timeout reports them', async (t) => {
  const { table } = setup();
  t.same(table.execute({ op: 'get-timeouts' }), { tcp: 900, tcpfin: 120, udp: 300 });
  table.execute({ op: 'set-timeouts', timeouts: { tcp: 60, tcpfin: 0, udp: 10 } });
  t.same(table.execute({ op: 'get-timeouts' }), { tcp: 60, tcpfin: 120, udp: 10 });
  t.equal(timeoutLine(table.timeouts), 'Timeout (tcp tcpfin udp): 60 120 10\n');
});

t.test('the GC expires by the timeouts set, keeping the counters exact', async (t) => {
  const { dp, table, conn } = setup();
  const now = 10_000n * S;
  conn(1, 1, now - 100n * S); // ESTABLISHED, idle 100 s
  conn(2, 4, now - 30n * S); // FIN_WAIT, idle 30 s
  t.equal(sweepConnections(dp, now, table.timeouts), 0, 'defaults: nothing due');
  table.execute({ op: 'set-timeouts', timeouts: { tcp: 90, tcpfin: 20, udp: 0 } });
  t.equal(sweepConnections(dp, now, table.timeouts), 2);
  t.same(dp.destCounts(0), { active: 0, inactive: 0 });
});

t.test('-Lnc lists connections as ipvsadm prints /proc/net/ip_vs_conn', async (t) => {
  const { table, conn } = setup();
  const now = 10_000n * S;
  conn(1, 1, now - 100n * S);
  conn(2, 3, now - 1n * S);
  conn(3, 0, now - 5n * S, 'udp');
  const conns = table.listConns(now);
  t.same(conns.map((c) => [c.state, c.expires]), [['ESTABLISHED', 800], ['SYN_RECV', 59], ['UDP', 295]]);
  t.equal(connectionTable(conns, { ...DEFAULT_LIST_FORMAT, numeric: true }, NO_NAMES), [
    'IPVS connection entries',
    'pro expire state       source             virtual            destination',
    'TCP 13:20  ESTABLISHED 203.0.113.7:40001  192.0.2.100:80     198.51.100.1:8080',
    'TCP 00:59  SYN_RECV    203.0.113.7:40002  192.0.2.100:80     198.51.100.1:8080',
    'UDP 04:55  UDP         203.0.113.7:40003  192.0.2.100:80     198.51.100.1:8080',
    '',
  ].join('\n'));
});
