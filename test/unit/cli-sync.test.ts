// test/unit/cli-sync.test.ts — xvsadm's sync daemon commands (--start-daemon, --stop-daemon, -L --daemon)
// against a fake daemon: the command sent, stdout/stderr and exit status for valid and invalid lines, each
// with the ipvsadm 1.31 source lines (cezarsa/ipvsadm e61c8cd: ipvsadm.c, libipvs/libipvs.c) that decide it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runXvsadm, type XvsadmDeps } from '../../src/cli/main.js';
import { numericResolver } from '../../src/cli/names.js';
import { daemonList } from '../../src/cli/format.js';
import { parseSyncPeer } from '../../src/cli/parse.js';
import type { Command } from '../../src/model/command.js';
import { XvsError } from '../../src/model/errors.js';
import { SyncDaemonSpec } from '../../src/sync/types.js';
import { repoRoot } from '../../src/paths.js';

const golden = (name: string): string => readFileSync(path.join(repoRoot, 'test/fixtures/golden', name), 'utf8');

/**
 * A fake xvsd holding sync daemons as the kernel does: start of a running role → EEXIST, stop of a
 * stopped one → ESRCH, list-sync → the specs, master first.
 */
function fakeDaemon() {
  const running = new Map<'master' | 'backup', SyncDaemonSpec>();
  const sent: Command[] = [];
  const handle = (cmd: Command): unknown => {
    sent.push(cmd);
    switch (cmd.op) {
      case 'start-sync':
        if (running.has(cmd.spec.role)) throw new XvsError('EEXIST', `${cmd.spec.role} sync daemon is already running`);
        running.set(cmd.spec.role, cmd.spec);
        return null;
      case 'stop-sync':
        if (!running.delete(cmd.role)) throw new XvsError('ESRCH', `no ${cmd.role} sync daemon is running`);
        return null;
      case 'list-sync':
        return (['master', 'backup'] as const).flatMap((r) => (running.has(r) ? [running.get(r)] : []));
      default:
        throw new XvsError('EINVAL', `unexpected ${cmd.op}`);
    }
  };
  return { running, sent, handle };
}

async function xvsadm(argv: string[], handle: (cmd: Command) => unknown) {
  let stdout = '';
  let stderr = '';
  const deps: XvsadmDeps = {
    request: async (cmd) => handle(cmd),
    resolver: numericResolver,
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
    program: 'xvsadm',
    version: '0.1.0',
  };
  const exit = await runXvsadm(argv, deps);
  return { stdout, stderr, exit };
}

interface Case { argv: string[]; stdout?: string; stderr?: string; exit: number; sent?: Command; source: string }

const spec = (s: Partial<SyncDaemonSpec> & Pick<SyncDaemonSpec, 'role'>): SyncDaemonSpec => SyncDaemonSpec.parse({ mcastInterface: 'eth0', ...s });

