/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_snat.h"

int
lb_snat_layout_init(struct lb_snat_layout *l, uint16_t lo, uint16_t hi, uint32_t nworkers)
{
	uint32_t count;

	if (l == NULL || lo == 0 || lo > hi || nworkers == 0)
		return -EINVAL;
	count = (uint32_t)hi - lo + 1;
	if (count < nworkers)
		return -EINVAL;
	l->lo = lo;
	l->hi = hi;
	l->nworkers = nworkers;
	l->per_worker = count / nworkers;
	return 0;
}

void
lb_snat_worker_range(const struct lb_snat_layout *l, uint32_t w, uint16_t *first,
	uint16_t *last)
{
	uint32_t f;

	if (w >= l->nworkers || l->per_worker == 0) {
		*first = 1;
		*last = 0;
		return;
	}
	/* Fits: lo + nworkers * per_worker - 1 <= hi. */
	f = l->lo + w * l->per_worker;
	*first = (uint16_t)f;
	*last = (uint16_t)(f + l->per_worker - 1);
}

int
lb_snat_init(struct lb_snat *s, const struct lb_snat_layout *l, uint32_t worker,
	const uint32_t *addrs, uint32_t naddr)
{
	if (s == NULL)
		return -EINVAL;
	/* Zeroed first, so that a failed init (e.g. no SNAT addresses in a
	 * DNAT-only setup) leaves an allocator whose picks fail cleanly. */
	memset(s, 0, sizeof(*s));
	if (l == NULL || addrs == NULL || naddr == 0 || naddr > LB_MAX_SNAT_ADDRS ||
	    worker >= l->nworkers || l->per_worker == 0)
		return -EINVAL;
	s->naddr = naddr;
	memcpy(s->addrs, addrs, naddr * sizeof(addrs[0]));
	lb_snat_worker_range(l, worker, &s->first, &s->last);
	s->cursor = 0;
	return 0;
}

int
lb_snat_pick(struct lb_snat *s, lb_snat_in_use_fn in_use, void *ctx, uint32_t max_probes,
	uint32_t *addr, uint16_t *port)
{
	uint32_t n = lb_snat_candidates(s);
	uint32_t c, a;
	uint16_t p;

	if (max_probes > n)
		max_probes = n;
	/* A cursor set out of range by the caller restarts at 0. */
	if (s->cursor >= n)
		s->cursor = 0;
	while (max_probes-- > 0) {
		c = s->cursor;
		s->cursor = c + 1 == n ? 0 : c + 1;
		a = s->addrs[c % s->naddr];
		p = htons((uint16_t)(s->first + c / s->naddr));
		if (!in_use(ctx, a, p)) {
			*addr = a;
			*port = p;
			return 0;
		}
	}
	return -ENOSPC;
}
