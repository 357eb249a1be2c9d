/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LBD_H
#define LBD_H

/*
 * The daemon's shared state. One instance (g_lbd). Fields say who writes
 * them; everything not marked otherwise is written by the control thread
 * (the EAL main lcore) during init or in its loop, and read by workers only
 * through the RCU-published pointers.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "lb_config.h"
#include "lb_ctl.h"
#include "lb_ev.h"
#include "lb_health.h"
#include "lb_model.h"
#include "lb_dp.h"
#include "lb_neigh.h"
#include "lb_port.h"
#include "lb_ratelimit.h"
#include "lb_snap.h"
#include "lb_stats.h"

#define LBD_VERSION	"0.1.0"
#define LBD_BURST	32
#define LBD_RING_SIZE	4096
/* Workers -> control, ARP only (learning, conflicts): a ring of its own, so
 * that frames waiting for a next hop never crowd out the reply that
 * resolves it. Workers pass on only ARP for lbd (requests and replies), so
 * this is small. */
#define LBD_ARP_RING_SIZE	1024
#define LBD_MAX_RXQ	(LB_MAX_PORTS * 4)

/* Per-mbuf metadata for frames handed to or from the control thread. */
struct lbd_meta {
	uint32_t nexthop;	/* RESOLVE: next hop to ARP for */
	uint8_t port;		/* port index: where it arrived (ARP) or must leave (RESOLVE, ctl tx) */
	uint8_t kind;		/* enum lb_dp_ctl_kind */
};

struct lbd_rxq {
	uint16_t dev;
	uint16_t queue;
	uint8_t port;		/* port index */
};

/* Flow sample request from control to a worker (lbctl flows). */
struct lbd_flow_sample {
	struct lb_flow_key key[2];
	uint8_t cls;
	int64_t expires_in_ms;
};

#define LBD_FLOWS_MAX	1000	/* largest sample per worker */

/* Flow sample mailbox (flows.c). Control writes max (and buf, once) before
 * publishing req with release, and never while req != done; the worker
 * copies max once per request and publishes done with release after its
 * entries. */
struct lbd_mailbox {
	_Atomic uint32_t req;	/* control: sequence number of the request */
	_Atomic uint32_t done;	/* worker: sequence number answered */
	uint32_t max;		/* control: entries wanted */
	uint32_t n;		/* worker: entries written (read by control once done == req) */
	struct lbd_flow_sample *buf;	/* control: LBD_FLOWS_MAX entries, set once */
	uint32_t serving;	/* worker: request being answered */
	uint32_t serving_max;	/* worker: its max, clamped to LBD_FLOWS_MAX */
	uint32_t cursor;	/* worker: where its walk of the flow table stands */
};

struct lbd_worker {
	struct lb_dp_worker dp;		/* worker: flow tables, SNAT, counters */
	uint32_t index;
	uint32_t lcore;
	uint32_t n_rxq;
	struct lbd_rxq rxq[LBD_MAX_RXQ];
	struct rte_ring *handoff;	/* in: frames other workers own less than we do (MP/SC) */
	struct rte_ring *ctl_tx;	/* in: control-originated frames to send (SP/SC) */
	struct lbd_mailbox mb;
	volatile uint32_t flows_live;	/* worker: published in housekeeping */
	volatile uint32_t affinity_live;
	void *flow_mem;
	void *aff_mem;
	void *tw_mem;		/* the SNAT TIME_WAIT table's */
} __rte_cache_aligned;

struct lbd_port {
	uint16_t dev;
	char devargs[LB_CONFIG_DEVICE_MAX + 32];
	struct lb_port_info info;
};

struct lbd_deferred {
	void *ptr;
	void (*fn)(void *);
	uint64_t token;
};

/* A loaded config and its frontends, shared by the current state and the
 * builds that use it (control thread: refs). */
struct lbd_cfg {
	struct lb_config *c;
	struct lb_model *model;
	uint32_t refs;
};

enum lbd_op_kind {
	LBD_OP_DRAIN = 1,
	LBD_OP_RELOAD,
};

struct lbd_pipeline_stats {
	uint64_t submitted;
	uint64_t published;
	uint64_t failed;
	uint64_t conflicts;		/* model merge conflicts seen (per build) */
	uint64_t last_build_ns;		/* submit to publish */
	uint64_t max_build_ns;
	uint64_t last_table_ns;
	uint32_t last_tables_built;
	uint32_t last_tables_reused;
	/* Totals over every build: the builder's wall time (taken to run) and
	 * its CPU time (the work); wall well above CPU means it waited for the
	 * CPU it shares with the control thread and whatever else runs there. */
	uint64_t tables_built;
	uint64_t build_wall_ns;
	uint64_t build_cpu_ns;
	bool inflight;
	bool dirty;
};

