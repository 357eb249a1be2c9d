/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "lb_flow.h"

/* The clock the tests' inserts pass (most tests do not care; those that do
 * set it). */
static uint64_t g_now;

/* Insert with the clock at g_now, allowed to displace any class. */
static struct lb_flow *
ins_any(struct lb_flow_table *t, const struct lb_flow_key *fwd, const struct lb_flow_key *rev,
	enum lb_flow_class cls, uint8_t flags, uint64_t expire, int *ev)
{
	return lb_flow_insert(t, fwd, rev, cls, flags, g_now, expire, LB_FLOW_EVICT_ANY, ev);
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A table in 64-byte aligned heap memory. */
struct tbl {
	void *mem;
	struct lb_flow_table *t;
};

static void
tbl_new(struct tbl *x, uint32_t capacity, uint64_t seed)
{
	size_t sz = lb_flow_table_memsize(capacity);

	assert_true(sz > 0);
	g_now = 0;
	sz = (sz + 63) & ~(size_t)63;
	x->mem = aligned_alloc(64, sz);
	assert_non_null(x->mem);
	/* Garbage in the memory must not matter to init. */
	memset(x->mem, 0xa5, sz);
	x->t = lb_flow_table_init(x->mem, capacity, seed);
	assert_non_null(x->t);
}

static void
tbl_free(struct tbl *x)
{
	free(x->mem);
}

/* Distinct keys per id: the forward key from a client, the reverse one from a
 * target. src values never coincide between the two families (odd vs fixed even). */
static struct lb_flow_key
fk(uint32_t id)
{
	return lb_flow_key_make(htonl(id * 2 + 1), htonl(0xc0000201), htons((uint16_t)id),
		htons(80), LB_PROTO_TCP);
}

static struct lb_flow_key
rk(uint32_t id)
{
	return lb_flow_key_make(htonl(0x0a000010), htonl(id * 2 + 1), htons(8080),
		htons((uint16_t)id), LB_PROTO_TCP);
}

static uint64_t
evicted_total(const struct lb_flow_stats *st)
{
	uint64_t n = 0;
	int c;

	for (c = 0; c < LB_FLOW_NCLASS; c++)
		n += st->evicted[c];
	return n;
}

static void
check_stats_add_up(struct lb_flow_table *t)
{
	const struct lb_flow_stats *st = lb_flow_stats(t);
	uint32_t sum = 0;
	int c;

	assert_int_equal(lb_flow_count(t),
		st->inserted - st->expired - st->removed - evicted_total(st));
	for (c = 0; c < LB_FLOW_NCLASS; c++)
		sum += lb_flow_class_count(t, (enum lb_flow_class)c);
	assert_int_equal(sum, lb_flow_count(t));
}

static void
test_sizes(void **state)
{
	struct lb_flow_key k = lb_flow_key_make(1, 2, 3, 4, 5);

	(void)state;
	assert_int_equal(sizeof(struct lb_flow), 64);
	assert_int_equal(sizeof(struct lb_flow_key), 16);
	assert_int_equal(offsetof(struct lb_flow, key[1]), 16);
	assert_int_equal(lb_flow_table_memsize(0), 0);
	assert_int_equal(lb_flow_table_memsize(LB_FLOW_MAX_CAPACITY + 1), 0);
	assert_int_equal(lb_flow_table_memsize(UINT32_MAX), 0);
	assert_true(lb_flow_table_memsize(1) >= 64 + 64);
	/* 64 bytes of flow plus a 64-byte bucket per two flows at least (and
	 * per flow at most), plus the header and its timer wheels. */
	assert_true(lb_flow_table_memsize(1000) >= 1000 * (64 + 32));
	assert_true(lb_flow_table_memsize(1000) < 1000 * (64 + 64) + 65536);
	assert_true(lb_flow_table_memsize(1u << 20) < (1u << 20) * (64 + 32) + 65536);
	assert_true(lb_flow_table_memsize(LB_FLOW_MAX_CAPACITY) >
		(size_t)LB_FLOW_MAX_CAPACITY * 64);
	assert_int_equal(k.pad[0] | k.pad[1] | k.pad[2], 0);
}

static void
test_init_rejects(void **state)
{
	size_t sz = lb_flow_table_memsize(16);
	uint8_t *mem = aligned_alloc(64, sz + 64);
	struct lb_flow_table *t;

	(void)state;
	assert_non_null(mem);
	assert_null(lb_flow_table_init(mem, 0, 1));
	assert_null(lb_flow_table_init(NULL, 16, 1));
	assert_null(lb_flow_table_init(mem + 8, 16, 1));
	assert_null(lb_flow_table_init(mem + 32, 16, 1));
	assert_null(lb_flow_table_init(mem, LB_FLOW_MAX_CAPACITY + 1, 1));
	t = lb_flow_table_init(mem + 64, 16, 1);
	assert_non_null(t);
	assert_int_equal(lb_flow_capacity(t), 16);
	assert_int_equal(lb_flow_count(t), 0);
	assert_int_equal(lb_flow_stats(t)->inserted, 0);
	free(mem);
}

static void
test_insert_lookup(void **state)
{
	struct tbl x;
	struct lb_flow *f[200], *g;
	struct lb_flow_key k, odd;
	uint32_t i;
	int dir, ev;

	(void)state;
	tbl_new(&x, 256, 42);
	for (i = 0; i < 200; i++) {
		struct lb_flow_key a = fk(i), b = rk(i);

		f[i] = ins_any(x.t, &a, &b, LB_FLOW_SYN, 0, 1000 + i, &ev);
		assert_non_null(f[i]);
		assert_int_equal(ev, -1);
		assert_memory_equal(&f[i]->key[LB_FLOW_FWD], &a, sizeof(a));
		assert_memory_equal(&f[i]->key[LB_FLOW_REV], &b, sizeof(b));
		assert_int_equal(f[i]->cls, LB_FLOW_SYN);
		assert_int_equal(f[i]->state, 0);
		assert_int_equal(f[i]->port, 0);
		assert_int_equal(f[i]->fe, 0);
		assert_int_equal(f[i]->peer_mac[0] | f[i]->peer_mac[5], 0);
		/* Caller fields are the caller's: the table must not disturb them. */
		f[i]->state = 0x5a;
		f[i]->fe = (uint16_t)i;
	}
	assert_int_equal(lb_flow_count(x.t), 200);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_SYN), 200);
	for (i = 0; i < 200; i++) {
		k = fk(i);
		dir = -1;
		g = lb_flow_lookup(x.t, &k, 10, &dir);
		assert_ptr_equal(g, f[i]);
		assert_int_equal(dir, LB_FLOW_FWD);
		k = rk(i);
		g = lb_flow_lookup(x.t, &k, 10, &dir);
		assert_ptr_equal(g, f[i]);
		assert_int_equal(dir, LB_FLOW_REV);
		assert_ptr_equal(lb_flow_lookup(x.t, &k, 10, NULL), f[i]);
		assert_int_equal(g->state, 0x5a);
		assert_int_equal(g->fe, i);
		/* The hash-staged lookup is the same lookup. */
		lb_flow_prefetch_bucket(x.t, lb_flow_hash(x.t, &k));
		lb_flow_prefetch_flow(x.t, lb_flow_hash(x.t, &k));
		assert_ptr_equal(lb_flow_lookup_hash(x.t, &k, lb_flow_hash(x.t, &k), 10, &dir),
			f[i]);
	}
	/* Absent keys, including one differing only in a padding byte. */
	for (i = 200; i < 400; i++) {
		k = fk(i);
		assert_null(lb_flow_lookup(x.t, &k, 10, &dir));
	}
	odd = fk(7);
	odd.pad[1] = 1;
	assert_null(lb_flow_lookup(x.t, &odd, 10, &dir));
	check_stats_add_up(x.t);
	/* Invalid arguments. */
	k = fk(500);
	assert_null(ins_any(x.t, &k, NULL, LB_FLOW_SYN, 0, 100, NULL));
	assert_null(ins_any(x.t, &k, &k, LB_FLOW_NCLASS, 0, 100, NULL));
	assert_int_equal(lb_flow_count(x.t), 200);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_NCLASS), 0);
	tbl_free(&x);
}

