/* xvs_fc.h — the established-flow cache: a per-CPU, direct-mapped table in front of the connection
 * table. A packet of an established connection (TCP in ESTABLISHED carrying a plain ACK, or any UDP
 * connection) that the full walk (xvs_core.h) forwarded leaves an entry with what the forwarding step
 * used: the rewritten tuple (NAT/FULLNAT), the tunnel's outer addresses (TUN), the MACs and egress
 * interface, the next hop's checked length and the ids its stats are counted under (filled in three
 * steps, see "How a fill gets past the verifier" below). The next packets of that tuple on this CPU are
 * forwarded from the entry (xvs_fc_forward in xvs_core.h): one array lookup and a key compare instead of
 * the hash lookups of the connection table (two for a NAT/FULLNAT reply: the reverse index, then the
 * connection), the dest, the next-hop cache and the clock.
 *
 * Why it may skip the connection entry: IPVS's TCP tables (input-only, INPUT, OUTPUT) never move a
 * connection on a plain ACK in any state reachable from ESTABLISHED (ES, FIN_WAIT, CLOSE_WAIT,
 * TIME_WAIT, CLOSE), and UDP has no states; so a cached packet changes nothing but the connection's
 * last-use time. That is refreshed by the full walk once the entry is XVS_FC_TTL_DIV-th of a second
 * old: an active connection's last use is at most that stale, far below any timeout (ipvsadm's are
 * whole seconds). A packet with SYN, FIN or RST, one longer than the next hop was checked for, and
 * every packet while the cache is off take the full walk; a tuple that takes the full walk claims its
 * slot again (expired) until a fill is committed.
 *
 * Invalidation (struct xvs_fc_ctl in xvs_abi.h): an entry holds the generation it was filled under and
 * is ignored once it changed. The control plane moves it after changing a dest or overwriting a
 * connection (sync); the data path when a SYN reschedules a closing tuple (the connection may move to
 * another dest) and when a reply tuple changes hands (NAT: a newer connection takes it over; FULLNAT: a
 * stale local port is reused). The GC's expiry needs none: it deletes connections idle for longer than
 * their timeout (whole seconds), whose entries died long before. A fill's generation is read before the
 * walk reads anything it caches, so a fill racing with a change is stored already invalid. Left: a
 * connection the LRU evicted while active, whose tuple a new SYN reopens on another CPU within the
 * entry's lifetime, still has its plain ACKs sent to the old dest by that CPU until the entry expires.
 *
 * Private to the data path but for xvs_fc_ctl; xvs_fc is never pinned (every load starts empty). */
#ifndef XVS_FC_H
#define XVS_FC_H

#include "xvs_parse.h"
#include "xvs_maps.h"

#ifndef XVS_FC_SLOTS
#define XVS_FC_SLOTS 8192 /* per CPU, a power of two */
#endif
/* Entry lifetime: 1 / XVS_FC_TTL_DIV s, in jiffies (CONFIG_HZ; an unknown HZ turns the cache off). */
#define XVS_FC_TTL_DIV 4

enum { XVS_FC_DR = 1, XVS_FC_NAT, XVS_FC_TUN };

struct xvs_fc {
	struct xvs_conn_key key; /* the packet's tuple as the walk parsed it */
	__u64 expires;           /* jiffies; 0 = empty or cleared */
	__u32 gen;               /* xvs_fc_ctl.gen at fill time */
	__u32 svc_id;
	__u32 dest_id;
	__u32 ok_len;            /* the longest IP length (TUN: outer) the next hop vouches for */
	__u32 in_ifindex;        /* the ingress the next hop was looked up for */
	__u32 out_ifindex;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u8 kind;               /* XVS_FC_* */
	__u8 reply;              /* a NAT/FULLNAT reply: out stats, XVS_R_FWD_REPLY */
	__be16 sport;            /* NAT: the rewritten tuple; TUN: saddr/daddr are the outer source/RIP */
	__be16 dport;
	__u32 saddr[4];
	__u32 daddr[4];
};

