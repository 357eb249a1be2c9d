/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/k8s: decoders on kubectl-shaped JSON, and the object store. */
#include "k8s_test.h"

static char err[512];

static struct lb_k8s_obj *
dec(enum lb_k8s_kind k, struct json_object *j)
{
	struct lb_k8s_obj *o = lb_k8s_decode(k, j, err, sizeof(err));

	if (o == NULL)
		fail_msg("decode failed: %s", err);
	return o;
}

static const char *
ip(const struct lb_ip *a)
{
	static char buf[4][LB_IP_STRLEN];
	static int n;

	return lb_ip_fmt(a, buf[n++ & 3]);
}

/* --- Service --- */

static void
test_service_fixture(void **state)
{
	struct json_object *j = jload("service-lb.json");
	struct lb_k8s_obj *o = dec(LB_K8S_SERVICE, j);
	const struct lb_k8s_svc *s = &o->svc;

	(void)state;
	assert_int_equal(o->kind, LB_K8S_SERVICE);
	assert_string_equal(o->meta.ns, "shop");
	assert_string_equal(o->meta.name, "web");
	assert_string_equal(o->meta.uid, "0f5d5c1e-7b7e-4b53-9d0e-3f1c7f9a2b11");
	assert_string_equal(o->meta.rv, "48211");
	assert_false(o->meta.deleting);
	assert_int_equal(o->meta.n_finalizers, 0);
	/* Only lbd's own annotation is kept, not kubectl's copy of the object. */
	assert_int_equal(o->meta.n_annotations, 1);
	assert_string_equal(lb_k8s_annotation(o, "lbd.io/pool"), "public");
	assert_null(lb_k8s_annotation(o, "kubectl.kubernetes.io/last-applied-configuration"));
	assert_int_equal(o->meta.n_labels, 0);
	assert_int_equal(s->type, LB_K8S_SVC_LOAD_BALANCER);
	assert_string_equal(s->lb_class, "lbd.io/lbd");
	assert_int_equal(s->policy, LB_K8S_POLICY_CLUSTER);
	assert_true(s->alloc_node_ports);
	assert_false(s->affinity_client_ip);
	assert_int_equal(s->affinity_timeout, 10800);
	assert_null(s->lb_ip);
	assert_int_equal(s->n_families, 1);
	assert_int_equal(s->families[0], LB_AF_INET);
	assert_int_equal(s->n_ports, 2);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].proto, LB_PROTO_TCP);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].node_port, 31080);
	assert_int_equal(s->ports[0].target_port, 8080);
	assert_null(s->ports[0].target_port_name);
	assert_string_equal(s->ports[1].target_port_name, "https");
	assert_int_equal(s->n_ingress, 0);
	assert_int_equal(s->n_src_ranges, 0);
	lb_k8s_obj_free(o);
	json_object_put(j);
}

