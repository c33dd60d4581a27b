// src/cli/parse.ts — argv → an ipvsadm invocation (ipvsadm.c parse_options and process_options' checks,
// failing with ipvsadm's exact texts and exit codes) → what xvsadm does: a daemon Command or a listing.
// The only I/O is name resolution, through the injected NameResolver.
import { SCHED_FLAG_NAMES } from '../sched/context.js';
import { Command, type CommandOp } from '../model/command.js';
import { SchedulerName, type ForwardMethod, type FwmarkMatch, type ServiceKey } from '../model/service.js';
import {
  OPTIONS, legality, TUNNEL_OPTIONS, TUNNEL_LEGALITY, TUNNEL_TYPES, describeOption,
  DEFAULT_SCHEDULER, PERSISTENT_TIMEOUT_DEFAULT, MAX_TIMEOUT, SCHEDNAME_MAXLEN, PENAME_MAXLEN, IFNAME_MAXLEN,
  type ArgvOption, type CommandName, type HandlerName, type OptionName, type TunnelType,
} from './options.js';
import { PoptScanner } from './popt.js';
import { CliExit, fail, tryHelp, poptFailure, notImplemented } from './messages.js';
import { inetAton, inetPton4, inetPton6, ntoa4, ntop6 } from './inet.js';
import type { NameResolver, PortProtocol } from './names.js';
import { DEFAULT_LIST_FORMAT, type ListFormat } from './format.js';

/** An address with the fields parse_service fills (ipvs_service_t's af, addr, port, netmask). */
interface Endpoint {
  family: 0 | 4 | 6; // 0: not given yet (the zeroed struct's AF_UNSPEC)
  addr: string; // canonical text
  port: number;
  /** IPv4: the mask as a 32-bit number; IPv6: the prefix length. */
  netmask: number;
}

export interface ServiceState extends Endpoint {
  protocol: PortProtocol | undefined; // undefined: IPPROTO_IP, no -t/-u/--sctp-service yet
  fwmark: number;
  scheduler: string;
  persistent: boolean;
  timeout: number;
  onePacket: boolean;
  pe: string;
  /** -b as given; parsed into schedFlags once all options are in (the scheduler may come later). */
  schedFlagsArg: string;
  schedFlags: string[];
}

export interface DestState {
  family: 0 | 4 | 6;
  addr: string;
  port: number;
  fwd: ForwardMethod;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  tunType: TunnelType;
  tunPort: number;
}

export interface Invocation {
  command: CommandName;
  /** --add-fwmark-match/--del-fwmark-match: the match entry. */
  match?: FwmarkMatch;
  /** The argv option that named the command. */
  commandOption: ArgvOption | undefined;
  /** ipvsadm's option bits (set_option). */
  options: Set<OptionName>;
  /** Every option after the command, in argv order. */
  given: ArgvOption[];
  svc: ServiceState;
  dest: DestState;
  format: ListFormat;
  timeouts: { tcp: number; tcpfin: number; udp: number };
  daemon: { state: 'master' | 'backup' | undefined; mcastIfn: string; syncid: number; mcastGroup: string; mcastPort: number; mcastTtl: number; syncMaxlen: number; peers: string[] };
}

export type ParseResult =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'invocation'; invocation: Invocation };

export interface ParseContext {
  program: string;
  resolver: NameResolver;
}

const SERVICE_ADDR = 1;
const SERVICE_PORT = 2;

/** strtol(s, &end, 10) accepted only when it consumed everything and lies in [min, max]; else -1. */
export function stringToNumber(s: string, min: number, max: number): number {
  if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return -1;
  const n = Number(s.trim());
  return n >= min && n <= max ? n : -1;
}

const strIsDigit = (s: string): boolean => /^\d*$/.test(s);

/** atoi(): leading blanks, a sign, digits up to the first non-digit; 0 when there are none. */
const atoi = (s: string): number => {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
};

