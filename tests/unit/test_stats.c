/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The counter lists (lib/stats): each list covers its struct word for word,
 * names follow the rules (keys, Prometheus families, units), and the three
 * outputs (lbctl JSON, Prometheus text, telemetry pairs) carry the same
 * names with the same values. Then the per-frontend slots, and promtool on
 * the rendered text when it is installed.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lb_prom.h"
#include "lb_stats.h"

struct list {
	const char *name;
	const struct lb_stat_desc *d;
	unsigned n;
};

static const struct list lists[] = {
	{ "worker", lb_stats_worker_desc, 0 },
	{ "neigh", lb_stats_neigh_desc, 0 },
	{ "ctl", lb_stats_ctl_desc, 0 },
	{ "port", lb_stats_port_desc, 0 },
	{ "daemon", lb_stats_daemon_desc, 0 },
	{ "frontend", lb_stats_fe_desc, 0 },
	{ "target", lb_stats_target_desc, 0 },
};

static unsigned
list_n(unsigned i)
{
	const unsigned n[] = { lb_stats_worker_n, lb_stats_neigh_n, lb_stats_ctl_n,
		lb_stats_port_n, lb_stats_daemon_n, lb_stats_fe_n, lb_stats_target_n };

	return n[i];
}

/* ---- coverage: every uint64_t word of each struct is in its list once ---- */

/* Marks d's offsets in seen[] (word index); fails on a repeat. */
static void
mark(const struct lb_stat_desc *d, unsigned n, size_t base, uint8_t *seen, size_t words)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		size_t w = (d[i].off - base) / sizeof(uint64_t);

		assert_int_equal((d[i].off - base) % sizeof(uint64_t), 0);
		if (w >= words)
			continue;	/* outside the struct under test (worker gauges) */
		if (seen[w])
			fail_msg("%s: offset %u listed twice", d[i].key, d[i].off);
		seen[w] = 1;
	}
}

static void
test_coverage(void **state)
{
	uint8_t seen[512];
	size_t words, i, last = 0;

	(void)state;
	/* struct lb_dp_counters: the worker list (c.*) plus drops[] cover a
	 * contiguous run of words from 0, and only the cache-line padding
	 * follows. (A field added inside that padding would go unnoticed by
	 * sizeof: test_outputs_agree then misses it too; see lb_stats.h.) */
	words = sizeof(struct lb_dp_counters) / sizeof(uint64_t);
	assert_true(words <= sizeof(seen));
	memset(seen, 0, sizeof(seen));
	mark(lb_stats_worker_desc, lb_stats_worker_n, offsetof(struct lb_stats_worker, c), seen,
		words);
	for (i = 0; i < LB_DROP_MAX; i++) {
		size_t w = offsetof(struct lb_dp_counters, drops) / 8 + i;

		assert_false(seen[w]);
		seen[w] = 1;
	}
	for (i = 0; i < words; i++)
		if (seen[i])
			last = i;
	for (i = 0; i <= last; i++)
		if (!seen[i])
			fail_msg("struct lb_dp_counters word %zu (offset %zu) is in no list", i, i * 8);
	assert_int_equal(((last + 1) * 8 + LB_CACHE_LINE - 1) / LB_CACHE_LINE * LB_CACHE_LINE,
		sizeof(struct lb_dp_counters));

	/* the worker's own gauges */
	{
		bool flows = false, aff = false;

		for (i = 0; i < lb_stats_worker_n; i++) {
			flows |= lb_stats_worker_desc[i].off == offsetof(struct lb_stats_worker, flows);
			aff |= lb_stats_worker_desc[i].off == offsetof(struct lb_stats_worker, affinity);
		}
		assert_true(flows && aff);
	}

	/* structs that are nothing but their list */
#define EXACT(st, d, n) do { \
		memset(seen, 0, sizeof(seen)); \
		assert_int_equal(sizeof(st) % 8, 0); \
		mark(d, n, 0, seen, sizeof(st) / 8); \
		assert_int_equal(n, sizeof(st) / 8); \
	} while (0)
	EXACT(struct lb_neigh_counters, lb_stats_neigh_desc, lb_stats_neigh_n);
	EXACT(struct lb_ctl_counters, lb_stats_ctl_desc, lb_stats_ctl_n);
	EXACT(struct lb_stats_daemon, lb_stats_daemon_desc, lb_stats_daemon_n);
