// src/sync/wire.ts — the connection-sync datagram: a fixed header, N fixed-size connection records and an
// HMAC-SHA256 tag, all big-endian. The layout is written down byte by byte in docs/SYNC.md; this file is
// its only codec. decode() never throws: a bad datagram comes back as one of SyncStats.rejected's reasons.
import { createHmac, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { AF_INET, AF_INET6, FWD, PROTO_TCP, PROTO_UDP, TCP_STATE_NAMES, decodeAddr, encodeAddr } from '../datapath/abi.js';
import type { ForwardMethod, Protocol } from '../model/service.js';
import { SyncConn } from './types.js';

/** "XVSY": every version starts with these 4 bytes and the version byte. */
export const SYNC_MAGIC = 0x58565359;
export const SYNC_VERSION = 1;
/** Message types (header byte 5). Version 1 has one: a batch of connections. */
export const MSG_CONNS = 1;

export const HEADER_LEN = 40;
export const RECORD_LEN = 88;
/** HMAC-SHA256 over header + records; always the last 32 bytes of a datagram, in every version. */
export const TAG_LEN = 32;
/** Largest UDP payload over IPv4 (65535 - 20 - 8). */
export const MAX_DATAGRAM = 65507;

// Header offsets.
const H_MAGIC = 0;
const H_VERSION = 4;
const H_TYPE = 5;
const H_SYNCID = 6;
const H_FLAGS = 7;
const H_SENDER = 8;
const H_SEQ = 16;
const H_TIME = 24;
const H_COUNT = 32;
const H_RECLEN = 34;
const H_RESERVED = 36;

// Record offsets.
const R_AF = 0;
const R_PROTO = 1;
const R_FWD = 2;
const R_STATE = 3;
const R_FLAGS = 4;
const R_RESERVED1 = 5;
const R_CPORT = 6;
const R_VPORT = 8;
const R_DPORT = 10;
const R_LPORT = 12;
const R_RESERVED2 = 14;
const R_FWMARK = 16;
const R_TIMEOUT = 20;
const R_CADDR = 24;
const R_VADDR = 40;
const R_DADDR = 56;
const R_LADDR = 72;

/** Record flag bits (byte 4). */
export const REC_F_INACTIVE = 1 << 0;
export const REC_F_OUTPUT = 1 << 1;
export const REC_F_TEMPLATE = 1 << 2;
export const REC_F_LADDR = 1 << 3;
const REC_F_ALL = REC_F_INACTIVE | REC_F_OUTPUT | REC_F_TEMPLATE | REC_F_LADDR;

const FWD_CODE: Record<ForwardMethod, number> = { masq: FWD.masq, tunnel: FWD.tunnel, route: FWD.route, fullnat: FWD.fullnat };
const FWD_BY_CODE = new Map<number, ForwardMethod>(Object.entries(FWD_CODE).map(([k, v]) => [v, k as ForwardMethod]));
const PROTO_CODE: Record<Protocol, number> = { tcp: PROTO_TCP, udp: PROTO_UDP };
const TCP_S_LAST = TCP_STATE_NAMES.length;

export interface SyncHeader {
  version: number;
  type: number;
  syncId: number;
  /** Random per engine start: tells restarts of one master apart. */
  senderId: bigint;
  /** Per sender, +1 per message, starting at 1. */
  seq: bigint;
  /** Unix time in ms when the message was built. */
  sendTimeMs: number;
  count: number;
}

/** What decode() itself can reject (the receiver adds replay, stale and syncid). */
export type WireRejection = 'truncated' | 'auth' | 'version' | 'malformed';

export type DecodeResult =
  | { ok: true; header: SyncHeader; conns: SyncConn[] }
  | { ok: false; reason: WireRejection; detail: string };

/** Records that fit into one datagram of at most maxLen bytes (capped by the u16 count). */
export function recordsPerMessage(maxLen: number): number {
  const n = Math.floor((Math.min(maxLen, MAX_DATAGRAM) - HEADER_LEN - TAG_LEN) / RECORD_LEN);
  return Math.max(0, Math.min(n, 0xffff));
}

/** Why a conn cannot be encoded (its addresses must be one family), or undefined when it can. */
export function connProblem(c: SyncConn): string | undefined {
  const af = net.isIP(c.caddr);
  for (const a of [c.vaddr, c.daddr, ...(c.laddr !== undefined ? [c.laddr] : [])]) {
    if (net.isIP(a) !== af) return `addresses of mixed families (${c.caddr}, ${a})`;
  }
  if (af === 0) return `not an IP address: ${c.caddr}`;
  return undefined;
}

function encodeRecord(c: SyncConn, buf: Buffer, off: number): void {
  const problem = connProblem(c);
  if (problem) throw new TypeError(`sync record: ${problem}`);
  buf.fill(0, off, off + RECORD_LEN);
  buf.writeUInt8(net.isIPv4(c.caddr) ? AF_INET : AF_INET6, off + R_AF);
  buf.writeUInt8(PROTO_CODE[c.protocol], off + R_PROTO);
  buf.writeUInt8(FWD_CODE[c.fwd], off + R_FWD);
  buf.writeUInt8(c.state, off + R_STATE);
  const hasLaddr = c.laddr !== undefined;
  buf.writeUInt8((c.inactive ? REC_F_INACTIVE : 0) | (c.output ? REC_F_OUTPUT : 0) | (c.template ? REC_F_TEMPLATE : 0)
    | (hasLaddr ? REC_F_LADDR : 0), off + R_FLAGS);
  buf.writeUInt16BE(c.cport, off + R_CPORT);
  buf.writeUInt16BE(c.vport, off + R_VPORT);
  buf.writeUInt16BE(c.dport, off + R_DPORT);
  buf.writeUInt16BE(hasLaddr ? c.lport ?? 0 : 0, off + R_LPORT);
  buf.writeUInt32BE(c.fwmark, off + R_FWMARK);
  buf.writeUInt32BE(c.timeoutS, off + R_TIMEOUT);
  encodeAddr(c.caddr, buf, off + R_CADDR);
  encodeAddr(c.vaddr, buf, off + R_VADDR);
  encodeAddr(c.daddr, buf, off + R_DADDR);
  if (hasLaddr) encodeAddr(c.laddr as string, buf, off + R_LADDR);
}

const tag = (key: Buffer, body: Buffer): Buffer => createHmac('sha256', key).update(body).digest();

export interface MessageFields {
  syncId: number;
  senderId: bigint;
  seq: bigint;
  sendTimeMs: number;
}

/** One datagram carrying `conns` (the caller keeps them within recordsPerMessage). */
export function encodeMessage(h: MessageFields, conns: readonly SyncConn[], key: Buffer): Buffer {
  if (conns.length > 0xffff) throw new RangeError(`sync message: ${conns.length} records exceed the u16 count`);
  const bodyLen = HEADER_LEN + conns.length * RECORD_LEN;
  const buf = Buffer.alloc(bodyLen + TAG_LEN);
  buf.writeUInt32BE(SYNC_MAGIC, H_MAGIC);
  buf.writeUInt8(SYNC_VERSION, H_VERSION);
  buf.writeUInt8(MSG_CONNS, H_TYPE);
  buf.writeUInt8(h.syncId, H_SYNCID);
  buf.writeUInt8(0, H_FLAGS);
  buf.writeBigUInt64BE(h.senderId, H_SENDER);
  buf.writeBigUInt64BE(h.seq, H_SEQ);
  buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(h.sendTimeMs))), H_TIME);
  buf.writeUInt16BE(conns.length, H_COUNT);
  buf.writeUInt16BE(RECORD_LEN, H_RECLEN);
  buf.writeUInt32BE(0, H_RESERVED);
  conns.forEach((c, i) => encodeRecord(c, buf, HEADER_LEN + i * RECORD_LEN));
  tag(key, buf.subarray(0, bodyLen)).copy(buf, bodyLen);
  return buf;
}

