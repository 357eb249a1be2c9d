/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LBD_OBS_H
#define LBD_OBS_H

/*
 * What the exporters (the metrics HTTP thread, DPDK's telemetry thread) read:
 * a copy of the control thread's published view plus a racy sample of the
 * workers' counters, taken together by lbd_obs_read(). metrics.c explains
 * how the view is published.
 */
#include <stdatomic.h>

#include "lb_stats.h"
#include "lbd.h"

/* What a row of the frontend table was made from (metrics.c). */
struct lbd_fe_key;
struct lbd_target_key;

/* The frontends of the published snapshot, for labels (reference counted,
 * immutable once built). */
struct lbd_fe_table {
	_Atomic uint32_t refs;
	uint64_t generation;
	uint32_t n_fes;
	struct lb_stats_fe_info *fes;
	struct lb_stats_target_info *targets;
	/* control thread only: the values the rows were formatted from, so the
	 * next table copies the rows of unchanged frontends */
	struct lbd_fe_key *keys;
	struct lbd_target_key *tkeys;
};

struct lbd_view {
	bool live;			/* false once lbd is stopping */
	uint64_t refreshed_ms;		/* lb_ev_now_ms() of the last refresh */
	struct lb_ctl_counters ctl;
	struct lb_neigh_counters neigh;
	struct lb_stats_daemon daemon;	/* ready and view_age_ms are filled by readers */
	uint32_t n_ports;
	struct lb_stats_port ports[LB_MAX_PORTS];
	bool snapshot;			/* a snapshot is published */
	uint64_t uptime_base;		/* unix time lbd started */
	struct lbd_fe_table *fes;	/* a reference (readers: lbd_obs_release) */
};

struct lbd_obs {
	struct lbd_view v;
	uint32_t n_workers;
	struct lb_stats_worker w[LB_MAX_WORKERS];
	uint64_t now_ms;
};

/* 0, or -ESHUTDOWN when lbd is stopping (nothing to release then). */
int lbd_obs_read(struct lbd_obs *o);
void lbd_obs_release(struct lbd_obs *o);
/* The lib/stats view over o (pointers into o). */
void lbd_obs_view(struct lbd_obs *o, struct lb_stats_view *sv);
/* Whether o says ready; why (when not) lists what is missing. */
bool lbd_obs_ready(const struct lbd_obs *o, char *why, size_t len);
/* Whether the control loop refreshed the view recently. */
bool lbd_obs_alive(const struct lbd_obs *o, char *why, size_t len);

#define LBD_VIEW_REFRESH_MS	250
#define LBD_VIEW_STALE_MS	10000	/* /healthz fails past this */

#endif /* LBD_OBS_H */
