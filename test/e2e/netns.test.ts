// test/e2e/netns.test.ts — the namespace toolkit itself: topologies build, carry traffic, and leave
// nothing behind — after teardown(), and when the process is killed by a signal. Needs root.
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  Topology, TopologyExistsError, WaitTimeoutError, listNamespaces, repoRoot, run, waitFor,
} from '../../src/netns/index.js';
import { buildDrLab } from '../../src/lab/topology.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root (network namespaces)');
} else {
  t.setTimeout(120_000);

  t.test('veth pair between two namespaces carries traffic; teardown removes everything', async (t) => {
    const topo = await Topology.create();
    t.teardown(() => topo.teardown());
    t.match(topo.prefix, /^xv[0-9a-f]{4}-$/);
    const a = await topo.addNs('a');
    const b = await topo.addNs('b');
    const [ea, eb] = await topo.veth(a, 'b', b, 'a');
    t.equal(ea.ifname, `${topo.prefix}b`);
    await a.addAddr(ea.ifname, '198.51.100.1/24');
    await b.addAddr(eb.ifname, '198.51.100.2/24');
    await a.addAddr(ea.ifname, '2001:db8:1::1/64');
    await b.addAddr(eb.ifname, '2001:db8:1::2/64');
    await a.exec(['ping', '-c', '1', '-W', '2', '198.51.100.2']);
    await a.exec(['ping', '-c', '1', '-W', '2', '2001:db8:1::2']);
    const { stdout } = await a.exec(['ethtool', '-k', ea.ifname]);
    t.match(stdout, /tx-checksumming: off/, 'tx offload off by default');

    await b.attachXdpPass(eb.ifname);
    const link = JSON.parse((await b.ip(['-j', '-d', 'link', 'show', 'dev', eb.ifname])).stdout)[0];
    t.equal(link.xdp?.prog?.name, 'xdp_pass', 'XDP_PASS attached natively');
    await a.exec(['ping', '-c', '1', '-W', '2', '198.51.100.2']);

    const sleeper = b.spawn(['sleep', '300']);
    const tmp = await topo.tmpDir('t');
    t.ok(existsSync(tmp));
    t.same(await listNamespaces(topo.prefix), [`${topo.prefix}a`, `${topo.prefix}b`]);

    t.same(await topo.teardown(), [], 'teardown without problems');
    const status = await sleeper.exited;
    t.equal(status.signal, 'SIGTERM', 'spawned process stopped');
    t.same(await listNamespaces(topo.prefix), [], 'namespaces gone');
    t.notOk(existsSync(tmp), 'temp dir gone');
    t.same(await topo.teardown(), [], 'teardown is idempotent');
  });

  t.test('names are checked and a fixed prefix in use is refused', async (t) => {
    const topo = await Topology.create();
    t.teardown(() => topo.teardown());
    t.throws(() => topo.ifname('much-too-long'), /invalid interface name/);
    await topo.addNs('x');
    await t.rejects(Topology.create({ prefix: topo.prefix }), TopologyExistsError);
    await t.rejects(Topology.create({ prefix: 'bad prefix' }), /invalid topology prefix/);
  });

  t.test('waitFor polls until true and reports a timeout with the last error', async (t) => {
    let n = 0;
    t.equal(await waitFor(() => (++n >= 3 ? 'yes' : false), { intervalMs: 1 }), 'yes');
    await t.rejects(
      waitFor(() => { throw new Error('not yet'); }, { timeoutMs: 50, intervalMs: 5, what: 'godot' }),
      new WaitTimeoutError('godot', 50, new Error('not yet')),
    );
    await t.rejects(waitFor(() => false, { failFast: () => new Error('died') }), /died/);
  });

  t.test('the DR lab topology: client reaches each web server directly', async (t) => {
    const lab = await buildDrLab();
    t.teardown(() => lab.teardown());
    for (const web of lab.webs) {
      t.equal(await lab.httpGet(web.ip), web.name, `${web.name} answers at ${web.ip}`);
      const { stdout } = await web.ns.exec(['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore']);
      t.equal(stdout.trim(), '1', `${web.name}: arp_ignore set by xvs-rs`);
    }
    // Only the director answers ARP for the VIP (the web servers hold it on lo, silently).
    await lab.router.exec(['ping', '-c', '1', '-W', '2', lab.vip]);
    const neigh = JSON.parse((await lab.router.ip(['-j', 'neigh', 'show', lab.vip])).stdout)[0];
    t.equal(neigh?.lladdr, await lab.director.mac(lab.directorIf), 'VIP resolves to the director');
  });

  const distTopology = path.join(repoRoot, 'dist/src/netns/topology.js');
  t.test('a SIGTERM to the owning process tears its topology down', { skip: !existsSync(distTopology) && 'needs npm run build' }, async (t) => {
    // A sleep length unique to this run, so pgrep cannot see other tests' processes.
    const marker = `299.${process.pid}${Date.now() % 100000}`;
    const script = `
      const { Topology } = await import(${JSON.stringify(distTopology)});
      const topo = await Topology.create();
      const ns = await topo.addNs('sig');
      ns.spawn(['sleep', '${marker}']);
      console.log(topo.prefix);
      setInterval(() => {}, 1000);`;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const prefix = await waitFor(() => /^xv[0-9a-f]{4}-/.exec(out)?.[0], { timeoutMs: 10_000, what: 'the child topology' });
    t.same(await listNamespaces(prefix), [`${prefix}sig`]);
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    // Killed by the signal, or exit(128 + 15) when a preloaded signal-exit (tap) also listens.
    t.ok(signal === 'SIGTERM' || code === 143, `the child ends (code ${code}, signal ${signal})`);
    t.same(await listNamespaces(prefix), [], 'its namespaces are gone');
    const { stdout } = await run(['pgrep', '-f', `sleep ${marker}`], { allowFail: true });
    t.equal(stdout.trim(), '', 'its processes are gone');
  });
}
