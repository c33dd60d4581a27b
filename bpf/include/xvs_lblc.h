/* xvs_lblc.h — the locality schedulers' side of the data path (lblc, lblcr; net/netfilter/ipvs/ip_vs_lblc.c
 * and ip_vs_lblcr.c): a table {service, destination address} -> dest (lblc) or dest set (lblcr) that the
 * data path consults and fills itself, so a new connection never waits for user space.
 *
 * A service under lblc/lblcr has an xvs_sched_tab of kind XVS_SCHED_LBLC/LBLCR whose slots are the ids of
 * its dests in the kernel's list order (what is_overloaded() walks) and whose `param` is lblcr_expiration
 * (seconds). Each dest's weight and OVERLOAD flag are in xvs_dsched (written by the control plane); live
 * counts are in xvs_dcnt. On a hit the cached dest is kept exactly as ip_vs_lblc_schedule() /
 * ip_vs_lblcr_schedule() keep it (with the set shrink of lblcr); on a miss, or when the cache is
 * rejected, the decision is the service's ring, which the control plane fills with wlc's choice — the
 * same weighted least-connection rule as __ip_vs_lblc_schedule(), simulated forward from the live
 * counters (see README "lblc/lblcr") — and the entry is inserted or updated as the kernel's
 * ip_vs_lblc_new() / ip_vs_dest_set_insert() would. Expiry (lblc(r)_expiration, the periodic timer) is the
 * control plane's (src/control/lblc.ts).
 *
 * Concurrency: the kernel serialises table changes with svc->sched_lock; here two CPUs may update the
 * same entry at once. Every write is a whole u32/u64, so an entry stays well-formed (each slot a dest id
 * or XVS_DEST_NONE); a lost insert or a duplicate member only costs a later reschedule. */
#ifndef XVS_LBLC_H
#define XVS_LBLC_H

#include "xvs_maps.h"
#include "xvs_sched.h"

/* key: struct xvs_lblc_key {svc id, destination address}  value: struct xvs_lblc
 * written by: datapath (insert on miss, lastuse, set changes), control plane (expiry, purge of deleted
 * dests, flush on scheduler change). LRU, shared by every lblc/lblcr service. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XVS_MAX_LBLC);
	__type(key, struct xvs_lblc_key);
	__type(value, struct xvs_lblc);
} xvs_lblc SEC(".maps");

/* key: __u32 dest id  value: struct xvs_dsched  written by: control plane (dests of lblc/lblcr services). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct xvs_dsched);
} xvs_dsched SEC(".maps");

/* Per-CPU scratch for the lookup: the program's stack is nearly all taken by the paths that inline this
 * one, so keys, the new entry and the is_overloaded() walk state live here. Private to the data path. */
struct xvs_lblc_tmp {
	struct xvs_lblc_key lk;
	struct xvs_lblc ne;
	__u32 svc_id; /* the walk's service */
	__u32 found;  /* the walk's result */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_lblc_tmp);
} xvs_lblc_tmp SEC(".maps");

static __always_inline struct xvs_lblc_tmp *xvs_lblc_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xvs_lblc_tmp, &zero);
}

/* A dest the cache may name: live, of this service and family (IP_VS_DEST_F_AVAILABLE). */
static __always_inline int xvs_lblc_avail(__u32 id, __u32 svc_id, __u8 af)
{
	struct xvs_dest *d = bpf_map_lookup_elem(&xvs_dests, &id);

	return d && (d->flags & XVS_DEST_F_AVAILABLE) && d->svc_id == svc_id && d->af == af;
}

/* What the kernel reads of a dest: atomic weight, IP_VS_DEST_F_OVERLOAD, the live counts. */
static __always_inline __s64 xvs_lblc_weight(__u32 id)
{
	struct xvs_dsched *s = bpf_map_lookup_elem(&xvs_dsched, &id);

	return s ? (__s64)s->weight : 0;
}

static __always_inline int xvs_lblc_overload_flag(__u32 id)
{
	struct xvs_dsched *s = bpf_map_lookup_elem(&xvs_dsched, &id);

	return s && (s->flags & XVS_DSCHED_F_OVERLOAD);
}

static __always_inline __s64 xvs_lblc_active(__u32 id)
{
	struct xvs_dest_cnt *c = bpf_map_lookup_elem(&xvs_dcnt, &id);

	return c ? (__s32)c->activeconns : 0;
}

