// src/cli/main.ts — the xvsadm program: parse argv like ipvsadm, ask the xvsd of this network namespace,
// print ipvsadm's output and messages, return ipvsadm's exit status. Dependencies come in through
// XvsadmDeps so tests drive it with a fake daemon and fixed names.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../model/command.js';
import { IMPLEMENTED_SCHEDULERS, zeroStats, type Protocol, type ServiceKey, type ServiceView } from '../model/service.js';
import { isXvsError } from '../model/errors.js';
import { request as controlRequest } from '../api/client.js';
import { decodeServiceViews, type DaemonInfo } from '../api/protocol.js';
import { parseArgv, planInvocation, type Plan } from './parse.js';
import { connectionTable, daemonList, listService, namesWanted, saveRules, serviceTable, timeoutLine, versionHeader, type ConnListing, type DaemonListing, type ListFormat, type NameLookup, NO_NAMES } from './format.js';
import { atLine, parseRestore } from './restore.js';
import { CliExit, daemonFailure, ipvsStrerror, notImplemented, usageText, versionText, EXIT_KERNEL, EXIT_LIST } from './messages.js';
import { systemResolver, type NameResolver } from './names.js';
import { runHealth } from './health.js';
import { isLaddrInvocation, runLaddr } from './laddr.js';
import { isImportInvocation, runImportKeepalived } from './keepalived.js';

export interface XvsadmDeps {
  /** Sends one command to xvsd; resolves with its result or rejects with an XvsError. */
  request: (cmd: Command) => Promise<unknown>;
  resolver: NameResolver;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** argv[0] as ipvsadm prints it in usage and hints. */
  program: string;
  /** xvs's version for -v and -h. */
  version: string;
  /** All of standard input, for -R. */
  readStdin?: () => Promise<string>;
}

const FWD_SWITCH = { route: 'Route (-g)', tunnel: 'Tunnel (-i)', masq: 'Masq (-m)', fullnat: 'FullNat' } as const;

/** A daemon error as ipvsadm would report it, with xvs's "not implemented yet" made specific. */
function failureFor(cmd: Command, err: unknown, program: string, listsOneService = false): CliExit {
  if (!isXvsError(err)) throw err;
  if (err.code === 'EOPNOTSUPP') {
    if ((cmd.op === 'add-service' || cmd.op === 'edit-service') && !IMPLEMENTED_SCHEDULERS.includes(cmd.service.scheduler)) {
      return notImplemented('Scheduler', cmd.service.scheduler);
    }
    if ((cmd.op === 'add-dest' || cmd.op === 'edit-dest') && cmd.dest.fwd !== 'route') {
      return notImplemented('Forwarding method', FWD_SWITCH[cmd.dest.fwd]);
    }
  }
  // xvs's own fwmark matches: no ipvs_strerror row says more than the daemon does (except ESRCH).
  if ((cmd.op === 'add-fwmark-match' || cmd.op === 'del-fwmark-match') && err.code !== 'ESRCH' && err.code !== 'NO_DAEMON') {
    return new CliExit(`${program}: ${err.message}\n`, EXIT_KERNEL);
  }
  return daemonFailure(cmd.op, err.code, err.message, program, listsOneService);
}

/** Looks every name up once (ipvsadm does it per line; the answers are the same). */
async function resolveNames(services: readonly ServiceView[], resolver: NameResolver): Promise<NameLookup> {
  const wanted = namesWanted(services);
  const hosts = new Map<string, string | undefined>();
  const ports = new Map<string, string | undefined>();
  await Promise.all([
    ...wanted.addrs.map(async (a) => { hosts.set(a, await resolver.addrToHost(a)); }),
    ...wanted.ports.map(async ({ port, proto }) => { ports.set(`${proto}/${port}`, await resolver.portToService(port, proto)); }),
  ]);
  return { host: (a) => hosts.get(a), service: (port: number, proto: Protocol) => ports.get(`${proto}/${port}`) };
}

async function namesFor(services: readonly ServiceView[], fmt: ListFormat, deps: XvsadmDeps): Promise<NameLookup> {
  return fmt.numeric ? NO_NAMES : resolveNames(services, deps.resolver);
}

