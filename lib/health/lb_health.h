/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_HEALTH_H
#define LB_HEALTH_H

/*
 * Active health checks of targets.
 *
 *   spec (config / Kubernetes defaults) ──► check = state machine + probe
 *        probe result ──► state machine ──► state change ──► caller marks the overlay
 *
 * Three layers, usable apart:
 * - The spec (struct lb_health_spec): how to check a target (kind, port,
 *   path, expected statuses, timing). lib/config fills it from a `health`
 *   group, lb_health_k8s_spec() from a Kubernetes frontend.
 * - The state machine (struct lb_health_sm): pure, with the clock passed
 *   in as now_ms. It decides when a probe is due (interval shortened by a
 *   seeded jitter, so checks do not fire in lockstep), times probes out,
 *   counts consecutive results and reports state changes (rise / fall
 *   thresholds damp flapping).
 * - The engine (struct lb_health_engine): probes on the control thread's
 *   event loop (lib/ev) without ever blocking it: TCP connect with
 *   non-blocking sockets, HTTP(S) GET with libcurl's multi interface
 *   driven by lb_ev fds and a timer. It calls back after every probe.
 *
 * States: a new check is UNKNOWN (its targets are treated as healthy); one
 * success makes it UP, `fall` consecutive failures DOWN. From UP, `fall`
 * consecutive failures make it DOWN; from DOWN, `rise` consecutive
 * successes make it UP. A probe starts at most every interval_ms (minus
 * jitter), so a target that stops answering is DOWN within
 * fall * interval_ms + timeout_ms, and back UP within rise * interval_ms
 * (plus the probes' latency) once it answers again.
 *
 * Ports and IPv4 addresses are in network order (lb_common.h).
 * Threads: everything here belongs to the thread that runs the event loop.
 */
#include "lb_common.h"
#include "lb_addr.h"
#include "lb_ev.h"
#include "lb_model.h"

enum lb_health_kind {
	LB_HEALTH_NONE = 0,	/* not checked */
	LB_HEALTH_TCP = 1,	/* the connection is accepted */
	LB_HEALTH_HTTP = 2,	/* GET path answers an expected status (and body) */
	LB_HEALTH_HTTPS = 3,
};

/* What an HTTP answer's body must say, beyond the status. */
enum lb_health_body {
	LB_HEALTH_BODY_ANY = 0,
	/* kube-proxy's healthz JSON: an object; when it has "localEndpoints"
	 * (the healthCheckNodePort of a Local Service), that number is > 0. */
	LB_HEALTH_BODY_KUBE_PROXY = 1,
};

#define LB_HEALTH_PATH_MAX	256
#define LB_HEALTH_HOST_MAX	256
#define LB_HEALTH_EXPECT_MAX	8
#define LB_HEALTH_REASON_MAX	LB_MODEL_REASON_MAX
#define LB_HEALTH_BODY_MAX	4096	/* bytes of a body kept for the body rule */
#define LB_HEALTH_IFNAME_MAX	16	/* IFNAMSIZ */

/* Defaults and ranges (docs/config.md lists the same). */
#define LB_HEALTH_DEF_INTERVAL_MS	2000
#define LB_HEALTH_DEF_TIMEOUT_MS	1000
#define LB_HEALTH_DEF_RISE		2
#define LB_HEALTH_DEF_FALL		3
#define LB_HEALTH_DEF_JITTER_PCT	10
#define LB_HEALTH_DEF_PATH		"/"
#define LB_HEALTH_KUBE_PROXY_PORT	10256
#define LB_HEALTH_KUBE_PROXY_PATH	"/healthz"
#define LB_HEALTH_MIN_INTERVAL_MS	50
#define LB_HEALTH_MAX_INTERVAL_MS	3600000
#define LB_HEALTH_MIN_TIMEOUT_MS	10
#define LB_HEALTH_MAX_THRESHOLD		100
#define LB_HEALTH_MAX_JITTER_PCT	50

/* An inclusive range of HTTP status codes. */
struct lb_health_expect {
	uint16_t lo;
	uint16_t hi;
};

/* How to check a target. Plain data: copy and compare freely (zero it
 * before filling so that lb_health_spec_equal can compare strings). */
