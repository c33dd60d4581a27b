/* xvs_core.h — the packet walk shared by the XDP and tc entry points: parse, connection lookup,
 * (on a miss) service lookup and scheduling, TCP state, counters, forward. Works on data/data_end
 * pointers and returns an enum xvs_verdict; the entry points translate it to their actions.
 *
 * Order as in the kernel's ip_vs_in(): the connection table first, the service only for packets
 * without a connection. An established flow costs one hash lookup (plus array lookups).
 *
 * Malformed packets: when the headers are too short or inconsistent to even tell whether the packet
 * is ours (Ethernet/IP header truncated, bad version, IHL < 5, ports missing), it is passed to the
 * kernel untouched (XVS_R_PASS_MALFORMED): not ours to judge, and ip_rcv() drops what is really
 * broken. Once the tuple names a connection or {proto, VIP, port} a service, anything inconsistent
 * (L4 header truncated, TCP doff < 5, IP length shorter than the headers or longer than the frame) is
 * dropped (XVS_R_DROP_MALFORMED). A malformed packet is never forwarded. The IPv4 header checksum is
 * not verified (the real server's stack does). */
#ifndef XVS_CORE_H
#define XVS_CORE_H

#include "xvs_parse.h"
#include "xvs_maps.h"
#include "xvs_conn.h"
#include "xvs_fwd.h"
#include "xvs_nat.h"
#include "xvs_tun.h"
#include "xvs_icmperr.h"

/* L3 parse into f->key (addresses, proto, af) and f->l3_len/flowinfo. Returns XVS_CONTINUE or a
 * pass verdict (the reason counted). The cursor is left at the L4 header. */
static __always_inline int xvs_parse_l3(struct xvs_hdr_cursor *nh, void *data_end, int eth_type,
					struct xvs_flow *f, __u32 *l3_hdr_len)
{
	if (likely(eth_type == XVS_ETH_P_IP_BE)) {
		struct iphdr *iph;
		__u8 ver_ihl;
		int proto = xvs_parse_iphdr(nh, data_end, &iph);

		if (unlikely(proto < 0))
			return xvs_pass(XVS_R_PASS_MALFORMED);
		/* One byte compare for the common case: version 4, no options. */
		ver_ihl = *(__u8 *)iph;
		if (unlikely(ver_ihl != 0x45)) {
			if ((ver_ihl >> 4) != 4 || (ver_ihl & 0xf) < 5)
				return xvs_pass(XVS_R_PASS_MALFORMED);
			return xvs_pass(XVS_R_PASS_IP_OPTIONS);
		}
		if (unlikely(iph->frag_off & XVS_IP_FRAG_MASK_BE))
			return xvs_pass(XVS_R_PASS_FRAGMENT);
		if (unlikely(proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP))
			return xvs_pass(XVS_R_PASS_NOT_L4);
		f->key.saddr[0] = iph->saddr;
		f->key.daddr[0] = iph->daddr;
		f->key.proto = proto;
		f->key.af = XVS_AF_INET;
		f->l3_len = bpf_ntohs(iph->tot_len);
		f->flowinfo = iph->tos;
		*l3_hdr_len = sizeof(*iph);
		return XVS_CONTINUE;
	}
	if (eth_type == XVS_ETH_P_IPV6_BE) {
		struct ipv6hdr *ip6h;
		int proto = xvs_parse_ip6hdr(nh, data_end, &ip6h);

		if (unlikely(proto < 0 || ip6h->version != 6))
			return xvs_pass(XVS_R_PASS_MALFORMED);
		if (unlikely(proto != IPPROTO_TCP && proto != IPPROTO_UDP &&
			     proto != XVS_IPPROTO_ICMPV6)) {
			if (xvs_ipv6_is_ext(proto))
				return xvs_pass(XVS_R_PASS_FRAGMENT);
			return xvs_pass(XVS_R_PASS_NOT_L4);
		}
		__builtin_memcpy(f->key.saddr, &ip6h->saddr, sizeof(f->key.saddr));
		__builtin_memcpy(f->key.daddr, &ip6h->daddr, sizeof(f->key.daddr));
		f->key.proto = proto;
		f->key.af = XVS_AF_INET6;
		/* payload_len 0 (jumbogram) fails the length check below. */
		f->l3_len = bpf_ntohs(ip6h->payload_len) + sizeof(*ip6h);
		f->flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
		*l3_hdr_len = sizeof(*ip6h);
		return XVS_CONTINUE;
	}
	return xvs_pass(XVS_R_PASS_NOT_IP);
}

