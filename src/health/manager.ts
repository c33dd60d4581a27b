// src/health/manager.ts — runs the configured checks of every real server on their own timers, counts
// consecutive results against fall/rise, and hands each up/down verdict to the service table (quiesce or
// remove, restore the configured weight on recovery). Checks never block the event loop: at most
// `maxConcurrent` run at once, each bounded by its timeout.
import { serviceId, destId, type DestKey, type DestSpec, type ServiceKey } from '../model/service.js';
import { XvsError } from '../model/errors.js';
import type { Logger } from '../log/logger.js';
import type { DestHealth } from '../control/table.js';
import { runCheck, type CheckResult, type CheckTarget } from './checkers.js';
import type { DestHealthStatus, HealthCheck, HealthConfig } from './schema.js';

/** What the manager needs of the service table (ServiceTable implements it). */
export interface HealthTable {
  realServers(): { service: ServiceKey; dest: DestSpec }[];
  setDestHealth(key: ServiceKey, dest: DestKey, health: DestHealth | undefined): boolean;
  hasService(key: ServiceKey): boolean;
}

export type CheckRunner = (check: HealthCheck, target: CheckTarget) => Promise<CheckResult>;

export interface HealthManagerOptions {
  table: HealthTable;
  log: Logger;
  /** Checks running at once, at most (sockets and processes are bounded by it). */
  maxConcurrent?: number;
  /** Injected for tests. */
  runner?: CheckRunner;
  /** Called after every check and every transition (metrics, tests). */
  onResult?: (status: DestHealthStatus, transition: 'up' | 'down' | null) => void;
}

interface Target {
  key: string;
  service: ServiceKey;
  dest: DestSpec;
  cfg: HealthConfig;
  /** Serialised config, to notice changes. */
  cfgText: string;
  up: boolean;
  streak: number;
  weight?: number;
  last?: DestHealthStatus['last'];
  checks: number;
  failures: number;
  transitions: number;
  timer: NodeJS.Timeout | null;
  stopped: boolean;
}

const targetKey = (s: ServiceKey, d: DestKey): string => `${serviceId(s)}|${destId(d)}`;

export class HealthManager {
  private readonly svcChecks = new Map<string, HealthConfig>();
  /** Per-dest overrides; null = this dest is not checked even if its service has a check. */
  private readonly destChecks = new Map<string, HealthConfig | null>();
  private readonly targets = new Map<string, Target>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly maxConcurrent: number;
  private readonly runner: CheckRunner;
  private closed = false;

  constructor(private readonly opts: HealthManagerOptions) {
    this.maxConcurrent = opts.maxConcurrent ?? 64;
    this.runner = opts.runner ?? runCheck;
  }

  /** Sets (or clears with null) the check of a dest, or with no dest the default of a service. */
  configure(service: ServiceKey, dest: DestKey | undefined, cfg: HealthConfig | null): void {
    const servers = this.opts.table.realServers();
    if (!this.serviceExists(service)) {
      throw new XvsError('ESRCH', `no such service ${serviceId(service)}`);
    }
    if (dest) {
      if (!servers.some((r) => serviceId(r.service) === serviceId(service) && destId(r.dest) === destId(dest))) {
        throw new XvsError('ENOENT', `no such destination ${destId(dest)}`);
      }
      this.destChecks.set(targetKey(service, dest), cfg);
    } else if (cfg) {
      this.svcChecks.set(serviceId(service), cfg);
    } else {
      this.svcChecks.delete(serviceId(service));
    }
    this.sync();
  }

  private serviceExists(service: ServiceKey): boolean {
    return this.opts.table.hasService(service);
  }

  /**
   * Replaces the whole health configuration of a service (the config file's way): its default check
   * and per-dest overrides. Unchanged checks keep running with their state; changed ones start anew.
   */
  replaceService(service: ServiceKey, cfg: HealthConfig | null, dests: readonly { addr: string; port: number; health: HealthConfig | null }[]): void {
    if (!this.serviceExists(service)) throw new XvsError('ESRCH', `no such service ${serviceId(service)}`);
    const prefix = `${serviceId(service)}|`;
    for (const k of [...this.destChecks.keys()]) if (k.startsWith(prefix)) this.destChecks.delete(k);
    for (const d of dests) this.destChecks.set(targetKey(service, d), d.health);
    if (cfg) this.svcChecks.set(serviceId(service), cfg);
    else this.svcChecks.delete(serviceId(service));
    this.sync();
  }

  /** Starts, restarts and stops checks to match the table and the configuration; call after table changes. */
  sync(): void {
    if (this.closed) return;
    const wanted = new Map<string, { service: ServiceKey; dest: DestSpec; cfg: HealthConfig }>();
    const live = new Set<string>();
    const liveSvcs = new Set<string>();
    for (const { service, dest } of this.opts.table.realServers()) {
      const key = targetKey(service, dest);
      live.add(key);
      liveSvcs.add(serviceId(service));
      const own = this.destChecks.get(key);
      const cfg = own === undefined ? this.svcChecks.get(serviceId(service)) : own;
      if (cfg) wanted.set(key, { service, dest, cfg });
    }
    // Configuration of services and dests that are gone goes with them.
    for (const k of [...this.destChecks.keys()]) if (!live.has(k)) this.destChecks.delete(k);
    for (const k of [...this.svcChecks.keys()]) if (!liveSvcs.has(k) && !this.serviceExists(parseSvc(k))) this.svcChecks.delete(k);

    for (const [key, t] of [...this.targets]) {
      const w = wanted.get(key);
      if (!w || JSON.stringify(w.cfg) !== t.cfgText) this.stop(t, live.has(key));
    }
    for (const [key, w] of wanted) {
      if (this.targets.has(key)) continue;
      const t: Target = {
        key, service: w.service, dest: w.dest, cfg: w.cfg, cfgText: JSON.stringify(w.cfg),
        up: true, streak: 0, checks: 0, failures: 0, transitions: 0, timer: null, stopped: false,
      };
      this.targets.set(key, t);
      // Spread the first checks over a short time so many dests do not probe in one burst.
      this.schedule(t, Math.min(t.cfg.check.intervalMs, 50 + Math.floor(Math.random() * 100)));
    }
  }