/** Each line against a fresh fake daemon with nothing running. */
const CASES: Case[] = [
  // --- valid: what reaches the daemon (ipvs_start_daemon sends maxlen/port/ttl/group only when set)
  { argv: ['--start-daemon', 'master'], exit: 0, sent: { op: 'start-sync', spec: spec({ role: 'master' }) }, source: 'ipvsadm.c:1037-1038 (DEF_MCAST_IFN "eth0"), 1134-1135' },
  { argv: ['--start-daemon', 'backup', '--mcast-interface', 'veth1', '--syncid', '7'], exit: 0, sent: { op: 'start-sync', spec: spec({ role: 'backup', mcastInterface: 'veth1', syncId: 7 }) }, source: 'ipvsadm.c:787-797' },
  {
    argv: ['--start-daemon=master', '--mcast-interface=lb0', '--syncid=255', '--sync-maxlen', '1400', '--mcast-group', '239.1.2.3', '--mcast-port', '9000', '--mcast-ttl', '3'],
    exit: 0, sent: { op: 'start-sync', spec: spec({ role: 'master', mcastInterface: 'lb0', syncId: 255, maxLen: 1400, group: '239.1.2.3', port: 9000, ttl: 3 }) },
    source: 'ipvsadm.c:851-892; libipvs.c:539-557',
  },
  { argv: ['--start-daemon', 'master', '--mcast-group', 'FF02:0::8:81'], exit: 0, sent: { op: 'start-sync', spec: spec({ role: 'master', group: 'ff02::8:81' }) }, source: 'ipvsadm.c:853-861 (IPv6 group, printed canonical by inet_ntop)' },
  { argv: ['--start-daemon', 'master', '--mcast-interface', 'averyveryverylongname'], exit: 0, sent: { op: 'start-sync', spec: spec({ role: 'master', mcastInterface: 'averyveryverylo' }) }, source: 'ipvsadm.c:789-790 (strncpy IP_VS_IFNAME_MAXLEN - 1)' },
  { argv: ['--stop-daemon', 'master'], stderr: 'No daemon is running\n', exit: 255, sent: { op: 'stop-sync', role: 'master' }, source: 'ipvsadm.c:1138-1146; libipvs.c:1323 (stop_daemon, ESRCH)' },
  { argv: ['--stop-daemon', 'backup', '--syncid', '3'], stderr: 'No daemon is running\n', exit: 255, sent: { op: 'stop-sync', role: 'backup' }, source: 'ipvsadm.c STOPD row: --syncid optional (the kernel stops by state)' },
  { argv: ['-L', '--daemon'], stdout: '', exit: 0, sent: { op: 'list-sync' }, source: 'ipvsadm.c:1084-1085, 2181-2216 (nothing running: no line)' },
  { argv: ['-Ln', '--daemon'], stdout: '', exit: 0, sent: { op: 'list-sync' }, source: 'ipvsadm.c LIST row: -n optional' },
  // xvs's --sync-peer (repeatable, canonical text)
  {
    argv: ['--start-daemon', 'master', '--mcast-interface', 'eth1', '--sync-peer', '198.51.100.2', '--sync-peer', '198.51.100.3:9001', '--sync-peer', '[2001:DB8::0:1]:8848', '--sync-peer', '2001:db8::2'],
    exit: 0, sent: { op: 'start-sync', spec: spec({ role: 'master', mcastInterface: 'eth1', peers: ['198.51.100.2', '198.51.100.3:9001', '[2001:db8::1]:8848', '2001:db8::2'] }) },
    source: 'xvs addition',
  },
  // --- invalid: ipvsadm's messages and exit codes, nothing sent
  { argv: ['--start-daemon', 'primary'], stderr: 'illegal start-daemon parameter specified\n', exit: 2, source: 'ipvsadm.c:664-671' },
  { argv: ['--start-daemon'], stderr: "Try `xvsadm -h' or 'xvsadm --help' for more information.\n", exit: 255, source: 'ipvsadm.c:615-619 (popt error on the first option)' },
  { argv: ['--stop-daemon', 'Master'], stderr: 'illegal start_daemon specified\n', exit: 2, source: 'ipvsadm.c:672-679 (sic)' },
  { argv: ['--start-daemon', 'master', '--syncid', '256'], stderr: 'illegal syncid specified\n', exit: 2, source: 'ipvsadm.c:792-796 (0..255)' },
  { argv: ['--start-daemon', 'master', '--syncid', '-1'], stderr: 'illegal syncid specified\n', exit: 2, source: 'ipvsadm.c:792-796' },
  { argv: ['--start-daemon', 'master', '--syncid', '1x'], stderr: 'illegal syncid specified\n', exit: 2, source: 'ipvsadm.c string_to_number' },
  { argv: ['--start-daemon', 'master', '--sync-maxlen', '0'], stderr: 'illegal sync-maxlen specified\n', exit: 2, source: 'ipvsadm.c:886-892 (1..65507)' },
  { argv: ['--start-daemon', 'master', '--sync-maxlen', '65508'], stderr: 'illegal sync-maxlen specified\n', exit: 2, source: 'ipvsadm.c:886-892' },
  { argv: ['--start-daemon', 'master', '--mcast-ttl', '0'], stderr: 'illegal mcast-ttl specified\n', exit: 2, source: 'ipvsadm.c:879-885 (1..255)' },
  { argv: ['--start-daemon', 'master', '--mcast-ttl', '256'], stderr: 'illegal mcast-ttl specified\n', exit: 2, source: 'ipvsadm.c:879-885' },
  { argv: ['--start-daemon', 'master', '--mcast-port', '0'], stderr: 'illegal mcast-port specified\n', exit: 2, source: 'ipvsadm.c:872-878 (1..65535)' },
  { argv: ['--start-daemon', 'master', '--mcast-group', '198.51.100.1'], stderr: "invalid IPv4 mcast-group `198.51.100.1'\n", exit: 2, source: 'ipvsadm.c:862-869 (IN_MULTICAST)' },
  { argv: ['--start-daemon', 'master', '--mcast-group', '2001:db8::1'], stderr: "invalid IPv6 mcast-group `2001:db8::1'\n", exit: 2, source: 'ipvsadm.c:853-861 (IN6_IS_ADDR_MULTICAST)' },
  { argv: ['--start-daemon', 'master', '--mcast-group', 'bogus'], stderr: "invalid IPv4 mcast-group `bogus'\n", exit: 2, source: 'ipvsadm.c:862-869 (inet_pton fails)' },
  { argv: ['--start-daemon', 'master', '--syncid', '1', '--syncid', '2'], stderr: "multiple 'syncid' options specified\n", exit: 2, source: 'ipvsadm.c set_option' },
  { argv: ['--start-daemon', 'master', '-n'], stderr: "Illegal 'numeric' option with the 'start-daemon' command\n", exit: 2, source: 'ipvsadm.c STARTD row, generic_opt_check' },
  { argv: ['--stop-daemon', 'master', '--mcast-interface', 'eth0'], stderr: "Illegal 'mcast-interface' option with the 'stop-daemon' command\n", exit: 2, source: 'ipvsadm.c STOPD row' },
  { argv: ['--stop-daemon', 'master', '--mcast-ttl', '2'], stderr: "Illegal 'mcast-ttl' option with the 'stop-daemon' command\n", exit: 2, source: 'ipvsadm.c STOPD row' },
  { argv: ['-L', '--daemon', '--mcast-ttl', '1'], stderr: "Illegal 'mcast-ttl' option with the 'list' command\n", exit: 2, source: 'ipvsadm.c LIST row (--syncid, by contrast, is accepted and ignored)' },
  { argv: ['-L', '--daemon', '--syncid', '1'], stdout: '', exit: 0, sent: { op: 'list-sync' }, source: 'ipvsadm.c LIST row: sid optional' },
  { argv: ['-L', '--daemon', '-c'], stderr: "The option 'daemon' conflicts with the 'connection' option in the 'list' command\n", exit: 2, source: 'ipvsadm.c LIST row (both "1")' },
  { argv: ['-L', '--daemon', '--rate'], stderr: 'options conflicts in the list command\n', exit: 2, source: 'ipvsadm.c:1072-1076' },
  { argv: ['--start-daemon', 'master', 'extra'], stderr: 'unexpected argument extra\n', exit: 2, source: 'ipvsadm.c:955' },
  // xvs's --sync-peer
  { argv: ['--start-daemon', 'master', '--sync-peer', '198.51.100.300'], stderr: "illegal sync-peer `198.51.100.300' specified (want ADDR[:PORT], [ADDR]:PORT for IPv6)\n", exit: 2, source: 'xvs' },
  { argv: ['--start-daemon', 'master', '--sync-peer', '198.51.100.2:0'], stderr: "illegal sync-peer `198.51.100.2:0' specified (want ADDR[:PORT], [ADDR]:PORT for IPv6)\n", exit: 2, source: 'xvs' },
  { argv: ['--start-daemon', 'master', '--sync-peer', '[198.51.100.2]:80'], stderr: "illegal sync-peer `[198.51.100.2]:80' specified (want ADDR[:PORT], [ADDR]:PORT for IPv6)\n", exit: 2, source: 'xvs' },
  { argv: ['--start-daemon', 'master', '--sync-peer', '198.51.100.2', '--sync-peer', '198.51.100.2'], stderr: "duplicate sync-peer `198.51.100.2'\n", exit: 2, source: 'xvs' },
  { argv: ['--stop-daemon', 'master', '--sync-peer', '198.51.100.2'], stderr: "Illegal 'sync-peer' option with the 'stop-daemon' command\n", exit: 2, source: 'xvs' },
  { argv: ['--start-daemon', 'master', '--sync-peer', '198.51.100.2', '--mcast-group', '239.0.0.1'], stderr: "The option 'sync-peer' conflicts with the 'mcast-group' option in the 'start-daemon' command\n", exit: 2, source: 'xvs' },
];

