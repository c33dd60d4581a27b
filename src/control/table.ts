// src/control/table.ts — the virtual service table: applies Commands to the model and programs the data
// path through the Datapath facade. Errors carry the errno IPVS would return, so every edge can print
// ipvsadm's message. A command either applies whole or changes nothing (checks come before writes).
import net from 'node:net';
import type { Command, SingleCommand } from '../model/command.js';
import {
  IMPLEMENTED_SCHEDULERS, serviceId, destId,
  type DestKey, type DestSpec, type DestView, type ServiceKey, type ServiceSpec, type ServiceView,
  type Stats, zeroStats, subtractStats, type FwmarkMatch, type ConnView,
} from '../model/service.js';
import { FakeDatapath } from '../datapath/fake-datapath.js';
import { XvsError } from '../model/errors.js';
import { monotonicNs, type Datapath } from '../datapath/datapath.js';
import { DEFAULT_TIMEOUTS, timeoutFor, type Timeouts } from './gc.js';
import { TCP_STATE_NAMES } from '../datapath/abi.js';
import { DEFAULT_LPORT_RANGE, MAX_LADDRS } from '../datapath/abi.js';
import { DecisionRing } from '../sched/ring.js';
import { COUNTING_SCHEDULERS, createScheduler } from '../sched/index.js';
import { defaultContext, type SchedContext } from '../sched/context.js';
import { schedTable } from '../sched/tables.js';
import type { SchedDest } from '../sched/types.js';
import { IdAllocator } from './ids.js';
import { LocalityTimer, flushLocality, purgeLocalityDest } from './lblc.js';
import { SCHED_KIND } from '../datapath/abi.js';
import { DEFAULT_EXPIRATION_S } from '../sched/context.js';

export interface TableLimits {
  maxServices: number;
  maxDests: number;
}

interface DestState {
  spec: DestSpec;
  id: number;
  sched: SchedDest;
  /** Counters at the last -Z: listings subtract it (per-CPU BPF counters cannot be reset atomically). */
  baseline: Stats;
  /** Health verdict (src/health): down = weight 0 (quiesce), or also unavailable and unlisted (remove). */
  health?: DestHealth;
  /** The service's sorry server: a hidden dest that gets weight 1 only while no other dest is usable. */
  sorry?: true;
}

/** What the health checker decided about a dest; `weight` overrides the configured one (script checks). */
export interface DestHealth {
  up: boolean;
  /** On failure remove the dest (established connections end) rather than quiesce it (they finish). */
  remove: boolean;
  weight?: number;
}

interface SvcState {
  spec: ServiceSpec;
  id: number;
  /** In the kernel's list order: the newest dest first (list_add at the head). */
  dests: DestState[];
  ring: DecisionRing;
  /** Counters at the last -Z (see DestState.baseline). */
  baseline: Stats;
  /** FULLNAT local addresses (LIPs), in the order added. */
  laddrs?: string[];
  /** A fwmark service's match entries, in the order added. */
  matches?: FwmarkMatch[];
  /** What the scheduler reads live: the service's -b flags (svc->flags), the clock. */
  ctx: SchedContext;
  /** The data path holds a hash scheduler table for this service (sh, dh, mh). */
  hasTable?: boolean;
  /** lblc/lblcr: the cache-expiry timer (src/control/lblc.ts); what was last written to the data path. */
  locality?: LocalityTimer;
  localitySent?: { tab: string; dsched: Map<number, string> };
}

/** Schedulers whose data path is the locality cache of bpf/include/xvs_lblc.h. */
const LOCALITY_SCHEDULERS: readonly string[] = ['lblc', 'lblcr'];

/** ServiceTable.snapshot(): what a restarted xvsd adopts (JSON-safe: counters as decimal strings). */
export interface TableSnapshot {
  timeouts: Timeouts;
  services: {
    spec: ServiceSpec;
    id: number;
    baseline: Record<keyof Stats, string>;
    laddrs: string[];
    matches: FwmarkMatch[];
    dests: { spec: DestSpec; id: number; baseline: Record<keyof Stats, string>; health?: DestHealth; sorry?: true }[];
  }[];
}

/** One service's FULLNAT local addresses, as listed. */
export interface LaddrView {
  service: ServiceKey;
  laddrs: string[];
}

/** Forwarding methods the data path implements. */
const IMPLEMENTED_FWD = new Set(['route', 'masq', 'tunnel', 'fullnat']);

export class ServiceTable {
  private readonly services = new Map<string, SvcState>();
  /** The same services by map id (sync looks connections' ids up). */
  private readonly byId = new Map<number, SvcState>();
  /** {proto, VIP, port} keys of the xvs_svcs map taken by fwmark matches → the fwmark service's id. */
  private readonly claims = new Map<string, string>();
  private refillMode: 'now' | 'defer' | 'never' = 'now';
  /** ipvsadm --set: the connection timeouts the GC applies (seconds). */
  timeouts: Timeouts = { ...DEFAULT_TIMEOUTS };
  private readonly refillPending = new Set<SvcState>();
  private readonly svcIds: IdAllocator;
  private readonly destIds: IdAllocator;
  /** sysctl lblc_expiration / lblcr_expiration (seconds): how long an unused cache entry lives (lblc,
   * lblcr) and how long an lblcr set stays unchanged before it loses its most loaded member. */
  lblcExpirationS = DEFAULT_EXPIRATION_S;
  lblcrExpirationS = DEFAULT_EXPIRATION_S;
  /** While adopt() replays a previous xvsd's table: the ids its services and dests had. */
  private adopting: { svc: Map<string, number>; dest: Map<string, number> } | null = null;

  constructor(private readonly dp: Datapath, private readonly limits: TableLimits) {
    this.svcIds = new IdAllocator(limits.maxServices);
    this.destIds = new IdAllocator(limits.maxDests);
  }

