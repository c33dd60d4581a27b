// src/rs/vip.ts — the VIP addresses of a DR real server: held on lo (/32, /128) so the host accepts
// packets for them while never announcing them on the wire.
import net from 'node:net';
import { run } from '../netns/exec.js';
import { canonicalIp } from './args.js';

export interface HeldAddress {
  ifname: string;
  addr: string;
  prefixlen: number;
}

/** Every address of every interface of this namespace. */
export async function listAddresses(): Promise<HeldAddress[]> {
  const { stdout } = await run(['ip', '-j', 'addr', 'show']);
  const links = JSON.parse(stdout) as { ifname: string; addr_info?: { local?: string; prefixlen: number }[] }[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.local !== undefined)
      .map((a) => ({ ifname: l.ifname, addr: canonicalIp(a.local!), prefixlen: a.prefixlen })),
  );
}

export const hostPrefix = (vip: string): number => (net.isIPv6(vip) ? 128 : 32);

export async function addVipToLo(vip: string): Promise<void> {
  await run(['ip', ...(net.isIPv6(vip) ? ['-6'] : []), 'addr', 'add', `${vip}/${hostPrefix(vip)}`, 'dev', 'lo']);
}

export async function removeVipFromLo(vip: string): Promise<void> {
  await run(['ip', ...(net.isIPv6(vip) ? ['-6'] : []), 'addr', 'del', `${vip}/${hostPrefix(vip)}`, 'dev', 'lo']);
}
