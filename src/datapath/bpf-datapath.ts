// src/datapath/bpf-datapath.ts — the Datapath over the real BPF object: opens and loads bpf/xvs.o with
// map sizes set before load, checks the struct layouts against its BTF, maps the mmapable arrays (rings,
// live dest counts) into this process, and encodes/decodes every map entry through abi.ts.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BpfObject, MmapRegion } from '../../native/index.js';
import { native, bpfObjectPath } from './native.js';
import {
  CONN_F_INACTIVE, DEST_F_AVAILABLE, FWD, LAYOUTS, PROTO_TCP, PROTO_UDP, REASONS, REASON_MAX,
  RING_SLOTS, FC_F_OFF, SVC_F_ACTIVE, SVC_F_OPS, DEST_NONE, DSCHED_F_OVERLOAD, LBLC_SET_MAX, CFG_F_SYNC, CFG_F_NULLSVC, SYNC_EV_SIZE, CONN_F_OUTPUT, AF_INET, AF_INET6, PERSIST_F_ON, TMPL_F_ASSURED, MAX_LADDRS, SCHED_TAB_SLOTS, afOf, checkLayouts, decode, decodeAddr, encode, encodeAddr,
  type ReasonName,
} from './abi.js';
import type { ConnEntry, Datapath, DestCounts, DestEntry, InstallConn, LaddrPool, LocalityEntry, PersistParams, SchedTable, SyncDatapath, TemplateEntry } from './datapath.js';
import type { ServiceKey, Stats } from '../model/service.js';
import type { RingPort } from '../sched/ring.js';
import { XvsError } from '../model/errors.js';

export interface BpfDatapathOptions {
  objectPath?: string;
  maxConns?: number;
  /** Pin every map here after load (a bpffs directory; created if missing). */
  pinDir?: string;
  /** Reuse the maps pinned in pinDir (a previous xvsd's) instead of creating them: its connections,
   * counters, rings and templates carry on. Every pinned map must match the object's definition. */
  adopt?: boolean;
}


const RING_BYTES = LAYOUTS.xvs_ring.size;

/** Maps that only speed things up (next-hop caches, the reply-port hint, scratch space): adopting a data
 * path pinned by an older xvsd that lacked one of them creates it empty instead of refusing. */
const CACHE_MAPS = new Set(['xvs_nh_cache', 'xvs_nh_client', 'xvs_rport_hint', 'xvs_lblc_tmp', 'xvs_clock', 'xvs_fc_ctl']);

/** Maps private to one load, never pinned nor adopted: the established-flow cache (bpf/include/xvs_fc.h)
 * starts empty with every load; its control map (xvs_fc_ctl) is shared, so one generation bump reaches
 * the caches of an old and a new program alike. */
const UNPINNED_MAPS = new Set(['xvs_fc']);

/**
 * Anchors the data path's clock of a loaded object (xvs_clock_init, see xvs_now in
 * bpf/include/xvs_maps.h) before anything runs its programs. False when it could not: the data path then
 * calls the clock helper on every packet, which only costs speed.
 */
export async function anchorClock(object: BpfObject): Promise<boolean> {
  const r = await native.progTestRun(object.progFd('xvs_clock_init'), { data: Buffer.alloc(64) }).catch(() => null);
  return r?.retval === 1;
}

/** Number of possible CPUs, the stride of per-CPU map values (as libbpf_num_possible_cpus). */
export function possibleCpus(): number {
  const spec = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  let n = 0;
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a + 1;
  }
  return n;
}

