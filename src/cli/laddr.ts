// src/cli/laddr.ts — xvsadm's FULLNAT local address management, xvs's extension (ipvsadm has no FULLNAT;
// the option letters follow the FULLNAT fork of ipvsadm that LVS users know):
//   xvsadm --add-laddr|-P -t|-u VIP:PORT -z|--laddr ADDR
//   xvsadm --del-laddr|-Q -t|-u VIP:PORT -z|--laddr ADDR
//   xvsadm --get-laddr|-G [-t|-u VIP:PORT]
import net from 'node:net';
import type { Command } from '../model/command.js';
import { canonicalIp, type ServiceKey } from '../model/service.js';
import { isXvsError } from '../model/errors.js';
import { CliExit, EXIT_LIST } from './messages.js';

export const LADDR_USAGE = `Usage:
  xvsadm --add-laddr|-P -t|-u service-address -z|--laddr local-address
  xvsadm --del-laddr|-Q -t|-u service-address -z|--laddr local-address
  xvsadm --get-laddr|-G [-t|-u service-address]
  A FULLNAT service (real servers added with --fullnat) rewrites each client's source to one of its
  local addresses (same family as the VIP, at most 8) and a free local port (1024-65535).
`;

const COMMANDS: Record<string, 'add-laddr' | 'del-laddr' | 'list-laddrs'> = {
  '--add-laddr': 'add-laddr', '-P': 'add-laddr',
  '--del-laddr': 'del-laddr', '-Q': 'del-laddr',
  '--get-laddr': 'list-laddrs', '-G': 'list-laddrs',
};

/** True if argv asks for a local address command (its first argument names it). */
export const isLaddrInvocation = (argv: readonly string[]): boolean => argv.length > 0 && argv[0] in COMMANDS;

const hostPort = (addr: string, port: number): string => (net.isIPv6(addr) ? `[${addr}]:${port}` : `${addr}:${port}`);

function parseService(protocol: 'tcp' | 'udp', text: string | undefined): ServiceKey {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text ?? '');
  const addr = m ? (m[1] ?? m[2]) : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || net.isIP(addr) === 0 || port > 65535) throw new CliExit('Illegal virtual server address[:port] specified\n', 2);
  return { protocol, addr: canonicalIp(addr), port };
}

/** argv → Command, or a CliExit with a usage message (exit 2). */
export function parseLaddrArgv(argv: readonly string[]): Command {
  const op = COMMANDS[argv[0]];
  let key: ServiceKey | undefined;
  let addr: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '-t' || flag === '--tcp-service') key = parseService('tcp', value());
    else if (flag === '-u' || flag === '--udp-service') key = parseService('udp', value());
    else if (flag === '-z' || flag === '--laddr') {
      addr = value();
      if (!addr || net.isIP(addr) === 0) throw new CliExit(`Illegal local address specified\n${LADDR_USAGE}`, 2);
      addr = canonicalIp(addr);
    } else throw new CliExit(`Unknown option ${a}\n${LADDR_USAGE}`, 2);
  }
  if (op === 'list-laddrs') {
    if (addr) throw new CliExit(`--laddr is not valid with --get-laddr\n${LADDR_USAGE}`, 2);
    return { op, ...(key ? { key } : {}) };
  }
  if (!key) throw new CliExit(`a service (-t or -u) is required\n${LADDR_USAGE}`, 2);
  if (!addr) throw new CliExit(`a local address (-z) is required\n${LADDR_USAGE}`, 2);
  return { op, key, addr };
}

export interface LaddrListing { service: ServiceKey; laddrs: string[] }

export function formatLaddrs(list: readonly LaddrListing[]): string {
  let out = 'Prot LocalAddress:Port\n  -> LocalNatAddress\n';
  const sorted = [...list].sort((a, b) => a.service.protocol.localeCompare(b.service.protocol) ||
    a.service.addr.localeCompare(b.service.addr, 'en', { numeric: true }) || a.service.port - b.service.port);
  for (const s of sorted) {
    out += `${s.service.protocol.toUpperCase().padEnd(4)} ${hostPort(s.service.addr, s.service.port)}\n`;
    for (const a of s.laddrs) out += `  -> ${a}\n`;
  }
  return out;
}

const MESSAGES: Record<string, string> = {
  ESRCH: 'No such service',
  EEXIST: 'Local address already exists',
  ENOENT: 'No such local address',
  EINVAL: 'Invalid argument (the local address must be of the service\'s address family)',
  ENOMEM: 'Too many local addresses for this service',
};

export async function runLaddr(argv: readonly string[], deps: {
  request: (cmd: Command) => Promise<unknown>; stdout: (t: string) => void; program: string;
}): Promise<number> {
  const cmd = parseLaddrArgv(argv);
  let result: unknown;
  try {
    result = await deps.request(cmd);
  } catch (err) {
    if (!isXvsError(err)) throw err;
    throw new CliExit(`${deps.program}: ${MESSAGES[err.code] ?? err.message}\n`, cmd.op === 'list-laddrs' ? EXIT_LIST : 1);
  }
  if (cmd.op === 'list-laddrs') deps.stdout(formatLaddrs(result as LaddrListing[]));
  return 0;
}
