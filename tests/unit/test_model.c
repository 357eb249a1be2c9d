/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_model.h"

static struct lb_ip
IP(const char *s)
{
	struct lb_ip ip;

	assert_int_equal(lb_ip_parse(s, &ip), 0);
	return ip;
}

/* A sealed frontend named name on vip:port/proto with targets "a:p" ... */
static struct lb_model_fe *
mkfe(const char *name, uint8_t kind, const char *vip, uint8_t proto, uint16_t port,
	const char *const *targets)
{
	uint32_t n = 0, i;
	struct lb_model_fe *fe;
	char err[256];

	while (targets != NULL && targets[n] != NULL)
		n++;
	fe = lb_model_fe_new(n, 0, 64);
	assert_non_null(fe);
	snprintf(fe->name, sizeof(fe->name), "%s", name);
	fe->origin_kind = kind;
	snprintf(fe->origin, sizeof(fe->origin), "%s %s", kind == LB_ORIGIN_CONFIG ? "config" :
		"k8s", name);
	fe->vip = IP(vip);
	fe->proto = proto;
	fe->port = htons(port);
	for (i = 0; i < n; i++) {
		char a[64], *colon;

		snprintf(a, sizeof(a), "%s", targets[i]);
		colon = strrchr(a, ':');
		assert_non_null(colon);
		*colon = '\0';
		fe->targets[i].addr = IP(a);
		fe->targets[i].port = htons((uint16_t)atoi(colon + 1));
		fe->targets[i].weight = 1;
	}
	assert_int_equal(lb_model_fe_seal(fe, err, sizeof(err)), 0);
	return fe;
}

/* --- addresses --- */

static void
test_ip(void **state)
{
	struct lb_ip a, b, c;
	struct lb_prefix p;
	char buf[LB_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(lb_ip_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, LB_AF_INET);
	assert_string_equal(lb_ip_fmt(&a, buf), "192.0.2.1");
	assert_int_equal(lb_ip_parse("2001:DB8::1", &b), 0);
	assert_int_equal(b.family, LB_AF_INET6);
	assert_string_equal(lb_ip_fmt(&b, buf), "2001:db8::1");
	c = a;
	assert_int_equal(lb_ip_parse("192.0.2", &c), -EINVAL);
	assert_int_equal(lb_ip_parse("1.2.3.4:5", &c), -EINVAL);
	assert_int_equal(lb_ip_parse("::g", &c), -EINVAL);
	assert_int_equal(lb_ip_cmp(&c, &a), 0);	/* untouched on error */
	assert_true(lb_ip_cmp(&a, &b) < 0);	/* family first */

	assert_int_equal(lb_prefix_parse("10.0.0.0/8", &p), 0);
	assert_int_equal(p.len, 8);
	assert_true(lb_prefix_match(&p, &(struct lb_ip){ .family = 0 }) == false);
	assert_true(lb_prefix_match(&p, &a) == false);
	c = IP("10.255.0.1");
	assert_true(lb_prefix_match(&p, &c));
	assert_int_equal(lb_prefix_parse("10.0.0.1/8", &p), -EINVAL);	/* host bits */
	assert_int_equal(lb_prefix_parse("10.0.0.0/33", &p), -EINVAL);
	assert_int_equal(lb_prefix_parse("2001:db8::/32", &p), 0);
	assert_string_equal(lb_prefix_fmt(&p, buf), "2001:db8::/32");
	assert_true(lb_prefix_match(&p, &b));
	assert_int_equal(lb_prefix_parse("2001:db8::1/127", &p), -EINVAL);
	assert_int_equal(lb_prefix_parse("192.0.2.7", &p), 0);
	assert_int_equal(p.len, 32);

	/* arithmetic, with carries and the family's edges */
	a = IP("192.0.2.255");
	assert_int_equal(lb_ip_add(&a, 1, &c), 0);
	assert_string_equal(lb_ip_fmt(&c, buf), "192.0.3.0");
	assert_int_equal(lb_ip_add(&c, -257, &c), 0);
	assert_string_equal(lb_ip_fmt(&c, buf), "192.0.1.255");
	a = IP("255.255.255.255");
	assert_int_equal(lb_ip_add(&a, 1, &c), -ERANGE);
	a = IP("0.0.0.0");
	assert_int_equal(lb_ip_add(&a, -1, &c), -ERANGE);
	a = IP("2001:db8::ffff:ffff:ffff:ffff");
	assert_int_equal(lb_ip_add(&a, 1, &c), 0);
	assert_string_equal(lb_ip_fmt(&c, buf), "2001:db8:0:1::");
	a = IP("10.0.0.1");
	b = IP("10.0.1.0");
	assert_int_equal(lb_ip_diff(&a, &b), 255);
	assert_int_equal(lb_ip_diff(&b, &a), -255);
	a = IP("::");
	b = IP("ffff::");
	assert_int_equal(lb_ip_diff(&a, &b), INT64_MAX);
	assert_int_equal(lb_ip_diff(&b, &a), INT64_MIN);
}

/* --- frontends --- */

static void
test_fe_seal(void **state)
{
	static const char *const t1[] = { "10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80", NULL };
	static const char *const t2[] = { "10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80", NULL };
	static const char *const dup[] = { "10.0.0.1:80", "10.0.0.1:80", NULL };
	struct lb_model_fe *a = mkfe("web", LB_ORIGIN_CONFIG, "192.0.2.1", LB_PROTO_TCP, 80, t1);
	struct lb_model_fe *b = mkfe("web", LB_ORIGIN_CONFIG, "192.0.2.1", LB_PROTO_TCP, 80, t2);
	struct lb_model_fe *c;
	char err[256];
	uint32_t i;

	(void)state;
	/* sorted, so the source's order does not matter */
	for (i = 1; i < a->n_targets; i++)
		assert_true(lb_ip_cmp(&a->targets[i - 1].addr, &a->targets[i].addr) < 0);
	assert_true(lb_model_fe_equal(a, b));
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->id, lb_model_fe_id("web"));
	b->targets[1].weight = 2;
	assert_false(lb_model_fe_equal(a, b));
	b->targets[1].weight = 1;
	b->targets[1].flags = LB_MT_TERMINATING;
	assert_false(lb_model_fe_equal(a, b));

	c = lb_model_fe_new(2, 0, 0);
	snprintf(c->name, sizeof(c->name), "x");
	c->vip = IP("192.0.2.1");
	c->targets[0].addr = IP("10.0.0.1");
	c->targets[0].port = htons(80);
	c->targets[1] = c->targets[0];
	assert_int_equal(lb_model_fe_seal(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "10.0.0.1:80 listed twice"));
	c->targets[1].addr.family = 0;
	assert_int_equal(lb_model_fe_seal(c, err, sizeof(err)), -EINVAL);
	lb_model_fe_put(c);
	(void)dup;

	/* strings live in the frontend; overflow is refused */
	c = lb_model_fe_new(0, 0, 8);
	assert_non_null(lb_model_fe_strdup(c, "abc"));
	assert_non_null(lb_model_fe_strdup(c, "defg"));
	assert_null(lb_model_fe_strdup(c, "h"));
	lb_model_fe_put(c);

	/* reference counting */
	assert_ptr_equal(lb_model_fe_get(a), a);
	lb_model_fe_put(a);
	lb_model_fe_put(a);
	lb_model_fe_put(b);
	lb_model_fe_put(NULL);
}

