/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json-c objects -> struct lb_k8s_obj. Every field is read through a typed
 * getter that names the field in its message; JSON null counts as absent
 * (the API server omits empty optional fields, but patches and other
 * clients write null). Nothing here trusts the input: lengths are bounded,
 * every array element is type-checked, integers are range-checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lb_k8s_priv.h"

#define MAX_ITEMS	100000	/* elements of any one array we accept */
#define MAX_STR		65536	/* length of any one string we keep */

struct dec {
	struct lb_k8s_obj *o;
	char *err;
	size_t errlen;
	char what[LB_K8S_KEY_MAX + 32];	/* "Service default/web" */
};

static int
bad(struct dec *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
bad(struct dec *d, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->err == NULL || d->errlen == 0)
		return -EINVAL;
	n = snprintf(d->err, d->errlen, "%s: %s: ", d->what, path);
	if (n < 0 || (size_t)n >= d->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
nomem(struct dec *d)
{
	lb_k8s_fail(d->err, d->errlen, -ENOMEM, "%s: out of memory", d->what);
	return -ENOMEM;
}

static const char *
jtype(const struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number with a fraction";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something unknown";
}

static const char *
tname(json_type t)
{
	switch (t) {
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	default:
		return "?";
	}
}

/* "parent.key" into buf. */
static const char *
sub(char *buf, size_t n, const char *parent, const char *key)
{
	snprintf(buf, n, "%s%s%s", parent, *parent != '\0' ? "." : "", key);
	return buf;
}

/* Member key of object parent with type t; *out NULL when absent or null. */
static int
get(struct dec *d, const struct json_object *parent, const char *key, json_type t,
	const char *path, struct json_object **out)
{
	struct json_object *v = NULL;
	char p[160];

	*out = NULL;
	if (parent == NULL || !json_object_object_get_ex(parent, key, &v) || v == NULL ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, t))
		return bad(d, sub(p, sizeof(p), path, key), "expected %s, got %s", tname(t),
			jtype(v));
	if (t == json_type_array && json_object_array_length(v) > MAX_ITEMS)
		return bad(d, sub(p, sizeof(p), path, key), "more than %d elements", MAX_ITEMS);
	*out = v;
	return 0;
}

static const char *
keep_str(struct dec *d, const char *s)
{
	return lb_k8s_arena_strdup(&d->o->mem, s);
}

/* A string value (v is a json string); copied into the object. */
static int
str_val(struct dec *d, const struct json_object *v, const char *path, size_t max,
	const char **out)
{
	const char *s = json_object_get_string((struct json_object *)v);
	size_t len = (size_t)json_object_get_string_len(v);

	if (s == NULL)
		s = "";
	if (len > max)
		return bad(d, path, "longer than %zu characters", max);
	if (strlen(s) != len)
		return bad(d, path, "contains a NUL character");
	*out = keep_str(d, s);
	return *out != NULL ? 0 : nomem(d);
}

static int
get_str(struct dec *d, const struct json_object *parent, const char *key, const char *path,
	bool required, size_t max, const char **out)
{
	struct json_object *v;
	char p[160];
	int rc;

	*out = NULL;
	rc = get(d, parent, key, json_type_string, path, &v);
	if (rc != 0)
		return rc;
	sub(p, sizeof(p), path, key);
	if (v == NULL)
		return required ? bad(d, p, "missing") : 0;
	return str_val(d, v, p, max, out);
}

/* An integer in lo..hi; *present says whether it was there. */
static int
get_int(struct dec *d, const struct json_object *parent, const char *key, const char *path,
	int64_t lo, int64_t hi, bool *present, int64_t *out)
{
	struct json_object *v;
	char p[160];
	int64_t x;
	int rc;

	*present = false;
	rc = get(d, parent, key, json_type_int, path, &v);
	if (rc != 0 || v == NULL)
		return rc;
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return bad(d, sub(p, sizeof(p), path, key), "%lld is out of range (%lld..%lld)",
			(long long)x, (long long)lo, (long long)hi);
	*present = true;
	*out = x;
	return 0;
}

/* -1 absent, 0 false, 1 true. */
static int
get_tri(struct dec *d, const struct json_object *parent, const char *key, const char *path,
	int8_t *out)
{
	struct json_object *v;
	int rc;

	*out = -1;
	rc = get(d, parent, key, json_type_boolean, path, &v);
	if (rc == 0 && v != NULL)
		*out = json_object_get_boolean(v) ? 1 : 0;
	return rc;
}

static void *
alloc(struct dec *d, size_t n)
{
	return lb_k8s_arena_alloc(&d->o->mem, n);
}

/* DNS-label-like names: 1..max of [a-z0-9.-], starting with a letter or
 * digit. Anything else (a '/', upper case, spaces) is not a Kubernetes name,
 * and lbd uses '/' as its separator. */
static bool
valid_name(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      ((c == '-' || c == '.') && n > 0)))
			return false;
	}
	return n >= 1 && n <= max;
}

