// test/unit/cli-format.test.ts — xvsadm's listings against text written by hand from ipvsadm 1.31's
// printf formats (ipvsadm.c print_title/print_service_entry/print_largenum) and libipvs's sort order.
import t from 'tap';
import {
  listAll, listService, serviceTable, largeNumber, qsortOrder, compareServices, DEFAULT_LIST_FORMAT,
  NO_NAMES, type ListFormat, type NameLookup,
} from '../../src/cli/format.js';
import type { DestView, ServiceView, Stats } from '../../src/model/service.js';

const stats = (v: number[] = [0, 0, 0, 0, 0]): Stats => {
  const [conns, inpkts, outpkts, inbytes, outbytes] = v.map(BigInt);
  return { conns, inpkts, outpkts, inbytes, outbytes };
};
const dest = (addr: string, port: number, over: Partial<DestView> = {}): DestView => ({
  addr, port, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats: stats(), ...over,
});
const service = (protocol: 'tcp' | 'udp', addr: string, port: number, scheduler: ServiceView['scheduler'], dests: DestView[], over: Partial<ServiceView> = {}): ServiceView => ({
  protocol, addr, port, scheduler, persistent: 0, netmask: '255.255.255.255', dests, stats: stats(), ...over,
});
const fmt = (over: Partial<ListFormat> = {}): ListFormat => ({ ...DEFAULT_LIST_FORMAT, ...over });

/** Services in "kernel" (hash) order; the listing must come out in ipvsadm's order. */
const table: ServiceView[] = [
  service('udp', '10.0.0.1', 53, 'rr', [
    dest('192.168.1.2', 53, { inactConns: 5 }),
    dest('192.168.1.1', 53, { weight: 2 }),
  ]),
  service('tcp', '2001:db8::1', 80, 'rr', [
    dest('2001:db8::20', 80, { activeConns: 1234567 }),
    dest('2001:db8::3', 80, { fwd: 'tunnel', activeConns: 7, inactConns: 8 }),
  ]),
  service('tcp', '10.0.0.1', 443, 'rr', []),
  service('udp', '2001:db8::1', 53, 'rr', []),
  service('tcp', '192.168.100.10', 80, 'wrr', [
    dest('10.1.1.3', 80, { weight: 5, activeConns: 12, inactConns: 30 }),
    dest('10.1.1.2', 80, { weight: 0, inactConns: 1 }),
  ]),
  service('tcp', '10.0.0.1', 80, 'wlc', [dest('192.168.1.1', 80, { fwd: 'masq', activeConns: 3, inactConns: 4 })], {
    persistent: 300, netmask: '255.255.255.0',
  }),
];

t.test('-Ln: header, title, services and dests sorted as libipvs sorts them', async (t) => {
  // IPv4 before IPv6, TCP before UDP, then address as a wrapping 32-bit difference (192.168.100.10
  // sorts before 10.0.0.1: 0x0a000001 - 0xc0a8640a is positive as an int), then port.
  t.equal(listAll(table, 4096, fmt({ numeric: true }), NO_NAMES), [
    'IP Virtual Server version 1.2.1 (size=4096)\n',
    'Prot LocalAddress:Port Scheduler Flags\n',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    'TCP  192.168.100.10:80 wrr\n',
    '  -> 10.1.1.2:80                  Route   0      0          1         \n',
    '  -> 10.1.1.3:80                  Route   5      12         30        \n',
    'TCP  10.0.0.1:80 wlc persistent 300 mask 255.255.255.0\n',
    '  -> 192.168.1.1:80               Masq    1      3          4         \n',
    'TCP  10.0.0.1:443 rr\n',
    'UDP  10.0.0.1:53 rr\n',
    '  -> 192.168.1.1:53               Route   2      0          0         \n',
    '  -> 192.168.1.2:53               Route   1      0          5         \n',
    'TCP  [2001:db8::1]:80 rr\n',
    '  -> [2001:db8::3]:80             Tunnel  1      7          8         \n',
    '  -> [2001:db8::20]:80            Route   1      1234567    0         \n',
    'UDP  [2001:db8::1]:53 rr\n',
  ].join(''));
});

t.test('-L: names from the resolver, truncated where ipvsadm truncates (33/28 for IPv4, 59 overall)', async (t) => {
  const hosts: Record<string, string> = {
    '192.168.100.10': 'www.example.com',
    '10.1.1.2': 'web-2.backend.internal.example.com',
    '10.0.0.1': 'a-very-long-virtual-hostname.example.com',
    '2001:db8::1': 'v6.example.org',
    '2001:db8::20': 'an-extremely-long-ipv6-real-server-hostname.example.org',
    '192.168.1.1': 'rs1',
  };
  const services: Record<string, string> = { 'tcp/80': 'http', 'tcp/443': 'https', 'udp/53': 'domain' };
  const names: NameLookup = { host: (a) => hosts[a], service: (p, proto) => services[`${proto}/${p}`] };
  t.equal(listAll(table, 4096, fmt(), names), [
    'IP Virtual Server version 1.2.1 (size=4096)\n',
    'Prot LocalAddress:Port Scheduler Flags\n',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    'TCP  www.example.com:http wrr\n',
    '  -> web-2.backend.internal.examp Route   0      0          1         \n',
    '  -> 10.1.1.3:http                Route   5      12         30        \n',
    'TCP  a-very-long-virtual-hostname wlc persistent 300 mask 255.255.255.0\n',
    '  -> rs1:http                     Masq    1      3          4         \n',
    'TCP  a-very-long-virtual-hostname rr\n',
    'UDP  a-very-long-virtual-hostname rr\n',
    '  -> rs1:domain                   Route   2      0          0         \n',
    '  -> 192.168.1.2:domain           Route   1      0          5         \n',
    'TCP  [v6.example.org]:http rr\n',
    '  -> [2001:db8::3]:http           Tunnel  1      7          8         \n',
    '  -> [an-extremely-long-ipv6-real-server-hostname.example.org]:h Route   1      1234567    0         \n',
    'UDP  [v6.example.org]:domain rr\n',
  ].join(''));
});

