/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_K8S_CTRL_H
#define LB_K8S_CTRL_H

/*
 * The Kubernetes controller core: a pure state machine between lib/kapi
 * (which talks to the API server) and the control thread (which merges
 * models and publishes snapshots). No network, no threads, no clock of its
 * own: the glue feeds it and carries out what it asks.
 *
 *   kapi ── events, relists ──► lb_k8s_ctrl_event / _relist_begin / _end
 *   glue ── lb_k8s_ctrl_process(now) ──► model version changed?
 *        ── lb_k8s_ctrl_model ──► merge with the config model ──► snapshot
 *        ── lb_k8s_ctrl_conflict / _rejected (from merge and snap callbacks)
 *        ── lb_k8s_ctrl_published(version, ids of k8s frontends served)
 *        ── lb_k8s_ctrl_next_action ──► kapi request ──► lb_k8s_ctrl_result
 *
 * After feeding any input (events, a publication, a result, a timer), call
 * lb_k8s_ctrl_process, then drain lb_k8s_ctrl_next_action and take the
 * model when lb_k8s_ctrl_model_version moved.
 *
 * Per owned Service (type LoadBalancer, spec.loadBalancerClass equal to the
 * configured class, or class-less when class_less is set):
 *   1. addresses from IPAM (lb_ipam.h), frontends from the mapping
 *      (lb_k8s_map.h); a failure is an Event and a pending reason;
 *   2. the finalizer service.kubernetes.io/load-balancer-cleanup is added
 *      before its frontends first enter the model;
 *   3. once a snapshot built from a model containing its frontends is
 *      published, status.loadBalancer.ingress (ip, ipMode Proxy, the ports
 *      that were published) is written through the status subresource as a
 *      merge patch carrying metadata.resourceVersion; a 409 re-reads the
 *      Service (a GET action) and the write is planned again;
 *   4. on deletion, a type change or a class change: frontends leave the
 *      model; after a snapshot without them is published the address is
 *      released, the ingress cleared (type change) and the finalizer removed.
 * Other errors back off exponentially (backoff_min..max, with jitter).
 *
 * Fail static: nothing is withdrawn because the API is silent or slow.
 * Nothing is mapped before Services, EndpointSlices and Nodes have each been
 * listed once; a relist removes only what it did not list; an undecodable
 * object keeps its previous version; frontends change only through explicit
 * changes of objects (or of the pools).
 *
 * Single-threaded (the control thread).
 */
#include "lb_k8s.h"
#include "lb_k8s_map.h"
#include "lb_ipam.h"
#include "lb_model.h"

/* Event reasons raised by the controller (the mapping's are in lb_k8s_map.h). */
#define LB_K8S_R_ALLOCATED		"AddressAssigned"	/* Normal */
#define LB_K8S_R_ALLOC_FAILED		"AllocationFailed"
#define LB_K8S_R_CONFLICT		"FrontendConflict"
#define LB_K8S_R_REJECTED		"FrontendRejected"
#define LB_K8S_R_WRITE_FAILED		"UpdateFailed"

struct lb_k8s_conf {
	const char *lb_class;		/* owned spec.loadBalancerClass ("lbd.io/lbd") */
	bool class_less;		/* also own Services without a class */
	struct lb_k8s_map_conf map;	/* Maglev size, IPv6 */
	uint32_t backoff_min_ms;	/* first retry delay of a failed write */
	uint32_t backoff_max_ms;
	uint32_t resync_ms;		/* re-check every Service's status and finalizer; 0 = never */
	uint32_t event_interval_ms;	/* one Event per (Service, reason) per interval; 0 = all */
	const char *controller;		/* Event reportingController (NULL: lb_class) */
	const char *instance;		/* Event reportingInstance, e.g. the host name */
	uint64_t seed;			/* backoff jitter */
	uint32_t sync_batch;		/* Services synced per process call, 0 = all; the
					 * rest waits for the next call (next_wakeup says
					 * now), so that one pass stays short */
	uint32_t sync_budget_us;	/* and no new Service synced once a call has
					 * spent this long (at least one is); 0 = no
					 * bound. The count alone does not bound the
					 * time: one Service may cost 10 us or 1 ms
					 * (20 endpoints or 2,000, a slow machine) */
};

