// test/unit/sched.test.ts — rr and wrr decisions against sequences derived by hand from the kernel's
// ip_vs_rr.c / ip_vs_wrr.c, including list order (newest dest first) and add/edit/delete behaviour.
import t from 'tap';
import { RoundRobin } from '../../src/sched/rr.js';
import { WeightedRoundRobin } from '../../src/sched/wrr.js';
import type { SchedDest, SequenceScheduler } from '../../src/sched/types.js';

const d = (id: number, weight = 1, overloaded = false): SchedDest => ({ id, weight, overloaded });
const run = (s: SequenceScheduler, dests: SchedDest[], n: number): (number | null)[] =>
  Array.from({ length: n }, () => s.schedule(dests)?.id ?? null);

t.test('rr walks the list from the head, skipping weight 0 and overloaded dests', async (t) => {
  const list = [d(2), d(1), d(3, 0), d(4, 1, true), d(5)];
  t.same(run(new RoundRobin(), list, 7), [2, 1, 5, 2, 1, 5, 2]);
});

t.test('rr with no usable dest returns null and keeps its position', async (t) => {
  const rr = new RoundRobin();
  const list = [d(1), d(2)];
  t.same(run(rr, list, 1), [1]);
  list[0].weight = 0; list[1].weight = 0;
  t.same(run(rr, list, 2), [null, null]);
  list[0].weight = 1; list[1].weight = 1;
  t.same(run(rr, list, 2), [2, 1], 'continues after the last pick');
});

t.test('rr: deleting the current dest moves the position to its predecessor', async (t) => {
  const rr = new RoundRobin();
  const list = [d(3), d(2), d(1)];
  t.same(run(rr, list, 2), [3, 2]);
  const removed = list.splice(1, 1)[0];
  rr.onDelete(list, removed, 1);
  t.same(run(rr, list, 3), [1, 3, 1], 'next after 3 (the predecessor of 2) is 1');
  const first = list.splice(0, 1)[0]; // 3 is at the head; position (1) unaffected
  rr.onDelete(list, first, 0);
  t.same(run(rr, list, 2), [1, 1]);
});

t.test('rr: deleting the head dest when it is current returns to the list head', async (t) => {
  const rr = new RoundRobin();
  const list = [d(3), d(2), d(1)];
  t.same(run(rr, list, 1), [3]);
  const removed = list.splice(0, 1)[0];
  rr.onDelete(list, removed, 0);
  t.same(run(rr, list, 3), [2, 1, 2]);
});

t.test('wrr: 3:2:1 gives the kernel interleaving', async (t) => {
  // list order (newest first): C=3 (w3), B=2 (w2), A=1 (w1)
  const list = [d(3, 3), d(2, 2), d(1, 1)];
  t.same(run(new WeightedRoundRobin(list), list, 12), [3, 3, 2, 3, 2, 1, 3, 3, 2, 3, 2, 1]);
});

t.test('wrr: gcd step (4:2 behaves as 2:1)', async (t) => {
  const list = [d(1, 4), d(2, 2)];
  t.same(run(new WeightedRoundRobin(list), list, 6), [1, 1, 2, 1, 1, 2]);
});

t.test('wrr: equal weights behave as rr', async (t) => {
  const list = [d(2, 5), d(1, 5)];
  t.same(run(new WeightedRoundRobin(list), list, 4), [2, 1, 2, 1]);
});

t.test('wrr: all weights 0 → no dest', async (t) => {
  const list = [d(1, 0), d(2, 0)];
  t.same(run(new WeightedRoundRobin(list), list, 2), [null, null]);
});

t.test('wrr: overloaded dests are skipped; all overloaded → null', async (t) => {
  const list = [d(1, 2), d(2, 1, true)];
  const w = new WeightedRoundRobin(list);
  t.same(run(w, list, 3), [1, 1, 1]);
  list[0].overloaded = true;
  t.same(run(w, list, 1), [null]);
});

t.test('wrr: a weight change resets to the list head and re-derives cw (dest_changed)', async (t) => {
  const list = [d(2, 1), d(1, 1)];
  const w = new WeightedRoundRobin(list);
  t.same(run(w, list, 1), [2]);
  list[1].weight = 3; // ipvsadm -e -w 3 on dest 1: di=1, mw=3; cw was 1 -> stays 1 (di == 1)
  w.onUpdate(list);
  // cw=1, from the head: 2 (w1 >= 1); then 1; then wrap: cw=0 -> mw=3: 1, cw=2: 1, cw=1: 2, 1 ...
  t.same(run(w, list, 6), [2, 1, 1, 1, 2, 1]);
});

t.test('wrr: snapshot/restore replays the same decisions', async (t) => {
  const list = [d(3, 3), d(2, 2), d(1, 1)];
  const w = new WeightedRoundRobin(list);
  run(w, list, 4);
  const snap = w.snapshot();
  const a = run(w, list, 5);
  w.restore(snap);
  t.same(run(w, list, 5), a);
});
