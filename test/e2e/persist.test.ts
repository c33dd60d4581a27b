// test/e2e/persist.test.ts — persistence end to end in the LVS-DR lab with xvsd: under rr with -p, ten
// requests from the client all reach the same web server, `xvsadm -Lnc` lists the client's template and
// --persistent-conn counts it; once the template has expired (a 2 s timeout, FIN_WAIT connections
// expiring after 1 s with --set), the next request is scheduled afresh: rr's next server.
// Needs root and `npm run build`.
import t from 'tap';
import { buildDrLab, type DrLab } from '../../src/lab/topology.js';
import { startTestXvsd, e2eReady, xvsadm } from '../../src/lab/xvs.js';
import { waitFor, type NsProcess } from '../../src/netns/index.js';

if (e2eReady(t)) {
  t.setTimeout(120_000);
  const lab: DrLab = await buildDrLab();
  t.teardown(() => lab.teardown());
  const daemon: NsProcess = await startTestXvsd(t, lab.director, ['--attach', 'native']);

  const svc = `${lab.vip}:80`;
  const [web1, web2] = lab.webs;
  const ipOf: Record<string, string> = { web1: web1.ip, web2: web2.ip };
  const adm = (...args: string[]) => xvsadm(lab.director, args);
  const esc = (s: string): string => s.replace(/[.[\]]/g, '\\$&');

  t.test('-p 2: one server per client until the template expires, then rr goes on', async (t) => {
    await adm('--set', '900', '1', '300');
    await adm('-A', '-t', svc, '-s', 'rr', '-p', '2');
    await adm('-a', '-t', svc, '-r', `${web1.ip}:80`, '-g', '-w', '1');
    await adm('-a', '-t', svc, '-r', `${web2.ip}:80`, '-g', '-w', '1');
    t.match((await adm('-Ln')).stdout, new RegExp(`TCP  ${esc(svc)} rr persistent 2\\n`), '-Ln shows persistent 2');

    const answers: (string | null)[] = [];
    for (let i = 0; i < 10; i++) answers.push(await lab.httpGet(lab.vip, { maxTimeS: 2 }));
    const first = answers[0];
    t.ok(first === 'web1' || first === 'web2', `answered by a web server (${first})`);
    t.same(answers, new Array(10).fill(first), `all 10 requests on ${first}`);

    const conns = (await adm('-Lnc')).stdout;
    // The GC marks a template ASSURED on its next pass (every 2 s) once it sees an established connection.
    t.match(conns, new RegExp(`\\nTCP \\d\\d:\\d\\d  (?:ASSURED    |NONE       ) ${esc(`${lab.clientIp}:0`)} +${esc(svc)} +${esc(ipOf[first!])}:80\\n`),
      '-Lnc lists the client\'s template');
    const pc = (await adm('-Ln', '--persistent-conn')).stdout;
    t.match(pc, new RegExp(`-> ${esc(ipOf[first!])}:80 +1 +1 `), '--persistent-conn: PersistConn 1 on that server');

    // The connections expire (FIN_WAIT, 1 s), then the template (2 s after the last new connection).
    await waitFor(async () => !/:0 /.test((await adm('-Lnc')).stdout), { timeoutMs: 20_000, intervalMs: 250, what: 'the template to expire' });
    const next = await lab.httpGet(lab.vip, { maxTimeS: 2 });
    t.equal(next, first === 'web1' ? 'web2' : 'web1', `after expiry the client is rescheduled: rr's next server (${next})`);
  });
}
