// test/unit/sched-count.test.ts — lc, wlc, sed, nq, fo, ovf against sequences derived by hand from the
// kernel's ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c, ip_vs_fo.c and ip_vs_ovf.c (list order =
// newest dest first; ties keep the earlier dest because every comparison is strict), driven through
// xvs-sched-replay's engine so the counter bookkeeping is the one the tool uses.
import t from 'tap';
import { replay } from '../../src/replay/main.js';
import { LeastConnection } from '../../src/sched/lc.js';
import { WeightedLeastConnection } from '../../src/sched/wlc.js';
import type { SchedDest } from '../../src/sched/types.js';

/** Runs a scenario and returns the picks as last octets ("none" as null). */
function picks(script: string): (number | null)[] {
  const r = replay(script);
  if (r.code !== 0) throw new Error(r.err);
  return r.out.trim().split('\n').filter((l) => /^(none|\d)/.test(l)).map((l) => (l === 'none' ? null : Number(l.split(':')[0].split('.')[3])));
}
const conns = (n: number, kind = ''): string =>
  Array.from({ length: n }, (_, i) => `conn c${i} from 203.0.113.${i + 1}:${1000 + i} to 192.0.2.100:80 ${kind}`).join('\n');

t.test('lc: least activeconns*256 + inactconns, first in list order on ties', async (t) => {
  // ip_vs_lc_schedule: doh < loh (strict). List after adds: .3 .2 .1. Held-open conns count active (256).
  t.same(picks(`sched lc\ndest 198.51.100.1:80\ndest 198.51.100.2:80\ndest 198.51.100.3:80\n${conns(7)}`), [3, 2, 1, 3, 2, 1, 3]);
  // Half-open (syn) conns stay inactive: overhead 1 each; an active conn (256) outweighs 255 inactive.
  t.same(picks(`sched lc
dest 198.51.100.1:80
dest 198.51.100.2:80
conn a from 203.0.113.1:1 to 192.0.2.100:80
conn b from 203.0.113.2:1 to 192.0.2.100:80 syn
conn c from 203.0.113.3:1 to 192.0.2.100:80 syn
conn d from 203.0.113.4:1 to 192.0.2.100:80 syn`), [2, 1, 1, 1], '.2 has 256, .1 has 1, 2, 3 < 256');
  // lc ignores weight except 0 (quiesced), and skips overloaded dests.
  t.same(picks(`sched lc\ndest 198.51.100.1:80 weight 5\ndest 198.51.100.2:80 weight 0\ndest 198.51.100.3:80\noverload 198.51.100.3:80 on\n${conns(2)}`), [1, 1]);
});

t.test('wlc: overhead/weight by cross-multiplication, strict >', async (t) => {
  // List .2 (w2), .1 (w1). Pick n: compare loh*w(.1) > doh*w(.2) with loh of .2.
  // 1: 0 > 0 no -> .2 | 2: 256*1 > 0 -> .1 | 3: 256 > 512 no -> .2 | 4: 512 > 512 no -> .2 | 5: 768 > 512 -> .1
  t.same(picks(`sched wlc\ndest 198.51.100.1:80 weight 1\ndest 198.51.100.2:80 weight 2\n${conns(9)}`), [2, 1, 2, 2, 1, 2, 2, 1, 2]);
  // weight 0 in the first position is skipped by the first stage; later weight 0 never wins.
  t.same(picks(`sched wlc\ndest 198.51.100.1:80\ndest 198.51.100.2:80 weight 0\n${conns(3)}`), [1, 1, 1]);
  t.same(picks(`sched wlc\ndest 198.51.100.1:80 weight 0\n${conns(1)}`), [null]);
});

t.test('sed: (active + 1) / weight, inactive connections ignored', async (t) => {
  // List .2 (w2), .1 (w1); 1: 1*1 > 1*2 no -> .2 | 2: 2 > 2 no -> .2 | 3: 3 > 2 -> .1 | 4: 3 > 4 no -> .2
  // 5: 4 > 4 no -> .2 | 6: 5 > 4 -> .1
  t.same(picks(`sched sed\ndest 198.51.100.1:80 weight 1\ndest 198.51.100.2:80 weight 2\n${conns(6)}`), [2, 2, 1, 2, 2, 1]);
  t.same(picks(`sched sed\ndest 198.51.100.1:80\ndest 198.51.100.2:80\n${conns(4, 'syn')}`), [2, 2, 2, 2], 'half-open conns are not active');
});

t.test('nq: an idle dest wins at once, else sed', async (t) => {
  // 1: .2 idle | 2: .1 idle | 3: .2 (2*1 > 2*2 no) | 4: 3 > 4 no -> .2 | 5: 4 > 4 no -> .2 | 6: 5 > 4 -> .1
  t.same(picks(`sched nq\ndest 198.51.100.1:80 weight 1\ndest 198.51.100.2:80 weight 2\n${conns(6)}`), [2, 1, 2, 2, 2, 1]);
});