  /** Applies one command; returns its result (list) or undefined. */
  execute(cmd: Command): unknown {
    switch (cmd.op) {
      case 'add-service': return this.addService(cmd.service);
      case 'edit-service': return this.editService(cmd.service);
      case 'del-service': return this.deleteService(cmd.key);
      case 'clear': return this.clear();
      case 'add-dest': return this.addDest(cmd.key, cmd.dest);
      case 'edit-dest': return this.editDest(cmd.key, cmd.dest);
      case 'del-dest': return this.deleteDest(cmd.key, cmd.dest);
      case 'list': return this.list(cmd.key);
      case 'info': throw new XvsError('EINVAL', 'info is answered by the daemon');
      case 'zero': return this.zero(cmd.key);
      case 'add-laddr': return this.addLaddr(cmd.key, cmd.addr);
      case 'del-laddr': return this.deleteLaddr(cmd.key, cmd.addr);
      case 'list-laddrs': return this.listLaddrs(cmd.key);
      case 'batch': return this.applyBatch(cmd.commands);
      case 'add-fwmark-match': return this.addFwmarkMatch(cmd.key, cmd.match);
      case 'del-fwmark-match': return this.deleteFwmarkMatch(cmd.key, cmd.match);
      case 'apply-config':
      case 'shutdown':
      case 'reload': throw new XvsError('EINVAL', `${cmd.op} is answered by the daemon`);
      case 'set-sorry-server':
        return this.setSorryServer(cmd.key, cmd.server && { ...cmd.server, weight: 1, uThreshold: 0, lThreshold: 0 });
      case 'set-health': case 'health': throw new XvsError('EINVAL', `${cmd.op} is answered by the daemon's health checker`);
      case 'set-timeouts': return this.setTimeouts(cmd.timeouts);
      case 'get-timeouts': return { ...this.timeouts };
      case 'list-conns': return this.listConns(monotonicNs());
      case 'start-sync': case 'stop-sync': case 'list-sync': throw new XvsError('EINVAL', `${cmd.op} is answered by the daemon's sync manager`);
    }
  }

  private get(key: ServiceKey, missing: 'ESRCH'): SvcState {
    const svc = this.services.get(serviceId(key));
    if (!svc) throw new XvsError(missing, `no such service ${serviceId(key)}`);
    return svc;
  }

  private static checkScheduler(spec: ServiceSpec): void {
    if (!IMPLEMENTED_SCHEDULERS.includes(spec.scheduler)) {
      throw new XvsError('EOPNOTSUPP', `scheduler ${spec.scheduler} is not implemented in xvs yet (available: ${IMPLEMENTED_SCHEDULERS.join(', ')})`);
    }
    if (spec.persistent !== 0) persistMask(spec);
    // A port-zero service takes every port of its VIP that has no service of its own; the kernel only
    // schedules for it when it is persistent (ip_vs_schedule: "port zero only supported in persistent
    // services"), and ipvsadm refuses to make one that is not.
    if (ServiceTable.portZero(spec) && spec.persistent === 0) throw new XvsError('EINVAL', 'port zero is only supported in persistent services');
  }

  /** A port-zero (all ports of its VIP) service: no fwmark, port 0. */
  private static portZero(spec: ServiceSpec): boolean {
    return !spec.fwmark && spec.port === 0;
  }

  /** Whether the service's connections keep the port the client asked for. ip_vs_sched_persist forwards
   *  to the dest's port only when the packet's port is the service's own; a port-zero service (always
   *  persistent) and a persistent fwmark service have none (svc->port is 0), so their connections keep
   *  it. A non-persistent fwmark service uses the dest's port (ip_vs_schedule: dest->port, or the
   *  packet's when the dest has none). */
  private static keepsClientPort(svc: SvcState): boolean {
    return svc.spec.fwmark ? svc.spec.persistent !== 0 : svc.spec.port === 0;
  }

  /** The port a dest has in the data path: none (0) where connections keep the client's (see above). */
  private static dpPort(svc: SvcState, port: number): number {
    return ServiceTable.keepsClientPort(svc) ? 0 : port;
  }

  private nullServices: boolean | undefined;

  /** Tells the data path whether a port-zero service exists (its service miss then tries port 0). */
  private syncNullServices(): void {
    const on = [...this.services.values()].some((s) => ServiceTable.portZero(s.spec));
    if (on !== this.nullServices) this.dp.setNullServices(on);
    this.nullServices = on;
  }

  addService(spec: ServiceSpec): void {
    const sid = serviceId(spec);
    if (this.services.has(sid)) throw new XvsError('EEXIST', `service ${sid} already exists`);
    if (this.claims.has(sid)) throw new XvsError('EEXIST', `${sid} is matched by fwmark service ${this.claims.get(sid)}`);
    if (!spec.fwmark && this.keysInUse() >= this.limits.maxServices) throw new XvsError('ENOMEM', 'the service table is full');
    ServiceTable.checkScheduler(spec);
    const id = this.adopting ? this.adoptId('svc', sid) : this.svcIds.alloc();
    if (id === null) throw new XvsError('ENOMEM', 'the service table is full');
    if (!this.adopting) {
      this.dp.resetRing(id);
      this.dp.zeroSvcStats(id);
    }
    const ctx = { ...defaultContext(), flags: spec.schedFlags ?? 0 };
    const svc: SvcState = { spec: { ...spec }, id, dests: [], ring: undefined as unknown as DecisionRing, baseline: zeroStats(), ctx };
    svc.ring = new DecisionRing(this.dp.ring(id), ServiceTable.ringScheduler(spec.scheduler, [], ctx, spec.onePacket), () => svc.dests.map((d) => d.sched));
    if (LOCALITY_SCHEDULERS.includes(spec.scheduler)) svc.locality = new LocalityTimer(monotonicNs());
    this.refill(svc);
    this.dp.setPersist(id, spec.persistent ? { timeoutS: spec.persistent, mask: persistMask(spec) } : null);
    // A fwmark service has no key of its own in the data path: its match entries point at its id.
    if (spec.fwmark) svc.matches = [];
    else this.dp.putService(spec, id, { onePacket: spec.onePacket });
    this.services.set(sid, svc);
    this.byId.set(id, svc);
    this.syncNullServices();
  }

