// src/lab/main.ts — `npm run lab`: builds the LVS-DR namespace lab (client, router, director, web1,
// web2), runs xvsd on the director, configures it with xvsadm as an operator would, shows a bounded
// curl loop being balanced, prints the tables and tears everything down (or keeps it with --keep).
import { parseArgs } from 'node:util';
import { mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  TopologyExistsError, binArgv, destroyNamespaces, followFile, formatArgv, listNamespaces, repoRoot, runIn,
  type Follower, type Netns,
} from '../netns/index.js';
import { buildDrLab, type DrLab } from './topology.js';
import { missingBuild, parseDestRows, startXvsd, waitXvsdReady, xvsadm, xvsControl, xvsdInfo } from './xvs.js';
import { startHttpServer } from './http-server.js';
import { runHaDemo } from './ha-demo.js';
import { prettyLine } from '../log/logger.js';
import { waitFor } from '../netns/index.js';

const LAB_PREFIX = 'xvslab-';

const USAGE = `Usage: npm run lab -- [options]      (node dist/src/lab/main.js [options])
  --sched rr|wrr       scheduler of the virtual service (default rr)
  --weights W1,W2      weights of web1 and web2 (default 1,1)
  --requests N         curl requests from the client (default 10, at most 1000)
  --attach MODE        xvsd attach mode: auto|native|generic|tc (default native)
  --ha                 instead: two directors with keepalived and connection sync; the master crashes
                       during long transfers, the backup takes over, every transfer completes
  --health             then health-check the web servers: stop web2's nginx, watch xvs take it out
                       of the pool and put it back when it starts again
  --keep               leave the lab running and print how to enter and remove it
  --down               remove a lab left running by --keep (or by a crash)
  --verbose            print every command used to build the topology
  --prefix P           namespace prefix (default ${LAB_PREFIX})
`;

const Weights = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'weights are comma-separated integers, e.g. 3,1')
  .transform((s) => s.split(',').map(Number))
  .refine((w) => w.length === 2, 'give one weight per web server (2)')
  .refine((w) => w.every((x) => x <= 65535), 'a weight is at most 65535');

const LabOptions = z.object({
  sched: z.enum(['rr', 'wrr']).default('rr'),
  weights: Weights.default([1, 1]),
  requests: z.coerce.number().int().min(1).max(1000).default(10),
  attach: z.enum(['auto', 'native', 'generic', 'tc']).default('native'),
  keep: z.boolean().default(false),
  health: z.boolean().default(false),
  ha: z.boolean().default(false),
  down: z.boolean().default(false),
  verbose: z.boolean().default(false),
  prefix: z.string().regex(/^[a-z][a-z0-9_-]{0,7}$/, 'a letter, then up to 7 of [a-z0-9_-]').default(LAB_PREFIX),
  help: z.boolean().default(false),
});
type LabOptions = z.infer<typeof LabOptions>;

const say = (line = ''): void => {
  process.stdout.write(line + '\n');
};

function parseLabArgs(argv: string[]): LabOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      sched: { type: 'string' }, weights: { type: 'string' }, requests: { type: 'string' },
      attach: { type: 'string' }, keep: { type: 'boolean' }, down: { type: 'boolean' }, health: { type: 'boolean' },
      ha: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' }, prefix: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const parsed = LabOptions.safeParse(values);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new Error(`--${String(i.path[0])}: ${i.message}`);
  }
  return parsed.data;
}

const logDirOf = (prefix: string): string => path.join(os.tmpdir(), `${prefix}logs`);

/** `--down`: everything a kept (or crashed) lab left: namespaces, xvs-rs state, temp dirs. */
async function labDown(prefix: string): Promise<number> {
  const names = await listNamespaces(prefix);
  for (const ns of names.filter((n) => /(web|rs)\d+$/.test(n))) {
    await runIn(ns, binArgv('xvs-rs', ['down']), { allowFail: true });
  }
  const removed = await destroyNamespaces(prefix);
  const tmp = os.tmpdir();
  for (const entry of await readdir(tmp)) {
    if (entry.startsWith(prefix)) await rm(path.join(tmp, entry), { recursive: true, force: true });
  }
  say(removed.length ? `removed ${removed.join(', ')}` : `no namespaces with prefix ${prefix}`);
  return 0;
}

