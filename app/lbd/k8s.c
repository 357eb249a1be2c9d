/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Kubernetes control plane's glue, on the control thread's event loop:
 *
 *   lib/kapi reflectors ── objects ──► lib/k8s controller ── model ──► pipeline
 *         ▲                                  │  ▲                          │
 *         └── requests (status, finalizers, ─┘  └── published(version) ────┘
 *             Events) ◄── actions
 *
 * The controller is a pure state machine; this file feeds it what the API
 * client delivers, runs it once per loop pass when anything changed (a timer
 * armed at 0 coalesces a burst of watch events into one pass), hands its
 * model to the snapshot pipeline, tells it which model version the workers
 * now see, and carries out the requests it asks for.
 *
 * Without a kubernetes group in the config every function here is a no-op.
 * Fail static: when the API is unreachable or answers nonsense the client
 * backs off and retries; the controller keeps its model, so forwarding goes
 * on with the last good state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lb_k8s_ctrl.h"
#include "lb_kapi.h"
#include "lbd.h"

#define MAX_ARRIVALS	(1u << 16)

static const struct {
	const char *name;
	const char *path;
	enum lb_k8s_kind kind;
} resources[] = {
	{ "services", LB_KAPI_PATH_SERVICES, LB_K8S_SERVICE },
	{ "endpointslices", LB_KAPI_PATH_ENDPOINTSLICES, LB_K8S_SLICE },
	{ "nodes", LB_KAPI_PATH_NODES, LB_K8S_NODE },
};
#define N_RES	(sizeof(resources) / sizeof(resources[0]))

struct action_ctx {
	uint64_t token;
	char what[LB_K8S_NS_MAX + LB_K8S_NAME_MAX + 200];
};

static struct {
	bool on;
	struct lb_ev *ev;
	struct lb_k8s_ctrl *ctrl;
	struct lb_kapi *api;
	struct lb_kapi_reflector *refl[N_RES];
	bool listing[N_RES];		/* between relist_begin and relist_end */
	struct lb_ev_timer *timer;
	struct lb_model *model;		/* the controller's latest model */
	uint64_t model_version;
	/* arrival times (monotonic ns) of watch events not yet in a model */
	uint64_t *arrivals;
	uint32_t n_arrivals;
	uint64_t decode_errors;
	char last_decode_error[320];
	bool first_sync_logged;
	uint64_t rejections_logged;
} K;

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the controller on the next pass (coalescing whatever arrives before). */
static void
kick(void)
{
	if (K.timer != NULL)
		lb_ev_timer_arm(K.timer, 0);
}

/* --- lib/kapi callbacks --- */

static void
api_log(void *ctx, enum lb_kapi_log_level level, const char *msg)
{
	static const int map[] = {
		[LB_KAPI_LOG_ERR] = LBD_ERR,
		[LB_KAPI_LOG_WARN] = LBD_WARN,
		[LB_KAPI_LOG_INFO] = LBD_INFO,
		[LB_KAPI_LOG_DEBUG] = LBD_DEBUG,
	};

	(void)ctx;
	lbd_log(map[level], "kubernetes api detail=%s", LBD_Q(msg));
}

static size_t
res_of(void *ctx)
{
	return (size_t)(uintptr_t)ctx;
}

static void
on_relist_begin(void *ctx, struct lb_kapi_reflector *r)
{
	size_t i = res_of(ctx);

	(void)r;
	K.listing[i] = true;
	lb_k8s_ctrl_relist_begin(K.ctrl, resources[i].kind);
}

static void
on_object(void *ctx, struct lb_kapi_reflector *r, enum lb_kapi_event type,
	struct json_object *obj)
{
	size_t i = res_of(ctx);
	char err[256];
	enum lb_k8s_event ev = type == LB_KAPI_ADDED ? LB_K8S_ADDED :
		type == LB_KAPI_MODIFIED ? LB_K8S_MODIFIED : LB_K8S_DELETED;

