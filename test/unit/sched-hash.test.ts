// test/unit/sched-hash.test.ts — sh, dh and mh against the kernel's tables and hashes: bucket fill from
// ip_vs_sh_reassign() (weight consecutive buckets, at least one) and ip_vs_dh_reassign() (one each),
// hash_32() and hsiphash() values computed independently (a separate Python SipHash-1-3 written from
// the algorithm, see the constants' comments), mh's weight proportions and minimal disruption.
import t from 'tap';
import { addrFold, hash32, hsiphashU32 } from '../../src/sched/hash.js';
import { shTable, shHashKey, SourceHashing } from '../../src/sched/sh.js';
import { dhTable, dhHashKey } from '../../src/sched/dh.js';
import { mhTable, MH_KEY1, MH_KEY2, MH_TAB_SIZE, mhHashKey } from '../../src/sched/mh.js';
import { defaultContext, SCHED_F_1, SCHED_F_2 } from '../../src/sched/context.js';
import type { SchedDest } from '../../src/sched/types.js';
import { replay } from '../../src/replay/main.js';

const d = (id: number, weight = 1, extra: Partial<SchedDest> = {}): SchedDest => ({ id, weight, overloaded: false, ...extra });

t.test('hash primitives match independently computed values', async (t) => {
  t.equal(addrFold('192.0.2.1'), 0xc0000201);
  t.equal(addrFold('2001:db8::1'), (0x20010db8 ^ 0 ^ 0 ^ 1) >>> 0, 'IPv6 words xor-ed');
  t.equal(addrFold('::ffff:192.0.2.1'), (0x0000ffff ^ 0xc0000201) >>> 0);
  // hash_32(v, 8) = (v * 0x61C88647 mod 2^32) >> 24
  t.equal(hash32(0xc0000201, 8), 50);
  t.equal(hash32(0xc0000202, 8), 148);
  t.equal(hash32((0xcb007107 + 1234) >>> 0, 8), 213);
  // SipHash-1-3, 64-bit keys {2654435761, 2654435761} / {2654446892, 2654446892}, 4-byte LE message.
  t.equal(hsiphashU32(0, MH_KEY1, MH_KEY1), 492468162);
  t.equal(hsiphashU32(1, MH_KEY1, MH_KEY1), 384591538);
  t.equal(hsiphashU32(0xc0000201, MH_KEY1, MH_KEY1), 2458426504);
  t.equal(hsiphashU32(0xc0000201, MH_KEY2, MH_KEY2), 3338568677);
  t.equal(hsiphashU32(0xc633645b, MH_KEY1, MH_KEY1), 2979843388, '198.51.100.11 + port 80');
  t.equal(hsiphashU32(0xc633645b, MH_KEY2, MH_KEY2), 2462355338);
});

t.test('sh: weight fills consecutive buckets in list order; weight 0 still takes one', async (t) => {
  const table = shTable([d(2, 2), d(1, 1)]);
  t.same(table.slice(0, 7), [2, 2, 1, 2, 2, 1, 2]);
  t.equal(table.length, 256);
  t.same(shTable([d(3, 0), d(4, 3)]).slice(0, 8), [3, 4, 4, 4, 3, 4, 4, 4]);
  t.ok(shTable([]).every((x) => x === null));
  // 192.0.2.1 -> bucket 50 (50 % 3 = 2 -> dest 1); 192.0.2.2 -> 148 (148 % 3 = 1 -> dest 2)
  t.equal(shHashKey('192.0.2.1', 0, 0), 50);
  const ctx = defaultContext();
  const list = [d(2, 2), d(1, 1)];
  const sh = new SourceHashing(list, ctx);
  const pkt = (saddr: string, sport = 0) => ({ saddr, sport, daddr: '192.0.2.100', dport: 80 });
  t.equal(sh.schedule(list, pkt('192.0.2.1'))?.id, 1);
  t.equal(sh.schedule(list, pkt('192.0.2.2'))?.id, 2);
  list[1].overloaded = true;
  t.equal(sh.schedule(list, pkt('192.0.2.1')), null, 'overloaded bucket dest: no dest');
  ctx.flags = SCHED_F_1;
  // fallback: offsets 0.. from ihash=50: hashkey(offset 50) = (50 + 50) & 255 = 100 -> 100 % 3 = 1 -> dest 2
  t.equal(sh.schedule(list, pkt('192.0.2.1'))?.id, 2, 'sh-fallback walks on');
  list[1].overloaded = false;
  ctx.flags = SCHED_F_2;
  t.equal(shHashKey('203.0.113.7', 1234, 0), 213);
  t.equal(sh.schedule(list, pkt('203.0.113.7', 1234))?.id, 2, 'sh-port: bucket 213 (213 % 3 = 0)');
});

