// src/datapath/pin.ts — where xvsd pins its data path so a restarted (or upgraded) xvsd adopts it with
// every connection: one directory per network namespace on a bpffs at PIN_ROOT. `ip netns exec` gives
// each process a fresh /sys, so the bpffs lives under /run (visible from every namespace) and must be
// mounted in the host's mount namespace (xvsd mounts it when it is missing; see README "Restarts").
import { existsSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import path from 'node:path';

export const PIN_ROOT = '/run/xvs';
/** statfs f_type of a bpffs (BPF_FS_MAGIC). */
export const BPF_FS_MAGIC = 0xcafe4a11;

/** The pin directory of the network namespace this process runs in (keyed by the netns inode). */
export function pinDirOfSelf(root = PIN_ROOT): string {
  return path.join(root, `ns-${statSync('/proc/self/ns/net').ino}`);
}

/** The pin directory of a named namespace (/run/netns/NAME is a bind mount of the netns inode). */
export function pinDirOfNetns(name: string, root = PIN_ROOT): string {
  return path.join(root, `ns-${statSync(path.join('/run/netns', name)).ino}`);
}

export function isBpffs(dir: string): boolean {
  try {
    return statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Removes a pin directory and everything pinned in it (maps and programs stay alive while still
 * attached or open elsewhere). Returns whether there was one.
 */
export function removePinDir(dir: string): boolean {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) removePinDir(p);
    else rmSync(p, { force: true });
  }
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/** Where xvsd keeps the state a restart adopts (plain files: a bpffs cannot hold them). */
export const STATE_ROOT = '/run/xvs-state';

/** Removes the pins, saved state and notify lock of a named namespace (test and lab teardown, before
 * `ip netns del`). */
export function removeNetnsPins(name: string, root = PIN_ROOT): boolean {
  try {
    const ino = statSync(path.join('/run/netns', name)).ino;
    rmSync(path.join(STATE_ROOT, `ns-${ino}.json`), { force: true });
    // packaging/keepalived/xvs-notify.sh's per-namespace lock file.
    rmSync(`/run/xvs-notify-ns${ino}.lock`, { force: true });
    return removePinDir(path.join(root, `ns-${ino}`));
  } catch {
    return false; // the namespace is already gone
  }
}
