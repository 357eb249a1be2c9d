/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lbctl top: a live view of lbd's rates, refreshed like top(1).
 *
 * Every delay it asks lbd for status, stats and frontends over one
 * connection and prints the differences of the counters since the last
 * sample as rates: per port (ethdev packets and bits), per worker (packets,
 * new flows, active flows, hand-offs, drops), per drop reason, and per
 * frontend and per target (packets and bits per second each way, new flows
 * per second, flows, drops per second), from the per-frontend counters in
 * lbd's stats ("frontends" in the stats result; without them the frontend
 * table shows what lbctl frontends gives: targets, active targets). Worker
 * bit rates appear when the worker counters carry bytes.
 *
 * On a terminal: the screen is redrawn in place, q (or Ctrl-C) quits, and the
 * frame is cut to the window. Otherwise (a pipe, a file): frames are printed
 * one after the other, uncut, like top -b. -n N stops after N frames.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "lb_ctl.h"
#include "lbctl.h"

#define NONE	"-"

/* ---- JSON access (tolerant: missing or mistyped is "absent") ---- */

static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
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
jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (v == NULL || json_object_is_type(v, json_type_object) ||
	    json_object_is_type(v, json_type_array) || json_object_is_type(v, json_type_null))
		return NONE;
	return json_object_get_string(v);
}

static struct json_object *
jarr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v != NULL && json_object_is_type(v, json_type_array) ? v : NULL;
}

static size_t
jlen(struct json_object *a)
{
	return a != NULL ? json_object_array_length(a) : 0;
}

/* The element of array a whose key equals name (or index i as fallback). */
static struct json_object *
find_named(struct json_object *a, const char *key, const char *name)
{
	size_t i;

	for (i = 0; i < jlen(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);

		if (strcmp(jstr(o, key), name) == 0)
			return o;
	}
	return NULL;
}

/* (cur[key] - prev[key]) / dt; NAN when either is missing or it went back. */
static double
rate(struct json_object *prev, struct json_object *cur, const char *key, double dt)
{
	double a, b;

	if (prev == NULL || dt <= 0 || !jnum(prev, key, &a) || !jnum(cur, key, &b) || b < a)
		return NAN;
	return (b - a) / dt;
}

/* Sum of the drops object's values. */
static bool
drops_sum(struct json_object *o, double *sum)
{
	struct json_object *d = jget(o, "drops");

	*sum = 0;
	if (d == NULL || !json_object_is_type(d, json_type_object))
		return false;
	json_object_object_foreach(d, k, v) {
		(void)k;
		*sum += json_object_get_double(v);
	}
	return true;
}

static double
drops_rate(struct json_object *prev, struct json_object *cur, double dt)
{
	double a, b;

	if (prev == NULL || dt <= 0 || !drops_sum(prev, &a) || !drops_sum(cur, &b) || b < a)
		return NAN;
	return (b - a) / dt;
}

/* ---- numbers ---- */

/* 0, 999, 1.23k, 45.6M, 7.89G: three significant digits. */
static const char *
human(char *buf, size_t len, double v)
{
	static const char *const sfx[] = { "", "k", "M", "G", "T", "P" };
	unsigned i = 0;

	if (isnan(v))
		return NONE;
	if (v < 0)
		v = 0;
	while (v >= 999.5 && i + 1 < sizeof(sfx) / sizeof(sfx[0])) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, v < 10 && v != floor(v) ? "%.1f" : "%.0f", v);
	else
		snprintf(buf, len, v < 9.995 ? "%.2f%s" : v < 99.95 ? "%.1f%s" : "%.0f%s", v, sfx[i]);
	return buf;
}

/* ---- a small table of text cells ---- */

#define CELL	48
#define MAXCOL	24

struct tab {
	unsigned ncols, nrows, cap;
	char (*cells)[CELL];
	const char *align;	/* per column 'l' or 'r'; NULL: first left, others right */
};

static void
tab_init(struct tab *t, unsigned ncols, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->align = align;
}

