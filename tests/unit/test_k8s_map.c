/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/k8s: the mapping rules (Service + slices + nodes -> frontends) and the
 * IPAM request a Service makes. */
#include "k8s_test.h"

static char err[512];

/* A store with the objects, the mapping's input built from it. */
struct env {
	struct lb_k8s_store *st;
	struct lb_k8s_nodes nodes;
	struct lb_k8s_map_conf conf;
	struct lb_k8s_map_out out;
	char notes[8][512];
	int n_notes;
};

static void
note(void *ctx, const char *reason, const char *msg)
{
	struct env *e = ctx;

	if (e->n_notes < 8)
		snprintf(e->notes[e->n_notes++], sizeof(e->notes[0]), "%s: %s", reason, msg);
}

static void
add(struct env *e, enum lb_k8s_kind k, struct json_object *j)
{
	if (lb_k8s_store_apply(e->st, k, LB_K8S_ADDED, j, err, sizeof(err)) != 0)
		fail_msg("apply: %s", err);
	json_object_put(j);
}

static void
env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->st = lb_k8s_store_new();
	e->conf.maglev_size = 4099;
}

static void
env_fini(struct env *e)
{
	lb_k8s_map_out_fini(&e->out);
	lb_k8s_nodes_fini(&e->nodes);
	lb_k8s_store_free(e->st);
}

static struct lb_ip
IP(const char *s)
{
	struct lb_ip ip;

	assert_int_equal(lb_ip_parse(s, &ip), 0);
	return ip;
}

/* Maps ns/name with the given VIPs (NULL-terminated). */
static int
map(struct env *e, const char *ns, const char *name, const char *const *vips)
{
	const struct lb_k8s_obj *const *sl;
	struct lb_k8s_map_in in = { 0 };

	lb_k8s_map_out_fini(&e->out);
	lb_k8s_nodes_fini(&e->nodes);
	assert_int_equal(lb_k8s_nodes_build(e->st, &e->nodes), 0);
	in.svc = lb_k8s_store_get(e->st, LB_K8S_SERVICE, ns, name);
	assert_non_null(in.svc);
	in.n_slices = lb_k8s_store_slices(e->st, ns, name, &sl);
	in.slices = sl;
	in.nodes = &e->nodes;
	while (vips[in.n_vips] != NULL) {
		in.vips[in.n_vips] = IP(vips[in.n_vips]);
		in.n_vips++;
	}
	in.conf = &e->conf;
	e->n_notes = 0;
	return lb_k8s_map_service(&in, &e->out, note, e);
}

static const char *const V4[] = { "192.0.2.10", NULL };

/* "addr:port[ T]" list of a frontend's targets, sorted as sealed. */
static const char *
targets(const struct lb_model_fe *fe)
{
	static char buf[2048];
	char a[LB_IP_STRLEN];
	size_t off = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < fe->n_targets; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s:%u%s", i ? " " : "",
			lb_ip_fmt(&fe->targets[i].addr, a), ntohs(fe->targets[i].port),
			fe->targets[i].flags & LB_MT_TERMINATING ? "(T)" : "");
	return buf;
}

static void
add_nodes(struct env *e)
{
	struct json_object *j;

	add(e, LB_K8S_NODE, mk_node("node-a", "10.10.1.11", true));
	add(e, LB_K8S_NODE, mk_node("node-b", "10.10.1.12", true));
	add(e, LB_K8S_NODE, mk_node("node-c", "10.10.1.13", false));	/* NotReady */
	j = mk_node("node-d", "10.10.1.14", true);
	jset_key(j, "labels", LB_K8S_LABEL_EXCLUDE_LB, "true");
	add(e, LB_K8S_NODE, j);
	j = mk_node("node-e", "10.10.1.15", true);
	jset(j, "metadata.deletionTimestamp", J("'2024-05-02T10:00:00Z'"));
	add(e, LB_K8S_NODE, j);
}

