/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_KAPI_PRIV_H
#define LB_KAPI_PRIV_H

/* Shared by the files of lib/kapi; not installed. */
#include <curl/curl.h>

#include "lb_ev_curl.h"
#include "lb_kapi.h"
#include "lb_kapi_util.h"

/* A transfer stops reading (CURL_WRITEFUNC_PAUSE) while this much received
 * data waits to be parsed, and resumes below the low mark: memory stays
 * bounded however fast the server sends. */
#define XFER_HIGH_WATER		(256 * 1024)
#define XFER_LOW_WATER		(64 * 1024)
/* Bytes handed to the tokener between two looks at the clock. */
#define PARSE_CHUNK		(4 * 1024)
/* Error bodies kept for the message. */
#define ERR_BODY_MAX		8192
#define LIST_PAGE_MAX		(256u << 20)	/* largest LIST page accepted */
#define WATCH_EVENT_MAX		(16u << 20)	/* largest watch event accepted */

enum xfer_kind {
	XFER_REQ,
	XFER_REFL,
};

/*
 * One HTTP exchange on the multi handle. The write callback only appends to
 * in[]; the owner parses it from pump(), outside libcurl, under the pass
 * budget. Released transfers are unlinked from their owner at once and freed
 * when no pump() is running.
 */
struct xfer {
	struct lb_kapi *k;
	struct xfer *next;		/* k->xfers */
	struct xfer *prev;
	CURL *h;
	struct curl_slist *hdrs;
	enum xfer_kind kind;
	void *owner;			/* struct kreq or struct lb_kapi_reflector */
	char *in;			/* received, not yet parsed: in[in_off..in_len) */
	size_t in_off;
	size_t in_len;
	size_t in_cap;
	bool paused;			/* we returned CURL_WRITEFUNC_PAUSE */
	bool done;			/* finished (or aborted) and out of the multi handle */
	bool dead;			/* released by its owner */
	bool stalled;			/* aborted by the idle watchdog */
	bool oom;			/* the write callback could not buffer */
	CURLcode result;
	long status;			/* HTTP status; 0 until known */
	int64_t retry_after;		/* seconds, -1: none */
	uint32_t idle_ms;		/* silence tolerated; 0: no watchdog */
	uint64_t last_rx_ms;
	uint64_t rx_bytes;
	char errbuf[CURL_ERROR_SIZE];
};

struct kreq;

struct lb_kapi {
	struct lb_ev *ev;
	CURLM *multi;
	struct lb_kapi_conf conf;
	struct lb_kapi_params p;
	char *user_agent;
	char *auth_desc;
	struct lb_kapi_token tok;
	bool tok_file;
	struct lb_ev_curl *curl;	/* multi (above) on the loop (lib/evcurl) */
	struct lb_ev_timer *drain_timer;	/* parsing left for the next pass */
	struct lb_ev_timer *kick_timer;	/* start queued requests */
	struct lb_ev_timer *idle_timer;	/* the silence watchdog */
	struct xfer *xfers;
	struct lb_kapi_reflector *refls;
	struct kreq *q_head;		/* queued requests */
	struct kreq *q_tail;
	struct kreq *running;		/* started requests */
	uint32_t n_queued;
	uint32_t n_running;
	int64_t next_id;
	uint64_t rng;
	bool shut;
	int in_pump;
	bool reap_needed;
	uint64_t budget_pass;		/* lb_ev pass the budget below belongs to */
	uint64_t budget_used_us;
	uint64_t deadline_us;		/* end of this pump()'s share of the budget */
	unsigned rr;			/* reflector served first, rotating */
	struct lb_kapi_status st;
};

/* lb_kapi.c */
char *lb_kapi_dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lb_kapi_log(struct lb_kapi *k, enum lb_kapi_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t lb_kapi_now_us(void);
bool lb_kapi_over_budget(const struct lb_kapi *k);
void lb_kapi_want_drain(struct lb_kapi *k);
int lb_kapi_token_reload(struct lb_kapi *k, bool force);
/* The Status message in an error body, else its first line. */
void lb_kapi_body_message(const char *body, size_t len, char *msg, size_t msglen);

/* lb_kapi_xfer.c */
int lb_kapi_loop_attach(struct lb_kapi *k);
void lb_kapi_loop_detach(struct lb_kapi *k);
struct xfer *lb_kapi_xfer_start(struct lb_kapi *k, enum xfer_kind kind, void *owner,
		const char *method, const char *path, const char *query,
		const char *ctype, const char *body, size_t body_len,
		uint32_t timeout_ms, uint32_t idle_ms, char *err, size_t errlen);
void lb_kapi_xfer_release(struct xfer *x);
long lb_kapi_xfer_status(struct xfer *x);
void lb_kapi_xfer_consumed(struct xfer *x);
/* errno for a failed transfer and a message */
int lb_kapi_xfer_error(const struct xfer *x, char *msg, size_t len);

/* lb_kapi_conf.c */
int lb_kapi_conf_copy(struct lb_kapi_conf *d, const struct lb_kapi_conf *s);

/* lb_kapi_doc.c */
void lb_kapi_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A regular file of at most 4 MiB, read whole and NUL-terminated. */
int lb_kapi_read_file(const char *path, char **out, size_t *out_len, char *err, size_t errlen);
/* A YAML or JSON document as a json-c tree (YAML scalars become strings or
 * null); errors carry path:line:column. */
int lb_kapi_parse_doc(const char *path, const char *buf, size_t len, struct json_object **out,
		char *err, size_t errlen);
/* 0 with the string (NULL when absent, null or empty), -EINVAL if not a string. */
int lb_kapi_opt_str(struct json_object *o, const char *key, const char **out);
/* A boolean, or a YAML 1.1 boolean word; false when absent; -EINVAL otherwise. */
int lb_kapi_opt_bool(struct json_object *o, const char *key, bool *out);

/* lb_kapi_refl.c */
struct lb_kapi_reflector *lb_kapi_refl_next_raw(struct lb_kapi_reflector *r);
bool lb_kapi_refl_work(struct lb_kapi_reflector *r);
void lb_kapi_refl_free_all(struct lb_kapi *k);
void lb_kapi_refl_stop_all(struct lb_kapi *k);
struct json_object *lb_kapi_refl_status_json(const struct lb_kapi_reflector *r, uint64_t now);

/* lb_kapi_req.c */
bool lb_kapi_req_work_all(struct lb_kapi *k);
void lb_kapi_req_kick(void *ctx);
void lb_kapi_req_cancel_all(struct lb_kapi *k);

#endif /* LB_KAPI_PRIV_H */
