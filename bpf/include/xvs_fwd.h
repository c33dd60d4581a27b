/* xvs_fwd.h — next hops and the DR method. DR (-g, "route"): the packet is forwarded as IPVS's
 * ip_vs_dr_xmit() does it: routed toward the real server (next hop and MACs from bpf_fib_lookup() on the
 * RIP, cached per dest, see struct xvs_nh), then the TTL / hop limit decremented as __ip_vs_get_out_rt()
 * does since Linux 4.19 (one that would expire goes to the kernel untouched, which answers time
 * exceeded), and the Ethernet header rewritten; addresses, ports and the L4 checksum stay as they came.
 * The next-hop helpers here serve every method (xvs_nat.h, xvs_tun.h). */
#ifndef XVS_FWD_H
#define XVS_FWD_H

#include "xvs_csum.h"
#include "xvs_maps.h"
#include "xvs_rev.h"
#include "xvs_fc.h"

/* The TTL / hop-limit decrement of forwarded packets (every method). bpf/xvs_bench.o (the same source
 * built with XVS_BENCH_KEEP_TTL) keeps the TTL so a packet can run through the program millions of times
 * unchanged (bench/dr-cost.ts, bench/modes-cost.ts); every other instruction of the path is the same. */
#ifdef XVS_BENCH_KEEP_TTL
#define XVS_TTL_DEC 0
#else
#define XVS_TTL_DEC 1
#endif

/* What the forwarding step needs to know about the packet, gathered by the walk. */
struct xvs_pkt {
	void *data;
	void *data_end;
	__u32 len;         /* frame length from the Ethernet header (tc: skb->len, may exceed data_end) */
	__u32 ifindex;     /* ingress interface */
	__u32 out_ifindex; /* egress interface, set with XVS_V_REDIRECT */
	__u8 is_skb;       /* tc: the fib lookup checks the MTU on the skb itself (GSO-aware) */
	__u16 fc_slot;     /* the tuple's slot in the flow cache (xvs_fc.h) */
};

/* The flow as the fib lookup and the conn table see it. */
struct xvs_flow {
	struct xvs_conn_key key; /* client 5-tuple; padding and unused address words zero */
	__be32 flowinfo;         /* IPv6 traffic class + flow label (network order); IPv4: tos */
	__u32 l3_len;            /* IP total length: what IPVS counts in inbytes and the MTU check uses */
	__u8 tcp_flags;          /* byte 13 of the TCP header, 0 for UDP */
};

/* The flow cache's step 2 (xvs_fc.h), right before a forwarding step rewrites the MACs: what the next
 * packet's commit needs to know about this one. */
static __always_inline void xvs_fc_arm(const struct xvs_pkt *p, const struct xvs_flow *f, __u8 reply)
{
	/* The key from .rodata, not the stack: the walk's frame is full here. */
	struct xvs_fc_pend *pd = bpf_map_lookup_elem(&xvs_fc_pend, (const void *)&xvs_key0);

	if (likely(pd)) {
		pd->slot = p->fc_slot;
		pd->in_ifindex = p->ifindex;
		pd->reply = reply;
		pd->tcp_flags = f->tcp_flags;
		pd->armed = 1;
	}
}

/* A cached next hop still good for dst, looked up for packets arriving on in_ifindex. */
static __always_inline int xvs_nh_fresh(const struct xvs_nh *nh, __u32 in_ifindex, const __u32 *dst,
					__u64 now)
{
	return now < nh->expires_ns && nh->in_ifindex == in_ifindex && xvs_addr_eq(nh->rip, dst);
}

/* What a next-hop lookup is for: the destination, a source for the route lookup (the packet's own
 * source), the length to check against the egress MTU and the lookup flags. */
struct xvs_route {
	const __u32 *dst;
	const __u32 *src;
	__u32 len;   /* IP length of the packet as it will leave */
	__u32 flags; /* BPF_FIB_LOOKUP_SRC for TUN: the outer source is the egress address */
};

/* bpf_fib_lookup() toward r->dst with the flow's family, protocol and ports; on success fills the
 * cache entry. Returns XVS_CONTINUE, XVS_TOO_BIG (IP length r->len over the egress MTU; nh->ok_len is
 * then the MTU) or a pass verdict (reason counted). */
