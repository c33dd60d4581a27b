// src/replay/engine.ts — xvs-sched-replay's model of one IPVS service: the same TypeScript schedulers the
// daemon runs, the kernel's dest list (newest first, deleted dests kept in a trash and reused on re-add),
// and the kernel's counter bookkeeping: ip_vs_bind_dest() counts a new connection inactive and sets
// OVERLOAD at the upper threshold; TCP's state machine moves it to active once established and back on
// FIN; ip_vs_unbind_dest() uncounts it and clears OVERLOAD by the lower threshold (or 3/4 of the upper,
// or unconditionally when there are no thresholds). Connection timeouts run on `tick` like lblc timers.
import { XvsError } from '../model/errors.js';
import type { DestView, SchedulerName, ServiceView } from '../model/service.js';
import { zeroStats } from '../model/service.js';
import { createScheduler } from '../sched/index.js';
import { defaultContext, type SchedContext } from '../sched/context.js';
import type { PacketKey, SchedDest, SequenceScheduler } from '../sched/types.js';

export interface ReplayDest extends SchedDest {
  addr: string;
  port: number;
  uThreshold: number;
  lThreshold: number;
  activeConns: number;
  inactConns: number;
  lastWeight: number;
  available: boolean;
}

/** Connection states the replay distinguishes (the kernel's TCP states they stand for in comments). */
type ConnState = 'syn' | 'established' | 'closing' | 'udp';

interface ReplayConn {
  dest: ReplayDest;
  state: ConnState;
  inactive: boolean;
  expiresAtMs: number;
}

/** ip_vs_proto_tcp.c/udp.c default timeouts (s): SYN_RECV 60, ESTABLISHED 900, FIN_WAIT/TIME_WAIT 120, UDP 300. */
const TIMEOUT_S: Record<ConnState, number> = { syn: 60, established: 900, closing: 120, udp: 300 };

export class ReplayService {
  private nowMs = 0;
  readonly ctx: SchedContext = defaultContext(() => this.nowMs);
  private sched: SequenceScheduler;
  private schedName: SchedulerName;
  /** Kernel list order: newest first. */
  readonly dests: ReplayDest[] = [];
  private readonly trash = new Map<string, ReplayDest>();
  private readonly conns = new Map<string, ReplayConn>();
  private nextId = 1;
  vip = '0.0.0.0';
  vport = 0;
  private vipSeen = false;

  constructor(name: SchedulerName) {
    this.schedName = name;
    this.sched = createScheduler(name, this.dests, { ctx: this.ctx });
  }

  get scheduler(): SchedulerName {
    return this.schedName;
  }

  private find(addr: string, port: number): number {
    return this.dests.findIndex((d) => d.addr === addr && d.port === port);
  }

  private get(addr: string, port: number): ReplayDest {
    const i = this.find(addr, port);
    if (i < 0) throw new XvsError('ENOENT', `no such destination ${addr}:${port}`);
    return this.dests[i];
  }

  /** ipvsadm -a: ip_vs_add_dest() -> __ip_vs_update_dest(add) -> list_add at the head, add_dest hook. */
  addDest(addr: string, port: number, weight: number, u: number, l: number): void {
    if (this.find(addr, port) >= 0) throw new XvsError('EEXIST', `destination ${addr}:${port} already exists`);
    const key = `${addr}:${port}`;
    const d: ReplayDest = this.trash.get(key) ?? {
      id: this.nextId++, addr, port, weight, overloaded: false, activeConns: 0, inactConns: 0,
      lastWeight: weight, available: true, uThreshold: 0, lThreshold: 0,
    };
    this.trash.delete(key);
    d.weight = weight;
    d.lastWeight = weight; // add: last_weight is set even to 0
    d.available = true;
    d.overloaded = false;
    d.uThreshold = u;
    d.lThreshold = l;
    this.dests.unshift(d);
    this.sched.onAdd(this.dests, d);
  }

  /** ipvsadm -d: unlinked from the list (del_dest hook), kept in the trash while referenced. */
  deleteDest(addr: string, port: number): void {
    const i = this.find(addr, port);
    if (i < 0) throw new XvsError('ENOENT', `no such destination ${addr}:${port}`);
    const [d] = this.dests.splice(i, 1);
    d.available = false;
    this.trash.set(`${addr}:${port}`, d);
    this.sched.onDelete(this.dests, d, i);
  }

  /** ipvsadm -e: __ip_vs_update_dest(add = 0): OVERLOAD cleared by a raised/removed upper threshold. */
  editDest(addr: string, port: number, change: { weight?: number; u?: number; l?: number }): void {
    const d = this.get(addr, port);
    const weight = change.weight ?? d.weight;
    const u = change.u ?? d.uThreshold;
    d.weight = weight;
    if (weight !== 0) d.lastWeight = weight;
    if (u === 0 || u > d.uThreshold) d.overloaded = false;
    d.uThreshold = u;
    d.lThreshold = change.l ?? d.lThreshold;
    this.sched.onUpdate(this.dests, d);
  }