struct conflicts {
	int n;
	char last[2048];
	char kept[LB_MODEL_NAME_MAX], dropped[LB_MODEL_NAME_MAX];
};

static void
on_conflict(void *ctx, const struct lb_model_fe *kept, const struct lb_model_fe *dropped,
	const char *msg)
{
	struct conflicts *c = ctx;

	c->n++;
	snprintf(c->last, sizeof(c->last), "%s", msg);
	snprintf(c->kept, sizeof(c->kept), "%s", kept->name);
	snprintf(c->dropped, sizeof(c->dropped), "%s", dropped->name);
}

static void
test_merge(void **state)
{
	static const char *const t[] = { "10.0.0.1:80", NULL };
	struct lb_model *cfg = lb_model_new(), *k8s = lb_model_new(), *m;
	const struct lb_model *src[2] = { cfg, k8s };
	struct lb_model_fe *f;
	struct conflicts c = { 0 };

	(void)state;
	f = mkfe("web", LB_ORIGIN_CONFIG, "192.0.2.1", LB_PROTO_TCP, 80, t);
	assert_int_equal(lb_model_add(cfg, f), 0);
	lb_model_fe_put(f);
	f = mkfe("dns", LB_ORIGIN_CONFIG, "192.0.2.1", LB_PROTO_UDP, 80, t);
	assert_int_equal(lb_model_add(cfg, f), 0);
	lb_model_fe_put(f);
	/* same VIP, proto and port as the config's web */
	f = mkfe("default/web:http", LB_ORIGIN_K8S, "192.0.2.1", LB_PROTO_TCP, 80, t);
	assert_int_equal(lb_model_add(k8s, f), 0);
	lb_model_fe_put(f);
	/* no conflict: another port */
	f = mkfe("default/web:https", LB_ORIGIN_K8S, "192.0.2.1", LB_PROTO_TCP, 443, t);
	assert_int_equal(lb_model_add(k8s, f), 0);
	lb_model_fe_put(f);
	/* the same name twice within one source */
	f = mkfe("default/web:https", LB_ORIGIN_K8S, "192.0.2.9", LB_PROTO_TCP, 443, t);
	assert_int_equal(lb_model_add(k8s, f), 0);
	lb_model_fe_put(f);
	/* IPv6 VIP with the same port is another service */
	f = mkfe("default/v6:http", LB_ORIGIN_K8S, "2001:db8::1", LB_PROTO_TCP, 80, t);
	assert_int_equal(lb_model_add(k8s, f), 0);
	lb_model_fe_put(f);

	m = lb_model_merge(src, 2, on_conflict, &c);
	assert_non_null(m);
	assert_int_equal(m->n_fes, 4);
	assert_string_equal(m->fes[0]->name, "web");
	assert_string_equal(m->fes[1]->name, "dns");
	assert_string_equal(m->fes[2]->name, "default/web:https");
	assert_string_equal(m->fes[3]->name, "default/v6:http");
	assert_int_equal(c.n, 2);
	/* the merged model shares the sources' frontends */
	assert_ptr_equal(m->fes[0], cfg->fes[0]);
	assert_int_equal(atomic_load(&cfg->fes[0]->refcnt), 2);
	assert_non_null(lb_model_find(m, "dns"));
	assert_null(lb_model_find(m, "nope"));
	lb_model_free(m);

	/* the message names both origins */
	memset(&c, 0, sizeof(c));
	src[1] = k8s;
	k8s->n_fes = 1;	/* only the conflicting one (the rest are dropped below) */
	m = lb_model_merge(src, 2, on_conflict, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.kept, "web");
	assert_string_equal(c.dropped, "default/web:http");
	assert_non_null(strstr(c.last, "config web"));
	assert_non_null(strstr(c.last, "k8s default/web:http"));
	assert_non_null(strstr(c.last, "tcp 192.0.2.1 port 80"));
	lb_model_free(m);
	k8s->n_fes = 4;
	lb_model_free(cfg);
	lb_model_free(k8s);
}

