/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic requests: a FIFO queue, at most max_requests running, bodies parsed
 * incrementally like everything else, one transparent retry after a 401 when
 * the token file holds a new token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_kapi_priv.h"

struct kreq {
	struct lb_kapi *k;
	struct kreq *next;
	struct kreq *prev;
	int64_t id;
	bool running;
	char *method;
	char *path;
	char *query;
	char *ctype;
	char *body;
	size_t body_len;
	uint32_t timeout_ms;
	lb_kapi_done_fn fn;
	void *ctx;
	struct xfer *x;
	struct lb_kapi_ndjson nd;
	bool ct_checked;
	bool is_json;
	bool json_bad;
	struct json_object *json;
	char *raw;			/* LB_KAPI_RAW_MAX + 1 bytes */
	size_t raw_len;
	bool retried;
};

static void
kreq_free(struct kreq *q)
{
	lb_kapi_xfer_release(q->x);
	lb_kapi_ndjson_fini(&q->nd);
	json_object_put(q->json);
	free(q->method);
	free(q->path);
	free(q->query);
	free(q->ctype);
	free(q->body);
	free(q->raw);
	free(q);
}

static void
unlink_req(struct lb_kapi *k, struct kreq *q)
{
	struct kreq **head = q->running ? &k->running : &k->q_head;

	if (q->prev)
		q->prev->next = q->next;
	else
		*head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else if (!q->running)
		k->q_tail = q->prev;
	if (q->running)
		k->n_running--;
	else
		k->n_queued--;
	q->next = q->prev = NULL;
}

static bool
header_safe(const char *s)
{
	return s == NULL || strpbrk(s, " \t\r\n#") == NULL;
}