class MmapRing implements RingPort {
  private readonly u64: BigUint64Array;
  private readonly slots: Uint32Array;
  constructor(buffer: ArrayBuffer, index: number) {
    const base = index * RING_BYTES;
    this.u64 = new BigUint64Array(buffer, base, 2);
    this.slots = new Uint32Array(buffer, base + 16, RING_SLOTS);
  }
  cons(): bigint {
    return Atomics.load(this.u64, 0);
  }
  prod(): bigint {
    return this.u64[1];
  }
  writeSlot(index: bigint, destId: number): void {
    this.slots[Number(index & BigInt(RING_SLOTS - 1))] = destId;
  }
  publish(prod: bigint): void {
    // Atomics.store is sequentially consistent: the slot stores above are visible before prod.
    Atomics.store(this.u64, 1, prod);
  }
  reset(): void {
    Atomics.store(this.u64, 0, 0n);
    Atomics.store(this.u64, 1, 0n);
  }
}

export class BpfDatapath implements Datapath, SyncDatapath {
  readonly connTableSize: number;
  private readonly fds: Record<string, number> = {};
  private readonly ringsRegion: MmapRegion;
  private readonly dcntRegion: MmapRegion;
  private readonly dcnt: Uint32Array;
  private readonly fcRegion: MmapRegion;
  private readonly fcCtl: Uint32Array;
  private readonly rings = new Map<number, MmapRing>();
  private readonly ncpu = possibleCpus();
  private closed = false;
  /** True when the data path's clock runs on jiffies (see xvs_now); false: it calls the clock helper. */
  clockAnchored = false;

  private constructor(readonly object: BpfObject, readonly objectPath: string, maxConns: number) {
    this.connTableSize = maxConns;
    for (const m of ['xvs_svcs', 'xvs_dests', 'xvs_dcnt', 'xvs_rings', 'xvs_conns', 'xvs_svc_st', 'xvs_dest_st', 'xvs_reasons', 'xvs_txports', 'xvs_rconns', 'xvs_laddrs', 'xvs_sched_tab', 'xvs_persist', 'xvs_tmpls', 'xvs_cfg', 'xvs_sync_ring', 'xvs_lblc', 'xvs_dsched', 'xvs_rport_hint', 'xvs_fc_ctl']) {
      this.fds[m] = object.mapFd(m);
    }
    this.ringsRegion = new native.MmapRegion(this.fds.xvs_rings);
    this.dcntRegion = new native.MmapRegion(this.fds.xvs_dcnt);
    this.dcnt = new Uint32Array(this.dcntRegion.buffer);
    this.fcRegion = new native.MmapRegion(this.fds.xvs_fc_ctl);
    this.fcCtl = new Uint32Array(this.fcRegion.buffer, 0, 2);
    // A control plane that (re)starts knows nothing of what the caches hold: start them over.
    this.invalidateFlows();
  }

  /**
   * Invalidates every cached established flow on every CPU (struct xvs_fc_ctl in xvs_abi.h). Called after
   * each change that can alter how an established connection is forwarded: a dest rewritten or cleared,
   * a connection overwritten (sync).
   */
  invalidateFlows(): void {
    Atomics.add(this.fcCtl, 0, 1);
  }

  /** Turns the established-flow cache on or off (xvsd --no-flow-cache; the benchmark's full-walk rows). */
  setFlowCache(on: boolean): void {
    Atomics.store(this.fcCtl, 1, on ? 0 : FC_F_OFF);
    this.invalidateFlows();
  }

  get flowCacheOn(): boolean {
    return (Atomics.load(this.fcCtl, 1) & FC_F_OFF) === 0;
  }

