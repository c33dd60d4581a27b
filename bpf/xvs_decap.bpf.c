/* xvs_decap.bpf.c — tc ingress on a TUN real server whose kernel has no ipip/ip6_tunnel module: strips
 * the outer IPv4 (protocol 4, IPIP) or IPv6 (next header 41, IP6IP6) header of a tunnelled packet so the
 * inner packet, addressed to the VIP held on lo, goes up the stack as if it had arrived bare. Everything
 * else passes untouched. Attached and detached by `xvs-rs up --mode tun` / `xvs-rs down`. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Newer than bookworm's uapi header (6.1). */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#endif
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV6
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41

/* Counters the decapsulation keeps (per-CPU array xvs_decap_st). */
enum xvs_decap_stat {
	XVS_DECAP_IPIP = 0,   /* IPv4-in-IPv4 decapsulated */
	XVS_DECAP_IP6IP6,     /* IPv6-in-IPv6 decapsulated */
	XVS_DECAP_FAILED,     /* bpf_skb_adjust_room refused (packet passed as it came) */
	XVS_DECAP_MAX,
};

/* key: __u32 enum xvs_decap_stat  value: __u64 packets (per CPU)  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVS_DECAP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} xvs_decap_st SEC(".maps");

static __always_inline void count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&xvs_decap_st, &what);

	if (n)
		*n += 1;
}

SEC("tc")
int xvs_decap(struct __sk_buff *skb)
{
	void *data, *data_end;
	struct ethhdr *eth;
	__u64 flags;
	int room;

	if (skb->len >= sizeof(*eth) + sizeof(struct ipv6hdr))
		bpf_skb_pull_data(skb, sizeof(*eth) + sizeof(struct ipv6hdr));
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		/* Outer header without options and not fragmented (the kernel reassembles those first). */
		if ((void *)(iph + 1) > data_end || *(__u8 *)iph != 0x45 || iph->protocol != IPPROTO_IPIP_ ||
		    (iph->frag_off & bpf_htons(0x3fff)))
			return TC_ACT_OK;
		room = sizeof(*iph);
		flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end || ip6h->nexthdr != IPPROTO_IPV6_)
			return TC_ACT_OK;
		room = sizeof(*ip6h);
		flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
	} else {
		return TC_ACT_OK;
	}
	/* A GSO skb (a director with offloads on, or GRO here) keeps its segment size: the segments were
	 * cut to fit the tunnel, and the kernel refuses to shrink UDP GSO skbs without this flag. */
	flags |= BPF_F_ADJ_ROOM_FIXED_GSO;
	if (bpf_skb_adjust_room(skb, -room, BPF_ADJ_ROOM_MAC, flags)) {
		count(XVS_DECAP_FAILED);
		return TC_ACT_OK;
	}
	count(room == sizeof(struct iphdr) ? XVS_DECAP_IPIP : XVS_DECAP_IP6IP6);
	return TC_ACT_OK;
}