static int
proto_num(const char *p)
{
	if (strcmp(p, "TCP") == 0)
		return LB_PROTO_TCP;
	if (strcmp(p, "UDP") == 0)
		return LB_PROTO_UDP;
	return 0;
}

/* --- metadata --- */

static bool
keep_annotation(enum lb_k8s_kind kind, const char *k)
{
	if (kind != LB_K8S_SERVICE)
		return false;
	return strncmp(k, "lbd.io/", 7) == 0 || strncmp(k, "metallb.io/", 11) == 0 ||
		strncmp(k, "metallb.universe.tf/", 20) == 0 ||
		strcmp(k, LB_K8S_ANN_SOURCE_RANGES) == 0;
}

static bool
keep_label(enum lb_k8s_kind kind, const char *k)
{
	if (kind == LB_K8S_SLICE)
		return strcmp(k, LB_K8S_LABEL_SERVICE_NAME) == 0;
	if (kind == LB_K8S_NODE)
		return strcmp(k, LB_K8S_LABEL_EXCLUDE_LB) == 0;
	return false;
}

/* labels / annotations: an object of strings; keeps those keep() wants. */
static int
dec_map(struct dec *d, const struct json_object *meta, const char *key, bool is_label,
	uint32_t *n_out, struct lb_k8s_kv **out)
{
	struct json_object *m;
	struct json_object_iterator it, end;
	uint32_t n = 0, cap;
	char p[160];
	int rc;

	rc = get(d, meta, key, json_type_object, "metadata", &m);
	if (rc != 0 || m == NULL)
		return rc;
	cap = (uint32_t)json_object_object_length(m);
	if (cap > MAX_ITEMS)
		return bad(d, sub(p, sizeof(p), "metadata", key), "more than %d entries",
			MAX_ITEMS);
	it = json_object_iter_begin(m);
	end = json_object_iter_end(m);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		bool keep = is_label ? keep_label(d->o->kind, k) : keep_annotation(d->o->kind, k);

		snprintf(p, sizeof(p), "metadata.%s[%.80s]", key, k);
		if (!json_object_is_type(v, json_type_string))
			return bad(d, p, "expected a string, got %s", jtype(v));
		if (!keep)
			continue;
		if (*out == NULL && (*out = alloc(d, sizeof(**out) * cap)) == NULL)
			return nomem(d);
		(*out)[n].key = keep_str(d, k);
		if ((*out)[n].key == NULL)
			return nomem(d);
		rc = str_val(d, v, p, MAX_STR, &(*out)[n].value);
		if (rc != 0)
			return rc;
		n++;
	}
	*n_out = n;
	return 0;
}