struct lbd {
	char config_path[LB_CONFIG_PATH_MAX];
	struct lb_config *cfg;		/* the current config (cur->c) */
	struct lbd_cfg *cur;		/* the current config and its frontends */
	struct lb_ev *ev;		/* the control thread's event loop */
	uint32_t n_workers;
	struct lbd_worker *workers;
	uint32_t n_ports;
	struct lbd_port ports[LB_MAX_PORTS];
	struct rte_mempool *mp;
	struct lb_owner owner;		/* the owner rule the ports were programmed with */
	struct rte_ring *to_ctl;	/* workers -> control (MP/SC): frames waiting for a next hop */
	struct rte_ring *to_ctl_arp;	/* workers -> control (MP/SC): ARP, drained first */
	struct rte_ring *to_kni;	/* workers -> control: frames for the kernel interfaces
					 * (MP/SC; NULL when no port has one) */
	struct rte_rcu_qsbr *qsv;
	_Atomic(struct lb_snap *) snap;
	_Atomic(struct lb_neigh_table *) neigh_tab;
	struct lb_neigh *neigh;
	uint64_t neigh_version;
	struct lb_overlay *overlay;	/* current drained / unhealthy targets */
	uint64_t generation;
	struct lb_ctl_server *ctl;
	atomic_bool quit;
	uint64_t tsc_per_ms;
	int meta_off;			/* mbuf dynfield offset of struct lbd_meta */
	uint32_t n_deferred;
	struct lbd_deferred deferred[64];
	uint64_t start_time;
	struct {
		bool ok;
		uint64_t time;
		char error[512];
		uint64_t n_ok;		/* reloads that published, since start */
		uint64_t n_failed;
	} last_reload;
	struct lb_ctl_counters cc;	/* lib/stats lists them */
};

extern struct lbd g_lbd;

static inline struct lbd_meta *
lbd_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, g_lbd.meta_off, struct lbd_meta *);
}

static inline uint64_t
lbd_now_ms(void)
{
	return rte_get_tsc_cycles() / g_lbd.tsc_per_ms;
}

/* worker.c */
int lbd_worker_main(void *arg);

/* counters.c: per-frontend and per-target counter slots (control thread) */
#define LBD_FE_SLOTS		4096	/* frontends counted at once, per worker: 512 KiB */
#define LBD_TARGET_SLOTS	32768	/* targets (frontend, target) counted at once: 2 MiB */
int lbd_counters_init(char *err, size_t errlen);	/* after the workers' flow tables */
void lbd_counters_term(void);
/* Before s is published as generation: gives its frontends and targets slots. */
void lbd_counters_assign(struct lb_snap *s, uint64_t generation);
/* After the swap: retires the keys of old that generation lost (token: the
 * RCU token taken after the swap). */
void lbd_counters_retire(const struct lb_snap *old, uint64_t generation, uint64_t token);
/* Reclaims retired slots no worker can write any more (rate-limited). */
void lbd_counters_reclaim(uint64_t now_ms);
/* Points sv's counter sets at the workers' arrays. */
void lbd_counters_view(struct lb_stats_view *sv);
/* A slot's totals for lbctl ({list keys, "flows"}), NULL when it has none. */
struct json_object *lbd_counters_json(uint32_t slot, bool target);

/* control.c */
int lbd_control_init(char *err, size_t errlen);
void lbd_control_loop(void);
void lbd_control_term(void);
/* Starts a reload of the config file. Returns 0 when it was queued (the
 * lbctl request token, if any, is answered when it is published or fails),
 * or -EINVAL with err set when the file is rejected (nothing changed). */
int lbd_reload(uint64_t token, char *err, size_t errlen);
void lbd_reload_done(bool ok, const char *err);
/* Applies cfg's ARP settings and static neighbours; all or nothing. */
int lbd_apply_neighbours(const struct lb_config *cfg, char *err, size_t errlen);
void lbd_defer_free_snap(struct lb_snap *s);
void lbd_convergence_add(uint64_t ns);
/* p50, p99 and max (ns) of the last LBD_CONVERGENCE_KEEP samples since the
 * last reset (lbctl status with reset_max); false if none. count is the
 * total since lbd started. */