static void
tab_add(struct tab *t, const char *fmt, ...)
{
	unsigned n = t->nrows * t->ncols, i;
	va_list ap;

	for (i = 0; i < t->ncols && n > 0; i++)
		if (t->cells[n - t->ncols + i][0] == '\1')
			break;
	if (n == 0 || i == t->ncols) {
		/* a new row, every cell marked empty */
		if ((t->nrows + 1) * t->ncols > t->cap) {
			unsigned cap = t->cap ? t->cap * 2 : t->ncols * 16;
			void *p = realloc(t->cells, cap * sizeof(*t->cells));

			if (p == NULL)
				return;
			t->cells = p;
			t->cap = cap;
		}
		for (i = 0; i < t->ncols; i++)
			strcpy(t->cells[t->nrows * t->ncols + i], "\1");
		t->nrows++;
		n = t->nrows * t->ncols;
		i = 0;
	}
	va_start(ap, fmt);
	vsnprintf(t->cells[n - t->ncols + i], CELL, fmt, ap);
	va_end(ap);
}

/* Prints the table into out, at most max_rows rows (the header included);
 * returns the rows printed. */
static unsigned
tab_print(FILE *out, struct tab *t, unsigned max_rows)
{
	size_t w[MAXCOL] = { 0 };
	unsigned r, c, shown = 0;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols && c < MAXCOL; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (s[0] != '\1' && strlen(s) > w[c])
				w[c] = strlen(s);
		}
	for (r = 0; r < t->nrows && shown < max_rows; r++, shown++) {
		if (r > 0 && shown + 1 == max_rows && r + 1 < t->nrows) {
			fprintf(out, "... %u more\n", t->nrows - r);
			shown++;
			break;
		}
		for (c = 0; c < t->ncols && c < MAXCOL; c++) {
			const char *s = t->cells[r * t->ncols + c];

			bool left = t->align != NULL && c < strlen(t->align) ? t->align[c] == 'l' :
				c == 0;
			bool last = c + 1 == t->ncols;

			if (s[0] == '\1')
				s = "";
			if (left && last)
				fprintf(out, "%s%s", c ? "  " : "", s);
			else
				fprintf(out, left ? "%s%-*s" : "%s%*s", c ? "  " : "", (int)w[c], s);
		}
		fputc('\n', out);
	}
	free(t->cells);
	t->cells = NULL;
	return shown;
}

/* ---- the frame ---- */

static void
header(FILE *out, const struct lbctl_top_sample *cur, double delay)
{
	struct json_object *st = cur->status;
	char up[32] = NONE, when[16];
	double d;
	time_t now = time(NULL);
	struct tm tm;

	if (jnum(st, "uptime_s", &d)) {
		uint64_t s = (uint64_t)d;

		snprintf(up, sizeof(up), "%" PRIu64 ":%02u:%02u", s / 3600, (unsigned)(s % 3600 / 60),
			(unsigned)(s % 60));
	}
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(out, "lbd %s  up %s  generation %s  workers %s  frontends %s   %s  every %.1fs  q: quit\n",
		jstr(st, "version"), up, jstr(st, "generation"), jstr(st, "workers"),
		jstr(st, "frontends"), when, delay);
}

static void
totals(FILE *out, struct json_object *p, struct json_object *c, double dt)
{
	char a[16], b[16], f[16], g[16], h[16], k[16];

	fprintf(out, "total: rx %s pkt/s  tx %s pkt/s  new flows %s/s  active flows %s  "
		"drops %s/s  hand-offs %s/s  to control %s/s\n",
		human(a, sizeof(a), rate(p, c, "rx", dt)), human(b, sizeof(b), rate(p, c, "tx", dt)),
		human(f, sizeof(f), rate(p, c, "flows_created", dt)), jstr(c, "flows"),
		human(g, sizeof(g), drops_rate(p, c, dt)),
		human(h, sizeof(h), rate(p, c, "handoff_out", dt)),
		human(k, sizeof(k), rate(p, c, "to_control", dt)));
}

static unsigned
ports(FILE *out, struct json_object *pa, struct json_object *ca, double dt, unsigned max_rows)
{
	struct tab t;
	char x[16];
	size_t i;

	if (jlen(ca) == 0 || max_rows < 2)
		return 0;
	tab_init(&t, 8, "llrrrrrr");
	tab_add(&t, "PORT");
	tab_add(&t, "LINK");
	tab_add(&t, "RX PKT/S");
	tab_add(&t, "RX BIT/S");
	tab_add(&t, "TX PKT/S");
	tab_add(&t, "TX BIT/S");
	tab_add(&t, "MISSED/S");
	tab_add(&t, "ERRORS/S");
	for (i = 0; i < jlen(ca); i++) {
		struct json_object *c = json_object_array_get_idx(ca, i);
		struct json_object *p = find_named(pa, "name", jstr(c, "name"));
		double e1 = rate(p, c, "rx_errors", dt), e2 = rate(p, c, "tx_errors", dt);

		tab_add(&t, "%s", jstr(c, "name"));
		tab_add(&t, "%s", strcmp(jstr(c, "link_up"), "1") == 0 ? "up" :
			strcmp(jstr(c, "link_up"), "0") == 0 ? "down" : NONE);
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "rx_packets", dt)));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "rx_bytes", dt) * 8));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "tx_packets", dt)));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "tx_bytes", dt) * 8));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "rx_missed", dt)));
		tab_add(&t, "%s", human(x, sizeof(x), e1 + e2));
	}
	return tab_print(out, &t, max_rows);
}

