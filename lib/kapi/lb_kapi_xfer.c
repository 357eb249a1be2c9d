/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transfers and libcurl's multi interface on struct lb_ev (the socket and
 * timer glue is lib/evcurl's): the write callback, the pump that lets owners
 * parse under the per-pass budget, pausing, and the silence watchdog.
 *
 * Flow of a byte: the socket is readable → lb_ev calls lib/evcurl →
 * curl_multi_socket_action() reads and calls on_write(), which only appends
 * to the transfer's buffer (pausing the transfer when too much waits) → pump()
 * then lets each owner (reflector, request) parse and deliver what waits,
 * until this loop pass's budget is spent; what is left is parsed on the next
 * pass (drain_timer). No user callback ever runs inside libcurl, so callbacks
 * may start and cancel transfers freely.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_kapi_priv.h"

/* --- transfers --- */

static size_t
on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nmemb, pending = x->in_len - x->in_off;

	if (pending >= XFER_HIGH_WATER) {
		if (!x->paused)
			x->k->st.paused++;
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (x->in_off > 0 && x->in_len + len > x->in_cap) {
		memmove(x->in, x->in + x->in_off, pending);
		x->in_off = 0;
		x->in_len = pending;
	}
	if (x->in_len + len > x->in_cap) {
		size_t cap = LB_MAX(x->in_cap * 2, (size_t)PARSE_CHUNK);
		char *p;

		while (cap < x->in_len + len)
			cap *= 2;
		p = realloc(x->in, cap);
		if (p == NULL) {
			x->oom = true;
			return 0;	/* CURLE_WRITE_ERROR */
		}
		x->in = p;
		x->in_cap = cap;
	}
	memcpy(x->in + x->in_len, data, len);
	x->in_len += len;
	x->rx_bytes += len;
	x->last_rx_ms = lb_ev_now_ms();
	return len;
}

long
lb_kapi_xfer_status(struct xfer *x)
{
	if (x->status == 0 && x->h != NULL) {
		long code = 0;

		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
		x->status = code;
	}
	return x->status;
}

void
lb_kapi_xfer_consumed(struct xfer *x)
{
	if (x->in_off == x->in_len)
		x->in_off = x->in_len = 0;
}