t.test('dh: one bucket per dest, cyclic; hash of the destination address', async (t) => {
  t.same(dhTable([d(3, 5), d(2, 1), d(1, 0)]).slice(0, 6), [3, 2, 1, 3, 2, 1]);
  t.equal(dhHashKey('192.0.2.1'), 50);
  const r = replay(`sched dh
dest 198.51.100.1:80
dest 198.51.100.2:80
dest 198.51.100.3:80
conn a from 203.0.113.1:1 to 192.0.2.1:80
conn b from 203.0.113.2:1 to 192.0.2.2:80
weight 198.51.100.2:80 0
conn c from 203.0.113.3:1 to 192.0.2.2:80`);
  // list .3 .2 .1; bucket 50 % 3 = 2 -> .1; 192.0.2.2 -> 148 % 3 = 1 -> .2; weight 0 -> none
  t.equal(r.out, '198.51.100.1:80\n198.51.100.2:80\nnone\n');
});

t.test('mh: the lookup table', async (t) => {
  const one = mhTable([d(7, 1, { addr: '198.51.100.11', port: 80 })]);
  t.ok(one.every((x) => x === 7), 'a single dest owns every slot');
  t.equal(mhHashKey('198.51.100.11', 80, MH_KEY1, 0) % MH_TAB_SIZE, 226, 'its first preferred slot (offset)');
  t.equal((mhHashKey('198.51.100.11', 80, MH_KEY2, 0) % (MH_TAB_SIZE - 1)) + 1, 2523, 'its skip');
  t.equal(mhHashKey('192.0.2.1', 0, MH_KEY1, 0) % MH_TAB_SIZE, 2891, 'client 192.0.2.1 indexes slot 2891');
  t.ok(mhTable([d(1, 0, { addr: '198.51.100.1', port: 80 })]).every((x) => x === null), 'no weight: empty table');

  // Weights 3:1 -> turns 3:1 -> 3/4 and 1/4 of the slots (to within one round).
  const table = mhTable([d(1, 3, { addr: '198.51.100.1', port: 80 }), d(2, 1, { addr: '198.51.100.2', port: 80 })]);
  const n1 = table.filter((x) => x === 1).length;
  t.ok(Math.abs(n1 - (MH_TAB_SIZE * 3) / 4) <= 3, `dest 1 holds ${n1} of ${MH_TAB_SIZE}`);
  t.equal(table.filter((x) => x === null).length, 0);

  // A dest at weight 0 keeps its slots (mh fills by last_weight) but is skipped at lookup.
  const dests = [d(1, 0, { addr: '198.51.100.1', port: 80, lastWeight: 1 }), d(2, 1, { addr: '198.51.100.2', port: 80 })];
  t.ok(mhTable(dests).some((x) => x === 1), 'quiesced dest keeps its slots');
});

t.test('mh property: removing one of N dests moves few other keys', async (t) => {
  const N = 8;
  const all = Array.from({ length: N }, (_, i) => d(i + 1, 1, { addr: `198.51.100.${i + 1}`, port: 80 }));
  const before = mhTable(all);
  const after = mhTable(all.filter((x) => x.id !== 4));
  let moved = 0;
  let kept = 0;
  for (let i = 0; i < MH_TAB_SIZE; i++) {
    if (before[i] === 4) continue;
    kept++;
    if (before[i] !== after[i]) moved++;
  }
  t.ok(moved / kept < 0.1, `only ${moved} of ${kept} slots of the remaining dests moved`);
  t.ok(after.every((x) => x !== 4 && x !== null));
});

t.test('mh via replay: same client, same dest; mh-fallback when quiesced', async (t) => {
  const r = replay(`sched mh
dest 198.51.100.1:80
dest 198.51.100.2:80
dest 198.51.100.3:80
conn a from 192.0.2.1:1000 to 192.0.2.100:80
conn b from 192.0.2.1:2000 to 192.0.2.100:80
conn c from 192.0.2.9:1000 to 192.0.2.100:80`);
  const lines = r.out.trim().split('\n');
  t.equal(lines[0], lines[1], 'source port ignored without mh-port');
  const first = lines[0];
  const r2 = replay(`sched mh
dest 198.51.100.1:80
dest 198.51.100.2:80
dest 198.51.100.3:80
weight ${first} 0
conn a from 192.0.2.1:1000 to 192.0.2.100:80
flags mh-fallback
conn b from 192.0.2.1:1000 to 192.0.2.100:80`);
  const l2 = r2.out.trim().split('\n');
  t.equal(l2[0], 'none', 'quiesced slot without fallback');
  t.not(l2[1], 'none');
  t.not(l2[1], first);
});