/* Omitted fields take the API server's defaults; status is read. */
static void
test_service_defaults_and_status(void **state)
{
	struct json_object *j = J("{'metadata':{'name':'dns','namespace':'kube-system',"
		"'deletionTimestamp':'2024-05-02T10:00:00Z','finalizers':["
		"'service.kubernetes.io/load-balancer-cleanup'],'annotations':{"
		"'metallb.io/allow-shared-ip':'dns','service.beta.kubernetes.io/"
		"load-balancer-source-ranges':'10.0.0.0/8','other.io/x':'y'}},"
		"'spec':{'ports':[{'port':53,'protocol':'UDP'},{'port':53,'name':'tcp'}],"
		"'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{"
		"'timeoutSeconds':600}},'loadBalancerIP':'','loadBalancerClass':null,"
		"'ipFamilies':['IPv6','IPv4'],'externalTrafficPolicy':'Local',"
		"'allocateLoadBalancerNodePorts':false,'healthCheckNodePort':32001,"
		"'loadBalancerSourceRanges':['192.0.2.0/24']},"
		"'status':{'loadBalancer':{'ingress':[{'ip':'192.0.2.10','ipMode':'Proxy',"
		"'ports':[{'port':53,'protocol':'UDP'}]},{'hostname':'lb.example'}]}}}");
	struct lb_k8s_obj *o = dec(LB_K8S_SERVICE, j);
	const struct lb_k8s_svc *s = &o->svc;

	(void)state;
	assert_true(o->meta.deleting);
	assert_true(lb_k8s_has_finalizer(o, LB_K8S_FINALIZER));
	assert_int_equal(o->meta.n_annotations, 2);
	assert_string_equal(o->meta.uid, "");
	assert_int_equal(s->type, LB_K8S_SVC_CLUSTER_IP);
	assert_null(s->lb_class);
	assert_null(s->lb_ip);
	assert_int_equal(s->policy, LB_K8S_POLICY_LOCAL);
	assert_false(s->alloc_node_ports);
	assert_true(s->affinity_client_ip);
	assert_int_equal(s->affinity_timeout, 600);
	assert_int_equal(s->hc_node_port, 32001);
	assert_int_equal(s->n_families, 2);
	assert_int_equal(s->families[0], LB_AF_INET6);
	assert_string_equal(s->ports[0].name, "");
	assert_int_equal(s->ports[0].proto, LB_PROTO_UDP);
	assert_string_equal(s->ports[1].protocol, "TCP");
	assert_int_equal(s->ports[1].node_port, 0);
	assert_int_equal(s->n_src_ranges, 1);
	assert_string_equal(s->src_ranges[0], "192.0.2.0/24");
	assert_int_equal(s->n_ingress, 2);
	assert_string_equal(ip(&s->ingress[0].ip), "192.0.2.10");
	assert_string_equal(s->ingress[0].ip_mode, "Proxy");
	assert_int_equal(s->ingress[0].n_ports, 1);
	assert_int_equal(s->ingress[0].ports[0].proto, LB_PROTO_UDP);
	assert_int_equal(s->ingress[1].ip.family, 0);
	assert_string_equal(s->ingress[1].hostname, "lb.example");
	lb_k8s_obj_free(o);
	json_object_put(j);
}