int
lb_kapi_xfer_error(const struct xfer *x, char *msg, size_t len)
{
	if (x->oom) {
		snprintf(msg, len, "out of memory buffering the response");
		return -ENOMEM;
	}
	if (x->stalled) {
		snprintf(msg, len, "no data for %u ms", x->idle_ms);
		return -ETIMEDOUT;
	}
	snprintf(msg, len, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
	switch (x->result) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CLIENTCERT:
		return -EPROTO;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static void
xfer_free(struct xfer *x)
{
	if (x->h != NULL)
		curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdrs);
	free(x->in);
	free(x);
}

static void
reap(struct lb_kapi *k)
{
	struct xfer *x = k->xfers, *next;

	if (!k->reap_needed)
		return;
	k->reap_needed = false;
	for (; x != NULL; x = next) {
		next = x->next;
		if (!x->dead)
			continue;
		if (x->prev)
			x->prev->next = x->next;
		else
			k->xfers = x->next;
		if (x->next)
			x->next->prev = x->prev;
		xfer_free(x);
	}
}

/* Takes x out of the multi handle; it is finished from now on. */
static void
xfer_finish(struct xfer *x, CURLcode res)
{
	curl_off_t ra = -1;

	if (x->done)
		return;
	x->result = res;
	lb_kapi_xfer_status(x);
	if (curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		x->retry_after = (int64_t)ra;
	curl_multi_remove_handle(x->k->multi, x->h);
	x->done = true;
	x->paused = false;
}

void
lb_kapi_xfer_release(struct xfer *x)
{
	struct lb_kapi *k;

	if (x == NULL)
		return;
	k = x->k;
	if (!x->done) {
		curl_multi_remove_handle(k->multi, x->h);
		x->done = true;
	}
	x->dead = true;
	x->owner = NULL;
	k->reap_needed = true;
	if (k->in_pump == 0)
		reap(k);
}

static bool
add_header(struct curl_slist **l, const char *h)
{
	struct curl_slist *n = curl_slist_append(*l, h);

	if (n == NULL)
		return false;
	*l = n;
	return true;
}

/* TLS and identity settings every transfer shares. */
static CURLcode
set_tls(struct lb_kapi *k, CURL *h)
{
	const struct lb_kapi_conf *c = &k->conf;
	CURLcode rc = CURLE_OK;

	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	/* With a cluster CA, trust it alone, not the system's bundle too. */
	if (c->ca_file != NULL) {
		rc = curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	} else if (c->ca_data != NULL) {
		struct curl_blob b = { c->ca_data, c->ca_len, CURL_BLOB_COPY };

		rc = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (rc == CURLE_OK && c->cert_file != NULL) {
		rc = curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	} else if (rc == CURLE_OK && c->cert_data != NULL) {
		struct curl_blob b = { c->cert_data, c->cert_len, CURL_BLOB_COPY };

		rc = curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
	}
	if (rc == CURLE_OK && c->key_file != NULL) {
		rc = curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	} else if (rc == CURLE_OK && c->key_data != NULL) {
		struct curl_blob b = { c->key_data, c->key_len, CURL_BLOB_COPY };

		rc = curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
	}
	if (rc == CURLE_OK && (c->cert_file != NULL || c->cert_data != NULL)) {
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	/* An explicit proxy-url only: environment proxies are not used. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_PROXY, c->proxy ? c->proxy : "");
	return rc;
}

struct xfer *
lb_kapi_xfer_start(struct lb_kapi *k, enum xfer_kind kind, void *owner,
		const char *method, const char *path, const char *query,
		const char *ctype, const char *body, size_t body_len,
		uint32_t timeout_ms, uint32_t idle_ms, char *err, size_t errlen)
{
	struct xfer *x = calloc(1, sizeof(*x));
	const char *token;
	char *url = NULL, *auth = NULL;
	CURLcode rc;

	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->k = k;
	x->kind = kind;
	x->owner = owner;
	x->retry_after = -1;
	x->idle_ms = idle_ms;
	x->last_rx_ms = lb_ev_now_ms();
	lb_kapi_token_reload(k, false);
	token = k->tok_file && k->tok.value != NULL ? k->tok.value : k->conf.token;
	url = lb_kapi_dupf("%s%s%s%s", k->conf.server, path, query ? "?" : "", query ? query : "");
	if (token != NULL)
		auth = lb_kapi_dupf("Authorization: Bearer %s", token);
	x->h = curl_easy_init();
	if (url == NULL || (token != NULL && auth == NULL) || x->h == NULL ||
	    !add_header(&x->hdrs, "Accept: application/json") ||
	    !add_header(&x->hdrs, "Expect:") ||
	    (auth != NULL && !add_header(&x->hdrs, auth))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (ctype != NULL) {
		char *ct = lb_kapi_dupf("Content-Type: %s", ctype);

		if (ct == NULL || !add_header(&x->hdrs, ct)) {
			free(ct);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		free(ct);
	}
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 0L);
	/* HTTP/1.1: one connection per watch, and pausing one stream never
	 * stalls another multiplexed with it. */
	curl_easy_setopt(x->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(x->h, CURLOPT_USERAGENT, k->user_agent);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, (long)k->p.connect_timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(x->h, CURLOPT_TCP_KEEPINTVL, 10L);
	rc = set_tls(k, x->h);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "TLS settings: %s", curl_easy_strerror(rc));
		goto fail;
	}
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(x->h, CURLOPT_HTTPGET, 1L);
	else
		curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		if (curl_easy_setopt(x->h, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (curl_multi_add_handle(k->multi, x->h) != CURLM_OK) {
		snprintf(err, errlen, "cannot add a transfer to libcurl");
		goto fail;
	}
	free(url);
	free(auth);
	x->next = k->xfers;
	if (k->xfers)
		k->xfers->prev = x;
	k->xfers = x;
	return x;
fail:
	free(url);
	free(auth);
	xfer_free(x);
	return NULL;
}

/* --- libcurl on lb_ev (lib/evcurl) --- */

static void pump(struct lb_kapi *k);

static void
after_curl(void *ctx)
{
	pump(ctx);
}

static void
on_drain(void *ctx)
{
	pump(ctx);
}

/* --- the pump --- */

static void
collect_done(struct lb_kapi *k)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(k->multi, &left)) != NULL) {
		struct xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			xfer_finish(x, m->data.result);	/* m is invalid from here */
	}
}

static void
unpause(struct lb_kapi *k)
{
	struct xfer *x;

	for (x = k->xfers; x != NULL; x = x->next) {
		if (!x->paused || x->dead || x->done || x->in_len - x->in_off >= XFER_LOW_WATER)
			continue;
		x->paused = false;
		x->last_rx_ms = lb_ev_now_ms();
		curl_easy_pause(x->h, CURLPAUSE_CONT);
	}
}

static void
arm_idle(struct lb_kapi *k)
{
	uint32_t min = UINT32_MAX;
	struct xfer *x;

	if (lb_ev_timer_armed(k->idle_timer))
		return;
	for (x = k->xfers; x != NULL; x = x->next)
		if (!x->dead && !x->done && x->idle_ms > 0 && x->idle_ms < min)
			min = x->idle_ms;
	if (min != UINT32_MAX)
		lb_ev_timer_arm(k->idle_timer, LB_MIN(LB_MAX(min / 4, 20u), 1000u));
}

static bool
refl_work_all(struct lb_kapi *k)
{
	struct lb_kapi_reflector *r;
	unsigned n = 0, i, start;
	bool more = false;

	for (r = k->refls; r != NULL; r = lb_kapi_refl_next_raw(r))
		n++;
	if (n == 0)
		return false;
	start = k->rr++ % n;
	for (i = 0; i < n; i++) {
		unsigned j = (start + i) % n, t = 0;

		for (r = k->refls; r != NULL && t < j; r = lb_kapi_refl_next_raw(r))
			t++;
		if (r != NULL)
			more |= lb_kapi_refl_work(r);
	}
	return more;
}

static void
pump(struct lb_kapi *k)
{
	struct lb_ev_stats es;
	uint64_t t0, budget = k->p.pass_budget_us;
	bool more;

	k->in_pump++;
	collect_done(k);
	lb_ev_stats(k->ev, &es);
	if (es.passes != k->budget_pass) {
		k->budget_pass = es.passes;
		k->budget_used_us = 0;
	}
	t0 = lb_kapi_now_us();
	k->deadline_us = t0 + (k->budget_used_us < budget ? budget - k->budget_used_us : 0);
	more = refl_work_all(k);
	more |= lb_kapi_req_work_all(k);
	unpause(k);
	k->budget_used_us += lb_kapi_now_us() - t0;
	k->in_pump--;
	if (more) {
		k->st.budget_deferrals++;
		lb_kapi_want_drain(k);
	}
	if (k->in_pump == 0)
		reap(k);
	arm_idle(k);
}

/* The silence watchdog: a transfer that receives nothing for idle_ms while
 * we are not the ones holding it back is abandoned. */
static void
on_idle(void *ctx)
{
	struct lb_kapi *k = ctx;
	uint64_t now = lb_ev_now_ms();
	struct xfer *x;

	for (x = k->xfers; x != NULL; x = x->next) {
		if (x->dead || x->done || x->idle_ms == 0)
			continue;
		if (x->paused || x->in_len > x->in_off) {
			x->last_rx_ms = now;
			continue;
		}
		if (now - x->last_rx_ms < x->idle_ms)
			continue;
		x->stalled = true;
		xfer_finish(x, CURLE_OPERATION_TIMEDOUT);
	}
	pump(k);
}

/* --- attachment to lb_ev --- */

int
lb_kapi_loop_attach(struct lb_kapi *k)
{
	k->curl = lb_ev_curl_new(k->ev, after_curl, k);
	k->multi = k->curl != NULL ? lb_ev_curl_multi(k->curl) : NULL;
	k->drain_timer = lb_ev_timer_new(k->ev, on_drain, k);
	k->kick_timer = lb_ev_timer_new(k->ev, lb_kapi_req_kick, k);
	k->idle_timer = lb_ev_timer_new(k->ev, on_idle, k);
	if (k->curl == NULL || k->drain_timer == NULL || k->kick_timer == NULL ||
	    k->idle_timer == NULL)
		return -ENOMEM;
	return 0;
}

void
lb_kapi_loop_detach(struct lb_kapi *k)
{
	struct xfer *x;

	for (x = k->xfers; x != NULL; x = x->next)
		if (!x->dead)
			lb_kapi_xfer_release(x);
	k->reap_needed = true;
	reap(k);
	/* closes cached connections; their fds leave lb_ev with it */
	lb_ev_curl_free(k->curl);
	k->curl = NULL;
	k->multi = NULL;
	lb_ev_timer_free(k->drain_timer);
	lb_ev_timer_free(k->kick_timer);
	lb_ev_timer_free(k->idle_timer);
	k->drain_timer = k->kick_timer = k->idle_timer = NULL;
}

