/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reflectors: the list+watch protocol for one collection.
 *
 *   start ─► LIST page 1 ─► … ─► LIST page n ─► relist_end ─► WATCH from its
 *   resourceVersion ─► events … ─► the server ends the watch ─► WATCH again
 *
 * A failure anywhere waits out a jittered exponential backoff (or the
 * server's Retry-After) and resumes: a watch from the last resourceVersion
 * seen (events and bookmarks advance it), a list from its first page. 410 Gone
 * (HTTP status or ERROR event) always relists. Parsing and delivery happen in
 * lb_kapi_refl_work(), called from the client's pump under the pass budget.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_kapi_priv.h"

/* A watch that ended cleanly after at least this long (or that delivered
 * anything) is healthy: the next one starts at once. */
#define WATCH_HEALTHY_MS	1000

struct lb_kapi_reflector {
	struct lb_kapi *k;
	struct lb_kapi_reflector *next;
	char *name;
	char *path;
	char *label_sel;
	char *field_sel;
	struct lb_kapi_reflector_ops ops;
	void *ctx;
	bool running;
	unsigned epoch;			/* bumped whenever the current operation is dropped */
	struct xfer *x;			/* the LIST or WATCH request */
	bool watching;			/* x is a WATCH */
	struct lb_kapi_ndjson nd;
	char err_body[ERR_BODY_MAX + 1];	/* a non-200 answer's body */
	size_t err_len;
	/* listing */
	char *cont;			/* continue token of the page requested */
	bool first_page;		/* x asks for the first page */
	bool relist_open;		/* relist_begin delivered, relist_end not yet */
	bool need_relist;
	struct json_object *page;	/* parsed page whose items are being delivered */
	struct json_object *items;
	size_t page_idx;
	size_t page_n;
	char page_rv[LB_KAPI_RV_MAX];
	char *page_cont;
	/* watching */
	uint64_t watch_start_ms;
	bool watch_progress;
	unsigned attempt;		/* failures since the last healthy moment */
	struct lb_ev_timer *retry;
	struct lb_kapi_reflector_status st;
};

static void start_list(struct lb_kapi_reflector *r);
static void start_watch(struct lb_kapi_reflector *r);

const char *
lb_kapi_rstate_name(enum lb_kapi_rstate s)
{
	switch (s) {
	case LB_KAPI_STOPPED:
		return "stopped";
	case LB_KAPI_LISTING:
		return "listing";
	case LB_KAPI_WATCHING:
		return "watching";
	case LB_KAPI_BACKOFF:
		return "backoff";
	}
	return "?";
}

const char *
lb_kapi_event_name(enum lb_kapi_event e)
{
	switch (e) {
	case LB_KAPI_ADDED:
		return "ADDED";
	case LB_KAPI_MODIFIED:
		return "MODIFIED";
	case LB_KAPI_DELETED:
		return "DELETED";
	}
	return "?";
}

struct lb_kapi_reflector *
lb_kapi_refl_next_raw(struct lb_kapi_reflector *r)
{
	return r->next;
}

static void
set_state(struct lb_kapi_reflector *r, enum lb_kapi_rstate s)
{
	if (r->st.state == s)
		return;
	r->st.state = s;
	lb_kapi_log(r->k, LB_KAPI_LOG_DEBUG, "kubernetes: %s: %s", r->name, lb_kapi_rstate_name(s));
	if (r->ops.state != NULL)
		r->ops.state(r->ctx, r, &r->st);
}

/* Drops the request and any page in delivery. */
static void
abandon(struct lb_kapi_reflector *r)
{
	r->epoch++;
	lb_kapi_xfer_release(r->x);
	r->x = NULL;
	json_object_put(r->page);
	r->page = NULL;
	r->items = NULL;
	free(r->page_cont);
	r->page_cont = NULL;
	free(r->cont);
	r->cont = NULL;
	lb_kapi_ndjson_reset(&r->nd);
	r->err_len = 0;
}

static void
schedule(struct lb_kapi_reflector *r, uint64_t delay_ms)
{
	r->st.retry_at_ms = lb_ev_now_ms() + delay_ms;
	lb_ev_timer_arm(r->retry, delay_ms);
	if (delay_ms > 0)
		set_state(r, LB_KAPI_BACKOFF);
}

/*
 * A failed LIST or WATCH: counts it, records and logs the message, drops
 * what runs and retries after the backoff (at once when now). relist: the
 * retry lists from scratch; otherwise a watch resumes from the last
 * resourceVersion.
 */
static void fail(struct lb_kapi_reflector *r, uint64_t *counter, int64_t retry_after,
		bool relist, bool now, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
fail(struct lb_kapi_reflector *r, uint64_t *counter, int64_t retry_after, bool relist,
		bool now, const char *fmt, ...)
{
	struct lb_kapi *k = r->k;
	uint64_t delay = 0;
	va_list ap;

	if (counter != NULL)
		(*counter)++;
	va_start(ap, fmt);
	vsnprintf(r->st.last_error, sizeof(r->st.last_error), fmt, ap);
	va_end(ap);
	r->st.last_error_ms = lb_ev_now_ms();
	if (!r->watching && r->relist_open)
		r->st.list_restarts++;
	abandon(r);
	if (relist)
		r->need_relist = true;
	if (!now)
		delay = lb_kapi_retry_delay_ms(lb_kapi_backoff_ms(&(struct lb_kapi_backoff){
				k->p.backoff_base_ms, k->p.backoff_max_ms }, r->attempt++,
				lb_kapi_rand(&k->rng)), retry_after);
	lb_kapi_log(k, LB_KAPI_LOG_WARN, "kubernetes: %s: %s; %s in %llu ms", r->name,
		r->st.last_error, r->need_relist || r->st.resource_version[0] == '\0' ?
		"relisting" : "watching again", (unsigned long long)delay);
	schedule(r, delay);
}

static void
on_retry(void *ctx)
{
	struct lb_kapi_reflector *r = ctx;

	if (!r->running)
		return;
	if (r->need_relist || r->st.resource_version[0] == '\0')
		start_list(r);
	else
		start_watch(r);
}

/* --- requests --- */

static bool
qadd(char **q, const char *key, const char *val)
{
	char *esc, *n;
	int rc;

	if (val == NULL)
		return true;
	esc = curl_easy_escape(NULL, val, 0);
	if (esc == NULL)
		return false;
	rc = asprintf(&n, "%s%s%s=%s", *q ? *q : "", *q ? "&" : "", key, esc);
	curl_free(esc);
	if (rc < 0)
		return false;
	free(*q);
	*q = n;
	return true;
}

static void
begin(struct lb_kapi_reflector *r, bool watch, const char *query, uint32_t idle_ms)
{
	char err[LB_KAPI_ERR_MAX];

	r->watching = watch;
	r->err_len = 0;
	lb_kapi_ndjson_reset(&r->nd);
	r->nd.max_bytes = watch ? WATCH_EVENT_MAX : LIST_PAGE_MAX;
	r->x = lb_kapi_xfer_start(r->k, XFER_REFL, r, "GET", r->path, query, NULL, NULL, 0, 0,
			idle_ms, err, sizeof(err));
	if (r->x == NULL) {
		fail(r, &r->st.transport_errors, -1, !watch, false, "%s %s: %s",
			watch ? "WATCH" : "LIST", r->path, err);
		return;
	}
	set_state(r, watch ? LB_KAPI_WATCHING : LB_KAPI_LISTING);
}

/* Requests the page r->cont names (the first when NULL). */
static void
start_list(struct lb_kapi_reflector *r)
{
	char limit[16], *q = NULL;

	snprintf(limit, sizeof(limit), "%u", r->k->p.list_limit);
	r->first_page = r->cont == NULL;
	if (!qadd(&q, "limit", limit) || !qadd(&q, "continue", r->cont) ||
	    !qadd(&q, "labelSelector", r->label_sel) || !qadd(&q, "fieldSelector", r->field_sel)) {
		free(q);
		fail(r, &r->st.transport_errors, -1, true, false, "LIST %s: out of memory", r->path);
		return;
	}
	r->st.list_pages++;
	begin(r, false, q, r->k->p.list_idle_ms);
	free(q);
}

static void
start_watch(struct lb_kapi_reflector *r)
{
	struct lb_kapi *k = r->k;
	uint32_t t = k->p.watch_timeout_s;
	char tos[16], *q = NULL;

	/* spread reconnections of many clients over [T, 2T) */
	t += (uint32_t)(lb_kapi_rand(&k->rng) % t);
	snprintf(tos, sizeof(tos), "%u", t);
	if (!qadd(&q, "watch", "1") || !qadd(&q, "allowWatchBookmarks", "true") ||
	    !qadd(&q, "resourceVersion", r->st.resource_version) ||
	    !qadd(&q, "timeoutSeconds", tos) ||
	    !qadd(&q, "labelSelector", r->label_sel) || !qadd(&q, "fieldSelector", r->field_sel)) {
		free(q);
		fail(r, &r->st.transport_errors, -1, false, false, "WATCH %s: out of memory", r->path);
		return;
	}
	r->st.watches++;
	r->watch_start_ms = lb_ev_now_ms();
	r->watch_progress = false;
	begin(r, true, q, t * 1000 + k->p.watch_slack_ms);
	free(q);
}

/* --- LIST pages --- */

static const char *
md_string(struct json_object *o, const char *key)
{
	struct json_object *md, *v;

	if (!json_object_object_get_ex(o, "metadata", &md) ||
	    !json_object_is_type(md, json_type_object) ||
	    !json_object_object_get_ex(md, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Takes a parsed LIST answer (consumed). */
static void
take_page(struct lb_kapi_reflector *r, struct json_object *page)
{
	struct json_object *items = NULL;
	const char *rv = md_string(page, "resourceVersion"), *cont = md_string(page, "continue");
	bool has_items = json_object_object_get_ex(page, "items", &items);

	if (!has_items || (items != NULL && !json_object_is_type(items, json_type_array)) ||
	    rv == NULL || rv[0] == '\0' || strlen(rv) >= LB_KAPI_RV_MAX) {
		json_object_put(page);
		fail(r, &r->st.decode_errors, -1, true, false,
			"LIST %s: the answer is not a list (%s)", r->path,
			!has_items || items != NULL ? "no items list" : "no metadata.resourceVersion");
		return;
	}
	r->page = page;
	r->items = items;
	r->page_idx = 0;
	r->page_n = items ? json_object_array_length(items) : 0;
	snprintf(r->page_rv, sizeof(r->page_rv), "%s", rv);
	free(r->page_cont);
	r->page_cont = cont != NULL && cont[0] != '\0' ? strdup(cont) : NULL;
	if (cont != NULL && cont[0] != '\0' && r->page_cont == NULL) {
		fail(r, &r->st.transport_errors, -1, true, false, "LIST %s: out of memory", r->path);
		return;
	}
	if (r->first_page) {
		r->relist_open = true;
		if (r->ops.relist_begin != NULL)
			r->ops.relist_begin(r->ctx, r);
	}
}

/* Delivers one item of the page, or finishes the page. */
static void
page_step(struct lb_kapi_reflector *r)
{
	struct json_object *it;

	if (r->page_idx < r->page_n) {
		it = json_object_array_get_idx(r->items, r->page_idx);
		if (!json_object_is_type(it, json_type_object)) {
			fail(r, &r->st.decode_errors, -1, true, false,
				"LIST %s: item %zu is not an object", r->path, r->page_idx);
			return;
		}
		/* take the item out of the page: the consumer owns the only reference */
		json_object_get(it);
		json_object_array_put_idx(r->items, r->page_idx, NULL);
		r->page_idx++;
		r->st.objects_listed++;
		if (r->ops.object != NULL)
			r->ops.object(r->ctx, r, LB_KAPI_ADDED, it);
		else
			json_object_put(it);
		return;
	}
	json_object_put(r->page);
	r->page = NULL;
	r->items = NULL;
	/* the body is complete; whatever the transfer still does is of no use */
	lb_kapi_xfer_release(r->x);
	r->x = NULL;
	free(r->cont);
	r->cont = r->page_cont;
	r->page_cont = NULL;
	if (r->cont != NULL) {
		start_list(r);
		return;
	}
	snprintf(r->st.resource_version, sizeof(r->st.resource_version), "%s", r->page_rv);
	r->relist_open = false;
	r->need_relist = false;
	r->st.synced = true;
	r->st.relists++;
	r->st.last_sync_ms = lb_ev_now_ms();
	lb_kapi_log(r->k, LB_KAPI_LOG_INFO, "kubernetes: %s: listed, resourceVersion %s",
		r->name, r->page_rv);
	if (r->ops.relist_end != NULL) {
		unsigned epoch = r->epoch;

		r->ops.relist_end(r->ctx, r, r->st.resource_version);
		if (epoch != r->epoch || !r->running)
			return;
	}
	start_watch(r);
}

/* --- WATCH events --- */

static void
handle_event(struct lb_kapi_reflector *r, struct json_object *ev)
{
	struct json_object *t, *obj, *code;
	enum lb_kapi_event type;
	const char *ts, *rv;
	char msg[200];

	if (!json_object_object_get_ex(ev, "type", &t) || !json_object_is_type(t, json_type_string) ||
	    !json_object_object_get_ex(ev, "object", &obj) ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(ev);
		fail(r, &r->st.decode_errors, -1, false, false,
			"WATCH %s: malformed event (no type or object)", r->path);
		return;
	}
	ts = json_object_get_string(t);
	if (strcmp(ts, "ERROR") == 0) {
		int c = json_object_object_get_ex(obj, "code", &code) ? json_object_get_int(code) : 0;
		const char *m = json_object_get_string(json_object_object_get_ex(obj, "message", &t) ?
				t : NULL);

		snprintf(msg, sizeof(msg), "%s", m ? m : "");
		json_object_put(ev);
		if (c == 410)
			fail(r, &r->st.gone, -1, true, false, "WATCH %s: 410 Gone: %s", r->path, msg);
		else
			fail(r, &r->st.http_errors, -1, false, false, "WATCH %s: ERROR event %d: %s",
				r->path, c, msg);
		return;
	}
	if (strcmp(ts, "ADDED") == 0)
		type = LB_KAPI_ADDED;
	else if (strcmp(ts, "MODIFIED") == 0)
		type = LB_KAPI_MODIFIED;
	else if (strcmp(ts, "DELETED") == 0)
		type = LB_KAPI_DELETED;
	else if (strcmp(ts, "BOOKMARK") != 0)
		type = (enum lb_kapi_event)-1;
	else
		type = (enum lb_kapi_event)-2;
	rv = md_string(obj, "resourceVersion");
	if ((int)type == -1 || rv == NULL || rv[0] == '\0' || strlen(rv) >= LB_KAPI_RV_MAX) {
		snprintf(msg, sizeof(msg), "%.40s", ts);
		json_object_put(ev);
		fail(r, &r->st.decode_errors, -1, false, false, "WATCH %s: %s event \"%s\"", r->path,
			(int)type == -1 ? "unknown" : "no metadata.resourceVersion in", msg);
		return;
	}
	snprintf(r->st.resource_version, sizeof(r->st.resource_version), "%s", rv);
	r->st.last_event_ms = lb_ev_now_ms();
	r->watch_progress = true;
	r->attempt = 0;
	if ((int)type == -2) {
		r->st.bookmarks++;
		json_object_put(ev);
		return;
	}
	/* hand over the object alone, holding the only reference */
	json_object_get(obj);
	json_object_object_del(ev, "object");
	json_object_put(ev);
	r->st.events[type]++;
	if (r->ops.object != NULL)
		r->ops.object(r->ctx, r, type, obj);
	else
		json_object_put(obj);
}

/* --- the end of a request --- */

static void
http_failure(struct lb_kapi_reflector *r, struct xfer *x, long status)
{
	const char *what = r->watching ? "WATCH" : "LIST";
	char msg[LB_KAPI_ERR_MAX];
	bool relist = !r->watching;

	r->err_body[r->err_len] = '\0';
	lb_kapi_body_message(r->err_body, r->err_len, msg, sizeof(msg));
	if (status == 410) {
		fail(r, &r->st.gone, -1, true, false, "%s %s: 410 Gone%s: %s", what, r->path,
			!r->watching && !r->first_page ? " (continue token expired)" : "", msg);
		return;
	}
	if (status == 401) {
		/* a rotated token: retry at once when the file holds a new one */
		bool fresh = lb_kapi_token_reload(r->k, true) == 1;

		r->st.unauthorized++;
		fail(r, &r->st.http_errors, -1, relist, fresh, "%s %s: 401 Unauthorized: %s", what,
			r->path, msg);
		return;
	}
	if ((status == 429 || status == 503) && x->retry_after >= 0)
		r->st.throttled++;
	fail(r, &r->st.http_errors, x->retry_after, relist, false, "%s %s: HTTP %ld: %s", what,
		r->path, status, msg);
}

static void
finish(struct lb_kapi_reflector *r)
{
	struct xfer *x = r->x;
	long status = lb_kapi_xfer_status(x);
	const char *what = r->watching ? "WATCH" : "LIST";
	char msg[LB_KAPI_ERR_MAX];
	int err = lb_kapi_xfer_error(x, msg, sizeof(msg));

	if (status != 200 && status != 0 && !x->stalled && !x->oom) {
		http_failure(r, x, status);
		return;
	}
	if (x->stalled) {
		fail(r, &r->st.stalls, -1, !r->watching, false, "%s %s: %s", what, r->path, msg);
		return;
	}
	if (err != 0 || status == 0) {
		fail(r, &r->st.transport_errors, -1, !r->watching, false, "%s %s: %s%s", what,
			r->path, msg, lb_kapi_ndjson_pending(&r->nd) ? " (inside an event)" : "");
		return;
	}
	if (!r->watching || lb_kapi_ndjson_pending(&r->nd)) {
		fail(r, &r->st.decode_errors, -1, !r->watching, false,
			"%s %s: the answer ended %s", what, r->path, r->watching ?
			"inside an event" : "before the list was complete");
		return;
	}
	/* the server ended the watch (timeoutSeconds): resume from where it was */
	r->st.watch_ends++;
	lb_kapi_xfer_release(r->x);
	r->x = NULL;
	if (r->watch_progress || lb_ev_now_ms() - r->watch_start_ms >= WATCH_HEALTHY_MS) {
		r->attempt = 0;
		start_watch(r);
		return;
	}
	/* ended at once without an event: do not hammer the server */
	schedule(r, lb_kapi_backoff_ms(&(struct lb_kapi_backoff){ r->k->p.backoff_base_ms,
			r->k->p.backoff_max_ms }, r->attempt++, lb_kapi_rand(&r->k->rng)));
}

/* Parses one chunk of what x received. */
static void
parse_step(struct lb_kapi_reflector *r, struct xfer *x)
{
	size_t avail = x->in_len - x->in_off;
	struct json_object *o;
	ssize_t n;
	long status = lb_kapi_xfer_status(x);

	if (status != 200) {
		size_t keep = LB_MIN(avail, (size_t)ERR_BODY_MAX - r->err_len);

		memcpy(r->err_body + r->err_len, x->in + x->in_off, keep);
		r->err_len += keep;
		x->in_off = x->in_len;
		lb_kapi_xfer_consumed(x);
		return;
	}
	n = lb_kapi_ndjson_feed(&r->nd, x->in + x->in_off, LB_MIN(avail, (size_t)PARSE_CHUNK), &o);
	if (n < 0) {
		fail(r, &r->st.decode_errors, -1, !r->watching, false, "%s %s: %s at byte %llu",
			r->watching ? "WATCH" : "LIST", r->path,
			n == -EMSGSIZE ? "value too large" : n == -EPROTO ? "a value that is not an object" :
			"invalid JSON", (unsigned long long)(x->rx_bytes - (x->in_len - x->in_off)));
		return;
	}
	x->in_off += (size_t)n;
	lb_kapi_xfer_consumed(x);
	if (o == NULL)
		return;
	if (r->watching)
		handle_event(r, o);
	else
		take_page(r, o);
}

bool
lb_kapi_refl_work(struct lb_kapi_reflector *r)
{
	unsigned epoch = r->epoch;
	bool first = true;

	while (r->running && epoch == r->epoch) {
		struct xfer *x = r->x;

		if (r->page != NULL) {
			if (!first && lb_kapi_over_budget(r->k))
				return true;
			first = false;
			page_step(r);
			continue;
		}
		if (x == NULL)
			return false;
		if (x->in_off < x->in_len) {
			if (!first && lb_kapi_over_budget(r->k))
				return true;
			first = false;
			parse_step(r, x);
			continue;
		}
		if (!x->done)
			return false;
		finish(r);
		/* a new request (or none) with nothing received yet */
		return false;
	}
	return false;
}

/* --- public --- */

static char *
dup_opt(const char *s, bool *ok)
{
	char *d;

	if (s == NULL || s[0] == '\0')
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

struct lb_kapi_reflector *
lb_kapi_reflector_new(struct lb_kapi *k, const struct lb_kapi_reflector_conf *c,
		const struct lb_kapi_reflector_ops *ops, void *ctx)
{
	struct lb_kapi_reflector *r, **tail;
	bool ok = true;

	if (k == NULL || c == NULL || c->path == NULL || c->path[0] != '/' ||
	    strpbrk(c->path, "?# \r\n") != NULL) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->k = k;
	r->path = dup_opt(c->path, &ok);
	r->name = dup_opt(c->name ? c->name : c->path, &ok);
	r->label_sel = dup_opt(c->label_selector, &ok);
	r->field_sel = dup_opt(c->field_selector, &ok);
	if (ops != NULL)
		r->ops = *ops;
	r->ctx = ctx;
	r->retry = lb_ev_timer_new(k->ev, on_retry, r);
	if (!ok || r->retry == NULL || lb_kapi_ndjson_init(&r->nd, WATCH_EVENT_MAX) < 0) {
		lb_ev_timer_free(r->retry);
		lb_kapi_ndjson_fini(&r->nd);
		free(r->path);
		free(r->name);
		free(r->label_sel);
		free(r->field_sel);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->st.name = r->name;
	r->st.path = r->path;
	r->st.state = LB_KAPI_STOPPED;
	for (tail = &k->refls; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
	return r;
}

int
lb_kapi_reflector_start(struct lb_kapi_reflector *r)
{
	if (r->k->shut)
		return -ESHUTDOWN;
	if (r->running)
		return -EALREADY;
	r->running = true;
	r->need_relist = true;
	r->attempt = 0;
	lb_ev_timer_arm(r->retry, 0);
	return 0;
}

void
lb_kapi_reflector_stop(struct lb_kapi_reflector *r)
{
	if (r == NULL)
		return;
	abandon(r);
	lb_ev_timer_disarm(r->retry);
	r->running = false;
	r->relist_open = false;
	r->need_relist = true;
	r->st.state = LB_KAPI_STOPPED;	/* no callback: the caller knows */
}

int
lb_kapi_reflector_relist(struct lb_kapi_reflector *r)
{
	if (!r->running)
		return -EINVAL;
	abandon(r);
	r->need_relist = true;
	lb_ev_timer_arm(r->retry, 0);
	return 0;
}

void
lb_kapi_reflector_free(struct lb_kapi_reflector *r)
{
	struct lb_kapi_reflector **pp;

	if (r == NULL)
		return;
	lb_kapi_reflector_stop(r);
	for (pp = &r->k->refls; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	lb_ev_timer_free(r->retry);
	lb_kapi_ndjson_fini(&r->nd);
	free(r->path);
	free(r->name);
	free(r->label_sel);
	free(r->field_sel);
	free(r);
}

void
lb_kapi_reflector_status(const struct lb_kapi_reflector *r, struct lb_kapi_reflector_status *st)
{
	*st = r->st;
}

void
lb_kapi_refl_stop_all(struct lb_kapi *k)
{
	struct lb_kapi_reflector *r;

	for (r = k->refls; r != NULL; r = r->next)
		lb_kapi_reflector_stop(r);
}

void
lb_kapi_refl_free_all(struct lb_kapi *k)
{
	while (k->refls != NULL)
		lb_kapi_reflector_free(k->refls);
}

static void
add_age(struct json_object *o, const char *key, uint64_t at, uint64_t now)
{
	json_object_object_add(o, key, at == 0 ? NULL :
		json_object_new_uint64(now >= at ? now - at : 0));
}

struct json_object *
lb_kapi_refl_status_json(const struct lb_kapi_reflector *r, uint64_t now)
{
	const struct lb_kapi_reflector_status *s = &r->st;
	struct json_object *o = json_object_new_object(), *c = json_object_new_object();
	static const char *const names[] = {
		"list_pages", "relists", "list_restarts", "watches", "watch_ends",
		"objects_listed", "added", "modified", "deleted", "bookmarks", "gone",
		"http_errors", "unauthorized", "throttled", "transport_errors", "stalls",
		"decode_errors",
	};
	const uint64_t vals[] = {
		s->list_pages, s->relists, s->list_restarts, s->watches, s->watch_ends,
		s->objects_listed, s->events[0], s->events[1], s->events[2], s->bookmarks, s->gone,
		s->http_errors, s->unauthorized, s->throttled, s->transport_errors, s->stalls,
		s->decode_errors,
	};
	size_t i;

	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "path", json_object_new_string(s->path));
	json_object_object_add(o, "state", json_object_new_string(lb_kapi_rstate_name(s->state)));
	json_object_object_add(o, "synced", json_object_new_boolean(s->synced));
	json_object_object_add(o, "resource_version", json_object_new_string(s->resource_version));
	add_age(o, "last_event_age_ms", s->last_event_ms, now);
	add_age(o, "last_sync_age_ms", s->last_sync_ms, now);
	json_object_object_add(o, "retry_in_ms", s->state == LB_KAPI_BACKOFF ?
		json_object_new_uint64(s->retry_at_ms > now ? s->retry_at_ms - now : 0) : NULL);
	json_object_object_add(o, "last_error", json_object_new_string(s->last_error));
	add_age(o, "last_error_age_ms", s->last_error_ms, now);
	for (i = 0; i < LB_ARRAY_SIZE(names); i++)
		json_object_object_add(c, names[i], json_object_new_uint64(vals[i]));
	json_object_object_add(o, "counters", c);
	return o;
}
