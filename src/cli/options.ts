// src/cli/options.ts — ipvsadm 1.31's command line as data: its commands, its options, the command ×
// option legality table (ipvsadm.c commands_v_options), the popt option table, and what xvs implements.

/** ipvsadm's command names (ipvsadm.c cmdnames[]), in the order of its CMD_* numbers. */
export const COMMANDS = [
  'add-service', 'edit-service', 'delete-service', 'flush', 'list', 'add-server', 'delete-server',
  'edit-server', 'set', 'start-daemon', 'stop-daemon', 'restore', 'save', 'zero',
] as const;
/** xvs's own commands (not in ipvsadm): fwmark match entries, see README "Fwmark services". */
export const XVS_COMMANDS = ['add-fwmark-match', 'del-fwmark-match'] as const;
export type CommandName = (typeof COMMANDS)[number] | (typeof XVS_COMMANDS)[number];

/** ipvsadm's option names (ipvsadm.c optnames[]), in the order of its OPTC_* bits. */
export const OPTIONS = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server',
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon',
  'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe',
  'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type',
  'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum',
] as const;
export type OptionName = (typeof OPTIONS)[number];

/** '+' compulsory, 'x' illegal, '1' exclusive (at most one '1' option), ' ' optional. */
export type Legality = '+' | 'x' | '1' | ' ';

/** One row of the table: one symbol per option in OPTIONS order, '_' standing for ipvsadm's ' '. */
const row = (symbols: string): string => symbols.split(' ').map((c) => (c === '_' ? ' ' : c)).join('');