/** gethostbyname, IPv4 only, as host_to_addr. */
async function hostToAddr(name: string, resolver: NameResolver): Promise<number | undefined> {
  const addr = await resolver.hostToAddr(name);
  return addr === undefined ? undefined : inetPton4(addr);
}

/** ipvsadm.c parse_service: host[:port] or [v6]:port into `ep`; returns SERVICE_ADDR | SERVICE_PORT bits. */
async function parseService(buf: string, ep: Endpoint, protocol: PortProtocol | undefined, resolver: NameResolver): Promise<number> {
  if (strIsDigit(buf)) return 0;
  let host = buf;
  let portText: string | undefined;
  if (buf.startsWith('[')) {
    const close = buf.indexOf(']');
    if (close < 0 || buf[close + 1] !== ':') return 0;
    host = buf.slice(1, close);
    portText = buf.slice(close + 2);
  }
  const v6 = inetPton6(host);
  if (v6) {
    ep.family = 6;
    ep.addr = ntop6(v6);
    ep.netmask = 128;
  } else {
    // Not IPv6: the port is whatever follows the last ':' of the host part (so "[1.2.3.4]:80" has none).
    const colon = host.lastIndexOf(':');
    portText = colon < 0 ? undefined : host.slice(colon + 1);
    if (colon >= 0) host = host.slice(0, colon);
    const v4 = inetAton(host) ?? (await hostToAddr(host, resolver));
    if (v4 === undefined) return 0;
    ep.family = 4;
    ep.addr = ntoa4(v4);
  }
  let result = SERVICE_ADDR;
  if (portText !== undefined) {
    result |= SERVICE_PORT;
    let port = stringToNumber(portText, 0, 65535);
    if (port === -1 && protocol) port = (await resolver.serviceToPort(portText, protocol)) ?? -1;
    if (port === -1) return 0;
    ep.port = port;
  }
  return result;
}

/** ipvsadm.c parse_timeout: no argument means the default persistence timeout. */
function parseTimeout(arg: string | undefined, min: number, max: number): number {
  if (arg === undefined) return PERSISTENT_TIMEOUT_DEFAULT;
  const n = stringToNumber(arg, min, max);
  if (n === -1) throw fail(`invalid timeout value \`${arg}' specified`);
  return n;
}

function setOption(inv: Invocation, name: OptionName): void {
  if (inv.options.has(name)) throw fail(`multiple '${name}' options specified`);
  inv.options.add(name);
}

function numberOption(inv: Invocation, name: OptionName, arg: string, min: number, max: number, what: string): number {
  setOption(inv, name);
  const n = stringToNumber(arg, min, max);
  if (n === -1) throw fail(`illegal ${what} specified`);
  return n;
}

/** ipvsadm.c DEF_MCAST_IFN: the interface a sync daemon uses when --mcast-interface is not given. */
const DEF_MCAST_IFN = 'eth0';
/** SyncDaemonSpec.peers' bound. */
const MAX_SYNC_PEERS = 64;

/**
 * xvs's --sync-peer ADDR[:PORT] (IPv6: ADDR or [ADDR]:PORT) → canonical text in the same shape; the port,
 * when given, is 1..65535 (without one the daemon's --mcast-port applies).
 */
export function parseSyncPeer(text: string): string {
  const bad = (): CliExit => fail(`illegal sync-peer \`${text}' specified (want ADDR[:PORT], [ADDR]:PORT for IPv6)`);
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) {
    const v6 = inetPton6(bracketed[1]);
    if (!v6) throw bad();
    if (bracketed[2] === undefined) return ntop6(v6);
    const port = Number(bracketed[2]);
    if (port < 1 || port > 65535) throw bad();
    return `[${ntop6(v6)}]:${port}`;
  }
  const v6 = inetPton6(text);
  if (v6) return ntop6(v6);
  const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(text);
  const v4 = m ? inetPton4(m[1]) : undefined;
  if (!m || v4 === undefined) throw bad();
  if (m[2] === undefined) return ntoa4(v4);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw bad();
  return `${ntoa4(v4)}:${port}`;
}