async function list(key: ServiceKey | undefined, fmt: ListFormat, deps: XvsadmDeps): Promise<number> {
  const cmd: Command = { op: 'list', key };
  if (key) {
    // list_service: no version header; a missing service is "No such service", exit 1.
    let services: ServiceView[];
    try {
      services = decodeServiceViews(await deps.request(cmd));
    } catch (err) {
      throw failureFor(cmd, err, deps.program, true);
    }
    if (services.length === 0) throw new CliExit(`${ipvsStrerror('get_service', 'ESRCH')}\n`, EXIT_LIST);
    deps.stdout(listService(services[0], fmt, await namesFor(services, fmt, deps)));
    return 0;
  }
  const infoCmd: Command = { op: 'info' };
  let info: DaemonInfo;
  try {
    info = (await deps.request(infoCmd)) as DaemonInfo;
  } catch (err) {
    throw failureFor(infoCmd, err, deps.program);
  }
  // list_all prints the header before it fetches the services.
  deps.stdout(versionHeader(info.connTableSize));
  let services: ServiceView[];
  try {
    services = decodeServiceViews(await deps.request(cmd));
  } catch (err) {
    throw failureFor(cmd, err, deps.program);
  }
  deps.stdout(serviceTable(services, fmt, await namesFor(services, fmt, deps)));
  return 0;
}

/**
 * -A/-E with a name that is no IPVS scheduler: the kernel would fail with ENOENT, but only after its
 * EEXIST (add) or ESRCH (edit) check, so ask whether the service exists to answer the same way.
 */
async function unknownScheduler(plan: Extract<Plan, { kind: 'unknown-scheduler' }>, deps: XvsadmDeps): Promise<number> {
  const probe: Command = { op: 'list', key: plan.key };
  let exists: boolean;
  try {
    exists = decodeServiceViews(await deps.request(probe)).length > 0;
  } catch (err) {
    if (!isXvsError(err) || err.code !== 'ESRCH') throw failureFor(probe, err, deps.program, true);
    exists = false;
  }
  const func = plan.op === 'add-service' ? 'add_service' : 'update_service';
  const errno = plan.op === 'add-service' ? (exists ? 'EEXIST' : 'ENOENT') : (exists ? 'ENOENT' : 'ESRCH');
  throw new CliExit(`${ipvsStrerror(func, errno)}\n`, EXIT_KERNEL);
}

/** -L -c: ipvsadm's list_conn over the daemon's connection table. */
async function listConns(fmt: ListFormat, deps: XvsadmDeps): Promise<number> {
  const cmd: Command = { op: 'list-conns' };
  let conns: ConnListing[];
  try {
    conns = await deps.request(cmd) as ConnListing[];
  } catch (err) {
    throw failureFor(cmd, err, deps.program);
  }
  // Names are looked up like a listing's: the connections' endpoints as services and dests.
  const pseudo = conns.map((c) => ({
    protocol: c.protocol === 'ip' ? 'tcp' : c.protocol, addr: c.caddr, port: c.cport, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255',
    stats: zeroStats(),
    dests: [c.vaddr, c.daddr].map((addr, i) => ({
      addr, port: i ? c.dport : c.vport, fwd: 'route', weight: 0, uThreshold: 0, lThreshold: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats: zeroStats(),
    })),
  })) as ServiceView[];
  deps.stdout(connectionTable(conns, fmt, await namesFor(pseudo, fmt, deps)));
  return 0;
}

/** -L --timeout: ipvsadm's list_timeout. */
async function listTimeout(deps: XvsadmDeps): Promise<number> {
  const cmd: Command = { op: 'get-timeouts' };
  try {
    deps.stdout(timeoutLine(await deps.request(cmd) as { tcp: number; tcpfin: number; udp: number }));
  } catch (err) {
    throw failureFor(cmd, err, deps.program);
  }
  return 0;
}

