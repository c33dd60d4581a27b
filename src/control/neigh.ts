// src/control/neigh.ts — keeps the real servers' neighbour entries resolved: bpf_fib_lookup only forwards
// to a neighbour the kernel already knows (else NO_NEIGH and the packet takes the slow path). Missing or
// failed entries are nudged by sending one UDP datagram to the RS's discard port, which makes the kernel
// resolve it (ARP / NDP).
import dgram from 'node:dgram';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Neighbour states in which bpf_fib_lookup succeeds (NUD_VALID). */
const VALID = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

export async function resolvedNeighbours(): Promise<Set<string>> {
  const { stdout } = await execFileP('ip', ['-j', 'neigh', 'show']);
  const entries = JSON.parse(stdout || '[]') as { dst: string; state?: string[] }[];
  return new Set(entries.filter((e) => (e.state ?? []).some((s) => VALID.has(s))).map((e) => e.dst));
}

/** Sends a discard datagram to each address so the kernel resolves its neighbour. */
export async function nudge(addrs: string[]): Promise<void> {
  await Promise.all(addrs.map((addr) => new Promise<void>((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(addr) ? 'udp6' : 'udp4');
    sock.on('error', () => { sock.close(); resolve(); });
    sock.send(Buffer.alloc(0), 9, addr, () => { sock.close(); resolve(); });
  })));
}

/** Nudges every address that has no valid neighbour entry; returns the addresses nudged. */
export async function keepResolved(addrs: string[]): Promise<string[]> {
  if (addrs.length === 0) return [];
  const known = await resolvedNeighbours();
  const missing = [...new Set(addrs)].filter((a) => !known.has(a));
  await nudge(missing);
  return missing;
}