#undef EXACT
	/* the per-frontend and per-target sets: their list, then cache-line padding */
#define PADDED(st, d, n, nv) do { \
		memset(seen, 0, sizeof(seen)); \
		mark(d, n, 0, seen, nv); \
		assert_int_equal(n, nv); \
		assert_int_equal(sizeof(st), ((nv) * 8 + LB_CACHE_LINE - 1) / LB_CACHE_LINE * \
			LB_CACHE_LINE); \
	} while (0)
	PADDED(struct lb_stats_fe_set, lb_stats_fe_desc, lb_stats_fe_n, LB_STATS_FE_N);
	PADDED(struct lb_stats_target_set, lb_stats_target_desc, lb_stats_target_n, LB_STATS_T_N);
#undef PADDED
	/* ports: the counters, then the labels */
	memset(seen, 0, sizeof(seen));
	mark(lb_stats_port_desc, lb_stats_port_n, 0, seen, offsetof(struct lb_stats_port, name) / 8);
	assert_int_equal(lb_stats_port_n, offsetof(struct lb_stats_port, name) / 8);
}

/* ---- naming rules ---- */

static bool
is_name(const char *s)
{
	if (s == NULL || !(islower((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s != '\0'; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void
test_names(void **state)
{
	/* every family name seen so far, across lists, to catch a family that
	 * reappears after another (HELP/TYPE twice) or in two lists */
	const char *families[512];
	unsigned nf = 0, l, i, j;

	(void)state;
	for (l = 0; l < LB_ARRAY_SIZE(lists); l++) {
		const struct lb_stat_desc *d = lists[l].d;
		unsigned n = list_n(l);

		assert_true(n > 0);
		for (i = 0; i < n; i++) {
			if (!is_name(d[i].key) || !is_name(d[i].metric))
				fail_msg("%s: bad key or metric name '%s' / '%s'", lists[l].name,
					d[i].key, d[i].metric);
			for (j = 0; j < i; j++)
				if (strcmp(d[i].key, d[j].key) == 0)
					fail_msg("%s: key '%s' twice", lists[l].name, d[i].key);
			if (ends_with(d[i].metric, "_total"))
				fail_msg("%s: '%s': _total is added for counters", lists[l].name,
					d[i].metric);
			if (d[i].unit != LB_STAT_ONE) {
				const char *ku = d[i].unit == LB_STAT_NS ? "_ns" :
					d[i].unit == LB_STAT_US ? "_us" : "_ms";

				if (!ends_with(d[i].metric, "_seconds") || !ends_with(d[i].key, ku))
					fail_msg("%s: '%s' is exported in seconds: metric must end in "
						"_seconds and the key in %s", lists[l].name, d[i].key, ku);
			}
			if (i > 0 && strcmp(d[i].metric, d[i - 1].metric) == 0) {
				/* member of the previous entry's family */
				if (d[i].label == NULL || d[i - 1].label == NULL ||
				    d[i].type != d[i - 1].type || d[i].unit != d[i - 1].unit)
					fail_msg("%s: family %s: members need distinct labels, one type "
						"and one unit", lists[l].name, d[i].metric);
				for (j = i; j > 0 && strcmp(d[j - 1].metric, d[i].metric) == 0; j--)
					if (strcmp(d[j - 1].label, d[i].label) == 0)
						fail_msg("%s: %s{%s} twice", lists[l].name, d[i].metric,
							d[i].label);
				continue;
			}
			if (d[i].help == NULL || d[i].help[0] == '\0')
				fail_msg("%s: family %s has no help", lists[l].name, d[i].metric);
			for (j = 0; j < nf; j++)
				if (strcmp(families[j], d[i].metric) == 0)
					fail_msg("%s: family %s appears twice", lists[l].name, d[i].metric);
			assert_true(nf < LB_ARRAY_SIZE(families));
			families[nf++] = d[i].metric;
		}
	}
	for (i = 0; i < LB_DROP_MAX; i++)
		assert_true(is_name(lb_drop_str((enum lb_drop)i)));
	for (j = 0; j < nf; j++)
		assert_string_not_equal(families[j], LB_STATS_DROP_METRIC);
}

/* ---- the three outputs agree ---- */

#define NW	2
#define NP	2

struct fixture {
	struct lb_stats_worker w[NW];
	struct lb_stats_port p[NP];
	struct lb_stats_view v;
};

/* Distinct values everywhere: word k of anything gets base + k. */
static void
fill(void *p, size_t bytes, uint64_t base)
{
	uint64_t *u = p;
	size_t k;

	for (k = 0; k < bytes / 8; k++)
		u[k] = base + k * 7 + 1;
}

static void
fixture_init(struct fixture *f)
{
	unsigned i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < NW; i++) {
		fill(&f->w[i], offsetof(struct lb_stats_worker, lcore), 1000 * (i + 1));
		f->w[i].lcore = 5 + i;
	}
	for (i = 0; i < NP; i++) {
		fill(&f->p[i], offsetof(struct lb_stats_port, name), 100000 * (i + 1));
		f->p[i].link_up = i % 2;
		snprintf(f->p[i].name, sizeof(f->p[i].name), "p%u", i);
		snprintf(f->p[i].role, sizeof(f->p[i].role), "%s", i ? "internal" : "external");
		snprintf(f->p[i].driver, sizeof(f->p[i].driver), "net_pcap");
		snprintf(f->p[i].mac, sizeof(f->p[i].mac), "02:00:00:00:00:0%u", i);
	}
	fill(&f->v.ctl, sizeof(f->v.ctl), 200000);
	fill(&f->v.neigh, sizeof(f->v.neigh), 300000);
	fill(&f->v.daemon, sizeof(f->v.daemon), 400000);
	f->v.version = "9.9.9";
	f->v.dpdk_version = "DPDK 22.11.0";
	f->v.n_workers = NW;
	f->v.workers = f->w;
	f->v.n_ports = NP;
	f->v.ports = f->p;
}

/* telemetry-style sink that records (key, value) */
struct rec {
	unsigned n;
	char key[256][96];
	uint64_t val[256];
};

static int
rec_u64(void *ctx, const char *key, uint64_t v)
{
	struct rec *r = ctx;

	if (r->n == LB_ARRAY_SIZE(r->key))
		return -ENOSPC;
	snprintf(r->key[r->n], sizeof(r->key[0]), "%s", key);
	r->val[r->n++] = v;
	return 0;
}

static bool
rec_has(const struct rec *r, const char *key, uint64_t v)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->key[i], key) == 0)
			return r->val[i] == v;
	return false;
}

static uint64_t
jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("JSON has no key '%s'", key);
	return json_object_get_uint64(v);
}

