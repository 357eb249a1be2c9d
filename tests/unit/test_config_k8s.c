/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/config: the pools list and the kubernetes group (parsing, defaults,
 * cross-checks and reload rules; broken files are in tests/config/). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_config.h"

#define ERRLEN 512

/* libconfig 1.5 leaks on some syntax errors (see test_config.c). */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\n";
}

static const char base[] =
	"ports = (\n"							/* 1 */
	"	{ name = \"ext\"; device = \"net_ring0\"; role = \"external\";\n"	/* 2 */
	"	  address = \"192.0.2.1/24\"; },\n"				/* 3 */
	"	{ name = \"int\"; device = \"net_ring1\"; role = \"internal\";\n"	/* 4 */
	"	  address = \"198.51.100.1/24\"; }\n"				/* 5 */
	");\n"								/* 6 */
	"workers = { lcores = [ 1 ]; snat_addresses = [ \"198.51.100.2\" ]; };\n"	/* 7 */
	"pools = (\n"							/* 8 */
	"	{ name = \"public\"; addresses = [ \"192.0.2.64/26\", \"192.0.2.7\",\n"	/* 9 */
	"	  \" 192.0.2.200 - 192.0.2.210 \", \"2001:db8:100::/120\" ]; },\n"	/* 10 */
	"	{ name = \"manual\"; addresses = [ \"203.0.113.0/24\" ];\n"		/* 11 */
	"	  auto_assign = false; avoid_buggy_ips = true; }\n"		/* 12 */
	");\n"								/* 13 */
	"kubernetes = {\n"						/* 14 */
	"	kubeconfig = \"/etc/lbd/kubeconfig\";\n"			/* 15 */
	"	context = \"prod\";\n"						/* 16 */
	"	load_balancer_class = \"example.com/edge\";\n"			/* 17 */
	"	class_less = true;\n"						/* 18 */
	"	resync = 60;\n"							/* 19 */
	"	relist = 3600;\n"						/* 20 */
	"	backoff_min_ms = 100;\n"					/* 21 */
	"	backoff_max_ms = 10000;\n"					/* 22 */
	"	maglev_size = 4099;\n"						/* 23 */
	"	event_interval = 0;\n"						/* 24 */
	"	sync_batch = 0;\n"						/* 25 */
	"};\n";								/* 26 */

static struct lb_config *
load(const char *text, char *err)
{
	return lb_config_load_string(text, "k.conf", err, ERRLEN);
}

static char *
edit(const char *from, const char *to)
{
	static char buf[8192];
	const char *at = strstr(base, from);

	if (at == NULL)
		fail_msg("'%s' not in the base config", from);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
	return buf;
}

static const char *
range_str(const struct lb_ip_range *r)
{
	static char buf[2 * LB_IP_STRLEN + 2];
	char a[LB_IP_STRLEN], b[LB_IP_STRLEN];

	snprintf(buf, sizeof(buf), "%s-%s", lb_ip_fmt(&r->first, a), lb_ip_fmt(&r->last, b));
	return buf;
}

