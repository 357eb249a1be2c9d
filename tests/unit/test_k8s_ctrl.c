/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/k8s: the controller against a fake API server (k8s_fake.h). */
#include "lb_config.h"
#include "k8s_fake.h"

static void
add_web(struct fake *f, const char *name, const char *policy)
{
	struct json_object *sl;

	fput(f, mk_svc("a", name, policy, NULL));
	sl = mk_slice("a", name, name, "IPv4", eps_text((const char *const[]){ "10.244.0.1",
		"10.244.0.2", NULL }), NULL);
	fdeliver(f, LB_K8S_SLICE, LB_K8S_ADDED, sl);
	json_object_put(sl);
}

static const struct lb_model_fe *
model_fe(struct fake *f, const char *name)
{
	return f->model != NULL ? lb_model_find(f->model, name) : NULL;
}

/* Nothing happens before all three kinds are listed (fail static). */
static void
test_waits_for_sync(void **state)
{
	struct lb_k8s_conf conf = fconf();
	struct lb_k8s_ctrl *c = lb_k8s_ctrl_new(&conf, NULL, 0);
	struct json_object *j = mk_svc("a", "web", "Cluster", NULL);
	struct lb_k8s_stats st;
	char err[128];

	(void)state;
	assert_non_null(c);
	assert_int_equal(lb_k8s_ctrl_event(c, LB_K8S_SERVICE, LB_K8S_ADDED, j, err, sizeof(err)),
		0);
	lb_k8s_ctrl_relist_end(c, LB_K8S_SERVICE);
	lb_k8s_ctrl_relist_end(c, LB_K8S_NODE);
	assert_int_equal(lb_k8s_ctrl_process(c, 1, 1), 0);
	assert_null(lb_k8s_ctrl_next_action(c));
	lb_k8s_ctrl_stats(c, &st);
	assert_false(st.synced);
	assert_false(lb_k8s_ctrl_synced(c));
	lb_k8s_ctrl_relist_end(c, LB_K8S_SLICE);
	lb_k8s_ctrl_process(c, 2, 2);
	lb_k8s_ctrl_stats(c, &st);
	assert_true(st.synced);
	assert_true(lb_k8s_ctrl_synced(c));
	assert_int_equal(st.services, 1);
	/* No pools: a pending Service with an Event, no finalizer written. */
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.alloc_failures, 1);
	json_object_put(j);
	lb_k8s_ctrl_free(c);
	conf.lb_class = NULL;
	assert_null(lb_k8s_ctrl_new(&conf, NULL, 0));
}

/* A Service appears: address, finalizer first, then the frontends, then
 * (once published) the status with ipMode Proxy. */
static void
test_lifecycle(void **state)
{
	struct fake f;
	struct json_object *s;
	const struct lb_model_fe *fe;
	int i;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "web", "Cluster");
	f.hold = true;
	fsync(&f);
	/* Only the finalizer (and the assignment Event): nothing is served yet. */
	assert_int_equal(f.n_held, 2);
	assert_int_equal(f.held[0]->kind, LB_K8S_ACT_EVENT);
	assert_int_equal(f.held[1]->kind, LB_K8S_ACT_ADD_FINALIZER);
	assert_string_equal(f.held[1]->path, "/api/v1/namespaces/a/services/web");
	assert_string_equal(f.held[1]->body, "{\"metadata\":{\"finalizers\":["
		"\"service.kubernetes.io/load-balancer-cleanup\"],\"resourceVersion\":\"101\"}}");
	assert_int_equal(f.model->n_fes, 0);
	assert_string_equal(fview(&f, "a", "web"), "a/web 192.0.2.10 pending fes=0/0 nofin "
		"waiting for the finalizer service.kubernetes.io/load-balancer-cleanup");
	f.hold = false;
	frelease(&f);
	fsync(&f);
	fe = model_fe(&f, "a/web:http");
	assert_non_null(fe);
	assert_int_equal(fe->n_targets, 2);
	assert_int_equal(fe->method, LB_METHOD_FULLNAT);
	s = fsvc(&f, "a", "web");
	assert_string_equal(jstr(s, "status.loadBalancer.ingress[0].ip"), "192.0.2.10");
	assert_string_equal(jstr(s, "status.loadBalancer.ingress[0].ipMode"), "Proxy");
	assert_int_equal(json_object_get_int(jget(s, "status.loadBalancer.ingress[0].ports[0].port")),
		80);
	assert_string_equal(jstr(s, "status.loadBalancer.ingress[0].ports[0].protocol"), "TCP");
	assert_string_equal(jstr(s, "metadata.finalizers[0]"), LB_K8S_FINALIZER);
	assert_string_equal(fview(&f, "a", "web"), "a/web 192.0.2.10 serving fes=1/1 fin");
	i = flog_find(&f, 0, "EVENT a/web Normal AddressAssigned: 192.0.2.10 (pool public)");
	assert_true(i >= 0);
	/* Settled: a pass with nothing new does nothing. */
	i = f.n_log;
	fsync(&f);
	assert_int_equal(f.n_log, i);
	fake_fini(&f);
}

