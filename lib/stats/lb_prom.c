/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus text format of the counter lists (lb_prom.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_prom.h"

void
lb_buf_init(struct lb_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
lb_buf_free(struct lb_buf *b)
{
	free(b->p);
	lb_buf_init(b);
}

static bool
reserve(struct lb_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 16384;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void
lb_buf_printf(struct lb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!reserve(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (!reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static void
putc_buf(struct lb_buf *b, char c)
{
	if (!reserve(b, 1))
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
lb_buf_label_value(struct lb_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"') {
			putc_buf(b, '\\');
			putc_buf(b, *s);
		} else if (*s == '\n') {
			putc_buf(b, '\\');
			putc_buf(b, 'n');
		} else {
			putc_buf(b, *s);
		}
	}
}

/* ---- samples ---- */

/* The family of the last HELP/TYPE written: entries of one family share it. */
struct writer {
	struct lb_buf *b;
	char family[128];
};

static void
family(struct writer *w, const char *metric, uint8_t type, const char *help)
{
	char name[128];

	snprintf(name, sizeof(name), "lbd_%s%s", metric, type == LB_STAT_COUNTER ? "_total" : "");
	if (strcmp(name, w->family) == 0)
		return;
	snprintf(w->family, sizeof(w->family), "%s", name);
	lb_buf_printf(w->b, "# HELP %s %s\n# TYPE %s %s\n", name, help != NULL ? help : "",
		name, type == LB_STAT_COUNTER ? "counter" : "gauge");
}

/* Label pairs, up to 4, NULL-terminated name/value; extra is a preformatted
 * pair from a list entry (NULL: none). */
static void
sample(struct writer *w, const char *const *labels, const char *extra, uint64_t v, uint8_t unit)
{
	unsigned i, n = 0;

	lb_buf_printf(w->b, "%s", w->family);
	for (i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		lb_buf_printf(w->b, "%s%s=\"", n++ ? "," : "{", labels[i]);
		lb_buf_label_value(w->b, labels[i + 1]);
		putc_buf(w->b, '"');
	}
	if (extra != NULL)
		lb_buf_printf(w->b, "%s%s", n++ ? "," : "{", extra);
	if (n > 0)
		putc_buf(w->b, '}');
	switch (unit) {
	case LB_STAT_NS:
		lb_buf_printf(w->b, " %.9f\n", (double)v / 1e9);
		break;
	case LB_STAT_US:
		lb_buf_printf(w->b, " %.6f\n", (double)v / 1e6);
		break;
	case LB_STAT_MS:
		lb_buf_printf(w->b, " %.3f\n", (double)v / 1e3);
		break;
	default:
		lb_buf_printf(w->b, " %" PRIu64 "\n", v);
		break;
	}
}

/* A list over one struct, with the same labels on every sample. */
static void
list(struct writer *w, const struct lb_stat_desc *d, unsigned n, const void *base,
	const char *const *labels)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		family(w, d[i].metric, d[i].type, d[i].help);
		sample(w, labels, d[i].label, lb_stat_get(base, &d[i]), d[i].unit);
	}
}

/* A list over several structs (workers, ports): each family's samples for
 * every instance before the next family. */
static void
list_each(struct writer *w, const struct lb_stat_desc *d, unsigned n, const void *base,
	size_t stride, uint32_t count, const char *label, const char *const *names)
{
	unsigned i;
	uint32_t k;

	for (i = 0; i < n; i++) {
		family(w, d[i].metric, d[i].type, d[i].help);
		for (k = 0; k < count; k++) {
			const char *labels[] = { label, names[k], NULL };

			sample(w, labels, d[i].label,
				lb_stat_get((const uint8_t *)base + k * stride, &d[i]), d[i].unit);
		}
	}
}

static void
frontends(struct writer *w, const struct lb_stats_view *v)
{
	uint32_t i, j;
	char port[8];

	if (v->n_fes == 0)
		return;
	family(w, "frontend_info", LB_STAT_GAUGE,
		"A frontend of the published snapshot (value 1): VIP, protocol, VIP port, method, source.");
	for (i = 0; i < v->n_fes; i++) {
		const struct lb_stats_fe_info *f = &v->fes[i];
		const char *labels[] = { "frontend", f->name, "vip", f->vip, "protocol", f->protocol,
			"vip_port", port, "method", f->method, "source", f->source, NULL };

		snprintf(port, sizeof(port), "%u", f->port);
		sample(w, labels, NULL, 1, LB_STAT_ONE);
	}
	family(w, "frontend_targets", LB_STAT_GAUGE, "Targets of the frontend.");
	for (i = 0; i < v->n_fes; i++) {
		const char *labels[] = { "frontend", v->fes[i].name, NULL };

		sample(w, labels, NULL, v->fes[i].n_targets, LB_STAT_ONE);
	}
	family(w, "frontend_targets_active", LB_STAT_GAUGE,
		"Targets holding Maglev slots (taking new flows).");
	for (i = 0; i < v->n_fes; i++) {
		const char *labels[] = { "frontend", v->fes[i].name, NULL };

		sample(w, labels, NULL, v->fes[i].n_active, LB_STAT_ONE);
	}
	family(w, "frontend_failing_open", LB_STAT_GAUGE,
		"1 when every target is unhealthy and all of them take flows anyway.");
	for (i = 0; i < v->n_fes; i++) {
		const char *labels[] = { "frontend", v->fes[i].name, NULL };

		sample(w, labels, NULL, v->fes[i].fail_open, LB_STAT_ONE);
	}
	family(w, "target_weight", LB_STAT_GAUGE, "A target's weight (as configured or discovered).");
	for (i = 0; i < v->n_fes; i++)
		for (j = 0; j < v->fes[i].n_targets; j++) {
			const char *labels[] = { "frontend", v->fes[i].name, "target",
				v->fes[i].targets[j].target, NULL };

			sample(w, labels, NULL, v->fes[i].targets[j].weight, LB_STAT_ONE);
		}
	family(w, "target_state", LB_STAT_GAUGE,
		"A target's state (value 1): active, drained, terminating, unhealthy or standby "
		"(weight 0).");
	for (i = 0; i < v->n_fes; i++)
		for (j = 0; j < v->fes[i].n_targets; j++) {
			const struct lb_stats_target_info *t = &v->fes[i].targets[j];
			const char *labels[] = { "frontend", v->fes[i].name, "target", t->target,
				"state", lb_stats_target_state_str((enum lb_stats_target_state)t->state),
				NULL };

			sample(w, labels, NULL, 1, LB_STAT_ONE);
		}
}

/* Per-frontend and per-target counter sets, where the data path keeps them. */
static void
frontend_counters(struct writer *w, const struct lb_stats_view *v)
{
	struct lb_stats_fe_set fs;
	struct lb_stats_target_set ts;
	unsigned k;
	uint32_t i, j;

	if (v->fe_sets != NULL) {
		for (k = 0; k < lb_stats_fe_n; k++) {
			const struct lb_stat_desc *d = &lb_stats_fe_desc[k];

			family(w, d->metric, d->type, d->help);
			for (i = 0; i < v->n_fes; i++) {
				const char *labels[] = { "frontend", v->fes[i].name, NULL };

				if (lb_stats_fe_sum(v, v->fes[i].slot, &fs))
					sample(w, labels, d->label, lb_stat_get(&fs, d), d->unit);
			}
		}
		family(w, "frontend_flows", LB_STAT_GAUGE, "Flows of the frontend in the flow tables.");
		for (i = 0; i < v->n_fes; i++) {
			const char *labels[] = { "frontend", v->fes[i].name, NULL };

			if (lb_stats_fe_sum(v, v->fes[i].slot, &fs))
				sample(w, labels, NULL, fs.v[LB_STATS_FE_FLOWS_CREATED] -
					fs.v[LB_STATS_FE_FLOWS_ENDED], LB_STAT_ONE);
		}
	}
	if (v->target_sets == NULL)
		return;
	for (k = 0; k < lb_stats_target_n; k++) {
		const struct lb_stat_desc *d = &lb_stats_target_desc[k];

		family(w, d->metric, d->type, d->help);
		for (i = 0; i < v->n_fes; i++)
			for (j = 0; j < v->fes[i].n_targets; j++) {
				const struct lb_stats_target_info *t = &v->fes[i].targets[j];
				const char *labels[] = { "frontend", v->fes[i].name, "target", t->target,
					NULL };

				if (lb_stats_target_sum(v, t->slot, &ts))
					sample(w, labels, d->label, lb_stat_get(&ts, d), d->unit);
			}
	}
	family(w, "target_flows", LB_STAT_GAUGE, "Flows to the target in the flow tables.");
	for (i = 0; i < v->n_fes; i++)
		for (j = 0; j < v->fes[i].n_targets; j++) {
			const struct lb_stats_target_info *t = &v->fes[i].targets[j];
			const char *labels[] = { "frontend", v->fes[i].name, "target", t->target, NULL };

			if (lb_stats_target_sum(v, t->slot, &ts))
				sample(w, labels, NULL, ts.v[LB_STATS_T_FLOWS_CREATED] -
					ts.v[LB_STATS_T_FLOWS_ENDED], LB_STAT_ONE);
		}
}

int
lb_prom_render(const struct lb_stats_view *v, struct lb_buf *b)
{
	struct writer w = { .b = b, .family = "" };
	char (*ids)[12] = calloc(v->n_workers + 1, sizeof(*ids));
	const char **names = calloc(v->n_workers + v->n_ports + 1, sizeof(*names));
	uint32_t i, r;

	if (ids == NULL || names == NULL) {
		free(ids);
		free(names);
		b->oom = true;
		return -ENOMEM;
	}
	{
		const char *labels[] = { "version", v->version, "dpdk", v->dpdk_version, NULL };

		family(&w, "build_info", LB_STAT_GAUGE,
			"lbd's version and the DPDK it runs on (value 1).");
		sample(&w, labels, NULL, 1, LB_STAT_ONE);
	}
	list(&w, lb_stats_daemon_desc, lb_stats_daemon_n, &v->daemon, NULL);

	/* workers */
	for (i = 0; i < v->n_workers; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%u", i);
		names[i] = ids[i];
	}
	family(&w, "worker_info", LB_STAT_GAUGE, "A worker and its lcore (value 1).");
	for (i = 0; i < v->n_workers; i++) {
		char lcore[12];
		const char *labels[] = { "worker", ids[i], "lcore", lcore, NULL };

		snprintf(lcore, sizeof(lcore), "%u", v->workers[i].lcore);
		sample(&w, labels, NULL, 1, LB_STAT_ONE);
	}
	list_each(&w, lb_stats_worker_desc, lb_stats_worker_n, v->workers, sizeof(*v->workers),
		v->n_workers, "worker", names);
	family(&w, LB_STATS_DROP_METRIC, LB_STAT_COUNTER, LB_STATS_DROP_HELP);
	for (i = 0; i < v->n_workers; i++)
		for (r = 0; r < LB_DROP_MAX; r++) {
			const char *labels[] = { "worker", ids[i], "reason",
				lb_drop_str((enum lb_drop)r), NULL };

			sample(&w, labels, NULL, v->workers[i].c.drops[r], LB_STAT_ONE);
		}

	list(&w, lb_stats_ctl_desc, lb_stats_ctl_n, &v->ctl, NULL);
	list(&w, lb_stats_neigh_desc, lb_stats_neigh_n, &v->neigh, NULL);

	/* ports */
	if (v->n_ports > 0) {
		family(&w, "port_info", LB_STAT_GAUGE, "A port: role, driver, MAC address (value 1).");
		for (i = 0; i < v->n_ports; i++) {
			const struct lb_stats_port *p = &v->ports[i];
			const char *labels[] = { "port", p->name, "role", p->role, "driver", p->driver,
				"mac", p->mac, NULL };

			sample(&w, labels, NULL, 1, LB_STAT_ONE);
			names[i] = p->name;
		}
		list_each(&w, lb_stats_port_desc, lb_stats_port_n, v->ports, sizeof(*v->ports),
			v->n_ports, "port", names);
	}

	frontends(&w, v);
	frontend_counters(&w, v);
	/*
	 * Kubernetes sync (issue 5) and health-check (issue 8) families that need
	 * labels of their own (per resource, per target) go here; scalar ones
	 * belong in LB_STATS_DAEMON_LIST.
	 */
	free(ids);
	free(names);
	return b->oom ? -ENOMEM : 0;
}
