/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_model.h"

/*
 * Entries sorted by (address, port, frontend), "" being the all-frontends
 * scope, so that every entry about one target sits together and lookups are
 * a binary search. The overlay is small (drained and failing targets), and
 * changes at lbctl and health-check rates.
 */

enum drain_state {
	DS_NONE = 0,
	DS_DRAINED = 1,
	DS_UNDRAINED = 2,	/* exception to an all-frontends drain */
};

struct entry {
	struct lb_ip addr;
	uint16_t port;		/* 0: every port (health only) */
	uint8_t drain;		/* enum drain_state */
	bool unhealthy;
	char *fe;		/* "" = all frontends */
	char reason[LB_MODEL_REASON_MAX];
};

struct lb_overlay {
	uint32_t n, cap;
	struct entry *e;
	uint64_t version;
};

struct lb_overlay *
lb_overlay_new(void)
{
	return calloc(1, sizeof(struct lb_overlay));
}

void
lb_overlay_free(struct lb_overlay *ov)
{
	uint32_t i;

	if (ov == NULL)
		return;
	for (i = 0; i < ov->n; i++)
		free(ov->e[i].fe);
	free(ov->e);
	free(ov);
}

struct lb_overlay *
lb_overlay_clone(const struct lb_overlay *ov)
{
	struct lb_overlay *c = lb_overlay_new();
	uint32_t i;

	if (c == NULL)
		return NULL;
	c->version = ov->version;
	if (ov->n == 0)
		return c;
	c->e = calloc(ov->n, sizeof(*c->e));
	if (c->e == NULL)
		goto nomem;
	c->cap = ov->n;
	for (i = 0; i < ov->n; i++) {
		c->e[i] = ov->e[i];
		c->e[i].fe = strdup(ov->e[i].fe);
		if (c->e[i].fe == NULL)
			goto nomem;
		c->n++;
	}
	return c;
nomem:
	lb_overlay_free(c);
	return NULL;
}

uint64_t
lb_overlay_version(const struct lb_overlay *ov)
{
	return ov->version;
}

static int
key_cmp(const struct lb_ip *a, uint16_t ap, const char *af, const struct entry *b)
{
	int c = lb_ip_cmp(a, &b->addr);

	if (c != 0)
		return c;
	if (ap != b->port)
		return ap < b->port ? -1 : 1;
	c = strcmp(af, b->fe);
	return c < 0 ? -1 : c > 0;
}