t.test('--nosort keeps the daemon order of services and dests', async (t) => {
  const two = [table[4], table[2]];
  t.equal(serviceTable(two, fmt({ numeric: true, nosort: true }), NO_NAMES), [
    'Prot LocalAddress:Port Scheduler Flags\n',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    'TCP  192.168.100.10:80 wrr\n',
    '  -> 10.1.1.3:80                  Route   5      12         30        \n',
    '  -> 10.1.1.2:80                  Route   0      0          1         \n',
    'TCP  10.0.0.1:443 rr\n',
  ].join(''));
});

t.test('an empty table is the header and the title', async (t) => {
  t.equal(listAll([], 4096, fmt({ numeric: true }), NO_NAMES),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
    'Prot LocalAddress:Port Scheduler Flags\n' +
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n');
});

t.test('-L -t: one service, no version header', async (t) => {
  t.equal(listService(table[1], fmt({ numeric: true }), NO_NAMES), [
    'Prot LocalAddress:Port Scheduler Flags\n',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    'TCP  [2001:db8::1]:80 rr\n',
    '  -> [2001:db8::3]:80             Tunnel  1      7          8         \n',
    '  -> [2001:db8::20]:80            Route   1      1234567    0         \n',
  ].join(''));
});

const statsService = service('tcp', '192.168.100.10', 80, 'wrr', [
  dest('10.1.1.3', 80, { weight: 5, uThreshold: 100, lThreshold: 50, activeConns: 12, inactConns: 30, persistConns: 2, stats: stats([3, 99999999, 1, 5, 6]) }),
  dest('10.1.1.2', 80, { weight: 0, inactConns: 1, stats: stats([2, 1000, 999, 100000000, 12345678901234]) }),
], { stats: stats([5, 123456789, 0, 98765432100, 123456789012345]) });

t.test('--stats scales with K/M/G/T; --exact prints every digit', async (t) => {
  t.equal(listService(statsService, fmt({ numeric: true, stats: true }), NO_NAMES), [
    'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n',
    '  -> RemoteAddress:Port\n',
    'TCP  192.168.100.10:80                   5  123456K        0   98765M     123T\n',
    '  -> 10.1.1.2:80                         2     1000      999  100000K   12345G\n',
    '  -> 10.1.1.3:80                         3 99999999        1        5        6\n',
  ].join(''));
  t.equal(listService(statsService, fmt({ numeric: true, stats: true, exact: true }), NO_NAMES), [
    'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n',
    '  -> RemoteAddress:Port\n',
    'TCP  192.168.100.10:80                   5 123456789        0 98765432100 123456789012345\n',
    '  -> 10.1.1.2:80                         2     1000      999 100000000 12345678901234\n',
    '  -> 10.1.1.3:80                         3 99999999        1        5        6\n',
  ].join(''));
});

t.test('--thresholds and --persistent-conn columns', async (t) => {
  t.equal(listService(statsService, fmt({ numeric: true, thresholds: true }), NO_NAMES), [
    'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n',
    '  -> RemoteAddress:Port\n',
    'TCP  192.168.100.10:80 wrr\n',
    '  -> 10.1.1.2:80                  0          0          0          1         \n',
    '  -> 10.1.1.3:80                  100        50         12         30        \n',
  ].join(''));
  t.equal(listService(statsService, fmt({ numeric: true, persistentConn: true }), NO_NAMES), [
    'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n',
    '  -> RemoteAddress:Port\n',
    'TCP  192.168.100.10:80 wrr\n',
    '  -> 10.1.1.2:80                  0         0           0          1         \n',
    '  -> 10.1.1.3:80                  5         2           12         30        \n',
  ].join(''));
});

t.test('print_largenum thresholds', async (t) => {
  const cases: [bigint, string, string][] = [
    [0n, '        0', '        0'],
    [99_999_999n, ' 99999999', ' 99999999'],
    [100_000_000n, '  100000K', ' 100000000'],
    [999_999_999n, '  999999K', ' 999999999'],
    [1_000_000_000n, '    1000M', ' 1000000000'],
    [99_999_999_999n, '   99999M', ' 99999999999'],
    [100_000_000_000n, '     100G', ' 100000000000'],
    [100_000_000_000_000n, '     100T', ' 100000000000000'],
  ];
  for (const [n, scaled, exact] of cases) {
    t.equal(largeNumber(n, false), scaled, `${n} scaled`);
    t.equal(largeNumber(n, true), exact, `${n} exact`);
  }
});

t.test('sort: the wrapping comparison is not transitive, so the merge order of glibc qsort decides', async (t) => {
  const svc = (addr: string) => service('tcp', addr, 80, 'rr', []);
  const addrs = (list: ServiceView[]) => qsortOrder(list, compareServices).map((s) => s.addr);
  // 10 < 100 < 200 but 200 < 10 (0xc8000000 - 0x0a000000 is negative as an int): a cycle.
  t.same(addrs([svc('10.0.0.1'), svc('100.0.0.1'), svc('200.0.0.1')]), ['10.0.0.1', '100.0.0.1', '200.0.0.1']);
  t.same(addrs([svc('200.0.0.1'), svc('100.0.0.1'), svc('10.0.0.1')]), ['200.0.0.1', '10.0.0.1', '100.0.0.1']);
  // Addresses within 2^31 of each other sort plainly.
  t.same(addrs([svc('10.0.0.3'), svc('10.0.0.1'), svc('10.0.0.2')]), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
});
