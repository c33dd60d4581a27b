/* xvs_abi.h — the single source of truth for everything shared between the data path and user space:
 * map key/value structs, flags, limits and counter enums. Fixed-width types, explicit padding, network
 * byte order for addresses and ports. The TypeScript codecs are checked against this file's BTF. */
#ifndef XVS_ABI_H
#define XVS_ABI_H

#include <linux/types.h>

/* ---- limits (overridable at build time; map sizes can also be set at load time) ---- */
#ifndef XVS_MAX_SERVICES
#define XVS_MAX_SERVICES 1024
#endif
#ifndef XVS_MAX_DESTS
#define XVS_MAX_DESTS 8192
#endif
#ifndef XVS_MAX_CONNS
#define XVS_MAX_CONNS 262144
#endif
#ifndef XVS_MAX_IFACES
#define XVS_MAX_IFACES 64
#endif
/* Decisions per service ring; a power of two so the data path indexes with a mask. */
#define XVS_RING_SLOTS 1024
#define XVS_RING_MASK (XVS_RING_SLOTS - 1)
/* A ring slot holding this value is a decision "no dest available": the new connection is dropped
 * (XVS_R_DROP_NO_DEST), as IPVS does when its scheduler returns NULL. */
#define XVS_DEST_NONE 0xffffffffU

/* ---- address families and protocols (values as in the kernel) ---- */
#define XVS_AF_INET 2
#define XVS_AF_INET6 10
#define XVS_PROTO_TCP 6
#define XVS_PROTO_UDP 17

/* ---- forwarding methods (IP_VS_CONN_F_* values of the kernel, so -S output maps 1:1) ---- */
#define XVS_FWD_MASQ 0
#define XVS_FWD_LOCALNODE 1
#define XVS_FWD_TUNNEL 2
#define XVS_FWD_DROUTE 3
#define XVS_FWD_BYPASS 4
#define XVS_FWD_FULLNAT 5

/* ---- service flags ---- */
#define XVS_SVC_F_ACTIVE (1U << 0) /* the ring has been published at least once */
#define XVS_SVC_F_OPS (1U << 1)    /* ipvsadm -o: one-packet scheduling of UDP (IP_VS_SVC_F_ONEPACKET) */

/* ---- dest flags ---- */
#define XVS_DEST_F_AVAILABLE (1U << 0) /* slot holds a live dest (cleared on delete) */

/* ---- TCP connection states (IP_VS_TCP_S_* numbering of the kernel) ---- */
enum xvs_tcp_state {
	XVS_TCP_S_NONE = 0,
	XVS_TCP_S_ESTABLISHED = 1,
	XVS_TCP_S_SYN_SENT = 2,
	XVS_TCP_S_SYN_RECV = 3,
	XVS_TCP_S_FIN_WAIT = 4,
	XVS_TCP_S_TIME_WAIT = 5,
	XVS_TCP_S_CLOSE = 6,
	XVS_TCP_S_CLOSE_WAIT = 7,
	XVS_TCP_S_LAST_ACK = 8,
	XVS_TCP_S_LISTEN = 9,
	XVS_TCP_S_SYNACK = 10,
	XVS_TCP_S_LAST = 11,
};
/* UDP connections use state NONE (kernel: IP_VS_UDP_S_NORMAL = 0). */

