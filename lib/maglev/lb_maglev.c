/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb_hash.h"
#include "lb_maglev.h"

/*
 * The LB_MAGLEV_*_SEED constants are part of the contract between lbd
 * instances (ARCHITECTURE.md invariant 2): changing one moves every
 * connection of every frontend, so they never change.
 */

/* Per-target build state, one per target, in identity order. */
struct tstate {
	uint64_t id;
	uint64_t rem;		/* m * weight mod W, for largest-remainder rounding */
	uint32_t idx;		/* index into the caller's array */
	uint32_t weight;
	uint32_t pos;		/* slot of this target's permutation tried last */
	uint32_t skip;
	uint32_t quota;		/* slots this target ends up with */
	uint32_t off;		/* first slot of the permutation */
	uint32_t rank;		/* dense phase: rank of pos in the permutation */
	uint64_t *ranks;	/* dense phase: bitmap of ranks of free slots, or NULL */
};

/*
 * Filling. Maglev's population walks each target's permutation over the
 * slots until it meets a free one; the walks get long as the table fills (a
 * total of about m ln m probes, most of them in the last few percent). Once
 * at most DENSE_FREE(m, live) slots are free, the dense phase turns each
 * such target's permutation around: a bitmap indexed by rank (position in
 * the permutation) marks the free slots, and the next free slot is the next
 * set bit, found 64 ranks at a time. Both phases pick exactly the slot the plain walk would: every slot
 * a target walked past is taken, so its next free slot is the free slot of
 * lowest rank above its current one.
 */
/* Building the rank bitmaps costs (targets x free slots) multiplications,
 * so the fewer targets are left, the earlier it pays (measured at m = 65537:
 * 100 targets 1.56 -> 1.10 ms, 20 targets 1.02 -> 0.97 ms). */
#define DENSE_FREE(m, live)	((m) / (4 * (live)))
#define DENSE_MAX_BYTES		(4u << 20)	/* rank bitmaps, all targets */

struct fill {
	uint32_t *table;
	uint64_t *taken;	/* bitmap of taken slots */
	uint32_t m;
	uint32_t free;		/* slots not taken yet */
	uint32_t words;		/* 64-bit words per bitmap */
	uint64_t mu;		/* floor(2^64 / m), for Barrett reduction */
	uint64_t *dense_mem;	/* room for rank bitmaps, NULL: no dense phase */
	uint32_t dense_cap;	/* targets it has room for */
	bool dense;
};

/* One entry of the turn heap (see turn_before). */
struct turn {
	uint32_t count;		/* slots taken so far */
	uint32_t weight;
	uint32_t quota;
	uint32_t t;		/* position in identity order */
};

uint64_t
lb_maglev_target_id(uint32_t addr, uint16_t port)
{
	uint8_t b[6];

	/* addr and port are network order already: their memory bytes are the
	 * wire bytes on every host, so the identity is host independent. */
	memcpy(b, &addr, 4);
	memcpy(b + 4, &port, 2);
	return lb_hash64(b, sizeof(b), LB_MAGLEV_ID_SEED);
}

bool
lb_maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 4)
		return n >= 2;
	if (n % 2 == 0 || n % 3 == 0)
		return false;
	/* Trial division by 6k +- 1; d <= 65536 so d * d cannot overflow 64 bits. */
	for (d = 5; (uint64_t)d * d <= n; d += 6)
		if (n % d == 0 || n % (d + 2) == 0)
			return false;
	return true;
}

static size_t
align8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* Rank bitmaps for the dense phase: one per target, if they fit. */
static size_t
dense_bytes(uint32_t n, uint32_t m)
{
	size_t one = ((size_t)m + 63) / 64 * sizeof(uint64_t);

	return (size_t)n * one <= DENSE_MAX_BYTES ? (size_t)n * one : 0;
}

