// test/unit/lblc-table.test.ts — lblc/lblcr's control-plane side on the in-memory datapath: what the table
// programs (the dest list, xvs_dsched weights, wlc's ring), the expiry timer of ip_vs_lblc.c (60 s period,
// full check every 30th run, entries unused for lblc(r)_expiration removed), purge on dest delete, flush on
// -E -s; and the whole split (table + the data path's rules as src/datapath/fake-locality.ts plays them)
// agreeing decision by decision with the replay engine's schedulers (src/sched/lblc.ts).
import t from 'tap';
import { ServiceTable } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { fakeLocalityConn } from '../../src/datapath/fake-locality.js';
import { monotonicNs } from '../../src/datapath/datapath.js';
import { DestSpec, ServiceSpec } from '../../src/model/service.js';
import { SCHED_KIND } from '../../src/datapath/abi.js';
import { createScheduler } from '../../src/sched/index.js';
import { defaultContext } from '../../src/sched/context.js';
import type { SchedDest } from '../../src/sched/types.js';

const S = 1_000_000_000n;
const svc = (scheduler: 'lblc' | 'lblcr' | 'wlc' | 'sh') => ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler });
const dest = (addr: string, weight = 1) => DestSpec.parse({ addr, port: 80, weight });

function setup(scheduler: 'lblc' | 'lblcr', weights: number[] = [1, 1]) {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 4, maxDests: 16 });
  const t0 = monotonicNs();
  table.addService(svc(scheduler));
  weights.forEach((w, i) => table.addDest(svc(scheduler), dest(`198.51.100.${i + 1}`, w)));
  const idOf = (addr: string): number => [...dp.dests].find(([, d]) => d.addr === addr)![0];
  const entry = (daddr: string) => dp.localityEntries().find((e) => e.addr === daddr);
  return { dp, table, t0, idOf, entry };
}

t.test('lblc service: dest list, weights and a wlc ring for the data path', async (t) => {
  const { dp, table, idOf } = setup('lblc', [1, 3]);
  const a = idOf('198.51.100.1');
  const b = idOf('198.51.100.2');
  const tab = dp.schedTables.get(0)!;
  t.equal(tab.kind, SCHED_KIND.lblc);
  t.same([...tab.slots], [b, a], 'the kernel list order: newest first');
  t.same(dp.dsched.get(a), { weight: 1, overloaded: false });
  t.same(dp.dsched.get(b), { weight: 3, overloaded: false });
  // wlc over (b w3, a w1), every pick counted: b, b?, ... the first pick is b (list head, equal overhead 0).
  t.equal(dp.consume(0), b, 'ring decisions are wlc\'s');
  table.editDest(svc('lblc'), dest('198.51.100.2', 0));
  t.same(dp.dsched.get(b), { weight: 0, overloaded: false }, 'weight edits reach xvs_dsched');
  t.equal(dp.consume(0), a, 'and the ring');
});

t.test('lblc: first connection to an address inserts, the next ones follow it', async (t) => {
  const { dp, table, t0, idOf, entry } = setup('lblc');
  const a = idOf('198.51.100.1');
  const b = idOf('198.51.100.2');
  t.equal(fakeLocalityConn(dp, 0, '203.0.113.7', t0), b, 'ring: wlc picks the list head b');
  table.refillRings();
  t.same(entry('203.0.113.7')?.dests, [b]);
  t.equal(fakeLocalityConn(dp, 0, '203.0.113.7', t0), b, 'cached even though a is now less loaded');
  t.equal(fakeLocalityConn(dp, 0, '203.0.113.8', t0), a, 'another address: wlc picks a');
  table.refillRings();
  // Deleting b purges it from the cache: the next connection to .7 reschedules.
  table.deleteDest(svc('lblc'), dest('198.51.100.2'));
  t.equal(entry('203.0.113.7'), undefined, 'entry naming the deleted dest removed');
  t.equal(fakeLocalityConn(dp, 0, '203.0.113.7', t0), a);
});

t.test('expiry: the full check runs at the 30th timer run and removes entries unused for lblc_expiration', async (t) => {
  const { dp, table, t0, entry } = setup('lblc');
  table.lblcExpirationS = 600;
  fakeLocalityConn(dp, 0, '203.0.113.1', t0 + 1000n * S);
  fakeLocalityConn(dp, 0, '203.0.113.2', t0 + 1500n * S);
  t.equal(table.expireLocality(t0 + 1799n * S), 0, 'runs 1..29 only count (table far below max_size)');
  t.ok(entry('203.0.113.1'), 'idle 799 s > 600 s, but no full check yet');
  t.equal(table.expireLocality(t0 + 1801n * S), 1, 'run 30 at 1800 s: full check');
  t.equal(entry('203.0.113.1'), undefined, '.1 unused since 1000 s: 1800 >= 1000 + 600, removed');
  t.ok(entry('203.0.113.2'), '.2 unused since 1500 s: 1800 < 2100, kept');
  fakeLocalityConn(dp, 0, '203.0.113.2', t0 + 3100n * S); // a hit refreshes lastuse
  t.equal(table.expireLocality(t0 + 3601n * S), 0, 'next full check 30 runs later (3600 s): 3600 < 3700, kept');
  t.equal(table.expireLocality(t0 + 5399n * S), 0);
  t.equal(table.expireLocality(t0 + 5401n * S), 1, 'and removed at 5400 s');
  t.equal(dp.localityEntries().length, 0);
});