static void
test_cluster(void **state)
{
	struct env e;
	const struct lb_model_fe *fe;

	(void)state;
	env_init(&e);
	add_nodes(&e);
	add(&e, LB_K8S_SERVICE, jload("service-lb.json"));
	add(&e, LB_K8S_SLICE, jload("slice.json"));
	assert_int_equal(map(&e, "shop", "web", V4), 0);
	assert_int_equal(e.out.n_fes, 2);
	assert_true(e.out.uses_nodes);
	fe = e.out.fes[0];
	assert_string_equal(fe->name, "shop/web:http");
	assert_int_equal(fe->origin_kind, LB_ORIGIN_K8S);
	assert_string_equal(fe->origin, "k8s shop/web port http");
	assert_string_equal(fe->k8s_ns, "shop");
	assert_string_equal(fe->k8s_name, "web");
	assert_string_equal(fe->k8s_port, "http");
	assert_string_equal(fe->k8s_uid, "0f5d5c1e-7b7e-4b53-9d0e-3f1c7f9a2b11");
	assert_int_equal(fe->id, lb_model_fe_id("shop/web:http"));
	assert_int_equal(fe->proto, LB_PROTO_TCP);
	assert_int_equal(ntohs(fe->port), 80);
	assert_int_equal(fe->method, LB_METHOD_FULLNAT);
	assert_int_equal(fe->affinity, LB_AFFINITY_NONE);
	assert_int_equal(fe->maglev_size, 4099);
	assert_int_equal(fe->n_src_ranges, 0);
	/* Ready, not excluded, not being deleted: a and b, at the node port. */
	assert_string_equal(targets(fe), "10.10.1.11:31080 10.10.1.12:31080");
	assert_string_equal(fe->targets[0].node, "node-a");
	assert_string_equal(targets(e.out.fes[1]), "10.10.1.11:31443 10.10.1.12:31443");
	assert_int_equal(e.n_notes, 0);
	assert_false(e.nodes.ready_ignored);
	/* No node Ready at all (the control plane lost the kubelets): readiness
	 * is ignored, exclusion and deletion still count. */
	add(&e, LB_K8S_NODE, mk_node("node-a", "10.10.1.11", false));
	add(&e, LB_K8S_NODE, mk_node("node-b", "10.10.1.12", false));
	assert_int_equal(map(&e, "shop", "web", V4), 0);
	assert_true(e.nodes.ready_ignored);
	assert_string_equal(targets(e.out.fes[0]), "10.10.1.11:31080 10.10.1.12:31080 "
		"10.10.1.13:31080");
	/* One comes back: only it. */
	add(&e, LB_K8S_NODE, mk_node("node-c", "10.10.1.13", true));
	assert_int_equal(map(&e, "shop", "web", V4), 0);
	assert_false(e.nodes.ready_ignored);
	assert_string_equal(targets(e.out.fes[0]), "10.10.1.13:31080");
	env_fini(&e);
}

static void
test_local(void **state)
{
	struct env e;
	struct json_object *svc;
	const struct lb_model_fe *fe;

	(void)state;
	env_init(&e);
	add_nodes(&e);
	svc = jload("service-lb.json");
	jset(svc, "spec.externalTrafficPolicy", J("'Local'"));
	jset(svc, "spec.healthCheckNodePort", J("32100"));
	add(&e, LB_K8S_SERVICE, svc);
	add(&e, LB_K8S_SLICE, jload("slice.json"));
	/* A second slice: one endpoint also in the first (a pod moving between
	 * slices), unset conditions (ready), not ready, terminating; its port
	 * list is in another order, and has a port the Service does not name. */
	add(&e, LB_K8S_SLICE, mk_slice("shop", "web", "web-zz9", "IPv4",
		"[{'addresses':['10.244.2.9'],'conditions':{'ready':false}},"
		"{'addresses':['10.244.3.3']},"
		"{'addresses':['10.244.3.4'],'conditions':{'ready':false,'serving':false}},"
		"{'addresses':['10.244.3.5'],'conditions':{'ready':false,'serving':true,"
		"'terminating':true}},"
		"{'addresses':['10.244.3.6'],'conditions':{'ready':false,'serving':false,"
		"'terminating':true}}]",
		"[{'name':'metrics','port':9090},{'name':'https','port':8443},"
		"{'name':'http','port':8080}]"));
	/* A slice of another Service is not looked at. */
	add(&e, LB_K8S_SLICE, mk_slice("shop", "other", "other-1", "IPv4",
		eps_text((const char *const[]){ "10.244.9.9", NULL }), NULL));
	assert_int_equal(map(&e, "shop", "web", V4), 0);
	assert_int_equal(e.out.n_fes, 2);
	assert_false(e.out.uses_nodes);
	fe = e.out.fes[0];
	assert_int_equal(fe->method, LB_METHOD_DNAT);
	/* 10.244.2.9 ready in one slice, not ready in the other: ready wins.
	 * Terminating ones take no new flows while others are ready. */
	assert_string_equal(targets(fe), "10.244.1.17:8080 10.244.2.9:8080 10.244.3.3:8080 "
		"10.244.3.5:8080(T) 10.244.3.6:8080(T)");
	assert_string_equal(fe->targets[0].node, "node-a");
	assert_null(fe->targets[2].node);
	assert_string_equal(targets(e.out.fes[1]), "10.244.1.17:8443 10.244.2.9:8443 "
		"10.244.3.3:8443 10.244.3.5:8443(T) 10.244.3.6:8443(T)");
	env_fini(&e);
}

