/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The descriptor tables generated from the counter lists, the lbctl JSON and
 * the (key, value) emitters. lb_prom.c renders the same tables for
 * Prometheus, lb_stats_slots.c keeps the per-frontend slots.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb_stats.h"

#define DESC(st, field, key, metric, label, type, unit, help) \
	{ key, metric, label, help, (uint16_t)offsetof(st, field), LB_STAT_##type, LB_STAT_##unit },
#define DESC_IDX(pfx, e, key, metric, label, type, unit, help) \
	{ key, metric, label, help, (uint16_t)(pfx##e * sizeof(uint64_t)), LB_STAT_##type, \
	  LB_STAT_##unit },

#define WORKER(...)	DESC(struct lb_stats_worker, __VA_ARGS__)
#define NEIGH(...)	DESC(struct lb_neigh_counters, __VA_ARGS__)
#define CTL(...)	DESC(struct lb_ctl_counters, __VA_ARGS__)
#define PORT(...)	DESC(struct lb_stats_port, __VA_ARGS__)
#define DAEMON(...)	DESC(struct lb_stats_daemon, __VA_ARGS__)
#define FE(...)		DESC_IDX(LB_STATS_FE_, __VA_ARGS__)
#define TGT(...)	DESC_IDX(LB_STATS_T_, __VA_ARGS__)

const struct lb_stat_desc lb_stats_worker_desc[] = { LB_STATS_WORKER_LIST(WORKER) };
const unsigned lb_stats_worker_n = LB_ARRAY_SIZE(lb_stats_worker_desc);
const struct lb_stat_desc lb_stats_neigh_desc[] = { LB_STATS_NEIGH_LIST(NEIGH) };
const unsigned lb_stats_neigh_n = LB_ARRAY_SIZE(lb_stats_neigh_desc);
const struct lb_stat_desc lb_stats_ctl_desc[] = { LB_STATS_CTL_LIST(CTL) };
const unsigned lb_stats_ctl_n = LB_ARRAY_SIZE(lb_stats_ctl_desc);
const struct lb_stat_desc lb_stats_port_desc[] = { LB_STATS_PORT_LIST(PORT) };
const unsigned lb_stats_port_n = LB_ARRAY_SIZE(lb_stats_port_desc);
const struct lb_stat_desc lb_stats_daemon_desc[] = { LB_STATS_DAEMON_LIST(DAEMON) };
const unsigned lb_stats_daemon_n = LB_ARRAY_SIZE(lb_stats_daemon_desc);
const struct lb_stat_desc lb_stats_fe_desc[] = { LB_STATS_FE_LIST(FE) };
const unsigned lb_stats_fe_n = LB_ARRAY_SIZE(lb_stats_fe_desc);
const struct lb_stat_desc lb_stats_target_desc[] = { LB_STATS_TARGET_LIST(TGT) };
const unsigned lb_stats_target_n = LB_ARRAY_SIZE(lb_stats_target_desc);

void
lb_stats_read_dp(const struct lb_dp_counters *live, struct lb_dp_counters *out)
{
	const volatile uint64_t *src = (const volatile uint64_t *)(const void *)live;
	uint64_t *dst = (uint64_t *)(void *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = src[i];
}

void
lb_stats_worker_add(struct lb_stats_worker *out, const struct lb_stats_worker *in)
{
	uint64_t *o = (uint64_t *)(void *)&out->c;
	const uint64_t *x = (const uint64_t *)(const void *)&in->c;
	size_t i;

	for (i = 0; i < sizeof(out->c) / sizeof(uint64_t); i++)
		o[i] += x[i];
	out->flows += in->flows;
	out->affinity += in->affinity;
}

const char *
lb_stats_target_state_str(enum lb_stats_target_state s)
{
	static const char *const names[LB_STATS_TS_N] = {
		[LB_STATS_TS_ACTIVE] = "active",
		[LB_STATS_TS_DRAINED] = "drained",
		[LB_STATS_TS_TERMINATING] = "terminating",
		[LB_STATS_TS_UNHEALTHY] = "unhealthy",
		[LB_STATS_TS_STANDBY] = "standby",
	};

	return (unsigned)s < LB_STATS_TS_N ? names[s] : "unknown";
}

bool
lb_stats_fe_sum(const struct lb_stats_view *v, uint32_t slot, struct lb_stats_fe_set *out)
{
	uint32_t w, k;

	memset(out, 0, sizeof(*out));
	if (v->fe_sets == NULL || slot >= v->n_fe_slots)
		return false;
	for (w = 0; w < v->n_workers; w++) {
		const volatile uint64_t *src = v->fe_sets[w][slot].v;

		for (k = 0; k < LB_STATS_FE_N; k++)
			out->v[k] += src[k];
	}
	return true;
}

bool
lb_stats_target_sum(const struct lb_stats_view *v, uint32_t slot, struct lb_stats_target_set *out)
{
	uint32_t w, k;

	memset(out, 0, sizeof(*out));
	if (v->target_sets == NULL || slot >= v->n_target_slots)
		return false;
	for (w = 0; w < v->n_workers; w++) {
		const volatile uint64_t *src = v->target_sets[w][slot].v;

		for (k = 0; k < LB_STATS_T_N; k++)
			out->v[k] += src[k];
	}
	return true;
}

/* ---- lbctl JSON ---- */

static int
add_u64(struct json_object *o, const char *key, uint64_t v)
{
	struct json_object *n = json_object_new_uint64(v);

	if (n == NULL || json_object_object_add(o, key, n) != 0) {
		json_object_put(n);
		return -ENOMEM;
	}
	return 0;
}

static int
add_obj(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int
list_json(struct json_object *o, const struct lb_stat_desc *d, unsigned n, const void *base)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = add_u64(o, d[i].key, lb_stat_get(base, &d[i]));
	return rc;
}

static int
worker_json(struct json_object *o, const struct lb_stats_worker *w)
{
	struct json_object *d = json_object_new_object();
	unsigned i;
	int rc = list_json(o, lb_stats_worker_desc, lb_stats_worker_n, w);

	for (i = 0; i < LB_DROP_MAX && rc == 0 && d != NULL; i++)
		rc = add_u64(d, lb_drop_str((enum lb_drop)i), w->c.drops[i]);
	if (rc != 0) {
		json_object_put(d);
		return rc;
	}
	return add_obj(o, "drops", d);
}

/* "frontends": [{"name", <frontend list>, "targets": [{"target", <target list>}]}]
 * for the frontends and targets that have counter slots. */
static int
fe_json(struct json_object *r, const struct lb_stats_view *v)
{
	struct json_object *fa = json_object_new_array();
	struct lb_stats_target_set ts;
	struct lb_stats_fe_set fs;
	uint32_t i, j;
	int rc = fa != NULL ? 0 : -ENOMEM;

	for (i = 0; i < v->n_fes && rc == 0; i++) {
		const struct lb_stats_fe_info *f = &v->fes[i];
		struct json_object *o, *ta;

		if (!lb_stats_fe_sum(v, f->slot, &fs))
			continue;
		o = json_object_new_object();
		ta = json_object_new_array();
		if (o == NULL || ta == NULL || json_object_array_add(fa, o) != 0) {
			json_object_put(o);
			json_object_put(ta);
			rc = -ENOMEM;
			break;
		}
		rc = add_obj(o, "name", json_object_new_string(f->name));
		if (rc == 0)
			rc = list_json(o, lb_stats_fe_desc, lb_stats_fe_n, &fs);
		for (j = 0; j < f->n_targets && rc == 0; j++) {
			struct json_object *t;

			if (!lb_stats_target_sum(v, f->targets[j].slot, &ts))
				continue;
			t = json_object_new_object();
			if (t == NULL || json_object_array_add(ta, t) != 0) {
				json_object_put(t);
				rc = -ENOMEM;
				break;
			}
			rc = add_obj(t, "target", json_object_new_string(f->targets[j].target));
			if (rc == 0)
				rc = list_json(t, lb_stats_target_desc, lb_stats_target_n, &ts);
		}
		if (rc == 0)
			rc = add_obj(o, "targets", ta);
		else
			json_object_put(ta);
	}
	if (rc != 0) {
		json_object_put(fa);
		return rc;
	}
	return add_obj(r, "frontends", fa);
}

struct json_object *
lb_stats_json(const struct lb_stats_view *v)
{
	struct json_object *r = json_object_new_object(), *a = json_object_new_array();
	struct json_object *tot = json_object_new_object(), *n = json_object_new_object();
	struct json_object *c = json_object_new_object(), *ports = json_object_new_array();
	struct lb_stats_worker sum;
	uint32_t i;
	int rc = 0;

	if (r == NULL || a == NULL || tot == NULL || n == NULL || c == NULL || ports == NULL)
		goto fail;
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < v->n_workers && rc == 0; i++) {
		struct json_object *o = json_object_new_object();

		lb_stats_worker_add(&sum, &v->workers[i]);
		if (o == NULL || json_object_array_add(a, o) != 0) {
			json_object_put(o);
			goto fail;
		}
		rc = add_u64(o, "id", i);
		if (rc == 0)
			rc = add_u64(o, "lcore", v->workers[i].lcore);
		if (rc == 0)
			rc = worker_json(o, &v->workers[i]);
	}
	if (rc == 0)
		rc = worker_json(tot, &sum);
	if (rc == 0)
		rc = list_json(n, lb_stats_neigh_desc, lb_stats_neigh_n, &v->neigh);
	if (rc == 0)
		rc = list_json(c, lb_stats_ctl_desc, lb_stats_ctl_n, &v->ctl);
	for (i = 0; i < v->n_ports && rc == 0; i++) {
		struct json_object *o = json_object_new_object();

		if (o == NULL || json_object_array_add(ports, o) != 0) {
			json_object_put(o);
			goto fail;
		}
		rc = add_obj(o, "name", json_object_new_string(v->ports[i].name));
		if (rc == 0)
			rc = list_json(o, lb_stats_port_desc, lb_stats_port_n, &v->ports[i]);
	}
	if (rc == 0 && v->fe_sets != NULL)
		rc = fe_json(r, v);
	if (rc != 0)
		goto fail;
	json_object_object_add(r, "workers", a);
	a = NULL;
	json_object_object_add(r, "total", tot);
	tot = NULL;
	json_object_object_add(r, "neighbours", n);
	n = NULL;
	json_object_object_add(r, "control", c);
	c = NULL;
	json_object_object_add(r, "ports", ports);
	return r;
fail:
	json_object_put(a);
	json_object_put(tot);
	json_object_put(n);
	json_object_put(c);
	json_object_put(ports);
	json_object_put(r);
	return NULL;
}

/* ---- (key, value) emitters ---- */

int
lb_stats_emit_list(const struct lb_stat_desc *d, unsigned n, const void *base,
	const struct lb_stats_sink *s)
{
	unsigned i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = s->u64(s->ctx, d[i].key, lb_stat_get(base, &d[i]))) < 0)
			return rc;
	return 0;
}

int
lb_stats_emit_worker(const struct lb_stats_worker *w, const struct lb_stats_sink *s)
{
	char key[96];
	unsigned i;
	int rc = lb_stats_emit_list(lb_stats_worker_desc, lb_stats_worker_n, w, s);

	for (i = 0; i < LB_DROP_MAX && rc == 0; i++) {
		snprintf(key, sizeof(key), "drops/%s", lb_drop_str((enum lb_drop)i));
		rc = s->u64(s->ctx, key, w->c.drops[i]);
	}
	return rc;
}
