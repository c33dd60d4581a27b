// src/netns/topology.ts — builds throw-away network-namespace topologies (the selftests' lib.sh in
// TypeScript): prefixed namespaces, veth pairs, bridges, addresses, routes, sysctls and processes, all
// removed again by teardown(), which also runs on process exit, SIGINT, SIGTERM and SIGHUP.
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { inNetns, run, runIn, runSyncQuiet, formatArgv, type ExecOptions, type ExecResult } from './exec.js';
import { checkIfname, isValidPrefix, randomPrefix } from './names.js';
import { NsProcess, type SpawnOptions } from './process.js';
import { attachXdpPass, setOffloads, type XdpMode } from './xdp.js';
import { removeNetnsPins } from '../datapath/pin.js';

export interface TopologyOptions {
  /** Default: a random `xvXXXX-`. A fixed prefix (the lab) must not be in use yet. */
  prefix?: string;
  /** Receives one line per action (commands run, processes started), for transcripts. */
  log?: (line: string) => void;
  /** Register teardown for exit/SIGINT/SIGTERM/SIGHUP (default true). */
  handleSignals?: boolean;
}

export interface VethOptions {
  /** `ethtool -K … tx off` on both ends (default true): see ENVIRONMENT.md, checksum offload. */
  txOff?: boolean;
  mtu?: number;
}

export interface VethEnd {
  ns: Netns;
  ifname: string;
}

/** A prefix is already used by existing namespaces. */
export class TopologyExistsError extends Error {
  readonly code = 'TOPOLOGY_EXISTS';
  constructor(readonly prefix: string, readonly namespaces: string[]) {
    super(`namespaces with prefix '${prefix}' already exist: ${namespaces.join(', ')}`);
    this.name = 'TopologyExistsError';
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Names of the existing network namespaces (optionally only those starting with `prefix`). */
export async function listNamespaces(prefix = ''): Promise<string[]> {
  const { stdout } = await run(['ip', '-j', 'netns', 'list']);
  const all = stdout.trim() ? (JSON.parse(stdout) as { name: string }[]).map((n) => n.name) : [];
  return all.filter((n) => n.startsWith(prefix)).sort();
}

/**
 * Removes every namespace whose name starts with `prefix`, killing the processes inside first; for
 * topologies left behind on purpose (`lab --keep`) or by a crashed run. Returns the names removed.
 */
export async function destroyNamespaces(prefix: string): Promise<string[]> {
  if (!isValidPrefix(prefix)) throw new Error(`refusing to destroy namespaces with prefix '${prefix}'`);
  const names = await listNamespaces(prefix);
  const pidsOf = async (ns: string): Promise<number[]> => {
    const { stdout } = await run(['ip', 'netns', 'pids', ns], { allowFail: true });
    return stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== process.pid);
  };
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = (await Promise.all(names.map(pidsOf))).flat();
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
    if (sig === 'SIGTERM' && pids.length > 0) {
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && (await Promise.all(names.map(pidsOf))).flat().length > 0) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  for (const ns of names) {
    removeNetnsPins(ns);
    await run(['ip', 'netns', 'del', ns], { allowFail: true });
  }
  return names;
}

/** One network namespace of a topology. */
export class Netns {
  constructor(
    readonly topology: Topology,
    /** Short name inside the topology, e.g. `director`. */
    readonly label: string,
    /** The real namespace name, e.g. `xv3fa2-director`. */
    readonly name: string,
  ) {}

  /** Runs argv inside this namespace; throws ExecError on failure unless `allowFail`. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    if (!opts?.quiet) this.topology.trace(`[${this.label}]# ${formatArgv(argv)}`);
    return runIn(this.name, argv, opts);
  }

  /** `ip -n <ns> <args…>` */
  ip(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    if (!opts?.quiet) this.topology.trace(`[${this.label}]# ip ${formatArgv(args)}`);
    return run(['ip', '-n', this.name, ...args], opts);
  }

  async linkUp(ifname: string): Promise<void> {
    await this.ip(['link', 'set', 'dev', ifname, 'up']);
  }

  /** Adds `cidr` (e.g. `192.0.2.2/24`, `2001:db8::2/64`) to `ifname`; IPv6 without DAD delay. */
  async addAddr(ifname: string, cidr: string): Promise<void> {
    const v6 = net.isIPv6(cidr.split('/')[0]);
    await this.ip(['addr', 'add', cidr, 'dev', ifname, ...(v6 ? ['nodad'] : [])]);
  }

  /** Adds a route: `via` a gateway, and/or out of `dev`. `dst` may be `default`. */
  async addRoute(dst: string, route: { via?: string; dev?: string }): Promise<void> {
    const v6 = (route.via && net.isIPv6(route.via)) || net.isIPv6(dst.split('/')[0]);
    await this.ip([
      ...(v6 ? ['-6'] : []),
      'route', 'add', dst,
      ...(route.via ? ['via', route.via] : []),
      ...(route.dev ? ['dev', route.dev] : []),
    ]);
  }