/* Deleted: frontends out, snapshot published, then the address and the
 * finalizer go, and the address serves the next Service. */
static void
test_delete(void **state)
{
	struct fake f;
	struct lb_ipam_result res;
	uint64_t v;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "web", "Local");
	fsync(&f);
	assert_non_null(model_fe(&f, "a/web:http"));
	fdelete(&f, "a", "web");
	/* The withdrawal is in the model but not yet published: the finalizer stays. */
	assert_int_equal(lb_k8s_ctrl_process(f.c, f.now, f.wall), 1);
	assert_null(lb_k8s_ctrl_next_action(f.c));
	lb_ipam_lookup(lb_k8s_ctrl_ipam(f.c), "a/web", &res);
	assert_int_equal(res.n, 1);
	assert_string_equal(fview(&f, "a", "web"), "a/web 192.0.2.10 withdrawing fes=0/0 fin "
		"being deleted");
	/* A publication of an older version changes nothing. */
	v = f.published;
	lb_k8s_ctrl_published(f.c, v, NULL, 0);
	lb_k8s_ctrl_process(f.c, f.now, f.wall);
	assert_null(lb_k8s_ctrl_next_action(f.c));
	fsync(&f);
	assert_int_equal(flog_count(&f, "remove-finalizer a/web"), 1);
	assert_null(fsvc(&f, "a", "web"));
	assert_string_equal(fview(&f, "a", "web"), "(none)");
	lb_ipam_lookup(lb_k8s_ctrl_ipam(f.c), "a/web", &res);
	assert_int_equal(res.n, 0);
	assert_int_equal(f.model->n_fes, 0);
	add_web(&f, "next", "Cluster");
	fsync(&f);
	assert_string_equal(fview(&f, "a", "next"), "a/next 192.0.2.10 serving fes=1/1 fin");
	fake_fini(&f);
}

/* Type LoadBalancer -> ClusterIP: withdrawn, ingress cleared, finalizer
 * removed; a class that is not ours is never touched. */
static void
test_type_and_class_change(void **state)
{
	struct fake f;
	struct json_object *j;
	int writes;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "web", "Cluster");
	fsync(&f);
	j = mk_svc("a", "web", "Cluster", NULL);
	jset(j, "spec.type", json_object_new_string("ClusterIP"));
	jset(j, "spec.loadBalancerClass", NULL);
	fput(&f, j);
	fsync(&f);
	j = fsvc(&f, "a", "web");
	assert_int_equal(json_object_array_length(jget(j, "status.loadBalancer.ingress")), 0);
	assert_int_equal(json_object_array_length(jget(j, "metadata.finalizers")), 0);
	assert_true(flog_find(&f, 0, "clear-status a/web status \"ingress\":[]") >= 0);
	assert_string_equal(fview(&f, "a", "web"), "(none)");
	assert_int_equal(f.model->n_fes, 0);

	/* Another class, or none (class_less off): no writes at all. */
	writes = f.n_writes;
	j = mk_svc("a", "theirs", "Cluster", NULL);
	jset(j, "spec.loadBalancerClass", json_object_new_string("example.com/other"));
	fput(&f, j);
	j = mk_svc("a", "classless", "Cluster", NULL);
	jset(j, "spec.loadBalancerClass", NULL);
	jset(j, "metadata.finalizers", J("['service.kubernetes.io/load-balancer-cleanup']"));
	fput(&f, j);
	fsync(&f);
	assert_int_equal(f.n_writes, writes);
	assert_string_equal(fview(&f, "a", "theirs"), "(none)");
	assert_string_equal(fview(&f, "a", "classless"), "(none)");
	fake_fini(&f);
}

