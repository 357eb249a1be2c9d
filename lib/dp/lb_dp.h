/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_DP_H
#define LB_DP_H

/*
 * The data path: what one worker does with its frames. Plain C on byte
 * buffers, so every behaviour is unit-testable without the EAL; app/lbd's
 * worker loop only moves mbufs in and out around lb_dp_process_burst().
 *
 * A burst goes through in stages, as DPDK's l3fwd and VPP's lb node do, so
 * that the flow table's cache misses of different frames overlap instead of
 * following one another: parse every frame and hash its flow key, prefetching
 * the bucket; then prefetch the flow each bucket points to; then act on each
 * frame in order (lookup, NAT, output), by then mostly from cache. Acting in
 * order keeps the per-frame semantics exactly those of lb_dp_process() on
 * each frame in turn: a flow created by one frame of the burst is found by the
 * next.
 *
 * The caller passes the snapshot and neighbour table it read at the top of the
 * burst; the data path never blocks, allocates or logs.
 */
#include "lb_common.h"
#include "lb_flow.h"
#include "lb_owner.h"
#include "lb_snat.h"
#include "lb_snap.h"
#include "lb_neigh.h"
#include "lb_stats_sets.h"

/* Every reason a frame can be dropped. Names (lb_drop_str) are the keys of
 * `lbctl stats` and must stay stable. */
#define LB_DROP_LIST(X) \
	X(MALFORMED_L2,		"malformed_l2")		/* runt frame, bad VLAN header, stacked tags */ \
	X(ETHERTYPE,		"unsupported_ethertype") /* not IPv4/ARP (IPv6 included, for now) */ \
	X(MALFORMED_ARP,	"malformed_arp") \
	X(MALFORMED_IP,		"malformed_ip")		/* truncated, bad version/IHL/length */ \
	X(IP_CSUM,		"bad_ip_checksum") \
	X(MALFORMED_L4,		"malformed_l4")		/* truncated or inconsistent TCP/UDP/ICMP */ \
	X(MALFORMED_ICMP,	"malformed_icmp_inner")	/* ICMP error with a bad embedded header */ \
	X(VLAN,			"vlan_mismatch")	/* tag differs from the port's VLAN */ \
	X(DST_MAC,		"not_our_mac")		/* IPv4 not unicast to the port's MAC (flooded, broadcast) */ \
	X(SRC_MAC,		"bad_src_mac")		/* multicast or broadcast source MAC */ \
	X(OWN_SRC_MAC,		"own_src_mac")		/* one of lbd's MACs as source (a loop) */ \
	X(MARTIAN,		"martian_source")	/* 0/8, 127/8, 224/4, 240/4, subnet broadcast */ \
	X(OWN_SRC,		"own_source")		/* one of lbd's addresses as source */ \
	X(SPOOFED,		"spoofed_source")	/* external port: internal subnet or a target as source */ \
	X(TCP_FLAGS,		"bad_tcp_flags")	/* SYN+FIN, SYN+RST, or none of SYN/ACK/RST */ \
	X(ZERO_PORT,		"zero_port")		/* TCP/UDP source or destination port 0 */ \
	X(FRAGMENT,		"ip_fragment")		/* IPv4 fragments are not supported */ \
	X(TTL,			"ttl_expired") \
	X(NOT_LOCAL,		"not_local")		/* destination is not an address lbd owns or serves */ \
	X(NO_FRONTEND,		"no_frontend")		/* VIP without a frontend on that protocol/port */ \
	X(L4_PROTO,		"unsupported_l4")	/* e.g. GRE to a VIP */ \
	X(ACL,			"acl_denied")		/* source outside the frontend's source ranges */ \
	X(NO_TARGET,		"no_target")		/* frontend has no target taking new flows */ \
	X(NO_FLOW,		"no_flow")		/* mid-flow packet with no flow where one is needed */ \
	X(SNAT_EXHAUSTED,	"snat_exhausted") \
	X(FLOW_CONFLICT,	"flow_conflict")	/* DNAT: the reply tuple is already used by another flow */ \
	X(TABLE_FULL,		"flow_table_full")	/* FullNAT: the full table holds no flow a new \
							 * one may displace */ \
	X(NEIGH_DOWN,		"neighbour_unreachable")	/* next hop failed ARP resolution */ \
	X(NEIGH_PENDING,	"neighbour_pending")	/* next hop being resolved; control holds \
							 * as many of its frames as it queues */ \
	X(NO_ROUTE,		"no_route")		/* destination not reachable from any port */ \
	X(ARP_IGNORED,		"arp_ignored")		/* ARP that is neither for us nor a reply we need */ \
	X(ARP_CONFLICT,		"arp_conflict")		/* another station claims our address (rate-limited to control) */ \
	X(ICMP_UNSUPPORTED,	"icmp_unsupported")	/* ICMP type lbd does not handle */ \
	X(ICMP_NO_FLOW,		"icmp_error_no_flow")	/* ICMP error about no tracked flow */ \
	X(LOCAL_UNSUPPORTED,	"local_unsupported")	/* TCP/UDP to lbd's own port/SNAT address
							 * (a port address without a kernel interface) */ \
	X(KERNEL_RATE,		"kernel_rate_limited")	/* to the kernel interface above kernel_rate */ \
	X(KERNEL_FULL,		"kernel_ring_full")	/* the ring to the kernel interface was full */ \
	X(HANDOFF_FULL,		"handoff_ring_full") \
	X(CTL_FULL,		"control_ring_full")	/* frames waiting for a next hop: the \
							 * control thread's ring was full */ \
	X(ARP_RING_FULL,	"arp_ring_full")	/* ARP (and conflicts) for the control \
							 * thread: its own ring was full */ \
	X(MTU,			"mtu_exceeded")		/* IPv4 datagram above the outgoing port's MTU */ \
	X(TX_FULL,		"tx_full")		/* the NIC's tx queue did not take it */ \
	X(NO_MBUF,		"no_mbuf")		/* no buffer for a header that had to grow */

