/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/k8s at cluster scale: 1,000 Services (half Cluster, half Local, two
 * ports each) x 20 endpoints, 20 nodes. Checks that a change re-maps only
 * what it affects and reuses every other frontend object, and prints what
 * each step costs (a report, not a timed test: figures vary with the
 * machine and with ASan).
 */
#include <time.h>

#include "k8s_test.h"

#define N_SVC	1000
#define N_EP	20
#define N_NODE	20
#define ROUNDS	200
#define BATCH	250	/* Services synced per pass */

static uint64_t
ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct sample {
	uint64_t v[ROUNDS];
	int n;
};

static void
report(const char *what, struct sample *s)
{
	uint64_t sum = 0;
	int i;

	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), u64_cmp);
	for (i = 0; i < s->n; i++)
		sum += s->v[i];
	print_message("  %-44s mean %7.1f us  p50 %7.1f us  p99 %7.1f us\n", what,
		(double)sum / s->n / 1000.0, s->v[s->n / 2] / 1000.0,
		s->v[(s->n * 99) / 100] / 1000.0);
}

static struct json_object *
svc_json(int i)
{
	return J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'svc-%04d',"
		"'namespace':'ns-%02d','uid':'u%d','resourceVersion':'%d','finalizers':["
		"'service.kubernetes.io/load-balancer-cleanup'],'annotations':{"
		"'kubectl.kubernetes.io/last-applied-configuration':'{}'}},"
		"'spec':{'type':'LoadBalancer','loadBalancerClass':'lbd.io/lbd',"
		"'externalTrafficPolicy':'%s','ipFamilies':['IPv4'],'ports':["
		"{'name':'http','port':80,'protocol':'TCP','targetPort':8080,'nodePort':%d},"
		"{'name':'https','port':443,'protocol':'TCP','targetPort':8443,'nodePort':%d}]},"
		"'status':{'loadBalancer':{}}}", i, i % 10, i, 10 + i,
		i % 2 ? "Local" : "Cluster", 30000 + i, 31000 + i);
}

/* ready: endpoint k of Service i is ready unless k == not_ready. */
static struct json_object *
slice_json(int i, int not_ready, int rv)
{
	char eps[8192];
	size_t off = 0;
	int k;

	off += (size_t)snprintf(eps + off, sizeof(eps) - off, "[");
	for (k = 0; k < N_EP; k++)
		off += (size_t)snprintf(eps + off, sizeof(eps) - off,
			"%s{'addresses':['10.%d.%d.%d'],'conditions':{'ready':%s,'serving':true,"
			"'terminating':false},'nodeName':'node-%02d','targetRef':{'kind':'Pod',"
			"'name':'p%d-%d','namespace':'ns-%02d'}}", k ? "," : "", 100 + i / 250,
			i % 250, k + 1, k == not_ready ? "false" : "true", k, i, k, i % 10);
	snprintf(eps + off, sizeof(eps) - off, "]");
	return J("{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{"
		"'name':'svc-%04d-abcde','namespace':'ns-%02d','resourceVersion':'%d','labels':{"
		"'kubernetes.io/service-name':'svc-%04d'}},'addressType':'IPv4','endpoints':%s,"
		"'ports':[{'name':'http','port':8080,'protocol':'TCP'},{'name':'https','port':8443,"
		"'protocol':'TCP'}]}", i, i % 10, rv, i, eps);
}

static void
publish(struct lb_k8s_ctrl *c, struct sample *s_model, struct sample *s_pub)
{
	static uint64_t ids[4 * N_SVC];
	struct lb_k8s_action *a;
	struct lb_model *m;
	uint64_t v, t0, t1, t2;
	uint32_t i;

	t0 = ns_now();
	m = lb_k8s_ctrl_model(c, &v);
	t1 = ns_now();
	assert_non_null(m);
	for (i = 0; i < m->n_fes; i++)
		ids[i] = m->fes[i]->id;
	t2 = ns_now();
	lb_k8s_ctrl_published(c, v, ids, m->n_fes);
	if (s_model != NULL) {
		s_model->v[s_model->n++] = t1 - t0;
		s_pub->v[s_pub->n++] = ns_now() - t2;
	}
	lb_model_free(m);
	assert_true(lb_k8s_ctrl_process(c, 2, 2) >= 0);
	/* The API accepts every write (the watch would bring the result). */
	while ((a = lb_k8s_ctrl_next_action(c)) != NULL) {
		lb_k8s_ctrl_result(c, a->token, 200, NULL, 2);
		lb_k8s_action_free(a);
	}
}

