/* xvs_csum.h — incremental Internet checksum updates (RFC 1624: HC' = ~(~HC + ~m + m')) usable from
 * XDP, where bpf_l3/l4_csum_replace do not exist. A rewrite accumulates the ones'-complement
 * difference of every changed word, then folds it into each checksum it touches once. Works on raw
 * (network order) words: the ones'-complement sum does not depend on byte order. */
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

#endif /* XVS_CSUM_H */
