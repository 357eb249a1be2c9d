/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef K8S_FAKE_H
#define K8S_FAKE_H

/*
 * A fake cluster and glue for controller tests. The cluster holds Service
 * objects and carries out the controller's actions the way kube-apiserver
 * does: a merge patch carrying metadata.resourceVersion fails with 409 when
 * the object moved on; the status subresource changes only status; removing
 * the last finalizer of an object being deleted deletes it; every change
 * bumps the resourceVersion and is delivered to the controller as a watch
 * event (unless the watch is told to lag). The glue part publishes each new
 * model at once (optionally dropping frontends, as a merge conflict would).
 */
#include "k8s_test.h"

#define FAKE_MAX	64

struct fake {
	struct lb_k8s_ctrl *c;
	uint64_t now;
	int64_t wall;
	uint64_t rv;
	int n;
	struct json_object *svc[FAKE_MAX];

	/* behaviour */
	int fail_status;	/* answer the next fail_count writes with it */
	int fail_count;
	bool return_body;	/* PATCH answers carry the object */
	bool watch_lag;		/* changes are not delivered */
	bool hold;		/* actions are kept, not carried out */
	const char *drop_fe;	/* a frontend the "merge" drops */

	/* what happened */
	struct lb_k8s_action *held[FAKE_MAX];
	int n_held;
	char log[256][192];	/* "ACTION ns/name ...", "EVENT Warning Reason: note" */
	int n_log;
	int n_events;
	int n_writes;
	uint64_t published;
	uint32_t n_published;
	struct lb_model *model;
};

static UNUSED void
flog(struct fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static UNUSED void
flog(struct fake *f, const char *fmt, ...)
{
	va_list ap;

	if (f->n_log >= 256)
		return;
	va_start(ap, fmt);
	vsnprintf(f->log[f->n_log++], sizeof(f->log[0]), fmt, ap);
	va_end(ap);
}

/* Index of the log line containing s, from `from`, or -1. */
static UNUSED int
flog_find(const struct fake *f, int from, const char *s)
{
	int i;

	for (i = from; i < f->n_log; i++)
		if (strstr(f->log[i], s) != NULL)
			return i;
	return -1;
}

static UNUSED int
flog_count(const struct fake *f, const char *s)
{
	int i, n = 0;

	for (i = 0; i < f->n_log; i++)
		n += strstr(f->log[i], s) != NULL;
	return n;
}

static UNUSED void
flog_dump(const struct fake *f)
{
	int i;

	for (i = 0; i < f->n_log; i++)
		print_message("  %s\n", f->log[i]);
}

static UNUSED int
fidx(struct fake *f, const char *ns, const char *name)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (strcmp(jstr(f->svc[i], "metadata.namespace"), ns) == 0 &&
		    strcmp(jstr(f->svc[i], "metadata.name"), name) == 0)
			return i;
	return -1;
}

static UNUSED struct json_object *
fsvc(struct fake *f, const char *ns, const char *name)
{
	int i = fidx(f, ns, name);

	return i >= 0 ? f->svc[i] : NULL;
}

static UNUSED void
fdeliver(struct fake *f, enum lb_k8s_kind k, enum lb_k8s_event ev, struct json_object *j)
{
	char err[256];

	if (lb_k8s_ctrl_event(f->c, k, ev, j, err, sizeof(err)) != 0)
		fail_msg("event: %s", err);
}

static UNUSED void
fbump(struct fake *f, struct json_object *j)
{
	char rv[24];

	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)++f->rv);
	jset(j, "metadata.resourceVersion", json_object_new_string(rv));
}