export interface EncodeOptions {
  syncId: number;
  senderId: bigint;
  /** Sequence number of the first datagram; the i-th gets firstSeq + i. */
  firstSeq: bigint;
  sendTimeMs: number;
  key: Buffer;
  /** Largest datagram in bytes: a batch that does not fit is split. */
  maxLen: number;
}

/** A batch as as many datagrams as it takes, each at most maxLen bytes (an empty batch: none). */
export function encode(conns: readonly SyncConn[], o: EncodeOptions): Buffer[] {
  const per = recordsPerMessage(o.maxLen);
  if (per < 1) throw new RangeError(`sync: maxLen ${o.maxLen} cannot hold one record (needs ${HEADER_LEN + RECORD_LEN + TAG_LEN} bytes)`);
  const out: Buffer[] = [];
  for (let i = 0; i < conns.length; i += per) {
    out.push(encodeMessage({ syncId: o.syncId, senderId: o.senderId, seq: o.firstSeq + BigInt(out.length), sendTimeMs: o.sendTimeMs },
      conns.slice(i, i + per), o.key));
  }
  return out;
}

const isZero = (buf: Buffer, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
};

function decodeRecord(buf: Buffer, off: number): SyncConn | string {
  const af = buf[off + R_AF];
  if (af !== AF_INET && af !== AF_INET6) return `bad address family ${af}`;
  const proto = buf[off + R_PROTO];
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return `bad protocol ${proto}`;
  const fwd = FWD_BY_CODE.get(buf[off + R_FWD]);
  if (fwd === undefined) return `bad forwarding method ${buf[off + R_FWD]}`;
  const state = buf[off + R_STATE];
  if (proto === PROTO_TCP ? state >= TCP_S_LAST : state !== 0) return `bad state ${state}`;
  const flags = buf[off + R_FLAGS];
  if ((flags & ~REC_F_ALL) !== 0) return `unknown flags 0x${flags.toString(16)}`;
  if (buf[off + R_RESERVED1] !== 0 || buf.readUInt16BE(off + R_RESERVED2) !== 0) return 'reserved bytes not zero';
  const hasLaddr = (flags & REC_F_LADDR) !== 0;
  if (!hasLaddr && (buf.readUInt16BE(off + R_LPORT) !== 0 || !isZero(buf, off + R_LADDR, off + R_LADDR + 16))) return 'laddr without its flag';
  if (af === AF_INET) {
    for (const a of [R_CADDR, R_VADDR, R_DADDR, R_LADDR]) {
      if (!isZero(buf, off + a + 4, off + a + 16)) return 'IPv4 address with bytes past the fourth';
    }
  }
  const obj = {
    protocol: proto === PROTO_TCP ? 'tcp' : 'udp',
    caddr: decodeAddr(buf, off + R_CADDR, af),
    cport: buf.readUInt16BE(off + R_CPORT),
    vaddr: decodeAddr(buf, off + R_VADDR, af),
    vport: buf.readUInt16BE(off + R_VPORT),
    daddr: decodeAddr(buf, off + R_DADDR, af),
    dport: buf.readUInt16BE(off + R_DPORT),
    fwd,
    state,
    inactive: (flags & REC_F_INACTIVE) !== 0,
    output: (flags & REC_F_OUTPUT) !== 0,
    ...(hasLaddr ? { laddr: decodeAddr(buf, off + R_LADDR, af), lport: buf.readUInt16BE(off + R_LPORT) } : {}),
    fwmark: buf.readUInt32BE(off + R_FWMARK),
    timeoutS: buf.readUInt32BE(off + R_TIMEOUT),
    template: (flags & REC_F_TEMPLATE) !== 0,
  };
  const parsed = SyncConn.safeParse(obj);
  return parsed.success ? parsed.data : `record does not validate: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
}

/**
 * Checks, in this order: length (truncated), magic (malformed), version, length against the count
 * (truncated), the tag (auth), header fields and every record (malformed). Never throws.
 */
export function decode(buf: Buffer, key: Buffer): DecodeResult {
  const bad = (reason: WireRejection, detail: string): DecodeResult => ({ ok: false, reason, detail });
  if (buf.length < HEADER_LEN + TAG_LEN) return bad('truncated', `${buf.length} bytes, shorter than header and tag`);
  if (buf.readUInt32BE(H_MAGIC) !== SYNC_MAGIC) return bad('malformed', 'bad magic');
  const version = buf[H_VERSION];
  if (version !== SYNC_VERSION) return bad('version', `version ${version}, expected ${SYNC_VERSION}`);
  const count = buf.readUInt16BE(H_COUNT);
  const bodyLen = HEADER_LEN + count * RECORD_LEN;
  if (buf.length !== bodyLen + TAG_LEN) return bad('truncated', `${buf.length} bytes for ${count} records (expected ${bodyLen + TAG_LEN})`);
  const expected = tag(key, buf.subarray(0, bodyLen));
  if (!timingSafeEqual(expected, buf.subarray(bodyLen))) return bad('auth', 'HMAC mismatch');
  if (buf[H_TYPE] !== MSG_CONNS) return bad('malformed', `unknown message type ${buf[H_TYPE]}`);
  if (buf[H_FLAGS] !== 0 || buf.readUInt32BE(H_RESERVED) !== 0) return bad('malformed', 'reserved header bytes not zero');
  if (buf.readUInt16BE(H_RECLEN) !== RECORD_LEN) return bad('malformed', `record length ${buf.readUInt16BE(H_RECLEN)}, expected ${RECORD_LEN}`);
  const sendTime = buf.readBigUInt64BE(H_TIME);
  if (sendTime > BigInt(Number.MAX_SAFE_INTEGER)) return bad('malformed', 'send time out of range');
  const header: SyncHeader = {
    version,
    type: buf[H_TYPE],
    syncId: buf[H_SYNCID],
    senderId: buf.readBigUInt64BE(H_SENDER),
    seq: buf.readBigUInt64BE(H_SEQ),
    sendTimeMs: Number(sendTime),
    count,
  };
  const conns: SyncConn[] = [];
  for (let i = 0; i < count; i++) {
    const r = decodeRecord(buf, HEADER_LEN + i * RECORD_LEN);
    if (typeof r === 'string') return bad('malformed', `record ${i}: ${r}`);
    conns.push(r);
  }
  return { ok: true, header, conns };
}
