/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_snat.h"

static void
test_layout_errors(void **state)
{
	struct lb_snat_layout l = { .lo = 7, .hi = 9, .nworkers = 3, .port_mask = 3 };
	struct lb_snat_layout before = l;

	(void)state;
	assert_int_equal(lb_snat_layout_init(NULL, 1000, 2000, 1), -EINVAL);
	assert_int_equal(lb_snat_layout_init(&l, 0, 2000, 1), -EINVAL);
	assert_int_equal(lb_snat_layout_init(&l, 2001, 2000, 1), -EINVAL);
	assert_int_equal(lb_snat_layout_init(&l, 1000, 2000, 0), -EINVAL);
	assert_int_equal(lb_snat_layout_init(&l, 1000, 2000, LB_MAX_WORKERS + 1), -EINVAL);
	/* Residues 0, 1, 2 only: worker 3 would own nothing. */
	assert_int_equal(lb_snat_layout_init(&l, 1000, 1002, 4), -EINVAL);
	assert_int_equal(lb_snat_layout_init(&l, 65535, 65535, 2), -EINVAL);
	/* Three ports for three workers, but residues 2, 3, 0 of 4: worker 1
	 * has none (it owns residue 1 only). */
	assert_int_equal(lb_snat_layout_init(&l, 1002, 1004, 3), -EINVAL);
	/* Failures leave the layout alone. */
	assert_memory_equal(&l, &before, sizeof(l));

	assert_int_equal(lb_snat_layout_init(&l, 1000, 1003, 4), 0);
	assert_int_equal(l.port_mask, 3);
	for (uint32_t w = 0; w < 4; w++)
		assert_int_equal(lb_snat_worker_ports(&l, w), 1);
	assert_int_equal(lb_snat_worker_ports(&l, 4), 0);
	assert_int_equal(lb_snat_layout_init(&l, 65535, 65535, 1), 0);
	assert_int_equal(lb_snat_worker_ports(&l, 0), 1);
	assert_int_equal(lb_snat_layout_init(&l, 1, 65535, 1), 0);
	assert_int_equal(lb_snat_worker_ports(&l, 0), 65535);
	assert_int_equal(lb_snat_layout_init(&l, 1024, 65535, LB_MAX_WORKERS), 0);
	assert_int_equal(l.port_mask, LB_MAX_WORKERS - 1);
	assert_int_equal(lb_snat_worker_ports(&l, 0), (65535 - 1024 + 1) / LB_MAX_WORKERS);
	assert_int_equal(l.lo, 1024);
	assert_int_equal(l.hi, 65535);
	assert_int_equal(l.nworkers, LB_MAX_WORKERS);
	for (uint32_t n = 1; n <= LB_MAX_WORKERS; n++) {
		uint32_t m = lb_snat_min_ports(n);

		assert_true(m >= n && m < 2 * n && (m & (m - 1)) == 0);
		/* any m consecutive ports do */
		for (uint32_t lo = 1; lo < 1 + m; lo++)
			assert_int_equal(lb_snat_layout_init(&l, (uint16_t)lo,
				(uint16_t)(lo + m - 1), n), 0);
	}
}

/* Checks the layout against its definition (residue of the low bits) for
 * every port number, and each worker's allocator against the list of its
 * ports. */
static void
check_layout(uint16_t lo, uint16_t hi, uint32_t nworkers)
{
	static uint16_t mine[65536];
	struct lb_snat_layout l;
	struct lb_snat s;
	uint32_t mask = 0, w, p, n, total = 0, addr = htonl(0x0a000001);

	while (mask + 1 < nworkers)
		mask = mask << 1 | 1;
	assert_int_equal(lb_snat_layout_init(&l, lo, hi, nworkers), 0);
	assert_int_equal(l.port_mask, mask);
	for (p = 0; p <= UINT16_MAX; p++) {
		int want = p < lo || p > hi ? -1 : (int)((p & mask) % nworkers);

		assert_int_equal(lb_snat_owner(&l, (uint16_t)p), want);
	}
	for (w = 0; w < nworkers; w++) {
		n = 0;
		for (p = lo; p <= hi; p++)
			if ((p & mask) % nworkers == w)
				mine[n++] = (uint16_t)p;
		assert_true(n > 0);
		assert_int_equal(lb_snat_worker_ports(&l, w), n);
		assert_int_equal(lb_snat_init(&s, &l, w, &addr, 1), 0);
		assert_int_equal(s.nports, n);
		assert_int_equal(lb_snat_candidates(&s), n);
		/* in increasing order, every one of them */
		for (p = 0; p < n; p++)
			assert_int_equal(lb_snat_port(&s, p), mine[p]);
		total += n;
	}
	/* No leftover: every port of the range belongs to a worker. */
	assert_int_equal(total, (uint32_t)hi - lo + 1);
	assert_int_equal(lb_snat_worker_ports(&l, nworkers), 0);
}

