// src/datapath/native.ts — loads the native addon (xvs_native.node) and re-exports it typed.
// Only src/datapath/ imports this file; everything else goes through the Datapath facade.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type * as Native from '../../native/index.js';

/** The repository root, found from this file whether it runs from src/ (tap) or dist/src/ (built). */
export const repoRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('xvs: cannot find the repository root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
})();

export const bpfObjectPath = (name: string): string => path.join(repoRoot, 'bpf', `${name}.o`);

const require = createRequire(import.meta.url);
export const native: typeof Native = require(path.join(repoRoot, 'native', 'build', 'Release', 'xvs_native.node'));
export type { MapInfo, StructLayout, TestRunOptions, TestRunResult } from '../../native/index.js';