enum lb_drop {
#define LB_DROP_ENUM(e, s) LB_DROP_##e,
	LB_DROP_LIST(LB_DROP_ENUM)
#undef LB_DROP_ENUM
	LB_DROP_MAX
};

const char *lb_drop_str(enum lb_drop d);

/*
 * Per-worker counters. Written by that worker only; read (racily, 64-bit
 * aligned loads) by the control thread. They add up:
 *   rx + handoff_in == tx + handoff_out + to_ctl + sum(drops)
 * per worker, and summed over workers rx == tx + to_ctl + sum(drops) once the
 * hand-off rings are empty. Control-originated packets (ARP requests, GARP,
 * packets released after ARP resolution) are counted in ctl_tx and
 * ctl_tx_failed only.
 */
#define LB_DP_BURST_BUCKETS	7

struct lb_dp_counters {
	uint64_t rx;
	uint64_t tx;
	uint64_t handoff_in;
	uint64_t handoff_out;
	uint64_t to_ctl;
	uint64_t ctl_tx;
	uint64_t ctl_tx_failed;
	uint64_t drops[LB_DROP_MAX];
	/* Informational (subsets of the above). */
	uint64_t fwd;			/* client -> target packets */
	uint64_t rev;			/* target -> client packets */
	uint64_t arp_replies;
	uint64_t icmp_echo_replies;
	uint64_t icmp_errors;		/* ICMP errors translated */
	uint64_t flows_created;
	uint64_t flows_picked_up;	/* DNAT mid-stream pickups */
	uint64_t flows_promoted;	/* picked-up flows confirmed by the target's answer */
	uint64_t stateless;		/* DNAT frames forwarded without creating state */
	uint64_t flood_episodes;	/* times the new-flow governor declared a flood */
	uint64_t snat_tw_skips;		/* SNAT candidates passed over: in their target's TIME_WAIT */
	uint64_t snat_tw_forgotten;	/* TIME_WAIT entries displaced early by a full table */
	uint64_t affinity_hits;
	/* Written by the worker loop, not lib/dp: where the cycles go. */
	uint64_t flows_evicted;		/* live flows displaced by new ones (lb_flow stats) */
	uint64_t cycles_busy;		/* TSC cycles of loop passes that had frames */
	uint64_t frames_busy;		/* frames those passes processed (rx + handoff_in) */
	uint64_t pass_max_cycles;	/* longest loop pass (the worst gap between two
					 * quiescent states) over the last second */
	uint64_t rx_bursts[LB_DP_BURST_BUCKETS];	/* non-empty rx bursts by size:
					 * lb_dp_burst_bucket() */
} LB_CACHE_ALIGNED;