static void
test_class_less(void **state)
{
	struct lb_k8s_conf conf = fconf();
	struct fake f;
	struct json_object *j;

	(void)state;
	conf.class_less = true;
	fake_init(&f, &conf);
	j = mk_svc("a", "plain", "Cluster", NULL);
	jset(j, "spec.loadBalancerClass", NULL);
	fput(&f, j);
	fsync(&f);
	assert_string_equal(fview(&f, "a", "plain"), "a/plain 192.0.2.10 serving fes=1/1 fin");
	fake_fini(&f);
}

/* A status write based on a stale resourceVersion: 409, re-read, write again. */
static void
test_conflict_409(void **state)
{
	struct fake f;
	struct json_object *s;
	int i;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "web", "Cluster");
	f.hold = true;
	fsync(&f);
	f.hold = false;
	frelease(&f);	/* finalizer */
	f.hold = true;
	fsync(&f);	/* frontends in, published: the status write is held */
	assert_int_equal(f.n_held, 1);
	assert_int_equal(f.held[0]->kind, LB_K8S_ACT_WRITE_STATUS);
	/* Meanwhile someone else changes the Service; our watch lags. */
	f.watch_lag = true;
	jset_key(fsvc(&f, "a", "web"), "labels", "team", "blue");
	fbump(&f, fsvc(&f, "a", "web"));
	f.hold = false;
	frelease(&f);
	f.watch_lag = false;
	fsync(&f);
	i = flog_find(&f, 0, "-> 409");
	assert_true(i >= 0);
	assert_true(flog_find(&f, i, "get a/web") > i);
	assert_true(flog_find(&f, i, "write-status a/web") > i);
	s = fsvc(&f, "a", "web");
	assert_string_equal(jstr(s, "status.loadBalancer.ingress[0].ip"), "192.0.2.10");
	assert_string_equal(jstr(s, "metadata.labels.team"), "blue");
	fake_fini(&f);
}

/* Errors back off (exponentially, with jitter) and never withdraw. */
static void
test_backoff(void **state)
{
	struct fake f;
	struct lb_k8s_stats st;
	uint64_t wake;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "web", "Cluster");
	f.fail_status = 503;
	f.fail_count = 1;
	fsync(&f);
	/* The finalizer write failed: pending with the error, a timer set. */
	assert_int_equal(flog_count(&f, "add-finalizer"), 1);
	wake = lb_k8s_ctrl_next_wakeup(f.c);
	assert_true(wake >= f.now + 80 && wake <= f.now + 120);
	f.now = wake - 1;
	fsync(&f);
	assert_int_equal(flog_count(&f, "add-finalizer"), 1);
	/* Two more failures: 200 ms, then 400 ms (+-20%). */
	f.fail_count = 2;
	f.fail_status = 0;	/* no answer at all */
	f.now = wake;
	fsync(&f);
	wake = lb_k8s_ctrl_next_wakeup(f.c);
	assert_true(wake >= f.now + 160 && wake <= f.now + 240);
	f.now = wake;
	fsync(&f);
	wake = lb_k8s_ctrl_next_wakeup(f.c);
	assert_true(wake >= f.now + 320 && wake <= f.now + 480);
	assert_non_null(strstr(fview(&f, "a", "web"), "add-finalizer: no answer from the API "
		"server"));
	f.now = wake;
	fsync(&f);
	assert_string_equal(fview(&f, "a", "web"), "a/web 192.0.2.10 serving fes=1/1 fin");
	lb_k8s_ctrl_stats(f.c, &st);
	assert_int_equal(st.results_failed, 3);
	/* Now the API fails every write: forwarding stays as it is. */
	f.fail_count = 1000;
	f.fail_status = 500;
	fput(&f, mk_svc("a", "web", "Cluster", "[{'name':'http','port':80,'nodePort':30080},"
		"{'name':'alt','port':8080,'nodePort':30081}]"));
	fsync(&f);
	assert_non_null(model_fe(&f, "a/web:http"));
	assert_non_null(model_fe(&f, "a/web:alt"));
	fake_fini(&f);
}