/* No ready endpoint: serving terminating ones take flows (KEP-1669); the
 * others keep their flows only. */
static void
test_graceful_termination(void **state)
{
	struct env e;

	(void)state;
	env_init(&e);
	add(&e, LB_K8S_SERVICE, mk_svc("a", "s", "Local", NULL));
	add(&e, LB_K8S_SLICE, mk_slice("a", "s", "s-1", "IPv4",
		"[{'addresses':['10.0.0.1'],'conditions':{'ready':false,'serving':true,"
		"'terminating':true}},{'addresses':['10.0.0.2'],'conditions':{'ready':false,"
		"'serving':false,'terminating':true}},{'addresses':['10.0.0.3'],'conditions':{"
		"'ready':false,'serving':false,'terminating':false}}]", NULL));
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_string_equal(targets(e.out.fes[0]), "10.0.0.1:8080 10.0.0.2:8080(T)");
	/* No endpoints at all: a frontend without targets (traffic is counted
	 * and dropped) rather than no frontend. */
	assert_int_equal(lb_k8s_store_delete(e.st, LB_K8S_SLICE, "a", "s-1"), 0);
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_int_equal(e.out.n_fes, 1);
	assert_int_equal(e.out.fes[0]->n_targets, 0);
	env_fini(&e);
}

/* allocateLoadBalancerNodePorts false: pods whatever the policy; the method
 * annotation overrides the default; an unknown one is a note. */
static void
test_no_node_ports_and_method(void **state)
{
	struct env e;
	struct json_object *svc;

	(void)state;
	env_init(&e);
	add_nodes(&e);
	svc = mk_svc("a", "s", "Cluster", "[{'name':'http','port':80}]");
	jset(svc, "spec.allocateLoadBalancerNodePorts", J("false"));
	add(&e, LB_K8S_SERVICE, svc);
	add(&e, LB_K8S_SLICE, mk_slice("a", "s", "s-1", "IPv4",
		eps_text((const char *const[]){ "10.244.0.7", NULL }), NULL));
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_string_equal(targets(e.out.fes[0]), "10.244.0.7:8080");
	assert_int_equal(e.out.fes[0]->method, LB_METHOD_DNAT);

	svc = mk_svc("a", "s", "Cluster", NULL);
	jset_key(svc, "annotations", LB_K8S_ANN_METHOD, "dnat");
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_string_equal(targets(e.out.fes[0]), "10.10.1.11:30080 10.10.1.12:30080");
	assert_int_equal(e.out.fes[0]->method, LB_METHOD_DNAT);

	svc = mk_svc("a", "s", "Local", NULL);
	jset_key(svc, "annotations", LB_K8S_ANN_METHOD, "FullNAT");
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_int_equal(e.out.fes[0]->method, LB_METHOD_FULLNAT);

	svc = mk_svc("a", "s", "Local", NULL);
	jset_key(svc, "annotations", LB_K8S_ANN_METHOD, "tunnel");
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_int_equal(e.out.fes[0]->method, LB_METHOD_DNAT);
	assert_int_equal(e.n_notes, 1);
	assert_string_equal(e.notes[0], "InvalidAnnotation: annotation lbd.io/method: \"tunnel\" "
		"is neither \"fullnat\" nor \"dnat\"; using the policy's method");
	env_fini(&e);
}

