/* xvs_maps.h — every map of the xvs data path (the control plane opens them by these names) and the
 * small counting helpers over them. Include from exactly one BPF object: the definitions live here. */
#ifndef XVS_MAPS_H
#define XVS_MAPS_H

#include "xvs_consts.h"

/* key: struct xvs_svc_key {af, proto, VIP, port}  value: struct xvs_svc  written by: control plane */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XVS_MAX_SERVICES);
	__type(key, struct xvs_svc_key);
	__type(value, struct xvs_svc);
} xvs_svcs SEC(".maps");

/* key: __u32 dest id  value: struct xvs_dest  written by: control plane.
 * As in ip_vs_in(), established connections are looked up before (instead of) their service: a dest
 * keeps XVS_DEST_F_AVAILABLE only while it belongs to a live service, or its connections go on. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct xvs_dest);
} xvs_dests SEC(".maps");

/* key: __u32 dest id  value: struct xvs_dest_cnt (mmapable)
 * written by: datapath (atomic add on state changes) and control plane (GC of expired conns) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XVS_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct xvs_dest_cnt);
} xvs_dcnt SEC(".maps");

/* key: __u32 service id  value: struct xvs_ring (mmapable)
 * written by: control plane (slots, then prod) and datapath (cons, atomically) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XVS_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xvs_ring);
} xvs_rings SEC(".maps");

/* key: struct xvs_conn_key (client 5-tuple)  value: struct xvs_conn
 * written by: datapath (control plane GC deletes). Shared LRU: one table for all CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XVS_MAX_CONNS);
	__type(key, struct xvs_conn_key);
	__type(value, struct xvs_conn);
} xvs_conns SEC(".maps");

/* key: __u32 service id  value: struct xvs_stats (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xvs_stats);
} xvs_svc_st SEC(".maps");

/* key: __u32 dest id  value: struct xvs_stats (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct xvs_stats);
} xvs_dest_st SEC(".maps");

/* key: __u32 enum xvs_reason  value: __u64 packet count (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
} xvs_reasons SEC(".maps");

/* key: __u32 ifindex  value: __u32 ifindex  written by: control plane (every attached interface).
 * The XDP_REDIRECT targets; a forward to an interface missing here is dropped and counted. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XVS_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} xvs_txports SEC(".maps");

/* The next hop toward one dest as the last successful bpf_fib_lookup() found it, per CPU. IPVS keeps
 * the same kind of per-dest cache (dest->dest_dst); here it saves a fib + neighbour lookup on almost
 * every packet. It is keyed by dest id and checked against the RIP and the ingress interface, expires
 * after XVS_NH_CACHE_NS, and only vouches for packets up to the largest IP length a lookup accepted
 * (the MTU check). DR reaches RSs on a connected network, so the next hop does not depend on the
 * client's address. Private to the data path: no user-space layout. */
#ifndef XVS_NH_CACHE_NS
#define XVS_NH_CACHE_NS 1000000000ULL
#endif
struct xvs_nh {
	__u64 expires_ns; /* xvs_now() deadline */
	__u32 rip[4];
	__u32 in_ifindex;
	__u32 out_ifindex;
	__u32 ok_len;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u32 src[4]; /* the director's address on the egress interface (TUN's outer source) */
};

/* key: __u32 dest id  value: struct xvs_nh (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct xvs_nh);
} xvs_nh_cache SEC(".maps");

/* key: struct xvs_conn_key (reply 5-tuple from the RS: RIP, CIP/LIP, rport, cport/lport)
 * value: struct xvs_conn_key (the forward 5-tuple, the xvs_conns key)
 * written by: datapath (with the connection; NAT/FULLNAT only), control plane (GC deletes it with the
 * connection). The reverse index of the shared connection table: replies on any CPU find their
 * connection. LRU like xvs_conns; an entry whose connection is gone is detected and ignored. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XVS_MAX_CONNS);
	__type(key, struct xvs_conn_key);
	__type(value, struct xvs_conn_key);
} xvs_rconns SEC(".maps");

/* Reply hint: one bit per port, set by the data path for the RS port (rport) of every NAT/FULLNAT
 * connection it opens, never cleared. A packet whose source port is set may be a real server's reply,
 * so the walk looks it up in xvs_rconns first: a reply then costs the reverse lookup and the
 * connection lookup, not also a missed connection lookup of its own tuple. Only a shortcut, never
 * needed for correctness: a reply whose bit is unset (e.g. a connection installed by sync) is still
 * found after its connection lookup misses, and a client whose source port happens to be set pays
 * one missed reverse lookup. Private to the data path. */
#define XVS_RPORT_HINT_WORDS (65536 / 64)