/* Pool exhausted: an Event, rate-limited; an address freed: served. */
static void
test_exhausted_and_events(void **state)
{
	struct fake f;
	int n;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "s1", "Cluster");
	add_web(&f, "s2", "Cluster");
	add_web(&f, "s3", "Cluster");
	add_web(&f, "s4", "Cluster");
	fsync(&f);
	assert_string_equal(fview(&f, "a", "s4"), "a/s4 - pending fes=0/0 nofin every address "
		"pool with auto_assign is out of IPv4 addresses");
	n = flog_count(&f, "EVENT a/s4 Warning AllocationFailed");
	assert_int_equal(n, 1);
	/* Edits within the interval: no new Event. */
	fput(&f, mk_svc("a", "s4", "Local", NULL));
	fsync(&f);
	assert_int_equal(flog_count(&f, "EVENT a/s4 Warning AllocationFailed"), 1);
	f.now += 60000;
	fput(&f, mk_svc("a", "s4", "Cluster", NULL));
	fsync(&f);
	assert_int_equal(flog_count(&f, "EVENT a/s4 Warning AllocationFailed"), 2);
	/* s2 goes: s4 gets its address without being touched. */
	fdelete(&f, "a", "s2");
	fsync(&f);
	assert_string_equal(fview(&f, "a", "s4"), "a/s4 192.0.2.11 serving fes=1/1 fin");
	fake_fini(&f);
}

/* Requested addresses, sharing keys and model-merge conflicts. */
static void
test_requests_and_sharing(void **state)
{
	struct fake f;
	struct json_object *j;

	(void)state;
	fake_init(&f, NULL);
	j = mk_svc("a", "dns-udp", "Cluster", "[{'port':53,'protocol':'UDP','nodePort':30053}]");
	jset_key(j, "annotations", LB_K8S_ANN_METALLB_IPS, "192.0.2.12");
	jset_key(j, "annotations", LB_K8S_ANN_METALLB_SHARE, "dns");
	fput(&f, j);
	fsync(&f);
	j = mk_svc("a", "dns-tcp", "Cluster", "[{'port':53,'protocol':'TCP','nodePort':30054}]");
	jset_key(j, "annotations", LB_K8S_ANN_SHARING, "dns");
	fput(&f, j);
	fsync(&f);
	/* Asks for the shared address, same key, but a colliding port. */
	j = mk_svc("a", "dns-dup", "Cluster", "[{'port':53,'protocol':'TCP','nodePort':30055}]");
	jset_key(j, "annotations", LB_K8S_ANN_SHARING, "dns");
	jset_key(j, "annotations", LB_K8S_ANN_ADDRESSES, "192.0.2.12");
	fput(&f, j);
	j = mk_svc("a", "outside", "Cluster", NULL);
	jset(j, "spec.loadBalancerIP", json_object_new_string("203.0.113.9"));
	fput(&f, j);
	fsync(&f);
	assert_string_equal(fview(&f, "a", "dns-udp"), "a/dns-udp 192.0.2.12 serving fes=1/1 fin");
	assert_string_equal(fview(&f, "a", "dns-tcp"), "a/dns-tcp 192.0.2.12 serving fes=1/1 fin");
	assert_string_equal(fview(&f, "a", "dns-dup"), "a/dns-dup - pending fes=0/0 nofin "
		"address 192.0.2.12 is shared with a/dns-tcp, which also serves tcp port 53");
	assert_string_equal(fview(&f, "a", "outside"), "a/outside - pending fes=0/0 nofin "
		"address 203.0.113.9 is in no address pool");
	assert_true(flog_find(&f, 0, "EVENT a/outside Warning AllocationFailed: address "
		"203.0.113.9 is in no address pool") >= 0);

	/* The glue's merge drops a frontend (a static one serves that VIP:port):
	 * an Event, and the status leaves the port out. */
	f.drop_fe = "a/web:alt";
	fput(&f, mk_svc("a", "web", "Cluster", "[{'name':'http','port':80,'nodePort':30080},"
		"{'name':'alt','port':8080,'nodePort':30081}]"));
	fsync(&f);
	assert_true(flog_find(&f, 0, "EVENT a/web Warning FrontendConflict: tcp 192.0.2.10 port "
		"80 is already served by static") >= 0);
	j = fsvc(&f, "a", "web");
	assert_int_equal(json_object_array_length(jget(j, "status.loadBalancer.ingress[0].ports")),
		1);
	assert_int_equal(json_object_get_int(jget(j, "status.loadBalancer.ingress[0].ports[0].port")),
		80);
	assert_non_null(strstr(fview(&f, "a", "web"), "serving fes=1/2 fin"));
	/* The conflict goes away: the port appears in the status. */
	f.drop_fe = NULL;
	lb_model_free(f.model);
	f.model = NULL;
	fsync(&f);
	assert_int_equal(json_object_array_length(jget(j, "status.loadBalancer.ingress[0].ports")),
		2);
	fake_fini(&f);
}

