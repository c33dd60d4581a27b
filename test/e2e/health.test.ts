// test/e2e/health.test.ts — health checks end to end in the LVS-DR lab: the web server of web2 stops →
// within fall × interval it gets no new connections while an established download through the VIP
// finishes; it starts again → back after rise × interval; all real servers down → the sorry server
// (web3) answers; logs, `xvsadm --health` and /metrics show each transition. Needs root and a build.
import t from 'tap';
import { buildDrLab, type DrLab } from '../../src/lab/topology.js';
import { startTestXvsd, e2eReady, parseDestRows, xvsadm, xvsControl } from '../../src/lab/xvs.js';
import { runIn, waitFor, type Netns, type NsProcess } from '../../src/netns/index.js';

const INTERVAL = 300;
const TIMEOUT = 200;
const FALL = 3;
const RISE = 2;

/**
 * A web server that answers its name, and on /slow its name then 2.5 s of trickled body. SIGTERM is a
 * graceful stop (as nginx -s quit): the listener closes at once, requests in flight finish.
 */
const serverJs = (name: string): string => `
const http = require('http');
const server = http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  if (req.url !== '/slow') return res.end(${JSON.stringify(name + '\n')});
  res.write(${JSON.stringify(name + '\n')});
  let n = 0;
  const t = setInterval(() => { res.write('.'.repeat(1000) + '\\n'); if (++n === 25) { clearInterval(t); res.end('done\\n'); } }, 100);
});
server.listen(80, '0.0.0.0');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

async function startWeb(ns: Netns, name: string): Promise<NsProcess> {
  const proc = ns.spawn(['env', '-u', 'NODE_OPTIONS', process.execPath, '-e', serverJs(name)], { label: `web@${name}` });
  await waitFor(async () => (await ns.exec(['curl', '-sS', '--max-time', '1', 'http://127.0.0.1/'], { allowFail: true, quiet: true })).stdout.includes(name),
    { timeoutMs: 10_000, what: `${name}'s web server` });
  return proc;
}