/* process until the controller has nothing left; total and longest pass. */
static uint32_t
passes(struct lb_k8s_ctrl *c, uint64_t *total, uint64_t *longest)
{
	uint32_t n = 0;

	*total = *longest = 0;
	for (;;) {
		uint64_t t0 = ns_now(), d;

		assert_true(lb_k8s_ctrl_process(c, 2, 2) >= 0);
		d = ns_now() - t0;
		*total += d;
		if (d > *longest)
			*longest = d;
		n++;
		if (lb_k8s_ctrl_next_wakeup(c) > 2)
			return n;
	}
}

static void
test_scale(void **state)
{
	static struct json_object *slices[ROUNDS], *nodes[ROUNDS], *list[2 * N_SVC];
	struct lb_k8s_conf conf = {
		.lb_class = "lbd.io/lbd", .map = { .maglev_size = 65537 },
		.backoff_min_ms = 100, .backoff_max_ms = 1000, .instance = "perf", .seed = 1,
		.sync_batch = BATCH,
	};
	struct sample ev = { .n = 0 }, proc = { .n = 0 }, model = { .n = 0 }, pub = { .n = 0 };
	struct sample node_proc = { .n = 0 };
	struct lb_model_pool pool = { .name = "p", .auto_assign = true, .n_ranges = 1 };
	struct lb_ip_range range;
	struct lb_k8s_stats a, b;
	struct lb_k8s_ctrl *c;
	struct json_object *j;
	char err[256];
	uint64_t t0, t_list, t_map, t_pass, t_node_pass = 0;
	uint32_t n_pass;
	int i, k, r;

	(void)state;
	assert_int_equal(lb_ip_parse("198.18.0.0", &range.first), 0);
	assert_int_equal(lb_ip_parse("198.18.15.255", &range.last), 0);
	pool.ranges = &range;
	c = lb_k8s_ctrl_new(&conf, &pool, 1);
	assert_non_null(c);

	/* The initial list: decode and store everything (the JSON is parsed
	 * beforehand: that is the API client's work). */
	for (i = 0; i < N_SVC; i++) {
		list[2 * i] = svc_json(i);
		list[2 * i + 1] = slice_json(i, -1, 1);
	}
	t0 = ns_now();
	for (k = 0; k < LB_K8S_NKINDS; k++)
		lb_k8s_ctrl_relist_begin(c, (enum lb_k8s_kind)k);
	for (i = 0; i < N_NODE; i++) {
		char name[16], addr[16];

		snprintf(name, sizeof(name), "node-%02d", i);
		snprintf(addr, sizeof(addr), "10.10.0.%d", i + 1);
		j = mk_node(name, addr, true);
		assert_int_equal(lb_k8s_ctrl_event(c, LB_K8S_NODE, LB_K8S_ADDED, j, err,
			sizeof(err)), 0);
		json_object_put(j);
	}
	for (i = 0; i < 2 * N_SVC; i++) {
		assert_int_equal(lb_k8s_ctrl_event(c, i % 2 ? LB_K8S_SLICE : LB_K8S_SERVICE,
			LB_K8S_ADDED, list[i], err, sizeof(err)), 0);
		json_object_put(list[i]);
	}
	for (k = 0; k < LB_K8S_NKINDS; k++)
		lb_k8s_ctrl_relist_end(c, (enum lb_k8s_kind)k);
	t_list = ns_now() - t0;
	n_pass = passes(c, &t_map, &t_pass);
	assert_int_equal(n_pass, N_SVC / BATCH);
	publish(c, NULL, NULL);
	lb_k8s_ctrl_stats(c, &a);
	assert_int_equal(a.services, N_SVC);
	assert_int_equal(a.frontends, 2 * N_SVC);
	assert_int_equal(a.published_version, a.model_version);

	/* Slice changes: one endpoint of one Local Service turns not ready.
	 * The JSON is parsed beforehand (the API client's work). */
	for (r = 0; r < ROUNDS; r++)
		slices[r] = slice_json((r * 14 + 1) % N_SVC, r % N_EP, 100 + r);
	lb_k8s_ctrl_stats(c, &a);
	for (r = 0; r < ROUNDS; r++) {
		t0 = ns_now();
		assert_int_equal(lb_k8s_ctrl_event(c, LB_K8S_SLICE, LB_K8S_MODIFIED, slices[r], err,
			sizeof(err)), 0);
		ev.v[ev.n++] = ns_now() - t0;
		t0 = ns_now();
		assert_int_equal(lb_k8s_ctrl_process(c, 2, 2), 1);
		proc.v[proc.n++] = ns_now() - t0;
		publish(c, &model, &pub);
		json_object_put(slices[r]);
	}
	lb_k8s_ctrl_stats(c, &b);
	/* One Service re-mapped per change, its two frontends rebuilt, nothing else. */
	assert_int_equal(b.remaps - a.remaps, ROUNDS);
	assert_int_equal(b.fes_built - a.fes_built, 2 * ROUNDS);
	assert_int_equal(b.fes_reused - a.fes_reused, 0);

	/* Node changes: one node flips readiness; the 500 Cluster Services
	 * are re-mapped, the 500 Local ones are not touched. */
	for (r = 0; r < ROUNDS / 10; r++) {
		char rv[16];

		snprintf(rv, sizeof(rv), "%d", 1000 + r);
		nodes[r] = mk_node("node-03", "10.10.0.4", r % 2 == 1);
		jset(nodes[r], "metadata.resourceVersion", json_object_new_string(rv));
	}
	lb_k8s_ctrl_stats(c, &a);
	for (r = 0; r < ROUNDS / 10; r++) {
		assert_int_equal(lb_k8s_ctrl_event(c, LB_K8S_NODE, LB_K8S_MODIFIED, nodes[r], err,
			sizeof(err)), 0);
		assert_int_equal(passes(c, &node_proc.v[node_proc.n], &t0), N_SVC / 2 / BATCH);
		node_proc.n++;
		if (t0 > t_node_pass)
			t_node_pass = t0;
		publish(c, NULL, NULL);
		json_object_put(nodes[r]);
	}
	lb_k8s_ctrl_stats(c, &b);
	assert_int_equal(b.remaps - a.remaps, (uint64_t)(ROUNDS / 10) * N_SVC / 2);
	assert_int_equal(b.node_remaps - a.node_remaps, ROUNDS / 10);

	print_message("lib/k8s at %d Services x %d endpoints, %d nodes, %u frontends:\n", N_SVC,
		N_EP, N_NODE, 2 * N_SVC);
	print_message("  initial list: decode + store %.1f ms; first map of everything %.1f ms "
		"in %u passes of %d Services, longest pass %.1f ms\n", t_list / 1e6, t_map / 1e6,
		n_pass, BATCH, t_pass / 1e6);
	report("slice change: decode + store", &ev);
	report("slice change: re-map (process)", &proc);
	report("model assembly (2000 frontends)", &model);
	report("publication bookkeeping", &pub);
	report("node change: re-map 500 Cluster Services", &node_proc);
	print_message("  (node change: %d passes each, longest pass %.1f ms)\n", N_SVC / 2 / BATCH,
		t_node_pass / 1e6);
	lb_k8s_ctrl_free(c);
}

