// test/e2e/reload.test.ts — xvsd --config with SIGHUP reloads under traffic, on the real BPF object in the
// DR lab: a long-lived TCP connection keeps flowing to its real server across a reload that edits
// another service and across one that removes its own real server (drained to weight 0, new
// connections go to the other one); an invalid file is rejected whole. Then save/restore of a large
// table through the real daemon. Needs root and `npm run build`.
import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDrLab } from '../../src/lab/topology.js';
import { nodeArgv, waitFor, type NsProcess } from '../../src/netns/index.js';
import { e2eReady, parseDestRows, startXvsd, waitXvsdReady, xvsadm } from '../../src/lab/xvs.js';

if (e2eReady(t)) {
  t.setTimeout(240_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-reload-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lab = await buildDrLab();
  t.teardown(() => lab.teardown());
  const { director, client } = lab;
  const [web1, web2] = lab.webs;
  const PORT = 9000;

  // A line server on each web: answers every line with its name, keeps the connection open.
  const serverJs = path.join(dir, 'line-server.mjs');
  writeFileSync(serverJs, `import net from 'node:net';
const [name, port] = process.argv.slice(2);
net.createServer((s) => { s.on('data', () => s.write(name + '\\n')); s.on('error', () => {}); }).listen(Number(port), '0.0.0.0', () => console.log('listening'));
setTimeout(() => process.exit(0), 200000).unref?.();
`);
  // The long-lived client: one connection, a line every 100 ms, every answer printed; bounded in time.
  const clientJs = path.join(dir, 'line-client.mjs');
  writeFileSync(clientJs, `import net from 'node:net';
const [host, port, seconds] = process.argv.slice(2);
const s = net.connect(Number(port), host, () => console.log('connected'));
let buf = '';
s.setEncoding('utf8');
s.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { console.log('answer ' + buf.slice(0, i)); buf = buf.slice(i + 1); } });
s.on('error', (e) => { console.log('error ' + e.code); process.exit(2); });
s.on('close', () => { console.log('closed'); process.exit(3); });
const timer = setInterval(() => s.write('x\\n'), 100);
setTimeout(() => { clearInterval(timer); s.end(); process.exit(0); }, Number(seconds) * 1000);
`);
  const servers: NsProcess[] = [];
  for (const web of lab.webs) {
    const p = web.ns.spawn(nodeArgv(serverJs, [web.name, String(PORT)]), { label: `line-server@${web.name}` });
    servers.push(p);
    await waitFor(() => p.output().includes('listening'), { timeoutMs: 10_000, what: `line server on ${web.name}` });
  }
  t.teardown(() => Promise.all(servers.map((p) => p.stop())));

  const vip = lab.vip;
  const config = path.join(dir, 'xvs.json');
  const writeConfig = (http: string[], httpSched: string, lines: string[]): void => {
    writeFileSync(config, JSON.stringify({
      services: [
        { protocol: 'tcp', addr: vip, port: 80, scheduler: httpSched, dests: http.map((addr) => ({ addr })) },
        { protocol: 'tcp', addr: vip, port: PORT, scheduler: 'rr', dests: lines.map((addr) => ({ addr })) },
      ],
    }, null, 2));
  };
  const lineDests = async () => parseDestRows((await xvsadm(director, ['-Ln', '-t', `${vip}:${PORT}`])).stdout);
  /** One short connection to the line service: the name of the web server that answered. */
  const shortAnswer = async (): Promise<string> => {
    const r = await client.exec(nodeArgv(clientJs, [vip, String(PORT), '0.5']), { allowFail: true, timeoutMs: 10_000 });
    return /answer (\S+)/.exec(r.stdout)?.[1] ?? `none (${r.stdout.trim()})`;
  };

  writeConfig([web1.ip, web2.ip], 'rr', [web1.ip]);
  const daemon = startXvsd(director, ['--attach', 'native', '--config', config]);
  t.teardown(() => daemon.stop());
  await waitXvsdReady(director, daemon);

  t.test('the config is the table at start', async (t) => {
    const saved = (await xvsadm(director, ['-S', '-n'])).stdout;
    t.equal(saved, [
      `-A -t ${vip}:80 -s rr`, `-a -t ${vip}:80 -r ${web1.ip}:80 -g -w 1`, `-a -t ${vip}:80 -r ${web2.ip}:80 -g -w 1`,
      `-A -t ${vip}:${PORT} -s rr`, `-a -t ${vip}:${PORT} -r ${web1.ip}:${PORT} -g -w 1`, '',
    ].join('\n'));
  });

  t.test('a long-lived connection survives reloads, drains when its dest is removed', async (t) => {
    const long = client.spawn(nodeArgv(clientJs, [vip, String(PORT), '60']), { label: 'line-client' });
    t.teardown(() => long.stop());
    const answers = (): string[] => long.output().split('\n').filter((l) => l.startsWith('answer ')).map((l) => l.slice(7));
    const flowing = async (what: string): Promise<void> => {
      const before = answers().length;
      await waitFor(() => answers().length >= before + 5 || long.exitStatus !== null, { timeoutMs: 10_000, what });
      t.equal(long.exitStatus, null, `${what}: the connection is open (${long.output().split('\n').slice(-2).join(' | ')})`);
      t.same([...new Set(answers().slice(before))], [web1.name], `${what}: answered by ${web1.name} only`);
    };
    await flowing('before any reload');

    // Reload 1: another service changes (scheduler, a dest removed); ours is untouched.
    writeConfig([web1.ip], 'wrr', [web1.ip]);
    daemon.signal('SIGHUP');
    await waitFor(async () => /TCP  \S+:80 wrr/.test((await xvsadm(director, ['-Ln'], { quiet: true })).stdout), { timeoutMs: 10_000, what: 'reload 1 applied' });
    await flowing('after a reload that edits another service');
    t.match(await lineDests(), [{ addr: `${web1.ip}:${PORT}`, weight: 1, activeConns: 1 }], 'its dest still counts it');

    // Reload 2: our own dest leaves the config: drained (weight 0), not cut; web2 takes new connections.
    writeConfig([web1.ip], 'wrr', [web2.ip]);
    daemon.signal('SIGHUP');
    await waitFor(async () => (await lineDests()).length === 2, { timeoutMs: 10_000, what: 'reload 2 applied' });
    const rows = await lineDests();
    t.match(rows.find((r) => r.addr.startsWith(web1.ip)), { weight: 0, activeConns: 1 }, 'web1 drains with its connection');
    t.match(rows.find((r) => r.addr.startsWith(web2.ip)), { weight: 1 });
    await flowing('after a reload that removes its own dest');
    t.same([await shortAnswer(), await shortAnswer(), await shortAnswer()], [web2.name, web2.name, web2.name], 'new connections go to web2');
  });

  t.test('an invalid config is rejected whole; the table is unchanged', async (t) => {
    const before = (await xvsadm(director, ['-S', '-n'])).stdout;
    writeFileSync(config, JSON.stringify({ services: [{ protocol: 'tcp', addr: vip, port: 80, dests: [{ addr: web1.ip, weight: 70000 }] }] }));
    daemon.signal('SIGHUP');
    await waitFor(() => daemon.output().includes('reload rejected'), { timeoutMs: 10_000, what: 'the rejection logged' });
    t.match(daemon.output(), /services\[0\]\.dests\[0\]\.weight/, 'the log names the field');
    t.equal((await xvsadm(director, ['-S', '-n'])).stdout, before);
    t.ok(daemon.running);
  });

  t.test('a fwmark service gets what its matches select, two ports scheduled as one service', async (t) => {
    await xvsadm(director, ['-C']);
    await xvsadm(director, ['-A', '-f', '5', '-s', 'rr']);
    await xvsadm(director, ['--add-fwmark-match', `tcp:${vip}:80`, '-f', '5']);
    await xvsadm(director, ['--add-fwmark-match', `tcp:${vip}:${PORT}`, '-f', '5']);
    for (const web of lab.webs) await xvsadm(director, ['-a', '-f', '5', '-r', web.ip, '-g', '-w', '1']);
    const http: (string | null)[] = [];
    for (let i = 0; i < 4; i++) http.push(await lab.httpGet(vip, { maxTimeS: 2 }));
    t.same([...new Set(http)].sort(), [web1.name, web2.name], `port 80 balanced over both (${http.join(' ')})`);
    const line = [await shortAnswer(), await shortAnswer()];
    t.same([...new Set(line)].sort(), [web1.name, web2.name], `port ${PORT} too, continuing the same rr sequence (${line.join(' ')})`);
    const listing = (await xvsadm(director, ['-Ln'])).stdout;
    t.match(listing, /\nFWM  5 rr\n/);
    const rows = parseDestRows(listing);
    t.equal(rows.reduce((n, r) => n + r.activeConns + r.inactConns, 0), 6, 'all six connections counted on the fwmark service');
    t.equal((await xvsadm(director, ['-S', '-n'])).stdout, [
      '-A -f 5 -s rr', `--add-fwmark-match tcp:${vip}:80 -f 5`, `--add-fwmark-match tcp:${vip}:${PORT} -f 5`,
      `-a -f 5 -r ${web1.ip}:0 -g -w 1`, `-a -f 5 -r ${web2.ip}:0 -g -w 1`, '',
    ].join('\n'));
  });

  t.test('save/restore round trip of 1,000 services × 8 dests through the real daemon', async (t) => {
    // 8,000 dests: the daemon's dest table holds 8,192 (the unit test does 1,000 × 10 on the fake datapath).
    let rules = '';
    for (let s = 0; s < 1000; s++) {
      const svc = `-t 198.51.100.${1 + Math.floor(s / 250)}:${1000 + (s % 250)}`;
      rules += `-A ${svc} -s ${s % 2 ? 'rr' : 'wrr'}\n`;
      for (let d = 1; d <= 8; d++) rules += `-a ${svc} -r 192.0.2.${100 + d}:${1000 + (s % 250)} -g -w ${(s + d) % 5}\n`;
    }
    await xvsadm(director, ['-C']);
    const restored = await xvsadm(director, ['-R'], { input: rules, timeoutMs: 120_000 });
    t.same([restored.code, restored.stderr], [0, '']);
    const saved = (await xvsadm(director, ['-S', '-n'], { timeoutMs: 60_000 })).stdout;
    t.equal(saved, rules, 'saved byte for byte as restored');
    const bad = `${rules}-a -t 198.51.100.9:80 -r 192.0.2.101:80 -g -w 1\n`;
    await xvsadm(director, ['-C']);
    const r = await xvsadm(director, ['-R'], { input: bad, timeoutMs: 120_000, allowFail: true });
    t.same([r.code, r.stderr], [255, `line ${bad.split('\n').length - 1}: Service not defined\n`]);
    t.equal((await xvsadm(director, ['-S', '-n'])).stdout, '', 'nothing of it applied');
  });
}
