// src/datapath/fake-locality.ts — the data path's lblc/lblcr decision (bpf/include/xvs_lblc.h) played over
// the FakeDatapath, step for step, so control-plane unit tests can run whole scenarios without root.
// test/bpf/lblc.test.ts checks the real object against the same rules.
import { DEST_NONE, LBLC_SET_MAX, SCHED_KIND, afOf, encode } from './abi.js';
import type { FakeDatapath } from './fake-datapath.js';
import type { LocalityEntry } from './datapath.js';

const S = 1_000_000_000n;

/**
 * A new connection to `daddr` of service `svcId` at `nowNs`: returns the dest id the data path forwards
 * it to (the new connection counted inactive, as xvs_conn_open does), or null when it is dropped.
 */
export function fakeLocalityConn(dp: FakeDatapath, svcId: number, daddr: string, nowNs: bigint): number | null {
  const tab = dp.schedTables.get(svcId);
  if (!tab || (tab.kind !== SCHED_KIND.lblc && tab.kind !== SCHED_KIND.lblcr)) throw new Error(`service ${svcId} has no lblc/lblcr table`);
  const weight = (id: number): number => dp.dsched.get(id)?.weight ?? 0;
  const overloadFlag = (id: number): boolean => dp.dsched.get(id)?.overloaded ?? false;
  const active = (id: number): number => dp.destCounts(id).active;
  const overhead = (id: number): number => { const c = dp.destCounts(id); return c.active * 256 + c.inactive; };
  const avail = (id: number): boolean => { const d = dp.dests.get(id); return !!d && d.available && d.svcId === svcId; };
  const isOverloaded = (id: number): boolean =>
    active(id) > weight(id) && [...tab.slots].some((d) => active(d) * 2 < weight(d));

  const keyBuf = encode('xvs_lblc_key', { addr: daddr, svc_id: svcId, af: afOf(daddr) });
  const hex = keyBuf.toString('hex');
  const en = dp.lblcTable.get(hex);
  let id: number | null = null;
  if (en) {
    en.lastUseNs = nowNs;
    if (tab.kind === SCHED_KIND.lblc) {
      const c = en.dests[0];
      if (c !== undefined && avail(c) && weight(c) > 0 && !isOverloaded(c)) id = c;
    } else {
      let best: number | null = null;
      let loh = 0;
      let lw = 0;
      for (const m of en.dests) {
        if (overloadFlag(m)) continue;
        const w = weight(m);
        const oh = overhead(m);
        if (best === null ? w > 0 && avail(m) : loh * w > oh * lw && avail(m)) {
          best = m; loh = oh; lw = w;
        }
      }
      if (en.dests.length > 1 && nowNs > en.lastModNs + BigInt(tab.param ?? 0) * S) {
        let most = -1;
        let moh = 0;
        let mw = 0;
        en.dests.forEach((m, i) => {
          const w = weight(m);
          const oh = overhead(m);
          if (most < 0 ? w > 0 : moh * w < oh * mw && w > 0) { most = i; moh = oh; mw = w; }
        });
        if (most >= 0) {
          en.dests.splice(most, 1);
          en.lastModNs = nowNs;
        }
      }
      if (best !== null && !isOverloaded(best)) id = best;
    }
  }
  if (id === null) {
    const pick = dp.consume(svcId);
    if (pick === DEST_NONE || !avail(pick)) return null;
    id = pick;
    if (!en) {
      const e: LocalityEntry = { key: keyBuf, svcId, addr: daddr, lastUseNs: nowNs, lastModNs: nowNs, dests: [id] };
      dp.lblcTable.set(hex, e);
    } else if (tab.kind === SCHED_KIND.lblc) {
      if (en.dests[0] !== id) {
        en.dests = [id];
        en.lastUseNs = nowNs;
        en.lastModNs = nowNs;
      }
    } else if (!en.dests.includes(id)) {
      en.dests.unshift(id);
      if (en.dests.length > LBLC_SET_MAX) en.dests.length = LBLC_SET_MAX;
      en.lastModNs = nowNs;
    }
  }
  dp.adjustDestCounts(id, 0, 1);
  return id;
}