static void
test_ports_protocols_affinity(void **state)
{
	struct env e;
	struct json_object *svc;

	(void)state;
	env_init(&e);
	add_nodes(&e);
	svc = mk_svc("a", "dns", "Cluster", "[{'port':53,'protocol':'UDP','nodePort':30053}]");
	jset(svc, "spec.sessionAffinity", J("'ClientIP'"));
	jset(svc, "spec.sessionAffinityConfig", J("{'clientIP':{'timeoutSeconds':300}}"));
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "dns", V4), 0);
	assert_int_equal(e.out.n_fes, 1);
	/* Unnamed: the port number names it. */
	assert_string_equal(e.out.fes[0]->name, "a/dns:53");
	assert_string_equal(e.out.fes[0]->origin, "k8s a/dns port 53");
	assert_int_equal(e.out.fes[0]->proto, LB_PROTO_UDP);
	assert_int_equal(e.out.fes[0]->affinity, LB_AFFINITY_CLIENT_IP);
	assert_int_equal(e.out.fes[0]->affinity_timeout, 300);

	add(&e, LB_K8S_SERVICE, mk_svc("a", "mixed", "Cluster", "[{'name':'sig','port':5060,"
		"'protocol':'SCTP','nodePort':30060},{'name':'rtp','port':5004,'protocol':'UDP',"
		"'nodePort':30004},{'name':'web','port':443,'protocol':'TCP','nodePort':30443}]"));
	assert_int_equal(map(&e, "a", "mixed", V4), 0);
	assert_int_equal(e.out.n_fes, 2);
	assert_string_equal(e.out.fes[0]->name, "a/mixed:rtp");
	assert_string_equal(e.out.fes[1]->name, "a/mixed:web");
	assert_int_equal(e.n_notes, 1);
	assert_string_equal(e.notes[0], "UnsupportedProtocol: port sig: protocol SCTP is not "
		"supported (only TCP and UDP); the port is not served");
	env_fini(&e);
}

static const char *
ranges(const struct lb_model_fe *fe)
{
	static char buf[512];
	char p[LB_PREFIX_STRLEN];
	size_t off = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < fe->n_src_ranges; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "",
			lb_prefix_fmt(&fe->src_ranges[i], p));
	return buf;
}

static void
test_source_ranges(void **state)
{
	struct env e;
	struct json_object *svc;

	(void)state;
	env_init(&e);
	/* The annotation, with blanks and host bits (the API server allows them). */
	svc = mk_svc("a", "s", "Local", NULL);
	jset_key(svc, "annotations", LB_K8S_ANN_SOURCE_RANGES,
		" 198.51.100.7/24 ,192.0.2.1, 2001:db8::1/64");
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_string_equal(ranges(e.out.fes[0]), "198.51.100.0/24 192.0.2.1/32 2001:db8::/64");
	/* The field wins over the annotation. */
	svc = mk_svc("a", "s", "Local", NULL);
	jset_key(svc, "annotations", LB_K8S_ANN_SOURCE_RANGES, "10.0.0.0/8");
	jset(svc, "spec.loadBalancerSourceRanges", J("['203.0.113.0/25']"));
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "s", V4), 0);
	assert_string_equal(ranges(e.out.fes[0]), "203.0.113.0/25");
	/* Nonsense: not served (serving without the allow-list would open it). */
	svc = mk_svc("a", "s", "Local", NULL);
	jset_key(svc, "annotations", LB_K8S_ANN_SOURCE_RANGES, "10.0.0.0/8,everyone");
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "s", V4), -EINVAL);
	assert_int_equal(e.out.n_fes, 0);
	assert_string_equal(e.notes[0], "InvalidSourceRange: annotation service.beta.kubernetes.io/"
		"load-balancer-source-ranges: \"everyone\" is not a CIDR; the Service is not served "
		"until it is fixed");
	svc = mk_svc("a", "s", "Local", NULL);
	jset(svc, "spec.loadBalancerSourceRanges", J("['10.0.0.0/33']"));
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "s", V4), -EINVAL);
	env_fini(&e);
}

/* Dual stack, IPv6 pools and slices are kept family-aware: with IPv6
 * serving on, each family gets its frontends from its own slices and node
 * addresses. */
