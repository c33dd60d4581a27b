// test/bpf/storm.test.ts — a bounded new-connection storm (bench/syn-storm.ts: SYNs from distinct sources
// generated in BPF_PROG_TEST_RUN live frames into the real xvs_xdp, the real ServiceTable refilling rings
// every 5 ms as xvsd does) never exhausts a wlc service's decision ring, and mh (a bucket table, no ring)
// takes a flat-out storm; every SYN becomes a new connection and is forwarded. The same storm with the
// refills stopped does exhaust the ring, by exactly the decisions it lacked: the counter can go up.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createTestNet, isRoot } from '../fixtures/bpf-harness.js';
import { SynStorm, REFILL_PERIOD_MS, type StormResult } from '../../bench/syn-storm.js';
import { RING_SLOTS } from '../../src/datapath/abi.js';

/**
 * wlc's storm rate. bench:sched finds the highest rate with no underflow at 39-76k new connections/s
 * (medians; 20-93k per round) on a busy 2-vCPU machine (BENCHMARKS.md): the bound is the refill loop's
 * lateness, rate × its longest gap must stay under the ring's 1024 slots. The suite runs two test files
 * at once, so the test offers 20k/s: a full ring then lasts 51 ms, ten refill periods.
 */
const WLC_RATE = 20_000;

if (!isRoot()) {
  t.plan(0, 'needs root (BPF_PROG_TEST_RUN live frames, veth, neighbours)');
} else {
  t.setTimeout(60_000);
  const net = createTestNet(t);
  // Five real servers on the test net's first /28, neighbours resolved (they go with the link).
  const last = Number(net.v4.rip.split('.')[3]);
  const prefix = net.v4.rip.split('.').slice(0, 3).join('.');
  const rips = [net.v4.rip, ...[2, 3, 4, 5].map((k) => `${prefix}.${last - 10 + k}`)];
  for (const [i, rip] of rips.slice(1).entries()) {
    execFileSync('ip', ['neigh', 'replace', rip, 'lladdr', `02:00:00:00:0b:0${i + 1}`, 'dev', net.a.name, 'nud', 'permanent']);
  }
  const storm = await SynStorm.open({ ifindex: net.a.ifindex, mac: net.a.mac }, { maxConns: 1 << 18 });
  t.teardown(() => storm.close());
  const show = (r: StormResult): string =>
    `${r.connNew} new connections at ${(r.perSecond / 1e3).toFixed(1)}k/s, ${r.underflows} underflows, ` +
    `refill ${r.refills}× (longest gap ${r.refillMaxGapMs.toFixed(1)} ms), other reasons ${JSON.stringify(r.other)}`;

  t.test(`wlc at ${WLC_RATE / 1e3}k new connections/s with the refill loop: no underflow, every SYN forwarded`, async (t) => {
    storm.use({ scheduler: 'wlc', rips, weights: [1, 2, 3, 1, 2] });
    // Up to 4 s for the 20k SYNs the check below wants: the generator is paced by the clock but only
    // runs while it has the CPU, and the suite runs two files at once (2 s once offered 18.5k).
    let r = await storm.run({ seconds: 4, maxSyns: 2 * WLC_RATE, rate: WLC_RATE, refill: true });
    t.comment(show(r));
    // A machine that stalls the refill loop for longer than a ring lasts (the loop was late, not wrong:
    // rate × gap > RING_SLOTS) gets one more storm; underflows with a punctual loop fail at once.
    if (r.underflows > 0 && (r.refillMaxGapMs / 1e3) * WLC_RATE > RING_SLOTS) {
      t.comment(`the refill loop was starved for ${r.refillMaxGapMs.toFixed(1)} ms: once more`);
      storm.use({ scheduler: 'wlc', rips, weights: [1, 2, 3, 1, 2] });
      r = await storm.run({ seconds: 4, maxSyns: 2 * WLC_RATE, rate: WLC_RATE, refill: true });
      t.comment(show(r));
    }
    t.ok(r.offered >= WLC_RATE, `a storm of at least ${WLC_RATE} SYNs (${r.offered})`);
    t.equal(r.underflows, 0, 'XVS_R_RING_EXHAUSTED stays 0');
    t.equal(r.connNew, r.offered, 'every SYN is a new connection');
    t.equal(r.fwdTx, r.offered, 'every SYN forwarded (XDP_TX)');
    t.same(r.other, {}, 'nothing dropped or passed');
    t.ok(r.refills >= 2 && r.refillDecisions >= r.connNew - RING_SLOTS, `the loop refilled what was taken (${r.refillDecisions} decisions)`);
    // Half-open connections count inactive: wlc keeps inactive/weight level, so each real server holds
    // its weight's share (within the ring's look-ahead).
    const dests = storm.table.snapshot().services[0].dests;
    const counts = dests.map((d) => storm.dp.destCounts(d.id).inactive);
    const total = counts.reduce((a, b) => a + b, 0);
    const weightSum = dests.reduce((a, d) => a + d.spec.weight, 0);
    t.equal(total, r.connNew, 'the data path counted every connection on its dest');
    t.ok(dests.every((d, i) => Math.abs(counts[i] - (total * d.spec.weight) / weightSum) <= RING_SLOTS),
      `connections by weight ${dests.map((d) => d.spec.weight).join(':')}: ${counts.join(' ')}`);
  });

  t.test('the same storm with the refills stopped exhausts the ring by exactly what it lacked', async (t) => {
    storm.table.refillRings(); // a full ring: RING_SLOTS decisions ahead
    const r = await storm.run({ seconds: 1, maxSyns: 4 * RING_SLOTS, rate: WLC_RATE, refill: false });
    t.comment(show(r));
    t.ok(r.connNew > RING_SLOTS, `more SYNs than the ring holds (${r.connNew})`);
    t.equal(r.underflows, r.connNew - RING_SLOTS, `XVS_R_RING_EXHAUSTED counts the ${r.connNew - RING_SLOTS} beyond the ring`);
    t.equal(r.fwdTx, r.offered, 'still forwarded (a stale decision names a live dest)');
  });

  t.test(`mh flat out: no ring, no underflow, every SYN forwarded (refill loop every ${REFILL_PERIOD_MS} ms)`, async (t) => {
    storm.use({ scheduler: 'mh', rips, weights: [1, 2, 3, 1, 2] });
    const r = await storm.run({ seconds: 1, maxSyns: 400_000, refill: true });
    t.comment(show(r));
    t.ok(r.offered >= 10_000, `a storm of ${r.offered} SYNs`);
    t.equal(r.underflows, 0, 'XVS_R_RING_EXHAUSTED stays 0');
    t.equal(r.connNew, r.offered, 'every SYN is a new connection');
    t.equal(r.fwdTx, r.offered, 'every SYN forwarded');
    t.same(r.other, {}, 'nothing dropped or passed');
  });
}
