// test/unit/cli-main.test.ts — the xvsadm program end to end with a fake daemon: what it sends, what it
// prints on stdout and stderr, and its exit status for success, each daemon error and no daemon; then
// the same program over a real control socket to the real service table on the in-memory datapath.
import t from 'tap';
import { runXvsadm, type XvsadmDeps } from '../../src/cli/main.js';
import type { Command } from '../../src/model/command.js';
import { XvsError, type XvsErrorCode } from '../../src/model/errors.js';
import { encodeBigints, type DaemonInfo } from '../../src/api/protocol.js';
import { numericResolver, type NameResolver } from '../../src/cli/names.js';
import type { ServiceView } from '../../src/model/service.js';
import { request } from '../../src/api/client.js';
import { listen } from '../../src/api/server.js';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { createLogger } from '../../src/log/logger.js';

const INFO: DaemonInfo = { pid: 1, version: '0.1.0', connTableSize: 4096, interfaces: [] };

/** Runs xvsadm against `daemon`; collects the commands it sent and what it printed. */
async function xvsadm(argv: string[], daemon: (cmd: Command) => unknown, resolver: NameResolver = numericResolver) {
  const sent: Command[] = [];
  let stdout = '';
  let stderr = '';
  const deps: XvsadmDeps = {
    request: async (cmd) => { sent.push(cmd); return encodeBigints(await daemon(cmd)); },
    resolver,
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
    program: 'xvsadm',
    version: '0.1.0',
  };
  const exit = await runXvsadm(argv, deps);
  return { exit, stdout, stderr, sent };
}

const fails = (code: XvsErrorCode, message = 'daemon says no') => (): never => { throw new XvsError(code, message); };
const ok = (): null => null;

const stats = { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n };
const view: ServiceView = {
  protocol: 'tcp', addr: '10.0.0.1', port: 80, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255', stats,
  dests: [
    { addr: '192.168.0.3', port: 80, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0, activeConns: 2, inactConns: 1, persistConns: 0, stats },
    { addr: '192.168.0.2', port: 80, fwd: 'route', weight: 3, uThreshold: 0, lThreshold: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats },
  ],
};
const listing = (cmd: Command): unknown => (cmd.op === 'info' ? INFO : [view]);

