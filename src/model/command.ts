// src/model/command.ts — the control commands every edge (xvsadm, JSON API) turns input into. Specs
// arrive complete: the edge resolves defaults the way ipvsadm does before building a command.
import { z } from 'zod';
import { DestKey, DestSpec, FwmarkMatch, IpAddress, ServiceKey, ServiceSpec } from './service.js';
import { HealthCommands } from '../health/schema.js';
import { SyncDaemonSpec } from '../sync/types.js';

const SINGLE_COMMANDS = [
  z.object({ op: z.literal('add-service'), service: ServiceSpec }),
  z.object({ op: z.literal('edit-service'), service: ServiceSpec }),
  z.object({ op: z.literal('del-service'), key: ServiceKey }),
  z.object({ op: z.literal('clear') }),
  z.object({ op: z.literal('add-dest'), key: ServiceKey, dest: DestSpec }),
  z.object({ op: z.literal('edit-dest'), key: ServiceKey, dest: DestSpec }),
  z.object({ op: z.literal('del-dest'), key: ServiceKey, dest: DestKey }),
  z.object({ op: z.literal('list'), key: ServiceKey.optional() }),
  z.object({ op: z.literal('info') }),
  /** ipvsadm -Z: zero the counters of one service (and its dests) or of all. */
  z.object({ op: z.literal('zero'), key: ServiceKey.optional() }),
  /** xvs's fwmark matching (xvsadm --add-fwmark-match/--del-fwmark-match): which packets a -f service gets. */
  z.object({ op: z.literal('add-fwmark-match'), key: ServiceKey, match: FwmarkMatch }),
  z.object({ op: z.literal('del-fwmark-match'), key: ServiceKey, match: FwmarkMatch }),
  /** FULLNAT local addresses of a service (xvsadm --add-laddr/-P, --del-laddr/-Q, --get-laddr/-G). */
  z.object({ op: z.literal('add-laddr'), key: ServiceKey, addr: IpAddress }),
  z.object({ op: z.literal('del-laddr'), key: ServiceKey, addr: IpAddress }),
  z.object({ op: z.literal('list-laddrs'), key: ServiceKey.optional() }),
  /** Health checks and sorry servers (src/health/schema.ts): set-health, set-sorry-server, health. */
  ...HealthCommands,
  /** ipvsadm --set tcp tcpfin udp (seconds; 0 leaves that one unchanged), -L --timeout, -L -c. */
  z.object({ op: z.literal('set-timeouts'), timeouts: z.object({ tcp: z.number().int().min(0), tcpfin: z.number().int().min(0), udp: z.number().int().min(0) }) }),
  z.object({ op: z.literal('get-timeouts') }),
  z.object({ op: z.literal('list-conns') }),
  /** ipvsadm --start-daemon master|backup [--mcast-interface IF] [--syncid N] ...; --stop-daemon
   * master|backup; -L --daemon (list-sync returns SyncDaemonSpec[] in the order master, backup). */
  z.object({ op: z.literal('start-sync'), spec: SyncDaemonSpec }),
  z.object({ op: z.literal('stop-sync'), role: z.enum(['master', 'backup']) }),
  z.object({ op: z.literal('list-sync') }),
] as const;

/** Any command but a batch. */
export const SingleCommand = z.discriminatedUnion('op', [...SINGLE_COMMANDS]);
export type SingleCommand = z.infer<typeof SingleCommand>;

export const Command = z.discriminatedUnion('op', [
  ...SINGLE_COMMANDS,
  /** ipvsadm -R, config apply, API: the commands apply in order, all or none (validated on a copy first). */
  z.object({ op: z.literal('batch'), commands: z.array(SingleCommand).max(1_000_000) }),
  /** Config apply (diff against the live table); `config` is validated by src/config's schema. */
  z.object({ op: z.literal('apply-config'), config: z.unknown() }),
  /** Re-reads xvsd's --config file and applies it (as SIGHUP does). */
  z.object({ op: z.literal('reload') }),
  /** `xvsd stop [--keep-forwarding]` / `xvsd --takeover`: the daemon exits; with keepForwarding its
   * programs stay attached and its maps pinned for the next xvsd to adopt. */
  z.object({ op: z.literal('shutdown'), keepForwarding: z.boolean().default(false) }),
]);
export type Command = z.infer<typeof Command>;
export type CommandOp = Command['op'];
