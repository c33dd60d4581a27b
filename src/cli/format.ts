// src/cli/format.ts — ipvsadm's listings (-L, -Ln and their --stats/--thresholds/--persistent-conn
// variants) from ServiceView[], byte for byte: ipvsadm.c list_all/print_title/print_service_entry, and
// libipvs's sort order. Pure: names come in already resolved, through a NameLookup.
import net from 'node:net';
import type { ConnView, DestView, FwmarkMatch, Protocol, Rates, ServiceView } from '../model/service.js';
import { addressWords, canonicalAddress, inetAton, inetPton4, ntoa4 } from './inet.js';
import { IPVS_VERSION } from './options.js';
import { SYNC_DEFAULT_GROUP, SYNC_DEFAULT_PORT, SYNC_DEFAULT_TTL } from '../sync/types.js';

/** ipvsadm's FMT_* flags that xvsadm prints. */
export interface ListFormat {
  numeric: boolean;
  nosort: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  exact: boolean;
  tunInfo: boolean;
}
export const DEFAULT_LIST_FORMAT: Readonly<ListFormat> = {
  numeric: false, nosort: false, stats: false, rate: false, thresholds: false, persistentConn: false, exact: false, tunInfo: false,
};

/** Names looked up before formatting; undefined means "print the number". */
export interface NameLookup {
  host(addr: string): string | undefined;
  service(port: number, proto: Protocol): string | undefined;
}
export const NO_NAMES: NameLookup = { host: () => undefined, service: () => undefined };

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO: Record<Protocol, number> = { tcp: 6, udp: 17 };
const PROTOCOL_NAME: Record<Protocol, string> = { tcp: 'TCP', udp: 'UDP' };
const FWD_NAME: Record<DestView['fwd'], string> = { route: 'Route', tunnel: 'Tunnel', masq: 'Masq', fullnat: 'FullNat' };

const isV6 = (addr: string): boolean => net.isIPv6(addr);
/** C's conversion of an unsigned 32-bit difference to int: libipvs compares addresses this way. */
const int32 = (n: number): number => n | 0;

/** libipvs.c ipvs_cmp_services, including its wrap-around when addresses differ by 2^31 or more. */
export function compareServices(a: ServiceView, b: ServiceView): number {
  // fwmark first (u32 difference as int: ordinary services, mark 0, come before fwmark ones)
  const m = int32((a.fwmark ?? 0) - (b.fwmark ?? 0));
  if (m !== 0) return m;
  const fa = isV6(a.addr) ? AF_INET6 : AF_INET;
  const fb = isV6(b.addr) ? AF_INET6 : AF_INET;
  let r = fa - fb;
  if (r !== 0) return r;
  r = IPPROTO[a.protocol] - IPPROTO[b.protocol];
  if (r !== 0) return r;
  r = compareWords(a.addr, b.addr);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** libipvs.c ipvs_cmp_dests: the first dest's family decides how many address words count. */
export function compareDests(a: DestView, b: DestView): number {
  const r = compareWords(a.addr, b.addr);
  return r !== 0 ? r : a.port - b.port;
}

function compareWords(a: string, b: string): number {
  const wa = addressWords(a);
  const wb = addressWords(b);
  const words = isV6(a) ? 4 : 1;
  let r = 0;
  for (let i = 0; r === 0 && i < words; i++) r = int32(wa[i] - wb[i]);
  return r;
}

/**
 * glibc qsort's merge sort (halves of n/2 and n - n/2, the left element first unless it compares
 * greater). The comparators above are not transitive, so only this exact order matches ipvsadm.
 */
export function qsortOrder<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  if (items.length <= 1) return [...items];
  const half = Math.floor(items.length / 2);
  const left = qsortOrder(items.slice(0, half), cmp);
  const right = qsortOrder(items.slice(half), cmp);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) out.push(cmp(left[i], right[j]) <= 0 ? left[i++] : right[j++]);
  return out.concat(left.slice(i), right.slice(j));
}

