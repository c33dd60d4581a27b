// src/metrics/rate.ts — IPVS's rate estimator (net/netfilter/ipvs/ip_vs_est.c): every 2 seconds each
// counter's delta feeds an EWMA with weight 1/4; cps/pps are kept scaled by 2^10, bps by 2^5, and read
// back rounded. The same numbers feed `xvsadm -L --rate` and the Prometheus rate gauges.
import { destId, serviceId, zeroRates, type Rates, type ServiceView, type Stats } from '../model/service.js';

/** The kernel's estimation period. */
export const ESTIMATOR_INTERVAL_MS = 2000;

const U64 = (1n << 64n) - 1n;

interface Estimator {
  last: Stats;
  /** Scaled averages: cps/inpps/outpps × 2^10, inbps/outbps × 2^5 (signed arithmetic as the kernel's s64). */
  cps: bigint;
  inpps: bigint;
  outpps: bigint;
  inbps: bigint;
  outbps: bigint;
}

/** `avg += (rate - avg) >> 2` with an arithmetic shift (BigInt >> floors, like s64 >> on two's complement). */
const ewma = (avg: bigint, rate: bigint): bigint => avg + ((rate - avg) >> 2n);

/**
 * Rate estimators keyed by a caller's identity (e.g. `svc:tcp:192.0.2.100:80`). `tick()` is called every
 * ESTIMATOR_INTERVAL_MS with the current counters of every live key; keys not seen in a tick are dropped.
 */
export class RateEstimator {
  private readonly est = new Map<string, Estimator>();

  /** One estimation round (ip_vs_estimation). A key seen for the first time starts at rate 0 (ip_vs_zero_estimator). */
  tick(current: Iterable<[string, Stats]>): void {
    const seen = new Set<string>();
    for (const [key, s] of current) {
      seen.add(key);
      const e = this.est.get(key);
      if (!e || s.conns < e.last.conns || s.inpkts < e.last.inpkts || s.outpkts < e.last.outpkts ||
        s.inbytes < e.last.inbytes || s.outbytes < e.last.outbytes) {
        // New, or its counters were zeroed (-Z, a reused slot): start over from the current values.
        this.est.set(key, { last: { ...s }, cps: 0n, inpps: 0n, outpps: 0n, inbps: 0n, outbps: 0n });
        continue;
      }
      // "scaled by 2^10, but divided 2 seconds": delta << 9 for counts, delta << 4 for bytes (2^5 / 2).
      e.cps = ewma(e.cps, ((s.conns - e.last.conns) << 9n) & U64);
      e.inpps = ewma(e.inpps, ((s.inpkts - e.last.inpkts) << 9n) & U64);
      e.outpps = ewma(e.outpps, ((s.outpkts - e.last.outpkts) << 9n) & U64);
      e.inbps = ewma(e.inbps, ((s.inbytes - e.last.inbytes) << 4n) & U64);
      e.outbps = ewma(e.outbps, ((s.outbytes - e.last.outbytes) << 4n) & U64);
      e.last = { ...s };
    }
    for (const key of this.est.keys()) if (!seen.has(key)) this.est.delete(key);
  }

  /** Decoded rates (ip_vs_read_estimator): per second, rounded to nearest. Unknown keys read as zero. */
  read(key: string): Rates {
    const e = this.est.get(key);
    if (!e) return zeroRates();
    const pos = (v: bigint): bigint => (v < 0n ? 0n : v);
    return {
      cps: pos((e.cps + 0x1ffn) >> 10n),
      inpps: pos((e.inpps + 0x1ffn) >> 10n),
      outpps: pos((e.outpps + 0x1ffn) >> 10n),
      inbps: pos((e.inbps + 0xfn) >> 5n),
      outbps: pos((e.outbps + 0xfn) >> 5n),
    };
  }

  get size(): number {
    return this.est.size;
  }
}

/** Estimator keys of a service and of a dest inside it. */
export const svcRateKey = (svcId: string): string => `svc|${svcId}`;
export const destRateKey = (svcId: string, destId: string): string => `dest|${svcId}|${destId}`;

/** Ticks `est` with the counters of every service and dest in `views` (hidden dests included). */
export function tickEstimator(est: RateEstimator, views: readonly ServiceView[]): void {
  const rows: [string, Stats][] = [];
  for (const s of views) {
    const sid = serviceId(s);
    rows.push([svcRateKey(sid), s.stats]);
    for (const d of s.dests) rows.push([destRateKey(sid, destId(d)), d.stats]);
  }
  est.tick(rows);
}

/** `views` with their rates filled in from `est` (for `list`, so `xvsadm -L --rate` prints them). */
export function withRates(est: RateEstimator, views: readonly ServiceView[]): ServiceView[] {
  return views.map((s) => {
    const sid = serviceId(s);
    return { ...s, rates: est.read(svcRateKey(sid)), dests: s.dests.map((d) => ({ ...d, rates: est.read(destRateKey(sid, destId(d))) })) };
  });
}
