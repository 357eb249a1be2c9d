/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The object store: one hash table per kind, slices grouped by the Service
 * they are labelled for, and a set of changed Service keys for the
 * controller. A relist is an epoch: objects put during it carry the new
 * epoch, and its end removes the ones still carrying an older one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_k8s_priv.h"

struct group {
	uint32_t n;
	uint32_t cap;
	const struct lb_k8s_obj **v;
};

struct lb_k8s_store {
	struct lb_k8s_tab objs[LB_K8S_NKINDS];
	struct lb_k8s_tab groups;	/* "NS/SERVICE" -> struct group */
	struct lb_k8s_tab dirty;	/* "NS/SERVICE" -> (void *)1 */
	bool nodes_dirty;
	uint64_t epoch[LB_K8S_NKINDS];
	bool synced[LB_K8S_NKINDS];
	struct lb_k8s_store_stats st;
};

struct lb_k8s_store *
lb_k8s_store_new(void)
{
	struct lb_k8s_store *st = calloc(1, sizeof(*st));
	int k;

	if (st == NULL)
		return NULL;
	for (k = 0; k < LB_K8S_NKINDS; k++)
		lb_k8s_tab_init(&st->objs[k]);
	lb_k8s_tab_init(&st->groups);
	lb_k8s_tab_init(&st->dirty);
	return st;
}

static void
free_obj(void *ctx, const char *key, void *val)
{
	(void)ctx;
	(void)key;
	lb_k8s_obj_free(val);
}

static void
free_group(void *ctx, const char *key, void *val)
{
	struct group *g = val;

	(void)ctx;
	(void)key;
	free(g->v);
	free(g);
}

void
lb_k8s_store_free(struct lb_k8s_store *st)
{
	int k;

	if (st == NULL)
		return;
	for (k = 0; k < LB_K8S_NKINDS; k++) {
		lb_k8s_tab_foreach(&st->objs[k], free_obj, NULL);
		lb_k8s_tab_fini(&st->objs[k]);
	}
	lb_k8s_tab_foreach(&st->groups, free_group, NULL);
	lb_k8s_tab_fini(&st->groups);
	lb_k8s_tab_fini(&st->dirty);
	free(st);
}

static int
mark(struct lb_k8s_store *st, const char *ns, const char *svc)
{
	char key[LB_K8S_KEY_MAX];

	if (lb_k8s_key(key, sizeof(key), ns, svc) != 0)
		return 0;
	return lb_k8s_tab_set(&st->dirty, key, (void *)1, NULL);
}

/* --- what the mapping reads of slices and nodes --- */

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
slice_equal(const struct lb_k8s_slice *a, const struct lb_k8s_slice *b)
{
	uint32_t i;

	if (!str_eq(a->service, b->service) || a->family != b->family ||
	    a->n_eps != b->n_eps || a->n_ports != b->n_ports)
		return false;
	for (i = 0; i < a->n_eps; i++) {
		const struct lb_k8s_ep *x = &a->eps[i], *y = &b->eps[i];

		if (lb_ip_cmp(&x->addr, &y->addr) != 0 || x->ready != y->ready ||
		    x->serving != y->serving || x->terminating != y->terminating ||
		    !str_eq(x->node, y->node))
			return false;
	}
	for (i = 0; i < a->n_ports; i++) {
		const struct lb_k8s_ep_port *x = &a->ports[i], *y = &b->ports[i];

		if (strcmp(x->name, y->name) != 0 || strcmp(x->protocol, y->protocol) != 0 ||
		    x->port != y->port)
			return false;
	}
	return true;
}

static bool
node_equal(const struct lb_k8s_obj *a, const struct lb_k8s_obj *b)
{
	return lb_k8s_node_eligible(&a->node, &a->meta) == lb_k8s_node_eligible(&b->node, &b->meta) &&
		lb_ip_cmp(&a->node.internal[0], &b->node.internal[0]) == 0 &&
		lb_ip_cmp(&a->node.internal[1], &b->node.internal[1]) == 0;
}

