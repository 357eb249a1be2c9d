/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the exporters see, and the Prometheus endpoint.
 *
 * Two readers live outside the control thread: the metrics HTTP server
 * (libmicrohttpd's own polling thread, started here when the config has a
 * metrics group) and DPDK's telemetry thread (telemetry.c). Both read
 *
 * - the workers' counters directly, as lbctl stats does: racy aligned 64-bit
 *   loads of words that each worker alone writes (lb_stats_read_dp). They
 *   never touch anything else of a worker's.
 * - everything the control thread owns through a published copy, "the view"
 *   (obs.h): every LBD_VIEW_REFRESH_MS the control loop samples the
 *   neighbour and control counters, the snapshot pipeline, the event loop,
 *   the last reload, port statistics and links and neighbour states, and,
 *   when the snapshot generation changed, builds a frontend table (names,
 *   targets, states) from the published snapshot. It swaps the copy in
 *   under a mutex that it only ever try-locks: when a reader holds it, the
 *   refresh is retried on the next pass, so the control loop never waits
 *   for a reader. Readers hold the mutex while they copy the view and the
 *   workers' counters (a few microseconds); the frontend table is reference
 *   counted so it is rendered outside the lock.
 *
 * A copy, rather than reading the RCU-protected snapshot from the metrics
 * thread: the grace period counts the workers only, so a reader that is not
 * a registered QSBR thread could see the snapshot freed under it, and
 * registering one would let a slow scrape hold back every reclamation.
 *
 * At shutdown the view is marked dead under the (blocking) lock before the
 * workers' memory goes, so a late telemetry request answers nothing instead
 * of reading freed memory (DPDK cannot unregister telemetry commands).
 *
 * Also here: rte_pdump_init(), so dpdk-dumpcap can capture lbd's ports.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <rte_ethdev.h>
#include <rte_pdump.h>
#include <rte_version.h>

#include "lb_addr.h"
#include "lb_prom.h"
#include "obs.h"

static struct {
	pthread_mutex_t mu;
	struct lbd_view v;		/* mu */
	_Atomic uint32_t required;	/* lbd_ready_cond bits */
	_Atomic uint32_t met;
	/* control thread only */
	struct lb_ev_timer *timer;
	struct lbd_fe_table *pending;	/* built, not yet swapped in */
	struct lbd_fe_table *last;	/* the latest built (a reference): rows to reuse */
	uint64_t fe_generation;
	struct MHD_Daemon *httpd;
	bool pdump;
} M = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* ---- readiness ---- */

void
lbd_ready_require(enum lbd_ready_cond c)
{
	atomic_fetch_or(&M.required, 1u << c);
}

void
lbd_ready_set(enum lbd_ready_cond c, bool met)
{
	if (met)
		atomic_fetch_or(&M.met, 1u << c);
	else
		atomic_fetch_and(&M.met, ~(1u << c));
}

/* ---- sampling (control thread, and readers for the workers) ---- */

static void
sample_workers(struct lb_stats_worker *out)
{
	uint32_t i;

	for (i = 0; i < g_lbd.n_workers; i++) {
		const struct lbd_worker *w = &g_lbd.workers[i];

		lb_stats_read_dp(&w->dp.ctr, &out[i].c);
		out[i].flows = w->flows_live;
		out[i].affinity = w->affinity_live;
		out[i].lcore = w->lcore;
	}
}

static void
sample_ports(struct lb_stats_port *out)
{
	uint32_t i;

	for (i = 0; i < g_lbd.n_ports; i++) {
		const struct lbd_port *p = &g_lbd.ports[i];
		struct lb_stats_port *o = &out[i];
		struct rte_eth_stats st;

		memset(o, 0, sizeof(*o));
		if (rte_eth_stats_get(p->dev, &st) == 0) {
			o->ipackets = st.ipackets;
			o->opackets = st.opackets;
			o->ibytes = st.ibytes;
			o->obytes = st.obytes;
			o->imissed = st.imissed;
			o->ierrors = st.ierrors;
			o->oerrors = st.oerrors;
			o->rx_nombuf = st.rx_nombuf;
		}
		o->link_up = lb_port_link_up(p->dev);
		snprintf(o->name, sizeof(o->name), "%s", g_lbd.cfg->ports[i].name);
		snprintf(o->role, sizeof(o->role), "%s", lb_role_str(g_lbd.cfg->ports[i].role));
		snprintf(o->driver, sizeof(o->driver), "%s", p->info.driver);
		lb_mac_fmt(p->info.mac.addr_bytes, o->mac);
	}
}

