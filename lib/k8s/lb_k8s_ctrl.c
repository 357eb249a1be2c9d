/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The controller's core: Service state, syncing a Service from the store
 * (allocate, map, install or withdraw frontends) and the process loop. The
 * model and publication are in lb_k8s_ctrl_pub.c, writes to the API in
 * lb_k8s_ctrl_act.c, views in lb_k8s_ctrl_view.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb_k8s_ctrl_priv.h"

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct keys;

struct svc_iter {
	struct lb_k8s_ctrl *c;
	struct keys *k;
	uint64_t now;
	int what;
};

enum { IT_NODES, IT_TIMERS, IT_RESYNC, IT_PENDING };

/* --- life cycle --- */

struct lb_k8s_ctrl *
lb_k8s_ctrl_new(const struct lb_k8s_conf *conf, const struct lb_model_pool *pools,
	uint32_t n_pools)
{
	struct lb_k8s_ctrl *c;

	if (conf == NULL || conf->lb_class == NULL || *conf->lb_class == '\0')
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->conf = *conf;
	c->lb_class = strdup(conf->lb_class);
	c->controller = strdup(conf->controller != NULL ? conf->controller : conf->lb_class);
	c->instance = strdup(conf->instance != NULL && *conf->instance != '\0' ?
		conf->instance : "lbd");
	c->store = lb_k8s_store_new();
	c->ipam = lb_ipam_new(pools, n_pools);
	if (c->lb_class == NULL || c->controller == NULL || c->instance == NULL ||
	    c->store == NULL || c->ipam == NULL) {
		lb_k8s_ctrl_free(c);
		return NULL;
	}
	c->conf.lb_class = c->lb_class;
	c->conf.controller = c->controller;
	c->conf.instance = c->instance;
	if (c->conf.backoff_min_ms == 0)
		c->conf.backoff_min_ms = 500;
	if (c->conf.backoff_max_ms < c->conf.backoff_min_ms)
		c->conf.backoff_max_ms = c->conf.backoff_min_ms;
	lb_k8s_tab_init(&c->svcs);
	lb_k8s_tab_init(&c->plan);
	lb_k8s_tab_init(&c->resync_keys);
	lb_k8s_tab_init(&c->inflight);
	c->next_token = 1;
	c->next_timer = UINT64_MAX;
	c->rng = conf->seed | 1;
	return c;
}

static void
svc_free(struct svc *s)
{
	uint32_t i;

	for (i = 0; i < s->n_fes; i++)
		lb_model_fe_put(s->fes[i]);
	free(s->fes);
	free(s->live);
	free(s->last_status);
	free(s);
}

static void
free_svc_cb(void *ctx, const char *key, void *val)
{
	(void)ctx;
	(void)key;
	svc_free(val);
}

static void
free_inflight_cb(void *ctx, const char *key, void *val)
{
	struct inflight *f = val;

	(void)ctx;
	(void)key;
	free(f->status);
	free(f);
}

void
lb_k8s_ctrl_free(struct lb_k8s_ctrl *c)
{
	struct act_node *n, *next;

	if (c == NULL)
		return;
	lb_k8s_tab_foreach(&c->svcs, free_svc_cb, NULL);
	lb_k8s_tab_fini(&c->svcs);
	lb_k8s_tab_fini(&c->plan);
	lb_k8s_tab_fini(&c->resync_keys);
	lb_k8s_tab_foreach(&c->inflight, free_inflight_cb, NULL);
	lb_k8s_tab_fini(&c->inflight);
	for (n = c->act_head; n != NULL; n = next) {
		next = n->next;
		lb_k8s_action_free(n->a);
		free(n);
	}
	lb_k8s_nodes_fini(&c->nodes);
	lb_k8s_store_free(c->store);
	lb_ipam_free(c->ipam);
	free(c->lb_class);
	free(c->controller);
	free(c->instance);
	free(c);
}

/* --- inputs --- */

int
lb_k8s_ctrl_event(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind, enum lb_k8s_event ev,
	const struct json_object *obj, char *err, size_t errlen)
{
	return lb_k8s_store_apply(c->store, kind, ev, obj, err, errlen);
}

int
lb_k8s_ctrl_put(struct lb_k8s_ctrl *c, struct lb_k8s_obj *o)
{
	return lb_k8s_store_put(c->store, o);
}