type Handler = (inv: Invocation, arg: string | undefined, ctx: ParseContext) => void | Promise<void>;

const serviceHandler = (protocol: PortProtocol): Handler => async (inv, arg, ctx) => {
  setOption(inv, 'service-address');
  inv.svc.protocol = protocol;
  const parsed = await parseService(arg as string, inv.svc, protocol, ctx.resolver);
  if (!(parsed & SERVICE_ADDR)) throw fail('illegal virtual server address[:port] specified');
};

const forwardHandler = (fwd: DestState['fwd']): Handler => (inv) => {
  setOption(inv, 'forwarding-method');
  inv.dest.fwd = fwd;
};

const flagHandler = (name: OptionName, apply?: (inv: Invocation) => void): Handler => (inv) => {
  setOption(inv, name);
  apply?.(inv);
};

/** One handler per argv option, the cases of parse_options' second switch. */
const HANDLERS: Record<HandlerName, Handler> = {
  'tcp-service': serviceHandler('tcp'),
  'udp-service': serviceHandler('udp'),
  'sctp-service': serviceHandler('sctp'),
  'fwmark-service': (inv, arg) => {
    setOption(inv, 'service-address');
    inv.svc.family = 4;
    inv.svc.protocol = 'tcp';
    const mark = stringToNumber(arg as string, 1, 0xffffffff);
    if (mark === -1) throw fail(`invalid fwmark value \`${arg}' specified`);
    inv.svc.fwmark = mark;
  },
  scheduler: (inv, arg) => {
    setOption(inv, 'scheduler');
    inv.svc.scheduler = (arg as string).slice(0, SCHEDNAME_MAXLEN - 1);
  },
  persistent: (inv, arg) => {
    setOption(inv, 'persistent');
    inv.svc.persistent = true;
    inv.svc.timeout = parseTimeout(arg, 1, MAX_TIMEOUT);
  },
  netmask: async (inv, arg, ctx) => {
    setOption(inv, 'netmask');
    const text = arg as string;
    if (inv.svc.family !== 6) {
      const mask = inetAton(text) ?? (await hostToAddr(text, ctx.resolver));
      if (mask === undefined) throw fail('illegal virtual server persistent mask specified');
      inv.svc.netmask = mask;
    } else {
      const prefix = atoi(text);
      if (prefix < 1 || prefix > 128) throw fail('illegal ipv6 netmask specified');
      inv.svc.netmask = prefix;
    }
  },
  'real-server': async (inv, arg, ctx) => {
    setOption(inv, 'real-server');
    // parse_service into a copy of the service so far: its protocol names the port, its port is the default.
    const target: Endpoint = { family: inv.svc.family, addr: inv.svc.addr, port: inv.svc.port, netmask: inv.svc.netmask };
    const parsed = await parseService(arg as string, target, inv.svc.protocol, ctx.resolver);
    inv.dest.family = target.family;
    inv.dest.addr = target.addr;
    inv.dest.port = target.port;
    if (!(parsed & SERVICE_ADDR)) throw fail('illegal real server address[:port] specified');
    if (parsed === SERVICE_ADDR) inv.dest.port = inv.svc.port;
  },
  ipip: forwardHandler('tunnel'),
  gatewaying: forwardHandler('route'),
  masquerading: forwardHandler('masq'),
  fullnat: forwardHandler('fullnat'),
  weight: (inv, arg) => { inv.dest.weight = numberOption(inv, 'weight', arg as string, 0, 65535, 'weight'); },
  'u-threshold': (inv, arg) => { inv.dest.uThreshold = numberOption(inv, 'u-threshold', arg as string, 0, 0x7fffffff, 'u_threshold'); },
  'l-threshold': (inv, arg) => { inv.dest.lThreshold = numberOption(inv, 'l-threshold', arg as string, 0, 0x7fffffff, 'l_threshold'); },
  connection: flagHandler('connection'),
  numeric: flagHandler('numeric', (inv) => { inv.format.numeric = true; }),
  'mcast-interface': (inv, arg) => {
    setOption(inv, 'mcast-interface');
    inv.daemon.mcastIfn = (arg as string).slice(0, IFNAME_MAXLEN - 1);
  },
  syncid: (inv, arg) => { inv.daemon.syncid = numberOption(inv, 'syncid', arg as string, 0, 255, 'syncid'); },
  timeout: flagHandler('timeout'),
  daemon: flagHandler('daemon'),
  stats: flagHandler('stats', (inv) => { inv.format.stats = true; }),
  rate: flagHandler('rate', (inv) => { inv.format.rate = true; }),
  thresholds: flagHandler('thresholds', (inv) => { inv.format.thresholds = true; }),
  'persistent-conn': flagHandler('persistent-conn', (inv) => { inv.format.persistentConn = true; }),
  nosort: flagHandler('nosort', (inv) => { inv.format.nosort = true; }),
  sort: () => {}, // the default; accepted for compatibility
  exact: flagHandler('exact', (inv) => { inv.format.exact = true; }),
  ipv6: (inv) => {
    if (!inv.svc.fwmark) throw fail('-6 used before -f\n');
    inv.svc.family = 6;
    inv.svc.netmask = 128;
  },
  ops: flagHandler('ops', (inv) => { inv.svc.onePacket = true; }),
  pe: (inv, arg) => {
    setOption(inv, 'pe');
    inv.svc.pe = (arg as string).slice(0, PENAME_MAXLEN);
  },
  'sched-flags': (inv, arg) => {
    setOption(inv, 'sched-flags');
    inv.svc.schedFlagsArg = (arg as string).slice(0, 127);
  },
  'mcast-group': (inv, arg) => {
    setOption(inv, 'mcast-group');
    const text = arg as string;
    if (text.includes(':')) {
      const v6 = inetPton6(text);
      if (!v6 || v6[0] !== 0xff) throw fail(`invalid IPv6 mcast-group \`${text}'`);
      inv.daemon.mcastGroup = ntop6(v6);
    } else {
      const v4 = inetPton4(text);
      if (v4 === undefined || v4 >>> 28 !== 0xe) throw fail(`invalid IPv4 mcast-group \`${text}'`);
      inv.daemon.mcastGroup = ntoa4(v4);
    }
  },
  'mcast-port': (inv, arg) => { inv.daemon.mcastPort = numberOption(inv, 'mcast-port', arg as string, 1, 65535, 'mcast-port'); },
  'mcast-ttl': (inv, arg) => { inv.daemon.mcastTtl = numberOption(inv, 'mcast-ttl', arg as string, 1, 255, 'mcast-ttl'); },
  'sync-maxlen': (inv, arg) => { inv.daemon.syncMaxlen = numberOption(inv, 'sync-maxlen', arg as string, 1, 65535 - 20 - 8, 'sync-maxlen'); },
  'tun-info': flagHandler('tun-info', (inv) => { inv.format.tunInfo = true; }),
  'tun-type': (inv, arg) => {
    setOption(inv, 'tun-type');
    const type = TUNNEL_TYPES.find((t) => t === arg);
    if (!type) throw fail('illegal tunnel type specified');
    inv.dest.tunType = type;
  },
  'tun-port': (inv, arg) => { inv.dest.tunPort = numberOption(inv, 'tun-port', arg as string, 1, 65535, 'tunnel port'); },
  'tun-nocsum': flagHandler('tun-nocsum'),
  'tun-csum': flagHandler('tun-csum'),
  'tun-remcsum': flagHandler('tun-remcsum'),
  'sync-peer': (inv, arg) => {
    const peer = parseSyncPeer(arg as string);
    if (inv.daemon.peers.includes(peer)) throw fail(`duplicate sync-peer \`${arg}'`);
    if (inv.daemon.peers.length === MAX_SYNC_PEERS) throw fail(`too many sync-peer options (at most ${MAX_SYNC_PEERS})`);
    inv.daemon.peers.push(peer);
  },
};

