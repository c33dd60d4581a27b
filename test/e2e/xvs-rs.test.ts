// test/e2e/xvs-rs.test.ts — xvs-rs in a fresh namespace: `up` puts the VIPs on lo and sets the DR
// sysctls, `down` restores the namespace exactly (addresses and every IPv4 conf sysctl), and refused
// input changes nothing. Needs root and `npm run build` (bin/xvs-rs runs dist/).
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Topology, binArgv, repoRoot, type Netns } from '../../src/netns/index.js';

const VIP4 = '192.0.2.100';
const VIP6 = '2001:db8::100';

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root (network namespaces)');
} else if (!existsSync(path.join(repoRoot, 'dist/src/rs/main.js'))) {
  t.fail('dist/src/rs/main.js is missing: run npm run build first');
} else {
  t.setTimeout(60_000);
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'xvs-rs-state-'));
  const topo = await Topology.create();
  t.teardown(async () => {
    await topo.teardown();
    rmSync(stateDir, { recursive: true, force: true });
  });
  const rs = await topo.addNs('rs');
  const peer = await topo.addNs('peer');
  const [eth] = await topo.veth(rs, 'eth', peer, 'eth');
  await rs.addAddr(eth.ifname, '198.51.100.2/24');
  // Non-default starting values, so "restored" cannot be confused with "reset to defaults".
  await rs.sysctl('net.ipv4.conf.all.rp_filter', 1);
  await rs.sysctl(`net.ipv4.conf.${eth.ifname}.rp_filter`, 2);
  await rs.sysctl(`net.ipv4.conf.${eth.ifname}.arp_ignore`, 2);
  await rs.sysctl('net.ipv4.conf.lo.arp_announce', 1);
  // An address already on lo that xvs-rs must leave alone.
  await rs.addAddr('lo', '198.51.100.200/32');

  const xvsRs = (ns: Netns, args: string[]) =>
    ns.exec(binArgv('xvs-rs', args), { allowFail: true, env: { ...process.env, XVS_RS_STATE_DIR: stateDir } });

  /** Everything xvs-rs may touch: addresses of all links and every net.ipv4.conf sysctl. */
  const snapshot = async (ns: Netns) => {
    const addrs = JSON.parse((await ns.ip(['-j', 'addr', 'show'])).stdout) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
    const sysctls = (await ns.exec(['sysctl', '-a', '--pattern', '^net\\.ipv4\\.conf\\.'])).stdout
      .split('\n').filter(Boolean).sort();
    return {
      addrs: addrs.map((l) => ({ ifname: l.ifname, addrs: l.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort() })),
      sysctls,
    };
  };
  const sysctl = async (key: string) => (await rs.exec(['sysctl', '-n', key])).stdout.trim();
  const loAddrs = async () => (await snapshot(rs)).addrs.find((l) => l.ifname === 'lo')!.addrs;

  const before = await snapshot(rs);

  t.test('bad input: exit 2, a message, nothing changed', async (t) => {
    for (const args of [['up'], ['up', '--vip', 'not-an-ip'], ['up', '--vip', VIP4, '--bogus'], ['sideways']]) {
      const r = await xvsRs(rs, args);
      t.equal(r.code, 2, `xvs-rs ${args.join(' ')} exits 2`);
      t.match(r.stderr, /^xvs-rs: .+/, 'with a message');
    }
    t.same(await snapshot(rs), before);
    t.same(readdirSync(stateDir), [], 'no state written');
  });

  t.test('a VIP held on another interface is refused, nothing changed', async (t) => {
    await rs.addAddr(eth.ifname, '198.51.100.100/32');
    const r = await xvsRs(rs, ['up', '--vip', '198.51.100.100']);
    t.equal(r.code, 1);
    t.match(r.stderr, /on lo only/);
    await rs.ip(['addr', 'del', '198.51.100.100/32', 'dev', eth.ifname]);
    t.same(await snapshot(rs), before);
  });

  t.test('status before up', async (t) => {
    const r = await xvsRs(rs, ['status', '--json']);
    t.equal(r.code, 0);
    t.match(JSON.parse(r.stdout), { up: false, vips: [], sysctls: [] });
  });

  t.test('up: VIPs on lo, ARP sysctls, rp_filter off', async (t) => {
    const r = await xvsRs(rs, ['up', '--vip', VIP4, '--vip', VIP6, '--vip', '198.51.100.200']);
    t.equal(r.code, 0, r.stderr);
    const lo = await loAddrs();
    t.ok(lo.includes(`${VIP4}/32`), 'IPv4 VIP on lo as /32');
    t.ok(lo.includes(`${VIP6}/128`), 'IPv6 VIP on lo as /128');
    t.equal(await sysctl('net.ipv4.conf.all.arp_ignore'), '1');
    t.equal(await sysctl('net.ipv4.conf.all.arp_announce'), '2');
    t.equal(await sysctl('net.ipv4.conf.lo.arp_ignore'), '1');
    t.equal(await sysctl('net.ipv4.conf.lo.arp_announce'), '2');
    t.equal(await sysctl('net.ipv4.conf.all.rp_filter'), '0');
    t.equal(await sysctl(`net.ipv4.conf.${eth.ifname}.rp_filter`), '0');
    t.equal(await sysctl(`net.ipv4.conf.${eth.ifname}.arp_ignore`), '2', 'a stricter per-device value is left alone');

    const status = JSON.parse((await xvsRs(rs, ['status', '--json'])).stdout);
    t.equal(status.up, true);
    t.same(status.vips.map((v: { addr: string }) => v.addr), [VIP4, VIP6], 'the pre-existing address is not claimed');
    t.equal(readdirSync(stateDir).length, 1, 'one state file for this namespace');

    const again = await xvsRs(rs, ['up', '--vip', VIP4]);
    t.equal(again.code, 0, 'up is idempotent');
  });

  t.test('another namespace has its own state', async (t) => {
    const r = await xvsRs(peer, ['status', '--json']);
    t.equal(JSON.parse(r.stdout).up, false);
  });

  t.test('down restores the namespace exactly', async (t) => {
    const r = await xvsRs(rs, ['down']);
    t.equal(r.code, 0, r.stderr);
    t.same(await snapshot(rs), before);
    t.same(readdirSync(stateDir), [], 'state file removed');
    const again = await xvsRs(rs, ['down']);
    t.equal(again.code, 0, 'down without up is a no-op');
    t.match(again.stdout, /nothing to undo/);
  });
}