size_t
lb_maglev_scratch_size(uint32_t n, uint32_t m)
{
	/* and a bitmap of taken slots: probing it stays in L1 (8 KiB at
	 * m = 65537) where the table itself (256 KiB) would not */
	return (size_t)n * sizeof(struct tstate) + align8((size_t)n * sizeof(uint32_t)) +
		(size_t)n * sizeof(struct turn) + ((size_t)m + 63) / 64 * sizeof(uint64_t) +
		dense_bytes(n, m);
}

/* x mod m for x < 2^56 (Barrett: one multiplication and a correction). */
static inline uint32_t
mod_m(const struct fill *f, uint64_t x)
{
	uint64_t q = (uint64_t)(((unsigned __int128)x * f->mu) >> 64);
	uint64_t r = x - q * f->m;

	return (uint32_t)(r >= f->m ? r - f->m : r);
}

/* The inverse of a modulo the prime m (0 < a < m), by extended Euclid. */
static uint32_t
inv_mod(uint32_t a, uint32_t m)
{
	int64_t t = 0, nt = 1, r = m, nr = a, q, x;

	while (nr != 0) {
		q = r / nr;
		x = t - q * nt;
		t = nt;
		nt = x;
		x = r - q * nr;
		r = nr;
		nr = x;
	}
	return (uint32_t)(t < 0 ? t + m : t);
}

static inline bool
is_taken(const struct fill *f, uint32_t pos)
{
	return f->taken[pos >> 6] & (1ULL << (pos & 63));
}

/*
 * Enters the dense phase: a rank bitmap for every target in live[0..nl) (the
 * ones still owed slots). Costs one modular multiplication per (target,
 * free slot) pair.
 */
static void
go_dense(struct fill *f, struct tstate *s, const uint32_t *live, uint32_t nl)
{
	uint32_t i, w;

	if (f->dense_mem == NULL || nl > f->dense_cap)
		return;
	for (i = 0; i < nl; i++) {
		struct tstate *x = &s[live[i]];
		uint64_t *rb = f->dense_mem + (size_t)i * f->words;
		uint32_t inv = inv_mod(x->skip, f->m);

		memset(rb, 0, (size_t)f->words * sizeof(uint64_t));
		/* rank of slot q: (q - off) / skip mod m; a target that has
		 * taken nothing yet starts before rank 0 */
		if (is_taken(f, x->pos) && f->table[x->pos] == x->idx)
			x->rank = mod_m(f, (uint64_t)(x->pos + f->m - x->off) * inv);
		else
			x->rank = UINT32_MAX;
		for (w = 0; w < f->words; w++) {
			uint64_t freebits = ~f->taken[w];

			while (freebits != 0) {
				uint32_t q = w * 64 + (uint32_t)__builtin_ctzll(freebits);
				uint32_t r;

				freebits &= freebits - 1;
				if (q >= f->m)
					break;
				r = mod_m(f, (uint64_t)(q + f->m - x->off) * inv);
				rb[r >> 6] |= 1ULL << (r & 63);
			}
		}
		x->ranks = rb;
	}
	f->dense = true;
}

/* Dense phase: the free slot of lowest rank above x->rank. */
static inline uint32_t
next_dense(const struct fill *f, struct tstate *x)
{
	uint64_t *rb = x->ranks;
	uint32_t r = x->rank + 1, w = r >> 6;
	uint64_t bits = w < f->words ? rb[w] & (~0ULL << (r & 63)) : 0;

	for (;;) {
		while (bits == 0)
			bits = rb[++w];	/* a free slot exists, so w stays in range */
		r = w * 64 + (uint32_t)__builtin_ctzll(bits);
		bits &= bits - 1;
		rb[w] = bits | (rb[w] & ~(~0ULL << (r & 63)));	/* clear r */
		{
			uint32_t pos = mod_m(f, (uint64_t)x->off + (uint64_t)r * x->skip);

			if (!is_taken(f, pos)) {
				x->rank = r;
				return pos;
			}
		}
	}
}