static void
test_seed_changes_hash(void **state)
{
	struct tbl a, b;
	struct lb_flow_key k;
	uint32_t i, differ = 0;

	(void)state;
	tbl_new(&a, 64, 1);
	tbl_new(&b, 64, 2);
	for (i = 0; i < 64; i++) {
		k = fk(i);
		differ += lb_flow_hash(a.t, &k) != lb_flow_hash(b.t, &k);
	}
	assert_true(differ > 32);
	tbl_free(&a);
	tbl_free(&b);
}

static void
test_fwd_only(void **state)
{
	struct tbl x;
	struct lb_flow *f, *g, *h;
	struct lb_flow_key a = fk(1), b = rk(1), c = fk(2), zero;
	int dir;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	tbl_new(&x, 8, 7);
	f = ins_any(x.t, &a, &b, LB_FLOW_OTHER, LB_FLOW_F_FWD_ONLY, 1000, NULL);
	assert_non_null(f);
	assert_int_equal(f->flags & ~LB_FLOW_F_TABLE, LB_FLOW_F_FWD_ONLY);
	assert_ptr_equal(lb_flow_lookup(x.t, &a, 0, &dir), f);
	assert_int_equal(dir, LB_FLOW_FWD);
	assert_null(lb_flow_lookup(x.t, &b, 0, &dir));
	/* key[REV] is payload, kept intact. */
	assert_memory_equal(&f->key[LB_FLOW_REV], &b, sizeof(b));
	/* Another flow may use f's payload as its own forward key. */
	g = ins_any(x.t, &b, &c, LB_FLOW_EST, 0, 1000, NULL);
	assert_non_null(g);
	assert_ptr_equal(lb_flow_lookup(x.t, &b, 0, &dir), g);
	assert_int_equal(dir, LB_FLOW_FWD);
	assert_ptr_equal(lb_flow_lookup(x.t, &c, 0, &dir), g);
	assert_int_equal(dir, LB_FLOW_REV);
	/* rev may be NULL for FWD_ONLY: key[REV] is then zero. */
	h = ins_any(x.t, &zero, NULL, LB_FLOW_OTHER, LB_FLOW_F_FWD_ONLY, 1000, NULL);
	assert_non_null(h);
	assert_memory_equal(&h->key[LB_FLOW_REV], &zero, sizeof(zero));
	assert_ptr_equal(lb_flow_lookup(x.t, &zero, 0, &dir), h);
	/* Removing a FWD_ONLY flow leaves g's forward key alone. */
	lb_flow_remove(x.t, f);
	assert_null(lb_flow_lookup(x.t, &a, 0, &dir));
	assert_ptr_equal(lb_flow_lookup(x.t, &b, 0, &dir), g);
	assert_int_equal(lb_flow_count(x.t), 2);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

static void
test_remove(void **state)
{
	struct tbl x;
	struct lb_flow *f[64];
	struct lb_flow_key a, b;
	uint32_t i;

	(void)state;
	/* Small table: 128 nodes in 128 buckets, so chains collide. */
	tbl_new(&x, 64, 3);
	for (i = 0; i < 64; i++) {
		a = fk(i);
		b = rk(i);
		f[i] = ins_any(x.t, &a, &b, (enum lb_flow_class)(i % LB_FLOW_NCLASS), 0,
			5000, NULL);
		assert_non_null(f[i]);
	}
	for (i = 0; i < 64; i += 2)
		lb_flow_remove(x.t, f[i]);
	assert_int_equal(lb_flow_count(x.t), 32);
	assert_int_equal(lb_flow_stats(x.t)->removed, 32);
	for (i = 0; i < 64; i++) {
		a = fk(i);
		b = rk(i);
		if (i % 2 == 0) {
			assert_null(lb_flow_lookup(x.t, &a, 0, NULL));
			assert_null(lb_flow_lookup(x.t, &b, 0, NULL));
		} else {
			assert_ptr_equal(lb_flow_lookup(x.t, &a, 0, NULL), f[i]);
			assert_ptr_equal(lb_flow_lookup(x.t, &b, 0, NULL), f[i]);
		}
	}
	check_stats_add_up(x.t);
	/* Freed slots are reused before the table evicts anything. */
	for (i = 100; i < 132; i++) {
		int ev;

		a = fk(i);
		b = rk(i);
		assert_non_null(ins_any(x.t, &a, &b, LB_FLOW_EST, 0, 5000, &ev));
		assert_int_equal(ev, -1);
	}
	assert_int_equal(lb_flow_count(x.t), 64);
	assert_int_equal(evicted_total(lb_flow_stats(x.t)), 0);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

static void
test_touch(void **state)
{
	struct tbl x;
	struct lb_flow *fa, *fb, *fc, *fd;
	struct lb_flow_key a = fk(1), b = fk(2), c = fk(3), d = fk(4);
	struct lb_flow_key ra = rk(1), rb = rk(2), rc = rk(3), rd = rk(4);
	const uint64_t T = 10000;
	int ev;

	(void)state;
	tbl_new(&x, 3, 11);
	fa = ins_any(x.t, &a, &ra, LB_FLOW_SYN, 0, 1000, NULL);
	fb = ins_any(x.t, &b, &rb, LB_FLOW_SYN, 0, 1000, NULL);
	/* Class move and refresh. */
	lb_flow_touch(x.t, fa, LB_FLOW_EST, 5000);
	assert_int_equal(fa->cls, LB_FLOW_EST);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_SYN), 1);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_EST), 1);
	assert_int_equal(lb_flow_expire(x.t, 2000, 100), 1);
	assert_null(lb_flow_lookup(x.t, &b, 2000, NULL));
	assert_ptr_equal(lb_flow_lookup(x.t, &a, 2000, NULL), fa);
	assert_ptr_equal(lb_flow_lookup(x.t, &ra, 4999, NULL), fa);
	/* An invalid class changes nothing. */
	lb_flow_touch(x.t, fa, LB_FLOW_NCLASS, 100);
	assert_int_equal(fa->cls, LB_FLOW_EST);
	assert_int_equal(fa->expire, 5000);
	lb_flow_remove(x.t, fa);
	(void)fb;

	/* The clock is now at 2000 (the sweep above). */
	g_now = 2000;
	/* Within a class the flow closest to expiry goes first: refreshing a
	 * (a later expiry, as a packet would) makes b the next victim, though
	 * a stays in its old timer slot until the sweep meets it there. */
	fa = ins_any(x.t, &a, &ra, LB_FLOW_UDP, 0, T + 1000, NULL);
	fb = ins_any(x.t, &b, &rb, LB_FLOW_UDP, 0, T + 1001, NULL);
	fc = ins_any(x.t, &c, &rc, LB_FLOW_UDP, 0, T + 1002, NULL);
	assert_non_null(fc);
	lb_flow_touch(x.t, fa, LB_FLOW_UDP, T + 1500);
	assert_int_equal(fa->expire, T + 1500);
	fd = ins_any(x.t, &d, &rd, LB_FLOW_UDP, 0, T + 1003, &ev);
	assert_non_null(fd);
	assert_int_equal(ev, LB_FLOW_UDP);
	assert_null(lb_flow_lookup(x.t, &b, g_now, NULL));
	assert_null(lb_flow_lookup(x.t, &rb, g_now, NULL));
	assert_non_null(lb_flow_lookup(x.t, &a, g_now, NULL));
	assert_non_null(lb_flow_lookup(x.t, &c, g_now, NULL));
	assert_ptr_equal(lb_flow_lookup(x.t, &d, g_now, NULL), fd);
	/* Refreshing d past a leaves c, then a, as the next victims. */
	lb_flow_touch(x.t, fd, LB_FLOW_UDP, T + 2000);
	fb = ins_any(x.t, &b, &rb, LB_FLOW_UDP, 0, T + 1800, &ev);
	assert_int_equal(ev, LB_FLOW_UDP);
	assert_null(lb_flow_lookup(x.t, &c, g_now, NULL));
	assert_non_null(lb_flow_lookup(x.t, &a, g_now, NULL));
	c = fk(5);
	rc = rk(5);
	assert_non_null(ins_any(x.t, &c, &rc, LB_FLOW_UDP, 0, T + 1900, &ev));
	assert_null(lb_flow_lookup(x.t, &a, g_now, NULL));
	assert_non_null(lb_flow_lookup(x.t, &d, g_now, NULL));
	assert_non_null(lb_flow_lookup(x.t, &b, g_now, NULL));
	/* An earlier expiry moves the flow to an earlier slot: d goes next. */
	lb_flow_touch(x.t, fd, LB_FLOW_UDP, T + 1200);
	a = fk(6);
	ra = rk(6);
	assert_non_null(ins_any(x.t, &a, &ra, LB_FLOW_UDP, 0, T + 5000, &ev));
	assert_null(lb_flow_lookup(x.t, &d, g_now, NULL));
	assert_int_equal(lb_flow_stats(x.t)->evicted[LB_FLOW_UDP], 4);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

