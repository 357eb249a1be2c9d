/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_SNAP_PRIV_H
#define LB_SNAP_PRIV_H

#include <stdatomic.h>

#include "lb_maglev.h"
#include "lb_snap.h"

/*
 * A Maglev table and the key it was built for: the table size and the
 * frontend's targets in identity order with their effective weights. Slots
 * are indices into that order, so any frontend with the same key can use
 * the table whatever else changed about its targets (next hops, flags that
 * do not change the weight).
 */
struct lb_snap_table {
	_Atomic uint32_t refcnt;
	uint32_t m;
	uint32_t n;			/* targets in the key */
	uint64_t *ids;			/* n identities, ascending */
	uint32_t *weights;		/* n effective weights */
	uint32_t *slots;		/* m entries, cache-line aligned */
};

/* Builds a table for m slots over the (ids, weights) list; scratch is
 * lb_maglev_scratch_size(n, m) bytes. NULL with err set. */
struct lb_snap_table *lb_snap_table_build(uint32_t m, const uint64_t *ids,
	const uint32_t *weights, uint32_t n, void *scratch, char *err, size_t errlen);
bool lb_snap_table_matches(const struct lb_snap_table *t, uint32_t m, const uint64_t *ids,
	const uint32_t *weights, uint32_t n);
struct lb_snap_table *lb_snap_table_get(struct lb_snap_table *t);
void lb_snap_table_put(struct lb_snap_table *t);

#endif /* LB_SNAP_PRIV_H */
