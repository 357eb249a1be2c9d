/* SPDX-License-Identifier: BSD-3-Clause */
/* The kinds: v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_k8s_dec.h"

/* --- Service --- */

static int
dec_svc_port(struct lb_k8s_dec *d, const struct json_object *v, uint32_t i,
	struct lb_k8s_svc_port *sp)
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
dec_ingress(struct lb_k8s_dec *d, const struct json_object *v, uint32_t i,
	struct lb_k8s_ingress *in)
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
dec_families(struct lb_k8s_dec *d, const struct json_object *spec, struct lb_k8s_svc *s)
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

int
lb_k8s_dec_service(struct lb_k8s_dec *d, const struct json_object *root)
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
dec_endpoint(struct lb_k8s_dec *d, const struct json_object *v, uint32_t i, struct lb_k8s_ep *ep)
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

int
lb_k8s_dec_slice(struct lb_k8s_dec *d, const struct json_object *root)
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

int
lb_k8s_dec_node(struct lb_k8s_dec *d, const struct json_object *root)
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
