// src/netns/xdp.ts — what veth needs so that XDP_TX/XDP_REDIRECT from a director actually deliver (see
// shared/ENVIRONMENT.md, "XDP on veth"): a do-nothing XDP program on the receiving peer, and no
// CHECKSUM_PARTIAL packets from local senders.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { run, runIn } from './exec.js';
import { repoRoot, xdpPassObject } from './paths.js';

export type XdpMode = 'native' | 'generic';

/** Builds bpf/xdp_pass.o when `npm run build:bpf` has not run yet; returns its path. */
export async function ensureXdpPassObject(): Promise<string> {
  if (!existsSync(xdpPassObject)) await run(['make', '-s', '-C', path.join(repoRoot, 'bpf'), path.basename(xdpPassObject)]);
  return xdpPassObject;
}

/** Attaches the XDP_PASS program to `ifname` in namespace `ns`, replacing whatever is attached there. */
export async function attachXdpPass(ns: string, ifname: string, mode: XdpMode = 'native'): Promise<void> {
  const obj = await ensureXdpPassObject();
  const kind = mode === 'native' ? 'xdpdrv' : 'xdpgeneric';
  await run(['ip', '-n', ns, '-force', 'link', 'set', 'dev', ifname, kind, 'obj', obj, 'sec', 'xdp']);
}

/** Removes any XDP program (both modes) from `ifname`. */
export async function detachXdp(ns: string, ifname: string): Promise<void> {
  for (const kind of ['xdpdrv', 'xdpgeneric']) {
    await run(['ip', '-n', ns, 'link', 'set', 'dev', ifname, kind, 'off'], { allowFail: true });
  }
}

/** `ethtool -K` inside the namespace, e.g. setOffloads(ns, 'veth0', { tx: false, gro: false }). */
export async function setOffloads(ns: string, ifname: string, features: Record<string, boolean>): Promise<void> {
  const args = Object.entries(features).flatMap(([k, on]) => [k, on ? 'on' : 'off']);
  if (args.length > 0) await runIn(ns, ['ethtool', '-K', ifname, ...args]);
}

/** The XDP attachment of a link as `ip -j -d link show` reports it, or null when there is none. */
export async function xdpAttachment(ns: string, ifname: string): Promise<{ mode: number; progId: number } | null> {
  const { stdout } = await run(['ip', '-n', ns, '-j', '-d', 'link', 'show', 'dev', ifname]);
  const [link] = JSON.parse(stdout) as { xdp?: { mode: number; prog?: { id: number } } }[];
  return link?.xdp ? { mode: link.xdp.mode, progId: link.xdp.prog?.id ?? 0 } : null;
}