struct lb_health_spec {
	uint8_t kind;		/* enum lb_health_kind */
	uint8_t body;		/* enum lb_health_body (HTTP kinds) */
	bool tls_verify;	/* HTTPS: verify the certificate and host name */
	uint16_t port;		/* port to probe, network order; 0 = the target's */
	uint32_t interval_ms;
	uint32_t timeout_ms;	/* <= interval_ms */
	uint32_t rise;		/* 1..LB_HEALTH_MAX_THRESHOLD */
	uint32_t fall;
	uint32_t jitter_pct;	/* 0..LB_HEALTH_MAX_JITTER_PCT: interval shortened by up to this */
	uint32_t n_expect;	/* 0 = 200..399 (kube-proxy body rule: 200 only) */
	struct lb_health_expect expect[LB_HEALTH_EXPECT_MAX];
	char path[LB_HEALTH_PATH_MAX];	/* HTTP: starts with '/' */
	char host[LB_HEALTH_HOST_MAX];	/* HTTP Host header; "" = address:port */
};

/* kind NONE, default timing, path "/", no expected statuses (200..399). */
void lb_health_spec_default(struct lb_health_spec *s);

/* Cross-field checks: ranges, timeout <= interval, path and host free of
 * control characters and blanks, path starting with '/', expect ranges
 * within 100..599 with lo <= hi. 0 or -EINVAL with a message naming the
 * key ("timeout_ms 3000 exceeds interval_ms 2000"). */
int lb_health_spec_validate(const struct lb_health_spec *s, char *err, size_t errlen);

bool lb_health_spec_equal(const struct lb_health_spec *a, const struct lb_health_spec *b);
/* A hash of everything lb_health_spec_equal compares. */
uint64_t lb_health_spec_hash(const struct lb_health_spec *s);

/* Whether status is expected by s (its ranges, or the default). */
bool lb_health_status_expected(const struct lb_health_spec *s, long status);

/* "none" "tcp" "http" "https"; "any" "kube-proxy". NULL when out of range. */
const char *lb_health_kind_str(uint8_t kind);
const char *lb_health_body_str(uint8_t body);
/* Parses the names above; 0 or -EINVAL. */
int lb_health_kind_parse(const char *s, uint8_t *kind);
int lb_health_body_parse(const char *s, uint8_t *body);

/* Port probed for a target on port target_port (network order). */
static inline uint16_t
lb_health_probe_port(const struct lb_health_spec *s, uint16_t target_port)
{
	return s->port != 0 ? s->port : target_port;
}

/*
 * One line describing what is probed: "tcp 10.0.0.1:80",
 * "http 10.0.0.1:10256/healthz", "https [2001:db8::1]:443/". Returns buf.
 */
#define LB_HEALTH_DESC_MAX	(LB_IP_STRLEN + LB_HEALTH_PATH_MAX + 32)
char *lb_health_describe(const struct lb_health_spec *s, const struct lb_ip *addr,
	uint16_t port, char *buf, size_t len);

/* --- the state machine --- */

enum lb_health_state {
	LB_HEALTH_UNKNOWN = 0,	/* no verdict yet: treated as healthy */
	LB_HEALTH_UP = 1,
	LB_HEALTH_DOWN = 2,
};

/* "unknown" "up" "down". */
const char *lb_health_state_str(uint8_t state);

/* A probe's outcome. */
struct lb_health_result {
	bool ok;
	bool timed_out;
	int http_status;	/* 0 when there was none */
	uint32_t latency_us;	/* start to result */
	char reason[LB_HEALTH_REASON_MAX];	/* failed: why ("HTTP 503", "connect: Connection
						 * refused", "timeout after 1000 ms"); ok: what ("HTTP 200") */
};

/* What a result did to the state. */
enum lb_health_change {
	LB_HEALTH_SAME = 0,
	LB_HEALTH_WENT_UP = 1,		/* from DOWN, or from UNKNOWN (the first verdict) */
	LB_HEALTH_WENT_DOWN = 2,	/* from UP or UNKNOWN */
};

/*
 * Written by lb_health_sm_* only; readers (lbctl) take what they need.
 * Times are the caller's clock in milliseconds.
 */
struct lb_health_sm {
	/* parameters (from the spec) */
	uint32_t interval_ms;
	uint32_t timeout_ms;
	uint32_t rise;
	uint32_t fall;
	uint32_t jitter_pct;
	uint64_t rng;		/* jitter generator state, seeded per check */