t.test('data path tables: sh-fallback precomputed per bucket equals the kernel walk', async (t) => {
  const { schedTable } = await import('../../src/sched/tables.js');
  const { DEST_NONE, SLOT_UNAVAIL } = await import('../../src/datapath/abi.js');
  const ctx = { ...defaultContext(), flags: SCHED_F_1 | SCHED_F_2 };
  const list = [d(4, 1), d(3, 0), d(2, 2), d(1, 1, { overloaded: true })];
  const sh = new SourceHashing(list, ctx);
  const tab = schedTable(sh, list, ctx.flags)!;
  const mismatches: string[] = [];
  for (let i = 0; i < 500; i++) {
    const pkt = { saddr: `198.18.${i % 256}.${(i * 7) % 256}`, sport: 1000 + i, daddr: '192.0.2.1', dport: 80 };
    const want = sh.schedule(list, pkt)?.id ?? DEST_NONE;
    const slot = tab.slots[shHashKey(pkt.saddr, pkt.sport, 0)];
    if (slot !== want) mismatches.push(`${pkt.saddr}:${pkt.sport} table ${slot} walk ${want}`);
  }
  t.same(mismatches, [], '500 clients');
  const plain = schedTable(new SourceHashing(list, defaultContext()), list, 0)!;
  t.ok(plain.slots.some((s) => s === ((3 | SLOT_UNAVAIL) >>> 0)), 'without fallback a quiesced dest is marked, not resolved');
});

t.test('the service table writes, updates and removes hash tables', async (t) => {
  const { ServiceTable } = await import('../../src/control/table.js');
  const { FakeDatapath } = await import('../../src/datapath/fake-datapath.js');
  const { ServiceSpec, DestSpec } = await import('../../src/model/service.js');
  const { SCHED_KIND, SLOT_UNAVAIL } = await import('../../src/datapath/abi.js');
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 2, maxDests: 8 });
  const spec = ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler: 'sh' });
  table.addService(spec);
  table.addDest(spec, DestSpec.parse({ addr: '198.51.100.1', port: 80, weight: 1 }));
  table.addDest(spec, DestSpec.parse({ addr: '198.51.100.2', port: 80, weight: 2 }));
  const tab = dp.schedTables.get(0)!;
  t.equal(tab.kind, SCHED_KIND.sh);
  t.same([...tab.slots.slice(0, 3)], [1, 1, 0], 'newest dest (id 1, weight 2) first');
  table.editDest(spec, DestSpec.parse({ addr: '198.51.100.2', port: 80, weight: 0 }));
  t.same([...dp.schedTables.get(0)!.slots.slice(0, 3)], [(1 | SLOT_UNAVAIL) >>> 0, 0, (1 | SLOT_UNAVAIL) >>> 0], 'weight 0: one bucket, marked');
  table.editService({ ...spec, scheduler: 'mh', schedFlags: 3 });
  t.equal(dp.schedTables.get(0)!.kind, SCHED_KIND.mh);
  t.equal(dp.schedTables.get(0)!.flags, 3);
  t.equal(dp.schedTables.get(0)!.slots.length, MH_TAB_SIZE);
  table.editService({ ...spec, scheduler: 'rr' });
  t.notOk(dp.schedTables.has(0), 'a ring scheduler needs no table');
  table.editService({ ...spec, scheduler: 'dh' });
  table.deleteService(spec);
  t.notOk(dp.schedTables.has(0), 'removed with the service');
});

t.test('-Ln prints the scheduler flags as ipvsadm does', async (t) => {
  const { serviceEntry, DEFAULT_LIST_FORMAT, NO_NAMES } = await import('../../src/cli/format.js');
  const view = (scheduler: 'sh' | 'mh' | 'rr', schedFlags: number) => ({
    protocol: 'tcp' as const, addr: '192.0.2.1', port: 80, scheduler, persistent: 0, netmask: '255.255.255.255',
    schedFlags, dests: [], stats: { conns: 0n, inpkts: 0n, outpkts: 0n, inbytes: 0n, outbytes: 0n },
  });
  const fmt = { ...DEFAULT_LIST_FORMAT, numeric: true };
  t.equal(serviceEntry(view('sh', 3), fmt, NO_NAMES), 'TCP  192.0.2.1:80 sh (sh-fallback,sh-port)\n');
  t.equal(serviceEntry(view('mh', 2), fmt, NO_NAMES), 'TCP  192.0.2.1:80 mh (mh-port)\n');
  t.equal(serviceEntry(view('rr', 5), fmt, NO_NAMES), 'TCP  192.0.2.1:80 rr (flag-1,flag-3)\n');
  t.equal(serviceEntry(view('sh', 0), fmt, NO_NAMES), 'TCP  192.0.2.1:80 sh\n');
});
