// src/config/schema.ts — the declarative config file of xvsd (JSON), validated whole with zod: the
// daemon's attach settings and the virtual service table. Every error names the field it is about.
import { z } from 'zod';
import { ForwardMethod, FwmarkMatch, IpAddress, Port, Protocol, SchedulerName, Weight, serviceId, destId } from '../model/service.js';
import { XvsError } from '../model/errors.js';
import { HealthConfig, SorryServer, type ServiceHealth } from '../health/schema.js';
import { SyncDaemonSpec } from '../sync/types.js';

export const ConfigDest = z.object({
  addr: IpAddress,
  /** Defaults to the service's port (DR and TUN cannot map ports anyway). */
  port: Port.optional(),
  fwd: ForwardMethod.default('route'),
  weight: Weight.default(1),
  uThreshold: z.number().int().min(0).default(0),
  lThreshold: z.number().int().min(0).default(0),
  /** This dest's own health check (overrides the service's); null = never checked. */
  health: HealthConfig.nullable().optional(),
}).strict();
export type ConfigDest = z.infer<typeof ConfigDest>;

export const ConfigService = z.object({
  protocol: Protocol,
  addr: IpAddress,
  port: Port,
  scheduler: SchedulerName.default('wlc'),
  /** Persistence timeout in seconds (ipvsadm -p), 0 = not persistent. */
  persistent: z.number().int().min(0).default(0),
  netmask: z.string().default('255.255.255.255'),
  /** ipvsadm -o: one-packet scheduling (UDP services). */
  onePacket: z.boolean().optional(),
  dests: z.array(ConfigDest).default([]),
  /** FULLNAT local addresses (xvsadm --add-laddr), the whole set; omitted: left as they are. */
  laddrs: z.array(IpAddress).optional(),
  /** A fwmark service (ipvsadm -f; protocol/addr/port are then tcp, 0.0.0.0 or ::, 0) and its matches. */
  fwmark: z.number().int().min(1).max(0xffffffff).optional(),
  matches: z.array(FwmarkMatch).optional(),
  /** The health check of every dest of the service (keepalived's real_server checkers). */
  health: HealthConfig.optional(),
  /** keepalived's sorry_server: answers while no dest is usable. */
  sorryServer: SorryServer.optional(),
}).strict();
export type ConfigService = z.infer<typeof ConfigService>;

/** The health section of one configured service, in the shape the health manager applies. */
export const serviceHealthOf = (s: ConfigService): ServiceHealth => ({
  health: s.health,
  dests: s.dests.filter((d) => d.health !== undefined).map((d) => ({ addr: d.addr, port: d.port ?? s.port, health: d.health ?? null })),
  sorryServer: s.sorryServer,
});

/**
 * Connection sync between two directors (xvsadm --start-daemon in the file): the daemons to run, at most
 * one master and one backup, and the file holding the shared key that authenticates the messages.
 */
export const ConfigSync = z.object({
  /** A file with the shared key that authenticates sync messages (also: xvsd --sync-key-file, XVS_SYNC_KEY; README). */
  keyFile: z.string().min(1).optional(),
  daemons: z.array(SyncDaemonSpec.strict()).max(2).default([]),
}).strict().superRefine((sync, ctx) => {
  const seen = new Map<string, number>();
  sync.daemons.forEach((d, i) => {
    if (seen.has(d.role)) ctx.addIssue({ code: 'custom', path: ['daemons', i, 'role'], message: `a second ${d.role} sync daemon (also daemons[${seen.get(d.role)}]); at most one master and one backup` });
    seen.set(d.role, i);
  });
});
export type ConfigSync = z.infer<typeof ConfigSync>;

export const Config = z.object({
  /** Interfaces to attach to at start (xvsd --iface wins); a reload does not re-attach. */
  interfaces: z.array(z.string().min(1).max(15)).optional(),
  attach: z.enum(['auto', 'native', 'generic', 'tc']).optional(),
  /** An ipvsadm-save rules file to take the services from, instead of `services`. */
  rules: z.string().min(1).optional(),
  services: z.array(ConfigService).default([]),
  /** ipvsadm --set tcp tcpfin udp (seconds; 0 leaves that one unchanged). */
  timeouts: z.object({ tcp: z.number().int().min(0), tcpfin: z.number().int().min(0), udp: z.number().int().min(0) }).strict().optional(),
  /** Connection sync daemons (HA, see README "Two directors with keepalived"). */
  sync: ConfigSync.optional(),
}).strict().superRefine((cfg, ctx) => {
  if (cfg.rules !== undefined && cfg.services.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['rules'], message: 'give either rules or services, not both' });
  }
  const seen = new Map<string, number>();
  cfg.services.forEach((svc, i) => {
    const id = serviceId(svc);
    if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['services', i], message: `duplicate service ${id} (also services[${seen.get(id)}])` });
    seen.set(id, i);
    const dests = new Set<string>();
    svc.dests.forEach((d, j) => {
      const did = destId({ addr: d.addr, port: d.port ?? svc.port });
      if (dests.has(did)) ctx.addIssue({ code: 'custom', path: ['services', i, 'dests', j], message: `duplicate destination ${did}` });
      dests.add(did);
    });
  });
});
export type Config = z.infer<typeof Config>;

/** "services[0].dests[1].weight" from a zod path. */
export const fieldPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(root)';

/** Validates a parsed config; throws XvsError BAD_REQUEST naming the first bad field. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const r = Config.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new XvsError('BAD_REQUEST', `${source}: ${fieldPath(issue.path)}: ${issue.message}`);
  }
  return r.data;
}

/** Parses the text of a config file (JSON). */
export function parseConfigText(text: string, source = 'config'): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new XvsError('BAD_REQUEST', `${source}: not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, source);
}