/* Dual stack: IPv4 served, an Event about IPv6; IPv6 only: pending. */
static void
test_ipv6_families(void **state)
{
	struct fake f;
	struct json_object *j;

	(void)state;
	fake_init(&f, NULL);
	j = mk_svc("a", "ds", "Cluster", NULL);
	jset(j, "spec.ipFamilies", J("['IPv6','IPv4']"));
	jset(j, "spec.ipFamilyPolicy", J("'RequireDualStack'"));
	fput(&f, j);
	j = mk_svc("a", "v6", "Cluster", NULL);
	jset(j, "spec.ipFamilies", J("['IPv6']"));
	fput(&f, j);
	fsync(&f);
	assert_string_equal(fview(&f, "a", "ds"), "a/ds 192.0.2.10 serving fes=1/1 fin");
	assert_true(flog_find(&f, 0, "EVENT a/ds Warning IPv6NotServed: IPv6 is not served yet") >= 0);
	assert_string_equal(fview(&f, "a", "v6"), "a/v6 - pending fes=0/0 nofin IPv6 is not served "
		"yet (the Service's ipFamilies has no IPv4)");
	assert_int_equal(flog_count(&f, "a/v6 Warning IPv6NotServed"), 1);
	fake_fini(&f);
}

/* A node change re-maps Cluster Services only; a Local Service keeps its
 * frontend object (the snapshot reuses its Maglev table). */
static void
test_node_change_incremental(void **state)
{
	struct fake f;
	const struct lb_model_fe *local, *cluster;
	struct json_object *n;
	struct lb_k8s_stats st;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "c", "Cluster");
	add_web(&f, "l", "Local");
	fsync(&f);
	local = model_fe(&f, "a/l:http");
	cluster = model_fe(&f, "a/c:http");
	assert_int_equal(cluster->n_targets, 2);
	n = mk_node("node-b", "10.10.1.12", false);
	fdeliver(&f, LB_K8S_NODE, LB_K8S_MODIFIED, n);
	json_object_put(n);
	fsync(&f);
	assert_ptr_equal(model_fe(&f, "a/l:http"), local);
	assert_ptr_not_equal(model_fe(&f, "a/c:http"), cluster);
	assert_int_equal(model_fe(&f, "a/c:http")->n_targets, 1);
	lb_k8s_ctrl_stats(f.c, &st);
	assert_int_equal(st.node_remaps, 1);
	/* Status did not change (same VIP, same port): no write. */
	assert_int_equal(flog_count(&f, "write-status a/c"), 1);
	fake_fini(&f);
}

/* After a restart, every Service keeps the address its status holds, new
 * ones get the rest, and nothing is rewritten. */
static void
test_restart_recovery(void **state)
{
	struct fake f, g;
	int i, k;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "a1", "Cluster");
	add_web(&f, "a2", "Cluster");
	add_web(&f, "a3", "Cluster");
	fsync(&f);
	fdelete(&f, "a", "a1");
	fsync(&f);
	/* A new Service, created while lbd is down, sorts before a2 and a3. */
	fake_init(&g, NULL);
	g.rv = f.rv;
	for (i = 0; i < f.n; i++) {
		g.svc[g.n++] = json_object_get(f.svc[i]);
		fdeliver(&g, LB_K8S_SERVICE, LB_K8S_ADDED, f.svc[i]);
	}
	fput(&g, mk_svc("a", "a0", "Cluster", NULL));
	for (k = 0; k < LB_K8S_NKINDS; k++)
		lb_k8s_ctrl_relist_end(g.c, (enum lb_k8s_kind)k);
	g.hold = true;
	fsync(&g);
	/* a2 and a3 are in the very first model, with their addresses. */
	assert_non_null(model_fe(&g, "a/a2:http"));
	assert_non_null(model_fe(&g, "a/a3:http"));
	assert_string_equal(fview(&g, "a", "a2"), "a/a2 192.0.2.11 serving fes=1/1 fin");
	assert_string_equal(fview(&g, "a", "a3"), "a/a3 192.0.2.12 serving fes=1/1 fin");
	assert_string_equal(fview(&g, "a", "a0"), "a/a0 192.0.2.10 pending fes=0/0 nofin "
		"waiting for the finalizer service.kubernetes.io/load-balancer-cleanup");
	for (i = 0; i < g.n_held; i++)
		assert_true(g.held[i]->kind == LB_K8S_ACT_EVENT || strcmp(g.held[i]->name, "a0") == 0);
	g.hold = false;
	frelease(&g);
	fsync(&g);
	assert_string_equal(fview(&g, "a", "a0"), "a/a0 192.0.2.10 serving fes=1/1 fin");
	fake_fini(&f);
	fake_fini(&g);
}