/* The exact sample line, with its value, is in the text. */
static void
prom_has(const char *text, const struct lb_stat_desc *d, const char *labels, uint64_t v)
{
	char line[512], val[64];
	const char *lab = d != NULL && d->label != NULL ? d->label : NULL;

	switch (d != NULL ? d->unit : LB_STAT_ONE) {
	case LB_STAT_NS:
		snprintf(val, sizeof(val), "%.9f", (double)v / 1e9);
		break;
	case LB_STAT_US:
		snprintf(val, sizeof(val), "%.6f", (double)v / 1e6);
		break;
	case LB_STAT_MS:
		snprintf(val, sizeof(val), "%.3f", (double)v / 1e3);
		break;
	default:
		snprintf(val, sizeof(val), "%" PRIu64, v);
	}
	if (labels == NULL && lab == NULL)
		snprintf(line, sizeof(line), "\nlbd_%s%s %s\n", d->metric,
			d->type == LB_STAT_COUNTER ? "_total" : "", val);
	else
		snprintf(line, sizeof(line), "\nlbd_%s%s{%s%s%s} %s\n", d->metric,
			d->type == LB_STAT_COUNTER ? "_total" : "", labels ? labels : "",
			labels && lab ? "," : "", lab ? lab : "", val);
	if (strstr(text, line) == NULL) {
		line[strlen(line) - 1] = '\0';
		fail_msg("Prometheus output lacks the sample '%s'", line + 1);
	}
}

