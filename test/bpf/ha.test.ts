// test/bpf/ha.test.ts — HA in the real bpf/xvs.o, packets run with BPF_PROG_TEST_RUN:
// (1) connection sync: a master director's data path publishes new and changed connections in its sync
//     ring, the SyncManagers carry them (authenticated wire format over an in-memory transport) to a backup
//     director with its own ids, whose data path then forwards the connection's next non-SYN packet (DR)
//     and translates its replies (NAT) as the master would have, with the dest counted active;
// (2) restarts: a data path pinned on a bpffs is adopted by a second object + table (same ids), its
//     connections forward on and its counters continue; a layout that does not fit is refused.
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildPacket } from '../fixtures/packet.js';
import { XDP, createTestNet, isRoot } from '../fixtures/bpf-harness.js';
import { native } from '../../src/datapath/native.js';
import { BpfDatapath } from '../../src/datapath/bpf-datapath.js';
import { ServiceTable } from '../../src/control/table.js';
import { SyncManager } from '../../src/sync/manager.js';
import { memoryPair } from '../../src/sync/transport.js';
import { createLogger } from '../../src/log/logger.js';
import { PIN_ROOT, isBpffs, removePinDir } from '../../src/datapath/pin.js';
import { ServiceSpec, type ServiceKey } from '../../src/model/service.js';
import type { SyncDaemonSpec } from '../../src/sync/types.js';

