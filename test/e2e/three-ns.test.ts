// test/e2e/three-ns.test.ts — DR where the director forwards out of a different interface than the one
// the request came in on (XDP_REDIRECT through the devmap):
//   client ──(198.51.100.0/24)── director ──(192.0.2.0/24)── rs
//      └────────────────(203.0.113.0/24, the reply path)───────┘
// The RS holds the VIP on lo and answers the client directly over the second link. Needs root and a build.
import t from 'tap';
import { Topology } from '../../src/netns/index.js';
import { startHttpServer } from '../../src/lab/http-server.js';
import { httpGet } from '../../src/lab/topology.js';
import { e2eReady, startXvsd, waitXvsdReady, xvsadm, xvsdInfo, xvsRs } from '../../src/lab/xvs.js';

const VIP = '198.51.100.100';
const CIP = '198.51.100.10';
const RIP = '192.0.2.11';

if (e2eReady(t)) {
  t.setTimeout(120_000);
  const topo = await Topology.create();
  t.teardown(() => topo.teardown());
  const client = await topo.addNs('client');
  const director = await topo.addNs('director');
  const rs = await topo.addNs('rs');

  // client ── director: the VIP lives here (on the director's side, so it answers ARP for it).
  const [cDir, dCli] = await topo.veth(client, 'dir', director, 'cli');
  await client.addAddr(cDir.ifname, `${CIP}/24`);
  await director.addAddr(dCli.ifname, '198.51.100.1/24');
  await director.addAddr(dCli.ifname, `${VIP}/32`);

  // director ── rs: the redirect target. Its peer (the RS end) needs an XDP program to receive.
  const [dRs, rDir] = await topo.veth(director, 'rs', rs, 'dir');
  await director.addAddr(dRs.ifname, '192.0.2.1/24');
  await rs.addAddr(rDir.ifname, `${RIP}/24`);
  await rs.attachXdpPass(rDir.ifname);
  await director.sysctl('net.ipv4.ip_forward', 1);

  // client ── rs: the direct reply path.
  const [cRs, rCli] = await topo.veth(client, 'rs', rs, 'cli');
  await client.addAddr(cRs.ifname, '203.0.113.10/24');
  await rs.addAddr(rCli.ifname, '203.0.113.11/24');
  await rs.addRoute('198.51.100.0/24', { via: '203.0.113.10' });
  // Replies from the VIP arrive on the client's other link.
  for (const key of ['all', 'default', cDir.ifname, cRs.ifname]) await client.sysctl(`net.ipv4.conf.${key}.rp_filter`, 0);

  await xvsRs(rs, ['up', '--vip', VIP]);
  topo.onTeardown(() => xvsRs(rs, ['down'], { allowFail: true, quiet: true }));
  await startHttpServer(rs, { name: 'rs1' });

  t.test('the RS answers its own address; the VIP is not reachable without xvsd', async (t) => {
    t.equal(await httpGet(client, '203.0.113.11'), 'rs1', 'direct path works');
    t.equal(await httpGet(client, VIP, { maxTimeS: 1 }), null);
  });

  t.test('requests to the VIP arrive on one interface and leave by another', async (t) => {
    const daemon = startXvsd(director, ['--attach', 'native']);
    t.teardown(() => daemon.stop());
    await waitXvsdReady(director, daemon);
    await xvsadm(director, ['-A', '-t', `${VIP}:80`, '-s', 'rr']);
    await xvsadm(director, ['-a', '-t', `${VIP}:80`, '-r', `${RIP}:80`, '-g', '-w', '1']);
    const info = await xvsdInfo(director);
    t.same(info?.interfaces.map((i) => i.name).sort(), [dCli.ifname, dRs.ifname].sort(), 'xvsd attached to both interfaces');

    const answers: (string | null)[] = [];
    for (let i = 0; i < 10; i++) answers.push(await httpGet(client, VIP, { maxTimeS: 2 }));
    t.same(answers, Array(10).fill('rs1'), 'every request answered by rs1 through the VIP');

    const after = await xvsdInfo(director);
    if (!after?.reasons) return t.comment('this xvsd does not report reason counters');
    t.ok(after.reasons.XVS_R_FWD_REDIRECT > 0, `XVS_R_FWD_REDIRECT = ${after.reasons.XVS_R_FWD_REDIRECT}`);
    t.equal(after.reasons.XVS_R_FWD_TX, 0, 'nothing went back out of the ingress interface');
    // The replies took the direct path: the director saw only the client's half of each connection.
    t.comment((await xvsadm(director, ['-Ln', '--stats'], { allowFail: true })).stdout);
  });
}