static void
test_values(void **state)
{
	char err[ERRLEN];
	struct lb_config *c = load(base, err);
	const struct lb_config_k8s *k;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	k = &c->k8s;
	assert_true(k->enabled);
	assert_string_equal(k->kubeconfig, "/etc/lbd/kubeconfig");
	assert_string_equal(k->context, "prod");
	assert_string_equal(k->lb_class, "example.com/edge");
	assert_true(k->class_less);
	assert_int_equal(k->resync, 60);
	assert_int_equal(k->relist, 3600);
	assert_int_equal(k->backoff_min_ms, 100);
	assert_int_equal(k->backoff_max_ms, 10000);
	assert_int_equal(k->maglev_size, 4099);
	assert_int_equal(k->event_interval, 0);
	assert_int_equal(k->sync_batch, 0);
	assert_int_equal(k->line, 14);
	assert_int_equal(k->line_class, 17);
	assert_int_equal(c->n_pools, 2);
	assert_string_equal(c->pools[0].name, "public");
	assert_true(c->pools[0].auto_assign);
	assert_false(c->pools[0].avoid_buggy_ips);
	assert_int_equal(c->pools[0].n_ranges, 4);
	assert_string_equal(range_str(&c->pools[0].ranges[0]), "192.0.2.64-192.0.2.127");
	assert_string_equal(range_str(&c->pools[0].ranges[1]), "192.0.2.7-192.0.2.7");
	assert_string_equal(range_str(&c->pools[0].ranges[2]), "192.0.2.200-192.0.2.210");
	assert_string_equal(range_str(&c->pools[0].ranges[3]), "2001:db8:100::-2001:db8:100::ff");
	assert_int_equal(c->pools[0].line, 9);
	assert_int_equal(c->pool_lines[0].range[3], 10);
	assert_string_equal(c->pools[1].name, "manual");
	assert_false(c->pools[1].auto_assign);
	assert_true(c->pools[1].avoid_buggy_ips);
	lb_config_free(c);
}

static void
test_defaults(void **state)
{
	char err[ERRLEN];
	struct lb_config *c;

	(void)state;
	/* No kubernetes group: disabled, defaults in place; no pools. */
	c = load(edit("pools = (", "xpools = ("), err);
	assert_null(c);
	assert_string_equal(err, "k.conf:8: unknown key 'xpools' at the top level (expected lbd, "
		"eal, ports, workers, arp, metrics, health, frontends, pools, kubernetes)");
	c = lb_config_load_string("ports = ( { name = \"p\"; device = \"net_ring0\"; "
		"role = \"both\"; address = \"10.0.0.1/24\"; } );\n"
		"workers = { lcores = [ 1 ]; };\n", "d.conf", err, ERRLEN);
	if (c == NULL)
		fail_msg("%s", err);
	assert_false(c->k8s.enabled);
	assert_int_equal(c->n_pools, 0);
	assert_string_equal(c->k8s.lb_class, LB_CONFIG_DEF_K8S_CLASS);
	assert_int_equal(c->k8s.line, 1);
	lb_config_free(c);
	/* An empty group: enabled, in-cluster, every default. */
	c = load(edit("kubernetes = {\n", "kubernetes = {\n};\nx = {\n"), err);
	assert_null(c);
	c = lb_config_load_string("ports = ( { name = \"p\"; device = \"net_ring0\"; "
		"role = \"both\"; address = \"10.0.0.1/24\"; } );\n"
		"workers = { lcores = [ 1 ]; snat_addresses = [ \"10.0.0.2\" ]; };\n"
		"kubernetes = { };\n", "e.conf", err, ERRLEN);
	if (c == NULL)
		fail_msg("%s", err);
	assert_true(c->k8s.enabled);
	assert_string_equal(c->k8s.kubeconfig, "");
	assert_string_equal(c->k8s.context, "");
	assert_string_equal(c->k8s.lb_class, "lbd.io/lbd");
	assert_false(c->k8s.class_less);
	assert_int_equal(c->k8s.resync, LB_CONFIG_DEF_K8S_RESYNC);
	assert_int_equal(c->k8s.relist, 0);
	assert_int_equal(c->k8s.backoff_min_ms, 500);
	assert_int_equal(c->k8s.backoff_max_ms, 30000);
	assert_int_equal(c->k8s.maglev_size, 65537);
	assert_int_equal(c->k8s.event_interval, 300);
	assert_int_equal(c->k8s.sync_batch, 50);
	assert_int_equal(c->k8s.line_resync, 3);
	lb_config_free(c);
}

static void
expect_error(const char *from, const char *to, const char *msg)
{
	char err[ERRLEN];
	struct lb_config *c = load(edit(from, to), err);

	if (c != NULL || strstr(err, msg) == NULL)
		fail_msg("'%s' -> '%s': got '%s', want '%s'", from, to, c ? "(loaded)" : err, msg);
}