/* Creates or replaces a Service (the fake takes j). */
static UNUSED void
fput(struct fake *f, struct json_object *j)
{
	int i = fidx(f, jstr(j, "metadata.namespace"), jstr(j, "metadata.name"));
	enum lb_k8s_event ev = i >= 0 ? LB_K8S_MODIFIED : LB_K8S_ADDED;

	fbump(f, j);
	if (i >= 0) {
		/* Keep what the server owns: finalizers and status. */
		struct json_object *old = f->svc[i], *v;

		if ((v = jget(old, "metadata.finalizers")) != NULL && jget(j, "metadata.finalizers") == NULL)
			jset(j, "metadata.finalizers", json_object_get(v));
		if ((v = jget(old, "status")) != NULL)
			jset(j, "status", json_object_get(v));
		json_object_put(old);
		f->svc[i] = j;
	} else {
		assert_true(f->n < FAKE_MAX);
		f->svc[f->n++] = j;
	}
	if (!f->watch_lag)
		fdeliver(f, LB_K8S_SERVICE, ev, j);
}

static UNUSED void
fremove(struct fake *f, int i)
{
	struct json_object *j = f->svc[i];

	f->svc[i] = f->svc[--f->n];
	if (!f->watch_lag)
		fdeliver(f, LB_K8S_SERVICE, LB_K8S_DELETED, j);
	json_object_put(j);
}

/* kubectl delete: with finalizers the object stays, marked. */
static UNUSED void
fdelete(struct fake *f, const char *ns, const char *name)
{
	int i = fidx(f, ns, name);
	struct json_object *fins;

	assert_true(i >= 0);
	fins = jget(f->svc[i], "metadata.finalizers");
	if (fins != NULL && json_object_array_length(fins) > 0) {
		jset(f->svc[i], "metadata.deletionTimestamp", json_object_new_string(
			"2024-05-02T12:00:00Z"));
		fbump(f, f->svc[i]);
		if (!f->watch_lag)
			fdeliver(f, LB_K8S_SERVICE, LB_K8S_MODIFIED, f->svc[i]);
		return;
	}
	fremove(f, i);
}

/* Carries out one action; returns the HTTP status it answered. */
static UNUSED int
fexec(struct fake *f, struct lb_k8s_action *a)
{
	char ns[64], name[256], sub[16] = "";
	struct json_object *body = NULL, *obj, *reply = NULL, *rvj;
	int i, status = 200;

	if (a->kind == LB_K8S_ACT_EVENT) {
		body = json_tokener_parse(a->body);
		assert_non_null(body);
		/* What events.k8s.io/v1 validation requires. */
		assert_string_equal(jstr(body, "apiVersion"), "events.k8s.io/v1");
		assert_non_null(jstr(body, "eventTime"));
		assert_non_null(jstr(body, "reportingController"));
		assert_non_null(jstr(body, "reportingInstance"));
		assert_non_null(jstr(body, "action"));
		assert_string_equal(jstr(body, "regarding.kind"), "Service");
		assert_string_equal(jstr(body, "metadata.namespace"), jstr(body, "regarding.namespace"));
		flog(f, "EVENT %s/%s %s %s: %s", a->ns, a->name, jstr(body, "type"),
			jstr(body, "reason"), jstr(body, "note"));
		f->n_events++;
		json_object_put(body);
		lb_k8s_ctrl_result(f->c, a->token, 201, NULL, f->now);
		return 201;
	}
	f->n_writes++;
	assert_int_equal(sscanf(a->path, "/api/v1/namespaces/%63[^/]/services/%255[^/]/%15s",
		ns, name, sub) >= 2, 1);
	i = fidx(f, ns, name);
	flog(f, "%s %s/%s%s%s %s", lb_k8s_action_kind_str(a->kind), ns, name, *sub ? " " : "",
		sub, a->kind == LB_K8S_ACT_WRITE_STATUS || a->kind == LB_K8S_ACT_CLEAR_STATUS ?
		strstr(a->body, "\"ingress\"") : "");
	if (f->fail_count > 0) {
		f->fail_count--;
		lb_k8s_ctrl_result(f->c, a->token, f->fail_status, NULL, f->now);
		return f->fail_status;
	}
	if (i < 0) {
		lb_k8s_ctrl_result(f->c, a->token, 404, NULL, f->now);
		return 404;
	}
	obj = f->svc[i];
	if (a->kind == LB_K8S_ACT_GET) {
		lb_k8s_ctrl_result(f->c, a->token, 200, obj, f->now);
		return 200;
	}
	assert_string_equal(a->method, "PATCH");
	assert_string_equal(a->content_type, "application/merge-patch+json");
	body = json_tokener_parse(a->body);
	assert_non_null(body);
	rvj = jget(body, "metadata.resourceVersion");
	if (rvj != NULL && strcmp(json_object_get_string(rvj), jstr(obj, "metadata.resourceVersion"))) {
		json_object_put(body);
		lb_k8s_ctrl_result(f->c, a->token, 409, NULL, f->now);
		flog(f, "  -> 409");
		return 409;
	}
	jset(body, "metadata.resourceVersion", NULL);
	if (strcmp(sub, "status") == 0) {
		struct json_object *st = jget(body, "status");

		assert_non_null(st);
		if (jget(obj, "status") == NULL)
			jset(obj, "status", json_object_new_object());
		merge_patch(jget(obj, "status"), st);
	} else {
		assert_null(jget(body, "status"));
		merge_patch(obj, body);
	}
	json_object_put(body);
	fbump(f, obj);
	/* The last finalizer of an object being deleted: it goes. */
	if (jget(obj, "metadata.deletionTimestamp") != NULL &&
	    (jget(obj, "metadata.finalizers") == NULL ||
	     json_object_array_length(jget(obj, "metadata.finalizers")) == 0)) {
		reply = json_object_get(obj);
		fremove(f, i);
		lb_k8s_ctrl_result(f->c, a->token, 200, f->return_body ? reply : NULL, f->now);
		json_object_put(reply);
		return status;
	}
	if (!f->watch_lag)
		fdeliver(f, LB_K8S_SERVICE, LB_K8S_MODIFIED, obj);
	lb_k8s_ctrl_result(f->c, a->token, 200, f->return_body ? obj : NULL, f->now);
	return status;
}

