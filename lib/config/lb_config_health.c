/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * health = { ... } at the top level (the default check of every static
 * frontend, the timing of Kubernetes checks, where probes leave from) and
 * in a frontend (its own check, over the top-level one). docs/config.md,
 * "health", is the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_config_priv.h"

#define fail lb_config_fail

/* Keys of a check, valid in both places. */
#define SPEC_KEYS \
	"kind", "port", "path", "host", "expect", "body", "tls_verify", "interval_ms", \
	"timeout_ms", "rise", "fall", "jitter_pct"

static const char *const fe_health_keys[] = { SPEC_KEYS, NULL };
static const char *const top_health_keys[] = {
	SPEC_KEYS, "interface", "source", "kubernetes", NULL
};
static const char *const k8s_keys[] = { "nodes", "pods", "kube_proxy_port", NULL };
static const char *const kind_names[] = { "none", "tcp", "http", "https", NULL };
static const char *const body_names[] = { "any", "kube-proxy", NULL };
static const char *const pod_names[] = { "none", "tcp", NULL };

/* Lines of what one group set (0 = not set there). */
struct spec_lines {
	int kind;
	int timeout;
	int group;
};

static int
parse_expect(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_health_spec *s)
{
	const config_setting_t *seq;
	char label[96];
	int i, n, rc;

	rc = lb_config_get(x, g, path, "expect", LB_CONFIG_W_SEQ, false, &seq);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n < 1 || n > LB_HEALTH_EXPECT_MAX)
		return fail(x, lb_config_line(seq), "%s.expect has %d entries (1 to %d)", path, n,
			LB_HEALTH_EXPECT_MAX);
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		struct lb_health_expect *e = &s->expect[i];
		int type = config_setting_type(el);

		snprintf(label, sizeof(label), "%s.expect[%d]", path, i);
		if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
			uint32_t v;

			rc = lb_config_int_range(x, el, label, 100, 599, &v);
			if (rc != 0)
				return rc;
			e->lo = e->hi = (uint16_t)v;
		} else if (type == CONFIG_TYPE_STRING) {
			const char *str = config_setting_get_string(el);
			unsigned lo, hi;
			int used = 0;

			if (sscanf(str, "%u-%u%n", &lo, &hi, &used) != 2 || str[used] != '\0' ||
			    lo < 100 || hi > 599 || lo > hi)
				return fail(x, lb_config_line(el), "%s = \"%s\" is not a range of "
					"status codes (\"200-299\": 100..599, first <= last)", label,
					str);
			e->lo = (uint16_t)lo;
			e->hi = (uint16_t)hi;
		} else {
			return fail(x, lb_config_line(el), "%s must be a status code (200) or a "
				"range of them (\"200-299\")", label);
		}
	}
	s->n_expect = (uint32_t)n;
	return 0;
}

static int
parse_text(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	char *out, size_t outlen)
{
	const char *str = NULL;
	char b[96];
	size_t i;
	int l = 0, rc;

	rc = lb_config_get_str(x, g, path, key, false, &str, &l);
	if (rc != 0 || str == NULL)
		return rc;
	if (strlen(str) >= outlen)
		return fail(x, l, "%s is longer than %zu characters",
			lb_config_label(b, sizeof(b), path, key), outlen - 1);
	for (i = 0; str[i] != '\0'; i++)
		if ((unsigned char)str[i] <= ' ' || (unsigned char)str[i] >= 0x7f)
			return fail(x, l, "%s = \"%s\" holds a blank or a control character",
				lb_config_label(b, sizeof(b), path, key), str);
	if (strcmp(key, "path") == 0 && str[0] != '/')
		return fail(x, l, "%s = \"%s\" must start with '/'",
			lb_config_label(b, sizeof(b), path, key), str);
	snprintf(out, outlen, "%s", str);
	return 0;
}