/* The whole L4 header must be there and the IP length must cover the headers and fit the frame.
 * Reads the TCP flags. Returns 0, or -1 for a malformed packet. */
static __always_inline int xvs_check_l4(struct xvs_hdr_cursor *nh, void *data_end,
					struct xvs_flow *f, __u32 l3_hdr_len, __u32 frame_len)
{
	int l4_hdr_len;

	if (f->key.proto == XVS_PROTO_TCP) {
		struct tcphdr *th;

		l4_hdr_len = xvs_parse_tcphdr(nh, data_end, &th);
		if (unlikely(l4_hdr_len < 0))
			return -1;
		f->tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh;

		l4_hdr_len = xvs_parse_udphdr(nh, data_end, &uh);
		if (unlikely(l4_hdr_len < 0))
			return -1;
	}
	if (unlikely(f->l3_len < l3_hdr_len + l4_hdr_len ||
		     f->l3_len > frame_len - sizeof(struct ethhdr)))
		return -1;
	return 0;
}

/* Looks up the service of a packet without a (usable) connection. As ip_vs_service_find(): the exact
 * {proto, VIP, port} first, then, only while a port-zero service exists (the kernel's nullsvc_counter),
 * the VIP's catch-all port-zero service (always persistent: the control plane refuses others). */
static __always_inline struct xvs_svc *xvs_svc_lookup(const struct xvs_flow *f)
{
	struct xvs_svc_key skey = {};
	struct xvs_svc *svc;
	struct xvs_cfg *cfg;
	__u32 zero = 0;

	__builtin_memcpy(skey.addr, f->key.daddr, sizeof(skey.addr));
	skey.port = f->key.dport;
	skey.proto = f->key.proto;
	skey.af = f->key.af;
	svc = bpf_map_lookup_elem(&xvs_svcs, &skey);
	if (likely(svc))
		return svc;
	cfg = bpf_map_lookup_elem(&xvs_cfg, &zero);
	if (!cfg || !(cfg->flags & XVS_CFG_F_NULLSVC) || skey.port == 0)
		return NULL;
	skey.port = 0;
	return bpf_map_lookup_elem(&xvs_svcs, &skey);
}

/* The NAT/FULLNAT connection a real server's reply belongs to, through the reverse index. NULL if the
 * tuple is not in the index, or if its entry is stale: the connection expired or no longer answers to
 * this tuple (*stale is set then; such entries are ignored). *fkey receives the connection's key (a
 * copy: the index entry may change under us). */
static __always_inline struct xvs_conn *xvs_reply_find(const struct xvs_flow *f,
						       struct xvs_conn_key *fkey, int *stale)
{
	struct xvs_conn_key *rval = bpf_map_lookup_elem(&xvs_rconns, &f->key);
	struct xvs_conn *conn;

	if (!rval)
		return NULL;
	*fkey = *rval;
	conn = bpf_map_lookup_elem(&xvs_conns, fkey);
	if (unlikely(!xvs_rev_answers(conn, &f->key))) {
		*stale = 1;
		return NULL;
	}
	return conn;
}

/* A reply from a real server of a NAT/FULLNAT connection (found by xvs_reply_find). */
static __always_inline int xvs_reply(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
				     struct xvs_hdr_cursor *nh, struct xvs_flow *f, __u32 l3_hdr_len,
				     const struct xvs_conn_key *fkey, struct xvs_conn *conn)
{
	struct xvs_dest *dest;
	__u64 now;

	if (unlikely(xvs_check_l4(nh, p->data_end, f, l3_hdr_len, p->len)))
		return xvs_drop(XVS_R_DROP_MALFORMED);
	dest = bpf_map_lookup_elem(&xvs_dests, &conn->dest_id);
	if (unlikely(!xvs_dest_usable(dest, conn->svc_id)))
		return xvs_drop(XVS_R_DROP_DEST_GONE);
	now = xvs_now();
	if (unlikely(!(conn->flags & XVS_CONN_F_OUTPUT)))
		conn->flags |= XVS_CONN_F_OUTPUT;
	if (f->key.proto == XVS_PROTO_TCP) {
		__u8 next = xvs_tcp_next_state2(conn->state, f->tcp_flags, 1);

		if (unlikely(next != conn->state)) {
			xvs_conn_set_tcp_state(conn, next);
			xvs_sync_emit(fkey, conn);
		}
	}
	if (conn->last_seen_ns != now)
		conn->last_seen_ns = now;
	/* As ip_vs_out_stats(). */
	xvs_stats_out(&xvs_svc_st, conn->svc_id, f->l3_len);
	xvs_stats_out(&xvs_dest_st, conn->dest_id, f->l3_len);
	return xvs_fwd_nat_out(ctx, p, eth, f, fkey, now);
}

