/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pools = ( ... ) and kubernetes = { ... }: the address pools IPAM hands
 * VIPs out of, and how lbd reaches the Kubernetes API. Pools are checked
 * against each other and against every address lbd already owns once the
 * whole file is read (lb_config_check_pools).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_maglev.h"
#include "lb_config_priv.h"

#define fail lb_config_fail

/* ---- addresses: "A/LEN", "A-B" or "A" of either family ---- */

static unsigned
bits_of(uint8_t family)
{
	return family == LB_AF_INET ? 32 : 128;
}

/* Sets (ones) or clears the bits of ip beyond len. */
static void
host_bits(struct lb_ip *ip, unsigned len, bool ones)
{
	uint8_t *b = ip->family == LB_AF_INET ? (uint8_t *)&ip->v4 : ip->v6;
	unsigned n = bits_of(ip->family) / 8, i;

	for (i = 0; i < n; i++) {
		unsigned first = i * 8;
		uint8_t keep;

		if (first + 8 <= len)
			continue;
		keep = first >= len ? 0 : (uint8_t)(0xff << (8 - (len - first)));
		b[i] = ones ? (uint8_t)(b[i] | ~keep) : (uint8_t)(b[i] & keep);
	}
}

static const char *
trim(const char *s, size_t n, char *buf, size_t bufn)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= bufn)
		n = bufn - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* Whether [first, last] touches addresses no host may have. */
static const char *
reserved(const struct lb_ip_range *r)
{
	static const struct {
		const char *first, *last, *what;
	} blocks[] = {
		{ "0.0.0.0", "0.255.255.255", "0.0.0.0/8" },
		{ "127.0.0.0", "127.255.255.255", "loopback 127.0.0.0/8" },
		{ "224.0.0.0", "255.255.255.255", "multicast or reserved 224.0.0.0/3" },
		{ "::", "::1", "the IPv6 unspecified or loopback address" },
		{ "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "IPv6 multicast ff00::/8" },
	};
	struct lb_ip a, b;
	size_t i;

	for (i = 0; i < LB_ARRAY_SIZE(blocks); i++) {
		if (lb_ip_parse(blocks[i].first, &a) != 0 || lb_ip_parse(blocks[i].last, &b) != 0 ||
		    a.family != r->first.family)
			continue;
		if (lb_ip_cmp(&r->first, &b) <= 0 && lb_ip_cmp(&a, &r->last) <= 0)
			return blocks[i].what;
	}
	return NULL;
}

static int
parse_range(struct lb_config_ctx *x, const char *s, const char *label, int line,
	struct lb_ip_range *r)
{
	char a[LB_IP_STRLEN + 8], b[LB_IP_STRLEN + 8], ip[LB_IP_STRLEN];
	const char *dash = strchr(s, '-'), *slash = strchr(s, '/'), *what;
	unsigned long len;
	char *end;

	memset(r, 0, sizeof(*r));
	if (dash != NULL) {
		trim(s, (size_t)(dash - s), a, sizeof(a));
		trim(dash + 1, strlen(dash + 1), b, sizeof(b));
		if (lb_ip_parse(a, &r->first) != 0 || lb_ip_parse(b, &r->last) != 0)
			return fail(x, line, "%s = \"%s\" is not a range of two addresses (A-B)",
				label, s);
		if (r->first.family != r->last.family)
			return fail(x, line, "%s = \"%s\" mixes IPv4 and IPv6", label, s);
		if (lb_ip_cmp(&r->first, &r->last) > 0)
			return fail(x, line, "%s = \"%s\": the first address is after the last",
				label, s);
	} else if (slash != NULL) {
		trim(s, (size_t)(slash - s), a, sizeof(a));
		if (lb_ip_parse(a, &r->first) != 0 || slash[1] < '0' || slash[1] > '9')
			return fail(x, line, "%s = \"%s\" is not a CIDR (ADDRESS/LEN) or a range "
				"(A-B)", label, s);
		len = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || len > bits_of(r->first.family))
			return fail(x, line, "%s = \"%s\": the prefix length is not 0..%u", label, s,
				bits_of(r->first.family));
		r->last = r->first;
		host_bits(&r->last, (unsigned)len, false);
		if (lb_ip_cmp(&r->first, &r->last) != 0)
			return fail(x, line, "%s = \"%s\" has host bits set (did you mean "
				"\"%s/%lu\"?)", label, s, lb_ip_fmt(&r->last, ip), len);
		host_bits(&r->last, (unsigned)len, true);
	} else {
		trim(s, strlen(s), a, sizeof(a));
		if (lb_ip_parse(a, &r->first) != 0)
			return fail(x, line, "%s = \"%s\" is not an address, a CIDR (ADDRESS/LEN) "
				"or a range (A-B)", label, s);
		r->last = r->first;
	}
	what = reserved(r);
	if (what != NULL)
		return fail(x, line, "%s = \"%s\" includes %s", label, s, what);
	return 0;
}

