// test/unit/rs-args.test.ts — xvs-rs's command line: what is accepted (and how it is normalised) and
// what is refused with a message, before anything touches the system.
import t from 'tap';
import { parseRsArgs } from '../../src/rs/args.js';

const accepted: [string, string[], unknown][] = [
  ['up with one IPv4 VIP', ['up', '--vip', '192.0.2.100'], { cmd: 'up', vips: ['192.0.2.100'] }],
  ['up with several VIPs', ['up', '--vip', '192.0.2.100', '--vip', '2001:db8::100'], { cmd: 'up', vips: ['192.0.2.100', '2001:db8::100'] }],
  ['--vip=ADDR form', ['up', '--vip=198.51.100.7'], { cmd: 'up', vips: ['198.51.100.7'] }],
  ['IPv6 canonicalised', ['up', '--vip', '2001:0DB8:0:0::0100'], { cmd: 'up', vips: ['2001:db8::100'] }],
  ['duplicates removed after canonicalisation', ['up', '--vip', '2001:db8::1', '--vip', '2001:0db8::0001'], { cmd: 'up', vips: ['2001:db8::1'] }],
  ['options before the command', ['--vip', '192.0.2.1', 'up'], { cmd: 'up', vips: ['192.0.2.1'] }],
  ['up --mode tun', ['up', '--vip', '192.0.2.100', '--mode', 'tun'], { cmd: 'up', vips: ['192.0.2.100'], mode: 'tun' }],
  ['up --mode dr', ['up', '--vip', '192.0.2.100', '--mode=dr'], { cmd: 'up', vips: ['192.0.2.100'], mode: 'dr' }],
  ['down', ['down'], { cmd: 'down' }],
  ['status', ['status'], { cmd: 'status', json: false }],
  ['status --json', ['status', '--json'], { cmd: 'status', json: true }],
  ['--help', ['--help'], { cmd: 'help' }],
  ['-h with a command', ['up', '-h'], { cmd: 'help' }],
  ['help', ['help'], { cmd: 'help' }],
];

const refused: [string, string[], RegExp][] = [
  ['no command', [], /missing command/],
  ['unknown command', ['start'], /unknown command 'start'/],
  ['up without --vip', ['up'], /at least one --vip/],
  ['unknown --mode', ['up', '--vip', '192.0.2.1', '--mode', 'nat'], /--mode must be 'dr' or 'tun'/],
  ['--mode with down', ['down', '--mode', 'tun'], /option --mode is not valid with 'down'/],
  ['not an address', ['up', '--vip', 'web1'], /--vip 'web1': not an IP address/],
  ['out-of-range IPv4', ['up', '--vip', '192.0.2.300'], /not an IP address/],
  ['prefix length given', ['up', '--vip', '192.0.2.100/32'], /not an IP address/],
  ['loopback', ['up', '--vip', '127.0.0.2'], /unicast/],
  ['unspecified', ['up', '--vip', '0.0.0.0'], /unicast/],
  ['multicast', ['up', '--vip', '224.0.0.5'], /unicast/],
  ['IPv6 loopback', ['up', '--vip', '::1'], /unicast/],
  ['IPv6 link-local', ['up', '--vip', 'fe80::1'], /unicast/],
  ['--vip without value', ['up', '--vip'], /argument missing|--vip/],
  ['unknown option', ['up', '--vip', '192.0.2.1', '--force'], /Unknown option '--force'/],
  ['--vip with down', ['down', '--vip', '192.0.2.1'], /--vip is not valid with 'down'/],
  ['--json with up', ['up', '--vip', '192.0.2.1', '--json'], /--json is not valid with 'up'/],
  ['two commands', ['up', 'down'], /unexpected argument 'down'/],
];

for (const [name, argv, command] of accepted) {
  t.test(`accepts: ${name}`, async (t) => {
    t.same(parseRsArgs(argv), { ok: true, command });
  });
}

for (const [name, argv, message] of refused) {
  t.test(`refuses: ${name}`, async (t) => {
    const r = parseRsArgs(argv);
    t.equal(r.ok, false);
    if (!r.ok) t.match(r.message, message);
  });
}