/** ipvsadm.c addrport_to_anyname: "host:port", "[v6]:port", names unless numeric, in a 60-byte buffer. */
function addrPortName(addr: string, port: number, proto: Protocol, numeric: boolean, names: NameLookup): string {
  const text = canonicalAddress(addr);
  const host = numeric ? text : (names.host(addr) ?? text);
  const service = numeric ? String(port) : (names.service(port, proto) ?? String(port));
  const name = isV6(addr) ? `[${host}]:${service}` : `${host}:${service}`;
  return name.slice(0, 59);
}

/** ipvsadm.c print_largenum: 9 columns, scaled with K/M/G/T unless --exact. */
export function largeNumber(n: bigint, exact: boolean): string {
  if (exact) {
    const digits = n.toString();
    return digits.padStart(digits.length <= 8 ? 9 : digits.length + 1);
  }
  const scaled = (div: bigint, unit: string): string => `${(n / div).toString().padStart(8)}${unit}`;
  if (n < 100_000_000n) return n.toString().padStart(9);
  if (n < 1_000_000_000n) return scaled(1000n, 'K');
  if (n < 100_000_000_000n) return scaled(1_000_000n, 'M');
  if (n < 100_000_000_000_000n) return scaled(1_000_000_000n, 'G');
  return scaled(1_000_000_000_000n, 'T');
}

const left = (value: string | number, width: number): string => String(value).padEnd(width);
const NO_RATES: Rates = { cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n };

/** ipvsadm.c list_all's first line. */
export const versionHeader = (connTableSize: number): string =>
  `IP Virtual Server version ${IPVS_VERSION} (size=${connTableSize})\n`;