/* Nonsense is an error naming the field, never a crash. */
static void
test_service_errors(void **state)
{
	static const struct {
		const char *path;
		const char *value;	/* JSON text; NULL removes */
		const char *msg;
	} cases[] = {
		{ "spec.ports[0].port", "'80'",
			"Service shop/web: spec.ports[0].port: expected an integer, got a string" },
		{ "spec.ports[0].port", "70000",
			"spec.ports[0].port: 70000 is out of range (1..65535)" },
		{ "spec.ports[0].port", "80.5", "expected an integer, got a number with a fraction" },
		{ "spec.ports[1].nodePort", "-1", "spec.ports[1].nodePort: -1 is out of range" },
		{ "spec.ports[1].targetPort", "true", "expected an integer or a string" },
		{ "spec.ports[0]", "7", "spec.ports[0]: expected an object, got an integer" },
		{ "spec.ports", "{}", "spec.ports: expected an array, got an object" },
		{ "spec.type", "'Balancer'", "spec.type: unknown type \"Balancer\"" },
		{ "spec.externalTrafficPolicy", "'Nearest'", "unknown policy" },
		{ "spec.sessionAffinity", "'Cookie'", "unknown affinity" },
		{ "spec.sessionAffinityConfig", "{'clientIP':{'timeoutSeconds':0}}",
			"timeoutSeconds: 0 is out of range (1..86400)" },
		{ "spec.ipFamilies", "['IPv5']", "spec.ipFamilies[0]: \"IPv5\" is neither" },
		{ "spec.ipFamilies", "['IPv4','IPv4']", "spec.ipFamilies: IPv4 twice" },
		{ "spec.loadBalancerSourceRanges", "[1]", "expected a string, got an integer" },
		{ "spec", NULL, "Service shop/web: spec: missing" },
		{ "spec", "[]", "spec: expected an object, got an array" },
		{ "metadata.name", "'a/b'", "Service: metadata.name: \"a/b\" is not a valid name" },
		{ "metadata.name", "''", "is not a valid name" },
		{ "metadata.namespace", NULL, "metadata.namespace: missing" },
		{ "metadata.finalizers", "[3]", "metadata.finalizers[0]: expected a string" },
		{ "metadata.labels", "{'app':1}", "metadata.labels[app]: expected a string" },
		{ "metadata", "'x'", "metadata: expected an object, got a string" },
		{ "status.loadBalancer.ingress", "[{'ip':'999.1.1.1'}]",
			"status.loadBalancer.ingress[0].ip: \"999.1.1.1\" is not an IP address" },
		{ "status.loadBalancer.ingress", "[{'ip':'192.0.2.1','ports':[{'protocol':'TCP'}]}]",
			"ingress[0].ports[0]: port is missing" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(cases); i++) {
		struct json_object *j = jload("service-lb.json");
		struct lb_k8s_obj *o;

		jset(j, cases[i].path, cases[i].value != NULL ? J("%s", cases[i].value) : NULL);
		err[0] = '\0';
		o = lb_k8s_decode(LB_K8S_SERVICE, j, err, sizeof(err));
		if (o != NULL || strstr(err, cases[i].msg) == NULL)
			fail_msg("case %zu (%s): got %s '%s', want '%s'", i, cases[i].path,
				o ? "an object" : "NULL", err, cases[i].msg);
		json_object_put(j);
	}
	assert_null(lb_k8s_decode(LB_K8S_SERVICE, NULL, err, sizeof(err)));
	{
		struct json_object *e = J("{}");

		assert_null(lb_k8s_decode(LB_K8S_NKINDS, e, err, sizeof(err)));
		assert_string_equal(err, "unknown kind 3");
		json_object_put(e);
	}
}

/* Every member of every fixture replaced by every kind of value: decoding
 * returns an object or a message, and ASan sees no bad access. */
static uint32_t n_mutations;

static void
mutate_all(enum lb_k8s_kind kind, struct json_object *root, struct json_object *node)
{
	static const char *const values[] = { "null", "0", "-1", "99999999999999", "1.5", "''",
		"'x/y'", "true", "[]", "{}", "[[]]", "['a']", "[{}]" };
	struct json_object_iterator it, end;
	size_t v;

	if (json_object_is_type(node, json_type_array)) {
		size_t i, n = json_object_array_length(node);

		for (i = 0; i < n; i++) {
			struct json_object *el = json_object_array_get_idx(node, i);

			json_object_get(el);
			for (v = 0; v < LB_ARRAY_SIZE(values); v++) {
				struct lb_k8s_obj *o;

				json_object_array_put_idx(node, i, J("%s", values[v]));
				o = lb_k8s_decode(kind, root, err, sizeof(err));
				assert_true(o != NULL || err[0] != '\0');
				lb_k8s_obj_free(o);
				n_mutations++;
			}
			json_object_array_put_idx(node, i, el);
			mutate_all(kind, root, el);
		}
		return;
	}
	if (!json_object_is_type(node, json_type_object))
		return;
	it = json_object_iter_begin(node);
	end = json_object_iter_end(node);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		struct json_object *child = json_object_iter_peek_value(&it);

		/* managedFields is ignored: skip its bulk. */
		if (strcmp(k, "managedFields") == 0 || strcmp(k, "fieldsV1") == 0)
			continue;
		json_object_get(child);
		for (v = 0; v < LB_ARRAY_SIZE(values); v++) {
			struct lb_k8s_obj *o;

			/* Replacing a member in place keeps the iterator valid. */
			json_object_object_add(node, k, J("%s", values[v]));
			err[0] = '\0';
			o = lb_k8s_decode(kind, root, err, sizeof(err));
			assert_true(o != NULL || err[0] != '\0');
			lb_k8s_obj_free(o);
			n_mutations++;
		}
		json_object_object_add(node, k, child);
		mutate_all(kind, root, child);
	}
}

