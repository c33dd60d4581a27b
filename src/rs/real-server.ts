// src/rs/real-server.ts — the real-server side of LVS-DR (what the LVS "real-server.sh" scripts do by
// hand): VIPs on lo, ARP sysctls so the host never answers or announces them, rp_filter off for the
// asymmetric path; every change is recorded so `down` restores exactly the previous state.
import net from 'node:net';
import { displayKey, ipv4ConfInterfaces, readSysctl, writeSysctl } from './sysctl.js';
import { addVipToLo, hostPrefix, listAddresses, removeVipFromLo } from './vip.js';
import { attachDecap, decapCandidates, detachDecap } from './decap.js';
import {
  currentNetns, loadState, removeState, saveState, stateDir, statePath,
  type NetnsIdentity, type RsState,
} from './state.js';

export interface Reporter {
  info(line: string): void;
  warn(line: string): void;
}

/** A refusal that changed nothing (exit 1 with the message). */
export class RsError extends Error {
  readonly code = 'RS_REFUSED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RsError';
  }
}

export interface RsContext {
  id: NetnsIdentity;
  file: string;
  report: Reporter;
}

export const defaultContext = (report: Reporter): RsContext => {
  const id = currentNetns();
  return { id, file: statePath(stateDir(), id), report };
};

/**
 * The sysctls a DR real server with IPv4 VIPs needs. The kernel applies max(all, <dev>) for
 * arp_ignore, arp_announce and rp_filter, so:
 * - arp_ignore=1 (answer ARP only for addresses on the receiving interface) and arp_announce=2 (never
 *   use a VIP as ARP source) on `all` cover every interface, present and future; `lo` is set as well,
 *   as the LVS-DR documentation's scripts do.
 * - rp_filter must be 0 on `all` *and* on each interface (and `default`, for interfaces added later):
 *   requests arrive from the director while replies may leave by another path.
 */
async function wantedSysctls(): Promise<{ key: string; value: string }[]> {
  const ifaces = await ipv4ConfInterfaces();
  return [
    { key: 'net/ipv4/conf/all/arp_ignore', value: '1' },
    { key: 'net/ipv4/conf/all/arp_announce', value: '2' },
    { key: 'net/ipv4/conf/lo/arp_ignore', value: '1' },
    { key: 'net/ipv4/conf/lo/arp_announce', value: '2' },
    { key: 'net/ipv4/conf/all/rp_filter', value: '0' },
    { key: 'net/ipv4/conf/default/rp_filter', value: '0' },
    ...ifaces.map((i) => ({ key: `net/ipv4/conf/${i}/rp_filter`, value: '0' })),
  ];
}

const freshState = (id: NetnsIdentity): RsState => ({
  version: 1, netnsIno: id.ino, bootId: id.bootId, createdAt: new Date().toISOString(), vips: [], sysctls: [],
});

async function currentState(ctx: RsContext): Promise<RsState | null> {
  const loaded = await loadState(ctx.file, ctx.id);
  if (loaded.kind === 'stale') {
    ctx.report.warn(`ignoring stale state: ${loaded.reason}`);
    return null;
  }
  return loaded.kind === 'ok' ? loaded.state : null;
}

export async function up(ctx: RsContext, vips: readonly string[], mode: 'dr' | 'tun' = 'dr'): Promise<void> {
  // Checks first: a refusal must leave the system untouched.
  const held = await listAddresses();
  for (const vip of vips) {
    const elsewhere = held.find((a) => a.addr === vip && a.ifname !== 'lo');
    if (elsewhere) {
      throw new RsError(
        `${vip} is configured on ${elsewhere.ifname}: a DR real server must hold the VIP on lo only ` +
          `(is this the director?)`,
      );
    }
  }
  const state = (await currentState(ctx)) ?? freshState(ctx.id);
  const undo: (() => Promise<void>)[] = [];
  try {
    if (vips.some((v) => net.isIPv4(v)) || state.vips.some((v) => net.isIPv4(v))) {
      for (const { key, value } of await wantedSysctls()) {
        const now = await readSysctl(key);
        if (now === null || now === value) continue;
        if (!state.sysctls.some((s) => s.key === key)) {
          state.sysctls.push({ key, previous: now });
          undo.push(async () => {
            await writeSysctl(key, now);
            state.sysctls = state.sysctls.filter((s) => s.key !== key);
          });
        }
        await writeSysctl(key, value);
        await saveState(ctx.file, state);
        ctx.report.info(`${displayKey(key)} = ${value} (was ${now})`);
      }
    }
    // VIPs after the ARP sysctls, so there is no moment in which the host would answer ARP for them.
    for (const vip of vips) {
      if (held.some((a) => a.addr === vip && a.ifname === 'lo')) {
        ctx.report.info(`${vip} already on lo${state.vips.includes(vip) ? '' : ' (not added by xvs-rs: left alone)'}`);
        continue;
      }
      await addVipToLo(vip);
      state.vips.push(vip);
      undo.push(async () => {
        await removeVipFromLo(vip);
        state.vips = state.vips.filter((v) => v !== vip);
      });
      await saveState(ctx.file, state);
      ctx.report.info(`${vip}/${hostPrefix(vip)} added on lo`);
    }
    if (mode === 'tun') {
      // TUN: tunnelled packets may arrive on any interface; decapsulate on each one not done before.
      const done = new Set((state.decap ?? []).map((d) => d.ifindex));
      const links = (await decapCandidates()).filter((l) => !done.has(l.ifindex));
      if (links.length > 0) {
        await attachDecap(links);
        state.decap = [...(state.decap ?? []), ...links];
        undo.push(async () => {
          for (const l of links) detachDecap(l);
          state.decap = (state.decap ?? []).filter((d) => !links.some((l) => l.ifindex === d.ifindex));
        });
        await saveState(ctx.file, state);
        for (const l of links) ctx.report.info(`IPIP/IP6IP6 decapsulation attached to ${l.ifname} (tc ingress)`);
      }
    }
    await saveState(ctx.file, state);
  } catch (e) {
    for (const step of undo.reverse()) await step().catch(() => {});
    await (state.vips.length + state.sysctls.length + (state.decap?.length ?? 0) > 0 ? saveState(ctx.file, state) : removeState(ctx.file)).catch(() => {});
    throw e;
  }
}