#define LBD_CONVERGENCE_KEEP	4096
bool lbd_convergence(uint64_t *p50, uint64_t *p99, uint64_t *count, uint64_t *max);
void lbd_convergence_reset(void);

/* pipeline.c */
struct lbd_cfg *lbd_cfg_new(struct lb_config *c, char *err, size_t errlen);
struct lbd_cfg *lbd_cfg_get(struct lbd_cfg *k);
void lbd_cfg_put(struct lbd_cfg *k);
int lbd_pipeline_init(struct lb_ev *ev, char *err, size_t errlen);
void lbd_pipeline_term(struct lb_ev *ev);
/* Queues an operation answered with result (+ "generation") when the next
 * snapshot is published; the caller changed the current state already. */
int lbd_pipeline_op(enum lbd_op_kind kind, uint64_t token, struct json_object *result);
/* A source changed (arrival times of the Kubernetes events behind it, for
 * the convergence figures); submits a build when none is running. */
void lbd_pipeline_changed(const uint64_t *arrival_ns, uint32_t n);
bool lbd_pipeline_busy(void);
void lbd_pipeline_stats(struct lbd_pipeline_stats *st);

/* k8s.c: the Kubernetes control plane (all no-ops without a kubernetes group) */
int lbd_k8s_init(struct lb_ev *ev, char *err, size_t errlen);
void lbd_k8s_term(void);
struct json_object *lbd_k8s_status(void);	/* NULL when not configured */
struct json_object *lbd_k8s_services(char *err, size_t errlen);	/* lbctl services */
/* The controller's latest model (NULL without Kubernetes) and its version. */
const struct lb_model *lbd_k8s_model(uint64_t *version);
void lbd_k8s_conflict(const struct lb_model_fe *kept, const struct lb_model_fe *dropped,
	const char *msg);
/* A frontend (target NULL) or a target the snapshot compiler left out. */
void lbd_k8s_rejected(const struct lb_model_fe *fe, const struct lb_model_target *target,
	const char *msg);
/* s, built from Kubernetes model version `version`, is now published. */
void lbd_k8s_published(const struct lb_snap *s, uint64_t version);
/* Whether a reloaded config's pools can replace the running ones, and the
 * switch once the reload is published. */
int lbd_k8s_check_pools(const struct lb_config *next, char *err, size_t errlen);
void lbd_k8s_set_pools(const struct lb_config *cfg);
bool lbd_k8s_synced(void);	/* true without Kubernetes */
/* Health checks of Kubernetes frontends (implemented by the Kubernetes glue).
 * lbd_k8s_health_svc: what the Service behind fe says about its targets
 * (policy, node or pod targets, healthCheckNodePort); 0, or -ENOENT when
 * unknown (lb_health_k8s_spec then guesses from the frontend's method).
 * lbd_k8s_health_event: a target of fe changed health (target "ADDR:PORT"),
 * or the whole frontend started or stopped failing open (target NULL); msg is
 * one line for an Event on the Service (the caller logged it already). */
int lbd_k8s_health_svc(const struct lb_model_fe *fe, struct lb_health_k8s_svc *out);
void lbd_k8s_health_event(const struct lb_model_fe *fe, const char *target, bool healthy,
	const char *msg);
void lbd_send_garp(uint8_t port, uint32_t ip);
int lbd_ctl_tx(struct rte_mbuf *m, uint8_t port);

/* flows.c: lbctl flows, answered when the workers have (never blocks) */
struct json_object *lbd_flows_request(struct json_object *req, char *err, size_t errlen);
void lbd_flows_poll(void);
void lbd_flows_serve(struct lbd_worker *w, uint64_t now);
void lbd_flows_term(void);

/* defend.c: an ARP frame (m, from port) claiming one of lbd's addresses */
void lbd_arp_conflict(struct rte_mbuf *m, uint8_t port, uint64_t now);

/* kni.c: the ports' kernel interfaces (net_tap), served by the control thread */
uint32_t lbd_kni_mbufs(const struct lb_config *cfg);	/* what they hold, for the pool */
int lbd_kni_init(char *err, size_t errlen);	/* after the ports started */
void lbd_kni_term(void);			/* once the workers stopped */
void lbd_kni_poll(void);			/* control tick: both directions, bounded */
void lbd_kni_arp(struct rte_mbuf *m, uint8_t port);	/* a copy of an ARP frame to it */
bool lbd_kni_port(uint8_t port);		/* port has a kernel interface up */

