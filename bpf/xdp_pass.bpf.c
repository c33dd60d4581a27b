/* xdp_pass.bpf.c — a do-nothing XDP program for the *peers* of veths in test topologies.
 * On veth, XDP_TX and XDP_REDIRECT from the director only deliver when the receiving end has an XDP
 * program attached (see shared/ENVIRONMENT.md, "XDP on veth"); this one passes every frame. */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
