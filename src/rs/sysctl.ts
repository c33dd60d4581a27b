// src/rs/sysctl.ts — reads and writes sysctls of the current network namespace through /proc/sys.
// Keys are kept as paths under /proc/sys ("net/ipv4/conf/all/arp_ignore"): interface names may contain
// dots, so the dotted form is only for display.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const PROC_SYS = '/proc/sys';

/** "net/ipv4/conf/eth0.5/rp_filter" → "net.ipv4.conf.eth0/5.rp_filter" (sysctl(8)'s notation). */
export const displayKey = (key: string): string => key.split('/').map((p) => p.replace(/\./g, '/')).join('.');

export async function readSysctl(key: string): Promise<string | null> {
  try {
    return (await readFile(path.join(PROC_SYS, key), 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export async function writeSysctl(key: string, value: string): Promise<void> {
  await writeFile(path.join(PROC_SYS, key), value + '\n');
}

/** Interface directories under net/ipv4/conf, without `all` and `default`. */
export async function ipv4ConfInterfaces(): Promise<string[]> {
  const entries = await readdir(path.join(PROC_SYS, 'net/ipv4/conf'));
  return entries.filter((e) => e !== 'all' && e !== 'default').sort();
}
