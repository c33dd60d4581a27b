// src/model/service.ts — the virtual service table as the control plane holds it: zod schemas are the
// types. Addresses are canonical strings (IPv4 dotted quad, IPv6 RFC 5952 as node's net module prints).
import { z } from 'zod';
import net from 'node:net';

export const Protocol = z.enum(['tcp', 'udp']);
export type Protocol = z.infer<typeof Protocol>;

/** ipvsadm's forwarding methods: -g route (DR), -i tunnel, -m masq (NAT), plus xvs's fullnat. */
export const ForwardMethod = z.enum(['route', 'tunnel', 'masq', 'fullnat']);
export type ForwardMethod = z.infer<typeof ForwardMethod>;

/** Scheduler ids are exactly ipvsadm's names. */
export const SchedulerName = z.enum(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr', 'dh', 'sh', 'mh', 'fo', 'ovf']);
export type SchedulerName = z.infer<typeof SchedulerName>;
/** Schedulers the data path runs (decision rings; bucket tables for sh, dh, mh; the locality cache of
 * bpf/include/xvs_lblc.h for lblc, lblcr). */
export const IMPLEMENTED_SCHEDULERS: readonly SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'sh', 'dh', 'mh', 'lblc', 'lblcr'];

export const IpAddress = z.string().refine((s) => net.isIP(s) !== 0, { message: 'not an IP address' });

/** Canonical text of an address: IPv6 compressed as RFC 5952 / node print it; IPv4 as given. */
export const canonicalIp = (addr: string): string =>
  net.isIPv6(addr) ? new URL(`http://[${addr}]/`).hostname.slice(1, -1) : addr;
export const Port = z.number().int().min(0).max(65535);

/** Identifies a virtual service: protocol, VIP and port (ipvsadm -t/-u). */
export const ServiceKey = z.object({
  protocol: Protocol,
  addr: IpAddress,
  port: Port,
  /**
   * ipvsadm -f: a firewall-mark service, keyed by (mark, family) alone; protocol, addr and port are then
   * ipvsadm's placeholders (tcp, 0.0.0.0 or :: for -6, 0). XDP sees no netfilter marks, so its packets
   * are the ones its FwmarkMatch entries select.
   */
  fwmark: z.number().int().min(1).max(0xffffffff).optional(),
});
export type ServiceKey = z.infer<typeof ServiceKey>;

/** What a fwmark service matches in the data path: one protocol, one VIP, a port range (inclusive). */
export const FwmarkMatch = z.object({
  protocol: Protocol,
  addr: IpAddress,
  portLo: Port,
  portHi: Port,
}).refine((m) => m.portLo <= m.portHi, { message: 'portLo must not exceed portHi', path: ['portHi'] });
export type FwmarkMatch = z.infer<typeof FwmarkMatch>;

export const DestKey = z.object({ addr: IpAddress, port: Port });
export type DestKey = z.infer<typeof DestKey>;

/** ipvsadm's weight range: 0..65535 (IP_VS_WEIGHT_MAX is INT_MAX in the kernel; ipvsadm limits it). */
export const Weight = z.number().int().min(0).max(65535);

export const DestSpec = DestKey.extend({
  fwd: ForwardMethod.default('route'),
  weight: Weight.default(1),
  uThreshold: z.number().int().min(0).default(0),
  lThreshold: z.number().int().min(0).default(0),
});
export type DestSpec = z.infer<typeof DestSpec>;

export const ServiceSpec = ServiceKey.extend({
  scheduler: SchedulerName.default('wlc'),
  /** Persistence timeout in seconds (ipvsadm -p), 0 = not persistent; netmask: -M (IPv6: the prefix length). */
  persistent: z.number().int().min(0).default(0),
  netmask: z.string().default('255.255.255.255'),
  /** ipvsadm -o: one-packet scheduling (UDP): every datagram is scheduled and forwarded on its own,
   * no connection entry is kept (IP_VS_SVC_F_ONEPACKET). */
  onePacket: z.boolean().optional(),
  /** Scheduler flags (ipvsadm -b): IP_VS_SVC_F_SCHED1..3 as bits 1, 2, 4 (sh/mh-fallback = 1, sh/mh-port = 2). */
  schedFlags: z.number().int().min(0).max(7).optional(),
});
export type ServiceSpec = z.infer<typeof ServiceSpec>;

/** Counters as struct ip_vs_stats_user reports them. */
export interface Stats {
  conns: bigint;
  inpkts: bigint;
  outpkts: bigint;
  inbytes: bigint;
  outbytes: bigint;
}

export const zeroStats = (): Stats => ({ conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n });

/** Counters less a baseline taken at the last ipvsadm -Z (per-CPU BPF counters cannot be reset atomically). */
export const subtractStats = (s: Stats, base: Stats): Stats => ({
  conns: s.conns - base.conns, inpkts: s.inpkts - base.inpkts, outpkts: s.outpkts - base.outpkts,
  inbytes: s.inbytes - base.inbytes, outbytes: s.outbytes - base.outbytes,
});

/** Rates as struct ip_vs_stats_user reports them (IPVS's 2-second EWMA estimator, src/metrics/rate.ts). */
export interface Rates {
  cps: bigint;
  inpps: bigint;
  outpps: bigint;
  inbps: bigint;
  outbps: bigint;
}

export const zeroRates = (): Rates => ({ cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n });

/** A dest as listed (ipvsadm -L). */
export interface DestView extends DestSpec {
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats: Stats;
  /** Rate estimates (`-L --rate`); filled in by the daemon, absent from a bare table. */
  rates?: Rates;
}

/** A service as listed (ipvsadm -L). */
export interface ServiceView extends ServiceSpec {
  dests: DestView[];
  stats: Stats;
  /** A fwmark service's match entries (absent for others). */
  matches?: FwmarkMatch[];
  /** FULLNAT local addresses (xvsadm --add-laddr), in the order added; absent when none. */
  laddrs?: string[];
  rates?: Rates;
}

export const serviceId = (k: ServiceKey): string =>
  k.fwmark ? `fwm:${k.fwmark}${net.isIPv6(k.addr) ? ':ipv6' : ''}` : `${k.protocol}:${net.isIPv6(k.addr) ? `[${k.addr}]` : k.addr}:${k.port}`;

/** The key of a service as the table knows it: fwmark services by mark and family only. */
export const serviceKeyOf = (k: ServiceKey): ServiceKey =>
  k.fwmark ? { protocol: 'tcp', addr: net.isIPv6(k.addr) ? '::' : '0.0.0.0', port: 0, fwmark: k.fwmark } : { protocol: k.protocol, addr: k.addr, port: k.port };
export const destId = (k: DestKey): string => `${net.isIPv6(k.addr) ? `[${k.addr}]` : k.addr}:${k.port}`;

/** One connection as ipvsadm -Lc lists it (/proc/net/ip_vs_conn's fields); the daemon's `list-conns` result. */
export interface ConnView {
  /** 'ip': a fwmark service's persistence template (IPPROTO_IP). */
  protocol: Protocol | 'ip';
  caddr: string;
  cport: number;
  vaddr: string;
  vport: number;
  daddr: string;
  dport: number;
  /** ip_vs_state_name(): the TCP state, or UDP for UDP connections. */
  state: string;
  /** Seconds until the connection expires unless a packet comes. */
  expires: number;
}
