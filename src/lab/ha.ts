// src/lab/ha.ts — two directors with keepalived as namespaces, for the HA/restart tests and `lab --ha`:
//   client ── router ══ front bridge (192.0.2.0/24): lb1, lb2, rs1, rs2 — VIP 192.0.2.100 (VRRP)
//                    ══ back bridge (198.51.100.0/24): lb1, lb2, rs1, rs2 — gateway/LIP 198.51.100.1 (VRRP)
// One VIP carries a service per forwarding mode (DR :9001, NAT :9002, FULLNAT :9003, TUN :9004); the real
// servers answer DR/TUN from the VIP on lo (replies via the router) and NAT/FULLNAT from their back address
// (policy-routed to the VRRP gateway). keepalived (VRRPv3, fast adverts, nopreempt, one instance) moves
// both addresses; its notify runs packaging/keepalived/xvs-notify.sh to switch the sync role.
import { existsSync } from 'node:fs';
import { appendFile, chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Topology, repoRoot, waitFor, type Netns, type NsProcess } from '../netns/index.js';
import { startXvsd, waitXvsdReady, xvsadm, xvsRs } from './xvs.js';
import { startTrafficServer, TRAFFIC_PORT, type TrafficTarget } from './traffic.js';

export const HA_ADDRESSES = {
  client: '203.0.113.10',
  routerWan: '203.0.113.1',
  routerFront: '192.0.2.1',
  vip: '192.0.2.100',
  /** VRRP-owned on the back net: the NAT real servers' gateway and FULLNAT's local address. */
  backVip: '198.51.100.1',
  lbFront: (i: number): string => `192.0.2.${1 + i}`,
  lbBack: (i: number): string => `198.51.100.${1 + i}`,
  rsFront: (i: number): string => `192.0.2.${10 + i}`,
  rsBack: (i: number): string => `198.51.100.${10 + i}`,
} as const;

export type HaMode = 'dr' | 'nat' | 'fullnat' | 'tun';
export const HA_MODES: readonly HaMode[] = ['dr', 'nat', 'fullnat', 'tun'];
/** VIP port of each mode's service. */
export const HA_PORTS: Record<HaMode, number> = { dr: 9001, nat: 9002, fullnat: 9003, tun: 9004 };
/** The real servers listen on TRAFFIC_PORT (NAT/FULLNAT) and on the DR/TUN ports (the VIP on lo). */
const RS_PORTS = [TRAFFIC_PORT, HA_PORTS.dr, HA_PORTS.tun];
const VRID = 51;
export const SYNC_ID = 7;
const NOTIFY_SCRIPT = path.join(repoRoot, 'packaging/keepalived/xvs-notify.sh');
const KEEPALIVED = ['/usr/sbin/keepalived', '/usr/bin/keepalived'].find((p) => existsSync(p)) ?? null;

export interface HaLabOptions {
  prefix?: string;
  log?: (line: string) => void;
  /** 2 (default): lb1 and lb2 with keepalived; 1: lb1 alone, addresses configured statically. */
  directors?: 1 | 2;
  /** xvsd attach mode (default generic: no veth peer programs or checksum caveats). */
  attach?: 'generic' | 'native' | 'tc';
  /** VRRP advertisement interval in seconds (VRRPv3: centiseconds), default 0.2. */
  advertIntS?: number;
  /** Log files of xvsd and keepalived go here (default: the topology's temporary directory). */
  logDir?: string;
}

export interface Director {
  label: 'lb1' | 'lb2';
  index: number;
  ns: Netns;
  frontIf: string;
  backIf: string;
  /** The router's bridge ports facing this director (pull these cables for a link failure). */
  frontPort: string;
  backPort: string;
  priority: number;
  xvsd: NsProcess | null;
  keepalived: NsProcess | null;
  /** keepalived's notify calls, one `TYPE NAME STATE` line each. */
  notifyLog: string;
  xvsdLog: string;
  keepalivedLog: string;
}