	uint8_t state;		/* enum lb_health_state */
	bool inflight;
	uint32_t seq;		/* of the probe in flight, or of the last one */
	uint32_t ok_run;	/* consecutive successes */
	uint32_t fail_run;	/* consecutive failures */
	uint64_t due_ms;	/* not in flight: when the next probe starts */
	uint64_t started_ms;	/* in flight: when it started */
	uint64_t last_ms;	/* when the last result came; 0 = none yet */
	uint64_t changed_ms;	/* when the state last changed; 0 = never */
	struct lb_health_result last;
	uint64_t n_ok;
	uint64_t n_failed;
	uint64_t n_timeouts;
};

/*
 * Initialises sm from spec's timing. The first probe is due at a point in
 * [now, now + interval) drawn from seed (a stable per-check value, e.g. a
 * hash of the check's address and port), so that many checks created at
 * once spread over one interval.
 */
void lb_health_sm_init(struct lb_health_sm *sm, const struct lb_health_spec *spec,
	uint64_t seed, uint64_t now_ms);

/* When the caller must come back: the next probe's start, or, while one is
 * in flight, its deadline (started + timeout). */
uint64_t lb_health_sm_next(const struct lb_health_sm *sm);

/* Starts a probe (the caller launches it); returns its sequence number.
 * Call when not in flight and now_ms >= due_ms. */
uint32_t lb_health_sm_start(struct lb_health_sm *sm, uint64_t now_ms);

/*
 * The result of probe seq. Schedules the next probe interval_ms (minus
 * jitter) after this one started, never before now. Returns an enum
 * lb_health_change, or -ESTALE when seq is not the probe in flight (it was
 * cancelled or timed out: nothing changes).
 */
int lb_health_sm_result(struct lb_health_sm *sm, uint32_t seq, const struct lb_health_result *r,
	uint64_t now_ms);

/* The probe in flight failed by timing out at now_ms (>= its deadline):
 * a failed result "timeout after N ms". -ESTALE when none is in flight. */
int lb_health_sm_timeout(struct lb_health_sm *sm, uint64_t now_ms);

/* Forgets the probe in flight (its result, if it ever comes, is stale);
 * the next one is scheduled as after a result. No effect on the state. */
void lb_health_sm_cancel(struct lb_health_sm *sm, uint64_t now_ms);

/* --- overlay marks --- */

/* A target that a check speaks for: frontend fe's target addr:port. */
struct lb_health_user {
	const char *fe;		/* frontend name */
	struct lb_ip addr;
	uint16_t port;		/* network order */
};

/*
 * Makes the overlay agree with a check's verdict for each of its users:
 * down marks (fe, addr, port) unhealthy with reason, anything else removes
 * the mark. Marks are per frontend and port, so a check never touches
 * another frontend's targets (or another source's marks). Returns how many
 * marks changed (0: the overlay already agreed; a mark present with
 * another reason counts as a change), or -ENOMEM.
 */
int lb_health_mark(struct lb_overlay *ov, const struct lb_health_user *users, uint32_t n,
	bool down, const char *reason);

/* --- Kubernetes defaults --- */

/* What lbd knows of a Kubernetes Service beyond its model frontends. */
struct lb_health_k8s_svc {
	bool local;		/* externalTrafficPolicy: Local */
	bool node_targets;	/* targets are NodeIP:NodePort (else PodIP:targetPort) */
	uint16_t hc_node_port;	/* spec.healthCheckNodePort, network order; 0 = none */
};

/* The config's word on Kubernetes checks (health.kubernetes). */
struct lb_health_k8s_conf {
	bool nodes;		/* check node targets through kube-proxy (default true) */
	uint16_t proxy_port;	/* kube-proxy's healthz port, network order (10256) */
	struct lb_health_spec node;	/* timing (and TLS) of node checks; kind, port,
					 * path and body are set by lb_health_k8s_spec */
	struct lb_health_spec pod;	/* the check of pod targets: kind TCP to the
					 * target's port by default; NONE disables */
};

/* nodes true, port 10256, node = default timing, pod = TCP with default timing. */
void lb_health_k8s_conf_default(struct lb_health_k8s_conf *c);

