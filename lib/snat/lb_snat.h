/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_SNAT_H
#define LB_SNAT_H

/*
 * SNAT address:port allocation for FullNAT flows.
 *
 * The configured port range [lo, hi] is split between the workers by the
 * ports' low bits (lib/owner: residue port & port_mask belongs to worker
 * residue % nworkers); a worker uses every SNAT address but only ports of its
 * own. Return packets therefore name their owner worker in their destination
 * port (lb_snat_owner), which is how the data path, and the NIC's rte_flow
 * rules, find a FullNAT flow's owner from the target's side.
 *
 * A candidate (address, port) is free when no live flow uses the reverse
 * 5-tuple (target, SNAT address:port) and it is not in that target's
 * TIME_WAIT: the caller's probe callback asks its flow table and its TIME_WAIT
 * records. So one SNAT port may serve several targets at once, and is never
 * reused towards the same target while a flow holds it.
 *
 * Ports here are host order (they are range arithmetic); addresses network
 * order.
 */
#include <errno.h>
#include <arpa/inet.h>

#include "lb_common.h"
#include "lb_owner.h"

/*
 * Written by the control thread when it builds a snapshot; read by workers.
 * With a worker count that is a power of two every worker gets the same
 * number of ports (give or take one at the ends of the range); otherwise the
 * workers owning two residues get about twice as many.
 */
struct lb_snat_layout {
	uint16_t lo;		/* first port of the whole range */
	uint16_t hi;		/* last port, inclusive */
	uint32_t nworkers;
	uint32_t port_mask;	/* lib/owner's split */
	uint8_t port_worker[LB_OWNER_PORT_RESIDUES];
};

/* 0, or -EINVAL when l is NULL, lo > hi, lo == 0, nworkers is 0 or above
 * LB_MAX_WORKERS, or some worker would own no port of the range (*l is then
 * left unchanged). A range of at least lb_snat_min_ports(nworkers)
 * consecutive ports always works. */
int lb_snat_layout_init(struct lb_snat_layout *l, uint16_t lo, uint16_t hi, uint32_t nworkers);

/* Consecutive ports that give every one of nworkers workers a port: the
 * next power of two at or above nworkers. */
uint32_t lb_snat_min_ports(uint32_t nworkers);

/* How many ports of the range worker w owns (0 for w >= nworkers or a layout
 * that was never initialised). */
uint32_t lb_snat_worker_ports(const struct lb_snat_layout *l, uint32_t w);

/* Owner worker of a SNAT port (host order), or -1 outside the range. A
 * zeroed layout (no SNAT configured) owns no port. */
static inline int
lb_snat_owner(const struct lb_snat_layout *l, uint16_t port)
{
	if (port < l->lo || port > l->hi || l->nworkers == 0)
		return -1;
	return l->port_worker[port & l->port_mask];
}

/*
 * One worker's allocator; the worker owns it. Its ports, in increasing order,
 * are numbered 0 .. nports - 1; candidates are numbered
 * 0 .. naddr * nports - 1, candidate c being address c % naddr and port number
 * c / naddr, so consecutive picks spread over the addresses. A cursor walks
 * them round, which also keeps a just-released (address, port) from being
 * reused before every other candidate has had its turn (the target may still
 * hold the old connection in TIME_WAIT). The cursor is the caller's
 * (lb_snat_pick); the one here serves a caller that keeps no other.
 */
struct lb_snat {
	uint32_t naddr;
	uint32_t addrs[LB_MAX_SNAT_ADDRS];	/* network order */
	uint32_t nports;	/* ports this worker owns in the range */
	uint32_t g_first;	/* index of its first port in the sequence below */
	uint16_t block;		/* port_mask + 1 */
	uint8_t nres;		/* residues it owns (1 or 2) */
	uint8_t res[2];		/* its ports are k * block + res[i], all k */
	uint32_t cursor;	/* a cursor over naddr * nports for the caller; it may
				 * set any value below that after init (e.g. random) */
};

/* Sets up worker `worker`'s allocator over its ports of l and the addresses
 * (network order; 1..LB_MAX_SNAT_ADDRS of them). Returns 0 or -EINVAL (NULL
 * arguments, naddr out of range, worker >= l->nworkers); on -EINVAL a non-NULL
 * *s is left zeroed, and lb_snat_pick on it returns -ENOSPC. The cursor
 * starts at 0. */