/* A small valid config followed by tail must fail with msg. */
static void
expect_text(const char *tail, const char *msg)
{
	char text[1024], err[ERRLEN];
	struct lb_config *c;

	snprintf(text, sizeof(text), "%sports = ( { name = \"p\"; device = \"net_ring0\"; "
		"role = \"both\"; address = \"10.0.0.1/24\"; } );\n"
		"workers = { lcores = [ 1 ]; snat_addresses = [ \"10.0.0.2\" ]; };\n", tail);
	c = load(text, err);
	if (c != NULL || strstr(err, msg) == NULL)
		fail_msg("'%s': got '%s', want '%s'", tail, c ? "(loaded)" : err, msg);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("\"192.0.2.7\"", "\"192.0.2.70\"", "k.conf:9: pool 'public': 192.0.2.70 "
		"overlaps 192.0.2.64-192.0.2.127 of pool 'public' (line 9)");
	expect_error("\"203.0.113.0/24\"", "\"2001:db8:100::80/121\"", "k.conf:11: pool 'manual': "
		"2001:db8:100::80-2001:db8:100::ff overlaps 2001:db8:100::-2001:db8:100::ff of pool "
		"'public' (line 10)");
	expect_error("\"192.0.2.7\"", "\"192.0.2.0\"", "k.conf:9: pool 'public': 192.0.2.0 "
		"contains 192.0.2.0, the network address of port 'ext''s subnet");
	expect_error("	{ name = \"manual\"; addresses = [ \"203.0.113.0/24\" ];",
		"	{ name = \"manual\"; addresses = ( \"203.0.113.0/24\", 7 );",
		"k.conf:11: pools[1].addresses[1] must be a string, not an integer");
	expect_error("\"192.0.2.7\"", "\"::1\"", "includes the IPv6 unspecified or loopback address");
	expect_error("\"192.0.2.7\"", "\"ff02::1\"", "includes IPv6 multicast ff00::/8");
	expect_error("\"192.0.2.7\"", "\"127.0.0.1\"", "includes loopback 127.0.0.0/8");
	expect_error("\"192.0.2.7\"", "\"192.0.2.7/\"", "is not a CIDR (ADDRESS/LEN) or a range");
	expect_error("\"192.0.2.7\"", "\"2001:db8::/129\"", "the prefix length is not 0..128");
	expect_error("\"192.0.2.7\"", "\"a-b\"", "is not a range of two addresses (A-B)");
	expect_error("name = \"manual\";", "name = \"man ual\";", "pools[1].name = \"man ual\" is "
		"not a valid name");
	expect_error("name = \"manual\"; addresses = [ \"203.0.113.0/24\" ];",
		"name = \"manual\";", "k.conf:11: missing required key 'addresses' in pools[1]");
	expect_error("	class_less = true;", "	class_less = 1;", "k.conf:18: kubernetes.class_less "
		"must be a boolean (true or false), not an integer");
	expect_error("	relist = 3600;", "	relist = 30;", "kubernetes.relist = 30 is too short (0 = "
		"off, or 60..86400)");
	expect_error("	sync_batch = 0;", "	sync_batch = -1;", "kubernetes.sync_batch = -1 is out "
		"of range (0..1000000)");
	expect_error("\"example.com/edge\"", "\"-edge\"", "is not a Kubernetes qualified name");
	expect_error("\"example.com/edge\"", "\"Example.com/edge\"", "is not a Kubernetes "
		"qualified name");
	expect_error("\"example.com/edge\"", "\"example.com/\"", "is not a Kubernetes qualified "
		"name");
	expect_error("	context = \"prod\";", "	context = \"\";", "kubernetes.context must be 1 to "
		"253 characters");
	expect_text("pools = { a = 1; };\n", "k.conf:1: pools must be a list ( ... ) or array "
		"[ ... ], not a group");
	expect_text("kubernetes = [ 1 ];\n", "k.conf:1: kubernetes must be a group { ... }, not an "
		"array");
}

/* An unprefixed class is a valid qualified name (expect_error with "" only
 * checks that something failed; check that it loads instead). */
