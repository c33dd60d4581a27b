// test/e2e/lab-ha.test.ts — `npm run lab -- --ha` as a person runs it: two directors with keepalived and
// connection sync, long transfers in every mode, the master crashes, the backup takes the VIP and every
// transfer completes with its digest. Needs root and a build.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { e2eReady } from '../../src/lab/xvs.js';
import { listNamespaces, nodeArgv, repoRoot, runIn } from '../../src/netns/index.js';

if (e2eReady(t)) {
  t.setTimeout(180_000);
  const prefix = `xh${randomBytes(2).toString('hex')}-`;
  t.teardown(async () => {
    await runIn(null, nodeArgv(path.join(repoRoot, 'dist/src/lab/main.js'), ['--down', '--prefix', prefix]), { allowFail: true, quiet: true }).catch(() => undefined);
  });
  t.test('the lab with --ha', async (t) => {
    const { execFile } = await import('node:child_process');
    const res = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const argv = nodeArgv(path.join(repoRoot, 'dist/src/lab/main.js'), ['--ha', '--prefix', prefix]);
      execFile(argv[0], argv.slice(1), { timeout: 150_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      });
    });
    t.equal(res.code, 0, 'the lab exits 0');
    t.match(res.out, /ESTABLISHED .*192\.0\.2\.100:9002/, 'the backup lists the synced connections before the crash');
    t.match(res.out, /lb2 owns 192\.0\.2\.100 \d+ ms later/, 'the backup takes the VIP');
    for (const mode of ['dr', 'nat', 'fullnat', 'tun']) {
      t.match(res.out, new RegExp(`^  ${mode}\\s+via rs\\d .*echo and server digest match`, 'm'), `${mode}: the established transfer completed with its digest`);
    }
    t.match(res.out, 'lab --ha: OK — the backup took over and every established transfer completed');
    if (res.code !== 0) t.comment(res.out);
    t.same(await listNamespaces(prefix), [], 'torn down');
  });
}