/* Expiry per class, with the clock at `base`; base is chosen by the callers
 * to cross the 32-bit wrap or not. */
static void
expire_classes_at(uint64_t base)
{
	static const uint32_t timeout[LB_FLOW_NCLASS] = { 100, 7000, 300, 2000, 1500 };
	struct tbl x;
	struct lb_flow_key a, b;
	uint32_t i, c, n, live[LB_FLOW_NCLASS];
	uint64_t steps[] = { 0, 99, 100, 299, 300, 1499, 1500, 1999, 2000, 6999, 7000, 100000 };

	tbl_new(&x, 1000, base);
	g_now = base;
	/* 50 flows per class, all inserted at base. */
	for (i = 0; i < 250; i++) {
		c = i % LB_FLOW_NCLASS;
		a = fk(i);
		b = rk(i);
		assert_non_null(ins_any(x.t, &a, &b, (enum lb_flow_class)c, 0,
			base + timeout[c], NULL));
	}
	for (i = 0; i < LB_ARRAY_SIZE(steps); i++) {
		n = lb_flow_expire(x.t, base + steps[i], UINT32_MAX);
		uint32_t want_freed = 0;

		for (c = 0; c < LB_FLOW_NCLASS; c++) {
			live[c] = steps[i] >= timeout[c] ? 0 : 50;
			assert_int_equal(lb_flow_class_count(x.t, (enum lb_flow_class)c), live[c]);
			if (live[c] == 0 && (i == 0 || steps[i - 1] < timeout[c]))
				want_freed += 50;
		}
		assert_int_equal(n, want_freed);
		for (uint32_t j = 0; j < 250; j++) {
			a = fk(j);
			if (live[j % LB_FLOW_NCLASS])
				assert_non_null(lb_flow_lookup(x.t, &a, base + steps[i], NULL));
			else
				assert_null(lb_flow_lookup(x.t, &a, base + steps[i], NULL));
		}
	}
	assert_int_equal(lb_flow_count(x.t), 0);
	assert_int_equal(lb_flow_stats(x.t)->expired, 250);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

static void
test_expire_classes(void **state)
{
	(void)state;
	expire_classes_at(1000);
	/* 32-bit wrap inside the timeouts. */
	expire_classes_at(0xffffffffULL - 150);
	expire_classes_at(0x2ffffffffULL - 1600);
	/* A clock whose low 32 bits are small again, far from 0. */
	expire_classes_at(0x700000000ULL + 5);
}

static void
test_lookup_frees_expired(void **state)
{
	struct tbl x;
	struct lb_flow_key a = fk(1), ra = rk(1), b = fk(2), rb = rk(2);
	uint64_t base = 0xfffffff0ULL;
	struct lb_flow *f;

	(void)state;
	tbl_new(&x, 4, 5);
	g_now = base;
	assert_non_null(ins_any(x.t, &a, &ra, LB_FLOW_EST, 0, base + 0x20, NULL));
	assert_non_null(ins_any(x.t, &b, &rb, LB_FLOW_EST, 0, base + 0x40, NULL));
	/* Still live across the wrap. */
	assert_non_null(lb_flow_lookup(x.t, &ra, base + 0x1f, NULL));
	/* Exactly at its expiry: gone, by its reverse key, and freed. */
	assert_null(lb_flow_lookup(x.t, &ra, base + 0x20, NULL));
	assert_int_equal(lb_flow_count(x.t), 1);
	assert_int_equal(lb_flow_stats(x.t)->expired, 1);
	assert_null(lb_flow_lookup(x.t, &a, base, NULL));
	/* The other one is untouched. */
	f = lb_flow_lookup(x.t, &b, base + 0x3f, NULL);
	assert_non_null(f);
	assert_int_equal(lb_flow_expire(x.t, base + 0x3f, 10), 0);
	assert_int_equal(lb_flow_expire(x.t, base + 0x40, 10), 1);
	assert_int_equal(lb_flow_count(x.t), 0);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

static void
test_expire_budget(void **state)
{
	struct tbl x;
	struct lb_flow_key a, b;
	struct lb_flow *f[1000];
	uint32_t i, n, total = 0, calls = 0;

	(void)state;
	tbl_new(&x, 1000, 9);
	/* The SYN flows are inserted first but expire later: only expiry order
	 * explains what goes first. */
	for (i = 0; i < 100; i++) {
		a = fk(i);
		b = rk(i);
		assert_non_null(ins_any(x.t, &a, &b, i < 50 ? LB_FLOW_SYN : LB_FLOW_EST, 0,
			i < 50 ? 101 : 100, NULL));
	}
	assert_int_equal(lb_flow_expire(x.t, 99, 10), 0);
	assert_int_equal(lb_flow_expire(x.t, 101, 10), 10);
	assert_int_equal(lb_flow_count(x.t), 90);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_SYN), 50);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_EST), 40);
	assert_int_equal(lb_flow_expire(x.t, 101, 10), 10);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_SYN), 50);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_EST), 30);
	/* A budget larger than what expired at one tick goes on to the next. */
	assert_int_equal(lb_flow_expire(x.t, 101, 45), 45);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_EST), 0);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_SYN), 35);
	total = 65;
	while ((n = lb_flow_expire(x.t, 101, 7)) > 0) {
		assert_true(n <= 7);
		total += n;
		calls++;
		assert_true(calls < 100);
	}
	assert_int_equal(total, 100);
	assert_int_equal(lb_flow_count(x.t), 0);
	assert_int_equal(lb_flow_expire(x.t, 101, 0), 0);
	assert_int_equal(lb_flow_stats(x.t)->expired, 100);

	/* Refreshed flows cost the sweep work when it meets them in their old
	 * slot, but one call does a bounded amount of it: freeing the 100 that
	 * expired behind 900 refreshed ones in the same slot takes many calls. */
	g_now = 101;
	for (i = 0; i < 1000; i++) {
		a = fk(i);
		b = rk(i);
		f[i] = ins_any(x.t, &a, &b, LB_FLOW_UDP, 0, 200, NULL);
		assert_non_null(f[i]);
		if (i < 900)
			lb_flow_touch(x.t, f[i], LB_FLOW_UDP, 100000);
	}
	n = lb_flow_expire(x.t, 300, 1);
	assert_true(n <= 1);
	total = n;
	calls = 1;
	while ((n = lb_flow_expire(x.t, 300, 1)) > 0 || total < 100) {
		total += n;
		calls++;
		assert_true(calls < 10000);
	}
	assert_int_equal(total, 100);
	/* 900 flows met in their old slot at most (1 + 1) * LB_FLOW_SWEEP_WORK
	 * at a time, plus the 100 that expired. */
	assert_true(calls >= 900 / (2 * LB_FLOW_SWEEP_WORK));
	assert_int_equal(lb_flow_count(x.t), 900);
	for (i = 0; i < 1000; i++) {
		a = fk(i);
		if (i >= 900)
			assert_null(lb_flow_lookup(x.t, &a, 300, NULL));
		else
			assert_ptr_equal(lb_flow_lookup(x.t, &a, 300, NULL), f[i]);
	}
	check_stats_add_up(x.t);
	tbl_free(&x);
}