static void
test_mutations(void **state)
{
	static const struct {
		const char *file;
		enum lb_k8s_kind kind;
	} fx[] = {
		{ "service-lb.json", LB_K8S_SERVICE },
		{ "slice.json", LB_K8S_SLICE },
		{ "node.json", LB_K8S_NODE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(fx); i++) {
		struct json_object *j = jload(fx[i].file);

		mutate_all(fx[i].kind, j, j);
		/* Decoding as the wrong kind is just as safe. */
		lb_k8s_obj_free(lb_k8s_decode((fx[i].kind + 1) % LB_K8S_NKINDS, j, err,
			sizeof(err)));
		json_object_put(j);
	}
	assert_true(n_mutations > 1000);
	print_message("decoded %u mutated objects\n", n_mutations);
}

/* --- EndpointSlice --- */

static void
test_slice_fixture(void **state)
{
	struct json_object *j = jload("slice.json");
	struct lb_k8s_obj *o = dec(LB_K8S_SLICE, j);
	const struct lb_k8s_slice *s = &o->slice;

	(void)state;
	assert_string_equal(o->meta.name, "web-8xk2q");
	assert_string_equal(s->service, "web");
	assert_int_equal(o->meta.n_labels, 1);	/* only the service-name label */
	assert_int_equal(s->family, LB_AF_INET);
	assert_int_equal(s->n_eps, 2);
	assert_string_equal(ip(&s->eps[0].addr), "10.244.1.17");
	assert_int_equal(s->eps[0].ready, 1);
	assert_int_equal(s->eps[0].serving, 1);
	assert_int_equal(s->eps[0].terminating, 0);
	assert_string_equal(s->eps[1].node, "node-b");
	assert_int_equal(s->n_ports, 2);
	assert_string_equal(s->ports[1].name, "https");
	assert_int_equal(s->ports[1].port, 8443);
	assert_int_equal(s->ports[1].proto, LB_PROTO_TCP);
	lb_k8s_obj_free(o);
	json_object_put(j);
}

static void
test_slice_variants(void **state)
{
	struct json_object *j;
	struct lb_k8s_obj *o;

	(void)state;
	/* IPv6, conditions unset, a port without a number, no label. */
	j = J("{'metadata':{'name':'s6','namespace':'n'},'addressType':'IPv6',"
		"'endpoints':[{'addresses':['2001:db8::1','2001:db8::2']}],"
		"'ports':[{'name':'http'}]}");
	o = dec(LB_K8S_SLICE, j);
	assert_null(o->slice.service);
	assert_int_equal(o->slice.family, LB_AF_INET6);
	assert_string_equal(ip(&o->slice.eps[0].addr), "2001:db8::1");
	assert_int_equal(o->slice.eps[0].ready, -1);
	assert_int_equal(o->slice.eps[0].terminating, -1);
	assert_int_equal(o->slice.ports[0].port, 0);
	assert_string_equal(o->slice.ports[0].protocol, "TCP");
	lb_k8s_obj_free(o);
	json_object_put(j);
	/* FQDN: endpoints are not addresses and are not kept. */
	j = J("{'metadata':{'name':'f','namespace':'n'},'addressType':'FQDN',"
		"'endpoints':[{'addresses':['db.example.com']}],'ports':null,'endpoints2':1}");
	o = dec(LB_K8S_SLICE, j);
	assert_int_equal(o->slice.family, 0);
	assert_int_equal(o->slice.n_eps, 0);
	assert_int_equal(o->slice.n_ports, 0);
	lb_k8s_obj_free(o);
	json_object_put(j);
	/* An IPv6 address in an IPv4 slice, and an endpoint without addresses. */
	j = J("{'metadata':{'name':'x','namespace':'n'},'addressType':'IPv4',"
		"'endpoints':[{'addresses':['2001:db8::1']}]}");
	assert_null(lb_k8s_decode(LB_K8S_SLICE, j, err, sizeof(err)));
	assert_string_equal(err, "EndpointSlice n/x: endpoints[0].addresses[0]: \"2001:db8::1\" "
		"is not an IPv4 address");
	json_object_put(j);
	j = J("{'metadata':{'name':'x','namespace':'n'},'addressType':'IPv4',"
		"'endpoints':[{'addresses':[]}]}");
	assert_null(lb_k8s_decode(LB_K8S_SLICE, j, err, sizeof(err)));
	assert_non_null(strstr(err, "endpoints[0].addresses: missing or empty"));
	json_object_put(j);
	j = J("{'metadata':{'name':'x','namespace':'n'},'endpoints':[]}");
	assert_null(lb_k8s_decode(LB_K8S_SLICE, j, err, sizeof(err)));
	assert_non_null(strstr(err, "addressType: missing"));
	json_object_put(j);
}

/* --- Node --- */

static void
test_node(void **state)
{
	struct json_object *j = jload("node.json");
	struct lb_k8s_obj *o = dec(LB_K8S_NODE, j);

	(void)state;
	assert_string_equal(o->meta.ns, "");
	assert_string_equal(o->meta.name, "node-a");
	assert_true(o->node.ready);
	assert_false(o->node.excluded);
	assert_string_equal(ip(&o->node.internal[0]), "10.10.1.11");
	assert_int_equal(o->node.internal[1].family, 0);
	assert_true(lb_k8s_node_eligible(&o->node, &o->meta));
	lb_k8s_obj_free(o);

	/* Excluded by label (any value), being deleted, autoscaler taint. */
	jset_key(j, "labels", LB_K8S_LABEL_EXCLUDE_LB, "");
	o = dec(LB_K8S_NODE, j);
	assert_true(o->node.excluded);
	assert_false(lb_k8s_node_eligible(&o->node, &o->meta));
	lb_k8s_obj_free(o);
	jset_key(j, "labels", LB_K8S_LABEL_EXCLUDE_LB, NULL);
	jset(j, "spec.taints", J("[{'key':'ToBeDeletedByClusterAutoscaler','effect':'NoSchedule'}]"));
	o = dec(LB_K8S_NODE, j);
	assert_true(o->node.to_be_deleted);
	assert_false(lb_k8s_node_eligible(&o->node, &o->meta));
	lb_k8s_obj_free(o);
	jset(j, "spec.taints", NULL);
	jset(j, "metadata.deletionTimestamp", J("'2024-05-02T10:00:00Z'"));
	o = dec(LB_K8S_NODE, j);
	assert_false(lb_k8s_node_eligible(&o->node, &o->meta));
	lb_k8s_obj_free(o);
	jset(j, "metadata.deletionTimestamp", NULL);
	/* NotReady; dual-stack addresses, the first of each family wins. */
	jset(j, "status.conditions[2].status", J("'Unknown'"));
	jset(j, "status.addresses", J("[{'type':'ExternalIP','address':'203.0.113.5'},"
		"{'type':'InternalIP','address':'fd00::11'},{'type':'InternalIP','address':"
		"'10.10.1.12'},{'type':'InternalIP','address':'10.10.1.99'}]"));
	o = dec(LB_K8S_NODE, j);
	assert_false(o->node.ready);
	assert_string_equal(ip(&o->node.internal[0]), "10.10.1.12");
	assert_string_equal(ip(&o->node.internal[1]), "fd00::11");
	lb_k8s_obj_free(o);
	jset(j, "status.addresses", J("[{'type':'InternalIP','address':'node-a.local'}]"));
	assert_null(lb_k8s_decode(LB_K8S_NODE, j, err, sizeof(err)));
	assert_string_equal(err, "Node node-a: status.addresses[0]: InternalIP \"node-a.local\" "
		"is not an IP address");
	json_object_put(j);
}

/* --- the store --- */

struct changes {
	char keys[16][LB_K8S_KEY_MAX];
	int n;
};

static void
change_cb(void *ctx, const char *key)
{
	struct changes *c = ctx;

	assert_true(c->n < 16);
	snprintf(c->keys[c->n++], sizeof(c->keys[0]), "%s", key);
}

static int
take(struct lb_k8s_store *st, struct changes *c, bool *nodes)
{
	int i, j;

	memset(c, 0, sizeof(*c));
	*nodes = lb_k8s_store_take_changes(st, change_cb, c);
	/* sorted, for comparisons */
	for (i = 1; i < c->n; i++)
		for (j = i; j > 0 && strcmp(c->keys[j - 1], c->keys[j]) > 0; j--) {
			char t[LB_K8S_KEY_MAX];

			memcpy(t, c->keys[j], sizeof(t));
			memcpy(c->keys[j], c->keys[j - 1], sizeof(t));
			memcpy(c->keys[j - 1], t, sizeof(t));
		}
	return c->n;
}

static int
apply(struct lb_k8s_store *st, enum lb_k8s_kind k, enum lb_k8s_event ev, struct json_object *j)
{
	int rc = lb_k8s_store_apply(st, k, ev, j, err, sizeof(err));

	json_object_put(j);
	return rc;
}

static void
test_store(void **state)
{
	struct lb_k8s_store *st = lb_k8s_store_new();
	const struct lb_k8s_obj *const *sl;
	struct lb_k8s_store_stats ss;
	struct changes ch;
	struct json_object *j;
	bool nodes;

	(void)state;
	assert_int_equal(apply(st, LB_K8S_SERVICE, LB_K8S_ADDED, mk_svc("a", "web", "Local", NULL)), 0);
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_ADDED, mk_slice("a", "web", "web-1", "IPv4",
		eps_text((const char *const[]){ "10.244.0.1", NULL }), NULL)), 0);
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_ADDED, mk_slice("a", "web", "web-2", "IPv6",
		eps_text((const char *const[]){ "fd00::1", NULL }), NULL)), 0);
	assert_int_equal(apply(st, LB_K8S_NODE, LB_K8S_ADDED, mk_node("n1", "10.0.0.1", true)), 0);
	assert_int_equal(take(st, &ch, &nodes), 1);
	assert_string_equal(ch.keys[0], "a/web");
	assert_true(nodes);
	assert_int_equal(lb_k8s_store_slices(st, "a", "web", &sl), 2);
	assert_non_null(lb_k8s_store_get(st, LB_K8S_SERVICE, "a", "web"));
	assert_non_null(lb_k8s_store_get(st, LB_K8S_NODE, "", "n1"));

	/* Updates that change nothing the mapping reads record nothing. */
	j = mk_slice("a", "web", "web-1", "IPv4", eps_text((const char *const[]){ "10.244.0.1",
		NULL }), NULL);
	jset(j, "metadata.resourceVersion", J("'2'"));
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_MODIFIED, j), 0);
	j = mk_node("n1", "10.0.0.1", true);
	jset(j, "status.conditions[0].lastHeartbeatTime", J("'2024-05-02T10:00:00Z'"));
	assert_int_equal(apply(st, LB_K8S_NODE, LB_K8S_MODIFIED, j), 0);
	assert_int_equal(take(st, &ch, &nodes), 0);
	assert_false(nodes);
	lb_k8s_store_stats(st, &ss);
	assert_int_equal(ss.unchanged, 2);

	/* An endpoint change marks its Service; a node turning NotReady, nodes. */
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_MODIFIED, mk_slice("a", "web", "web-1",
		"IPv4", eps_text((const char *const[]){ "10.244.0.1", "10.244.0.2", NULL }),
		NULL)), 0);
	assert_int_equal(apply(st, LB_K8S_NODE, LB_K8S_MODIFIED, mk_node("n1", "10.0.0.1", false)),
		0);
	assert_int_equal(take(st, &ch, &nodes), 1);
	assert_true(nodes);

	/* A slice relabelled to another Service marks both. */
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_MODIFIED, mk_slice("a", "api", "web-1",
		"IPv4", eps_text((const char *const[]){ "10.244.0.1", "10.244.0.2", NULL }),
		NULL)), 0);
	assert_int_equal(take(st, &ch, &nodes), 2);
	assert_string_equal(ch.keys[0], "a/api");
	assert_string_equal(ch.keys[1], "a/web");
	assert_int_equal(lb_k8s_store_slices(st, "a", "web", &sl), 1);
	assert_int_equal(lb_k8s_store_slices(st, "a", "api", &sl), 1);

	/* Garbage keeps the stored version (fail static). */
	j = mk_svc("a", "web", "Local", "[{'port':'eighty'}]");
	assert_int_equal(apply(st, LB_K8S_SERVICE, LB_K8S_MODIFIED, j), -EINVAL);
	assert_non_null(strstr(err, "expected an integer"));
	assert_int_equal(lb_k8s_store_get(st, LB_K8S_SERVICE, "a", "web")->svc.ports[0].port, 80);
	assert_int_equal(take(st, &ch, &nodes), 0);

	/* Deletion, including one whose body is mostly garbage. */
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_DELETED, J("{'metadata':{'name':'web-2',"
		"'namespace':'a'},'endpoints':7}")), 0);
	assert_int_equal(take(st, &ch, &nodes), 1);
	assert_string_equal(ch.keys[0], "a/web");
	assert_int_equal(lb_k8s_store_slices(st, "a", "web", &sl), 0);
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_DELETED, J("{'metadata':{}}")), -EINVAL);
	assert_int_equal(apply(st, LB_K8S_SLICE, LB_K8S_DELETED, J("{'metadata':{'name':'gone',"
		"'namespace':'a'}}")), 0);
	lb_k8s_store_stats(st, &ss);
	assert_int_equal(ss.decode_errors, 2);
	assert_int_equal(ss.objects[LB_K8S_SERVICE], 1);
	assert_int_equal(ss.objects[LB_K8S_SLICE], 1);
	lb_k8s_store_free(st);
}

