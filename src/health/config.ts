// src/health/config.ts — applies a service's health section of the config file (schema: ServiceHealth in
// schema.ts): the sorry server goes to the service table, the checks to the health manager. Idempotent,
// so a reload with the same section changes nothing and running checks keep their state.
import type { DestSpec, ServiceKey } from '../model/service.js';
import type { HealthManager } from './manager.js';
import type { ServiceHealth } from './schema.js';

/** What this needs of the service table (ServiceTable implements it). */
export interface SorryTable {
  setSorryServer(key: ServiceKey, server: DestSpec | null): void;
}

/** Applies `cfg` (undefined: no checks, no sorry server) to the service `key`, which must exist. */
export function applyServiceHealth(table: SorryTable, health: HealthManager, key: ServiceKey, cfg: ServiceHealth | undefined): void {
  const sorry = cfg?.sorryServer;
  table.setSorryServer(key, sorry ? { addr: sorry.addr, port: sorry.port, fwd: sorry.fwd, weight: 1, uThreshold: 0, lThreshold: 0 } : null);
  health.replaceService(key, cfg?.health ?? null, cfg?.dests ?? []);
}