/* ---- reasons a packet was passed, dropped or took a slow branch (per-CPU counters) ---- */
enum xvs_reason {
	XVS_R_PASS_NOT_IP = 0,      /* not IPv4/IPv6 (ARP, LLDP, ...) */
	XVS_R_PASS_NOT_L4,          /* IP, but not TCP/UDP */
	XVS_R_PASS_NO_SERVICE,      /* no virtual service for {proto, VIP, port} */
	XVS_R_PASS_FRAGMENT,        /* IPv4 fragment or IPv6 extension headers: slow path */
	XVS_R_PASS_IP_OPTIONS,      /* IPv4 header with options: slow path */
	XVS_R_PASS_NO_NEIGH,        /* fib lookup: neighbour of RS not resolved */
	XVS_R_PASS_FIB_OTHER,       /* fib lookup failed otherwise (no route, forwarding off, ...) */
	XVS_R_DROP_MALFORMED,       /* truncated or inconsistent headers */
	XVS_R_DROP_NO_CONN_NOT_SYN, /* TCP without SYN and no connection entry */
	XVS_R_DROP_NO_DEST,         /* service has no available dest (empty ring) */
	XVS_R_DROP_DEST_GONE,       /* decision or connection names a dest that was removed */
	XVS_R_DROP_CONN_FULL,       /* connection table insert failed */
	XVS_R_DROP_REDIRECT,        /* egress interface not in the tx devmap */
	XVS_R_RING_EXHAUSTED,       /* consumed past the produced mark (stale decision reused) */
	XVS_R_FWD_TX,               /* forwarded out of the ingress interface */
	XVS_R_FWD_REDIRECT,         /* forwarded out of another interface */
	XVS_R_CONN_NEW,             /* new connection scheduled */
	XVS_R_CONN_RESCHED,         /* SYN on a closing tuple: rescheduled inline */
	XVS_R_PASS_MALFORMED,       /* headers too short/inconsistent to tell whether it is for a VIP */
	XVS_R_FWD_REPLY,            /* NAT/FULLNAT reply translated back to VIP:vport (also counted TX/REDIRECT) */
	XVS_R_PASS_STALE_REPLY,     /* reverse index names a connection that is gone or was reused */
	XVS_R_PASS_TTL,             /* any mode (TUN: inner): TTL/hop limit would expire: the kernel answers */
	XVS_R_DROP_NO_LADDR,        /* FULLNAT service without a local address */
	XVS_R_DROP_LPORT_EXHAUSTED, /* FULLNAT: no free local port for (LIP, RIP, rport) after bounded tries */
	XVS_R_ICMP_TOO_BIG,         /* TUN: oversize packet answered with ICMP frag-needed / packet-too-big */
	XVS_R_PASS_TOO_BIG,         /* TUN: oversize packet that may be fragmented (no DF): the kernel does it */
	XVS_R_FWD_ICMP,             /* ICMP error for a tracked connection forwarded/translated */
	XVS_R_SYNC_LOST,            /* sync on: a connection event did not fit the sync ring (the refresh resends it) */
	XVS_R_FC_HIT,               /* forwarded from the established-flow cache (also counted TX/REDIRECT/REPLY) */
	XVS_R_FC_FILL,              /* a full walk filled an established-flow cache entry */
	XVS_R_MAX,
};

/* ---- maps: keys and values ---- */

/* xvs_svcs key: the virtual service {af, proto, VIP, port}. */
struct xvs_svc_key {
	__u32 addr[4]; /* VIP, network order; IPv4 in addr[0], rest zero */
	__u16 port;    /* network order */
	__u8 proto;    /* XVS_PROTO_* */
	__u8 af;       /* XVS_AF_* */
};
_Static_assert(sizeof(struct xvs_svc_key) == 20, "xvs_svc_key size");

/* xvs_svcs value. */
struct xvs_svc {
	__u32 id;    /* index into xvs_rings and xvs_svc_st */
	__u32 flags; /* XVS_SVC_F_* */
};
_Static_assert(sizeof(struct xvs_svc) == 8, "xvs_svc size");

/* xvs_dests value, indexed by dest id. */
struct xvs_dest {
	__u32 addr[4]; /* RIP, network order */
	__u16 port;    /* network order */
	__u8 af;       /* XVS_AF_* */
	__u8 fwd;      /* XVS_FWD_* */
	__u32 flags;   /* XVS_DEST_F_* */
	__u32 svc_id;  /* owning service */
};
_Static_assert(sizeof(struct xvs_dest) == 28, "xvs_dest size");

/* xvs_dcnt value (mmapable), indexed by dest id: live connection counts as IPVS keeps them. */
struct xvs_dest_cnt {
	__u32 activeconns;
	__u32 inactconns;
};
_Static_assert(sizeof(struct xvs_dest_cnt) == 8, "xvs_dest_cnt size");

/* xvs_rings value (mmapable), indexed by service id: the next scheduling decisions.
 * Decision i (a dest id) lives in slot[i & XVS_RING_MASK] for cons <= i < prod. The data path takes
 * i = cons++ atomically; the control plane writes slots then advances prod (release ordering). */
struct xvs_ring {
	__u64 cons;
	__u64 prod;
	__u32 slot[XVS_RING_SLOTS];
};
_Static_assert(sizeof(struct xvs_ring) == 16 + 4 * XVS_RING_SLOTS, "xvs_ring size");

/* xvs_conns key: the client-side 5-tuple as it arrives at the director. */
struct xvs_conn_key {
	__u32 saddr[4]; /* CIP */
	__u32 daddr[4]; /* VIP */
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 af;
	__u16 pad;
};
_Static_assert(sizeof(struct xvs_conn_key) == 40, "xvs_conn_key size");