/* The glue's publication: every Kubernetes frontend but drop_fe. */
static UNUSED void
fpublish(struct fake *f)
{
	uint64_t version, ids[512];
	uint32_t i, n = 0;

	lb_model_free(f->model);
	f->model = lb_k8s_ctrl_model(f->c, &version);
	assert_non_null(f->model);
	for (i = 0; i < f->model->n_fes; i++) {
		const struct lb_model_fe *fe = f->model->fes[i];

		if (f->drop_fe != NULL && strcmp(fe->name, f->drop_fe) == 0) {
			lb_k8s_ctrl_conflict(f->c, fe, fe, "tcp 192.0.2.10 port 80 is already "
				"served by static (config lbd.conf:40)");
			continue;
		}
		assert_true(n < 512);
		ids[n++] = fe->id;
	}
	lb_k8s_ctrl_published(f->c, version, ids, n);
	f->published = version;
	f->n_published = n;
}

/* Runs the loop until nothing moves: process, publish, carry out actions. */
static UNUSED void
fsync(struct fake *f)
{
	int round, rc;

	for (round = 0; round < 100; round++) {
		struct lb_k8s_action *a;
		bool moved = false;

		rc = lb_k8s_ctrl_process(f->c, f->now, f->wall);
		assert_true(rc >= 0);
		if (lb_k8s_ctrl_model_version(f->c) != f->published || f->model == NULL) {
			fpublish(f);
			moved = true;
			rc = lb_k8s_ctrl_process(f->c, f->now, f->wall);
		}
		while ((a = lb_k8s_ctrl_next_action(f->c)) != NULL) {
			moved = true;
			if (f->hold) {
				assert_true(f->n_held < FAKE_MAX);
				f->held[f->n_held++] = a;
				continue;
			}
			fexec(f, a);
			lb_k8s_action_free(a);
		}
		if (!moved && lb_k8s_ctrl_next_wakeup(f->c) > f->now)
			return;
	}
	flog_dump(f);
	fail_msg("the controller did not settle");
}

