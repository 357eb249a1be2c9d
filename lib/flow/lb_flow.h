/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_FLOW_H
#define LB_FLOW_H

/*
 * Per-worker connection table with a fixed capacity, owned by exactly one
 * worker (no locks, no atomics, no allocation after init).
 *
 * Each flow carries two keys, both indexed: key[LB_FLOW_FWD] is the 5-tuple as
 * the client's packets arrive (client -> VIP), key[LB_FLOW_REV] the 5-tuple as
 * the target's replies arrive (target -> SNAT address, or target -> client for
 * DNAT). Everything NAT needs is in these two keys: the forward rewrite sets
 * dst := rev.src and src := rev.dst, the reverse rewrite sets
 * src := fwd.dst and dst := fwd.src. A flow may be inserted with only its
 * forward key indexed (LB_FLOW_F_FWD_ONLY): the session-affinity table uses
 * that, keeping the chosen target in key[LB_FLOW_REV].
 *
 * Expiry: every flow is in one class (SYN, ESTABLISHED, FIN/RST, UDP, OTHER),
 * each with its own LRU list ordered by last use. The caller passes the
 * absolute expiry time when it inserts or touches a flow, so timeouts may
 * change at run time. lb_flow_expire() pops expired flows from the heads of
 * the lists, bounded by a budget. A lookup never returns an expired flow.
 *
 * When the table is full, an insert evicts the least recently used flow of the
 * first non-empty class in this order: SYN, OTHER, UDP, FIN, ESTABLISHED
 * (embryonic connections go before established ones, so a SYN flood cannot
 * push out working connections while it has embryonic flows of its own to
 * recycle).
 *
 * Time is a caller-supplied millisecond clock (uint64_t); stored expiries are
 * 32-bit and compared with wrap-around, so a timeout must be below 2^31 ms
 * (about 24 days), and lb_flow_expire() must run more often than that (it runs
 * every few worker passes).
 *
 * Each class list is ordered by last use, not by expiry: the sweep stops at
 * the first unexpired flow of a class. When flows of one class are given
 * different timeouts (or a timeout shrinks at run time), an expired flow
 * behind a longer-lived one waits for that one, for a lookup that finds it
 * (which frees it) or for eviction. Lookups stay correct either way.
 *
 * Layout: one array of 64-byte flows and a power-of-two array of bucket heads
 * (at least 2 per flow). A bucket head is a node id, flow index * 2 + direction,
 * and chains continue through flow->hnext[direction], so both keys of a flow
 * live in its single cache line. A lookup hit touches one bucket word and the
 * flows on its chain (one on average at full load).
 */
#include "lb_common.h"

#define LB_FLOW_FWD	0
#define LB_FLOW_REV	1
#define LB_FLOW_NIL	UINT32_MAX

enum lb_flow_class {
	LB_FLOW_SYN = 0,	/* TCP handshake not completed */
	LB_FLOW_EST,		/* TCP established */
	LB_FLOW_FIN,		/* TCP FIN or RST seen */
	LB_FLOW_UDP,
	LB_FLOW_OTHER,		/* e.g. affinity entries */
	LB_FLOW_NCLASS
};

/* 16 bytes; the padding must be zero (keys are compared as bytes). */
struct lb_flow_key {
	uint32_t src;
	uint32_t dst;
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
	uint8_t pad[3];
};

#define LB_FLOW_F_FWD_ONLY	0x01	/* key[REV] is data, not indexed */

/* 64 bytes. Fields marked "caller" are not used by the table itself. */
struct lb_flow {
	struct lb_flow_key key[2];
	uint32_t hnext[2];	/* table: hash chains */
	uint32_t lprev;		/* table: class LRU list */
	uint32_t lnext;
	uint32_t expire;	/* table: absolute expiry, ms, wrapping */
	uint8_t cls;		/* table: enum lb_flow_class */
	uint8_t flags;		/* table: LB_FLOW_F_* */
	uint8_t state;		/* caller: e.g. TCP state bits */
	uint8_t port;		/* caller: e.g. port index the client side arrived on */
	uint8_t peer_mac[LB_ETHER_ADDR_LEN];	/* caller: client-side next hop MAC */
	uint16_t fe;		/* caller: frontend index at creation */
};

_Static_assert(sizeof(struct lb_flow_key) == 16, "lb_flow_key must be 16 bytes");
_Static_assert(sizeof(struct lb_flow) == 64, "lb_flow must fill one cache line");

/* Written by the owning worker only. At any time
 * count == inserted - expired - removed - sum(evicted). */
struct lb_flow_stats {
	uint64_t inserted;
	uint64_t expired;	/* by lb_flow_expire() and by lookups that met an expired flow */
	uint64_t removed;	/* by lb_flow_remove() */
	uint64_t evicted[LB_FLOW_NCLASS];	/* by class of the victim */
};

struct lb_flow_table;

#define LB_FLOW_MAX_CAPACITY	(1U << 30)

/* Bytes needed for a table of `capacity` flows (1..LB_FLOW_MAX_CAPACITY), or 0
 * for a capacity outside that range (or one this host cannot address). About
 * 72 bytes per flow. */
