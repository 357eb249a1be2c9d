/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "lb_flow.h"

/* cls of a slot on the free list; walk skips it. */
#define CLS_FREE	0xff

/*
 * The table header sits at the start of the caller's memory, followed by the
 * flows (64-byte aligned, as the header is padded to a cache line) and then the
 * bucket heads. Pointers into that memory are kept here because the table
 * never moves once initialised.
 */
struct lb_flow_table {
	struct lb_flow *flows;
	uint32_t *buckets;
	uint32_t mask;		/* bucket count - 1 */
	uint32_t capacity;
	uint32_t count;
	uint32_t free_head;	/* freed slots, chained through lnext */
	uint32_t fresh;		/* slots [fresh, capacity) were never used: init does not touch them */
	uint32_t sweep_first;	/* class lb_flow_expire starts with, rotating */
	uint64_t k0, k1, k2;	/* hash keys derived from the seed */
	uint32_t head[LB_FLOW_NCLASS];	/* least recently used */
	uint32_t tail[LB_FLOW_NCLASS];	/* most recently used */
	uint32_t ccount[LB_FLOW_NCLASS];
	struct lb_flow_stats stats;
} LB_CACHE_ALIGNED;

/* Eviction order: embryonic and cheap-to-lose flows first (see lb_flow.h). */
static const uint8_t evict_order[LB_FLOW_NCLASS] = {
	LB_FLOW_SYN, LB_FLOW_OTHER, LB_FLOW_UDP, LB_FLOW_FIN, LB_FLOW_EST,
};

static inline size_t
header_size(void)
{
	return (sizeof(struct lb_flow_table) + LB_CACHE_LINE - 1) & ~(size_t)(LB_CACHE_LINE - 1);
}

/* At least two buckets per flow keeps chains at about one node at full load
 * (two nodes per flow). */
static uint32_t
bucket_count(uint32_t capacity)
{
	uint32_t n = 1;

	while (n < 2 * capacity)
		n <<= 1;
	return n;
}

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 64x64->128 multiply folded to 64 bits. */
static inline uint64_t
mum(uint64_t a, uint64_t b)
{
	__uint128_t m = (__uint128_t)a * b;

	return (uint64_t)m ^ (uint64_t)(m >> 64);
}

/*
 * Keyed hash of the 16-byte key: two folded multiplies, a few cycles. Without
 * the secret keys an attacker cannot aim packets at one bucket; it is not a
 * cryptographic MAC, which a per-packet bucket hash does not need.
 */
static inline uint32_t
key_hash(const struct lb_flow_table *t, const struct lb_flow_key *k)
{
	uint64_t a, b, h;

	memcpy(&a, k, 8);
	memcpy(&b, (const uint8_t *)k + 8, 8);
	h = mum(a ^ t->k0, b ^ t->k1);
	h = mum(h ^ t->k2, 0x9e3779b97f4a7c15ULL);
	return (uint32_t)(h ^ (h >> 32));
}

