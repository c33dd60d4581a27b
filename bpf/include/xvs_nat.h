/* xvs_nat.h — NAT (-m, "Masq") and FULLNAT rewriting: DNAT toward the real server on the way in
 * (FULLNAT also SNATs to the local address), the reverse on replies, with incremental checksums
 * (xvs_csum.h) and the TTL/hop limit decremented as the kernel's forwarding does; plus the two-way
 * TCP state table IPVS uses for connections that see their replies. */
#ifndef XVS_NAT_H
#define XVS_NAT_H

#include "xvs_csum.h"
#include "xvs_conn.h"
#include "xvs_fwd.h"

/* The INPUT and OUTPUT rows of tcp_states[] (net/netfilter/ipvs/ip_vs_proto_tcp.c), packed as in
 * xvs_conn.h. A NAT/FULLNAT connection uses the input-only rows until its first reply (IPVS's
 * IP_VS_CONN_F_NOOUTPUT), then INPUT for client packets and OUTPUT for replies. */
#define sNO XVS_TCP_S_NONE
#define sES XVS_TCP_S_ESTABLISHED
#define sSS XVS_TCP_S_SYN_SENT
#define sSR XVS_TCP_S_SYN_RECV
#define sFW XVS_TCP_S_FIN_WAIT
#define sTW XVS_TCP_S_TIME_WAIT
#define sCL XVS_TCP_S_CLOSE
#define sCW XVS_TCP_S_CLOSE_WAIT
#define sLA XVS_TCP_S_LAST_ACK
#define sLI XVS_TCP_S_LISTEN
#define sSA XVS_TCP_S_SYNACK
static __always_inline __u64 xvs_tcp_row(int output, int event)
{
	if (output) {
		switch (event) {
		/*                                 sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA */
		case XVS_TCP_EV_SYN: return XVS_TCP_ROW(sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR);
		case XVS_TCP_EV_FIN: return XVS_TCP_ROW(sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW);
		case XVS_TCP_EV_ACK: return XVS_TCP_ROW(sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES);
		default:             return XVS_TCP_ROW(sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL);
		}
	}
	switch (event) {
	case XVS_TCP_EV_SYN: return XVS_TCP_ROW(sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR);
	case XVS_TCP_EV_FIN: return XVS_TCP_ROW(sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW);
	case XVS_TCP_EV_ACK: return XVS_TCP_ROW(sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES);
	default:             return XVS_TCP_ROW(sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR);
	}
}
#undef sNO
#undef sES
#undef sSS
#undef sSR
#undef sFW
#undef sTW
#undef sCL
#undef sCW
#undef sLA
#undef sLI
#undef sSA

/* set_tcp_state() for a connection that has seen replies; `output` = the packet is a reply. */
static __always_inline __u8 xvs_tcp_next_state2(__u8 state, __u8 tcp_flags, int output)
{
	__u64 row;

	if (tcp_flags & XVS_TCP_RST)
		row = xvs_tcp_row(output, XVS_TCP_EV_RST);
	else if (tcp_flags & XVS_TCP_SYN)
		row = xvs_tcp_row(output, XVS_TCP_EV_SYN);
	else if (tcp_flags & XVS_TCP_FIN)
		row = xvs_tcp_row(output, XVS_TCP_EV_FIN);
	else if (tcp_flags & XVS_TCP_ACK)
		row = xvs_tcp_row(output, XVS_TCP_EV_ACK);
	else
		return XVS_TCP_S_CLOSE;
	if (unlikely(state >= XVS_TCP_S_LAST))
		return XVS_TCP_S_CLOSE;
	return (row >> (state * 4)) & 0xf;
}

/* tc: the TCP/UDP checksum through the kernel (xvs_l4_csum_skb: right for CHECKSUM_PARTIAL skbs too),
 * then the packet pointers again (the helper invalidates them) with the Ethernet header's bound for the
 * caller's MAC rewrite. A failing helper (no memory to unclone) leaves a half-rewritten packet: drop. */