	(void)r;
	if (lb_k8s_ctrl_event(K.ctrl, resources[i].kind, ev, obj, err, sizeof(err)) == -EINVAL) {
		/* the stored version stays (fail static); say so now and then */
		if (K.decode_errors++ % 100 == 0)
			lbd_log(LBD_WARN, "kubernetes object ignored resource=%s error=%s count=%lu",
				resources[i].name, LBD_Q(err), (unsigned long)K.decode_errors);
		snprintf(K.last_decode_error, sizeof(K.last_decode_error), "%s: %s",
			resources[i].name, err);
	}
	json_object_put(obj);
	if (!K.listing[i] && K.n_arrivals < MAX_ARRIVALS) {
		if (K.arrivals == NULL)
			K.arrivals = malloc(sizeof(*K.arrivals) * MAX_ARRIVALS);
		if (K.arrivals != NULL)
			K.arrivals[K.n_arrivals++] = mono_ns();
	}
	kick();
}

static void
on_relist_end(void *ctx, struct lb_kapi_reflector *r, const char *rv)
{
	size_t i = res_of(ctx);

	(void)r;
	K.listing[i] = false;
	lb_k8s_ctrl_relist_end(K.ctrl, resources[i].kind);
	lbd_log(LBD_INFO, "kubernetes listed resource=%s resource_version=%s", resources[i].name,
		LBD_Q(rv));
	kick();
}

static void
on_state(void *ctx, struct lb_kapi_reflector *r, const struct lb_kapi_reflector_status *st)
{
	(void)ctx;
	(void)r;
	if (st->state == LB_KAPI_BACKOFF && st->last_error[0] != '\0')
		lbd_log(LBD_WARN, "kubernetes API unreachable, serving the last good state, retrying "
			"resource=%s error=%s", st->name, LBD_Q(st->last_error));
}

static void
on_done(void *ctx, const struct lb_kapi_response *resp)
{
	struct action_ctx *a = ctx;

	if (resp->status < 200 || resp->status >= 300)
		lbd_log(resp->status == 409 ? LBD_INFO : LBD_WARN, "kubernetes request failed "
			"what=%s status=%ld error=%s", LBD_Q(a->what), resp->status,
			LBD_Q(resp->error != NULL ? resp->error : ""));
	lb_k8s_ctrl_result(K.ctrl, a->token, resp->err == 0 ? (int)resp->status : 0, resp->body,
		lb_ev_now_ms());
	free(a);
	kick();
}

/* --- driving the controller --- */

/* Requests started per loop pass: a first sync asks for thousands at once
 * (a finalizer, a status and an Event per Service), and queueing each costs
 * tens of microseconds; the rest goes on the next pass. */
#define ACTIONS_PER_PASS	64

static void
run_actions(void)
{
	struct lb_k8s_action *act;
	uint32_t n = 0;

	while (n++ < ACTIONS_PER_PASS && (act = lb_k8s_ctrl_next_action(K.ctrl)) != NULL) {
		struct lb_kapi_request rq = {
			.method = act->method,
			.path = act->path,
			.query = strcmp(act->method, "GET") == 0 ? NULL : "fieldManager=lbd",
			.content_type = act->content_type,
			.body = act->body,
			.body_len = act->body ? strlen(act->body) : 0,
		};
		struct action_ctx *a = calloc(1, sizeof(*a));
		int64_t id;

		if (a == NULL) {
			lb_k8s_ctrl_result(K.ctrl, act->token, 0, NULL, lb_ev_now_ms());
			lb_k8s_action_free(act);
			continue;
		}
		a->token = act->token;
		snprintf(a->what, sizeof(a->what), "%s/%s: %s", act->ns, act->name, act->what);
		lbd_log(LBD_DEBUG, "kubernetes request method=%s path=%s what=%s", act->method,
			LBD_Q(act->path), LBD_Q(act->what));
		id = lb_kapi_request(K.api, &rq, on_done, a);
		if (id < 0) {
			lbd_log(LBD_WARN, "kubernetes request not queued what=%s error=%s",
				LBD_Q(a->what), LBD_Q(strerror((int)-id)));
			lb_k8s_ctrl_result(K.ctrl, act->token, 0, NULL, lb_ev_now_ms());
			free(a);
		}
		lb_k8s_action_free(act);
	}
	if (n > ACTIONS_PER_PASS)
		kick();	/* maybe more */
}