/* --- the overlay: every combination of drains --- */

static bool
drained(const struct lb_overlay *ov, const char *fe)
{
	struct lb_ip a = IP("10.0.0.1");

	return lb_overlay_drained(ov, fe, &a, htons(80));
}

static int
op(struct lb_overlay *ov, const char *fe, bool drain)
{
	struct lb_ip a = IP("10.0.0.1");

	return lb_overlay_drain(ov, fe, &a, htons(80), drain);
}

static void
test_drain_combinations(void **state)
{
	struct lb_overlay *ov = lb_overlay_new();
	struct lb_ip other = IP("10.0.0.2");

	(void)state;
	assert_false(drained(ov, "web"));
	assert_int_equal(op(ov, NULL, false), 1);	/* nothing to undrain */

	/* all, then undrain one frontend: drained everywhere but there */
	assert_int_equal(op(ov, NULL, true), 0);
	assert_true(drained(ov, "web"));
	assert_true(drained(ov, "api"));
	assert_int_equal(op(ov, NULL, true), 1);
	assert_int_equal(op(ov, "web", false), 0);
	assert_false(drained(ov, "web"));
	assert_true(drained(ov, "api"));
	assert_int_equal(op(ov, "web", false), 1);
	/* draining web again drops the exception */
	assert_int_equal(op(ov, "web", true), 0);
	assert_true(drained(ov, "web"));
	/* undrain all: everywhere, exceptions and per-frontend entries gone */
	assert_int_equal(op(ov, "web", false), 0);
	assert_int_equal(op(ov, NULL, false), 0);
	assert_false(drained(ov, "web"));
	assert_false(drained(ov, "api"));

	/* per frontend only */
	assert_int_equal(op(ov, "web", true), 0);
	assert_true(drained(ov, "web"));
	assert_false(drained(ov, "api"));
	assert_int_equal(op(ov, "web", true), 1);
	/* then all: web's own entry folds into the all-frontends drain */
	assert_int_equal(op(ov, NULL, true), 0);
	assert_true(drained(ov, "api"));
	assert_int_equal(op(ov, "api", false), 0);
	assert_false(drained(ov, "api"));
	assert_true(drained(ov, "web"));
	/* undrain web per frontend while drained for all: an exception too */
	assert_int_equal(op(ov, "web", false), 0);
	assert_false(drained(ov, "web"));
	/* undrain all removes both exceptions */
	assert_int_equal(op(ov, NULL, false), 0);
	assert_int_equal(op(ov, NULL, true), 0);
	assert_true(drained(ov, "web"));
	assert_true(drained(ov, "api"));
	assert_int_equal(op(ov, NULL, false), 0);

	/* per-frontend drain, undrain of that frontend without any all entry */
	assert_int_equal(op(ov, "api", true), 0);
	assert_int_equal(op(ov, "api", false), 0);
	assert_false(drained(ov, "api"));

	/* per-frontend drains only, then undrain all: every one of them goes
	 * (docs/lbctl.md: all entries for the target are dropped) */
	assert_int_equal(op(ov, "web", true), 0);
	assert_int_equal(op(ov, "api", true), 0);
	assert_int_equal(op(ov, NULL, false), 0);
	assert_false(drained(ov, "web"));
	assert_false(drained(ov, "api"));
	assert_int_equal(op(ov, NULL, false), 1);

	/* other targets and ports are unaffected */
	assert_int_equal(op(ov, NULL, true), 0);
	assert_false(lb_overlay_drained(ov, "web", &other, htons(80)));
	{
		struct lb_ip a = IP("10.0.0.1");

		assert_false(lb_overlay_drained(ov, "web", &a, htons(81)));
	}
	lb_overlay_free(ov);
}