int
lb_k8s_ctrl_delete(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind, const char *ns,
	const char *name)
{
	return lb_k8s_store_delete(c->store, kind, ns, name);
}

void
lb_k8s_ctrl_relist_begin(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind)
{
	lb_k8s_store_relist_begin(c->store, kind);
}

void
lb_k8s_ctrl_relist_end(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind)
{
	lb_k8s_store_relist_end(c->store, kind);
}

/* --- Service state --- */

struct svc *
lb_k8s_ctrl_svc(struct lb_k8s_ctrl *c, const char *key)
{
	return lb_k8s_tab_get(&c->svcs, key);
}

static struct svc *
svc_new(struct lb_k8s_ctrl *c, const char *key)
{
	struct svc *s = calloc(1, sizeof(*s));
	char *slash;

	if (s == NULL)
		return NULL;
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->nsname, sizeof(s->nsname), "%s", key);
	slash = strchr(s->nsname, '/');
	if (slash == NULL) {
		free(s);
		return NULL;
	}
	*slash = '\0';
	s->ns = s->nsname;
	s->name = slash + 1;
	if (lb_k8s_tab_set(&c->svcs, key, s, NULL) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
lb_k8s_ctrl_drop_svc(struct lb_k8s_ctrl *c, struct svc *s)
{
	bool freed = s->allocated;

	if (freed)
		lb_ipam_release(c->ipam, s->key);
	lb_k8s_tab_del(&c->plan, s->key);
	lb_k8s_tab_del(&c->svcs, s->key);
	svc_free(s);
	if (freed)
		lb_k8s_ctrl_retry_pending(c);
}

void
lb_k8s_ctrl_mark_plan(struct lb_k8s_ctrl *c, struct svc *s)
{
	/* On ENOMEM the Service is planned at the next resync instead. */
	(void)lb_k8s_tab_set(&c->plan, s->key, (void *)1, NULL);
}

const struct lb_k8s_obj *
lb_k8s_ctrl_obj(const struct lb_k8s_ctrl *c, const struct svc *s)
{
	return lb_k8s_store_get(c->store, LB_K8S_SERVICE, s->ns, s->name);
}

bool
lb_k8s_ctrl_class_matches(const struct lb_k8s_ctrl *c, const struct lb_k8s_obj *o)
{
	if (o->svc.lb_class == NULL)
		return c->conf.class_less;
	return strcmp(o->svc.lb_class, c->lb_class) == 0;
}

static void
set_reason(struct svc *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_reason(struct svc *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

/* Takes s's frontends out of the model. With release_after, its addresses
 * are released once a snapshot without them is published. */
static void
withdraw_fes(struct lb_k8s_ctrl *c, struct svc *s, bool release_after)
{
	uint32_t i;

	if (s->n_fes > 0) {
		for (i = 0; i < s->n_fes; i++)
			lb_model_fe_put(s->fes[i]);
		free(s->fes);
		free(s->live);
		s->fes = NULL;
		s->live = NULL;
		s->n_fes = 0;
		c->version++;
		s->fe_version = c->version;
	}
	if (release_after && s->allocated && !s->release_pending) {
		s->release_pending = true;
		s->release_version = c->version;
	}
}

static void svc_iter_cb(void *ctx, const char *key, void *val);

/* An address came free: Services waiting for one try again. */
void
lb_k8s_ctrl_retry_pending(struct lb_k8s_ctrl *c)
{
	struct svc_iter it = { .c = c, .what = IT_PENDING };

	lb_k8s_tab_foreach(&c->svcs, svc_iter_cb, &it);
}

struct note_ctx {
	struct lb_k8s_ctrl *c;
	struct svc *s;
};

static void
note_cb(void *ctx, const char *reason, const char *msg)
{
	struct note_ctx *n = ctx;

	lb_k8s_ctrl_emit(n->c, n->s, "Warning", reason, "Map", msg);
	if (strcmp(reason, LB_K8S_R_BAD_SOURCE_RANGE) == 0)
		set_reason(n->s, "%s", msg);
}

static bool
same_alloc(const struct lb_ipam_result *a, const struct lb_ipam_result *b)
{
	uint32_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (lb_ip_cmp(&a->addr[i], &b->addr[i]) != 0)
			return false;
	return true;
}

/* Replaces s's frontends with out's, keeping each old object that came out
 * equal. The model version moves only when something differs. */
static int
install(struct lb_k8s_ctrl *c, struct svc *s, struct lb_k8s_map_out *out)
{
	struct lb_model_fe **fes = NULL;
	uint8_t *live = NULL;
	bool changed = out->n_fes != s->n_fes;
	uint32_t i, k;

	if (out->n_fes > 0) {
		fes = calloc(out->n_fes, sizeof(*fes));
		live = calloc(out->n_fes, sizeof(*live));
		if (fes == NULL || live == NULL) {
			free(fes);
			free(live);
			return -ENOMEM;
		}
	}
	for (i = 0; i < out->n_fes; i++) {
		struct lb_model_fe *nf = out->fes[i];

		fes[i] = NULL;
		for (k = 0; k < s->n_fes; k++) {
			if (s->fes[k] != NULL && lb_model_fe_equal(s->fes[k], nf)) {
				fes[i] = lb_model_fe_get(s->fes[k]);
				live[i] = s->live[k];
				changed |= k != i;
				break;
			}
		}
		if (fes[i] == NULL) {
			fes[i] = lb_model_fe_get(nf);
			changed = true;
			c->st.fes_built++;
		} else {
			c->st.fes_reused++;
		}
	}
	if (!changed) {
		for (i = 0; i < out->n_fes; i++)
			lb_model_fe_put(fes[i]);
		free(fes);
		free(live);
		return 0;
	}
	for (k = 0; k < s->n_fes; k++)
		lb_model_fe_put(s->fes[k]);
	free(s->fes);
	free(s->live);
	s->fes = fes;
	s->live = live;
	s->n_fes = out->n_fes;
	c->version++;
	s->fe_version = c->version;
	return 0;
}

static bool
uses_nodes(const struct lb_k8s_obj *o)
{
	uint32_t i;

	if (o->svc.policy != LB_K8S_POLICY_CLUSTER || !o->svc.alloc_node_ports)
		return false;
	for (i = 0; i < o->svc.n_ports; i++)
		if (o->svc.ports[i].node_port != 0)
			return true;
	return false;
}

static void
fmt_alloc(const struct lb_k8s_ctrl *c, const struct lb_ipam_result *r, char *buf, size_t n)
{
	struct lb_ipam_pool_stats ps;
	char a[LB_IP_STRLEN];
	size_t off = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < r->n && off < n; i++) {
		const char *pool = lb_ipam_pool_stats(c->ipam, r->pool[i], &ps) == 0 ? ps.name : "?";

		off += (size_t)snprintf(buf + off, n - off, "%s%s (pool %s%s)", i ? ", " : "",
			lb_ip_fmt(&r->addr[i], a), pool, r->shared[i] ? ", shared" : "");
	}
}

/* An owned Service: allocate, map, install (once the finalizer is on). */
static int
serve(struct lb_k8s_ctrl *c, struct svc *s, const struct lb_k8s_obj *o)
{
	struct note_ctx nc = { c, s };
	struct lb_ipam_port *ports = NULL;
	const struct lb_k8s_obj *const *slices;
	struct lb_k8s_map_out out;
	struct lb_k8s_map_in in;
	struct lb_ipam_result res;
	struct lb_ipam_req req;
	char err[REASON_MAX], msg[REASON_MAX];
	int rc;

	s->reason[0] = '\0';
	if (o->svc.n_ports > 0 && (ports = calloc(o->svc.n_ports, sizeof(*ports))) == NULL)
		return -ENOMEM;
	rc = lb_k8s_ipam_request(o, &c->conf.map, &req, ports, note_cb, &nc, err, sizeof(err));
	if (rc == 0) {
		rc = lb_ipam_assign(c->ipam, s->key, &req, &res, err, sizeof(err));
		if (rc == -ENOMEM) {
			free(ports);
			return rc;
		}
	}
	free(ports);
	if (rc != 0) {
		c->st.alloc_failures++;
		set_reason(s, "%s", err);
		lb_k8s_ctrl_emit(c, s, "Warning", rc == -EAFNOSUPPORT ? LB_K8S_R_IPV6 :
			LB_K8S_R_ALLOC_FAILED, "Allocate", err);
		s->mapped_ok = false;
		withdraw_fes(c, s, false);
		/* IPAM released the old addresses: the request no longer fits them. */
		if (s->allocated)
			lb_k8s_ctrl_retry_pending(c);
		s->allocated = false;
		s->release_pending = false;
		memset(&s->alloc, 0, sizeof(s->alloc));
		return 0;
	}
	if (!s->allocated || !same_alloc(&s->alloc, &res)) {
		if (s->allocated)
			lb_k8s_ctrl_retry_pending(c);
		fmt_alloc(c, &res, msg, sizeof(msg));
		lb_k8s_ctrl_emit(c, s, "Normal", LB_K8S_R_ALLOCATED, "Allocate", msg);
	}
	s->alloc = res;
	s->allocated = true;
	s->release_pending = false;

	memset(&in, 0, sizeof(in));
	in.svc = o;
	in.n_slices = lb_k8s_store_slices(c->store, s->ns, s->name, &slices);
	in.slices = slices;
	in.nodes = &c->nodes;
	in.n_vips = res.n;
	memcpy(in.vips, res.addr, sizeof(in.vips));
	in.conf = &c->conf.map;
	rc = lb_k8s_map_service(&in, &out, note_cb, &nc);
	c->st.remaps++;
	if (rc == -ENOMEM)
		return rc;
	s->uses_nodes = uses_nodes(o);
	if (rc != 0) {
		s->mapped_ok = false;
		withdraw_fes(c, s, false);
		return 0;
	}
	s->mapped_ok = true;
	if (s->n_fes == 0 && !s->has_fin) {
		set_reason(s, "waiting for the finalizer %s", LB_K8S_FINALIZER);
		lb_k8s_map_out_fini(&out);
		return 0;
	}
	rc = install(c, s, &out);
	lb_k8s_map_out_fini(&out);
	return rc;
}

/* Syncs one Service key from the store. */
static int
sync_service(struct lb_k8s_ctrl *c, const char *key)
{
	char ns[LB_K8S_NS_MAX + 1], name[LB_K8S_NAME_MAX + 1];
	const struct lb_k8s_obj *o;
	const char *slash = strchr(key, '/');
	struct svc *s;
	bool owned, wants, fin;

	if (slash == NULL || (size_t)(slash - key) >= sizeof(ns) || strlen(slash + 1) >= sizeof(name))
		return 0;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	snprintf(name, sizeof(name), "%s", slash + 1);
	o = lb_k8s_store_get(c->store, LB_K8S_SERVICE, ns, name);
	s = lb_k8s_ctrl_svc(c, key);
	owned = o != NULL && o->svc.type == LB_K8S_SVC_LOAD_BALANCER &&
		lb_k8s_ctrl_class_matches(c, o);
	wants = owned && !o->meta.deleting;
	fin = o != NULL && lb_k8s_has_finalizer(o, LB_K8S_FINALIZER);
	if (s == NULL) {
		/* Not ours, and nothing of ours to clean up on it. */
		if (!wants && !(fin && (o->svc.type != LB_K8S_SVC_LOAD_BALANCER || owned)))
			return 0;
		s = svc_new(c, key);
		if (s == NULL)
			return -ENOMEM;
	}
	s->exists = o != NULL;
	s->wants = wants;
	s->has_fin = fin;
	snprintf(s->rv, sizeof(s->rv), "%s", o != NULL ? o->meta.rv : "");
	lb_k8s_ctrl_mark_plan(c, s);
	if (wants)
		return serve(c, s, o);
	s->mapped_ok = false;
	if (o == NULL)
		set_reason(s, "deleted");
	else if (o->meta.deleting)
		set_reason(s, "being deleted");
	else if (o->svc.type != LB_K8S_SVC_LOAD_BALANCER)
		set_reason(s, "no longer of type LoadBalancer");
	else
		set_reason(s, "load balancer class is not %s", c->lb_class);
	withdraw_fes(c, s, true);
	return 0;
}

/* --- process --- */

struct keys {
	uint32_t n;
	uint32_t cap;
	char **v;
	uint8_t *first;		/* sort class: 0 = status holds an address (restart) */
	bool nomem;
};

static void
keys_add(void *ctx, const char *key)
{
	struct keys *k = ctx;

	if (k->nomem)
		return;
	if (k->n == k->cap) {
		uint32_t cap = k->cap ? k->cap * 2 : 64;
		char **v = realloc(k->v, sizeof(*v) * cap);

		if (v == NULL) {
			k->nomem = true;
			return;
		}
		k->v = v;
		k->cap = cap;
	}
	if ((k->v[k->n] = strdup(key)) == NULL)
		k->nomem = true;
	else
		k->n++;
}

static void
keys_add_tab(void *ctx, const char *key, void *val)
{
	(void)val;
	keys_add(ctx, key);
}

static void
keys_free(struct keys *k)
{
	uint32_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	free(k->first);
	memset(k, 0, sizeof(*k));
}

struct sort_item {
	uint8_t cls;
	char *key;
};

static int
item_cmp(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Services whose status holds an address go first, so that after a restart
 * each gets its address back before new ones are handed out; then by name,
 * so that allocation does not depend on hash order. */
static void
keys_sort(struct lb_k8s_ctrl *c, struct keys *k)
{
	struct sort_item *it;
	uint32_t i;

	if (k->n < 2)
		return;
	it = malloc(sizeof(*it) * k->n);
	if (it == NULL)
		return;	/* unsorted still works, only less deterministic */
	for (i = 0; i < k->n; i++) {
		char ns[LB_K8S_NS_MAX + 1];
		const char *slash = strchr(k->v[i], '/');
		const struct lb_k8s_obj *o = NULL;

		if (slash != NULL && (size_t)(slash - k->v[i]) < sizeof(ns)) {
			memcpy(ns, k->v[i], (size_t)(slash - k->v[i]));
			ns[slash - k->v[i]] = '\0';
			o = lb_k8s_store_get(c->store, LB_K8S_SERVICE, ns, slash + 1);
		}
		it[i].cls = o != NULL && o->svc.n_ingress > 0 && o->svc.ingress[0].ip.family != 0 ?
			0 : 1;
		it[i].key = k->v[i];
	}
	qsort(it, k->n, sizeof(*it), item_cmp);
	for (i = 0; i < k->n; i++)
		k->v[i] = it[i].key;
	free(it);
}


static void
svc_iter_cb(void *ctx, const char *key, void *val)
{
	struct svc_iter *it = ctx;
	struct svc *s = val;

	switch (it->what) {
	case IT_NODES:
		if (s->uses_nodes)
			keys_add(it->k, key);
		break;
	case IT_TIMERS:
		if (s->backoff_until != 0 && s->backoff_until <= it->now) {
			s->backoff_until = 0;
			lb_k8s_ctrl_mark_plan(it->c, s);
		} else if (s->backoff_until != 0 && s->backoff_until < it->c->next_timer) {
			it->c->next_timer = s->backoff_until;
		}
		break;
	case IT_PENDING:
		if (s->wants && !s->allocated)
			(void)lb_k8s_tab_set(&it->c->resync_keys, key, (void *)1, NULL);
		break;
	case IT_RESYNC:
		s->wrote_rv[0] = '\0';
		free(s->last_status);
		s->last_status = NULL;
		lb_k8s_ctrl_mark_plan(it->c, s);
		break;
	default:
		break;
	}
}

static void
all_services_cb(void *ctx, const struct lb_k8s_obj *o)
{
	char key[LB_K8S_KEY_MAX];

	if (lb_k8s_key(key, sizeof(key), o->meta.ns, o->meta.name) == 0)
		keys_add(ctx, key);
}

int
lb_k8s_ctrl_process(struct lb_k8s_ctrl *c, uint64_t now_ms, int64_t wall_ms)
{
	struct keys k = { 0 }, p = { 0 };
	struct svc_iter it = { .c = c, .now = now_ms };
	uint64_t v0 = c->version, t0 = mono_ns();
	bool nodes, work = false;
	uint32_t i;
	int rc = 0;

	c->now_ms = now_ms;
	c->wall_ms = wall_ms;
	if (!c->synced) {
		if (!lb_k8s_store_synced(c->store, LB_K8S_SERVICE) ||
		    !lb_k8s_store_synced(c->store, LB_K8S_SLICE) ||
		    !lb_k8s_store_synced(c->store, LB_K8S_NODE))
			return 0;
		c->synced = true;
		c->next_resync = c->conf.resync_ms ? now_ms + c->conf.resync_ms : 0;
	}

	nodes = lb_k8s_store_take_changes(c->store, keys_add, &k);
	lb_k8s_tab_foreach(&c->resync_keys, keys_add_tab, &k);
	lb_k8s_tab_fini(&c->resync_keys);
	lb_k8s_tab_init(&c->resync_keys);
	if (nodes || !c->first_sync_done) {
		struct lb_k8s_nodes nn;

		if (lb_k8s_nodes_build(c->store, &nn) == 0) {
			lb_k8s_nodes_fini(&c->nodes);
			c->nodes = nn;
			it.k = &k;
			it.what = IT_NODES;
			lb_k8s_tab_foreach(&c->svcs, svc_iter_cb, &it);
			if (c->first_sync_done)
				c->st.node_remaps++;
		} else {
			k.nomem = true;
		}
	}
	c->first_sync_done = true;
	if (k.n > 0) {
		/* Dedup (a key may come from the store and from the pending set). */
		uint32_t done = 0;

		keys_sort(c, &k);
		for (i = 0; i < k.n; i++) {
			if (i > 0 && strcmp(k.v[i], k.v[i - 1]) == 0)
				continue;
			if ((c->conf.sync_batch != 0 && done == c->conf.sync_batch) ||
			    (c->conf.sync_budget_us != 0 && done > 0 &&
			     mono_ns() - t0 >= (uint64_t)c->conf.sync_budget_us * 1000)) {
				rc = -EAGAIN;
				c->st.sync_deferrals++;
			} else {
				done++;
				rc = sync_service(c, k.v[i]);
			}
			if (rc != 0) {
				/* Retry what is left at the next call. */
				for (; i < k.n; i++)
					(void)lb_k8s_tab_set(&c->resync_keys, k.v[i], (void *)1, NULL);
				break;
			}
		}
		work = true;
	}
	/* On ENOMEM the changes could not all be listed: sync every Service
	 * next time instead. */
	if (k.nomem)
		lb_k8s_store_foreach(c->store, LB_K8S_SERVICE, all_services_cb, &p);
	keys_free(&k);
	for (i = 0; i < p.n; i++)
		(void)lb_k8s_tab_set(&c->resync_keys, p.v[i], (void *)1, NULL);
	keys_free(&p);

	/* Timers. */
	if (now_ms >= c->next_timer) {
		c->next_timer = UINT64_MAX;
		it.what = IT_TIMERS;
		lb_k8s_tab_foreach(&c->svcs, svc_iter_cb, &it);
	}
	if (c->conf.resync_ms != 0 && c->next_resync != 0 && now_ms >= c->next_resync) {
		it.what = IT_RESYNC;
		lb_k8s_tab_foreach(&c->svcs, svc_iter_cb, &it);
		c->next_resync = now_ms + c->conf.resync_ms;
	}

	/* Plan writes. */
	if (c->plan.n > 0) {
		lb_k8s_tab_foreach(&c->plan, keys_add_tab, &p);
		lb_k8s_tab_fini(&c->plan);
		lb_k8s_tab_init(&c->plan);
		for (i = 0; i < p.n; i++) {
			struct svc *s = lb_k8s_ctrl_svc(c, p.v[i]);

			if (s != NULL)
				lb_k8s_ctrl_plan(c, s);
		}
		keys_free(&p);
		work = true;
	}
	if (work) {
		c->st.last_process_ns = mono_ns() - t0;
		if (c->st.last_process_ns > c->st.max_process_ns)
			c->st.max_process_ns = c->st.last_process_ns;
	}
	if (rc == -ENOMEM)
		return rc;
	return c->version != v0 ? 1 : 0;
}

uint64_t
lb_k8s_ctrl_next_wakeup(const struct lb_k8s_ctrl *c)
{
	uint64_t t = c->next_timer;

	if (c->conf.resync_ms != 0 && c->next_resync != 0 && c->next_resync < t)
		t = c->next_resync;
	if (c->resync_keys.n > 0 || c->plan.n > 0)
		t = c->now_ms;
	return t;
}

uint64_t
lb_k8s_ctrl_model_version(const struct lb_k8s_ctrl *c)
{
	return c->version;
}
