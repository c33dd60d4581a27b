// src/sync/transport.ts — how sync datagrams travel: UDP multicast to a group out of one interface (IPVS's
// way) or unicast to listed peers, behind the SyncTransport port so the engine also runs over an in-memory
// pair in tests. Resolves the interface's address and the datagram size limit (maxLen 0 = MTU - headers).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { XvsError } from '../model/errors.js';
import { MAX_DATAGRAM } from './wire.js';
import { SYNC_DEFAULT_GROUP, SYNC_DEFAULT_PORT, SYNC_DEFAULT_TTL, type SyncDaemonSpec } from './types.js';

export interface SyncTransport {
  /** Binds (and joins the group, for a multicast backup); `onMessage` receives every datagram. */
  open(onMessage?: (msg: Buffer, from: string) => void): Promise<void>;
  /** Sends one datagram to the group or to every peer; resolves when handed to the kernel. */
  send(msg: Buffer): Promise<void>;
  /** Largest datagram payload in bytes (valid after open). */
  readonly maxPayload: number;
  close(): Promise<void>;
}

export interface Endpoint { address: string; port: number }

/** A peer as "ADDR", "ADDR:PORT" or "[V6ADDR]:PORT"; the port defaults to `defaultPort`. */
export function parsePeer(text: string, defaultPort: number): Endpoint {
  const bad = (): never => { throw new XvsError('EINVAL', `sync peer "${text}": expected ADDR, ADDR:PORT or [IPV6]:PORT`); };
  if (net.isIP(text) !== 0) return { address: text, port: defaultPort };
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^([^:]+):(\d{1,5})$/.exec(text);
  if (!m) return bad();
  const address = m[1];
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (text.startsWith('[') ? !net.isIPv6(address) : !net.isIPv4(address)) return bad();
  if (port < 1 || port > 65535) return bad();
  return { address, port };
}

/** What the UDP transport reads from the host; injectable for tests. */
export interface HostInfo {
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** The interface MTU (/sys/class/net/IF/mtu). */
  mtu(ifname: string): number;
}

