/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_snat.h"

uint32_t
lb_snat_min_ports(uint32_t nworkers)
{
	uint32_t n = 1;

	while (n < nworkers)
		n <<= 1;
	return n;
}

/* Worker w's residues, ascending; returns how many. */
static uint32_t
residues(const struct lb_snat_layout *l, uint32_t w, uint8_t res[2])
{
	uint32_t r, n = 0;

	for (r = 0; r <= l->port_mask; r++)
		if (l->port_worker[r] == w && n < 2)
			res[n++] = (uint8_t)r;
	return n;
}

/* Sequence index of the first port >= p (ports k * block + res[i]). */
static uint32_t
seq_at_or_after(uint32_t p, uint32_t block, const uint8_t *res, uint32_t nres)
{
	uint32_t k = p / block, off = p % block, i, n = 0;

	for (i = 0; i < nres; i++)
		n += res[i] < off;
	return k * nres + n;
}

/* Ports of worker w in [lo, hi], and the sequence index of the first. */
static uint32_t
count_ports(const struct lb_snat_layout *l, uint32_t w, uint32_t *g_first, uint8_t res[2],
	uint32_t *nres)
{
	uint32_t block = l->port_mask + 1, first, end;

	*nres = residues(l, w, res);
	if (*nres == 0)
		return 0;
	first = seq_at_or_after(l->lo, block, res, *nres);
	end = seq_at_or_after((uint32_t)l->hi + 1, block, res, *nres);
	*g_first = first;
	return end - first;
}

int
lb_snat_layout_init(struct lb_snat_layout *l, uint16_t lo, uint16_t hi, uint32_t nworkers)
{
	struct lb_snat_layout n;
	uint32_t w, g, nres;
	uint8_t res[2];

	if (l == NULL || lo == 0 || lo > hi || nworkers == 0 || nworkers > LB_MAX_WORKERS)
		return -EINVAL;
	memset(&n, 0, sizeof(n));
	n.lo = lo;
	n.hi = hi;
	n.nworkers = nworkers;
	lb_owner_port_split(nworkers, &n.port_mask, n.port_worker);
	for (w = 0; w < nworkers; w++)
		if (count_ports(&n, w, &g, res, &nres) == 0)
			return -EINVAL;
	*l = n;
	return 0;
}

uint32_t
lb_snat_worker_ports(const struct lb_snat_layout *l, uint32_t w)
{
	uint32_t g, nres;
	uint8_t res[2];

	if (w >= l->nworkers)
		return 0;
	return count_ports(l, w, &g, res, &nres);
}

int
lb_snat_init(struct lb_snat *s, const struct lb_snat_layout *l, uint32_t worker,
	const uint32_t *addrs, uint32_t naddr)
{
	uint32_t nres;

	if (s == NULL)
		return -EINVAL;
	/* Zeroed first, so that a failed init (e.g. no SNAT addresses in a
	 * DNAT-only setup) leaves an allocator whose picks fail cleanly. */
	memset(s, 0, sizeof(*s));
	if (l == NULL || addrs == NULL || naddr == 0 || naddr > LB_MAX_SNAT_ADDRS ||
	    worker >= l->nworkers)
		return -EINVAL;
	s->nports = count_ports(l, worker, &s->g_first, s->res, &nres);
	if (s->nports == 0) {
		memset(s, 0, sizeof(*s));
		return -EINVAL;
	}
	s->nres = (uint8_t)nres;
	s->block = (uint16_t)(l->port_mask + 1);
	s->naddr = naddr;
	memcpy(s->addrs, addrs, naddr * sizeof(addrs[0]));
	s->cursor = 0;
	return 0;
}

int
lb_snat_pick(struct lb_snat *s, uint32_t *cursor, lb_snat_probe_fn probe, void *ctx,
	const struct lb_snat_budget *b, uint32_t *addr, uint16_t *port)
{
	uint32_t n = lb_snat_candidates(s);
	uint32_t left = b->probes, c, a, wait, rest = 0, rest_wait = 0;
	bool waited = false, held = false;
	uint16_t p;

	if (left > n)
		left = n;
	/* A cursor set out of range by the caller restarts at 0. */
	c = *cursor < n ? *cursor : 0;
	while (left-- > 0) {
		a = s->addrs[c % s->naddr];
		p = htons(lb_snat_port(s, c / s->naddr));
		wait = 0;
		switch (probe(ctx, c, a, p, &wait)) {
		case LB_SNAT_FREE:
			*addr = a;
			*port = p;
			*cursor = held ? rest : (c + 1 == n ? 0 : c + 1);
			return 0;
		case LB_SNAT_WAIT:
			if (!waited) {
				waited = true;
				if (left > b->ahead)
					left = b->ahead;
			}
			if (wait <= b->hold_ms && (!held || wait < rest_wait)) {
				held = true;
				rest = c;
				rest_wait = wait;
			}
			break;
		default:
			break;
		}
		c = c + 1 == n ? 0 : c + 1;
	}
	*cursor = held ? rest : c;
	return -ENOSPC;
}