static __always_inline int xvs_nat_csum_skb(void *ctx, struct xvs_pkt *p, __u8 af, __u8 proto,
					    __u32 adiff, __u32 pdiff, int ports_changed)
{
	struct __sk_buff *skb = ctx;
	int v6 = af != XVS_AF_INET;
	int udp = proto != XVS_PROTO_TCP;
	__u32 off = sizeof(struct ethhdr) + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
		    (udp ? offsetof(struct udphdr, check) : offsetof(struct tcphdr, check));
	void *data, *data_end;

	if (xvs_l4_csum_skb(skb, off, adiff, pdiff, ports_changed, udp, v6))
		return xvs_drop(XVS_R_DROP_MALFORMED);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + sizeof(struct ethhdr) > data_end)
		return xvs_drop(XVS_R_DROP_MALFORMED);
	p->data = data;
	p->data_end = data_end;
	return XVS_CONTINUE;
}

/* Rewrites the packet's addresses and ports to saddr:sport -> daddr:dport and decrements the TTL /
 * hop limit, updating the IPv4 header checksum and the TCP/UDP checksum incrementally (tc: through
 * xvs_nat_csum_skb, after which p->data is the frame's start again and older packet pointers are
 * invalid). The headers were validated by the walk; the bounds are checked again here for the
 * verifier. Returns XVS_CONTINUE or a verdict (nothing written then, but for the tc helper's
 * failure). */
