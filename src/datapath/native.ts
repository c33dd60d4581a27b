// src/datapath/native.ts — loads the native addon (xvs_native.node) and re-exports it typed.
// Only src/datapath/ imports this file; everything else goes through the Datapath facade.
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Native from '../../native/index.js';
import { repoRoot, bpfObjectPath } from '../paths.js';

export { repoRoot, bpfObjectPath };

const require = createRequire(import.meta.url);
export const native: typeof Native = require(path.join(repoRoot, 'native', 'build', 'Release', 'xvs_native.node'));
export type { MapInfo, StructLayout, TestRunOptions, TestRunResult } from '../../native/index.js';
