// test/unit/cli-save-restore.test.ts — xvsadm -S/-S -n/--rate/-Z/-R: ipvsadm-save's format byte for byte
// (golden files under test/fixtures/golden/, checked against ipvsadm.c print_service_entry's FMT_RULE
// and FMT_RATE printf formats), restore line splitting, and -R against the real service table: round
// trip of 1,000 services × 10 dests, and a bad line anywhere leaves the table untouched and is named.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runXvsadm, type XvsadmDeps } from '../../src/cli/main.js';
import { saveRules, serviceTable, type ListFormat, DEFAULT_LIST_FORMAT, type NameLookup, NO_NAMES } from '../../src/cli/format.js';
import { restoreTokens } from '../../src/cli/restore.js';
import { numericResolver, type NameResolver } from '../../src/cli/names.js';
import type { Command } from '../../src/model/command.js';
import type { ServiceView, Stats, Rates } from '../../src/model/service.js';
import { encodeBigints, type DaemonInfo } from '../../src/api/protocol.js';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { repoRoot } from '../../src/paths.js';

const golden = (name: string): string => readFileSync(path.join(repoRoot, 'test/fixtures/golden', name), 'utf8');
const INFO: DaemonInfo = { pid: 1, version: '0.1.0', connTableSize: 4096, interfaces: [] };
const stats: Stats = { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n };
const rates = (cps: bigint, pps: bigint, bps: bigint): Rates => ({ cps, inpps: pps, outpps: pps / 2n, inbps: bps, outbps: bps / 3n });
const dest = (addr: string, port: number, fwd: 'route' | 'tunnel' | 'masq', weight: number, r?: Rates) => ({
  addr, port, fwd, weight, uThreshold: 0, lThreshold: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats, ...(r ? { rates: r } : {}),
});