/* key: __u32 slot (hash of the tuple)  value: struct xvs_fc (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_FC_SLOTS);
	__type(key, __u32);
	__type(value, struct xvs_fc);
} xvs_fc SEC(".maps");

/* key: __u32 0  value: struct xvs_fc_ctl (mmapable)  written by: control plane, datapath (gen, atomic) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_fc_ctl);
} xvs_fc_ctl SEC(".maps");

static __always_inline int xvs_key_eq(const struct xvs_conn_key *a, const struct xvs_conn_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

/* Hash of the tuple (a collision only costs a full walk). The words are combined by multiplication,
 * which only carries upward, so a final mix (murmur3's fmix32) spreads every input bit over the slot
 * index: without it, clients differing only in the high byte of their source port (ports are in network
 * order, so consecutive ports differ there) shared a handful of slots and evicted each other. */
static __always_inline __u32 xvs_fc_slot(const struct xvs_conn_key *k)
{
	__u32 a = k->saddr[0] ^ k->saddr[1] ^ k->saddr[2] ^ k->saddr[3];
	__u32 b = k->daddr[0] ^ k->daddr[1] ^ k->daddr[2] ^ k->daddr[3];
	__u32 c = ((__u32)k->sport << 16 | k->dport) ^ k->proto;
	__u32 h = a * 0x9e3779b1U + b * 0x85ebca77U + c * 0xc2b2ae3dU;

	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h & (XVS_FC_SLOTS - 1);
}

/* Key 0 of the one-entry maps, for lookups that cannot afford a stack slot. */
const volatile __u32 xvs_key0 = 0;

/* The fill the last full walk on this CPU armed (step 2), completed at the start of the next packet. */
struct xvs_fc_pend {
	__u32 slot;
	__u32 in_ifindex; /* the armed packet's ingress: the next hop was looked up for it */
	__u8 armed;
	__u8 reply;       /* a NAT/FULLNAT reply (the slot's tuple is the reply tuple) */
	__u8 tcp_flags;
	__u8 pad;
};

/* key: __u32 0  value: struct xvs_fc_pend (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvs_fc_pend);
} xvs_fc_pend SEC(".maps");

/* How a fill gets past the verifier. It explores every path of the walk, and the walk's paths are many
 * (families, protocols, methods, lookups hit or missed): code at the end of each forwarding step runs
 * once per path explored, a scalar the walk carries and branches on multiplies the paths, and the
 * walk's stack frame is at its limit (one more register kept alive across a helper call does not fit).
 * So the walk does almost nothing for the cache and decides nothing:
 *  1. claim (xvs_fc_claim, before the walk branches): a tuple that misses its slot takes it over (key,
 *     the generation read now, expired). The generation is read before the walk reads anything it
 *     could cache, so a fill racing with a change is stored already invalid.
 *  2. arm (xvs_fc_arm in xvs_fwd.h, at the end of every forwarding step): slot, reply or not, TCP
 *     flags and ingress interface into xvs_fc_pend.
 *  3. commit (xvs_fc_commit in xvs_core.h), at the start of the next packet on this CPU, where the
 *     verifier sees few paths: decides whether the armed packet may be cached (its connection is
 *     ESTABLISHED and it was a plain ACK, or the connection is UDP; the dest is usable; the next hop is
 *     fresh) and fills the entry from the connection, its dest and the next hop, as the walk used them.
 * An armed fill that is refused leaves its slot claimed and expired. */

/* Step 1: the tuple takes its slot over, expired, under the generation read at the start. */
static __always_inline void xvs_fc_claim(struct xvs_fc *e, const struct xvs_conn_key *k, __u32 gen)
{
	__builtin_memcpy(&e->key, k, sizeof(e->key));
	e->gen = gen;
	e->expires = 0;
}

/* An entry that may serve (its key compared by the caller). */
static __always_inline int xvs_fc_valid(const struct xvs_fc *e, __u32 gen)
{
	return e->gen == gen && bpf_jiffies64() < e->expires;
}

/* Packets that leave an established connection as it is: TCP with ACK and none of SYN, FIN, RST. */
static __always_inline int xvs_fc_plain(__u8 proto, __u8 tcp_flags)
{
	return proto != XVS_PROTO_TCP ||
	       (tcp_flags & (XVS_TCP_SYN | XVS_TCP_FIN | XVS_TCP_RST | XVS_TCP_ACK)) == XVS_TCP_ACK;
}

/* Invalidates every CPU's entries (see the header comment). */
static __always_inline void xvs_fc_bump(void)
{
	__u32 zero = 0;
	struct xvs_fc_ctl *ctl = bpf_map_lookup_elem(&xvs_fc_ctl, &zero);

	if (likely(ctl))
		__sync_fetch_and_add(&ctl->gen, 1);
}

#endif /* XVS_FC_H */