  /** Ends a dest's check; a dest that stays (unchecked, or checked anew) gets its configured weight back. */
  private stop(t: Target, destStays: boolean): void {
    t.stopped = true;
    if (t.timer) clearTimeout(t.timer);
    this.targets.delete(t.key);
    if (destStays && (!t.up || t.weight !== undefined)) {
      try {
        this.opts.table.setDestHealth(t.service, t.dest, undefined);
      } catch { /* deleted meanwhile */ }
    }
  }

  private schedule(t: Target, delayMs: number): void {
    if (t.stopped || this.closed) return;
    t.timer = setTimeout(() => { void this.runOne(t); }, delayMs);
    t.timer.unref?.();
  }

  private async acquire(): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes on
    else this.running--;
  }

  private async runOne(t: Target): Promise<void> {
    t.timer = null;
    const started = Date.now();
    await this.acquire();
    let result: CheckResult;
    const t0 = performance.now();
    try {
      if (t.stopped || this.closed) return;
      result = await this.runner(t.cfg.check, t.dest);
    } catch (e) {
      result = { ok: false, message: `check failed: ${(e as Error).message}` };
    } finally {
      this.release();
    }
    if (t.stopped || this.closed) return;
    const durationMs = Math.round((performance.now() - t0) * 10) / 10;
    this.record(t, result, durationMs);
    this.schedule(t, Math.max(0, started + t.cfg.check.intervalMs - Date.now()));
  }

  private record(t: Target, r: CheckResult, durationMs: number): void {
    t.checks++;
    if (!r.ok) t.failures++;
    t.last = { ok: r.ok, message: r.message, durationMs, at: new Date().toISOString() };
    const log = this.opts.log;
    const fields = { service: serviceId(t.service), rs: destId(t.dest), check: t.cfg.check.type };
    let transition: 'up' | 'down' | null = null;
    if (t.up) {
      t.streak = r.ok ? 0 : t.streak + 1;
      if (!r.ok) log.debug({ ...fields, reason: r.message, failures: t.streak, fall: t.cfg.check.fall }, 'health check failed');
      if (t.streak >= t.cfg.check.fall) {
        t.up = false;
        t.streak = 0;
        t.weight = undefined;
        transition = 'down';
      } else if (r.ok && r.weight !== undefined && r.weight !== t.weight) {
        t.weight = r.weight;
        this.apply(t);
        log.info({ ...fields, weight: r.weight }, 'real server weight set by its check');
      }
    } else {
      t.streak = r.ok ? t.streak + 1 : 0;
      if (t.streak >= t.cfg.check.rise) {
        t.up = true;
        t.streak = 0;
        t.weight = r.weight;
        transition = 'up';
      }
    }
    if (transition) {
      t.transitions++;
      this.apply(t);
      if (transition === 'down') log.warn({ ...fields, reason: r.message, action: t.cfg.onFailure }, 'real server down');
      else log.info({ ...fields, reason: r.message, weight: t.weight ?? t.dest.weight }, 'real server up');
    }
    this.opts.onResult?.(this.view(t), transition);
  }

  private apply(t: Target): void {
    try {
      this.opts.table.setDestHealth(t.service, t.dest, { up: t.up, remove: t.cfg.onFailure === 'remove', ...(t.weight !== undefined ? { weight: t.weight } : {}) });
    } catch (e) {
      this.opts.log.warn({ service: serviceId(t.service), rs: destId(t.dest), err: e }, 'cannot apply health state');
    }
  }

  private view(t: Target): DestHealthStatus {
    return {
      service: { ...t.service }, dest: { addr: t.dest.addr, port: t.dest.port },
      check: t.cfg.check.type, onFailure: t.cfg.onFailure, up: t.up, streak: t.streak,
      ...(t.weight !== undefined ? { weight: t.weight } : {}),
      ...(t.last ? { last: { ...t.last } } : {}),
      checks: t.checks, failures: t.failures, transitions: t.transitions,
    };
  }

  /** Every checked dest (of one service). */
  status(service?: ServiceKey): DestHealthStatus[] {
    const sid = service ? serviceId(service) : null;
    return [...this.targets.values()].filter((t) => sid === null || serviceId(t.service) === sid).map((t) => this.view(t));
  }

  /** The configuration as set (for the config loader's diff and for tests). */
  config(): { services: [string, HealthConfig][]; dests: [string, HealthConfig | null][] } {
    return { services: [...this.svcChecks], dests: [...this.destChecks] };
  }

  close(): void {
    this.closed = true;
    for (const t of this.targets.values()) {
      t.stopped = true;
      if (t.timer) clearTimeout(t.timer);
    }
    this.targets.clear();
  }
}

/** serviceId() back to a key (`tcp:192.0.2.1:80`, `udp:[2001:db8::1]:53`). */
function parseSvc(id: string): ServiceKey {
  const m = /^(tcp|udp):\[?([^\]]+?)\]?:(\d+)$/.exec(id);
  if (!m) return { protocol: 'tcp', addr: '0.0.0.0', port: 0 };
  return { protocol: m[1] as 'tcp' | 'udp', addr: m[2], port: Number(m[3]) };
}
