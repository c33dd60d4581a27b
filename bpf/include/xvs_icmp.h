/* xvs_icmp.h — ICMP the data path originates: "fragmentation needed" (IPv4) / "packet too big"
 * (IPv6) back to the client when an encapsulated packet would exceed the egress MTU, as IPVS's
 * ensure_mtu_is_adequate() does with icmp_send(). Built in place in XDP: the frame is turned into the
 * ICMP error (new IP + ICMP header in front, the original IP header and 8 bytes of it quoted) and sent
 * back out of the ingress interface. tc mode and IPv4 packets without DF go to the kernel, counted. */
#ifndef XVS_ICMP_H
#define XVS_ICMP_H

#include "xvs_csum.h"
#include "xvs_fwd.h"

#define XVS_ICMP_DEST_UNREACH 3
#define XVS_ICMP_FRAG_NEEDED 4
#define XVS_ICMPV6_PKT_TOOBIG 2
#define XVS_IPPROTO_ICMP 1
#define XVS_IPPROTO_ICMPV6 58
#define XVS_IPV6_MIN_MTU 1280

/* Ones'-complement sum of n 16-bit words (n a compile-time constant after inlining). */
static __always_inline __u32 xvs_sum16(const __u16 *w, int n, __u32 sum)
{
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

static __always_inline int xvs_icmp_too_big(void *ctx, struct xvs_pkt *p, const struct xvs_flow *f,
					    __u32 mtu)
{
	int v6 = f->key.af == XVS_AF_INET6;
	/* New IP header + ICMP header in front; the original IP header + 8 bytes quoted. */
	int room = v6 ? 40 + 8 : 20 + 8;
	int quote = v6 ? 40 + 8 : 20 + 8;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	struct xdp_md *xdp = ctx;
	struct ethhdr *eth;
	void *data, *data_end;
	int new_len = sizeof(struct ethhdr) + room + quote;

	if (p->is_skb)
		return xvs_pass(XVS_R_PASS_TOO_BIG);
	data = p->data;
	data_end = p->data_end;
	if (data + sizeof(struct ethhdr) + quote > data_end)
		return xvs_drop(XVS_R_DROP_MALFORMED);
	if (!v6) {
		struct iphdr *iph = data + sizeof(struct ethhdr);

		/* Without DF the kernel may fragment: its business. */
		if (!(iph->frag_off & bpf_htons(0x4000)))
			return xvs_pass(XVS_R_PASS_TOO_BIG);
	}
	eth = data;
	__builtin_memcpy(dmac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(smac, eth->h_dest, ETH_ALEN);

	if (bpf_xdp_adjust_head(xdp, -room))
		return xvs_drop(XVS_R_DROP_MALFORMED);
	/* p->len is the frame length before the head moved. */
	if (bpf_xdp_adjust_tail(xdp, new_len - (int)(p->len + room)))
		return xvs_drop(XVS_R_DROP_MALFORMED);
	data = (void *)(long)xdp->data;
	data_end = (void *)(long)xdp->data_end;
	if (data + new_len > data_end)
		return xvs_drop(XVS_R_DROP_MALFORMED);
	p->data = data;
	p->data_end = data_end;
	p->len = new_len;

	eth = data;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (!v6) {
		struct iphdr *iph = data + sizeof(struct ethhdr);
		__u8 *icmp = (void *)(iph + 1);

		/* Constant bounds per family, for the verifier. */
		if (data + sizeof(struct ethhdr) + 20 + 8 + 28 > data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		eth->h_proto = XVS_ETH_P_IP_BE;
		*(__u8 *)iph = 0x45;
		iph->tos = 0xc0; /* as icmp_send: IPTOS_PREC_INTERNETCONTROL */
		iph->tot_len = bpf_htons(20 + 8 + 28);
		iph->id = 0;
		iph->frag_off = 0;
		iph->ttl = 64;
		iph->protocol = XVS_IPPROTO_ICMP;
		iph->check = 0;
		iph->saddr = f->key.daddr[0];
		iph->daddr = f->key.saddr[0];
		iph->check = ~xvs_csum_fold(xvs_sum16((__u16 *)iph, 10, 0));
		icmp[0] = XVS_ICMP_DEST_UNREACH;
		icmp[1] = XVS_ICMP_FRAG_NEEDED;
		*(__u16 *)(icmp + 2) = 0;
		*(__u16 *)(icmp + 4) = 0;
		*(__be16 *)(icmp + 6) = bpf_htons((__u16)mtu);
		*(__u16 *)(icmp + 2) = ~xvs_csum_fold(xvs_sum16((__u16 *)icmp, (8 + 28) / 2, 0));
	} else {
		struct ipv6hdr *ip6h = data + sizeof(struct ethhdr);
		__u8 *icmp = (void *)(ip6h + 1);
		__u32 sum;

		if (data + sizeof(struct ethhdr) + 40 + 8 + 48 > data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		if (mtu < XVS_IPV6_MIN_MTU)
			mtu = XVS_IPV6_MIN_MTU;
		eth->h_proto = XVS_ETH_P_IPV6_BE;
		*(__be32 *)ip6h = bpf_htonl(0x60000000);
		ip6h->payload_len = bpf_htons(8 + 48);
		ip6h->nexthdr = XVS_IPPROTO_ICMPV6;
		ip6h->hop_limit = 64;
		__builtin_memcpy(&ip6h->saddr, f->key.daddr, 16);
		__builtin_memcpy(&ip6h->daddr, f->key.saddr, 16);
		icmp[0] = XVS_ICMPV6_PKT_TOOBIG;
		icmp[1] = 0;
		*(__u16 *)(icmp + 2) = 0;
		*(__be32 *)(icmp + 4) = bpf_htonl(mtu);
		/* Pseudo-header: addresses, upper-layer length, next header. */
		sum = xvs_sum16((__u16 *)&ip6h->saddr, 16, 0);
		sum += bpf_htons(8 + 48);
		sum += bpf_htons(XVS_IPPROTO_ICMPV6);
		sum = xvs_sum16((__u16 *)icmp, (8 + 48) / 2, sum);
		*(__u16 *)(icmp + 2) = ~xvs_csum_fold(sum);
	}
	xvs_count(XVS_R_ICMP_TOO_BIG);
	return XVS_V_TX;
}

#endif /* XVS_ICMP_H */
