/* SPDX-License-Identifier: BSD-3-Clause */
/* Pools: copies of the configuration's, lookups, reloads, stats, listing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_ipam_priv.h"

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

void
lb_ipam_pools_free(struct lb_ipam_pool_def *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; p != NULL && i < n; i++)
		free(p[i].ranges);
	free(p);
}

struct lb_ipam_pool_def *
lb_ipam_pools_copy(const struct lb_model_pool *src, uint32_t n)
{
	struct lb_ipam_pool_def *p = calloc(n ? n : 1, sizeof(*p));
	uint32_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		snprintf(p[i].name, sizeof(p[i].name), "%s", src[i].name);
		p[i].auto_assign = src[i].auto_assign;
		p[i].avoid_buggy = src[i].avoid_buggy_ips;
		p[i].n_ranges = src[i].n_ranges;
		if (src[i].n_ranges == 0)
			continue;
		p[i].ranges = malloc(sizeof(*p[i].ranges) * src[i].n_ranges);
		if (p[i].ranges == NULL) {
			lb_ipam_pools_free(p, n);
			return NULL;
		}
		memcpy(p[i].ranges, src[i].ranges, sizeof(*p[i].ranges) * src[i].n_ranges);
	}
	return p;
}

bool
lb_ipam_in_range(const struct lb_ip_range *r, const struct lb_ip *ip)
{
	return r->first.family == ip->family && lb_ip_cmp(&r->first, ip) <= 0 &&
		lb_ip_cmp(ip, &r->last) <= 0;
}

int
lb_ipam_find_pool(const struct lb_ipam_pool_def *pools, uint32_t n, const struct lb_ip *ip)
{
	uint32_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < pools[i].n_ranges; k++)
			if (lb_ipam_in_range(&pools[i].ranges[k], ip))
				return (int)i;
	return -1;
}

const char *
lb_ipam_holder(const struct lb_ipam *ipam, const struct lb_ip *ip, uint32_t *n_holders)
{
	const struct lb_ipam_entry *e = lb_ipam_entry_find(ipam, ip);

	if (n_holders != NULL)
		*n_holders = e != NULL ? e->n : 0;
	return e != NULL && e->n > 0 ? e->holders[0]->name : NULL;
}

int
lb_ipam_pool_of(const struct lb_ipam *ipam, const struct lb_ip *ip)
{
	return lb_ipam_find_pool(ipam->pools, ipam->n_pools, ip);
}

int
lb_ipam_check_pools(const struct lb_ipam *ipam, const struct lb_model_pool *pools,
	uint32_t n_pools, char *err, size_t errlen)
{
	char a[LB_IP_STRLEN];
	uint32_t i, k, r;

	for (i = 0; i < ipam->n_entries; i++) {
		const struct lb_ipam_entry *e = &ipam->entries[i];
		bool in = false;

		for (k = 0; k < n_pools && !in; k++)
			for (r = 0; r < pools[k].n_ranges && !in; r++)
				in = lb_ipam_in_range(&pools[k].ranges[r], &e->ip);
		if (!in)
			return fail(err, errlen, -EBUSY, "address %s (held by %s) is in no pool of "
				"the new configuration", lb_ip_fmt(&e->ip, a),
				e->n > 0 ? e->holders[0]->name : "?");
	}
	return 0;
}

int
lb_ipam_set_pools(struct lb_ipam *ipam, const struct lb_model_pool *pools, uint32_t n_pools)
{
	struct lb_ipam_pool_def *p = lb_ipam_pools_copy(pools, n_pools);
	uint32_t i;

	if (p == NULL)
		return -ENOMEM;
	lb_ipam_pools_free(ipam->pools, ipam->n_pools);
	ipam->pools = p;
	ipam->n_pools = n_pools;
	for (i = 0; i < ipam->n_entries; i++)
		ipam->entries[i].pool = lb_ipam_find_pool(p, n_pools, &ipam->entries[i].ip);
	return 0;
}

uint32_t
lb_ipam_n_pools(const struct lb_ipam *ipam)
{
	return ipam->n_pools;
}

int
lb_ipam_pool_stats(const struct lb_ipam *ipam, uint32_t i, struct lb_ipam_pool_stats *st)
{
	const struct lb_ipam_pool_def *p;
	uint64_t size = 0;
	uint32_t k;

	if (i >= ipam->n_pools)
		return -ENOENT;
	p = &ipam->pools[i];
	memset(st, 0, sizeof(*st));
	st->name = p->name;
	st->auto_assign = p->auto_assign;
	for (k = 0; k < p->n_ranges; k++) {
		int64_t d = lb_ip_diff(&p->ranges[k].first, &p->ranges[k].last);
		uint64_t n = d == INT64_MAX ? UINT64_MAX : (uint64_t)d + 1;

		size = size + n < size ? UINT64_MAX : size + n;
	}
	st->size = size;
	for (k = 0; k < ipam->n_entries; k++)
		if (ipam->entries[k].pool == (int)i)
			st->used++;
	return 0;
}

void
lb_ipam_foreach(const struct lb_ipam *ipam,
	void (*fn)(void *ctx, const struct lb_ip *ip, const char *pool, const char *sharing_key,
		const char *const *owners, uint32_t n_owners),
	void *ctx)
{
	const char **names = NULL;
	uint32_t cap = 0, i, k;

	for (i = 0; i < ipam->n_entries; i++) {
		const struct lb_ipam_entry *e = &ipam->entries[i];

		if (e->n > cap) {
			const char **nn = realloc(names, sizeof(*nn) * e->n);

			if (nn == NULL)
				break;
			names = nn;
			cap = e->n;
		}
		for (k = 0; k < e->n; k++)
			names[k] = e->holders[k]->name;
		fn(ctx, &e->ip, e->pool >= 0 ? ipam->pools[e->pool].name : NULL,
			e->n > 0 ? e->holders[0]->key : NULL, names, e->n);
	}
	free(names);
}
