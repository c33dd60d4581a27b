/* xvs.bpf.c — the director's fast path: the XDP and tc entry points over the one shared packet walk
 * (include/xvs_core.h). Each entry only builds the packet context and maps the core's verdict to its
 * program type's action. */
#include <linux/pkt_cls.h>

#include "xvs_core.h"

char LICENSE[] SEC("license") = "GPL";

/* BTF anchor: user space reads enum xvs_reason and enum xvs_tcp_state from this object's BTF (the
 * TypeScript mirrors are checked against it), and clang only emits types that something refers to.
 * Never called, so never loaded: libbpf loads .text functions only as subprograms of a caller. */
__attribute__((noinline)) int xvs_btf_enums(enum xvs_reason reason, enum xvs_tcp_state state)
{
	return reason + state;
}

/* Test-run once by the control plane after every load, before anything is attached
 * (src/datapath/bpf-datapath.ts): anchors the data path's clock (xvs_now in xvs_maps.h). Never
 * attached. Returns 1 when the clock is anchored, 0 when the kernel's HZ is unknown. */
SEC("xdp")
int xvs_clock_init(struct xdp_md *ctx)
{
	return xvs_clock_anchor();
}

SEC("xdp")
int xvs_xdp(struct xdp_md *ctx)
{
	struct xvs_pkt p = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.ifindex = ctx->ingress_ifindex,
	};
	long act;

	p.len = p.data_end - p.data;
	switch (xvs_process(ctx, &p)) {
	case XVS_V_TX:
		return XDP_TX;
	case XVS_V_REDIRECT:
		/* Only interfaces xvsd attached to are in the devmap; a miss returns XDP_DROP (the flags'
		 * low bits are the action on lookup failure). */
		act = bpf_redirect_map(&xvs_txports, p.out_ifindex, XDP_DROP);
		xvs_count(act == XDP_REDIRECT ? XVS_R_FWD_REDIRECT : XVS_R_DROP_REDIRECT);
		return act;
	case XVS_V_DROP:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

SEC("tc")
int xvs_tc(struct __sk_buff *skb)
{
	struct xvs_pkt p = {};
	__u32 want = skb->len;

	/* Direct packet access reaches only the linear part: make the headers linear first (only when
	 * they are not: pulling a cloned skb copies it). */
	if (want > XVS_TC_PULL_LEN)
		want = XVS_TC_PULL_LEN;
	if ((void *)(long)skb->data + want > (void *)(long)skb->data_end)
		bpf_skb_pull_data(skb, want);
	p.data = (void *)(long)skb->data;
	p.data_end = (void *)(long)skb->data_end;
	p.len = skb->len;
	p.ifindex = skb->ifindex;
	p.is_skb = 1;

	switch (xvs_process(skb, &p)) {
	case XVS_V_TX:
		return bpf_redirect(p.ifindex, 0);
	case XVS_V_REDIRECT:
		xvs_count(XVS_R_FWD_REDIRECT);
		return bpf_redirect(p.out_ifindex, 0);
	case XVS_V_DROP:
		return TC_ACT_SHOT;
	default:
		return TC_ACT_OK;
	}
}