t.test('lblcr: lblcr_expiration in the table; -E -s flushes the cache and swaps the table', async (t) => {
  const { dp, table, t0 } = setup('lblcr');
  t.equal(dp.schedTables.get(0)?.kind, SCHED_KIND.lblcr);
  t.equal(dp.schedTables.get(0)?.param, 86400, 'lblcr_expiration default: one day');
  fakeLocalityConn(dp, 0, '203.0.113.1', t0);
  t.equal(dp.localityEntries().length, 1);
  table.editService(svc('lblc'));
  t.equal(dp.localityEntries().length, 0, 'lblcr -> lblc: the old table is flushed (done_service)');
  t.equal(dp.schedTables.get(0)?.kind, SCHED_KIND.lblc);
  fakeLocalityConn(dp, 0, '203.0.113.1', t0);
  table.editService(svc('wlc'));
  t.equal(dp.localityEntries().length, 0, 'lblc -> wlc: flushed');
  t.equal(dp.schedTables.get(0), undefined, 'and the service decides from its ring alone');
  table.editService(svc('lblcr'));
  t.equal(dp.schedTables.get(0)?.kind, SCHED_KIND.lblcr, 'wlc -> lblcr: table back');
  table.deleteService(svc('lblcr'));
  t.equal(dp.schedTables.get(0), undefined);
});

/** A deterministic event stream: new connections to a few addresses, establishments, closes, expiries. */
function* scenario(seed: number, n: number): Generator<{ op: 'conn' | 'estab' | 'close' | 'expire'; addr: string; pick: number; dt: number }> {
  let x = seed;
  const rnd = (): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x / 2 ** 32; };
  const ops = ['conn', 'conn', 'conn', 'estab', 'estab', 'close', 'expire'] as const;
  for (let i = 0; i < n; i++) {
    yield { op: ops[Math.floor(rnd() * ops.length)], addr: `203.0.113.${1 + Math.floor(rnd() * 6)}`, pick: rnd(), dt: Math.floor(rnd() * 20) };
  }
}

for (const kind of ['lblc', 'lblcr'] as const) {
  t.test(`${kind}: table + data path rules agree with the replay engine decision by decision`, async (t) => {
    const weights = [3, 1, 2, 1];
    const { dp, table, t0, idOf } = setup(kind, weights);
    table.lblcExpirationS = 120;
    table.lblcrExpirationS = 120;
    // lblcr_expiration is in the data path's table: an edit (same scheduler: no flush) rewrites it.
    table.editService(svc(kind));
    t.equal(dp.schedTables.get(0)?.param, kind === 'lblcr' ? 120 : 0);
    // Events half a second off the timers' whole-minute deadlines (the table's timer started a little
    // after t0, the replay engine's at t0): both run the same deadlines before each event.
    let nowNs = t0;
    const ctx = { ...defaultContext(() => Number((nowNs - t0) / 1_000_000n)), lblcExpirationS: 120, lblcrExpirationS: 120 };
    // The replay engine's view: the same dests, the kernel's list order (newest first), live counts.
    const views: SchedDest[] = weights.map((w, i) => ({ id: idOf(`198.51.100.${i + 1}`), weight: w, overloaded: false, addr: `198.51.100.${i + 1}`, port: 80 })).reverse();
    const ts = createScheduler(kind, views, { ctx }); // its timer starts at t0
    nowNs += S / 2n;
    const open: { id: number; active: boolean }[] = [];
    const mismatches: string[] = [];
    let conns = 0;
    let rescheduled = 0;
    let shrunk = 0;
    const expired = { n: 0 };
    for (const ev of scenario(kind === 'lblc' ? 7 : 11, 1000)) {
      nowNs += BigInt(ev.dt) * S;
      expired.n += table.expireLocality(nowNs);
      if (ev.op === 'conn') {
        for (const v of views) { const c = dp.destCounts(v.id); v.activeConns = c.active; v.inactConns = c.inactive; }
        const want = ts.schedule(views, { saddr: '198.18.0.1', sport: 1000, daddr: ev.addr, dport: 80 });
        const before = dp.localityEntries().find((e) => e.addr === ev.addr)?.dests.length ?? 0;
        const cons = dp.ring(0).consIdx;
        const got = fakeLocalityConn(dp, 0, ev.addr, nowNs);
        const after = dp.localityEntries().find((e) => e.addr === ev.addr)?.dests.length ?? 0;
        if (before > 0 && dp.ring(0).consIdx !== cons) rescheduled++;
        if (after < before) shrunk++;
        conns++;
        if ((want?.id ?? null) !== got) mismatches.push(`conn ${conns} to ${ev.addr}: data path ${got}, replay ${want?.id ?? null}`);
        if (got !== null) open.push({ id: got, active: false });
      } else if (open.length > 0) {
        const i = Math.floor(ev.pick * open.length);
        const c = open[i];
        if (ev.op === 'estab' && !c.active) { dp.adjustDestCounts(c.id, 1, -1); c.active = true; }
        else if (ev.op === 'close' && c.active) { dp.adjustDestCounts(c.id, -1, 1); c.active = false; }
        else if (ev.op === 'expire' && !c.active) { dp.adjustDestCounts(c.id, 0, -1); open.splice(i, 1); }
      }
      // The daemon's refill timer: the ring is resimulated from the live counts.
      table.refillRings();
    }
    t.ok(conns > 100, `${conns} connections`);
    t.ok(rescheduled > 0 && expired.n > 0, `the scenario rejects cached dests (${rescheduled}) and expires entries (${expired.n})`);
    if (kind === 'lblcr') t.ok(shrunk > 0, `sets shrink (${shrunk})`);
    t.same(mismatches, [], 'every decision agrees');
    t.ok(dp.localityEntries().length > 0, 'entries in the cache at the end');
  });
}