/* Index of the first entry not below the key. */
static uint32_t
lower_bound(const struct lb_overlay *ov, const struct lb_ip *addr, uint16_t port, const char *fe)
{
	uint32_t lo = 0, hi = ov->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (key_cmp(addr, port, fe, &ov->e[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct entry *
find(const struct lb_overlay *ov, const struct lb_ip *addr, uint16_t port, const char *fe)
{
	uint32_t i = lower_bound(ov, addr, port, fe);

	if (i < ov->n && key_cmp(addr, port, fe, &ov->e[i]) == 0)
		return &ov->e[i];
	return NULL;
}

/* The entry for the key, created empty if absent; NULL on ENOMEM. */
static struct entry *
get(struct lb_overlay *ov, const struct lb_ip *addr, uint16_t port, const char *fe)
{
	uint32_t i = lower_bound(ov, addr, port, fe);
	struct entry e;

	if (i < ov->n && key_cmp(addr, port, fe, &ov->e[i]) == 0)
		return &ov->e[i];
	if (ov->n == ov->cap) {
		uint32_t cap = ov->cap ? ov->cap * 2 : 16;
		struct entry *n = realloc(ov->e, sizeof(*n) * cap);

		if (n == NULL)
			return NULL;
		ov->e = n;
		ov->cap = cap;
	}
	memset(&e, 0, sizeof(e));
	e.addr = *addr;
	e.port = port;
	e.fe = strdup(fe);
	if (e.fe == NULL)
		return NULL;
	memmove(&ov->e[i + 1], &ov->e[i], sizeof(*ov->e) * (ov->n - i));
	ov->e[i] = e;
	ov->n++;
	return &ov->e[i];
}

/* Removes entries that hold nothing any more. */
static void
compact(struct lb_overlay *ov)
{
	uint32_t i, j = 0;

	for (i = 0; i < ov->n; i++) {
		if (ov->e[i].drain == DS_NONE && !ov->e[i].unhealthy) {
			free(ov->e[i].fe);
			continue;
		}
		ov->e[j++] = ov->e[i];
	}
	ov->n = j;
}

static const char *
scope(const char *fe)
{
	return fe == NULL ? "" : fe;
}

bool
lb_overlay_drained(const struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port)
{
	const struct entry *own = NULL, *all;

	if (scope(fe)[0] != '\0')
		own = find(ov, addr, port, fe);
	if (own != NULL && own->drain != DS_NONE)
		return own->drain == DS_DRAINED;
	all = find(ov, addr, port, "");
	return all != NULL && all->drain == DS_DRAINED;
}

int
lb_overlay_drain(struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port, bool drain)
{
	const char *sc = scope(fe);
	bool changed = false;
	struct entry *e;
	uint32_t i;

	if (sc[0] == '\0') {
		/* all frontends: per-frontend drain states for the target go */
		for (i = lower_bound(ov, addr, port, ""); i < ov->n &&
		     lb_ip_cmp(addr, &ov->e[i].addr) == 0 && ov->e[i].port == port; i++) {
			uint8_t want = (drain && ov->e[i].fe[0] == '\0') ? DS_DRAINED : DS_NONE;

			if (ov->e[i].drain != want) {
				ov->e[i].drain = want;
				changed = true;
			}
		}
		if (drain && find(ov, addr, port, "") == NULL) {
			e = get(ov, addr, port, "");
			if (e == NULL)
				return -ENOMEM;
			e->drain = DS_DRAINED;
			changed = true;
		}
	} else {
		const struct entry *all = find(ov, addr, port, "");
		bool all_drained = all != NULL && all->drain == DS_DRAINED;
		uint8_t want = drain ? (all_drained ? DS_NONE : DS_DRAINED) :
			(all_drained ? DS_UNDRAINED : DS_NONE);

		e = find(ov, addr, port, sc);
		if ((e == NULL ? DS_NONE : e->drain) != want) {
			if (e == NULL && (e = get(ov, addr, port, sc)) == NULL)
				return -ENOMEM;
			e->drain = want;
			changed = true;
		}
	}
	compact(ov);
	if (!changed)
		return 1;
	ov->version++;
	return 0;
}

int
lb_overlay_set_unhealthy(struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port, bool unhealthy, const char *reason)
{
	const char *sc = scope(fe);
	struct entry *e = find(ov, addr, port, sc);
	char r[LB_MODEL_REASON_MAX];

	snprintf(r, sizeof(r), "%s", reason ? reason : "");
	if (!unhealthy) {
		if (e == NULL || !e->unhealthy)
			return 1;
		e->unhealthy = false;
		e->reason[0] = '\0';
		compact(ov);
		ov->version++;
		return 0;
	}
	if (e != NULL && e->unhealthy && strcmp(e->reason, r) == 0)
		return 1;
	if (e == NULL && (e = get(ov, addr, port, sc)) == NULL)
		return -ENOMEM;
	e->unhealthy = true;
	memcpy(e->reason, r, sizeof(r));
	ov->version++;
	return 0;
}

/* The unhealthy mark that applies to (fe, addr, port) from entries with the
 * given port (the target's, or 0 for all ports), or NULL. */
static const struct entry *
unhealthy_at(const struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port)
{
	const struct entry *e;

	if (fe[0] != '\0' && (e = find(ov, addr, port, fe)) != NULL && e->unhealthy)
		return e;
	if ((e = find(ov, addr, port, "")) != NULL && e->unhealthy)
		return e;
	return NULL;
}

uint32_t
lb_overlay_flags(const struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port, char *reason, size_t reason_len)
{
	const char *sc = scope(fe);
	const struct entry *u;
	uint32_t f = 0;

	if (ov == NULL || ov->n == 0)
		return 0;
	if (lb_overlay_drained(ov, sc, addr, port))
		f |= LB_OV_DRAINED;
	u = unhealthy_at(ov, sc, addr, port);
	if (u == NULL && port != 0)
		u = unhealthy_at(ov, sc, addr, 0);
	if (u != NULL) {
		f |= LB_OV_UNHEALTHY;
		if (reason != NULL && reason_len > 0)
			snprintf(reason, reason_len, "%s", u->reason);
	}
	return f;
}

void
lb_overlay_foreach(const struct lb_overlay *ov,
	void (*fn)(void *ctx, const struct lb_overlay_entry_info *e), void *ctx)
{
	uint32_t i;

	for (i = 0; i < ov->n; i++) {
		const struct entry *e = &ov->e[i];
		struct lb_overlay_entry_info info = {
			.fe = e->fe,
			.addr = e->addr,
			.port = e->port,
			.flags = (e->drain == DS_DRAINED ? LB_OV_DRAINED : 0) |
				(e->unhealthy ? LB_OV_UNHEALTHY : 0),
			.undrain_exception = e->drain == DS_UNDRAINED,
			.reason = e->reason,
		};

		fn(ctx, &info);
	}
}
