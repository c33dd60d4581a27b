/* xvs_parse.h — bounded, verifier-friendly header parsers (Ethernet, IPv4, IPv6, TCP, UDP) shared by
 * every BPF program. Contract (xdp-tutorial): a header cursor, the `ptr + 1 > data_end` bounds check,
 * return the next protocol (or a header length) on success and -1 when the header is truncated. */
#ifndef XVS_PARSE_H
#define XVS_PARSE_H

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "xvs_consts.h"

struct xvs_hdr_cursor {
	void *pos;
};

/* The two ports at the start of both TCP and UDP headers: all the service lookup needs. */
struct xvs_l4ports {
	__be16 source;
	__be16 dest;
};

/* Returns the ethertype in network byte order. 802.1Q/802.1ad frames are returned as such (the
 * data path does not look inside VLAN tags; they go to the kernel). */
static __always_inline int xvs_parse_ethhdr(struct xvs_hdr_cursor *nh, void *data_end,
					    struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	*ethhdr = eth;
	return eth->h_proto;
}

/* Checks the fixed 20-byte header only and advances past it: the fast path never walks options
 * (the caller sends ihl != 5 to the kernel before it uses the cursor). Returns the L4 protocol. */
static __always_inline int xvs_parse_iphdr(struct xvs_hdr_cursor *nh, void *data_end,
					   struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;

	if ((void *)(iph + 1) > data_end)
		return -1;
	nh->pos = iph + 1;
	*iphdr = iph;
	return iph->protocol;
}

/* Fixed 40-byte header; returns the next header (extension headers are the caller's business). */
static __always_inline int xvs_parse_ip6hdr(struct xvs_hdr_cursor *nh, void *data_end,
					    struct ipv6hdr **ip6hdr)
{
	struct ipv6hdr *ip6h = nh->pos;

	if ((void *)(ip6h + 1) > data_end)
		return -1;
	nh->pos = ip6h + 1;
	*ip6hdr = ip6h;
	return ip6h->nexthdr;
}

/* Reads the ports without advancing: enough to know whether the packet is for a virtual service
 * before insisting on a complete L4 header. Returns 0 or -1. */
static __always_inline int xvs_parse_l4ports(struct xvs_hdr_cursor *nh, void *data_end,
					     struct xvs_l4ports **ports)
{
	struct xvs_l4ports *p = nh->pos;

	if ((void *)(p + 1) > data_end)
		return -1;
	*ports = p;
	return 0;
}

/* Whole TCP header including options must be present and doff >= 5. Returns the header length. */
static __always_inline int xvs_parse_tcphdr(struct xvs_hdr_cursor *nh, void *data_end,
					    struct tcphdr **tcphdr)
{
	struct tcphdr *th = nh->pos;
	int len;

	if ((void *)(th + 1) > data_end)
		return -1;
	len = th->doff * 4;
	if (len < (int)sizeof(*th))
		return -1;
	/* len is at most 60: a bounded variable offset the verifier can follow. */
	if (nh->pos + len > data_end)
		return -1;
	nh->pos += len;
	*tcphdr = th;
	return len;
}

/* Returns the UDP header length (8). */
static __always_inline int xvs_parse_udphdr(struct xvs_hdr_cursor *nh, void *data_end,
					    struct udphdr **udphdr)
{
	struct udphdr *uh = nh->pos;

	if ((void *)(uh + 1) > data_end)
		return -1;
	nh->pos = uh + 1;
	*udphdr = uh;
	return sizeof(*uh);
}

/* True for IPv6 next-header values that are extension headers (not walked by the fast path). */
static __always_inline int xvs_ipv6_is_ext(__u8 nexthdr)
{
	switch (nexthdr) {
	case XVS_IPV6_HOPOPTS:
	case XVS_IPV6_ROUTING:
	case XVS_IPV6_FRAGMENT:
	case XVS_IPV6_AH:
	case XVS_IPV6_DSTOPTS:
	case XVS_IPV6_MOBILITY:
	case XVS_IPV6_HIP:
	case XVS_IPV6_SHIM6:
		return 1;
	}
	return 0;
}

#endif /* XVS_PARSE_H */
