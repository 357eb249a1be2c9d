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
 * Index: cache-line buckets of 8 slots, each slot a 16-bit signature and a
 * node id (flow index * 2 + direction); a key's home bucket comes from the low
 * bits of its 64-bit hash, its signature from the top 16. A lookup reads one
 * bucket line, compares the 8 signatures at once and reads only the flows
 * whose signature matches (one, almost always), so a hit costs two cache
 * lines: the bucket, then the flow. A full bucket spills into the next one and
 * counts that in its overflow field, which tells lookups to go on (at most
 * half the slots are ever used, so spills are rare and short). A hit writes
 * nothing to the table but the flow's own expiry: there is no LRU list to
 * reorder, so a busy flow never touches its neighbours' lines.
 *
 * Expiry: every flow is in one class (SYN, ESTABLISHED, FIN/RST, UDP, OTHER)
 * and has an absolute expiry time the caller sets at insert and refreshes
 * with lb_flow_touch (so timeouts may differ per flow and change at run time).
 * Flows sit in a hierarchical timer wheel per class (4 levels of 256 slots:
 * 1 ms slots for the next 256 ms, 256 ms slots up to 65 s, 65 s slots up to
 * 4.6 h, 4.6 h slots beyond). A refresh only writes the new expiry: the flow
 * stays in its old slot and is moved when the sweep reaches that slot and
 * finds it still live (a few times over a long flow's life, never per packet).
 * lb_flow_expire() advances the wheel to now, freeing expired flows in
 * timer-slot order, within a budget. Because the wheel is ordered by time, not by use,
 * expired flows behind live ones cannot hide, whatever mix of timeouts the
 * table holds. A lookup never returns an expired flow.
 *
 * When the table is full, an insert first reclaims expired flows (it runs the
 * sweep up to now until it has freed one: an expired flow is always reclaimed
 * before any live one is displaced). Only when no flow has expired does it
 * evict a live one: from the first non-empty class, in the order SYN, OTHER,
 * UDP, FIN, ESTABLISHED, among those the caller allows (the evict argument),
 * the flow of that class closest to expiry (exact to 1 ms within 256 ms of
 * the sweep, to the width of the slot it sits in beyond that: 256 ms, 65 s,
 * 4.6 h). With the same timeout for the whole class that is the least
 * recently used one. Embryonic connections therefore go before established
 * ones, and a caller can forbid displacing confirmed flows altogether
 * (LB_FLOW_EVICT_UNCONFIRMED): then a full table of confirmed flows refuses
 * the insert instead (stats.refused).
 *
 * Time is a caller-supplied millisecond clock (uint64_t); stored expiries are
 * 32-bit and compared with wrap-around, so a timeout must be below 2^31 ms
 * (about 24 days), and the clock given to the table must not go backwards
 * (a smaller now is treated as no time passing).
 *
 * Layout: the caller's memory holds the header and timer wheels, then the
 * flows (64 bytes each), then the buckets (64 bytes each, one per two flows
 * at least), so about 96 to 128 bytes per flow.
 */
#include "lb_common.h"

#define LB_FLOW_FWD	0
#define LB_FLOW_REV	1
#define LB_FLOW_NIL	UINT32_MAX

enum lb_flow_class {
	LB_FLOW_SYN = 0,	/* TCP handshake not completed: unconfirmed */
	LB_FLOW_EST,		/* TCP established */
	LB_FLOW_FIN,		/* TCP FIN or RST seen */
	LB_FLOW_UDP,
	LB_FLOW_OTHER,		/* e.g. affinity entries */
	LB_FLOW_NCLASS
};

/* Which live flows an insert into a full table may displace: a set of
 * classes. Expired flows are always reclaimed first, whatever the set says. */
#define LB_FLOW_EVICT(cls)		(1u << (cls))
#define LB_FLOW_EVICT_ANY		((1u << LB_FLOW_NCLASS) - 1)
/* Only unconfirmed (embryonic) flows: the SYN class. For a caller that must
 * never let new state push out confirmed connections (a flood governor). */
#define LB_FLOW_EVICT_UNCONFIRMED	LB_FLOW_EVICT(LB_FLOW_SYN)
#define LB_FLOW_EVICT_NONE		0u

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
#define LB_FLOW_F_TABLE		0xf0	/* bits the table keeps for itself */

/* 64 bytes. Fields marked "caller" are not used by the table itself; the
 * caller may read "table" fields but only the table writes them. */
struct lb_flow {
	struct lb_flow_key key[2];
	uint32_t tnext;		/* table: timer slot list */
	uint32_t tprev;
	uint32_t expire;	/* table: absolute expiry, ms, wrapping */
	uint32_t due;		/* table: the tick of the timer slot it sits in */
	uint8_t cls;		/* table: enum lb_flow_class */
	uint8_t flags;		/* table: LB_FLOW_F_* */
	uint8_t state;		/* caller: e.g. TCP state bits */
	uint8_t port;		/* caller: e.g. port index the client side arrived on */
	uint8_t peer_mac[LB_ETHER_ADDR_LEN];	/* caller: client-side next hop MAC */
	uint16_t fe;		/* caller: e.g. lib/dp: the frontend's counter slot */
	uint32_t user;		/* caller: e.g. lib/dp: the target's counter slot */
};

_Static_assert(sizeof(struct lb_flow_key) == 16, "lb_flow_key must be 16 bytes");
_Static_assert(sizeof(struct lb_flow) == 64, "lb_flow must fill one cache line");

/* Written by the owning worker only. At any time
 * count == inserted - expired - removed - sum(evicted). */
struct lb_flow_stats {
	uint64_t inserted;
	uint64_t expired;	/* by the sweep, by inserts into a full table, by lookups */
	uint64_t removed;	/* by lb_flow_remove() */
	uint64_t evicted[LB_FLOW_NCLASS];	/* live flows displaced, by class of the victim */
	uint64_t refused;	/* inserts into a full table with no flow they could displace */
};

struct lb_flow_table;

#define LB_FLOW_MAX_CAPACITY	(1U << 30)

/* Bytes needed for a table of `capacity` flows (1..LB_FLOW_MAX_CAPACITY), or 0
 * for a capacity outside that range (or one this host cannot address). */
size_t lb_flow_table_memsize(uint32_t capacity);

/*
 * Initialises a table in caller-provided memory of lb_flow_table_memsize()
 * bytes, 64-byte aligned (hugepage memory on the worker's NUMA node, for
 * lbd). seed randomises the hash (pass a random value: it keeps bucket loads
 * out of an attacker's control). Writes the header, wheels and buckets; the
 * flow array is only touched as it fills. Returns the table or NULL for a bad
 * capacity or misaligned memory.
 */
struct lb_flow_table *lb_flow_table_init(void *mem, uint32_t capacity, uint64_t seed);

/*
 * Calls fn(ctx, f) for every flow that leaves the table, whatever the way:
 * expiry (sweep, lookup, a full table's reclaim), eviction, lb_flow_remove.
 * f is still whole (keys and caller fields) during the call; fn must not
 * change the table. NULL removes the hook. lib/dp counts ended flows per
 * frontend and target with it; the cost is one call per flow, not per frame.
 */
void lb_flow_set_release_hook(struct lb_flow_table *t,
	void (*fn)(void *ctx, const struct lb_flow *f), void *ctx);

/* Finds the flow one of whose indexed keys equals *k. *dir (if not NULL)
 * receives LB_FLOW_FWD or LB_FLOW_REV. Expired flows are not returned (they
 * are freed on the spot and counted in stats.expired). */
struct lb_flow *lb_flow_lookup(struct lb_flow_table *t, const struct lb_flow_key *k,
	uint64_t now, int *dir);

/*
 * The same lookup split in stages, for a burst loop that hides memory latency
 * (lib/dp's burst path): compute every packet's hash and prefetch its bucket,
 * then prefetch the flows whose signature matches, then look up with the hash.
 * Prefetching never changes the table; lb_flow_lookup(t, k, ...) is
 * lb_flow_lookup_hash(t, k, lb_flow_hash(t, k), ...). A hash is only valid for
 * the table it came from.
 */
uint64_t lb_flow_hash(const struct lb_flow_table *t, const struct lb_flow_key *k);
void lb_flow_prefetch_bucket(const struct lb_flow_table *t, uint64_t hash);
void lb_flow_prefetch_flow(const struct lb_flow_table *t, uint64_t hash);
struct lb_flow *lb_flow_lookup_hash(struct lb_flow_table *t, const struct lb_flow_key *k,
	uint64_t hash, uint64_t now, int *dir);

/*
 * Inserts a flow with the given keys (both indexed unless flags has
 * LB_FLOW_F_FWD_ONLY, in which case rev may be NULL and key[REV] is then
 * zero), class and absolute expiry. Keys must not be present already (the
 * caller looked them up) and the two keys of a flow must differ; the table
 * stays consistent otherwise but which flow a lookup finds is unspecified.
 *
 * When the table is full: expired flows are reclaimed first (counted in
 * stats.expired); failing that, a live flow of a class in `evict`
 * (LB_FLOW_EVICT_*) is displaced as described above (stats.evicted). With
 * LB_FLOW_EVICT_ANY an insert never fails for lack of room.
 *
 * The caller fields (state, port, peer_mac, fe, user) of the new flow are
 * zero. Returns the new flow, or NULL for an invalid class, a NULL rev without
 * LB_FLOW_F_FWD_ONLY, or a full table with nothing it may displace
 * (stats.refused). *evicted_cls (if not NULL) is set to the class of the
 * displaced live flow or -1 when none was (free room or an expired flow).
 */
struct lb_flow *lb_flow_insert(struct lb_flow_table *t, const struct lb_flow_key *fwd,
	const struct lb_flow_key *rev, enum lb_flow_class cls, uint8_t flags, uint64_t now,
	uint64_t expire, uint32_t evict, int *evicted_cls);

/* Refreshes a live flow: sets its class and expiry. Writes only the flow
 * unless the class changes or the expiry moves earlier than the timer slot
 * it sits in (then it moves slots). An invalid class leaves the flow
 * untouched. */
void lb_flow_touch(struct lb_flow_table *t, struct lb_flow *f, enum lb_flow_class cls,
	uint64_t expire);

/* Frees a live flow (one returned by insert or lookup and not freed since). */
void lb_flow_remove(struct lb_flow_table *t, struct lb_flow *f);

/*
 * Advances the sweep to now and frees expired flows in timer-slot order (by
 * expiry, except that a refreshed flow is met in its old slot); returns how
 * many. Stops after freeing budget flows, or after examining
 * about LB_FLOW_SWEEP_WORK * (budget + 1) slots and still-live flows, so one
 * call never stalls a worker; later calls resume where it stopped.
 */
#define LB_FLOW_SWEEP_WORK	8

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

/* Zero-padded key constructor. The key is put together as two 64-bit words
 * (the way the table reads it): built field by field in memory and then read
 * whole, it would stall on store forwarding. */
static inline struct lb_flow_key
lb_flow_key_make(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto)
{
	struct lb_flow_key k;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w[2] = { (uint64_t)src | (uint64_t)dst << 32,
		(uint64_t)sport | (uint64_t)dport << 16 | (uint64_t)proto << 32 };

	__builtin_memcpy(&k, w, sizeof(k));
#else
	__builtin_memset(&k, 0, sizeof(k));
	k.src = src;
	k.dst = dst;
	k.sport = sport;
	k.dport = dport;
	k.proto = proto;
#endif
	return k;
}

#endif /* LB_FLOW_H */