  editService(spec: ServiceSpec): void {
    const svc = this.get(spec, 'ESRCH');
    ServiceTable.checkScheduler(spec);
    svc.ctx.flags = spec.schedFlags ?? 0;
    const wasPersistent = svc.spec.persistent !== 0;
    if (Boolean(spec.onePacket) !== Boolean(svc.spec.onePacket)) {
      // -E toggling -o: the data path's flag, and the ring's simulation mode (below).
      if (svc.matches) for (const m of svc.matches) for (const k of ServiceTable.matchKeys(m)) this.dp.putService(k, svc.id, { onePacket: spec.onePacket });
      else this.dp.putService(spec, svc.id, { onePacket: spec.onePacket });
      if (spec.scheduler === svc.spec.scheduler) svc.ring.replaceScheduler(ServiceTable.ringScheduler(spec.scheduler, svc.dests.map((d) => d.sched), svc.ctx, spec.onePacket));
    }
    if (spec.scheduler !== svc.spec.scheduler) {
      // ip_vs_edit_service: the old scheduler is unbound and the new one initialised on the current list.
      svc.ring.replaceScheduler(ServiceTable.ringScheduler(spec.scheduler, svc.dests.map((d) => d.sched), svc.ctx, spec.onePacket));
      // lblc/lblcr: done_service flushes the old cache, init_service starts an empty one and its timer.
      if (svc.locality) flushLocality(this.dp, svc.id);
      svc.locality = LOCALITY_SCHEDULERS.includes(spec.scheduler) ? new LocalityTimer(monotonicNs()) : undefined;
      svc.localitySent = undefined;
    }
    svc.spec = { ...spec };
    this.reweigh(svc); // -E -p on a fwmark service changes the dests' data-path port (dpPort)
    this.refill(svc);
    // Templates made under the old parameters keep their dest and timeout, as the kernel's do; a service
    // that stops being persistent drops them (nothing would look them up again).
    this.dp.setPersist(svc.id, spec.persistent ? { timeoutS: spec.persistent, mask: persistMask(spec) } : null);
    if (wasPersistent && !spec.persistent) for (const t of this.dp.templates()) if (t.svcId === svc.id) this.dp.deleteTemplate(t.key);
  }

  deleteService(key: ServiceKey): void {
    const svc = this.get(key, 'ESRCH');
    if (svc.matches) for (const m of svc.matches) this.releaseMatch(m);
    else this.dp.deleteService(svc.spec);
    if (svc.laddrs?.length) this.dp.setLaddrs(svc.id, { addrs: [], portMin: 0, portMax: 0 });
    if (svc.hasTable) this.dp.setSchedTable(svc.id, null);
    if (svc.locality) flushLocality(this.dp, svc.id);
    if (svc.spec.persistent) {
      // Its templates go with it (the id will be reused; the kernel's would only pin the dead service).
      this.dp.setPersist(svc.id, null);
      for (const t of this.dp.templates()) if (t.svcId === svc.id) this.dp.deleteTemplate(t.key);
    }
    for (const d of svc.dests) this.releaseDest(d);
    this.dp.resetRing(svc.id);
    this.svcIds.free(svc.id);
    this.byId.delete(svc.id);
    this.services.delete(serviceId(key));
    this.syncNullServices();
  }

  /** Entries of the xvs_svcs map in use: one per ordinary service, one per port of each fwmark match. */
  private keysInUse(): number {
    let n = this.claims.size;
    for (const svc of this.services.values()) if (!svc.matches) n++;
    return n;
  }

  private static matchKeys(m: FwmarkMatch): ServiceKey[] {
    const keys: ServiceKey[] = [];
    for (let port = m.portLo; port <= m.portHi; port++) keys.push({ protocol: m.protocol, addr: m.addr, port });
    return keys;
  }

  /**
   * xvs's fwmark: `match` (protocol, VIP, port range) selects packets for the fwmark service `key`, as an
   * iptables/nft rule setting the mark would for IPVS. Each port is one entry of xvs_svcs naming the
   * service's id, so all matches share its dests, ring and counters.
   */
  addFwmarkMatch(key: ServiceKey, match: FwmarkMatch): void {
    const svc = this.get(key, 'ESRCH');
    if (!svc.matches) throw new XvsError('EINVAL', `${serviceId(key)} is not a fwmark service`);
    if (net.isIPv6(match.addr) !== net.isIPv6(svc.spec.addr)) {
      throw new XvsError('EINVAL', `the match address and the fwmark service must be of the same address family (-6 for IPv6)`);
    }
    const keys = ServiceTable.matchKeys(match);
    for (const k of keys) {
      const id = serviceId(k);
      if (this.services.has(id)) throw new XvsError('EEXIST', `${id} is already a virtual service`);
      const owner = this.claims.get(id);
      if (owner) throw new XvsError('EEXIST', `${id} is already matched by fwmark service ${owner}`);
    }
    if (this.keysInUse() + keys.length > this.limits.maxServices) {
      throw new XvsError('ENOMEM', `the service table is full (${keys.length} ports would need as many entries)`);
    }
    for (const k of keys) {
      this.claims.set(serviceId(k), serviceId(svc.spec));
      this.dp.putService(k, svc.id, { onePacket: svc.spec.onePacket });
    }
    svc.matches.push({ ...match });
  }

  deleteFwmarkMatch(key: ServiceKey, match: FwmarkMatch): void {
    const svc = this.get(key, 'ESRCH');
    const i = svc.matches?.findIndex((m) => m.protocol === match.protocol && m.addr === match.addr && m.portLo === match.portLo && m.portHi === match.portHi) ?? -1;
    if (!svc.matches || i < 0) throw new XvsError('ENOENT', `no such match in ${serviceId(key)}`);
    this.releaseMatch(svc.matches[i]);
    svc.matches.splice(i, 1);
  }

  private releaseMatch(m: FwmarkMatch): void {
    for (const k of ServiceTable.matchKeys(m)) {
      this.dp.deleteService(k);
      this.claims.delete(serviceId(k));
    }
  }

  clear(): void {
    for (const svc of [...this.services.values()]) this.deleteService(svc.spec);
  }

  private findDest(svc: SvcState, key: DestKey): number {
    return svc.dests.findIndex((d) => !d.sorry && d.spec.addr === key.addr && d.spec.port === key.port);
  }

  /** The weight the scheduler uses: the configured one unless health says otherwise; see DestState.sorry. */
  private static effectiveWeight(svc: SvcState, d: DestState): number {
    if (d.sorry) return svc.dests.some((x) => !x.sorry && ServiceTable.effectiveWeight(svc, x) > 0) ? 0 : 1;
    if (d.health && !d.health.up) return 0;
    return d.health?.weight ?? d.spec.weight;
  }

  private static available(d: DestState): boolean {
    return !(d.health && !d.health.up && d.health.remove);
  }