static inline bool
key_eq(const struct lb_flow_key *x, const struct lb_flow_key *y)
{
	uint64_t x0, x1, y0, y1;

	memcpy(&x0, x, 8);
	memcpy(&x1, (const uint8_t *)x + 8, 8);
	memcpy(&y0, y, 8);
	memcpy(&y1, (const uint8_t *)y + 8, 8);
	return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

/* Expired when now has reached expire, modulo 2^32 (see lb_flow.h). */
static inline bool
is_expired(uint32_t expire, uint32_t now)
{
	return (int32_t)(now - expire) >= 0;
}

static inline uint32_t
flow_index(const struct lb_flow_table *t, const struct lb_flow *f)
{
	return (uint32_t)(f - t->flows);
}

static void
hash_add(struct lb_flow_table *t, uint32_t idx, int dir)
{
	struct lb_flow *f = &t->flows[idx];
	uint32_t b = key_hash(t, &f->key[dir]) & t->mask;

	f->hnext[dir] = t->buckets[b];
	t->buckets[b] = idx << 1 | (uint32_t)dir;
}

/* Chains are singly linked, so unlinking walks the bucket; chains are short. */
static void
hash_del(struct lb_flow_table *t, uint32_t idx, int dir)
{
	struct lb_flow *f = &t->flows[idx];
	uint32_t node = idx << 1 | (uint32_t)dir;
	uint32_t *pp = &t->buckets[key_hash(t, &f->key[dir]) & t->mask];

	while (*pp != node && *pp != LB_FLOW_NIL)
		pp = &t->flows[*pp >> 1].hnext[*pp & 1];
	if (*pp == node)
		*pp = f->hnext[dir];
}

static void
list_append(struct lb_flow_table *t, uint32_t idx, uint8_t cls)
{
	struct lb_flow *f = &t->flows[idx];
	uint32_t tail = t->tail[cls];

	f->cls = cls;
	f->lnext = LB_FLOW_NIL;
	f->lprev = tail;
	if (tail == LB_FLOW_NIL)
		t->head[cls] = idx;
	else
		t->flows[tail].lnext = idx;
	t->tail[cls] = idx;
	t->ccount[cls]++;
}

static void
list_unlink(struct lb_flow_table *t, uint32_t idx)
{
	struct lb_flow *f = &t->flows[idx];
	uint8_t cls = f->cls;

	if (f->lprev == LB_FLOW_NIL)
		t->head[cls] = f->lnext;
	else
		t->flows[f->lprev].lnext = f->lnext;
	if (f->lnext == LB_FLOW_NIL)
		t->tail[cls] = f->lprev;
	else
		t->flows[f->lnext].lprev = f->lprev;
	t->ccount[cls]--;
}

/* Takes a live flow out of the indexes and its list; the slot is then the
 * caller's (to reuse at once, or to put on the free list). */
static void
flow_detach(struct lb_flow_table *t, uint32_t idx)
{
	struct lb_flow *f = &t->flows[idx];

	hash_del(t, idx, LB_FLOW_FWD);
	if (!(f->flags & LB_FLOW_F_FWD_ONLY))
		hash_del(t, idx, LB_FLOW_REV);
	list_unlink(t, idx);
	t->count--;
}

static void
flow_free(struct lb_flow_table *t, uint32_t idx)
{
	struct lb_flow *f = &t->flows[idx];

	flow_detach(t, idx);
	f->cls = CLS_FREE;
	f->lprev = LB_FLOW_NIL;
	f->lnext = t->free_head;
	t->free_head = idx;
}

size_t
lb_flow_table_memsize(uint32_t capacity)
{
	uint64_t sz;

	if (capacity == 0 || capacity > LB_FLOW_MAX_CAPACITY)
		return 0;
	sz = (uint64_t)header_size() + (uint64_t)capacity * sizeof(struct lb_flow) +
		(uint64_t)bucket_count(capacity) * sizeof(uint32_t);
	if (sz > SIZE_MAX)
		return 0;
	return (size_t)sz;
}

struct lb_flow_table *
lb_flow_table_init(void *mem, uint32_t capacity, uint64_t seed)
{
	struct lb_flow_table *t = mem;
	uint32_t nb, c;

	if (mem == NULL || ((uintptr_t)mem & (LB_CACHE_LINE - 1)) != 0 ||
	    lb_flow_table_memsize(capacity) == 0)
		return NULL;
	nb = bucket_count(capacity);
	memset(t, 0, sizeof(*t));
	t->flows = (struct lb_flow *)((uint8_t *)mem + header_size());
	t->buckets = (uint32_t *)(t->flows + capacity);
	t->mask = nb - 1;
	t->capacity = capacity;
	t->free_head = LB_FLOW_NIL;
	t->k0 = splitmix64(&seed);
	t->k1 = splitmix64(&seed);
	t->k2 = splitmix64(&seed);
	for (c = 0; c < LB_FLOW_NCLASS; c++) {
		t->head[c] = LB_FLOW_NIL;
		t->tail[c] = LB_FLOW_NIL;
	}
	memset(t->buckets, 0xff, (size_t)nb * sizeof(uint32_t));
	return t;
}

uint32_t
lb_flow_hash(const struct lb_flow_table *t, const struct lb_flow_key *k)
{
	return key_hash(t, k);
}

void
lb_flow_prefetch_bucket(const struct lb_flow_table *t, uint32_t hash)
{
	__builtin_prefetch(&t->buckets[hash & t->mask]);
}

void
lb_flow_prefetch_flow(const struct lb_flow_table *t, uint32_t hash)
{
	uint32_t node = t->buckets[hash & t->mask];

	if (node != LB_FLOW_NIL)
		__builtin_prefetch(&t->flows[node >> 1]);
}

struct lb_flow *
lb_flow_lookup_hash(struct lb_flow_table *t, const struct lb_flow_key *k, uint32_t hash,
	uint64_t now, int *dir)
{
	uint32_t node = t->buckets[hash & t->mask];
	struct lb_flow *f;
	int d;

	while (node != LB_FLOW_NIL) {
		f = &t->flows[node >> 1];
		d = (int)(node & 1);
		if (key_eq(&f->key[d], k)) {
			if (LB_UNLIKELY(is_expired(f->expire, (uint32_t)now))) {
				flow_free(t, node >> 1);
				t->stats.expired++;
				return NULL;
			}
			if (dir != NULL)
				*dir = d;
			return f;
		}
		node = f->hnext[d];
	}
	return NULL;
}

struct lb_flow *
lb_flow_lookup(struct lb_flow_table *t, const struct lb_flow_key *k, uint64_t now, int *dir)
{
	return lb_flow_lookup_hash(t, k, key_hash(t, k), now, dir);
}

struct lb_flow *
lb_flow_insert(struct lb_flow_table *t, const struct lb_flow_key *fwd,
	const struct lb_flow_key *rev, enum lb_flow_class cls, uint8_t flags,
	uint64_t expire, int *evicted_cls)
{
	struct lb_flow *f;
	uint32_t idx;
	unsigned i;
	int victim = -1;

	if ((unsigned)cls >= LB_FLOW_NCLASS || (rev == NULL && !(flags & LB_FLOW_F_FWD_ONLY)))
		return NULL;
	if (t->free_head != LB_FLOW_NIL) {
		idx = t->free_head;
		t->free_head = t->flows[idx].lnext;
	} else if (t->fresh < t->capacity) {
		idx = t->fresh++;
	} else {
		/* Full: every slot is live, so some class list is non-empty. */
		for (i = 0; i < LB_FLOW_NCLASS; i++)
			if (t->head[evict_order[i]] != LB_FLOW_NIL)
				break;
		victim = evict_order[i];
		idx = t->head[victim];
		flow_detach(t, idx);
		t->stats.evicted[victim]++;
	}
	f = &t->flows[idx];
	f->key[LB_FLOW_FWD] = *fwd;
	if (rev != NULL)
		f->key[LB_FLOW_REV] = *rev;
	else
		memset(&f->key[LB_FLOW_REV], 0, sizeof(f->key[LB_FLOW_REV]));
	f->expire = (uint32_t)expire;
	f->flags = flags;
	f->state = 0;
	f->port = 0;
	memset(f->peer_mac, 0, sizeof(f->peer_mac));
	f->fe = 0;
	f->hnext[LB_FLOW_REV] = LB_FLOW_NIL;
	hash_add(t, idx, LB_FLOW_FWD);
	if (!(flags & LB_FLOW_F_FWD_ONLY))
		hash_add(t, idx, LB_FLOW_REV);
	list_append(t, idx, (uint8_t)cls);
	t->count++;
	t->stats.inserted++;
	if (evicted_cls != NULL)
		*evicted_cls = victim;
	return f;
}

void
lb_flow_touch(struct lb_flow_table *t, struct lb_flow *f, enum lb_flow_class cls,
	uint64_t expire)
{
	uint32_t idx = flow_index(t, f);

	if ((unsigned)cls >= LB_FLOW_NCLASS)
		return;
	f->expire = (uint32_t)expire;
	/* Already the most recent of its class: nothing to move. Common for a
	 * busy connection, and it saves touching the neighbours' lines. */
	if (f->cls == cls && t->tail[cls] == idx)
		return;
	list_unlink(t, idx);
	list_append(t, idx, (uint8_t)cls);
}

void
lb_flow_remove(struct lb_flow_table *t, struct lb_flow *f)
{
	uint32_t idx = flow_index(t, f);

	if (idx >= t->fresh || f->cls == CLS_FREE)
		return;
	flow_free(t, idx);
	t->stats.removed++;
}

uint32_t
lb_flow_expire(struct lb_flow_table *t, uint64_t now, uint32_t budget)
{
	uint32_t n = 0, now32 = (uint32_t)now, idx;
	unsigned i, cls;

	for (i = 0; i < LB_FLOW_NCLASS && n < budget; i++) {
		cls = (t->sweep_first + i) % LB_FLOW_NCLASS;
		while (n < budget) {
			idx = t->head[cls];
			if (idx == LB_FLOW_NIL || !is_expired(t->flows[idx].expire, now32))
				break;
			flow_free(t, idx);
			n++;
		}
	}
	t->sweep_first = (t->sweep_first + 1) % LB_FLOW_NCLASS;
	t->stats.expired += n;
	return n;
}

uint32_t
lb_flow_count(const struct lb_flow_table *t)
{
	return t->count;
}

uint32_t
lb_flow_capacity(const struct lb_flow_table *t)
{
	return t->capacity;
}

uint32_t
lb_flow_class_count(const struct lb_flow_table *t, enum lb_flow_class cls)
{
	if ((unsigned)cls >= LB_FLOW_NCLASS)
		return 0;
	return t->ccount[cls];
}

const struct lb_flow_stats *
lb_flow_stats(const struct lb_flow_table *t)
{
	return &t->stats;
}

uint32_t
lb_flow_walk(struct lb_flow_table *t, uint32_t *cursor, uint32_t max,
	void (*fn)(void *ctx, const struct lb_flow *f), void *ctx)
{
	uint32_t i = *cursor, n = 0;
	uint64_t scan = (uint64_t)max * LB_FLOW_WALK_SCAN;

	if (i == LB_FLOW_NIL)
		return 0;
	/* Slots at or past fresh were never used. */
	while (i < t->fresh && n < max && scan > 0) {
		if (t->flows[i].cls != CLS_FREE) {
			fn(ctx, &t->flows[i]);
			n++;
		}
		i++;
		scan--;
	}
	*cursor = i >= t->fresh ? LB_FLOW_NIL : i;
	return n;
}
