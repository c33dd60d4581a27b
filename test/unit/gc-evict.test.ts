// test/unit/gc-evict.test.ts — EvictionTracker's two rules on a scripted table (the real LRU is exercised in
// test/bpf/evict.test.ts): a key that vanished between sweeps is taken back on the counter it had; a dest
// whose counters moved while the table was dumped is not recounted (its excess waits for a quiet dump);
// a quiet dest's excess over the dump is taken back, inactive first, never below the dump or zero.
import t from 'tap';
import { EvictionTracker, sweepConnections } from '../../src/control/gc.js';
import type { ConnEntry, Datapath } from '../../src/datapath/datapath.js';

const LONG = { tcp: 100_000, tcpfin: 100_000, udp: 100_000 };

function conn(n: number, destId: number, inactive: boolean): ConnEntry {
  const key = Buffer.alloc(40);
  key.writeUInt32BE(n);
  return {
    key, protocol: 'tcp', caddr: '192.0.2.1', cport: n, vaddr: '203.0.113.1', vport: 80, lastSeenNs: 1n, createdNs: 1n,
    destId, svcId: 0, state: inactive ? 3 : 1, inactive,
  } as ConnEntry;
}

/** A table and counters; `duringDump` runs while conns() is being read (the data path at work). */
function scripted(): { dp: Datapath; table: Map<number, ConnEntry>; counts: number[][]; duringDump?: () => void } {
  const table = new Map<number, ConnEntry>();
  const counts = [[0, 0], [0, 0], [0, 0]];
  const s: { dp: Datapath; table: Map<number, ConnEntry>; counts: number[][]; duringDump?: () => void } = { table, counts, dp: undefined as unknown as Datapath };
  s.dp = {
    destCounts: (id: number) => ({ active: counts[id][0], inactive: counts[id][1] }),
    adjustDestCounts: (id: number, a: number, i: number) => { counts[id][0] += a; counts[id][1] += i; },
    conns: () => { s.duringDump?.(); return [...table.values()]; },
    conn: (key: Buffer) => table.get(key.readUInt32BE(0)) ?? null,
    deleteConn: (key: Buffer) => table.delete(key.readUInt32BE(0)),
  } as unknown as Datapath;
  return s;
}

/** The data path opening a connection: in the table and counted. */
function open(s: ReturnType<typeof scripted>, n: number, destId: number, inactive: boolean): void {
  s.table.set(n, conn(n, destId, inactive));
  s.counts[destId][inactive ? 1 : 0]++;
}

t.test('a vanished key is taken back on the counter it had, even while its dest is busy', async (t) => {
  const s = scripted();
  const tr = new EvictionTracker(3);
  open(s, 1, 0, false);
  open(s, 2, 0, true);
  open(s, 3, 1, false);
  sweepConnections(s.dp, 10n, LONG, tr);
  t.same(s.counts, [[1, 1], [1, 0], [0, 0]], 'first sweep: nothing to settle');
  s.table.delete(1); // evicted
  s.table.delete(3); // evicted
  // Dest 0 is busy during the next dump: a new connection opens there, so no recount for it.
  s.duringDump = () => { open(s, 4, 0, false); s.duringDump = undefined; };
  sweepConnections(s.dp, 10n, LONG, tr);
  t.same(s.counts, [[1, 1], [0, 0], [0, 0]], 'both evictions settled: dest 0 keeps 4 and 2, dest 1 is empty');
  t.equal(tr.evicted, 2);
});

t.test('opened and evicted between sweeps: recounted once the dest is quiet', async (t) => {
  const s = scripted();
  const tr = new EvictionTracker(3);
  open(s, 1, 2, false);
  sweepConnections(s.dp, 10n, LONG, tr);
  // A flood: 5 half-open connections on dest 2, all evicted before any sweep saw them.
  for (let n = 10; n < 15; n++) { open(s, n, 2, true); s.table.delete(n); }
  // The next dump is busy on dest 2 (one more opens): nothing may be recounted there yet.
  s.duringDump = () => { open(s, 20, 2, false); s.duringDump = undefined; };
  sweepConnections(s.dp, 10n, LONG, tr);
  t.same(s.counts[2], [2, 5], 'busy during the dump: left alone');
  sweepConnections(s.dp, 10n, LONG, tr);
  t.same(s.counts[2], [2, 0], 'quiet: the 5 evicted half-open connections taken back');
  t.equal(tr.evicted, 5);
});

t.test('recount takes inactive first, never below the dump', async (t) => {
  const s = scripted();
  const tr = new EvictionTracker(3);
  open(s, 1, 0, false);
  open(s, 2, 0, true);
  // Counters 3 active / 1 inactive, table 1 / 1: excess 2, all of it active (the dump has the inactive one).
  s.counts[0] = [3, 1];
  sweepConnections(s.dp, 10n, LONG, tr);
  t.same(s.counts[0], [1, 1]);
  // A counter below the table (not an eviction's doing) is not raised.
  s.counts[1] = [0, 0];
  open(s, 3, 1, false);
  s.counts[1] = [0, 0];
  sweepConnections(s.dp, 10n, LONG, tr);
  t.same(s.counts[1], [0, 0], 'never raised');
});
