// src/datapath/abi.ts — TypeScript mirror of bpf/include/xvs_abi.h: struct layouts as data, codecs
// built from them, and the constants. checkLayouts() compares every layout with the BTF of the compiled
// object, so a drift between C and TypeScript stops xvsd (and fails the test suite) instead of corrupting maps.
import net from 'node:net';
import type { StructLayout } from '../../native/index.js';

export const RING_SLOTS = 1024;
export const RING_MASK = RING_SLOTS - 1;
export const DEST_NONE = 0xffffffff;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const FWD = { masq: 0, localnode: 1, tunnel: 2, route: 3, bypass: 4, fullnat: 5 } as const;
export const SVC_F_ACTIVE = 1;
export const SVC_F_OPS = 2;
export const DEST_F_AVAILABLE = 1;
export const CONN_F_INACTIVE = 1;
export const CONN_F_OUTPUT = 2;
/** FULLNAT local addresses per service (XVS_MAX_LADDRS) and the default local port range. */
export const MAX_LADDRS = 8;
export const DEFAULT_LPORT_RANGE = { min: 1024, max: 65535 } as const;
/** Hash schedulers' tables (struct xvs_sched_tab): kinds, flags, the unavailable-slot bit. */
export const SCHED_TAB_SLOTS = 4096;
export const SCHED_KIND = { sh: 1, dh: 2, mh: 3, lblc: 4, lblcr: 5 } as const;
export const SCHED_F_FALLBACK = 1;
export const SCHED_F_PORT = 2;
export const SLOT_UNAVAIL = 0x80000000;
/** Persistence (struct xvs_persist / xvs_tmpl flags). */
export const PERSIST_F_ON = 1;
export const TMPL_F_ASSURED = 1;
/** Locality schedulers (struct xvs_lblc / xvs_dsched): members per lblcr set, the dest OVERLOAD flag. */
export const LBLC_SET_MAX = 8;
export const DSCHED_F_OVERLOAD = 1;
/** struct xvs_cfg flags: a sync master runs (the data path publishes connection events). */
export const CFG_F_SYNC = 1;
export const CFG_F_NULLSVC = 2;
/** struct xvs_fc_ctl flags: the established-flow cache is off. */
export const FC_F_OFF = 1;

/** enum xvs_tcp_state, in the kernel's IP_VS_TCP_S_* order; names as ipvsadm -Lnc prints them. */
export const TCP_STATE_NAMES = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT',
  'LAST_ACK', 'LISTEN', 'SYNACK',
] as const;
export const TCP_S_ESTABLISHED = 1;

/** enum xvs_reason, in order (checked against BTF). Names as exposed in metrics and `info`. */
export const REASONS = [
  'XVS_R_PASS_NOT_IP', 'XVS_R_PASS_NOT_L4', 'XVS_R_PASS_NO_SERVICE', 'XVS_R_PASS_FRAGMENT',
  'XVS_R_PASS_IP_OPTIONS', 'XVS_R_PASS_NO_NEIGH', 'XVS_R_PASS_FIB_OTHER', 'XVS_R_DROP_MALFORMED',
  'XVS_R_DROP_NO_CONN_NOT_SYN', 'XVS_R_DROP_NO_DEST', 'XVS_R_DROP_DEST_GONE', 'XVS_R_DROP_CONN_FULL',
  'XVS_R_DROP_REDIRECT', 'XVS_R_RING_EXHAUSTED', 'XVS_R_FWD_TX', 'XVS_R_FWD_REDIRECT',
  'XVS_R_CONN_NEW', 'XVS_R_CONN_RESCHED', 'XVS_R_PASS_MALFORMED',
  'XVS_R_FWD_REPLY', 'XVS_R_PASS_STALE_REPLY', 'XVS_R_PASS_TTL', 'XVS_R_DROP_NO_LADDR',
  'XVS_R_DROP_LPORT_EXHAUSTED', 'XVS_R_ICMP_TOO_BIG', 'XVS_R_PASS_TOO_BIG', 'XVS_R_FWD_ICMP',
  'XVS_R_SYNC_LOST', 'XVS_R_FC_HIT', 'XVS_R_FC_FILL',
] as const;
export type ReasonName = (typeof REASONS)[number];
export const REASON_MAX = REASONS.length;

type FieldKind = 'u8' | 'u16be' | 'u16' | 'u32' | 'u64' | 'addr' | 'pad';
interface Field { name: string; kind: FieldKind; offset: number; size: number }

