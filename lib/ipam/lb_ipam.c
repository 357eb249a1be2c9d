/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allocation. Two sorted arrays: held addresses (struct lb_ipam_entry, by
 * address) and owners (struct lb_ipam_holder, by name). An entry lists its
 * holders; a holder lists its addresses. Sizes are a cluster's Services
 * (thousands), so binary search and memmove on insert are enough, and a
 * first-free search walks only the held addresses of one range. Pools,
 * reloads and listings are in lb_ipam_pools.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

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

static const char *
family_str(uint8_t f)
{
	return f == LB_AF_INET ? "IPv4" : f == LB_AF_INET6 ? "IPv6" : "no";
}

/* --- pools --- */

static int
pool_by_name(const struct lb_ipam *ipam, const char *name)
{
	uint32_t i;

	for (i = 0; i < ipam->n_pools; i++)
		if (strcmp(ipam->pools[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool
pool_has_family(const struct lb_ipam_pool_def *p, uint8_t f)
{
	uint32_t k;

	for (k = 0; k < p->n_ranges; k++)
		if (p->ranges[k].first.family == f)
			return true;
	return false;
}

/* x.x.x.0 and x.x.x.255, which some old client stacks refuse. */
static bool
buggy(const struct lb_ip *ip)
{
	uint32_t last;

	if (ip->family != LB_AF_INET)
		return false;
	last = ntohl(ip->v4) & 0xff;
	return last == 0 || last == 255;
}

/* --- sorted arrays --- */

/* Index of the first entry >= ip. */
static uint32_t
entry_lower(const struct lb_ipam *ipam, const struct lb_ip *ip)
{
	uint32_t lo = 0, hi = ipam->n_entries;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (lb_ip_cmp(&ipam->entries[mid].ip, ip) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct lb_ipam_entry *
lb_ipam_entry_find(const struct lb_ipam *ipam, const struct lb_ip *ip)
{
	uint32_t i = entry_lower(ipam, ip);

	if (i < ipam->n_entries && lb_ip_cmp(&ipam->entries[i].ip, ip) == 0)
		return &ipam->entries[i];
	return NULL;
}

static uint32_t
holder_lower(const struct lb_ipam *ipam, const char *name)
{
	uint32_t lo = 0, hi = ipam->n_holders;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (strcmp(ipam->holders[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct lb_ipam_holder *
holder_find(const struct lb_ipam *ipam, const char *name)
{
	uint32_t i = holder_lower(ipam, name);

	if (i < ipam->n_holders && strcmp(ipam->holders[i]->name, name) == 0)
		return ipam->holders[i];
	return NULL;
}

static void
holder_free(struct lb_ipam_holder *h)
{
	if (h == NULL)
		return;
	free(h->name);
	free(h->key);
	free(h->ports);
	free(h);
}

/* Removes h from the entry for ip (dropping the entry when it empties). */
static void
entry_drop_holder(struct lb_ipam *ipam, const struct lb_ip *ip, const struct lb_ipam_holder *h)
{
	uint32_t i = entry_lower(ipam, ip), k;
	struct lb_ipam_entry *e;

	if (i >= ipam->n_entries || lb_ip_cmp(&ipam->entries[i].ip, ip) != 0)
		return;
	e = &ipam->entries[i];
	for (k = 0; k < e->n; k++) {
		if (e->holders[k] == h) {
			memmove(&e->holders[k], &e->holders[k + 1],
				sizeof(*e->holders) * (e->n - k - 1));
			e->n--;
			break;
		}
	}
	if (e->n > 0)
		return;
	free(e->holders);
	memmove(&ipam->entries[i], &ipam->entries[i + 1],
		sizeof(*ipam->entries) * (ipam->n_entries - i - 1));
	ipam->n_entries--;
}

/* Adds h to the entry for ip, creating it. 0 or -ENOMEM. */
static int
entry_add_holder(struct lb_ipam *ipam, const struct lb_ip *ip, struct lb_ipam_holder *h)
{
	uint32_t i = entry_lower(ipam, ip), k;
	struct lb_ipam_entry *e;

	if (i >= ipam->n_entries || lb_ip_cmp(&ipam->entries[i].ip, ip) != 0) {
		if (ipam->n_entries == ipam->cap_entries) {
			uint32_t cap = ipam->cap_entries ? ipam->cap_entries * 2 : 64;
			struct lb_ipam_entry *ne = realloc(ipam->entries, sizeof(*ne) * cap);

			if (ne == NULL)
				return -ENOMEM;
			ipam->entries = ne;
			ipam->cap_entries = cap;
		}
		memmove(&ipam->entries[i + 1], &ipam->entries[i],
			sizeof(*ipam->entries) * (ipam->n_entries - i));
		ipam->n_entries++;
		e = &ipam->entries[i];
		memset(e, 0, sizeof(*e));
		e->ip = *ip;
		e->pool = lb_ipam_find_pool(ipam->pools, ipam->n_pools, ip);
	}
	e = &ipam->entries[i];
	if (e->n == e->cap) {
		uint32_t cap = e->cap ? e->cap * 2 : 2;
		struct lb_ipam_holder **nh = realloc(e->holders, sizeof(*nh) * cap);

		if (nh == NULL) {
			if (e->n == 0) {
				memmove(&ipam->entries[i], &ipam->entries[i + 1],
					sizeof(*ipam->entries) * (ipam->n_entries - i - 1));
				ipam->n_entries--;
			}
			return -ENOMEM;
		}
		e->holders = nh;
		e->cap = cap;
	}
	for (k = 0; k < e->n && strcmp(e->holders[k]->name, h->name) < 0; k++)
		;
	memmove(&e->holders[k + 1], &e->holders[k], sizeof(*e->holders) * (e->n - k));
	e->holders[k] = h;
	e->n++;
	return 0;
}

/* --- life cycle --- */

struct lb_ipam *
lb_ipam_new(const struct lb_model_pool *pools, uint32_t n_pools)
{
	struct lb_ipam *ipam = calloc(1, sizeof(*ipam));

	if (ipam == NULL)
		return NULL;
	ipam->pools = lb_ipam_pools_copy(pools, n_pools);
	if (ipam->pools == NULL) {
		free(ipam);
		return NULL;
	}
	ipam->n_pools = n_pools;
	return ipam;
}

void
lb_ipam_free(struct lb_ipam *ipam)
{
	uint32_t i;

	if (ipam == NULL)
		return;
	for (i = 0; i < ipam->n_entries; i++)
		free(ipam->entries[i].holders);
	free(ipam->entries);
	for (i = 0; i < ipam->n_holders; i++)
		holder_free(ipam->holders[i]);
	free(ipam->holders);
	lb_ipam_pools_free(ipam->pools, ipam->n_pools);
	free(ipam);
}

/* --- acceptability --- */

static bool
ports_collide(const struct lb_ipam_port *a, uint32_t na, const struct lb_ipam_port *b,
	uint32_t nb, struct lb_ipam_port *which)
{
	uint32_t i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (a[i].proto == b[j].proto && a[i].port == b[j].port) {
				*which = a[i];
				return true;
			}
	return false;
}

static bool
key_set(const char *k)
{
	return k != NULL && *k != '\0';
}

/* Whether the holders of ip other than self let req share it; a message
 * naming the obstacle otherwise. */
static int
sharable(const struct lb_ipam *ipam, const struct lb_ip *ip, const char *self,
	const struct lb_ipam_req *req, char *err, size_t errlen)
{
	const struct lb_ipam_entry *e = lb_ipam_entry_find(ipam, ip);
	char a[LB_IP_STRLEN];
	struct lb_ipam_port p;
	uint32_t k;

	for (k = 0; e != NULL && k < e->n; k++) {
		const struct lb_ipam_holder *h = e->holders[k];

		if (strcmp(h->name, self) == 0)
			continue;
		if (!key_set(req->sharing_key) || h->key == NULL ||
		    strcmp(h->key, req->sharing_key) != 0)
			return fail(err, errlen, -EADDRINUSE, "address %s is held by %s%s%s%s",
				lb_ip_fmt(ip, a), h->name,
				h->key != NULL ? " (sharing key \"" : "",
				h->key != NULL ? h->key : "", h->key != NULL ? "\")" : "");
		if (ports_collide(req->ports, req->n_ports, h->ports, h->n_ports, &p))
			return fail(err, errlen, -EADDRINUSE, "address %s is shared with %s, which "
				"also serves %s port %u", lb_ip_fmt(ip, a), h->name,
				lb_proto_str(p.proto), p.port);
	}
	return 0;
}

/* 0 when ip is acceptable for req (see the header), else why not. */
static int
acceptable(const struct lb_ipam *ipam, const struct lb_ip *ip, const char *self,
	const struct lb_ipam_req *req, bool wanted, char *err, size_t errlen)
{
	char a[LB_IP_STRLEN];
	int p = lb_ipam_find_pool(ipam->pools, ipam->n_pools, ip);

	lb_ip_fmt(ip, a);
	if (p < 0)
		return fail(err, errlen, -EADDRNOTAVAIL, "address %s is in no address pool", a);
	if (req->pool != NULL && strcmp(ipam->pools[p].name, req->pool) != 0)
		return fail(err, errlen, -EADDRNOTAVAIL, "address %s is in pool %s, not in the "
			"requested pool %s", a, ipam->pools[p].name, req->pool);
	if (req->pool == NULL && !wanted && !ipam->pools[p].auto_assign)
		return fail(err, errlen, -EADDRNOTAVAIL, "address %s is in pool %s, which does "
			"not assign addresses automatically", a, ipam->pools[p].name);
	if (ipam->pools[p].avoid_buggy && buggy(ip))
		return fail(err, errlen, -EADDRNOTAVAIL, "address %s ends in .0 or .255, which "
			"pool %s avoids (avoid_buggy_ips)", a, ipam->pools[p].name);
	return sharable(ipam, ip, self, req, err, errlen);
}

/* The lowest address of family f in pool p that nobody holds. */
static int
first_free(const struct lb_ipam *ipam, const struct lb_ipam_pool_def *p, uint8_t f,
	struct lb_ip *out)
{
	uint32_t k, i;

	for (k = 0; k < p->n_ranges; k++) {
		const struct lb_ip_range *r = &p->ranges[k];
		struct lb_ip c = r->first;

		if (r->first.family != f)
			continue;
		i = entry_lower(ipam, &c);
		for (;;) {
			int cmp = i < ipam->n_entries ? lb_ip_cmp(&ipam->entries[i].ip, &c) : 1;

			if (cmp < 0) {
				i++;
				continue;
			}
			if (cmp > 0 && !(p->avoid_buggy && buggy(&c))) {
				*out = c;
				return 0;
			}
			if (cmp == 0)
				i++;
			if (lb_ip_cmp(&c, &r->last) >= 0 || lb_ip_add(&c, 1, &c) != 0)
				break;
		}
	}
	return -ENOSPC;
}

static const struct lb_ip *
of_family(const struct lb_ip *a, uint32_t n, uint8_t f)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (a[i].family == f)
			return &a[i];
	return NULL;
}

static int
check_req(const struct lb_ipam_req *req, char *err, size_t errlen)
{
	char a[LB_IP_STRLEN], b[LB_IP_STRLEN];
	uint32_t i, j;

	if (req->n_families < 1 || req->n_families > LB_IPAM_MAX_FAMILIES)
		return fail(err, errlen, -EINVAL, "no address family requested");
	for (i = 0; i < req->n_families; i++) {
		if (req->families[i] != LB_AF_INET && req->families[i] != LB_AF_INET6)
			return fail(err, errlen, -EINVAL, "unknown address family %u",
				req->families[i]);
		for (j = 0; j < i; j++)
			if (req->families[j] == req->families[i])
				return fail(err, errlen, -EINVAL, "address family %s requested twice",
					family_str(req->families[i]));
	}
	if (req->n_want > LB_IPAM_MAX_FAMILIES || req->n_prev > LB_IPAM_MAX_FAMILIES ||
	    (req->n_ports > 0 && req->ports == NULL))
		return fail(err, errlen, -EINVAL, "malformed request");
	for (i = 0; i < req->n_want; i++) {
		bool fam = false;

		for (j = 0; j < req->n_families; j++)
			fam |= req->families[j] == req->want[i].family;
		if (!fam)
			return fail(err, errlen, -EINVAL, "requested address %s is %s, which is not "
				"one of the Service's address families", lb_ip_fmt(&req->want[i], a),
				family_str(req->want[i].family));
		for (j = 0; j < i; j++)
			if (req->want[j].family == req->want[i].family)
				return fail(err, errlen, -EINVAL, "two %s addresses requested (%s and "
					"%s); at most one per family",
					family_str(req->want[i].family), lb_ip_fmt(&req->want[j], a),
					lb_ip_fmt(&req->want[i], b));
	}
	return 0;
}

/* Picks an address of family f for req, or fails with a message. */
static int
choose(const struct lb_ipam *ipam, const char *owner, const struct lb_ipam_holder *cur,
	const struct lb_ipam_req *req, uint8_t f, struct lb_ip *out, char *err, size_t errlen)
{
	const struct lb_ip *w = of_family(req->want, req->n_want, f), *c;
	char ignored[8];
	uint32_t i;
	int rc, p;

	if (w != NULL) {
		rc = acceptable(ipam, w, owner, req, true, err, errlen);
		if (rc == 0)
			*out = *w;
		return rc;
	}
	c = cur != NULL ? of_family(cur->addr, cur->n, f) : NULL;
	if (c != NULL && acceptable(ipam, c, owner, req, false, ignored, sizeof(ignored)) == 0) {
		*out = *c;
		return 0;
	}
	c = of_family(req->prev, req->n_prev, f);
	if (c != NULL && acceptable(ipam, c, owner, req, false, ignored, sizeof(ignored)) == 0) {
		*out = *c;
		return 0;
	}
	if (key_set(req->sharing_key)) {
		for (i = 0; i < ipam->n_entries; i++) {
			const struct lb_ipam_entry *e = &ipam->entries[i];

			if (e->ip.family != f || e->n == 0 || e->holders[0]->key == NULL ||
			    strcmp(e->holders[0]->key, req->sharing_key) != 0)
				continue;
			if (acceptable(ipam, &e->ip, owner, req, false, ignored,
				       sizeof(ignored)) == 0) {
				*out = e->ip;
				return 0;
			}
		}
	}
	if (req->pool != NULL) {
		p = pool_by_name(ipam, req->pool);
		if (p < 0)
			return fail(err, errlen, -ENOENT, "address pool %s does not exist",
				req->pool);
		if (!pool_has_family(&ipam->pools[p], f))
			return fail(err, errlen, -ENOENT, "address pool %s has no %s addresses",
				req->pool, family_str(f));
		if (first_free(ipam, &ipam->pools[p], f, out) == 0)
			return 0;
		return fail(err, errlen, -ENOSPC, "address pool %s has no free %s address",
			req->pool, family_str(f));
	}
	rc = -ENOENT;
	for (i = 0; i < ipam->n_pools; i++) {
		if (!ipam->pools[i].auto_assign || !pool_has_family(&ipam->pools[i], f))
			continue;
		rc = -ENOSPC;
		if (first_free(ipam, &ipam->pools[i], f, out) == 0)
			return 0;
	}
	if (rc == -ENOENT)
		return fail(err, errlen, -ENOSPC, "no address pool with auto_assign has %s "
			"addresses", family_str(f));
	return fail(err, errlen, -ENOSPC, "every address pool with auto_assign is out of %s "
		"addresses", family_str(f));
}

static void
release_holder(struct lb_ipam *ipam, struct lb_ipam_holder *h)
{
	uint32_t i;

	for (i = 0; i < h->n; i++)
		entry_drop_holder(ipam, &h->addr[i], h);
	h->n = 0;
}

static void
remove_holder(struct lb_ipam *ipam, struct lb_ipam_holder *h)
{
	uint32_t i = holder_lower(ipam, h->name);

	release_holder(ipam, h);
	if (i < ipam->n_holders && ipam->holders[i] == h) {
		memmove(&ipam->holders[i], &ipam->holders[i + 1],
			sizeof(*ipam->holders) * (ipam->n_holders - i - 1));
		ipam->n_holders--;
	}
	holder_free(h);
}

static struct lb_ipam_holder *
add_holder(struct lb_ipam *ipam, const char *owner)
{
	uint32_t i = holder_lower(ipam, owner);
	struct lb_ipam_holder *h;

	if (ipam->n_holders == ipam->cap_holders) {
		uint32_t cap = ipam->cap_holders ? ipam->cap_holders * 2 : 64;
		struct lb_ipam_holder **nh = realloc(ipam->holders, sizeof(*nh) * cap);

		if (nh == NULL)
			return NULL;
		ipam->holders = nh;
		ipam->cap_holders = cap;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->name = strdup(owner)) == NULL) {
		free(h);
		return NULL;
	}
	memmove(&ipam->holders[i + 1], &ipam->holders[i],
		sizeof(*ipam->holders) * (ipam->n_holders - i));
	ipam->holders[i] = h;
	ipam->n_holders++;
	return h;
}

/* Sets h's key and ports from req. 0 or -ENOMEM (h unchanged). */
static int
holder_set(struct lb_ipam_holder *h, const struct lb_ipam_req *req)
{
	char *key = NULL;
	struct lb_ipam_port *ports = NULL;

	if (key_set(req->sharing_key) && (key = strdup(req->sharing_key)) == NULL)
		return -ENOMEM;
	if (req->n_ports > 0) {
		ports = malloc(sizeof(*ports) * req->n_ports);
		if (ports == NULL) {
			free(key);
			return -ENOMEM;
		}
		memcpy(ports, req->ports, sizeof(*ports) * req->n_ports);
	}
	free(h->key);
	free(h->ports);
	h->key = key;
	h->ports = ports;
	h->n_ports = req->n_ports;
	return 0;
}

void
lb_ipam_lookup(const struct lb_ipam *ipam, const char *owner, struct lb_ipam_result *out)
{
	const struct lb_ipam_holder *h = holder_find(ipam, owner);
	uint32_t i;

	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return;
	out->n = h->n;
	for (i = 0; i < h->n; i++) {
		const struct lb_ipam_entry *e = lb_ipam_entry_find(ipam, &h->addr[i]);

		out->addr[i] = h->addr[i];
		out->pool[i] = e != NULL && e->pool >= 0 ? (uint32_t)e->pool : UINT32_MAX;
		out->shared[i] = e != NULL && e->n > 1;
	}
}

int
lb_ipam_assign(struct lb_ipam *ipam, const char *owner, const struct lb_ipam_req *req,
	struct lb_ipam_result *out, char *err, size_t errlen)
{
	struct lb_ip chosen[LB_IPAM_MAX_FAMILIES];
	struct lb_ipam_holder *h;
	uint32_t i, k;
	int rc;

	if (ipam == NULL || owner == NULL || *owner == '\0' || req == NULL || out == NULL)
		return fail(err, errlen, -EINVAL, "no owner or request");
	memset(out, 0, sizeof(*out));
	h = holder_find(ipam, owner);
	rc = check_req(req, err, errlen);
	for (i = 0; rc == 0 && i < req->n_families; i++)
		rc = choose(ipam, owner, h, req, req->families[i], &chosen[i], err, errlen);
	if (rc != 0) {
		if (h != NULL)
			remove_holder(ipam, h);
		return rc;
	}
	if (h == NULL && (h = add_holder(ipam, owner)) == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	if (holder_set(h, req) != 0) {
		remove_holder(ipam, h);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	/* Drop what is no longer held, then add what is new; h->addr always
	 * lists exactly the entries h is in, so remove_holder can undo. */
	for (i = 0, k = 0; i < h->n; i++) {
		bool keep = false;
		uint32_t j;

		for (j = 0; j < req->n_families; j++)
			keep |= lb_ip_cmp(&h->addr[i], &chosen[j]) == 0;
		if (keep)
			h->addr[k++] = h->addr[i];
		else
			entry_drop_holder(ipam, &h->addr[i], h);
	}
	h->n = k;
	for (k = 0; k < req->n_families; k++) {
		bool had = false;

		for (i = 0; i < h->n; i++)
			had |= lb_ip_cmp(&h->addr[i], &chosen[k]) == 0;
		if (had)
			continue;
		if (entry_add_holder(ipam, &chosen[k], h) != 0) {
			remove_holder(ipam, h);
			return fail(err, errlen, -ENOMEM, "out of memory");
		}
		h->addr[h->n++] = chosen[k];
	}
	/* Keep the request's family order. */
	for (k = 0; k < req->n_families; k++)
		h->addr[k] = chosen[k];
	lb_ipam_lookup(ipam, owner, out);
	return 0;
}

int
lb_ipam_release(struct lb_ipam *ipam, const char *owner)
{
	struct lb_ipam_holder *h = holder_find(ipam, owner);

	if (h == NULL)
		return -ENOENT;
	remove_holder(ipam, h);
	return 0;
}