t.test('fo: highest weight, first on ties, overload and weight 0 skipped', async (t) => {
  t.same(picks(`sched fo
dest 198.51.100.1:80 weight 1
dest 198.51.100.2:80 weight 3
dest 198.51.100.3:80 weight 3
${conns(2)}
overload 198.51.100.3:80 on
conn x from 203.0.113.9:9 to 192.0.2.100:80
weight 198.51.100.3:80 0
conn y from 203.0.113.9:10 to 192.0.2.100:80`), [3, 3, 2, 2], 'weight edit clears OVERLOAD (no threshold) but weight 0 is skipped');
});

t.test('ovf: highest weight until active > weight, then the next', async (t) => {
  // List .3 (w2), .2 (w3), .1 (w1): .2 takes 4 (a=0..3), .3 takes 3 (a=0..2), .1 takes 2, then none.
  t.same(picks(`sched ovf\ndest 198.51.100.1:80 weight 1\ndest 198.51.100.2:80 weight 3\ndest 198.51.100.3:80 weight 2\n${conns(10)}`),
    [2, 2, 2, 2, 3, 3, 3, 1, 1, null]);
});

t.test('thresholds: OVERLOAD set at bind, cleared at unbind (3/4 of upper, or below lower)', async (t) => {
  t.same(picks(`sched rr
dest 198.51.100.1:80 uthreshold 2
dest 198.51.100.2:80
conn a from 203.0.113.1:1 to 192.0.2.100:80
conn b from 203.0.113.2:1 to 192.0.2.100:80
conn c from 203.0.113.3:1 to 192.0.2.100:80
conn d from 203.0.113.4:1 to 192.0.2.100:80
conn e from 203.0.113.5:1 to 192.0.2.100:80
expire b
conn f from 203.0.113.6:1 to 192.0.2.100:80
expire d
conn g from 203.0.113.7:1 to 192.0.2.100:80
conn h from 203.0.113.8:1 to 192.0.2.100:80`), [2, 1, 2, 1, 2, 1, 2, 1],
  '.1 overloaded at 2 conns (e skips it); 1*4 < 2*3 after one expiry clears it, f sets it again, d clears it');
  t.same(picks(`sched rr
dest 198.51.100.1:80 uthreshold 3 lthreshold 1
dest 198.51.100.2:80
conn a from 203.0.113.1:1 to 192.0.2.100:80
conn b from 203.0.113.2:1 to 192.0.2.100:80
conn c from 203.0.113.3:1 to 192.0.2.100:80
conn d from 203.0.113.4:1 to 192.0.2.100:80
conn e from 203.0.113.5:1 to 192.0.2.100:80
conn f from 203.0.113.6:1 to 192.0.2.100:80
expire b
conn g from 203.0.113.7:1 to 192.0.2.100:80
expire d
expire f
conn h from 203.0.113.8:1 to 192.0.2.100:80`), [2, 1, 2, 1, 2, 1, 2, 1], 'lower threshold 1: stays overloaded until fewer than 1 conn');
  t.same(picks(`sched rr
dest 198.51.100.1:80
dest 198.51.100.2:80
conn a from 203.0.113.1:1 to 192.0.2.100:80
overload 198.51.100.2:80 on
conn b from 203.0.113.2:1 to 192.0.2.100:80
conn c from 203.0.113.3:1 to 192.0.2.100:80
expire a
conn d from 203.0.113.4:1 to 192.0.2.100:80`), [2, 1, 1, 2], 'manual OVERLOAD without thresholds clears at the next unbind of that dest');
});

t.test('ring mode: each simulated pick counts one inactive connection', async (t) => {
  const list: SchedDest[] = [{ id: 2, weight: 2, overloaded: false }, { id: 1, weight: 1, overloaded: false }];
  const wlc = new WeightedLeastConnection(true);
  // Inactive overheads: 1: 0,0 -> 2 | 2: 1*1 > 0 -> 1 | 3: 1 > 2 no -> 2 | 4: 2 > 2 no -> 2 | 5: 3 > 2 -> 1
  t.same(Array.from({ length: 6 }, () => wlc.schedule(list)?.id), [2, 1, 2, 2, 1, 2]);
  const snap = wlc.snapshot();
  const lc = new LeastConnection(true);
  t.same(Array.from({ length: 4 }, () => lc.schedule(list)?.id), [2, 1, 2, 1]);
  wlc.resetSimulation();
  t.equal(wlc.schedule(list)?.id, 2, 'reset: back to the live counts');
  wlc.restore(snap);
  t.equal(wlc.schedule(list)?.id, 2, 'restored: continues after six picks (3:3 -> .2 since 4 > 6 no)');
});
