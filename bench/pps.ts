// bench/pps.ts — `npm run bench:pps`: packets per second through the director, xvs in each forwarding
// mode against the kernel's nftables DNAT (conntrack), in one namespace topology and one run:
//
//   client ──veth── director ──veth── real server
//   192.0.2.2        192.0.2.1 / 198.51.100.1   198.51.100.11
//
// The client offers UDP frames CIP:sport -> VIP:vport with BPF_PROG_TEST_RUN live frames: bpf/bench_gen.o's
// gen_tx, run on the client's veth, writes the headers (source port over --flows values) and XDP_TXes
// them to the director. The real server's veth runs sink_drop (XDP_DROP), so it costs next to nothing
// and the figure is what the director delivers: the RS veth's rx_packets over the generator's wall time.
// Cases, alternated over --rounds rounds: xvs DR / NAT / TUN / FULLNAT (xvsd attached native on both
// director links, one service per mode), then nft DNAT (no xvsd; xdp_pass on the director's client
// link because veth needs an XDP program to accept XDP_TX frames; a prerouting dnat rule VIP:vport ->
// RIP:rport; ip_forward=1), then drop@dir (XDP_DROP on the director's client link, counted there: the
// ceiling of the generator and the client veth alone). Every namespace goes at the end, whatever happens.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Topology, run, detachXdp, nodeArgv, type Netns, type NsProcess } from '../src/netns/index.js';
import { startXvsd, waitXvsdReady, xvsadm, xvsdInfo } from '../src/lab/xvs.js';

const BPF_F_TEST_XDP_LIVE_FRAMES = 2;
const CIP = '192.0.2.2';
const DIR_CLIENT = '192.0.2.1';
const DIR_RS = '198.51.100.1';
const RIP = '198.51.100.11';
const VIP = '203.0.113.10';
const SPORT_BASE = 10000;
const FRAME_LEN = 64;

type Case = 'xvs-dr' | 'xvs-nat' | 'xvs-tun' | 'xvs-fullnat' | 'nft-dnat' | 'drop@dir';
const XVS_CASES: { c: Case; vport: number; rport: number; flag: string[] }[] = [
  { c: 'xvs-dr', vport: 5001, rport: 5001, flag: ['-g'] },
  { c: 'xvs-nat', vport: 5002, rport: 6002, flag: ['-m'] },
  { c: 'xvs-tun', vport: 5003, rport: 5003, flag: ['-i'] },
  { c: 'xvs-fullnat', vport: 5004, rport: 6004, flag: ['--fullnat'] },
];
const NFT = { c: 'nft-dnat' as Case, vport: 5002, rport: 6002 };
// drop@dir: the director's client link drops every frame (XDP_DROP), counted there: the ceiling the
// generator and the client veth allow, with no forwarding at all.
const CASES: Case[] = [...XVS_CASES.map((x) => x.c), NFT.c, 'drop@dir'];

const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const v4 = (a: string): Buffer => Buffer.from(a.split('.').map(Number));
function csum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** The value of gen_tmpl: Ethernet + IPv4 + UDP header (checksum 0), sport base, flow count. */
function template(srcMac: string, dstMac: string, vport: number, flows: number): Buffer {
  const v = Buffer.alloc(48);
  macBytes(dstMac).copy(v, 0);
  macBytes(srcMac).copy(v, 6);
  v.writeUInt16BE(0x0800, 12);
  const ip = v.subarray(14, 34);
  ip[0] = 0x45; ip.writeUInt16BE(FRAME_LEN - 14, 2); ip.writeUInt16BE(0x4000, 6); ip[8] = 64; ip[9] = 17;
  v4(CIP).copy(ip, 12); v4(VIP).copy(ip, 16);
  ip.writeUInt16BE(csum(ip), 10);
  v.writeUInt16BE(SPORT_BASE, 34); v.writeUInt16BE(vport, 36); v.writeUInt16BE(FRAME_LEN - 34, 38); v.writeUInt16BE(0, 40);
  v.writeUInt16BE(SPORT_BASE, 42); // sport_base, network order (gen_tx swaps it)
  v.writeUInt32LE(flows, 44);
  return v;
}

interface GenResult { elapsedNs: number; retval: number }

/** Inside the client namespace: offer `count` frames with gen_tx on `ifname`. */
async function generate(ifname: string, dstMac: string, vport: number, flows: number, count: number): Promise<GenResult> {
  const { native, bpfObjectPath } = await import('../src/datapath/native.js');
  native.setLogLevel('warn');
  const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
  const srcMac = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  const obj = new native.BpfObject(bpfObjectPath('bench_gen'));
  try {
    await obj.load();
    native.mapUpdate(obj.mapFd('gen_tmpl'), Buffer.alloc(4), template(srcMac, dstMac, vport, flows));
    const data = Buffer.alloc(FRAME_LEN, 0x61);
    const t0 = process.hrtime.bigint();
    const r = await native.progTestRun(obj.progFd('gen_tx'), { data, repeat: count, ingressIfindex: ifindex, flags: BPF_F_TEST_XDP_LIVE_FRAMES, batchSize: 64 });
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    return { elapsedNs, retval: r.retval };
  } finally {
    obj.close();
  }
}

