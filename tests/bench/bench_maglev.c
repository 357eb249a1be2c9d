/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_maglev: lib/maglev's table build time, disruption and balance, next
 * to what the Maglev paper reports (Eisenbud et al., NSDI 2016, 5.3: 1.8 ms
 * and 22.9 ms to populate tables of 65537 and 655373 entries for 1000
 * backends). A benchmark: it prints figures, it asserts nothing about time.
 *
 *   bench_maglev [-r REPS]
 *
 * One line of text and one JSON object per case: build time (median and
 * min/max over REPS builds, the scratch allocated once, as lbd's compiler
 * does), slots that change owner among the surviving targets when 1 and 10
 * targets are removed (the removed targets' own slots must move; this counts
 * the others), and the largest and mean share of slots per target relative
 * to the ideal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "lb_maglev.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Targets 10.x.y.z:30080, weights 1 or 1..10; t[] sorted by id as the
 * snapshot compiler keeps them. */
static int
cmp_target(const void *a, const void *b)
{
	const struct lb_maglev_target *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void
make_targets(struct lb_maglev_target *t, uint32_t n, bool weighted)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		t[i].id = lb_maglev_target_id(htonl(0x0a000000u + i + 1), htons(30080));
		t[i].weight = weighted ? 1 + i % 10 : 1;
	}
	qsort(t, n, sizeof(*t), cmp_target);
}

/* Slots whose target changes, excluding slots of the removed targets.
 * Tables hold indices into their own target arrays: compare identities. */
static uint64_t
moved(const uint32_t *a, const struct lb_maglev_target *ta, const uint32_t *b,
	const struct lb_maglev_target *tb, uint32_t m, const uint8_t *gone)
{
	uint64_t n = 0;
	uint32_t s;

	for (s = 0; s < m; s++)
		if (!gone[a[s]] && ta[a[s]].id != tb[b[s]].id)
			n++;
	return n;
}

static void
run(uint32_t m, uint32_t n, bool weighted, int reps, double paper_ms)
{
	struct lb_maglev_target *t = malloc(sizeof(*t) * n), *r = malloc(sizeof(*r) * n);
	uint32_t *tab = malloc(sizeof(uint32_t) * m), *tab2 = malloc(sizeof(uint32_t) * m);
	uint64_t *cnt = calloc(n, sizeof(uint64_t));
	uint8_t *gone = calloc(n, 1);
	void *scratch = aligned_alloc(8, (lb_maglev_scratch_size(n, m) + 7) & ~(size_t)7);
	double *ms = malloc(sizeof(double) * (size_t)reps), t0, wsum = 0, worst = 0, mean = 0;
	uint64_t mv[2] = { 0, 0 };
	uint32_t i, k, s, removes[2] = { 1, 10 };
	int rep;

	if (!t || !r || !tab || !tab2 || !cnt || !gone || !scratch || !ms) {
		fprintf(stderr, "bench_maglev: out of memory\n");
		exit(1);
	}
	make_targets(t, n, weighted);
	for (rep = 0; rep < reps; rep++) {
		t0 = now_ms();
		if (lb_maglev_build(tab, m, t, n, scratch) != 0) {
			fprintf(stderr, "bench_maglev: build failed\n");
			exit(1);
		}
		ms[rep] = now_ms() - t0;
	}
	qsort(ms, (size_t)reps, sizeof(double), cmp_double);
	/* balance: each target's slots against its exact share */
	for (s = 0; s < m; s++)
		cnt[tab[s]]++;
	for (i = 0; i < n; i++)
		wsum += t[i].weight;
	for (i = 0; i < n; i++) {
		double ratio = (double)cnt[i] / ((double)m * t[i].weight / wsum);

		if (ratio > worst)
			worst = ratio;
		mean += ratio / n;
	}
	/* disruption: remove the 1 or 10 targets at evenly spaced positions */
	for (k = 0; k < 2; k++) {
		uint32_t nr = 0;

		memset(gone, 0, n);
		for (i = 0; i < removes[k]; i++)
			gone[(uint64_t)i * n / removes[k]] = 1;
		for (i = 0; i < n; i++)
			if (!gone[i])
				r[nr++] = t[i];
		lb_maglev_build(tab2, m, r, nr, scratch);
		mv[k] = moved(tab, t, tab2, r, m, gone);
	}
	printf("maglev  M=%-7u targets=%-6u %-9s build %8.2f ms (min %.2f, max %.2f; paper: %s)"
		"  moved among survivors: -1 %.4f%%, -10 %.4f%%  max/mean share %.3f/%.3f\n",
		m, n, weighted ? "w=1..10" : "equal", ms[reps / 2], ms[0], ms[reps - 1],
		paper_ms > 0 ? (paper_ms < 10 ? "1.8 ms" : "22.9 ms") : "-",
		100.0 * (double)mv[0] / m, 100.0 * (double)mv[1] / m, worst, mean);
	printf("{\"workload\":\"maglev_build\",\"maglev_size\":%u,\"targets\":%u,\"weights\":\"%s\","
		"\"build_ms\":%.3f,\"build_ms_min\":%.3f,\"build_ms_max\":%.3f,\"reps\":%d,"
		"\"paper_ms\":%s,\"moved_remove1\":%lu,\"moved_remove10\":%lu,"
		"\"max_share\":%.4f,\"mean_share\":%.4f}\n",
		m, n, weighted ? "1..10" : "equal", ms[reps / 2], ms[0], ms[reps - 1], reps,
		paper_ms > 0 ? (paper_ms < 10 ? "1.8" : "22.9") : "null",
		(unsigned long)mv[0], (unsigned long)mv[1], worst, mean);
	free(t);
	free(r);
	free(tab);
	free(tab2);
	free(cnt);
	free(gone);
	free(scratch);
	free(ms);
}

int
main(int argc, char **argv)
{
	int reps = 7;

	if (argc == 3 && strcmp(argv[1], "-r") == 0)
		reps = atoi(argv[2]);
	if (reps < 1)
		reps = 1;
	run(65537, 1000, false, reps, 1.8);
	run(655373, 1000, false, reps, 22.9);
	run(655373, 10000, false, reps, 0);
	run(65537, 1000, true, reps, 0);
	run(655373, 1000, true, reps, 0);
	run(655373, 10000, true, reps, 0);
	return 0;
}