/*
 * Expiries at every scale the wheel has (1 ms slots up to 256 ms, 256 ms up to
 * 65 s, 65 s up to 4.6 h, beyond), swept with irregular steps: every flow is
 * freed by the first sweep at or after its expiry and not before.
 */
static void
test_wheel_levels(void **state)
{
	static const uint64_t bases[] = { 5, 0xffffffffULL - 70000, 0x3fffffff00ULL };
	const uint32_t n = 600;
	struct tbl x;
	struct lb_flow_key a, b;
	uint32_t *exp = malloc(n * sizeof(*exp)), i, live;
	uint8_t *gone = calloc(n, 1);
	uint64_t rng = 77, now, base;
	unsigned bi;

	(void)state;
	assert_non_null(exp);
	assert_non_null(gone);
	for (bi = 0; bi < LB_ARRAY_SIZE(bases); bi++) {
		base = bases[bi];
		tbl_new(&x, n, bi);
		g_now = base;
		memset(gone, 0, n);
		for (i = 0; i < n; i++) {
			uint64_t r = xorshift(&rng);
			/* a timeout from 1 ms to ~2^31 ms, log-uniform */
			uint32_t bits = 1 + (uint32_t)(r % 31);
			uint32_t d = 1 + (uint32_t)((r >> 8) & ((1ULL << bits) - 1));

			if (d >= 1u << 31)
				d = (1u << 31) - 1;
			exp[i] = (uint32_t)(base + d);
			a = fk(i);
			b = rk(i);
			assert_non_null(ins_any(x.t, &a, &b, (enum lb_flow_class)(i % LB_FLOW_NCLASS), 0,
				base + d, NULL));
		}
		now = base;
		live = n;
		while (live > 0) {
			uint64_t r = xorshift(&rng);

			/* steps from 1 ms to ~2^28 ms */
			now += 1 + ((r >> 4) & ((1ULL << (r % 29)) - 1));
			lb_flow_expire(x.t, now, UINT32_MAX);
			for (i = 0; i < n; i++) {
				bool expired = (int32_t)((uint32_t)now - exp[i]) >= 0;

				if (gone[i])
					continue;
				a = fk(i);
				if (expired) {
					/* freed by the sweep, not by this lookup */
					uint64_t before = lb_flow_stats(x.t)->expired;

					assert_null(lb_flow_lookup(x.t, &a, now, NULL));
					assert_int_equal(lb_flow_stats(x.t)->expired, before);
					gone[i] = 1;
					live--;
				} else {
					assert_non_null(lb_flow_lookup(x.t, &a, now, NULL));
				}
			}
			assert_int_equal(lb_flow_count(x.t), live);
		}
		check_stats_add_up(x.t);
		tbl_free(&x);
	}
	free(exp);
	free(gone);
}

static void
test_evict_order(void **state)
{
	/* Insert order interleaves classes, so only the class order explains
	 * the victims. Two flows per class. */
	static const enum lb_flow_class mix[10] = {
		LB_FLOW_EST, LB_FLOW_FIN, LB_FLOW_UDP, LB_FLOW_OTHER, LB_FLOW_SYN,
		LB_FLOW_SYN, LB_FLOW_OTHER, LB_FLOW_UDP, LB_FLOW_FIN, LB_FLOW_EST,
	};
	/* Expected victims: by class SYN, OTHER, UDP, FIN, EST, oldest first. */
	static const uint32_t victims[10] = { 4, 5, 3, 6, 2, 7, 1, 8, 0, 9 };
	struct tbl x;
	struct lb_flow_key a, b;
	uint32_t i, j;
	int ev;

	(void)state;
	tbl_new(&x, 10, 13);
	for (i = 0; i < 10; i++) {
		a = fk(i);
		b = rk(i);
		assert_non_null(ins_any(x.t, &a, &b, mix[i], 0, 1000, &ev));
		assert_int_equal(ev, -1);
	}
	for (i = 0; i < 10; i++) {
		a = fk(100 + i);
		b = rk(100 + i);
		assert_non_null(ins_any(x.t, &a, &b, LB_FLOW_EST, 0, 1000, &ev));
		assert_int_equal(ev, mix[victims[i]]);
		assert_int_equal(lb_flow_count(x.t), 10);
		/* Victims so far are gone, the rest are still there. */
		for (j = 0; j < 10; j++) {
			bool gone = false;

			for (uint32_t v = 0; v <= i; v++)
				gone |= victims[v] == j;
			a = fk(j);
			b = rk(j);
			if (gone) {
				assert_null(lb_flow_lookup(x.t, &a, 0, NULL));
				assert_null(lb_flow_lookup(x.t, &b, 0, NULL));
			} else {
				assert_non_null(lb_flow_lookup(x.t, &a, 0, NULL));
				assert_non_null(lb_flow_lookup(x.t, &b, 0, NULL));
			}
		}
	}
	for (i = 0; i < LB_FLOW_NCLASS; i++)
		assert_int_equal(lb_flow_stats(x.t)->evicted[i], 2);
	/* Now only the new EST flows remain: they go oldest first. */
	a = fk(200);
	assert_non_null(ins_any(x.t, &a, NULL, LB_FLOW_SYN, LB_FLOW_F_FWD_ONLY, 1000, &ev));
	assert_int_equal(ev, LB_FLOW_EST);
	a = fk(100);
	assert_null(lb_flow_lookup(x.t, &a, 0, NULL));
	a = fk(101);
	assert_non_null(lb_flow_lookup(x.t, &a, 0, NULL));
	/* And the new SYN is the first to go after that. */
	a = fk(201);
	assert_non_null(ins_any(x.t, &a, NULL, LB_FLOW_EST, LB_FLOW_F_FWD_ONLY, 1000, &ev));
	assert_int_equal(ev, LB_FLOW_SYN);
	a = fk(200);
	assert_null(lb_flow_lookup(x.t, &a, 0, NULL));
	check_stats_add_up(x.t);
	tbl_free(&x);
}