static void
count_state(void *ctx, const struct lb_neigh_info *i)
{
	struct lb_stats_daemon *d = ctx;

	switch (i->state) {
	case LB_NEIGH_INCOMPLETE:
		d->neigh_incomplete++;
		break;
	case LB_NEIGH_REACHABLE:
		d->neigh_reachable++;
		break;
	case LB_NEIGH_PROBE:
		d->neigh_probe++;
		break;
	case LB_NEIGH_FAILED:
		d->neigh_failed++;
		break;
	case LB_NEIGH_PERMANENT:
		d->neigh_permanent++;
		break;
	}
}

static void
sample_daemon(struct lb_stats_daemon *d)
{
	const struct lb_snap *s = atomic_load(&g_lbd.snap);
	struct lbd_pipeline_stats ps;
	struct lb_ev_stats es;

	memset(d, 0, sizeof(*d));
	if (s != NULL) {
		d->generation = s->generation;
		d->frontends = s->n_fes;
	}
	lbd_pipeline_stats(&ps);
	d->snap_submitted = ps.submitted;
	d->snap_published = ps.published;
	d->snap_failed = ps.failed;
	d->snap_conflicts = ps.conflicts;
	d->snap_last_build_ns = ps.last_build_ns;
	d->snap_max_build_ns = ps.max_build_ns;
	d->snap_last_table_ns = ps.last_table_ns;
	d->snap_last_tables_built = ps.last_tables_built;
	d->snap_last_tables_reused = ps.last_tables_reused;
	d->snap_inflight = ps.inflight;
	d->snap_dirty = ps.dirty;
	d->reloads_ok = g_lbd.last_reload.n_ok;
	d->reloads_failed = g_lbd.last_reload.n_failed;
	d->reload_last_ok = g_lbd.last_reload.ok;
	d->reload_last_time = g_lbd.last_reload.time;
	lb_ev_stats(g_lbd.ev, &es);
	d->ev_passes = es.passes;
	d->ev_callbacks = es.callbacks;
	d->ev_busy_us = es.busy_us;
	d->ev_slow_passes = es.slow_passes;
	d->ev_max_pass_us = es.max_pass_us;
	d->ev_fds = es.fds;
	d->ev_timers = es.timers_armed;
	lb_neigh_foreach(g_lbd.neigh, count_state, d);
	d->start_time = g_lbd.start_time;
}

/* ---- the frontend table ---- */

struct lbd_fe_key {
	uint64_t id;
	uint32_t vip;
	uint16_t port;
	uint8_t proto;
	uint8_t method;
	uint8_t origin;
	uint8_t fail_open;
	uint32_t n_active;
	uint32_t slot;
	uint32_t n_targets;
	uint32_t first;		/* its first row in tkeys and targets */
};

struct lbd_target_key {
	uint32_t addr;
	uint32_t weight;
	uint32_t slot;
	uint16_t port;
	uint8_t state;
};

static void
fe_table_put(struct lbd_fe_table *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	free(t->fes);
	free(t->targets);
	free(t->keys);
	free(t->tkeys);
	free(t);
}

static uint8_t
target_state(const struct lb_snap_fe *fe, const struct lb_snap_target *t)
{
	if (t->flags & LB_SNAP_T_DRAINED)
		return LB_STATS_TS_DRAINED;
	if (t->flags & LB_SNAP_T_TERMINATING)
		return LB_STATS_TS_TERMINATING;
	if ((t->flags & LB_SNAP_T_UNHEALTHY) && !(fe->flags & LB_SNAP_FE_FAIL_OPEN))
		return LB_STATS_TS_UNHEALTHY;
	if (t->weight == 0)
		return LB_STATS_TS_STANDBY;
	return LB_STATS_TS_ACTIVE;
}

static void
fe_key_of(const struct lb_snap_fe *fe, struct lbd_fe_key *k)
{
	memset(k, 0, sizeof(*k));
	k->id = fe->id;
	k->vip = fe->vip;
	k->port = fe->port;
	k->proto = fe->proto;
	k->method = fe->method;
	k->origin = fe->model->origin_kind == LB_ORIGIN_K8S;
	k->fail_open = (fe->flags & LB_SNAP_FE_FAIL_OPEN) != 0;
	k->n_active = fe->n_active;
	k->slot = fe->ctr;	/* LB_SNAP_NO_CTR == LB_STATS_NO_SLOT */
	k->n_targets = fe->n_targets;
}

