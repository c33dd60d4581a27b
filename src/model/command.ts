// src/model/command.ts — the control commands every edge (xvsadm, JSON API) turns input into. Specs
// arrive complete: the edge resolves defaults the way ipvsadm does before building a command.
import { z } from 'zod';
import { DestKey, DestSpec, ServiceKey, ServiceSpec } from './service.js';

export const Command = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add-service'), service: ServiceSpec }),
  z.object({ op: z.literal('edit-service'), service: ServiceSpec }),
  z.object({ op: z.literal('del-service'), key: ServiceKey }),
  z.object({ op: z.literal('clear') }),
  z.object({ op: z.literal('add-dest'), key: ServiceKey, dest: DestSpec }),
  z.object({ op: z.literal('edit-dest'), key: ServiceKey, dest: DestSpec }),
  z.object({ op: z.literal('del-dest'), key: ServiceKey, dest: DestKey }),
  z.object({ op: z.literal('list'), key: ServiceKey.optional() }),
  z.object({ op: z.literal('info') }),
]);
export type Command = z.infer<typeof Command>;
export type CommandOp = Command['op'];
