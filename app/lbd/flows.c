/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `lbctl flows`: a sample of the workers' flow tables, gathered without ever
 * blocking the control loop.
 *
 * Each worker has a mailbox. The control thread posts a request (how many
 * flows) by writing max and then the request's sequence number (release);
 * the worker, in its housekeeping, sees the new number (acquire), copies max
 * once, walks its table over as many passes as it takes (bounded work per
 * pass) and publishes the number as done (release) when its entries are
 * written. The control thread never touches a mailbox while a request is in
 * flight in it, and each buffer belongs to its mailbox for the life of the
 * process, so a late worker can never write into memory that was reused.
 *
 * The lbctl request is answered later (lib/ctl's deferred responses): the
 * control thread polls the mailboxes every tick (lbd_flows_poll) and
 * completes the request when every worker has answered. One request is in flight at a time; others
 * wait in a queue (at most one per lbctl client, since a client's requests
 * are run one after another).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lb_addr.h"
#include "lbd.h"

#define FLOWS_DEFAULT	20
/* Walk calls per housekeeping pass: each call scans a bounded number of
 * slots, so a sparse table is sampled over several passes rather than in one
 * long stall. */
#define SAMPLE_WALKS	32

struct pending {
	uint64_t ticket;
	uint32_t limit;
};

static struct {
	struct pending q[LB_CTL_MAX_CLIENTS];
	uint32_t head, n;
	bool in_flight;		/* q[head] is posted to the workers */
	uint32_t seq;		/* last request number posted */
} fl;

/* --- worker side --- */

struct sample_ctx {
	struct lbd_mailbox *mb;
	uint64_t now;
};

static void
sample_one(void *arg, const struct lb_flow *f)
{
	struct sample_ctx *c = arg;
	struct lbd_flow_sample *e = &c->mb->buf[c->mb->n++];

	e->key[0] = f->key[0];
	e->key[1] = f->key[1];
	e->cls = f->cls;
	e->expires_in_ms = (int64_t)(int32_t)(f->expire - (uint32_t)c->now);
}

void
lbd_flows_serve(struct lbd_worker *w, uint64_t now)
{
	struct lbd_mailbox *mb = &w->mb;
	uint32_t req = atomic_load_explicit(&mb->req, memory_order_acquire);
	struct sample_ctx c = { mb, now };
	int k;

	if (req == atomic_load_explicit(&mb->done, memory_order_relaxed))
		return;
	if (mb->serving != req) {
		/* a new request: its parameters are read once, here */
		mb->serving = req;
		mb->serving_max = LB_MIN(mb->max, (uint32_t)LBD_FLOWS_MAX);
		mb->n = 0;
		mb->cursor = 0;
	}
	for (k = 0; k < SAMPLE_WALKS && mb->n < mb->serving_max && mb->cursor != LB_FLOW_NIL; k++)
		lb_flow_walk(w->dp.flows, &mb->cursor, mb->serving_max - mb->n, sample_one, &c);
	if (mb->n >= mb->serving_max || mb->cursor == LB_FLOW_NIL)
		atomic_store_explicit(&mb->done, req, memory_order_release);
}

/* --- control side --- */

static const char *
class_str(uint8_t cls)
{
	static const char *const names[LB_FLOW_NCLASS] = {
		[LB_FLOW_SYN] = "syn", [LB_FLOW_EST] = "established", [LB_FLOW_FIN] = "closing",
		[LB_FLOW_UDP] = "udp", [LB_FLOW_OTHER] = "other",
	};
	return cls < LB_FLOW_NCLASS ? names[cls] : "?";
}

static struct json_object *
jep(uint32_t addr, uint16_t port)
{
	char buf[LB_EP_STRLEN];

	return json_object_new_string(lb_ep_fmt(addr, port, buf));
}

static void
add_sample(struct json_object *a, uint32_t worker, const struct lbd_flow_sample *e)
{
	const struct lb_flow_key *f = &e->key[LB_FLOW_FWD], *b = &e->key[LB_FLOW_REV];
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "worker", json_object_new_uint64(worker));
	json_object_object_add(o, "protocol", json_object_new_string(lb_proto_str(f->proto)));
	json_object_object_add(o, "client", jep(f->src, f->sport));
	json_object_object_add(o, "vip", jep(f->dst, f->dport));
	json_object_object_add(o, "target", jep(b->src, b->sport));
	if (b->dst == f->src && b->dport == f->sport)
		json_object_object_add(o, "snat", NULL);
	else
		json_object_object_add(o, "snat", jep(b->dst, b->dport));
	json_object_object_add(o, "state", json_object_new_string(class_str(e->cls)));
	json_object_object_add(o, "expires_in_ms", json_object_new_int64(e->expires_in_ms));
	json_object_array_add(a, o);
}

