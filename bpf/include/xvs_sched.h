/* xvs_sched.h — the hash schedulers' side of the data path: the per-service bucket tables the control
 * plane writes (sh, dh, mh; src/sched/sh.ts, dh.ts, mh.ts build them exactly as the kernel does) and the
 * kernel's hash functions over the new connection's addresses: include/linux/hash.h hash_32() for sh/dh
 * and lib/siphash.c's 64-bit hsiphash() (SipHash-1-3) for mh. src/sched/hash.ts is the TypeScript twin;
 * test/bpf/sched-hash.test.ts checks both pick the same dest. */
#ifndef XVS_SCHED_H
#define XVS_SCHED_H

#include "xvs_maps.h"

/* key: __u32 service id  value: struct xvs_sched_tab  written by: control plane.
 * Only services under sh, dh or mh have an entry (no preallocation: a table is 16 KiB). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XVS_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xvs_sched_tab);
} xvs_sched_tab SEC(".maps");

#define XVS_SH_TAB_BITS 8
#define XVS_MH_TAB_SIZE 4093
#define XVS_MH_KEY1 2654435761ULL
#define XVS_MH_KEY2 2654446892ULL

/* hash_32(): multiply by GOLDEN_RATIO_32 and keep the top bits. */
static __always_inline __u32 xvs_hash32(__u32 val, int bits)
{
	return (__u32)(val * 0x61C88647U) >> (32 - bits);
}

/* A table index the verifier can see is in bounds: the compiler knows `% 4093` or `>> 24` already is,
 * and would drop a plain mask; the empty asm hides the value from it so the mask stays. */
static __always_inline __u32 xvs_slot_idx(__u32 i)
{
	asm volatile("" : "+r"(i));
	return i & (XVS_SCHED_TAB_SLOTS - 1);
}

/* The kernel's address fold: the IPv4 address, or the xor of the four IPv6 words; host order. */
static __always_inline __u32 xvs_addr_fold(const __u32 *addr, __u8 af)
{
	if (af == XVS_AF_INET6)
		return bpf_ntohl(addr[0] ^ addr[1] ^ addr[2] ^ addr[3]);
	return bpf_ntohl(addr[0]);
}

#define XVS_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define XVS_SIPROUND                                                                               \
	do {                                                                                       \
		v0 += v1; v1 = XVS_ROTL64(v1, 13); v1 ^= v0; v0 = XVS_ROTL64(v0, 32);              \
		v2 += v3; v3 = XVS_ROTL64(v3, 16); v3 ^= v2;                                      \
		v0 += v3; v3 = XVS_ROTL64(v3, 21); v3 ^= v0;                                      \
		v2 += v1; v1 = XVS_ROTL64(v1, 17); v1 ^= v2; v2 = XVS_ROTL64(v2, 32);              \
	} while (0)

/* hsiphash(&v, 4, {k, k}) on a 64-bit kernel: SipHash-1-3 of a 4-byte message, truncated to 32 bits. */
static __always_inline __u32 xvs_hsiphash_u32(__u32 v, __u64 k)
{
	__u64 v0 = 0x736f6d6570736575ULL ^ k;
	__u64 v1 = 0x646f72616e646f6dULL ^ k;
	__u64 v2 = 0x6c7967656e657261ULL ^ k;
	__u64 v3 = 0x7465646279746573ULL ^ k;
	__u64 b = (4ULL << 56) | v;

	v3 ^= b;
	XVS_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	XVS_SIPROUND;
	XVS_SIPROUND;
	XVS_SIPROUND;
	return (__u32)(v0 ^ v1 ^ v2 ^ v3);
}

/* ip_vs_mh_get_fallback()'s walk, one offset per bpf_loop() step (up to 4093 siphashes). */
struct xvs_mh_walk {
	__u32 svc_id;
	__u32 ihash;
	__u32 key; /* client port (mh-port) + folded client address */
	__u32 found;
};

static long xvs_mh_walk_step(__u32 offset, void *ctx)
{
	struct xvs_mh_walk *w = ctx;
	struct xvs_sched_tab *tab = bpf_map_lookup_elem(&xvs_sched_tab, &w->svc_id);
	__u32 roffset, hash, slot;

	if (!tab)
		return 1;
	roffset = (offset + w->ihash) % XVS_MH_TAB_SIZE;
	hash = xvs_hsiphash_u32(roffset + w->key, XVS_MH_KEY1) % XVS_MH_TAB_SIZE;
	slot = tab->slot[xvs_slot_idx(hash)];
	if (slot == XVS_DEST_NONE)
		return 1;
	if (!(slot & XVS_SLOT_UNAVAIL)) {
		w->found = slot;
		return 1;
	}
	return 0;
}

/* The hash scheduler's decision for a new connection: a dest id, or XVS_DEST_NONE. sh and mh hash the
 * client (address, and port with the PORT flag); dh hashes the destination address (the VIP). */
static __always_inline __u32 xvs_sched_hash(const struct xvs_sched_tab *tab, const struct xvs_conn_key *key,
					    __u32 svc_id)
{
	__u32 port = (tab->flags & XVS_SCHED_F_PORT) ? bpf_ntohs(key->sport) : 0;
	__u32 slot, ihash;

	if (tab->kind == XVS_SCHED_DH) {
		slot = tab->slot[xvs_slot_idx(xvs_hash32(xvs_addr_fold(key->daddr, key->af), XVS_SH_TAB_BITS))];
	} else if (tab->kind == XVS_SCHED_SH) {
		/* With sh-fallback the control plane already stored each bucket's fallback result. */
		slot = tab->slot[xvs_slot_idx(xvs_hash32(port + xvs_addr_fold(key->saddr, key->af), XVS_SH_TAB_BITS))];
	} else if (tab->kind == XVS_SCHED_MH) {
		__u32 k = port + xvs_addr_fold(key->saddr, key->af);

		ihash = xvs_hsiphash_u32(k, XVS_MH_KEY1) % XVS_MH_TAB_SIZE;
		slot = tab->slot[xvs_slot_idx(ihash)];
		if ((slot & XVS_SLOT_UNAVAIL) && slot != XVS_DEST_NONE && (tab->flags & XVS_SCHED_F_FALLBACK)) {
			struct xvs_mh_walk w = { .svc_id = svc_id, .ihash = ihash, .key = k, .found = XVS_DEST_NONE };

			bpf_loop(XVS_MH_TAB_SIZE, xvs_mh_walk_step, &w, 0);
			return w.found;
		}
	} else {
		return XVS_DEST_NONE;
	}
	if (slot & XVS_SLOT_UNAVAIL)
		return XVS_DEST_NONE;
	return slot;
}

#endif /* XVS_SCHED_H */
