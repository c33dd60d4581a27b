/* native_test.bpf.c — a tiny object used only by the native addon's tests: one map of each kind the
 * addon handles (hash, LRU hash, mmapable array, ring buffer), an XDP and a tc program, and a struct and
 * an enum in BTF for the layout readers. Not part of the data path. */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define NATIVE_TX_MARKER 0xaa /* first packet byte that makes the XDP program answer XDP_TX */
#define NATIVE_TX_REWRITE 0xbb /* what it writes there, so the test sees the packet out differ */
#define TC_ACT_OK 0

/* Reached by the BTF tests through native_lru's value type. */
enum native_color {
	NATIVE_RED = 1,
	NATIVE_GREEN = 2,
	NATIVE_BLUE = 40,
};

struct native_layout {
	__u32 a;
	__u16 b;
	__u8 c[3];
	enum native_color color;
	__u64 d;
};

/* One ring buffer record per XDP run. */
struct native_event {
	__u32 pkt_len;
	__u32 ingress_ifindex;
	__u8 first_byte;
	__u8 pad[7];
};

/* key: __u32  value: __u64  written by: control plane (tests) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} native_hash SEC(".maps");

/* key: __u32  value: struct native_layout  written by: control plane (tests) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct native_layout);
} native_lru SEC(".maps");

/* key: __u32 index  value: __u64 counter (index 0 = XDP runs)  written by: datapath and tests (mmap) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} native_mm SEC(".maps");

/* records: struct native_event  written by: datapath */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} native_rb SEC(".maps");

SEC("xdp")
int native_xdp(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *data_end = (void *)(long)ctx->data_end;
	struct native_event *ev;
	__u32 zero = 0;
	__u64 *runs;
	__u8 first;

	runs = bpf_map_lookup_elem(&native_mm, &zero);
	if (runs)
		__sync_fetch_and_add(runs, 1);

	if (data + 1 > data_end)
		return XDP_PASS;
	first = data[0];

	/* A full ring buffer must not change the verdict: the record is best effort. */
	ev = bpf_ringbuf_reserve(&native_rb, sizeof(*ev), 0);
	if (ev) {
		__builtin_memset(ev, 0, sizeof(*ev));
		ev->pkt_len = data_end - data;
		ev->ingress_ifindex = ctx->ingress_ifindex;
		ev->first_byte = first;
		bpf_ringbuf_submit(ev, 0);
	}

	if (first == NATIVE_TX_MARKER) {
		data[0] = NATIVE_TX_REWRITE;
		return XDP_TX;
	}
	return XDP_PASS;
}

SEC("tc")
int native_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