  async sysctl(key: string, value: string | number): Promise<void> {
    await this.exec(['sysctl', '-qw', `${key}=${value}`]);
  }

  async readSysctl(key: string): Promise<string> {
    return (await this.exec(['sysctl', '-n', key])).stdout.trim();
  }

  /**
   * Attaches bpf/xdp_pass.o to `ifname`, for veth peers that must receive XDP_TX/REDIRECT, and turns GRO
   * off there (GRO on the peer silently swallows XDP_TX frames; veth's default is off, made sure of).
   */
  async attachXdpPass(ifname: string, mode: XdpMode = 'native'): Promise<void> {
    this.topology.trace(`[${this.label}]# ip link set dev ${ifname} ${mode === 'native' ? 'xdpdrv' : 'xdpgeneric'} obj xdp_pass.o sec xdp`);
    await attachXdpPass(this.name, ifname, mode);
    await this.setOffloads(ifname, { gro: false });
  }

  async setOffloads(ifname: string, features: Record<string, boolean>): Promise<void> {
    await setOffloads(this.name, ifname, features);
  }

  /** MAC address of `ifname`. */
  async mac(ifname: string): Promise<string> {
    const { stdout } = await run(['ip', '-n', this.name, '-j', 'link', 'show', 'dev', ifname]);
    return (JSON.parse(stdout) as { address: string }[])[0].address;
  }

  /** Starts a long-running process in this namespace; the topology stops it at teardown. */
  spawn(argv: readonly string[], opts: SpawnOptions = {}): NsProcess {
    return this.topology.spawn(this, argv, opts);
  }
}

export class Topology {
  readonly prefix: string;
  private readonly namespaces = new Map<string, Netns>();
  private readonly processes = new Set<NsProcess>();
  private readonly tmpDirs: string[] = [];
  private readonly hooks: (() => unknown)[] = [];
  private readonly log: (line: string) => void;
  private tornDown = false;
  private readonly onExit = (): void => this.teardownSync();
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.teardownSync();
    // End the process as the default action would have. With nobody else listening, die of the signal
    // itself; otherwise exit: other listeners (e.g. signal-exit, preloaded by test runners) may each
    // wait for the others to act, and the process would live on.
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    else process.exit(128 + (os.constants.signals[sig] ?? 0));
  };

  private constructor(prefix: string, opts: TopologyOptions) {
    this.prefix = prefix;
    this.log = opts.log ?? (() => {});
    if (opts.handleSignals ?? true) {
      process.once('exit', this.onExit);
      for (const sig of SIGNALS) process.once(sig, this.onSignal);
    }
  }

  /** Reserves a prefix. Fails with TopologyExistsError if namespaces with that prefix exist. */
  static async create(opts: TopologyOptions = {}): Promise<Topology> {
    let prefix = opts.prefix ?? randomPrefix();
    if (!isValidPrefix(prefix)) throw new Error(`invalid topology prefix '${prefix}' (a letter, then up to 7 of [a-z0-9_-])`);
    for (;;) {
      const existing = await listNamespaces(prefix);
      if (existing.length === 0) break;
      if (opts.prefix !== undefined) throw new TopologyExistsError(prefix, existing);
      prefix = randomPrefix();
    }
    return new Topology(prefix, opts);
  }

  /** `prefix + suffix`, checked against the kernel's 15-character limit. */
  ifname(suffix: string): string {
    return checkIfname(this.prefix + suffix);
  }

  ns(label: string): Netns {
    const ns = this.namespaces.get(label);
    if (!ns) throw new Error(`no namespace '${label}' in topology ${this.prefix}`);
    return ns;
  }

  get allNamespaces(): Netns[] {
    return [...this.namespaces.values()];
  }

  trace(line: string): void {
    this.log(line);
  }

  /** Creates namespace `<prefix><label>` with lo up. */
  async addNs(label: string): Promise<Netns> {
    if (this.tornDown) throw new Error('topology already torn down');
    if (this.namespaces.has(label)) throw new Error(`namespace '${label}' already in topology ${this.prefix}`);
    const ns = new Netns(this, label, this.prefix + label);
    this.trace(`# ip netns add ${ns.name}`);
    await run(['ip', 'netns', 'add', ns.name]);
    this.namespaces.set(label, ns);
    await ns.linkUp('lo');
    return ns;
  }

