/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_snap_priv.h"

static size_t
align_up(size_t x)
{
	return (x + LB_CACHE_LINE - 1) & ~(size_t)(LB_CACHE_LINE - 1);
}

struct lb_snap_table *
lb_snap_table_build(uint32_t m, const uint64_t *ids, const uint32_t *weights, uint32_t n,
	void *scratch, char *err, size_t errlen)
{
	size_t hdr = align_up(sizeof(struct lb_snap_table));
	size_t key = align_up((sizeof(uint64_t) + sizeof(uint32_t)) * (size_t)n);
	struct lb_maglev_target *mt = NULL;
	struct lb_snap_table *t;
	void *mem;
	uint32_t i;
	int rc;

	if (posix_memalign(&mem, LB_CACHE_LINE, hdr + key + sizeof(uint32_t) * (size_t)m) != 0)
		goto nomem;
	mt = malloc(sizeof(*mt) * (n ? n : 1));
	if (mt == NULL) {
		free(mem);
		goto nomem;
	}
	t = mem;
	memset(t, 0, hdr);
	atomic_init(&t->refcnt, 1);
	t->m = m;
	t->n = n;
	t->ids = (uint64_t *)((uint8_t *)mem + hdr);
	t->weights = (uint32_t *)(t->ids + n);
	t->slots = (uint32_t *)((uint8_t *)mem + hdr + key);
	for (i = 0; i < n; i++) {
		t->ids[i] = mt[i].id = ids[i];
		t->weights[i] = mt[i].weight = weights[i];
	}
	rc = lb_maglev_build(t->slots, m, mt, n, scratch);
	free(mt);
	if (rc < 0) {
		snprintf(err, errlen, "Maglev table: %s", strerror(-rc));
		free(mem);
		return NULL;
	}
	return t;
nomem:
	snprintf(err, errlen, "out of memory for a Maglev table of %u slots", m);
	return NULL;
}

bool
lb_snap_table_matches(const struct lb_snap_table *t, uint32_t m, const uint64_t *ids,
	const uint32_t *weights, uint32_t n)
{
	return t->m == m && t->n == n && memcmp(t->ids, ids, sizeof(*ids) * n) == 0 &&
		memcmp(t->weights, weights, sizeof(*weights) * n) == 0;
}

struct lb_snap_table *
lb_snap_table_get(struct lb_snap_table *t)
{
	atomic_fetch_add_explicit(&t->refcnt, 1, memory_order_relaxed);
	return t;
}

void
lb_snap_table_put(struct lb_snap_table *t)
{
	if (t != NULL && atomic_fetch_sub_explicit(&t->refcnt, 1, memory_order_acq_rel) == 1)
		free(t);
}