const sizeOf: Record<FieldKind, number> = { u8: 1, u16be: 2, u16: 2, u32: 4, u64: 8, addr: 16, pad: 0 };

/** Lays out fields in order with natural alignment, as the C compiler does for these structs. */
function layout(name: string, spec: [string, FieldKind, number?][]): { name: string; size: number; fields: Field[] } {
  let off = 0;
  let maxAlign = 1;
  const fields: Field[] = [];
  for (const [fname, kind, explicit] of spec) {
    const size = explicit ?? sizeOf[kind];
    const align = kind === 'addr' ? 4 : kind === 'pad' ? 1 : size;
    off = Math.ceil(off / align) * align;
    maxAlign = Math.max(maxAlign, align);
    fields.push({ name: fname, kind, offset: off, size });
    off += size;
  }
  return { name, size: Math.ceil(off / maxAlign) * maxAlign, fields };
}

// Field names are the C member names; 'addr' is __u32[4] in network order.
export const LAYOUTS = {
  xvs_svc_key: layout('xvs_svc_key', [['addr', 'addr'], ['port', 'u16be'], ['proto', 'u8'], ['af', 'u8']]),
  xvs_svc: layout('xvs_svc', [['id', 'u32'], ['flags', 'u32']]),
  xvs_dest: layout('xvs_dest', [['addr', 'addr'], ['port', 'u16be'], ['af', 'u8'], ['fwd', 'u8'], ['flags', 'u32'], ['svc_id', 'u32']]),
  xvs_dest_cnt: layout('xvs_dest_cnt', [['activeconns', 'u32'], ['inactconns', 'u32']]),
  xvs_ring: layout('xvs_ring', [['cons', 'u64'], ['prod', 'u64'], ['slot', 'pad', 4 * RING_SLOTS]]),
  xvs_conn_key: layout('xvs_conn_key', [['saddr', 'addr'], ['daddr', 'addr'], ['sport', 'u16be'], ['dport', 'u16be'], ['proto', 'u8'], ['af', 'u8'], ['pad', 'u16']]),
  xvs_conn: layout('xvs_conn', [['last_seen_ns', 'u64'], ['created_ns', 'u64'], ['dest_id', 'u32'], ['svc_id', 'u32'], ['state', 'u8'], ['fwd', 'u8'], ['flags', 'u16'], ['pad', 'u32'], ['raddr', 'addr'], ['laddr', 'addr'], ['rport', 'u16be'], ['lport', 'u16be'], ['pad2', 'u32']]),
  xvs_laddr_pool: layout('xvs_laddr_pool', [['count', 'u32'], ['lport_min', 'u16'], ['lport_max', 'u16'], ['addrs', 'pad', 16 * MAX_LADDRS]]),
  xvs_stats: layout('xvs_stats', [['conns', 'u64'], ['inpkts', 'u64'], ['outpkts', 'u64'], ['inbytes', 'u64'], ['outbytes', 'u64']]),
  xvs_sched_tab: layout('xvs_sched_tab', [['kind', 'u32'], ['flags', 'u32'], ['size', 'u32'], ['param', 'u32'], ['slot', 'pad', 4 * 4096]]),
  xvs_persist: layout('xvs_persist', [['mask', 'addr'], ['timeout_s', 'u32'], ['flags', 'u32']]),
  xvs_tmpl_key: layout('xvs_tmpl_key', [['addr', 'addr'], ['svc_id', 'u32'], ['af', 'u8'], ['pad', 'pad', 3]]),
  xvs_tmpl: layout('xvs_tmpl', [['last_seen_ns', 'u64'], ['created_ns', 'u64'], ['dest_id', 'u32'], ['timeout_s', 'u32'], ['flags', 'u32'], ['pad', 'u32']]),
  xvs_cfg: layout('xvs_cfg', [['flags', 'u32'], ['pad', 'u32']]),
  xvs_fc_ctl: layout('xvs_fc_ctl', [['gen', 'u32'], ['flags', 'u32']]),
  xvs_lblc_key: layout('xvs_lblc_key', [['addr', 'addr'], ['svc_id', 'u32'], ['af', 'u8'], ['pad', 'pad', 3]]),
  xvs_lblc: layout('xvs_lblc', [['lastuse_ns', 'u64'], ['lastmod_ns', 'u64'], ['dest', 'pad', 4 * 8]]),
  xvs_dsched: layout('xvs_dsched', [['weight', 'u32'], ['flags', 'u32']]),
} as const;
export type StructName = keyof typeof LAYOUTS;
/** struct xvs_sync_ev {struct xvs_conn_key key; struct xvs_conn conn;}: a ring buffer record, so not in
 * the object's BTF; its halves are checked layouts and the C header asserts the size. */
