/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Health checks in the daemon (control thread): the checks follow the
 * published snapshot, their verdicts become overlay marks.
 *
 *   publish ──► lbd_health_published(snapshot) ──► checks created / kept / removed
 *   probe result ──► on_result ──► overlay marks (unhealthy + reason) ──► lbd_pipeline_changed
 *
 * A check is keyed by what it probes (spec, address, port), so targets
 * that share one (a node's kube-proxy, checked for every Service that
 * targets the node) share the check; each target it speaks for is a
 * "user" (frontend, address, port). Marks are per frontend and target
 * port (lb_health_mark), so lbctl drains stay apart from health. The
 * snapshot compiler turns marks into an effective weight of 0 and fails
 * open when every target of a frontend is unhealthy; this file logs that.
 *
 * A rolled-back build restores the overlay the published snapshot was
 * built from; every probe result re-asserts its check's marks, so health
 * catches up within one interval.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <json-c/json.h>

#include "lb_hash.h"
#include "lb_health.h"
#include "lbd.h"

#define KEY_SEED	0x6c62642d68632d6bULL	/* "lbd-hc-k" */
#define LOG_USERS	4			/* targets named in a log line */

struct hc {
	uint64_t key;
	struct lb_health_spec spec;
	struct lb_ip addr;
	uint16_t port;			/* probed, network order */
	struct lb_health_check *chk;
	/* users: users[i].fe is fes[i]->name (fes hold references) */
	uint32_t n_users, cap_users;
	struct lb_health_user *users;
	struct lb_model_fe **fes;
	char mark_reason[LB_HEALTH_REASON_MAX];	/* what the marks say while down */
	bool users_changed;		/* during a sync: users came */
	bool touched_listed;		/* during a sync: in H.touched */
	struct hc *hnext;		/* hash chain */
};

/* One target of a frontend and the check that speaks for it. */
struct ent {
	uint32_t addr;			/* network order */
	uint16_t port;			/* the target's, network order */
	struct hc *hc;
};

/* What a frontend of the last followed snapshot contributed (by frontend
 * id): kept while its model object, check and targets stay the same. */
struct rec {
	uint64_t id;
	struct lb_model_fe *model;	/* a reference */
	bool checked;
	struct lb_health_spec spec;	/* when checked */
	uint32_t n;
	struct ent *ent;		/* in the snapshot's target order */
	uint64_t gen;			/* of the last sync that saw it */
	struct rec *next;		/* hash chain */
};

static struct {
	struct lb_health_engine *engine;
	struct lb_ev_timer *flush;	/* overlay changed: publish on the next pass */
	bool ready;
	uint32_t n_hc, n_buckets;
	struct hc **buckets;
	struct rec **recs;		/* frontend id -> what it contributed */
	uint32_t n_recs, n_recb;
	uint64_t gen;
	uint64_t syncs;
	struct hc **touched;		/* checks changed by the running sync */
	uint32_t n_touched, cap_touched;
	/* config frontends by name (lookup cache for the current config) */
	const struct lb_config *cfg_cached;
	uint32_t *cfg_order;		/* indices sorted by name */
	/* frontends failing open in the last snapshot (ids, sorted) */
	uint64_t *failing;
	uint32_t n_failing;
	struct lb_health_bind bind;
	uint64_t marks_changed;
} H;

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A time of the engine's clock (lb_ev_now_ms) as Unix seconds. */
static double
to_unix(uint64_t mono_ms)
{
	uint64_t now = lb_ev_now_ms(), w = wall_ms();

	if (mono_ms == 0)
		return 0;
	return (double)(w - (now > mono_ms ? now - mono_ms : 0)) / 1000.0;
}

/* --- the checks --- */

static uint64_t
key_of(const struct lb_health_spec *s, const struct lb_ip *addr, uint16_t port)
{
	uint64_t h = lb_health_spec_hash(s);

	h = lb_hash64(addr, sizeof(*addr), h ^ KEY_SEED);
	return lb_hash64(&port, sizeof(port), h);
}