/** ipvsadm.c print_title. */
export function title(fmt: ListFormat): string {
  const prot = left('Prot LocalAddress:Port', 33);
  const right8 = (...cols: string[]): string => cols.map((c) => ` ${c.padStart(8)}`).join('');
  if (fmt.stats) return `${prot}${right8('Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes')}\n  -> RemoteAddress:Port\n`;
  if (fmt.rate) return `${prot}${right8('CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS')}\n  -> RemoteAddress:Port\n`;
  if (fmt.thresholds) {
    return `${prot} ${left('Uthreshold', 10)} ${left('Lthreshold', 10)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  }
  if (fmt.persistentConn) {
    return `${prot} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  }
  if (fmt.tunInfo) {
    return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  }
  return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

/** ipvsadm.c print_sched_flags in " (...)": sh's and mh's own names, flag-N for other schedulers. */
function schedFlagNames(svc: ServiceView): string {
  const bits = svc.schedFlags ?? 0;
  const names = svc.scheduler === 'sh' ? ['sh-fallback', 'sh-port']
    : svc.scheduler === 'mh' ? ['mh-fallback', 'mh-port'] : ['flag-1', 'flag-2', 'flag-3'];
  return names.filter((_, i) => bits & (1 << i)).join(',');
}
// Any of the three bits set prints the brackets (-L) or -b (-S), even when no name applies (sh + flag-3).
const schedFlagsText = (svc: ServiceView): string => (svc.schedFlags ? ` (${schedFlagNames(svc)})` : '');
const schedFlagsRule = (svc: ServiceView): string => (svc.schedFlags ? ` -b ${schedFlagNames(svc)}` : '');

/** The " persistent T [mask M]" tail of a service line. */
function persistence(svc: ServiceView): string {
  if (!svc.persistent) return '';
  let text = ` persistent ${svc.persistent}`;
  if (isV6(svc.addr)) {
    const prefix = /^\d+$/.test(svc.netmask) ? Number(svc.netmask) : 128;
    if (prefix !== 128) text += ` mask ${prefix}`;
  } else {
    const mask = inetPton4(svc.netmask) ?? inetAton(svc.netmask) ?? 0xffffffff;
    if (mask !== 0xffffffff) text += ` mask ${ntoa4(mask)}`;
  }
  return text;
}

/** ipvsadm.c print_service_entry: the service line, then its dests (sorted unless --nosort). */
export function serviceEntry(svc: ServiceView, fmt: ListFormat, names: NameLookup): string {
  let svcName: string;
  if (svc.fwmark) {
    svcName = isV6(svc.addr) ? `FWM  ${svc.fwmark} IPv6` : `FWM  ${svc.fwmark}`;
  } else {
    const vname = addrPortName(svc.addr, svc.port, svc.protocol, fmt.numeric, names);
    svcName = `${left(PROTOCOL_NAME[svc.protocol], 4)} ${vname}`;
    if (!isV6(svc.addr)) svcName = svcName.slice(0, 33);
  }
  let out: string;
  if (fmt.stats) {
    const s = svc.stats;
    out = `${left(svcName, 33)}${[s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map((n) => largeNumber(n, fmt.exact)).join('')}\n`;
  } else if (fmt.rate) {
    const r = svc.rates ?? NO_RATES;
    out = `${left(svcName, 33)}${[r.cps, r.inpps, r.outpps, r.inbps, r.outbps].map((n) => largeNumber(n, fmt.exact)).join('')}\n`;
  } else {
    out = `${svcName} ${svc.scheduler}${schedFlagsText(svc)}${persistence(svc)}${svc.onePacket ? ' ops' : ''}\n`;
  }
  const dests = fmt.nosort ? svc.dests : qsortOrder(svc.dests, compareDests);
  for (const d of dests) {
    let dname = addrPortName(d.addr, d.port, svc.protocol, fmt.numeric, names);
    if (!isV6(d.addr)) dname = dname.slice(0, 28);
    if (fmt.stats) {
      const s = d.stats;
      out += `  -> ${left(dname, 28)}${[s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map((n) => largeNumber(n, fmt.exact)).join('')}\n`;
    } else if (fmt.rate) {
      // ipvsadm prints a dest's cps and pps with %8llu (never scaled) and only its byte rates scaled.
      const r = d.rates ?? NO_RATES;
      out += `  -> ${left(dname, 28)} ${[r.cps, r.inpps, r.outpps].map((n) => n.toString().padStart(8)).join(' ')}${largeNumber(r.inbps, fmt.exact)}${largeNumber(r.outbps, fmt.exact)}\n`;
    } else if (fmt.thresholds) {
      out += `  -> ${left(dname, 28)} ${left(d.uThreshold, 10)} ${left(d.lThreshold, 10)} ${left(d.activeConns, 10)} ${left(d.inactConns, 10)}\n`;
    } else if (fmt.persistentConn) {
      out += `  -> ${left(dname, 28)} ${left(d.weight, 9)} ${left(d.persistConns, 11)} ${left(d.activeConns, 10)} ${left(d.inactConns, 10)}\n`;
    } else {
      out += `  -> ${left(dname, 28)} ${left(FWD_NAME[d.fwd], 7)} ${left(d.weight, 6)} ${left(d.activeConns, 10)} ${left(d.inactConns, 10)}\n`;
    }
  }
  return out;
}

/** ipvsadm.c list_all after the version header: the services sorted unless --nosort. */
export function serviceTable(services: readonly ServiceView[], fmt: ListFormat, names: NameLookup): string {
  const ordered = fmt.nosort ? services : qsortOrder(services, compareServices);
  return title(fmt) + ordered.map((svc) => serviceEntry(svc, fmt, names)).join('');
}

/** `ipvsadm -L[n]`: the version header and the whole table. */
export const listAll = (services: readonly ServiceView[], connTableSize: number, fmt: ListFormat, names: NameLookup): string =>
  versionHeader(connTableSize) + serviceTable(services, fmt, names);

/** `ipvsadm -L[n] -t|-u service`: no version header, one service. */
export const listService = (svc: ServiceView, fmt: ListFormat, names: NameLookup): string => title(fmt) + serviceEntry(svc, fmt, names);

const FWD_SWITCH: Record<DestView['fwd'], string> = { route: '-g', tunnel: '-i', masq: '-m', fullnat: '--fullnat' };
const SERVICE_SWITCH: Record<Protocol, string> = { tcp: '-t', udp: '-u' };

/** The " -p T [-M mask]" of a saved service (ipvsadm.c print_service_entry with FMT_RULE). */
function persistenceRule(svc: ServiceView): string {
  if (!svc.persistent) return '';
  let text = ` -p ${svc.persistent}`;
  if (isV6(svc.addr)) {
    const prefix = /^\d+$/.test(svc.netmask) ? Number(svc.netmask) : 128;
    if (prefix !== 128) text += ` -M ${prefix}`;
  } else {
    const mask = inetPton4(svc.netmask) ?? inetAton(svc.netmask) ?? 0xffffffff;
    if (mask !== 0xffffffff) text += ` -M ${ntoa4(mask)}`;
  }
  return text;
}

/**
 * `ipvsadm -S [-n]` (list_all with FMT_RULE): no header, no title, one `-A` line per service followed
 * by one `-a` line per dest, sorted like -L. Names are resolved unless numeric, as ipvsadm does, and
 * not cut to the listing's column widths.
 */
export function saveRules(services: readonly ServiceView[], fmt: Pick<ListFormat, 'numeric' | 'nosort'>, names: NameLookup): string {
  const ordered = fmt.nosort ? services : qsortOrder(services, compareServices);
  let out = '';
  for (const svc of ordered) {
    const svcName = svc.fwmark
      ? `-f ${svc.fwmark}${isV6(svc.addr) ? ' -6' : ''}`
      : `${SERVICE_SWITCH[svc.protocol]} ${addrPortName(svc.addr, svc.port, svc.protocol, fmt.numeric, names)}`;
    out += `-A ${svcName} -s ${svc.scheduler}${persistenceRule(svc)}${svc.onePacket ? ' -o' : ''}${schedFlagsRule(svc)}\n`;
    // xvs's own lines: what a fwmark service matches (ipvsadm has the marks set by netfilter instead).
    for (const m of svc.matches ?? []) out += `--add-fwmark-match ${fwmarkMatchText(m)} ${svcName}\n`;
    // ... and a FULLNAT service's local addresses (always numeric: --add-laddr takes addresses only).
    for (const a of svc.laddrs ?? []) {
      out += `--add-laddr ${SERVICE_SWITCH[svc.protocol]} ${isV6(svc.addr) ? `[${svc.addr}]` : svc.addr}:${svc.port} -z ${a}\n`;
    }
    const dests = fmt.nosort ? svc.dests : qsortOrder(svc.dests, compareDests);
    for (const d of dests) {
      const dname = addrPortName(d.addr, d.port, svc.protocol, fmt.numeric, names);
      // print_tunnel_rule: a tunnel dest also names its tunnel type (ipip, the only one xvs has).
      const tunnel = d.fwd === 'tunnel' ? ' --tun-type ipip' : '';
      out += `-a ${svcName} -r ${dname} ${FWD_SWITCH[d.fwd]} -w ${d.weight}${tunnel}\n`;
    }
  }
  return out;
}

/** tcp:192.0.2.1:80-90, tcp:[2001:db8::1]:443: the argument of --add-fwmark-match. */
export const fwmarkMatchText = (m: FwmarkMatch): string =>
  `${m.protocol}:${isV6(m.addr) ? `[${m.addr}]` : m.addr}:${m.portLo}${m.portHi !== m.portLo ? `-${m.portHi}` : ''}`;

/** The addresses and ports a listing would print by name, for resolving them beforehand. */
export function namesWanted(services: readonly ServiceView[]): { addrs: string[]; ports: { port: number; proto: Protocol }[] } {
  const addrs = new Set<string>();
  const ports = new Map<string, { port: number; proto: Protocol }>();
  const add = (addr: string, port: number, proto: Protocol): void => {
    addrs.add(addr);
    ports.set(`${proto}/${port}`, { port, proto });
  };
  for (const svc of services) {
    add(svc.addr, svc.port, svc.protocol);
    for (const d of svc.dests) add(d.addr, d.port, svc.protocol);
  }
  return { addrs: [...addrs], ports: [...ports.values()] };
}

/** One connection as `-Lc` lists it: the daemon's ConnView. */
export type ConnListing = ConnView;

/** ipvsadm.c list_conn/print_conn: the header, then `%-3s %-6s %-11s %-18s %-18s %s` per connection. */
export function connectionTable(conns: readonly ConnListing[], fmt: ListFormat, names: NameLookup): string {
  let out = 'IPVS connection entries\n';
  out += fmt.persistentConn
    ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ${left('pe name', 16)} pe_data\n`
    : `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination\n`;
  for (const c of conns) {
    const expire = `${String(Math.trunc(c.expires / 60)).padStart(2, '0')}:${String(c.expires % 60).padStart(2, '0')}`;
    // IPPROTO_IP has no service names: ports print as numbers.
    const name = (a: string, p: number): string =>
      c.protocol === 'ip' ? addrPortName(a, p, 'tcp', fmt.numeric, { host: names.host, service: () => undefined }) : addrPortName(a, p, c.protocol, fmt.numeric, names);
    out += `${left(c.protocol === 'ip' ? 'IP' : PROTOCOL_NAME[c.protocol], 3)} ${left(expire, 6)} ${left(c.state, 11)} ${left(name(c.caddr, c.cport), 18)} ${left(name(c.vaddr, c.vport), 18)} ${name(c.daddr, c.dport)}\n`;
  }
  return out;
}

/** ipvsadm.c list_timeout. */
export const timeoutLine = (t: { tcp: number; tcpfin: number; udp: number }): string =>
  `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`;

/** One sync daemon as xvsd's list-sync reports it (SyncDaemonSpec, src/sync/types.ts). */
export interface DaemonListing {
  role: 'master' | 'backup';
  mcastInterface: string;
  syncId: number;
  maxLen?: number;
  group?: string;
  port?: number;
  ttl?: number;
  peers?: string[];
}

/**
 * ipvsadm.c list_daemon: master first, then backup. The kernel (start_sync_thread) fills the defaults it
 * reports — group 224.0.0.81, port 8848, ttl 1, maxlen 1500 - IP - UDP headers (a backup's device MTU
 * may raise it; xvsd reports that one) — so a listing shows them all like ipvsadm on a current kernel.
 * With xvs's unicast peers the group part gives way to a peers part at the end.
 */
export function daemonList(daemons: readonly DaemonListing[]): string {
  let out = '';
  for (const role of ['master', 'backup'] as const) {
    const d = daemons.find((x) => x.role === role);
    if (!d) continue;
    // With unicast peers (xvs's) there is no group; the family is the peers'.
    const peers = d.peers && d.peers.length > 0 ? d.peers : undefined;
    const group = peers ? undefined : d.group ?? SYNC_DEFAULT_GROUP;
    const v6 = group ? isV6(group) : (peers ?? []).some((p) => p.startsWith('[') || isV6(p));
    const maxLen = d.maxLen || 1500 - (v6 ? 40 : 20) - 8;
    out += `${role} sync daemon (mcast=${d.mcastInterface}, syncid=${d.syncId}, maxlen=${maxLen}`;
    if (group) out += `, group=${group}`;
    out += `, port=${d.port ?? SYNC_DEFAULT_PORT}, ttl=${d.ttl ?? SYNC_DEFAULT_TTL}`;
    if (peers) out += `, peers=${peers.join(' ')}`;
    out += ')\n';
  }
  return out;
}