/* "192.0.2.0-192.0.2.63" or "192.0.2.7" */
static const char *
range_fmt(const struct lb_ip_range *r, char *buf, size_t n)
{
	char a[LB_IP_STRLEN], b[LB_IP_STRLEN];

	if (lb_ip_cmp(&r->first, &r->last) == 0)
		snprintf(buf, n, "%s", lb_ip_fmt(&r->first, a));
	else
		snprintf(buf, n, "%s-%s", lb_ip_fmt(&r->first, a), lb_ip_fmt(&r->last, b));
	return buf;
}

/* ---- pools = ( ... ) ---- */

static const char *const pool_keys[] = { "name", "addresses", "auto_assign", "avoid_buggy_ips",
	NULL };

static int
parse_pool(struct lb_config_ctx *x, const config_setting_t *g, uint32_t i)
{
	struct lb_config *c = x->c;
	struct lb_model_pool *p = &c->pools[i];
	struct lb_config_pool_lines *pl = &c->pool_lines[i];
	const config_setting_t *seq;
	char path[32], label[64];
	uint32_t j;
	int k, n, rc, l;

	snprintf(path, sizeof(path), "pools[%u]", i);
	p->line = pl->name = l = lb_config_line(g);
	p->auto_assign = true;
	rc = lb_config_check_keys(x, g, "in pool", pool_keys);
	if (rc == 0)
		rc = lb_config_get_name(x, g, path, "name", true, LB_NAME_MAX - 1, p->name,
			&pl->name);
	if (rc != 0)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->pools[j].name, p->name) == 0)
			return fail(x, pl->name, "duplicate pool name '%s' (first at line %d)",
				p->name, c->pool_lines[j].name);
	rc = lb_config_get_bool(x, g, path, "auto_assign", &p->auto_assign, NULL);
	if (rc == 0)
		rc = lb_config_get_bool(x, g, path, "avoid_buggy_ips", &p->avoid_buggy_ips, NULL);
	if (rc == 0)
		rc = lb_config_get_seq(x, g, path, "addresses", true, LB_CONFIG_W_STRING, &seq, &l);
	if (rc != 0)
		return rc;
	n = config_setting_length(seq);
	if (n < 1 || n > LB_CONFIG_MAX_POOL_RANGES)
		return fail(x, l, "%s.addresses has %d entries (1 to %d)", path, n,
			LB_CONFIG_MAX_POOL_RANGES);
	p->ranges = calloc((size_t)n, sizeof(*p->ranges));
	pl->range = calloc((size_t)n, sizeof(*pl->range));
	if (p->ranges == NULL || pl->range == NULL)
		return fail(x, l, "out of memory");
	for (k = 0; k < n; k++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)k);

		snprintf(label, sizeof(label), "%s.addresses[%d]", path, k);
		pl->range[k] = lb_config_line(el);
		rc = parse_range(x, config_setting_get_string(el), label, pl->range[k],
			&p->ranges[k]);
		if (rc != 0)
			return rc;
		p->n_ranges = (uint32_t)k + 1;
	}
	return 0;
}

