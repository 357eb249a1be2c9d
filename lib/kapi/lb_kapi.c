/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client: creation and shutdown, logging, the token file, status. The
 * transfers and the event-loop glue are in lb_kapi_xfer.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "lb_kapi_priv.h"

/* --- small helpers --- */

void
lb_kapi_log(struct lb_kapi *k, enum lb_kapi_log_level lvl, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (k->p.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->p.log(k->p.log_ctx, lvl, msg);
}

uint64_t
lb_kapi_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool
lb_kapi_over_budget(const struct lb_kapi *k)
{
	return lb_kapi_now_us() >= k->deadline_us;
}

void
lb_kapi_want_drain(struct lb_kapi *k)
{
	if (!lb_ev_timer_armed(k->drain_timer))
		lb_ev_timer_arm(k->drain_timer, 0);
}

void
lb_kapi_body_message(const char *body, size_t len, char *msg, size_t msglen)
{
	struct json_object *o, *m;
	size_t n;

	msg[0] = '\0';
	if (len == 0)
		return;
	o = json_tokener_parse(body);
	if (o != NULL && json_object_object_get_ex(o, "message", &m) &&
	    json_object_is_type(m, json_type_string)) {
		snprintf(msg, msglen, "%s", json_object_get_string(m));
		json_object_put(o);
		return;
	}
	json_object_put(o);
	n = strcspn(body, "\r\n");
	if (n > len)
		n = len;
	snprintf(msg, msglen, "%.*s", (int)LB_MIN(n, (size_t)200), body);
}

int
lb_kapi_token_reload(struct lb_kapi *k, bool force)
{
	char err[LB_KAPI_ERR_MAX];
	int rc;

	if (!k->tok_file)
		return 0;
	rc = lb_kapi_token_refresh(&k->tok, force, err, sizeof(err));
	if (rc < 0) {
		k->st.token_errors++;
		if (strcmp(err, k->st.token_error) != 0) {
			lb_kapi_log(k, LB_KAPI_LOG_ERR, "kubernetes: %s (keeping the previous token)",
				err);
			snprintf(k->st.token_error, sizeof(k->st.token_error), "%s", err);
		}
		return rc;
	}
	k->st.token_error[0] = '\0';
	if (rc == 1) {
		k->st.token_reloads++;
		lb_kapi_log(k, LB_KAPI_LOG_INFO, "kubernetes: read a new token from %s",
			k->tok.path);
	}
	return rc;
}

char *
lb_kapi_dupf(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&out, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : out;
}


/* --- life cycle --- */

static void
set_defaults(struct lb_kapi_params *p)
{
	if (p->version == NULL)
		p->version = "0";
	if (p->max_requests == 0)
		p->max_requests = 4;
	if (p->max_queued == 0)
		p->max_queued = 1024;
	if (p->request_timeout_ms == 0)
		p->request_timeout_ms = 30000;
	if (p->connect_timeout_ms == 0)
		p->connect_timeout_ms = 10000;
	if (p->list_limit == 0)
		p->list_limit = 100;
	if (p->list_idle_ms == 0)
		p->list_idle_ms = 30000;
	if (p->watch_timeout_s == 0)
		p->watch_timeout_s = 300;
	if (p->watch_slack_ms == 0)
		p->watch_slack_ms = 30000;
	if (p->backoff_base_ms == 0)
		p->backoff_base_ms = 500;
	if (p->backoff_max_ms == 0)
		p->backoff_max_ms = 30000;
	if (p->pass_budget_us == 0)
		p->pass_budget_us = 5000;
}

static char *
describe_auth(const struct lb_kapi_conf *c)
{
	char buf[512] = "";
	size_t n = 0;

	if (c->token_file != NULL)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "token file %s", c->token_file);
	else if (c->token != NULL)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "token");
	if (n < sizeof(buf) && (c->cert_file != NULL || c->cert_data != NULL))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sclient certificate %s",
				n ? " + " : "", c->cert_file ? c->cert_file : "(inline)");
	if (n == 0)
		snprintf(buf, sizeof(buf), "none");
	return strdup(buf);
}

