// test/unit/cli-laddr.test.ts — xvsadm's FULLNAT local address commands (xvs's extension): argv → Command,
// usage errors, the listing format.
import t from 'tap';
import { formatLaddrs, isLaddrInvocation, parseLaddrArgv } from '../../src/cli/laddr.js';
import { CliExit } from '../../src/cli/messages.js';

t.test('argv → command', async (t) => {
  t.same(parseLaddrArgv(['--add-laddr', '-t', '192.0.2.1:80', '-z', '198.51.100.1']),
    { op: 'add-laddr', key: { protocol: 'tcp', addr: '192.0.2.1', port: 80 }, addr: '198.51.100.1' });
  t.same(parseLaddrArgv(['-Q', '-u', '[2001:DB8::1]:53', '--laddr=2001:db8:0::2']),
    { op: 'del-laddr', key: { protocol: 'udp', addr: '2001:db8::1', port: 53 }, addr: '2001:db8::2' });
  t.same(parseLaddrArgv(['-G']), { op: 'list-laddrs' });
  t.same(parseLaddrArgv(['--get-laddr', '-t', '192.0.2.1:80']), { op: 'list-laddrs', key: { protocol: 'tcp', addr: '192.0.2.1', port: 80 } });
  t.ok(isLaddrInvocation(['-P', '-t', 'x']));
  t.notOk(isLaddrInvocation(['-A', '-t', '192.0.2.1:80', '-P']), 'only as the first argument');
});

t.test('usage errors exit 2 and send nothing', async (t) => {
  for (const argv of [
    ['-P', '-t', '192.0.2.1:80'], ['-P', '-z', '198.51.100.1'], ['-P', '-t', '192.0.2.1', '-z', '198.51.100.1'],
    ['-P', '-t', '192.0.2.1:80', '-z', 'nope'], ['-G', '-z', '198.51.100.1'], ['-P', '-t', '192.0.2.1:80', '-z', '198.51.100.1', '-w', '1'],
  ]) {
    let caught: unknown;
    try { parseLaddrArgv(argv); } catch (e) { caught = e; }
    t.ok(caught instanceof CliExit && caught.exitCode === 2, argv.join(' '));
  }
});

t.test('listing', async (t) => {
  t.equal(formatLaddrs([
    { service: { protocol: 'udp', addr: '192.0.2.1', port: 53 }, laddrs: [] },
    { service: { protocol: 'tcp', addr: '2001:db8::1', port: 80 }, laddrs: ['2001:db8::a', '2001:db8::b'] },
  ]), 'Prot LocalAddress:Port\n  -> LocalNatAddress\nTCP  [2001:db8::1]:80\n  -> 2001:db8::a\n  -> 2001:db8::b\nUDP  192.0.2.1:53\n');
});
