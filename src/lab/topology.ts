// src/lab/topology.ts — the classic LVS-DR topology as namespaces, for the lab and the e2e tests:
//   client ── router ══ bridge (LAN 192.0.2.0/24) ══ director (DIP + VIP), web1, web2 (VIP on lo)
// The director's XDP_TX goes back out of its LAN veth, so the router's port facing it gets an XDP_PASS
// program (see ENVIRONMENT.md, "XDP on veth"); tx checksum offload is off on every veth.
import { Topology, runIn, type Netns, type NsProcess, type XdpMode } from '../netns/index.js';
import { startHttpServer } from './http-server.js';
import { xvsRs } from './xvs.js';

export interface DrLabOptions {
  /** Default: a random `xvXXXX-`. The lab uses `xvslab-`. */
  prefix?: string;
  /** Transcript of every command run while building. */
  log?: (line: string) => void;
  /** Number of web servers (1..9), default 2. */
  webServers?: number;
  /** Mode of the XDP_PASS program on the router's port facing the director (default native). */
  peerXdpMode?: XdpMode;
  /** Run `xvs-rs up --vip VIP` on the web servers (default true). */
  realServerSetup?: boolean;
  /** Start the web servers (default true). */
  http?: boolean;
  /** Web server output goes to files in this directory (they must survive us: `lab --keep`). */
  logDir?: string;
}

export interface WebServer {
  name: string;
  ns: Netns;
  ip: string;
  ifname: string;
  http: NsProcess | null;
}

export interface DrLab {
  topology: Topology;
  prefix: string;
  client: Netns;
  router: Netns;
  director: Netns;
  webs: WebServer[];
  vip: string;
  dip: string;
  clientIp: string;
  routerWanIp: string;
  routerLanIp: string;
  /** The director's LAN interface (where xvsd attaches). */
  directorIf: string;
  /** The router's bridge port facing the director (carries the XDP_PASS program). */
  routerDirectorPort: string;
  /** GET http://HOST[:PORT]/ from the client; resolves with the body, or null on failure/timeout. */
  httpGet(host: string, opts?: { port?: number; maxTimeS?: number }): Promise<string | null>;
  teardown(): Promise<Error[]>;
}

export const LAB_ADDRESSES = {
  clientNet: '203.0.113.0/24',
  client: '203.0.113.10',
  routerWan: '203.0.113.1',
  lanNet: '192.0.2.0/24',
  routerLan: '192.0.2.1',
  dip: '192.0.2.2',
  vip: '192.0.2.100',
  web: (i: number): string => `192.0.2.${10 + i}`,
} as const;

/** Builds the topology; on any failure everything built so far is torn down again. */
export async function buildDrLab(opts: DrLabOptions = {}): Promise<DrLab> {
  const nWebs = opts.webServers ?? 2;
  if (!Number.isInteger(nWebs) || nWebs < 1 || nWebs > 9) throw new Error('webServers must be 1..9');
  const A = LAB_ADDRESSES;
  const topo = await Topology.create({ prefix: opts.prefix, log: opts.log });
  try {
    const client = await topo.addNs('client');
    const router = await topo.addNs('router');
    const director = await topo.addNs('director');
    const webNs: Netns[] = [];
    for (let i = 1; i <= nWebs; i++) webNs.push(await topo.addNs(`web${i}`));

    // client ── router
    const [cli] = await topo.veth(client, 'rtr', router, 'cli');
    await client.addAddr(cli.ifname, `${A.client}/24`);
    await client.addRoute('default', { via: A.routerWan });
    await router.addAddr(topo.ifname('cli'), `${A.routerWan}/24`);
    await router.sysctl('net.ipv4.ip_forward', 1);

    // The LAN: a bridge in the router namespace with one port per host.
    const ports: string[] = [];
    const [, dirPort] = await topo.veth(director, 'lan', router, 'dir');
    ports.push(dirPort.ifname);
    for (const [i, ns] of webNs.entries()) {
      const [, port] = await topo.veth(ns, 'lan', router, `web${i + 1}`);
      ports.push(port.ifname);
    }
    const br = await topo.bridge(router, 'lan', ports);
    await router.addAddr(br, `${A.routerLan}/24`);
    // XDP_TX from the director only arrives if its veth peer runs an XDP program.
    await router.attachXdpPass(dirPort.ifname, opts.peerXdpMode ?? 'native');

    const directorIf = topo.ifname('lan');
    await director.addAddr(directorIf, `${A.dip}/24`);
    // The VIP on the LAN interface: the director answers ARP for it.
    await director.addAddr(directorIf, `${A.vip}/32`);
    await director.addRoute('default', { via: A.routerLan });
    await director.sysctl('net.ipv4.ip_forward', 1);

    const webs: WebServer[] = [];
    for (const [i, ns] of webNs.entries()) {
      const name = `web${i + 1}`;
      const ip = A.web(i + 1);
      await ns.addAddr(topo.ifname('lan'), `${ip}/24`);
      await ns.addRoute('default', { via: A.routerLan });
      webs.push({ name, ns, ip, ifname: topo.ifname('lan'), http: null });
    }
    if (opts.realServerSetup ?? true) {
      for (const w of webs) {
        await xvsRs(w.ns, ['up', '--vip', A.vip]);
        // Leave no state file behind for a namespace that is about to disappear.
        topo.onTeardown(() => xvsRs(w.ns, ['down'], { allowFail: true, quiet: true }));
      }
    }
    if (opts.http ?? true) {
      for (const w of webs) {
        w.http = await startHttpServer(w.ns, {
          name: w.name,
          logFile: opts.logDir ? `${opts.logDir}/${w.name}-http.log` : undefined,
        });
      }
    }

    return {
      topology: topo,
      prefix: topo.prefix,
      client, router, director, webs,
      vip: A.vip, dip: A.dip, clientIp: A.client, routerWanIp: A.routerWan, routerLanIp: A.routerLan,
      directorIf,
      routerDirectorPort: dirPort.ifname,
      httpGet: (host, o = {}) => httpGet(client, host, o),
      teardown: () => topo.teardown(),
    };
  } catch (e) {
    await topo.teardown();
    throw e;
  }
}

/** One HTTP GET with curl from `ns` (a fresh TCP connection each time); the body, or null. */
export async function httpGet(ns: Netns, host: string, opts: { port?: number; maxTimeS?: number } = {}): Promise<string | null> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}${opts.port ? `:${opts.port}` : ''}/`;
  const res = await runIn(ns.name, ['curl', '-sS', '--max-time', String(opts.maxTimeS ?? 2), url], {
    allowFail: true,
    timeoutMs: ((opts.maxTimeS ?? 2) + 5) * 1000,
  });
  return res.code === 0 ? res.stdout.trim() : null;
}
