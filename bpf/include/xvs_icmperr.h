/* xvs_icmperr.h — ICMP/ICMPv6 errors that belong to a tracked connection, as ip_vs_in_icmp() and
 * ip_vs_out_icmp() handle them: the quoted packet names the connection.
 * - From the client side (the quoted packet is one we sent the client: VIP:vport -> CIP:cport, e.g.
 *   "fragmentation needed" for a DR/TUN reply): forwarded to the connection's real server by its method;
 *   NAT/FULLNAT rewrite the outer destination and the quoted source (FULLNAT also the outer source and
 *   the quoted destination) so the RS's stack recognises its own packet.
 * - From the real-server side of a NAT/FULLNAT connection (the quoted packet is one the RS got from us,
 *   found through the reverse index): translated back and routed to the client, outer source = the VIP.
 * Checksums: outer IPv4 header, quoted IPv4 header and the ICMP checksum (for ICMPv6 including the
 * pseudo-header) are updated incrementally; the quoted TCP/UDP checksum is left alone, as IPVS does
 * (the quote is truncated anyway). The error's own TTL / hop limit is treated as the mode treats its
 * other packets: DR decrements it (xvs_fwd_dr: IPVS sends DR errors through ip_vs_dr_xmit), TUN the
 * inner one (xvs_fwd_tun), NAT/FULLNAT the outer one in both directions (IPVS forwards them through
 * __ip_vs_get_out_rt / ip_forward, which decrement it); an error that would expire goes to the kernel
 * untouched (XVS_R_PASS_TTL). The quoted packet's TTL is never changed. Other ICMP (echo requests to a
 * VIP, errors for unknown flows) goes to the kernel, counted as XVS_R_PASS_NOT_L4. */
#ifndef XVS_ICMPERR_H
#define XVS_ICMPERR_H

#include "xvs_csum.h"
#include "xvs_nat.h"
#include "xvs_tun.h"

#define XVS_ICMP_TIME_EXCEEDED 11
#define XVS_ICMP_PARAMETERPROB 12
#define XVS_ICMPV6_DEST_UNREACH 1
#define XVS_ICMPV6_TIME_EXCEED 3
#define XVS_ICMPV6_PARAMPROB 4

static __always_inline int xvs_icmp_is_error(int v6, __u8 type)
{
	if (v6)
		return type == XVS_ICMPV6_DEST_UNREACH || type == XVS_ICMPV6_PKT_TOOBIG ||
		       type == XVS_ICMPV6_TIME_EXCEED || type == XVS_ICMPV6_PARAMPROB;
	return type == XVS_ICMP_DEST_UNREACH || type == XVS_ICMP_TIME_EXCEEDED ||
	       type == XVS_ICMP_PARAMETERPROB;
}

/* Rewrites the outer addresses and the quoted packet's addresses and ports (any may be unchanged) and
 * decrements the outer TTL / hop limit, fixing every checksum that covers them. Bounds were checked by
 * the caller for the fixed offsets. Returns XVS_CONTINUE or a verdict (nothing written then). */