/* key: __u32 port / 64 (host order port)  value: __u64 bit set  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_RPORT_HINT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} xvs_rport_hint SEC(".maps");

/* True if the port (network order) is the RS port of some NAT/FULLNAT connection opened here. */
static __always_inline int xvs_rport_hinted(__be16 port)
{
	__u32 p = bpf_ntohs(port), word = p >> 6;
	__u64 *w = bpf_map_lookup_elem(&xvs_rport_hint, &word);

	return w && (*w >> (p & 63)) & 1;
}

/* Marks a port (network order) as an RS port; writes (atomically) only when the bit is new. */
static __always_inline void xvs_rport_hint_set(__be16 port)
{
	__u32 p = bpf_ntohs(port), word = p >> 6;
	__u64 *w = bpf_map_lookup_elem(&xvs_rport_hint, &word);

	if (w && !((*w >> (p & 63)) & 1))
		__sync_fetch_and_or(w, 1ULL << (p & 63));
}

/* key: __u32 service id  value: struct xvs_laddr_pool  written by: control plane.
 * FULLNAT's local addresses (LIPs) and port range per service. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xvs_laddr_pool);
} xvs_laddrs SEC(".maps");

/* Per-CPU next hop toward a client for NAT/FULLNAT replies: a direct-mapped cache indexed by a hash of
 * the client address (an array lookup costs next to nothing; a hash map lookup would cost as much as
 * the connection lookup). A slot holds one client; xvs_nh_fresh() checks address and ingress interface,
 * so a collision only costs a fib lookup. Private to the data path. */
#ifndef XVS_NH_CLIENT_SLOTS
#define XVS_NH_CLIENT_SLOTS 4096 /* a power of two */
#endif

/* key: __u32 slot (hash of the client address)  value: struct xvs_nh (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_NH_CLIENT_SLOTS);
	__type(key, __u32);
	__type(value, struct xvs_nh);
} xvs_nh_client SEC(".maps");

static __always_inline struct xvs_nh *xvs_nh_client_slot(const __u32 *addr)
{
	__u32 slot = ((addr[0] ^ addr[1] ^ addr[2] ^ addr[3]) * 0x9e3779b1U) >> 20;

	slot &= XVS_NH_CLIENT_SLOTS - 1;
	return bpf_map_lookup_elem(&xvs_nh_client, &slot);
}

/* key: __u32 service id  value: struct xvs_persist  written by: control plane (-p/-M). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVS_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xvs_persist);
} xvs_persist SEC(".maps");

/* key: struct xvs_tmpl_key {svc id, masked client}  value: struct xvs_tmpl
 * written by: datapath (created/armed by new connections), control plane (GC expires and re-arms them
 * while they still control connections, as ip_vs_conn_expire does). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XVS_MAX_TMPLS);
	__type(key, struct xvs_tmpl_key);
	__type(value, struct xvs_tmpl);
} xvs_tmpls SEC(".maps");

/* Per-CPU, so plain increments are exact. */
static __always_inline void xvs_stats_out(void *map, __u32 id, __u64 bytes)
{
	struct xvs_stats *st = bpf_map_lookup_elem(map, &id);

	if (likely(st)) {
		st->outpkts += 1;
		st->outbytes += bytes;
	}
}

static __always_inline void xvs_count(__u32 reason)
{
	__u64 *cnt = bpf_map_lookup_elem(&xvs_reasons, &reason);

	if (likely(cnt))
		*cnt += 1;
}

static __always_inline int xvs_pass(__u32 reason)
{
	xvs_count(reason);
	return XVS_V_PASS;
}

static __always_inline int xvs_drop(__u32 reason)
{
	xvs_count(reason);
	return XVS_V_DROP;
}

/* key: __u32 0  value: struct xvs_cfg  written by: control plane */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_cfg);
} xvs_cfg SEC(".maps");

/* The data path's clock: CLOCK_MONOTONIC ns at tick resolution, the clock bpf_ktime_get_coarse_ns()
 * reads and that last_seen_ns, template and next-hop deadlines are kept in, computed from jiffies.
 * bpf_jiffies64() is inlined by the verifier into one load, where the coarse-clock helper is a call,
 * and calls are dear on CPUs with return-thunk mitigations (SRSO "safe RET": every return is a
 * mispredict): per packet this is an array lookup (inlined), a load, a compare and a multiply-add.
 *
 * base_ns = coarse ns - jiffies * tick_ns. Jiffies advance in whole ticks of monotonic time (the
 * tick code advances them from ktime and updates the timekeeper in the same step), so the relation
 * holds between anchors to within a tick. xvs_clock_init anchors it the first time (the control plane
 * test-runs it once after every load, before attaching); after that the packet that finds the anchor
 * XVS_CLOCK_REANCHOR_S old anchors it again (base_ns is one 64-bit store: a reader sees the old or
 * the new base, both right to within a tick). Not anchored (tick_ns 0: the object was loaded without
 * xvs_clock_init, or libbpf could not tell the kernel's HZ) = the helper is called as before.
 * Private to the data path. */
