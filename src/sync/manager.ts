// src/sync/manager.ts — the sync daemons of one xvsd (ipvsadm --start-daemon master|backup): the master
// turns the data path's connection events (xvs_sync_ring) and a periodic refresh of the connection table
// into SyncConns for the engine (src/sync/engine.ts); the backup installs what it receives into its own
// connection table, mapped to its own service and dest ids, with the counting a new entry needs.
import { FWD } from '../datapath/abi.js';
import { monotonicNs, type ConnEntry, type SyncDatapath, type TemplateEntry } from '../datapath/datapath.js';
import { maskAddr, timeoutFor, type Timeouts } from '../control/gc.js';
import type { ServiceTable } from '../control/table.js';
import { XvsError } from '../model/errors.js';
import type { Logger } from '../log/logger.js';
import { SyncBackup, SyncMaster, connKey } from './engine.js';
import type { SyncConn, SyncDaemonSpec, SyncStats } from './types.js';
import type { SyncTransport } from './transport.js';

export interface SyncManagerDeps {
  dp: SyncDatapath & { conns(): ConnEntry[] };
  table: Pick<ServiceTable, 'syncIdentity' | 'syncTarget'> & { timeouts: Timeouts };
  log: Logger;
  /** The shared key (xvsd --sync-key-file / XVS_SYNC_KEY / config), or null when none is configured. */
  key: () => Buffer | null;
  /** Seconds between two sends of an unchanged connection (the master's refresh; default 30). */
  refreshS?: number;
  /** Messages per second the master sends at most (default 1000). */
  ratePerSec?: number;
  /** Tests: the engines' transport (default: UDP as the spec says). */
  transport?: (spec: SyncDaemonSpec) => SyncTransport;
}

/** What the backup did with the connections it received (also metrics). */
export interface SyncInstallStats {
  installed: number;
  updated: number;
  /** Persistence templates written. */
  templates: number;
  /** No service for VIP:vport or no such real server on this director. */
  unknown: number;
}

interface Master {
  spec: SyncDaemonSpec;
  engine: SyncMaster;
  events: { consume(): number; close(): void };
  timer: NodeJS.Timeout;
  /** connKey -> monotonic ms of the last send (the refresh resends after refreshS). */
  lastSent: Map<string, number>;
  /** Events read from the ring, published together after each drain. */
  pending: ConnEntry[];
}

const FWD_NAMES: Record<number, SyncConn['fwd']> = { [FWD.route]: 'route', [FWD.tunnel]: 'tunnel', [FWD.masq]: 'masq', [FWD.fullnat]: 'fullnat' };

export class SyncManager {
  private master: Master | null = null;
  private backup: { spec: SyncDaemonSpec; engine: SyncBackup } | null = null;
  readonly installs: SyncInstallStats = { installed: 0, updated: 0, templates: 0, unknown: 0 };
  private readonly refreshMs: number;

  constructor(private readonly deps: SyncManagerDeps) {
    this.refreshMs = (deps.refreshS ?? 30) * 1000;
  }

  private keyOrThrow(): Buffer {
    const key = this.deps.key();
    if (!key) throw new XvsError('EINVAL', 'xvsd has no sync key: start it with --sync-key-file FILE (or XVS_SYNC_KEY, or sync.keyFile in the config); sync messages are never sent unauthenticated');
    return key;
  }

  async start(spec: SyncDaemonSpec): Promise<void> {
    if ((spec.role === 'master' ? this.master : this.backup) !== null) throw new XvsError('EEXIST', `a ${spec.role} sync daemon is already running`);
    const key = this.keyOrThrow();
    if (spec.role === 'master') {
      const engine = new SyncMaster({ spec, key, log: this.deps.log, ratePerSec: this.deps.ratePerSec, transport: this.deps.transport?.(spec) });
      await engine.start();
      const pending: ConnEntry[] = [];
      const m: Master = {
        spec, engine, lastSent: new Map(),
        events: this.deps.dp.openSyncEvents((c) => pending.push(c)),
        pending,
        timer: setInterval(() => this.pump(), 10),
      };
      this.master = m;
      this.deps.dp.setSyncEvents(true);
      // Everything the table holds now, so a backup that runs already learns it without waiting.
      this.refresh(true);
    } else {
      const engine = new SyncBackup({ spec, key, log: this.deps.log, onConns: (conns) => this.install(conns), transport: this.deps.transport?.(spec) });
      await engine.start();
      this.backup = { spec, engine };
    }
  }