/*
 * The new-flow governor (as Katran's is_under_flood): new flows a worker was
 * asked to create, counted in windows of LB_DP_GOV_WINDOW_MS. The worker is
 * under flood while the current or the previous window holds more than the
 * snapshot's new_flow_rate allows for a window.
 *
 * What a new flow may displace from a full table (after expired flows, which
 * always go first): never an established TCP connection (as Linux conntrack
 * early-drops only unassured entries); under flood only unconfirmed flows
 * (LB_FLOW_EVICT_UNCONFIRMED: handshakes the target has not answered,
 * pickups it has not acknowledged). A DNAT frame that would create state is
 * forwarded without it (ctr.stateless) when it is a mid-stream pickup under
 * flood, or when the table has no room for it: the DNAT pick is a pure
 * function of the frame. A FullNAT flow needs its SNAT state: with no room
 * it is dropped (flow_table_full).
 */
#define LB_DP_GOV_WINDOW_MS	100

struct lb_dp_gov {
	uint64_t start;		/* the current window's first millisecond */
	uint32_t cur;		/* new flows asked for in the current window */
	uint32_t prev;		/* ... in the previous one (0 if it was not the last) */
	bool flood;		/* state at the last new flow */
};
/* Bucket of a burst of n frames (1..): sizes 1, 2-3, 4-7, 8-15, 16-31, 32-63,
 * 64 and more. */
static inline unsigned
lb_dp_burst_bucket(uint32_t n)
{
	return n >= 64 ? LB_DP_BURST_BUCKETS - 1 : 31u - (unsigned)__builtin_clz(n | 1);
}

/*
 * The SNAT TIME_WAIT rule's memory: for each SNAT candidate of a worker
 * (address and port, numbered by lb_snat_index), the targets a connection
 * through it closed towards and until when it is kept from each (the
 * snapshot's snat_time_wait_ms after the last FIN or RST). A record per
 * endpoint rather than a table of closes: it cannot fill up at any close
 * rate, only an endpoint closed towards more than LB_DP_TW_SLOTS targets
 * within the time loses the one that frees first (snat_time_wait_forgotten).
 *
 * With them, the allocator's cursors: one per target (its address, port and
 * protocol hashed into LB_DP_TW_CURSORS entries; targets that collide share
 * one), each starting at a hashed offset. Towards one target the candidates
 * are then used in cursor order and leave TIME_WAIT in that order, so above
 * the rule's capacity the cursor waits on the candidate that frees next
 * (lb_snat_pick) instead of running past it.
 */
#define LB_DP_TW_SLOTS		4
#define LB_DP_TW_CURSORS	16384	/* 64 KiB per worker */

struct lb_dp_tw_slot {
	uint32_t target;	/* hash of the target's address, port, protocol; 0: free */
	uint32_t until;		/* ms clock, modulo 2^32 */
};

struct lb_dp_tw {
	uint32_t n;		/* candidates */
	uint32_t pad;
	uint32_t cursor[LB_DP_TW_CURSORS];	/* by target hash: next candidate */
	struct lb_dp_tw_slot slot[][LB_DP_TW_SLOTS];
};

/* Bytes for the records of n candidates: 32 bytes each, plus the cursors
 * (64 KiB). */
size_t lb_dp_tw_memsize(uint32_t n);