/* --- slice groups --- */

static void
group_del(struct lb_k8s_store *st, const struct lb_k8s_obj *o)
{
	char key[LB_K8S_KEY_MAX];
	struct group *g;
	uint32_t i;

	if (o->slice.service == NULL ||
	    lb_k8s_key(key, sizeof(key), o->meta.ns, o->slice.service) != 0)
		return;
	g = lb_k8s_tab_get(&st->groups, key);
	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		if (g->v[i] == o) {
			g->v[i] = g->v[--g->n];
			break;
		}
	}
	if (g->n == 0) {
		lb_k8s_tab_del(&st->groups, key);
		free_group(NULL, NULL, g);
	}
}

/* Puts o in its Service's group, in place of old when old is there. */
static int
group_put(struct lb_k8s_store *st, const struct lb_k8s_obj *o, const struct lb_k8s_obj *old)
{
	char key[LB_K8S_KEY_MAX];
	struct group *g;
	uint32_t i;

	if (o->slice.service == NULL ||
	    lb_k8s_key(key, sizeof(key), o->meta.ns, o->slice.service) != 0)
		return 0;
	g = lb_k8s_tab_get(&st->groups, key);
	if (g == NULL) {
		g = calloc(1, sizeof(*g));
		if (g == NULL || lb_k8s_tab_set(&st->groups, key, g, NULL) != 0) {
			free(g);
			return -ENOMEM;
		}
	}
	for (i = 0; old != NULL && i < g->n; i++) {
		if (g->v[i] == old) {
			g->v[i] = o;
			return 0;
		}
	}
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 4;
		const struct lb_k8s_obj **v = realloc(g->v, sizeof(*v) * cap);

		if (v == NULL)
			return -ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n++] = o;
	return 0;
}

/* --- put / delete --- */

int
lb_k8s_store_put(struct lb_k8s_store *st, struct lb_k8s_obj *o)
{
	char key[LB_K8S_KEY_MAX];
	struct lb_k8s_obj *old;
	void *prev;
	bool label_moved;
	int rc;

	if (o == NULL || o->kind >= LB_K8S_NKINDS ||
	    lb_k8s_key(key, sizeof(key), o->meta.ns, o->meta.name) != 0) {
		lb_k8s_obj_free(o);
		return -EINVAL;
	}
	old = lb_k8s_tab_get(&st->objs[o->kind], key);
	o->epoch = st->epoch[o->kind];
	switch (o->kind) {
	case LB_K8S_SERVICE:
		rc = mark(st, o->meta.ns, o->meta.name);
		break;
	case LB_K8S_SLICE:
		label_moved = old != NULL && !str_eq(old->slice.service, o->slice.service);
		rc = 0;
		if (label_moved) {
			group_del(st, old);
			if (old->slice.service != NULL)
				rc = mark(st, old->meta.ns, old->slice.service);
		}
		if (rc == 0)
			rc = group_put(st, o, label_moved ? NULL : old);
		if (rc == 0 && o->slice.service != NULL &&
		    (old == NULL || label_moved || !slice_equal(&old->slice, &o->slice)))
			rc = mark(st, o->meta.ns, o->slice.service);
		else if (rc == 0 && old != NULL)
			st->st.unchanged++;
		if (rc != 0) {
			/* Keep the store as it was: old in its group, o nowhere. */
			group_del(st, o);
			if (old != NULL)
				group_put(st, old, NULL);
		}
		break;
	default:
		if (old == NULL || !node_equal(old, o))
			st->nodes_dirty = true;
		else
			st->st.unchanged++;
		rc = 0;
		break;
	}
	if (rc == 0)
		rc = lb_k8s_tab_set(&st->objs[o->kind], key, o, &prev);
	if (rc != 0) {
		if (o->kind == LB_K8S_SLICE)
			group_del(st, o);
		lb_k8s_obj_free(o);
		return rc;
	}
	lb_k8s_obj_free(old);
	st->st.events++;
	return 0;
}

