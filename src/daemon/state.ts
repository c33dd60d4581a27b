// src/daemon/state.ts — what a restarted xvsd needs to adopt the data path its predecessor left
// running: the table with its map ids, the attachments and their program ids (proof the pinned data path
// is still the live one), the sync daemons, and an ABI fingerprint so a different layout is refused, never
// misread. Written atomically (tmp + rename) after every change; the maps themselves are pinned on the
// bpffs (src/datapath/pin.ts), which cannot hold plain files, so this lives beside it under STATE_ROOT.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LAYOUTS, REASONS, RING_SLOTS, SCHED_TAB_SLOTS, MAX_LADDRS } from '../datapath/abi.js';
import type { TableSnapshot } from '../control/table.js';
import { SyncDaemonSpec } from '../sync/types.js';
import { XvsError } from '../model/errors.js';
import { STATE_ROOT } from '../datapath/pin.js';

export { STATE_ROOT };


/** The state file of the network namespace this process runs in (keyed like the pin directory). */
export function stateFileOfSelf(root = STATE_ROOT): string {
  return path.join(root, `ns-${statSync('/proc/self/ns/net').ino}.json`);
}

export function stateFileOfNetns(name: string, root = STATE_ROOT): string {
  return path.join(root, `ns-${statSync(path.join('/run/netns', name)).ino}.json`);
}

/**
 * The data path's ABI as this control plane reads it: every shared struct layout, the reason enum and
 * the limits. abi.ts is checked against the object's BTF at start, so equal fingerprints mean the pinned
 * maps are read the same way by both versions.
 */
export function abiFingerprint(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ LAYOUTS, REASONS, RING_SLOTS, SCHED_TAB_SLOTS, MAX_LADDRS }));
  return h.digest('hex').slice(0, 16);
}

const StateFile = z.object({
  format: z.literal(1),
  version: z.string(),
  abi: z.string(),
  pid: z.number().int(),
  maxConns: z.number().int(),
  attachments: z.array(z.object({ name: z.string(), ifindex: z.number().int(), mode: z.enum(['native', 'generic', 'tc']), progId: z.number().int() })),
  sync: z.array(SyncDaemonSpec).default([]),
  table: z.custom<TableSnapshot>((v) => typeof v === 'object' && v !== null && Array.isArray((v as TableSnapshot).services)),
});
export type DaemonState = z.infer<typeof StateFile>;

export function writeState(file: string, state: DaemonState): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, file);
}

/** The saved state, or null when there is none; a corrupt file is an error naming it. */
export function readState(file: string): DaemonState | null {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let parsed;
  try {
    parsed = StateFile.safeParse(JSON.parse(raw));
  } catch (e) {
    throw new XvsError('EINVAL', `${file}: not JSON (${(e as Error).message}); remove it or start with --fresh`);
  }
  if (!parsed.success) throw new XvsError('EINVAL', `${file}: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}; remove it or start with --fresh`);
  return parsed.data;
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}