const skip = isRoot() ? false : 'needs root (BPF_PROG_TEST_RUN, veth, bpffs)';
const log = createLogger('error');
const forwarded = (retval: number): boolean => retval === XDP.TX || retval === XDP.REDIRECT;
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('connection sync: master events reach the backup, which forwards the connection', { skip }, async (t) => {
  const net = createTestNet(t);
  const mk = async (): Promise<{ dp: BpfDatapath; table: ServiceTable }> => {
    const dp = await BpfDatapath.open({ maxConns: 4096 });
    t.teardown(() => dp.close());
    dp.setTxPorts([net.a.ifindex, net.c.ifindex]);
    return { dp, table: new ServiceTable(dp, { maxServices: 64, maxDests: 256 }) };
  };
  const master = await mk();
  const backup = await mk();
  const dr: ServiceKey = { protocol: 'tcp', addr: '203.0.113.20', port: 80 };
  const nat: ServiceKey = { protocol: 'tcp', addr: '203.0.113.21', port: 80 };
  const dest = (addr: string, fwd: 'route' | 'masq', port = 80) => ({ addr, port, fwd, weight: 1, uThreshold: 0, lThreshold: 0 });
  for (const { table } of [master, backup]) {
    table.execute({ op: 'add-service', service: ServiceSpec.parse({ ...dr, scheduler: 'rr' }) });
    table.execute({ op: 'add-service', service: ServiceSpec.parse({ ...nat, scheduler: 'rr' }) });
  }
  // The backup's ids differ from the master's: it has an extra dest first, and the dests in another order.
  backup.table.execute({ op: 'add-dest', key: dr, dest: dest(net.v4.ripNoNeigh, 'route') });
  for (const addr of [net.v4.rip, net.v4.rip2]) master.table.execute({ op: 'add-dest', key: dr, dest: dest(addr, 'route') });
  for (const addr of [net.v4.rip, net.v4.rip2]) backup.table.execute({ op: 'add-dest', key: dr, dest: dest(addr, 'route') });
  master.table.execute({ op: 'add-dest', key: nat, dest: dest(net.v4.rip, 'masq', 8080) });
  backup.table.execute({ op: 'add-dest', key: nat, dest: dest(net.v4.rip2, 'masq', 8080) });
  backup.table.execute({ op: 'add-dest', key: nat, dest: dest(net.v4.rip, 'masq', 8080) });
  for (const { table } of [master, backup]) table.refillRings();

  const key = randomBytes(32);
  const pair = memoryPair();
  const spec = (role: 'master' | 'backup'): SyncDaemonSpec => ({ role, mcastInterface: net.a.name, syncId: 7, maxLen: 0 });
  const mMgr = new SyncManager({ dp: master.dp, table: master.table, log, key: () => key, transport: () => pair.master });
  const bMgr = new SyncManager({ dp: backup.dp, table: backup.table, log, key: () => key, transport: () => pair.backup });
  t.teardown(async () => { await mMgr.close(); await bMgr.close(); });
  await bMgr.start(spec('backup'));
  await mMgr.start(spec('master'));
  t.same(mMgr.list().map((s) => s.role), ['master'], 'the master is listed');
  await t.rejects(mMgr.start(spec('master')), { code: 'EEXIST' }, 'a second master: EEXIST');

  const run = async (dp: BpfDatapath, frame: Buffer, ifindex = net.a.ifindex) =>
    native.progTestRun(dp.progFd('xvs_xdp'), { data: frame, ingressIfindex: ifindex });
  const pkt = (svc: ServiceKey, cip: string, sport: number, flags: string) => buildPacket({
    eth: { src: '02:00:00:00:00:c1', dst: net.a.mac }, ipv4: { src: cip, dst: svc.addr }, tcp: { sport, dport: svc.port, flags },
  });
  const counts = (table: ServiceTable, svc: ServiceKey, addr: string) => {
    const [s] = table.execute({ op: 'list', key: svc }) as { dests: { addr: string; activeConns: number; inactConns: number }[] }[];
    const d = s.dests.find((x) => x.addr === addr)!;
    return [d.activeConns, d.inactConns];
  };

  // DR: SYN then ACK on the master.
  t.ok(forwarded((await run(master.dp, pkt(dr, '198.51.100.70', 40001, 'S'))).retval), 'master forwards the SYN');
  t.ok(forwarded((await run(master.dp, pkt(dr, '198.51.100.70', 40001, 'A'))).retval), 'and the ACK (established)');
  const mconn = master.dp.conns().find((c) => c.cport === 40001)!;
  const mdest = master.table.list(dr)[0].dests.find((d) => d.activeConns === 1)!;
  t.ok(mconn && mdest, `master: connection on ${mdest?.addr}, active`);
  // Before the backup knows it, a non-SYN packet of the connection is dropped there.
  t.equal((await run(backup.dp, pkt(dr, '198.51.100.71', 40009, 'A'))).retval, XDP.DROP, 'backup: unknown connection, ACK dropped');
  await wait(200); // the master pumps events every 10 ms and flushes every 20 ms
  const bconn = backup.dp.conns().find((c) => c.cport === 40001);
  t.ok(bconn, 'the backup has the connection');
  t.equal(bconn?.state, 1, 'in state ESTABLISHED');
  t.not(bconn?.destId, mconn.destId, 'under the backup\'s own dest id');
  t.same(counts(backup.table, dr, mdest.addr), [1, 0], `backup counts it active on ${mdest.addr}`);
  const out = await run(backup.dp, pkt(dr, '198.51.100.70', 40001, 'A'));
  t.ok(forwarded(out.retval), 'backup forwards the established connection\'s ACK');
  const wantMac = mdest.addr === net.v4.rip ? net.ripMac : net.rip2Mac;
  t.equal(out.dataOut.subarray(0, 6).toString('hex'), wantMac.replace(/:/g, ''), 'to the same real server\'s MAC');
  // FIN on the master: the state change reaches the backup (active -> inactive).
  await run(master.dp, pkt(dr, '198.51.100.70', 40001, 'FA'));
  await wait(200);
  t.equal(backup.dp.conns().find((c) => c.cport === 40001)?.state, 4, 'backup: FIN_WAIT after the master saw the FIN');
  t.same(counts(backup.table, dr, mdest.addr), [0, 1], 'and counts it inactive');

  // NAT: the backup translates the real server's reply of a synced connection. The client sits behind
  // interface c (a neighbour there), so the translated reply is redirected to it.
  const cip = net.v4.rip2.replace(/\.(\d+)$/, (_m, o) => `.${Number(o) - 6}`);
  execFileSync('ip', ['neigh', 'replace', cip, 'lladdr', '02:00:00:00:0c:01', 'dev', net.c.name, 'nud', 'permanent']);
  t.ok(forwarded((await run(master.dp, pkt(nat, cip, 40002, 'S'))).retval), 'master forwards a NAT SYN');
  await wait(200);
  const reply = buildPacket({
    eth: { src: net.ripMac, dst: net.a.mac }, ipv4: { src: net.v4.rip, dst: cip }, tcp: { sport: 8080, dport: 40002, flags: 'SA' },
  });
  const r = await run(backup.dp, reply);
  t.equal(r.retval, XDP.REDIRECT, 'backup translates the RS reply of the synced NAT connection (toward the client)');
  t.equal(r.dataOut.subarray(26, 30).join('.'), nat.addr, 'source rewritten to the VIP');
  t.equal(r.dataOut.readUInt16BE(34), 80, 'and the virtual port');
  t.ok(bMgr.installs.installed >= 2, `installed ${bMgr.installs.installed}`);

  // Persistence: the master's template travels with the connection; on the backup a new connection of
  // the same client (another port) lands on the same real server without consulting the ring.
  const per: ServiceKey = { protocol: 'tcp', addr: '203.0.113.22', port: 80 };
  for (const { table } of [master, backup]) table.execute({ op: 'add-service', service: ServiceSpec.parse({ ...per, scheduler: 'rr', persistent: 120 }) });
  for (const addr of [net.v4.rip, net.v4.rip2]) master.table.execute({ op: 'add-dest', key: per, dest: dest(addr, 'route') });
  for (const addr of [net.v4.rip2, net.v4.rip]) backup.table.execute({ op: 'add-dest', key: per, dest: dest(addr, 'route') });
  for (const { table } of [master, backup]) table.refillRings();
  t.ok(forwarded((await run(master.dp, pkt(per, '198.51.100.74', 40004, 'S'))).retval), 'master: a persistent service\'s SYN');
  const mt = master.dp.templates().find((x) => x.caddr === '198.51.100.74');
  const pinned = master.table.list(per)[0].dests.find((d) => d.inactConns === 1)!.addr;
  t.ok(mt, `master: template for the client (on ${pinned})`);
  await wait(200);
  const bt = backup.dp.templates().find((x) => x.caddr === '198.51.100.74');
  t.ok(bt, 'backup: the template arrived');
  t.equal(bt?.timeoutS, 120, 'with the service\'s persistence timeout');
  t.ok(bMgr.installs.templates >= 1, `templates installed: ${bMgr.installs.templates}`);
  for (let p = 40010; p < 40014; p++) {
    const r = await run(backup.dp, pkt(per, '198.51.100.74', p, 'S'));
    t.equal(r.dataOut.subarray(0, 6).toString('hex'), (pinned === net.v4.rip ? net.ripMac : net.rip2Mac).replace(/:/g, ''), `backup: new connection ${p} of the client goes to ${pinned}`);
  }

  // Events only while a master runs.
  await mMgr.stop('master');
  const sent = pair.master.sent.length;
  await run(master.dp, pkt(dr, '198.51.100.73', 40003, 'S'));
  await wait(100);
  t.equal(pair.master.sent.length, sent, 'no messages after --stop-daemon master');
  t.notOk(backup.dp.conns().some((c) => c.cport === 40003), 'the backup did not learn the new connection');
  await t.rejects(mMgr.stop('master'), { code: 'ESRCH' }, 'stopping it again: ESRCH');

  // A backup with another key rejects everything (auth) and installs nothing.
  const other = memoryPair();
  const m2 = new SyncManager({ dp: master.dp, table: master.table, log, key: () => key, transport: () => other.master });
  const b2dp = await BpfDatapath.open({ maxConns: 4096 });
  t.teardown(() => b2dp.close());
  const b2table = new ServiceTable(b2dp, { maxServices: 64, maxDests: 256 });
  b2table.execute({ op: 'add-service', service: ServiceSpec.parse({ ...dr, scheduler: 'rr' }) });
  b2table.execute({ op: 'add-dest', key: dr, dest: dest(net.v4.rip, 'route') });
  b2table.execute({ op: 'add-dest', key: dr, dest: dest(net.v4.rip2, 'route') });
  const b2 = new SyncManager({ dp: b2dp, table: b2table, log, key: () => randomBytes(32), transport: () => other.backup });
  t.teardown(async () => { await m2.close(); await b2.close(); });
  await b2.start(spec('backup'));
  await m2.start(spec('master'));
  await wait(200);
  t.ok(b2.stats()[0].rejected.auth > 0, `wrong key: ${b2.stats()[0].rejected.auth} messages rejected (auth)`);
  t.equal(b2dp.conns().length, 0, 'nothing installed');
  const noKey = new SyncManager({ dp: b2dp, table: b2table, log, key: () => null });
  await t.rejects(noKey.start(spec('master')), { code: 'EINVAL', message: /sync key/ }, 'no key: refused with a message');
});