/* health.c: active health checks of targets (docs/design.md, "Health checks") */
int lbd_health_init(struct lb_ev *ev, char *err, size_t errlen);
void lbd_health_term(void);
/* After each publish: checks follow the snapshot's frontends and targets
 * (created, kept with their state, removed), marks follow the checks, and
 * frontends that start or stop failing open are logged. */
void lbd_health_published(const struct lb_snap *s);
/* lbctl health: every check, its targets and state. */
struct json_object *lbd_health_json(void);
/* lbctl targets: the check of target addr:port (network order) of the
 * frontend with id fe_id, or NULL when it is not checked. */
struct json_object *lbd_health_target_json(uint64_t fe_id, uint32_t addr, uint16_t port);

/* ctl.c: lbctl command handlers */
void lbd_ctl_complete(uint64_t token, struct json_object *result, const char *err);
struct json_object *lbd_ctl_handle(void *ctx, const char *cmd, struct json_object *req,
	char *err, size_t errlen);

/* metrics.c: the view the exporters read (Prometheus, telemetry), the
 * metrics endpoint and packet capture. docs/design.md, "Observability". */
int lbd_metrics_init(char *err, size_t errlen);	/* after lbd_control_init */
void lbd_metrics_term(void);			/* before lbd_control_term */
/* lbctl stats: the counter lists (lib/stats) of every worker, the
 * neighbour resolver, the control thread and the ports. Control thread. */
struct json_object *lbd_stats_json(void);
/*
 * Readiness (/readyz, lbd_ready): ports up, a snapshot published, and every
 * condition that was required and is not met yet. A component that gates
 * readiness requires its condition at init (control thread) and sets it
 * from any thread, e.g. the Kubernetes glue after its first full sync.
 */
enum lbd_ready_cond {
	LBD_READY_K8S_SYNCED = 0,	/* first list of every watched resource applied */
	LBD_READY_NCOND
};
void lbd_ready_require(enum lbd_ready_cond c);
void lbd_ready_set(enum lbd_ready_cond c, bool met);

/* telemetry.c: /lbd/... commands for dpdk-telemetry.py (metrics.c registers them). */
int lbd_telemetry_register(void);

/*
 * log.c: one line per event on stderr, `ts=... level=... msg="..." k=v ...`
 * (no ts and a syslog priority prefix when stderr is the systemd journal).
 * fmt is the message, then the fields: the first " key=" (lower-case key)
 * starts them, e.g. lbd_log(LBD_INFO, "port started port=%s rx_queues=%u", ...).
 * Field values with spaces or quotes go through LBD_Q(). Any thread; one
 * write per line. Workers never log.
 */
void lbd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lbd_log_set_level(int level);
#define LBD_ERR		0
#define LBD_WARN	1
#define LBD_INFO	2
#define LBD_DEBUG	3

/* A field value, quoted and escaped when it needs to be (lives until the end
 * of the enclosing full expression's block). */
const char *lbd_log_quote(char *buf, size_t len, const char *s);
#define LBD_Q_MAX	1024
#define LBD_Q(s)	lbd_log_quote((char[LBD_Q_MAX]){ 0 }, LBD_Q_MAX, (s))

/* Rate limit for events a packet can trigger: at most LBD_RL_BURST lines per
 * call site every LBD_RL_WINDOW_MS; the next line let through says how many
 * were left out (suppressed=N). lib/common's lb_ratelimit; one static limiter
 * per call site, so control thread only. */
#define LBD_RL_BURST		10
#define LBD_RL_WINDOW_MS	5000
uint64_t lbd_mono_ms(void);
const char *lbd_log_suppressed(char *buf, size_t len, uint32_t n);
#define LBD_LOG_RL(level, fmt, ...) do { \
		static struct lb_ratelimit rl_; \
		uint32_t sup_; \
		if (lb_ratelimit_ok(&rl_, lbd_mono_ms(), LBD_RL_BURST, LBD_RL_WINDOW_MS, &sup_)) \
			lbd_log(level, fmt "%s", ##__VA_ARGS__, \
				lbd_log_suppressed((char[32]){ 0 }, 32, sup_)); \
	} while (0)

/* systemd's notify protocol (Type=notify), a no-op without $NOTIFY_SOCKET:
 * "READY=1", "STOPPING=1", "STATUS=...". */
void lbd_notify(const char *state);

#endif /* LBD_H */
