// src/daemon/main.ts — xvsd, the composition root: parses its arguments, claims the namespace's control
// socket (so a second xvsd refuses to start), loads the data path, attaches it, and runs the control
// plane timers (ring refill, connection GC, neighbour upkeep) until SIGTERM/SIGINT detaches everything.
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { CONTROL_SOCKET, type DaemonInfo } from '../api/protocol.js';
import { listen } from '../api/server.js';
import { request } from '../api/client.js';
import { BpfDatapath } from '../datapath/bpf-datapath.js';
import { native } from '../datapath/native.js';
import { ServiceTable } from '../control/table.js';
import { sweepConnections, sweepTemplates } from '../control/gc.js';
import { keepResolved } from '../control/neigh.js';
import { monotonicNs } from '../datapath/datapath.js';
import { attach, detach, listInterfaces, type Attachment } from './attach.js';
import { createLogger, type Level, type Logger } from '../log/logger.js';
import { XvsError, isXvsError } from '../model/errors.js';
import type { Command } from '../model/command.js';
import { HealthManager } from '../health/manager.js';
import { RateEstimator, ESTIMATOR_INTERVAL_MS, tickEstimator, withRates } from '../metrics/rate.js';
import { createRegistry } from '../metrics/collectors.js';
import { DEFAULT_METRICS_ADDR, parseListenAddr, serveMetrics } from '../metrics/server.js';
import { ConfigApplier, loadConfigFile, type ApplySummary } from '../config/apply.js';
import { parseConfig, serviceHealthOf, type Config, type ConfigService } from '../config/schema.js';
import { applyServiceHealth } from '../health/config.js';
import { rulesToServices } from '../config/rules.js';
import { createHttpApi } from '../api/http.js';
import { systemResolver } from '../cli/names.js';
import { serviceKeyOf, type ServiceView } from '../model/service.js';
import type { Server as HttpServer } from 'node:http';

export const VERSION = '0.1.0';
/** What -Ln prints as the table size: IPVS's default connection hash size (ip_vs_conn_tab_bits = 12). */
export const IPVS_CONN_TAB_SIZE = 4096;