t.test('sync daemon command lines: sent command, output and exit as ipvsadm', async (t) => {
  for (const c of CASES) {
    const d = fakeDaemon();
    const r = await xvsadm(c.argv, d.handle);
    const name = `xvsadm ${c.argv.join(' ')} [${c.source}]`;
    t.same(r, { stdout: c.stdout ?? '', stderr: c.stderr ?? '', exit: c.exit }, name);
    t.same(d.sent, c.sent ? [c.sent] : [], `${name}: sent`);
  }
});

t.test('start, list, start again, stop, stop again: one fake daemon through a session', async (t) => {
  const d = fakeDaemon();
  t.same(await xvsadm(['--start-daemon', 'master', '--mcast-interface', 'eth1', '--syncid', '9'], d.handle), { stdout: '', stderr: '', exit: 0 });
  t.same(await xvsadm(['--start-daemon', 'master', '--mcast-interface', 'eth1'], d.handle), { stdout: '', stderr: 'Daemon has already run\n', exit: 255 },
    'libipvs.c:1322 (start_daemon, EEXIST); ipvsadm.c:1142-1145 exit -1');
  t.same(await xvsadm(['--start-daemon', 'backup', '--mcast-interface', 'eth1', '--syncid', '9', '--sync-maxlen', '8000', '--mcast-group', '239.9.9.9', '--mcast-port', '8849', '--mcast-ttl', '2'], d.handle), { stdout: '', stderr: '', exit: 0 });
  t.same(await xvsadm(['-L', '--daemon'], d.handle), { stdout: golden('daemon-both.txt'), stderr: '', exit: 0 }, 'list_daemon: master then backup');
  t.same(await xvsadm(['--stop-daemon', 'master'], d.handle), { stdout: '', stderr: '', exit: 0 });
  t.same(await xvsadm(['--stop-daemon', 'master'], d.handle), { stdout: '', stderr: 'No daemon is running\n', exit: 255 }, 'libipvs.c:1323 (stop_daemon, ESRCH)');
  t.same(await xvsadm(['-Ln', '--daemon'], d.handle), {
    stdout: 'backup sync daemon (mcast=eth1, syncid=9, maxlen=8000, group=239.9.9.9, port=8849, ttl=2)\n', stderr: '', exit: 0,
  });
  t.same(await xvsadm(['--stop-daemon', 'backup'], d.handle), { stdout: '', stderr: '', exit: 0 });
  t.same(await xvsadm(['-L', '--daemon'], d.handle), { stdout: '', stderr: '', exit: 0 });
});

