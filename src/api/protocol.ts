// src/api/protocol.ts — the wire format of the control socket: one JSON request per line, one JSON
// response per line. The socket is an abstract unix socket, so it exists per network namespace.
import { z } from 'zod';
import { Command } from '../model/command.js';
import type { ServiceView, Stats } from '../model/service.js';
import type { XvsErrorCode } from '../model/errors.js';

/** Abstract socket name (leading NUL): one per network namespace, gone when xvsd exits. */
export const CONTROL_SOCKET = '\0xvs/control';

export const Request = z.object({ id: z.number().int().optional(), cmd: Command });
export type Request = z.infer<typeof Request>;

export type Response =
  | { id?: number; ok: true; result: unknown }
  | { id?: number; ok: false; error: { code: XvsErrorCode; message: string } };

/** What `info` returns. */
export interface DaemonInfo {
  pid: number;
  version: string;
  connTableSize: number;
  interfaces: { name: string; ifindex: number; mode: string }[];
}

/** JSON cannot carry bigint: counters travel as decimal strings. */
export const encodeBigints = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));

const reviveStats = (s: Record<string, string>): Stats => ({
  conns: BigInt(s.conns), inpkts: BigInt(s.inpkts), outpkts: BigInt(s.outpkts),
  inbytes: BigInt(s.inbytes), outbytes: BigInt(s.outbytes),
});

/** Turns a `list` result back into ServiceView[] with bigint counters. */
export const decodeServiceViews = (raw: unknown): ServiceView[] =>
  (raw as any[]).map((svc) => ({
    ...svc,
    stats: reviveStats(svc.stats),
    dests: svc.dests.map((d: any) => ({ ...d, stats: reviveStats(d.stats) })),
  }));