  /** Opens, checks and loads the object. Throws XvsError('INTERNAL') on an ABI mismatch. */
  static async open(opts: BpfDatapathOptions = {}): Promise<BpfDatapath> {
    const objectPath = opts.objectPath ?? bpfObjectPath('xvs');
    const problems = checkLayouts((s) => native.btfStructLayout(objectPath, s));
    const reasons = native.btfEnum(objectPath, 'xvs_reason');
    REASONS.forEach((name, i) => {
      if (reasons[name] !== i) problems.push(`enum xvs_reason: ${name} is ${reasons[name]} in BTF, ${i} in TypeScript`);
    });
    if (problems.length > 0) {
      throw new XvsError('INTERNAL', `the BPF object ${objectPath} does not match this control plane's ABI:\n${problems.join('\n')}`);
    }
    const object = new native.BpfObject(objectPath);
    try {
      const maxConns = opts.maxConns ?? 262144;
      object.setMaxEntries('xvs_conns', maxConns);
      const names = object.mapNames().filter((n) => !n.includes('.') && !UNPINNED_MAPS.has(n));
      /** Maps created by this load (all of them, unless adopting). */
      const fresh: string[] = opts.adopt ? [] : names;
      if (opts.adopt) {
        if (!opts.pinDir) throw new XvsError('INTERNAL', 'adopt needs a pin directory');
        const problems: string[] = [];
        for (const name of names) {
          let fd: number;
          try {
            fd = native.objGet(path.join(opts.pinDir, name));
          } catch (e) {
            // A cache a newer version added starts empty; every map that holds state must be there.
            if (CACHE_MAPS.has(name)) {
              fresh.push(name);
              continue;
            }
            problems.push(`${name}: not pinned (${(e as Error).message})`);
            continue;
          }
          try {
            const have = native.mapInfo(fd);
            const want = object.mapDef(name);
            // The kernel adds BPF_F_RDONLY_PROG (1 << 7) to devmaps by itself; libbpf ignores it too.
            const flagsOf = (f: number): number => f & ~(1 << 7);
            const diff = (['type', 'keySize', 'valueSize', 'maxEntries', 'flags'] as const)
              .filter((k) => (k === 'flags' ? flagsOf(have[k]) !== flagsOf(want[k]) : have[k] !== want[k]));
            if (diff.length) problems.push(`${name}: ${diff.map((k) => `${k} ${have[k]} pinned, ${want[k]} in this object`).join(', ')}`);
            else object.reuseMapFd(name, fd);
          } finally {
            native.closeFd(fd);
          }
        }
        if (problems.length) {
          throw new XvsError('EINVAL', `the data path pinned in ${opts.pinDir} does not fit this xvsd's object; refusing to adopt it (it would corrupt its connections):\n  ${problems.join('\n  ')}`);
        }
      }
      await object.load();
      const clockAnchored = await anchorClock(object);
      if (opts.pinDir && fresh.length) {
        mkdirSync(opts.pinDir, { recursive: true });
        for (const name of fresh) native.objPin(object.mapFd(name), path.join(opts.pinDir, name));
      }
      const dp = new BpfDatapath(object, objectPath, maxConns);
      dp.clockAnchored = clockAnchored;
      return dp;
    } catch (e) {
      object.close();
      throw e;
    }
  }

  progFd(name: 'xvs_xdp' | 'xvs_tc'): number {
    return this.object.progFd(name);
  }

  private svcKey(key: ServiceKey): Buffer {
    return encode('xvs_svc_key', {
      addr: key.addr, port: key.port, proto: key.protocol === 'tcp' ? PROTO_TCP : PROTO_UDP, af: afOf(key.addr),
    });
  }

