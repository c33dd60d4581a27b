// src/daemon/main.ts — xvsd, the composition root: parses its arguments, claims the namespace's control
// socket (so a second xvsd refuses to start), loads the data path, attaches it, and runs the control
// plane timers (ring refill, connection GC, neighbour upkeep) until SIGTERM/SIGINT detaches everything.
import { parseArgs } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { CONTROL_SOCKET, type DaemonInfo } from '../api/protocol.js';
import { listen } from '../api/server.js';
import { request } from '../api/client.js';
import { BpfDatapath } from '../datapath/bpf-datapath.js';
import { native } from '../datapath/native.js';
import { ServiceTable } from '../control/table.js';
import { EvictionTracker, sweepConnections, sweepTemplates } from '../control/gc.js';
import { keepResolved } from '../control/neigh.js';
import { monotonicNs } from '../datapath/datapath.js';
import { attach, detach, listInterfaces, reattach, TC_HANDLE, TC_PRIORITY, type Attachment } from './attach.js';
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
import { PIN_ROOT, isBpffs, pinDirOfSelf, removePinDir } from '../datapath/pin.js';
import { abiFingerprint, readState, removeState, stateFileOfSelf, writeState, type DaemonState } from './state.js';
import { SyncManager } from '../sync/manager.js';
import { keyFromEnv, readSyncKey } from '../sync/key.js';
import type { SyncDaemonSpec } from '../sync/types.js';

export const VERSION = '0.1.0';
/** What -Ln prints as the table size: IPVS's default connection hash size (ip_vs_conn_tab_bits = 12). */
export const IPVS_CONN_TAB_SIZE = 4096;

const Options = z.object({
  iface: z.array(z.string().min(1).max(15)).default([]),
  attach: z.enum(['auto', 'native', 'generic', 'tc']).default('auto'),
  'log-level': z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  'max-conns': z.coerce.number().int().min(1024).max(1 << 24).default(262144),
  'no-sysctl': z.boolean().default(false),
  'no-flow-cache': z.boolean().default(false),
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
  'sync-key-file': z.string().min(1).optional(),
  fresh: z.boolean().default(false),
  takeover: z.boolean().default(false),
  help: z.boolean().default(false),
}).refine((o) => !(o.config && o.restore), { path: ['restore'], message: 'give --config or --restore, not both' });
type Options = z.infer<typeof Options>;

const USAGE = `Usage: xvsd [--iface IF]... [--attach auto|native|generic|tc] [--max-conns N]
            [--log-level debug|info|warn|error] [--no-sysctl] [--no-flow-cache]
            [--metrics-addr HOST:PORT|off]
The xvs daemon of this network namespace: attaches the XDP/tc fast path to every non-loopback
interface (or those given with --iface) and serves xvsadm on a namespace-scoped control socket.
Prometheus metrics are served at http://--metrics-addr/metrics (default ${DEFAULT_METRICS_ADDR}; off to disable).
  --config FILE          declarative config (JSON, see README); SIGHUP or \`xvsadm\`/API reload re-applies
                         it by difference
  --restore FILE         start from an ipvsadm-save rules file (as \`ipvsadm -R < FILE\`)
  --api-addr HOST:PORT   also serve the JSON API over HTTP; needs a bearer token from
  --api-token-file FILE  (or the XVS_API_TOKEN environment variable); never served without one
  --sync-key-file FILE   shared key of connection sync (xvsadm --start-daemon); or XVS_SYNC_KEY
  --no-flow-cache        every packet takes the data path's full walk (no established-flow cache;
                         for comparison and debugging, see README "The established-flow cache")
Restarts keep connections: the data path is pinned under ${PIN_ROOT}/ns-<netns inode> and the next xvsd
in this namespace adopts it (connections, counters, templates, sync daemons) unless started with
  --fresh                discard a pinned data path (its connections are lost)
  --takeover             graceful upgrade: prepare, then ask the running xvsd to exit without
                         detaching and take its data path over
Stopping: SIGTERM/SIGINT or \`xvsd stop\` detach and unpin (a clean stop: connections end);
SIGUSR2 or \`xvsd stop --keep-forwarding\` exit leaving the data path forwarding, for the next xvsd.
`;

