/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lbd's commands for DPDK telemetry (dpdk-telemetry.py, or any client of
 * /var/run/dpdk/<prefix>/dpdk_telemetry.v2), beside the ethdev and EAL ones
 * DPDK registers itself:
 *
 *   /lbd/info            version, pid, uptime, workers, generation, readiness
 *   /lbd/stats[,W]       the worker counters (lbctl stats' keys; drops as
 *                        "drops/<reason>") summed over the workers, or worker W's
 *   /lbd/flows           active flows and affinity entries, in total and per worker
 *   /lbd/neighbours      the neighbour resolver's counters and entries by state
 *   /lbd/control         the control thread's counters
 *   /lbd/daemon          snapshots, reloads, event loop (the daemon list)
 *   /lbd/frontends       frontend names
 *   /lbd/frontend,NAME   one frontend and its targets, with their counters
 *                        (packets, bytes, flows, drops; "target/ADDR:PORT")
 *
 * The keys come from the counter lists (lib/stats), as lbctl's and the
 * Prometheus names do. Callbacks run in DPDK's telemetry thread and read
 * through lbd_obs_read() like the metrics endpoint (metrics.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "obs.h"

static int
tel_u64(void *ctx, const char *key, uint64_t v)
{
	return rte_tel_data_add_dict_u64(ctx, key, v);
}

/* Reads the view into a heap copy (the telemetry thread's stack is small). */
static struct lbd_obs *
obs_get(void)
{
	struct lbd_obs *o = malloc(sizeof(*o));

	if (o != NULL && lbd_obs_read(o) != 0) {
		free(o);
		return NULL;
	}
	return o;
}

static void
obs_put(struct lbd_obs *o)
{
	lbd_obs_release(o);
	free(o);
}

static int
cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o = obs_get();
	char why[256];
	bool ready;

	(void)cmd;
	(void)params;
	if (o == NULL)
		return -1;
	ready = lbd_obs_ready(o, why, sizeof(why));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", LBD_VERSION);
	rte_tel_data_add_dict_u64(d, "pid", (uint64_t)getpid());
	rte_tel_data_add_dict_u64(d, "uptime_s", (uint64_t)time(NULL) - o->v.uptime_base);
	rte_tel_data_add_dict_u64(d, "workers", o->n_workers);
	rte_tel_data_add_dict_u64(d, "ports", o->v.n_ports);
	rte_tel_data_add_dict_u64(d, "generation", o->v.daemon.generation);
	rte_tel_data_add_dict_u64(d, "frontends", o->v.daemon.frontends);
	rte_tel_data_add_dict_u64(d, "ready", ready);
	if (!ready)
		rte_tel_data_add_dict_string(d, "not_ready", why);
	obs_put(o);
	return 0;
}

static int
cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o = obs_get();
	struct lb_stats_sink sink = { .ctx = d, .u64 = tel_u64 };
	struct lb_stats_worker sum;
	uint32_t i;
	int rc = 0;

	(void)cmd;
	if (o == NULL)
		return -1;
	memset(&sum, 0, sizeof(sum));
	if (params != NULL && params[0] != '\0') {
		char *end;
		unsigned long w = strtoul(params, &end, 10);

		if (*end != '\0' || w >= o->n_workers) {
			obs_put(o);
			return -EINVAL;
		}
		sum = o->w[w];
	} else {
		for (i = 0; i < o->n_workers; i++)
			lb_stats_worker_add(&sum, &o->w[i]);
	}
	rte_tel_data_start_dict(d);
	rc = lb_stats_emit_worker(&sum, &sink);
	obs_put(o);
	return rc < 0 ? rc : 0;
}

