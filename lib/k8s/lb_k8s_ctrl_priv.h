/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_K8S_CTRL_PRIV_H
#define LB_K8S_CTRL_PRIV_H

/* The controller's state, shared by lb_k8s_ctrl*.c only. */
#include "lb_k8s_priv.h"
#include "lb_k8s_ctrl.h"

#define EV_SLOTS	8	/* rate-limit memory per Service (reasons) */
#define RV_MAX		128
#define REASON_MAX	256

struct ev_slot {
	char reason[32];
	uint64_t last_ms;
};

/* One Service lbd owns, owned once, or must clean up. */
struct svc {
	char key[LB_K8S_KEY_MAX];	/* "NS/NAME" */
	const char *ns;			/* into nsname */
	const char *name;
	char nsname[LB_K8S_KEY_MAX + 1];	/* "NS\0NAME" */

	/* What the object said at the last sync. */
	bool exists;
	bool wants;			/* owned and not being deleted */
	bool has_fin;
	char rv[RV_MAX];

	/* Allocation. */
	bool allocated;
	struct lb_ipam_result alloc;
	bool release_pending;		/* frontends withdrawn: release after publish */
	uint64_t release_version;

	/* Frontends in the model, in map order, and whether each is live. */
	uint32_t n_fes;
	struct lb_model_fe **fes;
	uint8_t *live;
	uint64_t fe_version;		/* model version of the last change of fes */
	bool mapped_ok;			/* the last mapping gave frontends to install */
	bool uses_nodes;

	/* API writes. */
	uint64_t inflight;		/* token, 0 = none */
	char wrote_rv[RV_MAX];		/* rv our last successful write was based on */
	char *last_status;		/* ingress JSON of our last successful status write */
	uint64_t backoff_until;
	uint32_t failures;

	/* View. */
	char reason[REASON_MAX];
	char error[REASON_MAX];		/* last write error */
	struct ev_slot ev[EV_SLOTS];
};

struct inflight {
	uint64_t token;
	enum lb_k8s_action_kind kind;
	char key[LB_K8S_KEY_MAX];
	char rv[RV_MAX];
	char *status;			/* ingress JSON sent (status writes) */
};

struct act_node {
	struct act_node *next;
	struct lb_k8s_action *a;
};

struct lb_k8s_ctrl {
	struct lb_k8s_conf conf;
	char *lb_class;
	char *controller;
	char *instance;

	struct lb_k8s_store *store;
	struct lb_ipam *ipam;
	struct lb_k8s_nodes nodes;
	bool synced;
	bool first_sync_done;

	struct lb_k8s_tab svcs;		/* key -> struct svc */
	struct lb_k8s_tab plan;		/* keys whose writes need planning */
	struct lb_k8s_tab resync_keys;	/* keys to sync again at the next process */
	struct lb_k8s_tab inflight;	/* token (decimal) -> struct inflight */

	uint64_t version;		/* model version */
	uint64_t published;		/* last published version */
	uint64_t next_token;

	struct act_node *act_head;
	struct act_node *act_tail;

	uint64_t now_ms;		/* of the last process/result call */
	int64_t wall_ms;		/* wall clock at now_ms */
	uint64_t next_resync;
	uint64_t next_timer;		/* earliest backoff_until, UINT64_MAX none */
	uint64_t rng;
	uint64_t event_seq;

	struct lb_k8s_stats st;
};

/* lb_k8s_ctrl_act.c */
void lb_k8s_ctrl_push(struct lb_k8s_ctrl *c, struct lb_k8s_action *a);
/* An Event on the Service, rate-limited per (Service, reason). type is
 * "Normal" or "Warning". */
void lb_k8s_ctrl_emit(struct lb_k8s_ctrl *c, struct svc *s, const char *type, const char *reason,
	const char *action, const char *note);
/* Plans the next write for s (none while one is in flight or backing off). */
void lb_k8s_ctrl_plan(struct lb_k8s_ctrl *c, struct svc *s);
/* The ingress JSON array s should have ("[]" when none); malloc'ed. */
char *lb_k8s_ctrl_desired_status(const struct lb_k8s_ctrl *c, const struct svc *s);
bool lb_k8s_ctrl_status_matches(const struct lb_k8s_obj *o, const char *desired);

/* lb_k8s_ctrl.c */
struct svc *lb_k8s_ctrl_svc(struct lb_k8s_ctrl *c, const char *key);
void lb_k8s_ctrl_mark_plan(struct lb_k8s_ctrl *c, struct svc *s);
void lb_k8s_ctrl_drop_svc(struct lb_k8s_ctrl *c, struct svc *s);
bool lb_k8s_ctrl_class_matches(const struct lb_k8s_ctrl *c, const struct lb_k8s_obj *o);
const struct lb_k8s_obj *lb_k8s_ctrl_obj(const struct lb_k8s_ctrl *c, const struct svc *s);
/* An address came free: Services waiting for one are synced again. */
void lb_k8s_ctrl_retry_pending(struct lb_k8s_ctrl *c);

#endif /* LB_K8S_CTRL_PRIV_H */