/* Forwards a packet from its tuple's valid cache entry as the full walk would have: the same checks
 * (whole headers, the next hop's length, TTL), stats, counters and rewrite. Returns a verdict, or
 * XVS_CONTINUE (nothing written) when the packet needs the full walk: it is malformed, carries SYN,
 * FIN or RST, or is longer than the entry vouches for. */
static __always_inline int xvs_fc_forward(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
					  struct xvs_hdr_cursor *nh, struct xvs_flow *f, __u32 l3_hdr_len,
					  const struct xvs_fc *e)
{
	struct xvs_hdr_cursor l4 = *nh; /* the walk parses the L4 header again from *nh */
	__u8 kind = e->kind;
	__u32 len;
	int rc;

	if (unlikely(xvs_check_l4(&l4, p->data_end, f, l3_hdr_len, p->len)))
		return XVS_CONTINUE;
	if (unlikely(!xvs_fc_plain(f->key.proto, f->tcp_flags)))
		return XVS_CONTINUE;
	len = kind == XVS_FC_TUN ? xvs_tun_len(ctx, p, f) : f->l3_len;
	if (unlikely(len > e->ok_len))
		return XVS_CONTINUE;
	if (e->reply) {
		xvs_stats_out(&xvs_svc_st, e->svc_id, f->l3_len);
		xvs_stats_out(&xvs_dest_st, e->dest_id, f->l3_len);
	} else {
		xvs_stats_in(&xvs_svc_st, e->svc_id, f->l3_len, 0);
		xvs_stats_in(&xvs_dest_st, e->dest_id, f->l3_len, 0);
	}
	if (kind == XVS_FC_DR) {
		rc = xvs_ttl_step(ctx, p, f->key.af);
	} else if (kind == XVS_FC_NAT) {
		rc = xvs_nat_rewrite(ctx, p, f->key.af, f->key.proto, e->saddr, e->sport, e->daddr,
				     e->dport);
		if (p->is_skb)
			eth = p->data; /* the checksum helper invalidated the old pointer */
		if (e->reply && rc == XVS_CONTINUE)
			xvs_count(XVS_R_FWD_REPLY);
	} else {
		rc = xvs_tun_encap(ctx, p, f, e->saddr, e->daddr);
		eth = p->data;
	}
	if (rc != XVS_CONTINUE)
		return rc; /* TTL 1: passed as it came, as the walk does */
	xvs_count(XVS_R_FC_HIT);
	return xvs_l2_emit(p, eth, e->dmac, e->smac, e->out_ifindex);
}

/* The flow cache's step 3 (xvs_fc.h), at the start of the packet after an armed one on this CPU: the
 * armed packet's connection as it is now (after that packet) decides whether it may be cached (TCP:
 * ESTABLISHED and the packet a plain ACK; UDP: any), and the entry is filled from the connection, its
 * dest and the next hop the walk just used (still fresh, for the same destination and ingress). */