static unsigned
workers(FILE *out, struct json_object *pa, struct json_object *ca, double dt, unsigned max_rows)
{
	struct json_object *w0 = jlen(ca) > 0 ? json_object_array_get_idx(ca, 0) : NULL;
	bool bytes = jget(w0, "rx_bytes") != NULL;
	struct tab t;
	char x[16];
	size_t i;

	if (jlen(ca) == 0 || max_rows < 2)
		return 0;
	tab_init(&t, bytes ? 10 : 9, NULL);
	tab_add(&t, "WORKER");
	tab_add(&t, "LCORE");
	tab_add(&t, "RX PKT/S");
	if (bytes)
		tab_add(&t, "RX BIT/S");
	tab_add(&t, "TX PKT/S");
	tab_add(&t, "NEW FLOWS/S");
	tab_add(&t, "ACTIVE FLOWS");
	tab_add(&t, "HANDOFF IN/S");
	tab_add(&t, "TO CTL/S");
	tab_add(&t, "DROPS/S");
	for (i = 0; i < jlen(ca); i++) {
		struct json_object *c = json_object_array_get_idx(ca, i);
		struct json_object *p = i < jlen(pa) ? json_object_array_get_idx(pa, i) : NULL;

		tab_add(&t, "w%s", jstr(c, "id"));
		tab_add(&t, "%s", jstr(c, "lcore"));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "rx", dt)));
		if (bytes)
			tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "rx_bytes", dt) * 8));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "tx", dt)));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "flows_created", dt)));
		tab_add(&t, "%s", jstr(c, "flows"));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "handoff_in", dt)));
		tab_add(&t, "%s", human(x, sizeof(x), rate(p, c, "to_control", dt)));
		tab_add(&t, "%s", human(x, sizeof(x), drops_rate(p, c, dt)));
	}
	return tab_print(out, &t, max_rows);
}

struct reason_rate {
	const char *name;
	double total;
};

static int
by_rate(const void *a, const void *b)
{
	const struct reason_rate *x = a, *y = b;

	return x->total < y->total ? 1 : x->total > y->total ? -1 : strcmp(x->name, y->name);
}

static unsigned
drops(FILE *out, struct json_object *pw, struct json_object *cw, struct json_object *ptot,
	struct json_object *ctot, double dt, unsigned max_rows)
{
	struct json_object *cd = jget(ctot, "drops"), *pd = jget(ptot, "drops");
	struct reason_rate rr[128];
	unsigned n = 0, k;
	struct tab t;
	char x[16];
	size_t i;

	if (cd == NULL || pd == NULL || !json_object_is_type(cd, json_type_object) || max_rows < 1)
		return 0;
	json_object_object_foreach(cd, reason, v) {
		double r = rate(pd, cd, reason, dt);

		(void)v;
		if (!isnan(r) && r > 0 && n < sizeof(rr) / sizeof(rr[0])) {
			rr[n].name = reason;
			rr[n].total = r;
			n++;
		}
	}
	if (n == 0) {
		fprintf(out, "drops/s: none\n");
		return 1;
	}
	if (max_rows < 2)
		return 0;
	qsort(rr, n, sizeof(rr[0]), by_rate);
	tab_init(&t, (unsigned)jlen(cw) + 2 < MAXCOL ? (unsigned)jlen(cw) + 2 : MAXCOL, NULL);
	tab_add(&t, "DROPS/S BY REASON");
	for (i = 0; i < jlen(cw) && i + 2 < MAXCOL; i++)
		tab_add(&t, "w%s", jstr(json_object_array_get_idx(cw, i), "id"));
	tab_add(&t, "TOTAL");
	for (k = 0; k < n; k++) {
		tab_add(&t, "%s", rr[k].name);
		for (i = 0; i < jlen(cw) && i + 2 < MAXCOL; i++) {
			struct json_object *c = json_object_array_get_idx(cw, i);
			struct json_object *p = i < jlen(pw) ? json_object_array_get_idx(pw, i) : NULL;

			tab_add(&t, "%s", human(x, sizeof(x), rate(jget(p, "drops"), jget(c, "drops"),
				rr[k].name, dt)));
		}
		tab_add(&t, "%s", human(x, sizeof(x), rr[k].total));
	}
	return tab_print(out, &t, max_rows);
}

