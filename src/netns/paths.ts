// src/netns/paths.ts — where the tooling finds the repository's own files (bin/, bpf/), whether it runs
// from src/ (tap's TypeScript loader) or from dist/src/ (built). Side-effect free, unlike datapath/native.ts.
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

/** argv that runs one of the repository's node entry points (bin/xvsd, bin/xvsadm, bin/xvs-rs). */
export const binArgv = (name: 'xvsd' | 'xvsadm' | 'xvs-rs', args: readonly string[] = []): string[] => [
  process.execPath,
  path.join(repoRoot, 'bin', name),
  ...args,
];

/** The compiled do-nothing XDP program attached to veth peers (bpf/xdp_pass.bpf.c). */
export const xdpPassObject: string = path.join(repoRoot, 'bpf', 'xdp_pass.o');
