// test/e2e/modes.test.ts — every forwarding mode on one director, end to end with real clients and
// servers, IPv4 and IPv6, once with XDP (native) and once with tc attachment:
//   client ──(198.51.100.0/24, 2001:db8:1::/64)── director ──(192.0.2.0/26, 2001:db8:2::/64)── rs1
//                                                          └─(192.0.2.64/26, 2001:db8:3::/64)── rs2
// The classic two-interface director: requests come in on one interface, the real servers sit behind
// others, and their gateway is the director. Services on one VIP: NAT :80/:53, FULLNAT :81/:54 (local
// address 192.0.2.1 / 2001:db8:2::1), TUN :82/:55 (the RSs decapsulate with xvs-rs's tc program), DR :83,
// and Redis behind NAT :6379. Per mode and family: HTTP with curl, 1 MiB each way checked by digest,
// UDP with socat. Needs root and a build.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Topology, waitFor, type Netns, type NsProcess } from '../../src/netns/index.js';
import { e2eReady, startXvsd, waitXvsdReady, xvsadm, xvsdInfo, xvsRs, parseDestRows } from '../../src/lab/xvs.js';
import { repoRoot } from '../../src/paths.js';
import { blob, host, sha256, type Fam } from '../fixtures/mode-common.js';

const VIP = { 4: '198.51.100.100', 6: '2001:db8:1::100' } as const;
const CIP = { 4: '198.51.100.10', 6: '2001:db8:1::10' } as const;
const LIP = { 4: '192.0.2.1', 6: '2001:db8:2::1' } as const;
const RS = [
  { name: 'rs1', v4: '192.0.2.11', gw4: '192.0.2.1', net4: '192.0.2.1/26', v6: '2001:db8:2::11', gw6: '2001:db8:2::1' },
  { name: 'rs2', v4: '192.0.2.75', gw4: '192.0.2.65', net4: '192.0.2.65/26', v6: '2001:db8:3::75', gw6: '2001:db8:3::1' },
] as const;
type Mode = 'nat' | 'fullnat' | 'tun';
const PORTS: Record<Mode, { vtcp: number; rtcp: number; vudp: number; rudp: number; flag: string; forward: string }> = {
  nat: { vtcp: 80, rtcp: 8080, vudp: 53, rudp: 5353, flag: '-m', forward: 'Masq' },
  fullnat: { vtcp: 81, rtcp: 8081, vudp: 54, rudp: 5354, flag: '--fullnat', forward: 'FullNat' },
  tun: { vtcp: 82, rtcp: 82, vudp: 55, rudp: 55, flag: '-i', forward: 'Tunnel' },
};
const DR_PORT = 83;
const BULK = 1 << 20;
const REDIS = ['/usr/bin/redis-server', '/usr/bin/redis-cli'].every((p) => existsSync(p));