t.test('a successful command: one request, no output, exit 0', async (t) => {
  const r = await xvsadm(['-A', '-t', '10.0.0.1:80', '-s', 'rr'], ok);
  t.same(r, {
    exit: 0, stdout: '', stderr: '',
    sent: [{ op: 'add-service', service: { protocol: 'tcp', addr: '10.0.0.1', port: 80, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255' } }],
  });
});

t.test('daemon errors print ipvsadm\'s ipvs_strerror text and exit 255', async (t) => {
  const cases: [string[], XvsErrorCode, string][] = [
    [['-A', '-t', '10.0.0.1:80', '-s', 'rr'], 'EEXIST', 'Service already exists'],
    [['-E', '-t', '10.0.0.1:80', '-s', 'rr'], 'ESRCH', 'No such service'],
    [['-D', '-t', '10.0.0.1:80'], 'ESRCH', 'No such service'],
    [['-a', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'ESRCH', 'Service not defined'],
    [['-a', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'EEXIST', 'Destination already exists'],
    [['-e', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'ESRCH', 'Service not defined'],
    [['-e', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'ENOENT', 'No such destination'],
    [['-d', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'ESRCH', 'Service not defined'],
    [['-d', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'ENOENT', 'No such destination'],
    [['-a', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'ENOMEM', 'Memory allocation problem'],
    [['-a', '-t', '10.0.0.1:80', '-r', '192.168.0.2'], 'EINVAL', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
    // No row for (del_service, ENOENT): ipvs_strerror falls back to strerror.
    [['-D', '-t', '10.0.0.1:80'], 'ENOENT', 'No such file or directory'],
    [['-C'], 'ESRCH', 'No such process'],
  ];
  for (const [argv, code, message] of cases) {
    const r = await xvsadm(argv, fails(code));
    t.same({ exit: r.exit, stdout: r.stdout, stderr: r.stderr }, { exit: 255, stdout: '', stderr: `${message}\n` }, `${argv.join(' ')} → ${code}`);
  }
});

t.test('not implemented in xvs yet: exit 1 with a clear message', async (t) => {
  // Every ipvsadm scheduler is implemented now (lblc/lblcr last): -s lblcr goes to the daemon as asked.
  const sched = await xvsadm(['-A', '-t', '10.0.0.1:80', '-s', 'lblcr'], ok);
  t.same([sched.exit, sched.stderr], [0, '']);
  t.equal((sched.sent[0] as Extract<Command, { op: 'add-service' }>).service.scheduler, 'lblcr', 'the scheduler was asked for');
  const masq = await xvsadm(['-a', '-t', '10.0.0.1:80', '-r', '192.168.0.2:8080', '-m'], fails('EOPNOTSUPP'));
  t.same([masq.exit, masq.stderr], [1, 'Forwarding method not implemented in xvs yet: Masq (-m)\n']);
  const tun = await xvsadm(['-e', '-t', '10.0.0.1:80', '-r', '192.168.0.2', '-i'], fails('EOPNOTSUPP'));
  t.same([tun.exit, tun.stderr], [1, 'Forwarding method not implemented in xvs yet: Tunnel (-i)\n']);
  const other = await xvsadm(['-A', '-t', '10.0.0.1:80', '-s', 'rr'], fails('EOPNOTSUPP', 'something else'));
  t.same([other.exit, other.stderr], [1, 'Operation not implemented in xvs yet: something else\n']);
  const sctp = await xvsadm(['-A', '--sctp-service', '10.0.0.1:80'], ok);
  t.same([sctp.exit, sctp.stderr, sctp.sent], [1, 'Option not implemented in xvs yet: --sctp-service\n', []], 'nothing sent');
});

t.test('no daemon: a hint on stderr, exit 2, for changes and listings alike', async (t) => {
  const hint = 'xvsadm: no xvsd is running in this network namespace; start one with: xvsd [--iface IF] (see README)\n';
  for (const argv of [['-A', '-t', '10.0.0.1:80', '-s', 'rr'], ['-Ln'], ['-L', '-t', '10.0.0.1:80'], []]) {
    const r = await xvsadm(argv, fails('NO_DAEMON', 'no xvsd is running in this network namespace'));
    t.same({ exit: r.exit, stdout: r.stdout, stderr: r.stderr }, { exit: 2, stdout: '', stderr: hint }, JSON.stringify(argv));
  }
});

t.test('other daemon failures', async (t) => {
  const bad = await xvsadm(['-A', '-t', '10.0.0.1:80', '-s', 'rr'], fails('BAD_REQUEST', 'invalid request at cmd.op'));
  t.same([bad.exit, bad.stderr], [255, 'xvsadm: xvsd: invalid request at cmd.op\n']);
  const boom = await xvsadm(['-C'], () => { throw new Error('boom'); });
  t.same([boom.exit, boom.stderr], [1, 'xvsadm: internal error: boom\n']);
});

t.test('parse errors: nothing sent, ipvsadm\'s text and status', async (t) => {
  const r = await xvsadm(['-A', '-t', '10.0.0.1:80', '-w', '2'], ok);
  t.same(r, { exit: 2, stdout: '', stderr: "Illegal 'weight' option with the 'add-service' command\n", sent: [] });
  const h = await xvsadm(['--nope'], ok);
  t.same([h.exit, h.stderr], [255, "Try `xvsadm -h' or 'xvsadm --help' for more information.\n"]);
});

t.test('-h and -v print to stdout and exit 0', async (t) => {
  const help = await xvsadm(['-h'], ok);
  t.equal(help.exit, 0);
  t.ok(help.stdout.startsWith('xvsadm v0.1.0 (ipvsadm v1.31 compatible, IPVS v1.2.1)\nUsage:\n  xvsadm -A|E virtual-service [-s scheduler]'), 'version line, then usage');
  t.match(help.stdout, /\n  --scheduler    -s scheduler         one of rr\|wrr\|lc\|wlc\|lblc\|lblcr\|dh\|sh\|sed\|nq\|fo\|ovf\|mh,\n {38}the default scheduler is wlc\.\n/);
  t.ok(help.stdout.endsWith('  --mcast-ttl ttl                     Multicast TTL (default=1)\n'));
  const version = await xvsadm(['--version'], ok);
  t.same([version.exit, version.stdout, version.sent], [0, 'xvsadm v0.1.0 (ipvsadm v1.31 compatible, IPVS v1.2.1)\n', []]);
});

t.test('-Ln asks for info and the list, prints the sorted table', async (t) => {
  const r = await xvsadm(['-Ln'], listing);
  t.equal(r.exit, 0);
  t.same(r.sent, [{ op: 'info' }, { op: 'list', key: undefined }]);
  t.equal(r.stdout, [
    'IP Virtual Server version 1.2.1 (size=4096)\n',
    'Prot LocalAddress:Port Scheduler Flags\n',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    'TCP  10.0.0.1:80 rr\n',
    '  -> 192.168.0.2:80               Route   3      0          0         \n',
    '  -> 192.168.0.3:80               Route   1      2          1         \n',
  ].join(''));
  t.equal(r.stderr, '');
});

t.test('-L resolves names through the resolver; -Ln does not ask it', async (t) => {
  const asked: string[] = [];
  const resolver: NameResolver = {
    ...numericResolver,
    addrToHost: async (a) => { asked.push(a); return a === '10.0.0.1' ? 'vip.example.com' : undefined; },
    portToService: async (p, proto) => (p === 80 && proto === 'tcp' ? 'http' : undefined),
  };
  const r = await xvsadm(['-L'], listing, resolver);
  t.equal(r.stdout, [
    'IP Virtual Server version 1.2.1 (size=4096)\n',
    'Prot LocalAddress:Port Scheduler Flags\n',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    'TCP  vip.example.com:http rr\n',
    '  -> 192.168.0.2:http             Route   3      0          0         \n',
    '  -> 192.168.0.3:http             Route   1      2          1         \n',
  ].join(''));
  t.same(asked.sort(), ['10.0.0.1', '192.168.0.2', '192.168.0.3'], 'each address once');
  asked.length = 0;
  const bare = await xvsadm([], listing, resolver);
  t.equal(bare.stdout, r.stdout, 'no arguments is -L');
  asked.length = 0;
  await xvsadm(['-Ln'], listing, resolver);
  t.same(asked, []);
});

t.test('-L -t lists one service without the version header; a missing one is exit 1', async (t) => {
  const r = await xvsadm(['-Ln', '-t', '10.0.0.1:80'], listing);
  t.same(r.sent, [{ op: 'list', key: { protocol: 'tcp', addr: '10.0.0.1', port: 80 } }]);
  t.ok(r.stdout.startsWith('Prot LocalAddress:Port Scheduler Flags\n'), 'title first');
  const missing = await xvsadm(['-Ln', '-t', '10.0.0.9:80'], fails('ESRCH', 'no such service tcp:10.0.0.9:80'));
  t.same({ exit: missing.exit, stdout: missing.stdout, stderr: missing.stderr }, { exit: 1, stdout: '', stderr: 'No such service\n' });
  const empty = await xvsadm(['-Ln', '-t', '10.0.0.9:80'], () => []);
  t.same([empty.exit, empty.stderr], [1, 'No such service\n']);
});

t.test('a listing that fails after the header keeps the header, like list_all', async (t) => {
  const r = await xvsadm(['-Ln'], (cmd) => { if (cmd.op === 'info') return INFO; throw new XvsError('ENOMEM', 'out of memory'); });
  t.same({ exit: r.exit, stdout: r.stdout, stderr: r.stderr }, { exit: 1, stdout: 'IP Virtual Server version 1.2.1 (size=4096)\n', stderr: 'Memory allocation problem\n' });
});

t.test('-A/-E with a name that is no scheduler answer as the kernel would', async (t) => {
  const exists = (cmd: Command) => (cmd.op === 'list' ? [view] : null);
  const absent = fails('ESRCH', 'no such service');
  const cases: [string, (cmd: Command) => unknown, string][] = [
    ['-A', absent, 'Scheduler or persistence engine not found'],
    ['-A', exists, 'Service already exists'],
    ['-E', absent, 'No such service'],
    ['-E', exists, 'Scheduler or persistence engine not found'],
  ];
  for (const [command, daemon, message] of cases) {
    const r = await xvsadm([command, '-t', '10.0.0.1:80', '-s', 'fastest'], daemon);
    t.same({ exit: r.exit, stderr: r.stderr, sent: r.sent.map((c) => c.op) }, { exit: 255, stderr: `${message}\n`, sent: ['list'] }, `${command} ${daemon === absent ? 'absent' : 'exists'}`);
  }
});

t.test('over a real control socket to the service table', async (t) => {
  const socketPath = `\0xvs-test-cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 8, maxDests: 16 });
  const server = await listen(socketPath, (cmd) => (cmd.op === 'info' ? INFO : table.execute(cmd)), createLogger('error', () => {}));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const run = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const exit = await runXvsadm(argv, {
      request: (cmd) => request(cmd, { socketPath, timeoutMs: 5000 }),
      resolver: numericResolver, program: 'xvsadm', version: '0.1.0',
      stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; },
    });
    return { exit, stdout, stderr };
  };
  t.same(await run('-A', '-t', '10.0.0.1:80', '-s', 'rr'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-A', '-t', '10.0.0.1:80', '-s', 'rr'), { exit: 255, stdout: '', stderr: 'Service already exists\n' });
  t.same(await run('-A', '-u', '[2001:db8::1]:53', '-s', 'wrr'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-a', '-t', '10.0.0.1:80', '-r', '192.168.0.3'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-a', '-t', '10.0.0.1:80', '-r', '192.168.0.2:8080', '-w', '5'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-a', '-u', '[2001:db8::1]:53', '-r', '[2001:db8::10]:53', '-w', '0'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-a', '-t', '10.0.0.2:80', '-r', '192.168.0.3'), { exit: 255, stdout: '', stderr: 'Service not defined\n' });
  t.same(await run('-a', '-t', '10.0.0.1:80', '-r', '192.168.0.4', '-m'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-a', '-t', '10.0.0.1:80', '-r', '192.168.0.5:8080', '--fullnat', '-w', '0'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('--add-laddr', '-t', '10.0.0.1:80', '-z', '192.168.0.1'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('--add-laddr', '-t', '10.0.0.1:80', '-z', '192.168.0.1'), { exit: 1, stdout: '', stderr: 'xvsadm: Local address already exists\n' });
  t.same(await run('-P', '-t', '10.0.0.1:80', '-z', '2001:db8::1'), { exit: 1, stdout: '', stderr: "xvsadm: Invalid argument (the local address must be of the service's address family)\n" });
  t.same(await run('-G', '-t', '10.0.0.1:80'), { exit: 0, stdout: 'Prot LocalAddress:Port\n  -> LocalNatAddress\nTCP  10.0.0.1:80\n  -> 192.168.0.1\n', stderr: '' });
  t.same(await run('-A', '-t', '10.0.0.1:81', '-s', 'lblc'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-E', '-t', '10.0.0.1:81', '-s', 'lblcr'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-D', '-t', '10.0.0.1:81'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-e', '-t', '10.0.0.1:80', '-r', '192.168.0.3', '-w', '2'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-Ln'), {
    exit: 0, stderr: '',
    stdout: [
      'IP Virtual Server version 1.2.1 (size=4096)\n',
      'Prot LocalAddress:Port Scheduler Flags\n',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
      'TCP  10.0.0.1:80 rr\n',
      '  -> 192.168.0.2:80               Route   5      0          0         \n',
      '  -> 192.168.0.3:80               Route   2      0          0         \n',
      '  -> 192.168.0.4:80               Masq    1      0          0         \n',
      '  -> 192.168.0.5:8080             FullNat 0      0          0         \n',
      'UDP  [2001:db8::1]:53 wrr\n',
      '  -> [2001:db8::10]:53            Route   0      0          0         \n',
    ].join(''),
  });
  t.same(await run('-d', '-t', '10.0.0.1:80', '-r', '192.168.0.9'), { exit: 255, stdout: '', stderr: 'No such destination\n' });
  t.same(await run('-D', '-u', '[2001:db8::1]:53'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-A', '-t', '10.0.0.1:80', '-s', 'nosuch'), { exit: 255, stdout: '', stderr: 'Service already exists\n' });
  t.same(await run('-E', '-t', '10.0.0.1:80', '-s', 'nosuch'), { exit: 255, stdout: '', stderr: 'Scheduler or persistence engine not found\n' });
  t.same(await run('-C'), { exit: 0, stdout: '', stderr: '' });
  t.same(await run('-Ln', '-t', '10.0.0.1:80'), { exit: 1, stdout: '', stderr: 'No such service\n' });
});
