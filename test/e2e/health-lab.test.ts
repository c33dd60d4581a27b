// test/e2e/health-lab.test.ts — `npm run lab -- --health` as a person runs it: the lab balances, then its
// health check takes web2 out when its nginx stops and puts it back when it starts; xvsd's JSON logs are
// shown readable. Needs root and a build.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { e2eReady } from '../../src/lab/xvs.js';
import { listNamespaces, nodeArgv, repoRoot, runIn } from '../../src/netns/index.js';

if (e2eReady(t)) {
  t.setTimeout(180_000);
  const prefix = `xl${randomBytes(2).toString('hex')}-`;
  t.teardown(async () => {
    // Whatever happened, leave nothing behind.
    await runIn(null, nodeArgv(path.join(repoRoot, 'dist/src/lab/main.js'), ['--down', '--prefix', prefix]), { allowFail: true, quiet: true }).catch(() => undefined);
  });
  t.test('the lab with --health', async (t) => {
    const { execFile } = await import('node:child_process');
    const res = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const argv = nodeArgv(path.join(repoRoot, 'dist/src/lab/main.js'), ['--health', '--prefix', prefix, '--requests', '4']);
      execFile(argv[0], argv.slice(1), { timeout: 150_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      });
    });
    t.equal(res.code, 0, 'the lab exits 0');
    t.match(res.out, 'lab: OK — traffic to the VIP was balanced by xvs');
    t.match(res.out, /\[xvsd\] \S+ warn real server down service=tcp:192\.0\.2\.100:80 rs=192\.0\.2\.12:80 check=http reason=ECONNREFUSED action=quiesce/,
      'the transition as a readable log line');
    t.match(res.out, /\[xvsd\] \S+ info real server up .*rs=192\.0\.2\.12:80/);
    t.match(res.out, /-> 192\.0\.2\.12:80\s+Route\s+0\s/, '-Ln shows web2 quiesced');
    t.match(res.out, /-> 192\.0\.2\.12:80\s+http\s+DOWN\s+quiesce/, '--health shows it down');
    t.match(res.out, '6 requests: web1 web1 web1 web1 web1 web1');
    t.match(res.out, 'lab: OK — the health check took web2 out of the pool and put it back');
    if (res.code !== 0) t.comment(res.out);
    t.same(await listNamespaces(prefix), [], 'torn down');
  });
}