static void
test_ranges_and_owner(void **state)
{
	(void)state;
	check_layout(1024, 65535, 1);
	check_layout(1024, 65535, 2);
	check_layout(1024, 65535, 3);		/* workers 0 owns two residues */
	check_layout(1024, 65535, 7);
	check_layout(1024, 65535, LB_MAX_WORKERS);
	check_layout(1, 65535, 3);
	check_layout(1, 65535, LB_MAX_WORKERS - 1);
	check_layout(40001, 40010, 3);
	check_layout(40000, 40003, 4);		/* one port each */
	check_layout(65535, 65535, 1);
	check_layout(500, 500, 1);
}

static void
test_zero_layout(void **state)
{
	struct lb_snat_layout l;
	uint32_t p;

	(void)state;
	memset(&l, 0, sizeof(l));
	for (p = 0; p <= UINT16_MAX; p++)
		assert_int_equal(lb_snat_owner(&l, (uint16_t)p), -1);
	assert_int_equal(lb_snat_worker_ports(&l, 0), 0);
}

static void
test_init_errors(void **state)
{
	struct lb_snat_layout l;
	struct lb_snat s;
	uint32_t addrs[LB_MAX_SNAT_ADDRS + 1] = { 0 };

	(void)state;
	assert_int_equal(lb_snat_layout_init(&l, 2000, 2999, 4), 0);
	assert_int_equal(lb_snat_init(&s, &l, 0, addrs, 0), -EINVAL);
	assert_int_equal(lb_snat_init(&s, &l, 0, addrs, LB_MAX_SNAT_ADDRS + 1), -EINVAL);
	assert_int_equal(lb_snat_init(&s, &l, 0, NULL, 1), -EINVAL);
	assert_int_equal(lb_snat_init(&s, &l, 4, addrs, 1), -EINVAL);
	assert_int_equal(lb_snat_init(NULL, &l, 0, addrs, 1), -EINVAL);
	assert_int_equal(lb_snat_init(&s, NULL, 0, addrs, 1), -EINVAL);
	/* A failed init leaves an allocator with no candidates. */
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(lb_snat_init(&s, &l, 0, addrs, 0), -EINVAL);
	assert_int_equal(lb_snat_candidates(&s), 0);
	/* Worker 3 of 4: the ports 2003, 2007, ..., 2999. */
	assert_int_equal(lb_snat_init(&s, &l, 3, addrs, LB_MAX_SNAT_ADDRS), 0);
	assert_int_equal(lb_snat_port(&s, 0), 2003);
	assert_int_equal(lb_snat_port(&s, s.nports - 1), 2999);
	assert_int_equal(s.naddr, LB_MAX_SNAT_ADDRS);
	assert_int_equal(lb_snat_candidates(&s), 250 * LB_MAX_SNAT_ADDRS);
}

/* In-use set over (target, address index, port offset), and probe log. */
#define T_TARGETS	4
#define T_ADDRS		3
#define T_PORTS		20

struct use_ctx {
	const struct lb_snat *s;
	uint32_t target;
	bool used[T_TARGETS][LB_MAX_SNAT_ADDRS][T_PORTS];
	uint32_t probes;
	bool all_free;
};

static uint32_t
addr_index(const struct lb_snat *s, uint32_t addr)
{
	uint32_t i;

	for (i = 0; i < s->naddr; i++)
		if (s->addrs[i] == addr)
			return i;
	fail_msg("address %08x is not a SNAT address", addr);
	return 0;
}

