// src/sched/wrr.ts — weighted round robin exactly as net/netfilter/ipvs/ip_vs_wrr.c, including the
// "mw reduced by di - 1" pass bound and the last-pass/restart rules, and dest_changed() on every
// add/delete/update, which resets the position to the list head and re-derives cw.
import type { SchedDest, SequenceScheduler } from './types.js';

interface WrrState {
  cl: number | null; // id of the current dest; null = the list head
  cw: number;
  mw: number;
  di: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function gcdWeight(dests: readonly SchedDest[]): number {
  let g = 0;
  for (const d of dests) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  return g || 1;
}

const maxWeight = (dests: readonly SchedDest[]): number => dests.reduce((m, d) => Math.max(m, d.weight), 0);

export class WeightedRoundRobin implements SequenceScheduler<WrrState> {
  readonly name = 'wrr';
  private s: WrrState;

  /** init_service: position at the head, cw = mw. */
  constructor(dests: readonly SchedDest[]) {
    const di = gcdWeight(dests);
    const mw = maxWeight(dests) - (di - 1);
    this.s = { cl: null, cw: mw, mw, di };
  }

  schedule(dests: readonly SchedDest[]): SchedDest | null {
    const s = this.s;
    const n = dests.length;
    const posOf = (id: number | null): number => (id === null ? -1 : dests.findIndex((d) => d.id === id));
    let pos = posOf(s.cl);
    if (s.mw === 0) return null; // err_noavail: cl stays where it is
    const lastPos = pos;
    let stop: number | null = null;
    let lastPass = false;
    let restarted = false;
    // The kernel loops until it finds a dest or proves there is none; the bounds below only guard
    // against a list that changed under us (the kernel's own termination rules come first).
    for (let guard = 0; guard < 2 * (s.mw / s.di + 2) * (n + 1) + 4; guard++) {
      for (let i = pos + 1; i < n; i++) {
        const d = dests[i];
        if (!d.overloaded && d.weight >= s.cw) {
          s.cl = d.id;
          return d;
        }
        if (stop !== null && i === stop) {
          s.cl = d.id; // err_over: mark->cl = dest
          return null;
        }
      }
      pos = -1; // the inner walk ended at the list head
      s.cw -= s.di;
      if (s.cw <= 0) {
        s.cw = s.mw;
        if (lastPass || lastPos === -1) {
          s.cl = null; // err_over with dest at the head
          return null;
        }
        restarted = true;
      }
      lastPass = s.cw <= s.di;
      if (lastPass && restarted && lastPos !== -1) stop = lastPos;
    }
    s.cl = null;
    return null;
  }

  private changed(dests: readonly SchedDest[]): void {
    const s = this.s;
    s.cl = null;
    s.di = gcdWeight(dests);
    s.mw = maxWeight(dests) - (s.di - 1);
    if (s.cw > s.mw || !s.cw) s.cw = s.mw;
    else if (s.di > 1) s.cw = Math.trunc(s.cw / s.di) * s.di + 1;
  }

  onAdd(dests: readonly SchedDest[]): void {
    this.changed(dests);
  }

  onDelete(dests: readonly SchedDest[]): void {
    this.changed(dests);
  }

  onUpdate(dests: readonly SchedDest[]): void {
    this.changed(dests);
  }

  snapshot(): WrrState {
    return { ...this.s };
  }

  restore(state: WrrState): void {
    this.s = { ...state };
  }
}