static __always_inline int xvs_icmp_rewrite(struct xvs_pkt *p, int v6,
					    const __u32 *osrc, const __u32 *odst,
					    const __u32 *qsrc, __be16 qsport,
					    const __u32 *qdst, __be16 qdport)
{
	void *data = p->data, *data_end = p->data_end;
	__u32 odiff = 0, qdiff = 0, idiff;

	if (!v6) {
		struct iphdr *o = data + sizeof(struct ethhdr);
		__u8 *icmp = (void *)(o + 1);
		struct iphdr *q = (void *)(icmp + 8);
		struct xvs_l4ports *qp = (void *)(q + 1);
		__u16 qcheck, old_ttl;

		if ((void *)(qp + 1) > data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		if (unlikely(o->ttl <= 1))
			return xvs_pass(XVS_R_PASS_TTL);
		old_ttl = *(__u16 *)&o->ttl;
		o->ttl -= XVS_TTL_DEC;
		odiff = xvs_csum_diff2(odiff, old_ttl, *(__u16 *)&o->ttl);
		odiff = xvs_csum_diff4(odiff, o->saddr, osrc[0]);
		odiff = xvs_csum_diff4(odiff, o->daddr, odst[0]);
		o->saddr = osrc[0];
		o->daddr = odst[0];
		xvs_csum_apply(&o->check, odiff);
		qdiff = xvs_csum_diff4(qdiff, q->saddr, qsrc[0]);
		qdiff = xvs_csum_diff4(qdiff, q->daddr, qdst[0]);
		q->saddr = qsrc[0];
		q->daddr = qdst[0];
		qcheck = q->check;
		xvs_csum_apply(&q->check, qdiff);
		/* The ICMP checksum covers the quote: its addresses, its header checksum and its ports. */
		idiff = xvs_csum_diff2(qdiff, qcheck, q->check);
		idiff = xvs_csum_diff2(idiff, qp->source, qsport);
		idiff = xvs_csum_diff2(idiff, qp->dest, qdport);
		qp->source = qsport;
		qp->dest = qdport;
		xvs_csum_apply((__u16 *)(icmp + 2), idiff);
	} else {
		struct ipv6hdr *o = data + sizeof(struct ethhdr);
		__u8 *icmp = (void *)(o + 1);
		struct ipv6hdr *q = (void *)(icmp + 8);
		struct xvs_l4ports *qp = (void *)(q + 1);

		if ((void *)(qp + 1) > data_end)
			return xvs_drop(XVS_R_DROP_MALFORMED);
		if (unlikely(o->hop_limit <= 1))
			return xvs_pass(XVS_R_PASS_TTL);
		o->hop_limit -= XVS_TTL_DEC; /* not in the pseudo-header: no checksum covers it */
		/* ICMPv6's checksum covers the pseudo-header (outer addresses) as well. */
		odiff = xvs_csum_diff16(odiff, (__u32 *)&o->saddr, osrc);
		odiff = xvs_csum_diff16(odiff, (__u32 *)&o->daddr, odst);
		__builtin_memcpy(&o->saddr, osrc, 16);
		__builtin_memcpy(&o->daddr, odst, 16);
		idiff = xvs_csum_diff16(odiff, (__u32 *)&q->saddr, qsrc);
		idiff = xvs_csum_diff16(idiff, (__u32 *)&q->daddr, qdst);
		__builtin_memcpy(&q->saddr, qsrc, 16);
		__builtin_memcpy(&q->daddr, qdst, 16);
		idiff = xvs_csum_diff2(idiff, qp->source, qsport);
		idiff = xvs_csum_diff2(idiff, qp->dest, qdport);
		qp->source = qsport;
		qp->dest = qdport;
		xvs_csum_apply((__u16 *)(icmp + 2), idiff);
	}
	return XVS_CONTINUE;
}

/* The walk of an ICMP/ICMPv6 packet; f holds the outer addresses, af, l3_len and flowinfo. */
static __always_inline int xvs_icmp_error(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
					  struct xvs_flow *f)
{
	void *data = p->data, *data_end = p->data_end;
	int v6 = f->key.af == XVS_AF_INET6;
	int l3 = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	struct xvs_conn_key key = {};
	struct xvs_conn_key *rval;
	struct xvs_conn *conn;
	struct xvs_dest *dest;
	struct xvs_l4ports *qp;
	__u8 *icmp = data + sizeof(struct ethhdr) + l3;
	void *q = icmp + 8;
	__u8 qproto;
	__u64 now;
	int rc;

	/* ICMP header + the quoted fixed IP header + its ports. */
	if (q + l3 + sizeof(*qp) > data_end)
		return xvs_pass(XVS_R_PASS_NOT_L4);
	if (!xvs_icmp_is_error(v6, icmp[0]))
		return xvs_pass(XVS_R_PASS_NOT_L4);
	if (unlikely(f->l3_len > p->len - sizeof(struct ethhdr) || f->l3_len < l3 + 8 + l3 + sizeof(*qp)))
		return xvs_pass(XVS_R_PASS_NOT_L4);
	qp = q + l3;
	if (!v6) {
		struct iphdr *qi = q;

		if (*(__u8 *)qi != 0x45)
			return xvs_pass(XVS_R_PASS_NOT_L4);
		qproto = qi->protocol;
		key.saddr[0] = qi->daddr;
		key.daddr[0] = qi->saddr;
	} else {
		struct ipv6hdr *qi = q;

		qproto = qi->nexthdr;
		__builtin_memcpy(key.saddr, &qi->daddr, 16);
		__builtin_memcpy(key.daddr, &qi->saddr, 16);
	}
	if (qproto != IPPROTO_TCP && qproto != IPPROTO_UDP)
		return xvs_pass(XVS_R_PASS_NOT_L4);
	/* The quoted packet reversed is the client's direction of a connection. */
	key.sport = qp->dest;
	key.dport = qp->source;
	key.proto = qproto;
	key.af = f->key.af;
	now = xvs_now();

	conn = bpf_map_lookup_elem(&xvs_conns, &key);
	if (conn) {
		__u32 dest_id = conn->dest_id;
		struct xvs_nh *nh;
		struct xvs_route r = { .src = f->key.saddr, .len = f->l3_len };

		dest = bpf_map_lookup_elem(&xvs_dests, &dest_id);
		if (!xvs_dest_usable(dest, conn->svc_id))
			return xvs_drop(XVS_R_DROP_DEST_GONE);
		if (conn->fwd == XVS_FWD_DROUTE || conn->fwd == XVS_FWD_TUNNEL) {
			rc = conn->fwd == XVS_FWD_DROUTE
				     ? xvs_fwd_dr(ctx, p, eth, f, dest_id, dest, now)
				     : xvs_fwd_tun(ctx, p, f, dest_id, dest, now);
			/* Counted as forwarded only when it is (not when passed, e.g. TTL 1). */
			if (rc == XVS_V_TX || rc == XVS_V_REDIRECT)
				xvs_count(XVS_R_FWD_ICMP);
			return rc;
		}
		if (!xvs_fwd_has_reply(conn->fwd))
			return xvs_drop(XVS_R_DROP_DEST_GONE);
		nh = bpf_map_lookup_elem(&xvs_nh_cache, &dest_id);
		if (!nh)
			return xvs_pass(XVS_R_PASS_FIB_OTHER);
		r.dst = conn->raddr;
		rc = xvs_nh_get(ctx, p, f, &r, nh, now);
		if (rc == XVS_TOO_BIG)
			return xvs_pass(XVS_R_PASS_FIB_OTHER);
		if (rc != XVS_CONTINUE)
			return rc;
		/* Outer: (client or LIP) -> RIP; quoted: RIP:rport -> (CIP:cport or LIP:lport). */
		rc = xvs_icmp_rewrite(p, v6, conn->fwd == XVS_FWD_FULLNAT ? conn->laddr : f->key.saddr,
				      conn->raddr, conn->raddr, conn->rport, conn->laddr, conn->lport);
		if (rc != XVS_CONTINUE)
			return rc;
		xvs_count(XVS_R_FWD_ICMP);
		return xvs_l2_out(p, eth, nh);
	}

	/* From the RS side: the quoted packet reversed is a reply tuple. */
	rval = bpf_map_lookup_elem(&xvs_rconns, &key);
	if (rval) {
		struct xvs_conn_key fkey = *rval;
		struct xvs_route r = { .dst = fkey.saddr, .src = fkey.daddr, .len = f->l3_len };
		struct xvs_nh *nh;

		conn = bpf_map_lookup_elem(&xvs_conns, &fkey);
		if (!conn || conn->rport != key.sport || conn->lport != key.dport ||
		    !xvs_addr_eq(conn->raddr, key.saddr) || !xvs_addr_eq(conn->laddr, key.daddr))
			return xvs_pass(XVS_R_PASS_STALE_REPLY);
		nh = xvs_nh_client_slot(fkey.saddr);
		if (!nh)
			return xvs_pass(XVS_R_PASS_FIB_OTHER);
		rc = xvs_nh_get(ctx, p, f, &r, nh, now);
		if (rc == XVS_TOO_BIG)
			return xvs_pass(XVS_R_PASS_FIB_OTHER);
		if (rc != XVS_CONTINUE)
			return rc;
		/* Outer: VIP -> CIP; quoted: CIP:cport -> VIP:vport (what the client sent). */
		rc = xvs_icmp_rewrite(p, v6, fkey.daddr, fkey.saddr, fkey.saddr, fkey.sport, fkey.daddr,
				      fkey.dport);
		if (rc != XVS_CONTINUE)
			return rc;
		xvs_count(XVS_R_FWD_ICMP);
		return xvs_l2_out(p, eth, nh);
	}
	return xvs_pass(XVS_R_PASS_NOT_L4);
}

#endif /* XVS_ICMPERR_H */
