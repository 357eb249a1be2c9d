/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef K8S_TEST_H
#define K8S_TEST_H

/*
 * Helpers shared by the lib/k8s tests: JSON written with single quotes,
 * fixtures from tests/unit/data/k8s, a path setter, RFC 7386 merge patch,
 * and a small fake API server that carries out the controller's actions
 * the way kube-apiserver would (resourceVersion checks, 409, finalizers,
 * the status subresource) and feeds the results back as watch events.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "lb_k8s.h"
#include "lb_k8s_map.h"
#include "lb_k8s_ctrl.h"

#define UNUSED __attribute__((unused))

/* JSON text with ' for " (no ' inside strings), printf-formatted. */
static UNUSED struct json_object *
J(const char *fmt, ...)
{
	static char buf[1 << 16];
	struct json_object *o;
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	o = json_tokener_parse(buf);
	if (o == NULL && strcmp(buf, "null") != 0)
		fail_msg("bad test JSON: %s", buf);
	return o;
}

static UNUSED struct json_object *
jload(const char *name)
{
	char path[512];
	struct json_object *o;

	snprintf(path, sizeof(path), "%s/tests/unit/data/k8s/%s", LB_SOURCE_ROOT, name);
	o = json_object_from_file(path);
	if (o == NULL)
		fail_msg("cannot load %s", path);
	return o;
}

/* Sets the value at a dotted path ("spec.ports[1].port"), creating objects
 * on the way; v NULL removes the member. Keys with dots go through jset_key. */
static UNUSED void
jset(struct json_object *root, const char *path, struct json_object *v)
{
	char buf[256], *seg, *save = NULL;
	struct json_object *cur = root, *next;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg != NULL; seg = strtok_r(NULL, ".", &save)) {
		char *br = strchr(seg, '[');
		bool last = save == NULL || *save == '\0';
		int idx = -1;

		if (br != NULL) {
			idx = atoi(br + 1);
			*br = '\0';
		}
		if (last && idx < 0) {
			if (v == NULL)
				json_object_object_del(cur, seg);
			else
				json_object_object_add(cur, seg, v);
			return;
		}
		if (!json_object_object_get_ex(cur, seg, &next)) {
			next = idx >= 0 ? json_object_new_array() : json_object_new_object();
			json_object_object_add(cur, seg, next);
		}
		cur = next;
		if (idx >= 0) {
			if (last) {
				json_object_array_put_idx(cur, (size_t)idx, v);
				return;
			}
			cur = json_object_array_get_idx(cur, (size_t)idx);
			assert_non_null(cur);
		}
	}
}

/* metadata.<map>[key] = value (NULL removes). */
static UNUSED void
jset_key(struct json_object *root, const char *map, const char *key, const char *value)
{
	struct json_object *meta, *m;

	assert_true(json_object_object_get_ex(root, "metadata", &meta));
	if (!json_object_object_get_ex(meta, map, &m)) {
		m = json_object_new_object();
		json_object_object_add(meta, map, m);
	}
	if (value == NULL)
		json_object_object_del(m, key);
	else
		json_object_object_add(m, key, json_object_new_string(value));
}

static UNUSED struct json_object *
jget(struct json_object *root, const char *path)
{
	char buf[256], *seg, *save = NULL;
	struct json_object *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg != NULL && cur != NULL;
	     seg = strtok_r(NULL, ".", &save)) {
		char *br = strchr(seg, '[');
		int idx = -1;

		if (br != NULL) {
			idx = atoi(br + 1);
			*br = '\0';
		}
		if (!json_object_object_get_ex(cur, seg, &cur))
			return NULL;
		if (idx >= 0)
			cur = json_object_array_get_idx(cur, (size_t)idx);
	}
	return cur;
}

static UNUSED const char *
jstr(struct json_object *root, const char *path)
{
	struct json_object *v = jget(root, path);

	return v != NULL ? json_object_get_string(v) : NULL;
}

/* RFC 7386 JSON merge patch of target by patch (both objects). */
static UNUSED void
merge_patch(struct json_object *target, struct json_object *patch)
{
	struct json_object_iterator it = json_object_iter_begin(patch);
	struct json_object_iterator end = json_object_iter_end(patch);

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it), *t;

		if (v == NULL || json_object_is_type(v, json_type_null)) {
			json_object_object_del(target, k);
		} else if (json_object_is_type(v, json_type_object)) {
			if (!json_object_object_get_ex(target, k, &t) ||
			    !json_object_is_type(t, json_type_object)) {
				t = json_object_new_object();
				json_object_object_add(target, k, t);
			}
			merge_patch(t, v);
		} else {
			json_object_object_add(target, k, json_object_get(v));
		}
	}
}

/* --- builders --- */

/* A LoadBalancer Service of class lbd.io/lbd; ports as JSON text. */
static UNUSED struct json_object *
mk_svc(const char *ns, const char *name, const char *policy, const char *ports)
{
	return J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'%s','namespace':'%s',"
		"'uid':'uid-%s-%s','resourceVersion':'1','creationTimestamp':'2024-05-02T09:14:27Z'},"
		"'spec':{'type':'LoadBalancer','loadBalancerClass':'lbd.io/lbd',"
		"'externalTrafficPolicy':'%s','sessionAffinity':'None','ipFamilies':['IPv4'],"
		"'ipFamilyPolicy':'SingleStack','clusterIP':'10.96.0.10','ports':%s},"
		"'status':{'loadBalancer':{}}}", name, ns, ns, name, policy,
		ports != NULL ? ports :
		"[{'name':'http','port':80,'protocol':'TCP','targetPort':8080,'nodePort':30080}]");
}

/* An EndpointSlice for ns/svc named name with endpoints as JSON text. */
static UNUSED struct json_object *
mk_slice(const char *ns, const char *svc, const char *name, const char *family,
	const char *endpoints, const char *ports)
{
	return J("{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{"
		"'name':'%s','namespace':'%s','resourceVersion':'1','labels':{"
		"'kubernetes.io/service-name':'%s',"
		"'endpointslice.kubernetes.io/managed-by':'endpointslice-controller.k8s.io'}},"
		"'addressType':'%s','endpoints':%s,'ports':%s}", name, ns, svc, family, endpoints,
		ports != NULL ? ports : "[{'name':'http','port':8080,'protocol':'TCP'}]");
}

/* A Ready node with one InternalIP. */
static UNUSED struct json_object *
mk_node(const char *name, const char *ip, bool ready)
{
	return J("{'apiVersion':'v1','kind':'Node','metadata':{'name':'%s','resourceVersion':'1',"
		"'labels':{'kubernetes.io/hostname':'%s'}},'spec':{},'status':{'addresses':["
		"{'type':'InternalIP','address':'%s'},{'type':'Hostname','address':'%s'}],"
		"'conditions':[{'type':'Ready','status':'%s','reason':'KubeletReady'}]}}",
		name, name, ip, name, ready ? "True" : "False");
}

/* "10.244.0.X" ready endpoints, as a JSON array text. */
static UNUSED const char *
eps_text(const char *const *addrs)
{
	static char buf[8192];
	size_t off = 0;
	int i;

	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "[");
	for (i = 0; addrs[i] != NULL; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			"%s{'addresses':['%s'],'conditions':{'ready':true,'serving':true,"
			"'terminating':false},'nodeName':'node-%d'}", i ? "," : "", addrs[i], i);
	snprintf(buf + off, sizeof(buf) - off, "]");
	return buf;
}

#endif /* K8S_TEST_H */
