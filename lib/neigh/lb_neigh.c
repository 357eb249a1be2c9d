/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb_hash.h"
#include "lb_neigh.h"

/*
 * Storage: a dense array of entries (so run() and the table builder walk it
 * without gaps) indexed by a chained hash on (port, ip). Removal moves the
 * last entry into the hole, which is why run() walks the array backwards.
 */

#define NIL	UINT32_MAX
#define MIN_CAP	16
#define TABLE_MIN_SLOTS	16

struct entry {
	uint32_t ip;
	uint8_t port;
	uint8_t state;		/* enum lb_neigh_state */
	uint8_t pending;	/* INCOMPLETE and its queue filled: published so that
				 * workers drop instead of handing more over */
	uint8_t mac[LB_ETHER_ADDR_LEN];	/* valid unless INCOMPLETE */
	uint32_t probes;	/* requests sent in the current INCOMPLETE/PROBE round */
	uint32_t hnext;		/* hash chain */
	uint64_t next;		/* ms of the next timer step (not PERMANENT) */
	void **q;		/* ring of held packets, allocated on first use */
	uint32_t qcap;
	uint32_t qhead;
	uint32_t qcnt;
};

struct lb_neigh {
	struct lb_neigh_params p;
	struct lb_neigh_ops ops;
	struct entry *ents;
	uint32_t n;
	uint32_t cap;
	uint32_t *buckets;	/* cap buckets (cap is a power of two) */
	uint32_t n_dynamic;
	uint64_t version;
	struct lb_neigh_counters c;
};

static inline uint32_t
bucket_of(const struct lb_neigh *n, uint8_t port, uint32_t ip)
{
	return lb_hash32_2(ip, port, 0) & (n->cap - 1);
}

static struct entry *
find(const struct lb_neigh *n, uint8_t port, uint32_t ip)
{
	uint32_t i;

	for (i = n->buckets[bucket_of(n, port, ip)]; i != NIL; i = n->ents[i].hnext)
		if (n->ents[i].ip == ip && n->ents[i].port == port)
			return &n->ents[i];
	return NULL;
}

static void
rehash(struct lb_neigh *n)
{
	uint32_t i, b;

	for (i = 0; i < n->cap; i++)
		n->buckets[i] = NIL;
	for (i = 0; i < n->n; i++) {
		b = bucket_of(n, n->ents[i].port, n->ents[i].ip);
		n->ents[i].hnext = n->buckets[b];
		n->buckets[b] = i;
	}
}