/** The table the golden files show, in the kernel's (unsorted) order. */
const TABLE: ServiceView[] = [
  { protocol: 'tcp', addr: '2001:db8::10', port: 443, scheduler: 'rr', persistent: 0, netmask: '128', stats, dests: [dest('2001:db8::1', 443, 'route', 2)] },
  { protocol: 'udp', addr: '192.0.2.10', port: 53, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255', stats, dests: [dest('198.51.100.3', 53, 'tunnel', 0)] },
  {
    protocol: 'tcp', addr: '192.0.2.10', port: 80, scheduler: 'wrr', persistent: 0, netmask: '255.255.255.255', stats,
    rates: rates(123n, 123_456_789n, 98_765_432_101n),
    dests: [dest('198.51.100.2', 80, 'route', 3, rates(100n, 99_999_999n, 1_500_000_000n)), dest('198.51.100.1', 80, 'route', 1, rates(23n, 23_456_790n, 99_999_999n))],
  },
  { protocol: 'tcp', addr: '192.0.2.11', port: 8080, scheduler: 'rr', persistent: 300, netmask: '255.255.255.0', stats, dests: [dest('198.51.100.4', 8081, 'masq', 1)] },
];
const NAMES: NameLookup = {
  host: (a) => ({ '192.0.2.10': 'www.example.com', '198.51.100.1': 'web1.example.com' } as Record<string, string>)[a],
  service: (port, proto) => (port === 80 && proto === 'tcp' ? 'http' : port === 53 && proto === 'udp' ? 'domain' : undefined),
};
const fmt = (over: Partial<ListFormat>): ListFormat => ({ ...DEFAULT_LIST_FORMAT, ...over });

t.test('-S -n and -S: ipvsadm-save rules, sorted, names unless -n', async (t) => {
  t.equal(saveRules(TABLE, fmt({ numeric: true }), NO_NAMES), golden('save-n.txt'));
  t.equal(saveRules(TABLE, fmt({}), NAMES), golden('save-names.txt'));
});

t.test('-S: persistence before scheduler flags, flags by the scheduler\'s names (print_service_entry FMT_RULE)', async (t) => {
  const base = TABLE[3];
  const rules = saveRules([
    { ...base, port: 1, scheduler: 'sh', schedFlags: 3, persistent: 0, dests: [] },
    { ...base, port: 2, scheduler: 'rr', schedFlags: 2, dests: [] },
    { ...base, port: 3, scheduler: 'sh', schedFlags: 4, persistent: 0, dests: [] },
  ], fmt({ numeric: true }), NO_NAMES);
  t.equal(rules, [
    '-A -t 192.0.2.11:1 -s sh -b sh-fallback,sh-port\n',
    '-A -t 192.0.2.11:2 -s rr -p 300 -M 255.255.255.0 -b flag-2\n',
    '-A -t 192.0.2.11:3 -s sh -b \n',
  ].join(''));
});

t.test('--rate and --rate --exact: service rates scaled, dest cps/pps never scaled', async (t) => {
  t.equal(serviceTable(TABLE, fmt({ numeric: true, rate: true }), NO_NAMES), golden('rate-n.txt'));
  t.equal(serviceTable(TABLE, fmt({ numeric: true, rate: true, exact: true }), NO_NAMES), golden('rate-exact-n.txt'));
});

t.test('restore lines split like config_stream.c', async (t) => {
  t.same(restoreTokens('-A -t 192.0.2.1:80 -s rr'), ['-A', '-t', '192.0.2.1:80', '-s', 'rr']);
  t.same(restoreTokens('ipvsadm  -a\t-t 192.0.2.1:80 -r 198.51.100.1 -g -w 1\r'), ['-a', '-t', '192.0.2.1:80', '-r', '198.51.100.1', '-g', '-w', '1']);
  t.same(restoreTokens('   '), []);
  t.same(restoreTokens('# a comment'), []);
});

/** xvsadm against a real ServiceTable on the in-memory datapath. */
function daemon(table: ServiceTable) {
  const sent: Command[] = [];
  return {
    sent,
    run: async (argv: string[], stdin = '', resolver: NameResolver = numericResolver) => {
      let stdout = '';
      let stderr = '';
      const deps: XvsadmDeps = {
        request: async (cmd) => { sent.push(cmd); return encodeBigints((cmd.op === 'info' ? INFO : table.execute(cmd)) ?? null); },
        resolver,
        stdout: (s) => { stdout += s; },
        stderr: (s) => { stderr += s; },
        program: 'xvsadm',
        version: '0.1.0',
        readStdin: async () => stdin,
      };
      const exit = await runXvsadm(argv, deps);
      return { exit, stdout, stderr };
    },
  };
}

/** A large ipvsadm-save file: `services` services of `dests` dests each, the way ipvsadm -S -n sorts it. */
function bigRules(services: number, dests: number, firstOctet = 1): string {
  let out = '';
  for (let s = 0; s < services; s++) {
    const svc = `-t 192.0.2.${firstOctet + Math.floor(s / 250)}:${1000 + (s % 250)}`;
    out += `-A ${svc} -s ${s % 3 ? 'rr' : 'wrr'}\n`;
    for (let d = 1; d <= dests; d++) out += `-a ${svc} -r 198.51.100.${d}:${1000 + (s % 250)} -g -w ${(s + d) % 7}\n`;
  }
  return out;
}

t.test('-S then -C then -R restores the identical table (1,000 services × 10 dests)', async (t) => {
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 1024, maxDests: 16384 });
  const x = daemon(table);
  const rules = bigRules(1000, 10);
  const first = await x.run(['-R'], rules);
  t.same(first, { exit: 0, stdout: '', stderr: '' });
  t.equal(x.sent.at(-1)?.op, 'batch', 'one batch');
  t.equal(table.size, 1000);
  const saved = await x.run(['-S', '-n']);
  t.equal(saved.exit, 0);
  t.equal(saved.stdout, rules, 'the saved file is the input, byte for byte');
  const listing = (await x.run(['-Ln'])).stdout;
  t.same(await x.run(['-C']), { exit: 0, stdout: '', stderr: '' });
  t.equal(table.size, 0);
  t.same(await x.run(['-R'], saved.stdout), { exit: 0, stdout: '', stderr: '' });
  t.equal((await x.run(['-Ln'])).stdout, listing, 'the same listing after the round trip');
  t.equal((await x.run(['-S', '-n'])).stdout, rules);
});

