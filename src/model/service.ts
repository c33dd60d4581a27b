// src/model/service.ts — the virtual service table as the control plane holds it: zod schemas are the
// types. Addresses are canonical strings (IPv4 dotted quad, IPv6 RFC 5952 as node's net module prints).
import { z } from 'zod';
import net from 'node:net';

export const Protocol = z.enum(['tcp', 'udp']);
export type Protocol = z.infer<typeof Protocol>;

/** ipvsadm's forwarding methods: -g route (DR), -i tunnel, -m masq (NAT), plus xvs's fullnat. */
export const ForwardMethod = z.enum(['route', 'tunnel', 'masq', 'fullnat']);
export type ForwardMethod = z.infer<typeof ForwardMethod>;

/** Scheduler ids are exactly ipvsadm's names. Only rr and wrr are implemented in this release. */
export const SchedulerName = z.enum(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr', 'dh', 'sh', 'mh', 'fo', 'ovf']);
export type SchedulerName = z.infer<typeof SchedulerName>;
export const IMPLEMENTED_SCHEDULERS: readonly SchedulerName[] = ['rr', 'wrr'];

export const IpAddress = z.string().refine((s) => net.isIP(s) !== 0, { message: 'not an IP address' });
export const Port = z.number().int().min(0).max(65535);

/** Identifies a virtual service: protocol, VIP and port (ipvsadm -t/-u). */
export const ServiceKey = z.object({
  protocol: Protocol,
  addr: IpAddress,
  port: Port,
});
export type ServiceKey = z.infer<typeof ServiceKey>;

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
  /** Persistence timeout in seconds, 0 = not persistent. Not implemented in the data path yet. */
  persistent: z.number().int().min(0).default(0),
  netmask: z.string().default('255.255.255.255'),
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

/** A dest as listed (ipvsadm -L). */
export interface DestView extends DestSpec {
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats: Stats;
}

/** A service as listed (ipvsadm -L). */
export interface ServiceView extends ServiceSpec {
  dests: DestView[];
  stats: Stats;
}

export const serviceId = (k: ServiceKey): string =>
  `${k.protocol}:${net.isIPv6(k.addr) ? `[${k.addr}]` : k.addr}:${k.port}`;
export const destId = (k: DestKey): string => `${net.isIPv6(k.addr) ? `[${k.addr}]` : k.addr}:${k.port}`;