static void
test_dual_stack_mapping(void **state)
{
	static const char *const vips[] = { "192.0.2.10", "2001:db8:100::10", NULL };
	struct env e;
	struct json_object *svc, *node;

	(void)state;
	env_init(&e);
	node = mk_node("node-a", "10.10.1.11", true);
	jset(node, "status.addresses", J("[{'type':'InternalIP','address':'10.10.1.11'},"
		"{'type':'InternalIP','address':'fd00:10::11'}]"));
	add(&e, LB_K8S_NODE, node);
	svc = mk_svc("a", "ds", "Local", NULL);
	jset(svc, "spec.ipFamilies", J("['IPv4','IPv6']"));
	add(&e, LB_K8S_SERVICE, svc);
	add(&e, LB_K8S_SLICE, mk_slice("a", "ds", "ds-v4", "IPv4",
		eps_text((const char *const[]){ "10.244.0.5", NULL }), NULL));
	add(&e, LB_K8S_SLICE, mk_slice("a", "ds", "ds-v6", "IPv6",
		eps_text((const char *const[]){ "fd00:244::5", NULL }), NULL));
	e.conf.serve_ipv6 = true;
	assert_int_equal(map(&e, "a", "ds", vips), 0);
	assert_int_equal(e.out.n_fes, 2);
	assert_string_equal(e.out.fes[0]->name, "a/ds:http");
	assert_string_equal(targets(e.out.fes[0]), "10.244.0.5:8080");
	assert_string_equal(e.out.fes[1]->name, "a/ds:http/ipv6");
	assert_int_equal(e.out.fes[1]->vip.family, LB_AF_INET6);
	assert_string_equal(targets(e.out.fes[1]), "fd00:244::5:8080");
	/* Cluster: each family's node address. */
	svc = mk_svc("a", "ds", "Cluster", NULL);
	jset(svc, "spec.ipFamilies", J("['IPv4','IPv6']"));
	add(&e, LB_K8S_SERVICE, svc);
	assert_int_equal(map(&e, "a", "ds", vips), 0);
	assert_string_equal(targets(e.out.fes[0]), "10.10.1.11:30080");
	assert_string_equal(targets(e.out.fes[1]), "fd00:10::11:30080");
	env_fini(&e);
}

/* --- the IPAM request --- */