/** Undoes what `up` recorded. Returns false when something could not be undone (the state keeps it). */
export async function down(ctx: RsContext): Promise<boolean> {
  const loaded = await loadState(ctx.file, ctx.id);
  if (loaded.kind === 'none') {
    ctx.report.info('nothing to undo: xvs-rs up was not run in this network namespace');
    return true;
  }
  if (loaded.kind === 'stale') {
    ctx.report.warn(`${loaded.reason}; removing it without undoing anything`);
    await removeState(ctx.file);
    return true;
  }
  const state = loaded.state;
  const failed: string[] = [];
  const held = await listAddresses();
  for (const vip of [...state.vips].reverse()) {
    if (!held.some((a) => a.addr === vip && a.ifname === 'lo')) {
      ctx.report.warn(`${vip} is no longer on lo`);
    } else {
      try {
        await removeVipFromLo(vip);
        ctx.report.info(`${vip}/${hostPrefix(vip)} removed from lo`);
      } catch (e) {
        failed.push(`${vip}: ${(e as Error).message}`);
        continue;
      }
    }
    state.vips = state.vips.filter((v) => v !== vip);
  }
  for (const l of [...(state.decap ?? [])].reverse()) {
    try {
      if (detachDecap(l)) ctx.report.info(`decapsulation detached from ${l.ifname}`);
      else ctx.report.warn(`decapsulation was no longer attached to ${l.ifname}`);
    } catch (e) {
      // The interface is gone (ENODEV etc.): so is the filter.
      ctx.report.warn(`${l.ifname}: ${(e as Error).message}`);
    }
    state.decap = (state.decap ?? []).filter((d) => d.ifindex !== l.ifindex);
  }
  for (const { key, previous } of [...state.sysctls].reverse()) {
    const now = await readSysctl(key);
    if (now !== null) {
      try {
        if (now !== previous) await writeSysctl(key, previous);
        ctx.report.info(`${displayKey(key)} = ${previous} (restored)`);
      } catch (e) {
        failed.push(`${displayKey(key)}: ${(e as Error).message}`);
        continue;
      }
    }
    state.sysctls = state.sysctls.filter((s) => s.key !== key);
  }
  if (failed.length > 0) {
    await saveState(ctx.file, state);
    for (const f of failed) ctx.report.warn(`could not undo ${f}`);
    return false;
  }
  await removeState(ctx.file);
  return true;
}

export interface RsStatus {
  netnsIno: number;
  stateFile: string;
  up: boolean;
  createdAt?: string;
  vips: { addr: string; onLo: boolean }[];
  sysctls: { key: string; previous: string; current: string | null }[];
  decap: string[];
}

export async function status(ctx: RsContext): Promise<RsStatus> {
  const state = await currentState(ctx);
  const held = await listAddresses();
  return {
    netnsIno: ctx.id.ino,
    stateFile: ctx.file,
    up: state !== null,
    createdAt: state?.createdAt,
    vips: (state?.vips ?? []).map((addr) => ({ addr, onLo: held.some((a) => a.addr === addr && a.ifname === 'lo') })),
    decap: (state?.decap ?? []).map((d) => d.ifname),
    sysctls: await Promise.all(
      (state?.sysctls ?? []).map(async (s) => ({ ...s, current: await readSysctl(s.key) })),
    ),
  };
}

export function formatStatus(s: RsStatus): string {
  if (!s.up) return `xvs-rs: not set up in this network namespace (net:[${s.netnsIno}])\n`;
  const lines = [
    `xvs-rs: up in network namespace net:[${s.netnsIno}] since ${s.createdAt}`,
    `state: ${s.stateFile}`,
    'VIPs added on lo:',
    ...(s.vips.length ? s.vips.map((v) => `  ${v.addr}/${hostPrefix(v.addr)}${v.onLo ? '' : '  (missing!)'}`) : ['  (none)']),
    'sysctls changed:',
    ...(s.sysctls.length
      ? s.sysctls.map((c) => `  ${displayKey(c.key)} = ${c.current ?? '(gone)'} (was ${c.previous})`)
      : ['  (none)']),
    ...(s.decap.length ? ['TUN decapsulation (tc ingress) on:', ...s.decap.map((i) => `  ${i}`)] : []),
  ];
  return lines.join('\n') + '\n';
}