/** Inside the RS namespace: sink_drop on `ifname` (the netlink attachment outlives this process). */
async function attachSink(ifname: string): Promise<void> {
  const { native, bpfObjectPath } = await import('../src/datapath/native.js');
  const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
  const obj = new native.BpfObject(bpfObjectPath('bench_gen'));
  try {
    await obj.load();
    await native.xdpAttach(ifindex, obj.progFd('sink_drop'), 4 /* DRV_MODE */);
  } finally {
    obj.close();
  }
}

const self = fileURLToPath(import.meta.url);
const noOpts = { ...process.env, NODE_OPTIONS: '' };

async function rxPackets(ns: Netns, ifname: string): Promise<number> {
  const { stdout } = await ns.ip(['-s', '-j', 'link', 'show', 'dev', ifname], { quiet: true });
  return (JSON.parse(stdout) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
}

interface Sample { offered: number; atDirector: number; atRs: number; seconds: number; pps: number }

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gen: { type: 'string' }, sink: { type: 'string' }, dmac: { type: 'string' }, vport: { type: 'string' },
      rounds: { type: 'string' }, count: { type: 'string' }, flows: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  const rounds = Math.min(20, Math.max(1, Number(values.rounds ?? 3)));
  const count = Math.min(50_000_000, Math.max(10_000, Number(values.count ?? 3_000_000)));
  const flows = Math.min(4096, Math.max(1, Number(values.flows ?? 64)));
  if (values.gen) {
    process.stdout.write(JSON.stringify(await generate(values.gen, values.dmac!, Number(values.vport), flows, count)) + '\n');
    return;
  }
  if (values.sink) {
    await attachSink(values.sink);
    return;
  }
  if ((await run(['nft', '--version'], { allowFail: true }).catch(() => ({ code: 127 }))).code !== 0) {
    throw new Error("`nft` is not installed: the nftables DNAT baseline needs it (apt-get install nftables; add 'nft:nftables' to NEEDS in scripts/bootstrap.sh)");
  }

  const topo = await Topology.create();
  let daemon: NsProcess | null = null;
  try {
    const client = await topo.addNs('cli');
    const director = await topo.addNs('dir');
    const rs = await topo.addNs('rs');
    const [cD, dC] = await topo.veth(client, 'c', director, 'dc');
    const [dR, rD] = await topo.veth(director, 'dr', rs, 'r');
    await client.addAddr(cD.ifname, `${CIP}/24`);
    await director.addAddr(dC.ifname, `${DIR_CLIENT}/24`);
    await director.addAddr(dC.ifname, `${VIP}/32`);
    await director.addAddr(dR.ifname, `${DIR_RS}/24`);
    await rs.addAddr(rD.ifname, `${RIP}/24`);
    await rs.addRoute('default', { via: DIR_RS });
    await director.sysctl('net.ipv4.ip_forward', 1);
    // No ARP in the measurement: both neighbours of the director are known.
    await director.ip(['neigh', 'replace', CIP, 'lladdr', await client.mac(cD.ifname), 'dev', dC.ifname, 'nud', 'permanent']);
    await director.ip(['neigh', 'replace', RIP, 'lladdr', await rs.mac(rD.ifname), 'dev', dR.ifname, 'nud', 'permanent']);
    await rs.exec(nodeArgv(self, ['--sink', rD.ifname]), { env: noOpts });
    const dmac = await director.mac(dC.ifname);

    const measure = async (vport: number, at: 'rs' | 'director' = 'rs'): Promise<Sample> => {
      const rs0 = await rxPackets(rs, rD.ifname);
      const d0 = await rxPackets(director, dC.ifname);
      const res = await client.exec(nodeArgv(self, ['--gen', cD.ifname, '--dmac', dmac, '--vport', String(vport), '--count', String(count), '--flows', String(flows)]),
        { env: noOpts, timeoutMs: 300_000 });
      const g = JSON.parse(res.stdout) as GenResult;
      await new Promise((r) => setTimeout(r, 200)); // let the last batches drain
      const atRs = (await rxPackets(rs, rD.ifname)) - rs0;
      const atDirector = (await rxPackets(director, dC.ifname)) - d0;
      const seconds = g.elapsedNs / 1e9;
      return { offered: count, atDirector, atRs, seconds, pps: (at === 'rs' ? atRs : atDirector) / seconds };
    };

    const samples = Object.fromEntries(CASES.map((c) => [c, [] as Sample[]])) as Record<Case, Sample[]>;
    const log = (s: string): void => void process.stderr.write(`[pps] ${s}\n`);
    for (let round = 1; round <= rounds; round++) {
      // xvs: a fresh daemon each round, every mode one service.
      await detachXdp(director.name, dC.ifname);
      daemon = startXvsd(director, ['--attach', 'native', '--metrics-addr', 'off']);
      await waitXvsdReady(director, daemon);
      const rules: string[] = [];
      for (const x of XVS_CASES) {
        rules.push(`-A -u ${VIP}:${x.vport} -s rr`, `-a -u ${VIP}:${x.vport} -r ${RIP}:${x.rport} ${x.flag.join(' ')}`);
      }
      await xvsadm(director, ['-R'], { input: rules.join('\n') + '\n' });
      await xvsadm(director, ['--add-laddr', '-u', `${VIP}:5004`, '-z', DIR_RS]);
      const order = round % 2 ? XVS_CASES : [...XVS_CASES].reverse();
      for (const x of order) {
        const s = await measure(x.vport);
        samples[x.c].push(s);
        log(`round ${round} ${x.c}: ${(s.pps / 1e6).toFixed(3)} Mpps (${s.atRs}/${s.offered} at the RS)`);
      }
      const reasons = (await xvsdInfo(director))?.reasons;
      await daemon.stop();
      daemon = null;
      if (reasons) log(`round ${round} xvs reasons: ${JSON.stringify(Object.fromEntries(Object.entries(reasons).filter(([, v]) => v > 0)))}`);

      // nftables DNAT: the same links, xdp_pass where xvs was (veth only accepts XDP_TX frames then).
      await detachXdp(director.name, dC.ifname);
      await detachXdp(director.name, dR.ifname);
      await director.attachXdpPass(dC.ifname);
      await director.exec(['nft', '-f', '-'], {
        input: `table ip xvsbench {\n  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;\n` +
          `    ip daddr ${VIP} udp dport ${NFT.vport} dnat to ${RIP}:${NFT.rport}\n  }\n}\n`,
      });
      await director.exec(['conntrack', '-F'], { allowFail: true, quiet: true }).catch(() => {});
      const s = await measure(NFT.vport);
      samples[NFT.c].push(s);
      log(`round ${round} ${NFT.c}: ${(s.pps / 1e6).toFixed(3)} Mpps (${s.atRs}/${s.offered} at the RS)`);
      const ct = await director.exec(['cat', '/proc/net/nf_conntrack'], { allowFail: true, quiet: true });
      log(`round ${round} nft conntrack entries: ${ct.stdout.split('\n').filter((l) => l.includes(`dport=${NFT.vport}`)).length}`);
      await director.exec(['nft', 'delete', 'table', 'ip', 'xvsbench']);
      await detachXdp(director.name, dC.ifname);

      await director.exec(nodeArgv(self, ['--sink', dC.ifname]), { env: noOpts });
      const d = await measure(NFT.vport, 'director');
      samples['drop@dir'].push(d);
      log(`round ${round} drop@dir: ${(d.pps / 1e6).toFixed(3)} Mpps (${d.atDirector}/${d.offered} at the director)`);
      await detachXdp(director.name, dC.ifname);
    }

    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const nft = median(samples['nft-dnat'].map((s) => s.pps));
    if (values.json) {
      process.stdout.write(JSON.stringify({ rounds, count, flows, samples }, null, 2) + '\n');
      return;
    }
    const rows = [`${'case'.padEnd(12)} ${'Mpps (median)'.padStart(13)} ${'rounds'.padStart(24)} ${'×nft'.padStart(6)} ${'delivered'.padStart(9)}`];
    for (const c of CASES) {
      const pps = samples[c].map((s) => s.pps);
      const delivered = samples[c].reduce((a, s) => a + (c === 'drop@dir' ? s.atDirector : s.atRs), 0) / samples[c].reduce((a, s) => a + s.offered, 0);
      rows.push(`${c.padEnd(12)} ${(median(pps) / 1e6).toFixed(3).padStart(13)} ${pps.map((p) => (p / 1e6).toFixed(3)).join(' ').padStart(24)} ` +
        `${(median(pps) / nft).toFixed(2).padStart(6)} ${(delivered * 100).toFixed(1).padStart(8)}%`);
    }
    process.stdout.write(rows.join('\n') + `\n(${rounds} rounds × ${count} 64-byte UDP frames per case, ${flows} flows; pps = frames at the RS / generator wall time)\n` +
      `xvs NAT / nftables DNAT = ${(median(samples['xvs-nat'].map((s) => s.pps)) / nft).toFixed(2)}× (target ≥ 3×)\n`);
  } finally {
    if (daemon) await daemon.stop().catch(() => {});
    await topo.teardown();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`[pps] ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