static __always_inline int xvs_nat_rewrite(void *ctx, struct xvs_pkt *p, __u8 af, __u8 proto,
					   const __u32 *saddr, __be16 sport,
					   const __u32 *daddr, __be16 dport)
{
	void *data_end = p->data_end;
	struct xvs_l4ports *ports;
	__u32 adiff = 0, l4diff;
	__u16 *l4csum;

	if (af == XVS_AF_INET) {
		struct iphdr *iph = p->data + sizeof(struct ethhdr);
		__u16 old_ttl;

		if ((void *)(iph + 1) > data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		ports = (void *)(iph + 1);
		if (proto == XVS_PROTO_TCP) {
			if ((void *)ports + sizeof(struct tcphdr) > data_end)
				return xvs_drop(XVS_R_DROP_MALFORMED);
			l4csum = &((struct tcphdr *)ports)->check;
		} else {
			if ((void *)ports + sizeof(struct udphdr) > data_end)
				return xvs_drop(XVS_R_DROP_MALFORMED);
			l4csum = &((struct udphdr *)ports)->check;
		}
		if (unlikely(iph->ttl <= 1))
			return xvs_pass(XVS_R_PASS_TTL);
		old_ttl = *(__u16 *)&iph->ttl;
		iph->ttl -= XVS_TTL_DEC;
		adiff = xvs_csum_diff4(adiff, iph->saddr, saddr[0]);
		adiff = xvs_csum_diff4(adiff, iph->daddr, daddr[0]);
		iph->saddr = saddr[0];
		iph->daddr = daddr[0];
		xvs_csum_apply(&iph->check, xvs_csum_diff2(adiff, old_ttl, *(__u16 *)&iph->ttl));
	} else {
		struct ipv6hdr *ip6h = p->data + sizeof(struct ethhdr);

		if ((void *)(ip6h + 1) > data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		ports = (void *)(ip6h + 1);
		if (proto == XVS_PROTO_TCP) {
			if ((void *)ports + sizeof(struct tcphdr) > data_end)
				return xvs_drop(XVS_R_DROP_MALFORMED);
			l4csum = &((struct tcphdr *)ports)->check;
		} else {
			if ((void *)ports + sizeof(struct udphdr) > data_end)
				return xvs_drop(XVS_R_DROP_MALFORMED);
			l4csum = &((struct udphdr *)ports)->check;
		}
		if (unlikely(ip6h->hop_limit <= 1))
			return xvs_pass(XVS_R_PASS_TTL);
		ip6h->hop_limit -= XVS_TTL_DEC;
		adiff = xvs_csum_diff16(adiff, (__u32 *)&ip6h->saddr, saddr);
		adiff = xvs_csum_diff16(adiff, (__u32 *)&ip6h->daddr, daddr);
		__builtin_memcpy(&ip6h->saddr, saddr, 16);
		__builtin_memcpy(&ip6h->daddr, daddr, 16);
	}
	/* One branch, decided per entry point: the verifier knows p->is_skb and drops the other side. */
	if (p->is_skb) {
		__u32 pdiff = xvs_csum_diff2(xvs_csum_diff2(0, ports->source, sport), ports->dest, dport);
		int ports_changed = ports->source != sport || ports->dest != dport;

		ports->source = sport;
		ports->dest = dport;
		return xvs_nat_csum_skb(ctx, p, af, proto, adiff, pdiff, ports_changed);
	}
	l4diff = xvs_csum_diff2(adiff, ports->source, sport);
	l4diff = xvs_csum_diff2(l4diff, ports->dest, dport);
	ports->source = sport;
	ports->dest = dport;
	if (proto == XVS_PROTO_TCP)
		xvs_csum_apply(l4csum, l4diff);
	else
		xvs_csum_apply_udp(l4csum, l4diff, af == XVS_AF_INET);
	return XVS_CONTINUE;
}

/* Client -> RS: NAT rewrites the destination to RIP:rport; FULLNAT also the source to LIP:lport.
 * Routed first, so a packet passed to the kernel is passed as it came. */
static __always_inline int xvs_fwd_nat_in(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
					  const struct xvs_flow *f, __u32 dest_id,
					  const struct xvs_conn *c, __u64 now)
{
	struct xvs_nh *nh = bpf_map_lookup_elem(&xvs_nh_cache, &dest_id);
	struct xvs_route r = { .dst = c->raddr, .src = f->key.saddr, .len = f->l3_len };
	int rc;

	if (unlikely(!nh))
		return xvs_pass(XVS_R_PASS_FIB_OTHER);
	rc = xvs_nh_get(ctx, p, f, &r, nh, now);
	if (rc == XVS_TOO_BIG)
		return xvs_pass(XVS_R_PASS_FIB_OTHER);
	if (rc != XVS_CONTINUE)
		return rc;
	if (c->fwd == XVS_FWD_FULLNAT)
		rc = xvs_nat_rewrite(ctx, p, f->key.af, f->key.proto, c->laddr, c->lport, c->raddr,
				     c->rport);
	else
		rc = xvs_nat_rewrite(ctx, p, f->key.af, f->key.proto, f->key.saddr, f->key.sport,
				     c->raddr, c->rport);
	if (rc != XVS_CONTINUE)
		return rc;
	xvs_fc_arm(p, f, 0);
	if (p->is_skb)
		eth = p->data; /* the checksum helper invalidated the old pointer */
	return xvs_l2_out(p, eth, nh);
}

/* RS -> client: the source becomes VIP:vport (and, FULLNAT, the destination CIP:cport again); the
 * next hop toward the client comes from a per-CPU cache indexed by a hash of the client address. */
static __always_inline int xvs_fwd_nat_out(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
					   const struct xvs_flow *f, const struct xvs_conn_key *fkey,
					   __u64 now)
{
	struct xvs_route r = { .dst = fkey->saddr, .src = fkey->daddr, .len = f->l3_len };
	struct xvs_nh *nh = xvs_nh_client_slot(fkey->saddr);
	int rc;

	if (unlikely(!nh))
		return xvs_pass(XVS_R_PASS_FIB_OTHER);
	/* Route before rewriting: a pass leaves the packet as it came. */
	rc = xvs_nh_get(ctx, p, f, &r, nh, now);
	if (rc == XVS_TOO_BIG)
		return xvs_pass(XVS_R_PASS_FIB_OTHER);
	if (rc != XVS_CONTINUE)
		return rc;
	rc = xvs_nat_rewrite(ctx, p, f->key.af, f->key.proto, fkey->daddr, fkey->dport, fkey->saddr,
			     fkey->sport);
	if (rc != XVS_CONTINUE)
		return rc;
	xvs_fc_arm(p, f, 1);
	if (p->is_skb)
		eth = p->data; /* the checksum helper invalidated the old pointer */
	xvs_count(XVS_R_FWD_REPLY);
	return xvs_l2_out(p, eth, nh);
}

#endif /* XVS_NAT_H */