static int
dec_meta(struct dec *d, const struct json_object *root, bool namespaced)
{
	struct lb_k8s_meta *m = &d->o->meta;
	struct json_object *meta, *v, *fins;
	const char *s;
	uint32_t i, n;
	char p[64];
	int rc;

	if (!json_object_is_type(root, json_type_object))
		return bad(d, "object", "expected an object, got %s", jtype(root));
	rc = get(d, root, "metadata", json_type_object, "", &meta);
	if (rc != 0)
		return rc;
	if (meta == NULL)
		return bad(d, "metadata", "missing");
	rc = get_str(d, meta, "name", "metadata", true, LB_K8S_NAME_MAX, &m->name);
	if (rc != 0)
		return rc;
	if (!valid_name(m->name, LB_K8S_NAME_MAX))
		return bad(d, "metadata.name", "\"%s\" is not a valid name", m->name);
	if (namespaced) {
		rc = get_str(d, meta, "namespace", "metadata", true, LB_K8S_NS_MAX, &m->ns);
		if (rc != 0)
			return rc;
		if (!valid_name(m->ns, LB_K8S_NS_MAX) || strchr(m->ns, '.') != NULL)
			return bad(d, "metadata.namespace", "\"%s\" is not a valid namespace",
				m->ns);
	} else {
		m->ns = "";
	}
	snprintf(d->what, sizeof(d->what), "%s %s%s%s", lb_k8s_kind_str(d->o->kind), m->ns,
		*m->ns != '\0' ? "/" : "", m->name);
	rc = get_str(d, meta, "uid", "metadata", false, 128, &m->uid);
	if (rc == 0)
		rc = get_str(d, meta, "resourceVersion", "metadata", false, 128, &m->rv);
	if (rc == 0)
		rc = get_str(d, meta, "deletionTimestamp", "metadata", false, 64, &s);
	if (rc != 0)
		return rc;
	if (m->uid == NULL)
		m->uid = "";
	if (m->rv == NULL)
		m->rv = "";
	m->deleting = s != NULL;
	rc = get(d, meta, "finalizers", json_type_array, "metadata", &fins);
	if (rc != 0)
		return rc;
	n = fins != NULL ? (uint32_t)json_object_array_length(fins) : 0;
	if (n > 0 && (m->finalizers = alloc(d, sizeof(*m->finalizers) * n)) == NULL)
		return nomem(d);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(fins, i);
		snprintf(p, sizeof(p), "metadata.finalizers[%u]", i);
		if (!json_object_is_type(v, json_type_string))
			return bad(d, p, "expected a string, got %s", jtype(v));
		rc = str_val(d, v, p, 316, &m->finalizers[i]);
		if (rc != 0)
			return rc;
	}
	m->n_finalizers = n;
	rc = dec_map(d, meta, "labels", true, &m->n_labels, &m->labels);
	if (rc == 0)
		rc = dec_map(d, meta, "annotations", false, &m->n_annotations, &m->annotations);
	return rc;
}

/* --- Service --- */

static int
dec_svc_port(struct dec *d, const struct json_object *v, uint32_t i, struct lb_k8s_svc_port *sp)
{
	struct json_object *tp = NULL;
	char path[48];
	bool have;
	int64_t x = 0;
	int rc;

	snprintf(path, sizeof(path), "spec.ports[%u]", i);
	if (!json_object_is_type(v, json_type_object))
		return bad(d, path, "expected an object, got %s", jtype(v));
	rc = get_str(d, v, "name", path, false, 63, &sp->name);
	if (rc == 0)
		rc = get_str(d, v, "protocol", path, false, 16, &sp->protocol);
	if (rc == 0)
		rc = get_int(d, v, "port", path, 1, 65535, &have, &x);
	if (rc != 0)
		return rc;
	if (!have)
		return bad(d, path, "port is missing");
	sp->port = (uint16_t)x;
	if (sp->name == NULL)
		sp->name = "";
	if (sp->protocol == NULL)
		sp->protocol = "TCP";
	sp->proto = (uint8_t)proto_num(sp->protocol);
	rc = get_int(d, v, "nodePort", path, 0, 65535, &have, &x);
	if (rc != 0)
		return rc;
	sp->node_port = have ? (uint16_t)x : 0;
	/* targetPort: an integer or a name (IntOrString). */
	if (json_object_object_get_ex(v, "targetPort", &tp) && tp != NULL &&
	    !json_object_is_type(tp, json_type_null)) {
		char p[64];

		snprintf(p, sizeof(p), "%s.targetPort", path);
		if (json_object_is_type(tp, json_type_string)) {
			rc = str_val(d, tp, p, 63, &sp->target_port_name);
			if (rc != 0)
				return rc;
		} else if (json_object_is_type(tp, json_type_int)) {
			x = json_object_get_int64(tp);
			if (x < 0 || x > 65535)
				return bad(d, p, "%lld is out of range (0..65535)", (long long)x);
			sp->target_port = (uint16_t)x;
		} else {
			return bad(d, p, "expected an integer or a string, got %s", jtype(tp));
		}
	}
	return 0;
}

