// test/unit/cli-fwmark.test.ts — fwmark services (-f) in xvs: the service is keyed by mark and family as
// in IPVS, and since XDP sees no netfilter marks, xvsadm --add-fwmark-match PROTO:VIP:PORT[-PORT] -f MARK
// puts one xvs_svcs entry per port that names the fwmark service's id. Listing (FWM lines), saving and
// restoring as ipvsadm does for -f, conflicts with ordinary services, and deletion cleaning every entry.
import t from 'tap';
import { runXvsadm, type XvsadmDeps } from '../../src/cli/main.js';
import { numericResolver } from '../../src/cli/names.js';
import { encodeBigints, type DaemonInfo } from '../../src/api/protocol.js';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { parseFwmarkMatch } from '../../src/cli/parse.js';

const INFO: DaemonInfo = { pid: 1, version: '0.1.0', connTableSize: 4096, interfaces: [] };

function setup(maxServices = 16) {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices, maxDests: 16 });
  const run = async (argv: string[], stdin = '') => {
    let stdout = '';
    let stderr = '';
    const deps: XvsadmDeps = {
      request: async (cmd) => encodeBigints((cmd.op === 'info' ? INFO : table.execute(cmd)) ?? null),
      resolver: numericResolver,
      stdout: (s) => { stdout += s; },
      stderr: (s) => { stderr += s; },
      program: 'xvsadm',
      version: '0.1.0',
      readStdin: async () => stdin,
    };
    return { exit: await runXvsadm(argv, deps), stdout, stderr };
  };
  /** The data path's service map: key → service id. */
  const keys = () => [...dp.services.values()].map((s) => `${s.key.protocol}:${s.key.addr}:${s.key.port}=${s.id}`).sort();
  return { dp, table, run, keys };
}

const OK = { exit: 0, stdout: '', stderr: '' };

t.test('match text', async (t) => {
  t.same(parseFwmarkMatch('tcp:192.0.2.1:80'), { protocol: 'tcp', addr: '192.0.2.1', portLo: 80, portHi: 80 });
  t.same(parseFwmarkMatch('udp:[2001:db8::1]:5000-5003'), { protocol: 'udp', addr: '2001:db8::1', portLo: 5000, portHi: 5003 });
  for (const bad of ['tcp:192.0.2.1', 'icmp:192.0.2.1:80', 'tcp:192.0.2.1:90-80', 'tcp:192.0.2.300:80', 'tcp:2001:db8::1:80', 'tcp:192.0.2.1:0']) {
    t.throws(() => parseFwmarkMatch(bad), { exitCode: 2, message: new RegExp(`^illegal fwmark match`) }, bad);
  }
});

t.test('a fwmark service: matches map ports to its id; FWM listing; ipvsadm-save format', async (t) => {
  const { run, keys, table } = setup();
  t.same(await run(['-A', '-f', '1', '-s', 'rr']), OK);
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.1:80-82', '-f', '1']), OK);
  t.same(await run(['--add-fwmark-match', 'udp:192.0.2.1:53', '-f', '1']), OK);
  t.same(await run(['-a', '-f', '1', '-r', '198.51.100.1', '-g', '-w', '2']), OK);
  t.same(await run(['-A', '-t', '192.0.2.1:443', '-s', 'wrr']), OK);
  const id = table.list().find((s) => s.fwmark === 1) && keys().find((k) => k.startsWith('tcp:192.0.2.1:80='))?.split('=')[1];
  t.same(keys(), [`tcp:192.0.2.1:443=1`, `tcp:192.0.2.1:80=${id}`, `tcp:192.0.2.1:81=${id}`, `tcp:192.0.2.1:82=${id}`, `udp:192.0.2.1:53=${id}`]);
  t.equal((await run(['-Ln'])).stdout, [
    'IP Virtual Server version 1.2.1 (size=4096)\n',
    'Prot LocalAddress:Port Scheduler Flags\n',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    'TCP  192.0.2.1:443 wrr\n',
    'FWM  1 rr\n',
    '  -> 198.51.100.1:0               Route   2      0          0         \n',
  ].join(''), 'ordinary services first, then FWM lines (ipvs_cmp_services compares the mark first)');
  const saved = (await run(['-S', '-n'])).stdout;
  t.equal(saved, [
    '-A -t 192.0.2.1:443 -s wrr\n',
    '-A -f 1 -s rr\n',
    '--add-fwmark-match tcp:192.0.2.1:80-82 -f 1\n',
    '--add-fwmark-match udp:192.0.2.1:53 -f 1\n',
    '-a -f 1 -r 198.51.100.1:0 -g -w 2\n',
  ].join(''));
  const before = keys().length;
  t.same(await run(['-C']), OK);
  t.same(keys(), []);
  t.same(await run(['-R'], saved), OK);
  t.equal((await run(['-S', '-n'])).stdout, saved, 'restored identically');
  t.equal(keys().length, before);
});

t.test('conflicts, families, limits, deletion', async (t) => {
  const { run, keys } = setup(8);
  await run(['-A', '-f', '7', '-s', 'rr']);
  await run(['-A', '-f', '7', '-6', '-s', 'rr']);
  await run(['-A', '-t', '192.0.2.1:80', '-s', 'rr']);
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.1:79-80', '-f', '7']), { exit: 255, stdout: '', stderr: 'xvsadm: tcp:192.0.2.1:80 is already a virtual service\n' });
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.1:81', '-f', '7']), OK);
  t.same(await run(['-A', '-t', '192.0.2.1:81', '-s', 'rr']), { exit: 255, stdout: '', stderr: 'Service already exists\n' }, 'a matched key cannot become a service');
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.1:81', '-f', '7', '-6']), { exit: 255, stdout: '', stderr: 'xvsadm: the match address and the fwmark service must be of the same address family (-6 for IPv6)\n' });
  t.same(await run(['--add-fwmark-match', 'tcp:[2001:db8::1]:81', '-f', '7', '-6']), OK);
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.2:1-100', '-f', '7']), { exit: 255, stdout: '', stderr: 'xvsadm: the service table is full (100 ports would need as many entries)\n' });
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.2:1', '-f', '8']), { exit: 255, stdout: '', stderr: 'No such service\n' });
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.2:1', '-t', '192.0.2.1:80']), { exit: 2, stdout: '', stderr: "The 'add-fwmark-match' command needs a fwmark service (-f)\n" });
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.2:1']), { exit: 2, stdout: '', stderr: "You need to supply the 'service-address' option for the 'add-fwmark-match' command\n" });
  t.same(await run(['--add-fwmark-match', 'tcp:192.0.2.2:1', '-f', '7', '-s', 'rr']), { exit: 2, stdout: '', stderr: "Illegal 'scheduler' option with the 'add-fwmark-match' command\n" });
  t.same(await run(['--del-fwmark-match', 'tcp:192.0.2.1:82', '-f', '7']), { exit: 255, stdout: '', stderr: 'xvsadm: no such match in fwm:7\n' });
  t.same(await run(['--del-fwmark-match', 'tcp:192.0.2.1:81', '-f', '7']), OK);
  t.same(keys().filter((k) => k.includes(':81=')), ['tcp:2001:db8::1:81=1']);
  t.same(await run(['-D', '-f', '7', '-6']), OK);
  t.same(keys(), ['tcp:192.0.2.1:80=2'], 'only the ordinary service is left in the data path');
  t.match((await run(['-Ln'])).stdout, /FWM  7 rr\n/);
});
