// src/netns/paths.ts — where the tooling finds the repository's own files (bin/, bpf/), whether it runs
// from src/ (tap's TypeScript loader) or from dist/src/ (built). Side-effect free, unlike datapath/native.ts.
import path from 'node:path';
import { bpfObjectPath, repoRoot } from '../paths.js';

export { repoRoot };

/**
 * argv that runs one of the repository's node entry points (bin/xvsd, bin/xvsadm, bin/xvs-rs) as an
 * operator would. `env -u NODE_OPTIONS`: test runners (tap's processinfo) inject their loader hooks
 * into every child's NODE_OPTIONS, even past an explicit env, and those hooks break plain ESM scripts.
 */
export const binArgv = (name: 'xvsd' | 'xvsadm' | 'xvs-rs', args: readonly string[] = []): string[] =>
  nodeArgv(path.join(repoRoot, 'bin', name), args);

/** argv that runs a node script without inherited loader hooks (see binArgv). */
export const nodeArgv = (script: string, args: readonly string[] = []): string[] => [
  'env', '-u', 'NODE_OPTIONS',
  process.execPath,
  script,
  ...args,
];

/** The compiled do-nothing XDP program attached to veth peers (bpf/xdp_pass.bpf.c). */
export const xdpPassObject: string = bpfObjectPath('xdp_pass');