  /** Brings every dest's scheduler weight and availability in line with spec, health and sorry state. */
  private reweigh(svc: SvcState): void {
    const changed = svc.dests.filter((d) => ServiceTable.effectiveWeight(svc, d) !== d.sched.weight);
    for (const d of svc.dests) {
      this.dp.putDest(d.id, { addr: d.spec.addr, port: ServiceTable.dpPort(svc, d.spec.port), fwd: d.spec.fwd, svcId: svc.id, available: ServiceTable.available(d) });
    }
    if (changed.length === 0) return;
    svc.ring.rewind();
    for (const d of changed) {
      d.sched.weight = ServiceTable.effectiveWeight(svc, d);
      if (d.sched.weight !== 0) d.sched.lastWeight = d.sched.weight; // dest->last_weight keeps the last non-zero
      svc.ring.scheduler.onUpdate(svc.dests.map((x) => x.sched), d.sched);
    }
    this.refill(svc);
  }

  /** Applies a health verdict to a dest (its configured weight is kept); false if nothing changed. */
  setDestHealth(key: ServiceKey, dest: DestKey, health: DestHealth | undefined): boolean {
    const svc = this.get(key, 'ESRCH');
    const i = this.findDest(svc, dest);
    if (i < 0) throw new XvsError('ENOENT', `no such destination ${destId(dest)}`);
    const d = svc.dests[i];
    if (JSON.stringify(d.health) === JSON.stringify(health)) return false;
    d.health = health ? { ...health } : undefined;
    this.reweigh(svc);
    return true;
  }

  /**
   * keepalived's sorry_server: `server` takes the service's new connections while none of its dests is
   * usable (all down or weight 0), and stops taking them as soon as one is. null removes it.
   */
  setSorryServer(key: ServiceKey, server: DestSpec | null): void {
    const svc = this.get(key, 'ESRCH');
    const old = svc.dests.findIndex((d) => d.sorry);
    if (server) ServiceTable.checkDest(svc, server);
    if (old >= 0) {
      const d = svc.dests[old];
      if (server && d.spec.addr === server.addr && d.spec.port === server.port && d.spec.fwd === server.fwd) return;
      svc.ring.rewind();
      svc.dests.splice(old, 1);
      svc.ring.scheduler.onDelete(svc.dests.map((x) => x.sched), d.sched, old);
      this.refill(svc);
      this.releaseDest(d);
    }
    if (!server) return;
    const id = this.adopting ? this.adoptId('dest', `${serviceId(svc.spec)}|sorry`) : this.destIds.alloc();
    if (id === null) throw new XvsError('ENOMEM', 'the destination table is full');
    if (!this.adopting) {
      this.dp.zeroDestStats(id);
      const stale = this.dp.destCounts(id);
      this.dp.adjustDestCounts(id, -stale.active, -stale.inactive);
    }
    const d: DestState = {
      spec: { ...server, weight: 1 }, id, baseline: zeroStats(), sorry: true,
      sched: { id, weight: 0, overloaded: false, addr: server.addr, port: server.port, lastWeight: 0 },
    };
    this.dp.putDest(id, { addr: server.addr, port: ServiceTable.dpPort(svc, server.port), fwd: server.fwd, svcId: svc.id, available: true });
    svc.ring.rewind();
    svc.dests.push(d);
    svc.ring.scheduler.onAdd(svc.dests.map((x) => x.sched), d.sched);
    this.refill(svc);
    this.reweigh(svc);
  }

  /** The sorry server of a service and whether it is taking new connections now. */
  sorryServer(key: ServiceKey): { server: DestSpec; active: boolean; destId: number } | null {
    const svc = this.get(key, 'ESRCH');
    const d = svc.dests.find((x) => x.sorry);
    return d ? { server: { ...d.spec }, active: d.sched.weight > 0, destId: d.id } : null;
  }

  /** FULLNAT: adds a local address to the service's pool (same family as the VIP). */
  addLaddr(key: ServiceKey, addr: string): void {
    const svc = this.get(key, 'ESRCH');
    const laddrs = svc.laddrs ?? [];
    if (net.isIPv6(addr) !== net.isIPv6(svc.spec.addr)) {
      throw new XvsError('EINVAL', 'the local address and the virtual service must be of the same address family');
    }
    if (laddrs.includes(addr)) throw new XvsError('EEXIST', `local address ${addr} already exists`);
    if (laddrs.length >= MAX_LADDRS) throw new XvsError('ENOMEM', `at most ${MAX_LADDRS} local addresses per service`);
    svc.laddrs = [...laddrs, addr];
    this.writeLaddrs(svc);
  }

  deleteLaddr(key: ServiceKey, addr: string): void {
    const svc = this.get(key, 'ESRCH');
    const laddrs = svc.laddrs ?? [];
    if (!laddrs.includes(addr)) throw new XvsError('ENOENT', `no such local address ${addr}`);
    svc.laddrs = laddrs.filter((a) => a !== addr);
    this.writeLaddrs(svc);
  }

  listLaddrs(key?: ServiceKey): LaddrView[] {
    const svcs = key ? [this.get(key, 'ESRCH')] : [...this.services.values()];
    return svcs.map((s) => ({ service: { protocol: s.spec.protocol, addr: s.spec.addr, port: s.spec.port }, laddrs: [...(s.laddrs ?? [])] }));
  }

  private writeLaddrs(svc: SvcState): void {
    this.dp.setLaddrs(svc.id, { addrs: svc.laddrs ?? [], portMin: DEFAULT_LPORT_RANGE.min, portMax: DEFAULT_LPORT_RANGE.max });
  }

  private static checkDest(svc: SvcState, dest: DestSpec): void {
    if (!IMPLEMENTED_FWD.has(dest.fwd)) {
      throw new XvsError('EOPNOTSUPP', `forwarding method ${dest.fwd} is not implemented in xvs yet`);
    }
    if (net.isIPv6(dest.addr) !== net.isIPv6(svc.spec.addr)) {
      throw new XvsError('EINVAL', 'the real server and the virtual service must be of the same address family');
    }
  }

