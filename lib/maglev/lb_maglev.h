/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_MAGLEV_H
#define LB_MAGLEV_H

/*
 * Weighted Maglev lookup tables (Eisenbud et al., NSDI 2016, section 3.4).
 *
 * Each target is known by a stable 64-bit identity (lb_maglev_target_id: a hash
 * of its address and port, never its position). The table built for a set of
 * targets maps every slot to a target identity that does not depend on the
 * order in which the targets are passed (ARCHITECTURE.md invariant 2): the
 * builder works on the targets sorted by identity. Slots hold indices into the
 * caller's array, so a caller that stores its targets sorted by identity (as
 * the snapshot compiler does) gets byte-identical tables.
 *
 * Weights: a target with weight w gets a share of slots proportional to w;
 * weight 0 takes no slot (drained or standby).
 */
#include "lb_common.h"

#define LB_MAGLEV_NONE		UINT32_MAX	/* slot value when no target has weight */
#define LB_MAGLEV_DEFAULT_SIZE	65537
#define LB_MAGLEV_MIN_SIZE	7
#define LB_MAGLEV_MAX_SIZE	16777213	/* largest prime below 2^24 */

struct lb_maglev_target {
	uint64_t id;		/* lb_maglev_target_id() */
	uint32_t weight;	/* 0 = no slots */
};

/* Identity of a target: stable across runs, hosts and instances. addr and
 * port are network order; proto is the IP protocol of the frontend. */
uint64_t lb_maglev_target_id(uint32_t addr, uint16_t port);

bool lb_maglev_is_prime(uint32_t n);

/* Bytes of scratch memory lb_maglev_build needs for n targets and size m. */
size_t lb_maglev_scratch_size(uint32_t n, uint32_t m);

/*
 * Fills table[0..m) with indices into t[0..n). m must be a prime in
 * [LB_MAGLEV_MIN_SIZE, LB_MAGLEV_MAX_SIZE]. scratch must hold
 * lb_maglev_scratch_size(n, m) bytes (no allocation happens inside).
 * Returns 0; -EINVAL for a bad m or n == 0 with no table, -EEXIST when two
 * targets share an identity, -ENOENT when no target has a weight (table is
 * then filled with LB_MAGLEV_NONE).
 */
int lb_maglev_build(uint32_t *table, uint32_t m, const struct lb_maglev_target *t,
	uint32_t n, void *scratch);

/* Convenience wrapper that allocates its own scratch (control thread only). */
int lb_maglev_build_alloc(uint32_t *table, uint32_t m, const struct lb_maglev_target *t,
	uint32_t n);

/* The slot a flow hash selects. */
static inline uint32_t
lb_maglev_lookup(const uint32_t *table, uint32_t m, uint32_t flow_hash)
{
	return table[flow_hash % m];
}

#endif /* LB_MAGLEV_H */
