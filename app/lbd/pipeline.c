/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The snapshot pipeline: every change to what the workers serve (a reload, a
 * drain, a Kubernetes change, health) goes through here, in order.
 *
 *   sources (config, Kubernetes) + overlay ──submit──► builder thread
 *        ▲                                                  │ lb_snap_build
 *        └── rollback on failure ◄── control thread ◄───────┘ publish (RCU swap)
 *
 * The control thread keeps the *current* state (what it was last told) and
 * the *committed* state (what the published snapshot was built from). A
 * change updates the current state at once and marks the pipeline dirty; at
 * most one build is in flight, so a burst of changes coalesces into one
 * snapshot. A build sees immutable inputs only: a reference to the config,
 * a merged model holding references to immutable frontends, a private copy
 * of the overlay, and the published snapshot whose tables it may reuse (the
 * published snapshot is only ever replaced by a build result, so it outlives
 * the build).
 *
 * Operations that report to lbctl (drain, reload) are answered when the
 * snapshot that contains them is published, or with an error when its build
 * fails; a failed build restores the committed state, so an operation either
 * publishes completely or changes nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "lb_ev.h"
#include "lbd.h"

struct lbd_op {
	enum lbd_op_kind kind;
	uint64_t token;			/* lbctl request to answer; 0: none */
	struct json_object *result;	/* sent on success, with "generation" added */
	struct lbd_op *next;
};

struct rejection {
	char *msg;
	const struct lb_model_fe *fe;	/* a reference */
	bool has_target;
	struct lb_model_target target;	/* a copy (its node name lives in fe) */
};

struct lbd_build {
	/* in: owned by the request */
	struct lbd_cfg *cfg;		/* a reference */
	struct lb_model *model;		/* merged */
	struct lb_overlay *ov;		/* copy of the current overlay */
	const struct lb_snap *prev;
	struct lb_snap_env env;
	struct lbd_op *ops;
	uint64_t *arrivals;		/* Kubernetes event arrival times (ns) */
	uint32_t n_arrivals;
	uint64_t submit_ns;
	uint64_t run_start_ns;		/* when the builder took it */
	uint64_t run_wall_ns;		/* the builder's wall and CPU time on it */
	uint64_t run_cpu_ns;
	uint64_t k8s_version;		/* of the Kubernetes model merged in */
	bool reload;			/* carries a reload: neighbours to apply */
	bool failpoint;			/* fail this build (LBD_FAILPOINTS) */
	/* out: written by the builder */
	struct lb_snap *snap;
	struct lb_snap_build_stats st;
	char err[512];
	uint32_t n_rej, cap_rej;
	struct rejection *rej;
};

static struct {
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lbd_build *todo;		/* mu: control -> builder */
	struct lbd_build *done;		/* mu: builder -> control */
	bool stop;			/* mu */
	int efd;			/* builder -> control wake-up */

	/* control thread only */
	struct lbd_build *inflight;
	bool dirty;
	struct lbd_op *ops, **ops_tail;
	struct lbd_cfg *committed_cfg;
	struct lb_overlay *committed_ov;
	uint64_t *arrivals;
	uint32_t n_arrivals, cap_arrivals;
	struct lb_ev_timer *retry;	/* after a failed build with source changes */
	struct lbd_pipeline_stats st;
	char last_rej_digest[64];
} P = { .efd = -1 };

/*
 * Failpoints for the tests of all-or-nothing operations (a build cannot be
 * made to fail otherwise: it fails only when memory runs out).
 * LBD_FAILPOINTS="snapshot_build=N,neighbours=N" makes the next N builds
 * after the first snapshot, or the next N neighbour updates of a reload,
 * fail as if out of memory. Read once at start; documented in
 * tests/pkt/README.md, not for production use.
 */
static struct {
	int build;
	int neighbours;
} failpoints;