export interface HaLab {
  topology: Topology;
  prefix: string;
  client: Netns;
  router: Netns;
  directors: Director[];
  rss: Netns[];
  vip: string;
  backVip: string;
  syncKeyFile: string;
  /** One traffic target per mode (or the given ones). */
  targets(modes?: readonly HaMode[]): TrafficTarget[];
  /** Starts xvsd on `d` (generic attach, the sync key) with `extra` arguments; waits until it answers. */
  startXvsd(d: Director, extra?: readonly string[]): Promise<NsProcess>;
  /** The services of every mode on `d` (`xvsadm -R` plus the FULLNAT local address). */
  configure(d: Director): Promise<void>;
  /** Starts keepalived on `d` and waits until it has settled (MASTER with the VIP, or BACKUP). */
  startKeepalived(d: Director, expect: 'MASTER' | 'BACKUP'): Promise<NsProcess>;
  /** The director crashes: SIGKILL of keepalived and xvsd (their whole process groups). */
  crash(d: Director): Promise<void>;
  /** What a reboot would clear after a crash: addresses keepalived left behind. */
  clearLeftovers(d: Director): Promise<void>;
  /** Pulls (or plugs back) the cable of `d`'s front interface (the bridge port goes down/up). */
  setFrontLink(d: Director, up: boolean): Promise<void>;
  /** The director whose front interface carries the VIP, or null. */
  vipOwner(): Promise<Director | null>;
  /** Waits until `d` (alone) owns the VIP and the back address; resolves with how long it took. */
  waitVipOwner(d: Director, timeoutMs?: number): Promise<number>;
  /** The last notify state of `d` (MASTER/BACKUP/FAULT/STOP), or null. */
  notifyState(d: Director): Promise<string | null>;
  teardown(): Promise<Error[]>;
}

export const keepalivedInstalled = (): boolean => KEEPALIVED !== null;
export const notifyScriptInstalled = (): boolean => existsSync(NOTIFY_SCRIPT);

function keepalivedConf(d: Director, lab: { vip: string; backVip: string }, advertIntS: number, notify: string): string {
  // As packaging/keepalived/keepalived-nat.conf: one instance owns both floating addresses, so they
  // always move together; both directors start BACKUP with nopreempt.
  return `# generated by xvs src/lab/ha.ts for ${d.label}
global_defs {
  router_id xvs-${d.label}
  vrrp_version 3
  script_user root
  enable_script_security
  vrrp_garp_master_delay 1
  vrrp_garp_master_repeat 3
}
vrrp_instance VI_XVS {
  state BACKUP
  nopreempt
  interface ${d.frontIf}
  virtual_router_id ${VRID}
  priority ${d.priority}
  advert_int ${advertIntS}
  virtual_ipaddress {
    ${lab.vip}/32 dev ${d.frontIf}
    ${lab.backVip}/32 dev ${d.backIf}
  }
  notify ${notify}
}
`;
}

/**
 * The notify wrapper: hands the transition to xvs-notify.sh with its settings, then records it. The
 * line is written once the script has finished, so a test that sees a state in the log also sees the
 * sync role that state asks for (recording first raced with the script's own xvsadm calls).
 */
function notifyWrapper(d: Director, env: Record<string, string>): string {
  const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}'`).join('\n');
  return `#!/bin/sh
# generated by xvs src/lab/ha.ts: keepalived notify for ${d.label}
exec >> '${d.notifyLog}.out' 2>&1
# Test runners put their loader hooks into NODE_OPTIONS of every child; xvsadm must run plain.
unset NODE_OPTIONS
${exports}
# keepalived does not wait for one notify to end before it runs the next: keep transitions in order.
exec 9>> '${d.notifyLog}.lock'
flock 9
rc=0
if [ -x '${NOTIFY_SCRIPT}' ]; then
  '${NOTIFY_SCRIPT}' "$@"
  rc=$?
fi
echo "$1 $2 $3" >> '${d.notifyLog}'
exit "$rc"
`;
}

