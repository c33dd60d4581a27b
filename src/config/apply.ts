// src/config/apply.ts — applies a config to the live table by difference, as one atomic batch:
// unchanged services get no command (their connections, rings and counters stay), changed ones are
// edited in place, new ones added, missing ones deleted; a dest that left the config is drained
// (weight 0, so its connections live on and new ones go elsewhere) and removed once it has none.
import { readFileSync } from 'node:fs';
import type { SingleCommand } from '../model/command.js';
import { serviceId, destId, serviceKeyOf, type DestSpec, type FwmarkMatch, type ServiceKey, type ServiceSpec, type ServiceView } from '../model/service.js';
import { XvsError } from '../model/errors.js';
import type { Logger } from '../log/logger.js';
import { parseConfigText, type Config, type ConfigService } from './schema.js';

/** What the applier needs of the service table. */
export interface TablePort {
  list(): ServiceView[];
  applyBatch(cmds: readonly SingleCommand[]): unknown;
}

export interface ApplyPlan {
  commands: SingleCommand[];
  /** Dests left out of the config, drained until their last connection is gone. */
  drained: { key: ServiceKey; addr: string; port: number }[];
}

export interface ApplySummary {
  /** The services the table now holds, as configured (for the health section). */
  services?: ConfigService[];
  added: number;
  edited: number;
  deleted: number;
  destsAdded: number;
  destsEdited: number;
  destsDrained: number;
}

const keyOf = (s: ServiceKey): ServiceKey => serviceKeyOf(s);

const specOf = (s: ConfigService): ServiceSpec => ({
  ...serviceKeyOf(s), scheduler: s.scheduler, persistent: s.persistent, netmask: s.netmask,
  ...(s.onePacket ? { onePacket: true } : {}),
});
const matchId = (m: FwmarkMatch): string => `${m.protocol}:${m.addr}:${m.portLo}-${m.portHi}`;

const destsOf = (s: ConfigService): DestSpec[] =>
  s.dests.map((d) => ({ addr: d.addr, port: d.port ?? s.port, fwd: d.fwd, weight: d.weight, uThreshold: d.uThreshold, lThreshold: d.lThreshold }));

const sameService = (a: ServiceSpec, b: ServiceSpec): boolean =>
  a.scheduler === b.scheduler && a.persistent === b.persistent && a.netmask === b.netmask &&
  Boolean(a.onePacket) === Boolean(b.onePacket);

const sameDest = (a: DestSpec, b: DestSpec): boolean =>
  a.fwd === b.fwd && a.weight === b.weight && a.uThreshold === b.uThreshold && a.lThreshold === b.lThreshold;

/** The commands that turn `current` into `desired`. Pure. */
export function planConfig(
  current: readonly ServiceView[],
  desired: readonly ConfigService[],
  currentLaddrs: ReadonlyMap<string, readonly string[]> = new Map(),
): ApplyPlan & { summary: ApplySummary } {
  const summary: ApplySummary = { added: 0, edited: 0, deleted: 0, destsAdded: 0, destsEdited: 0, destsDrained: 0 };
  const commands: SingleCommand[] = [];
  const drained: ApplyPlan['drained'] = [];
  const now = new Map(current.map((s) => [serviceId(s), s]));
  const wanted = new Set(desired.map((s) => serviceId(s)));
  for (const svc of current) {
    if (!wanted.has(serviceId(svc))) {
      commands.push({ op: 'del-service', key: keyOf(svc) });
      summary.deleted++;
    }
  }
  for (const want of desired) {
    const spec = specOf(want);
    const key = keyOf(spec);
    const have = now.get(serviceId(spec));
    const dests = destsOf(want);
    // FULLNAT local addresses: the config's list is the whole set (added before the dests that use them).
    const haveLaddrs = new Set(have ? currentLaddrs.get(serviceId(spec)) ?? [] : []);
    const wantLaddrs = want.laddrs;
    const laddrCommands: SingleCommand[] = wantLaddrs === undefined ? [] : [
      ...wantLaddrs.filter((a) => !haveLaddrs.has(a)).map((addr): SingleCommand => ({ op: 'add-laddr', key, addr })),
      ...[...haveLaddrs].filter((a) => !wantLaddrs.includes(a)).map((addr): SingleCommand => ({ op: 'del-laddr', key, addr })),
    ];
    // fwmark matches: the whole set when given (deleted ones first, so a match can move between marks)
    if (spec.fwmark && want.matches) {
      const haveMatches = new Map((have?.matches ?? []).map((m) => [matchId(m), m]));
      const wantIds = new Set(want.matches.map(matchId));
      for (const [id, m] of haveMatches) if (!wantIds.has(id)) commands.push({ op: 'del-fwmark-match', key, match: m });
      for (const m of want.matches) if (!haveMatches.has(matchId(m))) laddrCommands.push({ op: 'add-fwmark-match', key, match: m });
    }
    if (!have) {
      commands.push({ op: 'add-service', service: spec }, ...laddrCommands);
      summary.added++;
      for (const d of dests) commands.push({ op: 'add-dest', key, dest: d });
      summary.destsAdded += dests.length;
      continue;
    }
    commands.push(...laddrCommands);
    if (!sameService(have, spec)) {
      commands.push({ op: 'edit-service', service: spec });
      summary.edited++;
    }
    const haveDests = new Map(have.dests.map((d) => [destId(d), d]));
    const wantDests = new Set(dests.map((d) => destId(d)));
    for (const d of dests) {
      const old = haveDests.get(destId(d));
      if (!old) {
        commands.push({ op: 'add-dest', key, dest: d });
        summary.destsAdded++;
      } else if (!sameDest(old, d)) {
        commands.push({ op: 'edit-dest', key, dest: d });
        summary.destsEdited++;
      }
    }
    for (const old of have.dests) {
      if (wantDests.has(destId(old))) continue;
      if (old.weight !== 0) {
        const { addr, port, fwd, uThreshold, lThreshold } = old;
        commands.push({ op: 'edit-dest', key, dest: { addr, port, fwd, uThreshold, lThreshold, weight: 0 } });
        summary.destsDrained++;
      }
      drained.push({ key, addr: old.addr, port: old.port });
    }
  }
  return { commands, drained, summary };
}