t.test('list_daemon lines: the kernel\'s defaults shown, IPv6 group, peers, master before backup', async (t) => {
  t.equal(daemonList([]), '');
  t.equal(daemonList([
    { role: 'backup', mcastInterface: 'eth1', syncId: 0, maxLen: 0 },
    { role: 'master', mcastInterface: 'eth0', syncId: 5, maxLen: 0, group: 'ff02::8:81' },
  ]), [
    'master sync daemon (mcast=eth0, syncid=5, maxlen=1452, group=ff02::8:81, port=8848, ttl=1)\n',
    'backup sync daemon (mcast=eth1, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n',
  ].join(''), 'start_sync_thread: maxlen = 1500 - IP - UDP headers; group/port/ttl defaults');
  t.equal(daemonList([{ role: 'master', mcastInterface: 'eth0', syncId: 1, maxLen: 1400, peers: ['198.51.100.2', '198.51.100.3:9000'] }]),
    'master sync daemon (mcast=eth0, syncid=1, maxlen=1400, port=8848, ttl=1, peers=198.51.100.2 198.51.100.3:9000)\n', 'unicast peers: no group');
  t.equal(daemonList([{ role: 'backup', mcastInterface: 'eth0', syncId: 1, maxLen: 0, peers: ['[2001:db8::1]:8848'] }]),
    'backup sync daemon (mcast=eth0, syncid=1, maxlen=1452, port=8848, ttl=1, peers=[2001:db8::1]:8848)\n', 'IPv6 peers: IPv6 headers');
});

