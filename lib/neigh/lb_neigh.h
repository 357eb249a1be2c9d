/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_NEIGH_H
#define LB_NEIGH_H

/*
 * Neighbour (ARP) resolution for next hops.
 *
 * Two halves:
 *  - struct lb_neigh: the control thread's mutable state machine. Workers
 *    never touch it. It owns the retries, the expiry and a small queue of
 *    packets per unresolved neighbour (opaque pointers: the app's mbufs).
 *  - struct lb_neigh_table: an immutable IP -> MAC table built from it and
 *    published to the workers through RCU, like the snapshot.
 *
 * Entry life: resolve() on an unknown address creates it INCOMPLETE and asks
 * ops->send_request at once, then every retry_ms until `retries` requests
 * went unanswered -> FAILED (queued packets dropped). A reply makes it
 * REACHABLE for reachable_ms; then it is re-probed (PROBE: the old MAC stays in
 * use) and fails the same way if the probes go unanswered. A FAILED entry is
 * forgotten after failed_hold_ms, so traffic re-triggers resolution; while
 * FAILED, workers drop packets for it instead of handing them to control.
 * Likewise once an INCOMPLETE entry's queue is full (or at once with a
 * queue_len of 0): the entry becomes pending in the next table and workers
 * drop its packets themselves (LB_NEIGH_PENDING), so a busy next hop being
 * resolved hands control its first packets only, not the whole stream.
 * PERMANENT entries (static config) never change.
 *
 * Entries are keyed by (port, ip): the same address on two ports is two
 * neighbours. Address 0 is never a neighbour (it marks empty table slots).
 *
 * Callbacks: resolve() may call send_request (new entry), send_pkt (entry
 * already usable) and drop_pkt (packet refused); input() and set_static() may
 * call send_pkt (queue released); run() may call send_request and drop_pkt
 * (resolution failed); destroy() calls drop_pkt. Callbacks must not call back
 * into the same struct lb_neigh. Queued packets are released in arrival order.
 *
 * Memory: max_entries bounds the dynamic entries (the ones traffic can
 * create); PERMANENT entries are bounded by the caller's static set and do
 * not count against it, so a busy table never refuses the configuration.
 *
 * Time is a caller-supplied millisecond clock.
 */
#include "lb_common.h"

enum lb_neigh_state {
	LB_NEIGH_INCOMPLETE = 0,
	LB_NEIGH_REACHABLE,
	LB_NEIGH_PROBE,
	LB_NEIGH_FAILED,
	LB_NEIGH_PERMANENT,
};

struct lb_neigh_params {
	uint32_t reachable_ms;
	uint32_t retries;	/* >= 1 */
	uint32_t retry_ms;
	uint32_t queue_len;	/* packets held per INCOMPLETE entry (0: none) */
	uint32_t failed_hold_ms;
	uint32_t max_entries;	/* dynamic entries; PERMANENT ones are extra */
};

struct lb_neigh_info;

struct lb_neigh_ops {
	void *ctx;
	/* Broadcast an ARP request for ip on port. */
	void (*send_request)(void *ctx, uint8_t port, uint32_t ip);
	/* A queued packet's next hop resolved: send pkt on port to mac. */
	void (*send_pkt)(void *ctx, uint8_t port, void *pkt, const uint8_t mac[LB_ETHER_ADDR_LEN]);
	/* A packet that will not be sent (queue full, resolution failed, destroy). */
	void (*drop_pkt)(void *ctx, void *pkt);
	/* Optional (NULL: none), for logs: an entry became usable (old_mac NULL),
	 * changed its MAC (old_mac the previous one) or FAILED (i->state). */
	void (*event)(void *ctx, const struct lb_neigh_info *i, const uint8_t *old_mac);
};

struct lb_neigh_counters {
	uint64_t requests;	/* ARP requests sent */
	uint64_t replies;	/* answers that updated an entry */
	uint64_t queued;
	uint64_t sent;		/* queued packets released */
	uint64_t queue_full;	/* dropped: queue full */
	uint64_t failed;	/* dropped: resolution failed (queued, or entry FAILED) */
	uint64_t table_full;	/* dropped: max_entries dynamic entries exist */
	uint64_t resolutions_failed;	/* entries that went FAILED */
};

struct lb_neigh_info {
	uint32_t ip;
	uint8_t port;
	uint8_t mac[LB_ETHER_ADDR_LEN];
	enum lb_neigh_state state;
	uint32_t queued;
	uint64_t expires;	/* ms; 0 for PERMANENT */
};

struct lb_neigh;

/* NULL when retries is 0, a callback is missing or memory is short. ops is
 * copied. */
struct lb_neigh *lb_neigh_create(const struct lb_neigh_params *p, const struct lb_neigh_ops *ops);
/* Drops every queued packet through ops->drop_pkt and frees n (NULL is a no-op). */
void lb_neigh_destroy(struct lb_neigh *n);
/* New timers apply from each entry's next event; an existing queue keeps its
 * capacity; a lower max_entries refuses new entries but evicts none.
 * -EINVAL (nothing changed) when retries is 0. */
int lb_neigh_set_params(struct lb_neigh *n, const struct lb_neigh_params *p);