/* What lb_k8s_conf_from_config sets sync_budget_us to: a share of the
 * control loop's 20 ms pass target that leaves room for the API client's own
 * budget (lib/kapi, 5 ms) and the rest of the loop. */
#define LB_K8S_SYNC_BUDGET_US	4000

/*
 * The controller settings from a loaded configuration's kubernetes group
 * (lib/config): class, class_less, Maglev size, backoff, resync, Event
 * interval, sync batch; sync_budget_us LB_K8S_SYNC_BUDGET_US; serve_ipv6
 * off; controller = the class. Strings point into cfg (lb_k8s_ctrl_new copies them). instance is the Event
 * reportingInstance (the host name, say). Pools: cfg->pools, cfg->n_pools.
 */
struct lb_config;
void lb_k8s_conf_from_config(struct lb_k8s_conf *out, const struct lb_config *cfg,
	const char *instance);

enum lb_k8s_action_kind {
	LB_K8S_ACT_ADD_FINALIZER = 1,	/* PATCH the Service */
	LB_K8S_ACT_REMOVE_FINALIZER,	/* PATCH the Service */
	LB_K8S_ACT_WRITE_STATUS,	/* PATCH .../status */
	LB_K8S_ACT_CLEAR_STATUS,	/* PATCH .../status */
	LB_K8S_ACT_GET,			/* GET the Service (after a 409) */
	LB_K8S_ACT_EVENT,		/* POST an events.k8s.io/v1 Event */
};

#define LB_K8S_PATH_MAX	(LB_K8S_KEY_MAX + 64)

/* A request for the glue to make with lib/kapi, then report with
 * lb_k8s_ctrl_result(token, ...). Owned by the caller of next_action. */
struct lb_k8s_action {
	uint64_t token;
	enum lb_k8s_action_kind kind;
	const char *method;		/* "PATCH", "POST", "GET" */
	char path[LB_K8S_PATH_MAX];	/* "/api/v1/namespaces/NS/services/NAME/status" */
	const char *content_type;	/* "application/merge-patch+json" (PATCH),
					 * "application/json" (POST), NULL (GET) */
	char *body;			/* JSON text; NULL for GET */
	char ns[LB_K8S_NS_MAX + 1];	/* the Service's, for logs */
	char name[LB_K8S_NAME_MAX + 1];
	char what[160];			/* for logs: "add finalizer ...", "status ingress ...",
					 * "Event Warning AllocationFailed: ..." */
};

const char *lb_k8s_action_kind_str(enum lb_k8s_action_kind k);
void lb_k8s_action_free(struct lb_k8s_action *a);	/* NULL is a no-op */

struct lb_k8s_ctrl;

/* conf's strings are copied; pools as for lb_ipam_new. NULL on ENOMEM or a
 * conf without a class. */
struct lb_k8s_ctrl *lb_k8s_ctrl_new(const struct lb_k8s_conf *conf,
	const struct lb_model_pool *pools, uint32_t n_pools);
void lb_k8s_ctrl_free(struct lb_k8s_ctrl *c);

/* --- inputs from lib/kapi --- */

/* A watch event or list item. 0, -EINVAL (undecodable; message in err, the
 * stored version stays), -ENOMEM. */
int lb_k8s_ctrl_event(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind, enum lb_k8s_event ev,
	const struct json_object *obj, char *err, size_t errlen);
/* The same with an object decoded elsewhere (lb_k8s_decode on another
 * thread); takes ownership. */
