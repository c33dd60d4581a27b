/* bench_tun.bpf.c — lets bench/modes-cost.ts time TUN, whose encapsulation changes the frame's length.
 * Live frames (BPF_F_TEST_XDP_LIVE_FRAMES) reset the frame pointers between runs but not the bytes:
 * after an encapsulation the 14 bytes where the Ethernet header was hold the tail of the outer IP
 * header. restore_tail writes the frame's Ethernet header back from tun_eth and tail-calls the program
 * under test (tun_next[0]: xvs_xdp, or a baseline), which then sees the same frame every run; the rest
 * of the frame (the inner packet) is not touched by an encapsulation. trivial_encap is the baseline that
 * encapsulates: the trivial program's parse, then bpf_xdp_adjust_head() and an outer IPv4 header with
 * its checksum, as much work as an IPIP encapsulation can be, and XDP_TX. */
#include "xvs_parse.h"

char LICENSE[] SEC("license") = "GPL";

struct tun_eth {
	unsigned char hdr[ETH_HLEN];
	unsigned char pad[2];
};

/* key 0: the Ethernet header every run must start with  written by: bench/modes-cost.ts */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tun_eth);
} tun_eth SEC(".maps");

/* key 0: the program timed behind restore_tail  written by: bench/modes-cost.ts */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tun_next SEC(".maps");

SEC("xdp")
int restore_tail(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u32 zero = 0;
	struct tun_eth *e;

	if (data + ETH_HLEN > data_end)
		return XDP_ABORTED;
	e = bpf_map_lookup_elem(&tun_eth, &zero);
	if (!e)
		return XDP_ABORTED;
	__builtin_memcpy(data, e->hdr, ETH_HLEN);
	bpf_tail_call(ctx, &tun_next, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int trivial_encap(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct xvs_hdr_cursor nh = { .pos = (void *)(long)ctx->data };
	unsigned char smac[ETH_ALEN], dmac[ETH_ALEN];
	struct ethhdr *eth;
	struct iphdr *iph, *o;
	struct tcphdr *th;
	struct udphdr *uh;
	__be32 saddr, daddr;
	__be16 tot_len;
	__u32 sum = 0;
	__u16 *w;
	int proto, i;

	if (xvs_parse_ethhdr(&nh, data_end, &eth) != XVS_ETH_P_IP_BE)
		return XDP_PASS;
	proto = xvs_parse_iphdr(&nh, data_end, &iph);
	if (proto == IPPROTO_TCP) {
		if (xvs_parse_tcphdr(&nh, data_end, &th) < 0)
			return XDP_PASS;
	} else if (proto == IPPROTO_UDP) {
		if (xvs_parse_udphdr(&nh, data_end, &uh) < 0)
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}
	__builtin_memcpy(smac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(dmac, eth->h_source, ETH_ALEN);
	saddr = iph->daddr;
	daddr = iph->saddr;
	tot_len = bpf_htons(bpf_ntohs(iph->tot_len) + sizeof(struct iphdr));

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_ABORTED;
	eth = (void *)(long)ctx->data;
	o = (void *)(eth + 1);
	if ((void *)(o + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = XVS_ETH_P_IP_BE;
	*(__u8 *)o = 0x45;
	o->tos = 0;
	o->tot_len = tot_len;
	o->id = 0;
	o->frag_off = bpf_htons(0x4000);
	o->ttl = 64;
	o->protocol = 4; /* IPIP */
	o->check = 0;
	o->saddr = saddr;
	o->daddr = daddr;
	w = (__u16 *)o;
#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	o->check = ~sum;
	return XDP_TX;
}
