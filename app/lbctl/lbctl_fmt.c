/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Human-readable output. Every accessor tolerates missing fields and wrong
 * types (an older or newer lbd may send a different shape): what cannot be
 * shown prints as "-", and a result that is not an object prints as JSON.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lbctl.h"

#define NONE	"-"

/* A table of strings, printed with each column as wide as its widest cell. */
struct table {
	unsigned ncols;
	unsigned ncells;
	unsigned cap;
	char **cells;		/* row-major */
	const char *align;	/* per column: 'l' or 'r' */
};

static void
table_init(struct table *t, unsigned ncols, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->align = align;
}

static void
table_add(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *cell;

	va_start(ap, fmt);
	if (vasprintf(&cell, fmt, ap) < 0)
		cell = NULL;
	va_end(ap);
	if (t->ncells == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 64;
		char **p = realloc(t->cells, cap * sizeof(*p));

		if (p == NULL) {
			free(cell);
			return;
		}
		t->cells = p;
		t->cap = cap;
	}
	t->cells[t->ncells++] = cell;
}

static const char *
cell_at(const struct table *t, unsigned i)
{
	return i < t->ncells && t->cells[i] != NULL ? t->cells[i] : "";
}

static void
table_free(struct table *t)
{
	unsigned i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

/* Prints and frees the table. A partial last row is padded. */
static void
table_print(FILE *out, struct table *t)
{
	unsigned rows = (t->ncells + t->ncols - 1) / t->ncols;
	size_t *w = calloc(t->ncols, sizeof(*w));
	unsigned r, c;

	if (w != NULL) {
		for (r = 0; r < rows; r++)
			for (c = 0; c < t->ncols; c++)
				w[c] = LB_MAX(w[c], strlen(cell_at(t, r * t->ncols + c)));
		for (r = 0; r < rows; r++) {
			for (c = 0; c < t->ncols; c++) {
				const char *s = cell_at(t, r * t->ncols + c);
				bool last = c + 1 == t->ncols;
				bool right = t->align != NULL && t->align[c] == 'r';

				if (right)
					fprintf(out, "%*s", (int)w[c], s);
				else if (last)
					fputs(s, out);
				else
					fprintf(out, "%-*s", (int)w[c], s);
				fputs(last ? "\n" : "  ", out);
			}
		}
	}
	free(w);
	table_free(t);
}

static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A value as text: "-" for missing or null, JSON text for anything else. */
static const char *
vstr(struct json_object *v)
{
	return v == NULL ? NONE : json_object_get_string(v);
}

/* Any scalar as text, dflt for missing or null; numbers exactly as sent. */
static const char *
jstr_or(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v = jget(o, key);

	if (v == NULL || json_object_is_type(v, json_type_null) ||
	    json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return dflt;
	return json_object_get_string(v);
}

static const char *
jstr(struct json_object *o, const char *key)
{
	return jstr_or(o, key, NONE);
}

static bool
jnum(struct json_object *o, const char *key, double *d)
{
	struct json_object *v = jget(o, key);

	if (v == NULL || !(json_object_is_type(v, json_type_int) ||
			   json_object_is_type(v, json_type_double)))
		return false;
	*d = json_object_get_double(v);
	return true;
}

static const char *
jyesno(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (v == NULL || !json_object_is_type(v, json_type_boolean))
		return NONE;
	return json_object_get_boolean(v) ? "yes" : "no";
}

static struct json_object *
jarr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v != NULL && json_object_is_type(v, json_type_array) ? v : NULL;
}

static size_t
jlen(struct json_object *arr)
{
	return arr != NULL ? json_object_array_length(arr) : 0;
}

/* Milliseconds as seconds with one decimal, "-" when absent. */
static void
add_ms(struct table *t, struct json_object *o, const char *key)
{
	double ms;

	if (jnum(o, key, &ms))
		table_add(t, "%.1fs", ms / 1000);
	else
		table_add(t, NONE);
}

/* Joins an array of scalars with sep. */
static char *
join(struct json_object *arr, const char *sep)
{
	size_t i, n = jlen(arr), len = 1;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(vstr(json_object_array_get_idx(arr, i))) + strlen(sep);
	s = malloc(len);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, vstr(json_object_array_get_idx(arr, i)));
	}
	return s;
}