t.test('-R with a bad line changes nothing and names the line, with ipvsadm\'s message and status', async (t) => {
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 64, maxDests: 256 });
  const x = daemon(table);
  await x.run(['-R'], bigRules(3, 2));
  const before = (await x.run(['-S', '-n'])).stdout;
  const good = bigRules(5, 3, 100).split('\n').slice(0, -1);
  const cases: [string, number, string, number][] = [
    // a parse failure: ipvsadm's fail() text, exit 2
    ['-a -t 192.0.2.1:1000 -r 198.51.100.9 -w 70000', 2, 'illegal weight specified', 2],
    ['-A -t 192.0.2.1:2000 -w 1', 2, "Illegal 'weight' option with the 'add-service' command", 2],
    ['-A --bogus', 2, '--bogus: unknown option', 255],
    ['--bogus', 2, "Try `xvsadm -h' or 'xvsadm --help' for more information.", 255],
    // kernel failures: ipvs_strerror text, exit 255 (the table would be half restored by ipvsadm; not here)
    ['-A -t 192.0.2.1:1000 -s rr', 2, 'Service already exists', 255],
    ['-a -t 192.0.2.99:80 -r 198.51.100.1 -g -w 1', 6, 'Service not defined', 255],
    ['-e -t 192.0.2.1:1000 -r 198.51.100.77 -g -w 1', 9, 'No such destination', 255],
    ['-A -t 192.0.2.9:80 -s fastest', 4, 'Scheduler or persistence engine not found', 255],
    ['-R', 3, "Try `xvsadm -h' or 'xvsadm --help' for more information.", 255],
    ['-Ln', 3, 'only commands that change the table can be restored (not list)', 2],
  ];
  for (const [bad, at, message, exit] of cases) {
    const lines = [...good];
    lines.splice(at - 1, 0, bad);
    const r = await x.run(['-R'], lines.join('\n') + '\n');
    t.same(r, { exit, stdout: '', stderr: `line ${at}: ${message}\n` }, bad);
    t.equal((await x.run(['-S', '-n'])).stdout, before, 'table untouched');
  }
});

t.test('-Z zeroes one service or all; a missing service is ipvsadm\'s "No such service", 255', async (t) => {
  const table = new ServiceTable(new FakeDatapath(), { maxServices: 8, maxDests: 8 });
  const x = daemon(table);
  await x.run(['-R'], bigRules(2, 1));
  t.same(await x.run(['-Z']), { exit: 0, stdout: '', stderr: '' });
  t.same(x.sent.at(-1), { op: 'zero', key: undefined });
  t.same(await x.run(['-Z', '-t', '192.0.2.1:1001']), { exit: 0, stdout: '', stderr: '' });
  t.same(x.sent.at(-1), { op: 'zero', key: { protocol: 'tcp', addr: '192.0.2.1', port: 1001 } });
  t.same(await x.run(['-Z', '-t', '192.0.2.1:9']), { exit: 255, stdout: '', stderr: 'No such service\n' });
  t.same(await x.run(['-Z', '-r', '198.51.100.1']), { exit: 2, stdout: '', stderr: "Illegal 'real-server' option with the 'zero' command\n" });
});

t.test('-S takes only -n (ipvsadm.c commands_v_options SAVE row)', async (t) => {
  const x = daemon(new ServiceTable(new FakeDatapath(), { maxServices: 8, maxDests: 8 }));
  t.same(await x.run(['-S', '--stats']), { exit: 2, stdout: '', stderr: "Illegal 'stats' option with the 'save' command\n" });
  t.same(await x.run(['-S', '-t', '192.0.2.1:80']), { exit: 2, stdout: '', stderr: "Illegal 'service-address' option with the 'save' command\n" });
  t.same(await x.run(['-S']), { exit: 0, stdout: '', stderr: '' }, 'an empty table saves as nothing');
});