/** Runs a command in `ns` and shows it like a terminal transcript. */
async function operator(ns: Netns, shown: string[], argvOf: (args: string[]) => Promise<{ stdout: string; stderr: string }>): Promise<string> {
  say(`[${ns.label}]# ${formatArgv(shown)}`);
  const { stdout, stderr } = await argvOf(shown.slice(1));
  if (stdout.trim()) say(stdout.replace(/\n$/, ''));
  if (stderr.trim()) say(stderr.replace(/\n$/, ''));
  return stdout;
}

function printTopology(lab: DrLab): void {
  const w = (s: string, n: number): string => s.padEnd(n);
  say(`topology (namespaces ${lab.prefix}*):`);
  say(`  ${w('client', 9)}${w(lab.client.name, 18)}${lab.clientIp}/24, default via ${lab.routerWanIp}`);
  say(`  ${w('router', 9)}${w(lab.router.name, 18)}${lab.routerWanIp}/24; ${lab.routerLanIp}/24 on bridge ${lab.topology.ifname('lan')}` +
    ` (XDP_PASS on ${lab.routerDirectorPort})`);
  say(`  ${w('director', 9)}${w(lab.director.name, 18)}${lab.dip}/24 (DIP) + ${lab.vip}/32 (VIP) on ${lab.directorIf}`);
  for (const web of lab.webs) {
    say(`  ${w(web.name, 9)}${w(web.ns.name, 18)}${web.ip}/24, VIP ${lab.vip} on lo (xvs-rs), HTTP answers "${web.name}"`);
  }
  say();
}

/** Reason counters of the director's xvsd, if it reports them. TODO: `xvsadm -Ln --stats` once it exists. */
async function printCounters(lab: DrLab): Promise<void> {
  const stats = await xvsadm(lab.director, ['-Ln', '--stats'], { allowFail: true, quiet: true });
  if (stats.code === 0) {
    say(`[director]# xvsadm -Ln --stats`);
    say(stats.stdout.replace(/\n$/, ''));
  }
  const info = await xvsdInfo(lab.director);
  if (info?.reasons) {
    const nonZero = Object.entries(info.reasons).filter(([, v]) => v > 0);
    say(`xvsd reason counters (non-zero): ${nonZero.map(([k, v]) => `${k}=${v}`).join(' ') || '(none)'}`);
  }
  if (info) say(`xvsd attached to: ${info.interfaces.map((i) => `${i.name} (${i.mode})`).join(', ')}`);
}

