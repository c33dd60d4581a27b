// test/e2e/lab.test.ts — the LVS-DR lab topology under a random prefix with xvsd on the director:
// rr alternates exactly, wrr 3:1 gives 3:1, and `xvsadm -Ln` counts finished connections as inactive.
// Needs root and `npm run build`.
import t from 'tap';
import { buildDrLab, type DrLab } from '../../src/lab/topology.js';
import { startTestXvsd, e2eReady, parseDestRows, xvsadm, xvsdInfo } from '../../src/lab/xvs.js';
import { waitFor, type NsProcess } from '../../src/netns/index.js';

if (e2eReady(t)) {
  t.setTimeout(180_000);
  const lab: DrLab = await buildDrLab();
  t.teardown(() => lab.teardown());
  const daemon: NsProcess = await startTestXvsd(t, lab.director, ['--attach', 'native']);

  const svc = `${lab.vip}:80`;
  const [web1, web2] = lab.webs;
  const adm = (...args: string[]) => xvsadm(lab.director, args);
  const requests = async (n: number): Promise<(string | null)[]> => {
    const answers: (string | null)[] = [];
    for (let i = 0; i < n; i++) answers.push(await lab.httpGet(lab.vip, { maxTimeS: 2 }));
    return answers;
  };
  const count = (answers: (string | null)[], name: string) => answers.filter((a) => a === name).length;

  t.test('rr: 20 requests alternate exactly between web1 and web2', async (t) => {
    await adm('-A', '-t', svc, '-s', 'rr');
    await adm('-a', '-t', svc, '-r', `${web1.ip}:80`, '-g', '-w', '1');
    await adm('-a', '-t', svc, '-r', `${web2.ip}:80`, '-g', '-w', '1');
    const answers = await requests(20);
    t.same(answers.filter((a) => a !== 'web1' && a !== 'web2'), [], 'every request answered by a web server');
    t.equal(count(answers, 'web1'), 10);
    t.equal(count(answers, 'web2'), 10);
    t.ok(answers.every((a, i) => i === 0 || a !== answers[i - 1]), `alternating: ${answers.join(' ')}`);
  });

  t.test('xvsadm -Ln: ActiveConn/InActConn columns; finished connections are inactive', async (t) => {
    const { stdout } = await adm('-Ln');
    t.match(stdout, /-> RemoteAddress:Port\s+Forward Weight ActiveConn InActConn/);
    t.match(stdout, new RegExp(`TCP  ${lab.vip.replace(/\./g, '\\.')}:80 rr`));
    const rows = await waitFor(async () => {
      const r = parseDestRows((await adm('-Ln')).stdout);
      return r.length === 2 && r.every((d) => d.activeConns === 0) ? r : null;
    }, { timeoutMs: 10_000, what: 'ActiveConn 0 on both dests' });
    t.same(rows.map((r) => [r.addr, r.forward, r.weight, r.activeConns]), [
      [`${web1.ip}:80`, 'Route', 1, 0],
      [`${web2.ip}:80`, 'Route', 1, 0],
    ]);
    t.equal(rows[0].inactConns + rows[1].inactConns, 20, 'the 20 closed connections are inactive');
  });

  t.test('wrr 3:1: 20 requests give web1 15, web2 5', async (t) => {
    await adm('-E', '-t', svc, '-s', 'wrr');
    await adm('-e', '-t', svc, '-r', `${web1.ip}:80`, '-g', '-w', '3');
    await adm('-e', '-t', svc, '-r', `${web2.ip}:80`, '-g', '-w', '1');
    const answers = await requests(20);
    t.equal(count(answers, 'web1') + count(answers, 'web2'), 20, 'every request answered');
    t.equal(count(answers, 'web1'), 15, `web1 15 (${answers.join(' ')})`);
    t.equal(count(answers, 'web2'), 5);
    const rows = parseDestRows((await adm('-Ln')).stdout);
    t.same(rows.map((r) => r.weight), [3, 1], '-Ln shows the weights');
  });

  t.test('the datapath forwarded with XDP_TX (reason counters)', async (t) => {
    const info = await xvsdInfo(lab.director);
    t.ok(info, 'xvsd answers info');
    t.same(info?.interfaces.map((i) => [i.name, i.mode]), [[lab.directorIf, 'native']]);
    if (!info?.reasons) return t.comment('this xvsd does not report reason counters');
    t.ok(info.reasons.XVS_R_FWD_TX >= 40, `XVS_R_FWD_TX = ${info.reasons.XVS_R_FWD_TX}`);
    t.equal(info.reasons.XVS_R_CONN_NEW, 40, 'one new connection per request');
  });
}