/*
 * Replaces the set of PERMANENT entries (ip/mac/port arrays of length cnt).
 * Dynamic entries for the same (port, ip) are overridden (an INCOMPLETE one
 * releases its queue to the static MAC); previous static entries missing
 * from the new set are forgotten. Within the set a repeated (port, ip) takes
 * the last MAC. Returns 0, -EINVAL for an address 0, -ENOMEM; on error
 * nothing changed.
 */
int lb_neigh_set_static(struct lb_neigh *n, const uint32_t *ip, const uint8_t (*mac)[LB_ETHER_ADDR_LEN],
	const uint8_t *port, uint32_t cnt, uint64_t now);

/*
 * A worker could not send to ip (no usable entry). pkt (may be NULL) is sent
 * right away when the entry is usable, queued when INCOMPLETE, or dropped via
 * ops->drop_pkt when the queue is full, the entry FAILED or the table is full.
 * Returns 0 when sent or queued, -ENOBUFS (queue full or no memory for it) /
 * -EHOSTUNREACH (FAILED) / -ENOSPC (table full) / -EINVAL (ip 0) when dropped.
 * A NULL pkt only starts resolution (then 0 means "usable or in progress").
 */
int lb_neigh_resolve(struct lb_neigh *n, uint8_t port, uint32_t ip, uint64_t now, void *pkt);

/* An ARP packet from ip/mac was heard on port (reply, or request from it).
 * Updates an existing non-PERMANENT entry, FAILED ones included, to REACHABLE
 * (and releases its queue); creates none unless create is true (and the
 * table has room). ip 0 (address probes) and group MACs are ignored. */
void lb_neigh_input(struct lb_neigh *n, uint8_t port, uint32_t ip,
	const uint8_t mac[LB_ETHER_ADDR_LEN], bool create, uint64_t now);

/* Runs timers: retries, probes, failures, forgetting. At most one step per
 * entry per call; call it at least every retry_ms for exact timing. */
void lb_neigh_run(struct lb_neigh *n, uint64_t now);

/* Increments whenever what lb_neigh_table_build would produce changes. */
uint64_t lb_neigh_version(const struct lb_neigh *n);

const struct lb_neigh_counters *lb_neigh_counters(const struct lb_neigh *n);
uint32_t lb_neigh_count(const struct lb_neigh *n);	/* all entries */
void lb_neigh_foreach(const struct lb_neigh *n, void (*fn)(void *ctx, const struct lb_neigh_info *i),
	void *ctx);
const char *lb_neigh_state_str(enum lb_neigh_state s);

/* --- worker side: immutable, published through RCU --- */

#define LB_NEIGH_HIT	0
#define LB_NEIGH_MISS	1	/* unknown or still INCOMPLETE: hand to control */
#define LB_NEIGH_DOWN	2	/* FAILED: drop */
#define LB_NEIGH_PENDING	3	/* INCOMPLETE, control holds all it will: drop */

/* lb_neigh_slot.usable */
#define LB_NEIGH_SLOT_DOWN	0	/* FAILED */
#define LB_NEIGH_SLOT_USABLE	1	/* REACHABLE, PROBE or PERMANENT */
#define LB_NEIGH_SLOT_PENDING	2	/* INCOMPLETE with a full queue */

struct lb_neigh_slot {
	uint32_t ip;		/* 0 = empty */
	uint8_t mac[LB_ETHER_ADDR_LEN];
	uint8_t usable;		/* LB_NEIGH_SLOT_* */
	uint8_t port;
};

struct lb_neigh_table {
	uint32_t mask;		/* slots - 1, power of two */
	uint32_t count;
	struct lb_neigh_slot slots[];
};

/*
 * One malloc'd block; NULL on allocation failure. Holds every entry but the
 * INCOMPLETE ones whose queue still has room (FAILED with usable
 * LB_NEIGH_SLOT_DOWN and a zero MAC; pending ones with
 * LB_NEIGH_SLOT_PENDING and a zero MAC), in 2 x count slots
 * rounded up to a power of two (at least 16), so an empty slot always ends a
 * probe. Entries are placed in (ip, port) order, so equal neighbour sets give
 * byte-identical tables.
 */
struct lb_neigh_table *lb_neigh_table_build(const struct lb_neigh *n);
void lb_neigh_table_free(struct lb_neigh_table *t);

static inline uint32_t
lb_neigh_slot_hash(uint32_t ip)
{
	return (ip * 0x9e3779b1U) ^ (ip >> 16);
}

/* Lookup on port; mac filled on LB_NEIGH_HIT. LB_NEIGH_MISS: hand the
 * packet to control; DOWN and PENDING: drop it. */
static inline int
lb_neigh_lookup(const struct lb_neigh_table *t, uint8_t port, uint32_t ip,
	uint8_t mac[LB_ETHER_ADDR_LEN])
{
	uint32_t i = lb_neigh_slot_hash(ip) & t->mask;

	for (;;) {
		const struct lb_neigh_slot *s = &t->slots[i];

		if (s->ip == 0)
			return LB_NEIGH_MISS;
		if (s->ip == ip && s->port == port) {
			if (LB_UNLIKELY(s->usable != LB_NEIGH_SLOT_USABLE))
				return s->usable == LB_NEIGH_SLOT_PENDING ? LB_NEIGH_PENDING :
					LB_NEIGH_DOWN;
			__builtin_memcpy(mac, s->mac, LB_ETHER_ADDR_LEN);
			return LB_NEIGH_HIT;
		}
		i = (i + 1) & t->mask;
	}
}

#endif /* LB_NEIGH_H */
