// test/e2e/daemon.test.ts — xvsd's life cycle in a namespace: one daemon per namespace, SIGTERM detaches
// everything, a SIGKILLed daemon's leftovers are cleaned by the next one, and xvsadm without a daemon
// fails clearly. Uses the DR lab topology under a random prefix. Needs root and `npm run build`.
import t, { type Test } from 'tap';
import { buildDrLab } from '../../src/lab/topology.js';
import { binArgv, xdpAttachment, type NsProcess } from '../../src/netns/index.js';
import { e2eReady, startXvsd, waitXvsdReady, xvsadm } from '../../src/lab/xvs.js';

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

  t.test('SIGKILL, then a new xvsd cleans the stale attachment and traffic works again', async (t) => {
    const killed = await start();
    await configure();
    killed.signal('SIGKILL');
    t.equal((await killed.exited).signal, 'SIGKILL');
    const stale = await xdpAttachment(director.name, lab.directorIf);
    t.comment(stale ? `stale XDP program id ${stale.progId} left behind` : 'no attachment survived the kill');

    const daemon = await start();
    t.teardown(() => daemon.stop());
    const now = await xdpAttachment(director.name, lab.directorIf);
    t.ok(now, 'attached again');
    if (stale && now) t.not(now.progId, stale.progId, 'with a new program');
    const { stdout } = await xvsadm(director, ['-Ln']);
    t.notMatch(stdout, /TCP/, 'the new daemon starts with an empty table');
    await configure();
    await trafficWorks(t);
  });
}
