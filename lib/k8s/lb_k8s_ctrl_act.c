/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The controller's writes to the API: planning the next one per Service,
 * building their JSON bodies (json-c does the escaping), Events with a
 * per-(Service, reason) rate limit, and what a result does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "lb_k8s_ctrl_priv.h"

#define MERGE_PATCH	"application/merge-patch+json"
#define NOTE_MAX	1024	/* events.k8s.io/v1 note limit */

const char *
lb_k8s_action_kind_str(enum lb_k8s_action_kind k)
{
	switch (k) {
	case LB_K8S_ACT_ADD_FINALIZER:
		return "add-finalizer";
	case LB_K8S_ACT_REMOVE_FINALIZER:
		return "remove-finalizer";
	case LB_K8S_ACT_WRITE_STATUS:
		return "write-status";
	case LB_K8S_ACT_CLEAR_STATUS:
		return "clear-status";
	case LB_K8S_ACT_GET:
		return "get";
	case LB_K8S_ACT_EVENT:
		return "event";
	}
	return "?";
}

void
lb_k8s_action_free(struct lb_k8s_action *a)
{
	if (a == NULL)
		return;
	free(a->body);
	free(a);
}

void
lb_k8s_ctrl_push(struct lb_k8s_ctrl *c, struct lb_k8s_action *a)
{
	struct act_node *n = malloc(sizeof(*n));

	if (n == NULL) {
		lb_k8s_action_free(a);
		return;
	}
	n->next = NULL;
	n->a = a;
	if (c->act_tail != NULL)
		c->act_tail->next = n;
	else
		c->act_head = n;
	c->act_tail = n;
}

struct lb_k8s_action *
lb_k8s_ctrl_next_action(struct lb_k8s_ctrl *c)
{
	struct act_node *n = c->act_head;
	struct lb_k8s_action *a;

	if (n == NULL)
		return NULL;
	c->act_head = n->next;
	if (c->act_head == NULL)
		c->act_tail = NULL;
	a = n->a;
	free(n);
	c->st.actions++;
	return a;
}

static char *
to_text(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		JSON_C_TO_STRING_NOSLASHESCAPE);
	char *d = s != NULL ? strdup(s) : NULL;

	json_object_put(o);
	return d;
}

/* Adds k: v to object o (v may be NULL: json-c's out of memory); false when
 * something failed. */
