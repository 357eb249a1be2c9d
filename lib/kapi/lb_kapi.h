/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_KAPI_H
#define LB_KAPI_H

/*
 * The Kubernetes API client: connection settings (kubeconfig or in-cluster),
 * reflectors (paged LIST, then WATCH, relist on 410, reconnect with backoff)
 * and generic asynchronous requests. docs/kapi.md describes the behaviour.
 *
 * It runs on the control thread's event loop (lib/ev): libcurl's multi
 * interface registers its sockets and timers with struct lb_ev, nothing blocks
 * on the network, and response bodies are parsed chunk by chunk with json-c's
 * tokener under a time budget per loop pass, so a large LIST never makes one
 * pass long (parsing carries on in the next pass; curl is paused meanwhile).
 *
 * Single-threaded: every function is called from the loop's thread. Callbacks
 * are only ever made from lb_ev callbacks (never from inside the call that
 * started something, never from inside libcurl), so they may call any
 * function here except lb_kapi_destroy(), lb_kapi_shutdown() and
 * lb_kapi_reflector_free().
 *
 * Order at shutdown: lb_kapi_shutdown() (or lb_kapi_destroy()), then
 * lb_ev_destroy(): the client deregisters its fds and timers from the loop.
 */
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "lb_common.h"
#include "lb_ev.h"

/* ------------------------------------------------------------------------ */
/* Connection settings */

/*
 * Where and how to connect, loaded from a kubeconfig or the in-cluster
 * service-account files. Strings are heap copies owned by the struct; data
 * fields hold PEM bytes (decoded from the kubeconfig's base64). A file field
 * and the matching data field are never both set.
 */
struct lb_kapi_conf {
	char *server;		/* "https://host:port[/prefix]", no trailing '/' */
	char *source;		/* "kubeconfig PATH, context NAME" or "in-cluster" */
	char *context;		/* context name (kubeconfig only) */
	char *namespace;	/* the context's or the service account's; may be NULL */
	char *ca_file;		/* cluster CA bundle (PEM) */
	char *ca_data;
	size_t ca_len;
	bool insecure;		/* insecure-skip-tls-verify: no server verification */
	char *token;		/* static bearer token */
	char *token_file;	/* bearer token file, re-read when it changes; wins over token */
	char *cert_file;	/* client certificate (PEM) */
	char *cert_data;
	size_t cert_len;
	char *key_file;		/* its private key (PEM) */
	char *key_data;
	size_t key_len;
	char *proxy;		/* proxy-url; NULL: no proxy (environment variables ignored) */
	char *warnings;		/* "; "-separated notes for the log (ignored settings); may be NULL */
};

/*
 * Loads a kubeconfig (YAML or JSON). context NULL: the file's current-context.
 * Relative file names in it are relative to the kubeconfig's directory, as
 * kubectl reads them. Every file it names must be readable now, and the
 * certificates and keys must be PEM. Returns 0, or a negative errno with err
 * naming the file (and line for syntax errors) and what is wrong; c is then
 * left empty.
 */
int lb_kapi_conf_load_kubeconfig(struct lb_kapi_conf *c, const char *path, const char *context,
		char *err, size_t errlen);

/*
 * In-cluster settings: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
 * ROOT/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
 * root NULL or "" is the real root (tests pass a directory). The namespace
 * file is optional. Returns 0 or a negative errno with err set.
 */
int lb_kapi_conf_load_in_cluster(struct lb_kapi_conf *c, const char *root, char *err, size_t errlen);

/* kubeconfig when path is non-NULL, else in-cluster (root ""). */
int lb_kapi_conf_load(struct lb_kapi_conf *c, const char *kubeconfig, const char *context,
		char *err, size_t errlen);

/* Frees every field and zeroes c. */
void lb_kapi_conf_free(struct lb_kapi_conf *c);

/* ------------------------------------------------------------------------ */
/* The client */

struct lb_kapi;
struct lb_kapi_reflector;

enum lb_kapi_log_level {
	LB_KAPI_LOG_ERR,
	LB_KAPI_LOG_WARN,
	LB_KAPI_LOG_INFO,
	LB_KAPI_LOG_DEBUG,
};