t.test('daemon failures: no xvsd, list failures exit 1, other errors', async (t) => {
  const noDaemon = (): never => { throw new XvsError('NO_DAEMON', 'no xvsd'); };
  const hint = 'xvsadm: no xvsd is running in this network namespace; start one with: xvsd [--iface IF] (see README)\n';
  for (const argv of [['--start-daemon', 'master'], ['--stop-daemon', 'backup'], ['-L', '--daemon']]) {
    t.same(await xvsadm(argv, noDaemon), { stdout: '', stderr: hint, exit: 2 }, argv.join(' '));
  }
  const broken = (): never => { throw new XvsError('INTERNAL', 'sync manager unavailable'); };
  t.same(await xvsadm(['-L', '--daemon'], broken), { stdout: '', stderr: 'xvsadm: xvsd: sync manager unavailable\n', exit: 1 }, 'ipvsadm.c:2186-2187: exit(1)');
  t.same(await xvsadm(['--start-daemon', 'master'], broken), { stdout: '', stderr: 'xvsadm: xvsd: sync manager unavailable\n', exit: 255 });
  const inval = (): never => { throw new XvsError('EINVAL', 'no such interface'); };
  t.same(await xvsadm(['--start-daemon', 'master', '--mcast-interface', 'nope0'], inval),
    { stdout: '', stderr: 'Invalid operation.  Possibly wrong module version, address not unicast, ...\n', exit: 255 });
});

t.test('-R refuses sync daemon lines: they are not part of the table batch', async (t) => {
  const d = fakeDaemon();
  let stderr = '';
  const exit = await runXvsadm(['-R'], {
    request: async (cmd) => d.handle(cmd), resolver: numericResolver, stdout: () => {}, stderr: (s) => { stderr += s; },
    program: 'xvsadm', version: '0.1.0', readStdin: async () => '-A -t 192.0.2.1:80 -s rr\n--start-daemon master --mcast-interface eth1\n',
  });
  t.same({ exit, stderr, sent: d.sent }, { exit: 2, stderr: 'line 2: --start-daemon cannot be restored (-R changes the table as one batch); run it on its own\n', sent: [] });
});

t.test('parseSyncPeer: canonical text', async (t) => {
  t.equal(parseSyncPeer('198.51.100.7'), '198.51.100.7');
  t.equal(parseSyncPeer('198.51.100.7:65535'), '198.51.100.7:65535');
  t.equal(parseSyncPeer('[2001:0db8:0:0::7]'), '2001:db8::7');
  t.equal(parseSyncPeer('2001:DB8::7'), '2001:db8::7');
  for (const bad of ['', 'host.example', '198.51.100.7:', '198.51.100.7:70000', '[2001:db8::7]:', '[2001:db8::7]:0', '2001:db8::7:80:x']) {
    t.throws(() => parseSyncPeer(bad), { message: /illegal sync-peer/ }, JSON.stringify(bad));
  }
});
