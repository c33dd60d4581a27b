/* xvs_rev.h — the reverse index of the connection table (NAT/FULLNAT replies find their connection
 * by the tuple the real server answers with) and FULLNAT's local address/port allocation, which is
 * the same thing: a local port is free for (LIP, RIP, rport) exactly when its reverse key is. */
#ifndef XVS_REV_H
#define XVS_REV_H

#include "xvs_maps.h"
#include "xvs_fc.h"

#define XVS_EEXIST 17

/* Random local ports tried before a FULLNAT connection is refused (XVS_R_DROP_LPORT_EXHAUSTED). */
#ifndef XVS_LPORT_TRIES
#define XVS_LPORT_TRIES 16
#endif

static __always_inline int xvs_addr_eq(const __u32 *a, const __u32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int xvs_fwd_has_reply(__u8 fwd)
{
	return fwd == XVS_FWD_MASQ || fwd == XVS_FWD_FULLNAT;
}

/* The reply tuple of a connection: RS -> the source the RS saw. */
static __always_inline void xvs_rev_key(struct xvs_conn_key *rkey, const struct xvs_conn_key *key,
					const struct xvs_conn *c)
{
	__builtin_memcpy(rkey->saddr, c->raddr, sizeof(rkey->saddr));
	__builtin_memcpy(rkey->daddr, c->laddr, sizeof(rkey->daddr));
	rkey->sport = c->rport;
	rkey->dport = c->lport;
	rkey->proto = key->proto;
	rkey->af = key->af;
	rkey->pad = 0;
}

/* True if connection c (may be NULL) still answers to reply tuple rkey: its RS side is that tuple. */
static __always_inline int xvs_rev_answers(const struct xvs_conn *c, const struct xvs_conn_key *rkey)
{
	return c && c->rport == rkey->sport && c->lport == rkey->dport &&
	       xvs_addr_eq(c->raddr, rkey->saddr) && xvs_addr_eq(c->laddr, rkey->daddr);
}

/* True if a reverse entry's connection still exists and still answers to that reply tuple. */
static __always_inline int xvs_rev_live(const struct xvs_conn_key *rkey)
{
	struct xvs_conn_key *fkey = bpf_map_lookup_elem(&xvs_rconns, rkey);

	return fkey && xvs_rev_answers(bpf_map_lookup_elem(&xvs_conns, fkey), rkey);
}

/* Fills the RS side of a new NAT/FULLNAT connection and inserts its reverse entry (nothing for other
 * methods). Returns 0 or a drop reason. */
static __always_inline int xvs_rev_open(const struct xvs_conn_key *key, const struct xvs_dest *dest,
					__u32 svc_id, struct xvs_conn *nc)
{
	struct xvs_conn_key rkey = {};
	struct xvs_laddr_pool *pool;
	__u32 idx, range, start, i;

	if (!xvs_fwd_has_reply(nc->fwd))
		return 0;
	__builtin_memcpy(nc->raddr, dest->addr, sizeof(nc->raddr));
	/* As ip_vs_conn_new()'s dport: the dest's port, or the packet's own where the dest has none (the
	 * control plane writes port 0 for every dest of a port-zero service: the kernel keeps each
	 * connection's port there, ip_vs_sched_persist). */
	nc->rport = dest->port ? dest->port : key->dport;
	xvs_rport_hint_set(nc->rport); /* replies come from this port: look them up reverse-first */
	if (nc->fwd == XVS_FWD_MASQ) {
		/* The RS answers the client itself; the newest connection owns the reply tuple (IPVS's
		 * out-lookup finds the first match in its hash chain as well). */
		__builtin_memcpy(nc->laddr, key->saddr, sizeof(nc->laddr));
		nc->lport = key->sport;
		xvs_rev_key(&rkey, key, nc);
		if (!bpf_map_update_elem(&xvs_rconns, &rkey, key, BPF_NOEXIST))
			return 0;
		/* Taken over: cached replies of the older connection must not outlive it (xvs_fc.h). */
		xvs_fc_bump();
		if (bpf_map_update_elem(&xvs_rconns, &rkey, key, BPF_ANY))
			return XVS_R_DROP_CONN_FULL;
		return 0;
	}

	pool = bpf_map_lookup_elem(&xvs_laddrs, &svc_id);
	if (!pool || pool->count == 0 || pool->count > XVS_MAX_LADDRS ||
	    pool->lport_max < pool->lport_min)
		return XVS_R_DROP_NO_LADDR;
	idx = bpf_get_prandom_u32() % pool->count;
	if (idx >= XVS_MAX_LADDRS) /* for the verifier */
		return XVS_R_DROP_NO_LADDR;
	__builtin_memcpy(nc->laddr, pool->addrs[idx], sizeof(nc->laddr));
	range = (__u32)pool->lport_max - pool->lport_min + 1;
	start = bpf_get_prandom_u32();
	for (i = 0; i < XVS_LPORT_TRIES; i++) {
		/* Consecutive ports from a random start: a hole next to the start is found at once. */
		nc->lport = bpf_htons((__u16)(pool->lport_min + (start + i) % range));
		xvs_rev_key(&rkey, key, nc);
		if (!bpf_map_update_elem(&xvs_rconns, &rkey, key, BPF_NOEXIST))
			return 0;
		/* Taken: reuse it only if the entry is stale (its connection expired or moved on). */
		if (!xvs_rev_live(&rkey) && !bpf_map_update_elem(&xvs_rconns, &rkey, key, BPF_ANY)) {
			xvs_fc_bump(); /* a cached reply of the stale entry's connection must not match */
			return 0;
		}
	}
	return XVS_R_DROP_LPORT_EXHAUSTED;
}

/* True if two connections have the same RS side (and so the same reverse key). */
static __always_inline int xvs_rev_same(const struct xvs_conn *a, const struct xvs_conn *b)
{
	return a->rport == b->rport && a->lport == b->lport && xvs_addr_eq(a->raddr, b->raddr) &&
	       xvs_addr_eq(a->laddr, b->laddr);
}

/* Removes the reverse entry of a connection that ends or is replaced (only if it still names it). */
static __always_inline void xvs_rev_close(const struct xvs_conn_key *key, const struct xvs_conn *c)
{
	struct xvs_conn_key rkey = {};
	struct xvs_conn_key *fkey;

	if (!xvs_fwd_has_reply(c->fwd))
		return;
	xvs_rev_key(&rkey, key, c);
	fkey = bpf_map_lookup_elem(&xvs_rconns, &rkey);
	if (fkey && fkey->sport == key->sport && fkey->dport == key->dport &&
	    xvs_addr_eq(fkey->saddr, key->saddr) && xvs_addr_eq(fkey->daddr, key->daddr))
		bpf_map_delete_elem(&xvs_rconns, &rkey);
}

#endif /* XVS_REV_H */
