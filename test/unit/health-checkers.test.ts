// test/unit/health-checkers.test.ts — the TCP, HTTP and script probes against real local servers on
// 127.0.0.1: success, refused, timeouts (a full accept queue, slow headers, a slow body), wrong status or
// digest, scripts that fail, hang (killed with their children) or report a weight.
import t, { type Test } from 'tap';
import net from 'node:net';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { runCheck, tcpCheck } from '../../src/health/checkers.js';
import { HealthCheck, type HealthCheckInput } from '../../src/health/schema.js';

const check = (c: HealthCheckInput): HealthCheck => HealthCheck.parse(c);
const LO = '127.0.0.1';

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, LO, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function httpServer(t: Test, handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, LO, r));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  return (server.address() as net.AddressInfo).port;
}

/** Elapsed ms of an async call with its result. */
async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

t.test('tcp: connect succeeds, refused fails at once', async (t) => {
  const s = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(0, LO, r));
  t.teardown(() => s.close());
  const port = (s.address() as net.AddressInfo).port;
  t.match(await tcpCheck({ addr: LO, port }, 500), { ok: true, message: 'connected' });
  const [r, ms] = await timed(async () => tcpCheck({ addr: LO, port: await closedPort() }, 2000));
  t.match(r, { ok: false, message: /ECONNREFUSED/ });
  t.ok(ms < 1000, `refused is quick (${ms.toFixed(0)} ms)`);
});

t.test('tcp: a SYN that is never answered (full accept queue) fails by the timeout', async (t) => {
  // listen(0) with no accept(): one connection fills the queue, the kernel drops further SYNs.
  const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(20)'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => py.kill('SIGKILL'));
  const port = await new Promise<number>((r) => py.stdout.once('data', (d) => r(Number(String(d).trim()))));
  const filler = net.connect(port, LO);
  t.teardown(() => filler.destroy());
  await new Promise((r) => filler.once('connect', r));
  const [r, ms] = await timed(() => tcpCheck({ addr: LO, port }, 300));
  t.same(r, { ok: false, message: 'timeout after 300 ms' });
  t.ok(ms >= 290 && ms < 1000, `settled by the timeout (${ms.toFixed(0)} ms)`);
});

t.test('http: status, digest, host header, check address override', async (t) => {
  const seen: string[] = [];
  const port = await httpServer(t, (req, res) => {
    seen.push(`${req.url} ${req.headers.host}`);
    if (req.url === '/down') res.writeHead(503).end('maintenance\n');
    else res.writeHead(200, { 'Content-Type': 'text/plain' }).end('healthy\n');
  });
  const md5 = createHash('md5').update('healthy\n').digest('hex');
  const base = { type: 'http', addr: LO, port, timeoutMs: 1000 } as const;
  t.match(await runCheck(check({ ...base, path: '/' }), { addr: '192.0.2.11', port: 80 }), { ok: true, message: 'status 200' },
    'probes the check address, not the dest');
  t.match(await runCheck(check({ ...base, path: '/down' }), { addr: LO, port }), { ok: false, message: 'status 503' });
  t.match(await runCheck(check({ ...base, path: '/down', status: [200, 503] }), { addr: LO, port }), { ok: true });
  t.match(await runCheck(check({ ...base, digest: md5.toUpperCase() }), { addr: LO, port }), { ok: true, message: 'status 200, digest ok' });
  t.match(await runCheck(check({ ...base, digest: '0'.repeat(32) }), { addr: LO, port }), { ok: false, message: `digest ${md5}` });
  t.match(await runCheck(check({ ...base, host: 'www.example.org' }), { addr: LO, port }), { ok: true });
  t.ok(seen.includes(`/ 127.0.0.1:${port}`), 'default Host is the probed address');
  t.ok(seen.includes('/ www.example.org'), 'Host header as configured');
  const refused = await runCheck(check({ type: 'http', timeoutMs: 1000 }), { addr: LO, port: await closedPort() });
  t.match(refused, { ok: false, message: /ECONNREFUSED/ });
});

t.test('http: slow headers and a slow body fail by the timeout; the socket is closed', async (t) => {
  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => timers.forEach(clearTimeout));
  const port = await httpServer(t, (req, res) => {
    if (req.url === '/slow-headers') timers.push(setTimeout(() => res.writeHead(200).end('late\n'), 2000));
    else {
      res.writeHead(200);
      res.write('part');
      timers.push(setTimeout(() => res.end('rest\n'), 2000));
    }
  });
  for (const path of ['/slow-headers', '/slow-body']) {
    const [r, ms] = await timed(() => runCheck(check({ type: 'http', path, timeoutMs: 300, digest: 'a'.repeat(32) }), { addr: LO, port }));
    t.same(r, { ok: false, message: 'timeout after 300 ms' }, path);
    t.ok(ms < 1000, `${path} settled in ${ms.toFixed(0)} ms`);
  }
});