int
lb_config_parse_pools(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	int i, n, rc;

	rc = lb_config_get_seq(x, root, "", "pools", false, LB_CONFIG_W_GROUP, &seq,
		&c->line_pools);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n == 0)
		return 0;
	if (n > LB_CONFIG_MAX_POOLS)
		return fail(x, c->line_pools, "pools has %d entries (at most %d)", n,
			LB_CONFIG_MAX_POOLS);
	c->pools = calloc((size_t)n, sizeof(*c->pools));
	c->pool_lines = calloc((size_t)n, sizeof(*c->pool_lines));
	if (c->pools == NULL || c->pool_lines == NULL)
		return fail(x, c->line_pools, "out of memory");
	for (i = 0; i < n; i++) {
		/* Counted first so that lb_config_free releases a half-parsed pool. */
		c->n_pools = (uint32_t)i + 1;
		rc = parse_pool(x, config_setting_get_elem(seq, (unsigned)i), (uint32_t)i);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- kubernetes = { ... } ---- */

static const char *const k8s_keys[] = {
	"kubeconfig", "context", "load_balancer_class", "class_less", "resync", "relist",
	"backoff_min_ms", "backoff_max_ms", "maglev_size", "event_interval", "sync_batch", NULL
};

/* A Kubernetes qualified name: [PREFIX/]NAME, PREFIX a DNS subdomain of at
 * most 253 characters, NAME 1..63 of [A-Za-z0-9_.-] starting and ending
 * with a letter or digit. */
static bool
alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool
qualified_name(const char *s)
{
	const char *slash = strchr(s, '/'), *name = slash != NULL ? slash + 1 : s;
	size_t n = strlen(name), i;

	if (slash != NULL) {
		size_t pn = (size_t)(slash - s);

		if (pn == 0 || pn > 253 || s[0] == '.' || s[0] == '-' || s[pn - 1] == '.' ||
		    s[pn - 1] == '-')
			return false;
		for (i = 0; i < pn; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
			      s[i] == '.' || s[i] == '-'))
				return false;
	}
	if (n == 0 || n > 63 || !alnum(name[0]) || !alnum(name[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!alnum(name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
			return false;
	return true;
}

static int
get_seconds(struct lb_config_ctx *x, const config_setting_t *g, const char *key, uint32_t lo,
	uint32_t hi, uint32_t *out, int *line)
{
	uint32_t v = *out;
	int rc;

	rc = lb_config_get_uint(x, g, "kubernetes", key, 0, hi, false, &v, line);
	if (rc != 0)
		return rc;
	if (v != 0 && v < lo)
		return fail(x, *line, "kubernetes.%s = %u is too short (0 = off, or %u..%u)", key,
			v, lo, hi);
	*out = v;
	return 0;
}

int
lb_config_parse_k8s(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	struct lb_config_k8s *k = &c->k8s;
	const config_setting_t *g;
	const char *str = NULL;
	int rc;

	snprintf(k->lb_class, sizeof(k->lb_class), "%s", LB_CONFIG_DEF_K8S_CLASS);
	k->resync = LB_CONFIG_DEF_K8S_RESYNC;
	k->relist = LB_CONFIG_DEF_K8S_RELIST;
	k->backoff_min_ms = LB_CONFIG_DEF_K8S_BACKOFF_MIN;
	k->backoff_max_ms = LB_CONFIG_DEF_K8S_BACKOFF_MAX;
	k->maglev_size = LB_MAGLEV_DEFAULT_SIZE;
	k->event_interval = LB_CONFIG_DEF_K8S_EVENT_INTERVAL;
	k->sync_batch = LB_CONFIG_DEF_K8S_SYNC_BATCH;
	k->line = 1;
	rc = lb_config_get(x, root, "", "kubernetes", LB_CONFIG_W_GROUP, false, &g);
	if (rc != 0 || g == NULL)
		goto lines;
	k->enabled = true;
	k->line = lb_config_line(g);
	rc = lb_config_check_keys(x, g, "in kubernetes", k8s_keys);
	if (rc != 0)
		return rc;
	k->line_kubeconfig = k->line_context = k->line_class = k->line_class_less = k->line;
	k->line_resync = k->line_relist = k->line_backoff = k->line_maglev_size = k->line;
	k->line_event_interval = k->line_sync_batch = k->line;

	rc = lb_config_get_str(x, g, "kubernetes", "kubeconfig", false, &str, &k->line_kubeconfig);
	if (rc != 0)
		return rc;
	if (str != NULL) {
		if (str[0] != '/' || strlen(str) >= sizeof(k->kubeconfig))
			return fail(x, k->line_kubeconfig, "kubernetes.kubeconfig = \"%s\" must be "
				"an absolute path of at most %zu characters (leave it out for the "
				"in-cluster configuration)", str, sizeof(k->kubeconfig) - 1);
		snprintf(k->kubeconfig, sizeof(k->kubeconfig), "%s", str);
	}
	str = NULL;
	rc = lb_config_get_str(x, g, "kubernetes", "context", false, &str, &k->line_context);
	if (rc != 0)
		return rc;
	if (str != NULL) {
		if (*str == '\0' || strlen(str) > LB_CONFIG_K8S_CONTEXT_MAX)
			return fail(x, k->line_context, "kubernetes.context must be 1 to %d "
				"characters", LB_CONFIG_K8S_CONTEXT_MAX);
		if (k->kubeconfig[0] == '\0')
			return fail(x, k->line_context, "kubernetes.context needs "
				"kubernetes.kubeconfig (the in-cluster configuration has no "
				"contexts)");
		snprintf(k->context, sizeof(k->context), "%s", str);
	}
	str = NULL;
	rc = lb_config_get_str(x, g, "kubernetes", "load_balancer_class", false, &str,
		&k->line_class);
	if (rc != 0)
		return rc;
	if (str != NULL) {
		if (!qualified_name(str))
			return fail(x, k->line_class, "kubernetes.load_balancer_class = \"%s\" is "
				"not a Kubernetes qualified name (like \"example.com/lb\")", str);
		snprintf(k->lb_class, sizeof(k->lb_class), "%s", str);
	}
	rc = lb_config_get_bool(x, g, "kubernetes", "class_less", &k->class_less,
		&k->line_class_less);
	if (rc == 0)
		rc = get_seconds(x, g, "resync", 10, 86400, &k->resync, &k->line_resync);
	if (rc == 0)
		rc = get_seconds(x, g, "relist", 60, 86400, &k->relist, &k->line_relist);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "kubernetes", "backoff_min_ms", 10, 60000, false,
			&k->backoff_min_ms, &k->line_backoff);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "kubernetes", "backoff_max_ms", 10, 3600000, false,
			&k->backoff_max_ms, &k->line_backoff);
	if (rc != 0)
		return rc;
	if (k->backoff_max_ms < k->backoff_min_ms)
		return fail(x, k->line_backoff, "kubernetes.backoff_max_ms = %u is below "
			"backoff_min_ms = %u", k->backoff_max_ms, k->backoff_min_ms);
	rc = lb_config_get_uint(x, g, "kubernetes", "maglev_size", LB_MAGLEV_MIN_SIZE,
		LB_MAGLEV_MAX_SIZE, false, &k->maglev_size, &k->line_maglev_size);
	if (rc != 0)
		return rc;
	if (!lb_maglev_is_prime(k->maglev_size))
		return fail(x, k->line_maglev_size, "kubernetes.maglev_size = %u is not a prime",
			k->maglev_size);
	rc = lb_config_get_uint(x, g, "kubernetes", "event_interval", 0, 86400, false,
		&k->event_interval, &k->line_event_interval);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "kubernetes", "sync_batch", 0, 1000000, false,
			&k->sync_batch, &k->line_sync_batch);
	return rc;
lines:
	k->line_kubeconfig = k->line_context = k->line_class = k->line_class_less = k->line;
	k->line_resync = k->line_relist = k->line_backoff = k->line_maglev_size = k->line;
	k->line_event_interval = k->line_sync_batch = k->line;
	return rc;
}

/* ---- checks across sections ---- */

static bool
in_range(const struct lb_ip_range *r, uint32_t addr)
{
	struct lb_ip ip = lb_ip4(addr);

	return r->first.family == LB_AF_INET && lb_ip_cmp(&r->first, &ip) <= 0 &&
		lb_ip_cmp(&ip, &r->last) <= 0;
}

static bool
overlaps(const struct lb_ip_range *a, const struct lb_ip_range *b)
{
	return a->first.family == b->first.family && lb_ip_cmp(&a->first, &b->last) <= 0 &&
		lb_ip_cmp(&b->first, &a->last) <= 0;
}

/* Whether the IPv4 range r shares an address with the port subnet net. */
static bool
meets_subnet(const struct lb_ip_range *r, const struct lb_cidr *net)
{
	struct lb_ip_range s;

	s.first = lb_ip4(net->addr & net->mask);
	s.last = lb_ip4((net->addr & net->mask) | ~net->mask);
	return overlaps(r, &s);
}

static int
check_range(struct lb_config_ctx *x, uint32_t i, uint32_t k)
{
	const struct lb_config *c = x->c;
	const struct lb_model_pool *p = &c->pools[i];
	const struct lb_ip_range *r = &p->ranges[k];
	const struct lb_config_port *in = &c->ports[c->int_port];
	int line = c->pool_lines[i].range[k], l;
	char rs[2 * LB_IP_STRLEN + 2], os[2 * LB_IP_STRLEN + 2], what[96], ip[LB_IP_STRLEN];
	uint32_t j, m;

	range_fmt(r, rs, sizeof(rs));
	for (j = 0; j <= i; j++)
		for (m = 0; m < (j == i ? k : c->pools[j].n_ranges); m++)
			if (overlaps(r, &c->pools[j].ranges[m]))
				return fail(x, line, "pool '%s': %s overlaps %s of pool '%s' "
					"(line %d)", p->name, rs,
					range_fmt(&c->pools[j].ranges[m], os, sizeof(os)),
					c->pools[j].name, c->pool_lines[j].range[m]);
	if (r->first.family != LB_AF_INET)
		return 0;
	for (j = 0; j < c->n_ports; j++) {
		const struct lb_config_port *pt = &c->ports[j];
		uint32_t edge[2];

		for (m = 0; m < pt->n_neigh + 2; m++) {
			uint32_t a = m == 0 ? pt->addr : m == 1 ? pt->gateway : pt->neigh[m - 2].addr;

			if (a != 0 && in_range(r, a) &&
			    lb_config_port_owned(c, a, what, sizeof(what), &l))
				return fail(x, line, "pool '%s': %s contains %s (line %d)",
					p->name, rs, what, l);
		}
		edge[0] = pt->net.addr & pt->net.mask;
		edge[1] = edge[0] | ~pt->net.mask;
		for (m = 0; m < 2 && pt->net.len <= 30; m++)
			if (in_range(r, edge[m]))
				return fail(x, line, "pool '%s': %s contains %s, the %s address of "
					"port '%s''s subnet", p->name, rs, lb_ip4_fmt(edge[m], ip),
					m == 0 ? "network" : "broadcast", pt->name);
	}
	for (j = 0; j < c->n_snat; j++)
		if (in_range(r, c->snat_addrs[j]))
			return fail(x, line, "pool '%s': %s contains the SNAT address %s (line %d)",
				p->name, rs, lb_ip4_fmt(c->snat_addrs[j], ip), c->snat_addr_line[j]);
	for (j = 0; j < c->n_frontends; j++)
		if (in_range(r, c->frontends[j].vip))
			return fail(x, line, "pool '%s': %s contains the VIP %s of static frontend "
				"'%s' (line %d)", p->name, rs, lb_ip4_fmt(c->frontends[j].vip, ip),
				c->frontends[j].name, c->frontends[j].line_vip);
	if (c->int_port != c->ext_port && meets_subnet(r, &in->net))
		return fail(x, line, "pool '%s': %s reaches into the subnet of internal port '%s': "
			"it would be ambiguous which side answers ARP for its VIPs", p->name, rs,
			in->name);
	return 0;
}

int
lb_config_check_pools(struct lb_config_ctx *x)
{
	const struct lb_config *c = x->c;
	uint32_t i, k;
	int rc;

	for (i = 0; i < c->n_pools; i++)
		for (k = 0; k < c->pools[i].n_ranges; k++)
			if ((rc = check_range(x, i, k)) != 0)
				return rc;
	/* Kubernetes Services default to externalTrafficPolicy Cluster, which
	 * lbd serves with FullNAT. */
	if (c->k8s.enabled && c->n_snat == 0)
		return fail(x, c->k8s.line, "kubernetes needs workers.snat_addresses (line %d): "
			"Services with externalTrafficPolicy Cluster are served with FullNAT",
			c->line_snat_addrs);
	return 0;
}