  async stop(role: 'master' | 'backup'): Promise<void> {
    if (role === 'master') {
      const m = this.master;
      if (!m) throw new XvsError('ESRCH', 'no master sync daemon is running');
      this.master = null;
      this.deps.dp.setSyncEvents(false);
      clearInterval(m.timer);
      m.events.close();
      await m.engine.close();
    } else {
      const b = this.backup;
      if (!b) throw new XvsError('ESRCH', 'no backup sync daemon is running');
      this.backup = null;
      await b.engine.close();
    }
    this.deps.log.info({ role }, 'sync daemon stopped');
  }

  /** ipvsadm -L --daemon: master first, then backup. */
  list(): SyncDaemonSpec[] {
    return [this.master?.spec, this.backup?.spec].filter((s): s is SyncDaemonSpec => s !== undefined).map((s) => ({ ...s }));
  }

  stats(): SyncStats[] {
    return [this.master?.engine.stats(), this.backup?.engine.stats()].filter((s): s is SyncStats => s !== undefined);
  }

  /** Drains the data path's events into the engine's queue. */
  private pump(): void {
    try {
      const m = this.master;
      if (!m) return;
      m.events.consume();
      if (m.pending.length) this.publish(m.pending.splice(0));
    } catch (e) {
      this.deps.log.warn({ err: e }, 'sync: reading connection events failed');
    }
  }

  /**
   * Offers every connection not sent for refreshS (all of them with `all`): the backup's copies stay
   * fresh (it sees no packets of them) and events lost to a full ring are repaired. Called by the GC timer.
   */
  refresh(all = false): void {
    const m = this.master;
    if (!m) return;
    const now = performance.now();
    const isDue = (key: Buffer): boolean => {
      const last = m.lastSent.get(key.toString('hex'));
      return all || last === undefined || now - last >= this.refreshMs;
    };
    const conns = this.deps.dp.conns();
    const due = conns.filter((c) => isDue(c.key));
    this.publish(due, false);
    this.publishTemplates(this.deps.dp.templates().filter((tp) => isDue(tp.key)));
    // Forget connections that are gone (from the same read of the table).
    if (m.lastSent.size > due.length * 2 + 1024) {
      const live = new Set(conns.map((c) => c.key.toString('hex')));
      for (const k of m.lastSent.keys()) if (!live.has(k)) m.lastSent.delete(k);
    }
  }

  /** What ids stand for, looked up once per batch (a refresh may carry the whole table). */
  private identities(): (svcId: number, destId: number) => ReturnType<SyncManagerDeps['table']['syncIdentity']> {
    const memo = new Map<string, ReturnType<SyncManagerDeps['table']['syncIdentity']>>();
    return (svcId, destId) => {
      const k = `${svcId}/${destId}`;
      if (!memo.has(k)) memo.set(k, this.deps.table.syncIdentity(svcId, destId));
      return memo.get(k)!;
    };
  }

  /** Offers connections; `withTemplates`: also the template of each one of a persistent service. */
  private publish(entries: ConnEntry[], withTemplates = true): void {
    const m = this.master;
    if (!m || entries.length === 0) return;
    const nowNs = monotonicNs();
    const now = performance.now();
    const identity = this.identities();
    const out: SyncConn[] = [];
    for (const c of entries) {
      const sc = this.toSyncConn(c, nowNs, identity);
      if (!sc) continue;
      out.push(sc);
      m.lastSent.set(c.key.toString('hex'), now);
    }
    if (out.length) m.engine.offer(out);
    if (!withTemplates) return;
    // A new connection of a persistent service: its template goes along, so the backup keeps the
    // client on the same real server after a failover (not only after the next refresh).
    const tmpls: TemplateEntry[] = [];
    for (const c of entries) {
      const id = identity(c.svcId, c.destId);
      if (!id?.persistMask) continue;
      const tp = this.deps.dp.templateOf(c.svcId, maskAddr(c.caddr, id.persistMask));
      if (tp) tmpls.push(tp);
    }
    this.publishTemplates(tmpls);
  }