/*
 * In-place heapsort of v[0..n) under less(): no allocation (glibc's qsort may
 * malloc) and a worst case of O(n log n). The orders used here are total, so
 * the result does not depend on the algorithm's instability.
 */
typedef bool (*less_fn)(uint32_t a, uint32_t b, const void *ctx);

static void
sift_down(uint32_t *v, uint32_t root, uint32_t n, less_fn less, const void *ctx)
{
	uint32_t child, tmp;

	for (;;) {
		child = 2 * root + 1;
		if (child >= n || child < root)
			return;
		if (child + 1 < n && less(v[child], v[child + 1], ctx))
			child++;
		if (!less(v[root], v[child], ctx))
			return;
		tmp = v[root];
		v[root] = v[child];
		v[child] = tmp;
		root = child;
	}
}

static void
heap_sort(uint32_t *v, uint32_t n, less_fn less, const void *ctx)
{
	uint32_t i, tmp;

	if (n < 2)
		return;
	for (i = n / 2; i-- > 0;)
		sift_down(v, i, n, less, ctx);
	for (i = n - 1; i > 0; i--) {
		tmp = v[0];
		v[0] = v[i];
		v[i] = tmp;
		sift_down(v, 0, i, less, ctx);
	}
}

static bool
id_less(uint32_t a, uint32_t b, const void *ctx)
{
	const struct lb_maglev_target *t = ctx;

	/* Caller index breaks ties only to keep the order total; equal ids are
	 * rejected right after sorting anyway. */
	return t[a].id < t[b].id || (t[a].id == t[b].id && a < b);
}

/* Larger remainder first; identity order among equals. */
static bool
rem_less(uint32_t a, uint32_t b, const void *ctx)
{
	const struct tstate *s = ctx;

	return s[a].rem > s[b].rem || (s[a].rem == s[b].rem && a < b);
}

/*
 * Turn order: target a plays before target b when its next turn comes earlier
 * on a clock where a target of weight w plays at times (k + 1/2) / w, k = 0,
 * 1, ... (stride scheduling). Turns thus interleave in proportion to weight,
 * so every target reaches its quota at about the same point of the fill and no
 * heavy target is left to sweep up the last slots on its own (letting light
 * targets finish early and the heavy ones fill the rest moved up to 7% of the
 * table between surviving targets when one target left). With equal weights
 * this is plain round robin in identity order, i.e. classic Maglev, and
 * fill_equal() does it without the heap.
 *
 * The heap holds the sort keys themselves, not indices into the target state:
 * a sift-down step then costs one load instead of a chain of two.
 */
static inline bool
turn_before(const struct turn *a, const struct turn *b)
{
	/* Products stay below 2^25 * 2^32. */
	uint64_t ka = (2 * (uint64_t)a->count + 1) * b->weight;
	uint64_t kb = (2 * (uint64_t)b->count + 1) * a->weight;

	/* Bitwise, not short-circuit: siblings in the heap are in a coin-toss
	 * order, and a branch here mispredicted about every other step. */
	return (ka < kb) | ((ka == kb) & (a->t < b->t));
}

/* Moves h[root] down to its place in the heap h[0..n). */
static void
turn_sift_down(struct turn *h, uint32_t root, uint32_t n)
{
	struct turn x = h[root];
	uint32_t child;

	for (;;) {
		child = 2 * root + 1;
		if (child >= n)
			break;
		if (child + 1 < n)
			child += turn_before(&h[child + 1], &h[child]);
		if (!turn_before(&h[child], &x))
			break;
		h[root] = h[child];
		root = child;
	}
	h[root] = x;
}

/*
 * Gives target x the first free slot on its permutation from where it last
 * stopped. A free slot always exists: the quotas still owed add up to the
 * number of free slots, and a step 0 < skip < m with m prime visits every
 * slot. Taken slots are looked up in the bitmap, not the table. Locals keep
 * pos out of memory, which table[] could otherwise alias.
 */
