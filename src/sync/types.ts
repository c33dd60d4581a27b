// src/sync/types.ts — the contract of connection sync (HA): what one synced connection carries, the
// sync daemons' settings as xvsadm --start-daemon / the config file give them, and the ports through
// which the engine (src/sync/engine.ts) meets the daemon. Wire format: src/sync/wire.ts, docs/SYNC.md.
import { z } from 'zod';
import { ForwardMethod, IpAddress, Protocol } from '../model/service.js';

/** IPVS's defaults (include/uapi/linux/ip_vs.h, ip_vs_sync.c): group 224.0.0.81, port 8848, ttl 1. */
export const SYNC_DEFAULT_GROUP = '224.0.0.81';
export const SYNC_DEFAULT_GROUP6 = 'ff02::8:81';
export const SYNC_DEFAULT_PORT = 8848;
export const SYNC_DEFAULT_TTL = 1;

/**
 * One connection (or persistence template) as the master publishes it and the backup installs it.
 * Addresses are strings of one family; ports host order. `dport`/`daddr` name the real server inside
 * the service (the backup maps them to its own dest id); `laddr`/`lport` are FULLNAT's local side.
 */
export const SyncConn = z.object({
  protocol: Protocol,
  caddr: IpAddress,
  cport: z.number().int().min(0).max(65535),
  vaddr: IpAddress,
  vport: z.number().int().min(0).max(65535),
  daddr: IpAddress,
  dport: z.number().int().min(0).max(65535),
  fwd: ForwardMethod,
  /** enum xvs_tcp_state (IP_VS_TCP_S_* numbering); 0 for UDP. */
  state: z.number().int().min(0).max(15),
  /** Counted in inactconns (IP_VS_CONN_F_INACTIVE). */
  inactive: z.boolean(),
  /** NAT/FULLNAT: a reply has been seen (IPVS clears NOOUTPUT). */
  output: z.boolean().default(false),
  laddr: IpAddress.optional(),
  lport: z.number().int().min(0).max(65535).optional(),
  /** The fwmark of a -f service (0: a {proto, VIP, port} service). */
  fwmark: z.number().int().min(0).max(0xffffffff).default(0),
  /** Seconds the connection has left on the master (as ip_vs_sync_conn's timeout). */
  timeoutS: z.number().int().min(0).max(0xffffffff),
  /** A persistence template (caddr = the masked client address; cport/vport 0). */
  template: z.boolean().default(false),
});
export type SyncConn = z.infer<typeof SyncConn>;

/** One sync daemon as `xvsadm --start-daemon` starts it and `-L --daemon` lists it. */
export const SyncDaemonSpec = z.object({
  role: z.enum(['master', 'backup']),
  /** --mcast-interface: the interface the messages leave by / are received on. */
  mcastInterface: z.string().min(1).max(15),
  /** --syncid: 0..255; a backup with syncid 0 accepts every syncid (as IPVS). */
  syncId: z.number().int().min(0).max(255).default(0),
  /** --sync-maxlen: largest UDP payload in bytes (0 = interface MTU - IP - UDP headers). */
  maxLen: z.number().int().min(0).max(65507).default(0),
  /** --mcast-group / --mcast-port / --mcast-ttl; unset = IPVS's defaults and not listed by -L --daemon. */
  group: IpAddress.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  ttl: z.number().int().min(1).max(255).optional(),
  /** xvs addition: unicast peers ("ADDR" or "ADDR:PORT", "[v6]:PORT") instead of the group. */
  peers: z.array(z.string().min(1)).max(64).optional(),
});
export type SyncDaemonSpec = z.infer<typeof SyncDaemonSpec>;

/** Counters of one sync daemon (also exported as Prometheus metrics). */
export interface SyncStats {
  role: 'master' | 'backup';
  messagesSent: number;
  connsSent: number;
  /** Conns waiting in the master's queue (rate bound or batching). */
  queued: number;
  /** Conns dropped from a full queue (the next refresh sends them again). */
  queueDropped: number;
  messagesReceived: number;
  connsReceived: number;
  /** Messages rejected, by reason: auth (bad HMAC / wrong key), truncated, malformed, replay, stale
   * (too old), syncid (another sync group), version, peer (a unicast backup's datagram from an address
   * that is not one of its peers). */
  rejected: Record<'auth' | 'truncated' | 'malformed' | 'replay' | 'stale' | 'syncid' | 'version' | 'peer', number>;
  /** Master: seconds from the oldest queued event to its send (last batch). Backup: age of the last
   * accepted message's send time when it arrived. */
  lagSeconds: number;
}