/*
 * The check of every target of Kubernetes frontend fe (they are all nodes
 * or all pods), as cloud providers do:
 *   - node targets, Local with a healthCheckNodePort:
 *       HTTP GET NodeIP:healthCheckNodePort/healthz, 200 with
 *       localEndpoints > 0 (kube-proxy answers 503 without local endpoints)
 *   - node targets otherwise (Cluster): HTTP GET NodeIP:10256/healthz
 *     (kube-proxy's own health), 200
 *   - pod targets: conf->pod (TCP connect to the target port by default)
 * svc NULL means "not known": node targets are assumed for FullNAT
 * frontends (lib/k8s maps Cluster Services to nodes with FullNAT) and pods
 * for DNAT ones, without a healthCheckNodePort. Returns 0 with *out filled
 * (kind NONE when the target is not to be checked), or -EINVAL when fe is
 * not from Kubernetes.
 */
int lb_health_k8s_spec(const struct lb_model_fe *fe, const struct lb_health_k8s_svc *svc,
	const struct lb_health_k8s_conf *conf, struct lb_health_spec *out);

/*
 * The kube-proxy body rule on an answer with status and body (len bytes,
 * not NUL-terminated): true when the status is 200 and the body is a JSON
 * object whose "localEndpoints", if present, is a number > 0. Otherwise
 * false with the reason ("HTTP 503, localEndpoints 0", "localEndpoints 0",
 * "body is not kube-proxy's JSON").
 */
bool lb_health_kube_proxy_ok(long status, const char *body, size_t len, char *reason,
	size_t reason_len);

/* --- the engine --- */

/* Where probes leave from: both optional. */
struct lb_health_bind {
	char ifname[LB_HEALTH_IFNAME_MAX];	/* SO_BINDTODEVICE; "" = any */
	struct lb_ip source;			/* bind() source address; family 0 = any */
};

struct lb_health_engine;
struct lb_health_check;

/*
 * Called after every probe of c (success, failure or timeout) with what it
 * did to the state, the result, and the user pointer given to
 * lb_health_add. The callback may remove c (and other checks).
 */
typedef void (*lb_health_done_fn)(void *ctx, struct lb_health_check *c, void *user,
	enum lb_health_change change, const struct lb_health_result *r);

/* An engine on ev. NULL with err set (libcurl could not be initialised,
 * ENOMEM). */
struct lb_health_engine *lb_health_engine_new(struct lb_ev *ev, const struct lb_health_bind *bind,
	lb_health_done_fn done, void *ctx, char *err, size_t errlen);
/* Removes every check (probes in flight are aborted, no callback) and
 * frees the engine. NULL is a no-op. */
void lb_health_engine_free(struct lb_health_engine *e);
/* Applies to probes started from now on. */
void lb_health_engine_set_bind(struct lb_health_engine *e, const struct lb_health_bind *bind);

/*
 * A check of addr:target_port (the port probed is spec->port or
 * target_port) with spec (kind not NONE), seeded with seed for its start
 * offset and jitter. It starts probing by itself. NULL on ENOMEM or an
 * invalid spec (errno EINVAL).
 */
struct lb_health_check *lb_health_add(struct lb_health_engine *e, const struct lb_health_spec *spec,
	const struct lb_ip *addr, uint16_t target_port, uint64_t seed, void *user);
/* Stops c at once, aborting a probe in flight (its connection is closed;
 * no callback follows) and frees it. NULL is a no-op. */
void lb_health_remove(struct lb_health_engine *e, struct lb_health_check *c);

const struct lb_health_sm *lb_health_check_sm(const struct lb_health_check *c);
const struct lb_health_spec *lb_health_check_spec(const struct lb_health_check *c);
/* The address and port probed (network order). */
const struct lb_ip *lb_health_check_addr(const struct lb_health_check *c);
uint16_t lb_health_check_port(const struct lb_health_check *c);

struct lb_health_engine_stats {
	uint32_t checks;
	uint32_t inflight;
	uint64_t probes;	/* started */
	uint64_t ok;
	uint64_t failed;	/* timeouts included */
	uint64_t timeouts;
	uint64_t aborted;	/* in flight when their check was removed */
};
void lb_health_engine_stats(const struct lb_health_engine *e, struct lb_health_engine_stats *st);

#endif /* LB_HEALTH_H */
