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
  /** dest id, | SLOT_UNAVAIL when it has weight 0 or is overloaded; DEST_NONE for an empty service. */
  slots: Uint32Array;
}

export interface DestCounts {
  active: number;
  inactive: number;
}

export interface Datapath {
  readonly connTableSize: number;
  putService(key: ServiceKey, id: number): void;
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
  /** Writes (or, with null, removes) a service's hash scheduler table (struct xvs_sched_tab). */
  setSchedTable(svcId: number, table: SchedTable | null): void;
  /** Makes a service persistent (struct xvs_persist) or, with null, not. */
  setPersist(svcId: number, params: PersistParams | null): void;
  templates(): TemplateEntry[];
  template(key: Buffer): TemplateEntry | null;
  /** Rewrites a template's last_seen / ASSURED flag (GC re-arming); false if it is gone. */
  updateTemplate(key: Buffer, change: { lastSeenNs?: bigint; assured?: boolean }): boolean;
  deleteTemplate(key: Buffer): boolean;
  close(): void;
}

/** CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() uses. */
export const monotonicNs = (): bigint => process.hrtime.bigint();
