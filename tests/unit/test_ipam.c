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

#include "lb_ipam.h"

static struct lb_ip
IP(const char *s)
{
	struct lb_ip ip;

	assert_int_equal(lb_ip_parse(s, &ip), 0);
	return ip;
}

/* Pools built from "name:auto:buggy:first-last,first-last". */
struct pools {
	uint32_t n;
	struct lb_model_pool p[4];
	struct lb_ip_range r[4][4];
};

static void
add_pool(struct pools *ps, const char *name, bool auto_assign, bool avoid_buggy,
	const char *const *ranges)
{
	struct lb_model_pool *p = &ps->p[ps->n];
	uint32_t k;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->auto_assign = auto_assign;
	p->avoid_buggy_ips = avoid_buggy;
	p->ranges = ps->r[ps->n];
	for (k = 0; ranges[k] != NULL; k++) {
		char a[64], *dash;

		snprintf(a, sizeof(a), "%s", ranges[k]);
		dash = strchr(a, '-');
		assert_non_null(dash);
		*dash = '\0';
		p->ranges[k].first = IP(a);
		p->ranges[k].last = IP(dash + 1);
	}
	p->n_ranges = k;
	ps->n++;
}

static struct lb_ipam_req
req4(void)
{
	struct lb_ipam_req r;

	memset(&r, 0, sizeof(r));
	r.n_families = 1;
	r.families[0] = LB_AF_INET;
	return r;
}

static const char *
fmt(const struct lb_ip *ip)
{
	static char buf[4][LB_IP_STRLEN];
	static int n;

	return lb_ip_fmt(ip, buf[n++ & 3]);
}

/* Assigns and returns the first address as text ("" on failure, rc in *rc). */
static const char *
assign(struct lb_ipam *ipam, const char *owner, const struct lb_ipam_req *r, int *rc, char *err,
	size_t errlen)
{
	struct lb_ipam_result res;

	*rc = lb_ipam_assign(ipam, owner, r, &res, err, errlen);
	if (*rc != 0)
		return "";
	assert_int_equal(res.n, r->n_families);
	return fmt(&res.addr[0]);
}

static struct lb_ipam *
basic(struct pools *ps)
{
	memset(ps, 0, sizeof(*ps));
	add_pool(ps, "public", true, false, (const char *const[]){ "192.0.2.10-192.0.2.12", NULL });
	add_pool(ps, "reserved", false, false, (const char *const[]){ "198.51.100.0-198.51.100.3",
		NULL });
	add_pool(ps, "v6", true, false, (const char *const[]){ "2001:db8::10-2001:db8::ff", NULL });
	return lb_ipam_new(ps->p, ps->n);
}

static void
test_lowest_free_and_stable(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	char err[256];
	int rc;

	(void)state;
	assert_non_null(ipam);
	assert_string_equal(assign(ipam, "ns/a", &r, &rc, err, sizeof(err)), "192.0.2.10");
	assert_string_equal(assign(ipam, "ns/b", &r, &rc, err, sizeof(err)), "192.0.2.11");
	/* Asking again keeps what the owner holds. */
	assert_string_equal(assign(ipam, "ns/a", &r, &rc, err, sizeof(err)), "192.0.2.10");
	assert_string_equal(assign(ipam, "ns/b", &r, &rc, err, sizeof(err)), "192.0.2.11");
	/* A released address is the lowest free one again. */
	assert_int_equal(lb_ipam_release(ipam, "ns/a"), 0);
	assert_int_equal(lb_ipam_release(ipam, "ns/a"), -ENOENT);
	assert_string_equal(assign(ipam, "ns/c", &r, &rc, err, sizeof(err)), "192.0.2.10");
	lb_ipam_free(ipam);
}

