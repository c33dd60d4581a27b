// test/unit/sched-ring.test.ts — the counting schedulers (lc, wlc, sed, nq, fo, ovf) and thresholds
// through the service table's decision rings on the in-memory datapath: the data path's side is played
// by consuming a decision and counting the new connection as the BPF code does (inactconns + 1, then
// activeconns on establishment), and the sequence must equal xvs-sched-replay's for the same events.
import t from 'tap';
import { ServiceTable, thresholdOverload } from '../../src/control/table.js';
import { FakeDatapath } from '../../src/datapath/fake-datapath.js';
import { DestSpec, ServiceSpec, type SchedulerName } from '../../src/model/service.js';
import { DEST_NONE } from '../../src/datapath/abi.js';
import { replay } from '../../src/replay/main.js';

const svc = (scheduler: SchedulerName) => ServiceSpec.parse({ protocol: 'tcp', addr: '192.0.2.100', port: 80, scheduler });
const dest = (addr: string, over: Partial<DestSpec> = {}) => DestSpec.parse({ addr, port: 80, ...over });

/** Plays `n` new connections through the ring; `establish` moves each to active right away. */
function ringPicks(scheduler: SchedulerName, dests: DestSpec[], n: number, establish: boolean, refillEvery = 1): string[] {
  const dp = new FakeDatapath();
  const table = new ServiceTable(dp, { maxServices: 2, maxDests: 8 });
  table.addService(svc(scheduler));
  for (const d of dests) table.addDest(svc(scheduler), d);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = dp.consume(0);
    if (id === DEST_NONE) { out.push('none'); continue; }
    out.push(`${dp.dests.get(id)!.addr}:80`);
    dp.adjustDestCounts(id, 0, 1); // xvs_conn_open: a new connection is inactive (SYN_RECV)
    if (establish) dp.adjustDestCounts(id, 1, -1); // the client's ACK: ESTABLISHED
    if ((i + 1) % refillEvery === 0) table.refillRings();
  }
  return out;
}

function replayPicks(scheduler: SchedulerName, dests: DestSpec[], n: number, establish: boolean): string[] {
  const lines = [`sched ${scheduler}`, ...dests.map((d) => `dest ${d.addr}:80 weight ${d.weight} uthreshold ${d.uThreshold} lthreshold ${d.lThreshold}`)];
  for (let i = 0; i < n; i++) lines.push(`conn c${i} from 203.0.113.${(i % 250) + 1}:${1024 + i} to 192.0.2.100:80${establish ? '' : ' syn'}`);
  const r = replay(lines.join('\n'));
  if (r.code !== 0) throw new Error(r.err);
  return r.out.trim().split('\n');
}

const weights = [dest('198.51.100.1', { weight: 1 }), dest('198.51.100.2', { weight: 3 }), dest('198.51.100.3', { weight: 2 })];

for (const scheduler of ['lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'rr', 'wrr'] as const) {
  t.test(`${scheduler}: the ring gives xvs-sched-replay's sequence`, async (t) => {
    // Refilled after every connection: the ring is re-simulated from the live counters each time.
    t.same(ringPicks(scheduler, weights, 40, true), replayPicks(scheduler, weights, 40, true), 'established connections');
    // Half-open connections are what the simulation assumes: exact even with refills far apart.
    t.same(ringPicks(scheduler, weights, 300, false, 97), replayPicks(scheduler, weights, 300, false), 'half-open, refilled every 97');
  });
}

t.test('thresholds through the ring: OVERLOAD from the live counters', async (t) => {
  const ds = [dest('198.51.100.1', { uThreshold: 3 }), dest('198.51.100.2', { uThreshold: 2, lThreshold: 1 })];
  t.same(ringPicks('rr', ds, 12, true), replayPicks('rr', ds, 12, true));
  t.same(ringPicks('wlc', ds, 8, false, 3), replayPicks('wlc', ds, 8, false), 'the simulation sets OVERLOAD at bind');
});

t.test('thresholdOverload follows ip_vs_bind_dest/ip_vs_unbind_dest', async (t) => {
  t.equal(thresholdOverload(false, 4, 4, 0), true, 'reaching the upper threshold sets it');
  t.equal(thresholdOverload(true, 3, 4, 0), true, '3*4 >= 4*3: still set');
  t.equal(thresholdOverload(true, 2, 4, 0), false, 'below 3/4 of the upper threshold clears it');
  t.equal(thresholdOverload(true, 1, 4, 1), true, 'with a lower threshold: stays until below it');
  t.equal(thresholdOverload(true, 0, 4, 1), false);
  t.equal(thresholdOverload(true, 9, 0, 0), false, 'no thresholds: cleared');
  t.equal(thresholdOverload(false, 3, 4, 0), false);
});