#define XVS_CLOCK_REANCHOR_S 10
extern unsigned int CONFIG_HZ __kconfig __weak;

struct xvs_clock {
	__u64 tick_ns;        /* TICK_NSEC of the running kernel; 0 = not anchored */
	__u64 base_ns;
	__u64 anchor_jiffies; /* jiffies at the last anchoring */
	__u64 reanchor_jiffies;
};

/* key: __u32 0  value: struct xvs_clock  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_clock);
} xvs_clock SEC(".maps");

/* Sets the base from the coarse clock at jiffies j and returns that clock's reading. */
static __always_inline __u64 xvs_clock_rebase(struct xvs_clock *c, __u64 j, __u64 tick)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	c->base_ns = now - j * tick;
	c->anchor_jiffies = j;
	return now;
}

static __always_inline __u64 xvs_now(void)
{
	__u32 zero = 0;
	struct xvs_clock *c = bpf_map_lookup_elem(&xvs_clock, &zero);
	__u64 tick, j;

	if (unlikely(!c))
		return bpf_ktime_get_coarse_ns();
	tick = c->tick_ns;
	if (unlikely(!tick))
		return bpf_ktime_get_coarse_ns();
	j = bpf_jiffies64();
	if (unlikely(j - c->anchor_jiffies > c->reanchor_jiffies))
		return xvs_clock_rebase(c, j, tick);
	return c->base_ns + j * tick;
}

/* Anchors the clock (and sets its tick from the kernel's CONFIG_HZ). Returns 1 when anchored, 0 when
 * HZ is unknown (xvs_now() then keeps calling the helper). */
static __always_inline int xvs_clock_anchor(void)
{
	__u32 zero = 0;
	struct xvs_clock *c = bpf_map_lookup_elem(&xvs_clock, &zero);
	__u64 hz = CONFIG_HZ, tick;

	if (!c || hz == 0 || hz > 100000)
		return 0;
	tick = (1000000000ULL + hz / 2) / hz; /* the kernel's TICK_NSEC */
	xvs_clock_rebase(c, bpf_jiffies64(), tick);
	c->reanchor_jiffies = XVS_CLOCK_REANCHOR_S * hz;
	c->tick_ns = tick;
	return 1;
}

/* Records: struct xvs_sync_ev  written by: datapath (while XVS_CFG_F_SYNC), read by the sync master */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XVS_SYNC_RING_BYTES);
} xvs_sync_ring SEC(".maps");

/* Publishes a connection's new state to the sync master (src/sync), if one runs. A full ring is
 * counted; the master's periodic refresh sends the connection again. */
static __always_inline void xvs_sync_emit(const struct xvs_conn_key *key, const struct xvs_conn *conn)
{
	__u32 zero = 0;
	struct xvs_cfg *cfg = bpf_map_lookup_elem(&xvs_cfg, &zero);
	struct xvs_sync_ev *ev;

	if (likely(!cfg || !(cfg->flags & XVS_CFG_F_SYNC)))
		return;
	ev = bpf_ringbuf_reserve(&xvs_sync_ring, sizeof(*ev), 0);
	if (!ev) {
		xvs_count(XVS_R_SYNC_LOST);
		return;
	}
	__builtin_memcpy(&ev->key, key, sizeof(ev->key));
	__builtin_memcpy(&ev->conn, conn, sizeof(ev->conn));
	bpf_ringbuf_submit(ev, 0);
}

/* Per-CPU, so plain increments are exact. */
static __always_inline void xvs_stats_in(void *map, __u32 id, __u64 bytes, __u64 new_conn)
{
	struct xvs_stats *st = bpf_map_lookup_elem(map, &id);

	if (likely(st)) {
		st->conns += new_conn;
		st->inpkts += 1;
		st->inbytes += bytes;
	}
}

/* Shared between CPUs and the control plane: atomic adds (delta may be negative). */
static __always_inline void xvs_dcnt_add(__u32 dest_id, int active, int inactive)
{
	struct xvs_dest_cnt *cnt = bpf_map_lookup_elem(&xvs_dcnt, &dest_id);

	if (unlikely(!cnt))
		return;
	if (active)
		__sync_fetch_and_add(&cnt->activeconns, active);
	if (inactive)
		__sync_fetch_and_add(&cnt->inactconns, inactive);
}

#endif /* XVS_MAPS_H */