static bool
put(struct json_object *o, const char *k, struct json_object *v)
{
	if (o == NULL || v == NULL) {
		json_object_put(v);
		return false;
	}
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool
append(struct json_object *a, struct json_object *v)
{
	if (a == NULL || v == NULL) {
		json_object_put(v);
		return false;
	}
	if (json_object_array_add(a, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static struct lb_k8s_action *
new_action(struct lb_k8s_ctrl *c, enum lb_k8s_action_kind kind, const struct svc *s)
{
	struct lb_k8s_action *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->token = c->next_token++;
	a->kind = kind;
	snprintf(a->ns, sizeof(a->ns), "%s", s->ns);
	snprintf(a->name, sizeof(a->name), "%s", s->name);
	return a;
}

static int64_t
wall_now(const struct lb_k8s_ctrl *c)
{
	return c->wall_ms;
}

/* --- Events --- */

static struct ev_slot *
ev_slot(struct svc *s, const char *reason)
{
	struct ev_slot *old = &s->ev[0];
	int i;

	for (i = 0; i < EV_SLOTS; i++) {
		if (strcmp(s->ev[i].reason, reason) == 0)
			return &s->ev[i];
		if (s->ev[i].last_ms < old->last_ms)
			old = &s->ev[i];
	}
	snprintf(old->reason, sizeof(old->reason), "%s", reason);
	old->last_ms = 0;
	return old;
}

/* "2024-05-01T10:00:00.123000Z" (MicroTime) */
static void
micro_time(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t len;

	if (ms < 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, n, "1970-01-01T00:00:00.000000Z");
		return;
	}
	len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + len, n - len, ".%03u000Z", (unsigned)(ms % 1000));
}

void
lb_k8s_ctrl_emit(struct lb_k8s_ctrl *c, struct svc *s, const char *type, const char *reason,
	const char *action, const char *note)
{
	const struct lb_k8s_obj *o = lb_k8s_ctrl_obj(c, s);
	struct json_object *ev, *meta, *reg;
	struct lb_k8s_action *a;
	struct ev_slot *slot;
	char name[LB_K8S_NAME_MAX + 1], t[64], nbuf[NOTE_MAX];
	bool ok;

	if (o == NULL)
		return;	/* nothing to attach it to */
	slot = ev_slot(s, reason);
	if (slot->last_ms != 0 && c->conf.event_interval_ms != 0 &&
	    c->now_ms - slot->last_ms < c->conf.event_interval_ms) {
		c->st.events_suppressed++;
		return;
	}
	slot->last_ms = c->now_ms ? c->now_ms : 1;
	a = new_action(c, LB_K8S_ACT_EVENT, s);
	if (a == NULL)
		return;
	/* client-go names Events NAME.<hex time>; a sequence number keeps two
	 * Events of one millisecond apart. */
	snprintf(name, sizeof(name), "%.200s.%" PRIx64, s->name,
		(uint64_t)wall_now(c) * 1000000u + (c->event_seq++ % 1000000u));
	micro_time(wall_now(c), t, sizeof(t));
	snprintf(nbuf, sizeof(nbuf), "%s", note);
	/* Children are attached first, so that one json_object_put(ev) frees
	 * everything whatever failed (put frees what it cannot attach). */
	ev = json_object_new_object();
	meta = json_object_new_object();
	reg = json_object_new_object();
	ok = put(ev, "metadata", meta);
	ok = put(ev, "regarding", reg) && ok;
	ok = ok && put(meta, "name", json_object_new_string(name)) &&
		put(meta, "namespace", json_object_new_string(s->ns)) &&
		put(reg, "apiVersion", json_object_new_string("v1")) &&
		put(reg, "kind", json_object_new_string("Service")) &&
		put(reg, "namespace", json_object_new_string(s->ns)) &&
		put(reg, "name", json_object_new_string(s->name)) &&
		(*o->meta.uid == '\0' || put(reg, "uid", json_object_new_string(o->meta.uid))) &&
		(*o->meta.rv == '\0' ||
		 put(reg, "resourceVersion", json_object_new_string(o->meta.rv))) &&
		put(ev, "apiVersion", json_object_new_string("events.k8s.io/v1")) &&
		put(ev, "kind", json_object_new_string("Event")) &&
		put(ev, "eventTime", json_object_new_string(t)) &&
		put(ev, "reportingController", json_object_new_string(c->controller)) &&
		put(ev, "reportingInstance", json_object_new_string(c->instance)) &&
		put(ev, "action", json_object_new_string(action)) &&
		put(ev, "reason", json_object_new_string(reason)) &&
		put(ev, "type", json_object_new_string(type)) &&
		put(ev, "note", json_object_new_string(nbuf));
	a->body = ok ? to_text(ev) : (json_object_put(ev), NULL);
	if (a->body == NULL) {
		lb_k8s_action_free(a);
		return;
	}
	a->method = "POST";
	a->content_type = "application/json";
	snprintf(a->path, sizeof(a->path), "/apis/events.k8s.io/v1/namespaces/%s/events", s->ns);
	snprintf(a->what, sizeof(a->what), "Event %s %s: %.100s", type, reason, note);
	{
		struct inflight *f = calloc(1, sizeof(*f));
		char tok[24];

		snprintf(tok, sizeof(tok), "%" PRIu64, a->token);
		if (f == NULL || lb_k8s_tab_set(&c->inflight, tok, f, NULL) != 0) {
			free(f);
			lb_k8s_action_free(a);
			return;
		}
		f->token = a->token;
		f->kind = LB_K8S_ACT_EVENT;
		snprintf(f->key, sizeof(f->key), "%s", s->key);
	}
	c->st.events_sent++;
	lb_k8s_ctrl_push(c, a);
}

/* --- status --- */

static const char *
proto_name(uint8_t p)
{
	return p == LB_PROTO_UDP ? "UDP" : "TCP";
}

/* [{"ip":..., "ipMode":"Proxy", "ports":[{"port":80,"protocol":"TCP"}]}, ...]:
 * one entry per address with at least one live frontend, in family order. */
static struct json_object *
desired_json(const struct svc *s)
{
	struct json_object *arr = json_object_new_array(), *ing, *ports, *p;
	char a[LB_IP_STRLEN];
	uint32_t i, k, n;

	/* Each new object is attached to its parent before it is filled, so
	 * that freeing arr frees everything (put and append free what they
	 * cannot attach). */
	for (i = 0; arr != NULL && s->allocated && i < s->alloc.n; i++) {
		for (k = 0, n = 0; k < s->n_fes; k++)
			n += s->live[k] && lb_ip_cmp(&s->fes[k]->vip, &s->alloc.addr[i]) == 0;
		if (n == 0)
			continue;
		ing = json_object_new_object();
		if (!append(arr, ing) ||
		    !put(ing, "ip", json_object_new_string(lb_ip_fmt(&s->alloc.addr[i], a))) ||
		    !put(ing, "ipMode", json_object_new_string("Proxy")) ||
		    !put(ing, "ports", ports = json_object_new_array()))
			goto nomem;
		for (k = 0; k < s->n_fes; k++) {
			const struct lb_model_fe *fe = s->fes[k];

			if (!s->live[k] || lb_ip_cmp(&fe->vip, &s->alloc.addr[i]) != 0)
				continue;
			p = json_object_new_object();
			if (!append(ports, p) ||
			    !put(p, "port", json_object_new_int(ntohs(fe->port))) ||
			    !put(p, "protocol", json_object_new_string(proto_name(fe->proto))))
				goto nomem;
		}
	}
	return arr;
nomem:
	json_object_put(arr);
	return NULL;
}

/* The object's ingress in the same canonical form. An absent ipMode counts
 * as Proxy: API servers before 1.29 drop the field, and rewriting it for
 * ever would loop. */
static struct json_object *
observed_json(const struct lb_k8s_obj *o)
{
	struct json_object *arr = json_object_new_array(), *ing, *ports, *p;
	char a[LB_IP_STRLEN];
	uint32_t i, k;

	for (i = 0; arr != NULL && i < o->svc.n_ingress; i++) {
		const struct lb_k8s_ingress *in = &o->svc.ingress[i];

		ing = json_object_new_object();
		if (!append(arr, ing) ||
		    (in->ip.family != 0 &&
		     !put(ing, "ip", json_object_new_string(lb_ip_fmt(&in->ip, a)))) ||
		    (in->hostname != NULL &&
		     !put(ing, "hostname", json_object_new_string(in->hostname))) ||
		    !put(ing, "ipMode", json_object_new_string(in->ip_mode != NULL ?
			in->ip_mode : "Proxy")))
			goto nomem;
		if (in->n_ports == 0)
			continue;
		if (!put(ing, "ports", ports = json_object_new_array()))
			goto nomem;
		for (k = 0; k < in->n_ports; k++) {
			const struct lb_k8s_port_status *ps = &in->ports[k];

			p = json_object_new_object();
			if (!append(ports, p) ||
			    !put(p, "port", json_object_new_int(ps->port)) ||
			    !put(p, "protocol", json_object_new_string(ps->protocol)) ||
			    (ps->error != NULL &&
			     !put(p, "error", json_object_new_string(ps->error))))
				goto nomem;
		}
	}
	return arr;
nomem:
	json_object_put(arr);
	return NULL;
}

char *
lb_k8s_ctrl_desired_status(const struct lb_k8s_ctrl *c, const struct svc *s)
{
	struct json_object *d = desired_json(s);

	(void)c;
	return d != NULL ? to_text(d) : NULL;
}

bool
lb_k8s_ctrl_status_matches(const struct lb_k8s_obj *o, const char *desired)
{
	struct json_object *obs = observed_json(o);
	char *t = obs != NULL ? to_text(obs) : NULL;
	bool eq = t != NULL && strcmp(t, desired) == 0;

	free(t);
	return eq;
}

/* --- write actions --- */

static bool
track(struct lb_k8s_ctrl *c, struct svc *s, struct lb_k8s_action *a, const char *rv, char *status)
{
	struct inflight *f = calloc(1, sizeof(*f));
	char tok[24];

	snprintf(tok, sizeof(tok), "%" PRIu64, a->token);
	if (f == NULL || lb_k8s_tab_set(&c->inflight, tok, f, NULL) != 0) {
		free(f);
		free(status);
		lb_k8s_action_free(a);
		return false;
	}
	f->token = a->token;
	f->kind = a->kind;
	snprintf(f->key, sizeof(f->key), "%s", s->key);
	snprintf(f->rv, sizeof(f->rv), "%s", rv);
	f->status = status;
	s->inflight = a->token;
	lb_k8s_ctrl_push(c, a);
	return true;
}

static void
svc_path(struct lb_k8s_action *a, const struct svc *s, const char *suffix)
{
	snprintf(a->path, sizeof(a->path), "/api/v1/namespaces/%s/services/%s%s", s->ns, s->name,
		suffix);
}

/* A merge patch of metadata.finalizers (the whole list) with the object's
 * resourceVersion, so that a concurrent change makes it fail with 409
 * instead of being overwritten. */
static void
push_finalizers(struct lb_k8s_ctrl *c, struct svc *s, const struct lb_k8s_obj *o, bool add)
{
	struct json_object *root = json_object_new_object(), *meta = json_object_new_object();
	struct json_object *list = json_object_new_array();
	struct lb_k8s_action *a = NULL;
	uint32_t i;
	bool ok;

	/* Children are attached first, so that one json_object_put(root)
	 * frees everything whatever failed (put frees what it cannot attach). */
	ok = put(root, "metadata", meta);
	ok = ok ? put(meta, "finalizers", list) : (json_object_put(list), false);

	for (i = 0; ok && i < o->meta.n_finalizers; i++)
		if (strcmp(o->meta.finalizers[i], LB_K8S_FINALIZER) != 0)
			ok = append(list, json_object_new_string(o->meta.finalizers[i]));
	if (ok && add)
		ok = append(list, json_object_new_string(LB_K8S_FINALIZER));
	ok = ok && (*o->meta.rv == '\0' ||
		    put(meta, "resourceVersion", json_object_new_string(o->meta.rv)));
	if (ok)
		a = new_action(c, add ? LB_K8S_ACT_ADD_FINALIZER : LB_K8S_ACT_REMOVE_FINALIZER, s);
	if (a == NULL) {
		json_object_put(root);
		return;
	}
	if ((a->body = to_text(root)) == NULL) {
		lb_k8s_action_free(a);
		return;
	}
	a->method = "PATCH";
	a->content_type = MERGE_PATCH;
	svc_path(a, s, "");
	snprintf(a->what, sizeof(a->what), "%s finalizer %s", add ? "add" : "remove",
		LB_K8S_FINALIZER);
	track(c, s, a, o->meta.rv, NULL);
}

static void
push_status(struct lb_k8s_ctrl *c, struct svc *s, const struct lb_k8s_obj *o, const char *desired,
	bool clear)
{
	struct json_object *root = json_object_new_object(), *meta = json_object_new_object();
	struct json_object *st = json_object_new_object(), *lb = json_object_new_object();
	struct json_object *ing = json_tokener_parse(desired);
	struct lb_k8s_action *a = NULL;
	bool ok, m;

	m = put(root, "metadata", meta);
	ok = put(root, "status", st);
	ok = ok ? put(st, "loadBalancer", lb) : (json_object_put(lb), false);
	ok = ok ? put(lb, "ingress", ing) : (json_object_put(ing), false);
	ok = ok && m;

	ok = ok && (*o->meta.rv == '\0' ||
		    put(meta, "resourceVersion", json_object_new_string(o->meta.rv)));
	if (ok)
		a = new_action(c, clear ? LB_K8S_ACT_CLEAR_STATUS : LB_K8S_ACT_WRITE_STATUS, s);
	if (a == NULL) {
		json_object_put(root);
		return;
	}
	if ((a->body = to_text(root)) == NULL) {
		lb_k8s_action_free(a);
		return;
	}
	a->method = "PATCH";
	a->content_type = MERGE_PATCH;
	svc_path(a, s, "/status");
	snprintf(a->what, sizeof(a->what), "status ingress %.140s", desired);
	track(c, s, a, o->meta.rv, strdup(desired));
}

static void
push_get(struct lb_k8s_ctrl *c, struct svc *s)
{
	struct lb_k8s_action *a = new_action(c, LB_K8S_ACT_GET, s);

	if (a == NULL)
		return;
	a->method = "GET";
	svc_path(a, s, "");
	snprintf(a->what, sizeof(a->what), "re-read after a conflict");
	track(c, s, a, s->rv, NULL);
}

/* Whether our last write was based on the version we still see: the watch
 * has not brought its result yet, so writing again would repeat it. */
static bool
waiting_for_watch(const struct svc *s, const struct lb_k8s_obj *o)
{
	return s->wrote_rv[0] != '\0' && strcmp(s->wrote_rv, o->meta.rv) == 0;
}

void
lb_k8s_ctrl_plan(struct lb_k8s_ctrl *c, struct svc *s)
{
	const struct lb_k8s_obj *o;
	char *desired;

	if (s->inflight != 0 || (s->backoff_until != 0 && s->backoff_until > c->now_ms))
		return;
	if (s->release_pending && c->published >= s->release_version) {
		lb_ipam_release(c->ipam, s->key);
		s->allocated = false;
		s->release_pending = false;
		memset(&s->alloc, 0, sizeof(s->alloc));
		lb_k8s_ctrl_retry_pending(c);
	}
	o = lb_k8s_ctrl_obj(c, s);
	if (s->wants && o != NULL) {
		if (s->mapped_ok && s->allocated && !s->has_fin) {
			if (!waiting_for_watch(s, o))
				push_finalizers(c, s, o, true);
			return;
		}
		if (c->published < s->fe_version)
			return;
		desired = lb_k8s_ctrl_desired_status(c, s);
		if (desired != NULL && !lb_k8s_ctrl_status_matches(o, desired) &&
		    !waiting_for_watch(s, o) &&
		    (s->last_status == NULL || strcmp(s->last_status, desired) != 0))
			push_status(c, s, o, desired, false);
		free(desired);
		return;
	}
	if (s->wants || s->n_fes > 0 || s->release_pending)
		return;	/* the withdrawal is not published yet */
	if (o != NULL && !o->meta.deleting && o->svc.type != LB_K8S_SVC_LOAD_BALANCER &&
	    o->svc.n_ingress > 0) {
		if (!waiting_for_watch(s, o))
			push_status(c, s, o, "[]", true);
		return;
	}
	if (o != NULL && s->has_fin &&
	    (o->svc.type != LB_K8S_SVC_LOAD_BALANCER || lb_k8s_ctrl_class_matches(c, o))) {
		if (!waiting_for_watch(s, o))
			push_finalizers(c, s, o, false);
		return;
	}
	lb_k8s_ctrl_drop_svc(c, s);
}

/* --- results --- */

static uint64_t
rnd(struct lb_k8s_ctrl *c)
{
	uint64_t x = c->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	c->rng = x;
	return x;
}

/* min * 2^(failures-1), capped at max, times 0.8..1.2. */
static uint64_t
backoff_ms(struct lb_k8s_ctrl *c, uint32_t failures)
{
	uint64_t d = c->conf.backoff_min_ms;
	uint32_t i;

	for (i = 1; i < failures && d < c->conf.backoff_max_ms; i++)
		d *= 2;
	if (d > c->conf.backoff_max_ms)
		d = c->conf.backoff_max_ms;
	return d * (800 + rnd(c) % 401) / 1000;
}

void
lb_k8s_ctrl_result(struct lb_k8s_ctrl *c, uint64_t token, int http_status,
	const struct json_object *body, uint64_t now_ms)
{
	struct inflight *f;
	struct svc *s;
	char tok[24], msg[REASON_MAX];

	snprintf(tok, sizeof(tok), "%" PRIu64, token);
	f = lb_k8s_tab_del(&c->inflight, tok);
	if (f == NULL)
		return;
	if (now_ms > c->now_ms) {
		c->wall_ms += (int64_t)(now_ms - c->now_ms);
		c->now_ms = now_ms;
	}
	s = lb_k8s_ctrl_svc(c, f->key);
	if (f->kind == LB_K8S_ACT_EVENT) {
		if (http_status >= 200 && http_status < 300)
			c->st.results_ok++;
		else
			c->st.results_failed++;
		goto out;
	}
	if (s != NULL && s->inflight == token)
		s->inflight = 0;
	if (http_status >= 200 && http_status < 300) {
		c->st.results_ok++;
		/* The response is the object as it now is: no need to wait for
		 * the watch to see our own write. Not after removing the
		 * finalizer: the object may be gone, and its DELETED event may
		 * already have been applied. */
		if (body != NULL && f->kind != LB_K8S_ACT_REMOVE_FINALIZER)
			(void)lb_k8s_store_apply(c->store, LB_K8S_SERVICE, LB_K8S_MODIFIED, body,
				NULL, 0);
		if (s == NULL)
			goto out;
		s->failures = 0;
		s->backoff_until = 0;
		s->error[0] = '\0';
		if (f->kind != LB_K8S_ACT_GET)
			snprintf(s->wrote_rv, sizeof(s->wrote_rv), "%s", f->rv);
		if (f->kind == LB_K8S_ACT_WRITE_STATUS || f->kind == LB_K8S_ACT_CLEAR_STATUS) {
			free(s->last_status);
			s->last_status = f->status;
			f->status = NULL;
		}
		lb_k8s_ctrl_mark_plan(c, s);
		goto out;
	}
	if (http_status == 409) {
		c->st.results_conflict++;
		if (s != NULL && f->kind != LB_K8S_ACT_GET) {
			s->wrote_rv[0] = '\0';
			push_get(c, s);
		}
		goto out;
	}
	c->st.results_failed++;
	if (s == NULL)
		goto out;
	if (http_status == 404) {
		/* Gone: the watch brings the deletion; do not write again until
		 * it or a newer version arrives. */
		snprintf(s->wrote_rv, sizeof(s->wrote_rv), "%s", f->rv);
		snprintf(s->error, sizeof(s->error), "%s: not found", lb_k8s_action_kind_str(f->kind));
		lb_k8s_ctrl_mark_plan(c, s);
		goto out;
	}
	s->failures++;
	s->backoff_until = now_ms + backoff_ms(c, s->failures);
	if (s->backoff_until < c->next_timer)
		c->next_timer = s->backoff_until;
	if (http_status == 0)
		snprintf(s->error, sizeof(s->error), "%s: no answer from the API server",
			lb_k8s_action_kind_str(f->kind));
	else
		snprintf(s->error, sizeof(s->error), "%s: HTTP %d",
			lb_k8s_action_kind_str(f->kind), http_status);
	if (http_status == 400 || http_status == 422) {
		snprintf(msg, sizeof(msg), "the API server refused lbd's %s (HTTP %d)",
			lb_k8s_action_kind_str(f->kind), http_status);
		lb_k8s_ctrl_emit(c, s, "Warning", LB_K8S_R_WRITE_FAILED, "Update", msg);
	}
	lb_k8s_ctrl_mark_plan(c, s);
out:
	free(f->status);
	free(f);
}
