// src/health/schema.ts — health check and sorry server configuration (zod schemas = types), shared by the
// config file (src/config), the control socket commands and the checkers. Times are in milliseconds.
import { z } from 'zod';
import { DestKey, ForwardMethod, IpAddress, Port, ServiceKey } from '../model/service.js';

const Common = {
  /** Time between the starts of two checks (keepalived's delay_loop). */
  intervalMs: z.number().int().min(50).max(3_600_000).default(5000),
  /** A check that has not finished by then failed (connect_timeout). */
  timeoutMs: z.number().int().min(10).max(600_000).default(2000),
  /** Consecutive failures that take an up dest down (retry + 1 in keepalived terms). */
  fall: z.number().int().min(1).max(100).default(3),
  /** Consecutive successes that bring a down dest back up. */
  rise: z.number().int().min(1).max(100).default(2),
  /** What to probe; default the dest's RIP and port (for DR/TUN too: the RS answers on its RIP). */
  addr: IpAddress.optional(),
  port: Port.optional(),
};

export const TcpCheck = z.object({ type: z.literal('tcp'), ...Common }).strict();

export const HttpCheck = z.object({
  type: z.enum(['http', 'https']),
  ...Common,
  path: z.string().startsWith('/').max(4096).default('/'),
  /** The Host header; default the probed address. */
  host: z.string().min(1).max(255).optional(),
  /** Status codes that count as success. */
  status: z.array(z.number().int().min(100).max(599)).min(1).max(32).default([200]),
  /** keepalived's `digest`: the MD5 (hex) the body must have. */
  digest: z.string().regex(/^[0-9a-fA-F]{32}$/, 'an MD5 digest is 32 hex digits').transform((s) => s.toLowerCase()).optional(),
  /** Verify the server's TLS certificate (https); off by default, as keepalived's SSL_GET. */
  tlsVerify: z.boolean().default(false),
}).strict();

export const ScriptCheck = z.object({
  type: z.literal('script'),
  ...Common,
  /** argv of the script (no shell). It gets XVS_RS_ADDR/XVS_RS_PORT in its environment. Exit 0 = up. */
  command: z.array(z.string().min(1)).min(1).max(64),
  /** Take the dest's weight from the first line of the script's output (an integer 0..65535) when it succeeds. */
  dynamicWeight: z.boolean().default(false),
}).strict();

export const HealthCheck = z.discriminatedUnion('type', [TcpCheck, HttpCheck, ScriptCheck]);
export type HealthCheck = z.infer<typeof HealthCheck>;
export type HealthCheckInput = z.input<typeof HealthCheck>;

/** What a failing dest becomes: quiesced (weight 0, established connections finish) or removed. */
export const FailureAction = z.enum(['quiesce', 'remove']);
export type FailureAction = z.infer<typeof FailureAction>;

/** A check together with what its failure does. */
export const HealthConfig = z.object({
  check: HealthCheck,
  onFailure: FailureAction.default('quiesce'),
}).strict();
export type HealthConfig = z.infer<typeof HealthConfig>;

/** keepalived's sorry_server: the fallback that answers while no dest of the service is usable. */
export const SorryServer = DestKey.extend({ fwd: ForwardMethod.default('route') }).strict();
export type SorryServer = z.infer<typeof SorryServer>;

/**
 * Health configuration of one virtual service, as the config file holds it: a default check for every
 * dest, per-dest overrides (null = no check for that dest), and an optional sorry server.
 */
export const ServiceHealth = z.object({
  health: HealthConfig.optional(),
  dests: z.array(DestKey.extend({ health: HealthConfig.nullable() }).strict()).max(8192).default([]),
  sorryServer: SorryServer.optional(),
}).strict();
export type ServiceHealth = z.infer<typeof ServiceHealth>;

/** Control socket commands (see src/model/command.ts). */
export const HealthCommands = [
  /** Sets (or with null clears) the check of one dest, or with no dest the service's default check. */
  z.object({ op: z.literal('set-health'), key: ServiceKey, dest: DestKey.optional(), health: HealthConfig.nullable() }),
  /** Sets or clears (null) a service's sorry server. */
  z.object({ op: z.literal('set-sorry-server'), key: ServiceKey, server: SorryServer.nullable() }),
  /** Health state of every checked dest (of one service). */
  z.object({ op: z.literal('health'), key: ServiceKey.optional() }),
] as const;

/** One dest's health as `health` returns it and /metrics exposes it. */
export interface DestHealthStatus {
  service: ServiceKey;
  dest: DestKey;
  check: HealthCheck['type'];
  onFailure: FailureAction;
  up: boolean;
  /** Consecutive results of the current kind (failures while up, successes while down). */
  streak: number;
  /** Weight from a dynamic script check, if any. */
  weight?: number;
  last?: { ok: boolean; message: string; durationMs: number; at: string };
  checks: number;
  failures: number;
  transitions: number;
}
