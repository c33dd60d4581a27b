// src/datapath/fake-datapath.ts — an in-memory Datapath for control-plane unit tests (no root, no BPF).
// Rings are real ArrayBuffer-backed rings; `consume()` plays the data path taking decisions.
import type { ConnEntry, Datapath, DestCounts, DestEntry, LaddrPool, LocalityEntry, PersistParams, SchedTable, TemplateEntry } from './datapath.js';
import { serviceId, zeroStats, type ServiceKey, type Stats } from '../model/service.js';
import type { RingPort } from '../sched/ring.js';
import { LBLC_SET_MAX, REASONS, RING_MASK, type ReasonName } from './abi.js';

class MemRing implements RingPort {
  consIdx = 0n;
  prodIdx = 0n;
  readonly slots = new Uint32Array(RING_MASK + 1);
  cons(): bigint { return this.consIdx; }
  prod(): bigint { return this.prodIdx; }
  writeSlot(index: bigint, destId: number): void { this.slots[Number(index & BigInt(RING_MASK))] = destId; }
  publish(prod: bigint): void { this.prodIdx = prod; }
}

export class FakeDatapath implements Datapath {
  readonly connTableSize = 4096;
  readonly services = new Map<string, { key: ServiceKey; id: number }>();
  readonly dests = new Map<number, DestEntry>();
  readonly rings = new Map<number, MemRing>();
  readonly counts = new Map<number, DestCounts>();
  readonly connTable = new Map<string, ConnEntry>();
  txPorts: number[] = [];
  readonly laddrs = new Map<number, LaddrPool>();

  putService(key: ServiceKey, id: number): void { this.services.set(serviceId(key), { key, id }); }
  deleteService(key: ServiceKey): void { this.services.delete(serviceId(key)); }
  putDest(id: number, dest: DestEntry): void { this.dests.set(id, { ...dest }); }
  clearDest(id: number): void { this.dests.delete(id); }
  ring(svcId: number): MemRing {
    let r = this.rings.get(svcId);
    if (!r) this.rings.set(svcId, (r = new MemRing()));
    return r;
  }
  resetRing(svcId: number): void { this.rings.set(svcId, new MemRing()); }
  /** Plays the data path: takes the next decision of a service's ring (a dest id, or DEST_NONE). */
  consume(svcId: number): number {
    const r = this.ring(svcId);
    const i = r.consIdx++;
    return r.slots[Number(i & BigInt(RING_MASK))];
  }
  destCounts(destId: number): DestCounts { return { ...(this.counts.get(destId) ?? { active: 0, inactive: 0 }) }; }
  adjustDestCounts(destId: number, dActive: number, dInactive: number): void {
    const c = this.counts.get(destId) ?? { active: 0, inactive: 0 };
    this.counts.set(destId, { active: c.active + dActive, inactive: c.inactive + dInactive });
  }
  svcStats(): Stats { return zeroStats(); }
  destStats(): Stats { return zeroStats(); }
  zeroSvcStats(): void {}
  zeroDestStats(): void {}
  reasons(): Record<ReasonName, bigint> { return Object.fromEntries(REASONS.map((r) => [r, 0n])) as Record<ReasonName, bigint>; }
  conns(): ConnEntry[] { return [...this.connTable.values()]; }
  conn(key: Buffer): ConnEntry | null { return this.connTable.get(key.toString('hex')) ?? null; }
  deleteConn(key: Buffer): boolean { return this.connTable.delete(key.toString('hex')); }
  setLaddrs(svcId: number, pool: LaddrPool): void {
    if (pool.addrs.length === 0) this.laddrs.delete(svcId);
    else this.laddrs.set(svcId, { ...pool, addrs: [...pool.addrs] });
  }
  setTxPorts(ifindexes: number[]): void { this.txPorts = [...ifindexes]; }
  nullServices = false;
  setNullServices(on: boolean): void { this.nullServices = on; }
  readonly schedTables = new Map<number, SchedTable>();
  setSchedTable(svcId: number, table: SchedTable | null): void {
    if (table) this.schedTables.set(svcId, { ...table, slots: Uint32Array.from(table.slots) });
    else this.schedTables.delete(svcId);
  }
  readonly persist = new Map<number, PersistParams>();
  setPersist(svcId: number, params: PersistParams | null): void {
    if (params) this.persist.set(svcId, { ...params });
    else this.persist.delete(svcId);
  }
  readonly tmplTable = new Map<string, TemplateEntry>();
  templates(): TemplateEntry[] { return [...this.tmplTable.values()]; }
  template(key: Buffer): TemplateEntry | null { return this.tmplTable.get(key.toString('hex')) ?? null; }
  updateTemplate(key: Buffer, change: { lastSeenNs?: bigint; assured?: boolean }): boolean {
    const t = this.tmplTable.get(key.toString('hex'));
    if (!t) return false;
    if (change.lastSeenNs !== undefined) t.lastSeenNs = change.lastSeenNs;
    if (change.assured !== undefined) t.assured = change.assured;
    return true;
  }
  deleteTemplate(key: Buffer): boolean { return this.tmplTable.delete(key.toString('hex')); }
  readonly dsched = new Map<number, { weight: number; overloaded: boolean }>();
  setDestSched(destId: number, weight: number, overloaded: boolean): void { this.dsched.set(destId, { weight, overloaded }); }
  /** struct xvs_lblc entries by hex key (src/datapath/fake-locality.ts plays the data path's side). */
  readonly lblcTable = new Map<string, LocalityEntry>();
  localityEntries(): LocalityEntry[] { return [...this.lblcTable.values()].map((e) => ({ ...e, dests: [...e.dests] })); }
  updateLocality(key: Buffer, change: { dests?: number[]; lastModNs?: bigint }): boolean {
    const e = this.lblcTable.get(key.toString('hex'));
    if (!e) return false;
    if (change.dests) e.dests = change.dests.slice(0, LBLC_SET_MAX);
    if (change.lastModNs !== undefined) e.lastModNs = change.lastModNs;
    return true;
  }
  deleteLocality(key: Buffer): boolean { return this.lblcTable.delete(key.toString('hex')); }
  close(): void {}
}
