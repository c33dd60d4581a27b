// src/cli/main.ts — the xvsadm program: parse argv like ipvsadm, ask the xvsd of this network namespace,
// print ipvsadm's output and messages, return ipvsadm's exit status. Dependencies come in through
// XvsadmDeps so tests drive it with a fake daemon and fixed names.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../model/command.js';
import { IMPLEMENTED_SCHEDULERS, type Protocol, type ServiceKey, type ServiceView } from '../model/service.js';
import { isXvsError } from '../model/errors.js';
import { request as controlRequest } from '../api/client.js';
import { decodeServiceViews, type DaemonInfo } from '../api/protocol.js';
import { parseArgv, planInvocation, type Plan } from './parse.js';
import { listService, namesWanted, serviceTable, versionHeader, type ListFormat, type NameLookup, NO_NAMES } from './format.js';
import { CliExit, daemonFailure, ipvsStrerror, notImplemented, usageText, versionText, EXIT_KERNEL, EXIT_LIST } from './messages.js';
import { systemResolver, type NameResolver } from './names.js';

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

/** Runs one xvsadm invocation; returns the exit status. */
export async function runXvsadm(argv: readonly string[], deps: XvsadmDeps): Promise<number> {
  try {
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
  });
}

