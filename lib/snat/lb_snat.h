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

/*
 * Worker w (0-based) gets ports [lo + w * per_worker, lo + (w + 1) * per_worker - 1].
 * When the range does not divide evenly, the (hi - lo + 1) % nworkers ports at
 * the top of the range belong to no worker and are never used: giving them to
 * one worker would make the ranges unequal for a handful of ports, and keeping
 * the ranges equal keeps lb_snat_owner a single division. lbd's config loader
 * may want to warn about them.
 *
 * Written by the control thread when it builds a snapshot; read by workers.
 */
struct lb_snat_layout {
	uint16_t lo;		/* first port of the whole range */
	uint16_t hi;		/* last port, inclusive */
	uint32_t nworkers;
	uint32_t per_worker;	/* ports per worker: (hi - lo + 1) / nworkers */
};

/* 0, or -EINVAL when l is NULL, lo > hi, lo == 0, nworkers == 0 or fewer ports
 * than workers (*l is then left unchanged). */
int lb_snat_layout_init(struct lb_snat_layout *l, uint16_t lo, uint16_t hi, uint32_t nworkers);

/* Worker w's ports: [*first, *last]. For w >= nworkers (or a layout that was
 * never initialised) the range is empty: *first = 1, *last = 0. */
void lb_snat_worker_range(const struct lb_snat_layout *l, uint32_t w, uint16_t *first,
	uint16_t *last);

/* Owner worker of a SNAT port (host order), or -1 outside every worker's range
 * (including the unused leftover ports at the top). A zeroed layout (no SNAT
 * configured) owns no port. */
static inline int
lb_snat_owner(const struct lb_snat_layout *l, uint16_t port)
{
	uint32_t w;

	if (port < l->lo || port > l->hi || l->per_worker == 0)
		return -1;
	w = (uint32_t)(port - l->lo) / l->per_worker;
	return w < l->nworkers ? (int)w : -1;
}

/*
 * One worker's allocator; the worker owns it. Candidates are numbered
 * 0 .. naddr * nports - 1, candidate c being address c % naddr and port
 * first + c / naddr, so consecutive picks spread over the addresses. The
 * cursor walks them round, which also keeps a just-released (address, port)
 * from being reused before every other candidate has had its turn (the
 * target may still hold the old connection in TIME_WAIT).
 */
struct lb_snat {
	uint32_t naddr;
	uint32_t addrs[LB_MAX_SNAT_ADDRS];	/* network order */
	uint16_t first;				/* host order */
	uint16_t last;
	uint32_t cursor;	/* next candidate, over naddr * nports; the caller may
				 * set any value below that after init (e.g. random) */
};

/* Sets up worker `worker`'s allocator over its range of l and the addresses
 * (network order; 1..LB_MAX_SNAT_ADDRS of them). Returns 0 or -EINVAL (NULL
 * arguments, naddr out of range, worker >= l->nworkers); on -EINVAL a non-NULL
 * *s is left zeroed, and lb_snat_pick on it returns -ENOSPC. The cursor
 * starts at 0. */
int lb_snat_init(struct lb_snat *s, const struct lb_snat_layout *l, uint32_t worker,
	const uint32_t *addrs, uint32_t naddr);

/* Number of (address, port) candidates: naddr * ports in the worker's range. */
static inline uint32_t
lb_snat_candidates(const struct lb_snat *s)
{
	if (s->naddr == 0 || s->last < s->first)
		return 0;
	return s->naddr * ((uint32_t)s->last - s->first + 1);
}

/* Returns true when (addr, port) is taken towards the target in ctx. port is
 * network order, as it would appear in a flow key. */
typedef bool (*lb_snat_in_use_fn)(void *ctx, uint32_t addr, uint16_t port);

/*
 * Picks a free (address, port) for a new flow, trying at most max_probes
 * candidates (and at most every candidate once) from the rotating cursor,
 * which ends just past the last one tried. *addr is network order and *port
 * network order. Returns 0 or -ENOSPC when every probed candidate is in use
 * (or there are none: an allocator that was never initialised).
 */
int lb_snat_pick(struct lb_snat *s, lb_snat_in_use_fn in_use, void *ctx, uint32_t max_probes,
	uint32_t *addr, uint16_t *port);

#endif /* LB_SNAT_H */