static struct hc *
hc_find(uint64_t key, const struct lb_health_spec *s, const struct lb_ip *addr, uint16_t port)
{
	struct hc *h;

	for (h = H.buckets[key % H.n_buckets]; h != NULL; h = h->hnext)
		if (h->key == key && h->port == port && lb_ip_cmp(&h->addr, addr) == 0 &&
		    lb_health_spec_equal(&h->spec, s))
			return h;
	return NULL;
}

static void
request_publish(void)
{
	H.marks_changed++;
	if (!lb_ev_timer_armed(H.flush))
		lb_ev_timer_arm(H.flush, 0);
}

static void
on_flush(void *ctx)
{
	(void)ctx;
	lbd_pipeline_changed(NULL, 0);
}

/* Makes the overlay agree with h's state for every user. */
static void
apply_marks(struct hc *h)
{
	bool down = lb_health_check_sm(h->chk)->state == LB_HEALTH_DOWN;
	int rc = lb_health_mark(g_lbd.overlay, h->users, h->n_users, down, h->mark_reason);

	if (rc < 0)
		lbd_log(LBD_ERR, "health: out of memory marking targets");
	else if (rc > 0)
		request_publish();
}

static void
users_release(struct lb_model_fe **fes, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		lb_model_fe_put(fes[i]);
}

static void
hc_free(struct hc *h)
{
	struct hc **pp = &H.buckets[h->key % H.n_buckets];

	while (*pp != h)
		pp = &(*pp)->hnext;
	*pp = h->hnext;
	lb_health_remove(H.engine, h->chk);
	users_release(h->fes, h->n_users);
	free(h->users);
	free(h->fes);
	free(h);
	H.n_hc--;
}

static char *
describe(const struct hc *h, char *buf, size_t len)
{
	return lb_health_describe(&h->spec, &h->addr, h->port, buf, len);
}

static void
user_str(const struct hc *h, uint32_t i, char *buf, size_t len)
{
	char a[LB_IP_STRLEN];

	snprintf(buf, len, "%s %s:%u", h->users[i].fe, lb_ip_fmt(&h->users[i].addr, a),
		ntohs(h->users[i].port));
}

static void
log_change(const struct hc *h, enum lb_health_change ch, const struct lb_health_result *r)
{
	const struct lb_health_sm *sm = lb_health_check_sm(h->chk);
	char d[LB_HEALTH_DESC_MAX], who[512], one[LB_MODEL_NAME_MAX + 64];
	size_t off = 0;
	uint32_t i;

	who[0] = '\0';
	for (i = 0; i < h->n_users && i < LOG_USERS; i++) {
		user_str(h, i, one, sizeof(one));
		off += (size_t)snprintf(who + off, off < sizeof(who) ? sizeof(who) - off : 0,
			"%s%s", i ? ", " : "", one);
	}
	if (h->n_users > LOG_USERS && off < sizeof(who))
		snprintf(who + off, sizeof(who) - off, " and %u more", h->n_users - LOG_USERS);
	describe(h, d, sizeof(d));
	if (ch == LB_HEALTH_WENT_DOWN)
		lbd_log(LBD_WARN, "health: %s is down (%s; %u failure%s in a row): no new "
			"connections to %s", d, r->reason, sm->fail_run, sm->fail_run == 1 ? "" : "s",
			who);
	else if (sm->n_failed == 0 && sm->n_ok == 1)
		lbd_log(LBD_DEBUG, "health: %s is up (%s) for %s", d, r->reason, who);
	else
		lbd_log(LBD_INFO, "health: %s is up again (%s; %u success%s in a row): %s take%s "
			"new connections", d, r->reason, sm->ok_run, sm->ok_run == 1 ? "" : "es", who,
			h->n_users == 1 ? "s" : "");
}

static void
send_events(const struct hc *h, bool healthy, const char *reason)
{
	char d[LB_HEALTH_DESC_MAX], t[LB_IP_STRLEN + 8], a[LB_IP_STRLEN], msg[512];
	uint32_t i;

	describe(h, d, sizeof(d));
	for (i = 0; i < h->n_users; i++) {
		if (h->fes[i]->origin_kind != LB_ORIGIN_K8S)
			continue;
		snprintf(t, sizeof(t), "%s:%u", lb_ip_fmt(&h->users[i].addr, a),
			ntohs(h->users[i].port));
		snprintf(msg, sizeof(msg), "target %s is %s: %s (%s)", t,
			healthy ? "healthy again" : "unhealthy, no new connections", reason, d);
		lbd_k8s_health_event(h->fes[i], t, healthy, msg);
	}
}