static void
test_outputs_agree(void **state)
{
	struct fixture f;
	struct json_object *j, *workers, *tot, *drops, *sec, *ports;
	struct lb_stats_worker sum;
	struct lb_stats_sink sink;
	struct lb_buf b;
	struct rec r;
	char labels[128], key[128];
	unsigned i, k;

	(void)state;
	fixture_init(&f);
	j = lb_stats_json(&f.v);
	assert_non_null(j);
	lb_buf_init(&b);
	assert_int_equal(lb_prom_render(&f.v, &b), 0);
	assert_non_null(b.p);

	assert_true(json_object_object_get_ex(j, "workers", &workers));
	assert_int_equal(json_object_array_length(workers), NW);
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < NW; i++) {
		struct json_object *o = json_object_array_get_idx(workers, i);

		lb_stats_worker_add(&sum, &f.w[i]);
		assert_int_equal(jget(o, "id"), i);
		assert_int_equal(jget(o, "lcore"), f.w[i].lcore);
		memset(&r, 0, sizeof(r));
		sink.ctx = &r;
		sink.u64 = rec_u64;
		assert_int_equal(lb_stats_emit_worker(&f.w[i], &sink), 0);
		/* nothing but the list and the drops */
		assert_int_equal(r.n, lb_stats_worker_n + LB_DROP_MAX);
		snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
		for (k = 0; k < lb_stats_worker_n; k++) {
			const struct lb_stat_desc *d = &lb_stats_worker_desc[k];
			uint64_t v = lb_stat_get(&f.w[i], d);

			assert_int_equal(jget(o, d->key), v);
			assert_true(rec_has(&r, d->key, v));
			prom_has(b.p, d, labels, v);
		}
		assert_true(json_object_object_get_ex(o, "drops", &drops));
		assert_int_equal(json_object_object_length(drops), LB_DROP_MAX);
		for (k = 0; k < LB_DROP_MAX; k++) {
			const char *reason = lb_drop_str((enum lb_drop)k);
			struct lb_stat_desc d = { .metric = LB_STATS_DROP_METRIC,
				.type = LB_STAT_COUNTER };

			assert_int_equal(jget(drops, reason), f.w[i].c.drops[k]);
			snprintf(key, sizeof(key), "drops/%s", reason);
			assert_true(rec_has(&r, key, f.w[i].c.drops[k]));
			snprintf(labels, sizeof(labels), "worker=\"%u\",reason=\"%s\"", i, reason);
			prom_has(b.p, &d, labels, f.w[i].c.drops[k]);
			snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
		}
		/* the JSON object holds exactly id, lcore, the list and drops */
		assert_int_equal(json_object_object_length(o), 2 + lb_stats_worker_n + 1);
	}
	assert_true(json_object_object_get_ex(j, "total", &tot));
	for (k = 0; k < lb_stats_worker_n; k++)
		assert_int_equal(jget(tot, lb_stats_worker_desc[k].key),
			lb_stat_get(&sum, &lb_stats_worker_desc[k]));

	/* neighbours, control: JSON, telemetry and Prometheus */
	{
		const struct {
			const char *sec;
			const struct lb_stat_desc *d;
			unsigned n;
			const void *base;
		} flat[] = {
			{ "neighbours", lb_stats_neigh_desc, lb_stats_neigh_n, &f.v.neigh },
			{ "control", lb_stats_ctl_desc, lb_stats_ctl_n, &f.v.ctl },
			{ NULL, lb_stats_daemon_desc, lb_stats_daemon_n, &f.v.daemon },
		};

		for (i = 0; i < LB_ARRAY_SIZE(flat); i++) {
			memset(&r, 0, sizeof(r));
			sink.ctx = &r;
			assert_int_equal(lb_stats_emit_list(flat[i].d, flat[i].n, flat[i].base,
				&sink), 0);
			assert_int_equal(r.n, flat[i].n);
			sec = NULL;
			if (flat[i].sec != NULL) {
				assert_true(json_object_object_get_ex(j, flat[i].sec, &sec));
				assert_int_equal(json_object_object_length(sec), flat[i].n);
			}
			for (k = 0; k < flat[i].n; k++) {
				uint64_t v = lb_stat_get(flat[i].base, &flat[i].d[k]);

				if (sec != NULL)
					assert_int_equal(jget(sec, flat[i].d[k].key), v);
				assert_true(rec_has(&r, flat[i].d[k].key, v));
				prom_has(b.p, &flat[i].d[k], NULL, v);
			}
		}
	}
	/* ports */
	assert_true(json_object_object_get_ex(j, "ports", &ports));
	assert_int_equal(json_object_array_length(ports), NP);
	for (i = 0; i < NP; i++) {
		struct json_object *o = json_object_array_get_idx(ports, i), *nm;

		assert_true(json_object_object_get_ex(o, "name", &nm));
		assert_string_equal(json_object_get_string(nm), f.p[i].name);
		snprintf(labels, sizeof(labels), "port=\"%s\"", f.p[i].name);
		for (k = 0; k < lb_stats_port_n; k++) {
			uint64_t v = lb_stat_get(&f.p[i], &lb_stats_port_desc[k]);

			assert_int_equal(jget(o, lb_stats_port_desc[k].key), v);
			prom_has(b.p, &lb_stats_port_desc[k], labels, v);
		}
	}
	assert_non_null(strstr(b.p, "\nlbd_build_info{version=\"9.9.9\",dpdk=\"DPDK 22.11.0\"} 1\n"));
	assert_non_null(strstr(b.p, "\nlbd_worker_info{worker=\"1\",lcore=\"6\"} 1\n"));
	json_object_put(j);
	lb_buf_free(&b);
}

