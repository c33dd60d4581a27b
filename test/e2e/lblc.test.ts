// test/e2e/lblc.test.ts — lblc/lblcr end to end in the LVS-DR lab: real HTTP GETs through xvsd to one
// destination address stick to one web server (the data path's locality cache), where wlc alone would
// spread them, and land where xvs-sched-replay predicts for the same events; `-E -s lblcr` starts a new
// cache. Bounded: three web servers, a few GETs. Needs root and a build.
import t from 'tap';
import { buildDrLab, type DrLab } from '../../src/lab/topology.js';
import { startTestXvsd, e2eReady, parseDestRows, xvsadm } from '../../src/lab/xvs.js';
import { waitFor, type NsProcess } from '../../src/netns/index.js';
import { replay } from '../../src/replay/main.js';

if (e2eReady(t)) {
  t.setTimeout(120_000);
  const lab: DrLab = await buildDrLab({ webServers: 3 });
  t.teardown(() => lab.teardown());
  const daemon: NsProcess = await startTestXvsd(t, lab.director, ['--attach', 'native']);
  t.ok(daemon);
  const adm = (...args: string[]) => xvsadm(lab.director, args);
  const svc = `${lab.vip}:80`;
  const inactive = async () => parseDestRows((await adm('-Ln')).stdout).reduce((n, r) => n + r.inactConns, 0);

  t.test('lblc then lblcr: GETs to one address stay on one web server, as the replay predicts', async (t) => {
    await adm('-A', '-t', svc, '-s', 'lblc');
    const script = ['sched lblc'];
    for (const w of lab.webs) {
      await adm('-a', '-t', svc, '-r', `${w.ip}:80`, '-g', '-w', '1');
      script.push(`dest ${w.ip}:80`);
    }
    t.match((await adm('-Ln')).stdout, /TCP  192\.0\.2\.100:80 lblc\n/);
    const answers: (string | null)[] = [];
    const get = async (i: number): Promise<void> => {
      script.push(`conn g${i} from ${lab.clientIp}:${50000 + i} to ${svc}`, `close g${i}`);
      answers.push(await lab.httpGet(lab.vip, { maxTimeS: 3 }));
      // The director counted it (inactive after the close) before the next one, as the replay assumes.
      await waitFor(async () => ((await inactive()) >= i + 1 ? true : null), { timeoutMs: 10_000, what: `${i + 1} connections counted` });
    };
    for (let i = 0; i < 5; i++) await get(i);
    // -E -s: a new (empty) cache; the replay's resched does the same.
    await adm('-E', '-t', svc, '-s', 'lblcr');
    script.push('resched lblcr');
    for (let i = 5; i < 8; i++) await get(i);
    const r = replay(script.join('\n'));
    t.equal(r.code, 0, r.err);
    const nameOf = new Map(lab.webs.map((w) => [`${w.ip}:80`, w.name]));
    t.same(answers, r.out.trim().split('\n').map((l) => nameOf.get(l) ?? l), `answers as predicted: ${answers.join(' ')}`);
    t.equal(new Set(answers.slice(0, 5)).size, 1, 'lblc: one web server for the destination address');
    t.notOk(answers.includes(null), 'every GET answered');
  });
}