int lb_snat_init(struct lb_snat *s, const struct lb_snat_layout *l, uint32_t worker,
	const uint32_t *addrs, uint32_t naddr);

/* Number of (address, port) candidates: naddr * ports of the worker. */
static inline uint32_t
lb_snat_candidates(const struct lb_snat *s)
{
	return s->naddr * s->nports;
}

/* Port number i (0 .. nports - 1) of the worker, host order. */
static inline uint16_t
lb_snat_port(const struct lb_snat *s, uint32_t i)
{
	uint32_t g = s->g_first + i;

	if (s->nres == 1)
		return (uint16_t)(g * s->block + s->res[0]);
	return (uint16_t)((g >> 1) * s->block + s->res[g & 1]);
}

/*
 * The candidate number (0 .. lb_snat_candidates - 1) of (addr, port), port in
 * network order: the inverse of the order lb_snat_pick walks. -ENOENT when the
 * worker does not own that address and port.
 */
static inline int
lb_snat_index(const struct lb_snat *s, uint32_t addr, uint16_t port_be, uint32_t *c)
{
	uint32_t p = ntohs(port_be), a, g, i;

	if (s->block == 0)
		return -ENOENT;
	for (a = 0; a < s->naddr && s->addrs[a] != addr; a++)
		;
	if (a == s->naddr)
		return -ENOENT;
	if (p % s->block == s->res[0])
		g = s->nres == 1 ? p / s->block : 2 * (p / s->block);
	else if (s->nres == 2 && p % s->block == s->res[1])
		g = 2 * (p / s->block) + 1;
	else
		return -ENOENT;
	if (g < s->g_first || (i = g - s->g_first) >= s->nports)
		return -ENOENT;
	*c = i * s->naddr + a;
	return 0;
}

/* What a probe found at a candidate, towards the new flow's target. */
enum lb_snat_use {
	LB_SNAT_FREE = 0,	/* usable now */
	LB_SNAT_BUSY,		/* a live flow holds it: passed over */
	LB_SNAT_WAIT,		/* in the target's TIME_WAIT for *wait_ms more: it frees by
				 * itself */
};

/* Probes candidate c (address addr, port in network order, as in a flow key)
 * towards the target in ctx; sets *wait_ms when it returns LB_SNAT_WAIT. */
typedef enum lb_snat_use (*lb_snat_probe_fn)(void *ctx, uint32_t c, uint32_t addr,
	uint16_t port, uint32_t *wait_ms);

/* How far one pick looks. */
struct lb_snat_budget {
	uint32_t probes;	/* candidates probed at most */
	uint32_t ahead;		/* ... of them after the first in TIME_WAIT */
	uint32_t hold_ms;	/* a candidate in TIME_WAIT for at most this long holds
				 * the cursor; one with longer to go is passed over */
};

/*
 * Picks a free (address, port) for a new flow by probing candidates in order
 * from *cursor (a cursor of the caller's: one per target keeps each target's
 * endpoints in use order; s->cursor is one the caller may use). *addr and
 * *port are network order. Returns 0, or -ENOSPC when no probed candidate is
 * free (or there are none: an allocator that was never initialised).
 *
 * At most b->probes candidates are probed (and each at most once). Busy ones
 * are passed over: while only they are met the cursor moves on over them
 * (and over the one taken), as a plain rotating cursor. The first candidate
 * in TIME_WAIT leaves b->ahead more probes (a free one among them is taken
 * out of order). A candidate that frees within b->hold_ms holds the cursor:
 * it then rests on the held candidate that frees first among those probed.
 * One with longer to go is passed over as a busy one.
 *
 * Why: towards one target candidates are used in cursor order and so leave
 * TIME_WAIT in about that order. Above the rule's capacity the cursor waits
 * on the candidate about to free instead of running past it, and a refused
 * pick costs at most b->ahead + 1 probes after the busy ones. A candidate far
 * from freeing was used out of that order (taken ahead of the cursor, or
 * closed late by a long connection): holding the cursor on it would stall
 * the candidates after it, so it is left for the next round.
 */
int lb_snat_pick(struct lb_snat *s, uint32_t *cursor, lb_snat_probe_fn probe, void *ctx,
	const struct lb_snat_budget *b, uint32_t *addr, uint16_t *port);

#endif /* LB_SNAT_H */
