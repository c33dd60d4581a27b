// src/config/rules.ts — an ipvsadm-save rules file as config services: parsed line by line with
// xvsadm's own restore parser, then played onto a scratch table so the result is exactly what -R
// would build (defaults, ports of DR dests, errors naming the line).
import { readFileSync } from 'node:fs';
import { ServiceTable } from '../control/table.js';
import { FakeDatapath } from '../datapath/fake-datapath.js';
import { XvsError, isXvsError } from '../model/errors.js';
import { parseRestore } from '../cli/restore.js';
import { CliExit } from '../cli/messages.js';
import type { NameResolver } from '../cli/names.js';
import type { ConfigService } from './schema.js';

export async function rulesToServices(file: string, resolver: NameResolver): Promise<ConfigService[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new XvsError('BAD_REQUEST', `${file}: ${(e as Error).message}`);
  }
  let batch;
  try {
    batch = await parseRestore(text, { program: 'xvsd', resolver });
  } catch (e) {
    if (e instanceof CliExit) throw new XvsError('BAD_REQUEST', `${file}: ${e.stderr.trimEnd()}`);
    throw e;
  }
  const scratch = new ServiceTable(new FakeDatapath(), { maxServices: 1 << 16, maxDests: 1 << 20 });
  try {
    scratch.applyBatch(batch.commands);
  } catch (e) {
    if (isXvsError(e) && e.index !== undefined) throw new XvsError('BAD_REQUEST', `${file}: line ${batch.lines[e.index]}: ${e.message}`);
    throw e;
  }
  return scratch.list().map((s) => ({
    protocol: s.protocol, addr: s.addr, port: s.port, scheduler: s.scheduler, persistent: s.persistent, netmask: s.netmask,
    ...(s.fwmark ? { fwmark: s.fwmark, matches: s.matches ?? [] } : {}),
    ...(s.onePacket ? { onePacket: true } : {}),
    ...(s.laddrs?.length ? { laddrs: [...s.laddrs] } : {}),
    // the kernel lists the newest dest first; the config lists them in the order they were added
    dests: [...s.dests].reverse().map((d) => ({ addr: d.addr, port: d.port, fwd: d.fwd, weight: d.weight, uThreshold: d.uThreshold, lThreshold: d.lThreshold })),
  }));
}