/* Zeroes mem (lb_dp_tw_memsize(n) bytes, 8-byte aligned) and returns it as
 * the records of n candidates, the cursors starting at offsets hashed from
 * seed (a random seed keeps a restarted lbd off the endpoints its previous
 * run left in the targets' TIME_WAIT); NULL when n is 0. */
struct lb_dp_tw *lb_dp_tw_init(void *mem, uint32_t n, uint32_t seed);

/* A worker's data-path state. The worker owns all of it. */
struct lb_dp_worker {
	uint32_t id;
	struct lb_flow_table *flows;
	struct lb_flow_table *affinity;	/* session affinity: (client, frontend) -> target */
	struct lb_dp_tw *snat_tw;	/* FullNAT endpoints in their target's TIME_WAIT
					 * and the per-target cursors (lb_dp_tw_init over
					 * the worker's SNAT candidates); NULL: no such
					 * rule, picks use snat.cursor */
	struct lb_snat snat;
	uint64_t conflict_next;		/* earliest time the next ARP conflict may go to control */
	struct lb_dp_gov gov;
	/* Token buckets of the frames for each port's kernel interface, in
	 * thousandths of a frame (lb_dp_local.c). */
	struct {
		uint64_t last;		/* ms clock of the last refill */
		uint64_t milli;		/* tokens x 1000 */
	} kernel[LB_MAX_PORTS];
	/* Per-frontend and per-target counter sets, indexed by the slots the
	 * snapshot carries (lb_snap_fe.ctr, lb_snap_target.ctr); a flow keeps
	 * its two slots (lb_flow.fe, lb_flow.user) so replies need no lookup.
	 * Set by lb_dp_counters_attach; 0 sets: nothing counted. */
	struct lb_stats_fe_set *fe_ctr;
	struct lb_stats_target_set *t_ctr;
	uint32_t n_fe_ctr;
	uint32_t n_t_ctr;
	struct lb_dp_counters ctr;
};

/* A flow's frontend slot is 16 bits wide: at most this many frontend sets. */
#define LB_DP_FE_CTR_MAX	0xffffu

/*
 * Gives the worker its per-frontend and per-target counter sets (n_fe sets,
 * at most LB_DP_FE_CTR_MAX, and n_t sets; zeroed by the caller, written by
 * this worker only from now on) and hooks its flow table so that flows that
 * end are counted. Call before the worker processes frames, after w->flows
 * is set. Returns 0, or -EINVAL (no flow table, too many frontend sets).
 */
int lb_dp_counters_attach(struct lb_dp_worker *w, struct lb_stats_fe_set *fe, uint32_t n_fe,
	struct lb_stats_target_set *t, uint32_t n_t);

enum lb_dp_verdict {
	LB_DP_DROP = 0,		/* counted in ctr.drops[] by lb_dp_process */
	LB_DP_TX,		/* send on result.port (caller counts tx) */
	LB_DP_HANDOFF,		/* not ours: give to result.worker untouched */
	LB_DP_TO_CTL,		/* give to the control thread (see result.ctl) */
};

enum lb_dp_ctl_kind {
	LB_DP_CTL_ARP = 1,	/* an ARP frame control should learn from; result.port: rx port */
	LB_DP_CTL_RESOLVE,	/* fully rewritten frame waiting for result.nexthop's MAC on result.port */
	LB_DP_CTL_CONFLICT,	/* ARP from another station claiming one of lbd's addresses on
				 * result.port (at most one per LB_DP_CONFLICT_MS per worker) */
	LB_DP_CTL_KERNEL,	/* for result.port's kernel interface, untagged: IPv4 to the
				 * port's own address that lbd does not answer itself */
};

/* Conflicting ARPs a worker passes to the control thread: one per interval;
 * the others are dropped (arp_conflict). */
#define LB_DP_CONFLICT_MS	1000