  addDest(key: ServiceKey, dest: DestSpec): void {
    const svc = this.get(key, 'ESRCH');
    if (this.findDest(svc, dest) >= 0) throw new XvsError('EEXIST', `destination ${destId(dest)} already exists`);
    ServiceTable.checkDest(svc, dest);
    const id = this.adopting ? this.adoptId('dest', `${serviceId(svc.spec)}|${destId(dest)}`) : this.destIds.alloc();
    if (id === null) throw new XvsError('ENOMEM', 'the destination table is full');
    if (!this.adopting) {
      // A reused slot starts from zero: counters and live counts of its previous occupant are gone.
      this.dp.zeroDestStats(id);
      const stale = this.dp.destCounts(id);
      this.dp.adjustDestCounts(id, -stale.active, -stale.inactive);
    }
    this.dp.putDest(id, { addr: dest.addr, port: ServiceTable.dpPort(svc, dest.port), fwd: dest.fwd, svcId: svc.id, available: true });
    const d: DestState = {
      spec: { ...dest }, id, baseline: zeroStats(),
      sched: {
        id, weight: dest.weight, overloaded: false, uThreshold: dest.uThreshold, lThreshold: dest.lThreshold,
        addr: dest.addr, port: dest.port, lastWeight: dest.weight,
      },
    };
    svc.ring.rewind();
    svc.dests.unshift(d);
    svc.ring.scheduler.onAdd(svc.dests.map((x) => x.sched), d.sched);
    this.refill(svc);
    this.reweigh(svc);
  }

  editDest(key: ServiceKey, dest: DestSpec): void {
    const svc = this.get(key, 'ESRCH');
    const i = this.findDest(svc, dest);
    if (i < 0) throw new XvsError('ENOENT', `no such destination ${destId(dest)}`);
    ServiceTable.checkDest(svc, dest);
    const d = svc.dests[i];
    svc.ring.rewind();
    // __ip_vs_update_dest: a new upper threshold above the old one (or none) clears OVERLOAD.
    if (dest.uThreshold === 0 || dest.uThreshold > d.spec.uThreshold) d.sched.overloaded = false;
    d.spec = { ...dest };
    d.sched.uThreshold = dest.uThreshold;
    d.sched.lThreshold = dest.lThreshold;
    d.sched.weight = ServiceTable.effectiveWeight(svc, d);
    if (d.sched.weight !== 0) d.sched.lastWeight = d.sched.weight;
    this.dp.putDest(d.id, { addr: dest.addr, port: ServiceTable.dpPort(svc, dest.port), fwd: dest.fwd, svcId: svc.id, available: ServiceTable.available(d) });
    svc.ring.scheduler.onUpdate(svc.dests.map((x) => x.sched), d.sched);
    this.refill(svc);
    this.reweigh(svc);
  }

  deleteDest(key: ServiceKey, dest: DestKey): void {
    const svc = this.get(key, 'ESRCH');
    const i = this.findDest(svc, dest);
    if (i < 0) throw new XvsError('ENOENT', `no such destination ${destId(dest)}`);
    const d = svc.dests[i];
    svc.ring.rewind();
    svc.dests.splice(i, 1);
    svc.ring.scheduler.onDelete(svc.dests.map((x) => x.sched), d.sched, i);
    this.refill(svc);
    if (svc.locality) purgeLocalityDest(this.dp, svc.id, d.id);
    svc.localitySent?.dsched.delete(d.id);
    this.releaseDest(d);
    this.reweigh(svc);
  }

  private releaseDest(d: DestState): void {
    this.dp.clearDest(d.id);
    this.destIds.free(d.id);
  }

  /**
   * Refills a service's ring now, or (inside a batch) once at its end: the data path sees the result
   * of the whole batch, and a batch of 10,000 dest changes does not compute 10,000 ring fills. A
   * validation copy never fills rings.
   */
  private refill(svc: SvcState): void {
    if (this.refillMode === 'now') this.fillNow(svc);
    else if (this.refillMode === 'defer') this.refillPending.add(svc);
  }

  /** Brings a service's ring (from the live counts) and hash table up to date with its dests now. */
  private fillNow(svc: SvcState): void {
    this.syncCounts(svc, true);
    svc.ring.refill();
    this.syncSchedTable(svc);
  }

  /** Keeps every ring full; called on a short timer by the daemon. */
  refillRings(): number {
    let produced = 0;
    for (const svc of this.services.values()) {
      if (this.syncCounts(svc, false)) this.syncSchedTable(svc);
      produced += svc.ring.refill();
    }
    this.expireLocality(monotonicNs());
    return produced;
  }

  /**
   * The ring a service's decisions come from: its scheduler's sequence, or for lblc/lblcr (whose cache
   * the data path keeps) wlc's: __ip_vs_lblc_schedule() and __ip_vs_lblcr_schedule() are wlc's rule.
   */
  private static ringScheduler(name: ServiceSpec['scheduler'], dests: readonly SchedDest[], ctx: SchedContext, onePacket = false) {
    // -o: a one-packet "connection" is gone again before the next datagram is scheduled (the kernel
    // expires it right after transmission), so the counts a pick sees are not raised by earlier picks.
    return createScheduler(LOCALITY_SCHEDULERS.includes(name) ? 'wlc' : name, dests, { simulate: !onePacket, ctx });
  }

  /** Runs the lblc/lblcr services' expiry timers whose deadlines have passed (src/control/lblc.ts). */
  expireLocality(nowNs: bigint): number {
    let entries: ReturnType<Datapath['localityEntries']> | null = null;
    let removed = 0;
    for (const svc of this.services.values()) {
      if (!svc.locality || svc.locality.deadline > nowNs) continue;
      entries ??= this.dp.localityEntries();
      const mine = entries.filter((e) => e.svcId === svc.id);
      const exp = svc.spec.scheduler === 'lblcr' ? this.lblcrExpirationS : this.lblcExpirationS;
      for (const e of svc.locality.run(nowNs, mine, exp)) if (this.dp.deleteLocality(e.key)) removed++;
    }
    return removed;
  }

  /**
   * lblc/lblcr's side of the data path: the service's dest list (is_overloaded() walks it) and lblcr's
   * expiration in its table, each dest's weight and OVERLOAD flag in xvs_dsched — written when changed.
   */
  private syncLocality(svc: SvcState): void {
    const sent = (svc.localitySent ??= { tab: '', dsched: new Map() });
    const ids = svc.dests.map((d) => d.id);
    const param = svc.spec.scheduler === 'lblcr' ? this.lblcrExpirationS : 0;
    const sig = `${svc.spec.scheduler} ${param} ${ids.join(',')}`;
    for (const d of svc.dests) {
      const v = `${d.sched.weight} ${d.sched.overloaded}`;
      if (sent.dsched.get(d.id) === v) continue;
      this.dp.setDestSched(d.id, d.sched.weight, d.sched.overloaded);
      sent.dsched.set(d.id, v);
    }
    if (sent.tab === sig && svc.hasTable) return;
    this.dp.setSchedTable(svc.id, { kind: SCHED_KIND[svc.spec.scheduler as 'lblc' | 'lblcr'], flags: 0, slots: Uint32Array.from(ids), param });
    svc.hasTable = true;
    sent.tab = sig;
  }

