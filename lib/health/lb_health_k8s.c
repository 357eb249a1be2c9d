/* SPDX-License-Identifier: BSD-3-Clause */
/* Kubernetes defaults: which check a Service's targets get, and kube-proxy's
 * healthz answer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <json-c/json.h>

#include "lb_health.h"

void
lb_health_k8s_conf_default(struct lb_health_k8s_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->nodes = true;
	c->proxy_port = htons(LB_HEALTH_KUBE_PROXY_PORT);
	lb_health_spec_default(&c->node);
	lb_health_spec_default(&c->pod);
	c->pod.kind = LB_HEALTH_TCP;
}

int
lb_health_k8s_spec(const struct lb_model_fe *fe, const struct lb_health_k8s_svc *svc,
	const struct lb_health_k8s_conf *conf, struct lb_health_spec *out)
{
	struct lb_health_k8s_svc guess;

	if (fe == NULL || fe->origin_kind != LB_ORIGIN_K8S)
		return -EINVAL;
	if (svc == NULL) {
		/* lib/k8s gives Cluster Services node targets with FullNAT and
		 * everything else pod targets with DNAT; an operator's method
		 * override makes this a guess, hence the svc parameter. */
		memset(&guess, 0, sizeof(guess));
		guess.node_targets = fe->method == LB_METHOD_FULLNAT;
		guess.local = !guess.node_targets;
		svc = &guess;
	}
	if (!svc->node_targets) {
		*out = conf->pod;
		return 0;
	}
	*out = conf->node;
	if (!conf->nodes) {
		out->kind = LB_HEALTH_NONE;
		return 0;
	}
	out->kind = LB_HEALTH_HTTP;	/* kube-proxy serves plain HTTP */
	out->n_expect = 0;
	out->body = LB_HEALTH_BODY_KUBE_PROXY;
	out->host[0] = '\0';
	snprintf(out->path, sizeof(out->path), "%s", LB_HEALTH_KUBE_PROXY_PATH);
	if (svc->local && svc->hc_node_port != 0)
		out->port = svc->hc_node_port;
	else
		out->port = conf->proxy_port;
	return 0;
}

bool
lb_health_kube_proxy_ok(long status, const char *body, size_t len, char *reason, size_t reason_len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL, *le;
	bool is_obj, has_le = false;
	int64_t n = 0;

	if (tok != NULL) {
		o = json_tokener_parse_ex(tok, body, (int)LB_MIN(len, (size_t)LB_HEALTH_BODY_MAX));
		if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tok);
	}
	is_obj = o != NULL && json_object_is_type(o, json_type_object);
	if (is_obj && json_object_object_get_ex(o, "localEndpoints", &le) &&
	    (json_object_is_type(le, json_type_int) || json_object_is_type(le, json_type_double))) {
		has_le = true;
		n = json_object_get_int64(le);
	}
	json_object_put(o);
	if (status != 200) {
		if (has_le)
			snprintf(reason, reason_len, "HTTP %ld, localEndpoints %lld", status,
				(long long)n);
		else
			snprintf(reason, reason_len, "HTTP %ld", status);
		return false;
	}
	if (!is_obj) {
		snprintf(reason, reason_len, "HTTP 200 but the body is not kube-proxy's JSON");
		return false;
	}
	if (has_le && n <= 0) {
		snprintf(reason, reason_len, "HTTP 200 but localEndpoints %lld", (long long)n);
		return false;
	}
	if (has_le)
		snprintf(reason, reason_len, "HTTP 200, localEndpoints %lld", (long long)n);
	else
		snprintf(reason, reason_len, "HTTP 200");
	return true;
}