/*
 * Issue 7, "tables whose entries have different lifetimes": expired flows are
 * reclaimed before any live one is displaced, whatever mix of timeouts a
 * class holds and in whatever order they were inserted.
 */
static void
test_expired_before_live(void **state)
{
	const uint32_t cap = 1024;
	const uint64_t t0 = 5000000;
	struct tbl x;
	struct lb_flow_key a, b;
	struct lb_flow *keep[100];
	uint32_t i;
	int ev;

	(void)state;
	/* A UDP flow under a 600 s timeout, then (a reload shortened the
	 * timeout) 1023 more under 1 s. 3 s later every short one has expired
	 * and no sweep ran: a new flow takes an expired one's slot and the long
	 * one, behind which they were all inserted, stays. */
	tbl_new(&x, cap, 41);
	g_now = t0;
	a = fk(0);
	b = rk(0);
	keep[0] = ins_any(x.t, &a, &b, LB_FLOW_UDP, 0, t0 + 600000, &ev);
	for (i = 1; i < cap; i++) {
		a = fk(i);
		b = rk(i);
		g_now = t0 + 1 + i / 100;
		assert_non_null(ins_any(x.t, &a, &b, LB_FLOW_UDP, 0, g_now + 1000, &ev));
		assert_int_equal(ev, -1);
	}
	assert_int_equal(lb_flow_count(x.t), cap);
	g_now = t0 + 3000;
	a = fk(5000);
	b = rk(5000);
	assert_non_null(ins_any(x.t, &a, &b, LB_FLOW_UDP, 0, g_now + 1000, &ev));
	assert_int_equal(ev, -1);
	assert_int_equal(lb_flow_stats(x.t)->evicted[LB_FLOW_UDP], 0);
	assert_true(lb_flow_stats(x.t)->expired >= 1);
	a = fk(0);
	assert_ptr_equal(lb_flow_lookup(x.t, &a, g_now, NULL), keep[0]);
	/* The sweep then frees the rest; only the two live flows remain. */
	lb_flow_expire(x.t, g_now, UINT32_MAX);
	assert_int_equal(lb_flow_count(x.t), 2);
	check_stats_add_up(x.t);
	tbl_free(&x);

	/* Affinity-style entries (one class, per-frontend timeouts): 100 with
	 * 600 s, then a 1 s frontend fills the table; 2 s later the 1 s
	 * frontend refills it. All 100 long entries survive. */
	tbl_new(&x, cap, 43);
	g_now = t0;
	for (i = 0; i < 100; i++) {
		a = fk(i);
		keep[i] = ins_any(x.t, &a, NULL, LB_FLOW_OTHER, LB_FLOW_F_FWD_ONLY,
			t0 + 600000, NULL);
		assert_non_null(keep[i]);
	}
	for (i = 100; i < 3 * cap; i++) {
		a = fk(i);
		g_now = i < cap ? t0 + 10 : t0 + 2010;
		assert_non_null(ins_any(x.t, &a, NULL, LB_FLOW_OTHER, LB_FLOW_F_FWD_ONLY,
			g_now + 1000, &ev));
		/* the second fill displaces its own live entries once the
		 * expired first fill is gone, never the long ones */
		if (i >= cap && i < 2 * cap - 100)
			assert_int_equal(ev, -1);
	}
	for (i = 0; i < 100; i++) {
		a = fk(i);
		assert_ptr_equal(lb_flow_lookup(x.t, &a, g_now, NULL), keep[i]);
	}
	check_stats_add_up(x.t);
	tbl_free(&x);
}

