// test/e2e/tc-offload.test.ts — tc mode (`--attach tc`) with tx checksum offload ON on the client's and
// the real servers' veths: their sockets send CHECKSUM_PARTIAL skbs (the TCP/UDP checksum field holds
// only the pseudo-header seed) and, with TSO, GSO skbs of up to 64 KB. NAT and FULLNAT must rewrite the
// seed through bpf_l4_csum_replace (xvs_nat.h), TUN must encapsulate keeping csum_start and check the
// MTU per segment (xvs_tun.h), DR changes IP-header bytes only. BPF_PROG_TEST_RUN cannot show any of
// this: its skbs are always CHECKSUM_NONE, never GSO.
//   client ──(198.51.100.0/24, 2001:db8:1::/64)── director ──(192.0.2.0/26, 2001:db8:2::/64)── rs1
//                                                          └─(192.0.2.64/26, 2001:db8:3::/64)── rs2
// Two rounds on the director's own veths:
//  - tx offload off: the director's egress completes every checksum in software (skb_checksum_help,
//    software GSO), as a real NIC does in hardware: a wrong seed becomes a wrong checksum on the wire
//    and the receiver drops the packet. This is the round that fails without the fix.
//  - tx offload on: CHECKSUM_PARTIAL and GSO skbs travel through to the receiving namespace (which
//    trusts them) and TUN's GSO skbs are decapsulated on the RS as they are.
// Per mode and family: HTTP with curl, 1 MiB each way checked by digest, UDP with socat. Needs root.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Topology, waitFor, type Netns, type NsProcess } from '../../src/netns/index.js';
import { e2eReady, startTestXvsd, xvsadm, xvsdInfo, xvsRs } from '../../src/lab/xvs.js';
import { repoRoot } from '../../src/paths.js';
import { blob, host, sha256, type Fam } from '../fixtures/mode-common.js';

const VIP = { 4: '198.51.100.100', 6: '2001:db8:1::100' } as const;
const CIP = { 4: '198.51.100.10', 6: '2001:db8:1::10' } as const;
const LIP = { 4: '192.0.2.1', 6: '2001:db8:2::1' } as const;
const RS = [
  { name: 'rs1', v4: '192.0.2.11', gw4: '192.0.2.1', net4: '192.0.2.1/26', v6: '2001:db8:2::11', gw6: '2001:db8:2::1' },
  { name: 'rs2', v4: '192.0.2.75', gw4: '192.0.2.65', net4: '192.0.2.65/26', v6: '2001:db8:3::75', gw6: '2001:db8:3::1' },
] as const;
type Mode = 'nat' | 'fullnat' | 'tun' | 'dr';
const PORTS: Record<Mode, { vtcp: number; rtcp: number; vudp: number; rudp: number; flag: string }> = {
  nat: { vtcp: 80, rtcp: 8080, vudp: 53, rudp: 5353, flag: '-m' },
  fullnat: { vtcp: 81, rtcp: 8081, vudp: 54, rudp: 5354, flag: '--fullnat' },
  tun: { vtcp: 82, rtcp: 82, vudp: 55, rudp: 55, flag: '-i' },
  dr: { vtcp: 83, rtcp: 83, vudp: 56, rudp: 56, flag: '-g' },
};
const BULK = 1 << 20;


