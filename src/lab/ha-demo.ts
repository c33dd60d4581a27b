// src/lab/ha-demo.ts — `npm run lab -- --ha`: two directors with keepalived and connection sync (src/lab/ha.ts);
// a long transfer per forwarding mode runs while the master crashes; the backup takes the VIP and every
// transfer completes with its digest. Prints what happened as it happens, then tears down (or --keep).
import path from 'node:path';
import { formatArgv, repoRoot, TopologyExistsError, listNamespaces } from '../netns/index.js';
import { buildHaLab, haLogs, keepalivedInstalled, notifyScriptInstalled, syncDaemons, HA_ADDRESSES, HA_PORTS, type HaLab } from './ha.js';
import { startTraffic } from './traffic.js';
import { missingBuild, xvsadm } from './xvs.js';

export interface HaDemoOptions {
  prefix: string;
  keep: boolean;
  verbose: boolean;
  logDir: string;
}

const say = (line = ''): void => {
  process.stdout.write(line + '\n');
};

async function show(lab: HaLab, label: 'lb1' | 'lb2', args: string[], grep?: string): Promise<void> {
  const d = lab.directors.find((x) => x.label === label)!;
  say(`[${label}]# ${formatArgv(['xvsadm', ...args])}${grep ? ` | grep -e ${grep} -e ^pro` : ''}`);
  const res = await xvsadm(d.ns, args, { allowFail: true });
  let out = (res.stdout + res.stderr).trimEnd();
  if (grep) out = out.split('\n').filter((l) => l.includes(grep) || l.startsWith('pro')).join('\n');
  if (out) say(out);
}

export async function runHaDemo(opts: HaDemoOptions): Promise<number> {
  const missing = missingBuild();
  if (missing.length) {
    say(`lab --ha: missing ${missing.join(', ')}: run 'npm run build' first`);
    return 1;
  }
  if (!keepalivedInstalled() || !notifyScriptInstalled()) {
    say('lab --ha: keepalived or packaging/keepalived/xvs-notify.sh is missing: run scripts/bootstrap.sh');
    return 1;
  }
  const A = HA_ADDRESSES;
  say('xvs lab --ha: two directors with keepalived (VRRP) and connection sync; the master crashes mid-transfer');
  let lab: HaLab;
  try {
    const existing = await listNamespaces(opts.prefix);
    if (existing.length) throw new TopologyExistsError(opts.prefix, existing);
    lab = await buildHaLab({ prefix: opts.prefix, log: opts.verbose ? (l) => say(`  ${l}`) : undefined, logDir: opts.logDir });
  } catch (e) {
    if (e instanceof TopologyExistsError) {
      say(`lab: a lab is already up (${e.namespaces.join(', ')}); remove it with: node dist/src/lab/main.js --down`);
      return 1;
    }
    throw e;
  }
  const [lb1, lb2] = lab.directors;
  say(`topology (namespaces ${lab.prefix}*):`);
  say(`  client   ${A.client} ── router ${A.routerWan} / ${A.routerFront} on the front bridge`);
  say(`  lb1 lb2  front ${A.lbFront(1)}, ${A.lbFront(2)}; back ${A.lbBack(1)}, ${A.lbBack(2)}; keepalived moves VIP ${lab.vip} and ${lab.backVip}`);
  say(`  rs1 rs2  front ${A.rsFront(1)}, ${A.rsFront(2)} (VIP on lo); back ${A.rsBack(1)}, ${A.rsBack(2)} (gateway ${lab.backVip})`);
  say(`  services on ${lab.vip}: ${Object.entries(HA_PORTS).map(([m, p]) => `${m.toUpperCase()} :${p}`).join(', ')}`);
  say();
  let ok = false;
  try {
    say('[lb1]# xvsd --attach generic &        [lb2]# xvsd --attach generic &   (same sync key)');
    await Promise.all([lab.startXvsd(lb1), lab.startXvsd(lb2)]);
    await lab.configure(lb1);
    await lab.configure(lb2);
    await show(lab, 'lb1', ['-Ln']);
    say('[lb1]# keepalived --vrrp ...   (priority 150)     [lb2]# keepalived --vrrp ...   (priority 100)');
    await lab.startKeepalived(lb1, 'MASTER');
    await lab.startKeepalived(lb2, 'BACKUP');
    say(`lb1 is MASTER and owns ${lab.vip}; keepalived's notify script started the sync daemons:`);
    for (const d of [lb1, lb2]) say(`  ${d.label}: ${(await syncDaemons(d)).trim() || '(none)'}`);
    say();

    say('[client]$ one 3 MiB echo transfer per mode, paced over 8 s, SHA-256 checked on both ends');
    const traffic = startTraffic(lab.client, {
      targets: lab.targets(),
      long: { perTarget: 1, bytes: 3 << 20, durationMs: 8000 },
      short: { ratePerS: 10, durationMs: 8000, timeoutMs: 4000, bytes: 256 },
      graceMs: 10_000,
    });
    await traffic.ready;
    await new Promise((r) => setTimeout(r, 2000));
    say('the backup already knows the established connections (synced from lb1):');
    await show(lab, 'lb2', ['-Lnc'], 'ESTABLISHED');
    say('[host]# kill -9 <xvsd and keepalived of lb1>      (the master crashes)');
    await lab.crash(lb1);
    const took = await lab.waitVipOwner(lb2, 10_000);
    say(`... lb2 owns ${lab.vip} ${took} ms later (VRRPv3 adverts every 200 ms, nopreempt)`);
    const result = await traffic.done;
    say();
    for (const l of result.long) {
      say(`  ${l.target.padEnd(8)} via ${String(l.server).padEnd(4)} ${(l.bytes >> 20)} MiB  sha256 ${l.sentSha.slice(0, 16)}…  ` +
        `${l.ok ? 'echo and server digest match' : `FAILED: ${l.error}`}  (longest pause ${l.maxGapMs} ms)`);
    }
    const shortFailed = result.short.filter((s) => !s.ok).length;
    say(`  new connections: ${result.short.length - shortFailed}/${result.short.length} answered`);
    await show(lab, 'lb2', ['-Ln', '--stats']);
    ok = result.long.every((l) => l.ok);
    say(ok ? 'lab --ha: OK — the backup took over and every established transfer completed'
      : 'lab --ha: FAILED — an established transfer was lost');
  } catch (e) {
    say(`lab --ha: FAILED — ${(e as Error).message}`);
    say(await haLogs(lab, 10));
  } finally {
    if (opts.keep) {
      lab.topology.release();
      say();
      say('The lab stays up. Enter a namespace with:');
      for (const ns of lab.topology.allNamespaces) say(`  ip netns exec ${ns.name} bash`);
      say(`Logs: ${opts.logDir}`);
      say(`Tear it down with: node ${path.relative(process.cwd(), path.join(repoRoot, 'dist/src/lab/main.js')) || 'dist/src/lab/main.js'} --down --prefix ${lab.prefix}`);
    } else {
      say();
      say('tearing down ...');
      await lab.teardown();
    }
  }
  return ok ? 0 : 1;
}