/* Every family's HELP and TYPE appear once, before its samples, and every
 * sample belongs to the family announced last. */
static void
check_families(const char *text)
{
	char fam[160] = "", seen[256][160];
	unsigned ns = 0, i;
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[1024];

		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%159s", fam);
			for (i = 0; i < ns; i++)
				if (strcmp(seen[i], fam) == 0)
					fail_msg("family %s announced twice", fam);
			assert_true(ns < LB_ARRAY_SIZE(seen));
			snprintf(seen[ns++], sizeof(seen[0]), "%s", fam);
		} else if (line[0] != '#' && line[0] != '\0') {
			size_t n = strcspn(line, "{ ");

			if (strlen(fam) != n || strncmp(line, fam, n) != 0)
				fail_msg("sample outside its family (%s): %s", fam, line);
		}
		p += len + (eol ? 1 : 0);
	}
}

/* ---- frontends and their counter sets ---- */

static void
test_frontends(void **state)
{
	struct fixture f;
	struct lb_stats_target_info t[2] = {
		{ "198.51.100.11:30080", 1, LB_STATS_TS_ACTIVE, 0 },
		{ "198.51.100.12:30080", 0, LB_STATS_TS_DRAINED, 1 },
	};
	struct lb_stats_fe_info fes[2] = {
		{ .name = "web", .vip = "192.0.2.10", .protocol = "tcp", .method = "fullnat",
		  .source = "config", .port = 80, .n_active = 1, .slot = 1, .n_targets = 2,
		  .targets = t },
		{ .name = "ns/svc \"q\"\\:80", .vip = "192.0.2.11", .protocol = "udp",
		  .method = "dnat", .source = "kubernetes", .port = 53, .slot = LB_STATS_NO_SLOT },
	};
	struct lb_stats_fe_set fe_w[NW][2];
	struct lb_stats_target_set t_w[NW][2];
	const struct lb_stats_fe_set *fe_sets[NW] = { fe_w[0], fe_w[1] };
	const struct lb_stats_target_set *t_sets[NW] = { t_w[0], t_w[1] };
	struct lb_buf b;
	char line[256];
	unsigned k;

	(void)state;
	fixture_init(&f);
	fill(fe_w, sizeof(fe_w), 7000);
	fill(t_w, sizeof(t_w), 9000);
	f.v.n_fes = 2;
	f.v.fes = fes;
	/* without counter sets: the snapshot's gauges only */
	lb_buf_init(&b);
	assert_int_equal(lb_prom_render(&f.v, &b), 0);
	check_families(b.p);
	assert_non_null(strstr(b.p, "\nlbd_frontend_info{frontend=\"web\",vip=\"192.0.2.10\","
		"protocol=\"tcp\",vip_port=\"80\",method=\"fullnat\",source=\"config\"} 1\n"));
	assert_non_null(strstr(b.p, "\nlbd_frontend_targets{frontend=\"ns/svc \\\"q\\\"\\\\:80\"} 0\n"));
	assert_non_null(strstr(b.p, "\nlbd_target_state{frontend=\"web\",target=\"198.51.100.12:30080\","
		"state=\"drained\"} 1\n"));
	assert_non_null(strstr(b.p, "\nlbd_target_weight{frontend=\"web\",target=\"198.51.100.11:30080\"} 1\n"));
	assert_null(strstr(b.p, "lbd_frontend_packets_total"));
	lb_buf_free(&b);

	/* with them: sums over the workers, slot by slot */
	f.v.fe_sets = fe_sets;
	f.v.n_fe_slots = 2;
	f.v.target_sets = t_sets;
	f.v.n_target_slots = 2;
	lb_buf_init(&b);
	assert_int_equal(lb_prom_render(&f.v, &b), 0);
	check_families(b.p);
	for (k = 0; k < LB_STATS_FE_N; k++) {
		const struct lb_stat_desc *d = &lb_stats_fe_desc[k];

		prom_has(b.p, d, "frontend=\"web\"", fe_w[0][1].v[k] + fe_w[1][1].v[k]);
	}
	for (k = 0; k < LB_STATS_T_N; k++)
		prom_has(b.p, &lb_stats_target_desc[k], "frontend=\"web\",target=\"198.51.100.12:30080\"",
			t_w[0][1].v[k] + t_w[1][1].v[k]);
	snprintf(line, sizeof(line), "\nlbd_frontend_flows{frontend=\"web\"} %" PRIu64 "\n",
		fe_w[0][1].v[LB_STATS_FE_FLOWS_CREATED] + fe_w[1][1].v[LB_STATS_FE_FLOWS_CREATED] -
		fe_w[0][1].v[LB_STATS_FE_FLOWS_ENDED] - fe_w[1][1].v[LB_STATS_FE_FLOWS_ENDED]);
	assert_non_null(strstr(b.p, line));
	/* a frontend without a slot has no counter samples */
	assert_null(strstr(b.p, "lbd_frontend_packets_total{frontend=\"ns/"));
	/* lbctl stats carries the same sets under the same list keys */
	{
		struct json_object *j = lb_stats_json(&f.v), *fa, *fe, *ta, *tg, *nm;

		assert_non_null(j);
		assert_true(json_object_object_get_ex(j, "frontends", &fa));
		assert_int_equal(json_object_array_length(fa), 1);	/* web only: ns/svc has no slot */
		fe = json_object_array_get_idx(fa, 0);
		assert_true(json_object_object_get_ex(fe, "name", &nm));
		assert_string_equal(json_object_get_string(nm), "web");
		for (k = 0; k < LB_STATS_FE_N; k++)
			assert_int_equal(jget(fe, lb_stats_fe_desc[k].key),
				fe_w[0][1].v[k] + fe_w[1][1].v[k]);
		assert_true(json_object_object_get_ex(fe, "targets", &ta));
		assert_int_equal(json_object_array_length(ta), 2);
		tg = json_object_array_get_idx(ta, 1);
		assert_true(json_object_object_get_ex(tg, "target", &nm));
		assert_string_equal(json_object_get_string(nm), "198.51.100.12:30080");
		for (k = 0; k < LB_STATS_T_N; k++)
			assert_int_equal(jget(tg, lb_stats_target_desc[k].key),
				t_w[0][1].v[k] + t_w[1][1].v[k]);
		json_object_put(j);
	}

	/* promtool, when installed, agrees that this is valid exposition text */
	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		char path[] = "/tmp/lbd-test-stats-XXXXXX", cmd[256];
		int fd = mkstemp(path), rc;

		assert_true(fd >= 0);
		assert_int_equal(write(fd, b.p, b.len), (ssize_t)b.len);
		close(fd);
		snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
		rc = system(cmd);
		if (rc != 0 || getenv("LB_TEST_KEEP_PROM") != NULL)
			print_message("rendered text kept in %s\n", path);
		else
			unlink(path);
		assert_int_equal(rc, 0);
	} else {
		print_message("promtool not installed: text format checked by this test only\n");
	}
	lb_buf_free(&b);
}

