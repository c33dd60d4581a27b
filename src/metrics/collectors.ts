// src/metrics/collectors.ts — xvs's Prometheus metrics: prom-client metrics in a registry the daemon owns,
// each with a collect() that reads the live state (maps, table, health) at scrape time. Labels identify
// services and dests, never connections.
import { Counter, Gauge, Registry } from 'prom-client';
import { zeroRates, type DestSpec, type Rates, type ServiceKey, type ServiceView, type Stats } from '../model/service.js';
import type { DestHealthStatus } from '../health/schema.js';
import type { SyncStats } from '../sync/types.js';

/** Everything the collectors read; the daemon wires it to the table, datapath and health manager. */
export interface MetricsSource {
  /** Services with every dest (also removed ones and sorry servers), counters and rates. */
  services(): ServiceView[];
  /** Configured weights (health may have changed the effective one). */
  realServers(): { service: ServiceKey; dest: DestSpec }[];
  sorryServers(): { service: ServiceKey; server: DestSpec; active: boolean }[];
  health(): DestHealthStatus[];
  /** Data path verdict counters by reason name (XVS_R_*). */
  reasons(): Record<string, bigint>;
  interfaces(): { name: string; mode: string }[];
  conntrack(): { entries: number; capacity: number; gcDurationSeconds: number; expired: number; gcRuns: number; evicted?: number };
  rings(): { refills: number; decisions: number };
  /** Connection sync daemons (src/sync): engine counters and the backup's installs; absent = none. */
  sync?(): { daemons: SyncStats[]; installs: { installed: number; updated: number; unknown: number } };
}

export interface BuildInfo {
  version: string;
}

type Labels = Record<string, string>;

const svcLabels = (s: ServiceKey): Labels => ({ protocol: s.protocol, vip: s.addr, vport: String(s.port) });
const destLabels = (s: ServiceKey, d: { addr: string; port: number }): Labels => ({ ...svcLabels(s), rip: d.addr, rport: String(d.port) });
const SVC = ['protocol', 'vip', 'vport'] as const;
const DEST = [...SVC, 'rip', 'rport'] as const;

/** Lower-case reason name without its prefix: XVS_R_DROP_NO_DEST → drop_no_dest. */
export const reasonLabel = (name: string): string => name.replace(/^XVS_R_/, '').toLowerCase();

/**
 * Registers xvs's metrics in `registry` (never prom-client's global one). Counters are read whole from
 * the source at each scrape, so a collect() resets the metric and sets its current values.
 */