/* ip_vs_dest_conn_overhead(): activeconns * 256 + inactconns. */
static __always_inline __s64 xvs_lblc_overhead(__u32 id)
{
	struct xvs_dest_cnt *c = bpf_map_lookup_elem(&xvs_dcnt, &id);

	return c ? (__s64)(__s32)c->activeconns * 256 + (__s32)c->inactconns : 0;
}

/* is_overloaded()'s walk (a bpf_loop() step): is there a dest of the service with activeconns * 2 < weight? */
static long xvs_lblc_walk_step(__u32 i, void *ctx)
{
	struct xvs_lblc_tmp *w = xvs_lblc_scratch();
	struct xvs_sched_tab *tab;
	__u32 id;

	if (!w)
		return 1;
	tab = bpf_map_lookup_elem(&xvs_sched_tab, &w->svc_id);
	if (!tab || i >= tab->size)
		return 1;
	id = tab->slot[xvs_slot_idx(i)];
	if (xvs_lblc_active(id) * 2 < xvs_lblc_weight(id)) {
		w->found = 1;
		return 1;
	}
	return 0;
}

/* is_overloaded() of ip_vs_lblc.c/ip_vs_lblcr.c: more active connections than its weight while some dest
 * of the service has fewer than half its weight active. */
static __always_inline int xvs_lblc_overloaded(const struct xvs_sched_tab *tab, __u32 svc_id, __u32 id)
{
	struct xvs_lblc_tmp *w;
	__u32 n = tab->size;

	if (xvs_lblc_active(id) <= xvs_lblc_weight(id))
		return 0;
	w = xvs_lblc_scratch();
	if (!w)
		return 0;
	w->svc_id = svc_id;
	w->found = 0;
	if (n > XVS_SCHED_TAB_SLOTS)
		n = XVS_SCHED_TAB_SLOTS;
	bpf_loop(n, xvs_lblc_walk_step, NULL, 0);
	return w->found;
}

/* ip_vs_dest_set_min(): the weighted least-connection member (newest first, first wins a tie), skipping
 * OVERLOAD members; only an available member with weight > 0 can start the search. */
static __always_inline __u32 xvs_lblcr_set_min(const struct xvs_lblc *en, __u32 svc_id, __u8 af)
{
	__u32 best = XVS_DEST_NONE;
	__s64 loh = 0, lw = 0;
	int i;

#pragma unroll
	for (i = 0; i < XVS_LBLC_SET_MAX; i++) {
		__u32 id = en->dest[i];
		__s64 w, oh;

		if (id == XVS_DEST_NONE)
			break;
		if (xvs_lblc_overload_flag(id))
			continue;
		w = xvs_lblc_weight(id);
		oh = xvs_lblc_overhead(id);
		if (best == XVS_DEST_NONE ? w > 0 && xvs_lblc_avail(id, svc_id, af)
					  : loh * w > oh * lw && xvs_lblc_avail(id, svc_id, af)) {
			best = id;
			loh = oh;
			lw = w;
		}
	}
	return best;
}

/* ip_vs_dest_set_max(): the weighted most-connection member with weight > 0 (its slot index, or -1). */
static __always_inline int xvs_lblcr_set_max(const struct xvs_lblc *en)
{
	__s64 moh = 0, mw = 0;
	int i, best = -1;

#pragma unroll
	for (i = 0; i < XVS_LBLC_SET_MAX; i++) {
		__u32 id = en->dest[i];
		__s64 w, oh;

		if (id == XVS_DEST_NONE)
			break;
		w = xvs_lblc_weight(id);
		oh = xvs_lblc_overhead(id);
		if (best < 0 ? w > 0 : moh * w < oh * mw && w > 0) {
			best = i;
			moh = oh;
			mw = w;
		}
	}
	return best;
}

/* Removes slot `at` of a set, keeping the others in order. */
static __always_inline void xvs_lblcr_erase(struct xvs_lblc *en, int at)
{
	int i;

#pragma unroll
	for (i = 0; i < XVS_LBLC_SET_MAX - 1; i++)
		if (i >= at)
			en->dest[i] = en->dest[i + 1];
	en->dest[XVS_LBLC_SET_MAX - 1] = XVS_DEST_NONE;
}