/* Index of a port among the worker's own. */
static uint32_t
port_offset(const struct lb_snat *s, uint16_t port_be)
{
	uint16_t p = ntohs(port_be);
	uint32_t i;

	for (i = 0; i < s->nports && i < T_PORTS; i++)
		if (lb_snat_port(s, i) == p)
			return i;
	fail_msg("port %u is not one of the worker's first %u", p, T_PORTS);
	return 0;
}

static enum lb_snat_use
in_use_cb(void *ctx, uint32_t c, uint32_t addr, uint16_t port, uint32_t *wait_ms)
{
	struct use_ctx *u = ctx;

	(void)wait_ms;
	/* the candidate number given is that of the address and port */
	assert_int_equal(c, port_offset(u->s, port) * u->s->naddr + addr_index(u->s, addr));

	/* Callers reset probes before each pick; no pick may probe a
	 * candidate twice, so this catches a runaway loop quickly. */
	u->probes++;
	assert_true(u->probes <= T_ADDRS * T_PORTS);
	if (u->all_free)
		return LB_SNAT_FREE;
	return u->used[u->target][addr_index(u->s, addr)][port_offset(u->s, port)] ?
		LB_SNAT_BUSY : LB_SNAT_FREE;
}

/* A budget of n probes for probes that never report TIME_WAIT. */
static const struct lb_snat_budget *
busy_only(uint32_t n)
{
	static struct lb_snat_budget b;

	b.probes = n;
	b.ahead = 0;
	b.hold_ms = 0;
	return &b;
}

static void
setup_snat(struct lb_snat *s, struct lb_snat_layout *l, uint32_t worker)
{
	uint32_t addrs[T_ADDRS];
	uint32_t i;

	for (i = 0; i < T_ADDRS; i++)
		addrs[i] = htonl(0x0a000100 + i + 1);
	/* Four workers of T_PORTS ports each (one residue of the low two bits
	 * each). */
	assert_int_equal(lb_snat_layout_init(l, 30000, 30000 + 4 * T_PORTS - 1, 4), 0);
	assert_int_equal(lb_snat_init(s, l, worker, addrs, T_ADDRS), 0);
	assert_int_equal(lb_snat_candidates(s), T_ADDRS * T_PORTS);
}

static void
test_pick_order(void **state)
{
	struct lb_snat_layout l;
	struct lb_snat s;
	struct use_ctx *u = calloc(1, sizeof(*u));
	uint32_t addr, i, round;
	uint16_t port;

	(void)state;
	assert_non_null(u);
	setup_snat(&s, &l, 1);
	u->s = &s;
	u->all_free = true;
	/* With nothing in use, picks walk every candidate once per round,
	 * spreading over the addresses, and then start again. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < T_ADDRS * T_PORTS; i++) {
			u->probes = 0;
			assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
				busy_only(8), &addr, &port), 0);
			assert_int_equal(u->probes, 1);
			assert_int_equal(addr, htonl(0x0a000100 + i % T_ADDRS + 1));
			assert_int_equal(ntohs(port), 30000 + 1 + 4 * (i / T_ADDRS));
			assert_int_equal(lb_snat_owner(&l, ntohs(port)), 1);
		}
	}
	/* A cursor set out of range restarts at the first candidate. */
	s.cursor = 1000000;
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u, busy_only(8), &addr, &port), 0);
	assert_int_equal(addr, htonl(0x0a000101));
	assert_int_equal(ntohs(port), 30001);
	/* max_probes 0 probes nothing. */
	u->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
		busy_only(0), &addr, &port), -ENOSPC);
	assert_int_equal(u->probes, 0);
	/* An allocator that was never set up has no candidates. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
		busy_only(8), &addr, &port), -ENOSPC);
	assert_int_equal(u->probes, 0);
	free(u);
}

static void
test_pick_probes_bounded(void **state)
{
	struct lb_snat_layout l;
	struct lb_snat s;
	struct use_ctx *u = calloc(1, sizeof(*u));
	uint32_t addr, a, p;
	uint16_t port;

	(void)state;
	assert_non_null(u);
	setup_snat(&s, &l, 0);
	u->s = &s;
	/* The first 10 candidates are taken. */
	for (a = 0; a < 10; a++)
		u->used[0][a % T_ADDRS][a / T_ADDRS] = true;
	u->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
		busy_only(4), &addr, &port), -ENOSPC);
	assert_int_equal(u->probes, 4);
	/* The next call carries on where that one stopped. */
	u->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u, busy_only(7), &addr, &port), 0);
	assert_int_equal(u->probes, 7);
	assert_int_equal(addr_index(&s, addr), 10 % T_ADDRS);
	assert_int_equal(port_offset(&s, port), 10 / T_ADDRS);
	/* Everything taken: each candidate probed exactly once, even with a
	 * larger probe budget. */
	for (a = 0; a < T_ADDRS; a++)
		for (p = 0; p < T_PORTS; p++)
			u->used[0][a][p] = true;
	u->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
		busy_only(UINT32_MAX), &addr, &port), -ENOSPC);
	assert_int_equal(u->probes, T_ADDRS * T_PORTS);
	free(u);
}