static void
on_result(void *ctx, struct lb_health_check *c, void *user, enum lb_health_change ch,
	const struct lb_health_result *r)
{
	struct hc *h = user;
	const struct lb_health_sm *sm = lb_health_check_sm(c);
	bool first_up = ch == LB_HEALTH_WENT_UP && sm->n_failed == 0 && sm->n_ok == 1;

	(void)ctx;
	if (ch == LB_HEALTH_WENT_DOWN)
		snprintf(h->mark_reason, sizeof(h->mark_reason), "%s", r->reason);
	if (ch != LB_HEALTH_SAME) {
		log_change(h, ch, r);
		if (!first_up)
			send_events(h, ch == LB_HEALTH_WENT_UP, r->reason);
	}
	apply_marks(h);
}

/* --- following the snapshot --- */

static int
cfg_name_cmp(const void *a, const void *b, void *arg)
{
	const struct lb_config *c = arg;

	return strcmp(c->frontends[*(const uint32_t *)a].name,
		c->frontends[*(const uint32_t *)b].name);
}

/* The current config's frontend named name, or NULL. */
static const struct lb_config_frontend *
cfg_fe(const char *name)
{
	const struct lb_config *c = g_lbd.cfg;
	uint32_t lo = 0, hi, i;

	if (c == NULL)
		return NULL;
	if (H.cfg_cached != c) {
		free(H.cfg_order);
		H.cfg_order = malloc(sizeof(uint32_t) * (c->n_frontends ? c->n_frontends : 1));
		H.cfg_cached = H.cfg_order != NULL ? c : NULL;
		if (H.cfg_order == NULL)
			return NULL;
		for (i = 0; i < c->n_frontends; i++)
			H.cfg_order[i] = i;
		qsort_r(H.cfg_order, c->n_frontends, sizeof(uint32_t), cfg_name_cmp, (void *)c);
	}
	hi = c->n_frontends;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, c->frontends[H.cfg_order[mid]].name);

		if (r == 0)
			return &c->frontends[H.cfg_order[mid]];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The check of fe's targets: false when they are not checked. */
static bool
spec_for(const struct lb_model_fe *m, struct lb_health_spec *out)
{
	if (m->origin_kind == LB_ORIGIN_CONFIG) {
		const struct lb_config_frontend *cf = cfg_fe(m->name);

		if (cf == NULL)
			return false;	/* a reload is on its way: the next publish decides */
		*out = cf->health;
	} else {
		struct lb_health_k8s_svc svc;
		bool known = lbd_k8s_health_svc(m, &svc) == 0;

		if (g_lbd.cfg == NULL ||
		    lb_health_k8s_spec(m, known ? &svc : NULL, &g_lbd.cfg->health_k8s, out) != 0)
			return false;
	}
	return out->kind != LB_HEALTH_NONE;
}

/* Marks h as changed by this sync (once). */
static void
touch(struct hc *h)
{
	if (h->touched_listed)
		return;
	if (H.n_touched == H.cap_touched) {
		uint32_t cap = H.cap_touched ? H.cap_touched * 2 : 64;
		struct hc **t = realloc(H.touched, sizeof(*t) * cap);

		if (t == NULL)
			return;	/* out of memory: h is settled when next touched */
		H.touched = t;
		H.cap_touched = cap;
	}
	h->touched_listed = true;
	H.touched[H.n_touched++] = h;
}

static int
user_add(struct hc *h, const struct lb_model_fe *fe, const struct lb_ip *addr, uint16_t port)
{
	if (h->n_users == h->cap_users) {
		uint32_t cap = h->cap_users ? h->cap_users * 2 : 4;
		struct lb_health_user *u = realloc(h->users, sizeof(*u) * cap);
		struct lb_model_fe **f;

		if (u == NULL)
			return -ENOMEM;
		h->users = u;
		f = realloc(h->fes, sizeof(*f) * cap);
		if (f == NULL)
			return -ENOMEM;
		h->fes = f;
		h->cap_users = cap;
	}
	h->fes[h->n_users] = lb_model_fe_get((struct lb_model_fe *)fe);
	h->users[h->n_users].fe = fe->name;
	h->users[h->n_users].addr = *addr;
	h->users[h->n_users].port = port;
	h->n_users++;
	return 0;
}

