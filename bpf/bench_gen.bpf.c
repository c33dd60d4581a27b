/* bench_gen.bpf.c — the packet generator and sink of bench/pps.ts (director throughput, xvs against
 * nftables DNAT). Run with BPF_PROG_TEST_RUN live frames on the client's veth, gen_tx writes the
 * frame's Ethernet + IPv4 + UDP headers from gen_tmpl (live frames recycle their pages, and the director
 * rewrites them, so nothing in a recycled page can be trusted), varies the UDP source port over
 * nflows values and sends the frame out (XDP_TX) towards the director. sink_drop, on the real server's
 * veth, drops what arrives once veth has counted it (rx_packets). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define GEN_HDR_LEN 42 /* Ethernet 14 + IPv4 20 + UDP 8 */

struct gen_tmpl {
	unsigned char hdr[GEN_HDR_LEN];
	unsigned short sport_base; /* network order */
	unsigned int nflows;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, unsigned int);
	__type(value, struct gen_tmpl);
} gen_tmpl SEC(".maps");

unsigned int gen_seq;

SEC("xdp")
int gen_tx(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	unsigned char *data = (void *)(long)ctx->data;
	unsigned int key = 0, n;
	struct gen_tmpl *t;
	unsigned short port;

	if (data + GEN_HDR_LEN > (unsigned char *)data_end)
		return XDP_ABORTED;
	t = bpf_map_lookup_elem(&gen_tmpl, &key);
	if (!t || t->nflows == 0)
		return XDP_ABORTED;
	__builtin_memcpy(data, t->hdr, GEN_HDR_LEN);
	n = gen_seq++ % t->nflows;
	port = __builtin_bswap16(__builtin_bswap16(t->sport_base) + n);
	__builtin_memcpy(data + 34, &port, 2); /* UDP source port; the UDP checksum is 0 (none) */
	return XDP_TX;
}

SEC("xdp")
int sink_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