struct lb_dp_result {
	uint8_t port;		/* TX / TO_CTL: port index */
	uint8_t ctl;		/* TO_CTL: enum lb_dp_ctl_kind */
	uint16_t worker;	/* HANDOFF */
	int32_t adj;		/* TX/TO_CTL: the frame now starts adj bytes after where it did
				 * (negative: a VLAN tag was pushed into the headroom) */
	uint32_t len;		/* TX/TO_CTL: its length from there: the L2 header and the IPv4
				 * datagram (or ARP message) only, zero-padded to the Ethernet
				 * minimum within the bytes the frame had */
	uint32_t nexthop;	/* TO_CTL RESOLVE */
	enum lb_drop reason;	/* DROP */
};

/*
 * Ownership: a flow's packets in both directions are processed by one worker,
 * computed from the frame alone by the rule in lib/owner (s->owner): the
 * client's address for client frames and DNAT replies, the SNAT port's low
 * bits for FullNAT replies, the quoted header for ICMP errors. The data path
 * returns LB_DP_HANDOFF with the owner when the caller is not it.
 */

/* NIC hints about a frame, as plain fields (the worker translates the mbuf's
 * offload flags); 0 means the NIC said nothing and lib/dp works it out. */
#define LB_DP_HINT_IP_CSUM_GOOD	0x01	/* IPv4 header checksum verified good */
#define LB_DP_HINT_IP_CSUM_BAD	0x02	/* IPv4 header checksum verified bad */
#define LB_DP_HINT_RSS		0x04	/* rss is the NIC's RSS hash of the frame */

/* One frame of a burst. Caller fields are read, the others written. */
struct lb_dp_pkt {
	uint8_t *frame;		/* caller: rewritten in place */
	uint32_t len;		/* caller */
	uint32_t headroom;	/* caller: bytes before frame usable to push a VLAN tag */
	uint8_t in_port;	/* caller: port index it arrived on */
	uint8_t hints;		/* caller: LB_DP_HINT_* */
	uint32_t rss;		/* caller: with LB_DP_HINT_RSS */
	enum lb_dp_verdict verdict;	/* out */
	struct lb_dp_result r;		/* out */
};

#define LB_DP_BURST_MAX	64

/*
 * Processes n frames (1..LB_DP_BURST_MAX; more are processed in chunks) that
 * arrived on (or were handed off to) this worker, filling each one's verdict
 * and result as lb_dp_process would. now is a millisecond clock.
 *
 * The RSS hint is used for the owner check of client frames (and DNAT
 * replies) on ports whose snapshot entry says the NIC hashes them as lib/owner
 * does (lb_snap_port.rss_owner); the checksum hints replace the software
 * check of the IPv4 header.
 */
void lb_dp_process_burst(struct lb_dp_worker *w, const struct lb_snap *s,
	const struct lb_neigh_table *nt, struct lb_dp_pkt *pkts, uint32_t n, uint64_t now);

/*
 * One frame received on port index in_port (or handed off from another
 * worker), without hints: the same as a burst of one. The frame is rewritten
 * in place; headroom is how many bytes before frame may be used to push a VLAN
 * tag. now is a millisecond clock.
 */
enum lb_dp_verdict lb_dp_process(struct lb_dp_worker *w, const struct lb_snap *s,
	const struct lb_neigh_table *nt, uint8_t *frame, uint32_t len, uint32_t headroom,
	uint8_t in_port, uint64_t now, struct lb_dp_result *r);

/* Housekeeping: expire up to budget flows and affinity entries. */
void lb_dp_housekeep(struct lb_dp_worker *w, uint64_t now, uint32_t budget);

/* What a new flow from src:sport to vip:vport/proto would do, for lbctl trace. */
struct lb_dp_trace {
	const struct lb_snap_fe *fe;	/* NULL: no frontend */
	bool allowed;			/* source ranges */
	bool affinity;			/* pick hashed the client address only */
	uint32_t hash;
	uint32_t slot;
	int target;			/* index into fe->targets; -1: none, or source denied */
	int owner;			/* worker that would own the flow */
	uint32_t rss_hash;		/* the client address's Toeplitz hash (lib/owner) */
};
int lb_dp_trace(const struct lb_snap *s, uint32_t src, uint16_t sport, uint32_t vip,
	uint16_t vport, uint8_t proto, struct lb_dp_trace *t);

#endif /* LB_DP_H */