const Options = z.object({
  iface: z.array(z.string().min(1).max(15)).default([]),
  attach: z.enum(['auto', 'native', 'generic', 'tc']).default('auto'),
  'log-level': z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  'max-conns': z.coerce.number().int().min(1024).max(1 << 24).default(262144),
  'no-sysctl': z.boolean().default(false),
  'metrics-addr': z.string().default(DEFAULT_METRICS_ADDR).transform((s, ctx) => {
    try {
      return parseListenAddr(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  }),
  config: z.string().min(1).optional(),
  restore: z.string().min(1).optional(),
  'api-addr': z.string().optional().transform((s, ctx) => {
    if (s === undefined) return null;
    try {
      return parseListenAddr(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  }),
  'api-token-file': z.string().min(1).optional(),
  help: z.boolean().default(false),
}).refine((o) => !(o.config && o.restore), { path: ['restore'], message: 'give --config or --restore, not both' });
type Options = z.infer<typeof Options>;

const USAGE = `Usage: xvsd [--iface IF]... [--attach auto|native|generic|tc] [--max-conns N]
            [--log-level debug|info|warn|error] [--no-sysctl] [--metrics-addr HOST:PORT|off]
The xvs daemon of this network namespace: attaches the XDP/tc fast path to every non-loopback
interface (or those given with --iface) and serves xvsadm on a namespace-scoped control socket.
Prometheus metrics are served at http://--metrics-addr/metrics (default ${DEFAULT_METRICS_ADDR}; off to disable).
  --config FILE          declarative config (JSON, see README); SIGHUP or \`xvsadm\`/API reload re-applies
                         it by difference
  --restore FILE         start from an ipvsadm-save rules file (as \`ipvsadm -R < FILE\`)
  --api-addr HOST:PORT   also serve the JSON API over HTTP; needs a bearer token from
  --api-token-file FILE  (or the XVS_API_TOKEN environment variable); never served without one
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
        'metrics-addr': { type: 'string' },
        config: { type: 'string', short: 'c' },
        restore: { type: 'string' },
        'api-addr': { type: 'string' },
        'api-token-file': { type: 'string' },
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
  let health: HealthManager | null = null;
  let metricsServer: HttpServer | null = null;
  const rates = new RateEstimator();
  const gcStats = { entries: 0, gcDurationSeconds: 0, expired: 0, gcRuns: 0 };
  const ringStats = { refills: 0, decisions: 0 };
  const timers: NodeJS.Timeout[] = [];
  let neighbourRun: Promise<unknown> = Promise.resolve();
  const keepNeighbours = (): void => {
    if (!table) return;
    const addrs = table.destinations().map((d) => d.addr);
    neighbourRun = neighbourRun.then(() => keepResolved(addrs)).then((nudged) => {
      if (nudged.length) log.debug({ addrs: nudged.join(',') }, 'resolving real server neighbours');
    }).catch((e) => log.warn({ err: e }, 'neighbour upkeep failed'));
  };

  let applier: ConfigApplier | null = null;
  let apiServer: HttpServer | null = null;
  /** Applies serialised: one diff at a time against the table as the previous one left it. */
  let applying: Promise<unknown> = Promise.resolve();
  // The services of the last applied config: their health sections go to the health manager once it exists.
  let configured: ConfigService[] = [];
  const applyConfiguredHealth = (): void => {
    if (!health || !table) return;
    for (const svc of configured) applyServiceHealth(table, health, serviceKeyOf(svc), serviceHealthOf(svc));
  };
  const applyConfig = (load: () => Config): Promise<ApplySummary> => {
    const run = applying.then(async () => {
      if (!applier) throw new XvsError('EINVAL', 'xvsd is starting');
      const { services, ...summary } = await applier.apply(load());
      configured = services ?? [];
      applyConfiguredHealth();
      health?.sync();
      keepNeighbours();
      return summary;
    });
    applying = run.catch(() => undefined);
    return run;
  };
  const configSource = (): Config | null => {
    if (opts.config) return loadConfigFile(opts.config);
    if (opts.restore) return { rules: opts.restore, services: [] };
    return null;
  };
  const reload = (why: string): Promise<ApplySummary> => {
    if (!opts.config && !opts.restore) return Promise.reject(new XvsError('EINVAL', 'xvsd was started without --config or --restore'));
    return applyConfig(() => configSource() as Config).then((summary) => {
      log.info({ why, ...summary }, 'reloaded');
      return summary;
    });
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
    if (cmd.op === 'set-health') {
      if (!health) throw new XvsError('EINVAL', 'xvsd is starting');
      health.configure(cmd.key, cmd.dest, cmd.health);
      log.info({ service: `${cmd.key.protocol}:${cmd.key.addr}:${cmd.key.port}`, rs: cmd.dest ? `${cmd.dest.addr}:${cmd.dest.port}` : '*', check: cmd.health?.check.type ?? 'none' }, 'health check configured');
      return null;
    }
    if (cmd.op === 'health') {
      // `xvsadm --health`: checked dests and sorry servers (of one service).
      const svcs = cmd.key ? table.list(cmd.key) : table.list();
      const sorryServers = svcs.flatMap((s) => {
        const x = table!.sorryServer(s);
        return x ? [{ service: { protocol: s.protocol, addr: s.addr, port: s.port }, server: { addr: x.server.addr, port: x.server.port, fwd: x.server.fwd }, active: x.active }] : [];
      });
      return { dests: health ? health.status(cmd.key) : [], sorryServers };
    }
    if (cmd.op === 'apply-config') {
      if (!applier) throw new XvsError('EINVAL', 'xvsd is starting');
      const cfg = parseConfig(cmd.config, 'config');
      return applyConfig(() => cfg);
    }
    if (cmd.op === 'reload') return reload('request');
    const result = table.execute(cmd);
    if (cmd.op === 'list') return withRates(rates, result as ServiceView[]);
    if (cmd.op !== 'zero') health?.sync();
    if (cmd.op === 'add-dest' || cmd.op === 'edit-dest' || cmd.op === 'set-sorry-server' || cmd.op === 'batch') keepNeighbours();
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
    health?.close();
    metricsServer?.close();
    apiServer?.close();
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
  process.on('SIGHUP', () => {
    reload('SIGHUP').catch((e) => log.error({ err: e, message: (e as Error).message }, 'reload rejected; the table is unchanged'));
  });
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    dp = await BpfDatapath.open({ maxConns: opts['max-conns'] });
    table = new ServiceTable(dp, { maxServices: 1024, maxDests: 8192 });
    const tableForConfig = table;
    // The config diff compares configured weights, and sees dests a health check removed (src/health).
    applier = new ConfigApplier({
      list: () => tableForConfig.list(undefined, { configured: true }),
      applyBatch: (cmds) => tableForConfig.applyBatch(cmds),
      execute: (cmd) => tableForConfig.execute(cmd),
    }, log, (file) => rulesToServices(file, systemResolver()));
    // The table is complete before the first packet is seen: config (or rules) first, then attach.
    const initial = configSource();
    if (initial) await applyConfig(() => initial);
    const ifaces = opts.iface.length ? opts.iface : (initial?.interfaces ?? listInterfaces());
    if (opts.attach === 'auto' && initial?.attach) opts.attach = initial.attach;
    if (ifaces.length === 0) throw new XvsError('EINVAL', 'no interface to attach to in this network namespace');
    const progs = { xdp: dp.progFd('xvs_xdp'), tc: dp.progFd('xvs_tc') };
    for (const name of ifaces) attachments.push(await attach(name, opts.attach, progs, log));
    dp.setTxPorts(attachments.map((a) => a.ifindex));
    if (!opts['no-sysctl']) enableForwarding(attachments, log);
    const tbl = table;
    const dpv = dp;
    const sorryActive = new Map<string, boolean>();
    health = new HealthManager({
      table: tbl, log,
      onResult: (status, transition) => {
        if (!transition) return;
        const sorry = tbl.hasService(status.service) ? tbl.sorryServer(status.service) : null;
        const sid = `${status.service.protocol}:${status.service.addr}:${status.service.port}`;
        if (!sorry || sorryActive.get(sid) === sorry.active) return;
        sorryActive.set(sid, sorry.active);
        log.info({ service: sid, sorry: `${sorry.server.addr}:${sorry.server.port}` },
          sorry.active ? 'sorry server takes new connections (no real server usable)' : 'sorry server idle (a real server is usable again)');
      },
    });
    const hm = health;
    applyConfiguredHealth();
    if (opts['metrics-addr']) {
      const registry = createRegistry({
        services: () => withRates(rates, tbl.list(undefined, { hidden: true })),
        realServers: () => tbl.realServers(),
        sorryServers: () => tbl.list().flatMap((s) => {
          const sorry = tbl.sorryServer(s);
          return sorry ? [{ service: { protocol: s.protocol, addr: s.addr, port: s.port }, server: sorry.server, active: sorry.active }] : [];
        }),
        health: () => hm.status(),
        reasons: () => dpv.reasons(),
        interfaces: () => attachments.map((a) => ({ name: a.name, mode: a.mode })),
        conntrack: () => ({ ...gcStats, capacity: opts['max-conns'] }),
        rings: () => ({ ...ringStats }),
      }, { version: VERSION });
      metricsServer = await serveMetrics(registry, opts['metrics-addr'], log);
      log.info({ addr: `${opts['metrics-addr'].host}:${opts['metrics-addr'].port}` }, 'metrics served at /metrics');
    }
    if (opts['api-addr']) {
      const token = opts['api-token-file'] ? readFileSync(opts['api-token-file'], 'utf8').trim() : process.env.XVS_API_TOKEN;
      if (!token) throw new XvsError('BAD_REQUEST', '--api-addr needs a bearer token (--api-token-file FILE or XVS_API_TOKEN); the API is never served without one');
      apiServer = await createHttpApi({ ...opts['api-addr'], token, handler, log });
      log.info({ addr: `${opts['api-addr'].host}:${opts['api-addr'].port}` }, 'JSON API served over HTTP (bearer token required)');
    }
  } catch (e) {
    apiServer?.close();
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
  timers.push(setInterval(() => {
    const produced = t.refillRings();
    if (produced > 0) {
      ringStats.refills++;
      ringStats.decisions += produced;
    }
  }, 5));
  // The GC sees the table through a view that counts the connections it reads (for /metrics).
  const gcView = new Proxy(d, {
    get(target, prop) {
      if (prop === 'conns') return () => { const c = target.conns(); gcStats.entries = c.length; return c; };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  timers.push(setInterval(() => {
    try {
      const t0 = performance.now();
      const now = monotonicNs();
      const n = sweepConnections(gcView, now, t.timeouts);
      // Persistence templates after the connections they may be held by (src/control/gc.ts).
      const masks = t.persistMasks();
      if (masks.size > 0) sweepTemplates(d, now, masks);
      gcStats.gcDurationSeconds = (performance.now() - t0) / 1000;
      gcStats.gcRuns++;
      gcStats.expired += n;
      gcStats.entries -= n;
      if (n) log.debug({ expired: n }, 'connections expired');
    } catch (e) {
      log.warn({ err: e }, 'connection GC failed');
    }
  }, 2000));
  timers.push(setInterval(() => {
    try {
      tickEstimator(rates, t.list(undefined, { hidden: true }));
    } catch (e) {
      log.warn({ err: e }, 'rate estimation failed');
    }
  }, ESTIMATOR_INTERVAL_MS));
  timers.push(setInterval(keepNeighbours, 5000));
  const drains = applier;
  timers.push(setInterval(() => drains?.sweep(), 1000));
  log.info({ pid: process.pid, version: VERSION, ifaces: attachments.map((a) => `${a.name}:${a.mode}`).join(',') }, 'xvsd ready');
  return new Promise<number>(() => { /* runs until a signal */ });
}