static UNUSED struct lb_k8s_conf
fconf(void)
{
	struct lb_k8s_conf conf = {
		.lb_class = "lbd.io/lbd",
		.map = { .maglev_size = 4099 },
		.backoff_min_ms = 100,
		.backoff_max_ms = 1000,
		.event_interval_ms = 60000,
		.instance = "test-host",
		.seed = 1,
	};

	return conf;
}

static UNUSED void
fpool(struct lb_model_pool *p, struct lb_ip_range *r, const char *name, const char *first,
	const char *last)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->auto_assign = true;
	p->ranges = r;
	p->n_ranges = 1;
	assert_int_equal(lb_ip_parse(first, &r->first), 0);
	assert_int_equal(lb_ip_parse(last, &r->last), 0);
}

/* A controller over pool 192.0.2.10-12 (or the given conf), all kinds
 * listed (empty), two ready nodes. */
static UNUSED void
fake_init(struct fake *f, const struct lb_k8s_conf *conf)
{
	static struct lb_model_pool pool;
	static struct lb_ip_range range;
	struct lb_k8s_conf def = fconf();
	struct json_object *n;
	int k;

	memset(f, 0, sizeof(*f));
	fpool(&pool, &range, "public", "192.0.2.10", "192.0.2.12");
	f->c = lb_k8s_ctrl_new(conf != NULL ? conf : &def, &pool, 1);
	assert_non_null(f->c);
	f->now = 1000;
	f->wall = 1714640000000LL;
	f->rv = 100;
	for (k = 0; k < LB_K8S_NKINDS; k++)
		lb_k8s_ctrl_relist_begin(f->c, (enum lb_k8s_kind)k);
	n = mk_node("node-a", "10.10.1.11", true);
	fdeliver(f, LB_K8S_NODE, LB_K8S_ADDED, n);
	json_object_put(n);
	n = mk_node("node-b", "10.10.1.12", true);
	fdeliver(f, LB_K8S_NODE, LB_K8S_ADDED, n);
	json_object_put(n);
	for (k = 0; k < LB_K8S_NKINDS; k++)
		lb_k8s_ctrl_relist_end(f->c, (enum lb_k8s_kind)k);
}

static UNUSED void
fake_fini(struct fake *f)
{
	int i;

	for (i = 0; i < f->n; i++)
		json_object_put(f->svc[i]);
	for (i = 0; i < f->n_held; i++)
		lb_k8s_action_free(f->held[i]);
	lb_model_free(f->model);
	lb_k8s_ctrl_free(f->c);
}

/* Carries out the held actions (in order). */
static UNUSED void
frelease(struct fake *f)
{
	int i, n = f->n_held;

	f->n_held = 0;
	for (i = 0; i < n; i++) {
		fexec(f, f->held[i]);
		lb_k8s_action_free(f->held[i]);
	}
}

struct view_capture {
	char line[16][256];
	int n;
};

static UNUSED void
view_cb(void *ctx, const struct lb_k8s_svc_view *v)
{
	struct view_capture *vc = ctx;
	char a[LB_IP_STRLEN];

	if (vc->n >= 16)
		return;
	snprintf(vc->line[vc->n++], sizeof(vc->line[0]), "%s/%s %s %s fes=%u/%u %s%s%s",
		v->ns, v->name, v->n_vips ? lb_ip_fmt(&v->vips[0], a) : "-",
		lb_k8s_svc_state_str(v->state), v->n_published, v->n_frontends,
		v->finalizer ? "fin" : "nofin", *v->reason ? " " : "", v->reason);
}

static UNUSED const char *
fview(struct fake *f, const char *ns, const char *name)
{
	static struct view_capture vc;
	char prefix[128];
	int i;

	memset(&vc, 0, sizeof(vc));
	lb_k8s_ctrl_foreach_service(f->c, view_cb, &vc);
	snprintf(prefix, sizeof(prefix), "%s/%s ", ns, name);
	for (i = 0; i < vc.n; i++)
		if (strncmp(vc.line[i], prefix, strlen(prefix)) == 0)
			return vc.line[i];
	return "(none)";
}

#endif /* K8S_FAKE_H */