static void
test_exhaust_and_free(void **state)
{
	struct lb_snat_layout l;
	struct lb_snat s;
	struct use_ctx *u = calloc(1, sizeof(*u));
	uint32_t addr, i, a, p, round;
	uint16_t port;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;

	(void)state;
	assert_non_null(u);
	setup_snat(&s, &l, 2);
	u->s = &s;
	u->target = 2;
	/* Every candidate comes out once, then none is left. */
	for (i = 0; i < T_ADDRS * T_PORTS; i++) {
		u->probes = 0;
		assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
			busy_only(UINT32_MAX), &addr, &port), 0);
		a = addr_index(&s, addr);
		p = port_offset(&s, port);
		assert_false(u->used[2][a][p]);
		u->used[2][a][p] = true;
	}
	u->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
		busy_only(UINT32_MAX), &addr, &port), -ENOSPC);
	/* Free one at random: the next pick is exactly that one. */
	for (round = 0; round < 200; round++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		a = (uint32_t)(rng % T_ADDRS);
		p = (uint32_t)((rng >> 20) % T_PORTS);
		u->used[2][a][p] = false;
		u->probes = 0;
		assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
			busy_only(UINT32_MAX), &addr, &port), 0);
		assert_int_equal(addr_index(&s, addr), a);
		assert_int_equal(port_offset(&s, port), p);
		u->used[2][a][p] = true;
		u->probes = 0;
		assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u,
			busy_only(UINT32_MAX), &addr, &port),
			-ENOSPC);
	}
	/* Other targets are unaffected: a port busy towards one target is free
	 * towards another. */
	u->target = 0;
	u->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &s.cursor, in_use_cb, u, busy_only(1), &addr, &port), 0);
	free(u);
}

/* Allocations and random frees over many targets: a pick never returns a
 * tuple in use, -ENOSPC only when every candidate towards that target is
 * taken (with a full probe budget), and every candidate gets used. */
static void
test_no_reuse_while_in_use(void **state)
{
	struct lb_snat_layout l;
	struct lb_snat s;
	struct use_ctx *u = calloc(1, sizeof(*u));
	uint32_t nused[T_TARGETS] = { 0 };
	bool ever[LB_MAX_SNAT_ADDRS][T_PORTS] = { { false } };
	uint64_t rng = 0x0123456789abcdefULL, picks = 0, full = 0;
	uint32_t iter, a, p, addr;
	uint16_t port;
	int rc;

	(void)state;
	assert_non_null(u);
	setup_snat(&s, &l, 1);
	u->s = &s;
	for (iter = 0; iter < 300000; iter++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		u->target = (uint32_t)(rng % T_TARGETS);
		if ((rng >> 8) % 100 < 55) {
			bool full_budget = (rng >> 16) & 1;

			u->probes = 0;
			rc = lb_snat_pick(&s, &s.cursor, in_use_cb, u,
				busy_only(full_budget ? UINT32_MAX : 8), &addr,
				&port);
			if (rc == 0) {
				a = addr_index(&s, addr);
				p = port_offset(&s, port);
				assert_int_equal(lb_snat_owner(&l, ntohs(port)), 1);
				assert_false(u->used[u->target][a][p]);
				u->used[u->target][a][p] = true;
				ever[a][p] = true;
				nused[u->target]++;
				picks++;
			} else {
				assert_int_equal(rc, -ENOSPC);
				if (full_budget)
					assert_int_equal(nused[u->target], T_ADDRS * T_PORTS);
				full++;
			}
		} else {
			a = (uint32_t)((rng >> 24) % T_ADDRS);
			p = (uint32_t)((rng >> 32) % T_PORTS);
			if (u->used[u->target][a][p]) {
				u->used[u->target][a][p] = false;
				nused[u->target]--;
			}
		}
	}
	/* The run reached both a full table and plenty of allocations. */
	assert_true(picks > 100000);
	assert_true(full > 0);
	for (a = 0; a < T_ADDRS; a++)
		for (p = 0; p < T_PORTS; p++)
			assert_true(ever[a][p]);
	free(u);
}

