/* bench_trivial.bpf.c — the benchmark's baseline: parse Ethernet + IPv4/IPv6 + TCP/UDP with the same
 * parsers as xvs_xdp, swap the MACs and bounce the frame (XDP_TX). The cost xvs is compared against. */
#include "xvs_parse.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int trivial_tx(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct xvs_hdr_cursor nh = { .pos = (void *)(long)ctx->data };
	unsigned char tmp[ETH_ALEN];
	struct ipv6hdr *ip6h;
	struct ethhdr *eth;
	struct iphdr *iph;
	struct tcphdr *th;
	struct udphdr *uh;
	int eth_type, proto;

	eth_type = xvs_parse_ethhdr(&nh, data_end, &eth);
	if (eth_type == XVS_ETH_P_IP_BE)
		proto = xvs_parse_iphdr(&nh, data_end, &iph);
	else if (eth_type == XVS_ETH_P_IPV6_BE)
		proto = xvs_parse_ip6hdr(&nh, data_end, &ip6h);
	else
		return XDP_PASS;
	if (proto == IPPROTO_TCP) {
		if (xvs_parse_tcphdr(&nh, data_end, &th) < 0)
			return XDP_PASS;
	} else if (proto == IPPROTO_UDP) {
		if (xvs_parse_udphdr(&nh, data_end, &uh) < 0)
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return XDP_TX;
}