  private static u32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  }

  putService(key: ServiceKey, id: number, opts: { onePacket?: boolean } = {}): void {
    native.mapUpdate(this.fds.xvs_svcs, this.svcKey(key), encode('xvs_svc', { id, flags: SVC_F_ACTIVE | (opts.onePacket ? SVC_F_OPS : 0) }));
  }

  deleteService(key: ServiceKey): void {
    native.mapDelete(this.fds.xvs_svcs, this.svcKey(key));
  }

  putDest(id: number, d: DestEntry): void {
    native.mapUpdate(this.fds.xvs_dests, BpfDatapath.u32(id), encode('xvs_dest', {
      addr: d.addr, port: d.port, af: afOf(d.addr), fwd: FWD[d.fwd], flags: d.available ? DEST_F_AVAILABLE : 0, svc_id: d.svcId,
    }));
    this.invalidateFlows();
  }

  clearDest(id: number): void {
    native.mapUpdate(this.fds.xvs_dests, BpfDatapath.u32(id), Buffer.alloc(LAYOUTS.xvs_dest.size));
    this.invalidateFlows();
  }

  ring(svcId: number): MmapRing {
    let r = this.rings.get(svcId);
    if (!r) {
      r = new MmapRing(this.ringsRegion.buffer, svcId);
      this.rings.set(svcId, r);
    }
    return r;
  }

  resetRing(svcId: number): void {
    this.ring(svcId).reset();
  }

  destCounts(destId: number): DestCounts {
    return { active: Atomics.load(this.dcnt, destId * 2), inactive: Atomics.load(this.dcnt, destId * 2 + 1) };
  }

  adjustDestCounts(destId: number, dActive: number, dInactive: number): void {
    if (dActive) Atomics.add(this.dcnt, destId * 2, dActive);
    if (dInactive) Atomics.add(this.dcnt, destId * 2 + 1, dInactive);
  }

  private perCpu(mapName: string, index: number, valueSize: number): Buffer[] {
    const stride = Math.ceil(valueSize / 8) * 8;
    const buf = Buffer.alloc(stride * this.ncpu);
    native.mapLookup(this.fds[mapName], BpfDatapath.u32(index), buf);
    return Array.from({ length: this.ncpu }, (_, c) => buf.subarray(c * stride, c * stride + valueSize));
  }

  private sumStats(mapName: string, index: number): Stats {
    const total: Stats = { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n };
    for (const v of this.perCpu(mapName, index, LAYOUTS.xvs_stats.size)) {
      const s = decode('xvs_stats', v) as unknown as Stats;
      total.conns += s.conns; total.inpkts += s.inpkts; total.outpkts += s.outpkts;
      total.inbytes += s.inbytes; total.outbytes += s.outbytes;
    }
    return total;
  }

  svcStats(svcId: number): Stats {
    return this.sumStats('xvs_svc_st', svcId);
  }

  destStats(destId: number): Stats {
    return this.sumStats('xvs_dest_st', destId);
  }

  private zeroPerCpu(mapName: string, index: number, valueSize: number): void {
    const stride = Math.ceil(valueSize / 8) * 8;
    native.mapUpdate(this.fds[mapName], BpfDatapath.u32(index), Buffer.alloc(stride * this.ncpu));
  }

  zeroSvcStats(svcId: number): void {
    this.zeroPerCpu('xvs_svc_st', svcId, LAYOUTS.xvs_stats.size);
  }

  zeroDestStats(destId: number): void {
    this.zeroPerCpu('xvs_dest_st', destId, LAYOUTS.xvs_stats.size);
  }

  reasons(): Record<ReasonName, bigint> {
    const out = Object.fromEntries(REASONS.map((r) => [r, 0n])) as Record<ReasonName, bigint>;
    for (let i = 0; i < REASON_MAX; i++) {
      for (const v of this.perCpu('xvs_reasons', i, 8)) out[REASONS[i]] += v.readBigUInt64LE(0);
    }
    return out;
  }

  private decodeConn(key: Buffer, value: Buffer): ConnEntry {
    const k = decode('xvs_conn_key', key);
    const v = decode('xvs_conn', value);
    const off = (f: string): number => LAYOUTS.xvs_conn.fields.find((x) => x.name === f)!.offset;
    const fwd = v.fwd as number;
    const nat = fwd === FWD.masq || fwd === FWD.fullnat;
    return {
      fwd,
      ...(nat ? {
        raddr: decodeAddr(value, off('raddr'), k.af as number), rport: v.rport as number,
        laddr: decodeAddr(value, off('laddr'), k.af as number), lport: v.lport as number,
      } : {}),
      key: Buffer.from(key),
      protocol: k.proto === PROTO_TCP ? 'tcp' : 'udp',
      caddr: k.saddr as string, cport: k.sport as number, vaddr: k.daddr as string, vport: k.dport as number,
      lastSeenNs: v.last_seen_ns as bigint, createdNs: v.created_ns as bigint,
      destId: v.dest_id as number, svcId: v.svc_id as number, state: v.state as number,
      inactive: ((v.flags as number) & CONN_F_INACTIVE) !== 0,
      output: ((v.flags as number) & CONN_F_OUTPUT) !== 0,
    };
  }

  conns(): ConnEntry[] {
    return this.dump('xvs_conns', LAYOUTS.xvs_conn_key.size, LAYOUTS.xvs_conn.size, (k, v) => this.decodeConn(k, v));
  }

  /** Every entry of a hash map, in batches. */
  private dump<T>(map: string, ks: number, vs: number, decodeEntry: (key: Buffer, value: Buffer) => T): T[] {
    const batch = 4096;
    const keys = Buffer.alloc(ks * batch);
    const values = Buffer.alloc(vs * batch);
    const inB = Buffer.alloc(ks);
    const outB = Buffer.alloc(ks);
    const out: T[] = [];
    let first = true;
    for (;;) {
      let res: { count: number; done: boolean };
      try {
        res = native.mapLookupBatch(this.fds[map], first ? null : inB, outB, keys, values, batch);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break; // empty map
        throw e;
      }
      for (let i = 0; i < res.count; i++) {
        out.push(decodeEntry(keys.subarray(i * ks, (i + 1) * ks), values.subarray(i * vs, (i + 1) * vs)));
      }
      if (res.done) break;
      outB.copy(inB);
      first = false;
    }
    return out;
  }

  conn(key: Buffer): ConnEntry | null {
    const v = Buffer.alloc(LAYOUTS.xvs_conn.size);
    return native.mapLookup(this.fds.xvs_conns, key, v) ? this.decodeConn(key, v) : null;
  }

  /** Deletes a connection and, for NAT/FULLNAT, its reverse-index entry if that still names it. */
  deleteConn(key: Buffer): boolean {
    const v = Buffer.alloc(LAYOUTS.xvs_conn.size);
    const had = native.mapLookup(this.fds.xvs_conns, key, v);
    const deleted = native.mapDelete(this.fds.xvs_conns, key);
    if (had) {
      const fwd = decode('xvs_conn', v).fwd as number;
      if (fwd === FWD.masq || fwd === FWD.fullnat) {
        const f = (n: string): number => LAYOUTS.xvs_conn.fields.find((x) => x.name === n)!.offset;
        // The reverse key {saddr = raddr, daddr = laddr, sport = rport, dport = lport, proto, af}.
        const rkey = Buffer.alloc(LAYOUTS.xvs_conn_key.size);
        v.copy(rkey, 0, f('raddr'), f('raddr') + 16);
        v.copy(rkey, 16, f('laddr'), f('laddr') + 16);
        v.copy(rkey, 32, f('rport'), f('rport') + 2);
        v.copy(rkey, 34, f('lport'), f('lport') + 2);
        key.copy(rkey, 36, 36, 38); // proto, af
        const fkey = Buffer.alloc(LAYOUTS.xvs_conn_key.size);
        if (native.mapLookup(this.fds.xvs_rconns, rkey, fkey) && fkey.equals(key)) native.mapDelete(this.fds.xvs_rconns, rkey);
      }
    }
    // No invalidateFlows(): only the GC deletes, and only connections idle for longer than their timeout
    // (whole seconds); their flow-cache entries (250 ms) died long before, and a busy connection's
    // last-use time is never more than an entry's life old. One bump per expired connection would empty
    // every CPU's cache once per deletion of a sweep.
    return deleted;
  }

  setLaddrs(svcId: number, pool: LaddrPool): void {
    if (pool.addrs.length > MAX_LADDRS) throw new XvsError('ENOMEM', `at most ${MAX_LADDRS} local addresses per service`);
    const b = encode('xvs_laddr_pool', { count: pool.addrs.length, lport_min: pool.portMin, lport_max: pool.portMax });
    const base = LAYOUTS.xvs_laddr_pool.fields.find((x) => x.name === 'addrs')!.offset;
    pool.addrs.forEach((a, i) => encodeAddr(a, b, base + 16 * i));
    native.mapUpdate(this.fds.xvs_laddrs, BpfDatapath.u32(svcId), b);
  }

  setTxPorts(ifindexes: number[]): void {
    for (const i of ifindexes) native.mapUpdate(this.fds.xvs_txports, BpfDatapath.u32(i), BpfDatapath.u32(i));
  }

  setSchedTable(svcId: number, table: SchedTable | null): void {
    if (!table) {
      native.mapDelete(this.fds.xvs_sched_tab, BpfDatapath.u32(svcId));
      return;
    }
    if (table.slots.length > SCHED_TAB_SLOTS) throw new XvsError('INTERNAL', `a scheduler table holds at most ${SCHED_TAB_SLOTS} slots`);
    const b = encode('xvs_sched_tab', { kind: table.kind, flags: table.flags, size: table.slots.length, param: table.param ?? 0 });
    const base = LAYOUTS.xvs_sched_tab.fields.find((x) => x.name === 'slot')!.offset;
    b.fill(0xff, base);
    table.slots.forEach((id, i) => b.writeUInt32LE(id >>> 0, base + 4 * i));
    native.mapUpdate(this.fds.xvs_sched_tab, BpfDatapath.u32(svcId), b);
  }

  setPersist(svcId: number, params: PersistParams | null): void {
    const b = params
      ? encode('xvs_persist', { mask: params.mask, timeout_s: params.timeoutS, flags: PERSIST_F_ON })
      : Buffer.alloc(LAYOUTS.xvs_persist.size);
    native.mapUpdate(this.fds.xvs_persist, BpfDatapath.u32(svcId), b);
  }

  private static decodeTemplate(key: Buffer, value: Buffer): TemplateEntry {
    const k = decode('xvs_tmpl_key', key);
    const v = decode('xvs_tmpl', value);
    return {
      key: Buffer.from(key), svcId: k.svc_id as number, caddr: k.addr as string,
      lastSeenNs: v.last_seen_ns as bigint, createdNs: v.created_ns as bigint, destId: v.dest_id as number,
      timeoutS: v.timeout_s as number, assured: ((v.flags as number) & TMPL_F_ASSURED) !== 0,
    };
  }

  templates(): TemplateEntry[] {
    return this.dump('xvs_tmpls', LAYOUTS.xvs_tmpl_key.size, LAYOUTS.xvs_tmpl.size, BpfDatapath.decodeTemplate);
  }

  template(key: Buffer): TemplateEntry | null {
    const v = Buffer.alloc(LAYOUTS.xvs_tmpl.size);
    return native.mapLookup(this.fds.xvs_tmpls, key, v) ? BpfDatapath.decodeTemplate(key, v) : null;
  }

  updateTemplate(key: Buffer, change: { lastSeenNs?: bigint; assured?: boolean }): boolean {
    const v = Buffer.alloc(LAYOUTS.xvs_tmpl.size);
    if (!native.mapLookup(this.fds.xvs_tmpls, key, v)) return false;
    const t = decode('xvs_tmpl', v);
    if (change.lastSeenNs !== undefined) t.last_seen_ns = change.lastSeenNs;
    if (change.assured !== undefined) t.flags = change.assured ? (t.flags as number) | TMPL_F_ASSURED : (t.flags as number) & ~TMPL_F_ASSURED;
    // Only an entry that still exists is rewritten: a template the data path dropped stays dropped.
    return this.updateExisting('xvs_tmpls', key, encode('xvs_tmpl', t));
  }

  /** bpf_map_update_elem with BPF_EXIST: false (nothing written) when the entry is gone. */
  private updateExisting(map: string, key: Buffer, value: Buffer): boolean {
    try {
      native.mapUpdate(this.fds[map], key, value, 2);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  deleteTemplate(key: Buffer): boolean {
    return native.mapDelete(this.fds.xvs_tmpls, key);
  }

  setDestSched(destId: number, weight: number, overloaded: boolean): void {
    native.mapUpdate(this.fds.xvs_dsched, BpfDatapath.u32(destId), encode('xvs_dsched', { weight, flags: overloaded ? DSCHED_F_OVERLOAD : 0 }));
  }

  private static decodeLocality(key: Buffer, value: Buffer): LocalityEntry {
    const k = decode('xvs_lblc_key', key);
    const v = decode('xvs_lblc', value);
    const base = LAYOUTS.xvs_lblc.fields.find((x) => x.name === 'dest')!.offset;
    const dests: number[] = [];
    for (let i = 0; i < LBLC_SET_MAX; i++) {
      const id = value.readUInt32LE(base + 4 * i);
      if (id === DEST_NONE) break;
      dests.push(id);
    }
    return {
      key: Buffer.from(key), svcId: k.svc_id as number, addr: k.addr as string,
      lastUseNs: v.lastuse_ns as bigint, lastModNs: v.lastmod_ns as bigint, dests,
    };
  }

  localityEntries(): LocalityEntry[] {
    return this.dump('xvs_lblc', LAYOUTS.xvs_lblc_key.size, LAYOUTS.xvs_lblc.size, BpfDatapath.decodeLocality);
  }

  updateLocality(key: Buffer, change: { dests?: number[]; lastModNs?: bigint }): boolean {
    const v = Buffer.alloc(LAYOUTS.xvs_lblc.size);
    if (!native.mapLookup(this.fds.xvs_lblc, key, v)) return false;
    if (change.lastModNs !== undefined) v.writeBigUInt64LE(change.lastModNs, 8);
    if (change.dests) {
      const base = LAYOUTS.xvs_lblc.fields.find((x) => x.name === 'dest')!.offset;
      for (let i = 0; i < LBLC_SET_MAX; i++) v.writeUInt32LE(change.dests[i] ?? DEST_NONE, base + 4 * i);
    }
    // An entry the data path (LRU) or the expiry dropped meanwhile stays dropped.
    return this.updateExisting('xvs_lblc', key, v);
  }

  deleteLocality(key: Buffer): boolean {
    return native.mapDelete(this.fds.xvs_lblc, key);
  }

  /** xvs_cfg's flags, read back from the map (an adopted data path keeps its switches). */
  private cfgFlags(): number {
    const v = Buffer.alloc(LAYOUTS.xvs_cfg.size);
    return native.mapLookup(this.fds.xvs_cfg, BpfDatapath.u32(0), v) ? (decode('xvs_cfg', v).flags as number) : 0;
  }

  private setCfgFlag(flag: number, on: boolean): void {
    const flags = on ? this.cfgFlags() | flag : this.cfgFlags() & ~flag;
    native.mapUpdate(this.fds.xvs_cfg, BpfDatapath.u32(0), encode('xvs_cfg', { flags, pad: 0 }));
  }

  setSyncEvents(on: boolean): void {
    this.setCfgFlag(CFG_F_SYNC, on);
  }

  setNullServices(on: boolean): void {
    this.setCfgFlag(CFG_F_NULLSVC, on);
  }

  openSyncEvents(onEvent: (conn: ConnEntry) => void): { consume(): number; close(): void } {
    const ks = LAYOUTS.xvs_conn_key.size;
    const rb = new native.RingBuffer(this.fds.xvs_sync_ring, (data: Buffer) => {
      if (data.length < SYNC_EV_SIZE) return;
      onEvent(this.decodeConn(Buffer.from(data.subarray(0, ks)), Buffer.from(data.subarray(ks, SYNC_EV_SIZE))));
    });
    return { consume: () => rb.consume(), close: () => rb.close() };
  }

  private static tmplKey(svcId: number, caddr: string): Buffer {
    return encode('xvs_tmpl_key', { addr: caddr, svc_id: svcId, af: caddr.includes(':') ? AF_INET6 : AF_INET });
  }

  templateOf(svcId: number, caddr: string): TemplateEntry | null {
    return this.template(BpfDatapath.tmplKey(svcId, caddr));
  }

  installTemplate(t: { svcId: number; caddr: string; destId: number; timeoutS: number; lastSeenNs: bigint; assured: boolean }): void {
    native.mapUpdate(this.fds.xvs_tmpls, BpfDatapath.tmplKey(t.svcId, t.caddr), encode('xvs_tmpl', {
      last_seen_ns: t.lastSeenNs, created_ns: t.lastSeenNs, dest_id: t.destId, timeout_s: t.timeoutS,
      flags: t.assured ? TMPL_F_ASSURED : 0, pad: 0,
    }));
  }

  installConn(c: InstallConn): boolean {
    const af = c.caddr.includes(':') ? AF_INET6 : AF_INET;
    const key = encode('xvs_conn_key', {
      saddr: c.caddr, daddr: c.vaddr, sport: c.cport, dport: c.vport,
      proto: c.protocol === 'tcp' ? PROTO_TCP : PROTO_UDP, af, pad: 0,
    });
    const nat = c.fwd === FWD.masq || c.fwd === FWD.fullnat;
    const flags = (c.inactive ? CONN_F_INACTIVE : 0) | (c.output ? CONN_F_OUTPUT : 0);
    const value = encode('xvs_conn', {
      last_seen_ns: c.lastSeenNs, created_ns: c.createdNs, dest_id: c.destId, svc_id: c.svcId,
      state: c.state, fwd: c.fwd, flags, pad: 0,
      raddr: nat ? c.raddr! : '0.0.0.0', laddr: nat ? c.laddr! : '0.0.0.0',
      rport: nat ? c.rport! : 0, lport: nat ? c.lport! : 0, pad2: 0,
    });
    const oldV = Buffer.alloc(LAYOUTS.xvs_conn.size);
    const had = native.mapLookup(this.fds.xvs_conns, key, oldV);
    native.mapUpdate(this.fds.xvs_conns, key, value);
    if (had) {
      this.invalidateFlows(); // the connection may now go elsewhere (or the other way round)
      const o = decode('xvs_conn', oldV);
      const oInactive = ((o.flags as number) & CONN_F_INACTIVE) !== 0;
      if (o.dest_id !== c.destId || oInactive !== c.inactive) {
        this.adjustDestCounts(o.dest_id as number, oInactive ? 0 : -1, oInactive ? -1 : 0);
        this.adjustDestCounts(c.destId, c.inactive ? 0 : 1, c.inactive ? 1 : 0);
      }
    } else {
      this.adjustDestCounts(c.destId, c.inactive ? 0 : 1, c.inactive ? 1 : 0);
    }
    if (nat) {
      const rkey = encode('xvs_conn_key', {
        saddr: c.raddr!, daddr: c.laddr!, sport: c.rport!, dport: c.lport!,
        proto: c.protocol === 'tcp' ? PROTO_TCP : PROTO_UDP, af, pad: 0,
      });
      native.mapUpdate(this.fds.xvs_rconns, rkey, key);
      // The reply-port hint (xvs_rport_hint, see xvs_maps.h): replies of the installed connection are
      // looked up reverse-first. A bit the data path sets in the same word meanwhile may be lost: it
      // only costs that port's replies one more lookup.
      const hintFd = this.fds.xvs_rport_hint;
      const word = Buffer.alloc(8);
      const k = BpfDatapath.u32(c.rport! >> 6);
      native.mapLookup(hintFd, k, word);
      const bits = word.readBigUInt64LE(0) | (1n << BigInt(c.rport! & 63));
      word.writeBigUInt64LE(bits);
      native.mapUpdate(hintFd, k, word);
    }
    return !had;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ringsRegion.close();
    this.dcntRegion.close();
    this.fcRegion.close();
    this.object.close();
  }
}