/** Builds the topology (no daemons yet); on any failure everything built so far is torn down. */
export async function buildHaLab(opts: HaLabOptions = {}): Promise<HaLab> {
  const A = HA_ADDRESSES;
  const nDirectors = opts.directors ?? 2;
  const attach = opts.attach ?? 'generic';
  const advertIntS = opts.advertIntS ?? 0.2;
  const topo = await Topology.create({ prefix: opts.prefix, log: opts.log });
  try {
    const tmp = await topo.tmpDir('ha');
    const logDir = opts.logDir ?? tmp;
    const client = await topo.addNs('client');
    const router = await topo.addNs('router');
    const [cli] = await topo.veth(client, 'rtr', router, 'cli');
    await client.addAddr(cli.ifname, `${A.client}/24`);
    await client.addRoute('default', { via: A.routerWan });
    await router.addAddr(topo.ifname('cli'), `${A.routerWan}/24`);
    await router.sysctl('net.ipv4.ip_forward', 1);

    // MTU 1600 on both segments: a full-size client packet plus TUN's 20-byte header fits.
    const mtu = 1600;
    const frontPorts: string[] = [];
    const backPorts: string[] = [];
    const directors: Director[] = [];
    for (let i = 1; i <= nDirectors; i++) {
      const label = `lb${i}` as 'lb1' | 'lb2';
      const ns = await topo.addNs(label);
      const [front, fp] = await topo.veth(ns, 'fr', router, `${label}f`, { mtu });
      const [back, bp] = await topo.veth(ns, 'bk', router, `${label}b`, { mtu });
      frontPorts.push(fp.ifname);
      backPorts.push(bp.ifname);
      await ns.addAddr(front.ifname, `${A.lbFront(i)}/24`);
      await ns.addAddr(back.ifname, `${A.lbBack(i)}/24`);
      await ns.addRoute('default', { via: A.routerFront });
      await ns.sysctl('net.ipv4.ip_forward', 1);
      directors.push({
        label, index: i, ns, frontIf: front.ifname, backIf: back.ifname, frontPort: fp.ifname, backPort: bp.ifname,
        priority: 200 - 50 * i, xvsd: null, keepalived: null,
        notifyLog: path.join(logDir, `${label}-notify.log`),
        xvsdLog: path.join(logDir, `${label}-xvsd.log`),
        keepalivedLog: path.join(logDir, `${label}-keepalived.log`),
      });
    }
    const rss: Netns[] = [];
    for (let i = 1; i <= 2; i++) {
      const ns = await topo.addNs(`rs${i}`);
      rss.push(ns);
      const [front, fp] = await topo.veth(ns, 'fr', router, `rs${i}f`, { mtu });
      const [back, bp] = await topo.veth(ns, 'bk', router, `rs${i}b`, { mtu });
      frontPorts.push(fp.ifname);
      backPorts.push(bp.ifname);
      await ns.addAddr(front.ifname, `${A.rsFront(i)}/24`);
      await ns.addAddr(back.ifname, `${A.rsBack(i)}/24`);
      await ns.addRoute('default', { via: A.routerFront });
      // NAT/FULLNAT replies leave from the back address: through the directors' VRRP gateway.
      await ns.ip(['route', 'add', 'default', 'via', A.backVip, 'table', '100']);
      await ns.ip(['rule', 'add', 'from', `${A.rsBack(i)}/32`, 'table', '100', 'priority', '100']);
    }
    const br = await topo.bridge(router, 'front', frontPorts);
    await router.addAddr(br, `${A.routerFront}/24`);
    await topo.bridge(router, 'back', backPorts);

    for (const [i, ns] of rss.entries()) {
      await xvsRs(ns, ['up', '--vip', A.vip, '--mode', 'tun']);
      topo.onTeardown(() => xvsRs(ns, ['down'], { allowFail: true, quiet: true }));
      await startTrafficServer(ns, `rs${i + 1}`, RS_PORTS);
    }

    const syncKeyFile = path.join(tmp, 'sync.key');
    await writeFile(syncKeyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });

    if (nDirectors === 1) {
      // No VRRP: the single director owns both addresses.
      await directors[0].ns.addAddr(directors[0].frontIf, `${A.vip}/32`);
      await directors[0].ns.addAddr(directors[0].backIf, `${A.backVip}/32`);
    }
    // Resolved neighbours everywhere (bpf_fib_lookup needs them; the lab should not depend on timing).
    for (const d of directors) {
      await d.ns.exec(['ping', '-c1', '-W1', A.routerFront], { allowFail: true, quiet: true });
      for (let i = 1; i <= 2; i++) {
        await d.ns.exec(['ping', '-c1', '-W1', A.rsFront(i)], { allowFail: true, quiet: true });
        await d.ns.exec(['ping', '-c1', '-W1', A.rsBack(i)], { allowFail: true, quiet: true });
      }
    }

    const ownsAddr = async (d: Director, ifname: string, addr: string): Promise<boolean> => {
      const res = await d.ns.ip(['-j', 'addr', 'show', 'dev', ifname], { quiet: true, allowFail: true });
      if (res.code !== 0) return false;
      const links = JSON.parse(res.stdout) as { addr_info: { local: string }[] }[];
      return links.some((l) => l.addr_info.some((a) => a.local === addr));
    };

    const lab: HaLab = {
      topology: topo,
      prefix: topo.prefix,
      client, router, directors, rss,
      vip: A.vip,
      backVip: A.backVip,
      syncKeyFile,
      targets: (modes = HA_MODES) => modes.map((m) => ({ label: m, host: A.vip, port: HA_PORTS[m] })),

      async startXvsd(d, extra = []) {
        const proc = startXvsd(d.ns, ['--attach', attach, '--sync-key-file', syncKeyFile, ...extra], { logFile: d.xvsdLog });
        d.xvsd = proc;
        await waitXvsdReady(d.ns, proc).catch(async (e: Error) => {
          const tail = (await readFile(d.xvsdLog, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
          throw new Error(`${e.message}\nxvsd log (${d.label}):\n${tail}`, { cause: e });
        });
        return proc;
      },

      async configure(d) {
        const v = A.vip;
        const rules: string[] = [];
        for (const mode of HA_MODES) rules.push(`-A -t ${v}:${HA_PORTS[mode]} -s rr`);
        for (let i = 1; i <= 2; i++) {
          rules.push(`-a -t ${v}:${HA_PORTS.dr} -r ${A.rsFront(i)}:${HA_PORTS.dr} -g -w 1`);
          rules.push(`-a -t ${v}:${HA_PORTS.nat} -r ${A.rsBack(i)}:${TRAFFIC_PORT} -m -w 1`);
          rules.push(`-a -t ${v}:${HA_PORTS.fullnat} -r ${A.rsBack(i)}:${TRAFFIC_PORT} --fullnat -w 1`);
          rules.push(`-a -t ${v}:${HA_PORTS.tun} -r ${A.rsFront(i)}:${HA_PORTS.tun} -i -w 1`);
        }
        await xvsadm(d.ns, ['-R'], { input: rules.join('\n') + '\n' });
        await xvsadm(d.ns, ['--add-laddr', '-t', `${v}:${HA_PORTS.fullnat}`, '-z', A.backVip]);
      },

      async startKeepalived(d, expect) {
        if (!KEEPALIVED) throw new Error('keepalived is not installed (apt-get install keepalived)');
        const dir = await topo.tmpDir(`${d.label}-ka`);
        const notify = path.join(dir, 'notify.sh');
        const env = {
          XVS_SYNC_IFACE: d.backIf,
          XVS_SYNC_ID: String(SYNC_ID),
          XVSADM: path.join(repoRoot, 'bin/xvsadm'),
        };
        await writeFile(notify, notifyWrapper(d, env));
        await chmod(notify, 0o700);
        const conf = path.join(dir, 'keepalived.conf');
        await writeFile(conf, keepalivedConf(d, lab, advertIntS, notify));
        const { NODE_OPTIONS: _drop, ...cleanEnv } = process.env;
        const proc = d.ns.spawn([
          KEEPALIVED, '--dont-fork', '--log-console', '--log-detail', '--no-syslog', '--vrrp',
          '-f', conf, '-p', path.join(dir, 'keepalived.pid'), '-r', path.join(dir, 'vrrp.pid'),
        ], { label: `keepalived@${d.label}`, logFile: d.keepalivedLog, env: cleanEnv });
        d.keepalived = proc;
        const failFast = () => (proc.running ? null : new Error(`keepalived on ${d.label} exited; see ${d.keepalivedLog}`));
        if (expect === 'MASTER') await lab.waitVipOwner(d, 10_000);
        else await waitFor(async () => (await lab.notifyState(d)) === 'BACKUP', { timeoutMs: 10_000, what: `${d.label} BACKUP`, failFast });
        return proc;
      },

      async crash(d) {
        await Promise.all([d.keepalived?.stop('SIGKILL', 2000), d.xvsd?.stop('SIGKILL', 2000)]);
        d.keepalived = null;
        d.xvsd = null;
        await appendFile(d.notifyLog, 'CRASH - -\n');
      },

      async clearLeftovers(d) {
        await d.ns.ip(['addr', 'del', `${A.vip}/32`, 'dev', d.frontIf], { allowFail: true });
        await d.ns.ip(['addr', 'del', `${A.backVip}/32`, 'dev', d.backIf], { allowFail: true });
      },

      async setFrontLink(d, up) {
        await router.ip(['link', 'set', 'dev', d.frontPort, up ? 'up' : 'down']);
      },

      async vipOwner() {
        for (const d of directors) if (await ownsAddr(d, d.frontIf, A.vip)) return d;
        return null;
      },

      async waitVipOwner(d, timeoutMs = 10_000) {
        const t0 = Date.now();
        const others = directors.filter((o) => o !== d);
        await waitFor(async () => {
          if (!(await ownsAddr(d, d.frontIf, A.vip)) || !(await ownsAddr(d, d.backIf, A.backVip))) return false;
          // A crashed director keeps its addresses (nobody removed them); it no longer counts.
          for (const o of others) if (o.keepalived && (await ownsAddr(o, o.frontIf, A.vip))) return false;
          return true;
        }, { timeoutMs, intervalMs: 50, what: `${d.label} to own ${A.vip} and ${A.backVip}` });
        return Date.now() - t0;
      },

      async notifyState(d) {
        const text = await readFile(d.notifyLog, 'utf8').catch(() => '');
        const last = text.trim().split('\n').filter(Boolean).pop();
        return last ? last.split(' ')[2] ?? null : null;
      },

      teardown: () => topo.teardown(),
    };
    return lab;
  } catch (e) {
    await topo.teardown();
    throw e;
  }
}

/** `xvsadm -L --daemon` on `d` (empty when no sync daemon runs or the command fails). */
export async function syncDaemons(d: Director): Promise<string> {
  const res = await xvsadm(d.ns, ['-L', '--daemon'], { allowFail: true, quiet: true });
  return res.code === 0 ? res.stdout : '';
}

/** The tails of every director's xvsd, keepalived and notify logs (shown when a test fails). */
export async function haLogs(lab: HaLab, lines = 30): Promise<string> {
  const tail = async (file: string): Promise<string> =>
    (await readFile(file, 'utf8').catch(() => '(none)')).trimEnd().split('\n').slice(-lines).join('\n');
  const parts: string[] = [];
  for (const d of lab.directors) {
    parts.push(`--- ${d.label} xvsd (${d.xvsdLog})\n${await tail(d.xvsdLog)}`);
    parts.push(`--- ${d.label} keepalived\n${await tail(d.keepalivedLog)}`);
    parts.push(`--- ${d.label} notify\n${await tail(d.notifyLog)}\n${await tail(`${d.notifyLog}.out`)}`);
  }
  return parts.join('\n');
}