static __always_inline void xvs_fc_commit(__u32 gen)
{
	struct xvs_fc_pend *pd = bpf_map_lookup_elem(&xvs_fc_pend, (const void *)&xvs_key0);
	__u32 slot, dest_id;
	const struct xvs_conn_key *fkey;
	const __u32 *saddr, *daddr;
	__be16 sport, dport;
	struct xvs_conn *conn;
	struct xvs_dest *dest;
	struct xvs_nh *nh;
	struct xvs_fc *e;
	__u8 kind, proto;

	if (likely(!pd || !pd->armed))
		return;
	pd->armed = 0;
	slot = pd->slot;
	e = bpf_map_lookup_elem(&xvs_fc, &slot);
	/* Claimed under the current generation and not filled since. */
	if (!e || e->expires != 0 || e->gen != gen)
		return;
	proto = e->key.proto;
	if (proto == XVS_PROTO_TCP) {
		if (!xvs_fc_plain(proto, pd->tcp_flags))
			return;
	} else if (proto != XVS_PROTO_UDP) {
		return;
	}
	if (pd->reply) {
		fkey = bpf_map_lookup_elem(&xvs_rconns, &e->key);
		if (!fkey)
			return;
		conn = bpf_map_lookup_elem(&xvs_conns, fkey);
		if (!xvs_rev_answers(conn, &e->key))
			return;
	} else {
		fkey = &e->key;
		conn = bpf_map_lookup_elem(&xvs_conns, fkey);
		if (!conn)
			return;
	}
	if (proto == XVS_PROTO_TCP && conn->state != XVS_TCP_S_ESTABLISHED)
		return;
	dest_id = conn->dest_id;
	dest = bpf_map_lookup_elem(&xvs_dests, &dest_id);
	if (!xvs_dest_usable(dest, conn->svc_id))
		return;

	/* What the walk's forwarding step used: the next hop and the rewritten tuple. */
	if (pd->reply) {
		if (!xvs_fwd_has_reply(conn->fwd))
			return;
		kind = XVS_FC_NAT;
		nh = xvs_nh_client_slot(fkey->saddr);
		daddr = fkey->saddr;
		dport = fkey->sport;
		saddr = fkey->daddr;
		sport = fkey->dport;
	} else {
		nh = bpf_map_lookup_elem(&xvs_nh_cache, &dest_id);
		if (conn->fwd == XVS_FWD_DROUTE) {
			kind = XVS_FC_DR;
			daddr = dest->addr;
		} else if (conn->fwd == XVS_FWD_TUNNEL) {
			kind = XVS_FC_TUN;
			daddr = dest->addr;
		} else if (conn->fwd == XVS_FWD_MASQ || conn->fwd == XVS_FWD_FULLNAT) {
			kind = XVS_FC_NAT;
			daddr = conn->raddr;
		} else {
			return;
		}
		dport = conn->rport;
		if (conn->fwd == XVS_FWD_FULLNAT) {
			saddr = conn->laddr;
			sport = conn->lport;
		} else {
			saddr = fkey->saddr;
			sport = fkey->sport;
		}
	}
	if (!nh || !xvs_nh_fresh(nh, pd->in_ifindex, daddr, xvs_now()))
		return;
	if (kind == XVS_FC_TUN) {
		if (!nh->src[0] && !nh->src[3])
			return;
		saddr = nh->src;
	}
	__builtin_memcpy(e->saddr, saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, daddr, sizeof(e->daddr));
	e->sport = sport;
	e->dport = dport;
	__builtin_memcpy(e->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(e->smac, nh->smac, ETH_ALEN);
	e->svc_id = conn->svc_id;
	e->dest_id = dest_id;
	e->ok_len = nh->ok_len;
	e->in_ifindex = nh->in_ifindex;
	e->out_ifindex = nh->out_ifindex;
	e->kind = kind;
	e->reply = pd->reply;
	e->expires = bpf_jiffies64() + CONFIG_HZ / XVS_FC_TTL_DIV;
	xvs_count(XVS_R_FC_FILL);
}

/* The flow cache in front of the walk: a valid entry of the tuple forwards the packet (a verdict is
 * returned); otherwise the tuple claims its slot and XVS_CONTINUE is returned. */
static __always_inline int xvs_fc_lookup(void *ctx, struct xvs_pkt *p, struct ethhdr *eth,
					 struct xvs_hdr_cursor *nh, struct xvs_flow *f, __u32 l3_hdr_len)
{
	__u32 zero = 0, slot = xvs_fc_slot(&f->key), gen;
	struct xvs_fc_ctl *ctl = bpf_map_lookup_elem(&xvs_fc_ctl, &zero);
	struct xvs_fc *e;
	int rc;

	p->fc_slot = slot;
	if (unlikely(!ctl) || unlikely(ctl->flags & XVS_FC_F_OFF) || unlikely(CONFIG_HZ == 0))
		return XVS_CONTINUE;
	gen = *(volatile __u32 *)&ctl->gen;
	xvs_fc_commit(gen);
	e = bpf_map_lookup_elem(&xvs_fc, &slot);
	if (unlikely(!e))
		return XVS_CONTINUE;
	if (xvs_key_eq(&e->key, &f->key) && xvs_fc_valid(e, gen) && e->in_ifindex == p->ifindex) {
		rc = xvs_fc_forward(ctx, p, eth, nh, f, l3_hdr_len, e);
		if (rc != XVS_CONTINUE)
			return rc;
	}
	xvs_fc_claim(e, &f->key, gen);
	return XVS_CONTINUE;
}

static __always_inline int xvs_process(void *ctx, struct xvs_pkt *p)
{
	void *data_end = p->data_end;
	struct xvs_hdr_cursor nh = { .pos = p->data };
	struct xvs_conn_target t = {};
	struct xvs_flow f = {};
	struct xvs_l4ports *ports;
	struct xvs_conn *conn, *rconn;
	struct xvs_svc *svc;
	struct ethhdr *eth;
	__u32 l3_hdr_len = 0, svc_id;
	__u64 now;
	int eth_type, rc, hinted, stale = 0;

	eth_type = xvs_parse_ethhdr(&nh, data_end, &eth);
	if (unlikely(eth_type < 0))
		return xvs_pass(XVS_R_PASS_MALFORMED);
	rc = xvs_parse_l3(&nh, data_end, eth_type, &f, &l3_hdr_len);
	if (rc != XVS_CONTINUE)
		return rc;
	if (unlikely(f.key.proto == IPPROTO_ICMP || f.key.proto == XVS_IPPROTO_ICMPV6))
		return xvs_icmp_error(ctx, p, eth, &f);
	if (unlikely(xvs_parse_l4ports(&nh, data_end, &ports) < 0))
		return xvs_pass(XVS_R_PASS_MALFORMED);
	f.key.sport = ports->source;
	f.key.dport = ports->dest;

	/* An established flow this CPU forwarded a moment ago: from the cache (xvs_fc.h). Otherwise the
	 * tuple claims its slot, and the full walk arms a fill if the packet may be cached. */
	rc = xvs_fc_lookup(ctx, p, eth, &nh, &f, l3_hdr_len);
	if (rc != XVS_CONTINUE)
		return rc;

	/* From the RS port of a NAT/FULLNAT connection: most likely a reply, so the reverse index first
	 * (a miss or a stale entry goes on as any packet). Other packets look up their connection first.
	 * The order only matters for a tuple that is at once a live reply tuple and a live client
	 * connection's key (an RS that is also a client of a VIP equal to a LIP/CIP, from its RS port):
	 * from a marked port it is taken as the reply. */
	hinted = xvs_rport_hinted(f.key.sport);
	if (hinted) {
		struct xvs_conn_key fkey;

		rconn = xvs_reply_find(&f, &fkey, &stale);
		if (rconn)
			return xvs_reply(ctx, p, eth, &nh, &f, l3_hdr_len, &fkey, rconn);
	}
	conn = bpf_map_lookup_elem(&xvs_conns, &f.key);
	if (likely(conn)) {
		if (unlikely(xvs_check_l4(&nh, data_end, &f, l3_hdr_len, p->len)))
			return xvs_drop(XVS_R_DROP_MALFORMED);
		/* Tick resolution is plenty for idle timeouts (xvs_now: jiffies, no helper call). */
		now = xvs_now();
		if (unlikely(xvs_tcp_is_syn(f.tcp_flags) && xvs_tcp_is_reusable(conn->state) &&
			     !xvs_svc_persistent(conn->svc_id))) {
			/* A new connection on a closing tuple: never drop the SYN, schedule it afresh with
			 * the service as it is now. */
			svc = xvs_svc_lookup(&f);
			if (!svc)
				return xvs_pass(XVS_R_PASS_NO_SERVICE);
			svc_id = svc->id;
			rc = xvs_conn_open(&f.key, svc_id, f.tcp_flags, now, conn, XVS_DEST_NONE, &t);
			if (rc)
				return xvs_drop(rc);
		} else {
			svc_id = conn->svc_id;
			t.dest_id = conn->dest_id;
			t.dest = bpf_map_lookup_elem(&xvs_dests, &t.dest_id);
			if (unlikely(!xvs_dest_usable(t.dest, svc_id)))
				return xvs_drop(XVS_R_DROP_DEST_GONE);
			if (f.key.proto == XVS_PROTO_TCP) {
				/* NAT/FULLNAT connections that saw a reply use IPVS's two-way table. */
				__u8 next = likely(!(conn->flags & XVS_CONN_F_OUTPUT))
						    ? xvs_tcp_next_state(conn->state, f.tcp_flags)
						    : xvs_tcp_next_state2(conn->state, f.tcp_flags, 0);

				if (unlikely(next != conn->state)) {
					xvs_conn_set_tcp_state(conn, next);
					xvs_sync_emit(&f.key, conn);
				}
			}
			/* Write only when the tick moved: keeps the entry's cache line clean. */
			if (conn->last_seen_ns != now)
				conn->last_seen_ns = now;
			t.fwd = conn->fwd;
		}
	} else {
		/* Not a client's packet of a connection: maybe a real server's reply (NAT/FULLNAT). */
		if (!hinted) {
			struct xvs_conn_key fkey;

			rconn = xvs_reply_find(&f, &fkey, &stale);
			if (rconn)
				return xvs_reply(ctx, p, eth, &nh, &f, l3_hdr_len, &fkey, rconn);
		}
		if (stale)
			return xvs_pass(XVS_R_PASS_STALE_REPLY);
		svc = xvs_svc_lookup(&f);
		if (!svc)
			return xvs_pass(XVS_R_PASS_NO_SERVICE);
		svc_id = svc->id;
		/* Ours from here on: the headers must be whole and consistent. */
		if (unlikely(xvs_check_l4(&nh, data_end, &f, l3_hdr_len, p->len)))
			return xvs_drop(XVS_R_DROP_MALFORMED);
		/* TCP opens on SYN only; any UDP datagram opens a connection. */
		if (f.key.proto == XVS_PROTO_TCP && !xvs_tcp_is_syn(f.tcp_flags))
			return xvs_drop(XVS_R_DROP_NO_CONN_NOT_SYN);
		now = xvs_now();
		if (unlikely(svc->flags & XVS_SVC_F_OPS) && f.key.proto == XVS_PROTO_UDP)
			rc = xvs_ops_open(&f.key, svc_id, now, &t);
		else
			rc = xvs_conn_open(&f.key, svc_id, f.tcp_flags, now, NULL, XVS_DEST_NONE, &t);
		if (rc)
			return xvs_drop(rc);
	}
	if (unlikely(!t.dest))
		return xvs_drop(XVS_R_DROP_DEST_GONE); /* unreachable; tells the verifier dest != NULL */

	/* As ip_vs_in_stats(): every packet that belongs to a connection, before transmission. */
	xvs_stats_in(&xvs_svc_st, svc_id, f.l3_len, t.new_conn);
	xvs_stats_in(&xvs_dest_st, t.dest_id, f.l3_len, t.new_conn);

	if (likely(t.fwd == XVS_FWD_DROUTE))
		return xvs_fwd_dr(ctx, p, eth, &f, t.dest_id, t.dest, now);
	if (t.fwd == XVS_FWD_MASQ || t.fwd == XVS_FWD_FULLNAT) {
		/* The RS side lives in the entry (a new one: read back once). */
		if (!conn)
			conn = bpf_map_lookup_elem(&xvs_conns, &f.key);
		if (unlikely(!conn))
			return xvs_drop(XVS_R_DROP_CONN_FULL);
		return xvs_fwd_nat_in(ctx, p, eth, &f, t.dest_id, conn, now);
	}
	if (t.fwd == XVS_FWD_TUNNEL)
		return xvs_fwd_tun(ctx, p, &f, t.dest_id, t.dest, now);
	/* Forwarding methods this data path does not implement: never forward blindly. */
	return xvs_drop(XVS_R_DROP_DEST_GONE);
}

#endif /* XVS_CORE_H */