static int
cmd_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o = obs_get();
	struct rte_tel_data *flows, *aff;
	uint64_t total = 0, atotal = 0;
	uint32_t i;

	(void)cmd;
	(void)params;
	if (o == NULL)
		return -1;
	flows = rte_tel_data_alloc();
	aff = rte_tel_data_alloc();
	if (flows == NULL || aff == NULL) {
		rte_tel_data_free(flows);
		rte_tel_data_free(aff);
		obs_put(o);
		return -ENOMEM;
	}
	rte_tel_data_start_array(flows, RTE_TEL_U64_VAL);
	rte_tel_data_start_array(aff, RTE_TEL_U64_VAL);
	for (i = 0; i < o->n_workers; i++) {
		rte_tel_data_add_array_u64(flows, o->w[i].flows);
		rte_tel_data_add_array_u64(aff, o->w[i].affinity);
		total += o->w[i].flows;
		atotal += o->w[i].affinity;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "flows", total);
	rte_tel_data_add_dict_u64(d, "affinity_entries", atotal);
	rte_tel_data_add_dict_container(d, "per_worker_flows", flows, 0);
	rte_tel_data_add_dict_container(d, "per_worker_affinity_entries", aff, 0);
	obs_put(o);
	return 0;
}

/* Keys of the daemon list whose name starts with prefix (NULL: all). */
static int
daemon_keys(struct rte_tel_data *d, const struct lbd_obs *o, const char *prefix)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < lb_stats_daemon_n && rc == 0; i++) {
		const struct lb_stat_desc *x = &lb_stats_daemon_desc[i];

		if (prefix == NULL || strncmp(x->key, prefix, strlen(prefix)) == 0)
			rc = rte_tel_data_add_dict_u64(d, x->key, lb_stat_get(&o->v.daemon, x));
	}
	return rc;
}

static int
cmd_neighbours(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o = obs_get();
	struct lb_stats_sink sink = { .ctx = d, .u64 = tel_u64 };
	int rc;

	(void)cmd;
	(void)params;
	if (o == NULL)
		return -1;
	rte_tel_data_start_dict(d);
	rc = lb_stats_emit_list(lb_stats_neigh_desc, lb_stats_neigh_n, &o->v.neigh, &sink);
	if (rc == 0)
		rc = daemon_keys(d, o, "neighbours_");
	obs_put(o);
	return rc < 0 ? rc : 0;
}

static int
cmd_control(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o = obs_get();
	struct lb_stats_sink sink = { .ctx = d, .u64 = tel_u64 };
	int rc;

	(void)cmd;
	(void)params;
	if (o == NULL)
		return -1;
	rte_tel_data_start_dict(d);
	rc = lb_stats_emit_list(lb_stats_ctl_desc, lb_stats_ctl_n, &o->v.ctl, &sink);
	obs_put(o);
	return rc < 0 ? rc : 0;
}

static int
cmd_daemon(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o = obs_get();
	int rc;

	(void)cmd;
	(void)params;
	if (o == NULL)
		return -1;
	rte_tel_data_start_dict(d);
	rc = daemon_keys(d, o, NULL);
	obs_put(o);
	return rc < 0 ? rc : 0;
}

static int
cmd_frontends(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o = obs_get();
	uint32_t i;

	(void)cmd;
	(void)params;
	if (o == NULL)
		return -1;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	/* an array holds RTE_TEL_MAX_ARRAY_ENTRIES; lbctl frontends has them all */
	for (i = 0; o->v.fes != NULL && i < o->v.fes->n_fes && i < RTE_TEL_MAX_ARRAY_ENTRIES; i++)
		rte_tel_data_add_array_string(d, o->v.fes->fes[i].name);
	obs_put(o);
	return 0;
}

/* The frontend's counters (the list's keys, and "flows": created - ended)
 * in d, and one dict per target, "target/ADDRESS:PORT" (a container may not
 * hold containers). */