/* Sum of the rates of a frontend's drop counters (keys "drops_*"). */
static double
drop_rate(struct json_object *prev, struct json_object *cur, double dt)
{
	double sum = 0, r;
	bool any = false;

	if (cur == NULL || !json_object_is_type(cur, json_type_object))
		return NAN;
	json_object_object_foreach(cur, k, v) {
		(void)v;
		if (strncmp(k, "drops_", 6) != 0)
			continue;
		r = rate(prev, cur, k, dt);
		if (isnan(r))
			return NAN;
		sum += r;
		any = true;
	}
	return any ? sum : NAN;
}

/* The traffic cells of one counter set: packets and bits per second in and
 * out, new flows per second, flows now (created - ended). */
static void
traffic_cells(struct tab *t, struct json_object *p, struct json_object *c, double dt)
{
	char x[16];
	double cr, en;

	tab_add(t, "%s", human(x, sizeof(x), rate(p, c, "packets_in", dt)));
	tab_add(t, "%s", human(x, sizeof(x), rate(p, c, "packets_out", dt)));
	tab_add(t, "%s", human(x, sizeof(x), rate(p, c, "bytes_in", dt) * 8));
	tab_add(t, "%s", human(x, sizeof(x), rate(p, c, "bytes_out", dt) * 8));
	tab_add(t, "%s", human(x, sizeof(x), rate(p, c, "flows_created", dt)));
	if (jnum(c, "flows_created", &cr) && jnum(c, "flows_ended", &en))
		tab_add(t, "%.0f", cr - en);
	else
		tab_add(t, NONE);
}

static void
traffic_heads(struct tab *t)
{
	tab_add(t, "PKT/S IN");
	tab_add(t, "PKT/S OUT");
	tab_add(t, "BIT/S IN");
	tab_add(t, "BIT/S OUT");
	tab_add(t, "NEW/S");
	tab_add(t, "FLOWS");
}

static unsigned
frontends(FILE *out, struct json_object *fes, struct json_object *pstat,
	struct json_object *cstat, double dt, unsigned max_rows)
{
	struct json_object *cf = jarr(cstat, "frontends"), *pf = jarr(pstat, "frontends");
	bool counted = cf != NULL;
	struct tab t;
	char x[16];
	size_t i;

	if (jlen(fes) == 0 || max_rows < 2)
		return 0;
	tab_init(&t, counted ? 13 : 6, counted ? "lllrrrrrrrrrl" : "lllrrl");
	tab_add(&t, "FRONTEND");
	tab_add(&t, "VIP:PORT/PROTO");
	tab_add(&t, "METHOD");
	tab_add(&t, "TARGETS");
	tab_add(&t, "ACTIVE");
	if (counted) {
		traffic_heads(&t);
		tab_add(&t, "DROP/S");
	}
	tab_add(&t, "SOURCE");
	for (i = 0; i < jlen(fes); i++) {
		struct json_object *f = json_object_array_get_idx(fes, i);
		const char *name = jstr(f, "name");

		tab_add(&t, "%s", name);
		tab_add(&t, "%s:%s/%s", jstr(f, "vip"), jstr(f, "port"), jstr(f, "protocol"));
		tab_add(&t, "%s", jstr(f, "method"));
		tab_add(&t, "%s", jstr(f, "targets"));
		tab_add(&t, "%s%s", jstr(f, "active"),
			jget(f, "fail_open") != NULL && json_object_get_boolean(jget(f, "fail_open")) ?
			" (open)" : "");
		if (counted) {
			struct json_object *c = find_named(cf, "name", name);
			struct json_object *p = find_named(pf, "name", name);

			traffic_cells(&t, p, c, dt);
			tab_add(&t, "%s", human(x, sizeof(x), drop_rate(p, c, dt)));
		}
		tab_add(&t, "%s", jstr(f, "source"));
	}
	return tab_print(out, &t, max_rows);
}