/** ipvsadm.c parse_sched_flags: comma-separated names; sh-* and mh-* need their scheduler. */
const SCHED_FLAGS: Record<string, string | undefined> = {
  'flag-1': undefined, 'flag-2': undefined, 'flag-3': undefined,
  'sh-fallback': 'sh', 'sh-port': 'sh', 'mh-fallback': 'mh', 'mh-port': 'mh',
};
function parseSchedFlags(scheduler: string, text: string): string[] {
  const sched = scheduler || DEFAULT_SCHEDULER;
  const flags = text.split(',').filter((f) => f !== '');
  if (flags.length === 0) throw fail("invalid scheduler flag `'");
  for (const flag of flags) {
    if (!(flag in SCHED_FLAGS)) throw fail(`invalid scheduler flag \`${flag}'`);
    const needs = SCHED_FLAGS[flag];
    if (needs !== undefined && needs !== sched) throw fail(`incompatible scheduler flag \`${flag}'`);
  }
  return flags;
}

/** ipvsadm.c generic_opt_check: walks the options in table order; the first violation fails. */
function genericOptCheck(command: CommandName, options: Set<OptionName>): void {
  let exclusive: OptionName | undefined;
  for (const name of OPTIONS) {
    const rule = legality(command, name);
    if (!options.has(name)) {
      if (rule === '+') throw fail(`You need to supply the '${name}' option for the '${command}' command`);
      continue;
    }
    if (rule === 'x') throw fail(`Illegal '${name}' option with the '${command}' command`);
    if (rule === '1') {
      if (exclusive === undefined) exclusive = name;
      else throw fail(`The option '${name}' conflicts with the '${exclusive}' option in the '${command}' command`);
    }
  }
}