  private publishTemplates(tmpls: TemplateEntry[]): void {
    const m = this.master;
    if (!m || tmpls.length === 0) return;
    const nowNs = monotonicNs();
    const now = performance.now();
    const out: SyncConn[] = [];
    const identity = this.identities();
    for (const tp of tmpls) {
      const id = identity(tp.svcId, tp.destId);
      if (!id) continue;
      const idleS = Number((nowNs - tp.lastSeenNs) / 1_000_000_000n);
      out.push({
        protocol: id.service.protocol, caddr: tp.caddr, cport: 0, vaddr: id.service.addr, vport: id.service.port,
        // A template has no TCP state; `inactive` carries "not ASSURED" (IP_VS_CTPL_S_ASSURED cleared).
        daddr: id.daddr, dport: id.dport, fwd: id.fwd, state: 0, inactive: !tp.assured, output: false,
        fwmark: id.fwmark, timeoutS: Math.max(0, tp.timeoutS - Math.max(0, idleS)), template: true,
      });
      m.lastSent.set(tp.key.toString('hex'), now);
    }
    if (out.length) m.engine.offer(out);
  }

  private toSyncConn(c: ConnEntry, nowNs: bigint, identity: ReturnType<SyncManager['identities']>): SyncConn | null {
    const id = identity(c.svcId, c.destId);
    if (!id) return null;
    const fwd = FWD_NAMES[c.fwd ?? FWD[id.fwd]] ?? id.fwd;
    const idleS = Number((nowNs - c.lastSeenNs) / 1_000_000_000n);
    const timeoutS = Math.max(0, timeoutFor(c.protocol, c.state, this.deps.table.timeouts) - Math.max(0, idleS));
    return {
      protocol: c.protocol, caddr: c.caddr, cport: c.cport, vaddr: c.vaddr, vport: c.vport,
      daddr: id.daddr, dport: id.dport, fwd, state: c.state, inactive: c.inactive, output: c.output ?? false,
      ...(fwd === 'fullnat' && c.laddr !== undefined ? { laddr: c.laddr, lport: c.lport } : {}),
      fwmark: id.fwmark, timeoutS, template: false,
    };
  }

  /** Backup: installs received connections into this director's table. */
  private install(conns: SyncConn[]): void {
    const nowNs = monotonicNs();
    for (const c of conns) {
      const target = this.deps.table.syncTarget(c);
      if (!target) {
        this.installs.unknown++;
        continue;
      }
      if (c.template) {
        // The template's own timeout is the service's -p; what is left of it sets its last use.
        const persist = this.deps.table.syncIdentity(target.svcId, target.destId)?.persistTimeout ?? c.timeoutS;
        const ageNs = BigInt(Math.max(0, persist - c.timeoutS)) * 1_000_000_000n;
        try {
          this.deps.dp.installTemplate({ svcId: target.svcId, caddr: c.caddr, destId: target.destId, timeoutS: persist, lastSeenNs: nowNs - ageNs, assured: !c.inactive });
          this.installs.templates++;
        } catch (e) {
          this.deps.log.warn({ err: e, conn: connKey(c) }, 'sync: installing a template failed');
        }
        continue;
      }
      const fwd = FWD[target.fwd];
      // The backup's GC expires it when the master's would: last seen = now - (timeout - remaining).
      const full = timeoutFor(c.protocol, c.state, this.deps.table.timeouts);
      const ageNs = BigInt(Math.max(0, full - c.timeoutS)) * 1_000_000_000n;
      const nat = target.fwd === 'masq' || target.fwd === 'fullnat';
      if (target.fwd === 'fullnat' && (c.laddr === undefined || c.lport === undefined)) {
        this.installs.unknown++;
        continue;
      }
      try {
        const isNew = this.deps.dp.installConn({
          protocol: c.protocol, caddr: c.caddr, cport: c.cport, vaddr: c.vaddr, vport: c.vport,
          svcId: target.svcId, destId: target.destId, fwd, state: c.state, inactive: c.inactive, output: c.output,
          ...(nat ? {
            raddr: c.daddr, rport: c.dport,
            laddr: target.fwd === 'fullnat' ? c.laddr! : c.caddr, lport: target.fwd === 'fullnat' ? c.lport! : c.cport,
          } : {}),
          lastSeenNs: nowNs - ageNs, createdNs: nowNs - ageNs,
        });
        if (isNew) this.installs.installed++;
        else this.installs.updated++;
      } catch (e) {
        this.deps.log.warn({ err: e, conn: connKey(c) }, 'sync: installing a connection failed');
      }
    }
  }

  async close(): Promise<void> {
    if (this.master) await this.stop('master').catch(() => undefined);
    if (this.backup) await this.stop('backup').catch(() => undefined);
  }
}