/* Silence, garbage and failed lists withdraw nothing. */
static void
test_fail_static(void **state)
{
	struct fake f;
	struct json_object *bad;
	char err[256];
	uint64_t v;

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "web", "Local");
	fsync(&f);
	v = lb_k8s_ctrl_model_version(f.c);
	/* Garbage for the Service and its slice. */
	bad = mk_svc("a", "web", "Local", "[{'port':'x'}]");
	assert_int_equal(lb_k8s_ctrl_event(f.c, LB_K8S_SERVICE, LB_K8S_MODIFIED, bad, err,
		sizeof(err)), -EINVAL);
	json_object_put(bad);
	bad = mk_slice("a", "web", "web", "IPv4", "[{'addresses':['10.0.0.300']}]", NULL);
	assert_int_equal(lb_k8s_ctrl_event(f.c, LB_K8S_SLICE, LB_K8S_MODIFIED, bad, err,
		sizeof(err)), -EINVAL);
	json_object_put(bad);
	/* A relist that starts and never ends (the connection dropped). */
	lb_k8s_ctrl_relist_begin(f.c, LB_K8S_SLICE);
	lb_k8s_ctrl_relist_begin(f.c, LB_K8S_NODE);
	f.now += 3600 * 1000;
	fsync(&f);
	assert_int_equal(lb_k8s_ctrl_model_version(f.c), v);
	assert_int_equal(model_fe(&f, "a/web:http")->n_targets, 2);
	/* The list completes, without the slice: that is an explicit change. */
	lb_k8s_ctrl_relist_end(f.c, LB_K8S_SLICE);
	fsync(&f);
	assert_int_equal(model_fe(&f, "a/web:http")->n_targets, 0);
	fake_fini(&f);
}

/* Pools reload: refused while an address in use would leave; grown: a
 * pending Service is served. */