  setOverload(addr: string, port: number, on: boolean): void {
    this.get(addr, port).overloaded = on;
  }

  setFlags(flags: number): void {
    this.ctx.flags = flags;
  }

  /** ipvsadm -E -s: the old scheduler's state is dropped, the new one initialised on the current list. */
  reschedule(name: SchedulerName): void {
    this.schedName = name;
    this.sched = createScheduler(name, this.dests, { ctx: this.ctx });
  }

  /** A new connection; returns the chosen dest or null (IPVS drops it: no connection is made). */
  connect(id: string, pkt: PacketKey, kind: 'tcp' | 'syn' | 'udp'): ReplayDest | null {
    if (this.conns.has(id)) throw new XvsError('EEXIST', `connection ${id} already exists`);
    if (!this.vipSeen) {
      this.vip = pkt.daddr;
      this.vport = pkt.dport;
      this.vipSeen = true;
    }
    this.runTimers();
    const picked = this.sched.schedule(this.dests, pkt) as ReplayDest | null;
    if (!picked) return null;
    const d = picked;
    // ip_vs_bind_dest(): counted inactive (IP_VS_CONN_F_INACTIVE), then the upper threshold check.
    d.inactConns++;
    if (d.uThreshold !== 0 && d.activeConns + d.inactConns >= d.uThreshold) d.overloaded = true;
    const c: ReplayConn = { dest: d, state: kind === 'udp' ? 'udp' : 'syn', inactive: true, expiresAtMs: 0 };
    this.conns.set(id, c);
    this.touch(c);
    if (kind === 'tcp') this.establish(id);
    return d;
  }

  private conn(id: string): ReplayConn {
    const c = this.conns.get(id);
    if (!c) throw new XvsError('ENOENT', `no such connection ${id}`);
    return c;
  }

  private touch(c: ReplayConn): void {
    c.expiresAtMs = this.nowMs + TIMEOUT_S[c.state] * 1000;
  }

  /** The client's ACK: SYN_RECV -> ESTABLISHED, inactive -> active (set_tcp_state()). */
  establish(id: string): void {
    const c = this.conn(id);
    if (c.state === 'syn') {
      c.state = 'established';
      c.inactive = false;
      c.dest.inactConns--;
      c.dest.activeConns++;
    }
    this.touch(c);
  }

  /** The client's FIN: ESTABLISHED -> FIN_WAIT (active -> inactive); SYN_RECV -> TIME_WAIT. */
  close(id: string): void {
    const c = this.conn(id);
    if (c.state === 'established') {
      c.inactive = true;
      c.dest.activeConns--;
      c.dest.inactConns++;
    }
    if (c.state !== 'udp') c.state = 'closing';
    this.touch(c);
  }

  /** The connection is gone: ip_vs_unbind_dest(). */
  expire(id: string): void {
    const c = this.conn(id);
    this.conns.delete(id);
    const d = c.dest;
    if (c.inactive) d.inactConns--;
    else d.activeConns--;
    const total = d.activeConns + d.inactConns;
    if (d.lThreshold !== 0) {
      if (total < d.lThreshold) d.overloaded = false;
    } else if (d.uThreshold !== 0) {
      if (total * 4 < d.uThreshold * 3) d.overloaded = false;
    } else {
      d.overloaded = false;
    }
  }

  /** Advances the clock; connection timeouts and the scheduler's timers run at their deadlines. */
  tick(seconds: number): void {
    const end = this.nowMs + Math.round(seconds * 1000);
    for (;;) {
      let next: [string, ReplayConn] | null = null;
      for (const e of this.conns) if (e[1].expiresAtMs <= end && (!next || e[1].expiresAtMs < next[1].expiresAtMs)) next = e;
      if (!next) break;
      this.nowMs = Math.max(this.nowMs, next[1].expiresAtMs);
      this.runTimers();
      this.expire(next[0]);
    }
    this.nowMs = end;
    this.runTimers();
  }

  private runTimers(): void {
    const s = this.sched as SequenceScheduler & { advance?: () => void };
    s.advance?.();
  }

  setOption(name: 'lblc_expiration' | 'lblcr_expiration', seconds: number): void {
    if (name === 'lblc_expiration') this.ctx.lblcExpirationS = seconds;
    else this.ctx.lblcrExpirationS = seconds;
  }

  view(): ServiceView {
    return {
      protocol: 'tcp', addr: this.vip, port: this.vport, scheduler: this.schedName, persistent: 0,
      netmask: '255.255.255.255', stats: zeroStats(),
      dests: this.dests.map((d): DestView => ({
        addr: d.addr, port: d.port, fwd: 'route', weight: d.weight, uThreshold: d.uThreshold, lThreshold: d.lThreshold,
        activeConns: d.activeConns, inactConns: d.inactConns, persistConns: 0, stats: zeroStats(),
      })),
    };
  }
}
