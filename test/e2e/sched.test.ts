// test/e2e/sched.test.ts — counting schedulers end to end in the LVS-DR lab: real TCP connections from the
// client, some held open (established: active), some finished (closed: inactive), land on the real
// servers xvs-sched-replay predicts for the same events, and `xvsadm -Ln`'s counters match the replay's
// `list`. Bounded: three web servers, a dozen connections per scheduler. Needs root and a build.
import t, { type Test } from 'tap';
import { buildDrLab, type DrLab } from '../../src/lab/topology.js';
import { startTestXvsd, e2eReady, parseDestRows, xvsadm, xvsdInfo } from '../../src/lab/xvs.js';
import { runIn, waitFor, type NsProcess } from '../../src/netns/index.js';
import { replay } from '../../src/replay/main.js';

if (e2eReady(t)) {
  t.setTimeout(180_000);
  const lab: DrLab = await buildDrLab({ webServers: 3 });
  t.teardown(() => lab.teardown());
  const daemon: NsProcess = await startTestXvsd(t, lab.director, ['--attach', 'native']);
  const adm = (...args: string[]) => xvsadm(lab.director, args);
  const restore = (lines: string[]) => xvsadm(lab.director, ['-R'], { input: lines.join('\n') + '\n' });
  const held: NsProcess[] = [];
  t.teardown(async () => { for (const p of held) await p.stop('SIGKILL').catch(() => undefined); });

  const rows = async () => parseDestRows((await adm('-Ln')).stdout);
  const totals = async () => (await rows()).reduce((a, r) => [a[0] + r.activeConns, a[1] + r.inactConns], [0, 0]);
  /** Waits until the director counted what the client did, so the next decision sees it (as the kernel's would). */
  const settle = (active: number, inactive: number) =>
    waitFor(async () => {
      const [a, i] = await totals();
      return a === active && i === inactive ? true : null;
    }, { timeoutMs: 10_000, what: `director counts ${active} active / ${inactive} inactive` });

  /**
   * One scheduler round: `holdN` connections held open, then `getN` HTTP GETs one after the other; the
   * answers (which web server replied) and the final counters are compared with the replay.
   */
  async function round(t: Test, scheduler: string, port: number, weights: number[], holdN: number, getN: number): Promise<void> {
    const svc = `${lab.vip}:${port}`;
    const script = [`sched ${scheduler}`];
    lab.webs.forEach((w, i) => script.push(`dest ${w.ip}:${port} weight ${weights[i]}`));
    // One xvsadm -R for the service and its dests (each xvsadm run is a process start).
    await restore([`-A -t ${svc} -s ${scheduler}`, ...lab.webs.map((w, i) => `-a -t ${svc} -r ${w.ip}:${port} -g -w ${weights[i]}`)]);
    for (let i = 0; i < holdN; i++) {
      script.push(`conn h${i} from ${lab.clientIp}:${40000 + i} to ${svc}`);
      held.push(lab.client.spawn(['bash', '-c', `exec 3<>/dev/tcp/${lab.vip}/${port}; sleep 120`], { label: `hold${i}` }));
      await settle(i + 1, 0);
    }
    const answers: (string | null)[] = [];
    for (let i = 0; i < getN; i++) {
      script.push(`conn g${i} from ${lab.clientIp}:${50000 + i} to ${svc}`, `close g${i}`);
      answers.push(await lab.httpGet(lab.vip, { port, maxTimeS: 3 }));
      await settle(holdN, i + 1);
    }
    script.push('list');
    const r = replay(script.join('\n'));
    t.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    const nameOf = new Map(lab.webs.map((w) => [`${w.ip}:${port}`, w.name]));
    t.same(answers, lines.slice(holdN, holdN + getN).map((l) => nameOf.get(l) ?? l), `${scheduler}: GETs answered as predicted`);
    const predicted = parseDestRows(lines.slice(holdN + getN).join('\n'));
    const actual = await rows();
    t.same(actual.map((d) => [d.addr, d.activeConns, d.inactConns]), predicted.map((d) => [d.addr, d.activeConns, d.inactConns]),
      `${scheduler}: held connections where the overhead formula puts them (-Ln = replay list)`);
    const lnc = (await adm('-Lnc')).stdout.split('\n');
    t.equal(lnc[0], 'IPVS connection entries');
    t.equal(lnc.filter((l) => /^TCP \d\d:\d\d  ESTABLISHED /.test(l)).length, holdN, `${scheduler}: -Lnc lists the held connections`);
    for (const p of held.splice(0)) await p.stop('SIGKILL').catch(() => undefined);
  }

  t.test('wlc 1:2:3 with held-open connections', async (t) => {
    await round(t, 'wlc', 80, [1, 2, 3], 6, 4);
  });

  t.test('lc with held-open connections (weights ignored)', async (t) => {
    await adm('-D', '-t', `${lab.vip}:80`);
    await round(t, 'lc', 80, [3, 1, 1], 3, 4);
  });

  /**
   * One GET per client port (curl --local-port), with a `conn` line for each added to `script`: the
   * answers must be the dests xvs-sched-replay predicts for the whole script. Returns the answers
   * (server names; null where a GET got none).
   */
  async function getsByPort(t: Test, script: string[], svc: string, ports: number[], what: string): Promise<(string | null)[]> {
    const answers: (string | null)[] = [];
    for (const p of ports) {
      script.push(`conn p${p} from ${lab.clientIp}:${p} to ${svc}`);
      const r = await runIn(lab.client.name, ['curl', '-sS', '--max-time', '3', '--local-port', String(p), `http://${lab.vip}/`], { allowFail: true, timeoutMs: 8000 });
      answers.push(r.code === 0 ? r.stdout.trim() : null);
    }
    const r = replay(script.join('\n'));
    t.equal(r.code, 0, r.err);
    const nameOf = new Map(lab.webs.map((w) => [`${w.ip}:80`, w.name]));
    t.same(answers, r.out.trim().split('\n').map((l) => nameOf.get(l) ?? l), `${what}: answers as predicted: ${answers.join(' ')}`);
    return answers;
  }

  t.test('mh with mh-port: each client port lands where the replay says (BPF table lookup)', async (t) => {
    await adm('-D', '-t', `${lab.vip}:80`);
    const svc = `${lab.vip}:80`;
    await adm('-A', '-t', svc, '-s', 'mh', '-b', 'mh-port');
    const script = ['sched mh', 'flags mh-port'];
    for (const w of lab.webs) {
      await adm('-a', '-t', svc, '-r', `${w.ip}:80`, '-g', '-w', '1');
      script.push(`dest ${w.ip}:80`);
    }
    t.match((await adm('-Ln')).stdout, /TCP  192\.0\.2\.100:80 mh \(mh-port\)\n/);
    const answers = await getsByPort(t, script, svc, Array.from({ length: 8 }, (_, i) => 31000 + i * 7), 'mh');
    t.ok(new Set(answers).size > 1, `the port spreads clients over dests: ${answers.join(' ')}`);
  });

  /**
   * A hash scheduler: one GET per client port (curl --local-port), each answered where the replay's
   * `conn` from that port lands. Each call uses ports of its own: an earlier round's tuple may still be
   * in TIME_WAIT on the client or closing on the director.
   */
  let hashPorts = 32000;
  async function hashRound(t: Test, scheduler: 'sh' | 'dh', flags: string[], weights: number[]): Promise<(string | null)[]> {
    const svc = `${lab.vip}:80`;
    const script = [`sched ${scheduler}`, ...(flags.length ? [`flags ${flags.join(',')}`] : [])];
    lab.webs.forEach((w, i) => script.push(`dest ${w.ip}:80 weight ${weights[i]}`));
    await restore([`-A -t ${svc} -s ${scheduler}${flags.length ? ` -b ${flags.join(',')}` : ''}`,
      ...lab.webs.map((w, i) => `-a -t ${svc} -r ${w.ip}:80 -g -w ${weights[i]}`)]);
    const answers = await getsByPort(t, script, svc, Array.from({ length: 6 }, () => (hashPorts += 13)), scheduler);
    t.notOk(answers.includes(null), `${scheduler}: every GET answered`);
    await adm('-D', '-t', svc);
    return answers;
  }

  // The other sequence schedulers, each on a fresh service, in the same style as wlc/lc above: held
  // connections first where the counts matter, then GETs one after the other.
  const sequenceRounds: [string, number[], number, number][] = [
    ['rr', [1, 1, 1], 0, 4],
    ['wrr', [3, 1, 2], 0, 7],
    ['sed', [1, 2, 3], 3, 4],
    ['nq', [1, 2, 3], 2, 4],
    ['fo', [1, 3, 2], 1, 3],
    ['ovf', [2, 1, 3], 5, 3],
  ];
  for (const [scheduler, weights, holdN, getN] of sequenceRounds) {
    t.test(`${scheduler} ${weights.join(':')}${holdN ? ' with held-open connections' : ''}`, async (t) => {
      await adm('-C');
      await round(t, scheduler, 80, weights, holdN, getN);
    });
  }

  t.test('sh with sh-port, then sh and dh by address: answers as the replay predicts', async (t) => {
    await adm('-C');
    const byPort = await hashRound(t, 'sh', ['sh-port'], [1, 2, 1]);
    t.ok(new Set(byPort).size > 1, 'sh-port spreads one client\'s ports over dests');
    const byAddr = await hashRound(t, 'sh', [], [1, 2, 1]);
    t.equal(new Set(byAddr).size, 1, 'sh: one client address, one dest');
    const dh = await hashRound(t, 'dh', [], [1, 1, 2]);
    t.equal(new Set(dh).size, 1, 'dh: one destination address, one dest');
  });

  t.test('--set and -L --timeout', async (t) => {
    await adm('--set', '1000', '0', '200');
    t.equal((await adm('-L', '--timeout')).stdout, 'Timeout (tcp tcpfin udp): 1000 120 200\n');
  });

  t.test('no ring underflow', async (t) => {
    const info = await xvsdInfo(lab.director);
    if (!info?.reasons) return t.comment('this xvsd does not report reason counters');
    t.equal(info.reasons.XVS_R_RING_EXHAUSTED, 0);
  });
}