struct seen {
	int n;
	int exceptions;
};

static void
count_entry(void *ctx, const struct lb_overlay_entry_info *e)
{
	struct seen *s = ctx;

	s->n++;
	s->exceptions += e->undrain_exception;
}

static void
test_overlay_health_and_clone(void **state)
{
	struct lb_overlay *ov = lb_overlay_new(), *c;
	struct lb_ip a = IP("10.0.0.1"), b = IP("10.0.0.2");
	char reason[LB_MODEL_REASON_MAX];
	struct seen s = { 0 };
	uint64_t v;

	(void)state;
	assert_int_equal(lb_overlay_flags(ov, "web", &a, htons(80), NULL, 0), 0);
	/* every port of a node */
	assert_int_equal(lb_overlay_set_unhealthy(ov, NULL, &a, 0, true, "healthz: 503"), 0);
	assert_int_equal(lb_overlay_set_unhealthy(ov, NULL, &a, 0, true, "healthz: 503"), 1);
	assert_int_equal(lb_overlay_flags(ov, "web", &a, htons(80), reason, sizeof(reason)),
		LB_OV_UNHEALTHY);
	assert_string_equal(reason, "healthz: 503");
	assert_int_equal(lb_overlay_flags(ov, "api", &a, htons(8080), NULL, 0), LB_OV_UNHEALTHY);
	assert_int_equal(lb_overlay_flags(ov, "api", &b, htons(8080), NULL, 0), 0);
	/* one frontend's target */
	assert_int_equal(lb_overlay_set_unhealthy(ov, "api", &b, htons(8080), true,
		"tcp connect: refused"), 0);
	assert_int_equal(lb_overlay_flags(ov, "api", &b, htons(8080), reason, sizeof(reason)),
		LB_OV_UNHEALTHY);
	assert_string_equal(reason, "tcp connect: refused");
	assert_int_equal(lb_overlay_flags(ov, "web", &b, htons(8080), NULL, 0), 0);
	/* drained and unhealthy together */
	assert_int_equal(lb_overlay_drain(ov, "web", &a, htons(80), true), 0);
	assert_int_equal(lb_overlay_flags(ov, "web", &a, htons(80), NULL, 0),
		LB_OV_UNHEALTHY | LB_OV_DRAINED);

	/* a clone is independent; versions count changes */
	v = lb_overlay_version(ov);
	c = lb_overlay_clone(ov);
	assert_non_null(c);
	assert_int_equal(lb_overlay_set_unhealthy(c, NULL, &a, 0, false, NULL), 0);
	assert_int_equal(lb_overlay_flags(c, "web", &a, htons(80), NULL, 0), LB_OV_DRAINED);
	assert_int_equal(lb_overlay_flags(ov, "web", &a, htons(80), NULL, 0),
		LB_OV_UNHEALTHY | LB_OV_DRAINED);
	assert_true(lb_overlay_version(c) > v);
	assert_int_equal(lb_overlay_version(ov), v);
	assert_int_equal(lb_overlay_set_unhealthy(c, NULL, &a, 0, false, NULL), 1);

	lb_overlay_foreach(ov, count_entry, &s);
	assert_int_equal(s.n, 3);
	lb_overlay_free(c);
	lb_overlay_free(ov);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_fe_seal),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_drain_combinations),
		cmocka_unit_test(test_overlay_health_and_clone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
