// src/api/protocol.ts — the wire format of the control socket: one JSON request per line, one JSON
// response per line. The socket is an abstract unix socket, so it exists per network namespace.
import { z } from 'zod';
import { Command } from '../model/command.js';
import type { Rates, ServiceView, Stats } from '../model/service.js';
import type { XvsErrorCode } from '../model/errors.js';

/** Abstract socket name (leading NUL): one per network namespace, gone when xvsd exits. */
export const CONTROL_SOCKET = '\0xvs/control';

export const Request = z.object({ id: z.number().int().optional(), cmd: Command });
export type Request = z.infer<typeof Request>;

export type Response =
  | { id?: number; ok: true; result: unknown }
  /** `index`: in a batch, the 0-based position of the command that failed. */
  | { id?: number; ok: false; error: { code: XvsErrorCode; message: string; index?: number } };

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

const reviveRates = (r: Record<string, string> | undefined): Rates | undefined => (r === undefined ? undefined : {
  cps: BigInt(r.cps), inpps: BigInt(r.inpps), outpps: BigInt(r.outpps), inbps: BigInt(r.inbps), outbps: BigInt(r.outbps),
});

/** Turns a `list` result back into ServiceView[] with bigint counters (and rates, when present). */
export const decodeServiceViews = (raw: unknown): ServiceView[] =>
  (raw as any[]).map((svc) => ({
    ...svc,
    stats: reviveStats(svc.stats),
    ...(svc.rates !== undefined ? { rates: reviveRates(svc.rates) } : {}),
    dests: svc.dests.map((d: any) => ({
      ...d, stats: reviveStats(d.stats), ...(d.rates !== undefined ? { rates: reviveRates(d.rates) } : {}),
    })),
  }));