if (e2eReady(t)) {
  t.setTimeout(300_000);
  const topo = await Topology.create();
  t.teardown(() => topo.teardown());
  const client = await topo.addNs('client');
  const director = await topo.addNs('director');

  // txOff: false leaves tx checksum offload (and with it TSO) on at both ends; the director's ends are
  // switched per round below.
  const [cDir, dCli] = await topo.veth(client, 'dir', director, 'cli', { txOff: false });
  const directorIfs = [dCli.ifname];
  await client.addAddr(cDir.ifname, `${CIP[4]}/24`);
  await client.addAddr(cDir.ifname, `${CIP[6]}/64`);
  await director.addAddr(dCli.ifname, '198.51.100.1/24');
  await director.addAddr(dCli.ifname, '2001:db8:1::1/64');
  await director.addAddr(dCli.ifname, `${VIP[4]}/32`);
  await director.addAddr(dCli.ifname, `${VIP[6]}/128`);
  await director.sysctl('net.ipv4.ip_forward', 1);
  await director.sysctl('net.ipv6.conf.all.forwarding', 1);
  // DR/TUN replies (source: the VIP, which is local here) are routed through the director: accept them.
  await director.sysctl('net.ipv4.conf.all.accept_local', 1);
  await director.sysctl('net.ipv4.conf.all.rp_filter', 0);

  const rsNs: Netns[] = [];
  const rsDirIf: string[] = [];
  const bulkFile = path.join(await topo.tmpDir('bulk'), 'up.bin');
  const upload = randomBytes(BULK);
  await writeFile(bulkFile, upload);

  for (const [i, r] of RS.entries()) {
    const ns = await topo.addNs(r.name);
    rsNs.push(ns);
    // MTU 1600: a full-size client segment plus the 20/40-byte tunnel header fits.
    const [dRs, rDir] = await topo.veth(director, `r${i + 1}`, ns, 'dir', { mtu: 1600, txOff: false });
    directorIfs.push(dRs.ifname);
    rsDirIf.push(rDir.ifname);
    await director.addAddr(dRs.ifname, r.net4);
    await director.addAddr(dRs.ifname, `${r.gw6}/64`);
    await director.sysctl(`net.ipv4.conf.${dRs.ifname}.accept_local`, 1);
    await director.sysctl(`net.ipv4.conf.${dRs.ifname}.rp_filter`, 0);
    await ns.addAddr(rDir.ifname, `${r.v4}/26`);
    await ns.addAddr(rDir.ifname, `${r.v6}/64`);
    await ns.addRoute('default', { via: r.gw4 });
    await ns.addRoute('default', { via: r.gw6 });
    // VIPs on lo (TUN and DR), ARP sysctls, and the IPIP/IP6IP6 decapsulation on tc ingress.
    await xvsRs(ns, ['up', '--vip', VIP[4], '--vip', VIP[6], '--mode', 'tun']);
    topo.onTeardown(() => xvsRs(ns, ['down'], { allowFail: true, quiet: true }));
    let ready = false;
    const udp = (['nat', 'fullnat'] as Mode[]).map((m) => `${PORTS[m].rudp}@::`)
      .concat((['tun', 'dr'] as Mode[]).flatMap((m) => [`${PORTS[m].rudp}@${VIP[4]}`, `${PORTS[m].rudp}@${VIP[6]}`]));
    const srv = ns.spawn([process.execPath, path.join(repoRoot, 'test/fixtures/mode-server.cjs'), r.name,
      `tcp=${[...new Set(Object.values(PORTS).map((p) => p.rtcp))].join(',')}`, `udp=${udp.join(',')}`],
    { label: `server@${r.name}`, env: { ...process.env, NODE_OPTIONS: '' }, onLine: (_s, line) => { if (line === 'ready') ready = true; } });
    await waitFor(() => ready, { timeoutMs: 10_000, what: `${r.name}'s servers`, failFast: () => (srv.running ? null : new Error(srv.output())) });
  }

  const curl = async (url: string, extra: string[] = []): Promise<string | null> => {
    const res = await client.exec(['curl', '-sS', '--max-time', '5', ...extra, url], { allowFail: true, timeoutMs: 15_000 });
    return res.code === 0 ? res.stdout.trim() : null;
  };

  // Everything is set up before the first subtest: tap ends the root test once its queue is empty.
  const daemon: NsProcess = await startTestXvsd(t, director, ['--attach', 'tc']);
  t.teardown(() => daemon.stop());
  {
    const rules: string[] = [];
    const laddrs: string[][] = [];
    for (const fam of [4, 6] as Fam[]) {
      const v = host(fam, VIP[fam]);
      for (const mode of Object.keys(PORTS) as Mode[]) {
        const p = PORTS[mode];
        for (const [proto, vport, rport] of [['-t', p.vtcp, p.rtcp], ['-u', p.vudp, p.rudp]] as const) {
          rules.push(`-A ${proto} ${v}:${vport} -s rr`);
          for (const r of RS) rules.push(`-a ${proto} ${v}:${vport} -r ${host(fam, fam === 4 ? r.v4 : r.v6)}:${rport} ${p.flag} -w 1`);
          if (mode === 'fullnat') laddrs.push(['--add-laddr', proto, `${v}:${vport}`, '-z', LIP[fam]]);
        }
      }
    }
    await xvsadm(director, ['-R'], { input: rules.join('\n') + '\n' });
    for (const args of laddrs) await xvsadm(director, args);
  }

  t.test('the senders have tx checksum offload and TSO on', async (t) => {
    for (const [ns, ifname] of [[client, cDir.ifname], ...rsNs.map((ns, i) => [ns, rsDirIf[i]] as const)] as const) {
      const { stdout } = await ns.exec(['ethtool', '-k', ifname]);
      t.match(stdout, /tx-checksumming: on/, `${ns.label} ${ifname}: tx checksum offload on`);
      t.match(stdout, /tcp-segmentation-offload: on/, `${ns.label} ${ifname}: TSO on`);
    }
  });

  t.test('xvsd attached with tc on every interface', async (t) => {
    const info = await xvsdInfo(director);
    t.ok(info && info.interfaces.length === 3 && info.interfaces.every((i) => i.mode === 'tc'), 'tc everywhere');
  });

  for (const directorTx of [false, true]) {
    t.test(`director tx offload ${directorTx ? 'on' : 'off'}`, async (t) => {
      for (const ifname of directorIfs) await director.setOffloads(ifname, { tx: directorTx });
      for (const mode of Object.keys(PORTS) as Mode[]) {
        for (const fam of [4, 6] as Fam[]) {
          t.test(`${mode} IPv${fam}`, async (t) => {
            const p = PORTS[mode];
            const base = `http://${host(fam, VIP[fam])}:${p.vtcp}`;
            const names = new Set<string | null>();
            for (let i = 0; i < 4; i++) names.add(await curl(`${base}/`));
            t.same([...names].sort(), ['rs1', 'rs2'], 'HTTP: both real servers answer through the VIP');
            const who = await curl(`${base}/whoami`);
            t.equal(who?.split(' ')[1]?.replace(/^::ffff:/, ''), mode === 'fullnat' ? LIP[fam] : CIP[fam], 'the RS sees the expected source');
            const down = await client.exec(['sh', '-c', `curl -sS --max-time 20 '${base}/blob?size=${BULK}' | sha256sum`], { timeoutMs: 30_000 });
            t.equal(down.stdout.split(' ')[0], sha256(blob(BULK)), '1 MiB download, digest matches');
            const up = await client.exec(['curl', '-sS', '--max-time', '20', '--data-binary', `@${bulkFile}`,
              '-H', 'Content-Type: application/octet-stream', `${base}/digest`], { allowFail: true, timeoutMs: 30_000 });
            t.equal(up.stdout.trim().split(' ')[1], sha256(upload), '1 MiB upload, digest matches');
            const udp = await client.exec(['sh', '-c', `echo ping-${mode} | socat -T 3 - UDP${fam}:${host(fam, VIP[fam])}:${p.vudp}`],
              { allowFail: true, timeoutMs: 10_000 });
            t.match(udp.stdout.trim(), new RegExp(`^rs[12]:ping-${mode}$`), 'UDP request/response with socat');
          });
        }
      }
    });
  }

  t.test('counters', async (t) => {
    const r = (await xvsdInfo(director))?.reasons ?? {};
    t.ok((r.XVS_R_FWD_REPLY ?? 0) > 0, `NAT/FULLNAT replies translated: ${r.XVS_R_FWD_REPLY}`);
    // A GSO skb checked whole against the tunnel MTU would have gone to the kernel as "too big".
    t.equal(r.XVS_R_PASS_TOO_BIG ?? 0, 0, 'no TUN packet passed as too big');
    t.equal(r.XVS_R_DROP_MALFORMED ?? 0, 0, 'nothing dropped as malformed');
  });
}