/** -L --daemon: ipvsadm's list_daemon; when ipvs_get_daemon fails ipvsadm exits 1 (xvsadm says why). */
async function listDaemon(deps: XvsadmDeps): Promise<number> {
  const cmd: Command = { op: 'list-sync' };
  let daemons: DaemonListing[];
  try {
    daemons = await deps.request(cmd) as DaemonListing[];
  } catch (err) {
    if (isXvsError(err) && err.code !== 'NO_DAEMON') throw new CliExit(`${deps.program}: xvsd: ${err.message}\n`, EXIT_LIST);
    throw failureFor(cmd, err, deps.program);
  }
  deps.stdout(daemonList(daemons));
  return 0;
}

/** -S [-n]: the table as ipvsadm-save rules (no version header). */
async function save(fmt: ListFormat, deps: XvsadmDeps): Promise<number> {
  const cmd: Command = { op: 'list' };
  let services: ServiceView[];
  try {
    services = decodeServiceViews(await deps.request(cmd));
  } catch (err) {
    throw failureFor(cmd, err, deps.program);
  }
  deps.stdout(saveRules(services, fmt, await namesFor(services, fmt, deps)));
  return 0;
}

/** -R: every line of stdin parsed first, then one batch the daemon applies all or nothing. */
async function restore(deps: XvsadmDeps): Promise<number> {
  const text = deps.readStdin ? await deps.readStdin() : '';
  const batch = await parseRestore(text, { program: deps.program, resolver: deps.resolver });
  if (batch.commands.length === 0) return 0;
  const cmd: Command = { op: 'batch', commands: batch.commands };
  try {
    await deps.request(cmd);
  } catch (err) {
    if (isXvsError(err) && err.index !== undefined && batch.commands[err.index]) {
      throw atLine(batch.lines[err.index], failureFor(batch.commands[err.index], err, deps.program));
    }
    throw failureFor(cmd, err, deps.program);
  }
  return 0;
}

/** Runs one xvsadm invocation; returns the exit status. */
export async function runXvsadm(argv: readonly string[], deps: XvsadmDeps): Promise<number> {
  try {
    // xvs's own extension, outside ipvsadm's option table (src/cli/health.ts).
    if (argv.includes('--health')) return await runHealth(argv, deps);
    // FULLNAT local addresses, also xvs's own (src/cli/laddr.ts).
    if (isLaddrInvocation(argv)) return await runLaddr(argv, deps);
    // keepalived.conf virtual_server blocks → xvs config, no daemon needed (src/cli/keepalived.ts).
    if (isImportInvocation(argv)) return await runImportKeepalived(argv, deps);
    const parsed = await parseArgv(argv, { program: deps.program, resolver: deps.resolver });
    if (parsed.kind === 'help') {
      deps.stdout(usageText(deps.program, deps.version));
      return 0;
    }
    if (parsed.kind === 'version') {
      deps.stdout(versionText(deps.version));
      return 0;
    }
    const plan = planInvocation(parsed.invocation);
    switch (plan.kind) {
      case 'list':
        return await list(plan.key, plan.format, deps);
      case 'unknown-scheduler':
        return await unknownScheduler(plan, deps);
      case 'save':
        return await save(plan.format, deps);
      case 'restore':
        return await restore(deps);
      case 'list-conns':
        return await listConns(plan.format, deps);
      case 'timeout':
        return await listTimeout(deps);
      case 'daemon':
        return await listDaemon(deps);
      case 'command':
        try {
          await deps.request(plan.command);
        } catch (err) {
          throw failureFor(plan.command, err, deps.program);
        }
        return 0;
    }
  } catch (err) {
    if (err instanceof CliExit) {
      deps.stderr(err.stderr);
      return err.exitCode;
    }
    deps.stderr(`${deps.program}: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** xvs's version from the package.json above this file (src/cli or dist/src/cli). */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'xvs' && pkg.version) return pkg.version;
    } catch {
      // not here; look one level up
    }
  }
  return 'unknown';
}

/** The composition root of the xvsadm executable. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A closed pipe (xvsadm -Ln | head) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
  process.exitCode = await runXvsadm(argv, {
    request: (cmd) => controlRequest(cmd),
    resolver: systemResolver(),
    stdout: (text) => { process.stdout.write(text); },
    stderr: (text) => { process.stderr.write(text); },
    program: path.basename(process.argv[1] ?? 'xvsadm'),
    version: packageVersion(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  });
}