static void
test_pools_reload(void **state)
{
	struct lb_model_pool p;
	struct lb_ip_range r;
	struct fake f;
	char err[256];

	(void)state;
	fake_init(&f, NULL);
	add_web(&f, "s1", "Cluster");
	add_web(&f, "s2", "Cluster");
	add_web(&f, "s3", "Cluster");
	add_web(&f, "s4", "Cluster");
	fsync(&f);
	fpool(&p, &r, "public", "192.0.2.11", "192.0.2.20");
	assert_int_equal(lb_k8s_ctrl_check_pools(f.c, &p, 1, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "address 192.0.2.10 (held by a/s1) is in no pool of the new "
		"configuration");
	fpool(&p, &r, "public", "192.0.2.10", "192.0.2.20");
	assert_int_equal(lb_k8s_ctrl_check_pools(f.c, &p, 1, err, sizeof(err)), 0);
	assert_int_equal(lb_k8s_ctrl_set_pools(f.c, &p, 1), 0);
	fsync(&f);
	assert_string_equal(fview(&f, "a", "s4"), "a/s4 192.0.2.13 serving fes=1/1 fin");
	assert_string_equal(fview(&f, "a", "s1"), "a/s1 192.0.2.10 serving fes=1/1 fin");
	fake_fini(&f);
}

/* Resync re-checks status: a status someone else cleared is rewritten. */
static void
test_resync(void **state)
{
	struct lb_k8s_conf conf = fconf();
	struct fake f;
	struct json_object *s;

	(void)state;
	conf.resync_ms = 10000;
	fake_init(&f, &conf);
	add_web(&f, "web", "Cluster");
	fsync(&f);
	/* Cleared behind lbd's back, and the watch missed it. */
	f.watch_lag = true;
	s = fsvc(&f, "a", "web");
	jset(s, "status", J("{'loadBalancer':{}}"));
	fbump(&f, s);
	fdeliver(&f, LB_K8S_SERVICE, LB_K8S_MODIFIED, s);
	f.watch_lag = false;
	fsync(&f);
	/* The same content was written once already: wait for the resync. */
	assert_null(jget(s, "status.loadBalancer.ingress"));
	assert_int_equal(lb_k8s_ctrl_next_wakeup(f.c), 11000);
	f.now = 11000;
	fsync(&f);
	assert_string_equal(jstr(s, "status.loadBalancer.ingress[0].ip"), "192.0.2.10");
	fake_fini(&f);
}

/* Responses that carry the object save waiting for the watch. */
static void
test_response_bodies(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, NULL);
	f.return_body = true;
	f.watch_lag = true;
	add_web(&f, "web", "Cluster");
	fdeliver(&f, LB_K8S_SERVICE, LB_K8S_ADDED, fsvc(&f, "a", "web"));
	fsync(&f);
	assert_string_equal(fview(&f, "a", "web"), "a/web 192.0.2.10 serving fes=1/1 fin");
	fake_fini(&f);
}

/* config/k8s.conf drives a controller: its class, pools and settings. */
static void
test_from_config(void **state)
{
	struct lb_config *cfg;
	struct lb_k8s_conf conf;
	struct lb_ipam_pool_stats ps;
	struct fake f;
	struct json_object *j;
	char err[256];
	int k;

	(void)state;
	cfg = lb_config_load(LB_SOURCE_ROOT "/config/k8s.conf", err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	lb_k8s_conf_from_config(&conf, cfg, "lbd-1");
	assert_string_equal(conf.lb_class, "lbd.io/lbd");
	assert_int_equal(conf.map.maglev_size, 65537);
	assert_int_equal(conf.resync_ms, 300000);
	assert_int_equal(conf.event_interval_ms, 300000);
	assert_int_equal(conf.backoff_max_ms, 30000);
	assert_int_equal(conf.sync_batch, 50);
	assert_int_equal(conf.sync_budget_us, LB_K8S_SYNC_BUDGET_US);
	memset(&f, 0, sizeof(f));
	f.c = lb_k8s_ctrl_new(&conf, cfg->pools, cfg->n_pools);
	lb_config_free(cfg);	/* the controller keeps copies */
	assert_non_null(f.c);
	assert_int_equal(lb_ipam_pool_stats(lb_k8s_ctrl_ipam(f.c), 1, &ps), 0);
	assert_string_equal(ps.name, "reserved");
	assert_int_equal(ps.size, 20);
	assert_false(ps.auto_assign);
	f.now = 1;
	f.rv = 1;
	for (k = 0; k < LB_K8S_NKINDS; k++)
		lb_k8s_ctrl_relist_end(f.c, (enum lb_k8s_kind)k);
	fput(&f, mk_svc("a", "web", "Cluster", NULL));
	j = mk_svc("a", "pinned", "Cluster", NULL);
	jset_key(j, "annotations", LB_K8S_ANN_POOL, "reserved");
	fput(&f, j);
	fsync(&f);
	assert_string_equal(fview(&f, "a", "web"), "a/web 203.0.113.64 serving fes=1/1 fin");
	assert_string_equal(fview(&f, "a", "pinned"), "a/pinned 203.0.113.200 serving fes=1/1 fin");
	fake_fini(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waits_for_sync),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_type_and_class_change),
		cmocka_unit_test(test_class_less),
		cmocka_unit_test(test_conflict_409),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_exhausted_and_events),
		cmocka_unit_test(test_requests_and_sharing),
		cmocka_unit_test(test_ipv6_families),
		cmocka_unit_test(test_node_change_incremental),
		cmocka_unit_test(test_restart_recovery),
		cmocka_unit_test(test_fail_static),
		cmocka_unit_test(test_pools_reload),
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_response_bodies),
		cmocka_unit_test(test_from_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
