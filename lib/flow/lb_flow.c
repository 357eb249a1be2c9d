/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "lb_flow_priv.h"

/* Eviction order: embryonic and cheap-to-lose flows first (see lb_flow.h). */
static const uint8_t evict_order[LB_FLOW_NCLASS] = {
	LB_FLOW_SYN, LB_FLOW_OTHER, LB_FLOW_UDP, LB_FLOW_FIN, LB_FLOW_EST,
};

static inline size_t
align64(size_t n)
{
	return (n + LB_CACHE_LINE - 1) & ~(size_t)(LB_CACHE_LINE - 1);
}

/* At most half the bucket slots are ever used (two nodes per flow, eight
 * slots per bucket), which keeps spills into the next bucket rare. */
static uint32_t
bucket_count(uint32_t capacity)
{
	uint32_t n = 1;

	while (n < (capacity + 1) / 2)
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
 * cryptographic MAC, which a per-packet bucket hash does not need. The low
 * bits pick the bucket, the top 16 bits are the signature.
 */
static inline uint64_t
key_hash(const struct lb_flow_table *t, const struct lb_flow_key *k)
{
	uint64_t a, b;

	memcpy(&a, k, 8);
	memcpy(&b, (const uint8_t *)k + 8, 8);
	return mum(mum(a ^ t->k0, b ^ t->k1) ^ t->k2, 0x9e3779b97f4a7c15ULL);
}

static inline uint16_t
sig_of(uint64_t h)
{
	uint16_t s = (uint16_t)(h >> 48);

	return s != 0 ? s : 1;	/* 0 marks an empty slot */
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

/* Bit i set when slot i of b holds signature sig (0: the empty slots). */
static inline uint32_t
sig_match(const struct lb_flow_bucket *b, uint16_t sig)
{
#ifdef __SSE2__
	__m128i v = _mm_load_si128((const __m128i *)(const void *)b->sig);
	__m128i eq = _mm_cmpeq_epi16(v, _mm_set1_epi16((short)sig));

	return (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(eq, _mm_setzero_si128()));
#else
	uint32_t m = 0, i;

	for (i = 0; i < BUCKET_SLOTS; i++)
		m |= (uint32_t)(b->sig[i] == sig) << i;
	return m;
#endif
}

static inline uint32_t
flow_index(const struct lb_flow_table *t, const struct lb_flow *f)
{
	return (uint32_t)(f - t->flows);
}

/* --- index --- */

static struct lb_flow *
index_find(const struct lb_flow_table *t, const struct lb_flow_key *k, uint64_t h, int *dir)
{
	uint32_t b = (uint32_t)h & t->bmask, m, node;
	uint16_t sig = sig_of(h);
	const struct lb_flow_bucket *bk;
	struct lb_flow *f;

	for (;;) {
		bk = &t->buckets[b];
		m = sig_match(bk, sig);
		while (m != 0) {
			node = bk->node[__builtin_ctz(m)];
			m &= m - 1;
			f = &t->flows[node >> 1];
			if (LB_LIKELY(key_eq(&f->key[node & 1], k))) {
				*dir = (int)(node & 1);
				return f;
			}
		}
		if (LB_LIKELY(bk->overflow == 0))
			return NULL;
		b = (b + 1) & t->bmask;
	}
}

static void
index_add(struct lb_flow_table *t, uint32_t node, uint64_t h)
{
	uint32_t b = (uint32_t)h & t->bmask, m;
	struct lb_flow_bucket *bk;

	/* Terminates: at most half the slots of the table are in use. */
	for (;;) {
		bk = &t->buckets[b];
		m = sig_match(bk, 0);
		if (LB_LIKELY(m != 0)) {
			unsigned i = (unsigned)__builtin_ctz(m);

			bk->sig[i] = sig_of(h);
			bk->node[i] = node;
			return;
		}
		bk->overflow++;
		b = (b + 1) & t->bmask;
	}
}

static void
index_del(struct lb_flow_table *t, uint32_t node, uint64_t h)
{
	uint32_t home = (uint32_t)h & t->bmask, b = home, m, passed = 0;
	uint16_t sig = sig_of(h);
	struct lb_flow_bucket *bk;

	for (;;) {
		bk = &t->buckets[b];
		m = sig_match(bk, sig);
		while (m != 0) {
			unsigned i = (unsigned)__builtin_ctz(m);

			m &= m - 1;
			if (bk->node[i] != node)
				continue;
			bk->sig[i] = 0;
			for (b = home; passed > 0; passed--, b = (b + 1) & t->bmask)
				t->buckets[b].overflow--;
			return;
		}
		if (bk->overflow == 0)
			return;		/* not indexed: cannot happen for a live flow */
		passed++;
		b = (b + 1) & t->bmask;
	}
}

/* --- flow slots --- */

void
lb_flow_release(struct lb_flow_table *t, uint32_t idx)
{
	struct lb_flow *f = &t->flows[idx];

	if (t->on_release != NULL)
		t->on_release(t->release_ctx, f);
	index_del(t, idx << 1 | LB_FLOW_FWD, key_hash(t, &f->key[LB_FLOW_FWD]));
	if (!(f->flags & LB_FLOW_F_FWD_ONLY))
		index_del(t, idx << 1 | LB_FLOW_REV, key_hash(t, &f->key[LB_FLOW_REV]));
	t->ccount[f->cls]--;
	t->count--;
	f->cls = CLS_FREE;
	f->tprev = LB_FLOW_NIL;
	f->tnext = t->free_head;
	t->free_head = idx;
}

static void
flow_free(struct lb_flow_table *t, uint32_t idx)
{
	lb_flow_timer_unlink(t, idx);
	lb_flow_release(t, idx);
}

void
lb_flow_set_release_hook(struct lb_flow_table *t, void (*fn)(void *ctx, const struct lb_flow *f),
	void *ctx)
{
	t->on_release = fn;
	t->release_ctx = ctx;
}

size_t
lb_flow_table_memsize(uint32_t capacity)
{
	uint64_t sz;

	if (capacity == 0 || capacity > LB_FLOW_MAX_CAPACITY)
		return 0;
	sz = (uint64_t)align64(sizeof(struct lb_flow_table)) +
		(uint64_t)capacity * sizeof(struct lb_flow) +
		(uint64_t)bucket_count(capacity) * sizeof(struct lb_flow_bucket);
	if (sz > SIZE_MAX)
		return 0;
	return (size_t)sz;
}

struct lb_flow_table *
lb_flow_table_init(void *mem, uint32_t capacity, uint64_t seed)
{
	struct lb_flow_table *t = mem;
	uint32_t nb, c, l, s;

	if (mem == NULL || ((uintptr_t)mem & (LB_CACHE_LINE - 1)) != 0 ||
	    lb_flow_table_memsize(capacity) == 0)
		return NULL;
	nb = bucket_count(capacity);
	memset(t, 0, sizeof(*t));
	t->flows = (struct lb_flow *)((uint8_t *)mem + align64(sizeof(*t)));
	t->buckets = (struct lb_flow_bucket *)(t->flows + capacity);
	t->bmask = nb - 1;
	t->capacity = capacity;
	t->free_head = LB_FLOW_NIL;
	t->k0 = splitmix64(&seed);
	t->k1 = splitmix64(&seed);
	t->k2 = splitmix64(&seed);
	for (c = 0; c < LB_FLOW_NCLASS; c++)
		for (l = 0; l < WHEEL_LEVELS; l++)
			for (s = 0; s < WHEEL_SLOTS; s++)
				t->wheel[c][l][s].head = t->wheel[c][l][s].tail = LB_FLOW_NIL;
	memset(t->buckets, 0, (size_t)nb * sizeof(struct lb_flow_bucket));
	return t;
}

uint64_t
lb_flow_hash(const struct lb_flow_table *t, const struct lb_flow_key *k)
{
	return key_hash(t, k);
}

void
lb_flow_prefetch_bucket(const struct lb_flow_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->buckets[(uint32_t)hash & t->bmask]);
}

void
lb_flow_prefetch_flow(const struct lb_flow_table *t, uint64_t hash)
{
	const struct lb_flow_bucket *bk = &t->buckets[(uint32_t)hash & t->bmask];
	uint32_t m = sig_match(bk, sig_of(hash));

	/* Almost always one candidate; a second one is a signature collision. */
	if (m != 0)
		__builtin_prefetch(&t->flows[bk->node[__builtin_ctz(m)] >> 1]);
}

struct lb_flow *
lb_flow_lookup_hash(struct lb_flow_table *t, const struct lb_flow_key *k, uint64_t hash,
	uint64_t now, int *dir)
{
	struct lb_flow *f;
	int d;

	f = index_find(t, k, hash, &d);
	if (f == NULL)
		return NULL;
	if (LB_UNLIKELY(lb_flow_is_expired(f->expire, (uint32_t)now))) {
		flow_free(t, flow_index(t, f));
		t->stats.expired++;
		return NULL;
	}
	if (dir != NULL)
		*dir = d;
	return f;
}

struct lb_flow *
lb_flow_lookup(struct lb_flow_table *t, const struct lb_flow_key *k, uint64_t now, int *dir)
{
	return lb_flow_lookup_hash(t, k, key_hash(t, k), now, dir);
}

/* A slot for a new flow when every slot is taken: an expired flow's, or a
 * live one of an allowed class. */
static uint32_t
make_room(struct lb_flow_table *t, uint32_t now, uint32_t evict, int *victim)
{
	uint32_t idx;
	unsigned i;
	uint8_t c;

	if (lb_flow_timer_advance(t, now, UINT32_MAX, UINT32_MAX, true) > 0) {
		idx = t->free_head;
		t->free_head = t->flows[idx].tnext;
		return idx;
	}
	for (i = 0; i < LB_FLOW_NCLASS; i++) {
		c = evict_order[i];
		if (!(evict & LB_FLOW_EVICT(c)) || t->ccount[c] == 0)
			continue;
		idx = lb_flow_timer_victim(t, c);
		if (idx == LB_FLOW_NIL)
			continue;
		flow_free(t, idx);
		t->free_head = t->flows[idx].tnext;
		t->stats.evicted[c]++;
		*victim = c;
		return idx;
	}
	return LB_FLOW_NIL;
}

struct lb_flow *
lb_flow_insert(struct lb_flow_table *t, const struct lb_flow_key *fwd,
	const struct lb_flow_key *rev, enum lb_flow_class cls, uint8_t flags, uint64_t now,
	uint64_t expire, uint32_t evict, int *evicted_cls)
{
	struct lb_flow *f;
	uint32_t idx;
	int victim = -1;

	if (evicted_cls != NULL)
		*evicted_cls = -1;
	if ((unsigned)cls >= LB_FLOW_NCLASS || (rev == NULL && !(flags & LB_FLOW_F_FWD_ONLY)))
		return NULL;
	lb_flow_timer_start(t, (uint32_t)now);
	if (t->free_head != LB_FLOW_NIL) {
		idx = t->free_head;
		t->free_head = t->flows[idx].tnext;
	} else if (t->fresh < t->capacity) {
		idx = t->fresh++;
	} else {
		idx = make_room(t, (uint32_t)now, evict, &victim);
		if (idx == LB_FLOW_NIL) {
			t->stats.refused++;
			return NULL;
		}
	}
	f = &t->flows[idx];
	f->key[LB_FLOW_FWD] = *fwd;
	if (rev != NULL)
		f->key[LB_FLOW_REV] = *rev;
	else
		memset(&f->key[LB_FLOW_REV], 0, sizeof(f->key[LB_FLOW_REV]));
	f->expire = (uint32_t)expire;
	f->cls = (uint8_t)cls;
	f->flags = flags & ~LB_FLOW_F_TABLE;
	f->state = 0;
	f->port = 0;
	memset(f->peer_mac, 0, sizeof(f->peer_mac));
	f->fe = 0;
	f->user = 0;
	index_add(t, idx << 1 | LB_FLOW_FWD, key_hash(t, fwd));
	if (!(flags & LB_FLOW_F_FWD_ONLY))
		index_add(t, idx << 1 | LB_FLOW_REV, key_hash(t, rev));
	lb_flow_timer_place(t, idx, t->cursor + 1);
	t->ccount[cls]++;
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
	/* The common case, a refresh: the flow stays where it is and the sweep
	 * moves it when it reaches its old slot (lazy refresh). */
	if (LB_LIKELY(f->cls == cls && (int32_t)(f->expire - f->due) >= 0))
		return;
	lb_flow_timer_unlink(t, idx);
	t->ccount[f->cls]--;
	t->ccount[cls]++;
	f->cls = (uint8_t)cls;
	lb_flow_timer_place(t, idx, t->cursor + 1);
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
	uint64_t work = ((uint64_t)budget + 1) * LB_FLOW_SWEEP_WORK;

	if (budget == 0)
		return 0;
	lb_flow_timer_start(t, (uint32_t)now);
	return lb_flow_timer_advance(t, (uint32_t)now, budget,
		work > UINT32_MAX ? UINT32_MAX : (uint32_t)work, false);
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