if (e2eReady(t)) {
  t.setTimeout(300_000);
  const topo = await Topology.create();
  t.teardown(() => topo.teardown());
  const client = await topo.addNs('client');
  const director = await topo.addNs('director');

  const [cDir, dCli] = await topo.veth(client, 'dir', director, 'cli');
  await client.addAddr(cDir.ifname, `${CIP[4]}/24`);
  await client.addAddr(cDir.ifname, `${CIP[6]}/64`);
  await director.addAddr(dCli.ifname, '198.51.100.1/24');
  await director.addAddr(dCli.ifname, '2001:db8:1::1/64');
  // The VIP on the client-facing interface: the director answers ARP/ND for it.
  await director.addAddr(dCli.ifname, `${VIP[4]}/32`);
  await director.addAddr(dCli.ifname, `${VIP[6]}/128`);
  await client.attachXdpPass(cDir.ifname); // NAT/FULLNAT replies are redirected to the client link
  await director.sysctl('net.ipv4.ip_forward', 1);
  await director.sysctl('net.ipv6.conf.all.forwarding', 1);
  // DR/TUN replies (source: the VIP, which is local here) are routed through the director: accept them.
  await director.sysctl('net.ipv4.conf.all.accept_local', 1);
  await director.sysctl('net.ipv4.conf.all.rp_filter', 0);

  const rsNs: Netns[] = [];
  const rsDirIf: string[] = [];
  const servers: NsProcess[] = [];
  const bulkFile = path.join(await topo.tmpDir('bulk'), 'up.bin');
  const upload = randomBytes(BULK);
  await writeFile(bulkFile, upload);

  for (const [i, r] of RS.entries()) {
    const ns = await topo.addNs(r.name);
    rsNs.push(ns);
    // MTU 1600: a full-size client packet plus the 20/40-byte tunnel header fits (ENVIRONMENT.md).
    const [dRs, rDir] = await topo.veth(director, `r${i + 1}`, ns, 'dir', { mtu: 1600 });
    rsDirIf.push(rDir.ifname);
    await director.addAddr(dRs.ifname, r.net4);
    await director.addAddr(dRs.ifname, `${r.gw6}/64`);
    await director.sysctl(`net.ipv4.conf.${dRs.ifname}.accept_local`, 1);
    await director.sysctl(`net.ipv4.conf.${dRs.ifname}.rp_filter`, 0);
    await ns.addAddr(rDir.ifname, `${r.v4}/26`);
    await ns.addAddr(rDir.ifname, `${r.v6}/64`);
    await ns.addRoute('default', { via: r.gw4 });
    await ns.addRoute('default', { via: r.gw6 });
    await ns.attachXdpPass(rDir.ifname);
    // VIPs on lo (TUN and DR), ARP sysctls, and the IPIP/IP6IP6 decapsulation on tc ingress.
    await xvsRs(ns, ['up', '--vip', VIP[4], '--vip', VIP[6], '--mode', 'tun']);
    topo.onTeardown(() => xvsRs(ns, ['down'], { allowFail: true, quiet: true }));
    let ready = false;
    const srv = ns.spawn([process.execPath, path.join(repoRoot, 'test/fixtures/mode-server.cjs'), r.name,
      `tcp=8080,8081,82,${DR_PORT}`, `udp=5353@::,5354@::,55@${VIP[4]},55@${VIP[6]}`],
    { label: `server@${r.name}`, env: { ...process.env, NODE_OPTIONS: '' }, onLine: (_s, line) => { if (line === 'ready') ready = true; } });
    servers.push(srv);
    await waitFor(() => ready, { timeoutMs: 10_000, what: `${r.name}'s servers`, failFast: () => (srv.running ? null : new Error(srv.output())) });
    if (REDIS) {
      const dir = await topo.tmpDir(`${r.name}-redis`);
      ns.spawn(['/usr/bin/redis-server', '--port', '6379', '--bind', '0.0.0.0 ::', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--protected-mode', 'no'], { label: `redis@${r.name}` });
      await waitFor(async () => (await ns.exec(['redis-cli', '-h', '127.0.0.1', 'ping'], { allowFail: true, quiet: true })).stdout.trim() === 'PONG',
        { timeoutMs: 10_000, what: `redis on ${r.name}` });
      await ns.exec(['redis-cli', '-h', '127.0.0.1', 'set', 'whoami', r.name]);
    }
  }

  const curl = async (url: string, extra: string[] = []): Promise<string | null> => {
    const res = await client.exec(['curl', '-sS', '--max-time', '5', ...extra, url], { allowFail: true, timeoutMs: 15_000 });
    return res.code === 0 ? res.stdout.trim() : null;
  };

  /** The whole configuration in one `xvsadm -R` (ipvsadm's rule syntax), then the local addresses. */
  async function configure(): Promise<void> {
    const rules: string[] = [];
    const laddrs: string[][] = [];
    for (const fam of [4, 6] as Fam[]) {
      const v = host(fam, VIP[fam]);
      const rip = (r: (typeof RS)[number], port: number): string => `${host(fam, fam === 4 ? r.v4 : r.v6)}:${port}`;
      for (const mode of ['nat', 'fullnat', 'tun'] as Mode[]) {
        const p = PORTS[mode];
        for (const [proto, vport, rport] of [['-t', p.vtcp, p.rtcp], ['-u', p.vudp, p.rudp]] as const) {
          rules.push(`-A ${proto} ${v}:${vport} -s rr`);
          for (const r of RS) rules.push(`-a ${proto} ${v}:${vport} -r ${rip(r, rport)} ${p.flag} -w 1`);
          if (mode === 'fullnat') laddrs.push(['--add-laddr', proto, `${v}:${vport}`, '-z', LIP[fam]]);
        }
      }
      rules.push(`-A -t ${v}:${DR_PORT} -s rr`);
      for (const r of RS) rules.push(`-a -t ${v}:${DR_PORT} -r ${rip(r, DR_PORT)} -g -w 1`);
      if (REDIS) {
        rules.push(`-A -t ${v}:6379 -s rr`);
        for (const r of RS) rules.push(`-a -t ${v}:6379 -r ${rip(r, 6379)} -m -w 1`);
      }
    }
    await xvsadm(director, ['-R'], { input: rules.join('\n') + '\n' });
    for (const args of laddrs) await xvsadm(director, args);
  }

  t.test('xvs-rs up --mode tun attached the decapsulation on the RS', async (t) => {
    const filters = (await rsNs[0].exec(['tc', 'filter', 'show', 'dev', rsDirIf[0], 'ingress'])).stdout;
    t.match(filters, /xvs_decap/, 'tc ingress filter present');
    t.match((await xvsRs(rsNs[0], ['status'])).stdout, /TUN decapsulation \(tc ingress\) on:/);
  });

  for (const attach of ['native', 'tc'] as const) {
    t.test(`attach ${attach}: all four modes on one director`, async (t) => {
      const daemon: NsProcess = startXvsd(director, ['--attach', attach]);
      t.teardown(() => daemon.stop());
      await waitXvsdReady(director, daemon);
      await configure();
      const info = await xvsdInfo(director);
      t.ok(info?.interfaces.every((i) => (attach === 'tc' ? i.mode === 'tc' : i.mode !== 'tc')), `attached with ${attach}`);

      t.test('xvsadm -Ln shows Masq, FullNat, Tunnel and Route', async (t) => {
        const listing = (await xvsadm(director, ['-Ln'])).stdout;
        const forwards = new Set(parseDestRows(listing).map((d) => d.forward));
        t.same([...forwards].sort(), ['FullNat', 'Masq', 'Route', 'Tunnel']);
        t.match(listing, `TCP  ${VIP[4]}:81 rr\n  -> 192.0.2.11:8081`);
        t.match((await xvsadm(director, ['--get-laddr', '-t', `${VIP[4]}:81`])).stdout, `TCP  ${VIP[4]}:81\n  -> ${LIP[4]}\n`);
      });

      for (const mode of ['nat', 'fullnat', 'tun'] as Mode[]) {
        for (const fam of [4, 6] as Fam[]) {
          t.test(`${mode} IPv${fam}`, async (t) => {
            const p = PORTS[mode];
            if (mode === 'fullnat') {
              // FULLNAT's promise: the RS needs no route back to the client. For this test the RSs lose
              // their default route; only the local address stays reachable (on-link for rs1, one host
              // route via the director for rs2).
              const v = fam === 6 ? ['-6'] : [];
              const gw = (r: (typeof RS)[number]): string => (fam === 4 ? r.gw4 : r.gw6);
              for (const [i, r] of RS.entries()) {
                await rsNs[i].ip([...v, 'route', 'del', 'default']);
                if (i > 0) await rsNs[i].ip([...v, 'route', 'add', LIP[fam], 'via', gw(r)]);
              }
              t.teardown(async () => {
                for (const [i, r] of RS.entries()) {
                  if (i > 0) await rsNs[i].ip([...v, 'route', 'del', LIP[fam], 'via', gw(r)]).catch(() => undefined);
                  await rsNs[i].ip([...v, 'route', 'replace', 'default', 'via', gw(r)]);
                }
              });
              for (const ns of rsNs) {
                const probe = await ns.exec(['ip', ...v, 'route', 'get', CIP[fam]], { allowFail: true, quiet: true });
                t.not(probe.code, 0, `${ns.label}: no route to the client (${probe.stderr.trim()})`);
              }
            }
            const base = `http://${host(fam, VIP[fam])}:${p.vtcp}`;
            const names = new Set<string | null>();
            for (let i = 0; i < 4; i++) names.add(await curl(`${base}/`));
            t.same([...names].sort(), ['rs1', 'rs2'], 'HTTP: both real servers answer through the VIP');
            const who = await curl(`${base}/whoami`);
            const seen = who?.split(' ')[1]?.replace(/^::ffff:/, '');
            t.equal(seen, mode === 'fullnat' ? LIP[fam] : CIP[fam], `the RS sees ${mode === 'fullnat' ? 'the local address' : 'the client'}`);
            const down = await client.exec(['sh', '-c', `curl -sS --max-time 20 '${base}/blob?size=${BULK}' | sha256sum`], { timeoutMs: 30_000 });
            t.equal(down.stdout.split(' ')[0], sha256(blob(BULK)), '1 MiB download, digest matches');
            const up = await curl(`${base}/digest`, ['--data-binary', `@${bulkFile}`, '-H', 'Content-Type: application/octet-stream']);
            t.equal(up?.split(' ')[1], sha256(upload), '1 MiB upload, digest matches');
            const udp = await client.exec(['sh', '-c', `echo ping-${mode} | socat -T 3 - UDP${fam === 4 ? '4' : '6'}:${host(fam, VIP[fam])}:${p.vudp}`],
              { allowFail: true, timeoutMs: 10_000 });
            t.match(udp.stdout.trim(), new RegExp(`^rs[12]:ping-${mode}$`), 'UDP request/response with socat');
          });
        }
      }

      t.test('DR alongside', async (t) => {
        // What each RS receives on the DR port, by TTL / hop limit: the client sends with 64, and the
        // director forwards as the kernel's DR transmitter does, one hop less (63).
        const ruleset = `table inet xvs_dr_ttl {
  counter v4_63 {}
  counter v4_other {}
  counter v6_63 {}
  counter v6_other {}
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    tcp dport ${DR_PORT} ip ttl 63 counter name "v4_63"
    tcp dport ${DR_PORT} ip ttl != 63 counter name "v4_other"
    tcp dport ${DR_PORT} ip6 hoplimit 63 counter name "v6_63"
    tcp dport ${DR_PORT} ip6 hoplimit != 63 counter name "v6_other"
  }
}
`;
        for (const ns of rsNs) await ns.exec(['nft', '-f', '-'], { input: ruleset });
        t.teardown(async () => {
          for (const ns of rsNs) await ns.exec(['nft', 'delete', 'table', 'inet', 'xvs_dr_ttl'], { allowFail: true });
        });
        for (const fam of [4, 6] as Fam[]) {
          const names = new Set<string | null>();
          for (let i = 0; i < 4; i++) names.add(await curl(`http://${host(fam, VIP[fam])}:${DR_PORT}/`));
          t.same([...names].sort(), ['rs1', 'rs2'], `IPv${fam}: DR answers`);
        }
        const seen: Record<string, number> = { v4_63: 0, v4_other: 0, v6_63: 0, v6_other: 0 };
        for (const ns of rsNs) {
          const out = JSON.parse((await ns.exec(['nft', '-j', 'list', 'counters', 'table', 'inet', 'xvs_dr_ttl'])).stdout) as
            { nftables: { counter?: { name: string; packets: number } }[] };
          for (const item of out.nftables) if (item.counter) seen[item.counter.name] += item.counter.packets;
        }
        t.ok(seen.v4_63 >= 4 * 3, `IPv4: the RSs got the DR packets with TTL 63 (${seen.v4_63})`);
        t.equal(seen.v4_other, 0, 'IPv4: and none with another TTL');
        t.ok(seen.v6_63 >= 4 * 3, `IPv6: the RSs got the DR packets with hop limit 63 (${seen.v6_63})`);
        t.equal(seen.v6_other, 0, 'IPv6: and none with another hop limit');
      });

      t.test('Redis behind NAT', { skip: REDIS ? false : 'redis-server not installed' }, async (t) => {
        for (const fam of [4, 6] as Fam[]) {
          const cli = (...args: string[]) => client.exec(['redis-cli', '-h', VIP[fam], '-p', '6379', ...args], { timeoutMs: 10_000 });
          // rr over two servers: consecutive connections alternate; each answers with its own name.
          const a = (await cli('get', 'whoami')).stdout.trim();
          const b = (await cli('get', 'whoami')).stdout.trim();
          t.same([a, b].sort(), ['rs1', 'rs2'], `IPv${fam}: GET shows which backend answered`);
          t.equal((await cli('set', `k${fam}`, 'v')).stdout.trim(), 'OK', 'SET through the VIP');
        }
      });

      t.test('counters', async (t) => {
        const r = (await xvsdInfo(director))?.reasons ?? {};
        t.ok((r.XVS_R_FWD_REPLY ?? 0) > 0, `NAT/FULLNAT replies translated: ${r.XVS_R_FWD_REPLY}`);
        t.equal(r.XVS_R_DROP_LPORT_EXHAUSTED ?? 0, 0);
        t.equal(r.XVS_R_DROP_NO_LADDR ?? 0, 0);
      });
    });
  }

  t.test('xvs-rs down detaches the decapsulation and removes the VIPs', async (t) => {
    await xvsRs(rsNs[0], ['down']);
    const filters = (await rsNs[0].exec(['tc', 'filter', 'show', 'dev', rsDirIf[0], 'ingress'], { allowFail: true })).stdout;
    t.notMatch(filters, /xvs_decap/, 'no decapsulation filter left');
    const lo = (await rsNs[0].exec(['ip', 'addr', 'show', 'dev', 'lo'])).stdout;
    t.notMatch(lo, VIP[4], 'IPv4 VIP gone from lo');
  });
}