int lb_k8s_ctrl_put(struct lb_k8s_ctrl *c, struct lb_k8s_obj *o);
int lb_k8s_ctrl_delete(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind, const char *ns,
	const char *name);
void lb_k8s_ctrl_relist_begin(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind);
void lb_k8s_ctrl_relist_end(struct lb_k8s_ctrl *c, enum lb_k8s_kind kind);

/* --- driving --- */

/*
 * Applies what changed since the last call: re-maps the Services whose
 * objects, slices or (Cluster policy) nodes changed, runs allocation,
 * plans API writes for Services that need one, fires expired backoff and
 * resync timers. now_ms is monotonic; wall_ms is the Unix time in ms (for
 * Event timestamps). Returns 1 when the model version changed, 0 when not,
 * -ENOMEM (state stays consistent; call again).
 */
int lb_k8s_ctrl_process(struct lb_k8s_ctrl *c, uint64_t now_ms, int64_t wall_ms);

/* When process should run again for a timer (backoff, resync): an absolute
 * now_ms, or UINT64_MAX when no timer is due. */
uint64_t lb_k8s_ctrl_next_wakeup(const struct lb_k8s_ctrl *c);

/* The model version: moves each time the set of frontends changes. */
uint64_t lb_k8s_ctrl_model_version(const struct lb_k8s_ctrl *c);

/*
 * The Kubernetes model: every installed frontend (new references in a new
 * model; free with lb_model_free). *version (optional) is its version, to
 * pass to lb_k8s_ctrl_published once a snapshot built from it is live.
 * NULL on ENOMEM.
 */
struct lb_model *lb_k8s_ctrl_model(struct lb_k8s_ctrl *c, uint64_t *version);

/*
 * A snapshot built from model version `version` is now what the workers
 * see; ids are the lb_model_fe ids of the Kubernetes frontends it contains
 * (any order). Frontends left out (merge conflicts, rejects) are absent
 * from the Services' status.
 */
void lb_k8s_ctrl_published(struct lb_k8s_ctrl *c, uint64_t version, const uint64_t *ids,
	uint32_t n_ids);

/* lb_model_conflict_fn for lb_model_merge (ctx = the controller): an Event
 * on each Kubernetes Service involved. */
void lb_k8s_ctrl_conflict(void *ctx, const struct lb_model_fe *kept,
	const struct lb_model_fe *dropped, const char *msg);
/* Shaped as lib/snap's lb_snap_reject_fn (ctx = the controller): an Event on
 * the Service whose frontend (target NULL) or target was left out. */
void lb_k8s_ctrl_rejected(void *ctx, const struct lb_model_fe *fe,
	const struct lb_model_target *target, const char *msg);

/* An Event about fe's Service from elsewhere in lbd (health checks: reason
 * "TargetUnhealthy", "TargetHealthy", "FailingOpen"), rate-limited per
 * Service and reason like the controller's own. Unknown frontends are
 * ignored. */
void lb_k8s_ctrl_note(struct lb_k8s_ctrl *c, const struct lb_model_fe *fe, bool warning,
	const char *reason, const char *msg);

/* --- actions --- */

/* The next request to make, or NULL. The caller owns it. */
struct lb_k8s_action *lb_k8s_ctrl_next_action(struct lb_k8s_ctrl *c);

/*
 * The outcome of action token: http_status is the HTTP status, or 0 when
 * no answer came (connection failed, timed out). body is the parsed
 * response when there is one (the updated Service after a PATCH, the
 * Service after a GET), else NULL. 2xx: done; 409: the Service is re-read
 * and the write planned again; 404: nothing (the watch brings the
 * deletion); anything else: backoff. An unknown token is ignored.
 */
void lb_k8s_ctrl_result(struct lb_k8s_ctrl *c, uint64_t token, int http_status,
	const struct json_object *body, uint64_t now_ms);

/* --- pools (config reload) --- */