static inline void
take_slot(struct fill *f, struct tstate *x)
{
	uint32_t pos = x->pos, skip = x->skip, m = f->m;

	if (x->ranks != NULL) {
		pos = next_dense(f, x);
	} else {
		/* x->pos is the slot x took last (or the one before its
		 * first): taken, so step first. */
		do {
			pos += skip;
			pos = pos >= m ? pos - m : pos;
		} while (is_taken(f, pos));
	}
	f->taken[pos >> 6] |= 1ULL << (pos & 63);
	f->table[pos] = x->idx;
	x->pos = pos;
	f->free--;
}

/* Turns in stride order (turn_before) until every quota is met. */
/* The dense phase for the targets of h[0..nh), when it is time. */
static void
maybe_dense(struct fill *f, struct tstate *s, const struct turn *h, uint32_t nh, uint32_t *live)
{
	uint32_t i;

	if (f->dense || nh == 0 || f->free > DENSE_FREE(f->m, nh) || nh > f->dense_cap)
		return;
	for (i = 0; i < nh; i++)
		live[i] = h[i].t;
	go_dense(f, s, live, nh);
}

static void
fill_weighted(struct fill *f, struct tstate *s, struct turn *h, uint32_t nh, uint32_t *live)
{
	uint32_t i;

	for (i = nh / 2; i-- > 0;)
		turn_sift_down(h, i, nh);
	while (nh > 0) {
		take_slot(f, &s[h[0].t]);
		if (++h[0].count == h[0].quota)
			h[0] = h[--nh];
		turn_sift_down(h, 0, nh);
		if (!f->dense && nh > 0 && f->free <= DENSE_FREE(f->m, nh))
			maybe_dense(f, s, h, nh, live);
	}
}

/*
 * The same order when all weights are equal: rounds in identity order, a
 * target leaving once its quota is met. It avoids the heap's log n steps per
 * slot, which were about two thirds of a build with 100 targets.
 */
static void
fill_equal(struct fill *f, struct tstate *s, struct turn *h, uint32_t nh, uint32_t *live)
{
	uint32_t i, j;

	while (nh > 0) {
		/* between rounds only, so turn order is untouched */
		if (!f->dense && f->free <= DENSE_FREE(f->m, nh))
			maybe_dense(f, s, h, nh, live);
		for (i = 0, j = 0; i < nh; i++) {
			take_slot(f, &s[h[i].t]);
			/* copy only when a target left the round: a 16-byte load
			 * right after the 4-byte store of count cannot be
			 * forwarded and stalled every slot */
			if (++h[i].count < h[i].quota) {
				if (j != i)
					h[j] = h[i];
				j++;
			}
		}
		nh = j;
	}
}

static void
fill_none(uint32_t *table, uint32_t m)
{
	uint32_t i;

	for (i = 0; i < m; i++)
		table[i] = LB_MAGLEV_NONE;
}

/*
 * Exact slot quotas: m * w / W rounded down, then the slots left over (fewer
 * than the number of weighted targets) go one each to the largest remainders.
 * The quotas sum to m, and each is within 1 of its exact share. Returns the
 * number of targets with a non-zero quota, which are moved to the front of
 * ord[] in identity order.
 */
static uint32_t
set_quotas(struct tstate *s, uint32_t n, uint32_t *ord, uint32_t m, uint64_t wsum)
{
	uint64_t given = 0;
	uint32_t i, nw = 0, left, k;

	for (i = 0; i < n; i++) {
		uint64_t x = (uint64_t)m * s[i].weight;

		s[i].quota = (uint32_t)(x / wsum);
		s[i].rem = x % wsum;
		given += s[i].quota;
		if (s[i].weight > 0)
			ord[nw++] = i;
	}
	left = (uint32_t)(m - given);
	heap_sort(ord, nw, rem_less, s);
	for (k = 0; k < left; k++)
		s[ord[k]].quota++;

	nw = 0;
	for (i = 0; i < n; i++)
		if (s[i].quota > 0)
			ord[nw++] = i;
	return nw;
}