/** ipvsadm.c tunnel_opt_check, same walk over the tunnel table. */
function tunnelOptCheck(type: TunnelType, options: Set<OptionName>): void {
  let exclusive: OptionName | undefined;
  TUNNEL_OPTIONS.forEach((name, j) => {
    const rule = TUNNEL_LEGALITY[type][j];
    if (!options.has(name)) {
      if (rule === '+') throw fail(`You need to supply the '${name}' option for the '${type}' tunnel type`);
      return;
    }
    if (rule === 'x') throw fail(`Illegal '${name}' option with the '${type}' tunnel type`);
    if (rule === '1') {
      if (exclusive === undefined) exclusive = name;
      else throw fail(`The option '${name}' conflicts with the '${exclusive}' option in the '${type}' tunnel type`);
    }
  });
}

/** process_options' checks after parsing, in its order. */
function checkInvocation(inv: Invocation): void {
  genericOptCheck(inv.command, inv.options);
  const { svc, dest, options } = inv;
  if (inv.command === 'add-service' || inv.command === 'edit-service') {
    if (!svc.fwmark && !svc.port && !svc.persistent) throw fail('Zero port specified for non-persistent service');
    if (svc.onePacket && !svc.fwmark && svc.protocol !== 'udp') throw fail('One-Packet Scheduling is only for UDP virtual services');
    if (svc.scheduler === '') svc.scheduler = DEFAULT_SCHEDULER;
  }
  if (inv.command === 'start-daemon' && inv.daemon.mcastIfn === '') inv.daemon.mcastIfn = DEF_MCAST_IFN;
  // xvs's --sync-peer: after ipvsadm's own checks, in the same words.
  if (inv.daemon.peers.length > 0) {
    if (inv.command !== 'start-daemon') throw fail(`Illegal 'sync-peer' option with the '${inv.command}' command`);
    if (options.has('mcast-group')) throw fail("The option 'sync-peer' conflicts with the 'mcast-group' option in the 'start-daemon' command");
  }
  if (inv.command === 'add-server' || inv.command === 'edit-server') {
    // DR and TUN cannot map ports: the real server's port is the service's.
    if (!svc.fwmark && (dest.fwd === 'tunnel' || dest.fwd === 'route')) dest.port = svc.port;
    if (dest.family !== svc.family && dest.fwd !== 'tunnel') throw fail('Different address family is allowed only for tunneling servers');
    if ((['tun-type', ...TUNNEL_OPTIONS] as OptionName[]).some((o) => options.has(o)) && dest.fwd !== 'tunnel') {
      throw fail('Tunnel options conflict with forward method');
    }
    tunnelOptCheck(dest.tunType, options);
  }
  if ((inv.command === 'add-fwmark-match' || inv.command === 'del-fwmark-match') && !svc.fwmark) {
    throw fail(`The '${inv.command}' command needs a fwmark service (-f)`);
  }
  if (inv.command === 'list') {
    const has = (...names: OptionName[]): boolean => names.some((n) => options.has(n));
    if ((has('connection', 'timeout', 'daemon') && has('stats', 'rate', 'thresholds')) || (has('timeout', 'daemon') && has('persistent-conn'))) {
      throw fail('options conflicts in the list command');
    }
  }
}

