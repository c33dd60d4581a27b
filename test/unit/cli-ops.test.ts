// test/unit/cli-ops.test.ts — ipvsadm -o (one-packet scheduling): accepted for UDP services (and fwmark
// ones), refused for TCP with ipvsadm's message, listed as " ops" after the persistence part by -L and as
// " -o" before -b by -S (ipvsadm.c print_service_entry), cleared by an -E without -o (the kernel takes the
// flags as given), carried through save/restore and the config file; the ring of a counting scheduler is
// not simulated forward for it (each one-packet connection is gone before the next datagram).
import t from 'tap';
import { runXvsadm, type XvsadmDeps } from '../../src/cli/main.js';
import { numericResolver } from '../../src/cli/names.js';
import { encodeBigints, type DaemonInfo } from '../../src/api/protocol.js';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { parseConfig } from '../../src/config/schema.js';

const INFO: DaemonInfo = { pid: 1, version: '0.1.0', connTableSize: 4096, interfaces: [] };

function setup() {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 16, maxDests: 16 });
  const run = async (argv: string[], stdin = '') => {
    let stdout = '';
    let stderr = '';
    const deps: XvsadmDeps = {
      request: async (cmd) => encodeBigints((cmd.op === 'info' ? INFO : table.execute(cmd)) ?? null),
      resolver: numericResolver, stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; },
      program: 'xvsadm', version: '0.1.0', readStdin: async () => stdin,
    };
    return { exit: await runXvsadm(argv, deps), stdout, stderr };
  };
  return { dp, table, run };
}

t.test('-o: listing, saving, editing, TCP refused', async (t) => {
  const { run, table } = setup();
  t.same(await run(['-A', '-u', '192.0.2.53:53', '-s', 'wlc', '-p', '60', '-o']), { exit: 0, stdout: '', stderr: '' });
  t.same(await run(['-a', '-u', '192.0.2.53:53', '-r', '198.51.100.1:53', '-g']), { exit: 0, stdout: '', stderr: '' });
  t.equal((await run(['-Ln'])).stdout.split('\n')[3], 'UDP  192.0.2.53:53 wlc persistent 60 ops', '-L: " ops" after the persistence part');
  t.equal((await run(['-S', '-n'])).stdout, '-A -u 192.0.2.53:53 -s wlc -p 60 -o\n-a -u 192.0.2.53:53 -r 198.51.100.1:53 -g -w 1\n', '-S: " -o"');
  t.equal(table.list()[0].onePacket, true);
  const tcp = await run(['-A', '-t', '192.0.2.53:53', '-o']);
  t.equal(tcp.exit, 2, 'TCP: exit 2');
  t.match(tcp.stderr, /One-Packet Scheduling is only for UDP virtual services/);
  t.same(await run(['-E', '-u', '192.0.2.53:53', '-s', 'rr']), { exit: 0, stdout: '', stderr: '' });
  t.equal((await run(['-Ln'])).stdout.split('\n')[3], 'UDP  192.0.2.53:53 rr', '-E without -o clears it (svc->flags = u->flags)');

  // Restore of what -S printed brings it back, all or nothing.
  const { run: run2, table: t2 } = setup();
  t.same(await run2(['-R'], '-A -u 192.0.2.53:53 -s rr -o -b flag-1\n'), { exit: 0, stdout: '', stderr: '' });
  t.same(t2.list().map((s) => [s.onePacket, s.schedFlags]), [[true, 1]]);
  t.equal((await run2(['-S', '-n'])).stdout, '-A -u 192.0.2.53:53 -s rr -o -b flag-1\n', '-o before -b, as ipvsadm');
});

t.test('config: onePacket', async (t) => {
  const cfg = parseConfig({ services: [{ protocol: 'udp', addr: '192.0.2.53', port: 53, scheduler: 'rr', onePacket: true, dests: [] }] }, 'cfg');
  t.equal(cfg.services[0].onePacket, true);
});