struct lb_kapi *
lb_kapi_create(struct lb_ev *ev, const struct lb_kapi_conf *conf,
		const struct lb_kapi_params *p, char *err, size_t errlen)
{
	struct lb_kapi *k;
	char *w, *save = NULL, *tok;

	if (ev == NULL || conf == NULL || conf->server == NULL) {
		snprintf(err, errlen, "no API server configured");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl initialisation failed");
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL || lb_kapi_conf_copy(&k->conf, conf) < 0) {
		free(k);
		curl_global_cleanup();
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->ev = ev;
	if (p != NULL)
		k->p = *p;
	set_defaults(&k->p);
	k->rng = k->p.seed;
	if (k->rng == 0 && getrandom(&k->rng, sizeof(k->rng), GRND_NONBLOCK) != sizeof(k->rng))
		k->rng = lb_kapi_now_us();
	k->next_id = 1;
	k->user_agent = lb_kapi_dupf("lbd/%s", k->p.version);
	k->auth_desc = describe_auth(&k->conf);
	if (k->user_agent == NULL || k->auth_desc == NULL || lb_kapi_loop_attach(k) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	k->p.version = NULL;	/* the caller's string; user_agent holds it */
	if (k->conf.token_file != NULL) {
		if (lb_kapi_token_init(&k->tok, k->conf.token_file) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		k->tok_file = true;
		if (lb_kapi_token_refresh(&k->tok, true, err, errlen) < 0)
			goto fail;
	}
	lb_kapi_log(k, LB_KAPI_LOG_INFO, "kubernetes: API server %s (%s), authentication: %s",
		k->conf.server, k->conf.source ? k->conf.source : "?", k->auth_desc);
	if (k->conf.warnings != NULL && (w = strdup(k->conf.warnings)) != NULL) {
		for (tok = strtok_r(w, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save))
			lb_kapi_log(k, LB_KAPI_LOG_WARN, "kubernetes: %s", tok + (tok[0] == ' '));
		free(w);
	}
	return k;
fail:
	lb_kapi_loop_detach(k);
	if (k->tok_file)
		lb_kapi_token_fini(&k->tok);
	lb_kapi_conf_free(&k->conf);
	free(k->user_agent);
	free(k->auth_desc);
	free(k);
	curl_global_cleanup();
	return NULL;
}

void
lb_kapi_shutdown(struct lb_kapi *k)
{
	if (k == NULL || k->shut)
		return;
	k->shut = true;
	lb_kapi_refl_stop_all(k);
	lb_kapi_req_cancel_all(k);
	lb_ev_timer_disarm(k->drain_timer);
	lb_ev_timer_disarm(k->kick_timer);
	lb_ev_timer_disarm(k->idle_timer);
	lb_kapi_log(k, LB_KAPI_LOG_INFO, "kubernetes: client shut down");
}

void
lb_kapi_destroy(struct lb_kapi *k)
{
	if (k == NULL)
		return;
	lb_kapi_shutdown(k);
	lb_kapi_refl_free_all(k);
	lb_kapi_loop_detach(k);
	if (k->tok_file)
		lb_kapi_token_fini(&k->tok);
	lb_kapi_conf_free(&k->conf);
	free(k->user_agent);
	free(k->auth_desc);
	free(k);
	curl_global_cleanup();
}

/* --- status --- */

void
lb_kapi_status(const struct lb_kapi *k, struct lb_kapi_status *st)
{
	*st = k->st;
	st->server = k->conf.server;
	st->source = k->conf.source;
	st->auth = k->auth_desc;
	st->requests_running = k->n_running;
	st->requests_queued = k->n_queued;
}

struct lb_kapi_reflector *
lb_kapi_reflector_next(const struct lb_kapi *k, const struct lb_kapi_reflector *r)
{
	return r == NULL ? k->refls : lb_kapi_refl_next_raw((struct lb_kapi_reflector *)r);
}

static void
add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

struct json_object *
lb_kapi_status_json(const struct lb_kapi *k)
{
	struct json_object *o = json_object_new_object(), *rq, *res;
	const struct lb_kapi_reflector *r;
	struct lb_kapi_status st;
	uint64_t now = lb_ev_now_ms();

	if (o == NULL)
		return NULL;
	lb_kapi_status(k, &st);
	json_object_object_add(o, "server", json_object_new_string(st.server));
	json_object_object_add(o, "source", json_object_new_string(st.source ? st.source : ""));
	json_object_object_add(o, "auth", json_object_new_string(st.auth));
	json_object_object_add(o, "shut_down", json_object_new_boolean(k->shut));
	rq = json_object_new_object();
	add_u64(rq, "running", st.requests_running);
	add_u64(rq, "queued", st.requests_queued);
	add_u64(rq, "completed", st.requests);
	add_u64(rq, "ok", st.requests_2xx);
	add_u64(rq, "http_error", st.requests_http_error);
	add_u64(rq, "failed", st.requests_failed);
	add_u64(rq, "cancelled", st.requests_cancelled);
	add_u64(rq, "rejected", st.requests_rejected);
	add_u64(rq, "auth_retries", st.auth_retries);
	json_object_object_add(o, "requests", rq);
	add_u64(o, "token_reloads", st.token_reloads);
	add_u64(o, "token_errors", st.token_errors);
	json_object_object_add(o, "token_error", json_object_new_string(st.token_error));
	add_u64(o, "paused", st.paused);
	add_u64(o, "budget_deferrals", st.budget_deferrals);
	res = json_object_new_array();
	for (r = k->refls; r != NULL; r = lb_kapi_refl_next_raw((struct lb_kapi_reflector *)r))
		json_object_array_add(res, lb_kapi_refl_status_json(r, now));
	json_object_object_add(o, "resources", res);
	return o;
}