/* The index of fe's user (addr, port) in h, or -1. fe is the model object
 * the user was added with (frontends are told apart by object, not name). */
static int64_t
user_find(const struct hc *h, const struct lb_model_fe *fe, uint32_t addr, uint16_t port)
{
	uint32_t i;

	for (i = 0; i < h->n_users; i++)
		if (h->fes[i] == fe && h->users[i].port == port && h->users[i].addr.v4 == addr)
			return i;
	return -1;
}

/* Takes fe's user (addr, port) off h and clears its mark. */
static void
user_del(struct hc *h, const struct lb_model_fe *fe, uint32_t addr, uint16_t port)
{
	int64_t i = user_find(h, fe, addr, port);
	uint32_t last;

	if (i < 0)
		return;
	if (lb_health_mark(g_lbd.overlay, &h->users[i], 1, false, NULL) > 0)
		request_publish();
	lb_model_fe_put(h->fes[i]);
	last = --h->n_users;
	h->users[i] = h->users[last];
	h->fes[i] = h->fes[last];
	touch(h);
}

/* Grows the check hash with the number of checks (chains stay short). */
static void
hc_rehash(void)
{
	uint32_t n = H.n_buckets * 2, b;
	struct hc **nb, *h, *next;

	if (H.n_hc <= H.n_buckets || (nb = calloc(n, sizeof(*nb))) == NULL)
		return;	/* without memory, longer chains */
	for (b = 0; b < H.n_buckets; b++)
		for (h = H.buckets[b]; h != NULL; h = next) {
			next = h->hnext;
			h->hnext = nb[h->key % n];
			nb[h->key % n] = h;
		}
	free(H.buckets);
	H.buckets = nb;
	H.n_buckets = n;
}

static struct hc *
hc_get(const struct lb_health_spec *spec, const struct lb_ip *a, uint16_t port,
	uint16_t target_port)
{
	uint64_t key = key_of(spec, a, port);
	struct hc *h = hc_find(key, spec, a, port);

	if (h != NULL)
		return h;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->key = key;
	h->spec = *spec;
	h->addr = *a;
	h->port = port;
	h->chk = lb_health_add(H.engine, spec, a, target_port, key, h);
	if (h->chk == NULL) {
		free(h);
		return NULL;
	}
	h->hnext = H.buckets[key % H.n_buckets];
	H.buckets[key % H.n_buckets] = h;
	H.n_hc++;
	touch(h);	/* freed after the sync if it gets no user */
	hc_rehash();
	return h;
}

/* --- following the snapshot, frontend by frontend --- */

