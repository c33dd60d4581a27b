/* bench_syn.bpf.c — the new-connection generator of bench/sched-rate.ts and test/bpf/storm.test.ts. Run
 * with BPF_PROG_TEST_RUN live frames, syn_gen writes a TCP SYN from syn_tmpl whose source (address, port)
 * no earlier frame had, then tail-calls the program user space put in syn_next (the director's xvs_xdp,
 * or a baseline), so every SYN it offers is a new connection for the director. Paced (interval_ns set),
 * a frame that comes before the SYN's time is dropped at once instead: the run spins until it is due. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define SYN_HDR_LEN 54 /* Ethernet 14 + IPv4 20 + TCP 20 */

/* syn_tmpl value: the frame's headers with checksums for the first source, and how sources advance:
 * SYN n comes from (saddr_base + (n / nports) % naddrs, sport_base + n % nports), host order; one SYN
 * every interval_ns (0: every frame), at most `burst` at once after a pause (between two test runs). */
struct syn_tmpl {
	unsigned char hdr[SYN_HDR_LEN];
	__u16 nports;
	__u32 saddr_base;
	__u32 naddrs;
	__u16 sport_base;
	__u16 burst;
	__u32 pad;
	__u64 interval_ns;
};
_Static_assert(sizeof(struct syn_tmpl) == 80, "syn_tmpl size");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syn_tmpl);
} syn_tmpl SEC(".maps");

/* key: 0  value: the program each generated frame is handed to  written by: user space */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} syn_next SEC(".maps");

/* SYNs offered so far (user space reads it through the .bss map) and the time the next one is due.
 * Test runs use one CPU, so plain stores suffice. */
struct {
	__u64 seq;
	__u64 due_ns;
} syn_state;

/* One's-complement sum folded to 16 bits. */
static __always_inline __u16 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* RFC 1624 incremental update of a checksum for one 16-bit word changing from `from` to `to`
 * (all network order). */
static __always_inline __u16 csum_replace(__u16 csum, __u16 from, __u16 to)
{
	return ~fold((__u32)(__u16)~csum + (__u16)~from + to);
}

SEC("xdp")
int syn_gen(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	unsigned char *data = (void *)(long)ctx->data;
	struct syn_tmpl *t;
	__u16 sport, sa_hi, sa_lo, base_hi, base_lo, base_port, ipc, tcpc;
	__u32 key = 0, n, saddr;

	if (data + SYN_HDR_LEN > (unsigned char *)data_end)
		return XDP_ABORTED;
	t = bpf_map_lookup_elem(&syn_tmpl, &key);
	if (!t || t->nports == 0 || t->naddrs == 0)
		return XDP_ABORTED;
	if (t->interval_ns) {
		__u64 now = bpf_ktime_get_ns(), due = syn_state.due_ns, slack = t->interval_ns * t->burst;

		if (now < due)
			return XDP_DROP;
		if (now - due > slack)
			due = now - slack;
		syn_state.due_ns = due + t->interval_ns;
	}
	/* Live frames recycle pages the director has rewritten: the whole header comes from the template. */
	__builtin_memcpy(data, t->hdr, SYN_HDR_LEN);
	n = (__u32)syn_state.seq++;
	saddr = t->saddr_base + (n / t->nports) % t->naddrs;
	sport = t->sport_base + n % t->nports;

	/* Source address (bytes 26..29) and port (34..35), with both checksums updated to match. */
	sa_hi = __builtin_bswap16((__u16)(saddr >> 16));
	sa_lo = __builtin_bswap16((__u16)saddr);
	base_hi = __builtin_bswap16((__u16)(t->saddr_base >> 16));
	base_lo = __builtin_bswap16((__u16)t->saddr_base);
	base_port = __builtin_bswap16(t->sport_base);
	sport = __builtin_bswap16(sport);
	__builtin_memcpy(&ipc, data + 24, 2);
	__builtin_memcpy(&tcpc, data + 50, 2);
	ipc = csum_replace(csum_replace(ipc, base_hi, sa_hi), base_lo, sa_lo);
	tcpc = csum_replace(csum_replace(csum_replace(tcpc, base_hi, sa_hi), base_lo, sa_lo), base_port, sport);
	__builtin_memcpy(data + 26, &sa_hi, 2);
	__builtin_memcpy(data + 28, &sa_lo, 2);
	__builtin_memcpy(data + 34, &sport, 2);
	__builtin_memcpy(data + 24, &ipc, 2);
	__builtin_memcpy(data + 50, &tcpc, 2);

	bpf_tail_call(ctx, &syn_next, 0);
	return XDP_ABORTED; /* nothing in syn_next */
}
