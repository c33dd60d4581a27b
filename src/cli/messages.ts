// src/cli/messages.ts — every text xvsadm prints that is not a listing: ipvsadm's usage, its failure
// exits, libipvs's ipvs_strerror table per (operation, errno), and xvs's own messages, with exit codes.
import type { CommandOp } from '../model/command.js';
import type { XvsErrorCode } from '../model/errors.js';
import { IPVS_VERSION, IPVSADM_VERSION, SCHEDULER_LIST, PE_LIST, DEFAULT_SCHEDULER } from './options.js';

/**
 * How xvsadm ends when it cannot carry a command out: the text for stderr (newline included) and the
 * exit status — ipvsadm's fail() is 2, its popt and kernel failures exit(-1) = 255, listing errors 1.
 */
export class CliExit extends Error {
  readonly stderr: string;
  readonly exitCode: number;
  constructor(stderr: string, exitCode: number) {
    super(stderr.trimEnd());
    this.name = 'CliExit';
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

export const EXIT_FAIL = 2; // ipvsadm fail(2, ...)
export const EXIT_KERNEL = 255; // process_options returns -1 from main after ipvs_strerror
export const EXIT_LIST = 1; // list_all / list_service exit(1)
export const EXIT_NOT_IMPLEMENTED = 1;
export const EXIT_NO_DAEMON = 2; // like ipvsadm's fail(2, "Can't initialize ipvs: ...")

/** ipvsadm.c fail(): the message, a newline, exit 2. */
export const fail = (message: string): CliExit => new CliExit(`${message}\n`, EXIT_FAIL);

/** ipvsadm.c tryhelp_exit(argv[0], -1). */
export const tryHelp = (program: string): CliExit =>
  new CliExit(`Try \`${program} -h' or '${program} --help' for more information.\n`, 255);

/** popt errors after the command: "<bad option>: <poptStrerror>", then ipvsadm returns -1. */
export const POPT_ERRORS = {
  BADOPT: 'unknown option',
  NOARG: 'missing argument',
  UNWANTEDARG: 'option does not take an argument',
} as const;
export type PoptError = keyof typeof POPT_ERRORS;
export const poptFailure = (badOption: string, error: PoptError): CliExit =>
  new CliExit(`${badOption}: ${POPT_ERRORS[error]}\n`, 255);

/** The libipvs call each daemon command stands for, as ipvs_strerror keys its table. */
type IpvsFunc =
  | 'add_service' | 'update_service' | 'del_service' | 'zero_service' | 'add_dest' | 'update_dest'
  | 'del_dest' | 'start_daemon' | 'stop_daemon' | 'get_services' | 'get_dests' | 'get_service'
  | 'flush' | 'init';

export const ipvsFuncOf = (op: CommandOp, listsOneService = false): IpvsFunc => {
  switch (op) {
    case 'add-service': return 'add_service';
    case 'edit-service': return 'update_service';
    case 'del-service': return 'del_service';
    case 'clear': return 'flush';
    case 'add-dest': return 'add_dest';
    case 'edit-dest': return 'update_dest';
    case 'del-dest': return 'del_dest';
    case 'list': return listsOneService ? 'get_service' : 'get_services';
    case 'info': return 'init';
    case 'zero': return 'zero_service';
    case 'batch': return 'init'; // a batch's failure is reported for its failing command
    case 'apply-config':
    case 'shutdown':
    case 'reload': return 'init';
    case 'set-health': case 'set-sorry-server': case 'health': return 'init'; // xvs's own (src/health)
    case 'add-laddr': case 'del-laddr': case 'list-laddrs': return 'init'; // xvs's own (FULLNAT)
    case 'add-fwmark-match': case 'del-fwmark-match': return 'update_service'; // xvs's own (fwmark)
    case 'set-timeouts': case 'get-timeouts': case 'list-conns': return 'init'; // ipvs_set_timeout/get_timeout, /proc
    case 'start-sync': return 'start_daemon';
    case 'stop-sync': return 'stop_daemon';
    case 'list-sync': return 'init'; // ipvs_get_daemon
  }
};

type Errno = 'EEXIST' | 'ENOENT' | 'ESRCH' | 'EPERM' | 'EINVAL' | 'ENOPROTOOPT' | 'ENOMEM' | 'EOPNOTSUPP' | 'EAFNOSUPPORT' | 'EMSGSIZE';

/** libipvs.c ipvs_strerror(): the first row whose function (or any, when undefined) and errno match. */
const IPVS_STRERROR: readonly { func?: IpvsFunc; errno: Errno; message: string }[] = [
  { func: 'add_service', errno: 'EEXIST', message: 'Service already exists' },
  { func: 'add_service', errno: 'ENOENT', message: 'Scheduler or persistence engine not found' },
  { func: 'update_service', errno: 'ESRCH', message: 'No such service' },
  { func: 'update_service', errno: 'ENOENT', message: 'Scheduler or persistence engine not found' },
  { func: 'del_service', errno: 'ESRCH', message: 'No such service' },
  { func: 'zero_service', errno: 'ESRCH', message: 'No such service' },
  { func: 'add_dest', errno: 'ESRCH', message: 'Service not defined' },
  { func: 'add_dest', errno: 'EEXIST', message: 'Destination already exists' },
  { func: 'update_dest', errno: 'ESRCH', message: 'Service not defined' },
  { func: 'update_dest', errno: 'ENOENT', message: 'No such destination' },
  { func: 'del_dest', errno: 'ESRCH', message: 'Service not defined' },
  { func: 'del_dest', errno: 'ENOENT', message: 'No such destination' },
  { func: 'start_daemon', errno: 'EEXIST', message: 'Daemon has already run' },
  { func: 'stop_daemon', errno: 'ESRCH', message: 'No daemon is running' },
  { func: 'get_services', errno: 'ESRCH', message: 'No such service' },
  { func: 'get_dests', errno: 'ESRCH', message: 'No such service' },
  { func: 'get_service', errno: 'ESRCH', message: 'No such service' },
  { errno: 'EPERM', message: 'Permission denied (you must be root)' },
  { errno: 'EINVAL', message: 'Invalid operation.  Possibly wrong module version, address not unicast, ...' },
  { errno: 'ENOPROTOOPT', message: 'Protocol not available' },
  { errno: 'ENOMEM', message: 'Memory allocation problem' },
  { errno: 'EOPNOTSUPP', message: 'Operation not supported with IPv6' },
  { errno: 'EAFNOSUPPORT', message: 'Operation not supported with specified address family' },
  { errno: 'EMSGSIZE', message: 'Module is wrong version' },
];

/** glibc strerror(), ipvs_strerror's fallback, for the errnos xvs can report. */
const STRERROR: Record<Errno, string> = {
  EEXIST: 'File exists',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
  ENOPROTOOPT: 'Protocol not available',
  ENOMEM: 'Cannot allocate memory',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EMSGSIZE: 'Message too long',
};

export function ipvsStrerror(func: IpvsFunc, errno: Errno): string {
  const hit = IPVS_STRERROR.find((r) => (r.func === undefined || r.func === func) && r.errno === errno);
  return hit ? hit.message : STRERROR[errno];
}

const ERRNO_CODES: readonly XvsErrorCode[] = ['EEXIST', 'ESRCH', 'ENOENT', 'EINVAL', 'ENOMEM'];

/**
 * The text and exit status for a daemon error on `op`. Errors with a kernel errno print ipvsadm's
 * message; xvs's own codes print what the daemon said.
 */
export function daemonFailure(op: CommandOp, code: XvsErrorCode, daemonMessage: string, program: string, listsOneService = false): CliExit {
  const listing = op === 'list' || op === 'info';
  if (code === 'NO_DAEMON') return noDaemon(program);
  if ((ERRNO_CODES as readonly string[]).includes(code)) {
    return new CliExit(`${ipvsStrerror(ipvsFuncOf(op, listsOneService), code as Errno)}\n`, listing ? EXIT_LIST : EXIT_KERNEL);
  }
  if (code === 'EOPNOTSUPP') return notImplemented('Operation', daemonMessage);
  return new CliExit(`${program}: xvsd: ${daemonMessage}\n`, listing ? EXIT_LIST : EXIT_KERNEL);
}

export const noDaemon = (program: string): CliExit =>
  new CliExit(
    `${program}: no xvsd is running in this network namespace; start one with: xvsd [--iface IF] (see README)\n`,
    EXIT_NO_DAEMON,
  );

/** Something ipvsadm would do that xvs does not do yet, e.g. ("Scheduler", "lc"). */
export const notImplemented = (subject: string, name: string): CliExit =>
  new CliExit(`${subject} not implemented in xvs yet: ${name}\n`, EXIT_NOT_IMPLEMENTED);

/** ipvsadm.c version(): one line, here naming xvsadm and the ipvsadm it follows. */
export const versionText = (xvsVersion: string): string =>
  `xvsadm v${xvsVersion} (ipvsadm v${IPVSADM_VERSION} compatible, IPVS v${IPVS_VERSION})\n`;

/** ipvsadm.c usage_exit(): the same text, with this program's name and version. */
export function usageText(program: string, xvsVersion: string): string {
  const p = program;
  return `${versionText(xvsVersion)}Usage:
  ${p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
  ${p} -D virtual-service
  ${p} -C
  ${p} -R
  ${p} -S [-n]
  ${p} -a|e virtual-service -r server-address [options]
  ${p} -d virtual-service -r server-address
  ${p} -L|l [virtual-service] [options]
  ${p} -Z [virtual-service]
  ${p} --set tcp tcpfin udp
  ${p} --start-daemon {master|backup} [daemon-options]
  ${p} --stop-daemon {master|backup}
  ${p} -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of ${SCHEDULER_LIST},
                                      the default scheduler is ${DEFAULT_SCHEDULER}.
  --pe            engine              alternate persistence engine may be ${PE_LIST},
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
`;
}