/* One line, no newline. Called for every failure and state change; failures
 * are paced by the retry backoff, so the rate stays low. */
typedef void (*lb_kapi_log_fn)(void *ctx, enum lb_kapi_log_level level, const char *msg);

/* Tunables; 0 in any field selects the default in brackets. */
struct lb_kapi_params {
	const char *version;		/* User-Agent: lbd/VERSION ["0"] */
	lb_kapi_log_fn log;		/* [none] */
	void *log_ctx;
	uint32_t max_requests;		/* generic requests in flight [4] */
	uint32_t max_queued;		/* requests waiting beyond that [1024] */
	uint32_t request_timeout_ms;	/* per request unless it says [30000] */
	uint32_t connect_timeout_ms;	/* TCP + TLS set-up [10000] */
	uint32_t list_limit;		/* items per LIST page (`limit`) [100] */
	uint32_t list_idle_ms;		/* a LIST silent this long is abandoned [30000] */
	uint32_t watch_timeout_s;	/* `timeoutSeconds` drawn from [T, 2T) [300] */
	uint32_t watch_slack_ms;	/* a watch silent for timeoutSeconds + this is hung [30000] */
	uint32_t backoff_base_ms;	/* first retry delay [500] */
	uint32_t backoff_max_ms;	/* retry delay cap [30000] */
	uint32_t pass_budget_us;	/* parsing and delivery per loop pass [5000] */
	uint64_t seed;			/* jitter random seed [from getrandom()] */
};

/*
 * Creates a client on ev for the settings in conf (copied). Logs the
 * warnings conf carries (insecure-skip-tls-verify among them) through
 * p->log. Starts nothing. NULL on failure with err set.
 */
struct lb_kapi *lb_kapi_create(struct lb_ev *ev, const struct lb_kapi_conf *conf,
		const struct lb_kapi_params *p, char *err, size_t errlen);

/*
 * Stops every reflector (no more reflector callbacks) and completes every
 * queued or running request with err -ECANCELED (their callbacks run from
 * inside this call, so their contexts can be freed). Later requests fail
 * with -ESHUTDOWN. Idempotent. Not from a kapi callback.
 */
void lb_kapi_shutdown(struct lb_kapi *k);

/* lb_kapi_shutdown(), then frees the reflectors and the client. Before
 * lb_ev_destroy(). NULL is a no-op. Not from a kapi callback. */
void lb_kapi_destroy(struct lb_kapi *k);

/* ------------------------------------------------------------------------ */
/* Reflectors: LIST then WATCH one resource collection */

#define LB_KAPI_PATH_SERVICES		"/api/v1/services"
#define LB_KAPI_PATH_ENDPOINTSLICES	"/apis/discovery.k8s.io/v1/endpointslices"
#define LB_KAPI_PATH_NODES		"/api/v1/nodes"

#define LB_KAPI_RV_MAX		64	/* resourceVersion bytes kept, NUL included */
#define LB_KAPI_ERR_MAX		256

enum lb_kapi_event {
	LB_KAPI_ADDED,
	LB_KAPI_MODIFIED,
	LB_KAPI_DELETED,
};

enum lb_kapi_rstate {
	LB_KAPI_STOPPED,	/* not started, or stopped */
	LB_KAPI_LISTING,	/* a paged LIST is running */
	LB_KAPI_WATCHING,	/* a WATCH request is open */
	LB_KAPI_BACKOFF,	/* waiting to retry after a failure */
};

/*
 * What a reflector is doing, for `lbctl status`. Every finished LIST or WATCH
 * request that failed counts in exactly one of gone, http_errors,
 * transport_errors, stalls or decode_errors.
 */
