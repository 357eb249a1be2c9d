/* SPDX-License-Identifier: BSD-3-Clause */
/* frontends = ( { ... }, ... ): VIPs, Maglev sizes, source ranges, targets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "lb_maglev.h"
#include "lb_config_priv.h"

#define fail lb_config_fail

static const char *const fe_keys[] = {
	"name", "vip", "protocol", "port", "method", "maglev_size", "session_affinity",
	"affinity_timeout", "source_ranges", "targets", "health", NULL
};
static const char *const target_keys[] = { "address", "port", "weight", NULL };
static const char *const proto_names[] = { "tcp", "udp", NULL };
static const uint8_t proto_nums[] = { LB_PROTO_TCP, LB_PROTO_UDP };
static const char *const method_names[] = { "fullnat", "dnat", NULL };
static const char *const affinity_names[] = { "none", "client_ip", NULL };

static uint32_t
next_prime(uint32_t n)
{
	while (n < LB_MAGLEV_MAX_SIZE && !lb_maglev_is_prime(n))
		n++;
	return n;
}

static int
parse_src_ranges(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_frontend *fe)
{
	const config_setting_t *seq;
	char label[96], ip[LB_IP4_STRLEN];
	int i, n, rc;

	rc = lb_config_get_seq(x, g, path, "source_ranges", false, LB_CONFIG_W_STRING, &seq, NULL);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n == 0)
		return 0;
	fe->src_ranges = calloc((size_t)n, sizeof(*fe->src_ranges));
	if (fe->src_ranges == NULL)
		return fail(x, lb_config_line(seq), "out of memory");
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		const char *str = config_setting_get_string(el);
		struct lb_cidr *r = &fe->src_ranges[i];

		snprintf(label, sizeof(label), "%s.source_ranges[%d]", path, i);
		if (lb_cidr_parse(str, r, true) != 0)
			return fail(x, lb_config_line(el),
				"%s = \"%s\" is not a CIDR (a.b.c.d/len)", label, str);
		if ((r->addr & ~r->mask) != 0)
			return fail(x, lb_config_line(el),
				"%s = \"%s\" has host bits set (did you mean "
				"\"%s/%u\"?)", label, str, lb_ip4_fmt(r->addr & r->mask, ip),
					r->len);
		fe->n_src_ranges = (uint32_t)i + 1;
	}
	return 0;
}

static int
parse_targets(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_frontend *fe)
{
	const config_setting_t *seq;
	char tpath[96], ep[LB_EP_STRLEN];
	uint32_t port, active = 0;
	int i, j, n, rc;

	rc = lb_config_get_seq(x, g, path, "targets", false, LB_CONFIG_W_GROUP, &seq, NULL);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n == 0)
		return 0;
	fe->targets = calloc((size_t)n, sizeof(*fe->targets));
	if (fe->targets == NULL)
		return fail(x, lb_config_line(seq), "out of memory");
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		struct lb_config_target *t = &fe->targets[i];

		snprintf(tpath, sizeof(tpath), "%s.targets[%d]", path, i);
		t->line = lb_config_line(el);
		t->weight = 1;
		rc = lb_config_check_keys(x, el, "in target", target_keys);
		if (rc == 0)
			rc = lb_config_get_host(x, el, tpath, "address", true, &t->addr, NULL);
		if (rc == 0)
			rc = lb_config_get_uint(x, el, tpath, "port", 1, 65535, true, &port, NULL);
		if (rc == 0)
			rc = lb_config_get_uint(x, el, tpath, "weight", 0, 65535, false,
				&t->weight, NULL);
		if (rc != 0)
			return rc;
		t->port = htons((uint16_t)port);
		for (j = 0; j < i; j++)
			if (fe->targets[j].addr == t->addr && fe->targets[j].port == t->port)
				return fail(x, t->line, "duplicate target %s in frontend '%s' "
					"(first at line %d)", lb_ep_fmt(t->addr, t->port, ep),
					fe->name, fe->targets[j].line);
		fe->n_targets = (uint32_t)i + 1;
		if (t->weight > 0)
			active++;
	}
	if (active > fe->maglev_size)
		return fail(x, lb_config_line(seq),
			"frontend '%s' has %u targets with a weight but only "
			"%u Maglev slots (raise maglev_size)", fe->name, active, fe->maglev_size);
	return 0;
}

static int
parse_frontend(struct lb_config_ctx *x, const config_setting_t *g, uint32_t i)
{
	struct lb_config *c = x->c;
	struct lb_config_frontend *fe = &c->frontends[i];
	char path[32], ip[LB_IP4_STRLEN];
	uint32_t port = 0, j;
	int idx, l, rc;

	snprintf(path, sizeof(path), "frontends[%u]", i);
	fe->line = fe->line_vip = lb_config_line(g);
	fe->proto = LB_PROTO_TCP;
	fe->method = LB_METHOD_FULLNAT;
	fe->maglev_size = LB_MAGLEV_DEFAULT_SIZE;
	fe->affinity = LB_AFFINITY_NONE;
	fe->affinity_timeout = LB_CONFIG_DEF_AFFINITY_TIMEOUT;

	rc = lb_config_check_keys(x, g, "in frontend", fe_keys);
	if (rc == 0)
		rc = lb_config_get_name(x, g, path, "name", true, LB_CONFIG_FE_NAME_MAX, fe->name,
			&l);
	if (rc != 0)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->frontends[j].name, fe->name) == 0)
			return fail(x, l, "duplicate frontend name '%s' (first at line %d)",
				fe->name, c->frontends[j].line);

	idx = 0;
	rc = lb_config_get_host(x, g, path, "vip", true, &fe->vip, &fe->line_vip);
	if (rc == 0)
		rc = lb_config_get_enum(x, g, path, "protocol", proto_names, false, &idx, NULL);
	if (rc != 0)
		return rc;
	fe->proto = proto_nums[idx];
	rc = lb_config_get_uint(x, g, path, "port", 1, 65535, true, &port, NULL);
	if (rc != 0)
		return rc;
	fe->port = htons((uint16_t)port);
	for (j = 0; j < i; j++) {
		const struct lb_config_frontend *o = &c->frontends[j];

		if (o->vip == fe->vip && o->proto == fe->proto && o->port == fe->port)
			return fail(x, fe->line,
				"frontend '%s' duplicates %s %s/%u of frontend '%s' "
				"(line %d)", fe->name, lb_ip4_fmt(fe->vip, ip),
				lb_proto_str(fe->proto), port, o->name, o->line);
	}

	idx = (int)fe->method;
	rc = lb_config_get_enum(x, g, path, "method", method_names, false, &idx, NULL);
	if (rc != 0)
		return rc;
	fe->method = (enum lb_method)idx;
	l = fe->line;
	rc = lb_config_get_uint(x, g, path, "maglev_size", LB_MAGLEV_MIN_SIZE, LB_MAGLEV_MAX_SIZE,
		false, &fe->maglev_size, &l);
	if (rc != 0)
		return rc;
	if (!lb_maglev_is_prime(fe->maglev_size))
		return fail(x, l, "%s.maglev_size = %u is not a prime (the next prime is %u)", path,
			fe->maglev_size, next_prime(fe->maglev_size));
	idx = (int)fe->affinity;
	rc = lb_config_get_enum(x, g, path, "session_affinity", affinity_names, false, &idx, NULL);
	if (rc != 0)
		return rc;
	fe->affinity = (enum lb_affinity)idx;
	rc = lb_config_get_uint(x, g, path, "affinity_timeout", 1, 86400, false,
		&fe->affinity_timeout, NULL);
	if (rc == 0)
		rc = parse_src_ranges(x, g, path, fe);
	if (rc == 0)
		rc = parse_targets(x, g, path, fe);
	if (rc == 0)
		rc = lb_config_parse_fe_health(x, g, path, fe);
	return rc;
}

int
lb_config_parse_frontends(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	int i, n, rc;

	rc = lb_config_get_seq(x, root, "", "frontends", false, LB_CONFIG_W_GROUP, &seq,
		&c->line_frontends);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n == 0)
		return 0;
	c->frontends = calloc((size_t)n, sizeof(*c->frontends));
	if (c->frontends == NULL)
		return fail(x, c->line_frontends, "out of memory");
	for (i = 0; i < n; i++) {
		/* Counted before parsing so that lb_config_free releases a
		 * half-parsed frontend's arrays. */
		c->n_frontends = (uint32_t)i + 1;
		rc = parse_frontend(x, config_setting_get_elem(seq, (unsigned)i), (uint32_t)i);
		if (rc != 0)
			return rc;
	}
	return 0;
}