if (e2eReady(t)) {
  t.setTimeout(240_000);
  const lab: DrLab = await buildDrLab({ webServers: 3, http: false });
  t.teardown(() => lab.teardown());
  const [web1, web2, web3] = lab.webs;
  const servers = new Map<string, NsProcess>();
  for (const w of lab.webs) servers.set(w.name, await startWeb(w.ns, w.name));
  const daemon: NsProcess = await startTestXvsd(t, lab.director, ['--attach', 'native']);

  const key = { protocol: 'tcp', addr: lab.vip, port: 80 };
  const svc = `${lab.vip}:80`;
  const adm = (...args: string[]) => xvsadm(lab.director, args);
  await adm('-A', '-t', svc, '-s', 'rr');
  await adm('-a', '-t', svc, '-r', `${web1.ip}:80`, '-g', '-w', '1');
  await adm('-a', '-t', svc, '-r', `${web2.ip}:80`, '-g', '-w', '1');
  await xvsControl(lab.director, { op: 'set-sorry-server', key, server: { addr: web3.ip, port: 80 } });
  await xvsControl(lab.director, {
    op: 'set-health', key,
    health: { check: { type: 'http', path: '/', intervalMs: INTERVAL, timeoutMs: TIMEOUT, fall: FALL, rise: RISE }, onFailure: 'quiesce' },
  });

  const weights = async (): Promise<Record<string, number>> =>
    Object.fromEntries(parseDestRows((await adm('-Ln')).stdout).map((r) => [r.addr.replace(/:80$/, ''), r.weight]));
  const requests = async (n: number): Promise<(string | null)[]> => {
    const out: (string | null)[] = [];
    for (let i = 0; i < n; i++) out.push(await lab.httpGet(lab.vip, { maxTimeS: 2 }));
    return out;
  };
  const logLines = (): Record<string, unknown>[] =>
    daemon.output().split('\n').flatMap((l) => { try { return [JSON.parse(l.replace(/^[^{]*/, ''))]; } catch { return []; } });
  const metrics = async (): Promise<string> =>
    (await runIn(lab.director.name, ['curl', '-sS', '--max-time', '2', 'http://127.0.0.1:9469/metrics'])).stdout;
  const dl = (ip: string) => `protocol="tcp",vip="${lab.vip}",vport="80",rip="${ip}",rport="80"`;

  t.test('all healthy: both real servers answer, xvsadm --health shows them UP', async (t) => {
    await waitFor(async () => {
      const r = (await xvsControl(lab.director, { op: 'health' })) as { dests: { up: boolean; checks: number }[] };
      return r.dests.length === 2 && r.dests.every((d) => d.up && d.checks >= 1);
    }, { timeoutMs: 5000, what: 'first checks' });
    const out = (await adm('--health')).stdout;
    t.match(out, new RegExp(`-> ${web1.ip}:80\\s+http\\s+UP\\s+quiesce`));
    t.match(out, new RegExp(`-> ${web2.ip}:80\\s+http\\s+UP\\s+quiesce`));
    t.match(out, new RegExp(`-> ${web3.ip}:80\\s+sorry\\s+idle`), 'sorry server idle');
    const answers = await requests(6);
    t.same([...answers].sort(), ['web1', 'web1', 'web1', 'web2', 'web2', 'web2']);
  });

  t.test('web2 stops: quiesced within fall × interval, its established download finishes', async (t) => {
    // Two slow downloads in flight: rr puts one on each real server.
    const slow = [0, 1].map(() => runIn(lab.client.name, ['curl', '-sS', '--max-time', '15', `http://${lab.vip}/slow`], { allowFail: true, timeoutMs: 20_000 }));
    await waitFor(async () => {
      const rows = parseDestRows((await adm('-Ln')).stdout);
      return rows.length === 2 && rows.every((r) => r.activeConns === 1);
    }, { timeoutMs: 5000, intervalMs: 50, what: 'one download established on each real server' });
    const stoppedAt = Date.now();
    // Not awaited: the graceful stop lasts as long as the download in flight.
    const stopping = servers.get('web2')!.stop('SIGTERM', 10_000);
    await waitFor(async () => (await weights())[web2.ip] === 0, { timeoutMs: 10_000, intervalMs: 50, what: 'web2 quiesced' });
    const tookMs = Date.now() - stoppedAt;
    // Upper bounds leave room for a loaded 2-vCPU machine (polling through xvsadm costs ~0.5 s a call).
    t.ok(tookMs <= (FALL + 1) * INTERVAL + TIMEOUT + 3000, `quiesced after ${tookMs} ms (fall × interval = ${FALL * INTERVAL} ms)`);
    t.ok(tookMs >= (FALL - 1) * INTERVAL, `not before ${FALL} failed checks could have run (${tookMs} ms)`);
    t.equal((await weights())[web1.ip], 1, 'web1 keeps its weight');
    const answers = await requests(6);
    t.same(answers, Array(6).fill('web1'), 'new connections only to web1');
    const done = await Promise.all(slow);
    await stopping;
    const bodies = done.map((r) => r.stdout);
    t.ok(done.every((r) => r.code === 0), 'both downloads completed');
    t.ok(bodies.every((b) => b.trim().endsWith('done')), 'complete bodies');
    t.same(bodies.map((b) => b.split('\n')[0]).sort(), ['web1', 'web2'], 'including the one served by the stopped web2');
    const down = logLines().find((l) => l.msg === 'real server down' && l.rs === `${web2.ip}:80`);
    t.match(down, { level: 'warn', service: `tcp:${svc}`, action: 'quiesce', check: 'http' }, 'logged with the reason');
    t.match(String(down?.reason), /ECONNREFUSED/);
    t.match((await adm('--health')).stdout, new RegExp(`${web2.ip}:80\\s+http\\s+DOWN\\s+quiesce`));
    const m = await metrics();
    t.match(m, `xvs_dest_up{${dl(web2.ip)}} 0`);
    t.match(m, `xvs_dest_weight{${dl(web2.ip)}} 0`);
    t.match(m, `xvs_dest_configured_weight{${dl(web2.ip)}} 1`);
    t.match(m, `xvs_dest_health_check_success{${dl(web2.ip)}} 0`);
  });

  t.test('web2 starts again: back after rise × interval with its configured weight', async (t) => {
    servers.set('web2', await startWeb(web2.ns, 'web2'));
    const startedAt = Date.now();
    await waitFor(async () => (await weights())[web2.ip] === 1, { timeoutMs: 10_000, intervalMs: 50, what: 'web2 restored' });
    const tookMs = Date.now() - startedAt;
    t.ok(tookMs <= (RISE + 1) * INTERVAL + 3000, `restored after ${tookMs} ms (rise × interval = ${RISE * INTERVAL} ms)`);
    const answers = await requests(6);
    t.same([...answers].sort(), ['web1', 'web1', 'web1', 'web2', 'web2', 'web2'], 'balanced again');
    t.ok(logLines().some((l) => l.msg === 'real server up' && l.rs === `${web2.ip}:80` && l.weight === 1), 'logged');
    t.match(await metrics(), `xvs_dest_up{${dl(web2.ip)}} 1`);
  });

  t.test('all real servers down: the sorry server answers; one recovers: back to the pool', async (t) => {
    await Promise.all(['web1', 'web2'].map((n) => servers.get(n)!.stop('SIGTERM', 10_000)));
    await waitFor(async () => /sorry\s+ACTIVE/.test((await adm('--health')).stdout), { timeoutMs: 10_000, intervalMs: 50, what: 'sorry server active' });
    t.same(await requests(4), Array(4).fill('web3'), 'the sorry server answers');
    t.match(await metrics(), `xvs_service_sorry_server_active{${dl(web3.ip)}} 1`);
    t.notMatch((await adm('-Ln')).stdout, web3.ip, 'the sorry server is not listed as a real server');
    t.ok(logLines().some((l) => String(l.msg).startsWith('sorry server takes new connections')), 'logged');
    servers.set('web1', await startWeb(web1.ns, 'web1'));
    await waitFor(async () => /sorry\s+idle/.test((await adm('--health')).stdout), { timeoutMs: 10_000, intervalMs: 50, what: 'sorry server idle' });
    t.same(await requests(4), Array(4).fill('web1'), 'new connections go to the recovered web1');
    t.match(await metrics(), `xvs_service_sorry_server_active{${dl(web3.ip)}} 0`);
  });

  t.test('a dest without a check (check cleared) gets its configured weight back at once', async (t) => {
    await xvsControl(lab.director, { op: 'set-health', key, dest: { addr: web2.ip, port: 80 }, health: null });
    t.equal((await weights())[web2.ip], 1, 'web2 (still stopped) is no longer checked: weight 1');
    t.notMatch((await adm('--health')).stdout, `${web2.ip}:80`, 'not in --health');
    const bad = await xvsControl(lab.director, { op: 'set-health', key: { ...key, port: 81 }, health: null }, { allowFail: true, quiet: true });
    t.equal(bad, null, 'unknown service: refused');
  });
}
