/* xvs_csum.h — incremental Internet checksum updates (RFC 1624: HC' = ~(~HC + ~m + m')) usable from
 * XDP, where bpf_l3/l4_csum_replace do not exist. A rewrite accumulates the ones'-complement
 * difference of every changed word, then folds it into each checksum it touches once. Works on raw
 * (network order) words: the ones'-complement sum does not depend on byte order. For tc, the same
 * differences go through bpf_l4_csum_replace() (xvs_l4_csum_skb, below). */
#ifndef XVS_CSUM_H
#define XVS_CSUM_H

#include "xvs_consts.h"

static __always_inline __u32 xvs_csum_add(__u32 sum, __u32 x)
{
	sum += x;
	return sum + (sum < x);
}

/* Adds the change of one 32-bit word from `from` to `to` to the difference. */
static __always_inline __u32 xvs_csum_diff4(__u32 diff, __u32 from, __u32 to)
{
	return xvs_csum_add(xvs_csum_add(diff, ~from), to);
}

/* Same for a 16-bit word (widened: the upper half stays zero on both sides). */
static __always_inline __u32 xvs_csum_diff2(__u32 diff, __u16 from, __u16 to)
{
	return xvs_csum_add(xvs_csum_add(diff, (__u16)~from), to);
}

/* Same for a 16-byte (IPv6, or IPv4 in word 0) address. */
static __always_inline __u32 xvs_csum_diff16(__u32 diff, const __u32 *from, const __u32 *to)
{
	diff = xvs_csum_diff4(diff, from[0], to[0]);
	diff = xvs_csum_diff4(diff, from[1], to[1]);
	diff = xvs_csum_diff4(diff, from[2], to[2]);
	return xvs_csum_diff4(diff, from[3], to[3]);
}

static __always_inline __u16 xvs_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Applies a difference to a checksum field in place. */
static __always_inline void xvs_csum_apply(__u16 *csum, __u32 diff)
{
	*csum = ~xvs_csum_fold(xvs_csum_add((__u16)~*csum, diff));
}

/* UDP over IPv4: checksum 0 means "none" and stays 0; a computed 0 is sent as 0xffff (RFC 768). */
static __always_inline void xvs_csum_apply_udp(__u16 *csum, __u32 diff, int v4)
{
	if (v4 && *csum == 0)
		return;
	xvs_csum_apply(csum, diff);
	if (*csum == 0)
		*csum = 0xffff;
}

/* tc only. An skb a local socket sent through a device with tx checksum offload (a veth from another
 * namespace, or this host's own traffic) is CHECKSUM_PARTIAL: its L4 checksum field holds the folded
 * pseudo-header sum, not a checksum, and the stack or the device completes it later from csum_start.
 * An RFC 1624 update of that field is wrong (ports must not enter it at all), and only the kernel
 * knows skb->ip_summed: bpf_l4_csum_replace() does what the kernel's inet_proto_csum_replace*() do —
 * for CHECKSUM_PARTIAL it updates the seed with pseudo-header changes only, otherwise the full
 * incremental update (and skb->csum for CHECKSUM_COMPLETE). A BPF_PROG_TEST_RUN skb is always
 * CHECKSUM_NONE, so only the end-to-end test (test/e2e/tc-offload.test.ts) sees the difference.
 *
 * BPF_F_IPV6 (Linux 6.16): on IPv6 a pseudo-header change leaves skb->csum of a CHECKSUM_COMPLETE skb
 * alone (no IP header checksum compensates the address change). Defined here: bookworm's uapi header
 * predates it, and under its own name so a newer header's enum does not clash. */
#define XVS_F_L4_CSUM_IPV6 (1ULL << 7)

/* Applies a rewrite's checksum differences (as xvs_csum_diff*() build them) to the TCP/UDP checksum
 * at byte `off` of the skb: `pseudo_diff` for pseudo-header words (addresses), `l4_diff` for words
 * of the L4 header itself (ports; skipped when !l4_changed). UDP checksum 0 stays 0 on IPv4 (no
 * checksum) and a computed 0 is sent as 0xffff (BPF_F_MARK_MANGLED_0). Invalidates every packet
 * pointer (the helper may reallocate the head). Returns 0 or a negative errno. */
static __always_inline long xvs_l4_csum_skb(struct __sk_buff *skb, __u32 off, __u32 pseudo_diff,
					    __u32 l4_diff, int l4_changed, int udp, int v6)
{
	__u64 flags = udp ? (v6 ? BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE : BPF_F_MARK_MANGLED_0) : 0;
	long rc;

	rc = bpf_l4_csum_replace(skb, off, 0, pseudo_diff,
				 flags | BPF_F_PSEUDO_HDR | (v6 ? XVS_F_L4_CSUM_IPV6 : 0));
	/* Kernels before 6.16 reject the unknown flag before touching anything. */
	if (unlikely(rc == -22 /* EINVAL */ && v6))
		rc = bpf_l4_csum_replace(skb, off, 0, pseudo_diff, flags | BPF_F_PSEUDO_HDR);
	if (rc || !l4_changed)
		return rc;
	return bpf_l4_csum_replace(skb, off, 0, l4_diff, flags);
}

#endif /* XVS_CSUM_H */