/* An index of prev's rows by frontend id (open addressing, 2^bits slots of
 * row + 1, 0 empty), for frontends that moved in the snapshot's order. */
struct row_index {
	uint32_t *slot;
	uint32_t mask;
};

static int
row_index_build(struct row_index *x, const struct lbd_fe_table *prev)
{
	uint32_t n = 16, i, h;

	while (n < 2 * prev->n_fes)
		n *= 2;
	x->slot = calloc(n, sizeof(*x->slot));
	if (x->slot == NULL)
		return -ENOMEM;
	x->mask = n - 1;
	for (i = 0; i < prev->n_fes; i++) {
		for (h = (uint32_t)(prev->keys[i].id * 0x9e3779b97f4a7c15ULL >> 32) & x->mask;
		     x->slot[h] != 0; h = (h + 1) & x->mask)
			;
		x->slot[h] = i + 1;
	}
	return 0;
}

/* prev's row of frontend id, or -1. Tries position `hint` first (the order of
 * frontends rarely changes between snapshots). */
static int64_t
prev_row(const struct lbd_fe_table *prev, struct row_index *x, uint64_t id, uint32_t hint)
{
	uint32_t h;

	if (prev == NULL || prev->keys == NULL)
		return -1;
	if (hint < prev->n_fes && prev->keys[hint].id == id)
		return hint;
	if (x->slot == NULL && row_index_build(x, prev) != 0)
		return -1;
	for (h = (uint32_t)(id * 0x9e3779b97f4a7c15ULL >> 32) & x->mask; x->slot[h] != 0;
	     h = (h + 1) & x->mask)
		if (prev->keys[x->slot[h] - 1].id == id)
			return x->slot[h] - 1;
	return -1;
}

/*
 * Labels for the exporters from snapshot s, with the counter slots its
 * frontends and targets carry (counters.c). The rows of a frontend whose
 * values are those of its row in prev (the table built for the previous
 * generation, or NULL) are copied from there rather than formatted again:
 * a change to one frontend of thousands costs a copy of the others' rows,
 * not thousands of snprintf calls per target.
 */