  /** Writes the hash scheduler's table for the data path (or removes one the service no longer needs). */
  private syncSchedTable(svc: SvcState): void {
    if (svc.locality) {
      this.syncLocality(svc);
      return;
    }
    const tab = schedTable(svc.ring.scheduler, svc.dests.map((d) => d.sched), svc.ctx.flags);
    if (tab) {
      this.dp.setSchedTable(svc.id, tab);
      svc.hasTable = true;
    } else if (svc.hasTable) {
      this.dp.setSchedTable(svc.id, null);
      svc.hasTable = false;
    }
  }

  /**
   * Brings the schedulers' view of the live counters, and the OVERLOAD flag the thresholds derive from
   * them, up to date; when either moved the ring is re-simulated from the consumer position (see
   * DecisionRing.resync). Only services whose decisions depend on counts pay for the read.
   */
  private syncCounts(svc: SvcState, force: boolean): boolean {
    const counting = COUNTING_SCHEDULERS.includes(svc.spec.scheduler) || svc.locality !== undefined;
    if (!counting && !svc.dests.some((d) => d.spec.uThreshold !== 0 || d.sched.overloaded)) return false;
    let moved = force;
    for (const d of svc.dests) {
      const c = this.dp.destCounts(d.id);
      const s = d.sched;
      if (s.activeConns !== c.active || s.inactConns !== c.inactive) {
        s.activeConns = c.active;
        s.inactConns = c.inactive;
        moved = true;
      }
      const over = thresholdOverload(s.overloaded, c.active + c.inactive, d.spec.uThreshold, d.spec.lThreshold);
      if (over !== s.overloaded) {
        s.overloaded = over;
        moved = true;
      }
    }
    if (moved) svc.ring.resync();
    return moved;
  }

  /** ip_vs_set_timeout(): a 0 leaves that timeout as it is. */
  setTimeouts(t: Timeouts): void {
    this.timeouts = {
      tcp: t.tcp || this.timeouts.tcp, tcpfin: t.tcpfin || this.timeouts.tcpfin, udp: t.udp || this.timeouts.udp,
    };
  }

  /** The connection table as ipvsadm -Lc shows it (connections of deleted dests are left out). */
  listConns(nowNs: bigint): ConnView[] {
    const dests = new Map<number, DestState>();
    const allPorts = new Set<number>(); // dests whose connections keep the client's port (keepsClientPort)
    for (const s of this.services.values()) {
      for (const d of s.dests) {
        dests.set(d.id, d);
        if (ServiceTable.keepsClientPort(s)) allPorts.add(d.id);
      }
    }
    const out: ConnView[] = [];
    for (const c of this.dp.conns()) {
      const d = dests.get(c.destId);
      if (!d) continue;
      const left = BigInt(timeoutFor(c.protocol, c.state, this.timeouts)) * 1_000_000_000n - (nowNs - c.lastSeenNs);
      out.push({
        protocol: c.protocol, caddr: c.caddr, cport: c.cport, vaddr: c.vaddr, vport: c.vport, daddr: d.spec.addr,
        dport: allPorts.has(d.id) ? c.vport : d.spec.port,
        state: c.protocol === 'udp' ? 'UDP' : (TCP_STATE_NAMES[c.state] ?? 'NONE'),
        expires: left > 0n ? Number(left / 1_000_000_000n) : 0,
      });
    }
    if (this.anyPersistent()) out.push(...this.listTemplates(nowNs, dests));
    return out;
  }

  private anyPersistent(): boolean {
    for (const s of this.services.values()) if (s.spec.persistent) return true;
    return false;
  }