#define XVS_TOO_BIG (-2)
static __always_inline int xvs_fib(void *ctx, const struct xvs_pkt *p, const struct xvs_flow *f,
				   const struct xvs_route *r, struct xvs_nh *nh, __u64 now)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	fib.family = f->key.af; /* XVS_AF_* are the kernel's AF_* values */
	fib.l4_protocol = f->key.proto;
	fib.sport = f->key.sport;
	fib.dport = f->key.dport;
	/* tot_len 0 makes the tc helper check the skb against the egress MTU, GSO-aware; XDP frames
	 * are checked by their IP length. An encapsulating caller passes its outer length. */
	fib.tot_len = p->is_skb && r->len == f->l3_len ? 0 : r->len;
	fib.ifindex = p->ifindex;
	if (f->key.af == XVS_AF_INET) {
		fib.tos = (__u8)f->flowinfo;
		fib.ipv4_src = r->src[0];
		fib.ipv4_dst = r->dst[0];
	} else {
		fib.flowinfo = f->flowinfo;
		__builtin_memcpy(fib.ipv6_src, r->src, sizeof(fib.ipv6_src));
		__builtin_memcpy(fib.ipv6_dst, r->dst, sizeof(fib.ipv6_dst));
	}

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), r->flags);
	if (unlikely(rc != BPF_FIB_LKUP_RET_SUCCESS)) {
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
			/* The helper reports the egress MTU in mtu_result. */
			nh->ok_len = fib.mtu_result;
			return XVS_TOO_BIG;
		}
		/* Not black-holed: the packet goes to the kernel untouched and the reason is counted.
		 * NO_NEIGH is transient (the control plane keeps RS neighbours resolved); the client
		 * retransmits. A connection this packet opened stays, so the retransmission goes to the
		 * same dest. */
		xvs_dbg("fib lookup failed: %ld", rc);
		return xvs_pass(rc == BPF_FIB_LKUP_RET_NO_NEIGH ? XVS_R_PASS_NO_NEIGH
							 : XVS_R_PASS_FIB_OTHER);
	}
	/* A still-fresh entry that only lacked the length keeps its larger accepted length. */
	if (xvs_nh_fresh(nh, p->ifindex, r->dst, now)) {
		if (r->len > nh->ok_len)
			nh->ok_len = r->len;
	} else {
		nh->ok_len = r->len;
		__builtin_memcpy(nh->rip, r->dst, sizeof(nh->rip));
		nh->in_ifindex = p->ifindex;
	}
	nh->expires_ns = now + XVS_NH_CACHE_NS;
	nh->out_ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	if (r->flags & BPF_FIB_LOOKUP_SRC) {
		if (f->key.af == XVS_AF_INET) {
			nh->src[0] = fib.ipv4_src;
			nh->src[1] = nh->src[2] = nh->src[3] = 0;
		} else {
			__builtin_memcpy(nh->src, fib.ipv6_src, sizeof(nh->src));
		}
	} else {
		nh->src[0] = nh->src[1] = nh->src[2] = nh->src[3] = 0;
	}
	return XVS_CONTINUE;
}

/* The cached next hop (per CPU) for r, looked up again when stale, for another destination or
 * interface, or for a longer packet than a lookup accepted. Returns XVS_CONTINUE with *out set,
 * XVS_TOO_BIG, or a pass verdict. */
static __always_inline int xvs_nh_get(void *ctx, const struct xvs_pkt *p, const struct xvs_flow *f,
				      const struct xvs_route *r, struct xvs_nh *nh, __u64 now)
{
	if (unlikely(!xvs_nh_fresh(nh, p->ifindex, r->dst, now) || r->len > nh->ok_len ||
		     ((r->flags & BPF_FIB_LOOKUP_SRC) && !nh->src[0] && !nh->src[3])))
		return xvs_fib(ctx, p, f, r, nh, now);
	return XVS_CONTINUE;
}

/* Rewrites the MACs and picks the verdict: out of the ingress interface or redirected. eth must be the
 * frame's start. */