static void
on_timer(void *ctx)
{
	uint64_t now = lb_ev_now_ms(), wake, version;
	struct lb_k8s_stats st;
	struct lb_model *m;
	int rc;

	uint64_t t0 = mono_ns(), t1, t2, t3;

	(void)ctx;
	rc = lb_k8s_ctrl_process(K.ctrl, now, wall_ms());
	t1 = mono_ns();
	if (rc < 0) {
		lb_ev_timer_arm(K.timer, 100);	/* out of memory: try again soon */
		return;
	}
	if (lb_k8s_ctrl_model_version(K.ctrl) != K.model_version) {
		m = lb_k8s_ctrl_model(K.ctrl, &version);
		if (m != NULL) {
			lb_model_free(K.model);
			K.model = m;
			K.model_version = version;
			lbd_pipeline_changed(K.arrivals, K.n_arrivals);
			K.n_arrivals = 0;
		}
	} else {
		/* events that changed nothing served (our own status writes
		 * coming back, say) do not count for convergence */
		K.n_arrivals = 0;
	}
	t2 = mono_ns();
	run_actions();
	t3 = mono_ns();
	if (t3 - t0 > 20000000)
		lbd_log(LBD_DEBUG, "kubernetes slow pass process_ms=%.1f model_ms=%.1f actions_ms=%.1f",
			(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6);
	/* the full stats walk every Service: once, for the log line */
	if (!K.first_sync_logged && lb_k8s_ctrl_synced(K.ctrl)) {
		lb_k8s_ctrl_stats(K.ctrl, &st);
		K.first_sync_logged = true;
		lbd_ready_set(LBD_READY_K8S_SYNCED, true);
		lbd_log(LBD_INFO, "kubernetes first sync done services=%lu frontends=%lu",
			(unsigned long)st.services, (unsigned long)st.frontends);
	}
	wake = lb_k8s_ctrl_next_wakeup(K.ctrl);
	if (wake != UINT64_MAX && !lb_ev_timer_armed(K.timer))
		lb_ev_timer_arm(K.timer, wake > now ? wake - now : 0);
}

/* --- the pipeline's hooks --- */

const struct lb_model *
lbd_k8s_model(uint64_t *version)
{
	if (!K.on)
		return NULL;
	if (version != NULL)
		*version = K.model_version;
	return K.model;
}

void
lbd_k8s_conflict(const struct lb_model_fe *kept, const struct lb_model_fe *dropped,
	const char *msg)
{
	if (K.on)
		lb_k8s_ctrl_conflict(K.ctrl, kept, dropped, msg);
	else
		lbd_log(LBD_WARN, "frontend conflict detail=%s", LBD_Q(msg));
}

void
lbd_k8s_rejected(const struct lb_model_fe *fe, const struct lb_model_target *target,
	const char *msg)
{
	if (K.on && fe->origin_kind == LB_ORIGIN_K8S)
		lb_k8s_ctrl_rejected(K.ctrl, fe, target, msg);
}

void
lbd_k8s_published(const struct lb_snap *s, uint64_t version)
{
	uint64_t *ids;
	uint32_t i, n = 0;

	if (!K.on)
		return;
	ids = malloc(sizeof(*ids) * (s->n_fes ? s->n_fes : 1));
	if (ids == NULL)
		return;	/* the next publication tells it */
	for (i = 0; i < s->n_fes; i++)
		if (s->fes[i].model->origin_kind == LB_ORIGIN_K8S)
			ids[n++] = s->fes[i].id;
	lb_k8s_ctrl_published(K.ctrl, version, ids, n);
	free(ids);
	kick();
}

int
lbd_k8s_check_pools(const struct lb_config *next, char *err, size_t errlen)
{
	if (!K.on)
		return 0;
	return lb_k8s_ctrl_check_pools(K.ctrl, next->pools, next->n_pools, err, errlen);
}

void
lbd_k8s_set_pools(const struct lb_config *cfg)
{
	if (!K.on)
		return;
	if (lb_k8s_ctrl_set_pools(K.ctrl, cfg->pools, cfg->n_pools) != 0)
		lbd_log(LBD_ERR, "kubernetes cannot switch to the reloaded pools error=%s",
			LBD_Q("out of memory"));
	kick();
}

bool
lbd_k8s_synced(void)
{
	return !K.on || lb_k8s_ctrl_synced(K.ctrl);
}

/* --- lbctl --- */

struct json_object *
lbd_k8s_status(void)
{
	struct json_object *o, *res;
	struct lb_k8s_stats st;
	struct lb_kapi_status ks;
	size_t i;
	bool all_watching = true, any_backoff = false;
	char last_error[LB_KAPI_ERR_MAX] = "";
	uint64_t last_error_ms = 0, now = lb_ev_now_ms();

	if (!K.on)
		return NULL;
	o = json_object_new_object();
	res = json_object_new_array();
	lb_kapi_status(K.api, &ks);
	lb_k8s_ctrl_stats(K.ctrl, &st);
	json_object_object_add(o, "server", json_object_new_string(ks.server));
	json_object_object_add(o, "source", json_object_new_string(ks.source));
	json_object_object_add(o, "auth", json_object_new_string(ks.auth ? ks.auth : ""));
	for (i = 0; i < N_RES; i++) {
		struct lb_kapi_reflector_status rs;
		struct json_object *r = json_object_new_object();
		char ago[64];

		lb_kapi_reflector_status(K.refl[i], &rs);
		all_watching &= rs.state == LB_KAPI_WATCHING;
		any_backoff |= rs.state == LB_KAPI_BACKOFF;
		if (rs.last_error[0] != '\0' && rs.last_error_ms >= last_error_ms) {
			last_error_ms = rs.last_error_ms;
			snprintf(last_error, sizeof(last_error), "%s", rs.last_error);
		}
		json_object_object_add(r, "resource", json_object_new_string(rs.name));
		json_object_object_add(r, "state", json_object_new_string(lb_kapi_rstate_name(rs.state)));
		json_object_object_add(r, "synced", json_object_new_boolean(rs.synced));
		json_object_object_add(r, "resource_version",
			json_object_new_string(rs.resource_version[0] ? rs.resource_version : "-"));
		if (rs.last_event_ms == 0)
			snprintf(ago, sizeof(ago), "never");
		else
			snprintf(ago, sizeof(ago), "%.1fs ago", (double)(now - rs.last_event_ms) / 1000);
		json_object_object_add(r, "last_event", json_object_new_string(ago));
		json_object_object_add(r, "last_error", json_object_new_string(rs.last_error));
		json_object_object_add(r, "relists", json_object_new_uint64(rs.relists));
		json_object_object_add(r, "events", json_object_new_uint64(rs.events[0] +
			rs.events[1] + rs.events[2]));
		json_object_object_add(r, "bookmarks", json_object_new_uint64(rs.bookmarks));
		json_object_object_add(r, "gone", json_object_new_uint64(rs.gone));
		json_object_object_add(r, "errors", json_object_new_uint64(rs.http_errors +
			rs.transport_errors + rs.stalls + rs.decode_errors));
		json_object_array_add(res, r);
	}
	json_object_object_add(o, "state", json_object_new_string(
		!st.synced ? (any_backoff ? "unreachable, not synced yet" : "syncing") :
		all_watching ? "watching" :
		any_backoff ? "API unreachable: serving the last good state" : "resyncing"));
	json_object_object_add(o, "synced", json_object_new_boolean(st.synced));
	json_object_object_add(o, "last_error", json_object_new_string(last_error));
	json_object_object_add(o, "resources", res);
	json_object_object_add(o, "services", json_object_new_uint64(st.services));
	json_object_object_add(o, "serving", json_object_new_uint64(st.serving));
	json_object_object_add(o, "pending", json_object_new_uint64(st.pending));
	json_object_object_add(o, "frontends", json_object_new_uint64(st.frontends));
	json_object_object_add(o, "model_version", json_object_new_uint64(st.model_version));
	json_object_object_add(o, "published_version",
		json_object_new_uint64(st.published_version));
	json_object_object_add(o, "requests_failed", json_object_new_uint64(
		ks.requests_failed + ks.requests_http_error));
	json_object_object_add(o, "events_sent", json_object_new_uint64(st.events_sent));
	json_object_object_add(o, "objects_ignored", json_object_new_uint64(K.decode_errors));
	json_object_object_add(o, "max_process_us", json_object_new_uint64(st.max_process_ns /
		1000));
	json_object_object_add(o, "sync_deferrals", json_object_new_uint64(st.sync_deferrals));
	return o;
}

static void
service_one(void *ctx, const struct lb_k8s_svc_view *v)
{
	struct json_object *a = ctx, *o = json_object_new_object(), *vips, *ports;
	char ip[LB_IP_STRLEN];
	uint32_t i;

	vips = json_object_new_array();
	ports = json_object_new_array();
	json_object_object_add(o, "namespace", json_object_new_string(v->ns));
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "class", v->lb_class ? json_object_new_string(v->lb_class) :
		NULL);
	json_object_object_add(o, "policy", json_object_new_string(v->policy ? v->policy : ""));
	for (i = 0; i < v->n_vips; i++)
		json_object_array_add(vips, json_object_new_string(lb_ip_fmt(&v->vips[i], ip)));
	json_object_object_add(o, "vips", vips);
	for (i = 0; v->ports != NULL && i < v->n_ports; i++) {
		char p[96];

		snprintf(p, sizeof(p), "%u/%s", v->ports[i].port, v->ports[i].protocol);
		json_object_array_add(ports, json_object_new_string(p));
	}
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "frontends", json_object_new_uint64(v->n_frontends));
	json_object_object_add(o, "published", json_object_new_uint64(v->n_published));
	json_object_object_add(o, "targets", json_object_new_uint64(v->n_targets));
	json_object_object_add(o, "finalizer", json_object_new_boolean(v->finalizer));
	json_object_object_add(o, "state", json_object_new_string(lb_k8s_svc_state_str(v->state)));
	json_object_object_add(o, "reason", json_object_new_string(v->reason ? v->reason : ""));
	json_object_array_add(a, o);
}