static void
read_failpoints(void)
{
	const char *e = getenv("LBD_FAILPOINTS");
	const char *p;

	if (e == NULL)
		return;
	if ((p = strstr(e, "snapshot_build=")) != NULL)
		failpoints.build = atoi(p + strlen("snapshot_build="));
	if ((p = strstr(e, "neighbours=")) != NULL)
		failpoints.neighbours = atoi(p + strlen("neighbours="));
	lbd_log(LBD_WARN, "failpoints armed (tests only) snapshot_build=%d neighbours=%d",
		failpoints.build, failpoints.neighbours);
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* --- configs shared with builds --- */

struct lbd_cfg *
lbd_cfg_new(struct lb_config *c, char *err, size_t errlen)
{
	struct lbd_cfg *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->model = lb_config_model(c, err, errlen);
	if (k->model == NULL) {
		free(k);
		return NULL;
	}
	k->c = c;
	k->refs = 1;
	return k;
}

struct lbd_cfg *
lbd_cfg_get(struct lbd_cfg *k)
{
	k->refs++;
	return k;
}

void
lbd_cfg_put(struct lbd_cfg *k)
{
	if (k == NULL || --k->refs > 0)
		return;
	lb_model_free(k->model);
	lb_config_free(k->c);
	free(k);
}

/* --- the builder thread --- */

static void
collect_reject(void *ctx, const struct lb_model_fe *fe, const struct lb_model_target *t,
	const char *msg)
{
	struct lbd_build *b = ctx;
	struct rejection *r;

	if (b->n_rej == b->cap_rej) {
		uint32_t cap = b->cap_rej ? b->cap_rej * 2 : 8;

		r = realloc(b->rej, sizeof(*r) * cap);
		if (r == NULL)
			return;	/* the message is lost, not the build */
		b->rej = r;
		b->cap_rej = cap;
	}
	r = &b->rej[b->n_rej];
	r->msg = strdup(msg);
	if (r->msg == NULL)
		return;
	r->fe = lb_model_fe_get((struct lb_model_fe *)fe);
	r->has_target = t != NULL;
	if (t != NULL)
		r->target = *t;
	b->n_rej++;
}

static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
run_build(struct lbd_build *b)
{
	uint64_t w0 = mono_ns(), c0 = thread_cpu_ns();

	b->run_start_ns = w0;
	if (b->failpoint) {
		snprintf(b->err, sizeof(b->err), "out of memory (failpoint snapshot_build)");
		return;
	}
	struct lb_snap_input in = {
		.settings = b->cfg->c,
		.env = &b->env,
		.model = b->model,
		.overlay = b->ov,
		.prev = b->prev,
	};

	b->snap = lb_snap_build(&in, collect_reject, b, &b->st, b->err, sizeof(b->err));
	b->run_wall_ns = mono_ns() - w0;
	b->run_cpu_ns = thread_cpu_ns() - c0;
}

static void *
builder_main(void *arg)
{
	(void)arg;
	/* The builder shares the control lcore's CPU (threads inherit its
	 * affinity). Building a thousand tables takes seconds; at a lower
	 * priority it hardly delays the control loop, which sleeps most of the
	 * time and leaves it the CPU (nice 10: about a tenth of the CPU while
	 * the loop is busy, all of it otherwise). */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
		lbd_log(LBD_WARN, "snapshot builder cannot lower its priority error=%s",
			LBD_Q(strerror(errno)));
	pthread_mutex_lock(&P.mu);
	for (;;) {
		struct lbd_build *b;
		uint64_t one = 1;

		while (P.todo == NULL && !P.stop)
			pthread_cond_wait(&P.cv, &P.mu);
		if (P.stop)
			break;
		b = P.todo;
		P.todo = NULL;
		pthread_mutex_unlock(&P.mu);
		run_build(b);
		pthread_mutex_lock(&P.mu);
		P.done = b;
		if (write(P.efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; nothing to do */
		}
	}
	pthread_mutex_unlock(&P.mu);
	return NULL;
}

static void
build_free(struct lbd_build *b)
{
	uint32_t i;

	if (b == NULL)
		return;
	lbd_cfg_put(b->cfg);
	lb_model_free(b->model);
	lb_overlay_free(b->ov);
	lb_snap_free(b->snap);
	for (i = 0; i < b->n_rej; i++) {
		free(b->rej[i].msg);
		lb_model_fe_put((struct lb_model_fe *)b->rej[i].fe);
	}
	free(b->rej);
	free(b->arrivals);
	free(b);
}

/* --- operations --- */

static void
op_finish(struct lbd_op *op, bool ok, uint64_t generation, const char *err)
{
	if (op->token != 0) {
		if (ok) {
			json_object_object_add(op->result, "generation",
				json_object_new_uint64(generation));
			lbd_ctl_complete(op->token, op->result, NULL);
		} else {
			json_object_put(op->result);
			lbd_ctl_complete(op->token, NULL, err);
		}
	} else {
		json_object_put(op->result);
	}
	if (op->kind == LBD_OP_RELOAD)
		lbd_reload_done(ok, err);
	free(op);
}

static void
ops_finish(struct lbd_op *ops, bool ok, uint64_t generation, const char *err)
{
	while (ops != NULL) {
		struct lbd_op *next = ops->next;

		op_finish(ops, ok, generation, err);
		ops = next;
	}
}

int
lbd_pipeline_op(enum lbd_op_kind kind, uint64_t token, struct json_object *result)
{
	struct lbd_op *op = calloc(1, sizeof(*op));

	if (op == NULL) {
		json_object_put(result);
		return -ENOMEM;
	}
	op->kind = kind;
	op->token = token;
	op->result = result;
	*P.ops_tail = op;
	P.ops_tail = &op->next;
	lbd_pipeline_changed(NULL, 0);
	return 0;
}

/* --- submit and complete --- */

static void
merge_conflict(void *ctx, const struct lb_model_fe *kept, const struct lb_model_fe *dropped,
	const char *msg)
{
	(void)ctx;
	P.st.conflicts++;
	lbd_k8s_conflict(kept, dropped, msg);
}

static void
fill_env(struct lb_snap_env *env)
{
	uint32_t i;

	memset(env, 0, sizeof(*env));
	env->n_workers = g_lbd.n_workers;
	/* the owner rule the ports were programmed with (lib/owner) */
	env->reta_size = g_lbd.owner.reta_size;
	for (i = 0; i < g_lbd.n_ports; i++) {
		env->dev[i] = g_lbd.ports[i].dev;
		memcpy(env->mac[i], g_lbd.ports[i].info.mac.addr_bytes, LB_ETHER_ADDR_LEN);
		env->rss_owner[i] = g_lbd.ports[i].info.rss_owner;
		env->mtu[i] = g_lbd.ports[i].info.mtu;
	}
}

/* A build of the current state, or NULL (ENOMEM). */
static struct lbd_build *
prepare(void)
{
	uint64_t k8s_version = 0;
	const struct lb_model *src[2] = { g_lbd.cur->model, lbd_k8s_model(&k8s_version) };
	struct lbd_build *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->k8s_version = k8s_version;
	b->cfg = lbd_cfg_get(g_lbd.cur);
	b->model = lb_model_merge(src, src[1] != NULL ? 2 : 1, merge_conflict, NULL);
	b->ov = lb_overlay_clone(g_lbd.overlay);
	if (b->model == NULL || b->ov == NULL) {
		build_free(b);
		return NULL;
	}
	b->prev = atomic_load(&g_lbd.snap);
	fill_env(&b->env);
	b->ops = P.ops;
	P.ops = NULL;
	P.ops_tail = &P.ops;
	b->arrivals = P.arrivals;
	b->n_arrivals = P.n_arrivals;
	P.arrivals = NULL;
	P.n_arrivals = P.cap_arrivals = 0;
	for (struct lbd_op *op = b->ops; op != NULL; op = op->next)
		b->reload |= op->kind == LBD_OP_RELOAD;
	b->submit_ns = mono_ns();
	P.dirty = false;
	return b;
}

static void rollback(const char *why);

static void
submit(void)
{
	struct lbd_build *b;

	if (P.inflight != NULL || !P.dirty || !P.thread_started)
		return;
	b = prepare();
	if (b == NULL) {
		rollback("out of memory preparing a snapshot");
		return;
	}
	if (failpoints.build > 0) {
		failpoints.build--;
		b->failpoint = true;
	}
	P.inflight = b;
	P.st.submitted++;
	pthread_mutex_lock(&P.mu);
	P.todo = b;
	pthread_cond_signal(&P.cv);
	pthread_mutex_unlock(&P.mu);
}

void
lbd_pipeline_changed(const uint64_t *arrival_ns, uint32_t n)
{
	if (n > 0 && P.n_arrivals + n <= 1u << 20) {
		if (P.n_arrivals + n > P.cap_arrivals) {
			uint32_t cap = P.cap_arrivals ? P.cap_arrivals : 64;
			uint64_t *a;

			while (cap < P.n_arrivals + n)
				cap *= 2;
			a = realloc(P.arrivals, sizeof(*a) * cap);
			if (a != NULL) {
				P.arrivals = a;
				P.cap_arrivals = cap;
			}
		}
		if (P.n_arrivals + n <= P.cap_arrivals) {
			memcpy(P.arrivals + P.n_arrivals, arrival_ns, sizeof(*arrival_ns) * n);
			P.n_arrivals += n;
		}
	}
	P.dirty = true;
	submit();
}

/* Back to what the published snapshot was built from; every operation not
 * yet published fails. */
static void
rollback(const char *why)
{
	struct lb_overlay *ov = lb_overlay_clone(P.committed_ov);

	P.st.failed++;
	lbd_log(LBD_ERR, "snapshot not published, keeping the current one error=%s generation=%lu",
		LBD_Q(why), (unsigned long)g_lbd.generation);
	if (g_lbd.cur != P.committed_cfg) {
		lbd_cfg_put(g_lbd.cur);
		g_lbd.cur = lbd_cfg_get(P.committed_cfg);
		g_lbd.cfg = g_lbd.cur->c;
	}
	if (ov != NULL) {
		lb_overlay_free(g_lbd.overlay);
		g_lbd.overlay = ov;
	}
	ops_finish(P.ops, false, 0, why);
	P.ops = NULL;
	P.ops_tail = &P.ops;
	/* Kubernetes changes are not operations: try them again later. */
	P.dirty = false;
	if (lbd_k8s_model(NULL) != NULL && P.retry != NULL)
		lb_ev_timer_arm(P.retry, 1000);
}

static void
retry_timer(void *ctx)
{
	(void)ctx;
	lbd_pipeline_changed(NULL, 0);
}

/* VIPs of s, sorted (for the announcement diff). */
static uint32_t *
vips_of(const struct lb_snap *s, uint32_t *n)
{
	uint32_t *v = malloc(sizeof(*v) * (s && s->n_fes ? s->n_fes : 1)), i;

	*n = 0;
	if (v == NULL || s == NULL)
		return v;
	for (i = 0; i < s->n_fes; i++)
		v[(*n)++] = s->fes[i].vip;
	return v;
}

static int
u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Gratuitous ARP for every VIP of s that old did not have. */
static void
announce_new_vips(const struct lb_snap *old, const struct lb_snap *s)
{
	uint32_t no, nn, i, j = 0;
	uint32_t *o = vips_of(old, &no), *n = vips_of(s, &nn);

	if (o == NULL || n == NULL)
		goto out;
	qsort(o, no, sizeof(*o), u32cmp);
	qsort(n, nn, sizeof(*n), u32cmp);
	for (i = 0; i < nn; i++) {
		if (i > 0 && n[i] == n[i - 1])
			continue;
		while (j < no && o[j] < n[i])
			j++;
		if (j < no && o[j] == n[i])
			continue;
		lbd_send_garp(s->ext_port, n[i]);
	}
out:
	free(o);
	free(n);
}

/* Logs rejections when the set changed since the last build, and tells the
 * Kubernetes side (which turns them into Events, rate-limited). */
static void
report_rejections(const struct lbd_build *b)
{
	char digest[64];
	uint64_t h = 1469598103934665603ULL;
	uint32_t i;

	for (i = 0; i < b->n_rej; i++) {
		for (const char *p = b->rej[i].msg; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ULL;
		lbd_k8s_rejected(b->rej[i].fe, b->rej[i].has_target ? &b->rej[i].target : NULL,
			b->rej[i].msg);
	}
	snprintf(digest, sizeof(digest), "%u/%016llx", b->n_rej, (unsigned long long)h);
	if (strcmp(digest, P.last_rej_digest) == 0)
		return;
	snprintf(P.last_rej_digest, sizeof(P.last_rej_digest), "%s", digest);
	for (i = 0; i < b->n_rej; i++)
		lbd_log(LBD_WARN, "frontend not served reason=%s origin=%s", LBD_Q(b->rej[i].msg),
			LBD_Q(b->rej[i].fe->origin));
}

static void
publish(struct lbd_build *b)
{
	struct lb_snap *old, *s = b->snap;
	uint64_t now = mono_ns(), first = UINT64_MAX;
	uint32_t i;

	b->snap = NULL;
	s->generation = ++g_lbd.generation;
	lbd_counters_assign(s, s->generation);
	old = atomic_exchange_explicit(&g_lbd.snap, s, memory_order_acq_rel);
	lbd_counters_retire(old, s->generation, rte_rcu_qsbr_start(g_lbd.qsv));
	lbd_defer_free_snap(old);
	P.st.published++;
	P.st.last_build_ns = now - b->submit_ns;
	P.st.last_table_ns = b->st.table_ns;
	P.st.last_tables_built = b->st.tables_built;
	P.st.last_tables_reused = b->st.tables_reused;
	P.st.tables_built += b->st.tables_built;
	P.st.build_wall_ns += b->run_wall_ns;
	P.st.build_cpu_ns += b->run_cpu_ns;
	if (P.st.last_build_ns > P.st.max_build_ns)
		P.st.max_build_ns = P.st.last_build_ns;
	for (i = 0; i < b->n_arrivals; i++) {
		lbd_convergence_add(now > b->arrivals[i] ? now - b->arrivals[i] : 0);
		if (b->arrivals[i] < first)
			first = b->arrivals[i];
	}
	/* where the oldest watch event it carries waited: before the build
	 * was submitted (a build in flight, the controller), before the
	 * builder took it, in the build, and before the control loop
	 * published it */
	lbd_log(LBD_INFO, "snapshot published generation=%lu frontends=%u tables_built=%u "
		"table_ms=%.3f tables_reused=%u build_ms=%.3f builder_cpu_ms=%.3f events=%u "
		"oldest_event_ms=%.3f queued_ms=%.3f to_builder_ms=%.3f built_to_publish_ms=%.3f",
		(unsigned long)s->generation, s->n_fes, b->st.tables_built, b->st.table_ns / 1e6,
		b->st.tables_reused, P.st.last_build_ns / 1e6, b->run_cpu_ns / 1e6, b->n_arrivals,
		b->n_arrivals ? (now - first) / 1e6 : 0.0,
		b->n_arrivals && b->submit_ns > first ? (b->submit_ns - first) / 1e6 : 0.0,
		(b->run_start_ns - b->submit_ns) / 1e6,
		(now - b->run_start_ns - b->run_wall_ns) / 1e6);
	announce_new_vips(old, s);
	report_rejections(b);

	/* the committed state is what this build was made of */
	if (P.committed_cfg != b->cfg) {
		lbd_cfg_put(P.committed_cfg);
		P.committed_cfg = lbd_cfg_get(b->cfg);
	}
	lb_overlay_free(P.committed_ov);
	P.committed_ov = b->ov;
	b->ov = NULL;
	ops_finish(b->ops, true, s->generation, NULL);
	b->ops = NULL;
	lbd_k8s_published(s, b->k8s_version);
	lbd_health_published(s);
}

static void
complete(struct lbd_build *b)
{
	char err[600];

	P.inflight = NULL;
	if (b->snap == NULL) {
		snprintf(err, sizeof(err), "snapshot build failed: %s", b->err);
		ops_finish(b->ops, false, 0, err);
		b->ops = NULL;
		rollback(err);
	} else if (b->reload && failpoints.neighbours > 0) {
		failpoints.neighbours--;
		snprintf(err, sizeof(err), "%s: cannot apply the static neighbours (out of memory; "
			"failpoint neighbours)", b->cfg->c->path);
		ops_finish(b->ops, false, 0, err);
		b->ops = NULL;
		rollback(err);
	} else if (b->reload && lbd_apply_neighbours(b->cfg->c, err, sizeof(err)) != 0) {
		/* the new config's neighbours cannot be set: nothing of it goes live */
		ops_finish(b->ops, false, 0, err);
		b->ops = NULL;
		rollback(err);
	} else {
		publish(b);
	}
	build_free(b);
	submit();
}

static void
on_builder(void *ctx, int fd, uint32_t events)
{
	struct lbd_build *b;
	uint64_t v;

	(void)ctx;
	(void)events;
	while (read(fd, &v, sizeof(v)) > 0)
		;
	pthread_mutex_lock(&P.mu);
	b = P.done;
	P.done = NULL;
	pthread_mutex_unlock(&P.mu);
	if (b != NULL)
		complete(b);
}

/* --- init / term --- */

int
lbd_pipeline_init(struct lb_ev *ev, char *err, size_t errlen)
{
	struct lbd_build *b;

	P.ops_tail = &P.ops;
	read_failpoints();
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.cv, NULL);
	P.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	P.retry = lb_ev_timer_new(ev, retry_timer, NULL);
	if (P.efd < 0 || P.retry == NULL || lb_ev_fd_add(ev, P.efd, LB_EV_IN, on_builder, NULL) != 0) {
		snprintf(err, errlen, "cannot set up the snapshot pipeline: %s", strerror(errno));
		return -ENOMEM;
	}
	/* The first snapshot is built here, before any worker runs, and must
	 * serve every static frontend. */
	P.dirty = true;
	b = prepare();
	if (b == NULL) {
		snprintf(err, errlen, "out of memory building the first snapshot");
		return -ENOMEM;
	}
	run_build(b);
	if (b->snap == NULL || b->n_rej > 0) {
		snprintf(err, errlen, "%s", b->snap == NULL ? b->err : b->rej[0].msg);
		build_free(b);
		return -EINVAL;
	}
	P.committed_cfg = lbd_cfg_get(b->cfg);
	P.committed_ov = lb_overlay_clone(b->ov);
	if (P.committed_ov == NULL) {
		build_free(b);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	publish(b);
	build_free(b);
	if (pthread_create(&P.thread, NULL, builder_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the snapshot builder thread");
		return -EAGAIN;
	}
	pthread_setname_np(P.thread, "lbd-build");
	P.thread_started = true;
	return 0;
}

void
lbd_pipeline_term(struct lb_ev *ev)
{
	if (P.thread_started) {
		pthread_mutex_lock(&P.mu);
		P.stop = true;
		pthread_cond_signal(&P.cv);
		pthread_mutex_unlock(&P.mu);
		pthread_join(P.thread, NULL);
		P.thread_started = false;
	}
	/* a build handed over but not taken, or finished but not collected */
	if (P.todo != NULL && P.todo == P.inflight)
		P.todo = NULL;
	if (P.done != NULL && P.done == P.inflight)
		P.done = NULL;
	if (P.inflight != NULL) {
		ops_finish(P.inflight->ops, false, 0, "lbd is stopping");
		P.inflight->ops = NULL;
		build_free(P.inflight);
		P.inflight = NULL;
	}
	ops_finish(P.ops, false, 0, "lbd is stopping");
	P.ops = NULL;
	if (P.efd >= 0) {
		if (ev != NULL)
			lb_ev_fd_del(ev, P.efd);
		close(P.efd);
		P.efd = -1;
	}
	lb_ev_timer_free(P.retry);
	P.retry = NULL;
	lbd_cfg_put(P.committed_cfg);
	P.committed_cfg = NULL;
	lb_overlay_free(P.committed_ov);
	P.committed_ov = NULL;
	free(P.arrivals);
	P.arrivals = NULL;
}

bool
lbd_pipeline_busy(void)
{
	return P.inflight != NULL || P.dirty;
}

void
lbd_pipeline_stats(struct lbd_pipeline_stats *st)
{
	*st = P.st;
	st->inflight = P.inflight != NULL;
	st->dirty = P.dirty;
}