static struct lbd_fe_table *
fe_table_build(const struct lb_snap *s, const struct lbd_fe_table *prev)
{
	struct lbd_fe_table *t = calloc(1, sizeof(*t));
	struct row_index x = { NULL, 0 };
	uint32_t i, j, nt = 0, k = 0;

	if (t == NULL)
		return NULL;
	for (i = 0; i < s->n_fes; i++)
		nt += s->fes[i].n_targets;
	t->fes = calloc(s->n_fes + 1, sizeof(*t->fes));
	t->targets = calloc(nt + 1, sizeof(*t->targets));
	t->keys = calloc(s->n_fes + 1, sizeof(*t->keys));
	t->tkeys = calloc(nt + 1, sizeof(*t->tkeys));
	if (t->fes == NULL || t->targets == NULL || t->keys == NULL || t->tkeys == NULL) {
		atomic_init(&t->refs, 1);
		fe_table_put(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->generation = s->generation;
	t->n_fes = s->n_fes;
	for (i = 0; i < s->n_fes; i++) {
		const struct lb_snap_fe *fe = &s->fes[i];
		struct lb_stats_fe_info *o = &t->fes[i];
		struct lbd_fe_key *fk = &t->keys[i];
		struct lbd_target_key *tk = &t->tkeys[k];
		int64_t r;
		bool same;

		fe_key_of(fe, fk);
		fk->first = k;
		for (j = 0; j < fe->n_targets; j++) {
			const struct lb_snap_target *st = &fe->targets[j];

			tk[j].addr = st->addr;
			tk[j].port = st->port;
			tk[j].weight = st->weight;
			tk[j].slot = st->ctr;
			tk[j].state = target_state(fe, st);
		}
		r = prev_row(prev, &x, fe->id, i);
		same = r >= 0;
		if (same) {
			const struct lbd_fe_key *pk = &prev->keys[r];

			same = pk->vip == fk->vip && pk->port == fk->port && pk->proto == fk->proto &&
				pk->method == fk->method && pk->origin == fk->origin &&
				pk->fail_open == fk->fail_open && pk->n_active == fk->n_active &&
				pk->slot == fk->slot && pk->n_targets == fk->n_targets &&
				strcmp(prev->fes[r].name, fe->name) == 0;
			for (j = 0; same && j < fe->n_targets; j++) {
				const struct lbd_target_key *a = &prev->tkeys[pk->first + j];

				same = a->addr == tk[j].addr && a->port == tk[j].port &&
					a->weight == tk[j].weight && a->slot == tk[j].slot &&
					a->state == tk[j].state;
			}
		}
		if (same) {
			*o = prev->fes[r];
			memcpy(&t->targets[k], &prev->targets[prev->keys[r].first],
				fe->n_targets * sizeof(t->targets[0]));
		} else {
			snprintf(o->name, sizeof(o->name), "%s", fe->name);
			lb_ip4_fmt(fe->vip, o->vip);
			snprintf(o->protocol, sizeof(o->protocol), "%s", lb_proto_str(fe->proto));
			snprintf(o->method, sizeof(o->method), "%s",
				lb_method_str((enum lb_method)fe->method));
			snprintf(o->source, sizeof(o->source), "%s",
				fk->origin ? "kubernetes" : "config");
			o->port = ntohs(fe->port);
			o->n_active = fe->n_active;
			o->fail_open = fk->fail_open;
			o->slot = fk->slot;
			o->n_targets = fe->n_targets;
			for (j = 0; j < fe->n_targets; j++) {
				struct lb_stats_target_info *ti = &t->targets[k + j];

				lb_ep_fmt(tk[j].addr, tk[j].port, ti->target);
				ti->weight = tk[j].weight;
				ti->state = tk[j].state;
				ti->slot = tk[j].slot;
			}
		}
		o->targets = &t->targets[k];
		k += fe->n_targets;
	}
	free(x.slot);
	return t;
}

/* ---- the control loop's refresh ---- */

static void
refresh(void *ctx)
{
	const struct lb_snap *s = atomic_load(&g_lbd.snap);
	struct lbd_view v;
	struct lbd_fe_table *old = NULL;

	(void)ctx;
	if (s != NULL && s->generation != M.fe_generation) {
		struct lbd_fe_table *t = fe_table_build(s, M.last);

		if (t != NULL) {
			fe_table_put(M.pending);
			fe_table_put(M.last);
			atomic_fetch_add(&t->refs, 1);
			M.last = t;
			M.pending = t;
			M.fe_generation = s->generation;
		}
	}
	memset(&v, 0, sizeof(v));
	v.live = true;
	v.refreshed_ms = lb_ev_now_ms();
	v.ctl = g_lbd.cc;
	v.neigh = *lb_neigh_counters(g_lbd.neigh);
	sample_daemon(&v.daemon);
	v.n_ports = g_lbd.n_ports;
	sample_ports(v.ports);
	v.snapshot = s != NULL;
	v.uptime_base = g_lbd.start_time;
	if (pthread_mutex_trylock(&M.mu) != 0) {
		/* a reader is copying: try again on the next pass */
		lb_ev_timer_arm(M.timer, 1);
		return;
	}
	if (M.v.live) {
		v.fes = M.v.fes;
		if (M.pending != NULL) {
			old = v.fes;
			v.fes = M.pending;
			M.pending = NULL;
		}
		M.v = v;
	}
	pthread_mutex_unlock(&M.mu);
	fe_table_put(old);
	lb_ev_timer_arm(M.timer, LBD_VIEW_REFRESH_MS);
}

/* ---- readers ---- */

int
lbd_obs_read(struct lbd_obs *o)
{
	pthread_mutex_lock(&M.mu);
	if (!M.v.live) {
		pthread_mutex_unlock(&M.mu);
		return -ESHUTDOWN;
	}
	o->v = M.v;
	if (o->v.fes != NULL)
		atomic_fetch_add(&o->v.fes->refs, 1);
	o->n_workers = g_lbd.n_workers;
	sample_workers(o->w);
	pthread_mutex_unlock(&M.mu);
	o->now_ms = lb_ev_now_ms();
	o->v.daemon.view_age_ms = o->now_ms - o->v.refreshed_ms;
	o->v.daemon.ready = lbd_obs_ready(o, NULL, 0);
	return 0;
}

void
lbd_obs_release(struct lbd_obs *o)
{
	fe_table_put(o->v.fes);
	o->v.fes = NULL;
}

void
lbd_obs_view(struct lbd_obs *o, struct lb_stats_view *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->version = LBD_VERSION;
	sv->dpdk_version = rte_version();
	sv->n_workers = o->n_workers;
	sv->workers = o->w;
	sv->ctl = o->v.ctl;
	sv->neigh = o->v.neigh;
	sv->n_ports = o->v.n_ports;
	sv->ports = o->v.ports;
	sv->daemon = o->v.daemon;
	if (o->v.fes != NULL) {
		sv->n_fes = o->v.fes->n_fes;
		sv->fes = o->v.fes->fes;
	}
	lbd_counters_view(sv);
}

static void
why_add(char *why, size_t len, const char *fmt, const char *arg)
{
	size_t off;

	if (why == NULL)
		return;
	off = strlen(why);
	if (off < len)
		snprintf(why + off, len - off, fmt, off ? "; " : "", arg);
}

bool
lbd_obs_ready(const struct lbd_obs *o, char *why, size_t len)
{
	uint32_t missing = atomic_load(&M.required) & ~atomic_load(&M.met);
	bool ok = true;
	uint32_t i;

	if (why != NULL && len > 0)
		why[0] = '\0';
	for (i = 0; i < o->v.n_ports; i++)
		if (!o->v.ports[i].link_up) {
			why_add(why, len, "%sport %s link down", o->v.ports[i].name);
			ok = false;
		}
	if (!o->v.snapshot) {
		why_add(why, len, "%s%s", "no snapshot published");
		ok = false;
	}
	if (missing & (1u << LBD_READY_K8S_SYNCED)) {
		why_add(why, len, "%s%s", "Kubernetes first sync not done");
		ok = false;
	}
	return ok;
}

bool
lbd_obs_alive(const struct lbd_obs *o, char *why, size_t len)
{
	uint64_t age = o->now_ms - o->v.refreshed_ms;

	if (age <= LBD_VIEW_STALE_MS)
		return true;
	if (why != NULL)
		snprintf(why, len, "control loop stalled: no refresh for %llu ms",
			(unsigned long long)age);
	return false;
}

/* ---- lbctl stats (control thread) ---- */

struct json_object *
lbd_stats_json(void)
{
	static struct lb_stats_worker w[LB_MAX_WORKERS];
	struct lb_stats_port ports[LB_MAX_PORTS];
	const struct lb_snap *s;
	struct lbd_fe_table *t;
	struct json_object *r;
	struct lb_stats_view v;

	memset(&v, 0, sizeof(v));
	sample_workers(w);
	sample_ports(ports);
	v.n_workers = g_lbd.n_workers;
	v.workers = w;
	v.ctl = g_lbd.cc;
	v.neigh = *lb_neigh_counters(g_lbd.neigh);
	v.n_ports = g_lbd.n_ports;
	v.ports = ports;
	/* per frontend and per target: the published snapshot's (the control
	 * thread may read it) */
	s = atomic_load(&g_lbd.snap);
	t = s != NULL ? fe_table_build(s, M.last) : NULL;
	if (t != NULL) {
		v.n_fes = t->n_fes;
		v.fes = t->fes;
	}
	lbd_counters_view(&v);
	r = lb_stats_json(&v);
	fe_table_put(t);
	return r;
}

/* ---- the HTTP endpoint (libmicrohttpd's thread) ---- */

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
	bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body,
		owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return respond(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), false);
}