int
lb_maglev_build(uint32_t *table, uint32_t m, const struct lb_maglev_target *t,
	uint32_t n, void *scratch)
{
	struct tstate *s;
	struct turn *heap;
	struct fill f;
	uint32_t *ord;
	uint64_t wsum = 0;
	uint32_t i, nh;
	bool equal;

	if (table == NULL || m < LB_MAGLEV_MIN_SIZE || m > LB_MAGLEV_MAX_SIZE ||
	    !lb_maglev_is_prime(m) || (n > 0 && (t == NULL || scratch == NULL)) ||
	    ((uintptr_t)scratch & 7) != 0)
		return -EINVAL;

	s = scratch;
	ord = (uint32_t *)(s + n);
	heap = (struct turn *)((char *)ord + align8((size_t)n * sizeof(uint32_t)));
	memset(&f, 0, sizeof(f));
	f.table = table;
	f.m = m;
	f.free = m;
	f.words = (m + 63) / 64;
	f.mu = (uint64_t)(((unsigned __int128)1 << 64) / m);
	f.taken = (uint64_t *)(heap + n);
	if (dense_bytes(n, m) > 0) {
		f.dense_mem = f.taken + f.words;
		f.dense_cap = n;
	}

	/* Work in identity order so that the caller's order cannot matter. */
	for (i = 0; i < n; i++)
		ord[i] = i;
	heap_sort(ord, n, id_less, t);
	for (i = 0; i < n; i++) {
		const struct lb_maglev_target *x = &t[ord[i]];

		if (i > 0 && x->id == s[i - 1].id)
			return -EEXIST;
		s[i].id = x->id;
		s[i].idx = ord[i];
		s[i].weight = x->weight;
		wsum += x->weight;
	}

	if (wsum == 0) {
		fill_none(table, m);
		return -ENOENT;
	}
	/* every slot gets a target (the quotas sum to m): no need to clear
	 * the table first, only the bitmap */
	memset(f.taken, 0, (size_t)f.words * sizeof(uint64_t));

	for (i = 0; i < n; i++) {
		uint8_t b[8];
		uint64_t off, skp;
		int k;

		/* The permutation hashes the identity's little-endian bytes, so
		 * it is the same on every host. */
		for (k = 0; k < 8; k++)
			b[k] = (uint8_t)(s[i].id >> (8 * k));
		off = lb_hash64(b, sizeof(b), LB_MAGLEV_OFFSET_SEED);
		skp = lb_hash64(b, sizeof(b), LB_MAGLEV_SKIP_SEED);
		s[i].skip = (uint32_t)(skp % (m - 1)) + 1;
		s[i].off = (uint32_t)(off % m);
		/* one step before the permutation's first slot (take_slot steps
		 * before it looks) */
		s[i].pos = (s[i].off + m - s[i].skip) % m;
		s[i].ranks = NULL;
	}

	nh = set_quotas(s, n, ord, m, wsum);
	equal = true;
	for (i = 0; i < nh; i++) {
		heap[i].count = 0;
		heap[i].weight = s[ord[i]].weight;
		heap[i].quota = s[ord[i]].quota;
		heap[i].t = ord[i];
		equal &= heap[i].weight == heap[0].weight;
	}
	/* ord[] is free again: it lists the live targets for go_dense */
	if (equal)
		fill_equal(&f, s, heap, nh, ord);
	else
		fill_weighted(&f, s, heap, nh, ord);
	return 0;
}

int
lb_maglev_build_alloc(uint32_t *table, uint32_t m, const struct lb_maglev_target *t,
	uint32_t n)
{
	size_t sz = lb_maglev_scratch_size(n, m);
	void *scratch;
	int rc;

	scratch = malloc(sz > 0 ? sz : 1);
	if (scratch == NULL)
		return -ENOMEM;
	rc = lb_maglev_build(table, m, t, n, scratch);
	free(scratch);
	return rc;
}
