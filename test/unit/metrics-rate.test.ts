// test/unit/metrics-rate.test.ts — the IPVS rate estimator: the kernel's scaled EWMA (weight 1/4 per 2 s
// round, cps/pps × 2^10, bps × 2^5, rounded reads), worked out by hand here, plus resets and pruning.
import t from 'tap';
import { RateEstimator, svcRateKey, destRateKey, tickEstimator, withRates } from '../../src/metrics/rate.js';
import { zeroRates, type ServiceView, type Stats } from '../../src/model/service.js';

const stats = (conns: number, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0): Stats => ({
  conns: BigInt(conns), inpkts: BigInt(inpkts), outpkts: BigInt(outpkts), inbytes: BigInt(inbytes), outbytes: BigInt(outbytes),
});

t.test('first round seeds, later rounds average the 2 s deltas with weight 1/4', async (t) => {
  const est = new RateEstimator();
  est.tick([['a', stats(1000, 5000, 0, 1_000_000)]]);
  t.same(est.read('a'), { cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n }, 'a new key reads zero');
  // +100 conns in 2 s = 50/s; one round holds a quarter: scaled 100<<9 = 51200, avg 12800 → (12800+511)>>10 = 12.
  // +400 packets = 200/s → 204800/4 = 51200 → (51200+511)>>10 = 50. +1e6 bytes = 500000 B/s → (1e6<<4)/4 = 4e6 → (4e6+15)>>5 = 125000.
  est.tick([['a', stats(1100, 5400, 0, 2_000_000)]]);
  t.same(est.read('a'), { cps: 12n, inpps: 50n, outpps: 0n, inbps: 125000n, outbps: 0n });
  // Second round, same deltas: avg += (51200 - 12800) >> 2 = 9600 → 22400 → (22400+511)>>10 = 22.
  est.tick([['a', stats(1200, 5800, 0, 3_000_000)]]);
  t.equal(est.read('a').cps, 22n);
  t.equal(est.read('a').inpps, 87n, '51200 + 38400 = 89600 = 87.5 × 1024: +0x1FF rounds an exact half down');
  t.equal(est.read('a').inbps, 218750n, '4e6 + 3e6 = 7e6 → 7e6/32 = 218750');
});

t.test('a steady rate converges to the true per-second value; silence decays to 0', async (t) => {
  const est = new RateEstimator();
  let c = 0;
  for (let i = 0; i < 60; i++, c += 200) est.tick([['s', stats(c, 2 * c, c, 100 * c, 50 * c)]]);
  t.same(est.read('s'), { cps: 100n, inpps: 200n, outpps: 100n, inbps: 10000n, outbps: 5000n });
  for (let i = 0; i < 60; i++) est.tick([['s', stats(c, 2 * c, c, 100 * c, 50 * c)]]);
  t.same(est.read('s'), { cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n });
});

t.test('counters going backwards (zeroed, reused slot) restart the estimator; absent keys are dropped', async (t) => {
  const est = new RateEstimator();
  est.tick([['a', stats(0)], ['b', stats(0)]]);
  est.tick([['a', stats(400)], ['b', stats(400)]]);
  t.equal(est.read('a').cps, 50n);
  est.tick([['a', stats(10)]]);
  t.equal(est.read('a').cps, 0n, 'reset reads zero');
  t.equal(est.size, 1, 'b was not in the round: forgotten');
  t.equal(est.read('b').cps, 0n);
  est.tick([['a', stats(410)]]);
  t.equal(est.read('a').cps, 50n, 'starts over from the new baseline');
});

t.test('tickEstimator/withRates key services and dests by identity', async (t) => {
  const view = (conns: number): ServiceView[] => [{
    protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255',
    stats: stats(conns),
    dests: [{ addr: '192.0.2.11', port: 80, fwd: 'route', weight: 1, uThreshold: 0, lThreshold: 0, activeConns: 0, inactConns: 0, persistConns: 0, stats: stats(conns / 2) }],
  }];
  const est = new RateEstimator();
  tickEstimator(est, view(0));
  tickEstimator(est, view(800));
  t.equal(est.read(svcRateKey('tcp:192.0.2.100:80')).cps, 100n);
  t.equal(est.read(destRateKey('tcp:192.0.2.100:80', '192.0.2.11:80')).cps, 50n);
  const out = withRates(est, view(800));
  t.equal(out[0].rates?.cps, 100n);
  t.equal(out[0].dests[0].rates?.cps, 50n);
  t.same(withRates(new RateEstimator(), view(2))[0].rates, zeroRates(), 'unknown → zero rates');
});
