/* xvs_tun.h — TUN (-i, "Tunnel"): the client's packet, its TTL/hop limit decremented as the kernel's
 * forwarding does, is encapsulated in IPIP (IPv4) or IP6IP6 (IPv6) toward the RIP. The outer source is
 * the director's address on the egress interface (bpf_fib_lookup with BPF_FIB_LOOKUP_SRC); outer
 * TTL/hop limit 64 (ip_default_ttl); TOS / traffic class copied from the inner header; DF copied from
 * the inner header (ip_vs_tunnel_xmit with pmtu_disc on). A packet that no longer fits the egress MTU
 * is answered with ICMP fragmentation-needed / packet-too-big (xvs_icmp.h), never dropped silently. */
#ifndef XVS_TUN_H
#define XVS_TUN_H

#include <linux/pkt_cls.h>

#include "xvs_csum.h"
#include "xvs_nat.h"
#include "xvs_icmp.h"

#define XVS_IPPROTO_IPIP 4
#define XVS_IPPROTO_IPV6 41
#define XVS_TUN_TTL 64
#define XVS_IP_DF_BE bpf_htons(0x4000)

/* Full checksum of a 20-byte IPv4 header without options (its check field zero). */
static __always_inline __u16 xvs_ip_hdr_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	return ~xvs_csum_fold(sum);
}

/* tc: the IP length of the packets this skb leaves as, outer header included, for the MTU check. A
 * GSO skb (TSO from a local sender on veth with tx offload, or GRO) is up to 64 KB but leaves as
 * segments: what must fit is a segment. For TCP, bpf_skb_adjust_room() lowers gso_size by the outer
 * header, so a segment keeps its length (headers + gso_size); UDP GSO keeps gso_size (it delimits the
 * datagrams, BPF_F_ADJ_ROOM_FIXED_GSO), so each grows by the outer header. A CHECKSUM_PARTIAL skb needs
 * nothing else: the room is inserted in front of the inner IP header, csum_start (an offset from the
 * head) still names the inner TCP/UDP header, and the stack or the device completes that checksum. */
static __always_inline __u32 xvs_tun_skb_len(void *ctx, const struct xvs_pkt *p,
					     const struct xvs_flow *f, int room, int v6)
{
	struct __sk_buff *skb = ctx;
	__u32 gso = skb->gso_size;
	__u32 l3_hdr = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	struct tcphdr *th;

	if (likely(!gso))
		return f->l3_len + room;
	if (f->key.proto != XVS_PROTO_TCP)
		return l3_hdr + sizeof(struct udphdr) + gso + room;
	th = p->data + sizeof(struct ethhdr) + l3_hdr;
	if ((void *)(th + 1) > p->data_end)
		return f->l3_len + room; /* not reached: the walk read the whole TCP header */
	return l3_hdr + th->doff * 4 + gso;
}

/* Makes room for the outer header in front of the IP header and reloads the packet pointers.
 * XDP moves the frame start (the Ethernet header is rewritten afterwards anyway); tc inserts the
 * room after the MAC header and marks the skb as encapsulated. Returns 0 or -1. */
static __always_inline int xvs_tun_room(void *ctx, struct xvs_pkt *p, int room, int v6, int udp)
{
	if (p->is_skb) {
		__u64 flags = (v6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) |
			      (udp ? BPF_F_ADJ_ROOM_FIXED_GSO : 0);
		struct __sk_buff *skb = ctx;

		if (bpf_skb_adjust_room(skb, room, BPF_ADJ_ROOM_MAC, flags))
			return -1;
		p->data = (void *)(long)skb->data;
		p->data_end = (void *)(long)skb->data_end;
	} else {
		struct xdp_md *xdp = ctx;

		if (bpf_xdp_adjust_head(xdp, -room))
			return -1;
		p->data = (void *)(long)xdp->data;
		p->data_end = (void *)(long)xdp->data_end;
	}
	p->len += room;
	return 0;
}

/* The IP length the next hop must take for this packet once encapsulated (tc: per GSO segment). */
static __always_inline __u32 xvs_tun_len(void *ctx, const struct xvs_pkt *p, const struct xvs_flow *f)
{
	int v6 = f->key.af == XVS_AF_INET6;
	int room = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);

	if (p->is_skb)
		return xvs_tun_skb_len(ctx, p, f, room, v6);
	return f->l3_len + room;
}