static enum MHD_Result
serve_metrics(struct MHD_Connection *c, struct lbd_obs *o)
{
	struct lb_stats_view sv;
	struct lb_buf b;

	lbd_obs_view(o, &sv);
	lb_buf_init(&b);
	if (lb_prom_render(&sv, &b) != 0) {
		lb_buf_free(&b);
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return respond(c, MHD_HTTP_OK, LB_PROM_CONTENT_TYPE, b.p, b.len, true);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	static struct lbd_obs obs;	/* one polling thread: one request at a time */
	char why[512], body[600];
	enum MHD_Result rc;
	bool ok;

	(void)cls;
	(void)version;
	(void)upload;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (*upload_size != 0)
		return text(c, MHD_HTTP_BAD_REQUEST, "no request body expected\n");
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/healthz") != 0 &&
	    strcmp(url, "/readyz") != 0) {
		if (strcmp(url, "/") == 0)
			return text(c, MHD_HTTP_OK, "lbd: /metrics /healthz /readyz\n");
		return text(c, MHD_HTTP_NOT_FOUND, "not found (try /metrics, /healthz, /readyz)\n");
	}
	if (lbd_obs_read(&obs) != 0)
		return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping\n");
	if (strcmp(url, "/metrics") == 0) {
		rc = serve_metrics(c, &obs);
	} else if (strcmp(url, "/healthz") == 0) {
		ok = lbd_obs_alive(&obs, why, sizeof(why));
		snprintf(body, sizeof(body), "%s\n", ok ? "ok" : why);
		rc = text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
	} else {
		ok = lbd_obs_ready(&obs, why, sizeof(why));
		snprintf(body, sizeof(body), "%s%s\n", ok ? "ready" : "not ready: ", ok ? "" : why);
		rc = text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
	}
	lbd_obs_release(&obs);
	return rc;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	lbd_log(LBD_WARN, "metrics endpoint error=%s", LBD_Q(msg));
}