/* The response: live counts now, and up to limit sampled flows (none when
 * sampled is false). */
static struct json_object *
result(uint32_t limit, bool sampled)
{
	struct json_object *r = json_object_new_object(), *pw = json_object_new_array();
	struct json_object *sample = json_object_new_array();
	uint64_t count = 0;
	uint32_t i, k;

	for (i = 0; i < g_lbd.n_workers; i++) {
		count += g_lbd.workers[i].flows_live;
		json_object_array_add(pw, json_object_new_uint64(g_lbd.workers[i].flows_live));
	}
	for (i = 0; sampled && i < g_lbd.n_workers && limit > 0; i++) {
		const struct lbd_mailbox *mb = &g_lbd.workers[i].mb;

		for (k = 0; k < mb->n && limit > 0; k++, limit--)
			add_sample(sample, i, &mb->buf[k]);
	}
	json_object_object_add(r, "count", json_object_new_uint64(count));
	json_object_object_add(r, "per_worker", pw);
	json_object_object_add(r, "sample", sample);
	return r;
}

static int
post(uint32_t limit)
{
	uint32_t i;

	for (i = 0; i < g_lbd.n_workers; i++) {
		struct lbd_mailbox *mb = &g_lbd.workers[i].mb;

		if (mb->buf == NULL) {
			/* the worker sees it with the request (release below) */
			mb->buf = calloc(LBD_FLOWS_MAX, sizeof(*mb->buf));
			if (mb->buf == NULL)
				return -ENOMEM;
		}
	}
	fl.seq++;
	for (i = 0; i < g_lbd.n_workers; i++) {
		struct lbd_mailbox *mb = &g_lbd.workers[i].mb;

		mb->max = limit;
		atomic_store_explicit(&mb->req, fl.seq, memory_order_release);
	}
	return 0;
}

static bool
all_done(void)
{
	uint32_t i;

	for (i = 0; i < g_lbd.n_workers; i++)
		if (atomic_load_explicit(&g_lbd.workers[i].mb.done, memory_order_acquire) != fl.seq)
			return false;
	return true;
}

void
lbd_flows_poll(void)
{
	struct pending *p;

	while (fl.n > 0) {
		p = &fl.q[fl.head];
		if (!fl.in_flight) {
			if (p->limit > 0 && post(p->limit) == 0) {
				fl.in_flight = true;
				return;
			}
			/* nothing to sample, or no memory to sample into: counts only */
			if (p->limit > 0)
				lbd_ctl_complete(p->ticket, NULL,
					"out of memory for a flow sample");
			else
				lbd_ctl_complete(p->ticket, result(0, false), NULL);
		} else {
			if (!all_done())
				return;
			fl.in_flight = false;
			/* -ENOENT: the client left; nothing else to do */
			lbd_ctl_complete(p->ticket, result(p->limit, true), NULL);
		}
		fl.head = (fl.head + 1) % LB_CTL_MAX_CLIENTS;
		fl.n--;
	}
}

struct json_object *
lbd_flows_request(struct json_object *req, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t limit = FLOWS_DEFAULT;
	uint64_t ticket;

	if (json_object_object_get_ex(req, "limit", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > LBD_FLOWS_MAX) {
			snprintf(err, errlen, "bad request: flows: 'limit' must be an integer 0..%d",
				LBD_FLOWS_MAX);
			return NULL;
		}
		limit = json_object_get_int64(v);
	}
	if (fl.n == LB_CTL_MAX_CLIENTS) {
		snprintf(err, errlen, "too many flow samples in progress; try again");
		return NULL;
	}
	ticket = lb_ctl_server_defer(g_lbd.ctl);
	fl.q[(fl.head + fl.n) % LB_CTL_MAX_CLIENTS] = (struct pending){ ticket, (uint32_t)limit };
	fl.n++;
	/* answered by lbd_flows_poll once the workers have (the return value
	 * of a deferred request is not used) */
	return NULL;
}

void
lbd_flows_term(void)
{
	uint32_t i;

	/* the workers have stopped */
	for (i = 0; g_lbd.workers != NULL && i < g_lbd.n_workers; i++) {
		free(g_lbd.workers[i].mb.buf);
		g_lbd.workers[i].mb.buf = NULL;
	}
	fl.n = 0;
	fl.in_flight = false;
}