int
lb_k8s_store_delete(struct lb_k8s_store *st, enum lb_k8s_kind kind, const char *ns,
	const char *name)
{
	char key[LB_K8S_KEY_MAX];
	struct lb_k8s_obj *o;

	if ((unsigned)kind >= LB_K8S_NKINDS || lb_k8s_key(key, sizeof(key), ns, name) != 0)
		return -EINVAL;
	o = lb_k8s_tab_del(&st->objs[kind], key);
	if (o == NULL)
		return -ENOENT;
	switch (kind) {
	case LB_K8S_SERVICE:
		mark(st, o->meta.ns, o->meta.name);
		break;
	case LB_K8S_SLICE:
		group_del(st, o);
		if (o->slice.service != NULL)
			mark(st, o->meta.ns, o->slice.service);
		break;
	default:
		st->nodes_dirty = true;
		break;
	}
	lb_k8s_obj_free(o);
	st->st.events++;
	return 0;
}

int
lb_k8s_store_apply(struct lb_k8s_store *st, enum lb_k8s_kind kind, enum lb_k8s_event ev,
	const struct json_object *obj, char *err, size_t errlen)
{
	char ns[LB_K8S_NS_MAX + 1], name[LB_K8S_NAME_MAX + 1], key[LB_K8S_KEY_MAX];
	struct lb_k8s_obj *o, *old;
	int rc;

	if ((unsigned)kind >= LB_K8S_NKINDS)
		return lb_k8s_fail(err, errlen, -EINVAL, "unknown kind %d", (int)kind);
	if (ev == LB_K8S_DELETED) {
		rc = lb_k8s_decode_key(kind, obj, ns, sizeof(ns), name, sizeof(name), err, errlen);
		if (rc != 0) {
			st->st.decode_errors++;
			return rc;
		}
		rc = lb_k8s_store_delete(st, kind, ns, name);
		return rc == -ENOENT ? 0 : rc;
	}
	if (ev != LB_K8S_ADDED && ev != LB_K8S_MODIFIED)
		return lb_k8s_fail(err, errlen, -EINVAL, "unknown event type %d", (int)ev);
	o = lb_k8s_decode(kind, obj, err, errlen);
	if (o != NULL) {
		rc = lb_k8s_store_put(st, o);
		if (rc != 0)
			lb_k8s_fail(err, errlen, rc, "%s: out of memory", lb_k8s_kind_str(kind));
		return rc;
	}
	st->st.decode_errors++;
	/* Fail static: the stored version stays, and counts as listed. */
	if (lb_k8s_decode_key(kind, obj, ns, sizeof(ns), name, sizeof(name), NULL, 0) == 0 &&
	    lb_k8s_key(key, sizeof(key), ns, name) == 0) {
		old = lb_k8s_tab_get(&st->objs[kind], key);
		if (old != NULL)
			old->epoch = st->epoch[kind];
	}
	return err != NULL && errlen > 0 && strstr(err, "out of memory") != NULL ? -ENOMEM :
		-EINVAL;
}

/* --- relists --- */

void
lb_k8s_store_relist_begin(struct lb_k8s_store *st, enum lb_k8s_kind kind)
{
	if ((unsigned)kind < LB_K8S_NKINDS)
		st->epoch[kind]++;
}

struct stale {
	uint64_t epoch;
	uint32_t n;
	uint32_t cap;
	char **keys;
	bool nomem;
};

static void
collect_stale(void *ctx, const char *key, void *val)
{
	struct stale *s = ctx;
	const struct lb_k8s_obj *o = val;

	if (o->epoch >= s->epoch || s->nomem)
		return;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		char **k = realloc(s->keys, sizeof(*k) * cap);

		if (k == NULL) {
			s->nomem = true;
			return;
		}
		s->keys = k;
		s->cap = cap;
	}
	s->keys[s->n] = strdup(key);
	if (s->keys[s->n] == NULL)
		s->nomem = true;
	else
		s->n++;
}