/* Per target, from the counted frontends of the stats result. */
static unsigned
targets(FILE *out, struct json_object *pstat, struct json_object *cstat, double dt,
	unsigned max_rows)
{
	struct json_object *cf = jarr(cstat, "frontends"), *pf = jarr(pstat, "frontends");
	struct tab t;
	size_t i, j, rows = 0;

	if (cf == NULL || max_rows < 2)
		return 0;
	tab_init(&t, 8, "llrrrrrr");
	tab_add(&t, "FRONTEND");
	tab_add(&t, "TARGET");
	traffic_heads(&t);
	for (i = 0; i < jlen(cf); i++) {
		struct json_object *f = json_object_array_get_idx(cf, i);
		struct json_object *pfe = find_named(pf, "name", jstr(f, "name"));
		struct json_object *ts = jarr(f, "targets");

		for (j = 0; j < jlen(ts); j++) {
			struct json_object *c = json_object_array_get_idx(ts, j);
			const char *tn = jstr(c, "target");

			tab_add(&t, "%s", jstr(f, "name"));
			tab_add(&t, "%s", tn);
			traffic_cells(&t, find_named(jarr(pfe, "targets"), "target", tn), c, dt);
			rows++;
		}
	}
	if (rows == 0) {
		tab_print(out, &t, 0);
		return 0;
	}
	return tab_print(out, &t, max_rows);
}

/* Writes the frame into a buffer, then cuts it to width x height. */
void
lbctl_top_render(FILE *out, const struct lbctl_top_sample *prev,
	const struct lbctl_top_sample *cur, double delay, unsigned width, unsigned height)
{
	struct json_object *ps = prev != NULL ? prev->stats : NULL, *cs = cur->stats;
	double dt = prev != NULL ? cur->t - prev->t : 0;
	unsigned used = 0, left;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return;
	/* rows left for a section: keep 1 for its blank line */
#define LEFT() (height == 0 ? 100000u : height > used + 1 ? height - used - 1 : 0u)
	header(f, cur, delay);
	totals(f, jget(ps, "total"), jget(cs, "total"), dt);
	used = 2;
	if (prev == NULL) {
		fprintf(f, "(rates from the next frame on)\n");
		used++;
	}
	if ((left = LEFT()) > 1) {
		fputc('\n', f);
		used += 1 + ports(f, jarr(ps, "ports"), jarr(cs, "ports"), dt, left);
	}
	if ((left = LEFT()) > 1) {
		fputc('\n', f);
		used += 1 + workers(f, jarr(ps, "workers"), jarr(cs, "workers"), dt, left);
	}
	if ((left = LEFT()) > 0) {
		fputc('\n', f);
		used += 1 + drops(f, jarr(ps, "workers"), jarr(cs, "workers"), jget(ps, "total"),
			jget(cs, "total"), dt, left);
	}
	if ((left = LEFT()) > 1) {
		fputc('\n', f);
		used += 1 + frontends(f, jarr(cur->frontends, "frontends"), ps, cs, dt, left);
	}
	if ((left = LEFT()) > 1 && jarr(cs, "frontends") != NULL) {
		fputc('\n', f);
		used += 1 + targets(f, ps, cs, dt, left);
	}
#undef LEFT
	fclose(f);
	{
		/* cut lines to width */
		char *line = buf, *nl;
		unsigned rows = 0;

		while (line != NULL && *line != '\0' && (height == 0 || rows < height)) {
			size_t n;

			nl = strchr(line, '\n');
			n = nl != NULL ? (size_t)(nl - line) : strlen(line);
			if (width > 0 && n > width)
				n = width;
			fwrite(line, 1, n, out);
			fputc('\n', out);
			rows++;
			line = nl != NULL ? nl + 1 : NULL;
		}
	}
	free(buf);
}

/* ---- the live loop ---- */

static volatile sig_atomic_t stop_sig;