/* The listening socket, made here so that a failure names its cause. */
static int
listen_on(const struct lb_config *cfg, bool *v6, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->metrics_address, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(cfg->metrics_port);
		len = sizeof(struct sockaddr_in);
		*v6 = false;
	} else if (inet_pton(AF_INET6, cfg->metrics_address,
		   &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(cfg->metrics_port);
		len = sizeof(struct sockaddr_in6);
		*v6 = true;
	} else {
		snprintf(err, errlen, "%s:%d: metrics.address: bad address", cfg->path,
			cfg->line_metrics_address);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s:%d: metrics: cannot listen on %s%s%s:%u: %s", cfg->path,
			cfg->line_metrics_port, *v6 ? "[" : "", cfg->metrics_address, *v6 ? "]" : "",
			cfg->metrics_port, strerror(e));
		return -e;
	}
	return fd;
}

static int
httpd_start(char *err, size_t errlen)
{
	const struct lb_config *cfg = g_lbd.cfg;
	bool v6 = false;
	int fd = listen_on(cfg, &v6, err, errlen);

	if (fd < 0)
		return fd;
	/* One polling thread of libmicrohttpd's own: it inherits the control
	 * thread's CPU set and blocked signals, never a worker's lcore. */
	M.httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
		MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_request, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
		MHD_OPTION_END);
	if (M.httpd == NULL) {
		close(fd);
		snprintf(err, errlen, "%s:%d: metrics: cannot start the HTTP server", cfg->path,
			cfg->line_metrics_enabled);
		return -EINVAL;
	}
	lbd_log(LBD_INFO, "metrics endpoint listening address=%s port=%u paths=/metrics,/healthz,/readyz",
		cfg->metrics_address, cfg->metrics_port);
	return 0;
}

/* ---- init / term ---- */

int
lbd_metrics_init(char *err, size_t errlen)
{
	int rc;

	M.timer = lb_ev_timer_new(g_lbd.ev, refresh, NULL);
	if (M.timer == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&M.mu);
	M.v.live = true;
	pthread_mutex_unlock(&M.mu);
	refresh(NULL);
	rc = rte_pdump_init();
	if (rc != 0)
		lbd_log(LBD_WARN, "packet capture unavailable: rte_pdump_init failed error=%s",
			LBD_Q(rte_strerror(rte_errno)));
	M.pdump = rc == 0;
	if (lbd_telemetry_register() != 0)
		lbd_log(LBD_WARN, "telemetry commands not registered (is telemetry disabled?)");
	if (g_lbd.cfg->metrics_enabled && (rc = httpd_start(err, errlen)) != 0)
		return rc;
	return 0;
}

void
lbd_metrics_term(void)
{
	struct lbd_fe_table *t;

	if (M.httpd != NULL)
		MHD_stop_daemon(M.httpd);	/* closes the listening socket too */
	M.httpd = NULL;
	pthread_mutex_lock(&M.mu);
	M.v.live = false;
	t = M.v.fes;
	M.v.fes = NULL;
	pthread_mutex_unlock(&M.mu);
	fe_table_put(t);
	fe_table_put(M.pending);
	M.pending = NULL;
	fe_table_put(M.last);
	M.last = NULL;
	lb_ev_timer_free(M.timer);
	M.timer = NULL;
	if (M.pdump)
		rte_pdump_uninit();
	M.pdump = false;
}