function newInvocation(command: CommandName, commandOption: ArgvOption | undefined): Invocation {
  return {
    command,
    commandOption,
    options: new Set(),
    given: [],
    svc: {
      family: 0, addr: '0.0.0.0', port: 0, netmask: 0xffffffff, protocol: undefined, fwmark: 0, scheduler: '',
      persistent: false, timeout: 0, onePacket: false, pe: '', schedFlagsArg: '', schedFlags: [],
    },
    dest: { family: 0, addr: '0.0.0.0', port: 0, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0 },
    format: { ...DEFAULT_LIST_FORMAT },
    timeouts: { tcp: 0, tcpfin: 0, udp: 0 },
    daemon: { state: undefined, mcastIfn: '', syncid: 0, mcastGroup: '', mcastPort: 0, mcastTtl: 0, syncMaxlen: 0, peers: [] },
  };
}

/** ipvsadm's argv handling: main()'s bare listing, parse_options, then process_options' checks. */
export async function parseArgv(argv: readonly string[], ctx: ParseContext): Promise<ParseResult> {
  if (argv.length === 0) return { kind: 'invocation', invocation: newInvocation('list', undefined) };
  const scanner = new PoptScanner(argv);
  const first = scanner.scan();
  if (first.kind !== 'option') throw tryHelp(ctx.program);
  const action = first.option.action;
  if (action.kind === 'help') return { kind: 'help' };
  if (action.kind === 'version') return { kind: 'version' };
  if (action.kind !== 'command') throw tryHelp(ctx.program);
  const inv = newInvocation(action.command, first.option);
  if (action.command === 'start-daemon' || action.command === 'stop-daemon') {
    if (first.arg === 'master' || first.arg === 'backup') inv.daemon.state = first.arg;
    else throw fail(action.command === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
  }
  if (action.command === 'add-fwmark-match' || action.command === 'del-fwmark-match') inv.match = parseFwmarkMatch(first.arg as string);
  for (;;) {
    const next = scanner.scan();
    if (next.kind === 'end') break;
    if (next.kind === 'error') throw poptFailure(scanner.badOption(), next.error);
    if (next.option.action.kind !== 'option') throw fail(`invalid option \`${scanner.badOption()}'`);
    await HANDLERS[next.option.action.handler](inv, next.arg, ctx);
    inv.given.push(next.option);
  }
  const leftovers = [...scanner.leftovers];
  if (inv.command === 'set') {
    if (leftovers.length < 3) throw fail('--set option requires 3 timeout values');
    const [tcp, tcpfin, udp] = leftovers.splice(0, 3).map((t) => parseTimeout(t, 0, MAX_TIMEOUT));
    inv.timeouts = { tcp, tcpfin, udp };
  }
  if (leftovers.length > 0) throw fail(`unexpected argument ${leftovers[0]}`);
  if (inv.svc.schedFlagsArg !== '') inv.svc.schedFlags = parseSchedFlags(inv.svc.scheduler, inv.svc.schedFlagsArg);
  checkInvocation(inv);
  return { kind: 'invocation', invocation: inv };
}

/** What xvsadm does for a valid invocation. */
export type Plan =
  | { kind: 'list'; key: ServiceKey | undefined; format: ListFormat }
  /** -S [-n]: the table as ipvsadm-save rules. */
  | { kind: 'save'; format: ListFormat }
  /** -R: rules from stdin, applied all or nothing. */
  | { kind: 'restore' }
  | { kind: 'command'; command: Command }
  /** -L -c: the connection table; -L --timeout: the timeouts. */
  | { kind: 'list-conns'; format: ListFormat }
  | { kind: 'timeout' }
  /** -L --daemon: list_daemon over the daemon's sync daemons (list-sync). */
  | { kind: 'daemon' }
  /** -A/-E naming no IPVS scheduler: the kernel's answer depends on whether the service exists. */
  | { kind: 'unknown-scheduler'; op: 'add-service' | 'edit-service'; key: ServiceKey; scheduler: string };

const serviceKey = (svc: ServiceState): ServiceKey =>
  svc.fwmark
    ? { protocol: 'tcp', addr: svc.family === 6 ? '::' : '0.0.0.0', port: 0, fwmark: svc.fwmark }
    : { protocol: svc.protocol === 'udp' ? 'udp' : 'tcp', addr: svc.addr, port: svc.port };

/** xvs's fwmark match text: tcp|udp:ADDR:PORT[-PORT], an IPv6 ADDR in brackets. */
export function parseFwmarkMatch(text: string): FwmarkMatch {
  const m = /^(tcp|udp):(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const bad = (): CliExit => fail(`illegal fwmark match \`${text}' (want tcp|udp:ADDR:PORT[-PORT], [ADDR] for IPv6)`);
  if (!m) throw bad();
  const v6 = m[2] !== undefined ? inetPton6(m[2]) : undefined;
  const v4 = m[3] !== undefined ? inetPton4(m[3]) : undefined;
  if (v6 === undefined && v4 === undefined) throw bad();
  const portLo = Number(m[4]);
  const portHi = m[5] !== undefined ? Number(m[5]) : portLo;
  if (portLo < 1 || portHi > 65535 || portLo > portHi) throw bad();
  return { protocol: m[1] as 'tcp' | 'udp', addr: v6 ? ntop6(v6) : ntoa4(v4 as number), portLo, portHi };
}

const netmaskText = (svc: ServiceState): string => (svc.family === 6 ? String(svc.netmask) : ntoa4(svc.netmask >>> 0));

const checked = (cmd: unknown): Command => {
  const result = Command.safeParse(cmd);
  if (!result.success) throw new Error(`xvsadm built an invalid command: ${result.error.message}`);
  return result.data;
};

/** Turns an invocation into a plan, or fails for what xvs does not implement yet. */
export function planInvocation(inv: Invocation): Plan {
  if (inv.commandOption && !inv.commandOption.implemented) throw notImplemented('Command', describeOption(inv.commandOption));
  const missing = inv.given.find((o) => !o.implemented);
  if (missing) throw notImplemented('Option', describeOption(missing));
  const { svc, dest } = inv;
  const key = serviceKey(svc);
  const op = ({
    'add-service': 'add-service', 'edit-service': 'edit-service', 'delete-service': 'del-service', flush: 'clear',
    'add-server': 'add-dest', 'edit-server': 'edit-dest', 'delete-server': 'del-dest', list: 'list',
    zero: 'zero',
  } as Partial<Record<CommandName, CommandOp>>)[inv.command];
  if (inv.command === 'save') return { kind: 'save', format: inv.format };
  if (inv.command === 'add-fwmark-match' || inv.command === 'del-fwmark-match') {
    return { kind: 'command', command: checked({ op: inv.command, key: serviceKey(svc), match: inv.match }) };
  }
  if (inv.command === 'restore') return { kind: 'restore' };
  if (inv.command === 'start-daemon') {
    // ipvs_start_daemon sends maxlen/port/ttl/group only when given (0 = the kernel's default).
    const d = inv.daemon;
    const spec = {
      role: d.state, mcastInterface: d.mcastIfn, syncId: d.syncid, maxLen: d.syncMaxlen,
      ...(d.mcastGroup ? { group: d.mcastGroup } : {}), ...(d.mcastPort ? { port: d.mcastPort } : {}),
      ...(d.mcastTtl ? { ttl: d.mcastTtl } : {}), ...(d.peers.length ? { peers: d.peers } : {}),
    };
    return { kind: 'command', command: checked({ op: 'start-sync', spec }) };
  }
  if (inv.command === 'stop-daemon') return { kind: 'command', command: checked({ op: 'stop-sync', role: inv.daemon.state }) };
  // ipvsadm --set: ipvs_set_timeout (0 keeps a value).
  if (inv.command === 'set') return { kind: 'command', command: checked({ op: 'set-timeouts', timeouts: inv.timeouts }) };
  switch (op) {
    case 'list':
      // process_options' CMD_LIST: -c first, then --timeout, else the services.
      if (inv.options.has('connection')) return { kind: 'list-conns', format: inv.format };
      if (inv.options.has('timeout')) return { kind: 'timeout' };
      if (inv.options.has('daemon')) return { kind: 'daemon' };
      return { kind: 'list', key: inv.options.has('service-address') ? key : undefined, format: inv.format };
    case 'add-service':
    case 'edit-service': {
      const scheduler = SchedulerName.safeParse(svc.scheduler);
      // --pe: xvs has no persistence engine (the kernel's only one is sip): as a kernel without the
      // ip_vs_pe_sip module, ip_vs_pe_getbyname() fails and the service is refused with ENOENT.
      if (!scheduler.success || svc.pe !== '') return { kind: 'unknown-scheduler', op, key, scheduler: svc.scheduler };
      const service = {
        ...key, scheduler: scheduler.data, persistent: svc.persistent ? svc.timeout : 0, netmask: netmaskText(svc),
        // libipvs sets IP_VS_SVC_F_ONEPACKET for -o; the kernel applies it to UDP datagrams only.
        ...(svc.onePacket ? { onePacket: true } : {}),
      };
      // ipvsadm sends IP_VS_SVC_F_SCHED1..3 as bits; the names only matter to which scheduler may take them.
      const schedFlags = svc.schedFlags.reduce((bits, f) => bits | (SCHED_FLAG_NAMES[f] ?? 0), 0);
      return { kind: 'command', command: checked({ op, service: schedFlags ? { ...service, schedFlags } : service }) };
    }
    case 'del-service':
      return { kind: 'command', command: checked({ op, key }) };
    case 'clear':
      return { kind: 'command', command: checked({ op }) };
    case 'zero':
      // ipvs_zero_service with a zeroed service entry zeroes everything.
      return { kind: 'command', command: checked({ op, key: inv.options.has('service-address') ? key : undefined }) };
    case 'add-dest':
    case 'edit-dest': {
      const spec = { addr: dest.addr, port: dest.port, fwd: dest.fwd, weight: dest.weight, uThreshold: dest.uThreshold, lThreshold: dest.lThreshold };
      return { kind: 'command', command: checked({ op, key, dest: spec }) };
    }
    case 'del-dest':
      return { kind: 'command', command: checked({ op, key, dest: { addr: dest.addr, port: dest.port } }) };
    default:
      throw new CliExit(`internal error: no plan for the '${inv.command}' command\n`, 1);
  }
}
