// src/replay/script.ts — the xvs-sched-replay scenario language, parsed and validated line by line into
// typed steps (zod at the edge): one command per line, `#` comments, blank lines ignored.
import net from 'node:net';
import { z } from 'zod';
import { SchedulerName } from '../model/service.js';
import { SCHED_FLAG_NAMES } from '../sched/context.js';

export interface Endpoint { addr: string; port: number }

export type Step =
  | { op: 'sched'; name: SchedulerName }
  | { op: 'dest'; ep: Endpoint; weight: number; u: number; l: number }
  | { op: 'del'; ep: Endpoint }
  | { op: 'weight'; ep: Endpoint; weight: number }
  | { op: 'thresholds'; ep: Endpoint; u: number; l: number }
  | { op: 'overload'; ep: Endpoint; on: boolean }
  | { op: 'flags'; flags: number }
  | { op: 'resched'; name: SchedulerName }
  | { op: 'option'; name: 'lblc_expiration' | 'lblcr_expiration'; seconds: number }
  | { op: 'conn'; id: string; from: Endpoint; to: Endpoint; kind: 'tcp' | 'syn' | 'udp' }
  | { op: 'estab' | 'close' | 'expire'; id: string }
  | { op: 'tick'; seconds: number }
  | { op: 'list' };

export class ScriptError extends Error {}

const Uint = z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(0).max(2 ** 31 - 1));
const WeightArg = z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(0).max(65535));
const Seconds = z.string().regex(/^\d+(\.\d+)?$/).transform(Number);
const Id = z.string().regex(/^[A-Za-z0-9_.:-]+$/);

function endpoint(s: string | undefined): Endpoint {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(s ?? '');
  if (!m || !net.isIPv4(m[1]) || Number(m[2]) > 65535) throw new ScriptError(`expected IPv4 IP:PORT, got '${s ?? ''}'`);
  return { addr: m[1], port: Number(m[2]) };
}

function parseArg<T>(schema: z.ZodType<T>, s: string | undefined, what: string): T {
  const r = schema.safeParse(s ?? '');
  if (!r.success) throw new ScriptError(`bad ${what} '${s ?? ''}'`);
  return r.data;
}

function scheduler(s: string | undefined): SchedulerName {
  const r = SchedulerName.safeParse(s);
  if (!r.success) throw new ScriptError(`unknown scheduler '${s ?? ''}'`);
  return r.data;
}

function expectArgs(words: string[], min: number, max: number): void {
  if (words.length - 1 < min || words.length - 1 > max) throw new ScriptError(`'${words[0]}' takes ${min === max ? min : `${min} to ${max}`} argument(s)`);
}

/** One line to a step, or null for blank/comment lines. */
export function parseLine(line: string): Step | null {
  const text = line.replace(/#.*$/, '').trim();
  if (!text) return null;
  const w = text.split(/\s+/);
  switch (w[0]) {
    case 'sched': expectArgs(w, 1, 1); return { op: 'sched', name: scheduler(w[1]) };
    case 'resched': expectArgs(w, 1, 1); return { op: 'resched', name: scheduler(w[1]) };
    case 'dest': {
      if (w.length < 2 || w.length % 2 !== 0) throw new ScriptError("usage: dest IP:PORT [weight W] [uthreshold U] [lthreshold L]");
      const step = { op: 'dest' as const, ep: endpoint(w[1]), weight: 1, u: 0, l: 0 };
      const seen = new Set<string>();
      for (let i = 2; i < w.length; i += 2) {
        if (seen.has(w[i])) throw new ScriptError(`'${w[i]}' given twice`);
        seen.add(w[i]);
        if (w[i] === 'weight') step.weight = parseArg(WeightArg, w[i + 1], 'weight');
        else if (w[i] === 'uthreshold') step.u = parseArg(Uint, w[i + 1], 'uthreshold');
        else if (w[i] === 'lthreshold') step.l = parseArg(Uint, w[i + 1], 'lthreshold');
        else throw new ScriptError(`unknown dest option '${w[i]}'`);
      }
      return step;
    }
    case 'del': expectArgs(w, 1, 1); return { op: 'del', ep: endpoint(w[1]) };
    case 'weight': expectArgs(w, 2, 2); return { op: 'weight', ep: endpoint(w[1]), weight: parseArg(WeightArg, w[2], 'weight') };
    case 'thresholds':
      expectArgs(w, 3, 3);
      return { op: 'thresholds', ep: endpoint(w[1]), u: parseArg(Uint, w[2], 'uthreshold'), l: parseArg(Uint, w[3], 'lthreshold') };
    case 'overload':
      expectArgs(w, 2, 2);
      if (w[2] !== 'on' && w[2] !== 'off') throw new ScriptError(`overload takes on|off, got '${w[2]}'`);
      return { op: 'overload', ep: endpoint(w[1]), on: w[2] === 'on' };
    case 'flags': {
      expectArgs(w, 1, 1);
      if (w[1] === 'none') return { op: 'flags', flags: 0 };
      let flags = 0;
      for (const f of w[1].split(',')) {
        const bit = SCHED_FLAG_NAMES[f];
        if (bit === undefined) throw new ScriptError(`unknown scheduler flag '${f}'`);
        flags |= bit;
      }
      return { op: 'flags', flags };
    }
    case 'option':
      expectArgs(w, 2, 2);
      if (w[1] !== 'lblc_expiration' && w[1] !== 'lblcr_expiration') throw new ScriptError(`unknown option '${w[1]}'`);
      return { op: 'option', name: w[1], seconds: parseArg(Uint, w[2], 'seconds') };
    case 'conn': {
      expectArgs(w, 5, 6);
      if (w[2] !== 'from' || w[4] !== 'to') throw new ScriptError('usage: conn ID from CIP:CPORT to VIP:VPORT [syn|udp]');
      const kind = w[6] ?? 'tcp';
      if (w[6] !== undefined && kind !== 'syn' && kind !== 'udp') throw new ScriptError(`conn kind must be syn or udp, got '${kind}'`);
      return { op: 'conn', id: parseArg(Id, w[1], 'connection id'), from: endpoint(w[3]), to: endpoint(w[5]), kind: kind as 'tcp' | 'syn' | 'udp' };
    }
    case 'estab': case 'close': case 'expire':
      expectArgs(w, 1, 1);
      return { op: w[0], id: parseArg(Id, w[1], 'connection id') };
    case 'tick': expectArgs(w, 1, 1); return { op: 'tick', seconds: parseArg(Seconds, w[1], 'seconds') };
    case 'list': expectArgs(w, 0, 0); return { op: 'list' };
    default: throw new ScriptError(`unknown command '${w[0]}'`);
  }
}