export const SYNC_EV_SIZE = 112;

/** Compares each layout with the BTF layout reported by `readBtf`; returns the list of mismatches. */
export function checkLayouts(readBtf: (struct: string) => StructLayout): string[] {
  const problems: string[] = [];
  for (const l of Object.values(LAYOUTS)) {
    let btf: StructLayout;
    try {
      btf = readBtf(l.name);
    } catch (e) {
      problems.push(`struct ${l.name}: not in BTF (${(e as Error).message})`);
      continue;
    }
    if (btf.size !== l.size) problems.push(`struct ${l.name}: size ${btf.size} in BTF, ${l.size} in TypeScript`);
    const ours = l.fields.map((f) => `${f.name}@${f.offset}+${f.size}`).join(' ');
    const theirs = btf.members.map((m) => `${m.name}@${m.offset}+${m.size}`).join(' ');
    if (ours !== theirs) problems.push(`struct ${l.name}: members differ\n  BTF: ${theirs}\n  TS:  ${ours}`);
  }
  return problems;
}

/** Encodes an IP address string into 16 bytes (IPv4 in the first 4, network order). */
export function encodeAddr(addr: string, buf: Buffer, offset: number): void {
  buf.fill(0, offset, offset + 16);
  if (net.isIPv4(addr)) {
    const parts = addr.split('.').map(Number);
    for (let i = 0; i < 4; i++) buf[offset + i] = parts[i];
    return;
  }
  if (!net.isIPv6(addr)) throw new TypeError(`not an IP address: ${addr}`);
  const sl = new net.SocketAddress({ address: addr, family: 'ipv6' });
  const groups = expandV6(sl.address);
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(groups[i], offset + 2 * i);
}

function expandV6(addr: string): number[] {
  let s = addr;
  const v4 = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const p = v4[1].split('.').map(Number);
    s = s.slice(0, -v4[1].length) + ((p[0] << 8) | p[1]).toString(16) + ':' + ((p[2] << 8) | p[3]).toString(16);
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** Decodes 16 bytes into an address string of the given family (canonical form). */
export function decodeAddr(buf: Buffer, offset: number, af: number): string {
  if (af === AF_INET) return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + 2 * i).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

export type Value = number | bigint | string;
export type Record_ = Record<string, Value>;

/** Encodes a struct from a plain object (missing fields are zero; 'addr' fields take an IP string). */
export function encode(struct: StructName, obj: Record<string, Value | undefined>, buf = Buffer.alloc(LAYOUTS[struct].size)): Buffer {
  const l = LAYOUTS[struct];
  buf.fill(0, 0, l.size);
  for (const f of l.fields) {
    const v = obj[f.name];
    if (v === undefined || f.kind === 'pad') continue;
    switch (f.kind) {
      case 'u8': buf.writeUInt8(Number(v), f.offset); break;
      case 'u16be': buf.writeUInt16BE(Number(v), f.offset); break;
      case 'u16': buf.writeUInt16LE(Number(v), f.offset); break;
      case 'u32': buf.writeUInt32LE(Number(v), f.offset); break;
      case 'u64': buf.writeBigUInt64LE(BigInt(v), f.offset); break;
      case 'addr': encodeAddr(String(v), buf, f.offset); break;
    }
  }
  return buf;
}

/** Decodes a struct; 'addr' fields decode with the struct's `af` field (or the af argument). */
export function decode(struct: StructName, buf: Buffer, offset = 0): Record<string, Value> {
  const l = LAYOUTS[struct];
  const out: Record<string, Value> = {};
  const afField = l.fields.find((f) => f.name === 'af');
  const af = afField ? buf.readUInt8(offset + afField.offset) : AF_INET;
  for (const f of l.fields) {
    const o = offset + f.offset;
    switch (f.kind) {
      case 'u8': out[f.name] = buf.readUInt8(o); break;
      case 'u16be': out[f.name] = buf.readUInt16BE(o); break;
      case 'u16': out[f.name] = buf.readUInt16LE(o); break;
      case 'u32': out[f.name] = buf.readUInt32LE(o); break;
      case 'u64': out[f.name] = buf.readBigUInt64LE(o); break;
      case 'addr': out[f.name] = decodeAddr(buf, o, af); break;
      case 'pad': break;
    }
  }
  return out;
}

export const afOf = (addr: string): number => (net.isIPv6(addr) ? AF_INET6 : AF_INET);