/* xvs_conns value. */
struct xvs_conn {
	__u64 last_seen_ns; /* CLOCK_MONOTONIC ns of the last packet (tick resolution: xvs_now) */
	__u64 created_ns;
	__u32 dest_id;
	__u32 svc_id;
	__u8 state;  /* enum xvs_tcp_state */
	__u8 fwd;    /* XVS_FWD_* at creation */
	__u16 flags; /* XVS_CONN_F_* */
	__u32 pad;
	/* The real-server side of the connection (NAT/FULLNAT: the reverse index key is
	 * {raddr, laddr, rport, lport}). raddr/rport = RIP:rport; laddr/lport = the source the RS sees:
	 * CIP:cport for NAT, LIP:lport for FULLNAT. Zero for DR/TUN. */
	__u32 raddr[4];
	__u32 laddr[4];
	__u16 rport;
	__u16 lport;
	__u32 pad2;
};
_Static_assert(sizeof(struct xvs_conn) == 72, "xvs_conn size");
#define XVS_CONN_F_INACTIVE (1U << 0) /* counted in inactconns (else activeconns) */
#define XVS_CONN_F_OUTPUT (1U << 1)   /* NAT/FULLNAT: a reply was seen (IPVS clears NOOUTPUT): full table */

/* xvs_svc_st / xvs_dest_st value (per-CPU), as struct ip_vs_kstats. */
struct xvs_stats {
	__u64 conns;
	__u64 inpkts;
	__u64 outpkts;
	__u64 inbytes;
	__u64 outbytes;
};
_Static_assert(sizeof(struct xvs_stats) == 40, "xvs_stats size");

/* xvs_rconns key: the reply 5-tuple as it arrives from the real server
 * {saddr = RIP, daddr = CIP (NAT) or LIP (FULLNAT), sport = rport, dport = cport or lport}, laid out
 * as struct xvs_conn_key. Value: the forward struct xvs_conn_key of the connection. */

/* xvs_laddrs value, indexed by service id: FULLNAT's local address pool. */
#ifndef XVS_MAX_LADDRS
#define XVS_MAX_LADDRS 8
#endif
struct xvs_laddr_pool {
	__u32 count;     /* addresses in use, 0..XVS_MAX_LADDRS */
	__u16 lport_min; /* host order, inclusive: the local port range */
	__u16 lport_max;
	__u32 addrs[XVS_MAX_LADDRS][4]; /* LIPs, network order, same family as the service */
};
_Static_assert(sizeof(struct xvs_laddr_pool) == 8 + 16 * XVS_MAX_LADDRS, "xvs_laddr_pool size");

/* ---- hash schedulers (sh, dh, mh): the control plane's bucket table per service ---- */
#define XVS_SCHED_TAB_SLOTS 4096 /* >= mh's 4093-entry lookup table */
#define XVS_SCHED_SH 1
#define XVS_SCHED_DH 2
#define XVS_SCHED_MH 3
#define XVS_SCHED_F_FALLBACK (1U << 0) /* IP_VS_SVC_F_SCHED1: sh-fallback / mh-fallback */
#define XVS_SCHED_F_PORT (1U << 1)     /* IP_VS_SVC_F_SCHED2: sh-port / mh-port (hash the client port) */
/* A slot's dest has weight 0 or is overloaded: no dest (sh, dh, mh) unless mh-fallback walks on. */
#define XVS_SLOT_UNAVAIL (1U << 31)
/* Locality schedulers: the table's slots list the service's dests (kernel list order); see xvs_lblc.h. */
#define XVS_SCHED_LBLC 4
#define XVS_SCHED_LBLCR 5

/* xvs_sched_tab value, keyed by service id: the kernel's bucket table of a hash scheduler (a service
 * without one takes its decisions from its ring). slot[i] is a dest id, optionally | XVS_SLOT_UNAVAIL,
 * or XVS_DEST_NONE for an empty service. For sh with fallback the control plane stores each bucket's
 * fallback result already (it only depends on the bucket), so the data path never walks sh tables. */
struct xvs_sched_tab {
	__u32 kind;  /* XVS_SCHED_* */
	__u32 flags; /* XVS_SCHED_F_* */
	__u32 size;  /* buckets in use: 256 (sh, dh) or 4093 (mh); lblc/lblcr: the service's dest count */
	__u32 param; /* lblcr: lblcr_expiration in seconds (the set shrink); 0 otherwise */
	__u32 slot[XVS_SCHED_TAB_SLOTS];
};
_Static_assert(sizeof(struct xvs_sched_tab) == 16 + 4 * XVS_SCHED_TAB_SLOTS, "xvs_sched_tab size");

/* ---- persistence (ipvsadm -p/-M; the kernel's connection templates, ip_vs_sched_persist) ---- */
#ifndef XVS_MAX_TMPLS
#define XVS_MAX_TMPLS 65536
#endif
#define XVS_PERSIST_F_ON (1U << 0) /* the service is persistent */

/* xvs_persist value, indexed by service id: written by the control plane. */
struct xvs_persist {
	__u32 mask[4];   /* client address mask, network order (-M netmask; IPv6: the prefix as a mask) */
	__u32 timeout_s; /* -p timeout, copied into each new template (as cp->timeout = svc->timeout) */
	__u32 flags;     /* XVS_PERSIST_F_* */
};
_Static_assert(sizeof(struct xvs_persist) == 24, "xvs_persist size");