static void
test_ipam_request(void **state)
{
	struct lb_k8s_map_conf conf = { .maglev_size = 0 };
	struct lb_ipam_port ports[8];
	struct lb_ipam_req req;
	struct lb_k8s_obj *o;
	struct json_object *svc;
	struct env e;
	char a[LB_IP_STRLEN];

	(void)state;
	env_init(&e);
	svc = mk_svc("a", "s", "Cluster", "[{'name':'a','port':53,'protocol':'UDP'},"
		"{'name':'b','port':53,'protocol':'TCP'},{'name':'c','port':9,'protocol':'SCTP'}]");
	jset(svc, "spec.loadBalancerIP", J("'192.0.2.99'"));
	jset(svc, "status.loadBalancer.ingress", J("[{'ip':'192.0.2.50','ipMode':'Proxy'},"
		"{'hostname':'x.example'}]"));
	jset_key(svc, "annotations", LB_K8S_ANN_METALLB_OLD_POOL, "old-pool");
	jset_key(svc, "annotations", LB_K8S_ANN_METALLB_SHARE, "k1");
	o = lb_k8s_decode(LB_K8S_SERVICE, svc, err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(lb_k8s_ipam_request(o, &conf, &req, ports, note, &e, err, sizeof(err)),
		0);
	assert_int_equal(req.n_families, 1);
	assert_int_equal(req.n_want, 1);
	assert_string_equal(lb_ip_fmt(&req.want[0], a), "192.0.2.99");
	assert_string_equal(req.pool, "old-pool");
	assert_string_equal(req.sharing_key, "k1");
	assert_int_equal(req.n_prev, 1);
	assert_string_equal(lb_ip_fmt(&req.prev[0], a), "192.0.2.50");
	assert_int_equal(req.n_ports, 2);	/* SCTP is not served, so it cannot collide */
	assert_int_equal(req.ports[0].proto, LB_PROTO_UDP);
	assert_int_equal(req.ports[1].port, 53);
	lb_k8s_obj_free(o);

	/* Precedence: lbd.io over metallb.io over metallb.universe.tf over the spec. */
	jset_key(svc, "annotations", LB_K8S_ANN_METALLB_OLD_IPS, "192.0.2.97");
	jset_key(svc, "annotations", LB_K8S_ANN_METALLB_IPS, "192.0.2.98");
	jset_key(svc, "annotations", LB_K8S_ANN_METALLB_POOL, "mlb-pool");
	jset_key(svc, "annotations", LB_K8S_ANN_POOL, "lbd-pool");
	jset_key(svc, "annotations", LB_K8S_ANN_SHARING, "k0");
	o = lb_k8s_decode(LB_K8S_SERVICE, svc, err, sizeof(err));
	assert_int_equal(lb_k8s_ipam_request(o, &conf, &req, ports, note, &e, err, sizeof(err)),
		0);
	assert_string_equal(lb_ip_fmt(&req.want[0], a), "192.0.2.98");
	assert_string_equal(req.pool, "lbd-pool");
	assert_string_equal(req.sharing_key, "k0");
	lb_k8s_obj_free(o);
	jset_key(svc, "annotations", LB_K8S_ANN_ADDRESSES, "192.0.2.96, 2001:db8::96");
	o = lb_k8s_decode(LB_K8S_SERVICE, svc, err, sizeof(err));
	assert_int_equal(lb_k8s_ipam_request(o, &conf, &req, ports, note, &e, err, sizeof(err)),
		0);
	/* The IPv6 address is dropped with its family (not served yet). */
	assert_int_equal(req.n_want, 1);
	assert_string_equal(lb_ip_fmt(&req.want[0], a), "192.0.2.96");
	lb_k8s_obj_free(o);
	jset_key(svc, "annotations", LB_K8S_ANN_ADDRESSES, "192.0.2.96,192.0.2.300");
	o = lb_k8s_decode(LB_K8S_SERVICE, svc, err, sizeof(err));
	assert_int_equal(lb_k8s_ipam_request(o, &conf, &req, ports, note, &e, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "lbd.io/addresses: \"192.0.2.300\" is not an IP address");
	lb_k8s_obj_free(o);
	json_object_put(svc);

	/* Dual stack without IPv6 serving: IPv4 only, with a note; IPv6 only:
	 * nothing to serve. */
	svc = mk_svc("a", "s", "Cluster", NULL);
	jset(svc, "spec.ipFamilies", J("['IPv6','IPv4']"));
	o = lb_k8s_decode(LB_K8S_SERVICE, svc, err, sizeof(err));
	e.n_notes = 0;
	assert_int_equal(lb_k8s_ipam_request(o, &conf, &req, ports, note, &e, err, sizeof(err)),
		0);
	assert_int_equal(req.n_families, 1);
	assert_int_equal(req.families[0], LB_AF_INET);
	assert_int_equal(e.n_notes, 1);
	assert_non_null(strstr(e.notes[0], "IPv6NotServed: IPv6 is not served yet"));
	lb_k8s_obj_free(o);
	jset(svc, "spec.ipFamilies", J("['IPv6']"));
	o = lb_k8s_decode(LB_K8S_SERVICE, svc, err, sizeof(err));
	assert_int_equal(lb_k8s_ipam_request(o, &conf, &req, ports, note, &e, err, sizeof(err)),
		-EAFNOSUPPORT);
	conf.serve_ipv6 = true;
	assert_int_equal(lb_k8s_ipam_request(o, &conf, &req, ports, note, &e, err, sizeof(err)),
		0);
	assert_int_equal(req.families[0], LB_AF_INET6);
	lb_k8s_obj_free(o);
	json_object_put(svc);
	env_fini(&e);
}

/* The same input in another order gives equal frontends (the controller
 * reuses them, and two lbd instances agree). */
static void
test_deterministic(void **state)
{
	struct env e1, e2;

	(void)state;
	env_init(&e1);
	env_init(&e2);
	add(&e1, LB_K8S_SERVICE, mk_svc("a", "s", "Local", NULL));
	add(&e2, LB_K8S_SERVICE, mk_svc("a", "s", "Local", NULL));
	add(&e1, LB_K8S_SLICE, mk_slice("a", "s", "s-1", "IPv4", eps_text((const char *const[]){
		"10.0.0.3", "10.0.0.1", NULL }), NULL));
	add(&e1, LB_K8S_SLICE, mk_slice("a", "s", "s-2", "IPv4", eps_text((const char *const[]){
		"10.0.0.2", NULL }), NULL));
	add(&e2, LB_K8S_SLICE, mk_slice("a", "s", "s-2", "IPv4", eps_text((const char *const[]){
		"10.0.0.1", "10.0.0.2", NULL }), NULL));
	add(&e2, LB_K8S_SLICE, mk_slice("a", "s", "s-1", "IPv4", eps_text((const char *const[]){
		"10.0.0.3", NULL }), NULL));
	assert_int_equal(map(&e1, "a", "s", V4), 0);
	assert_int_equal(map(&e2, "a", "s", V4), 0);
	/* Node names differ (eps_text numbers them per slice), so compare
	 * addresses and flags only. */
	assert_string_equal(targets(e1.out.fes[0]), "10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:8080");
	assert_string_equal(targets(e2.out.fes[0]), "10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:8080");
	env_fini(&e1);
	env_fini(&e2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_graceful_termination),
		cmocka_unit_test(test_no_node_ports_and_method),
		cmocka_unit_test(test_ports_protocols_affinity),
		cmocka_unit_test(test_source_ranges),
		cmocka_unit_test(test_dual_stack_mapping),
		cmocka_unit_test(test_ipam_request),
		cmocka_unit_test(test_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