  /**
   * Templates as /proc/net/ip_vs_conn lists them (ip_vs_sched_persist's <protocol, caddr & mask, 0,
   * vaddr, vport, daddr, dport>): client port 0; vport 0 for a port-zero or FTP (21) service; a fwmark
   * service's template has protocol IP and the fwmark as its virtual address. State NONE or ASSURED.
   */
  private listTemplates(nowNs: bigint, dests: Map<number, DestState>): ConnView[] {
    const byId = new Map<number, SvcState>();
    for (const s of this.services.values()) byId.set(s.id, s);
    const out: ConnView[] = [];
    for (const t of this.dp.templates()) {
      const svc = byId.get(t.svcId);
      const d = dests.get(t.destId);
      if (!svc || !d) continue;
      const left = BigInt(t.timeoutS) * 1_000_000_000n - (nowNs - t.lastSeenNs);
      const fwmark = svc.spec.fwmark;
      const v6 = net.isIPv6(t.caddr);
      const markAddr = (m: number): string =>
        v6 ? `${((m >>> 16) & 0xffff).toString(16)}:${(m & 0xffff).toString(16)}::` : `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
      out.push({
        protocol: fwmark ? 'ip' : svc.spec.protocol, caddr: t.caddr, cport: 0,
        vaddr: fwmark ? markAddr(fwmark) : svc.spec.addr, vport: fwmark || svc.spec.port === 21 ? 0 : svc.spec.port,
        // ip_vs_sched_persist: the template's dport is the dest's only for a packet to the service's own
        // port, and never for FTP: 0 for fwmark, port-zero and FTP services.
        daddr: d.spec.addr, dport: fwmark || svc.spec.port === 21 || svc.spec.port === 0 ? 0 : d.spec.port,
        state: t.assured ? 'ASSURED' : 'NONE',
        expires: left > 0n ? Number(left / 1_000_000_000n) : 0,
      });
    }
    return out;
  }

  /** dest->persistconns: templates per dest id. */
  private persistCounts(): Map<number, number> {
    const n = new Map<number, number>();
    if (!this.anyPersistent()) return n;
    for (const t of this.dp.templates()) n.set(t.destId, (n.get(t.destId) ?? 0) + 1);
    return n;
  }

  /** The masks of persistent services by id (the GC matches connections to their templates). */
  persistMasks(): Map<number, string> {
    const out = new Map<number, string>();
    for (const s of this.services.values()) if (s.spec.persistent) out.set(s.id, persistMask(s.spec));
    return out;
  }

  /** Services and dests as ipvsadm lists them (the kernel's order; the CLI sorts like ipvsadm). */
  /**
   * As IPVS under keepalived, by default a dest quiesced by its health check lists weight 0, and one
   * removed by it is not listed; the sorry server never is. `hidden`: every dest (metrics).
   * `configured`: every real server with its configured weight (the config file's diff).
   */
  list(key?: ServiceKey, opts: { hidden?: boolean; configured?: boolean } = {}): ServiceView[] {
    const svcs = key ? [this.get(key, 'ESRCH')] : [...this.services.values()];
    const shown = (d: DestState): boolean =>
      Boolean(opts.hidden) || (opts.configured ? !d.sorry : !d.sorry && ServiceTable.available(d));
    const persist = this.persistCounts();
    return svcs.map((svc) => ({
      ...svc.spec,
      ...(svc.matches ? { matches: svc.matches.map((m) => ({ ...m })) } : {}),
      ...(svc.laddrs?.length ? { laddrs: [...svc.laddrs] } : {}),
      stats: subtractStats(this.dp.svcStats(svc.id), svc.baseline),
      dests: svc.dests.filter(shown).map((d): DestView => {
        const c = this.dp.destCounts(d.id);
        return {
          ...d.spec, weight: opts.configured ? d.spec.weight : d.sched.weight, activeConns: c.active, inactConns: c.inactive, persistConns: persist.get(d.id) ?? 0,
          stats: subtractStats(this.dp.destStats(d.id), d.baseline),
        };
      }),
    }));
  }

  /**
   * ipvsadm -Z (ip_vs_zero_service / ip_vs_zero_all): the service's and its dests' counters read zero
   * from now on. The data path's per-CPU counters keep running; the table remembers a baseline.
   */
  zero(key?: ServiceKey): void {
    const svcs = key ? [this.get(key, 'ESRCH')] : [...this.services.values()];
    for (const svc of svcs) {
      svc.baseline = this.dp.svcStats(svc.id);
      for (const d of svc.dests) d.baseline = this.dp.destStats(d.id);
    }
  }

  /** The table as the commands that rebuild it (services oldest first, dests in insertion order). */
  specs(): SingleCommand[] {
    const out: SingleCommand[] = [];
    for (const svc of this.services.values()) {
      out.push({ op: 'add-service', service: { ...svc.spec } });
      for (const m of svc.matches ?? []) out.push({ op: 'add-fwmark-match', key: svc.spec, match: { ...m } });
      for (const addr of svc.laddrs ?? []) out.push({ op: 'add-laddr', key: svc.spec, addr });
      for (const d of [...svc.dests].reverse()) if (!d.sorry) out.push({ op: 'add-dest', key: svc.spec, dest: { ...d.spec } });
    }
    return out;
  }

  /**
   * Applies `cmds` in order, all or none: first on a copy of the table over the in-memory datapath,
   * so every check (existence, limits, implemented features) runs before anything real changes. A
   * failure names the index of the failing command (XvsError.index).
   */
  applyBatch(cmds: readonly SingleCommand[]): unknown[] {
    const copy = new ServiceTable(new FakeDatapath(), this.limits);
    copy.refillMode = 'never';
    for (const c of this.specs()) copy.execute(c);
    cmds.forEach((c, index) => {
      if (c.op === 'list' || c.op === 'info') throw new XvsError('EINVAL', `${c.op} cannot be part of a batch`, { index });
      try {
        copy.execute(c);
      } catch (e) {
        if (e instanceof XvsError) throw new XvsError(e.code, e.message, { index, cause: e });
        throw e;
      }
    });
    this.refillMode = 'defer';
    try {
      return cmds.map((c) => this.execute(c));
    } finally {
      this.refillMode = 'now';
      for (const svc of this.refillPending) {
        if (this.services.get(serviceId(svc.spec)) !== svc) continue;
        this.fillNow(svc);
      }
      this.refillPending.clear();
    }
  }

  private adoptId(kind: 'svc' | 'dest', name: string): number {
    const id = this.adopting![kind].get(name);
    const ids = kind === 'svc' ? this.svcIds : this.destIds;
    if (id === undefined || !ids.take(id)) throw new XvsError('INTERNAL', `the saved table has no usable ${kind} id for ${name}`);
    return id;
  }

  /**
   * The table as a restarted xvsd needs it to adopt the pinned data path (src/daemon/state.ts): every
   * service and dest with its map id (connections name them), counter baselines and health verdicts.
   */
  snapshot(): TableSnapshot {
    const big = (st: Stats): Record<keyof Stats, string> =>
      ({ conns: `${st.conns}`, inpkts: `${st.inpkts}`, outpkts: `${st.outpkts}`, inbytes: `${st.inbytes}`, outbytes: `${st.outbytes}` });
    return {
      timeouts: { ...this.timeouts },
      services: [...this.services.values()].map((svc) => ({
        spec: { ...svc.spec }, id: svc.id, baseline: big(svc.baseline),
        laddrs: [...(svc.laddrs ?? [])], matches: (svc.matches ?? []).map((m) => ({ ...m })),
        // Oldest first, as they were added (the kernel's list has the newest at the head).
        dests: [...svc.dests].reverse().map((d) => ({
          spec: { ...d.spec }, id: d.id, baseline: big(d.baseline),
          ...(d.health ? { health: { ...d.health } } : {}), ...(d.sorry ? { sorry: true as const } : {}),
        })),
      })),
    };
  }

  /**
   * Rebuilds the table of a previous xvsd over the data path it left pinned: the same ids, no ring
   * reset, no counter zeroing, so its connections, counters and decisions carry on. Only for an empty
   * table; all or nothing (a failure leaves the table empty again, the maps untouched but for rewrites
   * of identical entries).
   */
  adopt(snap: TableSnapshot): void {
    if (this.services.size) throw new XvsError('EINVAL', 'adopt needs an empty table');
    const svcIds = new Map<string, number>();
    const destIdsByName = new Map<string, number>();
    for (const s of snap.services) {
      svcIds.set(serviceId(s.spec), s.id);
      for (const d of s.dests) destIdsByName.set(`${serviceId(s.spec)}|${d.sorry ? 'sorry' : destId(d.spec)}`, d.id);
    }
    const unbig = (b: Record<keyof Stats, string>): Stats =>
      ({ conns: BigInt(b.conns), inpkts: BigInt(b.inpkts), outpkts: BigInt(b.outpkts), inbytes: BigInt(b.inbytes), outbytes: BigInt(b.outbytes) });
    this.adopting = { svc: svcIds, dest: destIdsByName };
    this.refillMode = 'defer';
    try {
      this.timeouts = { ...snap.timeouts };
      for (const s of snap.services) {
        this.addService(s.spec);
        for (const m of s.matches) this.addFwmarkMatch(s.spec, m);
        for (const a of s.laddrs) this.addLaddr(s.spec, a);
        for (const d of s.dests) {
          if (d.sorry) this.setSorryServer(s.spec, d.spec);
          else this.addDest(s.spec, d.spec);
        }
        const svc = this.get(s.spec, 'ESRCH');
        svc.baseline = unbig(s.baseline);
        for (const d of s.dests) {
          const ds = svc.dests.find((x) => x.id === d.id)!;
          ds.baseline = unbig(d.baseline);
          if (d.health) ds.health = { ...d.health };
        }
      }
    } catch (e) {
      this.adopting = null;
      this.refillMode = 'now';
      this.refillPending.clear();
      this.forget();
      throw e;
    }
    this.adopting = null;
    this.refillMode = 'now';
    for (const svc of this.services.values()) this.reweigh(svc);
    for (const svc of this.refillPending) this.fillNow(svc);
    this.refillPending.clear();
  }

  /** Drops the in-memory table without touching the data path (a failed adopt). */
  private forget(): void {
    for (const svc of this.services.values()) {
      this.svcIds.free(svc.id);
      for (const d of svc.dests) this.destIds.free(d.id);
    }
    this.services.clear();
    this.byId.clear();
    this.claims.clear();
  }

  /** Sync master: what a connection's ids stand for (its service's fwmark, its real server). */
  syncIdentity(svcId: number, destIdN: number): { fwmark: number; daddr: string; dport: number; fwd: DestSpec['fwd']; service: ServiceKey; persistMask?: string; persistTimeout?: number } | null {
    const svc = this.byId.get(svcId);
    if (svc) {
      const d = svc.dests.find((x) => x.id === destIdN);
      return d ? {
        fwmark: svc.spec.fwmark ?? 0, daddr: d.spec.addr, dport: d.spec.port, fwd: d.spec.fwd,
        service: { protocol: svc.spec.protocol, addr: svc.spec.addr, port: svc.spec.port },
        ...(svc.spec.persistent ? { persistMask: persistMask(svc.spec), persistTimeout: svc.spec.persistent } : {}),
      } : null;
    }
    return null;
  }

  /** Sync backup: this director's ids for a synced connection: the service that gets packets for
   * protocol VIP:vport (its own or a fwmark service's match) and its real server daddr:dport. */
  syncTarget(c: { protocol: 'tcp' | 'udp'; vaddr: string; vport: number; daddr: string; dport: number; fwmark?: number; template?: boolean }): { svcId: number; destId: number; fwd: DestSpec['fwd'] } | null {
    // A template names its service itself (a fwmark service by its mark); a connection by the packet's
    // VIP:vport, which a fwmark service's match may claim.
    const sid = c.template && c.fwmark ? serviceId({ protocol: c.protocol, addr: c.vaddr, port: 0, fwmark: c.fwmark })
      : serviceId({ protocol: c.protocol, addr: c.vaddr, port: c.vport });
    // As the data path: the exact service, a fwmark match, else the VIP's port-zero service.
    const svc = this.services.get(sid) ?? this.services.get(this.claims.get(sid) ?? '')
      ?? (c.fwmark ? undefined : this.services.get(serviceId({ protocol: c.protocol, addr: c.vaddr, port: 0 })));
    if (!svc) return null;
    const d = svc.dests.find((x) => x.spec.addr === c.daddr && x.spec.port === c.dport);
    return d ? { svcId: svc.id, destId: d.id, fwd: d.spec.fwd } : null;
  }

  hasService(key: ServiceKey): boolean {
    return this.services.has(serviceId(key));
  }

  /** Every real server (listed or removed by health; not sorry servers), for the health checker. */
  realServers(): { service: ServiceKey; dest: DestSpec }[] {
    return [...this.services.values()].flatMap((s) => s.dests.filter((d) => !d.sorry).map((d) => ({
      service: { protocol: s.spec.protocol, addr: s.spec.addr, port: s.spec.port }, dest: { ...d.spec },
    })));
  }

  /** Dest ids currently in use, for the GC and the neighbour keeper. */
  destinations(): { id: number; addr: string; svcId: number }[] {
    return [...this.services.values()].flatMap((s) => s.dests.map((d) => ({ id: d.id, addr: d.spec.addr, svcId: s.id })));
  }

  get size(): number {
    return this.services.size;
  }
}

/**
 * IP_VS_DEST_F_OVERLOAD as the thresholds leave it: ip_vs_bind_dest() sets it once active + inactive
 * reaches the upper threshold; ip_vs_unbind_dest() clears it below the lower threshold, or below 3/4 of
 * the upper one when there is no lower threshold. Totals only rise at bind and fall at unbind, so
 * evaluating the rules on the counters the data path keeps gives the kernel's flag at each refill.
 */
/**
 * A persistent service's client mask as an address of its family (struct xvs_persist.mask): -M's
 * dotted netmask for IPv4 (any value, as the kernel takes it), the prefix length (1..128, the kernel's
 * check) as a mask for IPv6, where the IPv4-style default means /128.
 */
export function persistMask(spec: ServiceSpec): string {
  const v6 = net.isIPv6(spec.addr);
  if (!v6) {
    if (!net.isIPv4(spec.netmask)) throw new XvsError('EINVAL', `invalid persistence netmask ${spec.netmask}`);
    return spec.netmask;
  }
  const prefix = /^\d+$/.test(spec.netmask) ? Number(spec.netmask) : spec.netmask === '255.255.255.255' ? 128 : NaN;
  if (!(prefix >= 1 && prefix <= 128)) throw new XvsError('EINVAL', `invalid IPv6 persistence prefix length ${spec.netmask}`);
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, prefix - 16 * i));
    groups.push(((0xffff << (16 - bits)) & 0xffff).toString(16));
  }
  return groups.join(':');
}

export function thresholdOverload(prev: boolean, total: number, u: number, l: number): boolean {
  if (u !== 0 && total >= u) return true;
  if (!prev) return false;
  if (l !== 0) return total >= l;
  if (u !== 0) return total * 4 >= u * 3;
  return false;
}