t.test('restarts: a pinned data path is adopted with its connections and counters', { skip }, async (t) => {
  const net = createTestNet(t);
  if (!isBpffs(PIN_ROOT)) {
    mkdirSync(PIN_ROOT, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', PIN_ROOT]);
  }
  const pinDir = `${PIN_ROOT}/test-${process.pid}-${randomBytes(4).toString('hex')}`;
  t.teardown(() => { removePinDir(pinDir); });
  const svc: ServiceKey = { protocol: 'tcp', addr: '203.0.113.30', port: 80 };
  const first = await BpfDatapath.open({ maxConns: 4096, pinDir });
  first.setTxPorts([net.a.ifindex, net.c.ifindex]);
  const table1 = new ServiceTable(first, { maxServices: 64, maxDests: 256 });
  table1.execute({ op: 'add-service', service: ServiceSpec.parse({ ...svc, scheduler: 'wrr' }) });
  for (const [addr, weight] of [[net.v4.rip, 1], [net.v4.rip2, 2]] as const) {
    table1.execute({ op: 'add-dest', key: svc, dest: { addr, port: 80, fwd: 'route', weight, uThreshold: 0, lThreshold: 0 } });
  }
  table1.refillRings();
  const run = async (dp: BpfDatapath, sport: number, flags: string) => native.progTestRun(dp.progFd('xvs_xdp'), {
    data: buildPacket({ eth: { src: '02:00:00:00:00:c1', dst: net.a.mac }, ipv4: { src: '198.51.100.80', dst: svc.addr }, tcp: { sport, dport: 80, flags } }),
    ingressIfindex: net.a.ifindex,
  });
  for (let p = 41000; p < 41006; p++) {
    await run(first, p, 'S');
    await run(first, p, 'A');
  }
  const before = table1.list(svc)[0];
  const snap = JSON.parse(JSON.stringify(table1.snapshot()));
  const conns1 = first.conns().map((c) => [c.cport, c.destId, c.state]).sort();
  first.close(); // the process is gone; the pins keep the maps

  const second = await BpfDatapath.open({ maxConns: 4096, pinDir, adopt: true });
  t.teardown(() => second.close());
  const table2 = new ServiceTable(second, { maxServices: 64, maxDests: 256 });
  table2.adopt(snap);
  t.same(second.conns().map((c) => [c.cport, c.destId, c.state]).sort(), conns1, 'every connection is there, same dest ids and states');
  const after = table2.list(svc)[0];
  t.same(after.dests.map((d) => [d.addr, d.weight, d.activeConns, d.inactConns]), before.dests.map((d) => [d.addr, d.weight, d.activeConns, d.inactConns]), 'same dests, weights and live counts');
  t.equal(after.stats.conns, before.stats.conns, `counters carried over (${after.stats.conns} conns)`);
  // An established connection's next packet (no SYN) still forwards: through the adopted conn table.
  t.ok(forwarded((await run(second, 41003, 'A')).retval), 'an adopted connection forwards');
  t.ok(forwarded((await run(second, 41100, 'S')).retval), 'a new connection is scheduled');
  table2.refillRings();
  t.equal(table2.list(svc)[0].stats.conns, before.stats.conns + 1n, 'and the counters continue');
  t.equal(table2.list(svc)[0].stats.inpkts, before.stats.inpkts + 2n, 'packets too');
  // A second adoption of a different shape is refused before anything is touched.
  await t.rejects(BpfDatapath.open({ maxConns: 8192, pinDir, adopt: true }), { message: /xvs_conns: maxEntries 4096 pinned, 8192 in this object/ },
    'a connection table of another size is refused with the reason');
  t.equal(second.conns().length, conns1.length + 1, 'the refused attempt changed nothing');
});
