// test/e2e/daemon.test.ts — xvsd's life cycle in a namespace: one daemon per namespace, SIGTERM detaches
// everything, a SIGKILLed daemon's data path forwards on and is adopted by the next one (--fresh
// discards it), and xvsadm without a daemon fails clearly. Uses the DR lab topology under a random prefix. Needs root and `npm run build`.
import t, { type Test } from 'tap';
import { buildDrLab } from '../../src/lab/topology.js';
import { binArgv, xdpAttachment, type NsProcess } from '../../src/netns/index.js';
import { e2eReady, startXvsd, waitXvsdReady, xvsadm } from '../../src/lab/xvs.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { stateFileOfNetns } from '../../src/daemon/state.js';

if (e2eReady(t)) {
  t.setTimeout(180_000);
  const lab = await buildDrLab();
  t.teardown(() => lab.teardown());
  const { director } = lab;
  const svc = `${lab.vip}:80`;

  const configure = async (): Promise<void> => {
    await xvsadm(director, ['-A', '-t', svc, '-s', 'rr']);
    for (const web of lab.webs) await xvsadm(director, ['-a', '-t', svc, '-r', `${web.ip}:80`, '-g', '-w', '1']);
  };
  const trafficWorks = async (t: Test, n = 4): Promise<void> => {
    const answers: (string | null)[] = [];
    for (let i = 0; i < n; i++) answers.push(await lab.httpGet(lab.vip, { maxTimeS: 2 }));
    t.same(answers.filter((a) => !/^web\d$/.test(a ?? '')), [], `every request answered (${answers.join(' ')})`);
    t.same(new Set(answers).size, 2, 'by both web servers');
  };
  const start = async (): Promise<NsProcess> => {
    const daemon = startXvsd(director, ['--attach', 'native']);
    await waitXvsdReady(director, daemon);
    return daemon;
  };

  t.test('xvsadm -Ln without a daemon: non-zero exit and a message', async (t) => {
    const r = await xvsadm(director, ['-Ln'], { allowFail: true });
    t.not(r.code, 0);
    t.match(r.stderr, /xvsd|daemon/i, `message: ${r.stderr.trim()}`);
  });

  t.test('a second xvsd in the same namespace refuses to start', async (t) => {
    const first = await start();
    t.teardown(() => first.stop());
    t.ok(await xdpAttachment(director.name, lab.directorIf), 'first xvsd attached');
    const second = await director.exec(binArgv('xvsd', ['--attach', 'native']), { allowFail: true, timeoutMs: 20_000 });
    t.not(second.code, 0, 'non-zero exit');
    t.match(second.stderr, /already running/i, `message: ${second.stderr.trim()}`);
    t.ok(first.running, 'the first xvsd is still running');
    const { stdout } = await xvsadm(director, ['-Ln']);
    t.match(stdout, /IP Virtual Server/, 'and still answers');
  });

  t.test('SIGTERM detaches: no XDP program is left in the namespace', async (t) => {
    const daemon = await start();
    await configure();
    await trafficWorks(t);
    daemon.signal('SIGTERM');
    const status = await daemon.exited;
    t.equal(status.code, 0, 'clean exit');
    const links = JSON.parse((await director.ip(['-j', '-d', 'link', 'show'])).stdout) as { ifname: string; xdp?: unknown }[];
    t.same(links.filter((l) => l.xdp).map((l) => l.ifname), [], 'ip -d link show: no xdp anywhere');
    const r = await xvsadm(director, ['-Ln'], { allowFail: true });
    t.not(r.code, 0, 'the control socket is gone');
  });

  t.test('SIGKILL: forwarding goes on without a daemon, and the next xvsd adopts table and counters', async (t) => {
    const killed = await start();
    await configure();
    await trafficWorks(t);
    const before = (await xvsadm(director, ['-Ln', '--stats'])).stdout;
    killed.signal('SIGKILL');
    t.equal((await killed.exited).signal, 'SIGKILL');
    const left = await xdpAttachment(director.name, lab.directorIf);
    t.ok(left, `the program stays attached (id ${left?.progId})`);
    await trafficWorks(t); // no daemon: the XDP program and its pinned maps forward on their own

    const daemon = await start();
    const now = await xdpAttachment(director.name, lab.directorIf);
    t.ok(now && left && now.progId !== left.progId, 'the new xvsd replaced the program in place');
    const { stdout } = await xvsadm(director, ['-Ln']);
    t.match(stdout, new RegExp(`TCP  ${lab.vip.replace(/\./g, '\\.')}:80 rr`), 'the adopted table has the service');
    const conns = (s: string): number => Number(/^TCP\s+\S+\s+(\d+)/m.exec(s)?.[1] ?? NaN);
    await trafficWorks(t);
    const after = (await xvsadm(director, ['-Ln', '--stats'])).stdout;
    t.ok(conns(after) >= conns(before) + 8, `counters continued (${conns(before)} before the kill, ${conns(after)} now)`);
    daemon.signal('SIGKILL');
    await daemon.exited;

    // --fresh discards the pinned data path: an empty table, and the stale program replaced.
    const fresh = startXvsd(director, ['--attach', 'native', '--fresh']);
    await waitXvsdReady(director, fresh);
    t.teardown(() => fresh.stop());
    t.notMatch((await xvsadm(director, ['-Ln'])).stdout, /TCP/, '--fresh starts with an empty table');
    await configure();
    await trafficWorks(t);
  });

  t.test('a pinned data path of another ABI is refused, and left forwarding untouched', async (t) => {
    const old = await start();
    await configure();
    old.signal('SIGKILL');
    await old.exited;
    // What a different xvs version would find: the saved state says another layout.
    const file = stateFileOfNetns(director.name);
    const st = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...st, abi: '0123456789abcdef', version: '9.9.9' }));
    const refused = await director.exec(binArgv('xvsd', ['--attach', 'native']), { allowFail: true, timeoutMs: 30_000 });
    t.equal(refused.code, 1, 'exit 1');
    t.match(refused.stderr, /created by xvs 9\.9\.9 with another ABI \(0123456789abcdef; this xvsd has [0-9a-f]{16}\).*--fresh/s, `message: ${refused.stderr.trim().slice(0, 200)}`);
    const still = await xdpAttachment(director.name, lab.directorIf);
    t.ok(still, 'the old program is still attached');
    await trafficWorks(t); // and forwarding with the pinned maps
    const fresh = startXvsd(director, ['--attach', 'native', '--fresh']);
    await waitXvsdReady(director, fresh);
    t.teardown(() => fresh.stop());
    t.notMatch((await xvsadm(director, ['-Ln'])).stdout, /TCP/, '--fresh replaces it');
  });
}