/* ipvsadm.c's commands_v_options, transcribed column for column ('_' = optional). */
const LEGALITY_ROWS: Record<CommandName, string> = {
  // columns: ipvsadm.c's abbreviations, read downwards
  //                    - - s - - - - f - - - - t d - - t - s s - o - - g p t s t t t n c r
  //                    n c v s p M r w w x y m o m s r h p r i e p p b r o t i i y p o s e
  //                        c         d       c t n t t r c t d x s e   p r l z n p r c u m
  //                                                                      t   e f e t s m c
  'add-service':    row('x x + _ _ _ x x x x x x x x x x x x x x x _ _ _ x x x x x x x x x x'),
  'edit-service':   row('x x + _ _ _ x x x x x x x x x x x x x x x _ _ _ x x x x x x x x x x'),
  'delete-service': row('x x + x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  'flush':          row('x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  'list':           row('_ 1 1 x x x x x x x x x 1 1 _ _ _ _ _ _ _ x x x x x x x _ x x x x x'),
  'add-server':     row('x x + x x x + _ _ _ _ x x x x x x x x x x x x x x x x x x _ _ _ _ _'),
  'delete-server':  row('x x + x x x + x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  'edit-server':    row('x x + x x x + _ _ _ _ x x x x x x x x x x x x x x x x x x _ _ _ _ _'),
  'set':            row('x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  'start-daemon':   row('x x x x x x x x x x x _ x x x x x x x _ x x x x _ _ _ _ x x x x x x'),
  'stop-daemon':    row('x x x x x x x x x x x x x x x x x x x _ x x x x x x x x x x x x x x'),
  'restore':        row('x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  'save':           row('_ x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  'zero':           row('x x _ x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  // xvs's own: a fwmark service (-f, the service-address bit) and nothing else
  'add-fwmark-match': row('x x + x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
  'del-fwmark-match': row('x x + x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x'),
};

export const legality = (command: CommandName, option: OptionName): Legality =>
  LEGALITY_ROWS[command][OPTIONS.indexOf(option)] as Legality;

/** The rows as characters, for the self-check test. */
export const legalityRows = (): Readonly<Record<CommandName, string>> => LEGALITY_ROWS;

/** Tunnel type × tunnel option legality (ipvsadm.c tunnel_types_v_options), same key. */
export const TUNNEL_TYPES = ['ipip', 'gue', 'gre'] as const;
export type TunnelType = (typeof TUNNEL_TYPES)[number];
export const TUNNEL_OPTIONS: readonly OptionName[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
export const TUNNEL_LEGALITY: Record<TunnelType, string> = {
  //        tun-port nocsum csum remcsum
  ipip: row('x x x x'),
  gue:  row('+ 1 1 1'),
  gre:  row('x 1 1 x'),
};

/**
 * What each argv option does to the invocation; the parser has one handler per action. Commands are
 * only recognised as the first option, like ipvsadm's first switch.
 */
export type OptionAction =
  | { kind: 'command'; command: CommandName }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'option'; handler: HandlerName };

export type HandlerName =
  | 'tcp-service' | 'udp-service' | 'sctp-service' | 'fwmark-service' | 'scheduler' | 'persistent'
  | 'netmask' | 'real-server' | 'masquerading' | 'ipip' | 'gatewaying' | 'weight' | 'u-threshold'
  | 'l-threshold' | 'numeric' | 'connection' | 'mcast-interface' | 'syncid' | 'timeout' | 'daemon'
  | 'stats' | 'rate' | 'thresholds' | 'persistent-conn' | 'nosort' | 'sort' | 'exact' | 'ipv6' | 'ops'
  | 'pe' | 'sched-flags' | 'mcast-group' | 'mcast-port' | 'mcast-ttl' | 'sync-maxlen' | 'tun-info'
  | 'tun-type' | 'tun-port' | 'tun-nocsum' | 'tun-csum' | 'tun-remcsum' | 'fullnat' | 'sync-peer';

export interface ArgvOption {
  long: string;
  short?: string;
  /** popt: POPT_ARG_NONE, POPT_ARG_STRING, or POPT_ARG_STRING|POPT_ARGFLAG_OPTIONAL. */
  arg: 'none' | 'required' | 'optional';
  action: OptionAction;
  /** false: accepted and checked like ipvsadm, but xvs cannot carry it out yet. */
  implemented: boolean;
}

const cmd = (long: string, short: string | undefined, command: CommandName, implemented: boolean, arg: ArgvOption['arg'] = 'none'): ArgvOption =>
  ({ long, short, arg, action: { kind: 'command', command }, implemented });
const opt = (long: string, short: string | undefined, arg: ArgvOption['arg'], handler: HandlerName, implemented: boolean): ArgvOption =>
  ({ long, short, arg, action: { kind: 'option', handler }, implemented });

/** ipvsadm.c parse_options' poptOption table, in its order (the first match wins, as in popt). */
export const ARGV_OPTIONS: readonly ArgvOption[] = [
  cmd('add-service', 'A', 'add-service', true),
  cmd('edit-service', 'E', 'edit-service', true),
  cmd('delete-service', 'D', 'delete-service', true),
  cmd('clear', 'C', 'flush', true),
  cmd('list', 'L', 'list', true),
  cmd('list', 'l', 'list', true),
  cmd('zero', 'Z', 'zero', true),
  cmd('add-server', 'a', 'add-server', true),
  cmd('edit-server', 'e', 'edit-server', true),
  cmd('delete-server', 'd', 'delete-server', true),
  cmd('set', undefined, 'set', true),
  { long: 'help', short: 'h', arg: 'none', action: { kind: 'help' }, implemented: true },
  { long: 'version', short: 'v', arg: 'none', action: { kind: 'version' }, implemented: true },
  cmd('restore', 'R', 'restore', true),
  cmd('save', 'S', 'save', true),
  cmd('start-daemon', undefined, 'start-daemon', true, 'required'),
  cmd('stop-daemon', undefined, 'stop-daemon', true, 'required'),
  opt('tcp-service', 't', 'required', 'tcp-service', true),
  opt('udp-service', 'u', 'required', 'udp-service', true),
  opt('sctp-service', undefined, 'required', 'sctp-service', false),
  opt('fwmark-service', 'f', 'required', 'fwmark-service', true),
  opt('scheduler', 's', 'required', 'scheduler', true),
  opt('persistent', 'p', 'optional', 'persistent', true),
  opt('netmask', 'M', 'required', 'netmask', true),
  opt('real-server', 'r', 'required', 'real-server', true),
  opt('masquerading', 'm', 'none', 'masquerading', true),
  opt('ipip', 'i', 'none', 'ipip', true),
  opt('gatewaying', 'g', 'none', 'gatewaying', true),
  opt('weight', 'w', 'required', 'weight', true),
  opt('u-threshold', 'x', 'required', 'u-threshold', true),
  opt('l-threshold', 'y', 'required', 'l-threshold', true),
  opt('numeric', 'n', 'none', 'numeric', true),
  opt('connection', 'c', 'none', 'connection', true),
  opt('mcast-interface', undefined, 'required', 'mcast-interface', true),
  opt('syncid', undefined, 'required', 'syncid', true),
  opt('timeout', undefined, 'none', 'timeout', true),
  opt('daemon', undefined, 'none', 'daemon', true),
  opt('stats', undefined, 'none', 'stats', true),
  opt('rate', undefined, 'none', 'rate', true),
  opt('thresholds', undefined, 'none', 'thresholds', true),
  opt('persistent-conn', undefined, 'none', 'persistent-conn', true),
  opt('nosort', undefined, 'none', 'nosort', true),
  opt('sort', undefined, 'none', 'sort', true),
  opt('exact', 'X', 'none', 'exact', true),
  opt('ipv6', '6', 'none', 'ipv6', true),
  opt('ops', 'o', 'none', 'ops', true),
  opt('pe', undefined, 'required', 'pe', true),
  opt('sched-flags', 'b', 'required', 'sched-flags', true),
  opt('mcast-group', undefined, 'required', 'mcast-group', true),
  opt('mcast-port', undefined, 'required', 'mcast-port', true),
  opt('mcast-ttl', undefined, 'required', 'mcast-ttl', true),
  opt('sync-maxlen', undefined, 'required', 'sync-maxlen', true),
  opt('tun-info', undefined, 'none', 'tun-info', false),
  opt('tun-type', undefined, 'required', 'tun-type', false),
  opt('tun-port', undefined, 'required', 'tun-port', false),
  opt('tun-nocsum', undefined, 'none', 'tun-nocsum', false),
  opt('tun-csum', undefined, 'none', 'tun-csum', false),
  opt('tun-remcsum', undefined, 'none', 'tun-remcsum', false),
  // xvs's own: which packets a fwmark service gets (XDP sees no netfilter marks): PROTO:VIP:PORT[-PORT].
  cmd('add-fwmark-match', undefined, 'add-fwmark-match', true, 'required'),
  cmd('del-fwmark-match', undefined, 'del-fwmark-match', true, 'required'),
  // xvs's own: the FULLNAT forwarding method (not in ipvsadm; a forwarding-method option like -g/-i/-m).
  opt('fullnat', undefined, 'none', 'fullnat', true),
  // xvs's own: a unicast sync peer ADDR[:PORT] (repeatable) for --start-daemon, instead of the multicast group.
  opt('sync-peer', undefined, 'required', 'sync-peer', true),
];

/** How an option is named in messages: "--weight (-w)". */
export const describeOption = (o: ArgvOption): string => (o.short ? `--${o.long} (-${o.short})` : `--${o.long}`);

/** Compile-time defaults of ipvsadm (ipvsadm.c, libipvs.h). */
export const DEFAULT_SCHEDULER = 'wlc';
export const PERSISTENT_TIMEOUT_DEFAULT = 6 * 60; // IPVS_SVC_PERSISTENT_TIMEOUT
export const MAX_TIMEOUT = 86400 * 31;
export const SCHEDNAME_MAXLEN = 16; // IP_VS_SCHEDNAME_MAXLEN, including the NUL
export const PENAME_MAXLEN = 16;
export const IFNAME_MAXLEN = 16;
/** The SCHEDULERS and PERSISTENCE_ENGINES lists ipvsadm's help prints. */
export const SCHEDULER_LIST = 'rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh';
export const PE_LIST = 'sip';
/** The IPVS version xvs reports (IP_VS_VERSION_CODE 0x010201), and the ipvsadm it follows. */
export const IPVS_VERSION = '1.2.1';
export const IPVSADM_VERSION = '1.31';
