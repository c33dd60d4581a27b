// src/daemon/attach.ts — attaching the fast path to interfaces: XDP native, XDP generic or tc ingress,
// with `auto` trying them in that order per interface. Attachments left behind by a killed xvsd (our
// program names) are removed first; someone else's XDP program is never replaced.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { native } from '../datapath/native.js';
import { XvsError } from '../model/errors.js';
import type { Logger } from '../log/logger.js';

export type AttachMode = 'auto' | 'native' | 'generic' | 'tc';
export type ActualMode = 'native' | 'generic' | 'tc';

export interface Attachment {
  name: string;
  ifindex: number;
  mode: ActualMode;
}

const XDP_FLAGS_SKB_MODE = 2;
const XDP_FLAGS_DRV_MODE = 4;
/** xvs's tc filter slot: fixed handle and priority so a stale one can be found and replaced. */
export const TC_HANDLE = 0x7856;
export const TC_PRIORITY = 0x7856;
export const XDP_PROG_NAME = 'xvs_xdp';

/** Every non-loopback interface of this network namespace. */
export function listInterfaces(): string[] {
  return readdirSync('/sys/class/net').filter((n) => n !== 'lo' && !n.startsWith('bonding_masters')).sort();
}

export function ifindexOf(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
  } catch {
    throw new XvsError('EINVAL', `no interface named ${name} in this network namespace`);
  }
}

interface XdpInfo {
  mode: string;
  id: number;
  name: string;
}

/** The XDP program currently on an interface, as iproute2 reports it. */
function xdpOn(name: string): XdpInfo | null {
  const out = JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show', 'dev', name], { encoding: 'utf8' })) as any[];
  const xdp = out[0]?.xdp;
  if (!xdp || !xdp.prog) {
    const attached = xdp?.attached?.[0];
    if (!attached?.prog) return null;
    return { mode: attached.mode === 2 ? 'generic' : 'native', id: attached.prog.id, name: attached.prog.name ?? '' };
  }
  return { mode: xdp.mode === 2 ? 'generic' : 'native', id: xdp.prog.id, name: xdp.prog.name ?? '' };
}

/** Removes attachments a previous xvsd left on this interface; refuses to touch foreign XDP programs. */
export function removeStale(name: string, ifindex: number, log: Logger): void {
  const xdp = xdpOn(name);
  if (xdp) {
    if (xdp.name !== XDP_PROG_NAME) {
      throw new XvsError('EEXIST', `interface ${name} already has an XDP program (${xdp.name || 'unnamed'}, id ${xdp.id}) that is not xvs's; detach it or leave ${name} out with --iface`);
    }
    native.xdpDetach(ifindex, xdp.mode === 'generic' ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    log.info({ iface: name, mode: xdp.mode, prog_id: xdp.id }, 'removed stale xvs XDP attachment');
  }
  if (native.tcQuery(ifindex, 'ingress', TC_HANDLE, TC_PRIORITY) !== 0) {
    native.tcDetach(ifindex, 'ingress', TC_HANDLE, TC_PRIORITY);
    log.info({ iface: name }, 'removed stale xvs tc attachment');
  }
}

async function tryAttach(ifindex: number, mode: ActualMode, xdpFd: number, tcFd: number): Promise<void> {
  if (mode === 'tc') return native.tcAttach(ifindex, tcFd, 'ingress', TC_HANDLE, TC_PRIORITY);
  return native.xdpAttach(ifindex, xdpFd, mode === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
}

/** Attaches one interface; `auto` tries native, then generic, then tc, and logs what it picked. */
export async function attach(name: string, mode: AttachMode, progs: { xdp: number; tc: number }, log: Logger): Promise<Attachment> {
  const ifindex = ifindexOf(name);
  removeStale(name, ifindex, log);
  const order: ActualMode[] = mode === 'auto' ? ['native', 'generic', 'tc'] : [mode];
  const failures: string[] = [];
  for (const m of order) {
    try {
      await tryAttach(ifindex, m, progs.xdp, progs.tc);
      log.info({ iface: name, ifindex, mode: m, requested: mode }, 'attached');
      return { name, ifindex, mode: m };
    } catch (e) {
      failures.push(`${m}: ${(e as Error).message}`);
      if (mode === 'auto') log.info({ iface: name, mode: m, err: e }, 'attach mode not available, trying the next');
    }
  }
  throw new XvsError('EINVAL', `cannot attach to ${name}: ${failures.join('; ')}`);
}

export function detach(a: Attachment): void {
  if (a.mode === 'tc') native.tcDetach(a.ifindex, 'ingress', TC_HANDLE, TC_PRIORITY);
  else native.xdpDetach(a.ifindex, a.mode === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
}

/**
 * Replaces the program of an adopted attachment in place, in the same mode: XDP attach without
 * UPDATE_IF_NOEXIST and tc attach with BPF_TC_F_REPLACE swap atomically, so no packet meets an
 * interface without a program.
 */
export async function reattach(a: Attachment, progs: { xdp: number; tc: number }, log: Logger): Promise<Attachment> {
  await tryAttach(a.ifindex, a.mode, progs.xdp, progs.tc);
  log.info({ iface: a.name, ifindex: a.ifindex, mode: a.mode }, 'program replaced (adopted attachment)');
  return { name: a.name, ifindex: a.ifindex, mode: a.mode };
}
