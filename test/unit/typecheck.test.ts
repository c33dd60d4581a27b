// test/unit/typecheck.test.ts — the whole tree (src, bench and the tests themselves) type-checks under
// strict tsc; tap's loader runs .ts without checking types, so this is where a type error fails the suite.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../src/paths.js';

t.test('tsc -p tsconfig.test.json', async (t) => {
  let out = '';
  let code = 0;
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json'],
      { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
  } catch (e) {
    code = (e as { status: number }).status ?? 1;
    out = String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
  }
  t.equal(code, 0, out || 'type-checks');
});
