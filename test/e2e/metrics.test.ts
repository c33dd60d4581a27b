// test/e2e/metrics.test.ts — /metrics of a live xvsd in the LVS-DR lab: it passes `promtool check metrics`,
// its counters agree with `xvsadm -Ln --stats --exact` and with the requests this test sent, the rates
// agree with `xvsadm -Ln --rate`, and it only listens where --metrics-addr says. Needs root and a build.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { buildDrLab, type DrLab } from '../../src/lab/topology.js';
import { startTestXvsd, e2eReady, xvsadm } from '../../src/lab/xvs.js';
import { runIn, waitFor, type NsProcess } from '../../src/netns/index.js';

if (e2eReady(t)) {
  t.setTimeout(180_000);
  const lab: DrLab = await buildDrLab();
  t.teardown(() => lab.teardown());
  const METRICS = '127.0.0.1:9470';
  const daemon: NsProcess = await startTestXvsd(t, lab.director, ['--attach', 'native', '--metrics-addr', METRICS]);
  const [web1, web2] = lab.webs;
  const svc = `${lab.vip}:80`;
  const adm = (...args: string[]) => xvsadm(lab.director, args);
  await adm('-A', '-t', svc, '-s', 'rr');
  await adm('-a', '-t', svc, '-r', `${web1.ip}:80`, '-g', '-w', '1');
  await adm('-a', '-t', svc, '-r', `${web2.ip}:80`, '-g', '-w', '1');

  const scrape = async (): Promise<string> =>
    (await runIn(lab.director.name, ['curl', '-sS', '--max-time', '2', `http://${METRICS}/metrics`])).stdout;
  const value = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const sl = `protocol="tcp",vip="${lab.vip}",vport="80"`;
  const dl = (ip: string) => `${sl},rip="${ip}",rport="80"`;
  /** `xvsadm -Ln --stats --exact` rows: address → [conns, inpkts, outpkts, inbytes, outbytes]. */
  const statsRows = async (): Promise<Map<string, number[]>> => {
    const rows = new Map<string, number[]>();
    for (const line of (await adm('-Ln', '--stats', '--exact')).stdout.split('\n')) {
      const m = /^(?:TCP|UDP|\s+->)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
      if (m) rows.set(m[1], m.slice(2).map(Number));
    }
    return rows;
  };

  const N = 30;
  const answers: (string | null)[] = [];
  for (let i = 0; i < N; i++) answers.push(await lab.httpGet(lab.vip, { maxTimeS: 2 }));

  t.test('counters agree with the requests sent and with xvsadm -Ln --stats --exact', async (t) => {
    t.equal(answers.filter((a) => a === 'web1' || a === 'web2').length, N, 'every request answered');
    const text = await scrape();
    t.equal(value(text, `xvs_service_connections_total{${sl}}`), N, 'service connections = requests sent');
    t.equal(value(text, `xvs_dest_connections_total{${dl(web1.ip)}}`), answers.filter((a) => a === 'web1').length);
    t.equal(value(text, `xvs_dest_connections_total{${dl(web2.ip)}}`), answers.filter((a) => a === 'web2').length);
    const rows = await statsRows();
    const s = rows.get(svc)!;
    t.ok(s, '--stats lists the service');
    t.equal(value(text, `xvs_service_connections_total{${sl}}`), s[0], 'Conns');
    t.equal(value(text, `xvs_service_packets_total{${sl},direction="in"}`), s[1], 'InPkts');
    t.equal(value(text, `xvs_service_packets_total{${sl},direction="out"}`), s[2], 'OutPkts (0 in DR)');
    t.equal(value(text, `xvs_service_bytes_total{${sl},direction="in"}`), s[3], 'InBytes');
    for (const w of [web1, web2]) {
      const r = rows.get(`${w.ip}:80`)!;
      t.equal(value(text, `xvs_dest_connections_total{${dl(w.ip)}}`), r[0], `${w.name} Conns`);
      t.equal(value(text, `xvs_dest_packets_total{${dl(w.ip)},direction="in"}`), r[1], `${w.name} InPkts`);
      t.equal(value(text, `xvs_dest_bytes_total{${dl(w.ip)},direction="in"}`), r[3], `${w.name} InBytes`);
    }
    t.ok(s[1] >= N * 4, `at least 4 packets in per connection (${s[1]})`);
    t.ok((value(text, 'xvs_datapath_packets_total{reason="conn_new"}') ?? 0) >= N, 'data path reason counters');
    t.equal(value(text, `xvs_interface_attached{interface="${lab.directorIf}",mode="native"}`), 1);
    t.equal(value(text, 'xvs_ring_underflows_total'), 0);
  });

  t.test('the live exposition passes promtool check metrics', async (t) => {
    const text = await scrape();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    t.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  });

  t.test('rates: --rate and the per-second gauges show the same estimator', async (t) => {
    // A steady trickle of connections across the estimation rounds, until the reading is taken (30 s at most).
    let trafficOn = true;
    const trafficEnd = Date.now() + 30_000;
    const traffic = (async () => {
      while (trafficOn && Date.now() < trafficEnd) await lab.httpGet(lab.vip, { maxTimeS: 2 });
    })();
    t.teardown(async () => { trafficOn = false; await traffic; });
    await new Promise((r) => setTimeout(r, 4500));
    // The estimator moves every 2 s and one attempt takes less than 4 s: the --rate reading, taken between
    // two scrapes, must be exactly the round of the first scrape or the round of the second.
    const cpsOf = (text: string) => value(text, `xvs_service_connections_per_second{${sl}}`);
    const ppsOf = (text: string) => value(text, `xvs_service_packets_per_second{${sl},direction="in"}`);
    const both = await waitFor(async () => {
      const before = await scrape();
      const rate = (await adm('-Ln', '--rate')).stdout;
      const after = await scrape();
      const m = new RegExp(`^TCP\\s+${svc.replace(/\./g, '\\.')}\\s+(\\d+)\\s+(\\d+)`, 'm').exec(rate);
      if (!m || Number(m[1]) === 0) return null;
      const cps = Number(m[1]);
      const inpps = Number(m[2]);
      const match = [before, after].find((x) => cpsOf(x) === cps && ppsOf(x) === inpps);
      return { cps, inpps, rate, text: match ?? after, matched: match !== undefined };
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'a non-zero --rate reading' });
    trafficOn = false;
    await traffic;
    t.match(both.rate, /Prot LocalAddress:Port\s+CPS\s+InPPS\s+OutPPS\s+InBPS\s+OutBPS/);
    t.ok(both.cps > 0, `CPS ${both.cps} > 0 after traffic`);
    t.ok(both.matched, 'the --rate numbers are those of a scrape of the same estimation round');
    t.equal(value(both.text, `xvs_service_connections_per_second{${sl}}`), both.cps, 'gauge = --rate CPS');
    t.equal(value(both.text, `xvs_service_packets_per_second{${sl},direction="in"}`), both.inpps, 'gauge = --rate InPPS');
  });

  t.test('the endpoint listens only on --metrics-addr', async (t) => {
    const other = await runIn(lab.director.name, ['curl', '-sS', '--max-time', '2', `http://${lab.dip}:9470/metrics`], { allowFail: true });
    t.not(other.code, 0, 'not reachable on the director\'s LAN address');
    const notFound = await runIn(lab.director.name, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${METRICS}/other`]);
    t.equal(notFound.stdout, '404');
  });
}