t.test('https: a self-signed server passes unless tlsVerify is on', async (t) => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const https = await import('node:https');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xvs-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gen = spawn('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=rs.example',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const code = await new Promise((r) => gen.once('exit', r));
  if (code !== 0) {
    t.comment('openssl could not make a certificate: https not checked');
    return;
  }
  const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) },
    (_req, res) => res.end('tls ok\n'));
  await new Promise<void>((r) => server.listen(0, LO, r));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const port = (server.address() as net.AddressInfo).port;
  const md5 = createHash('md5').update('tls ok\n').digest('hex');
  t.match(await runCheck(check({ type: 'https', digest: md5, timeoutMs: 2000 }), { addr: LO, port }), { ok: true, message: 'status 200, digest ok' });
  t.match(await runCheck(check({ type: 'https', tlsVerify: true, timeoutMs: 2000 }), { addr: LO, port }), { ok: false, message: /SELF_SIGNED|self.signed/i });
  t.match(await runCheck(check({ type: 'http', timeoutMs: 500 }), { addr: LO, port }), { ok: false }, 'plain HTTP to a TLS port fails');
});

t.test('script: exit status, arguments and environment, dynamic weight', async (t) => {
  const sh = (script: string, extra: Partial<{ dynamicWeight: boolean; timeoutMs: number }> = {}) =>
    check({ type: 'script', command: ['/bin/sh', '-c', script], timeoutMs: 2000, ...extra });
  const dest = { addr: '192.0.2.11', port: 8080 };
  t.match(await runCheck(sh('exit 0'), dest), { ok: true, message: 'exit 0' });
  t.match(await runCheck(sh('exit 3'), dest), { ok: false, message: 'exit 3' });
  t.match(await runCheck(sh('[ "$XVS_RS_ADDR:$XVS_RS_PORT" = 192.0.2.11:8080 ]'), dest), { ok: true }, 'gets the dest in its environment');
  t.same(await runCheck(sh('echo 7', { dynamicWeight: true }), dest), { ok: true, message: 'exit 0, weight 7', weight: 7 });
  t.same(await runCheck(sh('echo busy', { dynamicWeight: true }), dest), { ok: true, message: 'exit 0 (no weight in output)' });
  t.match(await runCheck(check({ type: 'script', command: ['/nonexistent/xvs-check'] }), dest), { ok: false, message: /ENOENT/ });
});

t.test('script: a hanging script is killed at the timeout, with what it started', async (t) => {
  const marker = `/tmp/xvs-hc-${process.pid}-${Date.now()}`;
  // The script starts a grandchild that would touch the marker later; killing the group prevents it.
  const c = check({ type: 'script', command: ['/bin/sh', '-c', `(sleep 1; touch ${marker}) & sleep 30`], timeoutMs: 300 });
  const [r, ms] = await timed(() => runCheck(c, { addr: LO, port: 1 }));
  t.same(r, { ok: false, message: 'timeout after 300 ms (killed)' });
  t.ok(ms < 1000, `settled in ${ms.toFixed(0)} ms`);
  await new Promise((res) => setTimeout(res, 1300));
  const { existsSync, rmSync } = await import('node:fs');
  t.notOk(existsSync(marker), 'the grandchild was killed too');
  rmSync(marker, { force: true });
  // A script that exits but leaves a child holding its stdout still settles promptly.
  const [r2, ms2] = await timed(() => runCheck(check({ type: 'script', command: ['/bin/sh', '-c', 'echo 4; sleep 5 &'], dynamicWeight: true, timeoutMs: 3000 }), { addr: LO, port: 1 }));
  t.same(r2, { ok: true, message: 'exit 0, weight 4', weight: 4 });
  t.ok(ms2 < 1500, `did not wait for the background child (${ms2.toFixed(0)} ms)`);
});

t.test('schema: defaults and rejections', async (t) => {
  t.match(check({ type: 'tcp' }), { intervalMs: 5000, timeoutMs: 2000, fall: 3, rise: 2 });
  t.match(check({ type: 'http' }), { path: '/', status: [200], tlsVerify: false });
  for (const bad of [
    { type: 'tcp', intervalMs: 1 }, { type: 'http', path: 'no-slash' }, { type: 'http', digest: 'xyz' },
    { type: 'script', command: [] }, { type: 'tcp', fall: 0 }, { type: 'ping' }, { type: 'tcp', addr: 'example' }, { type: 'tcp', bogus: 1 },
  ]) t.notOk(HealthCheck.safeParse(bad).success, JSON.stringify(bad));
});