struct json_object *
lbd_k8s_services(char *err, size_t errlen)
{
	struct json_object *r, *a;

	if (!K.on) {
		snprintf(err, errlen, "Kubernetes is not configured (no kubernetes group in %s)",
			g_lbd.config_path);
		return NULL;
	}
	r = json_object_new_object();
	a = json_object_new_array();
	lb_k8s_ctrl_foreach_service(K.ctrl, service_one, a);
	json_object_object_add(r, "services", a);
	return r;
}

/* --- init / term --- */

int
lbd_k8s_init(struct lb_ev *ev, char *err, size_t errlen)
{
	const struct lb_config *cfg = g_lbd.cfg;
	const struct lb_config_k8s *kc = &cfg->k8s;
	struct lb_kapi_params p;
	struct lb_kapi_conf conf;
	struct lb_k8s_conf kconf;
	char host[256], msg[512];
	size_t i;
	int rc;

	if (!kc->enabled)
		return 0;
	memset(&conf, 0, sizeof(conf));
	rc = lb_kapi_conf_load(&conf, kc->kubeconfig[0] ? kc->kubeconfig : NULL,
		kc->context[0] ? kc->context : NULL, msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: kubernetes: %s", cfg->path, kc->line, msg);
		return rc;
	}
	memset(&p, 0, sizeof(p));
	p.version = LBD_VERSION;
	p.log = api_log;
	p.backoff_base_ms = kc->backoff_min_ms;
	p.backoff_max_ms = kc->backoff_max_ms;
	/* a first sync of a large cluster queues a finalizer, a status write
	 * and an Event per Service at once */
	p.max_queued = 16384;
	K.ev = ev;
	K.api = lb_kapi_create(ev, &conf, &p, msg, sizeof(msg));
	if (K.api == NULL) {
		snprintf(err, errlen, "kubernetes: %s", msg);
		lb_kapi_conf_free(&conf);
		return -EINVAL;
	}
	lbd_log(LBD_INFO, "kubernetes API server=%s source=%s class=%s class_less=%s",
		LBD_Q(conf.server), LBD_Q(conf.source), LBD_Q(kc->lb_class),
		kc->class_less ? "yes" : "no");
	lb_kapi_conf_free(&conf);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "lbd");
	host[sizeof(host) - 1] = '\0';
	lb_k8s_conf_from_config(&kconf, cfg, host);
	K.ctrl = lb_k8s_ctrl_new(&kconf, cfg->pools, cfg->n_pools);
	K.timer = lb_ev_timer_new(ev, on_timer, NULL);
	if (K.ctrl == NULL || K.timer == NULL) {
		snprintf(err, errlen, "kubernetes: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < N_RES; i++) {
		static const struct lb_kapi_reflector_ops ops = {
			.relist_begin = on_relist_begin,
			.object = on_object,
			.relist_end = on_relist_end,
			.state = on_state,
		};
		struct lb_kapi_reflector_conf rc_ = {
			.name = resources[i].name,
			.path = resources[i].path,
		};

		K.refl[i] = lb_kapi_reflector_new(K.api, &rc_, &ops, (void *)(uintptr_t)i);
		if (K.refl[i] == NULL || lb_kapi_reflector_start(K.refl[i]) != 0) {
			snprintf(err, errlen, "kubernetes: cannot start the %s reflector",
				resources[i].name);
			return -ENOMEM;
		}
	}
	K.on = true;
	/* /readyz waits for the first sync (the model is empty until then) */
	lbd_ready_require(LBD_READY_K8S_SYNCED);
	return 0;
}