/* Makes room for `want` entries in total. */
static int
reserve(struct lb_neigh *n, uint32_t want)
{
	struct entry *e;
	uint32_t *b;
	uint32_t cap = n->cap;

	if (want <= cap)
		return 0;
	while (cap < want) {
		if (cap > UINT32_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	b = malloc(sizeof(*b) * cap);
	if (b == NULL)
		return -ENOMEM;
	e = realloc(n->ents, sizeof(*e) * cap);
	if (e == NULL) {
		free(b);
		return -ENOMEM;
	}
	free(n->buckets);
	n->ents = e;
	n->buckets = b;
	n->cap = cap;
	rehash(n);
	return 0;
}

/* Appends an entry; the caller reserved room. */
static struct entry *
add(struct lb_neigh *n, uint8_t port, uint32_t ip, enum lb_neigh_state st)
{
	struct entry *e = &n->ents[n->n];
	uint32_t b = bucket_of(n, port, ip);

	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->port = port;
	e->state = (uint8_t)st;
	e->hnext = n->buckets[b];
	n->buckets[b] = n->n;
	n->n++;
	if (st != LB_NEIGH_PERMANENT)
		n->n_dynamic++;
	return e;
}

/* Unlinks index i from its hash chain. */
static void
unlink_idx(struct lb_neigh *n, uint32_t i)
{
	uint32_t *link = &n->buckets[bucket_of(n, n->ents[i].port, n->ents[i].ip)];

	while (*link != i)
		link = &n->ents[*link].hnext;
	*link = n->ents[i].hnext;
}

/* Removes an entry whose queue is already empty and freed. */
static void
del(struct lb_neigh *n, struct entry *e)
{
	uint32_t i = (uint32_t)(e - n->ents);
	uint32_t last = n->n - 1;
	uint32_t *link;

	if (e->state != LB_NEIGH_PERMANENT)
		n->n_dynamic--;
	unlink_idx(n, i);
	if (i != last) {
		link = &n->buckets[bucket_of(n, n->ents[last].port, n->ents[last].ip)];
		while (*link != last)
			link = &n->ents[*link].hnext;
		*link = i;
		n->ents[i] = n->ents[last];
	}
	n->n--;
}

static inline bool
usable(const struct entry *e)
{
	return e->state == LB_NEIGH_REACHABLE || e->state == LB_NEIGH_PROBE ||
		e->state == LB_NEIGH_PERMANENT;
}

/* Sends every held packet to the entry's MAC, oldest first. The ring is
 * detached first so that nothing the callback does can see it half-drained. */
static void
release(struct lb_neigh *n, struct entry *e)
{
	void **q = e->q;
	uint32_t cap = e->qcap, head = e->qhead, cnt = e->qcnt, k;

	e->q = NULL;
	e->qcap = e->qhead = e->qcnt = 0;
	for (k = 0; k < cnt; k++) {
		n->ops.send_pkt(n->ops.ctx, e->port, q[(head + k) % cap], e->mac);
		n->c.sent++;
	}
	free(q);
}

static void
drop_queue(struct lb_neigh *n, struct entry *e, bool count)
{
	void **q = e->q;
	uint32_t cap = e->qcap, head = e->qhead, cnt = e->qcnt, k;

	e->q = NULL;
	e->qcap = e->qhead = e->qcnt = 0;
	for (k = 0; k < cnt; k++) {
		n->ops.drop_pkt(n->ops.ctx, q[(head + k) % cap]);
		if (count)
			n->c.failed++;
	}
	free(q);
}

static bool
params_ok(const struct lb_neigh_params *p)
{
	return p != NULL && p->retries >= 1;
}

struct lb_neigh *
lb_neigh_create(const struct lb_neigh_params *p, const struct lb_neigh_ops *ops)
{
	struct lb_neigh *n;

	if (!params_ok(p) || ops == NULL || ops->send_request == NULL || ops->send_pkt == NULL ||
			ops->drop_pkt == NULL) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->p = *p;
	n->ops = *ops;
	n->cap = MIN_CAP;
	n->ents = malloc(sizeof(*n->ents) * n->cap);
	n->buckets = malloc(sizeof(*n->buckets) * n->cap);
	if (n->ents == NULL || n->buckets == NULL) {
		free(n->ents);
		free(n->buckets);
		free(n);
		return NULL;
	}
	rehash(n);
	return n;
}

void
lb_neigh_destroy(struct lb_neigh *n)
{
	uint32_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++)
		drop_queue(n, &n->ents[i], false);
	free(n->ents);
	free(n->buckets);
	free(n);
}

int
lb_neigh_set_params(struct lb_neigh *n, const struct lb_neigh_params *p)
{
	if (!params_ok(p))
		return -EINVAL;
	n->p = *p;
	return 0;
}

int
lb_neigh_set_static(struct lb_neigh *n, const uint32_t *ip, const uint8_t (*mac)[LB_ETHER_ADDR_LEN],
	const uint8_t *port, uint32_t cnt, uint64_t now)
{
	struct entry *e;
	bool changed = false;
	uint32_t i, k;
	uint8_t *keep;
	int rc;

	(void)now;	/* PERMANENT entries have no timers */
	for (k = 0; k < cnt; k++)
		if (ip[k] == 0)
			return -EINVAL;
	if (cnt > UINT32_MAX - n->n)
		return -ENOMEM;
	/* Room first, so that nothing below can fail half-way. */
	rc = reserve(n, n->n + cnt);
	if (rc < 0)
		return rc;
	keep = calloc(n->n + cnt + 1, 1);
	if (keep == NULL)
		return -ENOMEM;

	for (k = 0; k < cnt; k++) {
		e = find(n, port[k], ip[k]);
		if (e == NULL) {
			e = add(n, port[k], ip[k], LB_NEIGH_PERMANENT);
			memcpy(e->mac, mac[k], LB_ETHER_ADDR_LEN);
			changed = true;
		} else {
			if (!usable(e) || memcmp(e->mac, mac[k], LB_ETHER_ADDR_LEN) != 0)
				changed = true;
			if (e->state != LB_NEIGH_PERMANENT)
				n->n_dynamic--;
			e->state = LB_NEIGH_PERMANENT;
			e->probes = 0;
			e->next = 0;
			memcpy(e->mac, mac[k], LB_ETHER_ADDR_LEN);
			if (e->q != NULL)
				release(n, e);
		}
		keep[e - n->ents] = 1;
	}
	/* Backwards, because del() moves the last entry into the hole. */
	for (i = n->n; i-- > 0;) {
		e = &n->ents[i];
		if (e->state == LB_NEIGH_PERMANENT && !keep[i]) {
			del(n, e);
			changed = true;
		}
	}
	free(keep);
	if (changed)
		n->version++;
	return 0;
}

/* The entry's queue is full: from the next table on, workers drop frames
 * for it themselves (LB_NEIGH_PENDING) instead of handing them over. */
static void
mark_pending(struct lb_neigh *n, struct entry *e)
{
	if (e->pending)
		return;
	e->pending = 1;
	n->version++;
}

int
lb_neigh_resolve(struct lb_neigh *n, uint8_t port, uint32_t ip, uint64_t now, void *pkt)
{
	struct entry *e;

	if (ip == 0) {
		if (pkt != NULL)
			n->ops.drop_pkt(n->ops.ctx, pkt);
		return -EINVAL;
	}
	e = find(n, port, ip);
	if (e == NULL) {
		if (n->n_dynamic >= n->p.max_entries || reserve(n, n->n + 1) < 0) {
			n->c.table_full++;
			if (pkt != NULL)
				n->ops.drop_pkt(n->ops.ctx, pkt);
			return -ENOSPC;
		}
		e = add(n, port, ip, LB_NEIGH_INCOMPLETE);
		e->probes = 1;
		e->next = now + n->p.retry_ms;
		n->ops.send_request(n->ops.ctx, port, ip);
		n->c.requests++;
	}

	if (usable(e)) {
		if (pkt != NULL) {
			n->ops.send_pkt(n->ops.ctx, port, pkt, e->mac);
			n->c.sent++;
		}
		return 0;
	}
	if (e->state == LB_NEIGH_FAILED) {
		if (pkt != NULL) {
			n->ops.drop_pkt(n->ops.ctx, pkt);
			n->c.failed++;
		}
		return -EHOSTUNREACH;
	}
	/* INCOMPLETE */
	if (pkt == NULL)
		return 0;
	if (e->q == NULL && n->p.queue_len > 0) {
		e->q = malloc(sizeof(*e->q) * n->p.queue_len);
		if (e->q != NULL)
			e->qcap = n->p.queue_len;
	}
	if (e->qcnt >= e->qcap) {
		n->ops.drop_pkt(n->ops.ctx, pkt);
		n->c.queue_full++;
		mark_pending(n, e);
		return -ENOBUFS;
	}
	e->q[(e->qhead + e->qcnt) % e->qcap] = pkt;
	e->qcnt++;
	n->c.queued++;
	if (e->qcnt >= e->qcap)
		mark_pending(n, e);
	return 0;
}

static void
info_of(const struct entry *e, struct lb_neigh_info *info)
{
	memset(info, 0, sizeof(*info));
	info->ip = e->ip;
	info->port = e->port;
	memcpy(info->mac, e->mac, LB_ETHER_ADDR_LEN);
	info->state = (enum lb_neigh_state)e->state;
	info->queued = e->qcnt;
	info->expires = e->state == LB_NEIGH_PERMANENT ? 0 : e->next;
}

static void
event(struct lb_neigh *n, const struct entry *e, const uint8_t *old_mac)
{
	struct lb_neigh_info info;

	if (n->ops.event == NULL)
		return;
	info_of(e, &info);
	n->ops.event(n->ops.ctx, &info, old_mac);
}

void
lb_neigh_input(struct lb_neigh *n, uint8_t port, uint32_t ip,
	const uint8_t mac[LB_ETHER_ADDR_LEN], bool create, uint64_t now)
{
	static const uint8_t zero[LB_ETHER_ADDR_LEN];
	struct entry *e;

	/* A sender of 0 is an address probe; a group or zero MAC is bogus. */
	if (ip == 0 || (mac[0] & 1) != 0 || memcmp(mac, zero, LB_ETHER_ADDR_LEN) == 0)
		return;
	e = find(n, port, ip);
	if (e == NULL) {
		if (!create || n->n_dynamic >= n->p.max_entries || reserve(n, n->n + 1) < 0)
			return;
		e = add(n, port, ip, LB_NEIGH_REACHABLE);
		memcpy(e->mac, mac, LB_ETHER_ADDR_LEN);
		e->next = now + n->p.reachable_ms;
		n->c.replies++;
		n->version++;
		event(n, e, NULL);
		return;
	}
	if (e->state == LB_NEIGH_PERMANENT)
		return;
	{
		uint8_t old[LB_ETHER_ADDR_LEN];
		bool was_usable = usable(e);
		bool moved = was_usable && memcmp(e->mac, mac, LB_ETHER_ADDR_LEN) != 0;

		memcpy(old, e->mac, LB_ETHER_ADDR_LEN);
		if (!was_usable || moved)
			n->version++;
		memcpy(e->mac, mac, LB_ETHER_ADDR_LEN);
		e->state = LB_NEIGH_REACHABLE;
		e->probes = 0;
		e->next = now + n->p.reachable_ms;
		n->c.replies++;
		if (!was_usable || moved)
			event(n, e, moved ? old : NULL);
	}
	if (e->q != NULL)
		release(n, e);
}

/* INCOMPLETE or PROBE timer: ask again or give up. */
static void
retry_or_fail(struct lb_neigh *n, struct entry *e, uint64_t now)
{
	if (e->probes < n->p.retries) {
		e->probes++;
		e->next = now + n->p.retry_ms;
		n->ops.send_request(n->ops.ctx, e->port, e->ip);
		n->c.requests++;
		return;
	}
	e->state = LB_NEIGH_FAILED;
	e->probes = 0;
	e->next = now + n->p.failed_hold_ms;
	/* A stale MAC must not leak into the table as if it meant something. */
	memset(e->mac, 0, LB_ETHER_ADDR_LEN);
	n->c.resolutions_failed++;
	n->version++;
	event(n, e, NULL);
	drop_queue(n, e, true);
}

void
lb_neigh_run(struct lb_neigh *n, uint64_t now)
{
	struct entry *e;
	uint32_t i;

	/* Backwards, because del() moves the last entry into the hole. */
	for (i = n->n; i-- > 0;) {
		e = &n->ents[i];
		if (e->state == LB_NEIGH_PERMANENT || now < e->next)
			continue;
		switch (e->state) {
		case LB_NEIGH_INCOMPLETE:
		case LB_NEIGH_PROBE:
			retry_or_fail(n, e, now);
			break;
		case LB_NEIGH_REACHABLE:
			/* Keep using the MAC while we ask whether it still holds. */
			e->state = LB_NEIGH_PROBE;
			e->probes = 1;
			e->next = now + n->p.retry_ms;
			n->ops.send_request(n->ops.ctx, e->port, e->ip);
			n->c.requests++;
			break;
		case LB_NEIGH_FAILED:
			del(n, e);
			n->version++;
			break;
		default:
			break;
		}
	}
}

uint64_t
lb_neigh_version(const struct lb_neigh *n)
{
	return n->version;
}

const struct lb_neigh_counters *
lb_neigh_counters(const struct lb_neigh *n)
{
	return &n->c;
}

uint32_t
lb_neigh_count(const struct lb_neigh *n)
{
	return n->n;
}

void
lb_neigh_foreach(const struct lb_neigh *n, void (*fn)(void *ctx, const struct lb_neigh_info *i),
	void *ctx)
{
	struct lb_neigh_info info;
	const struct entry *e;
	uint32_t i;

	for (i = 0; i < n->n; i++) {
		e = &n->ents[i];
		info_of(e, &info);
		fn(ctx, &info);
	}
}

const char *
lb_neigh_state_str(enum lb_neigh_state s)
{
	switch (s) {
	case LB_NEIGH_INCOMPLETE:
		return "incomplete";
	case LB_NEIGH_REACHABLE:
		return "reachable";
	case LB_NEIGH_PROBE:
		return "probe";
	case LB_NEIGH_FAILED:
		return "failed";
	case LB_NEIGH_PERMANENT:
		return "permanent";
	}
	return "?";
}

/* --- table --- */

static int
slot_cmp(const void *a, const void *b)
{
	const struct lb_neigh_slot *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return (int)x->port - (int)y->port;
}

struct lb_neigh_table *
lb_neigh_table_build(const struct lb_neigh *n)
{
	struct lb_neigh_slot *tmp;
	struct lb_neigh_table *t;
	uint32_t i, m = 0, slots = TABLE_MIN_SLOTS, h;

	if (n->n > (1U << 30))
		return NULL;
	tmp = malloc(sizeof(*tmp) * (n->n ? n->n : 1));
	if (tmp == NULL)
		return NULL;
	for (i = 0; i < n->n; i++) {
		const struct entry *e = &n->ents[i];

		if (e->state == LB_NEIGH_INCOMPLETE && !e->pending)
			continue;
		memset(&tmp[m], 0, sizeof(tmp[m]));
		tmp[m].ip = e->ip;
		tmp[m].port = e->port;
		tmp[m].usable = usable(e) ? LB_NEIGH_SLOT_USABLE :
			e->state == LB_NEIGH_INCOMPLETE ? LB_NEIGH_SLOT_PENDING : LB_NEIGH_SLOT_DOWN;
		if (tmp[m].usable == LB_NEIGH_SLOT_USABLE)
			memcpy(tmp[m].mac, e->mac, LB_ETHER_ADDR_LEN);
		m++;
	}
	while (slots < 2 * (uint64_t)m)
		slots *= 2;
	t = calloc(1, sizeof(*t) + sizeof(t->slots[0]) * slots);
	if (t == NULL) {
		free(tmp);
		return NULL;
	}
	t->mask = slots - 1;
	t->count = m;
	/* Sorted insertion makes the layout a function of the set alone. */
	qsort(tmp, m, sizeof(*tmp), slot_cmp);
	for (i = 0; i < m; i++) {
		h = lb_neigh_slot_hash(tmp[i].ip) & t->mask;
		while (t->slots[h].ip != 0)
			h = (h + 1) & t->mask;
		t->slots[h] = tmp[i];
	}
	free(tmp);
	return t;
}

void
lb_neigh_table_free(struct lb_neigh_table *t)
{
	free(t);
}