struct lb_kapi_reflector_status {
	const char *name;
	const char *path;
	enum lb_kapi_rstate state;
	bool synced;			/* a relist has completed since the start */
	char resource_version[LB_KAPI_RV_MAX];	/* where a watch resumes; "" = relist */
	uint64_t last_event_ms;		/* lb_ev_now_ms() of the last event or bookmark; 0: none */
	uint64_t last_sync_ms;		/* of the last completed relist; 0: none */
	uint64_t retry_at_ms;		/* in BACKOFF: when the retry starts */
	char last_error[LB_KAPI_ERR_MAX];	/* "" until something fails */
	uint64_t last_error_ms;
	uint64_t list_pages;		/* LIST requests sent */
	uint64_t relists;		/* relists completed (relist_end delivered) */
	uint64_t list_restarts;		/* lists restarted from the first page mid-way */
	uint64_t watches;		/* WATCH requests sent */
	uint64_t watch_ends;		/* watches the server ended cleanly (timeoutSeconds) */
	uint64_t objects_listed;	/* objects delivered by relists */
	uint64_t events[3];		/* ADDED, MODIFIED, DELETED delivered by watches */
	uint64_t bookmarks;
	uint64_t gone;			/* 410 Gone, as an HTTP status or an ERROR event */
	uint64_t http_errors;		/* other non-200 answers and ERROR events */
	uint64_t unauthorized;		/* of which 401 */
	uint64_t throttled;		/* of which 429/503 with Retry-After */
	uint64_t transport_errors;	/* connect, TLS, reset, truncated */
	uint64_t stalls;		/* given up after silence (list_idle_ms, watch timeout + slack) */
	uint64_t decode_errors;		/* invalid JSON, malformed list or event */
};

/*
 * The consumer's callbacks; any may be NULL.
 *
 * A relist delivers relist_begin, the whole collection as LB_KAPI_ADDED
 * objects, then relist_end: objects the consumer held before relist_begin and
 * did not see again are gone. relist_begin comes when the first page has
 * arrived, so a failing LIST leaves the consumer's state alone (fail static).
 * A relist that fails after relist_begin starts over: relist_begin may come
 * again before relist_end, meaning "discard what came since the previous
 * relist_begin". Between relists, WATCH events arrive in order.
 *
 * object: obj is a new reference whose ownership passes to the callee, which
 * must json_object_put() it when done (it may keep it, or hand it to another
 * thread: the client holds no reference after the call). It is the
 * Kubernetes object as the API sent it (list items lack kind/apiVersion); for
 * DELETED, its last state.
 *
 * state: called on every change of st->state (for logs and `lbctl status`);
 * st is valid during the call. lb_kapi_reflector_status() reads it any time.
 */
struct lb_kapi_reflector_ops {
	void (*relist_begin)(void *ctx, struct lb_kapi_reflector *r);
	void (*object)(void *ctx, struct lb_kapi_reflector *r, enum lb_kapi_event type,
			struct json_object *obj);
	void (*relist_end)(void *ctx, struct lb_kapi_reflector *r, const char *resource_version);
	void (*state)(void *ctx, struct lb_kapi_reflector *r,
			const struct lb_kapi_reflector_status *st);
};

struct lb_kapi_reflector_conf {
	const char *name;		/* for logs and status: "services" */
	const char *path;		/* collection path: LB_KAPI_PATH_SERVICES */
	const char *label_selector;	/* NULL: all */
	const char *field_selector;	/* NULL: all */
};

/* A reflector on k, stopped. Strings and ops are copied. NULL on ENOMEM or
 * EINVAL (no path, or a path without a leading '/'). */
struct lb_kapi_reflector *lb_kapi_reflector_new(struct lb_kapi *k,
		const struct lb_kapi_reflector_conf *c,
		const struct lb_kapi_reflector_ops *ops, void *ctx);

/* Starts listing on the next loop pass (no callback from inside this call).
 * 0, -EALREADY when running, -ESHUTDOWN after lb_kapi_shutdown(). */
int lb_kapi_reflector_start(struct lb_kapi_reflector *r);

/* Aborts what runs; no callback after it returns. A later start relists. */
void lb_kapi_reflector_stop(struct lb_kapi_reflector *r);

/* Stops and frees r. NULL is a no-op. Not from a kapi callback. */
void lb_kapi_reflector_free(struct lb_kapi_reflector *r);

void lb_kapi_reflector_status(const struct lb_kapi_reflector *r,
		struct lb_kapi_reflector_status *st);

/* Abandons the current watch or list and relists (e.g. a periodic resync or
 * `lbctl` asking for one). 0 or -EINVAL when stopped. */
int lb_kapi_reflector_relist(struct lb_kapi_reflector *r);