int lb_k8s_ctrl_check_pools(const struct lb_k8s_ctrl *c, const struct lb_model_pool *pools,
	uint32_t n_pools, char *err, size_t errlen);
/* Switches pools and re-assigns every owned Service at the next process. */
int lb_k8s_ctrl_set_pools(struct lb_k8s_ctrl *c, const struct lb_model_pool *pools,
	uint32_t n_pools);

/* --- views (lbctl services, stats) --- */

enum lb_k8s_svc_state {
	LB_K8S_ST_PENDING = 0,		/* owned, not served: reason says why */
	LB_K8S_ST_PUBLISHING,		/* frontends in the model; not live yet, or status
					 * not written yet */
	LB_K8S_ST_SERVING,		/* live, status written */
	LB_K8S_ST_WITHDRAWING,		/* no longer owned or deleted: cleaning up */
};

const char *lb_k8s_svc_state_str(enum lb_k8s_svc_state s);	/* "pending", ... */

struct lb_k8s_svc_view {
	const char *ns;
	const char *name;
	const char *lb_class;		/* NULL: class-less */
	const char *policy;		/* "Cluster", "Local" */
	uint32_t n_vips;
	struct lb_ip vips[LB_IPAM_MAX_FAMILIES];
	uint32_t n_ports;
	const struct lb_k8s_svc_port *ports;	/* the Service's (NULL when it is gone) */
	uint32_t n_frontends;		/* installed in the model */
	uint32_t n_published;		/* of those, in the last published snapshot */
	uint32_t n_targets;		/* over the installed frontends */
	bool finalizer;			/* the object carries lbd's finalizer */
	enum lb_k8s_svc_state state;
	const char *reason;		/* why pending, the last error, "" */
};

/* Visits the Services lbd owns or is cleaning up, in name order. Pointers
 * are valid during the call. */
void lb_k8s_ctrl_foreach_service(struct lb_k8s_ctrl *c,
	void (*fn)(void *ctx, const struct lb_k8s_svc_view *v), void *ctx);

struct lb_k8s_stats {
	struct lb_k8s_store_stats store;
	bool synced;			/* all three kinds listed once */
	uint64_t services;		/* owned or being cleaned up */
	uint64_t serving;
	uint64_t pending;
	uint64_t frontends;		/* installed */
	uint64_t nodes_eligible;
	bool nodes_ready_ignored;	/* no node is Ready: readiness ignored (fail static) */
	uint64_t model_version;
	uint64_t published_version;
	uint64_t remaps;		/* Services mapped */
	uint64_t fes_built;		/* frontends that came out different */
	uint64_t fes_reused;		/* frontends kept because they came out equal */
	uint64_t node_remaps;		/* node changes that re-mapped Cluster Services */
	uint64_t actions;		/* handed out */
	uint64_t results_ok;
	uint64_t results_conflict;
	uint64_t results_failed;
	uint64_t events_sent;		/* Event actions handed out */
	uint64_t events_suppressed;	/* rate-limited */
	uint64_t alloc_failures;
	uint64_t sync_deferrals;	/* Services left for the next call (sync_batch,
					 * sync_budget_us) */
	uint64_t last_process_ns;	/* CPU time of the last process call that did work */
	uint64_t max_process_ns;
};

/* Every figure above; walks every Service (their states compare the status
 * each should have with the object's): lbctl-rate use. */
void lb_k8s_ctrl_stats(const struct lb_k8s_ctrl *c, struct lb_k8s_stats *out);
/* Whether the first sync is done (stats.synced), in constant time: for
 * callers on every pass. */
bool lb_k8s_ctrl_synced(const struct lb_k8s_ctrl *c);

/* The store, read-only (lbctl, tests). */
const struct lb_k8s_store *lb_k8s_ctrl_store(const struct lb_k8s_ctrl *c);
const struct lb_ipam *lb_k8s_ctrl_ipam(const struct lb_k8s_ctrl *c);

#endif /* LB_K8S_CTRL_H */
