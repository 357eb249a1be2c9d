/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_HEALTH_PRIV_H
#define LB_HEALTH_PRIV_H

/* Shared by the engine's files only (lb_health_engine.c, lb_health_http.c). */
#include <curl/curl.h>

#include "lb_ev_curl.h"
#include "lb_health.h"

struct lb_health_check {
	struct lb_health_engine *e;
	struct lb_health_check *prev, *next;	/* the engine's list */
	struct lb_health_spec spec;
	struct lb_ip addr;
	uint16_t port;			/* probed, network order */
	void *user;
	struct lb_health_sm sm;
	struct lb_ev_timer *timer;	/* next probe, or the deadline of the one in flight */
	uint32_t seq;			/* of the probe in flight */
	uint64_t started_us;
	int fd;				/* TCP probe in flight: its socket; else -1 */
	CURL *easy;			/* HTTP: kept between probes */
	bool in_multi;			/* HTTP probe in flight */
	struct curl_slist *headers;
	char *body;			/* LB_HEALTH_BODY_MAX bytes */
	size_t body_len;
	char errbuf[CURL_ERROR_SIZE];
};

struct lb_health_engine {
	struct lb_ev *ev;
	struct lb_ev_curl *curl;		/* libcurl's multi handle on the loop */
	CURLM *multi;			/* lb_ev_curl_multi(curl) */
	struct lb_health_bind bind;
	lb_health_done_fn done;
	void *ctx;
	struct lb_health_check *head;
	struct lb_health_engine_stats st;
};

uint64_t lb_health_mono_us(void);

/* Applies the engine's bind settings to a new socket: 0 or -errno. */
int lb_health_bind_socket(const struct lb_health_bind *b, int fd, int family);

/* Ends c's probe in flight with r: counts it, feeds the state machine,
 * re-arms the timer and calls the user back (the last thing done with c). */
void lb_health_finish(struct lb_health_check *c, struct lb_health_result *r);

/* HTTP probes (lb_health_http.c). */
int lb_health_http_init(struct lb_health_engine *e, char *err, size_t errlen);
void lb_health_http_fini(struct lb_health_engine *e);
/* Starts an HTTP probe of c; on an immediate failure fills r and returns
 * -1 (the caller finishes), else 0. */
int lb_health_http_start(struct lb_health_check *c, struct lb_health_result *r);
/* Aborts c's HTTP probe in flight (no result). */
void lb_health_http_abort(struct lb_health_check *c);
/* Frees c's HTTP state. */
void lb_health_http_free(struct lb_health_check *c);

#endif /* LB_HEALTH_PRIV_H */
