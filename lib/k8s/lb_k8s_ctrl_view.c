/* SPDX-License-Identifier: BSD-3-Clause */
/* What the controller shows: per-Service views (lbctl services) and stats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_k8s_ctrl_priv.h"

const char *
lb_k8s_svc_state_str(enum lb_k8s_svc_state s)
{
	switch (s) {
	case LB_K8S_ST_PENDING:
		return "pending";
	case LB_K8S_ST_PUBLISHING:
		return "publishing";
	case LB_K8S_ST_SERVING:
		return "serving";
	case LB_K8S_ST_WITHDRAWING:
		return "withdrawing";
	}
	return "?";
}

static enum lb_k8s_svc_state
state_of(const struct lb_k8s_ctrl *c, const struct svc *s, const struct lb_k8s_obj *o)
{
	char *desired;
	bool ok;

	if (!s->wants)
		return LB_K8S_ST_WITHDRAWING;
	if (s->n_fes == 0)
		return LB_K8S_ST_PENDING;
	if (c->published < s->fe_version || o == NULL)
		return LB_K8S_ST_PUBLISHING;
	desired = lb_k8s_ctrl_desired_status(c, s);
	ok = desired != NULL && lb_k8s_ctrl_status_matches(o, desired);
	free(desired);
	return ok ? LB_K8S_ST_SERVING : LB_K8S_ST_PUBLISHING;
}

struct collect {
	uint32_t n;
	uint32_t cap;
	struct svc **v;
	bool nomem;
};

static void
collect_cb(void *ctx, const char *key, void *val)
{
	struct collect *cl = ctx;

	(void)key;
	if (cl->nomem)
		return;
	if (cl->n == cl->cap) {
		uint32_t cap = cl->cap ? cl->cap * 2 : 64;
		struct svc **v = realloc(cl->v, sizeof(*v) * cap);

		if (v == NULL) {
			cl->nomem = true;
			return;
		}
		cl->v = v;
		cl->cap = cap;
	}
	cl->v[cl->n++] = val;
}

static int
svc_cmp(const void *a, const void *b)
{
	return strcmp((*(struct svc *const *)a)->key, (*(struct svc *const *)b)->key);
}

static void
fill_view(const struct lb_k8s_ctrl *c, const struct svc *s, struct lb_k8s_svc_view *v, char *buf,
	size_t n)
{
	const struct lb_k8s_obj *o = lb_k8s_ctrl_obj(c, s);
	uint32_t i;

	memset(v, 0, sizeof(*v));
	v->ns = s->ns;
	v->name = s->name;
	if (o != NULL) {
		v->lb_class = o->svc.lb_class;
		v->policy = o->svc.policy == LB_K8S_POLICY_LOCAL ? "Local" : "Cluster";
		v->n_ports = o->svc.n_ports;
		v->ports = o->svc.ports;
		v->finalizer = lb_k8s_has_finalizer(o, LB_K8S_FINALIZER);
	} else {
		v->policy = "-";
	}
	if (s->allocated) {
		v->n_vips = s->alloc.n;
		memcpy(v->vips, s->alloc.addr, sizeof(v->vips));
	}
	v->n_frontends = s->n_fes;
	for (i = 0; i < s->n_fes; i++) {
		v->n_published += s->live[i] != 0;
		v->n_targets += s->fes[i]->n_targets;
	}
	v->state = state_of(c, s, o);
	if (s->reason[0] != '\0' && s->error[0] != '\0')
		snprintf(buf, n, "%s; last error: %s", s->reason, s->error);
	else
		snprintf(buf, n, "%s", s->reason[0] != '\0' ? s->reason : s->error);
	v->reason = buf;
}

void
lb_k8s_ctrl_foreach_service(struct lb_k8s_ctrl *c,
	void (*fn)(void *ctx, const struct lb_k8s_svc_view *v), void *ctx)
{
	struct collect cl = { 0 };
	struct lb_k8s_svc_view v;
	char reason[2 * REASON_MAX + 16];
	uint32_t i;

	lb_k8s_tab_foreach(&c->svcs, collect_cb, &cl);
	if (cl.n > 1)
		qsort(cl.v, cl.n, sizeof(*cl.v), svc_cmp);
	for (i = 0; i < cl.n; i++) {
		fill_view(c, cl.v[i], &v, reason, sizeof(reason));
		fn(ctx, &v);
	}
	free(cl.v);
}

struct count {
	const struct lb_k8s_ctrl *c;
	struct lb_k8s_stats *st;
};

static void
count_cb(void *ctx, const char *key, void *val)
{
	struct count *n = ctx;
	const struct svc *s = val;
	enum lb_k8s_svc_state state;

	(void)key;
	n->st->services++;
	n->st->frontends += s->n_fes;
	state = state_of(n->c, s, lb_k8s_ctrl_obj(n->c, s));
	if (state == LB_K8S_ST_SERVING)
		n->st->serving++;
	else if (state == LB_K8S_ST_PENDING)
		n->st->pending++;
}

void
lb_k8s_ctrl_stats(const struct lb_k8s_ctrl *c, struct lb_k8s_stats *out)
{
	struct count n = { c, out };

	*out = c->st;
	out->services = out->serving = out->pending = out->frontends = 0;
	lb_k8s_store_stats(c->store, &out->store);
	out->synced = c->synced;
	out->nodes_eligible = c->nodes.n;
	out->nodes_ready_ignored = c->nodes.ready_ignored;
	out->model_version = c->version;
	out->published_version = c->published;
	lb_k8s_tab_foreach(&c->svcs, count_cb, &n);
}

bool
lb_k8s_ctrl_synced(const struct lb_k8s_ctrl *c)
{
	return c->synced;
}