export const realHost: HostInfo = {
  networkInterfaces: () => os.networkInterfaces(),
  mtu: (ifname) => Number(readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8').trim()),
};

/** Where and how a UDP transport talks, resolved from the spec and the host (throws XvsError EINVAL). */
export interface UdpPlan {
  role: 'master' | 'backup';
  ifname: string;
  /** The interface's first IPv4 address, when it has one. */
  ifAddr4?: string;
  port: number;
  ttl: number;
  /** Multicast group (no peers) or unicast peers. */
  group?: string;
  peers?: Endpoint[];
  v6: boolean;
  maxPayload: number;
}

export function planUdp(spec: SyncDaemonSpec, host: HostInfo = realHost): UdpPlan {
  const ifname = spec.mcastInterface;
  const addrs = host.networkInterfaces()[ifname];
  if (!addrs) throw new XvsError('EINVAL', `sync: no interface ${ifname}`);
  const ifAddr4 = addrs.find((a) => a.family === 'IPv4')?.address;
  const port = spec.port ?? SYNC_DEFAULT_PORT;
  const peers = spec.peers && spec.peers.length > 0 ? spec.peers.map((p) => parsePeer(p, port)) : undefined;
  const group = peers ? undefined : spec.group ?? SYNC_DEFAULT_GROUP;
  if (group !== undefined && !isMulticast(group)) throw new XvsError('EINVAL', `sync: ${group} is not a multicast group`);
  const v6 = group !== undefined ? net.isIPv6(group) : (peers ?? []).some((p) => net.isIPv6(p.address));
  if (group !== undefined && !v6 && ifAddr4 === undefined) {
    throw new XvsError('EINVAL', `sync: interface ${ifname} has no IPv4 address for multicast group ${group}`);
  }
  let maxPayload = spec.maxLen;
  if (maxPayload === 0) {
    let mtu: number;
    try {
      mtu = host.mtu(ifname);
    } catch (e) {
      throw new XvsError('EINVAL', `sync: cannot read the MTU of ${ifname}: ${(e as Error).message}`, { cause: e });
    }
    if (!Number.isInteger(mtu) || mtu <= 0) throw new XvsError('EINVAL', `sync: bad MTU ${mtu} on ${ifname}`);
    maxPayload = mtu - (v6 ? 48 : 28);
  }
  maxPayload = Math.min(maxPayload, MAX_DATAGRAM);
  return { role: spec.role, ifname, ifAddr4, port, ttl: spec.ttl ?? SYNC_DEFAULT_TTL, group, peers, v6, maxPayload };
}

function isMulticast(addr: string): boolean {
  if (net.isIPv4(addr)) {
    const first = Number(addr.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return net.isIPv6(addr) && /^ff/i.test(addr);
}

const bindSocket = (s: dgram.Socket, opts: dgram.BindOptions): Promise<void> => new Promise((resolve, reject) => {
  const onError = (e: Error): void => reject(e);
  s.once('error', onError);
  s.bind(opts, () => { s.off('error', onError); resolve(); });
});

/** UDP over node:dgram, as planUdp() says. */
export class UdpTransport implements SyncTransport {
  private readonly plan: UdpPlan;
  private readonly sockets: dgram.Socket[] = [];
  /** Master: the socket per address family and where it sends. */
  private targets: { socket: dgram.Socket; to: Endpoint }[] = [];

  constructor(spec: SyncDaemonSpec, host: HostInfo = realHost) {
    this.plan = planUdp(spec, host);
  }

  get maxPayload(): number { return this.plan.maxPayload; }

  /** The first socket's bound local port (undefined before open). */
  localPort(): number | undefined {
    return this.sockets[0]?.address().port;
  }

  async open(onMessage?: (msg: Buffer, from: string) => void): Promise<void> {
    try {
      if (this.plan.role === 'master') await this.openMaster();
      else await this.openBackup(onMessage ?? (() => undefined));
    } catch (e) {
      await this.close();
      if (e instanceof XvsError) throw e;
      throw new XvsError('EINVAL', `sync ${this.plan.role}: cannot open UDP ${this.describe()}: ${(e as Error).message}`, { cause: e });
    }
  }

  private describe(): string {
    return this.plan.group !== undefined ? `${this.plan.group} port ${this.plan.port} on ${this.plan.ifname}`
      : `port ${this.plan.port} (peers ${(this.plan.peers ?? []).map((p) => `${p.address}:${p.port}`).join(', ')})`;
  }

  private newSocket(v6: boolean, reuseAddr: boolean): dgram.Socket {
    const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr });
    // Errors after open (e.g. ICMP unreachable on a connected peer) must not crash the daemon; send() reports its own.
    s.on('error', () => undefined);
    this.sockets.push(s);
    return s;
  }

  private async openMaster(): Promise<void> {
    const p = this.plan;
    if (p.group !== undefined) {
      const s = this.newSocket(p.v6, false);
      if (p.v6) {
        await bindSocket(s, { port: 0 });
        s.setMulticastInterface(`::%${p.ifname}`);
      } else {
        await bindSocket(s, { port: 0, address: p.ifAddr4 });
        s.setMulticastInterface(p.ifAddr4 as string);
      }
      s.setMulticastTTL(p.ttl);
      s.setMulticastLoopback(false);
      this.targets = [{ socket: s, to: { address: p.group, port: p.port } }];
      return;
    }
    const byFamily = new Map<boolean, dgram.Socket>();
    for (const peer of p.peers ?? []) {
      const v6 = net.isIPv6(peer.address);
      let s = byFamily.get(v6);
      if (!s) {
        s = this.newSocket(v6, false);
        await bindSocket(s, { port: 0 });
        byFamily.set(v6, s);
      }
      this.targets.push({ socket: s, to: peer });
    }
  }

  private async openBackup(onMessage: (msg: Buffer, from: string) => void): Promise<void> {
    const p = this.plan;
    const multicast = p.group !== undefined;
    // Several listeners may share the group's port (reuseAddr); a unicast port is ours alone, so a clash is an error.
    const s = this.newSocket(p.v6, multicast);
    s.on('message', (msg, rinfo) => onMessage(msg, `${rinfo.family === 'IPv6' ? `[${rinfo.address}]` : rinfo.address}:${rinfo.port}`));
    await bindSocket(s, { port: p.port, address: p.v6 ? '::' : '0.0.0.0' });
    if (multicast) s.addMembership(p.group as string, p.v6 ? `::%${p.ifname}` : p.ifAddr4);
  }

  send(msg: Buffer): Promise<void> {
    if (this.targets.length === 0) return Promise.reject(new Error('sync transport: not open as master'));
    return Promise.all(this.targets.map(({ socket, to }) => new Promise<void>((resolve, reject) => {
      socket.send(msg, to.port, to.address, (err) => (err ? reject(err) : resolve()));
    }))).then(() => undefined);
  }

  async close(): Promise<void> {
    const sockets = this.sockets.splice(0);
    this.targets = [];
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve(); // never bound or already closed
      }
    })));
  }
}

/**
 * An in-memory transport: `sent` keeps every datagram sent, `deliver()` hands one to the open receiver.
 * memoryPair() connects a master's sends to a backup's receiver (asynchronously, like a network).
 */
export class MemoryTransport implements SyncTransport {
  readonly sent: Buffer[] = [];
  onSend?: (msg: Buffer) => void;
  private receiver?: (msg: Buffer, from: string) => void;
  opened = false;

  constructor(readonly maxPayload = 1472) {}

  async open(onMessage?: (msg: Buffer, from: string) => void): Promise<void> {
    this.receiver = onMessage;
    this.opened = true;
  }

  send(msg: Buffer): Promise<void> {
    if (!this.opened) return Promise.reject(new Error('memory transport: not open'));
    this.sent.push(msg);
    this.onSend?.(msg);
    return Promise.resolve();
  }

  deliver(msg: Buffer, from = 'memory'): void {
    this.receiver?.(msg, from);
  }

  async close(): Promise<void> {
    this.opened = false;
    this.receiver = undefined;
  }
}

export function memoryPair(maxPayload = 1472): { master: MemoryTransport; backup: MemoryTransport } {
  const master = new MemoryTransport(maxPayload);
  const backup = new MemoryTransport(maxPayload);
  master.onSend = (msg) => queueMicrotask(() => backup.deliver(Buffer.from(msg)));
  return { master, backup };
}