static void
test_label_escape(void **state)
{
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b);
	lb_buf_label_value(&b, "a\"b\\c\nd");
	assert_string_equal(b.p, "a\\\"b\\\\c\\nd");
	lb_buf_free(&b);
}

/* ---- slots ---- */

static bool
done_below(void *ctx, uint32_t slot, uint64_t token)
{
	(void)slot;
	return token < *(uint64_t *)ctx;
}

static uint32_t zeroed[64];
static unsigned n_zeroed;

static void
zero_rec(void *ctx, uint32_t slot)
{
	(void)ctx;
	zeroed[n_zeroed++ % 64] = slot;
}

static void
test_slots(void **state)
{
	struct lb_stats_slots *s = lb_stats_slots_new(4);
	uint64_t now = 0;
	uint32_t a, b, c, d;

	(void)state;
	assert_non_null(s);
	assert_null(lb_stats_slots_new(0));
	a = lb_stats_slot_get(s, 100);
	b = lb_stats_slot_get(s, 200);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(lb_stats_slot_get(s, 100), a);
	assert_int_equal(lb_stats_slot_find(s, 200), b);
	assert_int_equal(lb_stats_slot_find(s, 300), LB_STATS_NO_SLOT);
	c = lb_stats_slot_get(s, 300);
	d = lb_stats_slot_get(s, 400);
	assert_int_equal(lb_stats_slots_used(s), 4);
	assert_int_equal(lb_stats_slot_get(s, 500), LB_STATS_NO_SLOT);	/* full */
	assert_int_equal(lb_stats_slot_retire(s, 999, 1), -ENOENT);

	/* retired: keeps its slot until the grace period ends */
	assert_int_equal(lb_stats_slot_retire(s, 200, 5), 0);
	now = 5;
	assert_int_equal(lb_stats_slot_reclaim(s, done_below, zero_rec, &now), 0);
	assert_int_equal(lb_stats_slot_find(s, 200), b);
	/* back before reclaim: same slot, counts kept, not reclaimed later */
	assert_int_equal(lb_stats_slot_get(s, 200), b);
	now = 100;
	assert_int_equal(lb_stats_slot_reclaim(s, done_below, zero_rec, &now), 0);

	n_zeroed = 0;
	assert_int_equal(lb_stats_slot_retire(s, 200, 6), 0);
	assert_int_equal(lb_stats_slot_retire(s, 300, 7), 0);
	now = 7;
	assert_int_equal(lb_stats_slot_reclaim(s, done_below, zero_rec, &now), 1);
	assert_int_equal(n_zeroed, 1);
	assert_int_equal(zeroed[0], b);
	assert_int_equal(lb_stats_slot_find(s, 200), LB_STATS_NO_SLOT);
	assert_int_equal(lb_stats_slot_find(s, 300), c);
	/* the freed slot goes to the next new key */
	assert_int_equal(lb_stats_slot_get(s, 500), b);
	now = 8;
	assert_int_equal(lb_stats_slot_reclaim(s, done_below, NULL, &now), 1);
	assert_int_equal(lb_stats_slot_find(s, 100), a);
	assert_int_equal(lb_stats_slot_find(s, 400), d);
	assert_int_equal(lb_stats_slots_used(s), 3);
	lb_stats_slots_free(s);

	/* against a reference model: random keys, retire, reclaim (deletions
	 * from the probe chains must keep every other key findable) */
	{
		enum { CAP = 200, KEYS = 600 };
		uint32_t ref[KEYS];
		uint64_t tok = 0, lim;
		unsigned i, step;
		uint32_t rnd = 12345;

		s = lb_stats_slots_new(CAP);
		assert_non_null(s);
		for (i = 0; i < KEYS; i++)
			ref[i] = LB_STATS_NO_SLOT;
		for (step = 0; step < 20000; step++) {
			unsigned k;

			rnd = rnd * 1103515245 + 12345;
			k = (rnd >> 8) % KEYS;
			/* small keys collide in the index often: keys k * 64 */
			if ((rnd >> 20) % 3 != 0) {
				uint32_t got = lb_stats_slot_get(s, (uint64_t)k * 64);

				if (ref[k] != LB_STATS_NO_SLOT)
					assert_int_equal(got, ref[k]);
				ref[k] = got;
			} else if (ref[k] != LB_STATS_NO_SLOT) {
				assert_int_equal(lb_stats_slot_retire(s, (uint64_t)k * 64, tok++), 0);
				lim = tok;
				lb_stats_slot_reclaim(s, done_below, NULL, &lim);
				ref[k] = LB_STATS_NO_SLOT;
			}
			for (i = 0; i < KEYS; i += 37)
				assert_int_equal(lb_stats_slot_find(s, (uint64_t)i * 64), ref[i]);
		}
		lb_stats_slots_free(s);
	}
	assert_int_not_equal(lb_stats_target_key(1, 2), lb_stats_target_key(2, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_outputs_agree),
		cmocka_unit_test(test_frontends),
		cmocka_unit_test(test_label_escape),
		cmocka_unit_test(test_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