export function registerMetrics(registry: Registry, source: MetricsSource, build: BuildInfo): void {
  // One snapshot per scrape, so every metric sees the same state: the first metric registered (build
  // info, collected first) drops the previous one; a macrotask later it is dropped anyway.
  let snapshot: ServiceView[] | null = null;
  const services = (): ServiceView[] => {
    if (!snapshot) {
      snapshot = source.services();
      setImmediate(() => { snapshot = null; });
    }
    return snapshot;
  };

  type Row = [Labels, number];
  const counter = (name: string, help: string, labelNames: readonly string[], rows: () => Row[]): void => {
    new Counter({
      name, help, labelNames: [...labelNames], registers: [registry],
      collect() {
        this.reset();
        for (const [l, v] of rows()) this.inc(l, v);
      },
    });
  };
  const gauge = (name: string, help: string, labelNames: readonly string[], rows: () => Row[]): void => {
    new Gauge({
      name, help, labelNames: [...labelNames], registers: [registry],
      collect() {
        this.reset();
        for (const [l, v] of rows()) this.set(l, v);
      },
    });
  };
  const n = (v: bigint | number): number => Number(v);

  const perSvc = (f: (s: ServiceView) => number, extra: Labels = {}): Row[] => services().map((s) => [{ ...svcLabels(s), ...extra }, f(s)]);
  const perDest = (f: (d: ServiceView['dests'][number]) => number, extra: Labels = {}): Row[] =>
    services().flatMap((s) => s.dests.map((d): Row => [{ ...destLabels(s, d), ...extra }, f(d)]));
  const inOut = (rows: (dir: 'in' | 'out') => Row[]): (() => Row[]) => () => [...rows('in'), ...rows('out')];
  const pk = (dir: 'in' | 'out'): keyof Stats => (dir === 'in' ? 'inpkts' : 'outpkts');
  const by = (dir: 'in' | 'out'): keyof Stats => (dir === 'in' ? 'inbytes' : 'outbytes');
  const pps = (dir: 'in' | 'out'): keyof Rates => (dir === 'in' ? 'inpps' : 'outpps');
  const bps = (dir: 'in' | 'out'): keyof Rates => (dir === 'in' ? 'inbps' : 'outbps');
  const rates = (x: { rates?: Rates }): Rates => x.rates ?? zeroRates();

  gauge('xvs_build_info', 'xvs version and Node.js runtime (always 1).', ['version', 'nodejs'], () => {
    snapshot = null;
    return [[{ version: build.version, nodejs: process.versions.node }, 1]];
  });
  gauge('xvs_interface_attached', 'Interfaces the fast path is attached to, by attach mode (always 1).', ['interface', 'mode'],
    () => source.interfaces().map((i): Row => [{ interface: i.name, mode: i.mode }, 1]));

  // Virtual services.
  counter('xvs_service_connections_total', 'Connections scheduled by the virtual service.', SVC, () => perSvc((s) => n(s.stats.conns)));
  counter('xvs_service_packets_total', 'Packets of the virtual service by direction (out is 0 for DR/TUN).', [...SVC, 'direction'],
    inOut((dir) => perSvc((s) => n(s.stats[pk(dir)]), { direction: dir })));
  counter('xvs_service_bytes_total', 'Bytes of the virtual service by direction.', [...SVC, 'direction'],
    inOut((dir) => perSvc((s) => n(s.stats[by(dir)]), { direction: dir })));
  gauge('xvs_service_connections_per_second', 'Connection rate (IPVS 2 s EWMA estimator, as --rate CPS).', SVC, () => perSvc((s) => n(rates(s).cps)));
  gauge('xvs_service_packets_per_second', 'Packet rate by direction (as --rate InPPS/OutPPS).', [...SVC, 'direction'],
    inOut((dir) => perSvc((s) => n(rates(s)[pps(dir)]), { direction: dir })));
  gauge('xvs_service_bytes_per_second', 'Byte rate by direction (as --rate InBPS/OutBPS).', [...SVC, 'direction'],
    inOut((dir) => perSvc((s) => n(rates(s)[bps(dir)]), { direction: dir })));
  gauge('xvs_service_active_connections', 'Active (established TCP) connections of the service, all dests.', SVC,
    () => perSvc((s) => s.dests.reduce((a, d) => a + d.activeConns, 0)));
  gauge('xvs_service_inactive_connections', 'Inactive connections of the service, all dests.', SVC,
    () => perSvc((s) => s.dests.reduce((a, d) => a + d.inactConns, 0)));
  gauge('xvs_service_sorry_server_active', 'Whether the sorry server takes the service\'s new connections (1) or not (0).', DEST,
    () => source.sorryServers().map((x): Row => [destLabels(x.service, x.server), x.active ? 1 : 0]));

  // Real servers.
  counter('xvs_dest_connections_total', 'Connections scheduled to the real server.', DEST, () => perDest((d) => n(d.stats.conns)));
  gauge('xvs_dest_active_connections', 'Active connections of the real server (ActiveConn).', DEST, () => perDest((d) => d.activeConns));
  gauge('xvs_dest_inactive_connections', 'Inactive connections of the real server (InActConn).', DEST, () => perDest((d) => d.inactConns));
  counter('xvs_dest_packets_total', 'Packets of the real server by direction.', [...DEST, 'direction'],
    inOut((dir) => perDest((d) => n(d.stats[pk(dir)]), { direction: dir })));
  counter('xvs_dest_bytes_total', 'Bytes of the real server by direction.', [...DEST, 'direction'],
    inOut((dir) => perDest((d) => n(d.stats[by(dir)]), { direction: dir })));
  gauge('xvs_dest_connections_per_second', 'Connection rate of the real server (--rate CPS).', DEST, () => perDest((d) => n(rates(d).cps)));
  gauge('xvs_dest_packets_per_second', 'Packet rate of the real server by direction.', [...DEST, 'direction'],
    inOut((dir) => perDest((d) => n(rates(d)[pps(dir)]), { direction: dir })));
  gauge('xvs_dest_bytes_per_second', 'Byte rate of the real server by direction.', [...DEST, 'direction'],
    inOut((dir) => perDest((d) => n(rates(d)[bps(dir)]), { direction: dir })));
  gauge('xvs_dest_weight', 'Weight the scheduler uses now (0 while quiesced by a health check).', DEST, () => perDest((d) => d.weight));
  gauge('xvs_dest_configured_weight', 'Weight as configured (what a recovering real server returns with).', DEST,
    () => source.realServers().map((r): Row => [destLabels(r.service, r.dest), r.dest.weight]));

  // Health checks.
  const health = (f: (h: DestHealthStatus) => number | undefined): Row[] =>
    source.health().flatMap((h): Row[] => {
      const v = f(h);
      return v === undefined ? [] : [[destLabels(h.service, h.dest), v]];
    });
  gauge('xvs_dest_up', 'Health state of a checked real server: 1 up, 0 down.', DEST, () => health((h) => (h.up ? 1 : 0)));
  gauge('xvs_dest_health_check_success', 'Result of the last health check: 1 success, 0 failure.', DEST,
    () => health((h) => (h.last ? (h.last.ok ? 1 : 0) : undefined)));
  gauge('xvs_dest_health_check_duration_seconds', 'Duration of the last health check.', DEST,
    () => health((h) => (h.last ? h.last.durationMs / 1000 : undefined)));
  counter('xvs_dest_health_checks_total', 'Health checks run.', DEST, () => health((h) => h.checks));
  counter('xvs_dest_health_check_failures_total', 'Health checks failed.', DEST, () => health((h) => h.failures));
  counter('xvs_dest_health_transitions_total', 'Up/down transitions decided by health checks.', DEST, () => health((h) => h.transitions));

  // Data path and control plane internals.
  counter('xvs_datapath_packets_total', 'Packets by data path verdict reason (forwarded, passed, dropped and why).', ['reason'],
    () => Object.entries(source.reasons()).map(([k, v]): Row => [{ reason: reasonLabel(k) }, n(v)]));
  gauge('xvs_conntrack_entries', 'Connections in the connection table at the last GC sweep.', [], () => [[{}, source.conntrack().entries]]);
  gauge('xvs_conntrack_capacity', 'Size of the connection table (--max-conns).', [], () => [[{}, source.conntrack().capacity]]);
  gauge('xvs_conntrack_gc_duration_seconds', 'Duration of the last connection GC sweep.', [], () => [[{}, source.conntrack().gcDurationSeconds]]);
  counter('xvs_conntrack_gc_runs_total', 'Connection GC sweeps.', [], () => [[{}, source.conntrack().gcRuns]]);
  counter('xvs_conntrack_expired_total', 'Connections expired by the GC.', [], () => [[{}, source.conntrack().expired]]);
  counter('xvs_conntrack_evicted_total', 'Connections the full connection table evicted (LRU), whose dest counts the GC took back.', [], () => [[{}, source.conntrack().evicted ?? 0]]);
  counter('xvs_ring_refills_total', 'Decision ring refills that published new decisions.', [], () => [[{}, source.rings().refills]]);
  counter('xvs_ring_decisions_total', 'Scheduling decisions published into decision rings.', [], () => [[{}, source.rings().decisions]]);
  // Connection sync (HA).
  const sync = (f: (d: SyncStats) => number): Row[] => (source.sync?.().daemons ?? []).map((d): Row => [{ role: d.role }, f(d)]);
  counter('xvs_sync_messages_sent_total', 'Sync messages sent by the master.', ['role'], () => sync((d) => d.messagesSent));
  counter('xvs_sync_conns_sent_total', 'Connections sent by the master (events and refreshes).', ['role'], () => sync((d) => d.connsSent));
  gauge('xvs_sync_queue_conns', 'Connections waiting in the master\'s send queue (rate bound, batching).', ['role'], () => sync((d) => d.queued));
  counter('xvs_sync_queue_dropped_total', 'Connections dropped from a full send queue (the refresh resends them).', ['role'], () => sync((d) => d.queueDropped));
  counter('xvs_sync_messages_received_total', 'Sync messages accepted by the backup.', ['role'], () => sync((d) => d.messagesReceived));
  counter('xvs_sync_conns_received_total', 'Connections received by the backup.', ['role'], () => sync((d) => d.connsReceived));
  counter('xvs_sync_messages_rejected_total', 'Sync messages rejected by the backup, by reason (auth, truncated, malformed, replay, stale, syncid, version, peer).', ['role', 'reason'],
    () => (source.sync?.().daemons ?? []).flatMap((d) => Object.entries(d.rejected).map(([reason, v]): Row => [{ role: d.role, reason }, v])));
  gauge('xvs_sync_lag_seconds', 'Master: age of the oldest connection event in the last batch when sent; backup: age of the last accepted message on arrival.', ['role'],
    () => sync((d) => d.lagSeconds));
  counter('xvs_sync_installs_total', 'Connections the backup wrote into its table, by result (installed, updated, unknown service or real server).', ['result'],
    () => Object.entries(source.sync?.().installs ?? {}).map(([result, v]): Row => [{ result }, v]));
  counter('xvs_ring_underflows_total', 'New connections that found their service\'s ring exhausted (should stay 0).', [],
    () => [[{}, n(source.reasons().XVS_R_RING_EXHAUSTED ?? 0n)]]);
}

/** A fresh registry with xvs's metrics. */
export function createRegistry(source: MetricsSource, build: BuildInfo): Registry {
  const registry = new Registry();
  registerMetrics(registry, source, build);
  return registry;
}
