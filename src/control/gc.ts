// src/control/gc.ts — connection expiry: removes connections idle longer than their state's timeout
// (IPVS's defaults: tcp 900 s established, 120 s fin_wait, udp 300 s, ...) and keeps the per-dest
// active/inactive counts exact for what it removes.
import type { Datapath } from '../datapath/datapath.js';
import { TCP_S_ESTABLISHED } from '../datapath/abi.js';

/** Seconds per TCP state, as ip_vs_proto_tcp.c's tcp_timeouts (index = enum xvs_tcp_state). */
export const TCP_TIMEOUTS_S = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];
export const UDP_TIMEOUT_S = 300;

export interface Timeouts {
  /** ipvsadm --set tcp: the ESTABLISHED timeout. */
  tcp: number;
  /** ipvsadm --set tcpfin: the FIN_WAIT timeout. */
  tcpfin: number;
  udp: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { tcp: 900, tcpfin: 120, udp: 300 };

export function timeoutFor(protocol: 'tcp' | 'udp', state: number, t: Timeouts): number {
  if (protocol === 'udp') return t.udp;
  if (state === TCP_S_ESTABLISHED) return t.tcp;
  if (state === 4) return t.tcpfin;
  return TCP_TIMEOUTS_S[state] ?? TCP_TIMEOUTS_S[0];
}

/** One GC sweep; returns how many connections expired. `nowNs` is CLOCK_MONOTONIC. */
export function sweepConnections(dp: Datapath, nowNs: bigint, t: Timeouts = DEFAULT_TIMEOUTS): number {
  let expired = 0;
  for (const c of dp.conns()) {
    const limit = BigInt(timeoutFor(c.protocol, c.state, t)) * 1_000_000_000n;
    if (nowNs - c.lastSeenNs <= limit) continue;
    // Re-read just before deleting: a packet may have refreshed it since the batch was taken.
    const fresh = dp.conn(c.key);
    if (!fresh || nowNs - fresh.lastSeenNs <= limit) continue;
    if (!dp.deleteConn(c.key)) continue;
    if (fresh.inactive) dp.adjustDestCounts(fresh.destId, 0, -1);
    else dp.adjustDestCounts(fresh.destId, -1, 0);
    expired++;
  }
  return expired;
}
