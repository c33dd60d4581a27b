// src/datapath/datapath.ts — the Datapath facade the control plane programs: the only shape the rest of
// src/ sees of the BPF maps. BpfDatapath (bpf-datapath.ts) implements it over the real object; a fake
// (fake-datapath.ts) implements it in memory for control-plane unit tests.
import type { ServiceKey, Stats, ForwardMethod } from '../model/service.js';
import type { RingPort } from '../sched/ring.js';
import type { ReasonName } from './abi.js';

export interface DestEntry {
  addr: string;
  port: number;
  fwd: ForwardMethod;
  svcId: number;
  available: boolean;
}

/** One connection as the GC and `-Lnc` see it. `key` is the raw map key, for deletion. */
export interface ConnEntry {
  key: Buffer;
  protocol: 'tcp' | 'udp';
  caddr: string;
  cport: number;
  vaddr: string;
  vport: number;
  lastSeenNs: bigint;
  createdNs: bigint;
  destId: number;
  svcId: number;
  state: number;
  inactive: boolean;
  /** NAT/FULLNAT: a reply was seen (XVS_CONN_F_OUTPUT). */
  output?: boolean;
  /** XVS_FWD_* at creation; the real-server side for NAT/FULLNAT (raddr:rport = RIP:rport,
   * laddr:lport = the source the RS sees: CIP:cport for NAT, LIP:lport for FULLNAT). */
  fwd?: number;
  raddr?: string;
  rport?: number;
  laddr?: string;
  lport?: number;
}

/** One persistence template (struct xvs_tmpl): a (service, masked client) pinned to a dest. */
export interface TemplateEntry {
  /** The raw map key, for updates and deletion. */
  key: Buffer;
  svcId: number;
  /** The client address under the service's mask. */
  caddr: string;
  lastSeenNs: bigint;
  createdNs: bigint;
  destId: number;
  timeoutS: number;
  /** IP_VS_CTPL_S_ASSURED. */
  assured: boolean;
}

/** A persistent service's data path parameters (-p timeout, -M mask as an address of its family). */
export interface PersistParams {
  timeoutS: number;
  mask: string;
}

/** FULLNAT's local addresses of one service and the local port range (inclusive). */
export interface LaddrPool {
  addrs: string[];
  portMin: number;
  portMax: number;
}

/** A hash scheduler's buckets as the data path indexes them (see bpf/include/xvs_sched.h). */
export interface SchedTable {
  /** SCHED_KIND of abi.ts: sh 1, dh 2, mh 3. */
  kind: number;
  /** SCHED_F_FALLBACK | SCHED_F_PORT. */
  flags: number;
  /** dest id, | SLOT_UNAVAIL when it has weight 0 or is overloaded; DEST_NONE for an empty service.
   * lblc/lblcr: the service's dest ids in the kernel's list order. */
  slots: Uint32Array;
  /** lblcr: lblcr_expiration in seconds (struct xvs_sched_tab.param); 0 otherwise. */
  param?: number;
}

/** One lblc/lblcr cache entry (struct xvs_lblc): a (service, destination address) and its dest (set). */
export interface LocalityEntry {
  /** The raw map key, for updates and deletion. */
  key: Buffer;
  svcId: number;
  /** The destination address of the connections it caches. */
  addr: string;
  lastUseNs: bigint;
  lastModNs: bigint;
  /** Dest ids, newest first (lblc: one). */
  dests: number[];
}

export interface DestCounts {
  active: number;
  inactive: number;
}