static void
on_stop(int sig)
{
	stop_sig = sig;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sample_free(struct lbctl_top_sample *s)
{
	json_object_put(s->status);
	json_object_put(s->stats);
	json_object_put(s->frontends);
	memset(s, 0, sizeof(*s));
}

static struct json_object *
call(int fd, const char *cmd, int timeout_ms, char *err, size_t errlen)
{
	struct json_object *req = json_object_new_object(), *resp, *ok, *res = NULL;

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	resp = lb_ctl_call(fd, req, timeout_ms, err, errlen);
	json_object_put(req);
	if (resp == NULL)
		return NULL;
	if (json_object_object_get_ex(resp, "ok", &ok) && json_object_get_boolean(ok) &&
	    json_object_object_get_ex(resp, "result", &res)) {
		json_object_get(res);
	} else {
		snprintf(err, errlen, "%s: %s", cmd, jstr(resp, "error"));
		res = NULL;
	}
	json_object_put(resp);
	return res;
}

static int
sample(int fd, int timeout_ms, struct lbctl_top_sample *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->t = mono();
	s->stats = call(fd, "stats", timeout_ms, err, errlen);
	if (s->stats != NULL)
		s->status = call(fd, "status", timeout_ms, err, errlen);
	if (s->status != NULL)
		s->frontends = call(fd, "frontends", timeout_ms, err, errlen);
	if (s->frontends == NULL) {
		sample_free(s);
		return -1;
	}
	return 0;
}

/* Waits until the deadline; true when the user asked to quit. */
static bool
wait_key(bool tty, double until)
{
	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		double left = until - mono();
		char c;

		if (stop_sig)
			return true;
		if (left <= 0)
			return false;
		if (!tty) {
			struct timespec ts = { (time_t)left, (long)((left - (time_t)left) * 1e9) };

			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) > 0 && read(0, &c, 1) == 1 &&
		    (c == 'q' || c == 'Q' || c == 3 /* ^C in raw mode */))
			return true;
	}
}

int
lbctl_top_run(int fd, const struct lbctl_opts *o)
{
	struct lbctl_top_sample prev = { 0 }, cur;
	struct termios saved, raw;
	struct sigaction sa;
	bool tty = isatty(0) && isatty(1), have_prev = false, raw_on = false;
	double delay = o->delay_ms / 1000.0, next;
	unsigned frames = 0;
	char err[512];
	int rc = LBCTL_EXIT_OK;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (tty && tcgetattr(0, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		raw_on = tcsetattr(0, TCSANOW, &raw) == 0;
		fputs("\033[?25l\033[H\033[2J", stdout);	/* hide the cursor, clear */
		fflush(stdout);
	}
	/* a first sample to take rates from; the first frame follows one delay later */
	if (sample(fd, o->timeout_ms, &prev, err, sizeof(err)) != 0) {
		rc = LBCTL_EXIT_FAIL;
		goto out;
	}
	have_prev = true;
	next = mono() + delay;
	while (o->iterations == 0 || frames < o->iterations) {
		unsigned width = 0, height = 0;
		struct winsize ws;

		if (wait_key(tty, next))
			break;
		next += delay;
		if (sample(fd, o->timeout_ms, &cur, err, sizeof(err)) != 0) {
			rc = LBCTL_EXIT_FAIL;
			break;
		}
		if (tty && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
			width = ws.ws_col;
			height = ws.ws_row > 1 ? ws.ws_row - 1u : 1u;	/* no scroll on the last row */
		}
		if (tty) {
			/* redraw in place: home, each line cleared to its end, the rest
			 * of the screen cleared; no blank frame in between */
			char *buf = NULL, *line, *nl;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);

			if (f == NULL)
				break;
			lbctl_top_render(f, &prev, &cur, delay, width, height);
			fclose(f);
			fputs("\033[H", stdout);
			for (line = buf; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
				nl = strchr(line, '\n');
				fwrite(line, 1, nl != NULL ? (size_t)(nl - line) : strlen(line), stdout);
				fputs("\033[K\n", stdout);
			}
			fputs("\033[J", stdout);
			free(buf);
		} else {
			if (frames > 0)
				fputc('\n', stdout);
			lbctl_top_render(stdout, &prev, &cur, delay, width, height);
		}
		fflush(stdout);
		sample_free(&prev);
		prev = cur;
		frames++;
	}
out:
	if (tty) {
		fputs("\033[?25h", stdout);	/* the cursor back */
		fflush(stdout);
	}
	if (raw_on)
		tcsetattr(0, TCSANOW, &saved);
	if (have_prev)
		sample_free(&prev);
	if (rc != LBCTL_EXIT_OK)
		fprintf(stderr, "lbctl: top: %s\n", err);
	return rc;
}
