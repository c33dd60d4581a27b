// src/netns/names.ts — naming rules for test topologies: every namespace and link carries a short,
// unique prefix so parallel runs never collide and leftovers are recognisable.
import { randomBytes } from 'node:crypto';

/** The kernel's limit for interface names (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

/** A fresh random prefix such as `xv3fa2-` (7 characters, leaving 8 for the interface's own name). */
export const randomPrefix = (): string => `xv${randomBytes(2).toString('hex')}-`;

/** Prefixes: a letter, then letters, digits, `_` or `-`; at most 8 characters. */
export const isValidPrefix = (prefix: string): boolean => /^[a-z][a-z0-9_-]{0,7}$/i.test(prefix);

export function checkIfname(name: string): string {
  if (name.length === 0 || name.length > IFNAME_MAX || /[\s/:]/.test(name)) {
    throw new Error(`invalid interface name '${name}' (1..${IFNAME_MAX} characters, no blanks, '/' or ':')`);
  }
  return name;
}