export interface Datapath {
  readonly connTableSize: number;
  /** `onePacket`: ipvsadm -o, every UDP datagram scheduled on its own (XVS_SVC_F_OPS). */
  putService(key: ServiceKey, id: number, opts?: { onePacket?: boolean }): void;
  deleteService(key: ServiceKey): void;
  putDest(id: number, dest: DestEntry): void;
  /** Marks the dest slot unused (the data path drops packets of connections still naming it, as IPVS). */
  clearDest(id: number): void;
  ring(svcId: number): RingPort;
  /** Sets cons = prod = 0 (a service id being (re)used). */
  resetRing(svcId: number): void;
  destCounts(destId: number): DestCounts;
  /** Atomically adds to a dest's live counts (GC expiry, slot reuse). */
  adjustDestCounts(destId: number, dActive: number, dInactive: number): void;
  svcStats(svcId: number): Stats;
  destStats(destId: number): Stats;
  zeroSvcStats(svcId: number): void;
  zeroDestStats(destId: number): void;
  reasons(): Record<ReasonName, bigint>;
  conns(): ConnEntry[];
  /** Re-reads one connection (GC double check before deleting); null if gone. */
  conn(key: Buffer): ConnEntry | null;
  deleteConn(key: Buffer): boolean;
  /** Writes (or, with no addresses, clears) a service's FULLNAT local address pool. */
  setLaddrs(svcId: number, pool: LaddrPool): void;
  /** Interfaces the data path may redirect to (the devmap). */
  setTxPorts(ifindexes: number[]): void;
  /** Whether a port-zero (all ports) service exists: the data path then tries port 0 on a service miss. */
  setNullServices(on: boolean): void;
  /** Writes (or, with null, removes) a service's hash scheduler table (struct xvs_sched_tab). */
  setSchedTable(svcId: number, table: SchedTable | null): void;
  /** Makes a service persistent (struct xvs_persist) or, with null, not. */
  setPersist(svcId: number, params: PersistParams | null): void;
  templates(): TemplateEntry[];
  template(key: Buffer): TemplateEntry | null;
  /** Rewrites a template's last_seen / ASSURED flag (GC re-arming); false if it is gone. */
  updateTemplate(key: Buffer, change: { lastSeenNs?: bigint; assured?: boolean }): boolean;
  deleteTemplate(key: Buffer): boolean;
  /** A dest's weight and OVERLOAD flag as the locality schedulers read them (struct xvs_dsched). */
  setDestSched(destId: number, weight: number, overloaded: boolean): void;
  /** The lblc/lblcr cache (struct xvs_lblc entries of every service). */
  localityEntries(): LocalityEntry[];
  /** Rewrites an entry's dest set (newest first) and/or lastmod; false if it is gone. */
  updateLocality(key: Buffer, change: { dests?: number[]; lastModNs?: bigint }): boolean;
  deleteLocality(key: Buffer): boolean;
  close(): void;
}

/** A connection as the sync backup installs it (src/sync/manager.ts): ids are this director's own. */
export interface InstallConn {
  protocol: 'tcp' | 'udp';
  caddr: string;
  cport: number;
  vaddr: string;
  vport: number;
  svcId: number;
  destId: number;
  /** XVS_FWD_* */
  fwd: number;
  state: number;
  inactive: boolean;
  /** NAT/FULLNAT: a reply was seen (the two-way TCP table applies). */
  output: boolean;
  /** NAT/FULLNAT: the RS side (RIP:rport and CIP:cport / LIP:lport), as ConnEntry. */
  raddr?: string;
  rport?: number;
  laddr?: string;
  lport?: number;
  lastSeenNs: bigint;
  createdNs: bigint;
}

/** The data path's side of connection sync: events out (master), installs in (backup). */
export interface SyncDatapath {
  /** Turns the data path's connection events (xvs_sync_ring) on or off. */
  setSyncEvents(on: boolean): void;
  /** Reads connection events; consume() drains what is there (non-blocking) and returns the count. */
  openSyncEvents(onEvent: (conn: ConnEntry) => void): { consume(): number; close(): void };
  /** Writes a connection (and its reverse entry) with the counting a new or changed entry needs;
   * returns whether it was new. */
  installConn(c: InstallConn): boolean;
  /** Persistence templates: all of them (the master's refresh), one by (service, masked client). */
  templates(): TemplateEntry[];
  templateOf(svcId: number, caddr: string): TemplateEntry | null;
  /** Writes a template as the backup received it (its own ids). */
  installTemplate(t: { svcId: number; caddr: string; destId: number; timeoutS: number; lastSeenNs: bigint; assured: boolean }): void;
}

/** CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() uses. */
export const monotonicNs = (): bigint => process.hrtime.bigint();