  /**
   * Creates a veth pair directly inside the two namespaces (it never exists in the caller's namespace),
   * named `<prefix><aSuffix>` in `a` and `<prefix><bSuffix>` in `b`, and brings both ends up.
   */
  async veth(a: Netns, aSuffix: string, b: Netns, bSuffix: string, opts: VethOptions = {}): Promise<[VethEnd, VethEnd]> {
    const ends: [VethEnd, VethEnd] = [
      { ns: a, ifname: this.ifname(aSuffix) },
      { ns: b, ifname: this.ifname(bSuffix) },
    ];
    const mtu = opts.mtu ? ['mtu', String(opts.mtu)] : [];
    this.trace(`# ip link add ${ends[0].ifname} netns ${a.name} type veth peer name ${ends[1].ifname} netns ${b.name}`);
    await run([
      'ip', 'link', 'add', ends[0].ifname, 'netns', a.name, ...mtu,
      'type', 'veth', 'peer', 'name', ends[1].ifname, 'netns', b.name, ...mtu,
    ]);
    for (const end of ends) {
      if (opts.txOff ?? true) await end.ns.setOffloads(end.ifname, { tx: false });
      await end.ns.linkUp(end.ifname);
    }
    return ends;
  }

  /** Creates bridge `<prefix><suffix>` in `ns`, enslaves `ports` and brings everything up. */
  async bridge(ns: Netns, suffix: string, ports: readonly string[]): Promise<string> {
    const br = this.ifname(suffix);
    await ns.ip(['link', 'add', br, 'type', 'bridge']);
    // Forward immediately: no STP, no forwarding delay.
    await ns.ip(['link', 'set', 'dev', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    for (const port of ports) await ns.ip(['link', 'set', 'dev', port, 'master', br]);
    await ns.linkUp(br);
    return br;
  }

  /** Starts a tracked process inside `ns`. */
  spawn(ns: Netns, argv: readonly string[], opts: SpawnOptions = {}): NsProcess {
    if (this.tornDown) throw new Error('topology already torn down');
    this.trace(`[${ns.label}]# ${formatArgv(argv)} &`);
    const proc = new NsProcess(inNetns(ns.name, argv), { label: `${argv[0]}@${ns.label}`, ...opts });
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** A fresh temporary directory, removed at teardown. */
  async tmpDir(label: string): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `${this.prefix}${label}-`));
    this.tmpDirs.push(dir);
    return dir;
  }

  /** Runs `fn` at teardown, after the processes are stopped and before the namespaces go (LIFO). */
  onTeardown(fn: () => unknown): void {
    this.hooks.push(fn);
  }

  get isTornDown(): boolean {
    return this.tornDown;
  }

  /**
   * Stops every process, runs the hooks, deletes every namespace (and with it every veth and bridge)
   * and the temporary directories. Never throws; returns the problems it met. Idempotent.
   */
  async teardown(): Promise<Error[]> {
    if (this.tornDown) return [];
    this.tornDown = true;
    this.unregister();
    const problems: Error[] = [];
    const note = (e: unknown): void => {
      problems.push(e instanceof Error ? e : new Error(String(e)));
    };
    await Promise.all([...this.processes].map((p) => p.stop('SIGTERM', 5000).catch(note)));
    for (const hook of [...this.hooks].reverse()) {
      try {
        await hook();
      } catch (e) {
        note(e);
      }
    }
    for (const ns of [...this.namespaces.values()].reverse()) {
      removeNetnsPins(ns.name); // an xvsd stopped with --keep-forwarding or SIGKILL leaves its pins
      this.trace(`# ip netns del ${ns.name}`);
      await run(['ip', 'netns', 'del', ns.name]).catch(note);
    }
    this.namespaces.clear();
    for (const dir of this.tmpDirs) await rm(dir, { recursive: true, force: true }).catch(note);
    for (const p of problems) this.log(`teardown: ${p.message}`);
    return problems;
  }

  /** teardown() for exit handlers: synchronous, best effort; async hooks are started but not awaited. */
  teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.unregister();
    for (const p of this.processes) p.stopSync();
    for (const hook of [...this.hooks].reverse()) {
      try {
        void Promise.resolve(hook()).catch(() => {});
      } catch {
        /* best effort */
      }
    }
    for (const ns of this.namespaces.values()) {
      removeNetnsPins(ns.name);
      runSyncQuiet(['ip', 'netns', 'del', ns.name]);
    }
    this.namespaces.clear();
    for (const dir of this.tmpDirs) rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Leaves everything in place and forgets it (`lab --keep`): no teardown at exit, processes keep
   * running. Processes meant to survive must write to a log file (SpawnOptions.logFile), not to pipes.
   */
  release(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.unregister();
    for (const p of this.processes) p.detach();
    this.processes.clear();
  }

  private unregister(): void {
    process.removeListener('exit', this.onExit);
    for (const sig of SIGNALS) process.removeListener(sig, this.onSignal);
  }
}