async function runLab(opts: LabOptions): Promise<number> {
  const missing = missingBuild();
  if (missing.length) {
    say(`lab: missing ${missing.join(', ')}: run 'npm run build' first`);
    return 1;
  }
  const logDir = logDirOf(opts.prefix);
  say(`xvs lab: LVS-DR on XDP — client ── router ══ LAN ══ director, web1, web2`);
  let lab: DrLab;
  try {
    const existing = await listNamespaces(opts.prefix);
    if (existing.length) throw new TopologyExistsError(opts.prefix, existing);
    await rm(logDir, { recursive: true, force: true });
    await mkdir(logDir, { recursive: true });
    lab = await buildDrLab({
      prefix: opts.prefix,
      log: opts.verbose ? (l) => say(`  ${l}`) : undefined,
      logDir,
    });
  } catch (e) {
    if (e instanceof TopologyExistsError) {
      say(`lab: a lab is already up (${e.namespaces.join(', ')}); remove it with: node dist/src/lab/main.js --down`);
      return 1;
    }
    throw e;
  }
  printTopology(lab);

  const xvsdLog = path.join(logDir, 'xvsd.log');
  let follower: Follower | null = followFile(xvsdLog, (line) => say(`[xvsd] ${prettyLine(line)}`));
  let ok = false;
  try {
    say(`[director]# xvsd --attach ${opts.attach} &`);
    const daemon = startXvsd(lab.director, ['--attach', opts.attach], { logFile: xvsdLog });
    await waitXvsdReady(lab.director, daemon);

    const svc = `${lab.vip}:80`;
    const adm = (args: string[]) => xvsadm(lab.director, args);
    await operator(lab.director, ['xvsadm', '-A', '-t', svc, '-s', opts.sched], adm);
    for (const [i, web] of lab.webs.entries()) {
      await operator(lab.director, ['xvsadm', '-a', '-t', svc, '-r', `${web.ip}:80`, '-g', '-w', String(opts.weights[i])], adm);
    }
    await operator(lab.director, ['xvsadm', '-Ln'], adm);
    say();

    say(`[client]$ for i in $(seq ${opts.requests}); do curl -s --max-time 2 http://${lab.vip}/; done`);
    const seen = new Map<string, number>();
    let failures = 0;
    for (let i = 1; i <= opts.requests; i++) {
      const body = await lab.httpGet(lab.vip, { maxTimeS: 2 });
      if (body === null) failures++;
      else seen.set(body, (seen.get(body) ?? 0) + 1);
      say(`${String(i).padStart(4)}  ${body ?? '(no answer)'}`);
    }
    say();
    await operator(lab.director, ['xvsadm', '-Ln'], adm);
    await printCounters(lab);
    say();

    // Weight 0 quiesces a dest under rr and wrr alike; a full scheduling period must reach every other.
    const weighted = lab.webs.filter((_, i) => opts.weights[i] > 0);
    const period = opts.sched === 'rr' ? weighted.length : opts.weights.reduce((a, b) => a + b, 0) / gcdOf(opts.weights);
    const unseen = weighted.filter((w) => !seen.has(w.name)).map((w) => w.name);
    say(`answers: ${lab.webs.map((w) => `${w.name} ${seen.get(w.name) ?? 0}`).join(', ')}${failures ? `, failed ${failures}` : ''}`);
    ok = failures === 0 && (opts.requests < period || unseen.length === 0);
    say(ok ? 'lab: OK — traffic to the VIP was balanced by xvs' : `lab: FAILED${unseen.length ? ` — no answer from ${unseen.join(', ')}` : ''}`);
    if (ok && opts.health) ok = await healthDemo(lab, logDir);
  } catch (e) {
    say(`lab: FAILED — ${(e as Error).message}`);
  } finally {
    if (opts.keep) {
      await follower.stop();
      follower = null;
      lab.topology.release();
      printKeepHelp(lab, xvsdLog);
    } else {
      say();
      say('tearing down ...');
      await lab.teardown();
      await follower?.stop();
      await rm(logDir, { recursive: true, force: true });
    }
  }
  return ok ? 0 : 1;
}