/* lb_snat_index inverts the candidate order for every layout shape (one and
 * two residues per worker, several addresses), and knows no other worker's
 * ports, no port outside the range and no foreign address. */
static void
test_index(void **state)
{
	static const struct { uint16_t lo, hi; uint32_t nw; } shapes[] = {
		{ 1024, 65535, 1 }, { 1024, 65535, 2 }, { 1024, 65535, 3 }, { 1000, 1999, 4 },
		{ 20000, 20999, 3 },
	};
	uint32_t addrs[3] = { htonl(0xc6336402), htonl(0xc6336403), htonl(0xc6336404) };
	uint32_t k, w, c, got = 0, naddr, port;

	(void)state;
	for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		for (naddr = 1; naddr <= 3; naddr++) {
			struct lb_snat_layout l;

			assert_int_equal(lb_snat_layout_init(&l, shapes[k].lo, shapes[k].hi,
				shapes[k].nw), 0);
			for (w = 0; w < shapes[k].nw; w++) {
				struct lb_snat s;
				uint32_t owned = 0;

				assert_int_equal(lb_snat_init(&s, &l, w, addrs, naddr), 0);
				for (c = 0; c < lb_snat_candidates(&s); c++) {
					uint16_t p = htons(lb_snat_port(&s, c / naddr));

					assert_int_equal(lb_snat_index(&s, addrs[c % naddr], p, &got), 0);
					assert_int_equal(got, c);
				}
				/* every port of the range: owned by exactly this worker's
				 * candidates, and no other */
				for (port = 1; port <= 65535; port++) {
					int rc = lb_snat_index(&s, addrs[0], htons((uint16_t)port), &got);

					if (port < shapes[k].lo || port > shapes[k].hi ||
					    lb_snat_owner(&l, (uint16_t)port) != (int)w) {
						assert_int_equal(rc, -ENOENT);
						continue;
					}
					assert_int_equal(rc, 0);
					assert_int_equal(lb_snat_port(&s, got / naddr), port);
					owned++;
				}
				assert_int_equal(owned, s.nports);
				assert_int_equal(lb_snat_index(&s, htonl(0x0a000001), htons(lb_snat_port(&s, 0)),
					&got), -ENOENT);
			}
		}
	}
}

/* Candidates scripted one by one: FREE, BUSY or WAIT for wait[c] ms. */
struct script {
	enum lb_snat_use use[T_ADDRS * T_PORTS];
	uint32_t wait[T_ADDRS * T_PORTS];
	uint32_t probes;
	uint32_t probed[T_ADDRS * T_PORTS];	/* in order */
};

static enum lb_snat_use
script_cb(void *ctx, uint32_t c, uint32_t addr, uint16_t port, uint32_t *wait_ms)
{
	struct script *sc = ctx;

	(void)addr;
	(void)port;
	assert_true(c < T_ADDRS * T_PORTS);
	assert_true(sc->probes < T_ADDRS * T_PORTS);
	sc->probed[sc->probes++] = c;
	if (sc->use[c] == LB_SNAT_WAIT)
		*wait_ms = sc->wait[c];
	return sc->use[c];
}

/* Candidate number of a picked (addr, port). */
static uint32_t
cand(const struct lb_snat *s, uint32_t addr, uint16_t port)
{
	uint32_t c;

	assert_int_equal(lb_snat_index(s, addr, port, &c), 0);
	return c;
}

/* The cursor waits on a candidate in TIME_WAIT: busy ones before it are
 * passed over, a bounded few after it are probed and a free one among them
 * taken out of order, and the cursor rests on the one that frees first. */