uint32_t
lb_k8s_store_relist_end(struct lb_k8s_store *st, enum lb_k8s_kind kind)
{
	struct stale s = { 0 };
	uint32_t i, removed = 0;

	if ((unsigned)kind >= LB_K8S_NKINDS)
		return 0;
	s.epoch = st->epoch[kind];
	lb_k8s_tab_foreach(&st->objs[kind], collect_stale, &s);
	for (i = 0; i < s.n; i++) {
		char *slash = kind == LB_K8S_NODE ? NULL : strchr(s.keys[i], '/');

		if (slash != NULL)
			*slash = '\0';
		if (lb_k8s_store_delete(st, kind, slash != NULL ? s.keys[i] : "",
			slash != NULL ? slash + 1 : s.keys[i]) == 0)
			removed++;
		free(s.keys[i]);
	}
	free(s.keys);
	/* On ENOMEM some stale objects stay: better than removing live ones,
	 * and the next relist removes them. */
	st->synced[kind] = true;
	st->st.relists++;
	st->st.relist_removed += removed;
	return removed;
}

bool
lb_k8s_store_synced(const struct lb_k8s_store *st, enum lb_k8s_kind kind)
{
	return (unsigned)kind < LB_K8S_NKINDS && st->synced[kind];
}

/* --- reading --- */

const struct lb_k8s_obj *
lb_k8s_store_get(const struct lb_k8s_store *st, enum lb_k8s_kind kind, const char *ns,
	const char *name)
{
	char key[LB_K8S_KEY_MAX];

	if ((unsigned)kind >= LB_K8S_NKINDS || lb_k8s_key(key, sizeof(key), ns, name) != 0)
		return NULL;
	return lb_k8s_tab_get(&st->objs[kind], key);
}

uint32_t
lb_k8s_store_slices(const struct lb_k8s_store *st, const char *ns, const char *svc,
	const struct lb_k8s_obj *const **out)
{
	char key[LB_K8S_KEY_MAX];
	const struct group *g;

	*out = NULL;
	if (lb_k8s_key(key, sizeof(key), ns, svc) != 0)
		return 0;
	g = lb_k8s_tab_get(&st->groups, key);
	if (g == NULL)
		return 0;
	*out = g->v;
	return g->n;
}

struct visit {
	void (*fn)(void *ctx, const struct lb_k8s_obj *o);
	void *ctx;
};

static void
visit_one(void *ctx, const char *key, void *val)
{
	struct visit *v = ctx;

	(void)key;
	v->fn(v->ctx, val);
}

void
lb_k8s_store_foreach(const struct lb_k8s_store *st, enum lb_k8s_kind kind,
	void (*fn)(void *ctx, const struct lb_k8s_obj *o), void *ctx)
{
	struct visit v = { fn, ctx };

	if ((unsigned)kind < LB_K8S_NKINDS)
		lb_k8s_tab_foreach(&st->objs[kind], visit_one, &v);
}

struct take {
	void (*fn)(void *ctx, const char *key);
	void *ctx;
};

static void
take_one(void *ctx, const char *key, void *val)
{
	struct take *t = ctx;

	(void)val;
	t->fn(t->ctx, key);
}

bool
lb_k8s_store_take_changes(struct lb_k8s_store *st, void (*fn)(void *ctx, const char *svc_key),
	void *ctx)
{
	struct take t = { fn, ctx };
	bool nodes = st->nodes_dirty;

	if (fn != NULL)
		lb_k8s_tab_foreach(&st->dirty, take_one, &t);
	lb_k8s_tab_fini(&st->dirty);
	lb_k8s_tab_init(&st->dirty);
	st->nodes_dirty = false;
	return nodes;
}

void
lb_k8s_store_stats(const struct lb_k8s_store *st, struct lb_k8s_store_stats *out)
{
	int k;

	*out = st->st;
	for (k = 0; k < LB_K8S_NKINDS; k++)
		out->objects[k] = st->objs[k].n;
}