static struct rec *
rec_find(uint64_t id)
{
	struct rec *r;

	for (r = H.recs[id % H.n_recb]; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void
rec_rehash(void)
{
	uint32_t n = H.n_recb * 2, b;
	struct rec **nb, *r, *next;

	if (H.n_recs <= H.n_recb || (nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (b = 0; b < H.n_recb; b++)
		for (r = H.recs[b]; r != NULL; r = next) {
			next = r->next;
			r->next = nb[r->id % n];
			nb[r->id % n] = r;
		}
	free(H.recs);
	H.recs = nb;
	H.n_recb = n;
}

static void
rec_unlink(struct rec *r)
{
	struct rec **pp = &H.recs[r->id % H.n_recb];

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	H.n_recs--;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->hc < y->hc ? -1 : x->hc > y->hc;
}

/* Whether r still says what fe of the new snapshot would. */
static bool
rec_same(const struct rec *r, const struct lb_snap_fe *fe, bool checked,
	const struct lb_health_spec *spec)
{
	uint32_t j;

	if (r->model != fe->model || r->checked != checked)
		return false;
	if (!checked)
		return true;
	if (!lb_health_spec_equal(&r->spec, spec) || r->n != fe->n_targets)
		return false;
	for (j = 0; j < r->n; j++)
		if (r->ent[j].addr != fe->targets[j].addr || r->ent[j].port != fe->targets[j].port)
			return false;
	return true;
}

/*
 * Moves r from what it said to what fe says: users that stay keep their
 * marks (their model object is swapped in place), users that left are
 * unmarked, users that came are added (their checks apply the marks after
 * the sync). A sorted merge of the old and new entries.
 */
static int
rec_update(struct rec *r, const struct lb_snap_fe *fe, bool checked,
	const struct lb_health_spec *spec)
{
	struct ent *ne = NULL, *os = NULL, *ns = NULL;
	uint32_t n = checked ? fe->n_targets : 0, i = 0, j = 0, k;
	int rc = 0;

	if (n > 0) {
		ne = malloc(sizeof(*ne) * n);
		ns = malloc(sizeof(*ns) * n);
		if (ne == NULL || ns == NULL) {
			free(ne);
			free(ns);
			return -ENOMEM;
		}
	}
	for (k = 0; k < n; k++) {
		struct lb_ip a = lb_ip4(fe->targets[k].addr);
		uint16_t port = lb_health_probe_port(spec, fe->targets[k].port);

		ne[k].addr = fe->targets[k].addr;
		ne[k].port = fe->targets[k].port;
		ne[k].hc = hc_get(spec, &a, port, fe->targets[k].port);
		if (ne[k].hc == NULL) {
			free(ne);
			free(ns);
			return -ENOMEM;
		}
	}
	if (r->n > 0 && (os = malloc(sizeof(*os) * r->n)) == NULL) {
		free(ne);
		free(ns);
		return -ENOMEM;
	}
	if (r->n > 0)
		memcpy(os, r->ent, sizeof(*os) * r->n);
	if (n > 0)
		memcpy(ns, ne, sizeof(*ns) * n);
	if (r->n > 1)
		qsort(os, r->n, sizeof(*os), ent_cmp);
	if (n > 1)
		qsort(ns, n, sizeof(*ns), ent_cmp);
	while (i < r->n || j < n) {
		int c = i == r->n ? 1 : j == n ? -1 : ent_cmp(&os[i], &ns[j]);

		if (c < 0) {
			user_del(os[i].hc, r->model, os[i].addr, os[i].port);
			i++;
		} else if (c > 0) {
			struct lb_ip a = lb_ip4(ns[j].addr);

			if (user_add(ns[j].hc, fe->model, &a, ns[j].port) != 0)
				rc = -ENOMEM;
			touch(ns[j].hc);
			ns[j].hc->users_changed = true;
			j++;
		} else {
			int64_t u = user_find(os[i].hc, r->model, os[i].addr, os[i].port);

			if (u >= 0 && r->model != fe->model) {
				lb_model_fe_put(os[i].hc->fes[u]);
				os[i].hc->fes[u] = lb_model_fe_get((struct lb_model_fe *)fe->model);
				os[i].hc->users[u].fe = fe->model->name;
			}
			i++;
			j++;
		}
	}
	free(os);
	free(ns);
	free(r->ent);
	if (rc != 0) {
		/* a user could not be added: say nothing rather than something
		 * the checks do not know (an entry is a user), and retry at the
		 * next sync (checked differs then) */
		for (k = 0; k < n; k++)
			user_del(ne[k].hc, r->model, ne[k].addr, ne[k].port);
		for (k = 0; k < n; k++)
			user_del(ne[k].hc, fe->model, ne[k].addr, ne[k].port);
		free(ne);
		ne = NULL;
		n = 0;
		checked = false;
	}
	r->ent = ne;
	r->n = n;
	r->checked = checked;
	if (checked)
		r->spec = *spec;
	if (r->model != fe->model) {
		lb_model_fe_put(r->model);
		r->model = lb_model_fe_get((struct lb_model_fe *)fe->model);
	}
	return rc;
}

static void
rec_free(struct rec *r)
{
	uint32_t j;

	for (j = 0; j < r->n; j++)
		user_del(r->ent[j].hc, r->model, r->ent[j].addr, r->ent[j].port);
	lb_model_fe_put(r->model);
	free(r->ent);
	free(r);
}

/* The check of target (addr, port) of frontend fe_id, for lbctl. */
static struct hc *
hc_of_target(uint64_t fe_id, uint32_t addr, uint16_t port)
{
	const struct rec *r = rec_find(fe_id);
	uint32_t j;

	for (j = 0; r != NULL && j < r->n; j++)
		if (r->ent[j].addr == addr && r->ent[j].port == port)
			return r->ent[j].hc;
	return NULL;
}

static int
u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Logs (and tells Kubernetes about) frontends that start or stop failing
 * open: every target unhealthy, so the compiler uses them all. */
/* Where probes leave from: health.interface / health.source when set, else
 * the internal port's kernel interface when it has one (the probes then go
 * out of lbd's own port, from its address), else the host's routing. */
static void
cfg_bind(const struct lb_config *c, struct lb_health_bind *b)
{
	*b = c->health_bind;
	if (b->ifname[0] == '\0' && b->source.family == 0 && c->int_port >= 0 &&
	    c->ports[c->int_port].kernel[0] != '\0')
		snprintf(b->ifname, sizeof(b->ifname), "%s", c->ports[c->int_port].kernel);
}

static void
report_fail_open(const struct lb_snap *s)
{
	uint64_t *now = malloc(sizeof(uint64_t) * (s->n_fes ? s->n_fes : 1));
	uint32_t n = 0, i;

	if (now == NULL)
		return;
	for (i = 0; i < s->n_fes; i++)
		if (s->fes[i].flags & LB_SNAP_FE_FAIL_OPEN)
			now[n++] = s->fes[i].id;
	qsort(now, n, sizeof(*now), u64cmp);
	for (i = 0; i < s->n_fes; i++) {
		const struct lb_snap_fe *fe = &s->fes[i];
		bool was = H.n_failing > 0 &&
			bsearch(&fe->id, H.failing, H.n_failing, sizeof(uint64_t), u64cmp) != NULL;
		bool is = fe->flags & LB_SNAP_FE_FAIL_OPEN;
		char msg[LB_MODEL_NAME_MAX + 128];

		if (was == is)
			continue;
		if (is)
			snprintf(msg, sizeof(msg), "frontend %s: all %u targets are unhealthy: "
				"failing open (new connections go to all of them)", fe->name,
				fe->n_targets);
		else
			snprintf(msg, sizeof(msg), "frontend %s: no longer failing open (%u of %u "
				"targets take new connections)", fe->name, fe->n_active, fe->n_targets);
		lbd_log(is ? LBD_WARN : LBD_INFO, "health: %s", msg);
		if (fe->model->origin_kind == LB_ORIGIN_K8S)
			lbd_k8s_health_event(fe->model, NULL, !is, msg);
	}
	free(H.failing);
	H.failing = now;
	H.n_failing = n;
}

/*
 * Follows a published snapshot: every checked target has a check, every
 * check has the targets it speaks for as users. Work is proportional to the
 * frontends that changed: a frontend whose model object, check and targets
 * are those of the last sync is skipped (one lookup and one comparison per
 * target), so a change to one Service among thousands costs that Service.
 */
void
lbd_health_published(const struct lb_snap *s)
{
	struct rec *r, *next;
	uint32_t i, b;
	bool nomem = false;

	if (!H.ready || s == NULL)
		return;
	report_fail_open(s);
	if (g_lbd.cfg != NULL) {
		struct lb_health_bind want;

		cfg_bind(g_lbd.cfg, &want);
		if (memcmp(&H.bind, &want, sizeof(H.bind)) != 0) {
			H.bind = want;
			lb_health_engine_set_bind(H.engine, &H.bind);
		}
	}
	H.gen++;
	/* Leavers first, so that a target moving from one frontend or check
	 * to another ends up as its new check says. */
	for (i = 0; i < s->n_fes; i++) {
		r = rec_find(s->fes[i].id);
		if (r != NULL)
			r->gen = H.gen;
	}
	for (b = 0; b < H.n_recb; b++)
		for (r = H.recs[b]; r != NULL; r = next) {
			next = r->next;
			if (r->gen != H.gen) {
				rec_unlink(r);
				rec_free(r);
			}
		}
	for (i = 0; i < s->n_fes; i++) {
		const struct lb_snap_fe *fe = &s->fes[i];
		struct lb_health_spec spec;
		bool checked = spec_for(fe->model, &spec);

		r = rec_find(fe->id);
		if (r != NULL && rec_same(r, fe, checked, &spec))
			continue;
		if (r == NULL) {
			r = calloc(1, sizeof(*r));
			if (r == NULL) {
				nomem = true;
				continue;
			}
			r->id = fe->id;
			r->gen = H.gen;
			r->model = lb_model_fe_get((struct lb_model_fe *)fe->model);
			r->next = H.recs[r->id % H.n_recb];
			H.recs[r->id % H.n_recb] = r;
			H.n_recs++;
			rec_rehash();
		}
		if (rec_update(r, fe, checked, &spec) != 0)
			nomem = true;
	}
	if (nomem)
		lbd_log(LBD_ERR, "health: out of memory following the snapshot; some targets "
			"are not checked");
	for (i = 0; i < H.n_touched; i++) {
		struct hc *h = H.touched[i];

		h->touched_listed = false;
		if (h->n_users == 0) {
			hc_free(h);
		} else if (h->users_changed) {
			h->users_changed = false;
			apply_marks(h);	/* new users of a check that is down */
		}
	}
	H.n_touched = 0;
	H.syncs++;
}

/* --- init / term --- */

int
lbd_health_init(struct lb_ev *ev, char *err, size_t errlen)
{
	char e[256];

	H.n_buckets = 1024;
	H.buckets = calloc(H.n_buckets, sizeof(*H.buckets));
	H.n_recb = 1024;
	H.recs = calloc(H.n_recb, sizeof(*H.recs));
	H.flush = lb_ev_timer_new(ev, on_flush, NULL);
	if (H.buckets == NULL || H.recs == NULL || H.flush == NULL) {
		snprintf(err, errlen, "out of memory for the health checks");
		return -ENOMEM;
	}
	if (g_lbd.cfg != NULL)
		cfg_bind(g_lbd.cfg, &H.bind);
	H.engine = lb_health_engine_new(ev, &H.bind, on_result, NULL, e, sizeof(e));
	if (H.engine == NULL) {
		snprintf(err, errlen, "health checks: %s", e);
		return -ENOMEM;
	}
	H.ready = true;
	lbd_health_published(atomic_load(&g_lbd.snap));
	return 0;
}

void
lbd_health_term(void)
{
	uint32_t b;

	H.ready = false;
	for (b = 0; H.recs != NULL && b < H.n_recb; b++)
		while (H.recs[b] != NULL) {
			struct rec *r = H.recs[b];

			H.recs[b] = r->next;
			lb_model_fe_put(r->model);
			free(r->ent);
			free(r);
		}
	free(H.recs);
	H.recs = NULL;
	H.n_recs = 0;
	free(H.touched);
	H.touched = NULL;
	H.n_touched = H.cap_touched = 0;
	for (b = 0; H.buckets != NULL && b < H.n_buckets; b++)
		while (H.buckets[b] != NULL)
			hc_free(H.buckets[b]);
	lb_health_engine_free(H.engine);
	H.engine = NULL;
	lb_ev_timer_free(H.flush);
	H.flush = NULL;
	free(H.buckets);
	H.buckets = NULL;
	free(H.cfg_order);
	H.cfg_order = NULL;
	H.cfg_cached = NULL;
	free(H.failing);
	H.failing = NULL;
	H.n_failing = 0;
}

/* --- lbctl --- */

static void
add(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

/* The last result and the state, shared by `health` and `targets`. */
static void
add_verdict(struct json_object *o, const struct hc *h)
{
	const struct lb_health_sm *sm = lb_health_check_sm(h->chk);
	char d[LB_HEALTH_DESC_MAX];

	add(o, "check", json_object_new_string(describe(h, d, sizeof(d))));
	add(o, "state", json_object_new_string(lb_health_state_str(sm->state)));
	if (sm->last_ms == 0) {
		add(o, "last_result", NULL);
		add(o, "reason", NULL);
		add(o, "latency_ms", NULL);
		add(o, "last_check", NULL);
	} else {
		add(o, "last_result", json_object_new_string(sm->last.ok ? "ok" : "failed"));
		add(o, "reason", json_object_new_string(sm->last.reason));
		add(o, "latency_ms", json_object_new_double(sm->last.latency_us / 1000.0));
		add(o, "last_check", json_object_new_double(to_unix(sm->last_ms)));
	}
	add(o, "last_change", json_object_new_double(to_unix(sm->changed_ms)));
}

static int
hc_cmp(const void *a, const void *b)
{
	const struct hc *x = *(const struct hc *const *)a, *y = *(const struct hc *const *)b;
	int c = lb_ip_cmp(&x->addr, &y->addr);

	if (c != 0)
		return c;
	if (x->port != y->port)
		return ntohs(x->port) < ntohs(y->port) ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

struct json_object *
lbd_health_json(void)
{
	struct json_object *r = json_object_new_object(), *a = json_object_new_array();
	struct lb_health_engine_stats st;
	uint32_t n = 0, b, i, count[3] = { 0 };
	struct hc **all = NULL, *h;
	char ip[LB_IP_STRLEN];

	if (H.ready && H.n_hc > 0) {
		all = malloc(sizeof(*all) * H.n_hc);
		if (all == NULL) {
			json_object_put(a);
			json_object_put(r);
			return NULL;
		}
		for (b = 0; b < H.n_buckets; b++)
			for (h = H.buckets[b]; h != NULL; h = h->hnext)
				all[n++] = h;
		qsort(all, n, sizeof(*all), hc_cmp);
	}
	for (i = 0; i < n; i++) {
		const struct lb_health_sm *sm;
		struct json_object *o = json_object_new_object(), *ts = json_object_new_array();
		uint32_t u;

		h = all[i];
		sm = lb_health_check_sm(h->chk);
		count[sm->state < 3 ? sm->state : 0]++;
		add(o, "kind", json_object_new_string(lb_health_kind_str(h->spec.kind)));
		add(o, "address", json_object_new_string(lb_ip_fmt(&h->addr, ip)));
		add(o, "port", json_object_new_int(ntohs(h->port)));
		if (h->spec.kind == LB_HEALTH_HTTP || h->spec.kind == LB_HEALTH_HTTPS)
			add(o, "path", json_object_new_string(h->spec.path));
		add_verdict(o, h);
		add(o, "in_flight", json_object_new_boolean(sm->inflight));
		add(o, "successes", json_object_new_int64(sm->ok_run));
		add(o, "failures", json_object_new_int64(sm->fail_run));
		add(o, "interval_ms", json_object_new_int64(h->spec.interval_ms));
		add(o, "timeout_ms", json_object_new_int64(h->spec.timeout_ms));
		add(o, "rise", json_object_new_int64(h->spec.rise));
		add(o, "fall", json_object_new_int64(h->spec.fall));
		for (u = 0; u < h->n_users; u++) {
			struct json_object *t = json_object_new_object();
			char ep[LB_IP_STRLEN + 8];

			snprintf(ep, sizeof(ep), "%s:%u", lb_ip_fmt(&h->users[u].addr, ip),
				ntohs(h->users[u].port));
			add(t, "frontend", json_object_new_string(h->users[u].fe));
			add(t, "target", json_object_new_string(ep));
			json_object_array_add(ts, t);
		}
		add(o, "targets", ts);
		json_object_array_add(a, o);
	}
	free(all);
	add(r, "checks", a);
	add(r, "up", json_object_new_int64(count[LB_HEALTH_UP]));
	add(r, "down", json_object_new_int64(count[LB_HEALTH_DOWN]));
	add(r, "unknown", json_object_new_int64(count[LB_HEALTH_UNKNOWN]));
	memset(&st, 0, sizeof(st));
	if (H.engine != NULL)
		lb_health_engine_stats(H.engine, &st);
	add(r, "in_flight", json_object_new_int64(st.inflight));
	add(r, "probes", json_object_new_uint64(st.probes));
	add(r, "probes_failed", json_object_new_uint64(st.failed));
	add(r, "interface", json_object_new_string(H.bind.ifname));
	add(r, "source", H.bind.source.family ?
		json_object_new_string(lb_ip_fmt(&H.bind.source, ip)) : NULL);
	return r;
}

struct json_object *
lbd_health_target_json(uint64_t fe_id, uint32_t addr, uint16_t port)
{
	struct hc *h = H.ready ? hc_of_target(fe_id, addr, port) : NULL;
	struct json_object *o;

	if (h == NULL)
		return NULL;
	o = json_object_new_object();
	add_verdict(o, h);
	return o;
}