static void
fe_counters(struct rte_tel_data *d, struct lbd_obs *o, const struct lb_stats_fe_info *fe)
{
	struct lb_stats_view sv;
	struct lb_stats_target_set ts;
	struct lb_stats_fe_set fs;
	uint32_t i;
	unsigned k;

	lbd_obs_view(o, &sv);
	if (!lb_stats_fe_sum(&sv, fe->slot, &fs))
		return;
	for (k = 0; k < lb_stats_fe_n; k++)
		rte_tel_data_add_dict_u64(d, lb_stats_fe_desc[k].key,
			lb_stat_get(&fs, &lb_stats_fe_desc[k]));
	rte_tel_data_add_dict_u64(d, "flows", fs.v[LB_STATS_FE_FLOWS_CREATED] -
		fs.v[LB_STATS_FE_FLOWS_ENDED]);
	for (i = 0; i < fe->n_targets && i < RTE_TEL_MAX_DICT_ENTRIES - 32; i++) {
		struct rte_tel_data *t;
		char key[RTE_TEL_MAX_STRING_LEN];

		if (!lb_stats_target_sum(&sv, fe->targets[i].slot, &ts) ||
		    (t = rte_tel_data_alloc()) == NULL)
			continue;
		rte_tel_data_start_dict(t);
		for (k = 0; k < lb_stats_target_n; k++)
			rte_tel_data_add_dict_u64(t, lb_stats_target_desc[k].key,
				lb_stat_get(&ts, &lb_stats_target_desc[k]));
		rte_tel_data_add_dict_u64(t, "flows", ts.v[LB_STATS_T_FLOWS_CREATED] -
			ts.v[LB_STATS_T_FLOWS_ENDED]);
		snprintf(key, sizeof(key), "target/%s", fe->targets[i].target);
		if (rte_tel_data_add_dict_container(d, key, t, 0) != 0)
			rte_tel_data_free(t);
	}
}

static int
cmd_frontend(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct lbd_obs *o;
	const struct lb_stats_fe_info *fe = NULL;
	struct rte_tel_data *targets;
	uint32_t i;

	(void)cmd;
	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	o = obs_get();
	if (o == NULL)
		return -1;
	for (i = 0; o->v.fes != NULL && i < o->v.fes->n_fes; i++)
		if (strcmp(o->v.fes->fes[i].name, params) == 0)
			fe = &o->v.fes->fes[i];
	if (fe == NULL || (targets = rte_tel_data_alloc()) == NULL) {
		obs_put(o);
		return -EINVAL;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", fe->name);
	rte_tel_data_add_dict_string(d, "vip", fe->vip);
	rte_tel_data_add_dict_string(d, "protocol", fe->protocol);
	rte_tel_data_add_dict_u64(d, "port", fe->port);
	rte_tel_data_add_dict_string(d, "method", fe->method);
	rte_tel_data_add_dict_string(d, "source", fe->source);
	rte_tel_data_add_dict_u64(d, "targets", fe->n_targets);
	rte_tel_data_add_dict_u64(d, "active", fe->n_active);
	rte_tel_data_add_dict_u64(d, "fail_open", fe->fail_open);
	/* "ADDRESS:PORT STATE WEIGHT" per target (a dict may not hold dicts) */
	rte_tel_data_start_array(targets, RTE_TEL_STRING_VAL);
	for (i = 0; i < fe->n_targets && i < RTE_TEL_MAX_ARRAY_ENTRIES; i++) {
		char s[RTE_TEL_MAX_STRING_LEN];

		snprintf(s, sizeof(s), "%s %s %u", fe->targets[i].target,
			lb_stats_target_state_str((enum lb_stats_target_state)fe->targets[i].state),
			fe->targets[i].weight);
		rte_tel_data_add_array_string(targets, s);
	}
	rte_tel_data_add_dict_container(d, "target_list", targets, 0);
	fe_counters(d, o, fe);
	obs_put(o);
	return 0;
}

int
lbd_telemetry_register(void)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{ "/lbd/info", cmd_info, "lbd: version, uptime, workers, generation, readiness" },
		{ "/lbd/stats", cmd_stats,
			"lbd: worker counters summed over the workers; parameter: a worker id" },
		{ "/lbd/flows", cmd_flows, "lbd: active flows, in total and per worker" },
		{ "/lbd/neighbours", cmd_neighbours, "lbd: neighbour resolver counters and states" },
		{ "/lbd/control", cmd_control, "lbd: control thread counters" },
		{ "/lbd/daemon", cmd_daemon, "lbd: snapshots, reloads, event loop" },
		{ "/lbd/frontends", cmd_frontends, "lbd: frontend names" },
		{ "/lbd/frontend", cmd_frontend, "lbd: one frontend; parameter: its name" },
	};
	unsigned i;
	int rc = 0;

	for (i = 0; i < RTE_DIM(cmds); i++)
		if (rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help) != 0)
			rc = -1;
	return rc;
}