static void
test_relist(void **state)
{
	struct lb_k8s_store *st = lb_k8s_store_new();
	struct changes ch;
	bool nodes;

	(void)state;
	assert_false(lb_k8s_store_synced(st, LB_K8S_SERVICE));
	lb_k8s_store_relist_begin(st, LB_K8S_SERVICE);
	apply(st, LB_K8S_SERVICE, LB_K8S_ADDED, mk_svc("a", "one", "Cluster", NULL));
	apply(st, LB_K8S_SERVICE, LB_K8S_ADDED, mk_svc("a", "two", "Cluster", NULL));
	apply(st, LB_K8S_SERVICE, LB_K8S_ADDED, mk_svc("a", "three", "Cluster", NULL));
	assert_int_equal(lb_k8s_store_relist_end(st, LB_K8S_SERVICE), 0);
	assert_true(lb_k8s_store_synced(st, LB_K8S_SERVICE));
	take(st, &ch, &nodes);

	/* The next list mentions one, garbles another and omits the third:
	 * only the omitted one goes. */
	lb_k8s_store_relist_begin(st, LB_K8S_SERVICE);
	apply(st, LB_K8S_SERVICE, LB_K8S_ADDED, mk_svc("a", "one", "Cluster", NULL));
	assert_int_equal(apply(st, LB_K8S_SERVICE, LB_K8S_ADDED, mk_svc("a", "two", "Cluster",
		"[{'port':{}}]")), -EINVAL);
	assert_int_equal(lb_k8s_store_relist_end(st, LB_K8S_SERVICE), 1);
	assert_non_null(lb_k8s_store_get(st, LB_K8S_SERVICE, "a", "one"));
	assert_non_null(lb_k8s_store_get(st, LB_K8S_SERVICE, "a", "two"));
	assert_null(lb_k8s_store_get(st, LB_K8S_SERVICE, "a", "three"));
	assert_int_equal(take(st, &ch, &nodes), 2);
	assert_string_equal(ch.keys[0], "a/one");
	assert_string_equal(ch.keys[1], "a/three");
	lb_k8s_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_fixture),
		cmocka_unit_test(test_service_defaults_and_status),
		cmocka_unit_test(test_service_errors),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_slice_fixture),
		cmocka_unit_test(test_slice_variants),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_relist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