int64_t
lb_kapi_request(struct lb_kapi *k, const struct lb_kapi_request *rq,
		lb_kapi_done_fn fn, void *ctx)
{
	struct kreq *q;
	size_t i;

	if (k == NULL || rq == NULL || fn == NULL || rq->method == NULL || rq->path == NULL ||
	    rq->method[0] == '\0' || rq->path[0] != '/' || !header_safe(rq->path) ||
	    !header_safe(rq->query) || (rq->content_type != NULL &&
	    strpbrk(rq->content_type, "\r\n") != NULL) || (rq->body != NULL && rq->content_type == NULL))
		return -EINVAL;
	for (i = 0; rq->method[i] != '\0'; i++)
		if (rq->method[i] < 'A' || rq->method[i] > 'Z')
			return -EINVAL;
	if (k->shut)
		return -ESHUTDOWN;
	if (k->n_queued >= k->p.max_queued) {
		k->st.requests_rejected++;
		return -ENOBUFS;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->k = k;
	q->fn = fn;
	q->ctx = ctx;
	q->timeout_ms = rq->timeout_ms ? rq->timeout_ms : k->p.request_timeout_ms;
	q->method = strdup(rq->method);
	q->path = strdup(rq->path);
	q->query = rq->query ? strdup(rq->query) : NULL;
	q->ctype = rq->content_type ? strdup(rq->content_type) : NULL;
	q->body_len = rq->body ? rq->body_len : 0;
	q->body = rq->body ? malloc(q->body_len + 1) : NULL;
	q->raw = malloc(LB_KAPI_RAW_MAX + 1);
	if (q->method == NULL || q->path == NULL || (rq->query && q->query == NULL) ||
	    (rq->content_type && q->ctype == NULL) || (rq->body && q->body == NULL) ||
	    q->raw == NULL || lb_kapi_ndjson_init(&q->nd, LIST_PAGE_MAX) < 0) {
		kreq_free(q);
		return -ENOMEM;
	}
	if (q->body != NULL) {
		memcpy(q->body, rq->body, q->body_len);
		q->body[q->body_len] = '\0';
	}
	q->id = k->next_id++;
	q->prev = k->q_tail;
	if (k->q_tail)
		k->q_tail->next = q;
	else
		k->q_head = q;
	k->q_tail = q;
	k->n_queued++;
	if (!lb_ev_timer_armed(k->kick_timer))
		lb_ev_timer_arm(k->kick_timer, 0);
	return q->id;
}

static void complete(struct kreq *q, int err, const char *errmsg);

static bool
start(struct kreq *q)
{
	struct lb_kapi *k = q->k;
	char err[LB_KAPI_ERR_MAX];

	q->ct_checked = q->is_json = q->json_bad = false;
	q->raw_len = 0;
	json_object_put(q->json);
	q->json = NULL;
	lb_kapi_ndjson_reset(&q->nd);
	q->x = lb_kapi_xfer_start(k, XFER_REQ, q, q->method, q->path, q->query, q->ctype,
			q->body, q->body_len, q->timeout_ms, 0, err, sizeof(err));
	if (q->x == NULL) {
		complete(q, strstr(err, "memory") ? -ENOMEM : -EIO, err);
		return false;
	}
	return true;
}

void
lb_kapi_req_kick(void *ctx)
{
	struct lb_kapi *k = ctx;

	while (!k->shut && k->n_running < k->p.max_requests && k->q_head != NULL) {
		struct kreq *q = k->q_head;

		unlink_req(k, q);
		q->running = true;
		q->next = k->running;
		if (k->running)
			k->running->prev = q;
		k->running = q;
		k->n_running++;
		start(q);
	}
}

/* Ends q: runs its callback with what it got (or err) and frees it. */
static void
complete(struct kreq *q, int err, const char *errmsg)
{
	struct lb_kapi *k = q->k;
	struct lb_kapi_response resp = { .err = err, .retry_after_s = -1 };
	char msg[LB_KAPI_ERR_MAX + 32], body_msg[LB_KAPI_ERR_MAX];

	q->raw[q->raw_len] = '\0';
	resp.raw = q->raw;
	resp.raw_len = q->raw_len;
	if (q->x != NULL) {
		resp.status = lb_kapi_xfer_status(q->x);
		resp.retry_after_s = q->x->retry_after;
	}
	if (err == 0 && q->json != NULL && !q->json_bad)
		resp.body = q->json;
	if (err != 0) {
		snprintf(msg, sizeof(msg), "%s", errmsg);
	} else if (resp.status >= 200 && resp.status < 300) {
		msg[0] = '\0';
	} else {
		lb_kapi_body_message(q->raw, q->raw_len, body_msg, sizeof(body_msg));
		snprintf(msg, sizeof(msg), "HTTP %ld%s%s", resp.status, body_msg[0] ? ": " : "",
			body_msg);
	}
	resp.error = msg;
	if (err != 0)
		k->st.requests_failed++;
	else if (resp.status >= 200 && resp.status < 300)
		k->st.requests_2xx++;
	else
		k->st.requests_http_error++;
	k->st.requests++;
	if (err != 0 || (resp.status != 0 && (resp.status < 200 || resp.status >= 300)))
		lb_kapi_log(k, LB_KAPI_LOG_DEBUG, "kubernetes: %s %s: %s", q->method, q->path, msg);
	unlink_req(k, q);
	lb_kapi_xfer_release(q->x);
	q->x = NULL;
	q->fn(q->ctx, &resp);
	kreq_free(q);
	if (k->q_head != NULL && !lb_ev_timer_armed(k->kick_timer))
		lb_ev_timer_arm(k->kick_timer, 0);
}

static void
finish(struct kreq *q)
{
	struct lb_kapi *k = q->k;
	struct xfer *x = q->x;
	long status = lb_kapi_xfer_status(x);
	char msg[LB_KAPI_ERR_MAX];
	int err = lb_kapi_xfer_error(x, msg, sizeof(msg));

	if (err == 0 && status == 401 && k->tok_file && !q->retried &&
	    lb_kapi_token_reload(k, true) == 1) {
		q->retried = true;
		k->st.auth_retries++;
		lb_kapi_xfer_release(q->x);
		q->x = NULL;
		start(q);
		return;
	}
	if (err == 0 && q->is_json && q->json == NULL)
		q->json_bad = true;	/* truncated or empty */
	complete(q, err, msg);
}

/* Takes one chunk of what x received. */
static void
take_chunk(struct kreq *q, struct xfer *x)
{
	size_t n = LB_MIN(x->in_len - x->in_off, (size_t)PARSE_CHUNK), off = 0, keep;
	const char *p = x->in + x->in_off;

	if (!q->ct_checked) {
		char *ct = NULL;

		curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct);
		q->is_json = ct != NULL && strstr(ct, "json") != NULL;
		q->ct_checked = true;
	}
	keep = LB_MIN(n, (size_t)LB_KAPI_RAW_MAX - q->raw_len);
	memcpy(q->raw + q->raw_len, p, keep);
	q->raw_len += keep;
	while (q->is_json && !q->json_bad && q->json == NULL && off < n) {
		struct json_object *o;
		ssize_t used = lb_kapi_ndjson_feed(&q->nd, p + off, n - off, &o);

		if (used < 0) {
			q->json_bad = true;
			break;
		}
		off += (size_t)used;
		q->json = o;
	}
	x->in_off += n;
	lb_kapi_xfer_consumed(x);
}

bool
lb_kapi_req_work_all(struct lb_kapi *k)
{
	struct kreq *q, *next;
	bool first = true;

restart:
	for (q = k->running; q != NULL; q = next) {
		struct xfer *x = q->x;

		next = q->next;
		if (x == NULL)
			continue;
		while (x->in_off < x->in_len) {
			if (!first && lb_kapi_over_budget(k))
				return true;
			first = false;
			take_chunk(q, x);
		}
		if (!x->done)
			continue;
		/* completion runs a callback, which may cancel or add requests */
		finish(q);
		goto restart;
	}
	return false;
}

int
lb_kapi_cancel(struct lb_kapi *k, int64_t id)
{
	struct kreq *q;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (q = pass ? k->running : k->q_head; q != NULL; q = q->next) {
			if (q->id != id)
				continue;
			unlink_req(k, q);
			k->st.requests_cancelled++;
			kreq_free(q);
			return 0;
		}
	}
	return -ENOENT;
}

void
lb_kapi_req_cancel_all(struct lb_kapi *k)
{
	struct lb_kapi_response resp = {
		.err = -ECANCELED, .retry_after_s = -1, .raw = "",
		.error = "cancelled: the Kubernetes client is shutting down",
	};

	while (k->running != NULL || k->q_head != NULL) {
		struct kreq *q = k->running ? k->running : k->q_head;

		unlink_req(k, q);
		k->st.requests_cancelled++;
		lb_kapi_xfer_release(q->x);
		q->x = NULL;
		q->fn(q->ctx, &resp);
		kreq_free(q);
	}
}
