/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_SNAT_H
#define LB_SNAT_H

/*
 * SNAT address:port allocation for FullNAT flows.
 *
 * The configured port range [lo, hi] is split into one contiguous, disjoint
 * range per worker; a worker uses every SNAT address but only ports of its own
 * range. Return packets therefore name their owner worker in their
 * destination port (lb_snat_owner), which is how the data path finds a FullNAT
 * flow's owner from either side.
 *
 * A candidate (address, port) is free when no live flow uses the reverse
 * 5-tuple (target, SNAT address:port): the caller's in_use callback asks its
 * flow table. So one SNAT port may serve several targets at once, and is never
 * reused towards the same target while a flow holds it.
 *
 * Ports here are host order (they are range arithmetic); addresses network
 * order.
 */
#include "lb_common.h"

struct lb_snat_layout {
	uint16_t lo;		/* first port of the whole range */
	uint16_t hi;		/* last port, inclusive */
	uint32_t nworkers;
	uint32_t per_worker;	/* ports per worker: (hi - lo + 1) / nworkers */
};

/* -EINVAL when lo > hi, lo == 0 or fewer ports than workers. */
int lb_snat_layout_init(struct lb_snat_layout *l, uint16_t lo, uint16_t hi, uint32_t nworkers);

/* Worker w's ports: [*first, *last]. */
void lb_snat_worker_range(const struct lb_snat_layout *l, uint32_t w, uint16_t *first,
	uint16_t *last);

/* Owner worker of a SNAT port (host order), or -1 outside every worker's range. */
static inline int
lb_snat_owner(const struct lb_snat_layout *l, uint16_t port)
{
	uint32_t w;

	if (port < l->lo || port > l->hi)
		return -1;
	w = (uint32_t)(port - l->lo) / l->per_worker;
	return w < l->nworkers ? (int)w : -1;
}

/* One worker's allocator. */
struct lb_snat {
	uint32_t naddr;
	uint32_t addrs[LB_MAX_SNAT_ADDRS];
	uint16_t first;
	uint16_t last;
	uint32_t cursor;	/* next candidate, over naddr * nports */
};

int lb_snat_init(struct lb_snat *s, const struct lb_snat_layout *l, uint32_t worker,
	const uint32_t *addrs, uint32_t naddr);

/* Returns true when (addr, port) is taken towards the target in ctx. port is
 * network order, as it would appear in a flow key. */
typedef bool (*lb_snat_in_use_fn)(void *ctx, uint32_t addr, uint16_t port);

/*
 * Picks a free (address, port) for a new flow, trying at most max_probes
 * candidates from a rotating cursor. *addr is network order and *port network
 * order. Returns 0 or -ENOSPC when every probed candidate is in use.
 */
int lb_snat_pick(struct lb_snat *s, lb_snat_in_use_fn in_use, void *ctx, uint32_t max_probes,
	uint32_t *addr, uint16_t *port);

#endif /* LB_SNAT_H */