/* xvs_tmpls key: one template per (service, masked client address). */
struct xvs_tmpl_key {
	__u32 addr[4]; /* client address & mask, network order */
	__u32 svc_id;
	__u8 af;
	__u8 pad[3];
};
_Static_assert(sizeof(struct xvs_tmpl_key) == 24, "xvs_tmpl_key size");

/* xvs_tmpls value. */
struct xvs_tmpl {
	__u64 last_seen_ns; /* armed at creation and by each new connection it pins (ip_vs_conn_put) */
	__u64 created_ns;
	__u32 dest_id;
	__u32 timeout_s;
	__u32 flags; /* XVS_TMPL_F_* */
	__u32 pad;
};
_Static_assert(sizeof(struct xvs_tmpl) == 32, "xvs_tmpl size");
#define XVS_TMPL_F_ASSURED (1U << 0) /* IP_VS_CTPL_S_ASSURED: a controlled connection got established */

/* ---- the established-flow cache (bpf/include/xvs_fc.h) ---- */

/* xvs_fc_ctl value (one entry, key 0, mmapable): the control plane's half of the flow cache. A cached
 * entry is valid only while gen is the value it was filled under: the control plane adds 1 after every
 * change that can alter how an established connection is forwarded (a dest rewritten or cleared, a
 * connection overwritten by sync), and so does the data path when a connection is rescheduled or a
 * reply tuple changes hands. */
struct xvs_fc_ctl {
	__u32 gen;
	__u32 flags; /* XVS_FC_F_* */
};
_Static_assert(sizeof(struct xvs_fc_ctl) == 8, "xvs_fc_ctl size");
#define XVS_FC_F_OFF (1U << 0) /* no cache: every packet takes the full walk (xvsd --no-flow-cache) */

/* ---- connection sync (HA) ---- */

/* xvs_cfg value (one entry, key 0): run-time switches the control plane sets. */
struct xvs_cfg {
	__u32 flags; /* XVS_CFG_F_* */
	__u32 pad;
};
_Static_assert(sizeof(struct xvs_cfg) == 8, "xvs_cfg size");
#define XVS_CFG_F_SYNC (1U << 0) /* a sync master runs: publish connection events in xvs_sync_ring */
#define XVS_CFG_F_NULLSVC (1U << 1) /* a port-zero (all ports) service exists: a service miss tries port 0 */

/* xvs_sync_ring record: a connection as it is after it was opened or changed TCP state. */
struct xvs_sync_ev {
	struct xvs_conn_key key;
	struct xvs_conn conn;
};
_Static_assert(sizeof(struct xvs_sync_ev) == 112, "xvs_sync_ev size");
#ifndef XVS_SYNC_RING_BYTES
#define XVS_SYNC_RING_BYTES (2U << 20)
#endif

/* ---- locality schedulers (lblc, lblcr): destination address -> dest (set), see xvs_lblc.h ---- */
#ifndef XVS_MAX_LBLC
#define XVS_MAX_LBLC 65536
#endif
#define XVS_LBLC_SET_MAX 8 /* lblcr set members per entry (lblc uses dest[0] only) */

/* xvs_lblc key: one entry per (service, destination address of the new connection). */
struct xvs_lblc_key {
	__u32 addr[4]; /* destination address, network order */
	__u32 svc_id;
	__u8 af;
	__u8 pad[3];
};
_Static_assert(sizeof(struct xvs_lblc_key) == 24, "xvs_lblc_key size");

/* xvs_lblc value. */
struct xvs_lblc {
	__u64 lastuse_ns; /* CLOCK_MONOTONIC of the last lookup (en->lastuse) */
	__u64 lastmod_ns; /* lblcr: the set's last change (set->lastmod) */
	__u32 dest[XVS_LBLC_SET_MAX]; /* dest ids, newest first, XVS_DEST_NONE-terminated */
};
_Static_assert(sizeof(struct xvs_lblc) == 16 + 4 * XVS_LBLC_SET_MAX, "xvs_lblc size");

/* xvs_dsched value, indexed by dest id: what the locality schedulers read of a dest besides its counts. */
struct xvs_dsched {
	__u32 weight; /* the scheduler's weight (0 = quiesced) */
	__u32 flags;  /* XVS_DSCHED_F_* */
};
_Static_assert(sizeof(struct xvs_dsched) == 8, "xvs_dsched size");
#define XVS_DSCHED_F_OVERLOAD (1U << 0) /* IP_VS_DEST_F_OVERLOAD (thresholds) */

#endif /* XVS_ABI_H */
