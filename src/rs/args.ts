// src/rs/args.ts — the command line of xvs-rs, validated once at the edge: argv → RsCommand or a usage
// message. Nothing here touches the system, so a bad command line changes nothing.
import { parseArgs } from 'node:util';
import net from 'node:net';
import { z } from 'zod';
import { IpAddress, canonicalIp } from '../model/service.js';

export { canonicalIp };

export const USAGE = `Usage:
  xvs-rs up --vip ADDR [--vip ADDR ...] [--mode dr|tun]
                                          put the VIPs on lo and set the ARP/rp_filter sysctls (DR);
                                          --mode tun also attaches the IPIP/IP6IP6 decapsulation
                                          program (tc ingress) to every interface but lo
  xvs-rs down                             undo exactly what 'up' did in this network namespace
  xvs-rs status [--json]                  show what xvs-rs changed in this network namespace
  xvs-rs --help

ADDR is an IPv4 or IPv6 address (no prefix length): IPv4 VIPs go on lo as /32, IPv6 as /128.
State is kept per network namespace in $XVS_RS_STATE_DIR (default /run/xvs-rs).`;


/** A VIP a real server may hold on lo: unicast, not unspecified, not loopback. */
export const Vip = IpAddress.transform(canonicalIp).refine(
  (a) => {
    if (net.isIPv4(a)) {
      const first = Number(a.split('.')[0]);
      return a !== '0.0.0.0' && first !== 127 && first < 224;
    }
    return a !== '::' && a !== '::1' && !/^ff/i.test(a) && !/^fe[89ab]/i.test(a);
  },
  { message: 'must be a unicast address (not unspecified, loopback, link-local or multicast)' },
);

export const RsCommand = z.discriminatedUnion('cmd', [
  z.object({
    cmd: z.literal('up'), vips: z.array(Vip).min(1, 'up needs at least one --vip'),
    /** dr (default) or tun: the real server of an LVS-TUN service also decapsulates. */
    mode: z.enum(['dr', 'tun'], { message: "--mode must be 'dr' or 'tun'" }).optional(),
  }),
  z.object({ cmd: z.literal('down') }),
  z.object({ cmd: z.literal('status'), json: z.boolean() }),
  z.object({ cmd: z.literal('help') }),
]);
export type RsCommand = z.infer<typeof RsCommand>;

export type ParseResult = { ok: true; command: RsCommand } | { ok: false; message: string };

/** Parses xvs-rs's arguments (without node and the script path). */
export function parseRsArgs(argv: readonly string[]): ParseResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        vip: { type: 'string', multiple: true },
        mode: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { ok: true, command: { cmd: 'help' } };
  if (positionals.length === 0) return { ok: false, message: 'missing command (up, down or status)' };
  if (positionals.length > 1) return { ok: false, message: `unexpected argument '${positionals[1]}'` };
  const cmd = positionals[0];
  const only = (allowed: string[]): string | null => {
    const given = Object.keys(values).filter((k) => values[k as keyof typeof values] !== undefined);
    const extra = given.find((k) => !allowed.includes(k));
    return extra ? `option --${extra} is not valid with '${cmd}'` : null;
  };
  let candidate: unknown;
  let misuse: string | null;
  switch (cmd) {
    case 'up':
      misuse = only(['vip', 'mode']);
      candidate = { cmd, vips: [...new Set(values.vip ?? [])], ...(values.mode === undefined ? {} : { mode: values.mode }) };
      break;
    case 'down':
      misuse = only([]);
      candidate = { cmd };
      break;
    case 'status':
      misuse = only(['json']);
      candidate = { cmd, json: values.json ?? false };
      break;
    default:
      return { ok: false, message: `unknown command '${cmd}' (expected up, down or status)` };
  }
  if (misuse) return { ok: false, message: misuse };
  const result = RsCommand.safeParse(candidate);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path[0] === 'vips' && typeof issue.path[1] === 'number'
      ? `--vip '${(candidate as { vips: string[] }).vips[issue.path[1]]}': `
      : '';
    return { ok: false, message: `${where}${issue.message}` };
  }
  // Deduplicate after canonicalisation (2001:db8::1 and 2001:0db8::1 are one VIP).
  if (result.data.cmd === 'up') result.data.vips = [...new Set(result.data.vips)];
  return { ok: true, command: result.data };
}
