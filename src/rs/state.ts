// src/rs/state.ts — what `xvs-rs up` changed, kept so `down` undoes exactly that. /run is shared by all
// network namespaces, so the file is named after the namespace's identity (the nsfs inode).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const DEFAULT_STATE_DIR = '/run/xvs-rs';

export const RsState = z.object({
  version: z.literal(1),
  netnsIno: z.number().int(),
  /** A state file from an earlier boot (or a recycled inode in a later boot) is stale. */
  bootId: z.string(),
  createdAt: z.string(),
  /** VIPs this tool put on lo (without prefix length); VIPs that were already there are not listed. */
  vips: z.array(z.string()),
  /** Sysctls this tool changed, with the value each had before the first change. */
  sysctls: z.array(z.object({ key: z.string(), previous: z.string() })),
  /** Interfaces this tool attached the TUN decapsulation program to (tc ingress). */
  decap: z.array(z.object({ ifname: z.string(), ifindex: z.number().int() })).optional(),
});
export type RsState = z.infer<typeof RsState>;

export interface NetnsIdentity {
  ino: number;
  bootId: string;
}

export function currentNetns(): NetnsIdentity {
  return {
    ino: statSync('/proc/self/ns/net').ino,
    bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
  };
}

export const stateDir = (env: NodeJS.ProcessEnv = process.env): string => env.XVS_RS_STATE_DIR || DEFAULT_STATE_DIR;

export const statePath = (dir: string, id: NetnsIdentity): string => path.join(dir, `${id.ino}.json`);

export type LoadedState =
  | { kind: 'none' }
  | { kind: 'ok'; state: RsState }
  | { kind: 'stale'; reason: string };

export async function loadState(file: string, id: NetnsIdentity): Promise<LoadedState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'stale', reason: `${file} is not valid JSON` };
  }
  const parsed = RsState.safeParse(json);
  if (!parsed.success) return { kind: 'stale', reason: `${file} has an unknown layout` };
  if (parsed.data.bootId !== id.bootId || parsed.data.netnsIno !== id.ino) {
    return { kind: 'stale', reason: `${file} was written for another boot or namespace` };
  }
  return { kind: 'ok', state: parsed.data };
}

/** Writes atomically (temp file + rename), so a crash never leaves half a state file. */
export async function saveState(file: string, state: RsState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o644 });
  await rename(tmp, file);
}

export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
}
