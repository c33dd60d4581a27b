// src/cli/health.ts — `xvsadm --health [-t|-u VIP:PORT]`, xvs's extension (ipvsadm has no health checks):
// the state of every health-checked real server and of the sorry servers, from xvsd's `health` command.
import net from 'node:net';
import type { Command } from '../model/command.js';
import type { ServiceKey } from '../model/service.js';
import { isXvsError } from '../model/errors.js';
import type { DestHealthStatus, SorryServer } from '../health/schema.js';
import { CliExit, EXIT_LIST } from './messages.js';

/** What the daemon's `health` command returns. */
export interface HealthReport {
  dests: DestHealthStatus[];
  sorryServers: { service: ServiceKey; server: SorryServer; active: boolean }[];
}

export const HEALTH_USAGE = `Usage: xvsadm --health [-n] [-t|-u service-address]
  Health-check state of each checked real server (UP/DOWN, what a failure does, checks run and failed,
  the last result) and of each sorry server (active while no real server of its service is usable).
`;

const hostPort = (addr: string, port: number): string => (net.isIPv6(addr) ? `[${addr}]:${port}` : `${addr}:${port}`);
const svcKeyText = (k: ServiceKey): string => `${k.protocol}|${hostPort(k.addr, k.port)}`;

/** "ADDR:PORT" or "[V6]:PORT" (numeric only). */
function parseService(protocol: 'tcp' | 'udp', text: string): ServiceKey {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text);
  const addr = m ? (m[1] ?? m[2]) : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || net.isIP(addr) === 0 || port > 65535) throw new CliExit(`Illegal virtual server address[:port] specified\n`, 2);
  return { protocol, addr, port };
}

/** The report as a table, services sorted by protocol/address/port, dests by address/port. */
export function formatHealth(report: HealthReport): string {
  const services = new Map<string, { key: ServiceKey; dests: DestHealthStatus[]; sorry?: HealthReport['sorryServers'][number] }>();
  const entry = (key: ServiceKey) => {
    const id = svcKeyText(key);
    let e = services.get(id);
    if (!e) services.set(id, (e = { key, dests: [] }));
    return e;
  };
  for (const d of report.dests) entry(d.service).dests.push(d);
  for (const s of report.sorryServers) entry(s.service).sorry = s;
  const cmpAddr = (a: { addr: string; port: number }, b: { addr: string; port: number }): number =>
    a.addr === b.addr ? a.port - b.port : a.addr.localeCompare(b.addr, 'en', { numeric: true });
  const ordered = [...services.values()].sort((a, b) => a.key.protocol.localeCompare(b.key.protocol) || cmpAddr(a.key, b.key));
  let out = 'Prot LocalAddress:Port\n  -> RemoteAddress:Port           Check  State Action    Checks Failures LastResult\n';
  for (const s of ordered) {
    out += `${s.key.protocol.toUpperCase().padEnd(4)} ${hostPort(s.key.addr, s.key.port)}\n`;
    for (const d of [...s.dests].sort((a, b) => cmpAddr(a.dest, b.dest))) {
      const last = d.last ? `${d.last.ok ? 'ok' : 'failed'}: ${d.last.message} (${d.last.durationMs} ms)` : '-';
      const weight = d.weight !== undefined ? ` weight=${d.weight}` : '';
      out += `  -> ${hostPort(d.dest.addr, d.dest.port).padEnd(28)} ${d.check.padEnd(6)} ${(d.up ? 'UP' : 'DOWN').padEnd(5)} ` +
        `${d.onFailure.padEnd(8)} ${String(d.checks).padStart(7)} ${String(d.failures).padStart(8)} ${last}${weight}\n`;
    }
    if (s.sorry) {
      out += `  -> ${hostPort(s.sorry.server.addr, s.sorry.server.port).padEnd(28)} sorry  ${s.sorry.active ? 'ACTIVE (no real server usable)' : 'idle'}\n`;
    }
  }
  return out;
}

/** Runs `xvsadm --health ...`; returns the exit status. */
export async function runHealth(
  argv: readonly string[],
  deps: { request: (cmd: Command) => Promise<unknown>; stdout: (s: string) => void },
): Promise<number> {
  let key: ServiceKey | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--health' || a === '-n' || a === '--numeric' || a === '-L' || a === '-l' || a === '--list' || a === '-Ln') continue;
    if ((a === '-t' || a === '--tcp-service' || a === '-u' || a === '--udp-service') && argv[i + 1] !== undefined) {
      key = parseService(a.startsWith('-t') || a === '--tcp-service' ? 'tcp' : 'udp', argv[++i]);
      continue;
    }
    throw new CliExit(`unexpected argument with --health: ${a}\n${HEALTH_USAGE}`, 2);
  }
  let report: HealthReport;
  try {
    report = (await deps.request({ op: 'health', key })) as HealthReport;
  } catch (err) {
    if (isXvsError(err) && err.code === 'ESRCH') throw new CliExit('No such service\n', EXIT_LIST);
    if (isXvsError(err)) throw new CliExit(`${err.message}\n`, 1);
    throw err;
  }
  deps.stdout(formatHealth(report));
  return 0;
}
