/* xvs_conn.h — the connection table logic: IPVS's TCP state machine (input-only variant, DR/TUN never
 * see replies) with the kernel's activeconns/inactconns accounting, and taking scheduling decisions
 * from a service's ring to open (or reopen) a connection entry. */
#ifndef XVS_CONN_H
#define XVS_CONN_H

#include "xvs_maps.h"
#include "xvs_sched.h"
#include "xvs_lblc.h"
#include "xvs_rev.h"

/* The INPUT-ONLY rows of tcp_states[] in net/netfilter/ipvs/ip_vs_proto_tcp.c (the table used for
 * connections flagged IP_VS_CONN_F_NOOUTPUT, i.e. every non-NAT forwarding method), packed as 11
 * next-state nibbles per event so a transition is a shift and a mask: no table in memory, no bounds
 * check for the verifier. Nibble i is the next state when the current state is i. */
#define XVS_TCP_ROW(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10)                                   \
	((__u64)(s0) | (__u64)(s1) << 4 | (__u64)(s2) << 8 | (__u64)(s3) << 12 | (__u64)(s4) << 16 |     \
	 (__u64)(s5) << 20 | (__u64)(s6) << 24 | (__u64)(s7) << 28 | (__u64)(s8) << 32 |                \
	 (__u64)(s9) << 36 | (__u64)(s10) << 40)

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
/* Index of the event rows, as tcp_state_idx() numbers them. */
enum { XVS_TCP_EV_SYN = 0, XVS_TCP_EV_FIN, XVS_TCP_EV_ACK, XVS_TCP_EV_RST };