const char *lb_kapi_rstate_name(enum lb_kapi_rstate s);
const char *lb_kapi_event_name(enum lb_kapi_event e);

/* ------------------------------------------------------------------------ */
/* Generic requests (the controller's status writes, finalizers, events) */

struct lb_kapi_request {
	const char *method;		/* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *path;		/* "/api/v1/namespaces/NS/services/NAME/status" */
	const char *query;		/* "fieldManager=lbd" (no '?', escaped); NULL: none */
	const char *content_type;	/* "application/merge-patch+json"; NULL: no body */
	const char *body;		/* copied; NULL: no body */
	size_t body_len;
	uint32_t timeout_ms;		/* from when it starts; 0: params default */
};

#define LB_KAPI_RAW_MAX		65536	/* raw body bytes kept for a response */

/*
 * What came back; valid during the callback only.
 *
 * err: 0 when an HTTP answer arrived (any status); else -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH, -EPROTO (TLS failure), -ECONNRESET, -EIO,
 * -ENOMEM, or -ECANCELED from lb_kapi_shutdown().
 *
 * body: the parsed JSON body (a 2xx object, or a 4xx/5xx Status) when the
 * answer said application/json and parsed; borrowed: json_object_get() it to
 * keep it. raw: the first LB_KAPI_RAW_MAX bytes of the body, NUL-terminated,
 * for answers that are not JSON. error: a one-line explanation ("" on 2xx):
 * the Status message, the raw body's first line or the transport error.
 */
struct lb_kapi_response {
	int err;
	long status;			/* HTTP status; 0 without an answer */
	struct json_object *body;
	const char *raw;
	size_t raw_len;
	const char *error;
	int64_t retry_after_s;		/* Retry-After in seconds; -1 when absent */
};

typedef void (*lb_kapi_done_fn)(void *ctx, const struct lb_kapi_response *resp);

/*
 * Queues a request; it starts when fewer than max_requests run. On a 401,
 * when the token comes from a file and re-reading it yields a new token, the
 * request is sent once more before it completes. fn runs exactly once, from a
 * later loop pass, unless lb_kapi_cancel() stops it first. Returns an id
 * (> 0), or -EINVAL, -ENOBUFS (queue full), -ENOMEM, -ESHUTDOWN.
 */
int64_t lb_kapi_request(struct lb_kapi *k, const struct lb_kapi_request *rq,
		lb_kapi_done_fn fn, void *ctx);

/* Aborts request id; its callback is not called. 0, or -ENOENT when it has
 * completed already (or never existed). */
int lb_kapi_cancel(struct lb_kapi *k, int64_t id);

/* ------------------------------------------------------------------------ */
/* Status */

struct lb_kapi_status {
	const char *server;
	const char *source;
	const char *auth;		/* "token file PATH", "token", "client certificate", ... */
	uint32_t requests_running;
	uint32_t requests_queued;
	uint64_t requests;		/* completed: 2xx + http_error + failed */
	uint64_t requests_2xx;
	uint64_t requests_http_error;	/* completed with a non-2xx status */
	uint64_t requests_failed;	/* completed without an answer (timeout, transport) */
	uint64_t requests_cancelled;
	uint64_t requests_rejected;	/* refused at lb_kapi_request() (queue full) */
	uint64_t auth_retries;		/* 401s retried with a re-read token */
	uint64_t token_reloads;		/* token file read with a new value */
	uint64_t token_errors;		/* token file unreadable or empty */
	char token_error[LB_KAPI_ERR_MAX];	/* last token file error, "" when fine */
	uint64_t paused;		/* transfers paused because parsing lagged */
	uint64_t budget_deferrals;	/* passes that left parsing for the next pass */
};

void lb_kapi_status(const struct lb_kapi *k, struct lb_kapi_status *st);

/* The client's and every reflector's status as a JSON object (a new
 * reference), for `lbctl status`. NULL on ENOMEM. */
struct json_object *lb_kapi_status_json(const struct lb_kapi *k);

/* The reflectors of k, in creation order: pass NULL for the first. */
struct lb_kapi_reflector *lb_kapi_reflector_next(const struct lb_kapi *k,
		const struct lb_kapi_reflector *r);

#endif /* LB_KAPI_H */