/* The keys of a check present in g, over what s holds already. */
static int
parse_spec(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_health_spec *s, struct spec_lines *ln)
{
	uint32_t port = ntohs(s->port);
	int idx, rc;

	memset(ln, 0, sizeof(*ln));
	ln->group = lb_config_line(g);
	idx = s->kind;
	rc = lb_config_get_enum(x, g, path, "kind", kind_names, false, &idx, &ln->kind);
	if (rc != 0)
		return rc;
	s->kind = (uint8_t)idx;
	idx = s->body;
	rc = lb_config_get_enum(x, g, path, "body", body_names, false, &idx, NULL);
	if (rc != 0)
		return rc;
	s->body = (uint8_t)idx;
	rc = lb_config_get_uint(x, g, path, "port", 0, 65535, false, &port, NULL);
	if (rc == 0)
		rc = parse_text(x, g, path, "path", s->path, sizeof(s->path));
	if (rc == 0)
		rc = parse_text(x, g, path, "host", s->host, sizeof(s->host));
	if (rc == 0)
		rc = parse_expect(x, g, path, s);
	if (rc == 0)
		rc = lb_config_get_bool(x, g, path, "tls_verify", &s->tls_verify, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "interval_ms", LB_HEALTH_MIN_INTERVAL_MS,
			LB_HEALTH_MAX_INTERVAL_MS, false, &s->interval_ms, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "timeout_ms", LB_HEALTH_MIN_TIMEOUT_MS,
			LB_HEALTH_MAX_INTERVAL_MS, false, &s->timeout_ms, &ln->timeout);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "rise", 1, LB_HEALTH_MAX_THRESHOLD, false,
			&s->rise, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "fall", 1, LB_HEALTH_MAX_THRESHOLD, false,
			&s->fall, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "jitter_pct", 0, LB_HEALTH_MAX_JITTER_PCT, false,
			&s->jitter_pct, NULL);
	if (rc != 0)
		return rc;
	s->port = htons((uint16_t)port);
	return 0;
}

/* What the key checks cannot see: timeout against interval (either may
 * come from the top-level group). */
static int
check_spec(struct lb_config_ctx *x, const char *path, const struct lb_health_spec *s,
	const struct spec_lines *ln)
{
	char err[256];

	if (lb_health_spec_validate(s, err, sizeof(err)) != 0)
		return fail(x, ln->timeout ? ln->timeout : ln->group, "%s: %s", path, err);
	return 0;
}

static int
parse_kubernetes(struct lb_config_ctx *x, const config_setting_t *h)
{
	struct lb_config *c = x->c;
	struct lb_health_k8s_conf *k = &c->health_k8s;
	const config_setting_t *g;
	uint32_t port = LB_HEALTH_KUBE_PROXY_PORT;
	int pods = k->pod.kind == LB_HEALTH_NONE ? 0 : 1, rc;

	rc = lb_config_get(x, h, "health", "kubernetes", LB_CONFIG_W_GROUP, false, &g);
	if (rc != 0 || g == NULL)
		return rc;
	rc = lb_config_check_keys(x, g, "in health.kubernetes", k8s_keys);
	if (rc == 0)
		rc = lb_config_get_bool(x, g, "health.kubernetes", "nodes", &k->nodes, NULL);
	if (rc == 0)
		rc = lb_config_get_enum(x, g, "health.kubernetes", "pods", pod_names, false, &pods,
			NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "health.kubernetes", "kube_proxy_port", 1, 65535,
			false, &port, NULL);
	if (rc != 0)
		return rc;
	k->pod.kind = pods == 0 ? LB_HEALTH_NONE : LB_HEALTH_TCP;
	k->proxy_port = htons((uint16_t)port);
	return 0;
}