/** "add-dest tcp:192.0.2.1:80 -> 198.51.100.1:80" for error messages. */
function describe(cmd: SingleCommand | undefined): string {
  if (!cmd) return 'config';
  if ('service' in cmd) return `${cmd.op} ${serviceId(cmd.service)}`;
  if ('dest' in cmd && 'key' in cmd && cmd.dest) return `${cmd.op} ${serviceId(cmd.key as ServiceKey)} -> ${destId(cmd.dest as DestSpec)}`;
  if ('key' in cmd && cmd.key) return `${cmd.op} ${serviceId(cmd.key as ServiceKey)}`;
  return cmd.op;
}

/** Reads and validates a config file; BAD_REQUEST names the file and the field. */
export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new XvsError('BAD_REQUEST', `${file}: ${(e as Error).message}`);
  }
  return parseConfigText(text, file);
}

/**
 * Holds the draining dests between applies. `resolveRules` turns a config's `rules` file (ipvsadm-save
 * format) into services; the daemon passes one built on xvsadm's restore parser.
 */
export class ConfigApplier {
  private draining: ApplyPlan['drained'] = [];

  constructor(
    private readonly table: TablePort & { execute(cmd: SingleCommand): unknown },
    private readonly log: Logger,
    private readonly resolveRules: (file: string) => Promise<ConfigService[]> = async () => {
      throw new XvsError('EOPNOTSUPP', 'rules files are not supported here');
    },
  ) {}

  /** Applies `config` by difference, all or nothing. */
  async apply(config: Config): Promise<ApplySummary> {
    const desired = config.rules !== undefined ? await this.resolveRules(config.rules) : config.services;
    const laddrs = new Map<string, string[]>();
    try {
      for (const v of this.table.execute({ op: 'list-laddrs' }) as { service: ServiceKey; laddrs: string[] }[]) laddrs.set(serviceId(v.service), v.laddrs);
    } catch {
      // a table without FULLNAT local addresses
    }
    const plan = planConfig(this.table.list(), desired, laddrs);
    if (config.timeouts) plan.commands.push({ op: 'set-timeouts', timeouts: config.timeouts });
    try {
      this.table.applyBatch(plan.commands);
    } catch (e) {
      // Name what the config asked for, not the batch position the user never saw.
      if (e instanceof XvsError && e.index !== undefined) throw new XvsError(e.code, `${describe(plan.commands[e.index])}: ${e.message}`, { cause: e });
      throw e;
    }
    this.draining = plan.drained;
    this.log.info({ ...plan.summary, draining: this.draining.length }, 'config applied');
    this.sweep();
    return { ...plan.summary, services: desired };
  }

  /** Deletes drained dests that have no connection left and are still weight 0; returns how many. */
  sweep(): number {
    if (this.draining.length === 0) return 0;
    const views = new Map(this.table.list().map((s) => [serviceId(s), s]));
    const keep: ApplyPlan['drained'] = [];
    let removed = 0;
    for (const d of this.draining) {
      const dest = views.get(serviceId(d.key))?.dests.find((x) => x.addr === d.addr && x.port === d.port);
      if (!dest || dest.weight !== 0) continue; // gone, or someone gave it weight again: not ours any more
      if (dest.activeConns + dest.inactConns > 0) {
        keep.push(d);
        continue;
      }
      try {
        this.table.execute({ op: 'del-dest', key: d.key, dest: { addr: d.addr, port: d.port } });
        removed++;
        this.log.info({ svc: serviceId(d.key), dest: destId(d) }, 'drained destination removed');
      } catch (e) {
        this.log.warn({ err: e }, 'drained destination removal failed');
      }
    }
    this.draining = keep;
    return removed;
  }

  get drainingCount(): number {
    return this.draining.length;
  }
}