/* sync_budget_us bounds one process call by time whatever the count: with a
 * budget of 1 us every call syncs one Service and defers the rest; with no
 * budget and no batch, one call syncs them all. */
static void
test_sync_budget(void **state)
{
	enum { N = 40 };
	struct lb_model_pool pool = { .name = "p", .auto_assign = true, .n_ranges = 1 };
	struct lb_ip_range range;
	struct lb_k8s_stats st;
	char err[256];
	int round;

	(void)state;
	assert_int_equal(lb_ip_parse("198.18.0.0", &range.first), 0);
	assert_int_equal(lb_ip_parse("198.18.15.255", &range.last), 0);
	pool.ranges = &range;
	for (round = 0; round < 2; round++) {
		struct lb_k8s_conf conf = {
			.lb_class = "lbd.io/lbd", .map = { .maglev_size = 251 },
			.backoff_min_ms = 100, .backoff_max_ms = 1000, .instance = "perf",
			.seed = 1, .sync_budget_us = round == 0 ? 1 : 0,
		};
		struct lb_k8s_ctrl *c = lb_k8s_ctrl_new(&conf, &pool, 1);
		struct json_object *j;
		uint64_t total, longest;
		int i, k;

		assert_non_null(c);
		for (k = 0; k < LB_K8S_NKINDS; k++)
			lb_k8s_ctrl_relist_begin(c, (enum lb_k8s_kind)k);
		j = mk_node("node-00", "10.10.0.1", true);
		assert_int_equal(lb_k8s_ctrl_event(c, LB_K8S_NODE, LB_K8S_ADDED, j, err,
			sizeof(err)), 0);
		json_object_put(j);
		for (i = 0; i < N; i++) {
			j = svc_json(i);
			assert_int_equal(lb_k8s_ctrl_event(c, LB_K8S_SERVICE, LB_K8S_ADDED, j, err,
				sizeof(err)), 0);
			json_object_put(j);
			j = slice_json(i, -1, 1);
			assert_int_equal(lb_k8s_ctrl_event(c, LB_K8S_SLICE, LB_K8S_ADDED, j, err,
				sizeof(err)), 0);
			json_object_put(j);
		}
		for (k = 0; k < LB_K8S_NKINDS; k++)
			lb_k8s_ctrl_relist_end(c, (enum lb_k8s_kind)k);
		assert_int_equal(passes(c, &total, &longest), round == 0 ? N : 1);
		lb_k8s_ctrl_stats(c, &st);
		assert_int_equal(st.remaps, N);
		assert_int_equal(st.sync_deferrals, round == 0 ? N - 1 : 0);
		lb_k8s_ctrl_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_sync_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