static void
test_exhausted(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	struct lb_ipam_result res;
	char err[256];
	int rc;

	(void)state;
	assign(ipam, "ns/a", &r, &rc, err, sizeof(err));
	assign(ipam, "ns/b", &r, &rc, err, sizeof(err));
	assign(ipam, "ns/c", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	/* "reserved" does not assign automatically, so the next one fails. */
	assign(ipam, "ns/d", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -ENOSPC);
	assert_non_null(strstr(err, "out of IPv4 addresses"));
	lb_ipam_lookup(ipam, "ns/d", &res);
	assert_int_equal(res.n, 0);
	/* Named, the reserved pool serves. */
	r.pool = "reserved";
	assert_string_equal(assign(ipam, "ns/d", &r, &rc, err, sizeof(err)), "198.51.100.0");
	r.pool = "public";
	assign(ipam, "ns/e", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -ENOSPC);
	assert_string_equal(err, "address pool public has no free IPv4 address");
	r.pool = "nope";
	assign(ipam, "ns/e", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_string_equal(err, "address pool nope does not exist");
	lb_ipam_free(ipam);
}

static void
test_requested(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	char err[256];
	int rc;

	(void)state;
	r.n_want = 1;
	r.want[0] = IP("192.0.2.12");
	assert_string_equal(assign(ipam, "ns/a", &r, &rc, err, sizeof(err)), "192.0.2.12");
	/* Outside every pool. */
	r.want[0] = IP("203.0.113.5");
	assign(ipam, "ns/b", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRNOTAVAIL);
	assert_string_equal(err, "address 203.0.113.5 is in no address pool");
	/* Taken. */
	r.want[0] = IP("192.0.2.12");
	assign(ipam, "ns/b", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRINUSE);
	assert_string_equal(err, "address 192.0.2.12 is held by ns/a");
	/* Requested from a pool without auto_assign: allowed, it was asked for. */
	r.want[0] = IP("198.51.100.2");
	assert_string_equal(assign(ipam, "ns/b", &r, &rc, err, sizeof(err)), "198.51.100.2");
	/* Requested, but not in the named pool. */
	r.pool = "public";
	assign(ipam, "ns/c", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRNOTAVAIL);
	assert_non_null(strstr(err, "not in the requested pool public"));
	/* An IPv6 address for an IPv4-only Service. */
	r.pool = NULL;
	r.want[0] = IP("2001:db8::20");
	assign(ipam, "ns/c", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "not one of the Service's address families"));
	/* Two of one family. */
	r.n_want = 2;
	r.want[0] = IP("192.0.2.10");
	r.want[1] = IP("192.0.2.11");
	assign(ipam, "ns/c", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, "two IPv4 addresses requested (192.0.2.10 and 192.0.2.11); at "
		"most one per family");
	lb_ipam_free(ipam);
}

/* A changed request moves the owner; a request it cannot meet releases it. */
static void
test_change_releases(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	struct lb_ipam_result res;
	uint32_t n;
	char err[256];
	int rc;

	(void)state;
	assert_string_equal(assign(ipam, "ns/a", &r, &rc, err, sizeof(err)), "192.0.2.10");
	r.pool = "reserved";
	assert_string_equal(assign(ipam, "ns/a", &r, &rc, err, sizeof(err)), "198.51.100.0");
	assert_null(lb_ipam_holder(ipam, &(struct lb_ip){ 0 }, NULL));
	assert_null(lb_ipam_holder(ipam, &ps.p[0].ranges[0].first, &n));
	assert_int_equal(n, 0);
	r.pool = NULL;
	r.n_want = 1;
	r.want[0] = IP("203.0.113.1");
	assign(ipam, "ns/a", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRNOTAVAIL);
	lb_ipam_lookup(ipam, "ns/a", &res);
	assert_int_equal(res.n, 0);
	assert_null(lb_ipam_holder(ipam, &(struct lb_ip){ .family = LB_AF_INET,
		.v4 = htonl(0xc6336400) }, NULL));
	lb_ipam_free(ipam);
}

static void
test_avoid_buggy(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps = { 0 };
	struct lb_ipam *ipam;
	char err[256];
	int rc;

	(void)state;
	add_pool(&ps, "b", true, true, (const char *const[]){ "10.0.0.254-10.0.1.2", NULL });
	ipam = lb_ipam_new(ps.p, ps.n);
	assert_string_equal(assign(ipam, "x/1", &r, &rc, err, sizeof(err)), "10.0.0.254");
	assert_string_equal(assign(ipam, "x/2", &r, &rc, err, sizeof(err)), "10.0.1.1");
	assert_string_equal(assign(ipam, "x/3", &r, &rc, err, sizeof(err)), "10.0.1.2");
	assign(ipam, "x/4", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -ENOSPC);
	r.n_want = 1;
	r.want[0] = IP("10.0.1.0");
	assign(ipam, "x/4", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRNOTAVAIL);
	assert_non_null(strstr(err, "avoid_buggy_ips"));
	lb_ipam_free(ipam);
}

static const struct lb_ipam_port tcp80[] = { { LB_PROTO_TCP, 80 } };
static const struct lb_ipam_port udp53[] = { { LB_PROTO_UDP, 53 } };
static const struct lb_ipam_port tcp53_80[] = { { LB_PROTO_TCP, 53 }, { LB_PROTO_TCP, 80 } };

static void
test_sharing(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	struct lb_ipam_result res;
	uint32_t n;
	char err[256];
	int rc;

	(void)state;
	r.sharing_key = "dns";
	r.ports = udp53;
	r.n_ports = 1;
	assert_string_equal(assign(ipam, "ns/dns-udp", &r, &rc, err, sizeof(err)), "192.0.2.10");
	/* Same key, no collision: the same address. */
	r.ports = tcp80;
	assert_string_equal(assign(ipam, "ns/dns-tcp", &r, &rc, err, sizeof(err)), "192.0.2.10");
	lb_ipam_lookup(ipam, "ns/dns-tcp", &res);
	assert_true(res.shared[0]);
	assert_string_equal(lb_ipam_holder(ipam, &res.addr[0], &n), "ns/dns-tcp");
	assert_int_equal(n, 2);
	/* Same key, colliding port: a new address, since none was asked for. */
	assert_string_equal(assign(ipam, "ns/web", &r, &rc, err, sizeof(err)), "192.0.2.11");
	/* ... and an error when the shared one is asked for. */
	r.n_want = 1;
	r.want[0] = IP("192.0.2.10");
	assign(ipam, "ns/web2", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRINUSE);
	assert_string_equal(err, "address 192.0.2.10 is shared with ns/dns-tcp, which also serves "
		"tcp port 80");
	/* Other key: refused. */
	r.sharing_key = "other";
	r.ports = tcp53_80;
	r.n_ports = 2;
	assign(ipam, "ns/web2", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRINUSE);
	assert_non_null(strstr(err, "held by ns/dns-tcp (sharing key \"dns\")"));
	/* No key: refused too. */
	r.sharing_key = NULL;
	assign(ipam, "ns/web2", &r, &rc, err, sizeof(err));
	assert_int_equal(rc, -EADDRINUSE);
	/* A holder that changes its ports to collide moves away (it is the one
	 * that changed), keeping the others where they are. */
	r.sharing_key = "dns";
	r.n_want = 0;
	r.ports = tcp53_80;
	r.n_ports = 2;
	assert_string_equal(assign(ipam, "ns/dns-udp", &r, &rc, err, sizeof(err)), "192.0.2.12");
	lb_ipam_lookup(ipam, "ns/dns-tcp", &res);
	assert_string_equal(fmt(&res.addr[0]), "192.0.2.10");
	assert_false(res.shared[0]);
	lb_ipam_free(ipam);
}

/* After a restart, a Service keeps the address its status holds. */
static void
test_restart_recovery(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	char err[256];
	int rc;

	(void)state;
	r.n_prev = 1;
	r.prev[0] = IP("192.0.2.11");
	assert_string_equal(assign(ipam, "ns/b", &r, &rc, err, sizeof(err)), "192.0.2.11");
	r.n_prev = 0;
	assert_string_equal(assign(ipam, "ns/new", &r, &rc, err, sizeof(err)), "192.0.2.10");
	/* A stale status naming a held address does not steal it. */
	r.n_prev = 1;
	r.prev[0] = IP("192.0.2.11");
	assert_string_equal(assign(ipam, "ns/c", &r, &rc, err, sizeof(err)), "192.0.2.12");
	/* A status address outside the pools is ignored: a fresh allocation. */
	lb_ipam_release(ipam, "ns/c");
	r.prev[0] = IP("203.0.113.9");
	assert_string_equal(assign(ipam, "ns/c", &r, &rc, err, sizeof(err)), "192.0.2.12");
	/* A status address from a pool without auto_assign is not kept unasked. */
	lb_ipam_release(ipam, "ns/c");
	r.prev[0] = IP("198.51.100.1");
	assert_string_equal(assign(ipam, "ns/c", &r, &rc, err, sizeof(err)), "192.0.2.12");
	lb_ipam_free(ipam);
}

static void
test_dual_stack(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	struct lb_ipam_result res;
	char err[256];

	(void)state;
	r.n_families = 2;
	r.families[0] = LB_AF_INET6;
	r.families[1] = LB_AF_INET;
	assert_int_equal(lb_ipam_assign(ipam, "ns/ds", &r, &res, err, sizeof(err)), 0);
	assert_int_equal(res.n, 2);
	assert_string_equal(fmt(&res.addr[0]), "2001:db8::10");
	assert_string_equal(fmt(&res.addr[1]), "192.0.2.10");
	assert_int_equal(res.pool[0], 2);
	assert_int_equal(res.pool[1], 0);
	/* Named pool without IPv6: the whole request fails, nothing is held. */
	r.pool = "public";
	assert_int_equal(lb_ipam_assign(ipam, "ns/ds", &r, &res, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "address pool public has no IPv6 addresses");
	lb_ipam_lookup(ipam, "ns/ds", &res);
	assert_int_equal(res.n, 0);
	r.pool = NULL;
	r.families[1] = LB_AF_INET6;
	assert_int_equal(lb_ipam_assign(ipam, "ns/ds", &r, &res, err, sizeof(err)), -EINVAL);
	r.n_families = 0;
	assert_int_equal(lb_ipam_assign(ipam, "ns/ds", &r, &res, err, sizeof(err)), -EINVAL);
	lb_ipam_free(ipam);
}

static void
test_pools_reload(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps, ps2 = { 0 };
	struct lb_ipam *ipam = basic(&ps);
	struct lb_ipam_pool_stats st;
	struct lb_ipam_result res;
	char err[256];
	int rc;

	(void)state;
	assign(ipam, "ns/a", &r, &rc, err, sizeof(err));
	assert_int_equal(lb_ipam_pool_stats(ipam, 0, &st), 0);
	assert_string_equal(st.name, "public");
	assert_int_equal(st.size, 3);
	assert_int_equal(st.used, 1);
	assert_int_equal(lb_ipam_pool_stats(ipam, 2, &st), 0);
	assert_int_equal(st.size, 240);
	assert_int_equal(lb_ipam_pool_stats(ipam, 3, &st), -ENOENT);
	/* New pools without 192.0.2.10: refused while it is held. */
	add_pool(&ps2, "public", true, false, (const char *const[]){ "192.0.2.11-192.0.2.20",
		NULL });
	assert_int_equal(lb_ipam_check_pools(ipam, ps2.p, ps2.n, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "address 192.0.2.10 (held by ns/a) is in no pool of the new "
		"configuration");
	/* Grown: accepted, holdings kept, a new owner gets a new address. */
	memset(&ps2, 0, sizeof(ps2));
	add_pool(&ps2, "public", true, false, (const char *const[]){ "192.0.2.10-192.0.2.20",
		NULL });
	assert_int_equal(lb_ipam_check_pools(ipam, ps2.p, ps2.n, err, sizeof(err)), 0);
	assert_int_equal(lb_ipam_set_pools(ipam, ps2.p, ps2.n), 0);
	assert_int_equal(lb_ipam_n_pools(ipam), 1);
	lb_ipam_lookup(ipam, "ns/a", &res);
	assert_string_equal(fmt(&res.addr[0]), "192.0.2.10");
	assert_string_equal(assign(ipam, "ns/b", &r, &rc, err, sizeof(err)), "192.0.2.11");
	/* Forced shrink: the held address stays until its owner is assigned again. */
	memset(&ps2, 0, sizeof(ps2));
	add_pool(&ps2, "public", true, false, (const char *const[]){ "192.0.2.11-192.0.2.20",
		NULL });
	assert_int_equal(lb_ipam_set_pools(ipam, ps2.p, ps2.n), 0);
	lb_ipam_lookup(ipam, "ns/a", &res);
	assert_int_equal(res.pool[0], UINT32_MAX);
	assert_string_equal(assign(ipam, "ns/a", &r, &rc, err, sizeof(err)), "192.0.2.12");
	lb_ipam_free(ipam);
}

struct seen {
	char text[512];
};

static void
visit(void *ctx, const struct lb_ip *ip, const char *pool, const char *key,
	const char *const *owners, uint32_t n)
{
	struct seen *s = ctx;
	size_t off = strlen(s->text);
	uint32_t i;

	off += (size_t)snprintf(s->text + off, sizeof(s->text) - off, "%s %s %s:", fmt(ip),
		pool ? pool : "-", key ? key : "-");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s->text + off, sizeof(s->text) - off, " %s", owners[i]);
	snprintf(s->text + off, sizeof(s->text) - off, "; ");
}

static void
test_foreach(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps;
	struct lb_ipam *ipam = basic(&ps);
	struct seen s = { "" };
	char err[256];
	int rc;

	(void)state;
	r.sharing_key = "k";
	r.ports = udp53;
	r.n_ports = 1;
	assign(ipam, "b/x", &r, &rc, err, sizeof(err));
	r.ports = tcp80;
	assign(ipam, "a/y", &r, &rc, err, sizeof(err));
	r.sharing_key = NULL;
	assign(ipam, "c/z", &r, &rc, err, sizeof(err));
	lb_ipam_foreach(ipam, visit, &s);
	assert_string_equal(s.text, "192.0.2.10 public k: a/y b/x; 192.0.2.11 public -: c/z; ");
	lb_ipam_free(ipam);
}

/* Many owners: allocation stays deterministic and exact. */
static void
test_many(void **state)
{
	struct lb_ipam_req r = req4();
	struct pools ps = { 0 };
	struct lb_ipam *ipam;
	struct lb_ipam_pool_stats st;
	char err[256], name[32];
	int rc, i;

	(void)state;
	add_pool(&ps, "big", true, true, (const char *const[]){ "10.1.0.0-10.1.15.255", NULL });
	ipam = lb_ipam_new(ps.p, ps.n);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "ns/s%04d", i);
		assign(ipam, name, &r, &rc, err, sizeof(err));
		assert_int_equal(rc, 0);
	}
	/* 4096 addresses, 32 of them .0/.255: 3000 fit; release every other one. */
	for (i = 0; i < 3000; i += 2) {
		snprintf(name, sizeof(name), "ns/s%04d", i);
		assert_int_equal(lb_ipam_release(ipam, name), 0);
	}
	assert_int_equal(lb_ipam_pool_stats(ipam, 0, &st), 0);
	assert_int_equal(st.used, 1500);
	/* The lowest free address is the first released one. */
	assert_string_equal(assign(ipam, "ns/again", &r, &rc, err, sizeof(err)), "10.1.0.1");
	lb_ipam_free(ipam);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_free_and_stable),
		cmocka_unit_test(test_exhausted),
		cmocka_unit_test(test_requested),
		cmocka_unit_test(test_change_releases),
		cmocka_unit_test(test_avoid_buggy),
		cmocka_unit_test(test_sharing),
		cmocka_unit_test(test_restart_recovery),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_pools_reload),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