static __always_inline __u64 xvs_tcp_input_only_row(int event)
{
	switch (event) {
	/*                                 sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA */
	case XVS_TCP_EV_SYN: return XVS_TCP_ROW(sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR);
	case XVS_TCP_EV_FIN: return XVS_TCP_ROW(sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW);
	case XVS_TCP_EV_ACK: return XVS_TCP_ROW(sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES);
	default:             return XVS_TCP_ROW(sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL);
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

/* States in which a new SYN on the same tuple starts a new connection (rescheduled inline) instead
 * of joining the old one. TIME_WAIT and CLOSE are the kernel's conn_reuse_mode default; FIN_WAIT is
 * its conn_reuse_mode bit 2 for NOOUTPUT conns; CLOSE_WAIT and LAST_ACK are unreachable in the
 * input-only table but are closing states all the same. */
#define XVS_TCP_REUSE_MASK                                                                          \
	((1U << XVS_TCP_S_TIME_WAIT) | (1U << XVS_TCP_S_CLOSE) | (1U << XVS_TCP_S_FIN_WAIT) |            \
	 (1U << XVS_TCP_S_CLOSE_WAIT) | (1U << XVS_TCP_S_LAST_ACK))

/* A SYN that may open a connection: SYN without ACK and RST. */
static __always_inline int xvs_tcp_is_syn(__u8 tcp_flags)
{
	return (tcp_flags & (XVS_TCP_SYN | XVS_TCP_ACK | XVS_TCP_RST)) == XVS_TCP_SYN;
}

static __always_inline int xvs_tcp_is_reusable(__u8 state)
{
	return state < 32 && ((XVS_TCP_REUSE_MASK >> state) & 1);
}

/* set_tcp_state()'s lookup: the event is chosen rst first, then syn, fin, ack; a segment with none of
 * those flags moves the connection to CLOSE, as in the kernel (tcp_state_idx() < 0). */
static __always_inline __u8 xvs_tcp_next_state(__u8 state, __u8 tcp_flags)
{
	__u64 row;

	if (tcp_flags & XVS_TCP_RST)
		row = xvs_tcp_input_only_row(XVS_TCP_EV_RST);
	else if (tcp_flags & XVS_TCP_SYN)
		row = xvs_tcp_input_only_row(XVS_TCP_EV_SYN);
	else if (tcp_flags & XVS_TCP_FIN)
		row = xvs_tcp_input_only_row(XVS_TCP_EV_FIN);
	else if (tcp_flags & XVS_TCP_ACK)
		row = xvs_tcp_input_only_row(XVS_TCP_EV_ACK);
	else
		return XVS_TCP_S_CLOSE;
	if (unlikely(state >= XVS_TCP_S_LAST))
		return XVS_TCP_S_CLOSE;
	return (row >> (state * 4)) & 0xf;
}

/* The counter half of set_tcp_state(): a connection is in activeconns while ESTABLISHED and not
 * flagged INACTIVE; leaving ESTABLISHED moves it to inactconns and back again on re-entry. */
static __always_inline void xvs_conn_set_tcp_state(struct xvs_conn *conn, __u8 new_state)
{
	__u16 flags = conn->flags;

	if (!(flags & XVS_CONN_F_INACTIVE) && new_state != XVS_TCP_S_ESTABLISHED) {
		xvs_dcnt_add(conn->dest_id, -1, 1);
		conn->flags = flags | XVS_CONN_F_INACTIVE;
	} else if ((flags & XVS_CONN_F_INACTIVE) && new_state == XVS_TCP_S_ESTABLISHED) {
		xvs_dcnt_add(conn->dest_id, 1, -1);
		conn->flags = flags & ~XVS_CONN_F_INACTIVE;
	}
	conn->state = new_state;
}

/* A dest a connection may still be forwarded to: live and still owned by the same service (ids of
 * deleted dests are reused by the control plane). */
static __always_inline int xvs_dest_usable(const struct xvs_dest *dest, __u32 svc_id)
{
	return dest && (dest->flags & XVS_DEST_F_AVAILABLE) && dest->svc_id == svc_id;
}

/* Takes decision cons++ from the service's ring. Returns 0 with the dest, or a drop reason. */
static __always_inline int xvs_sched_ring(__u32 svc_id, __u8 af, __u32 *dest_id,
					  struct xvs_dest **dest)
{
	struct xvs_ring *ring = bpf_map_lookup_elem(&xvs_rings, &svc_id);
	struct xvs_dest *d;
	__u64 prod, i;
	__u32 id;

	if (unlikely(!ring))
		return XVS_R_DROP_NO_DEST;
	/* The control plane writes slots before it advances prod (release); one read of prod. */
	prod = *(volatile __u64 *)&ring->prod;
	if (unlikely(prod == 0))
		return XVS_R_DROP_NO_DEST;
	i = __sync_fetch_and_add(&ring->cons, 1);
	if (unlikely(i >= prod))
		xvs_count(XVS_R_RING_EXHAUSTED); /* the slot holds an older decision: still a dest */
	id = ring->slot[i & XVS_RING_MASK];
	d = bpf_map_lookup_elem(&xvs_dests, &id);
	/* DR/TUN forward the packet as it came: a dest of the other family cannot take it. */
	if (unlikely(!xvs_dest_usable(d, svc_id) || d->af != af))
		return XVS_R_DROP_DEST_GONE;
	*dest_id = id;
	*dest = d;
	return 0;
}

/* The new connection's dest: from the service's hash table (sh, dh, mh) when it has one, else the next
 * decision of its ring. Returns 0 with the dest, or a drop reason. */
static __always_inline int xvs_sched_pick(const struct xvs_conn_key *key, __u32 svc_id, __u64 now,
					  __u32 *dest_id, struct xvs_dest **dest)
{
	struct xvs_sched_tab *tab = bpf_map_lookup_elem(&xvs_sched_tab, &svc_id);
	struct xvs_dest *d;
	__u32 id;

	if (likely(!tab))
		return xvs_sched_ring(svc_id, key->af, dest_id, dest);
	if (tab->kind == XVS_SCHED_LBLC || tab->kind == XVS_SCHED_LBLCR) {
		/* lblc/lblcr (xvs_lblc.h): the cached dest, else the ring's least-connection pick, learnt. */
		struct xvs_lblc *en;
		int rc;

		id = xvs_lblc_lookup(tab, key, svc_id, now, &en);
		if (id == XVS_DEST_NONE) {
			rc = xvs_sched_ring(svc_id, key->af, dest_id, dest);
			if (!rc)
				xvs_lblc_learn(tab, key, svc_id, now, en, *dest_id);
			return rc;
		}
	} else {
		id = xvs_sched_hash(tab, key, svc_id);
	}
	if (id == XVS_DEST_NONE)
		return XVS_R_DROP_NO_DEST; /* the kernel's scheduler returned NULL */
	d = bpf_map_lookup_elem(&xvs_dests, &id);
	if (unlikely(!xvs_dest_usable(d, svc_id) || d->af != key->af))
		return XVS_R_DROP_DEST_GONE;
	*dest_id = id;
	*dest = d;
	return 0;
}

/* A persistent service's connections are controlled by their template: is_new_conn_expected() never
 * lets a SYN reschedule such a connection on a closing tuple; the old entry takes it (and its state
 * machine moves on, e.g. TIME_WAIT -> SYN_RECV), on the same dest the template would give. */
static __always_inline int xvs_svc_persistent(__u32 svc_id)
{
	struct xvs_persist *p = bpf_map_lookup_elem(&xvs_persist, &svc_id);

	return p && (p->flags & XVS_PERSIST_F_ON);
}

/* ip_vs_sched_persist(): a persistent service pins a client (its address under the service's mask) to
 * the dest of its template. A template whose dest is no longer usable is replaced (ip_vs_check_template:
 * a weight-0 dest stays usable, as with expire_quiescent_template = 0, the default). A hit re-arms the
 * template for its full timeout, as the kernel's ip_vs_conn_put() of the template does; the scheduler
 * runs only for a client without a valid template. Expiry is the control plane's GC (src/control/gc.ts),
 * which keeps a template while connections of its client live (the kernel's n_control). */
static __always_inline int xvs_sched_persist(const struct xvs_conn_key *key, __u32 svc_id, __u64 now,
					     __u32 *dest_id, struct xvs_dest **dest)
{
	struct xvs_persist *p = bpf_map_lookup_elem(&xvs_persist, &svc_id);
	struct xvs_tmpl_key tk = {};
	struct xvs_tmpl nt = {};
	struct xvs_tmpl *tp;
	struct xvs_dest *d;
	__u32 id;
	int rc;

	if (likely(!p || !(p->flags & XVS_PERSIST_F_ON)))
		return xvs_sched_pick(key, svc_id, now, dest_id, dest);
	tk.addr[0] = key->saddr[0] & p->mask[0];
	tk.addr[1] = key->saddr[1] & p->mask[1];
	tk.addr[2] = key->saddr[2] & p->mask[2];
	tk.addr[3] = key->saddr[3] & p->mask[3];
	tk.svc_id = svc_id;
	tk.af = key->af;
	tp = bpf_map_lookup_elem(&xvs_tmpls, &tk);
	if (tp) {
		id = tp->dest_id;
		d = bpf_map_lookup_elem(&xvs_dests, &id);
		if (likely(xvs_dest_usable(d, svc_id) && d->af == key->af)) {
			if (tp->last_seen_ns != now)
				tp->last_seen_ns = now;
			*dest_id = id;
			*dest = d;
			return 0;
		}
	}
	rc = xvs_sched_pick(key, svc_id, now, dest_id, dest);
	if (rc)
		return rc;
	nt.last_seen_ns = now;
	nt.created_ns = now;
	nt.dest_id = *dest_id;
	nt.timeout_s = p->timeout_s;
	if (tp) {
		/* The invalid template is replaced in place: the new one starts afresh. */
		*tp = nt;
		return 0;
	}
	if (bpf_map_update_elem(&xvs_tmpls, &tk, &nt, BPF_NOEXIST) == -XVS_EEXIST) {
		/* Another CPU created this client's template since our lookup: follow it. */
		tp = bpf_map_lookup_elem(&xvs_tmpls, &tk);
		if (tp) {
			id = tp->dest_id;
			d = bpf_map_lookup_elem(&xvs_dests, &id);
			if (xvs_dest_usable(d, svc_id) && d->af == key->af) {
				*dest_id = id;
				*dest = d;
			}
		}
	}
	return 0;
}

/* Result of opening a connection: where the packet goes. */
struct xvs_conn_target {
	struct xvs_dest *dest;
	__u32 dest_id;
	__u8 fwd;
	__u8 new_conn; /* 1 if this packet created a connection (the conns counters count it) */
};

/* Schedules a new connection for `key` and records it: inserted, or written over `old` when a SYN
 * reuses a closing tuple. Returns 0 with *t filled, or a drop reason.
 *
 * Counting as the kernel does: ip_vs_bind_dest() puts every new connection in inactconns (the dest's
 * conn_flags always carry IP_VS_CONN_F_INACTIVE, see __ip_vs_update_dest()), then TCP's first SYN
 * moves NONE -> SYN_RECV, which is not ESTABLISHED, so it stays inactive. UDP has no state
 * transitions that touch the counters: a UDP connection stays in inactconns for its whole life (what
 * ipvsadm -Ln shows for UDP services). */
static __always_inline int xvs_conn_open(struct xvs_conn_key *key, __u32 svc_id, __u8 tcp_flags,
					 __u64 now, struct xvs_conn *old, __u32 pick,
					 struct xvs_conn_target *t)
{
	struct xvs_conn nc = {};
	struct xvs_dest *dest;
	__u32 dest_id;
	int rc;

	if (pick == XVS_DEST_NONE) {
		rc = xvs_sched_persist(key, svc_id, now, &dest_id, &dest);
		if (rc)
			return rc;
	} else {
		/* Already scheduled (a one-packet service's NAT/FULLNAT datagram, see xvs_ops_open). */
		dest_id = pick;
		dest = bpf_map_lookup_elem(&xvs_dests, &dest_id);
		if (!dest)
			return XVS_R_DROP_DEST_GONE;
	}

	nc.last_seen_ns = now;
	nc.created_ns = now;
	nc.dest_id = dest_id;
	nc.svc_id = svc_id;
	nc.fwd = dest->fwd;
	nc.flags = XVS_CONN_F_INACTIVE;
	nc.state = key->proto == XVS_PROTO_TCP ? xvs_tcp_next_state(XVS_TCP_S_NONE, tcp_flags)
					       : XVS_TCP_S_NONE;

	/* NAT/FULLNAT: the RS side and its reverse entry (the old one's goes first: same tuple). */
	if (old)
		xvs_rev_close(key, old);
	rc = xvs_rev_open(key, dest, svc_id, &nc);
	if (rc)
		return rc;

	if (old) {
		/* The old entry expires now (ip_vs_conn_expire_now): its dest loses it. A dest that is gone
		 * or was reused by another service has had its counters reset by the control plane. */
		struct xvs_dest *od = bpf_map_lookup_elem(&xvs_dests, &old->dest_id);

		if (xvs_dest_usable(od, old->svc_id)) {
			if (old->flags & XVS_CONN_F_INACTIVE)
				xvs_dcnt_add(old->dest_id, 0, -1);
			else
				xvs_dcnt_add(old->dest_id, -1, 0);
		}
		*old = nc;
		xvs_fc_bump(); /* the tuple may now go to another dest: no cached forwarding of the old one */
		xvs_count(XVS_R_CONN_RESCHED);
	} else {
		rc = bpf_map_update_elem(&xvs_conns, key, &nc, BPF_NOEXIST);
		if (unlikely(rc)) {
			struct xvs_conn *raced;

			if (rc != -XVS_EEXIST) {
				xvs_rev_close(key, &nc);
				return XVS_R_DROP_CONN_FULL;
			}
			/* Another CPU opened this tuple since our lookup (a retransmitted SYN): join its
			 * connection; it did the counting. The decision we took is simply skipped. */
			raced = bpf_map_lookup_elem(&xvs_conns, key);
			if (!raced || !xvs_rev_same(raced, &nc))
				xvs_rev_close(key, &nc);
			if (!raced)
				return XVS_R_DROP_CONN_FULL;
			dest = bpf_map_lookup_elem(&xvs_dests, &raced->dest_id);
			if (!xvs_dest_usable(dest, svc_id))
				return XVS_R_DROP_DEST_GONE;
			t->dest = dest;
			t->dest_id = raced->dest_id;
			t->fwd = raced->fwd;
			t->new_conn = 0;
			return 0;
		}
	}
	xvs_dcnt_add(dest_id, 0, 1);
	xvs_count(XVS_R_CONN_NEW);
	xvs_sync_emit(key, &nc);
	t->dest = dest;
	t->dest_id = dest_id;
	t->fwd = nc.fwd;
	t->new_conn = 1;
	return 0;
}

/* ipvsadm -o (IP_VS_SVC_F_ONEPACKET): each UDP datagram of the service is scheduled on its own. The
 * kernel makes an IP_VS_CONN_F_ONE_PACKET connection that it never hashes and expires right after
 * transmission, so its dest's inactconns go up and down again at once and the next datagram of the same
 * flow is scheduled afresh; each one counts as a connection in the stats. DR and TUN need no entry to
 * forward, so none is written. A NAT/FULLNAT dest keeps an ordinary connection with the dest picked here:
 * its reply must be translated back (the kernel's unhashed one-packet connection would let it escape
 * untranslated). Returns 0 with *t filled, or a drop reason. */
static __always_inline int xvs_ops_open(struct xvs_conn_key *key, __u32 svc_id, __u64 now,
					struct xvs_conn_target *t)
{
	struct xvs_dest *dest;
	__u32 dest_id;
	int rc;

	rc = xvs_sched_persist(key, svc_id, now, &dest_id, &dest);
	if (rc)
		return rc;
	if (dest->fwd == XVS_FWD_MASQ || dest->fwd == XVS_FWD_FULLNAT)
		return xvs_conn_open(key, svc_id, 0, now, NULL, dest_id, t);
	xvs_count(XVS_R_CONN_NEW);
	t->dest = dest;
	t->dest_id = dest_id;
	t->fwd = dest->fwd;
	t->new_conn = 1;
	return 0;
}

#endif /* XVS_CONN_H */
