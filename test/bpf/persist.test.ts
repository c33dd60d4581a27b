// test/bpf/persist.test.ts — persistence (-p/-M) in the real bpf/xvs.o through the control plane that
// drives it in xvsd (ServiceTable over BpfDatapath), packets run with BPF_PROG_TEST_RUN: a client under
// the service's mask keeps its dest across new connections while the rr ring alternates, the scheduler
// runs once per template, templates show in -Lnc's table and PersistConn, the GC re-arms a template
// that still controls connections and expires it once they are gone, after which the client is
// scheduled afresh; a template whose dest was removed is replaced.
import t from 'tap';
import { buildPacket } from '../fixtures/packet.js';
import { createTestNet, isRoot } from '../fixtures/bpf-harness.js';
import { native } from '../../src/datapath/native.js';
import { BpfDatapath } from '../../src/datapath/bpf-datapath.js';
import { ServiceTable } from '../../src/control/table.js';
import { sweepTemplates } from '../../src/control/gc.js';
import { monotonicNs } from '../../src/datapath/datapath.js';
import type { ConnView, ServiceKey } from '../../src/model/service.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN, veth, neighbours)';

t.test('persistent services pin clients under their mask to one dest', { skip }, async (t) => {
  const net = createTestNet(t);
  const dp = await BpfDatapath.open({ maxConns: 4096 });
  t.teardown(() => dp.close());
  dp.setTxPorts([net.a.ifindex, net.c.ifindex]);
  const table = new ServiceTable(dp, { maxServices: 64, maxDests: 256 });
  let sport = 30000;

  const addService = (key: ServiceKey, persistent: number, netmask: string, rips: string[]): void => {
    table.execute({ op: 'add-service', service: { ...key, scheduler: 'rr', persistent, netmask } });
    for (const addr of rips) {
      table.execute({ op: 'add-dest', key, dest: { addr, port: key.port, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0 } });
    }
    table.refillRings();
  };
  const send = async (key: ServiceKey, cip: string, p: number, flags: string): Promise<void> => {
    const v6 = cip.includes(':');
    const frame = buildPacket({
      eth: { src: '02:00:00:00:00:c1', dst: net.a.mac },
      ...(v6 ? { ipv6: { src: cip, dst: key.addr } } : { ipv4: { src: cip, dst: key.addr } }),
      tcp: { sport: p, dport: key.port, flags },
    });
    await native.progTestRun(dp.progFd('xvs_xdp'), { data: frame, ingressIfindex: net.a.ifindex });
  };
  /** Opens a new connection (one SYN) from `cip`; returns the dest address it went to. */
  const connect = async (key: ServiceKey, cip: string): Promise<string | null> => {
    const p = sport++;
    await send(key, cip, p, 'S');
    const c = table.listConns(monotonicNs()).find((x) => x.cport === p && x.caddr === cip);
    return c ? c.daddr : null;
  };
  const templates = (key: ServiceKey): ConnView[] =>
    table.listConns(monotonicNs()).filter((c) => c.cport === 0 && c.vaddr === key.addr && c.vport === key.port);
  const ringCons = (key: ServiceKey): bigint => {
    const id = (table as unknown as { services: Map<string, { id: number }> }).services.get(`tcp:${key.addr.includes(':') ? `[${key.addr}]` : key.addr}:${key.port}`)!.id;
    return dp.ring(id).cons();
  };

  await t.test('IPv4 /32: same client, same dest; the ring is consulted once per template', async (t) => {
    const key: ServiceKey = { protocol: 'tcp', addr: '203.0.113.10', port: 80 };
    addService(key, 300, '255.255.255.255', [net.v4.rip, net.v4.rip2]);
    const cons0 = ringCons(key);
    const a: (string | null)[] = [];
    for (let i = 0; i < 10; i++) a.push(await connect(key, '198.51.100.7'));
    t.equal(new Set(a).size, 1, `10 connections of 198.51.100.7 on one dest (${a[0]})`);
    t.ok(a[0], 'forwarded');
    t.equal(ringCons(key) - cons0, 1n, 'one scheduling decision taken');
    const b: (string | null)[] = [];
    for (let i = 0; i < 10; i++) b.push(await connect(key, '198.51.100.8'));
    t.equal(new Set(b).size, 1, '10 connections of 198.51.100.8 on one dest');
    t.not(b[0], a[0], 'the second client got rr\'s next dest');
    t.equal(ringCons(key) - cons0, 2n, 'two decisions in all');

    const tp = templates(key);
    t.same(tp.map((c) => [c.protocol, c.caddr, c.cport, c.daddr, c.dport, c.state]).sort(), [
      ['tcp', '198.51.100.7', 0, a[0], 80, 'NONE'], ['tcp', '198.51.100.8', 0, b[0], 80, 'NONE'],
    ].sort(), 'one template per client, client port 0, state NONE');
    t.ok(tp.every((c) => c.expires >= 299 && c.expires <= 300), 'templates expire in the service timeout');
    const [svc] = table.execute({ op: 'list', key }) as { dests: { addr: string; persistConns: number; inactConns: number }[] }[];
    for (const d of svc.dests) t.equal(d.persistConns, 1, `${d.addr}: PersistConn 1`);
    t.equal(svc.dests.reduce((n, d) => n + d.inactConns, 0), 20, 'templates do not count as connections');

    // GC: the template has run out but its connections live: re-armed, not removed.
    const now = monotonicNs();
    const tmpl = dp.templates().find((x) => x.caddr === '198.51.100.7')!;
    dp.updateTemplate(tmpl.key, { lastSeenNs: now - 400_000_000_000n });
    const masks = table.persistMasks();
    t.equal(sweepTemplates(dp, now, masks), 0, 'nothing expires while connections are controlled');
    t.equal(dp.template(tmpl.key)?.lastSeenNs, now, 're-armed for a full timeout');
    // Its connections go (as GC would expire them): an ASSURED template lives out its timeout ...
    for (const c of dp.conns()) if (c.caddr === '198.51.100.7') dp.deleteConn(c.key);
    dp.updateTemplate(tmpl.key, { assured: true, lastSeenNs: now - 10_000_000_000n });
    t.equal(sweepTemplates(dp, now, masks), 0, 'an assured template stays until its timeout');
    t.equal(templates(key).find((c) => c.caddr === '198.51.100.7')?.state, 'ASSURED', '-Lnc shows ASSURED');
    dp.updateTemplate(tmpl.key, { lastSeenNs: now - 301_000_000_000n });
    t.equal(sweepTemplates(dp, now, masks), 1, 'and then expires');
    t.equal(dp.template(tmpl.key), null, 'gone');
    // ... and the client is scheduled afresh: rr's next decision, then pinned again.
    const c1 = await connect(key, '198.51.100.7');
    t.equal(ringCons(key) - cons0, 3n, 'a new decision for the expired client');
    t.equal(c1, a[0], 'rr\'s third pick is the first dest again');
    t.equal(await connect(key, '198.51.100.7'), c1, 'pinned by the new template');

    // A template whose dest was removed is replaced (ip_vs_check_template).
    table.execute({ op: 'del-dest', key, dest: { addr: b[0]!, port: 80 } });
    table.refillRings();
    const c2 = await connect(key, '198.51.100.8');
    t.equal(c2, a[0], 'the client of the removed dest goes to the remaining one');
    t.equal(templates(key).find((c) => c.caddr === '198.51.100.8')?.daddr, a[0], 'its template names it now');

    // A template that never got assured goes once its last connection is gone (after a short grace).
    for (const c of dp.conns()) if (c.caddr === '198.51.100.8') dp.deleteConn(c.key);
    const t8 = dp.templates().find((x) => x.caddr === '198.51.100.8')!;
    dp.updateTemplate(t8.key, { lastSeenNs: monotonicNs() - 3_000_000_000n });
    t.equal(sweepTemplates(dp, monotonicNs(), masks), 1, 'the unassured template without connections expires');
    table.execute({ op: 'del-service', key });
    t.equal(dp.templates().length, 0, 'deleting the service removes its templates');
  });

  await t.test('a SYN on a closing tuple of a persistent service reuses the controlled connection', async (t) => {
    const key: ServiceKey = { protocol: 'tcp', addr: '203.0.113.12', port: 80 };
    addService(key, 300, '255.255.255.255', [net.v4.rip, net.v4.rip2]);
    const cip = '198.51.100.50';
    const p = sport++;
    await send(key, cip, p, 'S');
    await send(key, cip, p, 'A');
    await send(key, cip, p, 'FA');
    const before = dp.conns().find((c) => c.caddr === cip && c.cport === p)!;
    t.equal(before.state, 4, 'FIN_WAIT');
    const resched = dp.reasons().XVS_R_CONN_RESCHED;
    await send(key, cip, p, 'S');
    const after = dp.conns().find((c) => c.caddr === cip && c.cport === p)!;
    t.equal(dp.reasons().XVS_R_CONN_RESCHED, resched, 'not rescheduled (is_new_conn_expected: controlled)');
    t.equal(after.createdNs, before.createdNs, 'the same entry');
    t.equal(after.state, 3, 'FIN_WAIT + SYN -> SYN_RECV');
    t.equal(after.destId, before.destId, 'same dest');
  });

  await t.test('IPv4 -M 255.255.255.0: one template per /24', async (t) => {
    const key: ServiceKey = { protocol: 'tcp', addr: '203.0.113.11', port: 80 };
    addService(key, 60, '255.255.255.0', [net.v4.rip, net.v4.rip2]);
    const got: (string | null)[] = [];
    for (let i = 20; i < 30; i++) got.push(await connect(key, `198.51.100.${i}`));
    t.equal(new Set(got).size, 1, 'ten clients of 198.51.100.0/24 on one dest');
    const other = await connect(key, '198.51.101.5');
    t.ok(other, 'forwarded');
    t.not(other, got[0], 'a client of another /24 gets rr\'s next dest');
    t.same(templates(key).map((c) => c.caddr).sort(), ['198.51.100.0', '198.51.101.0'], 'templates name the masked client');
    t.ok(templates(key).every((c) => c.expires >= 59 && c.expires <= 60), '-p 60');
  });

  await t.test('port-zero persistent service: every port of its VIP without a service of its own', async (t) => {
    const vip = '203.0.113.30';
    const zero: ServiceKey = { protocol: 'tcp', addr: vip, port: 0 };
    const own: ServiceKey = { protocol: 'tcp', addr: vip, port: 22 };
    /** One SYN from cip:p to vip:dport; the verdict and, when forwarded, the destination it was rewritten to. */
    const syn = async (cip: string, p: number, dport: number): Promise<{ verdict: number; dst?: string; dport?: number }> => {
      const frame = buildPacket({
        eth: { src: '02:00:00:00:00:c1', dst: net.a.mac }, ipv4: { src: cip, dst: vip }, tcp: { sport: p, dport, flags: 'S' },
      });
      const r = await native.progTestRun(dp.progFd('xvs_xdp'), { data: frame, ingressIfindex: net.a.ifindex });
      return r.retval === 3 || r.retval === 4
        ? { verdict: r.retval, dst: [...r.dataOut.subarray(30, 34)].join('.'), dport: r.dataOut.readUInt16BE(36) }
        : { verdict: r.retval };
    };
    t.equal((await syn('198.51.100.40', sport++, 443)).verdict, 2, 'before: VIP:443 has no service, passed to the kernel');
    table.execute({ op: 'add-service', service: { ...zero, scheduler: 'rr', persistent: 300, netmask: '255.255.255.255' } });
    // NAT dests with a port of their own: the port is ignored, connections keep the client's (as the kernel).
    for (const addr of [net.v4.rip, net.v4.rip2]) {
      table.execute({ op: 'add-dest', key: zero, dest: { addr, port: 8080, fwd: 'masq', weight: 1, uThreshold: 0, lThreshold: 0 } });
    }
    table.execute({ op: 'add-service', service: { ...own, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255' } });
    table.execute({ op: 'add-dest', key: own, dest: { addr: net.v4.rip2, port: 2222, fwd: 'masq', weight: 1, uThreshold: 0, lThreshold: 0 } });
    table.refillRings();
    const a443 = await syn('198.51.100.41', sport++, 443);
    const a80 = await syn('198.51.100.41', sport++, 80);
    t.equal(a443.dport, 443, 'VIP:443 -> the dest, port 443 kept');
    t.equal(a80.dport, 80, 'VIP:80 -> port 80 kept');
    t.ok(a443.dst && a443.dst === a80.dst, `one client, one dest for every port (${a443.dst})`);
    const b = await syn('198.51.100.42', sport++, 443);
    t.ok(b.dst && b.dst !== a443.dst, `the next client gets rr's next dest (${b.dst})`);
    const ssh = await syn('198.51.100.41', sport++, 22);
    t.same([ssh.dst, ssh.dport], [net.v4.rip2, 2222], 'VIP:22 has its own service: it wins');
    const conns = table.listConns(monotonicNs()).filter((c) => c.vaddr === vip && c.cport !== 0);
    t.same(conns.filter((c) => c.caddr === '198.51.100.41').map((c) => [c.vport, c.dport]).sort(), [[22, 2222], [443, 443], [80, 80]].sort(),
      '-Lnc: a port-zero connection shows the port it kept');
    t.same(templates(zero).map((c) => [c.caddr, c.vport]).sort(), [['198.51.100.41', 0], ['198.51.100.42', 0]], 'templates of the port-zero service: vport 0');
    table.execute({ op: 'del-service', key: zero });
    t.equal((await syn('198.51.100.43', sport++, 8443)).verdict, 2, 'after: passed to the kernel again');
  });

  await t.test('IPv6 -M 64: one template per /64', async (t) => {
    const key: ServiceKey = { protocol: 'tcp', addr: '2001:db8:ffff::10', port: 80 };
    addService(key, 300, '64', [net.v6.rip, net.v6.rip2]);
    const got: (string | null)[] = [];
    for (const cip of ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2:ffff:1:2:3', '2001:db8:1:2:1::c', '2001:db8:1:2::d']) {
      got.push(await connect(key, cip));
    }
    t.equal(new Set(got).size, 1, 'clients of 2001:db8:1:2::/64 on one dest');
    t.ok(got[0], 'forwarded');
    const other = await connect(key, '2001:db8:1:3::a');
    t.not(other, got[0], 'another /64 gets the next dest');
    t.same(templates(key).map((c) => c.caddr).sort(), ['2001:db8:1:2::', '2001:db8:1:3::'], 'masked IPv6 clients');
  });
});
