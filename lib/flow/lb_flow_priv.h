/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_FLOW_PRIV_H
#define LB_FLOW_PRIV_H

/* Internals shared by lb_flow.c (index, API) and lb_flow_timer.c (wheel). */
#include "lb_flow.h"

#define BUCKET_SLOTS	8

/* One cache line: 8 signatures (0 = empty slot), 8 node ids, and how many
 * nodes whose home is this bucket or an earlier one were placed past it. */
struct lb_flow_bucket {
	uint16_t sig[BUCKET_SLOTS];
	uint32_t node[BUCKET_SLOTS];
	uint32_t overflow;
	uint32_t pad[3];
} LB_CACHE_ALIGNED;

_Static_assert(sizeof(struct lb_flow_bucket) == 64, "a bucket is one cache line");

/* Timer wheel: WHEEL_LEVELS levels of 256 slots; level k slots are 256^k ms
 * wide. A flow placed at level k sits in slot (due >> 8k) & 255. */
#define WHEEL_LEVELS	4
#define WHEEL_BITS	8
#define WHEEL_SLOTS	(1u << WHEEL_BITS)
#define WHEEL_WORDS	(WHEEL_SLOTS / 64)

/* flags bits the table keeps: the wheel level of the flow's slot. */
#define F_LVL_SHIFT	4
#define F_LVL_MASK	(3u << F_LVL_SHIFT)

/* cls of a slot on the free list; walk skips it. */
#define CLS_FREE	0xff

struct wheel_list {
	uint32_t head;
	uint32_t tail;
};

/*
 * The header sits at the start of the caller's memory, followed by the flows
 * and the buckets; the pointers are kept because the table never moves once
 * initialised. Written by the owning worker only.
 */
struct lb_flow_table {
	struct lb_flow *flows;
	struct lb_flow_bucket *buckets;
	uint32_t bmask;		/* bucket count - 1 */
	uint32_t capacity;
	uint32_t count;
	uint32_t free_head;	/* freed slots, chained through tnext */
	uint32_t fresh;		/* slots [fresh, capacity) were never used: init does not touch them */
	uint32_t cursor;	/* the last tick (ms) the sweep has fully processed */
	bool started;		/* cursor is set (first call that passed a clock) */
	uint64_t k0, k1, k2;	/* hash keys derived from the seed */
	uint32_t ccount[LB_FLOW_NCLASS];
	struct lb_flow_stats stats;
	/* lb_flow_set_release_hook: called for every flow that leaves */
	void (*on_release)(void *ctx, const struct lb_flow *f);
	void *release_ctx;
	/* Slot non-empty in some class, per level (the sweep skips empty ones). */
	uint64_t used[WHEEL_LEVELS][WHEEL_WORDS];
	struct wheel_list wheel[LB_FLOW_NCLASS][WHEEL_LEVELS][WHEEL_SLOTS];
} LB_CACHE_ALIGNED;

/* lb_flow.c: frees a flow that is already off its timer list. */
void lb_flow_release(struct lb_flow_table *t, uint32_t idx);

/* lb_flow_timer.c */
void lb_flow_timer_start(struct lb_flow_table *t, uint32_t now);
void lb_flow_timer_place(struct lb_flow_table *t, uint32_t idx, uint32_t base);
void lb_flow_timer_unlink(struct lb_flow_table *t, uint32_t idx);
uint32_t lb_flow_timer_advance(struct lb_flow_table *t, uint32_t now, uint32_t budget,
	uint32_t work, bool until_one);
uint32_t lb_flow_timer_victim(struct lb_flow_table *t, uint8_t cls);

/* Expired when now has reached expire, modulo 2^32. */
static inline bool
lb_flow_is_expired(uint32_t expire, uint32_t now)
{
	return (int32_t)(now - expire) >= 0;
}

#endif /* LB_FLOW_PRIV_H */
