/* xvs_consts.h — compile-time constants and small macros shared by the BPF programs: pre-swapped
 * byte-order constants, TCP flag bits, likely/unlikely, the verdict type of the shared core and debug
 * printing that compiles away unless XVS_DEBUG is defined. */
#ifndef XVS_CONSTS_H
#define XVS_CONSTS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xvs_abi.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifdef XVS_DEBUG
#define xvs_dbg(fmt, ...) bpf_printk("xvs: " fmt, ##__VA_ARGS__)
#else
#define xvs_dbg(fmt, ...) do { } while (0)
#endif

/* Constants from uapi headers newer than bookworm's (6.1). */
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/* Ethertypes in network byte order, so the hot path compares without swapping. */
#define XVS_ETH_P_IP_BE bpf_htons(ETH_P_IP)
#define XVS_ETH_P_IPV6_BE bpf_htons(ETH_P_IPV6)

/* IPv4 frag_off: MF flag plus the 13-bit offset (DF is not a fragment), network order. */
#define XVS_IP_FRAG_MASK_BE bpf_htons(0x3fff)

/* Byte 13 of the TCP header. */
#define XVS_TCP_FIN 0x01
#define XVS_TCP_SYN 0x02
#define XVS_TCP_RST 0x04
#define XVS_TCP_ACK 0x10

/* IPv6 next-header values that are extension headers (the fast path only takes TCP/UDP directly
 * after the fixed header; anything chained goes to the kernel). */
#define XVS_IPV6_HOPOPTS 0
#define XVS_IPV6_ROUTING 43
#define XVS_IPV6_FRAGMENT 44
#define XVS_IPV6_AH 51
#define XVS_IPV6_DSTOPTS 60
#define XVS_IPV6_MOBILITY 135
#define XVS_IPV6_HIP 139
#define XVS_IPV6_SHIM6 140

/* What the shared core decides; each entry point maps it to its program type's action. */
enum xvs_verdict {
	XVS_V_PASS = 0,  /* to the kernel stack, untouched */
	XVS_V_DROP,      /* discard */
	XVS_V_TX,        /* out of the ingress interface (MACs rewritten) */
	XVS_V_REDIRECT,  /* out of xvs_pkt.out_ifindex (MACs rewritten); the entry counts the reason */
};

/* Helpers return a verdict or this: "keep walking" (katran's FURTHER_PROCESSING). */
#define XVS_CONTINUE (-1)

/* Bytes the tc entry makes linear before the walk: Ethernet + IPv6 + the longest TCP header. */
#define XVS_TC_PULL_LEN (14 + 40 + 60)

#endif /* XVS_CONSTS_H */
