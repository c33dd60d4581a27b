// src/control/table.ts — the virtual service table: applies Commands to the model and programs the data
// path through the Datapath facade. Errors carry the errno IPVS would return, so every edge can print
// ipvsadm's message. A command either applies whole or changes nothing (checks come before writes).
import net from 'node:net';
import type { Command } from '../model/command.js';
import {
  IMPLEMENTED_SCHEDULERS, serviceId, destId,
  type DestKey, type DestSpec, type DestView, type ServiceKey, type ServiceSpec, type ServiceView,
} from '../model/service.js';
import { XvsError } from '../model/errors.js';
import type { Datapath } from '../datapath/datapath.js';
import { DecisionRing } from '../sched/ring.js';
import { createScheduler } from '../sched/index.js';
import type { SchedDest } from '../sched/types.js';
import { IdAllocator } from './ids.js';

export interface TableLimits {
  maxServices: number;
  maxDests: number;
}

interface DestState {
  spec: DestSpec;
  id: number;
  sched: SchedDest;
}

interface SvcState {
  spec: ServiceSpec;
  id: number;
  /** In the kernel's list order: the newest dest first (list_add at the head). */
  dests: DestState[];
  ring: DecisionRing;
}

/** Forwarding methods the data path implements so far. */
const IMPLEMENTED_FWD = new Set(['route']);

export class ServiceTable {
  private readonly services = new Map<string, SvcState>();
  private readonly svcIds: IdAllocator;
  private readonly destIds: IdAllocator;

  constructor(private readonly dp: Datapath, limits: TableLimits) {
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
    if (spec.persistent !== 0) throw new XvsError('EOPNOTSUPP', 'persistent services are not implemented in xvs yet');
  }

  addService(spec: ServiceSpec): void {
    const sid = serviceId(spec);
    if (this.services.has(sid)) throw new XvsError('EEXIST', `service ${sid} already exists`);
    ServiceTable.checkScheduler(spec);
    const id = this.svcIds.alloc();
    if (id === null) throw new XvsError('ENOMEM', 'the service table is full');
    this.dp.resetRing(id);
    this.dp.zeroSvcStats(id);
    const svc: SvcState = { spec: { ...spec }, id, dests: [], ring: undefined as unknown as DecisionRing };
    svc.ring = new DecisionRing(this.dp.ring(id), createScheduler(spec.scheduler, []), () => svc.dests.map((d) => d.sched));
    svc.ring.refill();
    this.dp.putService(spec, id);
    this.services.set(sid, svc);
  }

  editService(spec: ServiceSpec): void {
    const svc = this.get(spec, 'ESRCH');
    ServiceTable.checkScheduler(spec);
    if (spec.scheduler !== svc.spec.scheduler) {
      // ip_vs_edit_service: the old scheduler is unbound and the new one initialised on the current list.
      svc.ring.replaceScheduler(createScheduler(spec.scheduler, svc.dests.map((d) => d.sched)));
      svc.ring.refill();
    }
    svc.spec = { ...spec };
  }

  deleteService(key: ServiceKey): void {
    const svc = this.get(key, 'ESRCH');
    this.dp.deleteService(svc.spec);
    for (const d of svc.dests) this.releaseDest(d);
    this.dp.resetRing(svc.id);
    this.svcIds.free(svc.id);
    this.services.delete(serviceId(key));
  }

  clear(): void {
    for (const svc of [...this.services.values()]) this.deleteService(svc.spec);
  }

  private findDest(svc: SvcState, key: DestKey): number {
    return svc.dests.findIndex((d) => d.spec.addr === key.addr && d.spec.port === key.port);
  }

  private static checkDest(svc: SvcState, dest: DestSpec): void {
    if (!IMPLEMENTED_FWD.has(dest.fwd)) {
      throw new XvsError('EOPNOTSUPP', `forwarding method ${dest.fwd} is not implemented in xvs yet (only route, -g)`);
    }
    if (net.isIPv6(dest.addr) !== net.isIPv6(svc.spec.addr)) {
      throw new XvsError('EINVAL', 'the real server and the virtual service must be of the same address family');
    }
  }

  addDest(key: ServiceKey, dest: DestSpec): void {
    const svc = this.get(key, 'ESRCH');
    if (this.findDest(svc, dest) >= 0) throw new XvsError('EEXIST', `destination ${destId(dest)} already exists`);
    ServiceTable.checkDest(svc, dest);
    const id = this.destIds.alloc();
    if (id === null) throw new XvsError('ENOMEM', 'the destination table is full');
    // A reused slot starts from zero: counters and live counts of its previous occupant are gone.
    this.dp.zeroDestStats(id);
    const stale = this.dp.destCounts(id);
    this.dp.adjustDestCounts(id, -stale.active, -stale.inactive);
    this.dp.putDest(id, { addr: dest.addr, port: dest.port, fwd: dest.fwd, svcId: svc.id, available: true });
    const d: DestState = { spec: { ...dest }, id, sched: { id, weight: dest.weight, overloaded: false } };
    svc.ring.rewind();
    svc.dests.unshift(d);
    svc.ring.scheduler.onAdd(svc.dests.map((x) => x.sched), d.sched);
    svc.ring.refill();
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
    d.sched.weight = dest.weight;
    this.dp.putDest(d.id, { addr: dest.addr, port: dest.port, fwd: dest.fwd, svcId: svc.id, available: true });
    svc.ring.scheduler.onUpdate(svc.dests.map((x) => x.sched), d.sched);
    svc.ring.refill();
  }

  deleteDest(key: ServiceKey, dest: DestKey): void {
    const svc = this.get(key, 'ESRCH');
    const i = this.findDest(svc, dest);
    if (i < 0) throw new XvsError('ENOENT', `no such destination ${destId(dest)}`);
    const d = svc.dests[i];
    svc.ring.rewind();
    svc.dests.splice(i, 1);
    svc.ring.scheduler.onDelete(svc.dests.map((x) => x.sched), d.sched, i);
    svc.ring.refill();
    this.releaseDest(d);
  }

  private releaseDest(d: DestState): void {
    this.dp.clearDest(d.id);
    this.destIds.free(d.id);
  }

  /** Keeps every ring full; called on a short timer by the daemon. */
  refillRings(): void {
    for (const svc of this.services.values()) svc.ring.refill();
  }

  /** Services and dests as ipvsadm lists them (the kernel's order; the CLI sorts like ipvsadm). */
  list(key?: ServiceKey): ServiceView[] {
    const svcs = key ? [this.get(key, 'ESRCH')] : [...this.services.values()];
    return svcs.map((svc) => ({
      ...svc.spec,
      stats: this.dp.svcStats(svc.id),
      dests: svc.dests.map((d): DestView => {
        const c = this.dp.destCounts(d.id);
        return { ...d.spec, activeConns: c.active, inactConns: c.inactive, persistConns: 0, stats: this.dp.destStats(d.id) };
      }),
    }));
  }

  /** Dest ids currently in use, for the GC and the neighbour keeper. */
  destinations(): { id: number; addr: string; svcId: number }[] {
    return [...this.services.values()].flatMap((s) => s.dests.map((d) => ({ id: d.id, addr: d.spec.addr, svcId: s.id })));
  }

  get size(): number {
    return this.services.size;
  }
}