size_t lb_flow_table_memsize(uint32_t capacity);

/*
 * Initialises a table in caller-provided memory of lb_flow_table_memsize()
 * bytes, 64-byte aligned. seed randomises the bucket hash (pass a random value:
 * it keeps chain lengths out of an attacker's control). Returns the table or
 * NULL for a bad capacity or misaligned memory.
 */
struct lb_flow_table *lb_flow_table_init(void *mem, uint32_t capacity, uint64_t seed);

/* Finds the flow one of whose indexed keys equals *k. *dir (if not NULL)
 * receives LB_FLOW_FWD or LB_FLOW_REV. Expired flows are not returned (they
 * are freed on the spot and counted in stats.expired). */
struct lb_flow *lb_flow_lookup(struct lb_flow_table *t, const struct lb_flow_key *k,
	uint64_t now, int *dir);

/*
 * The same lookup split in stages, for a burst loop that hides memory latency:
 * compute every packet's hash and prefetch its bucket, then prefetch the first
 * flow of each bucket, then look up with the hash. Prefetching never changes
 * the table; lb_flow_lookup(t, k, ...) is lb_flow_lookup_hash(t, k,
 * lb_flow_hash(t, k), ...). A hash is only valid for the table it came from.
 */
uint32_t lb_flow_hash(const struct lb_flow_table *t, const struct lb_flow_key *k);
void lb_flow_prefetch_bucket(const struct lb_flow_table *t, uint32_t hash);
void lb_flow_prefetch_flow(const struct lb_flow_table *t, uint32_t hash);
struct lb_flow *lb_flow_lookup_hash(struct lb_flow_table *t, const struct lb_flow_key *k,
	uint32_t hash, uint64_t now, int *dir);

/*
 * Inserts a flow with the given keys (both indexed unless flags has
 * LB_FLOW_F_FWD_ONLY, in which case rev may be NULL and key[REV] is then
 * zero), class and absolute expiry. Keys must not be present already (the
 * caller looked them up) and the two keys of a flow must differ; the table
 * stays consistent otherwise but which flow a lookup finds is unspecified.
 * When full, evicts as described above, so it never fails for lack of room.
 * The caller fields (state, port, peer_mac, fe) of the new flow are zero.
 * Returns the new flow, or NULL for an invalid class or a NULL rev without
 * LB_FLOW_F_FWD_ONLY. *evicted_cls (if not NULL) is set to the class of the
 * victim or -1 when nothing was evicted.
 */
struct lb_flow *lb_flow_insert(struct lb_flow_table *t, const struct lb_flow_key *fwd,
	const struct lb_flow_key *rev, enum lb_flow_class cls, uint8_t flags,
	uint64_t expire, int *evicted_cls);

/* Refreshes a live flow: sets its class and expiry and makes it the most
 * recently used of that class. An invalid class leaves the flow untouched. */
void lb_flow_touch(struct lb_flow_table *t, struct lb_flow *f, enum lb_flow_class cls,
	uint64_t expire);

/* Frees a live flow (one returned by insert or lookup and not freed since). */
void lb_flow_remove(struct lb_flow_table *t, struct lb_flow *f);

/* Frees expired flows, at most budget of them; returns how many. Classes take
 * turns at going first, so a flood of one class cannot starve the others'
 * expiry. */
uint32_t lb_flow_expire(struct lb_flow_table *t, uint64_t now, uint32_t budget);

uint32_t lb_flow_count(const struct lb_flow_table *t);
uint32_t lb_flow_capacity(const struct lb_flow_table *t);
uint32_t lb_flow_class_count(const struct lb_flow_table *t, enum lb_flow_class cls);
const struct lb_flow_stats *lb_flow_stats(const struct lb_flow_table *t);

/*
 * Iterates live flows starting at slot *cursor (0 to begin), calling fn for up
 * to max flows; returns the number visited and advances *cursor
 * (LB_FLOW_NIL when the walk is complete). Used to sample flows for lbctl.
 *
 * One call examines at most LB_FLOW_WALK_SCAN * max slots (so a worker never
 * stalls scanning an empty table): it may return fewer than max, even 0, with
 * *cursor not yet LB_FLOW_NIL; test the cursor, not the count, to finish. A walk
 * whose calls are not interleaved with changes visits every live flow exactly
 * once; with changes in between, flows inserted or freed meanwhile may or may
 * not be visited, the others are visited once. Flows that have expired but
 * were not swept yet are visited too (fn can compare f->expire with its clock).
 */
#define LB_FLOW_WALK_SCAN	16

uint32_t lb_flow_walk(struct lb_flow_table *t, uint32_t *cursor, uint32_t max,
	void (*fn)(void *ctx, const struct lb_flow *f), void *ctx);

/* Zero-padded key constructor. */
static inline struct lb_flow_key
lb_flow_key_make(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto)
{
	struct lb_flow_key k = { .src = src, .dst = dst, .sport = sport, .dport = dport,
		.proto = proto };
	return k;
}

#endif /* LB_FLOW_H */
