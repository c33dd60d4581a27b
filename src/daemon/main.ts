// src/daemon/main.ts — xvsd, the composition root: parses its arguments, claims the namespace's control
// socket (so a second xvsd refuses to start), loads the data path, attaches it, and runs the control
// plane timers (ring refill, connection GC, neighbour upkeep) until SIGTERM/SIGINT detaches everything.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { CONTROL_SOCKET, type DaemonInfo } from '../api/protocol.js';
import { listen } from '../api/server.js';
import { request } from '../api/client.js';
import { BpfDatapath } from '../datapath/bpf-datapath.js';
import { native } from '../datapath/native.js';
import { ServiceTable } from '../control/table.js';
import { sweepConnections } from '../control/gc.js';
import { keepResolved } from '../control/neigh.js';
import { monotonicNs } from '../datapath/datapath.js';
import { attach, detach, listInterfaces, type Attachment } from './attach.js';
import { createLogger, type Level, type Logger } from '../log/logger.js';
import { XvsError, isXvsError } from '../model/errors.js';
import type { Command } from '../model/command.js';

export const VERSION = '0.1.0';
/** What -Ln prints as the table size: IPVS's default connection hash size (ip_vs_conn_tab_bits = 12). */
export const IPVS_CONN_TAB_SIZE = 4096;

const Options = z.object({
  iface: z.array(z.string().min(1).max(15)).default([]),
  attach: z.enum(['auto', 'native', 'generic', 'tc']).default('auto'),
  'log-level': z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  'max-conns': z.coerce.number().int().min(1024).max(1 << 24).default(262144),
  'no-sysctl': z.boolean().default(false),
  help: z.boolean().default(false),
});
type Options = z.infer<typeof Options>;

const USAGE = `Usage: xvsd [--iface IF]... [--attach auto|native|generic|tc] [--max-conns N]
            [--log-level debug|info|warn|error] [--no-sysctl]
The xvs daemon of this network namespace: attaches the XDP/tc fast path to every non-loopback
interface (or those given with --iface) and serves xvsadm on a namespace-scoped control socket.
`;

export function parseOptions(argv: string[]): Options {
  let raw;
  try {
    raw = parseArgs({
      args: argv,
      options: {
        iface: { type: 'string', short: 'i', multiple: true },
        attach: { type: 'string', short: 'a' },
        'log-level': { type: 'string' },
        'max-conns': { type: 'string' },
        'no-sysctl': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new XvsError('BAD_REQUEST', (e as Error).message);
  }
  const parsed = Options.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new XvsError('BAD_REQUEST', `--${String(i.path[0])}: ${i.message}`);
  }
  return parsed.data;
}

function enableForwarding(atts: Attachment[], log: Logger): void {
  // bpf_fib_lookup refuses (FWD_DISABLED) on an ingress device without forwarding.
  for (const a of atts) {
    for (const key of [`/proc/sys/net/ipv4/conf/${a.name}/forwarding`, `/proc/sys/net/ipv6/conf/${a.name}/forwarding`]) {
      try {
        writeFileSync(key, '1');
      } catch (e) {
        log.warn({ key, err: e }, 'cannot enable forwarding');
      }
    }
  }
  log.info({ ifaces: atts.map((a) => a.name).join(',') }, 'forwarding enabled on attached interfaces (needed by bpf_fib_lookup)');
}

export async function run(argv: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`xvsd: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = createLogger(opts['log-level'] as Level);
  native.setLogLevel(opts['log-level'] === 'debug' ? 'debug' : 'warn');

  let dp: BpfDatapath | null = null;
  let table: ServiceTable | null = null;
  let attachments: Attachment[] = [];
  const timers: NodeJS.Timeout[] = [];
  let neighbourRun: Promise<unknown> = Promise.resolve();
  const keepNeighbours = (): void => {
    if (!table) return;
    const addrs = table.destinations().map((d) => d.addr);
    neighbourRun = neighbourRun.then(() => keepResolved(addrs)).then((nudged) => {
      if (nudged.length) log.debug({ addrs: nudged.join(',') }, 'resolving real server neighbours');
    }).catch((e) => log.warn({ err: e }, 'neighbour upkeep failed'));
  };

  const handler = (cmd: Command): unknown => {
    if (!dp || !table) throw new XvsError('EINVAL', 'xvsd is starting');
    if (cmd.op === 'info') {
      const info: DaemonInfo & { reasons: Record<string, bigint> } = {
        pid: process.pid, version: VERSION, connTableSize: IPVS_CONN_TAB_SIZE,
        interfaces: attachments.map((a) => ({ name: a.name, ifindex: a.ifindex, mode: a.mode })),
        reasons: dp.reasons(),
      };
      return info;
    }
    const result = table.execute(cmd);
    if (cmd.op === 'add-dest' || cmd.op === 'edit-dest') keepNeighbours();
    return result;
  };

  // Claim the namespace first: a second xvsd must fail before it touches any interface.
  let server;
  try {
    server = await listen(CONTROL_SOCKET, handler, log);
  } catch (e) {
    if (isXvsError(e) && e.code === 'EEXIST') {
      let who = '';
      try {
        const info = (await request({ op: 'info' }, { timeoutMs: 2000 })) as DaemonInfo;
        who = ` (pid ${info.pid})`;
      } catch { /* the other daemon may be starting or stopping */ }
      process.stderr.write(`xvsd: another xvsd is already running in this network namespace${who}; stop it first (kill -TERM <pid>)\n`);
      return 1;
    }
    throw e;
  }

  const shutdown = (signal: string): void => {
    log.info({ signal }, 'stopping');
    for (const t of timers) clearInterval(t);
    for (const a of attachments) {
      try {
        detach(a);
        log.info({ iface: a.name, mode: a.mode }, 'detached');
      } catch (e) {
        log.warn({ iface: a.name, err: e }, 'detach failed');
      }
    }
    attachments = [];
    server.close();
    dp?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    dp = await BpfDatapath.open({ maxConns: opts['max-conns'] });
    table = new ServiceTable(dp, { maxServices: 1024, maxDests: 8192 });
    const ifaces = opts.iface.length ? opts.iface : listInterfaces();
    if (ifaces.length === 0) throw new XvsError('EINVAL', 'no interface to attach to in this network namespace');
    const progs = { xdp: dp.progFd('xvs_xdp'), tc: dp.progFd('xvs_tc') };
    for (const name of ifaces) attachments.push(await attach(name, opts.attach, progs, log));
    dp.setTxPorts(attachments.map((a) => a.ifindex));
    if (!opts['no-sysctl']) enableForwarding(attachments, log);
  } catch (e) {
    log.error({ err: e }, 'start failed');
    for (const a of attachments) {
      try { detach(a); } catch { /* best effort on the way out */ }
    }
    server.close();
    dp?.close();
    process.stderr.write(`xvsd: ${(e as Error).message}\n`);
    return 1;
  }

  const t = table;
  const d = dp;
  timers.push(setInterval(() => t.refillRings(), 5));
  timers.push(setInterval(() => {
    try {
      const n = sweepConnections(d, monotonicNs());
      if (n) log.debug({ expired: n }, 'connections expired');
    } catch (e) {
      log.warn({ err: e }, 'connection GC failed');
    }
  }, 2000));
  timers.push(setInterval(keepNeighbours, 5000));
  log.info({ pid: process.pid, version: VERSION, ifaces: attachments.map((a) => `${a.name}:${a.mode}`).join(',') }, 'xvsd ready');
  return new Promise<number>(() => { /* runs until a signal */ });
}
