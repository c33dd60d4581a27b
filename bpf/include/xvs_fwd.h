/* xvs_fwd.h — forwarding methods. DR (-g, "route"): the IP packet is left exactly as it came (IPVS
 * DR does not even decrement the TTL); only the Ethernet header is rewritten toward the real server,
 * with next hop and MACs from bpf_fib_lookup() on the RIP, cached per dest (see struct xvs_nh). */
#ifndef XVS_FWD_H
#define XVS_FWD_H

#include "xvs_maps.h"

/* What the forwarding step needs to know about the packet, gathered by the walk. */
struct xvs_pkt {
	void *data;
	void *data_end;
	__u32 len;         /* frame length from the Ethernet header (tc: skb->len, may exceed data_end) */
	__u32 ifindex;     /* ingress interface */
	__u32 out_ifindex; /* egress interface, set with XVS_V_REDIRECT */
	__u8 is_skb;       /* tc: the fib lookup checks the MTU on the skb itself (GSO-aware) */
};

/* The flow as the fib lookup and the conn table see it. */
struct xvs_flow {
	struct xvs_conn_key key; /* client 5-tuple; padding and unused address words zero */
	__be32 flowinfo;         /* IPv6 traffic class + flow label (network order); IPv4: tos */
	__u32 l3_len;            /* IP total length: what IPVS counts in inbytes and the MTU check uses */
	__u8 tcp_flags;          /* byte 13 of the TCP header, 0 for UDP */
};

static __always_inline int xvs_nh_fresh(const struct xvs_nh *nh, const struct xvs_pkt *p,
					const struct xvs_dest *dest, __u64 now)
{
	return now < nh->expires_ns && nh->in_ifindex == p->ifindex && nh->rip[0] == dest->addr[0] &&
	       nh->rip[1] == dest->addr[1] && nh->rip[2] == dest->addr[2] && nh->rip[3] == dest->addr[3];
}

/* bpf_fib_lookup() toward the RIP with the client's flow; on success fills the cache entry. Returns
 * XVS_CONTINUE or a pass verdict (reason counted). */
static __always_inline int xvs_fib_dr(void *ctx, const struct xvs_pkt *p, const struct xvs_flow *f,
				      const struct xvs_dest *dest, struct xvs_nh *nh, __u64 now)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	fib.family = f->key.af; /* XVS_AF_* are the kernel's AF_* values */
	fib.l4_protocol = f->key.proto;
	fib.sport = f->key.sport;
	fib.dport = f->key.dport;
	/* tot_len 0 makes the tc helper check the skb against the egress MTU, GSO-aware; XDP frames
	 * are checked by their IP length. */
	fib.tot_len = p->is_skb ? 0 : f->l3_len;
	fib.ifindex = p->ifindex;
	if (f->key.af == XVS_AF_INET) {
		fib.tos = (__u8)f->flowinfo;
		fib.ipv4_src = f->key.saddr[0];
		fib.ipv4_dst = dest->addr[0];
	} else {
		fib.flowinfo = f->flowinfo;
		__builtin_memcpy(fib.ipv6_src, f->key.saddr, sizeof(fib.ipv6_src));
		__builtin_memcpy(fib.ipv6_dst, dest->addr, sizeof(fib.ipv6_dst));
	}

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (unlikely(rc != BPF_FIB_LKUP_RET_SUCCESS)) {
		/* Not black-holed: the packet goes to the kernel untouched and the reason is counted.
		 * NO_NEIGH is transient (the control plane keeps RS neighbours resolved); the client
		 * retransmits. A connection this packet opened stays, so the retransmission goes to the
		 * same dest. */
		xvs_dbg("fib lookup failed: %ld", rc);
		return xvs_pass(rc == BPF_FIB_LKUP_RET_NO_NEIGH ? XVS_R_PASS_NO_NEIGH
							 : XVS_R_PASS_FIB_OTHER);
	}
	/* A still-fresh entry that only lacked the length keeps its larger accepted length. */
	if (xvs_nh_fresh(nh, p, dest, now)) {
		if (f->l3_len > nh->ok_len)
			nh->ok_len = f->l3_len;
	} else {
		nh->ok_len = f->l3_len;
		__builtin_memcpy(nh->rip, dest->addr, sizeof(nh->rip));
		nh->in_ifindex = p->ifindex;
	}
	nh->expires_ns = now + XVS_NH_CACHE_NS;
	nh->out_ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	return XVS_CONTINUE;
}

/* DR: rewrite the MACs toward the RS and leave every IP byte alone. */
static __always_inline int xvs_fwd_dr(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
				      const struct xvs_flow *f, __u32 dest_id,
				      const struct xvs_dest *dest, __u64 now)
{
	struct xvs_nh *nh = bpf_map_lookup_elem(&xvs_nh_cache, &dest_id);
	int rc;

	if (unlikely(!nh))
		return xvs_pass(XVS_R_PASS_FIB_OTHER);
	if (unlikely(!xvs_nh_fresh(nh, p, dest, now) || f->l3_len > nh->ok_len)) {
		rc = xvs_fib_dr(ctx, p, f, dest, nh, now);
		if (rc != XVS_CONTINUE)
			return rc;
	}
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	if (likely(nh->out_ifindex == p->ifindex)) {
		xvs_count(XVS_R_FWD_TX);
		return XVS_V_TX;
	}
	p->out_ifindex = nh->out_ifindex;
	return XVS_V_REDIRECT;
}

#endif /* XVS_FWD_H */