static __always_inline int xvs_l2_emit(struct xvs_pkt *p, struct ethhdr *eth, const __u8 *dmac,
				       const __u8 *smac, __u32 out_ifindex)
{
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (likely(out_ifindex == p->ifindex)) {
		xvs_count(XVS_R_FWD_TX);
		return XVS_V_TX;
	}
	p->out_ifindex = out_ifindex;
	return XVS_V_REDIRECT;
}

/* The same toward a cached next hop. */
static __always_inline int xvs_l2_out(struct xvs_pkt *p, struct ethhdr *eth, const struct xvs_nh *nh)
{
	return xvs_l2_emit(p, eth, nh->dmac, nh->smac, nh->out_ifindex);
}

/* One hop less, as the kernel's decrement_ttl() (net/netfilter/ipvs/ip_vs_xmit.c) does for every packet
 * it forwards: TTL / hop limit <= 1 goes to the kernel as it came (XVS_R_PASS_TTL; it answers time
 * exceeded), else it is decremented and the IPv4 header checksum updated incrementally (no L4 checksum
 * covers it). The IP header is the frame's first after Ethernet (DR, and TUN's inner header before
 * encapsulation); the walk validated it, the bound is checked again for the verifier. Returns
 * XVS_CONTINUE or a verdict. */
static __always_inline int xvs_ttl_step(void *ctx, struct xvs_pkt *p, __u8 af)
{
	if (af == XVS_AF_INET) {
		struct iphdr *iph = p->data + sizeof(struct ethhdr);
		__u16 old;

		if ((void *)(iph + 1) > p->data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		if (unlikely(iph->ttl <= 1))
			return xvs_pass(XVS_R_PASS_TTL);
		old = *(__u16 *)&iph->ttl;
		iph->ttl -= XVS_TTL_DEC;
		xvs_csum_apply(&iph->check, xvs_csum_diff2(0, old, *(__u16 *)&iph->ttl));
	} else {
		struct ipv6hdr *ip6h = p->data + sizeof(struct ethhdr);
		__u16 *w = (__u16 *)&ip6h->nexthdr; /* the 16-bit word that holds the hop limit */
		__u16 old;

		if ((void *)(ip6h + 1) > p->data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		if (unlikely(ip6h->hop_limit <= 1))
			return xvs_pass(XVS_R_PASS_TTL);
		old = *w;
		ip6h->hop_limit -= XVS_TTL_DEC;
		/* tc: the skb->csum of a CHECKSUM_COMPLETE skb covers the IPv6 header, and no header checksum
		 * makes up for the change (IPv4's does); keep it true for a stack that receives the skb after
		 * the redirect (a veth peer). A no-op for any other skb; compiled out of the XDP entry. */
		if (p->is_skb)
			bpf_csum_update(ctx, xvs_csum_diff2(0, old, *w));
	}
	return XVS_CONTINUE;
}

/* DR: routed first (a packet passed to the kernel is passed as it came), then one hop less
 * (xvs_ttl_step), then the MACs. */
static __always_inline int xvs_fwd_dr(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
				      const struct xvs_flow *f, __u32 dest_id,
				      const struct xvs_dest *dest, __u64 now)
{
	struct xvs_nh *nh = bpf_map_lookup_elem(&xvs_nh_cache, &dest_id);
	struct xvs_route r = { .dst = dest->addr, .src = f->key.saddr, .len = f->l3_len };
	int rc;

	if (unlikely(!nh))
		return xvs_pass(XVS_R_PASS_FIB_OTHER);
	rc = xvs_nh_get(ctx, p, f, &r, nh, now);
	if (rc == XVS_TOO_BIG)
		return xvs_pass(XVS_R_PASS_FIB_OTHER); /* unchanged length: the kernel's own business */
	if (rc != XVS_CONTINUE)
		return rc;
	rc = xvs_ttl_step(ctx, p, f->key.af);
	if (rc != XVS_CONTINUE)
		return rc;
	xvs_fc_arm(p, f, 0);
	return xvs_l2_out(p, eth, nh);
}

#endif /* XVS_FWD_H */