static __always_inline void xvs_lblc_key_of(struct xvs_lblc_key *lk, const struct xvs_conn_key *key, __u32 svc_id)
{
	lk->addr[0] = key->daddr[0];
	lk->addr[1] = key->daddr[1];
	lk->addr[2] = key->daddr[2];
	lk->addr[3] = key->daddr[3];
	lk->svc_id = svc_id;
	lk->af = key->af;
	lk->pad[0] = 0;
	lk->pad[1] = 0;
	lk->pad[2] = 0;
}

/* The cache's answer for a new connection: the dest id to use, or XVS_DEST_NONE to schedule (from the
 * ring) and then call xvs_lblc_learn(). *enp is the entry found (or NULL). */
static __always_inline __u32 xvs_lblc_lookup(const struct xvs_sched_tab *tab, const struct xvs_conn_key *key,
					     __u32 svc_id, __u64 now, struct xvs_lblc **enp)
{
	struct xvs_lblc_tmp *tmp = xvs_lblc_scratch();
	struct xvs_lblc *en;
	__u32 id;

	*enp = NULL;
	if (!tmp)
		return XVS_DEST_NONE;
	xvs_lblc_key_of(&tmp->lk, key, svc_id);
	en = bpf_map_lookup_elem(&xvs_lblc, &tmp->lk);
	*enp = en;
	if (!en)
		return XVS_DEST_NONE;
	if (en->lastuse_ns != now)
		en->lastuse_ns = now;
	if (tab->kind == XVS_SCHED_LBLC) {
		id = en->dest[0];
		if (id == XVS_DEST_NONE || !xvs_lblc_avail(id, svc_id, key->af))
			return XVS_DEST_NONE;
		if (xvs_lblc_weight(id) > 0 && !xvs_lblc_overloaded(tab, svc_id, id))
			return id;
		return XVS_DEST_NONE;
	}
	id = xvs_lblcr_set_min(en, svc_id, key->af);
	/* More than one member and not modified for lblcr_expiration: drop the most loaded one. */
	if (en->dest[1] != XVS_DEST_NONE && now > en->lastmod_ns + (__u64)tab->param * 1000000000ULL) {
		int m = xvs_lblcr_set_max(en);

		if (m >= 0) {
			xvs_lblcr_erase(en, m);
			en->lastmod_ns = now;
		}
	}
	if (id != XVS_DEST_NONE && !xvs_lblc_overloaded(tab, svc_id, id))
		return id;
	return XVS_DEST_NONE;
}

/* Records the scheduled dest: ip_vs_lblc_new() (a new entry, or the old one now naming `id`) or, for
 * lblcr, ip_vs_lblcr_new() / ip_vs_dest_set_insert(check) (added at the head unless already a member).
 * A set already holding XVS_LBLC_SET_MAX members loses its oldest one (the kernel's set is unbounded). */
static __always_inline void xvs_lblc_learn(const struct xvs_sched_tab *tab, const struct xvs_conn_key *key,
					   __u32 svc_id, __u64 now, struct xvs_lblc *en, __u32 id)
{
	struct xvs_lblc_tmp *tmp;
	int i;

	if (!en) {
		tmp = xvs_lblc_scratch();
		if (!tmp)
			return;
		xvs_lblc_key_of(&tmp->lk, key, svc_id);
		tmp->ne.lastuse_ns = now;
		tmp->ne.lastmod_ns = now;
		tmp->ne.dest[0] = id;
#pragma unroll
		for (i = 1; i < XVS_LBLC_SET_MAX; i++)
			tmp->ne.dest[i] = XVS_DEST_NONE;
		/* Another CPU may have inserted it since our lookup: its entry stays (our pick is still used). */
		bpf_map_update_elem(&xvs_lblc, &tmp->lk, &tmp->ne, BPF_NOEXIST);
		return;
	}
	if (tab->kind == XVS_SCHED_LBLC) {
		if (en->dest[0] != id) {
			en->dest[0] = id;
			en->lastuse_ns = now;
			en->lastmod_ns = now;
		}
		return;
	}
#pragma unroll
	for (i = 0; i < XVS_LBLC_SET_MAX; i++)
		if (en->dest[i] == id)
			return;
#pragma unroll
	for (i = XVS_LBLC_SET_MAX - 1; i > 0; i--)
		en->dest[i] = en->dest[i - 1];
	en->dest[0] = id;
	en->lastmod_ns = now;
}

#endif /* XVS_LBLC_H */
