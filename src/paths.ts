// src/paths.ts — where xvs finds the repository's own files (bpf/, bin/, native/), whether it runs from
// src/ (tap's TypeScript loader) or from dist/src/ (built). Side-effect free.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const findRepoRoot = (): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('xvs: cannot find the repository root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
};

export const repoRoot: string = findRepoRoot();

/** A compiled BPF object of bpf/ by its base name (xvs, xdp_pass, bench_trivial, ...). */
export const bpfObjectPath = (name: string): string => path.join(repoRoot, 'bpf', `${name}.o`);
