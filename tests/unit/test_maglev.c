/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for lib/maglev: identity, primality, error codes, order
 * independence (invariant 2), weighted shares, and disruption when a target
 * comes or goes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ref_hash.h"

#include "lb_hash.h"
#include "lb_maglev.h"

#define M_BIG	LB_MAGLEV_DEFAULT_SIZE

/* Deterministic generator for shuffles, so a failure always reproduces. */
static uint64_t rng_state;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static void
shuffle(struct lb_maglev_target *t, uint32_t n)
{
	uint32_t i, j;
	struct lb_maglev_target x;

	for (i = n; i > 1; i--) {
		j = rng() % i;
		x = t[i - 1];
		t[i - 1] = t[j];
		t[j] = x;
	}
}

/* Targets 10.<base>.x.y:8080, i = 0..n-1, weights cycling through w[0..nw). */
static void
make_targets(struct lb_maglev_target *t, uint32_t n, uint32_t base, const uint32_t *w,
	uint32_t nw)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		t[i].id = lb_maglev_target_id(htonl(0x0a000000 | base << 16 | (i + 1)),
			htons(8080));
		t[i].weight = w != NULL ? w[i % nw] : 1;
	}
}

static int
cmp_target_id(const void *a, const void *b)
{
	const struct lb_maglev_target *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Builds and turns the table into slot -> identity (0 for LB_MAGLEV_NONE). */
static int
build_ids(uint64_t *ids, uint32_t m, const struct lb_maglev_target *t, uint32_t n)
{
	uint32_t *table = malloc(sizeof(*table) * m);
	uint32_t s;
	int rc;

	assert_non_null(table);
	rc = lb_maglev_build_alloc(table, m, t, n);
	for (s = 0; s < m; s++) {
		if (table[s] == LB_MAGLEV_NONE) {
			ids[s] = 0;
		} else {
			assert_true(table[s] < n);
			ids[s] = t[table[s]].id;
		}
	}
	free(table);
	return rc;
}

static uint32_t
slots_of(const uint64_t *ids, uint32_t m, uint64_t id)
{
	uint32_t s, c = 0;

	for (s = 0; s < m; s++)
		c += ids[s] == id;
	return c;
}

/*
 * Slots that pointed at a target present in both tables and now point at a
 * different target: the connections a change breaks needlessly.
 */
static uint32_t
disrupted(const uint64_t *before, const uint64_t *after, uint32_t m, uint64_t gone,
	uint64_t added)
{
	uint32_t s, d = 0;

	for (s = 0; s < m; s++)
		if (before[s] != gone && after[s] != added && before[s] != after[s])
			d++;
	return d;
}

/* ---------------------------------------------------------------------- */

/*
 * References written from the header's definition, slow and plain: the
 * paper's round robin for equal weights, and for mixed weights exact quotas
 * plus turns at (k + 1/2) / w found by a linear scan. lb_maglev_build must
 * match them slot for slot.
 */
static void
ref_permutation(uint64_t id, uint32_t m, uint32_t *offset, uint32_t *skip)
{
	uint8_t le[8];
	int b;

	for (b = 0; b < 8; b++)
		le[b] = (uint8_t)(id >> (8 * b));
	*offset = (uint32_t)(ref_hash64(le, 8, LB_MAGLEV_OFFSET_SEED) % m);
	*skip = (uint32_t)(ref_hash64(le, 8, LB_MAGLEV_SKIP_SEED) % (m - 1)) + 1;
}

/* Paper, section 3.4, pseudocode 1 (targets already in identity order). */
static void
ref_classic(uint64_t *ids, uint32_t m, const struct lb_maglev_target *t, uint32_t n)
{
	uint32_t *offset = calloc(n, 4), *skip = calloc(n, 4), *next = calloc(n, 4);
	uint32_t i, c, filled = 0;

	assert_non_null(next);
	for (i = 0; i < n; i++)
		ref_permutation(t[i].id, m, &offset[i], &skip[i]);
	for (i = 0; i < m; i++)
		ids[i] = 0;
	for (;;) {
		for (i = 0; i < n; i++) {
			do {
				c = (uint32_t)((offset[i] + (uint64_t)next[i] * skip[i]) % m);
				next[i]++;
			} while (ids[c] != 0);
			ids[c] = t[i].id;
			if (++filled == m)
				goto out;
		}
	}
out:
	free(offset);
	free(skip);
	free(next);
}

static void
ref_weighted(uint64_t *ids, uint32_t m, const struct lb_maglev_target *t, uint32_t n)
{
	uint32_t *offset = calloc(n, 4), *skip = calloc(n, 4), *next = calloc(n, 4);
	uint32_t *quota = calloc(n, 4), *count = calloc(n, 4);
	uint64_t wsum = 0, *rem = calloc(n, 8), best_rem = 0;
	uint32_t i, c, filled, left, best;

	assert_non_null(rem);
	for (i = 0; i < n; i++)
		wsum += t[i].weight;
	left = m;
	for (i = 0; i < n; i++) {
		quota[i] = (uint32_t)((uint64_t)m * t[i].weight / wsum);
		rem[i] = (uint64_t)m * t[i].weight % wsum;
		left -= quota[i];
		ref_permutation(t[i].id, m, &offset[i], &skip[i]);
	}
	while (left-- > 0) {	/* largest remainder, lowest identity first */
		best = n;
		for (i = 0; i < n; i++)
			if (t[i].weight > 0 && rem[i] != UINT64_MAX &&
			    (best == n || rem[i] > best_rem))
				best = i, best_rem = rem[i];
		quota[best]++;
		rem[best] = UINT64_MAX;
	}
	for (i = 0; i < m; i++)
		ids[i] = 0;
	for (filled = 0; filled < m; filled++) {
		best = n;	/* earliest (2 count + 1) / (2 w), lowest identity */
		for (i = 0; i < n; i++) {
			if (count[i] == quota[i])
				continue;
			if (best == n || (2 * (uint64_t)count[i] + 1) * t[best].weight <
			    (2 * (uint64_t)count[best] + 1) * t[i].weight)
				best = i;
		}
		do {
			c = (uint32_t)((offset[best] + (uint64_t)next[best] * skip[best]) % m);
			next[best]++;
		} while (ids[c] != 0);
		ids[c] = t[best].id;
		count[best]++;
	}
	free(offset);
	free(skip);
	free(next);
	free(quota);
	free(count);
	free(rem);
}

static void
test_reference(void **state)
{
	static const uint32_t mixed[] = { 1, 2, 3, 5, 10, 0, 7 };
	static const uint32_t ns[] = { 1, 2, 3, 10, 57 };
	/* up to 65537: the builder's dense phase (rank bitmaps) starts once
	 * m / (4 x targets left) slots are free, so every size here runs it */
	static const uint32_t ms[] = { 7, 251, 4099, 65537 };
	struct lb_maglev_target t[57];
	uint64_t *got = malloc(8 * 65537), *want = malloc(8 * 65537);
	uint32_t a, b, k;

	(void)state;
	assert_non_null(got);
	assert_non_null(want);
	for (a = 0; a < LB_ARRAY_SIZE(ms); a++) {
		for (b = 0; b < LB_ARRAY_SIZE(ns); b++) {
			make_targets(t, ns[b], 14, NULL, 0);
			qsort(t, ns[b], sizeof(*t), cmp_target_id);
			ref_classic(want, ms[a], t, ns[b]);
			assert_int_equal(build_ids(got, ms[a], t, ns[b]), 0);
			assert_memory_equal(got, want, 8 * ms[a]);
			for (k = 0; k < ns[b]; k++)
				t[k].weight = mixed[k % LB_ARRAY_SIZE(mixed)];
			ref_weighted(want, ms[a], t, ns[b]);
			assert_int_equal(build_ids(got, ms[a], t, ns[b]), 0);
			assert_memory_equal(got, want, 8 * ms[a]);
		}
	}
	free(got);
	free(want);
}

static void
test_target_id_golden(void **state)
{
	/* 10.1.2.3:8080 as it is on the wire. */
	const uint8_t wire[6] = { 10, 1, 2, 3, 0x1f, 0x90 };
	uint32_t addr;
	uint16_t port;

	(void)state;
	memcpy(&addr, wire, 4);
	memcpy(&port, wire + 4, 2);
	assert_int_equal(addr, htonl(0x0a010203));
	assert_int_equal(port, htons(8080));
	assert_true(lb_maglev_target_id(addr, port) ==
		ref_hash64(wire, sizeof(wire), LB_MAGLEV_ID_SEED));
	assert_true(lb_maglev_target_id(addr, port) ==
		lb_hash64(wire, sizeof(wire), LB_MAGLEV_ID_SEED));
	/* Stable across calls; the port and the address both count. */
	assert_true(lb_maglev_target_id(addr, port) == lb_maglev_target_id(addr, port));
	assert_true(lb_maglev_target_id(addr, port) != lb_maglev_target_id(addr, htons(8081)));
	assert_true(lb_maglev_target_id(addr, port) !=
		lb_maglev_target_id(htonl(0x0a010204), port));
	/* Byte order matters: the same numbers in host order are another target. */
	assert_true(lb_maglev_target_id(addr, port) !=
		lb_maglev_target_id(0x0a010203, 8080));
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_target_id_distinct(void **state)
{
	uint64_t *ids = malloc(sizeof(*ids) * 65536);
	uint32_t i;

	(void)state;
	assert_non_null(ids);
	for (i = 0; i < 65536; i++)
		ids[i] = lb_maglev_target_id(htonl(0xc0a80000 | (i >> 8)),
			htons((uint16_t)(30000 + (i & 0xff))));
	qsort(ids, 65536, sizeof(*ids), cmp_u64);
	for (i = 1; i < 65536; i++)
		assert_true(ids[i] != ids[i - 1]);
	free(ids);
}

static void
test_is_prime(void **state)
{
	const uint32_t limit = 300000;
	uint8_t *composite = calloc(limit, 1);
	uint32_t i, j;

	(void)state;
	assert_non_null(composite);
	/* Sieve of Eratosthenes as the independent answer. */
	composite[0] = composite[1] = 1;
	for (i = 2; i * i < limit; i++)
		if (!composite[i])
			for (j = i * i; j < limit; j += i)
				composite[j] = 1;
	for (i = 0; i < limit; i++)
		assert_int_equal(lb_maglev_is_prime(i), !composite[i]);
	free(composite);

	assert_true(lb_maglev_is_prime(65537));
	assert_true(lb_maglev_is_prime(LB_MAGLEV_MAX_SIZE));
	assert_false(lb_maglev_is_prime(16777215));	/* 3 * 5 * 17 * 257 * 241 */
	assert_false(lb_maglev_is_prime(16777217));	/* 97 * 257 * 673 */
	assert_false(lb_maglev_is_prime(4093U * 4099U));	/* twin-ish primes near 2^12 */
	assert_false(lb_maglev_is_prime(65521U * 65521U));	/* square of a prime */
	assert_true(lb_maglev_is_prime(4294967291U));	/* largest 32-bit prime */
	assert_false(lb_maglev_is_prime(UINT32_MAX));
	for (i = LB_MAGLEV_MAX_SIZE + 1; i < 16777216; i++)
		assert_false(lb_maglev_is_prime(i));
}

static void
test_errors(void **state)
{
	struct lb_maglev_target t[4];
	uint32_t table[263], i, big;
	uint64_t scratch[64];
	int rc;

	(void)state;
	make_targets(t, 4, 1, NULL, 0);
	assert_true(lb_maglev_scratch_size(4, 263) <= sizeof(scratch));

	/* Bad sizes: composite, prime but too small, prime but too large, 0. */
	assert_int_equal(lb_maglev_build(table, 262, t, 4, scratch), -EINVAL);
	assert_int_equal(lb_maglev_build(table, 5, t, 4, scratch), -EINVAL);
	assert_int_equal(lb_maglev_build(table, 0, t, 4, scratch), -EINVAL);
	for (big = LB_MAGLEV_MAX_SIZE + 1; !lb_maglev_is_prime(big); big++)
		;
	assert_int_equal(lb_maglev_build(table, big, t, 4, scratch), -EINVAL);
	assert_int_equal(lb_maglev_build_alloc(table, 65536, t, 4), -EINVAL);
	/* Missing pointers and misaligned scratch. */
	assert_int_equal(lb_maglev_build(NULL, 263, t, 4, scratch), -EINVAL);
	assert_int_equal(lb_maglev_build(table, 263, NULL, 4, scratch), -EINVAL);
	assert_int_equal(lb_maglev_build(table, 263, t, 4, NULL), -EINVAL);
	assert_int_equal(lb_maglev_build(table, 263, t, 4, (char *)scratch + 4), -EINVAL);
	assert_int_equal(lb_maglev_build(table, 263, t, 4, scratch), 0);

	/* A duplicate identity, even at weight 0, is refused and the table
	 * is left alone. */
	memset(table, 0xab, sizeof(table));
	t[3].id = t[1].id;
	t[3].weight = 0;
	assert_int_equal(lb_maglev_build(table, 263, t, 4, scratch), -EEXIST);
	for (i = 0; i < 263; i++)
		assert_int_equal(table[i], 0xabababab);

	/* No weight anywhere, or no target: -ENOENT and an empty table. */
	make_targets(t, 4, 1, NULL, 0);
	for (i = 0; i < 4; i++)
		t[i].weight = 0;
	rc = lb_maglev_build(table, 263, t, 4, scratch);
	assert_int_equal(rc, -ENOENT);
	for (i = 0; i < 263; i++)
		assert_int_equal(table[i], LB_MAGLEV_NONE);
	memset(table, 0, sizeof(table));
	assert_int_equal(lb_maglev_build(table, 263, t, 0, NULL), -ENOENT);
	for (i = 0; i < 263; i++)
		assert_int_equal(table[i], LB_MAGLEV_NONE);
	memset(table, 0, sizeof(table));
	assert_int_equal(lb_maglev_build_alloc(table, 263, NULL, 0), -ENOENT);
	assert_int_equal(table[0], LB_MAGLEV_NONE);
}

/* Invariant 2: any order of the same targets gives the same slot -> id table. */
static void
test_order_independent(void **state)
{
	static const uint32_t w[] = { 1, 2, 3, 5, 10, 0 };
	static const uint32_t ns[] = { 1, 2, 7, 100, 1000 };
	struct lb_maglev_target *t = malloc(sizeof(*t) * 1000);
	uint64_t *ref = malloc(sizeof(*ref) * M_BIG), *ids = malloc(sizeof(*ids) * M_BIG);
	uint32_t k, r, weighted;

	(void)state;
	assert_non_null(t);
	assert_non_null(ref);
	assert_non_null(ids);
	rng_state = 0x1234567887654321ULL;
	for (weighted = 0; weighted < 2; weighted++) {
		for (k = 0; k < LB_ARRAY_SIZE(ns); k++) {
			make_targets(t, ns[k], 2, weighted ? w : NULL, LB_ARRAY_SIZE(w));
			t[0].weight = 1;	/* at least one weight */
			assert_int_equal(build_ids(ref, M_BIG, t, ns[k]), 0);
			for (r = 0; r < 3; r++) {
				shuffle(t, ns[k]);
				assert_int_equal(build_ids(ids, M_BIG, t, ns[k]), 0);
				assert_memory_equal(ref, ids, sizeof(*ids) * M_BIG);
			}
		}
	}
	free(t);
	free(ref);
	free(ids);
}

/* Same inputs, byte-identical tables: twice, through both entry points, and
 * with scratch memory left dirty by an unrelated build. */
static void
test_deterministic(void **state)
{
	static const uint32_t w[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	struct lb_maglev_target t[50], other[7];
	uint32_t *a = malloc(sizeof(*a) * M_BIG), *b = malloc(sizeof(*b) * M_BIG);
	size_t sz = lb_maglev_scratch_size(50, M_BIG);
	void *scratch = malloc(sz);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(scratch);
	make_targets(t, 50, 3, w, LB_ARRAY_SIZE(w));
	make_targets(other, 7, 4, NULL, 0);
	assert_int_equal(lb_maglev_build_alloc(a, M_BIG, t, 50), 0);
	memset(scratch, 0xff, sz);
	assert_int_equal(lb_maglev_build(b, M_BIG, t, 50, scratch), 0);
	assert_memory_equal(a, b, sizeof(*a) * M_BIG);
	assert_int_equal(lb_maglev_build(b, M_BIG, other, 7, scratch), 0);
	assert_int_equal(lb_maglev_build(b, M_BIG, t, 50, scratch), 0);
	assert_memory_equal(a, b, sizeof(*a) * M_BIG);

	/* A caller that keeps its targets sorted by identity (the snapshot
	 * compiler) gets the same indices whatever order it was given. */
	qsort(t, 50, sizeof(*t), cmp_target_id);
	assert_int_equal(lb_maglev_build_alloc(a, M_BIG, t, 50), 0);
	rng_state = 42;
	shuffle(t, 50);
	qsort(t, 50, sizeof(*t), cmp_target_id);
	assert_int_equal(lb_maglev_build_alloc(b, M_BIG, t, 50), 0);
	assert_memory_equal(a, b, sizeof(*a) * M_BIG);

	/* The lookup helper reads slot hash % m. */
	assert_int_equal(lb_maglev_lookup(a, M_BIG, 5), a[5]);
	assert_int_equal(lb_maglev_lookup(a, M_BIG, M_BIG + 5), a[5]);
	assert_int_equal(lb_maglev_lookup(a, M_BIG, UINT32_MAX), a[UINT32_MAX % M_BIG]);
	free(a);
	free(b);
	free(scratch);
}

/*
 * Shares: for every target |slots - m w / W| <= 0.01 m w / W + 1 (the
 * project's acceptance bound), and in fact |slots - m w / W| < 1, which the
 * header promises.
 */
static void
check_shares(uint32_t m, const struct lb_maglev_target *t, uint32_t n)
{
	uint64_t *ids = malloc(sizeof(*ids) * m);
	double wsum = 0, exact;
	uint32_t i, got, total = 0;

	assert_non_null(ids);
	for (i = 0; i < n; i++)
		wsum += t[i].weight;
	assert_int_equal(build_ids(ids, m, t, n), 0);
	for (i = 0; i < n; i++) {
		got = slots_of(ids, m, t[i].id);
		exact = (double)m * t[i].weight / wsum;
		if (fabs(got - exact) > 0.01 * exact + 1 || fabs(got - exact) >= 1) {
			fail_msg("m %u n %u target %u weight %u: %u slots, exact share %.3f",
				m, n, i, t[i].weight, got, exact);
		}
		total += got;
	}
	assert_int_equal(total, m);
	free(ids);
}

static void
test_shares(void **state)
{
	static const uint32_t mixed[] = { 1, 2, 3, 5, 10 };
	static const uint32_t skewed[] = { 1, 100, 1, 1, 7 };
	static const uint32_t ns[] = { 1, 3, 10, 100, 655 };
	struct lb_maglev_target *t = malloc(sizeof(*t) * 5000);
	uint32_t k;

	(void)state;
	assert_non_null(t);
	for (k = 0; k < LB_ARRAY_SIZE(ns); k++) {
		make_targets(t, ns[k], 5, NULL, 0);
		check_shares(M_BIG, t, ns[k]);
		make_targets(t, ns[k], 5, mixed, LB_ARRAY_SIZE(mixed));
		check_shares(M_BIG, t, ns[k]);
		make_targets(t, ns[k], 5, skewed, LB_ARRAY_SIZE(skewed));
		check_shares(M_BIG, t, ns[k]);
	}
	/* Small tables and many targets keep exact-to-one-slot shares too. */
	make_targets(t, 10, 6, mixed, LB_ARRAY_SIZE(mixed));
	check_shares(251, t, 10);
	make_targets(t, 5000, 6, mixed, LB_ARRAY_SIZE(mixed));
	check_shares(M_BIG, t, 5000);
	/* Weights at the top of the range do not overflow. */
	make_targets(t, 3, 7, NULL, 0);
	t[0].weight = UINT32_MAX;
	t[1].weight = UINT32_MAX - 1;
	t[2].weight = 1;
	check_shares(M_BIG, t, 3);
	make_targets(t, 1000, 7, NULL, 0);
	for (k = 0; k < 1000; k++)
		t[k].weight = UINT32_MAX - k;
	check_shares(1000003, t, 1000);
	free(t);
}

/* A drained target (weight 0) frees exactly the slots that removing it would. */
static void
test_drain_is_removal(void **state)
{
	static const uint32_t mixed[] = { 1, 2, 3, 5, 10 };
	struct lb_maglev_target t[20];
	uint64_t *a = malloc(sizeof(*a) * M_BIG), *b = malloc(sizeof(*b) * M_BIG);
	uint32_t k, gone;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	for (k = 0; k < 2; k++) {
		make_targets(t, 20, 8, k ? mixed : NULL, LB_ARRAY_SIZE(mixed));
		for (gone = 0; gone < 20; gone += 7) {
			uint32_t w = t[gone].weight;

			t[gone].weight = 0;
			assert_int_equal(build_ids(a, M_BIG, t, 20), 0);
			assert_int_equal(slots_of(a, M_BIG, t[gone].id), 0);
			t[gone] = t[19];	/* removed; order does not matter */
			assert_int_equal(build_ids(b, M_BIG, t, 19), 0);
			assert_memory_equal(a, b, sizeof(*a) * M_BIG);
			make_targets(t, 20, 8, k ? mixed : NULL, LB_ARRAY_SIZE(mixed));
			assert_int_equal(t[gone].weight, w);
		}
	}
	free(a);
	free(b);
}

/*
 * Disruption (acceptance test c): removing one of N equal targets at
 * m = 65537 moves at most 1% of m between surviving targets; tried for the
 * lowest and highest identities and a few in between. Adding a target is
 * the same pair of tables read the other way, checked here through the add
 * direction too. Weighted sets are held to the same 1%.
 */
static void
check_disruption(uint32_t n, const uint32_t *w, uint32_t nw, uint32_t base, double limit,
	uint32_t *worst)
{
	struct lb_maglev_target *t = malloc(sizeof(*t) * n), *u = malloc(sizeof(*u) * n);
	uint64_t *before = malloc(sizeof(*before) * M_BIG);
	uint64_t *after = malloc(sizeof(*after) * M_BIG);
	uint32_t picks[6], np = 0, k, i, j, d;

	assert_non_null(t);
	assert_non_null(u);
	assert_non_null(before);
	assert_non_null(after);
	make_targets(t, n, base, w, nw);
	qsort(t, n, sizeof(*t), cmp_target_id);
	/* The lowest and highest identities, and a few in between. */
	for (k = 0; k <= 5; k++) {
		uint32_t p = k == 5 ? n - 1 : k * n / 5;

		for (i = 0; i < np && picks[i] != p; i++)
			;
		if (i == np)
			picks[np++] = p;
	}
	assert_int_equal(build_ids(before, M_BIG, t, n), 0);
	for (k = 0; k < np; k++) {
		for (i = 0, j = 0; i < n; i++)
			if (i != picks[k])
				u[j++] = t[i];
		assert_int_equal(build_ids(after, M_BIG, u, n - 1), 0);
		/* Removal. */
		d = disrupted(before, after, M_BIG, t[picks[k]].id, 0);
		if (d > limit * M_BIG)
			fail_msg("remove target %u of %u: %u slots (%.3f%%) moved between "
				"survivors", picks[k], n, d, 100.0 * d / M_BIG);
		*worst = LB_MAX(*worst, d);
		/* Addition of the same target to the n - 1 others. */
		d = disrupted(after, before, M_BIG, 0, t[picks[k]].id);
		if (d > limit * M_BIG)
			fail_msg("add target %u to %u: %u slots (%.3f%%) moved between old "
				"targets", picks[k], n - 1, d, 100.0 * d / M_BIG);
		/* Every slot the removed target had went to someone. */
		assert_int_equal(slots_of(after, M_BIG, t[picks[k]].id), 0);
		assert_int_equal(slots_of(after, M_BIG, 0), 0);
	}
	free(t);
	free(u);
	free(before);
	free(after);
}

static void
test_disruption_equal(void **state)
{
	static const uint32_t ns[] = { 2, 3, 5, 10, 31, 64, 100 };
	uint32_t k, base, worst;

	(void)state;
	for (k = 0; k < LB_ARRAY_SIZE(ns); k++) {
		worst = 0;
		for (base = 10; base < 12; base++)
			check_disruption(ns[k], NULL, 0, base, 0.01, &worst);
		print_message("equal  N=%3u: worst %u slots moved between survivors (%.3f%%)\n",
			ns[k], worst, 100.0 * worst / M_BIG);
	}
}

static void
test_disruption_weighted(void **state)
{
	static const uint32_t mixed[] = { 1, 2, 3, 5, 10 };
	static const uint32_t ns[] = { 3, 5, 10, 31, 64, 100 };
	uint32_t k, worst;

	(void)state;
	for (k = 0; k < LB_ARRAY_SIZE(ns); k++) {
		worst = 0;
		check_disruption(ns[k], mixed, LB_ARRAY_SIZE(mixed), 12, 0.01, &worst);
		print_message("w1-10  N=%3u: worst %u slots moved between survivors (%.3f%%)\n",
			ns[k], worst, 100.0 * worst / M_BIG);
	}
}

/* Tiny tables and more targets than slots. */
static void
test_tiny(void **state)
{
	struct lb_maglev_target t[40];
	uint64_t ids[7], sorted[40];
	uint32_t table[7], i, c;

	(void)state;
	/* One target takes every slot. */
	make_targets(t, 1, 13, NULL, 0);
	assert_int_equal(lb_maglev_build_alloc(table, 7, t, 1), 0);
	for (i = 0; i < 7; i++)
		assert_int_equal(table[i], 0);
	/* Three equal targets split 7 as 3 + 2 + 2. */
	make_targets(t, 3, 13, NULL, 0);
	check_shares(7, t, 3);
	/* m == n: one slot each. */
	make_targets(t, 7, 13, NULL, 0);
	assert_int_equal(build_ids(ids, 7, t, 7), 0);
	for (i = 0; i < 7; i++)
		assert_int_equal(slots_of(ids, 7, t[i].id), 1);
	/* n > m equal targets: the 7 lowest identities get one slot each, the
	 * others none; the table is still full and order independent. */
	make_targets(t, 40, 13, NULL, 0);
	for (i = 0; i < 40; i++)
		sorted[i] = t[i].id;
	qsort(sorted, 40, sizeof(*sorted), cmp_u64);
	assert_int_equal(build_ids(ids, 7, t, 40), 0);
	for (i = 0, c = 0; i < 40; i++) {
		uint32_t got = slots_of(ids, 7, sorted[i]);

		assert_int_equal(got, i < 7 ? 1 : 0);
		c += got;
	}
	assert_int_equal(c, 7);
	/* n > m with one heavy target: it gets its share, the rest go one each
	 * to the largest remainders. */
	t[17].weight = 40;	/* 40 of 79: 3.54 slots of 7 -> 4 (largest remainders) */
	assert_int_equal(build_ids(ids, 7, t, 40), 0);
	assert_int_equal(slots_of(ids, 7, t[17].id), 4);
	for (i = 0; i < 7; i++)
		assert_true(ids[i] != 0);
	rng_state = 7;
	shuffle(t, 40);
	{
		uint64_t again[7];

		assert_int_equal(build_ids(again, 7, t, 40), 0);
		assert_memory_equal(ids, again, sizeof(ids));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_id_golden),
		cmocka_unit_test(test_target_id_distinct),
		cmocka_unit_test(test_is_prime),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_drain_is_removal),
		cmocka_unit_test(test_disruption_equal),
		cmocka_unit_test(test_disruption_weighted),
		cmocka_unit_test(test_tiny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
