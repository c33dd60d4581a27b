// src/rs/decap.ts — the TUN real server's decapsulation (bpf/xvs_decap.bpf.c) on tc ingress, for kernels
// without the ipip / ip6_tunnel modules: attached to every interface but lo, detached by `down`. A tc
// filter keeps its program after this process exits, so nothing needs to stay running.
import { run } from '../netns/exec.js';
import { native, bpfObjectPath } from '../datapath/native.js';

/** Our filter's handle and priority on clsact ingress (distinct from xvsd's). */
export const DECAP_TC_HANDLE = 0x7864;
export const DECAP_TC_PRIORITY = 0x7864;

export interface DecapLink {
  ifname: string;
  ifindex: number;
}

/** The interfaces of this namespace a tunnelled packet may arrive on (all but loopback). */
export async function decapCandidates(): Promise<DecapLink[]> {
  const { stdout } = await run(['ip', '-j', 'link', 'show']);
  const links = JSON.parse(stdout) as { ifname: string; ifindex: number; flags?: string[] }[];
  return links.filter((l) => !(l.flags ?? []).includes('LOOPBACK')).map((l) => ({ ifname: l.ifname, ifindex: l.ifindex }));
}

/** Loads bpf/xvs_decap.o once and attaches it to each link. */
export async function attachDecap(links: readonly DecapLink[]): Promise<void> {
  const obj = new native.BpfObject(bpfObjectPath('xvs_decap'));
  try {
    await obj.load();
    const fd = obj.progFd('xvs_decap');
    for (const l of links) await native.tcAttach(l.ifindex, fd, 'ingress', DECAP_TC_HANDLE, DECAP_TC_PRIORITY);
  } finally {
    obj.close();
  }
}

/** Detaches from one link; false if our filter was not there. */
export function detachDecap(link: DecapLink): boolean {
  return native.tcDetach(link.ifindex, 'ingress', DECAP_TC_HANDLE, DECAP_TC_PRIORITY);
}