/* The evict argument: what an insert into a full table may displace. */
static void
test_evict_mask(void **state)
{
	struct tbl x;
	struct lb_flow_key a, b;
	struct lb_flow *syn;
	uint32_t i;
	int ev;

	(void)state;
	tbl_new(&x, 16, 47);
	g_now = 1000;
	for (i = 0; i < 16; i++) {
		a = fk(i);
		b = rk(i);
		assert_non_null(ins_any(x.t, &a, &b, i < 8 ? LB_FLOW_EST : LB_FLOW_UDP, 0,
			5000 + i, NULL));
	}
	/* Full of confirmed flows: an insert that may only displace
	 * unconfirmed ones is refused and changes nothing. */
	a = fk(100);
	b = rk(100);
	assert_null(lb_flow_insert(x.t, &a, &b, LB_FLOW_SYN, 0, 1000, 2000,
		LB_FLOW_EVICT_UNCONFIRMED, &ev));
	assert_int_equal(ev, -1);
	assert_null(lb_flow_insert(x.t, &a, &b, LB_FLOW_SYN, 0, 1000, 2000, LB_FLOW_EVICT_NONE,
		&ev));
	assert_int_equal(lb_flow_stats(x.t)->refused, 2);
	assert_int_equal(lb_flow_count(x.t), 16);
	assert_null(lb_flow_lookup(x.t, &a, 1000, NULL));
	/* A class outside the set is not touched even when earlier in the
	 * eviction order: EST only, so an EST flow goes, not a UDP one. */
	assert_non_null(lb_flow_insert(x.t, &a, &b, LB_FLOW_EST, 0, 1000, 9000,
		LB_FLOW_EVICT(LB_FLOW_EST), &ev));
	assert_int_equal(ev, LB_FLOW_EST);
	assert_int_equal(lb_flow_class_count(x.t, LB_FLOW_UDP), 8);
	/* With one unconfirmed flow present, it is the one displaced. */
	lb_flow_remove(x.t, lb_flow_lookup(x.t, &a, 1000, NULL));
	a = fk(101);
	b = rk(101);
	syn = ins_any(x.t, &a, &b, LB_FLOW_SYN, 0, 30000, NULL);
	assert_non_null(syn);
	a = fk(102);
	b = rk(102);
	assert_non_null(lb_flow_insert(x.t, &a, &b, LB_FLOW_SYN, 0, 1000, 2000,
		LB_FLOW_EVICT_UNCONFIRMED, &ev));
	assert_int_equal(ev, LB_FLOW_SYN);
	a = fk(101);
	assert_null(lb_flow_lookup(x.t, &a, 1000, NULL));
	/* Expired confirmed flows are reclaimed whatever the set: at 5003 the
	 * EST flows that expire at 5001..5003 are. */
	a = fk(103);
	b = rk(103);
	assert_non_null(lb_flow_insert(x.t, &a, &b, LB_FLOW_SYN, 0, 5003, 9000, LB_FLOW_EVICT_NONE,
		&ev));
	assert_int_equal(ev, -1);
	assert_true(lb_flow_stats(x.t)->expired >= 1);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

static void
test_capacity_one(void **state)
{
	struct tbl x;
	struct lb_flow_key a, b, prev_a = fk(UINT16_MAX), prev_b = rk(UINT16_MAX);
	struct lb_flow *f, *first = NULL;
	uint32_t i;
	int ev;

	(void)state;
	tbl_new(&x, 1, 17);
	for (i = 0; i < 50; i++) {
		a = fk(i);
		b = rk(i);
		f = ins_any(x.t, &a, &b, (enum lb_flow_class)(i % LB_FLOW_NCLASS),
			i % 3 == 0 ? LB_FLOW_F_FWD_ONLY : 0, 1000, &ev);
		assert_non_null(f);
		if (i == 0) {
			first = f;
			assert_int_equal(ev, -1);
		} else {
			/* One slot, always the same, each insert evicts its predecessor. */
			assert_ptr_equal(f, first);
			assert_int_equal(ev, (i - 1) % LB_FLOW_NCLASS);
			assert_null(lb_flow_lookup(x.t, &prev_a, 0, NULL));
			assert_null(lb_flow_lookup(x.t, &prev_b, 0, NULL));
		}
		assert_ptr_equal(lb_flow_lookup(x.t, &a, 0, NULL), f);
		if (i % 3 == 0)
			assert_null(lb_flow_lookup(x.t, &b, 0, NULL));
		else
			assert_ptr_equal(lb_flow_lookup(x.t, &b, 0, NULL), f);
		assert_int_equal(lb_flow_count(x.t), 1);
		prev_a = a;
		prev_b = b;
	}
	assert_int_equal(evicted_total(lb_flow_stats(x.t)), 49);
	lb_flow_remove(x.t, first);
	assert_int_equal(lb_flow_count(x.t), 0);
	a = fk(1000);
	assert_non_null(ins_any(x.t, &a, NULL, LB_FLOW_EST, LB_FLOW_F_FWD_ONLY, 5, &ev));
	assert_int_equal(ev, -1);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

static void
test_capacity_n(void **state)
{
	const uint32_t n = 1000;
	struct tbl x;
	struct lb_flow_key a, b;
	uint32_t i;
	int ev;

	(void)state;
	tbl_new(&x, n, 19);
	for (i = 0; i < n; i++) {
		a = fk(i);
		b = rk(i);
		assert_non_null(ins_any(x.t, &a, &b, LB_FLOW_EST, 0, 1000, &ev));
		assert_int_equal(ev, -1);
	}
	assert_int_equal(lb_flow_count(x.t), n);
	for (i = n; i < 2 * n; i++) {
		a = fk(i);
		b = rk(i);
		assert_non_null(ins_any(x.t, &a, &b, LB_FLOW_EST, 0, 1000, &ev));
		assert_int_equal(ev, LB_FLOW_EST);
		assert_int_equal(lb_flow_count(x.t), n);
	}
	for (i = 0; i < 2 * n; i++) {
		a = fk(i);
		b = rk(i);
		if (i < n) {
			assert_null(lb_flow_lookup(x.t, &a, 0, NULL));
			assert_null(lb_flow_lookup(x.t, &b, 0, NULL));
		} else {
			assert_non_null(lb_flow_lookup(x.t, &a, 0, NULL));
			assert_non_null(lb_flow_lookup(x.t, &b, 0, NULL));
		}
	}
	assert_int_equal(lb_flow_stats(x.t)->evicted[LB_FLOW_EST], n);
	check_stats_add_up(x.t);
	tbl_free(&x);
}

struct walk_ctx {
	uint8_t *seen;		/* by id */
	uint32_t nseen;
	uint32_t maxid;
};

static void
walk_cb(void *ctx, const struct lb_flow *f)
{
	struct walk_ctx *w = ctx;
	uint32_t id = (ntohl(f->key[LB_FLOW_FWD].src) - 1) / 2;

	assert_true(id < w->maxid);
	w->seen[id]++;
	w->nseen++;
}

static void
test_walk(void **state)
{
	struct tbl x;
	struct lb_flow *f[600];
	struct lb_flow_key a, b;
	struct walk_ctx w;
	uint32_t i, cursor, calls, n;

	(void)state;
	tbl_new(&x, 1000, 23);
	w.maxid = 600;
	w.seen = calloc(w.maxid, 1);
	assert_non_null(w.seen);
	for (i = 0; i < 600; i++) {
		a = fk(i);
		b = rk(i);
		f[i] = ins_any(x.t, &a, &b, (enum lb_flow_class)(i % LB_FLOW_NCLASS),
			i % 4 == 0 ? LB_FLOW_F_FWD_ONLY : 0, 1000, NULL);
	}
	for (i = 0; i < 600; i += 3)
		lb_flow_remove(x.t, f[i]);
	w.nseen = 0;
	cursor = 0;
	calls = 0;
	do {
		n = lb_flow_walk(x.t, &cursor, 7, walk_cb, &w);
		assert_true(n <= 7);
		calls++;
		assert_true(calls < 1000);
	} while (cursor != LB_FLOW_NIL);
	assert_int_equal(w.nseen, lb_flow_count(x.t));
	for (i = 0; i < 600; i++)
		assert_int_equal(w.seen[i], i % 3 == 0 ? 0 : 1);
	/* A finished walk stays finished. */
	assert_int_equal(lb_flow_walk(x.t, &cursor, 7, walk_cb, &w), 0);

	/* Sparse table: calls are bounded but the walk still completes. */
	memset(w.seen, 0, w.maxid);
	w.nseen = 0;
	for (i = 0; i < 600; i++)
		if (i % 3 != 0 && i != 599)
			lb_flow_remove(x.t, f[i]);
	assert_int_equal(lb_flow_count(x.t), 1);
	cursor = 0;
	calls = 0;
	do {
		uint32_t before = cursor;

		n = lb_flow_walk(x.t, &cursor, 1, walk_cb, &w);
		calls++;
		assert_true(cursor == LB_FLOW_NIL || cursor - before <= LB_FLOW_WALK_SCAN);
	} while (cursor != LB_FLOW_NIL);
	assert_true(calls >= 600 / LB_FLOW_WALK_SCAN);
	assert_int_equal(w.nseen, 1);
	assert_int_equal(w.seen[599], 1);

	/* Empty table: done at once. */
	lb_flow_remove(x.t, f[599]);
	cursor = 0;
	w.nseen = 0;
	while (cursor != LB_FLOW_NIL)
		lb_flow_walk(x.t, &cursor, 1000, walk_cb, &w);
	assert_int_equal(w.nseen, 0);
	free(w.seen);
	tbl_free(&x);
}

/*
 * Reference model: a plain array of flows. It spells out the contract without
 * sharing any code with the table: lookups free expired flows; an insert into
 * a full table reclaims an expired flow whenever one exists, and otherwise
 * displaces a live flow of the first non-empty allowed class in the order
 * SYN, OTHER, UDP, FIN, EST, within 256 ms of that class's earliest expiry
 * (the model's timeouts keep every flow within 65 s, where the wheel's slots
 * are at most 256 ms wide), or refuses; the sweep frees only expired flows,
 * within its budget, and all of them when the budget is unlimited.
 */
#define M_CAP	48
#define M_IDS	400	/* key ids cycle through this many, so freed keys come back */

struct m_flow {
	bool used;
	uint32_t id;
	uint8_t cls;
	bool fwd_only;
	uint32_t expire;
	struct lb_flow *f;
};

struct model {
	struct m_flow e[M_CAP];
	uint64_t inserted, expired, removed, evicted[LB_FLOW_NCLASS], refused;
};

static bool
m_expired(uint32_t expire, uint64_t now)
{
	return (int32_t)((uint32_t)now - expire) >= 0;
}

static int
m_find_id(struct model *m, uint32_t id)
{
	int i;

	for (i = 0; i < M_CAP; i++)
		if (m->e[i].used && m->e[i].id == id)
			return i;
	return -1;
}

static int
m_find_flow(struct model *m, const struct lb_flow *f)
{
	int i;

	for (i = 0; i < M_CAP; i++)
		if (m->e[i].used && m->e[i].f == f)
			return i;
	return -1;
}

static uint32_t
m_count(struct model *m, int cls)
{
	uint32_t n = 0;
	int i;

	for (i = 0; i < M_CAP; i++)
		n += m->e[i].used && (cls < 0 || m->e[i].cls == cls);
	return n;
}

static uint32_t
m_count_expired(struct model *m, uint64_t now)
{
	uint32_t n = 0;
	int i;

	for (i = 0; i < M_CAP; i++)
		n += m->e[i].used && m_expired(m->e[i].expire, now);
	return n;
}

static void
m_check(struct model *m, struct lb_flow_table *t)
{
	const struct lb_flow_stats *st = lb_flow_stats(t);
	int c;

	assert_int_equal(lb_flow_count(t), m_count(m, -1));
	for (c = 0; c < LB_FLOW_NCLASS; c++) {
		assert_int_equal(lb_flow_class_count(t, (enum lb_flow_class)c), m_count(m, c));
		assert_int_equal(st->evicted[c], m->evicted[c]);
	}
	assert_int_equal(st->inserted, m->inserted);
	assert_int_equal(st->expired, m->expired);
	assert_int_equal(st->removed, m->removed);
	assert_int_equal(st->refused, m->refused);
	check_stats_add_up(t);
}

/* Looks a key up in both; they must agree, including on lazy expiry. */
static void
m_lookup(struct model *m, struct lb_flow_table *t, uint32_t id, int dir, uint64_t now)
{
	struct lb_flow_key k = dir == LB_FLOW_FWD ? fk(id) : rk(id);
	int i = m_find_id(m, id), got_dir = -1;
	struct lb_flow *f = lb_flow_lookup(t, &k, now, &got_dir);

	if (i < 0 || (dir == LB_FLOW_REV && m->e[i].fwd_only)) {
		assert_null(f);
		return;
	}
	if (m_expired(m->e[i].expire, now)) {
		assert_null(f);
		m->e[i].used = false;
		m->expired++;
		return;
	}
	assert_ptr_equal(f, m->e[i].f);
	assert_int_equal(got_dir, dir);
	assert_int_equal(f->cls, m->e[i].cls);
	assert_int_equal(f->fe, (uint16_t)id);
}

/* The table may have freed some expired flows on its own (sweep, insert):
 * every expired flow is gone after a lookup, counted once either way. */
static void
m_settle_expired(struct model *m, struct lb_flow_table *t, uint64_t now)
{
	int i;

	for (i = 0; i < M_CAP; i++)
		if (m->e[i].used && m_expired(m->e[i].expire, now))
			m_lookup(m, t, m->e[i].id, LB_FLOW_FWD, now);
}

static uint32_t
m_evict_mask(uint64_t r)
{
	unsigned k = (unsigned)((r >> 44) % 20);

	if (k < 14)
		return LB_FLOW_EVICT_ANY;
	if (k < 17)
		return LB_FLOW_EVICT_UNCONFIRMED;
	if (k < 18)
		return LB_FLOW_EVICT_NONE;
	return (uint32_t)(r >> 50) & LB_FLOW_EVICT_ANY;
}

static void
m_insert(struct model *m, struct lb_flow_table *t, uint32_t id, uint8_t cls, uint64_t now,
	uint32_t timeout, uint64_t r)
{
	static const uint8_t evict_order[LB_FLOW_NCLASS] = {
		LB_FLOW_SYN, LB_FLOW_OTHER, LB_FLOW_UDP, LB_FLOW_FIN, LB_FLOW_EST,
	};
	bool fwd_only = ((r >> 12) & 7) == 0, full = m_count(m, -1) == M_CAP;
	uint32_t exp = (uint32_t)(now + timeout), evict = m_evict_mask(r);
	uint32_t nexp = m_count_expired(m, now);
	struct lb_flow_key a = fk(id), b = rk(id);
	struct lb_flow *f;
	int slot = -1, victim = -1, ev = -2, i;

	f = lb_flow_insert(t, &a, &b, (enum lb_flow_class)cls, fwd_only ? LB_FLOW_F_FWD_ONLY : 0,
		now, exp, evict, &ev);
	if (full && nexp > 0) {
		/* an expired flow's slot, whatever the evict mask says */
		assert_non_null(f);
		assert_int_equal(ev, -1);
		slot = m_find_flow(m, f);
		assert_true(slot >= 0);
		assert_true(m_expired(m->e[slot].expire, now));
		m->e[slot].used = false;
		m->expired++;
		m_settle_expired(m, t, now);
	} else if (full) {
		for (unsigned c = 0; c < LB_FLOW_NCLASS && victim < 0; c++)
			if ((evict & LB_FLOW_EVICT(evict_order[c])) && m_count(m, evict_order[c]) > 0)
				victim = evict_order[c];
		if (victim < 0) {
			assert_null(f);
			assert_int_equal(ev, -1);
			m->refused++;
			return;
		}
		assert_non_null(f);
		assert_int_equal(ev, victim);
		slot = m_find_flow(m, f);
		assert_true(slot >= 0);
		assert_int_equal(m->e[slot].cls, victim);
		for (i = 0; i < M_CAP; i++)
			if (m->e[i].used && m->e[i].cls == victim)
				assert_true(m->e[slot].expire - m->e[i].expire < 256 ||
					(int32_t)(m->e[slot].expire - m->e[i].expire) <= 0);
		m->evicted[victim]++;
	} else {
		assert_non_null(f);
		assert_int_equal(ev, -1);
		for (i = 0; i < M_CAP && slot < 0; i++)
			if (!m->e[i].used)
				slot = i;
	}
	f->fe = (uint16_t)id;
	m->e[slot] = (struct m_flow){ .used = true, .id = id, .cls = cls, .fwd_only = fwd_only,
		.expire = exp, .f = f };
	m->inserted++;
}

static void
test_random_vs_model(void **state)
{
	static const uint32_t timeout[LB_FLOW_NCLASS] = { 50, 3000, 200, 400, 1000 };
	struct model *m = calloc(1, sizeof(*m));
	uint64_t rng = 0x243f6a8885a308d3ULL;
	/* The clock starts below 2^32 and crosses it during the run. */
	uint64_t now = 0xffffffffULL - 400000;
	struct tbl x;
	uint32_t op, ops = 200000;
	const char *env = getenv("LB_FLOW_RANDOM_OPS");

	(void)state;
	assert_non_null(m);
	if (env != NULL)
		ops = (uint32_t)strtoul(env, NULL, 10);
	tbl_new(&x, M_CAP, 29);
	for (op = 0; op < ops; op++) {
		uint64_t r = xorshift(&rng);
		uint32_t id = (uint32_t)(r >> 32) % M_IDS;
		unsigned kind = (unsigned)(r % 100);
		uint8_t cls = (uint8_t)((r >> 8) % LB_FLOW_NCLASS);
		/* per-flow timeouts differ within a class (as per-frontend
		 * affinity timeouts and reloads make them) */
		uint32_t to = timeout[cls] >> ((r >> 56) & 3);
		int i;

		now += (r >> 16) % 8;
		if (kind < 30) {
			/* Insert, when the model says the keys are absent (or
			 * present but expired: then the lookup frees them first,
			 * as the data path would). */
			m_lookup(m, x.t, id, LB_FLOW_FWD, now);
			if (m_find_id(m, id) >= 0)
				continue;
			m_insert(m, x.t, id, cls, now, to, r);
		} else if (kind < 60) {
			m_lookup(m, x.t, id, (r >> 40) & 1 ? LB_FLOW_REV : LB_FLOW_FWD, now);
		} else if (kind < 80) {
			/* Touch a live flow found by lookup, as the data path does. */
			m_lookup(m, x.t, id, LB_FLOW_FWD, now);
			i = m_find_id(m, id);
			if (i < 0)
				continue;
			uint32_t exp = (uint32_t)(now + to);

			lb_flow_touch(x.t, m->e[i].f, (enum lb_flow_class)cls, exp);
			m->e[i].cls = cls;
			m->e[i].expire = exp;
		} else if (kind < 88) {
			i = m_find_id(m, id);
			if (i < 0)
				continue;
			lb_flow_remove(x.t, m->e[i].f);
			m->e[i].used = false;
			m->removed++;
		} else {
			bool all = ((r >> 20) & 7) == 0;
			uint32_t budget = all ? UINT32_MAX : (uint32_t)((r >> 24) % 6);
			uint32_t nexp = m_count_expired(m, now), got;
			uint64_t before = lb_flow_stats(x.t)->expired;

			got = lb_flow_expire(x.t, now, budget);
			assert_true(got <= nexp && got <= budget);
			if (all)
				assert_int_equal(got, nexp);
			assert_int_equal(lb_flow_stats(x.t)->expired, before + got);
			m_settle_expired(m, x.t, now);
		}
		m_check(m, x.t);
		if (op % 4096 == 0) {
			for (id = 0; id < M_IDS; id++) {
				m_lookup(m, x.t, id, LB_FLOW_FWD, now);
				m_lookup(m, x.t, id, LB_FLOW_REV, now);
			}
			m_check(m, x.t);
		}
	}
	/* The run did exercise the interesting paths. */
	assert_true(now > 0xffffffffULL);
	assert_true(m->expired > 1000);
	assert_true(m->removed > 1000);
	assert_true(m->refused > 0);
	for (int c = 0; c < LB_FLOW_NCLASS; c++)
		assert_true(m->evicted[c] > 0);
	tbl_free(&x);
	free(m);
}

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Not a test: prints figures when LB_FLOW_BENCH is set (e.g.
 * LB_FLOW_BENCH=1 ./test_flow). Asserts nothing about time. Lookup keys are
 * laid out in the order they are looked up, as packet headers would be, so
 * the figures measure the table's own memory accesses. */
static void
bench_one(uint32_t cap)
{
	const uint32_t nlook = 1u << 22, burst = 32;
	struct tbl x;
	struct lb_flow_key *keys, *lk;
	struct timespec t0, t1;
	uint64_t rng = 1, hits = 0;
	uint32_t i, j;
	uint64_t hsh[32];

	/* 2 MB pages where the kernel allows, as lbd's table lives in DPDK
	 * hugepage memory: otherwise TLB misses dominate the figures. */
	size_t sz = (lb_flow_table_memsize(cap) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);

	x.mem = aligned_alloc(2u << 20, sz);
	assert_non_null(x.mem);
	madvise(x.mem, sz, MADV_HUGEPAGE);
	memset(x.mem, 0, sz);
	x.t = lb_flow_table_init(x.mem, cap, 31);
	assert_non_null(x.t);
	keys = malloc(sizeof(*keys) * cap * 2);
	lk = malloc(sizeof(*lk) * nlook);
	assert_non_null(keys);
	assert_non_null(lk);
	for (i = 0; i < cap; i++) {
		keys[2 * i] = fk(i);
		keys[2 * i + 1] = rk(i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < cap; i++)
		ins_any(x.t, &keys[2 * i], &keys[2 * i + 1], LB_FLOW_EST, 0, 1u << 30, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("flow bench: capacity %u, %zu bytes\n", cap, lb_flow_table_memsize(cap));
	printf("  insert:                          %6.1f M/s\n", cap / elapsed(&t0, &t1) / 1e6);
	for (i = 0; i < nlook; i++)
		lk[i] = keys[xorshift(&rng) % (2 * cap)];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nlook; i++)
		hits += lb_flow_lookup(x.t, &lk[i], 1, NULL) != NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  lookup hit, random:              %6.1f M/s\n", nlook / elapsed(&t0, &t1) / 1e6);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nlook; i += burst) {
		for (j = 0; j < burst; j++) {
			hsh[j] = lb_flow_hash(x.t, &lk[i + j]);
			lb_flow_prefetch_bucket(x.t, hsh[j]);
		}
		for (j = 0; j < burst; j++)
			lb_flow_prefetch_flow(x.t, hsh[j]);
		for (j = 0; j < burst; j++)
			hits += lb_flow_lookup_hash(x.t, &lk[i + j], hsh[j], 1, NULL) != NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  lookup hit, burst %u prefetched: %6.1f M/s\n", burst,
		nlook / elapsed(&t0, &t1) / 1e6);

	for (i = 0; i < nlook; i++)
		lk[i] = fk(cap + (uint32_t)(xorshift(&rng) % cap));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nlook; i++)
		hits += lb_flow_lookup(x.t, &lk[i], 1, NULL) != NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  lookup miss, random:             %6.1f M/s\n", nlook / elapsed(&t0, &t1) / 1e6);
	assert_int_equal(hits, 2 * (uint64_t)nlook);
	free(keys);
	free(lk);
	tbl_free(&x);
}

static void
bench_flow(void **state)
{
	(void)state;
	if (getenv("LB_FLOW_BENCH") == NULL) {
		print_message("skipped: set LB_FLOW_BENCH=1 to run\n");
		skip();
	}
	bench_one(1u << 16);
	bench_one(1u << 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_seed_changes_hash),
		cmocka_unit_test(test_fwd_only),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_touch),
		cmocka_unit_test(test_expire_classes),
		cmocka_unit_test(test_lookup_frees_expired),
		cmocka_unit_test(test_expire_budget),
		cmocka_unit_test(test_wheel_levels),
		cmocka_unit_test(test_evict_order),
		cmocka_unit_test(test_expired_before_live),
		cmocka_unit_test(test_evict_mask),
		cmocka_unit_test(test_capacity_one),
		cmocka_unit_test(test_capacity_n),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_random_vs_model),
		cmocka_unit_test(bench_flow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