static int
parse_bind(struct lb_config_ctx *x, const config_setting_t *h)
{
	struct lb_health_bind *b = &x->c->health_bind;
	const char *str = NULL;
	size_t i;
	int l = 0, rc;

	rc = lb_config_get_str(x, h, "health", "interface", false, &str, &l);
	if (rc != 0)
		return rc;
	if (str != NULL) {
		if (str[0] == '\0' || strlen(str) >= sizeof(b->ifname))
			return fail(x, l, "health.interface = \"%s\" is not an interface name "
				"(1 to %zu characters)", str, sizeof(b->ifname) - 1);
		for (i = 0; str[i] != '\0'; i++)
			if ((unsigned char)str[i] <= ' ' || str[i] == '/' ||
			    (unsigned char)str[i] >= 0x7f)
				return fail(x, l, "health.interface = \"%s\" is not an interface "
					"name", str);
		snprintf(b->ifname, sizeof(b->ifname), "%s", str);
	}
	str = NULL;
	rc = lb_config_get_str(x, h, "health", "source", false, &str, &l);
	if (rc != 0 || str == NULL)
		return rc;
	if (lb_ip_parse(str, &b->source) != 0)
		return fail(x, l, "health.source = \"%s\" is not an IP address", str);
	return 0;
}

int
lb_config_parse_health(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *h;
	struct spec_lines ln;
	int rc;

	lb_health_spec_default(&c->health);
	lb_health_k8s_conf_default(&c->health_k8s);
	memset(&c->health_bind, 0, sizeof(c->health_bind));
	c->line_health = 1;
	c->line_health_kind = 0;
	rc = lb_config_get(x, root, "", "health", LB_CONFIG_W_GROUP, false, &h);
	if (rc != 0 || h == NULL)
		return rc;
	c->line_health = lb_config_line(h);
	rc = lb_config_check_keys(x, h, "in health", top_health_keys);
	if (rc == 0)
		rc = parse_spec(x, h, "health", &c->health, &ln);
	if (rc == 0)
		rc = check_spec(x, "health", &c->health, &ln);
	if (rc == 0)
		rc = parse_bind(x, h);
	if (rc != 0)
		return rc;
	c->line_health_kind = ln.kind;
	/* Kubernetes checks take the group's timing and TLS setting; their
	 * kind, port and path are Kubernetes' (lb_health_k8s_spec). */
	{
		struct lb_health_spec *targets[] = { &c->health_k8s.node, &c->health_k8s.pod };
		size_t i;

		for (i = 0; i < LB_ARRAY_SIZE(targets); i++) {
			targets[i]->interval_ms = c->health.interval_ms;
			targets[i]->timeout_ms = c->health.timeout_ms;
			targets[i]->rise = c->health.rise;
			targets[i]->fall = c->health.fall;
			targets[i]->jitter_pct = c->health.jitter_pct;
			targets[i]->tls_verify = c->health.tls_verify;
		}
	}
	return parse_kubernetes(x, h);
}

int
lb_config_parse_fe_health(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_frontend *fe)
{
	struct lb_config *c = x->c;
	const config_setting_t *h;
	struct spec_lines ln;
	char hpath[64];
	int rc, kind_line;

	fe->health = c->health;
	fe->line_health = fe->line;
	kind_line = c->line_health_kind;
	snprintf(hpath, sizeof(hpath), "%s.health", path);
	rc = lb_config_get(x, g, path, "health", LB_CONFIG_W_GROUP, false, &h);
	if (rc != 0)
		return rc;
	if (h != NULL) {
		fe->line_health = lb_config_line(h);
		rc = lb_config_check_keys(x, h, "in a frontend's health (interface, source and "
			"kubernetes belong to the top-level health)", fe_health_keys);
		if (rc == 0)
			rc = parse_spec(x, h, hpath, &fe->health, &ln);
		if (rc == 0)
			rc = check_spec(x, hpath, &fe->health, &ln);
		if (rc != 0)
			return rc;
		if (ln.kind != 0)
			kind_line = ln.kind;
	}
	/* A UDP target cannot answer a TCP or HTTP probe on its own port. */
	if (fe->proto == LB_PROTO_UDP && fe->health.kind != LB_HEALTH_NONE && fe->health.port == 0)
		return fail(x, fe->line_health, "frontend '%s' is UDP: its health check (kind "
			"\"%s\", set at line %d) needs health.port, a TCP port of the targets to "
			"probe (or kind \"none\")", fe->name, lb_health_kind_str(fe->health.kind),
			kind_line);
	return 0;
}
