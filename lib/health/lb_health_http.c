/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP(S) probes with libcurl's multi interface, driven by the event loop:
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); lb_ev does the waiting. Target
 * addresses are literal, so curl never resolves a name (no resolver
 * thread, no blocking). Every probe uses a fresh connection, closed after
 * the answer, as a load balancer's check should.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "lb_health_priv.h"

#define USER_AGENT	"lbd-health/1"

/* --- the multi handle on lb_ev (lib/evcurl) --- */

static void check_done(struct lb_health_engine *e);

static void
after_curl(void *ctx)
{
	check_done(ctx);
}

int
lb_health_http_init(struct lb_health_engine *e, char *err, size_t errlen)
{
	static bool global_done;

	if (!global_done) {
		/* not thread-safe in old libcurls: lbd creates its engine at start */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "cannot initialise libcurl");
			return -EINVAL;
		}
		global_done = true;
	}
	e->curl = lb_ev_curl_new(e->ev, after_curl, e);
	if (e->curl == NULL) {
		snprintf(err, errlen, "cannot create libcurl's multi handle");
		return -ENOMEM;
	}
	e->multi = lb_ev_curl_multi(e->curl);
	return 0;
}

void
lb_health_http_fini(struct lb_health_engine *e)
{
	lb_ev_curl_free(e->curl);
	e->curl = NULL;
	e->multi = NULL;
}

/* --- one probe --- */

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct lb_health_check *c = userp;
	size_t n = size * nmemb, room = LB_HEALTH_BODY_MAX - c->body_len;

	/* what does not fit is not needed (the body rule reads the start) */
	if (c->body != NULL && room > 0) {
		memcpy(c->body + c->body_len, data, LB_MIN(n, room));
		c->body_len += LB_MIN(n, room);
	}
	return n;
}

static int
sockopt_cb(void *userp, curl_socket_t fd, curlsocktype purpose)
{
	struct lb_health_check *c = userp;
	int family = c->addr.family == LB_AF_INET6 ? AF_INET6 : AF_INET;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKOPT_OK;
	if (lb_health_bind_socket(&c->e->bind, fd, family) != 0)
		return CURL_SOCKOPT_ERROR;
	return CURL_SOCKOPT_OK;
}

static int
setup(struct lb_health_check *c)
{
	char url[LB_IP_STRLEN + LB_HEALTH_PATH_MAX + 32], a[LB_IP_STRLEN];
	char host[LB_HEALTH_HOST_MAX + 8];
	bool v6 = c->addr.family == LB_AF_INET6;
	bool tls = c->spec.kind == LB_HEALTH_HTTPS;
	CURL *h;

	h = curl_easy_init();
	c->body = malloc(LB_HEALTH_BODY_MAX);
	if (h == NULL || c->body == NULL) {
		if (h != NULL)
			curl_easy_cleanup(h);
		free(c->body);
		c->body = NULL;
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s://%s%s%s:%u%s", tls ? "https" : "http", v6 ? "[" : "",
		lb_ip_fmt(&c->addr, a), v6 ? "]" : "", ntohs(c->port), c->spec.path);
	if (c->spec.host[0] != '\0') {
		snprintf(host, sizeof(host), "Host: %s", c->spec.host);
		c->headers = curl_slist_append(NULL, host);
		if (c->headers == NULL) {
			curl_easy_cleanup(h);
			free(c->body);
			c->body = NULL;
			return -ENOMEM;
		}
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_PRIVATE, c);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, c);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	/* Our own timer ends the probe at timeout_ms; curl's limit is a
	 * backstop that never fires first. */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->spec.timeout_ms + 1000);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->spec.tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->spec.tls_verify ? 2L : 0L);
	c->easy = h;
	return 0;
}

int
lb_health_http_start(struct lb_health_check *c, struct lb_health_result *r)
{
	CURLMcode mc;

	if (c->easy == NULL && setup(c) != 0) {
		snprintf(r->reason, sizeof(r->reason), "out of memory");
		return -1;
	}
	c->body_len = 0;
	c->errbuf[0] = '\0';
	mc = curl_multi_add_handle(c->e->multi, c->easy);
	if (mc != CURLM_OK) {
		snprintf(r->reason, sizeof(r->reason), "libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	c->in_multi = true;
	return 0;
}

void
lb_health_http_abort(struct lb_health_check *c)
{
	if (!c->in_multi)
		return;
	curl_multi_remove_handle(c->e->multi, c->easy);
	c->in_multi = false;
}

void
lb_health_http_free(struct lb_health_check *c)
{
	lb_health_http_abort(c);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	c->easy = NULL;
	curl_slist_free_all(c->headers);
	c->headers = NULL;
	free(c->body);
	c->body = NULL;
}

/* The verdict on a finished transfer. */
static void
judge(struct lb_health_check *c, CURLcode rc, struct lb_health_result *r)
{
	long status = 0, oserr = 0;

	if (rc != CURLE_OK) {
		if (rc == CURLE_OPERATION_TIMEDOUT) {
			r->timed_out = true;
			snprintf(r->reason, sizeof(r->reason), "timeout after %u ms",
				c->sm.timeout_ms);
		} else if (rc == CURLE_COULDNT_CONNECT &&
			   curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK &&
			   oserr != 0) {
			snprintf(r->reason, sizeof(r->reason), "connect: %s", strerror((int)oserr));
		} else {
			snprintf(r->reason, sizeof(r->reason), "%.*s", (int)sizeof(r->reason) - 1,
				c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		}
		return;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	r->http_status = (int)status;
	if (c->spec.body == LB_HEALTH_BODY_KUBE_PROXY) {
		r->ok = lb_health_kube_proxy_ok(status, c->body, c->body_len, r->reason,
			sizeof(r->reason));
		if (r->ok && !lb_health_status_expected(&c->spec, status)) {
			r->ok = false;
			snprintf(r->reason, sizeof(r->reason), "HTTP %ld (not an expected status)",
				status);
		}
		return;
	}
	r->ok = lb_health_status_expected(&c->spec, status);
	snprintf(r->reason, sizeof(r->reason), "HTTP %ld%s", status,
		r->ok ? "" : " (not an expected status)");
}

static void
check_done(struct lb_health_engine *e)
{
	struct lb_health_result r;
	struct lb_health_check *c;
	CURLMsg *m;
	int left;

	/* The user's callback may remove checks: curl then drops their
	 * messages from the queue, so each message read is still valid. */
	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		c = (struct lb_health_check *)(void *)priv;
		if (c == NULL || !c->in_multi)
			continue;
		memset(&r, 0, sizeof(r));
		judge(c, m->data.result, &r);
		lb_health_http_abort(c);	/* out of the multi, ready for the next probe */
		lb_health_finish(c, &r);
	}
}