static void
fmt_duration(char *buf, size_t len, double secs)
{
	uint64_t s = secs > 0 ? (uint64_t)secs : 0;

	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d %02u:%02u:%02u", s / 86400,
			(unsigned)(s % 86400 / 3600), (unsigned)(s % 3600 / 60), (unsigned)(s % 60));
	else
		snprintf(buf, len, "%02u:%02u:%02u", (unsigned)(s / 3600),
			(unsigned)(s % 3600 / 60), (unsigned)(s % 60));
}

static void
fmt_time(char *buf, size_t len, double t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The API connection: server, state, per resource its state and
 * resourceVersion, the last event and the last error. */
static void
fmt_kubernetes(FILE *out, struct json_object *k)
{
	struct json_object *res = jarr(k, "resources"), *x;
	size_t i;

	fprintf(out, "kubernetes:   %s %s%s%s\n", jstr(k, "server"), jstr(k, "state"),
		jget(k, "last_error") != NULL && jstr(k, "last_error")[0] != '\0' &&
		strcmp(jstr(k, "last_error"), NONE) != 0 ? "; last error: " : "",
		jget(k, "last_error") != NULL && strcmp(jstr(k, "last_error"), NONE) != 0 ?
		jstr(k, "last_error") : "");
	for (i = 0; i < jlen(res); i++) {
		x = json_object_array_get_idx(res, i);
		fprintf(out, "              %-15s %-10s rv %-12s last event %s\n",
			jstr(x, "resource"), jstr(x, "state"), jstr(x, "resource_version"),
			jstr(x, "last_event"));
	}
}

static void
fmt_status(FILE *out, struct json_object *r)
{
	struct json_object *ports = jarr(r, "ports"), *lr = jget(r, "last_reload"), *p;
	char up[64], when[64];
	struct table t;
	double d;
	size_t i;

	if (jnum(r, "uptime_s", &d))
		fmt_duration(up, sizeof(up), d);
	else
		snprintf(up, sizeof(up), NONE);
	fprintf(out, "lbd %s, pid %s, up %s\n", jstr(r, "version"), jstr(r, "pid"), up);
	fprintf(out, "config:       %s (generation %s)\n", jstr(r, "config"), jstr(r, "generation"));
	if (lr != NULL) {
		fmt_time(when, sizeof(when), jnum(lr, "time", &d) ? d : 0);
		if (strcmp(jyesno(lr, "ok"), "no") == 0)
			fprintf(out, "last reload:  FAILED at %s: %s\n", when, jstr(lr, "error"));
		else if (strcmp(when, "never") == 0)
			fprintf(out, "last reload:  never\n");
		else
			fprintf(out, "last reload:  ok at %s\n", when);
	}
	fprintf(out, "workers:      %s\n", jstr(r, "workers"));
	fprintf(out, "frontends:    %s\n", jstr(r, "frontends"));
	if (jget(r, "snapshots") != NULL) {
		struct json_object *sn = jget(r, "snapshots"), *cv = jget(sn, "convergence");

		fprintf(out, "snapshots:    %s published, %s failed%s; last built in %s us "
			"(%s tables built, %s reused)\n", jstr(sn, "published"), jstr(sn, "failed"),
			strcmp(jyesno(sn, "building"), "yes") == 0 ? ", one building" : "",
			jstr(sn, "last_build_us"), jstr(sn, "last_tables_built"),
			jstr(sn, "last_tables_reused"));
		if (cv != NULL)
			fprintf(out, "convergence:  p50 %s us, p99 %s us, max %s us over %s "
				"Kubernetes changes\n", jstr(cv, "p50_us"), jstr(cv, "p99_us"),
				jstr(cv, "max_us"), jstr(cv, "samples"));
	}
	if (jget(r, "event_loop") != NULL) {
		struct json_object *el = jget(r, "event_loop");

		fprintf(out, "event loop:   longest pass %s us (%s us of CPU), %s passes over 20 ms "
			"(%s of CPU)\n", jstr(el, "max_pass_us"), jstr(el, "max_pass_cpu_us"),
			jstr(el, "slow_passes"), jstr(el, "slow_cpu_passes"));
	}
	if (jget(r, "kubernetes") != NULL)
		fmt_kubernetes(out, jget(r, "kubernetes"));
	if (jlen(ports) == 0)
		return;
	fputc('\n', out);
	table_init(&t, 9, "lllllrlrr");
	table_add(&t, "PORT");
	table_add(&t, "DEVICE");
	table_add(&t, "ROLE");
	table_add(&t, "ADDRESS");
	table_add(&t, "MAC");
	table_add(&t, "VLAN");
	table_add(&t, "LINK");
	table_add(&t, "RXQ");
	table_add(&t, "TXQ");
	for (i = 0; i < jlen(ports); i++) {
		p = json_object_array_get_idx(ports, i);
		table_add(&t, "%s", jstr(p, "name"));
		table_add(&t, "%s", jstr(p, "device"));
		table_add(&t, "%s", jstr(p, "role"));
		table_add(&t, "%s", jstr(p, "address"));
		table_add(&t, "%s", jstr(p, "mac"));
		table_add(&t, "%s", jstr(p, "vlan"));
		table_add(&t, "%s", jstr(p, "link"));
		table_add(&t, "%s", jstr(p, "rx_queues"));
		table_add(&t, "%s", jstr(p, "tx_queues"));
	}
	table_print(out, &t);
}

/* Human-readable count: 1234567 -> 1.23M. */
static void
fmt_count(char *buf, size_t len, const char *v)
{
	double d = strtod(v, NULL);

	if (d >= 1e12)
		snprintf(buf, len, "%.2fT", d / 1e12);
	else if (d >= 1e9)
		snprintf(buf, len, "%.2fG", d / 1e9);
	else if (d >= 1e6)
		snprintf(buf, len, "%.2fM", d / 1e6);
	else if (d >= 1e4)
		snprintf(buf, len, "%.1fk", d / 1e3);
	else
		snprintf(buf, len, "%s", v);
}

/* The traffic totals of frontends or targets that carry "counters" (since
 * each appeared; lbctl top shows rates). label(o) names a row. */
static void
fmt_traffic(FILE *out, struct json_object *arr, bool fe, void (*label)(struct json_object *o,
	char *buf, size_t len))
{
	static const char *const fe_drops[] = { "drops_acl_denied", "drops_no_target",
		"drops_snat_exhausted", "drops_flow_conflict", "drops_no_flow", "drops_ttl_expired" };
	static const char *const cols[] = { "packets_in", "packets_out", "bytes_in", "bytes_out",
		"flows", "flows_created" };
	struct table t;
	size_t i, k, rows = 0;
	char buf[64];

	table_init(&t, fe ? 8 : 7, fe ? "lrrrrrrr" : "lrrrrrr");
	table_add(&t, fe ? "FRONTEND" : "TARGET");
	table_add(&t, "PKTS IN");
	table_add(&t, "PKTS OUT");
	table_add(&t, "BYTES IN");
	table_add(&t, "BYTES OUT");
	table_add(&t, "FLOWS");
	table_add(&t, "CREATED");
	if (fe)
		table_add(&t, "DROPS");
	for (i = 0; i < jlen(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *c = jget(o, "counters");
		double d, drops = 0;

		if (c == NULL || !json_object_is_type(c, json_type_object))
			continue;
		rows++;
		label(o, buf, sizeof(buf));
		table_add(&t, "%s", buf);
		for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			fmt_count(buf, sizeof(buf), jstr(c, cols[k]));
			table_add(&t, "%s", buf);
		}
		if (fe) {
			for (k = 0; k < sizeof(fe_drops) / sizeof(fe_drops[0]); k++)
				drops += jnum(c, fe_drops[k], &d) ? d : 0;
			snprintf(buf, sizeof(buf), "%.0f", drops);
			table_add(&t, "%s", buf);
		}
	}
	if (rows > 0) {
		fprintf(out, "\ntraffic (totals since each appeared; `lbctl top` for rates):\n");
		table_print(out, &t);
	} else {
		table_free(&t);
	}
}

static void
fe_label(struct json_object *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s", jstr(o, "name"));
}

static void
target_label(struct json_object *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s", jstr(o, "address"), jstr(o, "port"));
}

static void
fmt_frontends(FILE *out, struct json_object *r)
{
	struct json_object *fes = jarr(r, "frontends"), *fe;
	struct table t;
	size_t i;

	if (jlen(fes) == 0) {
		fprintf(out, "no frontends\n");
		return;
	}
	table_init(&t, 11, "lllrllrrrll");
	table_add(&t, "NAME");
	table_add(&t, "VIP");
	table_add(&t, "PROTO");
	table_add(&t, "PORT");
	table_add(&t, "METHOD");
	table_add(&t, "AFFINITY");
	table_add(&t, "TARGETS");
	table_add(&t, "ACTIVE");
	table_add(&t, "MAGLEV");
	table_add(&t, "SOURCES");
	table_add(&t, "ORIGIN");
	for (i = 0; i < jlen(fes); i++) {
		const char *aff;
		char *src;

		fe = json_object_array_get_idx(fes, i);
		aff = jstr(fe, "session_affinity");
		table_add(&t, "%s", jstr(fe, "name"));
		table_add(&t, "%s", jstr(fe, "vip"));
		table_add(&t, "%s", jstr(fe, "protocol"));
		table_add(&t, "%s", jstr(fe, "port"));
		table_add(&t, "%s", jstr(fe, "method"));
		if (strcmp(aff, "none") == 0 || strcmp(aff, NONE) == 0)
			table_add(&t, "%s", aff);
		else
			table_add(&t, "%s/%ss", aff, jstr(fe, "affinity_timeout"));
		table_add(&t, "%s", jstr(fe, "targets"));
		table_add(&t, "%s", jstr(fe, "active"));
		table_add(&t, "%s", jstr(fe, "maglev_size"));
		src = jarr(fe, "source_ranges") != NULL ? join(jarr(fe, "source_ranges"), ",") : NULL;
		table_add(&t, "%s", src != NULL && src[0] != '\0' ? src : NONE);
		free(src);
		table_add(&t, "%s%s", jstr(fe, "origin"),
			strcmp(jyesno(fe, "fail_open"), "yes") == 0 ? " [failing open]" : "");
	}
	table_print(out, &t);
	fmt_traffic(out, fes, true, fe_label);
}

/* A target's health check in three cells: verdict, latency, last change. */
static void
add_health(struct table *t, struct json_object *h)
{
	char when[64];
	double d;

	if (h == NULL || !json_object_is_type(h, json_type_object)) {
		table_add(t, NONE);
		table_add(t, NONE);
		table_add(t, NONE);
		return;
	}
	if (jget(h, "reason") != NULL && strcmp(jstr(h, "reason"), NONE) != 0)
		table_add(t, "%s: %s", jstr(h, "state"), jstr(h, "reason"));
	else
		table_add(t, "%s", jstr(h, "state"));
	if (jnum(h, "latency_ms", &d))
		table_add(t, "%.2fms", d);
	else
		table_add(t, NONE);
	fmt_time(when, sizeof(when), jnum(h, "last_change", &d) ? d : 0);
	table_add(t, "%s", when);
}

static void
fmt_targets(FILE *out, struct json_object *r)
{
	struct json_object *ts = jarr(r, "targets"), *tg;
	struct table t;
	double share;
	size_t i;

	fprintf(out, "frontend %s: %zu target%s\n", jstr(r, "frontend"), jlen(ts),
		jlen(ts) == 1 ? "" : "s");
	if (jlen(ts) == 0)
		return;
	table_init(&t, 11, "lrrlrrllrll");
	table_add(&t, "ADDRESS");
	table_add(&t, "PORT");
	table_add(&t, "WEIGHT");
	table_add(&t, "STATE");
	table_add(&t, "SLOTS");
	table_add(&t, "SHARE");
	table_add(&t, "NEXTHOP");
	table_add(&t, "HEALTH");
	table_add(&t, "LATENCY");
	table_add(&t, "CHANGED");
	table_add(&t, "WHY");
	for (i = 0; i < jlen(ts); i++) {
		tg = json_object_array_get_idx(ts, i);
		table_add(&t, "%s", jstr(tg, "address"));
		table_add(&t, "%s", jstr(tg, "port"));
		table_add(&t, "%s", jstr(tg, "weight"));
		table_add(&t, "%s", jget(tg, "state") != NULL ? jstr(tg, "state") :
			strcmp(jyesno(tg, "drained"), "yes") == 0 ? "drained" : "active");
		table_add(&t, "%s", jstr(tg, "slots"));
		if (jnum(tg, "share", &share))
			table_add(&t, "%.2f%%", share * 100);
		else
			table_add(&t, NONE);
		table_add(&t, "%s", jstr(tg, "nexthop"));
		add_health(&t, jget(tg, "health"));
		{
			char *why = jarr(tg, "reasons") != NULL ? join(jarr(tg, "reasons"), "; ") :
				NULL;

			table_add(&t, "%s", why != NULL && why[0] != '\0' ? why : NONE);
			free(why);
		}
	}
	table_print(out, &t);
	fmt_traffic(out, ts, false, target_label);
}

/* Every check: what it probes, its state, last result, and the targets it
 * speaks for. */
static void
fmt_health(FILE *out, struct json_object *r)
{
	struct json_object *cs = jarr(r, "checks"), *c;
	struct table t;
	size_t i;

	fprintf(out, "%zu check%s: %s up, %s down, %s unknown; %s probe%s in flight", jlen(cs),
		jlen(cs) == 1 ? "" : "s", jstr(r, "up"), jstr(r, "down"), jstr(r, "unknown"),
		jstr(r, "in_flight"), strcmp(jstr(r, "in_flight"), "1") == 0 ? "" : "s");
	if (jstr_or(r, "interface", "")[0] != '\0')
		fprintf(out, "; interface %s", jstr(r, "interface"));
	if (jstr_or(r, "source", "")[0] != '\0')
		fprintf(out, "; source %s", jstr(r, "source"));
	fputc('\n', out);
	if (jlen(cs) == 0)
		return;
	table_init(&t, 6, "lllrll");
	table_add(&t, "CHECK");
	table_add(&t, "STATE");
	table_add(&t, "LAST RESULT");
	table_add(&t, "LATENCY");
	table_add(&t, "CHANGED");
	table_add(&t, "TARGETS");
	for (i = 0; i < jlen(cs); i++) {
		struct json_object *ts;
		char when[64], *list = NULL;
		size_t k, len = 1;
		double d;

		c = json_object_array_get_idx(cs, i);
		table_add(&t, "%s", jstr(c, "check"));
		table_add(&t, "%s", jstr(c, "state"));
		if (jget(c, "last_result") != NULL && strcmp(jstr(c, "last_result"), NONE) != 0)
			table_add(&t, "%s: %s", jstr(c, "last_result"), jstr(c, "reason"));
		else
			table_add(&t, "none yet");
		if (jnum(c, "latency_ms", &d))
			table_add(&t, "%.2fms", d);
		else
			table_add(&t, NONE);
		fmt_time(when, sizeof(when), jnum(c, "last_change", &d) ? d : 0);
		table_add(&t, "%s", when);
		ts = jarr(c, "targets");
		for (k = 0; k < jlen(ts); k++) {
			struct json_object *x = json_object_array_get_idx(ts, k);

			len += strlen(jstr(x, "frontend")) + strlen(jstr(x, "target")) + 3;
		}
		list = malloc(len);
		if (list != NULL) {
			list[0] = '\0';
			for (k = 0; k < jlen(ts); k++) {
				struct json_object *x = json_object_array_get_idx(ts, k);

				if (k > 0)
					strcat(list, ", ");
				strcat(list, jstr(x, "frontend"));
				strcat(list, " ");
				strcat(list, jstr(x, "target"));
			}
		}
		table_add(&t, "%s", list != NULL && list[0] != '\0' ? list : NONE);
		free(list);
	}
	table_print(out, &t);
}

static bool
is_zero(struct json_object *v)
{
	return v != NULL && json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 0;
}

/* A counter row: per-worker values then the total. sub is NULL for top-level
 * counters, "drops" for drop reasons. */
static void
stats_row(struct table *t, struct json_object *workers, struct json_object *total,
		const char *sub, const char *key)
{
	size_t i;

	table_add(t, "%s", key);
	for (i = 0; i < jlen(workers); i++) {
		struct json_object *w = json_object_array_get_idx(workers, i);

		table_add(t, "%s", jstr(sub ? jget(w, sub) : w, key));
	}
	table_add(t, "%s", jstr(sub ? jget(total, sub) : total, key));
}

static void
stats_header(struct table *t, const char *first, struct json_object *workers)
{
	size_t i;

	table_add(t, "%s", first);
	for (i = 0; i < jlen(workers); i++) {
		struct json_object *id = jget(json_object_array_get_idx(workers, i), "id");

		if (id != NULL)
			table_add(t, "w%s", vstr(id));
		else
			table_add(t, "w%zu", i);
	}
	table_add(t, "TOTAL");
}

static char *
right_align(size_t ncols)
{
	char *a = malloc(ncols + 1);

	if (a != NULL) {
		memset(a, 'r', ncols);
		a[0] = 'l';
		a[ncols] = '\0';
	}
	return a;
}

/* Ports: one row per port, one column per counter (the first port's keys). */
static void
fmt_stats_ports(FILE *out, struct json_object *ports)
{
	struct json_object *first = jlen(ports) > 0 ? json_object_array_get_idx(ports, 0) : NULL;
	unsigned ncols = 0;
	struct table t;
	char *align;
	size_t i;

	if (first == NULL || !json_object_is_type(first, json_type_object))
		return;
	json_object_object_foreach(first, k0, v0) {
		(void)k0;
		(void)v0;
		ncols++;
	}
	align = right_align(ncols);
	if (align == NULL)
		return;
	fputc('\n', out);
	table_init(&t, ncols, align);
	json_object_object_foreach(first, k1, v1) {
		(void)v1;
		table_add(&t, "%s", strcmp(k1, "name") == 0 ? "PORT" : k1);
	}
	for (i = 0; i < jlen(ports); i++) {
		struct json_object *p = json_object_array_get_idx(ports, i);

		json_object_object_foreach(first, k2, v2) {
			(void)v2;
			table_add(&t, "%s", jstr(p, k2));
		}
	}
	table_print(out, &t);
	free(align);
}

static void
fmt_stats(FILE *out, struct json_object *r, bool verbose)
{
	struct json_object *workers = jarr(r, "workers"), *total = jget(r, "total");
	struct json_object *keys, *drops, *neigh;
	size_t ncols = jlen(workers) + 2;
	char *align = right_align(ncols);
	unsigned shown = 0;
	struct table t;

	/* Counter names in the order lbd sent them: from the total, else from
	 * the first worker. */
	keys = total != NULL ? total :
		jlen(workers) > 0 ? json_object_array_get_idx(workers, 0) : NULL;
	if (align == NULL || keys == NULL || !json_object_is_type(keys, json_type_object)) {
		free(align);
		lbctl_fmt_json(out, r);
		return;
	}
	table_init(&t, (unsigned)ncols, align);
	stats_header(&t, "COUNTER", workers);
	if (jlen(workers) > 0)
		stats_row(&t, workers, NULL, NULL, "lcore");
	json_object_object_foreach(keys, key, val) {
		if (strcmp(key, "id") == 0 || strcmp(key, "lcore") == 0 || strcmp(key, "drops") == 0 ||
		    json_object_is_type(val, json_type_object))
			continue;
		stats_row(&t, workers, total, NULL, key);
	}
	table_print(out, &t);

	drops = jget(keys, "drops");
	fputc('\n', out);
	if (drops != NULL && json_object_is_type(drops, json_type_object)) {
		table_init(&t, (unsigned)ncols, align);
		stats_header(&t, "DROP REASON", workers);
		json_object_object_foreach(drops, reason, count) {
			if (!verbose && is_zero(count))
				continue;
			stats_row(&t, workers, total, "drops", reason);
			shown++;
		}
		if (shown > 0) {
			table_print(out, &t);
		} else {
			table_free(&t);
			fprintf(out, "drops: none\n");
		}
	}
	free(align);
	neigh = jget(r, "neighbours");
	if (neigh != NULL && json_object_is_type(neigh, json_type_object)) {
		fprintf(out, "\nneighbours:");
		json_object_object_foreach(neigh, nk, nv) {
			(void)nv;
			fprintf(out, " %s=%s", nk, jstr(neigh, nk));
		}
		fputc('\n', out);
	}
	neigh = jget(r, "control");
	if (neigh != NULL && json_object_is_type(neigh, json_type_object)) {
		fprintf(out, "control:");
		json_object_object_foreach(neigh, ck, cv) {
			(void)cv;
			fprintf(out, " %s=%s", ck, jstr(neigh, ck));
		}
		fputc('\n', out);
	}
	fmt_stats_ports(out, jarr(r, "ports"));
}

static void
fmt_flows(FILE *out, struct json_object *r)
{
	struct json_object *pw = jarr(r, "per_worker"), *sample = jarr(r, "sample"), *f;
	struct table t;
	size_t i;

	fprintf(out, "%s flows", jstr(r, "count"));
	if (jlen(pw) > 0) {
		fputs(" (", out);
		for (i = 0; i < jlen(pw); i++)
			fprintf(out, "%sw%zu: %s", i ? ", " : "", i,
				vstr(json_object_array_get_idx(pw, i)));
		fputc(')', out);
	}
	fputc('\n', out);
	if (jlen(sample) == 0)
		return;
	fprintf(out, "sample of %zu:\n", jlen(sample));
	table_init(&t, 8, "rlllllll");
	table_add(&t, "W");
	table_add(&t, "PROTO");
	table_add(&t, "CLIENT");
	table_add(&t, "VIP");
	table_add(&t, "TARGET");
	table_add(&t, "SNAT");
	table_add(&t, "STATE");
	table_add(&t, "EXPIRES");
	for (i = 0; i < jlen(sample); i++) {
		f = json_object_array_get_idx(sample, i);
		table_add(&t, "%s", jstr(f, "worker"));
		table_add(&t, "%s", jstr(f, "protocol"));
		table_add(&t, "%s", jstr(f, "client"));
		table_add(&t, "%s", jstr(f, "vip"));
		table_add(&t, "%s", jstr(f, "target"));
		table_add(&t, "%s", jstr(f, "snat"));
		table_add(&t, "%s", jstr(f, "state"));
		add_ms(&t, f, "expires_in_ms");
	}
	table_print(out, &t);
}

static void
fmt_trace(FILE *out, struct json_object *r)
{
	fprintf(out, "frontend:  %s\n", jstr_or(r, "frontend", "none"));
	fprintf(out, "allowed:   %s\n", jyesno(r, "allowed"));
	fprintf(out, "affinity:  %s\n", jyesno(r, "affinity"));
	fprintf(out, "hash:      %s\n", jstr(r, "hash"));
	fprintf(out, "slot:      %s of %s\n", jstr(r, "slot"), jstr(r, "maglev_size"));
	fprintf(out, "target:    %s\n", jstr_or(r, "target", "none"));
	fprintf(out, "owner:     worker %s\n", jstr(r, "owner_worker"));
	fprintf(out, "reason:    %s\n", jstr(r, "reason"));
}

static void
fmt_drain(FILE *out, const char *cmd, struct json_object *r)
{
	struct json_object *fes = jarr(r, "frontends");
	char *list = join(fes, ", ");

	fprintf(out, "%s %s in %s (generation %s)\n",
		strcmp(cmd, "drain") == 0 ? "drained" : "undrained", jstr(r, "target"),
		list != NULL && list[0] != '\0' ? list : "no frontend", jstr(r, "generation"));
	if (jget(r, "changed") != NULL && strcmp(jyesno(r, "changed"), "no") == 0)
		fprintf(out, "(it already was: nothing changed)\n");
	if (jget(r, "note") != NULL)
		fprintf(out, "note: %s\n", jstr(r, "note"));
	free(list);
}

static void
fmt_services(FILE *out, struct json_object *r)
{
	struct json_object *ss = jarr(r, "services"), *v;
	struct table t;
	size_t i;

	if (jlen(ss) == 0) {
		fprintf(out, "no Services owned\n");
		return;
	}
	table_init(&t, 7, "lllllrl");
	table_add(&t, "SERVICE");
	table_add(&t, "POLICY");
	table_add(&t, "VIP");
	table_add(&t, "PORTS");
	table_add(&t, "STATE");
	table_add(&t, "TARGETS");
	table_add(&t, "REASON");
	for (i = 0; i < jlen(ss); i++) {
		char *vips, *ports;

		v = json_object_array_get_idx(ss, i);
		vips = join(jarr(v, "vips"), ",");
		ports = join(jarr(v, "ports"), ",");
		table_add(&t, "%s/%s", jstr(v, "namespace"), jstr(v, "name"));
		table_add(&t, "%s", jstr(v, "policy"));
		table_add(&t, "%s", vips != NULL && vips[0] ? vips : NONE);
		table_add(&t, "%s", ports != NULL && ports[0] ? ports : NONE);
		table_add(&t, "%s", jstr(v, "state"));
		table_add(&t, "%s", jstr(v, "targets"));
		table_add(&t, "%s", jstr(v, "reason")[0] ? jstr(v, "reason") : NONE);
		free(vips);
		free(ports);
	}
	table_print(out, &t);
}

static void
fmt_neighbours(FILE *out, struct json_object *r)
{
	struct json_object *ns = jarr(r, "neighbours"), *n;
	struct table t;
	size_t i;

	if (jlen(ns) == 0) {
		fprintf(out, "no neighbours\n");
		return;
	}
	table_init(&t, 6, "lllllr");
	table_add(&t, "ADDRESS");
	table_add(&t, "PORT");
	table_add(&t, "MAC");
	table_add(&t, "STATE");
	table_add(&t, "EXPIRES");
	table_add(&t, "QUEUED");
	for (i = 0; i < jlen(ns); i++) {
		n = json_object_array_get_idx(ns, i);
		table_add(&t, "%s", jstr(n, "address"));
		table_add(&t, "%s", jstr(n, "port"));
		table_add(&t, "%s", jstr(n, "mac"));
		table_add(&t, "%s", jstr(n, "state"));
		add_ms(&t, n, "expires_in_ms");
		table_add(&t, "%s", jstr(n, "queued"));
	}
	table_print(out, &t);
}

void
lbctl_fmt_json(FILE *out, struct json_object *result)
{
	fprintf(out, "%s\n", json_object_to_json_string_ext(result,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		JSON_C_TO_STRING_NOSLASHESCAPE));
}

void
lbctl_fmt_table(FILE *out, const char *cmd, struct json_object *r, bool verbose)
{
	if (r == NULL || !json_object_is_type(r, json_type_object)) {
		lbctl_fmt_json(out, r);
		return;
	}
	if (strcmp(cmd, "status") == 0)
		fmt_status(out, r);
	else if (strcmp(cmd, "frontends") == 0)
		fmt_frontends(out, r);
	else if (strcmp(cmd, "targets") == 0)
		fmt_targets(out, r);
	else if (strcmp(cmd, "stats") == 0)
		fmt_stats(out, r, verbose);
	else if (strcmp(cmd, "flows") == 0)
		fmt_flows(out, r);
	else if (strcmp(cmd, "trace") == 0)
		fmt_trace(out, r);
	else if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "undrain") == 0)
		fmt_drain(out, cmd, r);
	else if (strcmp(cmd, "reload") == 0)
		fprintf(out, "reloaded: generation %s, %s frontends\n", jstr(r, "generation"),
			jstr(r, "frontends"));
	else if (strcmp(cmd, "neighbours") == 0)
		fmt_neighbours(out, r);
	else if (strcmp(cmd, "services") == 0)
		fmt_services(out, r);
	else if (strcmp(cmd, "health") == 0)
		fmt_health(out, r);
	else
		lbctl_fmt_json(out, r);
}