static void
test_pick_waits_in_order(void **state)
{
	const struct lb_snat_budget b = { 64, 3, 1000 };
	struct lb_snat_layout l;
	struct lb_snat s;
	struct script *sc = calloc(1, sizeof(*sc));
	uint32_t n, c, addr, cur;
	uint16_t port;

	(void)state;
	assert_non_null(sc);
	setup_snat(&s, &l, 0);
	n = lb_snat_candidates(&s);
	for (c = 0; c < n; c++) {
		sc->use[c] = LB_SNAT_WAIT;
		sc->wait[c] = 100 + c;		/* used in order: frees in order */
	}
	/* 5 and 6 busy, 7 in TIME_WAIT: refused after 7 and three more */
	sc->use[5] = sc->use[6] = LB_SNAT_BUSY;
	cur = 5;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), -ENOSPC);
	assert_int_equal(sc->probes, 6);
	assert_int_equal(cur, 7);
	/* again: the same candidates, nothing lost */
	sc->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), -ENOSPC);
	assert_int_equal(sc->probes, 4);
	assert_int_equal(sc->probed[0], 7);
	assert_int_equal(cur, 7);
	/* 9 frees first: taken out of order, the cursor stays on 7 */
	sc->use[9] = LB_SNAT_FREE;
	sc->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), 0);
	assert_int_equal(cand(&s, addr, port), 9);
	assert_int_equal(cur, 7);
	sc->use[9] = LB_SNAT_BUSY;
	/* 11 is beyond the three after 7: not probed */
	sc->use[11] = LB_SNAT_FREE;
	sc->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), -ENOSPC);
	assert_int_equal(sc->probes, 4);
	/* 7 frees: taken, and the cursor moves on */
	sc->use[7] = LB_SNAT_FREE;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), 0);
	assert_int_equal(cand(&s, addr, port), 7);
	assert_int_equal(cur, 8);
	sc->use[7] = LB_SNAT_BUSY;
	/* 8 frees later than 10 (closed out of order): the cursor rests on 10 */
	sc->wait[8] = 900;
	sc->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), 0);
	assert_int_equal(cand(&s, addr, port), 11);
	assert_int_equal(cur, 10);
	free(sc);
}

/* A candidate with more than hold_ms to go does not hold the cursor; with
 * only such candidates in reach the cursor moves on by the probes made. */
static void
test_pick_passes_far_ones(void **state)
{
	const struct lb_snat_budget b = { 64, 3, 1000 };
	struct lb_snat_layout l;
	struct lb_snat s;
	struct script *sc = calloc(1, sizeof(*sc));
	uint32_t n, c, addr, cur = 2;
	uint16_t port;

	(void)state;
	assert_non_null(sc);
	setup_snat(&s, &l, 0);
	n = lb_snat_candidates(&s);
	for (c = 0; c < n; c++) {
		sc->use[c] = LB_SNAT_WAIT;
		sc->wait[c] = 5000;
	}
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), -ENOSPC);
	assert_int_equal(sc->probes, 4);
	assert_int_equal(cur, 6);
	/* one due soon among them holds it */
	sc->wait[8] = 1000;
	sc->probes = 0;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), -ENOSPC);
	assert_int_equal(cur, 8);
	/* busy candidates before the first in TIME_WAIT do not count against
	 * the few after it; the whole budget bounds them */
	for (c = 0; c < n; c++)
		sc->use[c] = LB_SNAT_BUSY;
	sc->probes = 0;
	cur = 0;
	assert_int_equal(lb_snat_pick(&s, &cur, script_cb, sc, &b, &addr, &port), -ENOSPC);
	assert_int_equal(sc->probes, LB_MIN(n, 64u));
	assert_int_equal(cur, 0);	/* n = 60: round to where it started */
	free(sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_errors),
		cmocka_unit_test(test_ranges_and_owner),
		cmocka_unit_test(test_zero_layout),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_pick_order),
		cmocka_unit_test(test_pick_probes_bounded),
		cmocka_unit_test(test_exhaust_and_free),
		cmocka_unit_test(test_no_reuse_while_in_use),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_pick_waits_in_order),
		cmocka_unit_test(test_pick_passes_far_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