static int
dec_ingress(struct dec *d, const struct json_object *v, uint32_t i, struct lb_k8s_ingress *in)
{
	struct json_object *ports, *pv;
	const char *ip = NULL;
	char path[64], p[96];
	uint32_t k, n;
	bool have;
	int64_t x;
	int rc;

	snprintf(path, sizeof(path), "status.loadBalancer.ingress[%u]", i);
	if (!json_object_is_type(v, json_type_object))
		return bad(d, path, "expected an object, got %s", jtype(v));
	rc = get_str(d, v, "ip", path, false, LB_IP_STRLEN, &ip);
	if (rc == 0)
		rc = get_str(d, v, "hostname", path, false, 253, &in->hostname);
	if (rc == 0)
		rc = get_str(d, v, "ipMode", path, false, 32, &in->ip_mode);
	if (rc == 0)
		rc = get(d, v, "ports", json_type_array, path, &ports);
	if (rc != 0)
		return rc;
	if (ip != NULL && lb_ip_parse(ip, &in->ip) != 0)
		return bad(d, sub(p, sizeof(p), path, "ip"), "\"%s\" is not an IP address", ip);
	n = ports != NULL ? (uint32_t)json_object_array_length(ports) : 0;
	if (n > 0 && (in->ports = alloc(d, sizeof(*in->ports) * n)) == NULL)
		return nomem(d);
	for (k = 0; k < n; k++) {
		struct lb_k8s_port_status *ps = &in->ports[k];

		pv = json_object_array_get_idx(ports, k);
		snprintf(p, sizeof(p), "%s.ports[%u]", path, k);
		if (!json_object_is_type(pv, json_type_object))
			return bad(d, p, "expected an object, got %s", jtype(pv));
		rc = get_int(d, pv, "port", p, 1, 65535, &have, &x);
		if (rc == 0 && !have)
			rc = bad(d, p, "port is missing");
		if (rc == 0)
			rc = get_str(d, pv, "protocol", p, false, 16, &ps->protocol);
		if (rc == 0)
			rc = get_str(d, pv, "error", p, false, 316, &ps->error);
		if (rc != 0)
			return rc;
		ps->port = (uint16_t)x;
		if (ps->protocol == NULL)
			ps->protocol = "TCP";
		ps->proto = (uint8_t)proto_num(ps->protocol);
	}
	in->n_ports = n;
	return 0;
}

static int
dec_families(struct dec *d, const struct json_object *spec, struct lb_k8s_svc *s)
{
	struct json_object *fams, *v;
	uint32_t i, n;
	char p[48];
	int rc;

	rc = get(d, spec, "ipFamilies", json_type_array, "spec", &fams);
	if (rc != 0)
		return rc;
	n = fams != NULL ? (uint32_t)json_object_array_length(fams) : 0;
	if (n == 0) {
		s->n_families = 1;
		s->families[0] = LB_AF_INET;
		return 0;
	}
	if (n > 2)
		return bad(d, "spec.ipFamilies", "%u families (at most 2)", n);
	for (i = 0; i < n; i++) {
		const char *f;

		v = json_object_array_get_idx(fams, i);
		snprintf(p, sizeof(p), "spec.ipFamilies[%u]", i);
		if (!json_object_is_type(v, json_type_string))
			return bad(d, p, "expected a string, got %s", jtype(v));
		f = json_object_get_string(v);
		if (strcmp(f, "IPv4") == 0)
			s->families[i] = LB_AF_INET;
		else if (strcmp(f, "IPv6") == 0)
			s->families[i] = LB_AF_INET6;
		else
			return bad(d, p, "\"%.32s\" is neither \"IPv4\" nor \"IPv6\"", f);
		if (i == 1 && s->families[0] == s->families[1])
			return bad(d, "spec.ipFamilies", "%s twice", f);
	}
	s->n_families = n;
	return 0;
}