const STOP_USAGE = `Usage: xvsd stop [--keep-forwarding]
Stops the xvsd of this network namespace: detached and unpinned, or with --keep-forwarding left
attached and pinned so the next xvsd adopts its connections.
`;

/** \`xvsd stop [--keep-forwarding]\`: asks this namespace's xvsd to exit and waits until it has. */
export async function runStop(argv: string[]): Promise<number> {
  let keep = false;
  for (const a of argv) {
    if (a === '--keep-forwarding') keep = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(STOP_USAGE);
      return 0;
    } else {
      process.stderr.write(`xvsd stop: unknown argument ${a}\n${STOP_USAGE}`);
      return 2;
    }
  }
  try {
    await request({ op: 'shutdown', keepForwarding: keep }, { timeoutMs: 10_000 });
  } catch (e) {
    process.stderr.write(`xvsd stop: ${(e as Error).message}\n`);
    return 1;
  }
  if (!(await waitSocketFree(15_000))) {
    process.stderr.write('xvsd stop: xvsd did not exit within 15 s\n');
    return 1;
  }
  return 0;
}

/** Whether no xvsd answers on this namespace's control socket (polls until timeoutMs). */
async function waitSocketFree(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await request({ op: 'info' }, { timeoutMs: 500 });
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** The program id attached to an interface in a mode (0 when none). */
function attachedProgId(ifindex: number, mode: 'native' | 'generic' | 'tc'): number {
  try {
    if (mode === 'tc') return native.tcQuery(ifindex, 'ingress', TC_HANDLE, TC_PRIORITY);
    const q = native.xdpQuery(ifindex);
    return mode === 'native' ? q.drvProgId : q.skbProgId;
  } catch {
    return 0;
  }
}

/** A bpffs at PIN_ROOT (mounted here when missing; see README "Restarts" on mount namespaces). */
function ensureBpffs(log: Logger): void {
  if (isBpffs(PIN_ROOT)) return;
  mkdirSync(PIN_ROOT, { recursive: true });
  native.mountBpffs(PIN_ROOT);
  // Under `ip netns exec` this mount lives only as long as this process's mount namespace: mount it
  // in the host's first (bootstrap and the systemd unit do) or a restart cannot adopt anything.
  log.info({ path: PIN_ROOT }, 'mounted a bpffs for pinning (if this xvsd runs under `ip netns exec`, mount it in the host mount namespace instead: mount -t bpf bpf /run/xvs)');
}

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
        'no-flow-cache': { type: 'boolean' },
        'metrics-addr': { type: 'string' },
        config: { type: 'string', short: 'c' },
        restore: { type: 'string' },
        'api-addr': { type: 'string' },
        'api-token-file': { type: 'string' },
        'sync-key-file': { type: 'string' },
        fresh: { type: 'boolean' },
        takeover: { type: 'boolean' },
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

/** The dest id space: the data path's XVS_MAX_DESTS, all of it used by the ServiceTable (and read by the
 * eviction tracker). */
const MAX_DESTS = 8192;

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'stop') return runStop(argv.slice(1));
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
  const gcStats = { entries: 0, gcDurationSeconds: 0, expired: 0, gcRuns: 0, evicted: 0 };
  const evictions = new EvictionTracker(MAX_DESTS);
  const ringStats = { refills: 0, decisions: 0 };
  const timers: NodeJS.Timeout[] = [];
  let sync: SyncManager | null = null;
  let syncKey: Buffer | null = null;
  const pinDir = pinDirOfSelf();
  const stateFile = stateFileOfSelf();
  /** Program ids as attached by this xvsd (the next one checks them to know the pins are live). */
  const progIds = new Map<number, number>();
  // The saved state follows every change (debounced to once per tick); see src/daemon/state.ts.
  let saving = false;
  let savePending = false;
  const saveNow = (): void => {
    if (!saving || !dp || !table) return;
    try {
      writeState(stateFile, {
        format: 1, version: VERSION, abi: abiFingerprint(), pid: process.pid, maxConns: dp.connTableSize,
        attachments: attachments.map((a) => ({ ...a, progId: progIds.get(a.ifindex) ?? 0 })),
        sync: sync?.list() ?? [], table: table.snapshot(),
      });
    } catch (e) {
      log.warn({ err: e, file: stateFile }, 'cannot save the state a restart would adopt');
    }
  };
  const scheduleSave = (): void => {
    if (savePending) return;
    savePending = true;
    setImmediate(() => {
      savePending = false;
      saveNow();
    });
  };
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
  /** The config's sync section: its key (unless given on the command line) and daemons, by difference. */
  const applySyncConfig = async (cfg: Config): Promise<void> => {
    if (!cfg.sync || !sync) return;
    if (cfg.sync.keyFile && !opts['sync-key-file']) syncKey = readSyncKey(cfg.sync.keyFile);
    const want = cfg.sync.daemons;
    for (const running of sync.list()) {
      const w = want.find((d) => d.role === running.role);
      if (!w || JSON.stringify(w) !== JSON.stringify(running)) await sync.stop(running.role);
    }
    for (const w of want) if (!sync.list().some((r) => r.role === w.role)) await sync.start(w);
  };
  const applyConfig = (load: () => Config): Promise<ApplySummary> => {
    const run = applying.then(async () => {
      if (!applier) throw new XvsError('EINVAL', 'xvsd is starting');
      const cfg = load();
      const { services, ...summary } = await applier.apply(cfg);
      await applySyncConfig(cfg);
      configured = services ?? [];
      applyConfiguredHealth();
      health?.sync();
      keepNeighbours();
      scheduleSave();
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
    if (cmd.op === 'shutdown') {
      // Answer first, then go (the reply must reach `xvsd stop` / the taking-over xvsd).
      setTimeout(() => shutdown(`request${cmd.keepForwarding ? ' (keep forwarding)' : ''}`, cmd.keepForwarding), 20);
      return null;
    }
    if (cmd.op === 'start-sync' || cmd.op === 'stop-sync' || cmd.op === 'list-sync') {
      if (!sync) throw new XvsError('EINVAL', 'xvsd is starting');
      if (cmd.op === 'list-sync') return sync.list();
      const done = cmd.op === 'start-sync' ? sync.start(cmd.spec) : sync.stop(cmd.role);
      return done.then(() => {
        scheduleSave();
        return null;
      });
    }
    const result = table.execute(cmd);
    if (cmd.op !== 'list' && cmd.op !== 'list-conns' && cmd.op !== 'get-timeouts' && cmd.op !== 'list-laddrs') scheduleSave();
    if (cmd.op === 'list') return withRates(rates, result as ServiceView[]);
    if (cmd.op !== 'zero') health?.sync();
    if (cmd.op === 'add-dest' || cmd.op === 'edit-dest' || cmd.op === 'set-sorry-server' || cmd.op === 'batch') keepNeighbours();
    return result;
  };

  // Claim the namespace first: a second xvsd must fail before it touches any interface.
  let server;
  let prepared: BpfDatapath | null = null;
  try {
    server = await listen(CONTROL_SOCKET, handler, log);
  } catch (e) {
    if (isXvsError(e) && e.code === 'EEXIST' && opts.takeover) {
      // Graceful upgrade: load (verifier time) over the running xvsd's pinned maps while it still
      // serves, then ask it to exit without detaching, and take the socket and the data path over.
      try {
        ensureBpffs(log);
        const st = readState(stateFile);
        if (!st) throw new XvsError('EINVAL', `the running xvsd has saved no state at ${stateFile} (an older version?): stop it and start this one`);
        if (st.abi !== abiFingerprint()) throw new XvsError('EINVAL', abiRefusal(st, pinDir));
        prepared = await BpfDatapath.open({ maxConns: st.maxConns, pinDir, adopt: true });
        await request({ op: 'shutdown', keepForwarding: true }, { timeoutMs: 10_000 });
        const deadline = Date.now() + 15_000;
        for (;;) {
          try {
            server = await listen(CONTROL_SOCKET, handler, log);
            break;
          } catch (e2) {
            if (!(isXvsError(e2) && e2.code === 'EEXIST') || Date.now() > deadline) throw e2;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        log.info({ pid: st.pid }, 'took over from the running xvsd');
      } catch (e2) {
        prepared?.close();
        process.stderr.write(`xvsd: --takeover: ${(e2 as Error).message}\n`);
        return 1;
      }
    } else if (isXvsError(e) && e.code === 'EEXIST') {
      let who = '';
      try {
        const info = (await request({ op: 'info' }, { timeoutMs: 2000 })) as DaemonInfo;
        who = ` (pid ${info.pid})`;
      } catch { /* the other daemon may be starting or stopping */ }
      process.stderr.write(`xvsd: another xvsd is already running in this network namespace${who}; stop it first (xvsd stop), or upgrade it with --takeover\n`);
      return 1;
    } else {
      throw e;
    }
  }
  const srv = server;

  const shutdown = (signal: string, keepForwarding = false): void => {
    log.info({ signal, keepForwarding }, 'stopping');
    for (const t of timers) clearInterval(t);
    if (keepForwarding) saveNow(); // before the sync daemons stop: the next xvsd restarts them
    saving = false;
    health?.close();
    metricsServer?.close();
    apiServer?.close();
    void sync?.close();
    if (keepForwarding) {
      // Programs stay attached, maps stay pinned: forwarding goes on until the next xvsd adopts them.
      log.info({ pins: pinDir, state: stateFile }, 'exiting with the data path left forwarding');
      srv.close();
      dp?.close();
      process.exit(0);
    }
    for (const a of attachments) {
      try {
        detach(a);
        log.info({ iface: a.name, mode: a.mode }, 'detached');
      } catch (e) {
        log.warn({ iface: a.name, err: e }, 'detach failed');
      }
    }
    attachments = [];
    removePinDir(pinDir);
    removeState(stateFile);
    srv.close();
    dp?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGUSR2', () => shutdown('SIGUSR2', true));
  process.on('SIGHUP', () => {
    reload('SIGHUP').catch((e) => log.error({ err: e, message: (e as Error).message }, 'reload rejected; the table is unchanged'));
  });
  process.on('SIGINT', () => shutdown('SIGINT'));

  let state: DaemonState | null = null;
  try {
    let pins: string | undefined = pinDir;
    try {
      ensureBpffs(log);
    } catch (e) {
      pins = undefined;
      log.warn({ err: e, path: PIN_ROOT }, 'no bpffs for pinning: a restart of this xvsd will lose its connections');
    }
    if (opts.fresh) {
      removePinDir(pinDir);
      removeState(stateFile);
    }
    state = pins ? readState(stateFile) : null;
    if (state) {
      const st = state;
      const alive = st.attachments.some((a) => a.progId !== 0 && attachedProgId(a.ifindex, a.mode) === a.progId);
      if (!alive) {
        log.warn({ pins: pinDir, pid: st.pid }, 'the pinned data path is attached nowhere any more: starting fresh');
        removePinDir(pinDir);
        removeState(stateFile);
        state = null;
      } else if (st.abi !== abiFingerprint()) {
        prepared?.close();
        throw new XvsError('EINVAL', abiRefusal(st, pinDir));
      }
    } else if (pins && !prepared) {
      removePinDir(pinDir); // leftovers without a state: nothing to adopt
    }
    if (prepared && !state) {
      prepared.close();
      prepared = null;
      throw new XvsError('EINVAL', 'the xvsd taken over left no state to adopt');
    }
    if (state && opts['max-conns'] !== state.maxConns && !prepared) {
      log.warn({ pinned: state.maxConns, asked: opts['max-conns'] }, 'the adopted connection table keeps its size; --max-conns applies after a --fresh start');
    }
    dp = prepared ?? await BpfDatapath.open({ maxConns: state?.maxConns ?? opts['max-conns'], pinDir: pins, adopt: state !== null });
    dp.setFlowCache(!opts['no-flow-cache']);
    table = new ServiceTable(dp, { maxServices: 1024, maxDests: MAX_DESTS });
    dp.setSyncEvents(false); // a killed master's switch; the sync daemons below set it again
    if (state) {
      table.adopt(state.table);
      log.info({ pins: pinDir, services: state.table.services.length, previous: state.pid, conns: dp.conns().length }, 'adopted the pinned data path');
    }
    syncKey = opts['sync-key-file'] ? readSyncKey(opts['sync-key-file']) : (keyFromEnv() ?? null);
    sync = new SyncManager({ dp, table, log, key: () => syncKey });
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
    for (const name of ifaces) {
      const prev = state?.attachments.find((a) => a.name === name);
      // The adopted data path's interfaces: its program is replaced in place (no moment without one).
      const a = prev && attachedProgId(prev.ifindex, prev.mode) === prev.progId
        ? await reattach(prev, progs, log)
        : await attach(name, opts.attach, progs, log);
      attachments.push(a);
      progIds.set(a.ifindex, attachedProgId(a.ifindex, a.mode));
    }
    for (const prev of state?.attachments ?? []) {
      if (attachments.some((a) => a.ifindex === prev.ifindex)) continue;
      try {
        detach(prev);
        log.info({ iface: prev.name }, 'detached an interface the adopted data path had but this xvsd does not use');
      } catch { /* gone */ }
    }
    dp.setTxPorts(attachments.map((a) => a.ifindex));
    if (!opts['no-sysctl']) enableForwarding(attachments, log);
    const tbl = table;
    const dpv = dp;
    const sorryActive = new Map<string, boolean>();
    health = new HealthManager({
      table: tbl, log,
      onResult: (status, transition) => {
        if (!transition) return;
        scheduleSave();
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
        sync: () => ({ daemons: sync?.stats() ?? [], installs: { ...(sync?.installs ?? { installed: 0, updated: 0, unknown: 0 }) } }),
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
    await sync?.close();
    if (!state) {
      for (const a of attachments) {
        try { detach(a); } catch { /* best effort on the way out */ }
      }
      if (dp) removePinDir(pinDir);
    } // an adopted data path keeps forwarding (and stays pinned) for the next attempt
    srv.close();
    dp?.close();
    process.stderr.write(`xvsd: ${(e as Error).message}\n`);
    return 1;
  }

  const t = table;
  const d = dp;
  // Sync daemons: those the previous xvsd ran (adopted), else the config's.
  const syncSpecs: SyncDaemonSpec[] = state?.sync ?? [];
  for (const spec of syncSpecs) {
    if (sync!.list().some((r) => r.role === spec.role)) continue; // the config started it already
    try {
      await sync!.start(spec);
    } catch (e) {
      log.error({ err: e, role: spec.role }, 'cannot restart the sync daemon');
    }
  }
  saving = true;
  saveNow();
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
      const n = sweepConnections(gcView, now, t.timeouts, evictions);
      gcStats.evicted = evictions.evicted;
      // Persistence templates after the connections they may be held by (src/control/gc.ts).
      const masks = t.persistMasks();
      if (masks.size > 0) sweepTemplates(d, now, masks);
      gcStats.gcDurationSeconds = (performance.now() - t0) / 1000;
      gcStats.gcRuns++;
      gcStats.expired += n;
      gcStats.entries -= n;
      if (n) log.debug({ expired: n }, 'connections expired');
      sync?.refresh();
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
  log.info({ pid: process.pid, version: VERSION, ifaces: attachments.map((a) => `${a.name}:${a.mode}`).join(','), flowCache: dp.flowCacheOn }, 'xvsd ready');
  return new Promise<number>(() => { /* runs until a signal */ });
}

function abiRefusal(st: DaemonState, pinDir: string): string {
  return `the data path pinned in ${pinDir} was created by xvs ${st.version} with another ABI (${st.abi}; this xvsd has ${abiFingerprint()}): adopting it would misread its maps. Keep that version running, or start this one with --fresh (its connections are lost)`;
}