/* One hop less on the inner header (xvs_ttl_step), then the outer header src -> rip in front of it.
 * Returns XVS_CONTINUE with p->data the new frame's start (its Ethernet header still to be written
 * but for the type), or a verdict. */
static __always_inline int xvs_tun_encap(void *ctx, struct xvs_pkt *p, const struct xvs_flow *f,
					 const __u32 *src, const __u32 *rip)
{
	int v6 = f->key.af == XVS_AF_INET6;
	int room = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	struct ethhdr *eth;
	__be16 inner_df = 0;
	__u8 inner_tos = 0;
	int rc;

	rc = xvs_ttl_step(ctx, p, f->key.af);
	if (rc != XVS_CONTINUE)
		return rc;
	if (!v6) {
		struct iphdr *iph = p->data + sizeof(struct ethhdr);

		if ((void *)(iph + 1) > p->data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		inner_df = iph->frag_off & XVS_IP_DF_BE;
		inner_tos = iph->tos;
	}

	if (xvs_tun_room(ctx, p, room, v6, f->key.proto != XVS_PROTO_TCP))
		return xvs_drop(XVS_R_DROP_MALFORMED);
	eth = p->data;
	if (!v6) {
		struct iphdr *o = p->data + sizeof(struct ethhdr);

		if ((void *)(o + 1) > p->data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		eth->h_proto = XVS_ETH_P_IP_BE;
		*(__u8 *)o = 0x45;
		o->tos = inner_tos;
		o->tot_len = bpf_htons(f->l3_len + room);
		/* IP ID: 0 for DF datagrams (as ip_select_ident), random otherwise. */
		o->id = inner_df ? 0 : (__u16)bpf_get_prandom_u32();
		o->frag_off = inner_df;
		o->ttl = XVS_TUN_TTL;
		o->protocol = XVS_IPPROTO_IPIP;
		o->check = 0;
		o->saddr = src[0];
		o->daddr = rip[0];
		o->check = xvs_ip_hdr_csum(o);
	} else {
		struct ipv6hdr *o = p->data + sizeof(struct ethhdr);

		if ((void *)(o + 1) > p->data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		eth->h_proto = XVS_ETH_P_IPV6_BE;
		/* Version 6, the inner traffic class and flow label (the flow stays one flow). */
		*(__be32 *)o = bpf_htonl(0x60000000) | f->flowinfo;
		o->payload_len = bpf_htons(f->l3_len);
		o->nexthdr = XVS_IPPROTO_IPV6;
		o->hop_limit = XVS_TUN_TTL;
		__builtin_memcpy(&o->saddr, src, 16);
		__builtin_memcpy(&o->daddr, rip, 16);
	}
	return XVS_CONTINUE;
}

static __always_inline int xvs_fwd_tun(void *ctx, struct xvs_pkt *p, const struct xvs_flow *f,
				       __u32 dest_id, const struct xvs_dest *dest, __u64 now)
{
	int room = f->key.af == XVS_AF_INET6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	struct xvs_nh *nh = bpf_map_lookup_elem(&xvs_nh_cache, &dest_id);
	struct xvs_route r = {
		.dst = dest->addr, .src = f->key.saddr, .len = xvs_tun_len(ctx, p, f),
		.flags = BPF_FIB_LOOKUP_SRC,
	};
	int rc;

	if (unlikely(!nh))
		return xvs_pass(XVS_R_PASS_FIB_OTHER);
	rc = xvs_nh_get(ctx, p, f, &r, nh, now);
	if (rc == XVS_TOO_BIG)
		return xvs_icmp_too_big(ctx, p, f, nh->ok_len - room);
	if (rc != XVS_CONTINUE)
		return rc;
	rc = xvs_tun_encap(ctx, p, f, nh->src, dest->addr);
	if (rc != XVS_CONTINUE)
		return rc;
	xvs_fc_arm(p, f, 0);
	return xvs_l2_out(p, p->data, nh);
}

#endif /* XVS_TUN_H */