static void
test_unprefixed_class(void **state)
{
	char err[ERRLEN];
	struct lb_config *c = load(edit("\"example.com/edge\"", "\"edge\""), err);

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->k8s.lb_class, "edge");
	lb_config_free(c);
}

static void
expect_reload(const char *from, const char *to, const char *msg)
{
	char err[ERRLEN];
	struct lb_config *cur = load(base, err), *next;
	int rc;

	assert_non_null(cur);
	next = load(edit(from, to), err);
	if (next == NULL)
		fail_msg("edit does not load: %s", err);
	rc = lb_config_reload_check(cur, next, err, sizeof(err));
	if (msg == NULL)
		assert_int_equal(rc, 0);
	else if (rc != -EINVAL || strstr(err, msg) == NULL)
		fail_msg("'%s' -> '%s': got %d '%s', want '%s'", from, to, rc, err, msg);
	lb_config_free(cur);
	lb_config_free(next);
}

static void
test_reload(void **state)
{
	(void)state;
	/* Pools may change. */
	expect_reload(", \"192.0.2.7\"", "", NULL);
	expect_reload("auto_assign = false;", "auto_assign = true;", NULL);
	expect_reload("\" ]; },\n	{ name = \"manual\"; addresses = [ \"203.0.113.0/24\" ];\n"
		"	  auto_assign = false; avoid_buggy_ips = true; }\n", "\" ]; }\n", NULL);
	/* The kubernetes group may not. */
	expect_reload("\"example.com/edge\"", "\"example.com/core\"", "k.conf:17: "
		"kubernetes.load_balancer_class cannot change on reload (restart lbd)");
	expect_reload("	kubeconfig = \"/etc/lbd/kubeconfig\";", "	kubeconfig = \"/etc/lbd/k2\";",
		"k.conf:15: kubernetes.kubeconfig cannot change");
	expect_reload("	class_less = true;\n", "", "k.conf:14: kubernetes.class_less cannot change");
	expect_reload("	resync = 60;", "	resync = 61;", "kubernetes.resync cannot change");
	expect_reload("	backoff_max_ms = 10000;", "	backoff_max_ms = 10001;",
		"kubernetes.backoff_min_ms/backoff_max_ms cannot change");
	expect_reload("	maglev_size = 4099;", "	maglev_size = 4093;",
		"kubernetes.maglev_size cannot change");
	expect_reload("	event_interval = 0;", "	event_interval = 1;",
		"kubernetes.event_interval cannot change");
	expect_reload("	sync_batch = 0;", "	sync_batch = 1;", "kubernetes.sync_batch cannot change");
	expect_reload("	relist = 3600;", "	relist = 0;", "kubernetes.relist cannot change");
	expect_reload("	context = \"prod\";", "	context = \"dev\";", "kubernetes.context cannot change");
}

static void
test_reload_group(void **state)
{
	const char *no_k8s = "ports = ( { name = \"p\"; device = \"net_ring0\"; role = \"both\"; "
		"address = \"10.0.0.1/24\"; } );\nworkers = { lcores = [ 1 ]; snat_addresses = "
		"[ \"10.0.0.2\" ]; };\n";
	char with_k8s[512], err[ERRLEN];
	struct lb_config *a, *b;

	(void)state;
	snprintf(with_k8s, sizeof(with_k8s), "%s\n\nkubernetes = { };\n", no_k8s);
	a = lb_config_load_string(no_k8s, "a.conf", err, ERRLEN);
	b = lb_config_load_string(with_k8s, "b.conf", err, ERRLEN);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(lb_config_reload_check(a, b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "b.conf:5: kubernetes (adding or removing the group) cannot change "
		"on reload (restart lbd)");
	assert_int_equal(lb_config_reload_check(b, a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.conf:1: kubernetes (adding or removing the group) cannot change "
		"on reload (restart lbd)");
	lb_config_free(a);
	lb_config_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unprefixed_class),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_reload_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