/** `--health`: an HTTP check on both web servers; web2's nginx stops and starts again. */
async function healthDemo(lab: DrLab, logDir: string): Promise<boolean> {
  const svcKey = { protocol: 'tcp', addr: lab.vip, port: 80 };
  const check = { type: 'http', path: '/', intervalMs: 500, timeoutMs: 300, fall: 2, rise: 2 };
  const adm = (args: string[]) => xvsadm(lab.director, args);
  const web2 = lab.webs[1];
  const weightOf = async (ip: string): Promise<number | undefined> =>
    parseDestRows((await adm(['-Ln'])).stdout).find((r) => r.addr === `${ip}:80`)?.weight;
  const burst = async (n: number): Promise<string> => {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push((await lab.httpGet(lab.vip, { maxTimeS: 2 })) ?? '(no answer)');
    return seen.join(' ');
  };
  say();
  say('--- health checks ---');
  say(`[director]# (control API) set-health ${svcKey.protocol}:${lab.vip}:80 ${JSON.stringify({ check, onFailure: 'quiesce' })}`);
  await xvsControl(lab.director, { op: 'set-health', key: svcKey, health: { check, onFailure: 'quiesce' } });
  await waitFor(async () => {
    const r = (await xvsControl(lab.director, { op: 'health' })) as { dests: { checks: number }[] } | null;
    return r !== null && r.dests.length === lab.webs.length && r.dests.every((d) => d.checks > 0);
  }, { timeoutMs: 5000, what: 'the first health checks' });
  await operator(lab.director, ['xvsadm', '--health'], adm);
  say(`[${web2.name}]# kill nginx   (the web server of ${web2.name} stops)`);
  await web2.http?.stop();
  const stopped = Date.now();
  await waitFor(async () => (await weightOf(web2.ip)) === 0, { timeoutMs: 15_000, intervalMs: 100, what: `${web2.name} quiesced` });
  say(`... ${web2.name} quiesced ${Date.now() - stopped} ms later (fall 2 × interval 500 ms)`);
  await operator(lab.director, ['xvsadm', '-Ln'], adm);
  await operator(lab.director, ['xvsadm', '--health'], adm);
  const during = await burst(6);
  say(`[client]$ 6 requests: ${during}`);
  say(`[${web2.name}]# nginx   (the web server of ${web2.name} starts again)`);
  web2.http = await startHttpServer(web2.ns, { name: web2.name, logFile: path.join(logDir, `${web2.name}-http.log`) });
  const started = Date.now();
  await waitFor(async () => (await weightOf(web2.ip)) === 1, { timeoutMs: 15_000, intervalMs: 100, what: `${web2.name} restored` });
  say(`... ${web2.name} back with its configured weight ${Date.now() - started} ms later (rise 2 × interval 500 ms)`);
  await operator(lab.director, ['xvsadm', '-Ln'], adm);
  const after = await burst(6);
  say(`[client]$ 6 requests: ${after}`);
  const ok = !during.includes(web2.name) && during.split(' ').every((a) => a === 'web1') && after.includes(web2.name);
  say(ok ? 'lab: OK — the health check took web2 out of the pool and put it back'
    : 'lab: FAILED — the health check did not take web2 out and back as expected');
  return ok;
}

function printKeepHelp(lab: DrLab, xvsdLog: string): void {
  const adm = path.join(repoRoot, 'bin/xvsadm');
  say();
  say('The lab stays up. Enter a namespace with:');
  for (const ns of lab.topology.allNamespaces) say(`  ip netns exec ${ns.name} bash`);
  say('For example:');
  say(`  ip netns exec ${lab.director.name} ${adm} -Ln`);
  say(`  ip netns exec ${lab.client.name} curl -s http://${lab.vip}/`);
  say(`xvsd log: ${xvsdLog}`);
  say(`Tear it down with: node ${path.relative(process.cwd(), path.join(repoRoot, 'dist/src/lab/main.js')) || 'dist/src/lab/main.js'} --down` +
    (lab.prefix === LAB_PREFIX ? '' : ` --prefix ${lab.prefix}`));
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const gcdOf = (xs: number[]): number => xs.reduce((a, b) => gcd(a, b), 0) || 1;

export async function main(argv: string[]): Promise<number> {
  // A closed stdout (`| head`) must not crash the lab half-way: it still runs and tears down.
  process.stdout.on('error', () => {});
  let opts: LabOptions;
  try {
    opts = parseLabArgs(argv);
  } catch (e) {
    process.stderr.write(`lab: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    say(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('lab: needs root (network namespaces, XDP)\n');
    return 1;
  }
  if (opts.down) return labDown(opts.prefix);
  if (opts.ha) {
    const logDir = logDirOf(opts.prefix);
    await rm(logDir, { recursive: true, force: true });
    await mkdir(logDir, { recursive: true });
    const code = await runHaDemo({ prefix: opts.prefix, keep: opts.keep, verbose: opts.verbose, logDir });
    if (!opts.keep) await rm(logDir, { recursive: true, force: true });
    return code;
  }
  return runLab(opts);
}

process.exitCode = await main(process.argv.slice(2));