static int
dec_service(struct dec *d, const struct json_object *root)
{
	struct lb_k8s_svc *s = &d->o->svc;
	struct json_object *spec, *status, *lb, *arr, *v, *sac, *cip;
	const char *str;
	uint32_t i, n;
	bool have;
	int64_t x;
	char p[64];
	int rc;

	rc = get(d, root, "spec", json_type_object, "", &spec);
	if (rc != 0)
		return rc;
	if (spec == NULL)
		return bad(d, "spec", "missing");
	rc = get_str(d, spec, "type", "spec", false, 32, &str);
	if (rc != 0)
		return rc;
	if (str == NULL || strcmp(str, "ClusterIP") == 0)
		s->type = LB_K8S_SVC_CLUSTER_IP;
	else if (strcmp(str, "NodePort") == 0)
		s->type = LB_K8S_SVC_NODE_PORT;
	else if (strcmp(str, "LoadBalancer") == 0)
		s->type = LB_K8S_SVC_LOAD_BALANCER;
	else if (strcmp(str, "ExternalName") == 0)
		s->type = LB_K8S_SVC_EXTERNAL_NAME;
	else
		return bad(d, "spec.type", "unknown type \"%s\"", str);

	rc = get_str(d, spec, "loadBalancerClass", "spec", false, 316, &s->lb_class);
	if (rc == 0)
		rc = get_str(d, spec, "externalTrafficPolicy", "spec", false, 32, &str);
	if (rc != 0)
		return rc;
	/* "Global" is the pre-1.0 spelling of "Cluster". */
	if (str == NULL || strcmp(str, "Cluster") == 0 || strcmp(str, "Global") == 0)
		s->policy = LB_K8S_POLICY_CLUSTER;
	else if (strcmp(str, "Local") == 0)
		s->policy = LB_K8S_POLICY_LOCAL;
	else
		return bad(d, "spec.externalTrafficPolicy", "unknown policy \"%s\"", str);

	rc = get(d, spec, "allocateLoadBalancerNodePorts", json_type_boolean, "spec", &v);
	if (rc != 0)
		return rc;
	s->alloc_node_ports = v == NULL || json_object_get_boolean(v);

	rc = get_str(d, spec, "sessionAffinity", "spec", false, 32, &str);
	if (rc != 0)
		return rc;
	if (str == NULL || strcmp(str, "None") == 0)
		s->affinity_client_ip = false;
	else if (strcmp(str, "ClientIP") == 0)
		s->affinity_client_ip = true;
	else
		return bad(d, "spec.sessionAffinity", "unknown affinity \"%s\"", str);
	s->affinity_timeout = 10800;
	rc = get(d, spec, "sessionAffinityConfig", json_type_object, "spec", &sac);
	if (rc == 0)
		rc = get(d, sac, "clientIP", json_type_object, "spec.sessionAffinityConfig", &cip);
	if (rc == 0)
		rc = get_int(d, cip, "timeoutSeconds", "spec.sessionAffinityConfig.clientIP", 1,
			86400, &have, &x);
	if (rc != 0)
		return rc;
	if (have)
		s->affinity_timeout = (uint32_t)x;

	rc = get_str(d, spec, "loadBalancerIP", "spec", false, LB_IP_STRLEN, &s->lb_ip);
	if (rc != 0)
		return rc;
	if (s->lb_ip != NULL && *s->lb_ip == '\0')
		s->lb_ip = NULL;
	rc = get_int(d, spec, "healthCheckNodePort", "spec", 0, 65535, &have, &x);
	if (rc != 0)
		return rc;
	s->hc_node_port = have ? (uint16_t)x : 0;
	rc = dec_families(d, spec, s);
	if (rc != 0)
		return rc;

	rc = get(d, spec, "ports", json_type_array, "spec", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL ? (uint32_t)json_object_array_length(arr) : 0;
	if (n > 0 && (s->ports = alloc(d, sizeof(*s->ports) * n)) == NULL)
		return nomem(d);
	for (i = 0; i < n; i++) {
		rc = dec_svc_port(d, json_object_array_get_idx(arr, i), i, &s->ports[i]);
		if (rc != 0)
			return rc;
	}
	s->n_ports = n;

	rc = get(d, spec, "loadBalancerSourceRanges", json_type_array, "spec", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL ? (uint32_t)json_object_array_length(arr) : 0;
	if (n > 0 && (s->src_ranges = alloc(d, sizeof(*s->src_ranges) * n)) == NULL)
		return nomem(d);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		snprintf(p, sizeof(p), "spec.loadBalancerSourceRanges[%u]", i);
		if (!json_object_is_type(v, json_type_string))
			return bad(d, p, "expected a string, got %s", jtype(v));
		rc = str_val(d, v, p, 64, &s->src_ranges[i]);
		if (rc != 0)
			return rc;
	}
	s->n_src_ranges = n;

	rc = get(d, root, "status", json_type_object, "", &status);
	if (rc == 0)
		rc = get(d, status, "loadBalancer", json_type_object, "status", &lb);
	if (rc == 0)
		rc = get(d, lb, "ingress", json_type_array, "status.loadBalancer", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL ? (uint32_t)json_object_array_length(arr) : 0;
	if (n > 0 && (s->ingress = alloc(d, sizeof(*s->ingress) * n)) == NULL)
		return nomem(d);
	for (i = 0; i < n; i++) {
		rc = dec_ingress(d, json_object_array_get_idx(arr, i), i, &s->ingress[i]);
		if (rc != 0)
			return rc;
	}
	s->n_ingress = n;
	return 0;
}

/* --- EndpointSlice --- */

static int
dec_endpoint(struct dec *d, const struct json_object *v, uint32_t i, struct lb_k8s_ep *ep)
{
	struct json_object *addrs, *a, *cond;
	const char *s;
	char path[48], p[80];
	int rc;

	snprintf(path, sizeof(path), "endpoints[%u]", i);
	if (!json_object_is_type(v, json_type_object))
		return bad(d, path, "expected an object, got %s", jtype(v));
	rc = get(d, v, "addresses", json_type_array, path, &addrs);
	if (rc != 0)
		return rc;
	if (addrs == NULL || json_object_array_length(addrs) == 0)
		return bad(d, sub(p, sizeof(p), path, "addresses"), "missing or empty");
	a = json_object_array_get_idx(addrs, 0);
	snprintf(p, sizeof(p), "%s.addresses[0]", path);
	if (!json_object_is_type(a, json_type_string))
		return bad(d, p, "expected a string, got %s", jtype(a));
	s = json_object_get_string(a);
	if (d->o->slice.family != 0) {
		if (lb_ip_parse(s, &ep->addr) != 0 || ep->addr.family != d->o->slice.family)
			return bad(d, p, "\"%.64s\" is not an %s address", s,
				d->o->slice.address_type);
	}
	ep->ready = ep->serving = ep->terminating = -1;
	rc = get(d, v, "conditions", json_type_object, path, &cond);
	if (rc == 0 && cond != NULL) {
		sub(p, sizeof(p), path, "conditions");
		rc = get_tri(d, cond, "ready", p, &ep->ready);
		if (rc == 0)
			rc = get_tri(d, cond, "serving", p, &ep->serving);
		if (rc == 0)
			rc = get_tri(d, cond, "terminating", p, &ep->terminating);
	}
	if (rc == 0)
		rc = get_str(d, v, "nodeName", path, false, LB_K8S_NAME_MAX, &ep->node);
	return rc;
}

static int
dec_slice(struct dec *d, const struct json_object *root)
{
	struct lb_k8s_slice *s = &d->o->slice;
	struct json_object *arr, *v;
	uint32_t i, n;
	char p[48];
	bool have;
	int64_t x;
	int rc;

	s->service = lb_k8s_label(d->o, LB_K8S_LABEL_SERVICE_NAME);
	rc = get_str(d, root, "addressType", "", true, 16, &s->address_type);
	if (rc != 0)
		return rc;
	if (strcmp(s->address_type, "IPv4") == 0)
		s->family = LB_AF_INET;
	else if (strcmp(s->address_type, "IPv6") == 0)
		s->family = LB_AF_INET6;
	else
		s->family = 0;	/* FQDN or newer: endpoints are not addresses */

	rc = get(d, root, "endpoints", json_type_array, "", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL && s->family != 0 ? (uint32_t)json_object_array_length(arr) : 0;
	if (n > 0 && (s->eps = alloc(d, sizeof(*s->eps) * n)) == NULL)
		return nomem(d);
	for (i = 0; i < n; i++) {
		rc = dec_endpoint(d, json_object_array_get_idx(arr, i), i, &s->eps[i]);
		if (rc != 0)
			return rc;
	}
	s->n_eps = n;

	rc = get(d, root, "ports", json_type_array, "", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL ? (uint32_t)json_object_array_length(arr) : 0;
	if (n > 0 && (s->ports = alloc(d, sizeof(*s->ports) * n)) == NULL)
		return nomem(d);
	for (i = 0; i < n; i++) {
		struct lb_k8s_ep_port *ep = &s->ports[i];

		v = json_object_array_get_idx(arr, i);
		snprintf(p, sizeof(p), "ports[%u]", i);
		if (!json_object_is_type(v, json_type_object))
			return bad(d, p, "expected an object, got %s", jtype(v));
		rc = get_str(d, v, "name", p, false, 63, &ep->name);
		if (rc == 0)
			rc = get_str(d, v, "protocol", p, false, 16, &ep->protocol);
		if (rc == 0)
			rc = get_int(d, v, "port", p, 1, 65535, &have, &x);
		if (rc != 0)
			return rc;
		if (ep->name == NULL)
			ep->name = "";
		if (ep->protocol == NULL)
			ep->protocol = "TCP";
		ep->proto = (uint8_t)proto_num(ep->protocol);
		ep->port = have ? (uint16_t)x : 0;
	}
	s->n_ports = n;
	return 0;
}

/* --- Node --- */

static int
dec_node(struct dec *d, const struct json_object *root)
{
	struct lb_k8s_node *nd = &d->o->node;
	struct json_object *spec, *status, *arr, *v;
	const char *type, *val;
	uint32_t i, n;
	char p[48];
	int rc;

	nd->excluded = lb_k8s_label(d->o, LB_K8S_LABEL_EXCLUDE_LB) != NULL;
	rc = get(d, root, "spec", json_type_object, "", &spec);
	if (rc == 0)
		rc = get(d, spec, "taints", json_type_array, "spec", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL ? (uint32_t)json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		snprintf(p, sizeof(p), "spec.taints[%u]", i);
		if (!json_object_is_type(v, json_type_object))
			return bad(d, p, "expected an object, got %s", jtype(v));
		rc = get_str(d, v, "key", p, true, 316, &type);
		if (rc != 0)
			return rc;
		if (strcmp(type, LB_K8S_TAINT_TO_BE_DELETED) == 0)
			nd->to_be_deleted = true;
	}

	rc = get(d, root, "status", json_type_object, "", &status);
	if (rc == 0)
		rc = get(d, status, "conditions", json_type_array, "status", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL ? (uint32_t)json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		snprintf(p, sizeof(p), "status.conditions[%u]", i);
		if (!json_object_is_type(v, json_type_object))
			return bad(d, p, "expected an object, got %s", jtype(v));
		rc = get_str(d, v, "type", p, true, 316, &type);
		if (rc == 0)
			rc = get_str(d, v, "status", p, true, 32, &val);
		if (rc != 0)
			return rc;
		if (strcmp(type, "Ready") == 0)
			nd->ready = strcmp(val, "True") == 0;
	}

	rc = get(d, status, "addresses", json_type_array, "status", &arr);
	if (rc != 0)
		return rc;
	n = arr != NULL ? (uint32_t)json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		struct lb_ip ip;

		v = json_object_array_get_idx(arr, i);
		snprintf(p, sizeof(p), "status.addresses[%u]", i);
		if (!json_object_is_type(v, json_type_object))
			return bad(d, p, "expected an object, got %s", jtype(v));
		rc = get_str(d, v, "type", p, true, 32, &type);
		if (rc == 0)
			rc = get_str(d, v, "address", p, true, 253, &val);
		if (rc != 0)
			return rc;
		if (strcmp(type, "InternalIP") != 0)
			continue;
		if (lb_ip_parse(val, &ip) != 0)
			return bad(d, p, "InternalIP \"%.64s\" is not an IP address", val);
		if (nd->internal[ip.family == LB_AF_INET ? 0 : 1].family == 0)
			nd->internal[ip.family == LB_AF_INET ? 0 : 1] = ip;
	}
	return 0;
}

/* --- entry points --- */

const char *
lb_k8s_kind_str(enum lb_k8s_kind k)
{
	switch (k) {
	case LB_K8S_SERVICE:
		return "Service";
	case LB_K8S_SLICE:
		return "EndpointSlice";
	case LB_K8S_NODE:
		return "Node";
	default:
		return "object";
	}
}

void
lb_k8s_obj_free(struct lb_k8s_obj *o)
{
	if (o == NULL)
		return;
	lb_k8s_arena_free(o->mem);
	free(o);
}

struct lb_k8s_obj *
lb_k8s_decode(enum lb_k8s_kind kind, const struct json_object *obj, char *err, size_t errlen)
{
	struct dec d = { .err = err, .errlen = errlen };
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	snprintf(d.what, sizeof(d.what), "%s", lb_k8s_kind_str(kind));
	if ((unsigned)kind >= LB_K8S_NKINDS) {
		lb_k8s_fail(err, errlen, -EINVAL, "unknown kind %d", (int)kind);
		return NULL;
	}
	if (obj == NULL) {
		lb_k8s_fail(err, errlen, -EINVAL, "%s: no object", d.what);
		return NULL;
	}
	d.o = calloc(1, sizeof(*d.o));
	if (d.o == NULL) {
		nomem(&d);
		return NULL;
	}
	d.o->kind = (uint8_t)kind;
	rc = dec_meta(&d, obj, kind != LB_K8S_NODE);
	if (rc == 0) {
		switch (kind) {
		case LB_K8S_SERVICE:
			rc = dec_service(&d, obj);
			break;
		case LB_K8S_SLICE:
			rc = dec_slice(&d, obj);
			break;
		default:
			rc = dec_node(&d, obj);
			break;
		}
	}
	if (rc != 0) {
		lb_k8s_obj_free(d.o);
		return NULL;
	}
	return d.o;
}

int
lb_k8s_decode_key(enum lb_k8s_kind kind, const struct json_object *obj, char *ns, size_t nslen,
	char *name, size_t namelen, char *err, size_t errlen)
{
	struct json_object *meta = NULL, *v = NULL;
	const char *s;

	if (obj == NULL || !json_object_object_get_ex(obj, "metadata", &meta) ||
	    !json_object_is_type(meta, json_type_object))
		return lb_k8s_fail(err, errlen, -EINVAL, "%s: no metadata", lb_k8s_kind_str(kind));
	if (!json_object_object_get_ex(meta, "name", &v) || !json_object_is_type(v, json_type_string) ||
	    !valid_name(s = json_object_get_string(v), LB_K8S_NAME_MAX) ||
	    strlen(s) >= namelen)
		return lb_k8s_fail(err, errlen, -EINVAL, "%s: no valid metadata.name",
			lb_k8s_kind_str(kind));
	snprintf(name, namelen, "%s", s);
	if (kind == LB_K8S_NODE) {
		if (nslen > 0)
			ns[0] = '\0';
		return 0;
	}
	if (!json_object_object_get_ex(meta, "namespace", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !valid_name(s = json_object_get_string(v), LB_K8S_NS_MAX) || strlen(s) >= nslen)
		return lb_k8s_fail(err, errlen, -EINVAL, "%s %s: no valid metadata.namespace",
			lb_k8s_kind_str(kind), name);
	snprintf(ns, nslen, "%s", s);
	return 0;
}

static const char *
kv_get(const struct lb_k8s_kv *kv, uint32_t n, const char *key)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

const char *
lb_k8s_annotation(const struct lb_k8s_obj *o, const char *key)
{
	return kv_get(o->meta.annotations, o->meta.n_annotations, key);
}

const char *
lb_k8s_label(const struct lb_k8s_obj *o, const char *key)
{
	return kv_get(o->meta.labels, o->meta.n_labels, key);
}

bool
lb_k8s_has_finalizer(const struct lb_k8s_obj *o, const char *finalizer)
{
	uint32_t i;

	for (i = 0; i < o->meta.n_finalizers; i++)
		if (strcmp(o->meta.finalizers[i], finalizer) == 0)
			return true;
	return false;
}

bool
lb_k8s_node_eligible(const struct lb_k8s_node *n, const struct lb_k8s_meta *m)
{
	return n->ready && !n->excluded && !n->to_be_deleted && !m->deleting;
}
