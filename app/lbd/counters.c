/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-frontend and per-target counter slots (docs/design.md, "Counters").
 *
 * Each worker has an array of frontend sets and one of target sets (hugepage
 * memory on its socket) that lib/dp writes (lb_dp_counters_attach). The
 * control thread, which alone runs this file, gives every frontend of a
 * snapshot about to be published a slot keyed by its model id, and every
 * target one keyed by (frontend id, Maglev identity), so a frontend or
 * target that stays across rebuilds and reloads keeps its slot and its
 * counts. A key the new snapshot lost is retired with an RCU token taken
 * after the swap; the slot is reclaimed (zeroed, free for another key) once
 * every worker has passed that token *and* no flow holds the slot any more
 * (its flows created - ended, summed over the workers, is 0): flows carry
 * their slots, so their replies and their ends keep counting there after
 * the frontend left the snapshot. A key that comes back before that keeps
 * its slot. When every slot is taken, a new frontend or target is not
 * counted (logged once per publish that met it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "lbd.h"

static struct {
	struct lb_stats_slots *fe, *t;
	uint64_t *fe_gen, *t_gen;	/* generation that last assigned each slot */
	uint32_t n_retired;		/* keys retired and not yet reclaimed (fe + t) */
	uint64_t last_reclaim_ms;
	struct lb_stats_fe_set *fe_sets[LB_MAX_WORKERS];
	struct lb_stats_target_set *t_sets[LB_MAX_WORKERS];
} C;

int
lbd_counters_init(char *err, size_t errlen)
{
	uint32_t i;

	C.fe = lb_stats_slots_new(LBD_FE_SLOTS);
	C.t = lb_stats_slots_new(LBD_TARGET_SLOTS);
	C.fe_gen = calloc(LBD_FE_SLOTS, sizeof(*C.fe_gen));
	C.t_gen = calloc(LBD_TARGET_SLOTS, sizeof(*C.t_gen));
	if (C.fe == NULL || C.t == NULL || C.fe_gen == NULL || C.t_gen == NULL)
		goto nomem;
	for (i = 0; i < g_lbd.n_workers; i++) {
		struct lbd_worker *w = &g_lbd.workers[i];
		int socket = (int)rte_lcore_to_socket_id(w->lcore);

		C.fe_sets[i] = rte_zmalloc_socket("lbd_fe_ctr",
			sizeof(struct lb_stats_fe_set) * LBD_FE_SLOTS, RTE_CACHE_LINE_SIZE, socket);
		C.t_sets[i] = rte_zmalloc_socket("lbd_target_ctr",
			sizeof(struct lb_stats_target_set) * LBD_TARGET_SLOTS, RTE_CACHE_LINE_SIZE,
			socket);
		if (C.fe_sets[i] == NULL || C.t_sets[i] == NULL)
			goto nomem;
		if (lb_dp_counters_attach(&w->dp, C.fe_sets[i], LBD_FE_SLOTS, C.t_sets[i],
		    LBD_TARGET_SLOTS) != 0) {
			snprintf(err, errlen, "worker %u: cannot attach its frontend counters", i);
			return -EINVAL;
		}
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for per-frontend counters (raise eal.memory_mb)");
	return -ENOMEM;
}

void
lbd_counters_term(void)
{
	uint32_t i;

	for (i = 0; i < LB_MAX_WORKERS; i++) {
		rte_free(C.fe_sets[i]);
		rte_free(C.t_sets[i]);
		C.fe_sets[i] = NULL;
		C.t_sets[i] = NULL;
	}
	lb_stats_slots_free(C.fe);
	lb_stats_slots_free(C.t);
	free(C.fe_gen);
	free(C.t_gen);
	memset(&C, 0, sizeof(C));
}

void
lbd_counters_assign(struct lb_snap *s, uint64_t generation)
{
	uint32_t i, j, missed = 0;

	if (C.fe == NULL)
		return;
	for (i = 0; i < s->n_fes; i++) {
		/* the snapshot is not published yet: the control thread may
		 * still write it */
		struct lb_snap_fe *fe = (struct lb_snap_fe *)&s->fes[i];
		struct lb_snap_target *t = (struct lb_snap_target *)fe->targets;

		fe->ctr = lb_stats_slot_get(C.fe, fe->id);
		if (fe->ctr != LB_STATS_NO_SLOT)
			C.fe_gen[fe->ctr] = generation;
		else
			missed++;
		for (j = 0; j < fe->n_targets; j++) {
			t[j].ctr = lb_stats_slot_get(C.t, lb_stats_target_key(fe->id, t[j].id));
			if (t[j].ctr != LB_STATS_NO_SLOT)
				C.t_gen[t[j].ctr] = generation;
			else
				missed++;
		}
	}
	if (missed > 0)
		lbd_log(LBD_WARN, "frontends or targets without counters (every slot taken) "
			"missing=%u frontend_slots=%u target_slots=%u", missed, LBD_FE_SLOTS,
			LBD_TARGET_SLOTS);
}

void
lbd_counters_retire(const struct lb_snap *old, uint64_t generation, uint64_t token)
{
	uint32_t i, j;

	if (C.fe == NULL || old == NULL)
		return;
	for (i = 0; i < old->n_fes; i++) {
		const struct lb_snap_fe *fe = &old->fes[i];

		if (fe->ctr < LBD_FE_SLOTS && C.fe_gen[fe->ctr] != generation &&
		    lb_stats_slot_retire(C.fe, fe->id, token) == 0)
			C.n_retired++;
		for (j = 0; j < fe->n_targets; j++) {
			const struct lb_snap_target *t = &fe->targets[j];

			if (t->ctr < LBD_TARGET_SLOTS && C.t_gen[t->ctr] != generation &&
			    lb_stats_slot_retire(C.t, lb_stats_target_key(fe->id, t->id), token) == 0)
				C.n_retired++;
		}
	}
}

/* Flows still holding a slot, summed over the workers (racy loads: ended
 * may lag, never lead, so a 0 is a real 0 once no snapshot has the slot). */
static uint64_t
fe_active(uint32_t slot)
{
	uint64_t created = 0, ended = 0;
	uint32_t w;

	for (w = 0; w < g_lbd.n_workers; w++) {
		const volatile uint64_t *v = C.fe_sets[w][slot].v;

		ended += v[LB_STATS_FE_FLOWS_ENDED];
		created += v[LB_STATS_FE_FLOWS_CREATED];
	}
	return created - ended;
}

static uint64_t
t_active(uint32_t slot)
{
	uint64_t created = 0, ended = 0;
	uint32_t w;

	for (w = 0; w < g_lbd.n_workers; w++) {
		const volatile uint64_t *v = C.t_sets[w][slot].v;

		ended += v[LB_STATS_T_FLOWS_ENDED];
		created += v[LB_STATS_T_FLOWS_CREATED];
	}
	return created - ended;
}

static bool
fe_done(void *ctx, uint32_t slot, uint64_t token)
{
	(void)ctx;
	return rte_rcu_qsbr_check(g_lbd.qsv, token, false) == 1 && fe_active(slot) == 0;
}

static bool
t_done(void *ctx, uint32_t slot, uint64_t token)
{
	(void)ctx;
	return rte_rcu_qsbr_check(g_lbd.qsv, token, false) == 1 && t_active(slot) == 0;
}

/* No worker can write the slot any more: no snapshot names it, no flow
 * holds it. */
static void
fe_zero(void *ctx, uint32_t slot)
{
	uint32_t w;

	(void)ctx;
	for (w = 0; w < g_lbd.n_workers; w++)
		memset(&C.fe_sets[w][slot], 0, sizeof(C.fe_sets[w][slot]));
}

static void
t_zero(void *ctx, uint32_t slot)
{
	uint32_t w;

	(void)ctx;
	for (w = 0; w < g_lbd.n_workers; w++)
		memset(&C.t_sets[w][slot], 0, sizeof(C.t_sets[w][slot]));
}

void
lbd_counters_reclaim(uint64_t now_ms)
{
	uint32_t n;

	/* a scan over every slot: only while something waits, at most 10 a second */
	if (C.fe == NULL || C.n_retired == 0 || now_ms - C.last_reclaim_ms < 100)
		return;
	C.last_reclaim_ms = now_ms;
	n = lb_stats_slot_reclaim(C.fe, fe_done, fe_zero, NULL);
	n += lb_stats_slot_reclaim(C.t, t_done, t_zero, NULL);
	C.n_retired -= LB_MIN(n, C.n_retired);
}

void
lbd_counters_view(struct lb_stats_view *sv)
{
	if (C.fe == NULL)
		return;
	sv->fe_sets = (const struct lb_stats_fe_set *const *)C.fe_sets;
	sv->n_fe_slots = LBD_FE_SLOTS;
	sv->target_sets = (const struct lb_stats_target_set *const *)C.t_sets;
	sv->n_target_slots = LBD_TARGET_SLOTS;
}

/* lbctl frontends / targets: {<list keys>: totals over the workers, "flows":
 * created - ended}, or NULL for a slot that has no counters. */
struct json_object *
lbd_counters_json(uint32_t slot, bool target)
{
	struct lb_stats_view sv;
	struct lb_stats_target_set ts;
	struct lb_stats_fe_set fs;
	const struct lb_stat_desc *d = target ? lb_stats_target_desc : lb_stats_fe_desc;
	unsigned i, n = target ? lb_stats_target_n : lb_stats_fe_n;
	const void *base = target ? (const void *)&ts : (const void *)&fs;
	struct json_object *o;
	uint64_t active;

	memset(&sv, 0, sizeof(sv));
	sv.n_workers = g_lbd.n_workers;
	lbd_counters_view(&sv);
	if (target ? !lb_stats_target_sum(&sv, slot, &ts) : !lb_stats_fe_sum(&sv, slot, &fs))
		return NULL;
	o = json_object_new_object();
	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		json_object_object_add(o, d[i].key, json_object_new_uint64(lb_stat_get(base, &d[i])));
	active = target ? ts.v[LB_STATS_T_FLOWS_CREATED] - ts.v[LB_STATS_T_FLOWS_ENDED] :
		fs.v[LB_STATS_FE_FLOWS_CREATED] - fs.v[LB_STATS_FE_FLOWS_ENDED];
	json_object_object_add(o, "flows", json_object_new_uint64(active));
	return o;
}