void
lbd_k8s_term(void)
{
	/* requests still running complete with -ECANCELED (their contexts go) */
	lb_kapi_destroy(K.api);
	K.api = NULL;
	memset(K.refl, 0, sizeof(K.refl));
	lb_ev_timer_free(K.timer);
	K.timer = NULL;
	lb_k8s_ctrl_free(K.ctrl);
	K.ctrl = NULL;
	lb_model_free(K.model);
	K.model = NULL;
	free(K.arrivals);
	K.arrivals = NULL;
	K.on = false;
}

/* --- health checks (health.c) --- */

int
lbd_k8s_health_svc(const struct lb_model_fe *fe, struct lb_health_k8s_svc *out)
{
	const struct lb_k8s_obj *o;

	if (!K.on || fe->k8s_ns == NULL || fe->k8s_name == NULL)
		return -ENOENT;
	o = lb_k8s_store_get(lb_k8s_ctrl_store(K.ctrl), LB_K8S_SERVICE, fe->k8s_ns, fe->k8s_name);
	if (o == NULL)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->local = o->svc.policy == LB_K8S_POLICY_LOCAL;
	/* FullNAT frontends of Services go to NodeIP:NodePort (lib/k8s's
	 * mapping), DNAT ones to the pods */
	out->node_targets = fe->method == LB_METHOD_FULLNAT;
	out->hc_node_port = htons(o->svc.hc_node_port);
	return 0;
}

void
lbd_k8s_health_event(const struct lb_model_fe *fe, const char *target, bool healthy,
	const char *msg)
{
	if (!K.on || fe->origin_kind != LB_ORIGIN_K8S)
		return;
	lb_k8s_ctrl_note(K.ctrl, fe, !healthy, target == NULL ?
		(healthy ? "FailingOpenEnded" : "FailingOpen") :
		(healthy ? "TargetHealthy" : "TargetUnhealthy"), msg);
	kick();
}