t.test('a counting scheduler\'s ring is not simulated forward under -o', async (t) => {
  const picks = (onePacket: boolean): number[] => {
    const dp = new FakeDatapath();
    const table = new ServiceTable(dp, { maxServices: 4, maxDests: 8 });
    const key = { protocol: 'udp' as const, addr: '192.0.2.53', port: 53 };
    table.execute({ op: 'add-service', service: { ...key, scheduler: 'lc', persistent: 0, netmask: '255.255.255.255', ...(onePacket ? { onePacket } : {}) } });
    for (const a of ['198.51.100.1', '198.51.100.2']) table.execute({ op: 'add-dest', key, dest: { addr: a, port: 53, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0 } });
    const id = [...dp.services.values()][0].id;
    return Array.from({ length: 4 }, () => dp.consume(id));
  };
  const normal = picks(false);
  t.equal(new Set(normal).size, 2, `without -o each pick counts: lc alternates (${normal})`);
  const ops = picks(true);
  t.equal(new Set(ops).size, 1, `with -o the counts stay as they are: lc keeps the least-loaded dest (${ops})`);
});

t.test('--pe: no persistence engine in xvs, refused as by a kernel without ip_vs_pe_sip', async (t) => {
  const { run, table } = setup();
  const r = await run(['-A', '-u', '192.0.2.1:5060', '-p', '--pe', 'sip']);
  t.same(r, { exit: 255, stdout: '', stderr: 'Scheduler or persistence engine not found\n' }, 'ENOENT, ipvs_strerror\'s message');
  t.equal(table.size, 0, 'nothing added');
  t.same(await run(['-A', '-u', '192.0.2.1:5060', '-p']), { exit: 0, stdout: '', stderr: '' });
  t.same(await run(['-A', '-u', '192.0.2.1:5060', '--pe', 'sip']), { exit: 255, stdout: '', stderr: 'Service already exists\n' }, 'the existence check comes first, as in the kernel');
  t.same(await run(['-E', '-u', '192.0.2.1:5060', '-p', '--pe', 'sip']), { exit: 255, stdout: '', stderr: 'Scheduler or persistence engine not found\n' });
  const restore = await run(['-R'], '-A -u 192.0.2.2:5060 -s rr\n-A -u 192.0.2.3:5060 -s rr -p 300 --pe sip\n');
  t.equal(restore.exit, 255, '-R with a --pe line: refused');
  t.equal(table.size, 1, 'and nothing of it applied');
});

t.test('FULLNAT local addresses survive -S | -C | -R (xvs\'s --add-laddr lines, always numeric)', async (t) => {
  const { run, table } = setup();
  const rules = [
    '-A -t 192.0.2.80:80 -s rr',
    '--add-laddr -t 192.0.2.80:80 -z 198.51.100.201',
    '--add-laddr -t 192.0.2.80:80 -z 198.51.100.202',
    '-a -t 192.0.2.80:80 -r 203.0.113.5:8080 --fullnat -w 1',
    '-A -t [2001:db8::80]:80 -s wlc',
    '--add-laddr -t [2001:db8::80]:80 -z 2001:db8::201',
    '-a -t [2001:db8::80]:80 -r [2001:db8::5]:8080 --fullnat -w 2',
    '',
  ].join('\n');
  t.same(await run(['-R'], rules), { exit: 0, stdout: '', stderr: '' });
  t.same(table.listLaddrs().map((l) => l.laddrs), [['198.51.100.201', '198.51.100.202'], ['2001:db8::201']]);
  const saved = (await run(['-S', '-n'])).stdout;
  t.equal(saved, rules, '-S -n prints the local addresses after their service (the rules exactly as restored)');
  t.same(await run(['-C']), { exit: 0, stdout: '', stderr: '' });
  t.same(await run(['-R'], saved), { exit: 0, stdout: '', stderr: '' });
  t.equal((await run(['-S', '-n'])).stdout, saved, 'restored identically');
  const bad = await run(['-R'], '-A -t 192.0.2.81:80 -s rr\n--add-laddr -t 192.0.2.81:80 -z not-an-address\n');
  t.equal(bad.exit, 2, 'a bad --add-laddr line: exit 2');
  t.match(bad.stderr, /^line 2: Illegal local address specified/);
  t.equal(table.size, 2, 'and nothing of that restore applied');
});
