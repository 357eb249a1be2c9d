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

#include "lb_maglev.h"
#include "lb_model.h"
#include "lb_snap.h"

/*
 * Configs are built by hand here (not through the loader), so these tests
 * pin the compiler alone. The reference config:
 *
 *   port 0 "ext"  external  198.51.100.2/24 gw 198.51.100.1      dev 3
 *   port 1 "int"  internal  10.1.0.2/16     gw 10.1.0.1 vlan 100 dev 7
 *   SNAT 10.1.0.100, 10.1.0.101, ports 1024-65535, 4 workers
 *
 *   web      203.0.113.10 tcp 80   fullnat m=251   4 targets (one via gw, one weight 0)
 *   web-udp  203.0.113.10 udp 80   dnat, ClientIP 10800 s, two source ranges, m=13
 *   web-tls  203.0.113.10 tcp 443  fullnat m=251   3 targets (one shared with web-udp)
 *   idle     203.0.113.11 tcp 80   every target weight 0
 *   none     203.0.113.12 tcp 80   no targets
 */

#define MAX_FE	1024
#define MAX_T	16

struct fx {
	struct lb_config cfg;
	struct lb_config_frontend fes[MAX_FE];
	struct lb_config_target tg[MAX_FE][MAX_T];
	struct lb_cidr ranges[MAX_FE][4];
	struct lb_snap_env env;
};

static uint32_t
IP(const char *s)
{
	uint32_t a;

	assert_int_equal(lb_ip4_parse(s, &a), 0);
	return a;
}

static struct lb_cidr
CIDR(const char *s)
{
	struct lb_cidr c;

	assert_int_equal(lb_cidr_parse(s, &c, false), 0);
	return c;
}

static struct lb_config_frontend *
add_fe(struct fx *f, const char *name, const char *vip, uint8_t proto, uint16_t port,
	enum lb_method method, uint32_t m)
{
	uint32_t i = f->cfg.n_frontends++;
	struct lb_config_frontend *fe = &f->fes[i];

	assert_true(i < MAX_FE);
	memset(fe, 0, sizeof(*fe));
	snprintf(fe->name, sizeof(fe->name), "%s", name);
	fe->vip = IP(vip);
	fe->proto = proto;
	fe->port = htons(port);
	fe->method = method;
	fe->maglev_size = m;
	fe->targets = f->tg[i];
	fe->src_ranges = f->ranges[i];
	fe->line = 100 + (int)i;
	return fe;
}

static void
add_t(struct lb_config_frontend *fe, const char *addr, uint16_t port, uint32_t weight)
{
	struct lb_config_target *t = &fe->targets[fe->n_targets++];

	assert_true(fe->n_targets <= MAX_T);
	t->addr = IP(addr);
	t->port = htons(port);
	t->weight = weight;
	t->line = 1000 + (int)fe->n_targets;
}

static struct fx *
fx_base(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct lb_config *c;

	assert_non_null(f);
	c = &f->cfg;
	snprintf(c->path, sizeof(c->path), "test.conf");
	c->n_ports = 2;
	snprintf(c->ports[0].name, LB_NAME_MAX, "ext");
	c->ports[0].role = LB_ROLE_EXTERNAL;
	assert_int_equal(lb_cidr_parse("198.51.100.2/24", &c->ports[0].net, true), 0);
	c->ports[0].addr = IP("198.51.100.2");
	c->ports[0].gateway = IP("198.51.100.1");
	snprintf(c->ports[1].name, LB_NAME_MAX, "int");
	c->ports[1].role = LB_ROLE_INTERNAL;
	assert_int_equal(lb_cidr_parse("10.1.0.2/16", &c->ports[1].net, true), 0);
	c->ports[1].addr = IP("10.1.0.2");
	c->ports[1].gateway = IP("10.1.0.1");
	c->ports[1].vlan = 100;
	c->ext_port = 0;
	c->int_port = 1;
	c->n_workers = 4;
	c->n_snat = 2;
	c->snat_addrs[0] = IP("10.1.0.100");
	c->snat_addrs[1] = IP("10.1.0.101");
	c->snat_port_lo = 1024;
	c->snat_port_hi = 65535;
	c->timeouts.tcp_syn = 30;
	c->timeouts.tcp_established = 3600;
	c->timeouts.tcp_fin = 15;
	c->timeouts.udp = 45;
	c->frontends = f->fes;

	f->env.dev[0] = 3;
	f->env.dev[1] = 7;
	memcpy(f->env.mac[0], (uint8_t[6]){ 2, 0, 0, 0, 0, 0x30 }, 6);
	memcpy(f->env.mac[1], (uint8_t[6]){ 2, 0, 0, 0, 0, 0x70 }, 6);
	f->env.n_workers = 4;
	return f;
}

static struct fx *
fx_ref(void)
{
	struct fx *f = fx_base();
	struct lb_config_frontend *fe;

	fe = add_fe(f, "web", "203.0.113.10", LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 251);
	add_t(fe, "10.1.0.11", 30080, 1);
	add_t(fe, "10.1.0.12", 30080, 2);
	add_t(fe, "10.2.0.5", 30080, 1);	/* off-link: via the gateway */
	add_t(fe, "10.1.0.13", 30080, 0);	/* standby */

	fe = add_fe(f, "web-udp", "203.0.113.10", LB_PROTO_UDP, 80, LB_METHOD_DNAT, 13);
	fe->affinity = LB_AFFINITY_CLIENT_IP;
	fe->affinity_timeout = 10800;
	fe->src_ranges[0] = CIDR("192.0.2.0/24");
	fe->src_ranges[1] = CIDR("198.18.0.0/15");
	fe->n_src_ranges = 2;
	add_t(fe, "10.1.0.21", 8080, 1);
	add_t(fe, "10.1.0.22", 8080, 1);

	fe = add_fe(f, "web-tls", "203.0.113.10", LB_PROTO_TCP, 443, LB_METHOD_FULLNAT, 251);
	add_t(fe, "10.1.0.11", 30443, 1);
	add_t(fe, "10.1.0.12", 30443, 1);
	add_t(fe, "10.1.0.21", 8080, 1);

	fe = add_fe(f, "idle", "203.0.113.11", LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 251);
	add_t(fe, "10.1.0.31", 80, 0);
	add_t(fe, "10.1.0.32", 80, 0);

	add_fe(f, "none", "203.0.113.12", LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 251);
	return f;
}

static struct lb_snap *
build(struct fx *f, const struct lb_overlay *ov)
{
	char err[256] = "";
	struct lb_snap *s = lb_snap_build_config(&f->cfg, &f->env, ov, err, sizeof(err));

	if (s == NULL)
		fail_msg("build failed: %s", err);
	return s;
}

static const struct lb_snap_fe *
fe_named(const struct lb_snap *s, const char *name)
{
	uint32_t i;

	for (i = 0; i < s->n_fes; i++)
		if (strcmp(s->fes[i].name, name) == 0)
			return &s->fes[i];
	fail_msg("no frontend %s", name);
	return NULL;
}

/* Index of the target addr:port in fe, found by a plain scan. */
static int
tidx(const struct lb_snap_fe *fe, const char *addr, uint16_t port)
{
	uint32_t i;

	for (i = 0; i < fe->n_targets; i++)
		if (fe->targets[i].addr == IP(addr) && fe->targets[i].port == htons(port))
			return (int)i;
	return -1;
}

static void
slot_counts(const struct lb_snap_fe *fe, uint32_t *cnt)
{
	uint32_t i;

	memset(cnt, 0, sizeof(*cnt) * fe->n_targets);
	for (i = 0; i < fe->maglev_size; i++) {
		assert_true(fe->maglev[i] < fe->n_targets);
		cnt[fe->maglev[i]]++;
	}
}

static void
test_ports_and_globals(void **state)
{
	struct fx *f = fx_ref();
	struct lb_snat_layout want;
	struct lb_snap *s;
	uint32_t i;

	(void)state;
	s = build(f, NULL);
	assert_int_equal((uintptr_t)s % 64, 0);
	assert_int_equal(s->generation, 0);
	assert_int_equal(s->n_workers, 4);
	assert_int_equal(s->n_ports, 2);
	assert_int_equal(s->ext_port, 0);
	assert_int_equal(s->int_port, 1);

	assert_int_equal(s->ports[0].dev, 3);
	assert_int_equal(s->ports[0].role, LB_ROLE_EXTERNAL);
	assert_int_equal(s->ports[0].vlan, 0);
	assert_int_equal(s->ports[0].addr, IP("198.51.100.2"));
	assert_int_equal(s->ports[0].mask, IP("255.255.255.0"));
	assert_int_equal(s->ports[0].gateway, IP("198.51.100.1"));
	assert_memory_equal(s->ports[0].mac, f->env.mac[0], 6);
	assert_string_equal(s->ports[0].name, "ext");
	assert_int_equal(s->ports[1].dev, 7);
	assert_int_equal(s->ports[1].role, LB_ROLE_INTERNAL);
	assert_int_equal(s->ports[1].vlan, 100);
	assert_int_equal(s->ports[1].addr, IP("10.1.0.2"));
	assert_int_equal(s->ports[1].mask, IP("255.255.0.0"));
	assert_int_equal(s->ports[1].gateway, IP("10.1.0.1"));
	assert_memory_equal(s->ports[1].mac, f->env.mac[1], 6);
	assert_string_equal(s->ports[1].name, "int");
	for (i = 0; i < 256; i++)
		assert_int_equal(s->dev_to_port[i], i == 3 ? 0 : i == 7 ? 1 : LB_SNAP_NO_PORT);

	assert_int_equal(s->timeout_ms[LB_FLOW_SYN], 30000);
	assert_int_equal(s->timeout_ms[LB_FLOW_EST], 3600000);
	assert_int_equal(s->timeout_ms[LB_FLOW_FIN], 15000);
	assert_int_equal(s->timeout_ms[LB_FLOW_UDP], 45000);
	assert_int_equal(s->timeout_ms[LB_FLOW_OTHER], 0);

	assert_int_equal(lb_snat_layout_init(&want, 1024, 65535, 4), 0);
	assert_memory_equal(&s->snat, &want, sizeof(want));
	assert_int_equal(s->n_snat, 2);
	assert_int_equal(s->snat_addrs[0], IP("10.1.0.100"));
	assert_int_equal(s->snat_addrs[1], IP("10.1.0.101"));
	assert_int_equal(s->n_fes, 5);
	lb_snap_free(s);

	/* Timeouts too long for the flow table's clock are clamped. */
	f->cfg.timeouts.tcp_established = 4000000;
	f->fes[1].affinity_timeout = 4000000;
	s = build(f, NULL);
	assert_int_equal(s->timeout_ms[LB_FLOW_EST], 0x7fffffff);
	assert_int_equal(fe_named(s, "web-udp")->affinity_timeout_ms, 0x7fffffff);
	lb_snap_free(s);
	free(f);
}

static void
test_frontends(void **state)
{
	struct fx *f = fx_ref();
	const struct lb_snap_fe *fe;
	const struct lb_snap_target *t;
	struct lb_snap *s;
	uint32_t cnt[8], i;
	uint32_t *ref;

	(void)state;
	s = build(f, NULL);
	/* Config order is kept. */
	for (i = 0; i < 5; i++)
		assert_string_equal(s->fes[i].name, f->fes[i].name);

	fe = fe_named(s, "web");
	assert_int_equal(fe->vip, IP("203.0.113.10"));
	assert_int_equal(fe->port, htons(80));
	assert_int_equal(fe->proto, LB_PROTO_TCP);
	assert_int_equal(fe->method, LB_METHOD_FULLNAT);
	assert_int_equal(fe->affinity, LB_AFFINITY_NONE);
	assert_int_equal(fe->affinity_timeout_ms, 0);
	assert_int_equal(fe->n_src_ranges, 0);
	assert_int_equal(fe->n_targets, 4);
	assert_int_equal(fe->n_active, 3);
	assert_int_equal(fe->maglev_size, 251);
	assert_non_null(fe->maglev);
	assert_int_equal((uintptr_t)fe->maglev % 64, 0);
	for (i = 0; i < fe->n_targets; i++) {
		t = &fe->targets[i];
		assert_int_equal(t->id, lb_maglev_target_id(t->addr, t->port));
		if (i > 0)
			assert_true(fe->targets[i - 1].id < t->id);
		assert_int_equal(t->out_port, 1);
		assert_int_equal(t->flags, 0);
		assert_int_equal(t->port, htons(30080));
	}
	t = &fe->targets[tidx(fe, "10.1.0.11", 30080)];
	assert_int_equal(t->nexthop, IP("10.1.0.11"));
	assert_int_equal(t->weight, 1);
	t = &fe->targets[tidx(fe, "10.1.0.12", 30080)];
	assert_int_equal(t->nexthop, IP("10.1.0.12"));
	assert_int_equal(t->weight, 2);
	t = &fe->targets[tidx(fe, "10.2.0.5", 30080)];
	assert_int_equal(t->nexthop, IP("10.1.0.1"));
	t = &fe->targets[tidx(fe, "10.1.0.13", 30080)];
	assert_int_equal(t->weight, 0);
	assert_int_equal(t->nexthop, IP("10.1.0.13"));

	/* The table is Maglev's over the sorted targets, weight-0 ones taking
	 * no slot, the others in proportion to their weights. */
	ref = malloc(sizeof(*ref) * 251);
	{
		struct lb_maglev_target mt[4];

		for (i = 0; i < 4; i++) {
			mt[i].id = fe->targets[i].id;
			mt[i].weight = fe->targets[i].weight;
		}
		assert_int_equal(lb_maglev_build_alloc(ref, 251, mt, 4), 0);
	}
	assert_memory_equal(ref, fe->maglev, sizeof(*ref) * 251);
	free(ref);
	slot_counts(fe, cnt);
	assert_int_equal(cnt[tidx(fe, "10.1.0.13", 30080)], 0);
	assert_in_range(cnt[tidx(fe, "10.1.0.12", 30080)], 115, 136);
	assert_in_range(cnt[tidx(fe, "10.1.0.11", 30080)], 55, 70);
	assert_in_range(cnt[tidx(fe, "10.2.0.5", 30080)], 55, 70);

	fe = fe_named(s, "web-udp");
	assert_int_equal(fe->vip, IP("203.0.113.10"));
	assert_int_equal(fe->proto, LB_PROTO_UDP);
	assert_int_equal(fe->port, htons(80));
	assert_int_equal(fe->method, LB_METHOD_DNAT);
	assert_int_equal(fe->affinity, LB_AFFINITY_CLIENT_IP);
	assert_int_equal(fe->affinity_timeout_ms, 10800000);
	assert_int_equal(fe->n_src_ranges, 2);
	assert_memory_equal(fe->src_ranges, f->fes[1].src_ranges, 2 * sizeof(struct lb_cidr));
	assert_ptr_not_equal(fe->src_ranges, f->fes[1].src_ranges);	/* copied in */
	assert_true((const uint8_t *)fe->src_ranges > (const uint8_t *)s);
	assert_int_equal(fe->n_targets, 2);
	assert_int_equal(fe->n_active, 2);
	assert_int_equal(fe->maglev_size, 13);
	assert_int_equal((uintptr_t)fe->maglev % 64, 0);
	slot_counts(fe, cnt);
	assert_true(cnt[0] >= 6 && cnt[1] >= 6);

	fe = fe_named(s, "web-tls");
	assert_int_equal(fe->port, htons(443));
	assert_int_equal(fe->n_targets, 3);
	assert_int_equal(fe->n_active, 3);

	fe = fe_named(s, "idle");
	assert_int_equal(fe->n_targets, 2);
	assert_int_equal(fe->n_active, 0);
	assert_null(fe->maglev);
	assert_int_equal(fe->maglev_size, 251);

	fe = fe_named(s, "none");
	assert_int_equal(fe->n_targets, 0);
	assert_int_equal(fe->n_active, 0);
	assert_null(fe->maglev);
	assert_int_equal(lb_snap_target_find(fe, IP("10.1.0.11"), htons(30080)), -1);
	lb_snap_free(s);
	free(f);
}

static void
test_lookups(void **state)
{
	struct fx *f = fx_ref();
	const struct lb_snap_local *l;
	const struct lb_snap_fe *fe;
	struct lb_snap *s;
	uint32_t i, used = 0;

	(void)state;
	s = build(f, NULL);
	assert_int_equal(s->fe_mask, 15);
	for (i = 0; i < s->n_fes; i++) {
		fe = lb_snap_fe_lookup(s, f->fes[i].vip, f->fes[i].proto, f->fes[i].port);
		assert_ptr_equal(fe, &s->fes[i]);
	}
	for (i = 0; i <= s->fe_mask; i++)
		used += s->fe_index[i] != 0;
	assert_int_equal(used, 5);
	assert_null(lb_snap_fe_lookup(s, IP("203.0.113.10"), LB_PROTO_TCP, htons(81)));
	assert_null(lb_snap_fe_lookup(s, IP("203.0.113.10"), LB_PROTO_UDP, htons(443)));
	assert_null(lb_snap_fe_lookup(s, IP("203.0.113.10"), LB_PROTO_ICMP, htons(80)));
	assert_null(lb_snap_fe_lookup(s, IP("203.0.113.13"), LB_PROTO_TCP, htons(80)));
	assert_null(lb_snap_fe_lookup(s, IP("10.1.0.11"), LB_PROTO_TCP, htons(30080)));

	/* Locals: three VIPs (one shared by three frontends), two port
	 * addresses, two SNAT addresses. */
	assert_int_equal(s->local_mask, 15);
	for (i = 0, used = 0; i <= s->local_mask; i++)
		used += s->locals[i].addr != 0;
	assert_int_equal(used, 7);
	for (i = 0; i < 3; i++) {
		char a[16];

		snprintf(a, sizeof(a), "203.0.113.%u", 10 + i);
		l = lb_snap_local_lookup(s, IP(a));
		assert_non_null(l);
		assert_int_equal(l->addr, IP(a));
		assert_int_equal(l->kind, LB_LOCAL_VIP);
		assert_int_equal(l->port, 0);
	}
	l = lb_snap_local_lookup(s, IP("198.51.100.2"));
	assert_non_null(l);
	assert_int_equal(l->kind, LB_LOCAL_PORT);
	assert_int_equal(l->port, 0);
	l = lb_snap_local_lookup(s, IP("10.1.0.2"));
	assert_non_null(l);
	assert_int_equal(l->kind, LB_LOCAL_PORT);
	assert_int_equal(l->port, 1);
	l = lb_snap_local_lookup(s, IP("10.1.0.101"));
	assert_non_null(l);
	assert_int_equal(l->kind, LB_LOCAL_SNAT);
	assert_int_equal(l->port, 1);
	assert_non_null(lb_snap_local_lookup(s, IP("10.1.0.100")));
	assert_null(lb_snap_local_lookup(s, IP("10.1.0.11")));
	assert_null(lb_snap_local_lookup(s, IP("198.51.100.1")));
	assert_null(lb_snap_local_lookup(s, IP("203.0.113.14")));

	/* The source filter lets every local and target address through (no
	 * false negative) and stops most others. */
	for (i = 0; i <= s->local_mask; i++)
		if (s->locals[i].addr != 0)
			assert_true(lb_snap_src_maybe_special(s, s->locals[i].addr));
	for (i = 0; i <= s->target_mask; i++)
		if (s->target_set[i] != 0)
			assert_true(lb_snap_src_maybe_special(s, s->target_set[i]));
	for (i = 0, used = 0; i < 100000; i++)
		used += lb_snap_src_maybe_special(s, htonl(0x0a000000u + i * 2654435761u % 0xffffff));
	assert_true(used < 100000 / 20);

	/* Source ranges. */
	fe = fe_named(s, "web-udp");
	assert_true(lb_snap_fe_allows(fe, IP("192.0.2.77")));
	assert_true(lb_snap_fe_allows(fe, IP("192.0.2.0")));
	assert_true(lb_snap_fe_allows(fe, IP("198.18.0.1")));
	assert_true(lb_snap_fe_allows(fe, IP("198.19.255.255")));
	assert_false(lb_snap_fe_allows(fe, IP("198.20.0.1")));
	assert_false(lb_snap_fe_allows(fe, IP("192.0.3.1")));
	assert_false(lb_snap_fe_allows(fe, IP("10.0.0.1")));
	fe = fe_named(s, "web");
	assert_true(lb_snap_fe_allows(fe, IP("10.0.0.1")));
	assert_true(lb_snap_fe_allows(fe, IP("198.20.0.1")));

	/* Target find: every target at its index, near misses miss. */
	for (i = 0; i < s->n_fes; i++) {
		uint32_t k;

		fe = &s->fes[i];
		for (k = 0; k < fe->n_targets; k++) {
			const struct lb_snap_target *t = &fe->targets[k];

			assert_int_equal(lb_snap_target_find(fe, t->addr, t->port), (int)k);
			assert_int_equal(lb_snap_target_find(fe, t->addr,
				htons(ntohs(t->port) + 1)), -1);
			assert_int_equal(lb_snap_target_find(fe, htonl(ntohl(t->addr) + 1000),
				t->port), -1);
		}
	}
	fe = fe_named(s, "web");
	assert_int_equal(lb_snap_target_find(fe, IP("10.1.0.21"), htons(8080)), -1);
	lb_snap_free(s);
	free(f);
}

/* Many frontends on few VIPs: the index grows and every one is found. */
/* The DNAT reply index: a target of exactly one DNAT frontend (of its
 * protocol) finds it; a FullNAT target, another port or protocol, or a
 * target two DNAT frontends share, finds nothing. */
static void
test_dnat_rev(void **state)
{
	struct fx *f = fx_ref();
	const struct lb_snap_target *t = NULL;
	const struct lb_snap_fe *fe;
	struct lb_config_frontend *cf;
	struct lb_snap *s;

	(void)state;
	s = build(f, NULL);
	fe = lb_snap_dnat_rev_lookup(s, IP("10.1.0.22"), htons(8080), LB_PROTO_UDP, &t);
	assert_ptr_equal(fe, fe_named(s, "web-udp"));
	assert_non_null(t);
	assert_int_equal(t->addr, IP("10.1.0.22"));
	assert_int_equal(t->port, htons(8080));
	assert_ptr_equal(lb_snap_dnat_rev_lookup(s, IP("10.1.0.21"), htons(8080), LB_PROTO_UDP,
		&t), fe);
	assert_int_equal(t->addr, IP("10.1.0.21"));
	/* web-tls (FullNAT) has 10.1.0.21:8080 over TCP */
	assert_null(lb_snap_dnat_rev_lookup(s, IP("10.1.0.21"), htons(8080), LB_PROTO_TCP, &t));
	assert_null(lb_snap_dnat_rev_lookup(s, IP("10.1.0.11"), htons(30080), LB_PROTO_TCP, &t));
	assert_null(lb_snap_dnat_rev_lookup(s, IP("10.1.0.22"), htons(8081), LB_PROTO_UDP, &t));
	lb_snap_free(s);

	/* a second DNAT frontend sharing 10.1.0.22:8080/udp */
	cf = add_fe(f, "other-udp", "203.0.113.12", LB_PROTO_UDP, 53, LB_METHOD_DNAT, 13);
	add_t(cf, "10.1.0.22", 8080, 1);
	add_t(cf, "10.1.0.23", 8080, 1);
	s = build(f, NULL);
	assert_null(lb_snap_dnat_rev_lookup(s, IP("10.1.0.22"), htons(8080), LB_PROTO_UDP, &t));
	assert_ptr_equal(lb_snap_dnat_rev_lookup(s, IP("10.1.0.21"), htons(8080), LB_PROTO_UDP,
		&t), fe_named(s, "web-udp"));
	assert_ptr_equal(lb_snap_dnat_rev_lookup(s, IP("10.1.0.23"), htons(8080), LB_PROTO_UDP,
		&t), fe_named(s, "other-udp"));
	assert_int_equal(t->addr, IP("10.1.0.23"));
	lb_snap_free(s);
	free(f);
}

/* Echo allow-lists: a VIP answers the union of its frontends' ranges, in
 * whatever order its frontends come, and every source once one of them has
 * no ranges. */
static void
test_vip_echo_acls(void **state)
{
	struct fx *f = fx_base();
	struct lb_config_frontend *fe;
	const struct lb_snap_local *x, *y, *z;
	struct lb_snap *s;

	(void)state;
	fe = add_fe(f, "x1", "203.0.113.20", LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 13);
	fe->src_ranges[0] = CIDR("192.0.2.0/25");
	fe->n_src_ranges = 1;
	add_t(fe, "10.1.0.11", 80, 1);
	fe = add_fe(f, "y1", "203.0.113.21", LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 13);
	fe->src_ranges[0] = CIDR("198.18.0.0/16");
	fe->n_src_ranges = 1;
	add_t(fe, "10.1.0.11", 81, 1);
	fe = add_fe(f, "x2", "203.0.113.20", LB_PROTO_UDP, 53, LB_METHOD_DNAT, 13);
	fe->src_ranges[0] = CIDR("192.0.2.128/26");
	fe->src_ranges[1] = CIDR("100.64.0.0/10");
	fe->n_src_ranges = 2;
	add_t(fe, "10.1.0.12", 53, 1);
	fe = add_fe(f, "z1", "203.0.113.22", LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 13);
	fe->src_ranges[0] = CIDR("198.19.0.0/16");
	fe->n_src_ranges = 1;
	add_t(fe, "10.1.0.11", 82, 1);
	fe = add_fe(f, "z2", "203.0.113.22", LB_PROTO_TCP, 443, LB_METHOD_FULLNAT, 13);
	add_t(fe, "10.1.0.11", 83, 1);
	s = build(f, NULL);
	x = lb_snap_local_lookup(s, IP("203.0.113.20"));
	y = lb_snap_local_lookup(s, IP("203.0.113.21"));
	z = lb_snap_local_lookup(s, IP("203.0.113.22"));
	assert_non_null(x);
	assert_non_null(y);
	assert_non_null(z);
	assert_int_equal(s->n_vip_acls, 2);
	assert_true(lb_snap_vip_echo_allows(s, x, IP("192.0.2.1")));
	assert_true(lb_snap_vip_echo_allows(s, x, IP("192.0.2.130")));
	assert_true(lb_snap_vip_echo_allows(s, x, IP("100.100.0.1")));
	assert_false(lb_snap_vip_echo_allows(s, x, IP("192.0.2.200")));
	assert_false(lb_snap_vip_echo_allows(s, x, IP("198.18.0.1")));
	assert_true(lb_snap_vip_echo_allows(s, y, IP("198.18.0.1")));
	assert_false(lb_snap_vip_echo_allows(s, y, IP("192.0.2.1")));
	assert_false(lb_snap_vip_echo_allows(s, y, IP("100.100.0.1")));
	assert_int_equal(z->acl, 0);
	assert_true(lb_snap_vip_echo_allows(s, z, IP("8.8.8.8")));
	assert_true(s->any_src_ranges);
	lb_snap_free(s);
	free(f);
}

static void
test_many_frontends(void **state)
{
	struct fx *f = fx_base();
	struct lb_snap *s;
	uint32_t i;

	(void)state;
	for (i = 0; i < 40; i++) {
		char vip[20], name[20];
		struct lb_config_frontend *fe;

		snprintf(vip, sizeof(vip), "203.0.113.%u", 1 + i % 5);
		snprintf(name, sizeof(name), "fe%u", i);
		fe = add_fe(f, name, vip, i % 2 ? LB_PROTO_UDP : LB_PROTO_TCP,
			(uint16_t)(1000 + i / 2), LB_METHOD_FULLNAT, 7);
		add_t(fe, "10.1.0.50", (uint16_t)(2000 + i), 1);
	}
	s = build(f, NULL);
	assert_int_equal(s->fe_mask + 1, 128);
	assert_int_equal(s->local_mask + 1, 32);	/* 5 VIPs + 2 ports + 2 SNAT */
	for (i = 0; i < 40; i++)
		assert_ptr_equal(lb_snap_fe_lookup(s, f->fes[i].vip, f->fes[i].proto,
			f->fes[i].port), &s->fes[i]);
	for (i = 0; i < 40; i++)
		assert_null(lb_snap_fe_lookup(s, f->fes[i].vip, f->fes[i].proto,
			htons(2000 + i)));
	lb_snap_free(s);
	free(f);
}

/* Invariant 2: targets in any order, frontends in any order, same bytes. */
static void
test_order_independent(void **state)
{
	static const char *addrs[] = { "10.1.0.11", "10.1.0.12", "10.2.0.5", "10.1.3.4",
		"10.1.0.99", "10.1.7.7", "10.3.0.1", "10.1.0.40" };
	struct fx *a = fx_base(), *b = fx_base();
	struct lb_snap *sa, *sb;
	uint32_t i, k;

	(void)state;
	for (i = 0; i < 3; i++) {
		char name[8];
		struct lb_config_frontend *fa, *fb;
		uint32_t j = 2 - i;

		snprintf(name, sizeof(name), "f%u", i);
		fa = add_fe(a, name, "203.0.113.20", LB_PROTO_TCP, (uint16_t)(80 + i),
			LB_METHOD_FULLNAT, 1021);
		snprintf(name, sizeof(name), "f%u", j);
		fb = add_fe(b, name, "203.0.113.20", LB_PROTO_TCP, (uint16_t)(80 + j),
			LB_METHOD_FULLNAT, 1021);
		for (k = 0; k < 8; k++)
			add_t(fa, addrs[k], (uint16_t)(30000 + i), 1 + k % 3);
		/* b gets f_j's targets in a rotated, reversed order. */
		for (k = 0; k < 8; k++) {
			uint32_t r = (7 - k + 3 * j) % 8;

			add_t(fb, addrs[r], (uint16_t)(30000 + j), 1 + r % 3);
		}
	}
	sa = build(a, NULL);
	sb = build(b, NULL);
	for (i = 0; i < 3; i++) {
		char name[8];
		const struct lb_snap_fe *x, *y;

		snprintf(name, sizeof(name), "f%u", i);
		x = fe_named(sa, name);
		y = fe_named(sb, name);
		assert_int_equal(x->n_targets, 8);
		assert_int_equal(y->n_targets, 8);
		assert_memory_equal(x->targets, y->targets, 8 * sizeof(*x->targets));
		assert_int_equal(x->maglev_size, y->maglev_size);
		assert_memory_equal(x->maglev, y->maglev, x->maglev_size * sizeof(uint32_t));
	}
	/* The frontends are really in different positions for f0 and f2. */
	assert_string_equal(sa->fes[0].name, "f0");
	assert_string_equal(sb->fes[0].name, "f2");
	lb_snap_free(sa);
	lb_snap_free(sb);
	free(a);
	free(b);
}

/* Drains: global and per-frontend, flags, n_active, Maglev slots. */
static void
test_drains(void **state)
{
	struct fx *f = fx_ref();
	struct lb_overlay *ov = lb_overlay_new();
	struct lb_ip a;
	const struct lb_snap_fe *fe0, *fe1;
	struct lb_snap *s0, *s1;
	uint32_t i, di, cnt[8];

	(void)state;
	s0 = build(f, NULL);
	/* Global: a target of web-udp and web-tls. */
	a = lb_ip4(IP("10.1.0.21"));
	assert_int_equal(lb_overlay_drain(ov, NULL, &a, htons(8080), true), 0);
	/* Per frontend: web's 10.1.0.12:30080. */
	a = lb_ip4(IP("10.1.0.12"));
	assert_int_equal(lb_overlay_drain(ov, "web", &a, htons(30080), true), 0);
	/* Names another frontend: no effect on web. */
	a = lb_ip4(IP("10.1.0.11"));
	assert_int_equal(lb_overlay_drain(ov, "web-tls", &a, htons(30080), true), 0);
	/* Not a target anywhere. */
	a = lb_ip4(IP("10.9.9.9"));
	assert_int_equal(lb_overlay_drain(ov, NULL, &a, htons(1), true), 0);
	s1 = build(f, ov);

	fe0 = fe_named(s0, "web");
	fe1 = fe_named(s1, "web");
	di = (uint32_t)tidx(fe1, "10.1.0.12", 30080);
	for (i = 0; i < fe1->n_targets; i++) {
		assert_int_equal(fe1->targets[i].flags, i == di ? LB_SNAP_T_DRAINED : 0);
		/* Draining does not rewrite the configured weight. */
		assert_int_equal(fe1->targets[i].weight, fe0->targets[i].weight);
		assert_int_equal(fe1->targets[i].id, fe0->targets[i].id);
	}
	assert_int_equal(fe0->n_active, 3);
	assert_int_equal(fe1->n_active, 2);
	slot_counts(fe1, cnt);
	assert_int_equal(cnt[di], 0);
	{
		/* Slots that did not belong to the drained target mostly stay. */
		uint32_t kept = 0, other = 0;

		for (i = 0; i < fe0->maglev_size; i++) {
			if (fe0->maglev[i] == di)
				continue;
			other++;
			kept += fe1->maglev[i] == fe0->maglev[i];
		}
		assert_true(kept * 10 >= other * 9);
	}

	fe1 = fe_named(s1, "web-tls");
	di = (uint32_t)tidx(fe1, "10.1.0.21", 8080);
	for (i = 0; i < fe1->n_targets; i++)
		assert_int_equal(fe1->targets[i].flags, i == di ? LB_SNAP_T_DRAINED : 0);
	assert_int_equal(fe1->n_active, 2);
	slot_counts(fe1, cnt);
	assert_int_equal(cnt[di], 0);

	fe1 = fe_named(s1, "web-udp");
	assert_int_equal(fe1->n_active, 1);
	assert_int_equal(fe1->targets[tidx(fe1, "10.1.0.21", 8080)].flags, LB_SNAP_T_DRAINED);
	slot_counts(fe1, cnt);
	assert_int_equal(cnt[tidx(fe1, "10.1.0.22", 8080)], 13);
	lb_snap_free(s1);

	/* Draining the last active target leaves no table. */
	a = lb_ip4(IP("10.1.0.22"));
	assert_int_equal(lb_overlay_drain(ov, NULL, &a, htons(8080), true), 0);
	s1 = build(f, ov);
	fe1 = fe_named(s1, "web-udp");
	assert_int_equal(fe1->n_active, 0);
	assert_null(fe1->maglev);
	assert_int_equal(fe1->n_targets, 2);
	for (i = 0; i < 2; i++)
		assert_int_equal(fe1->targets[i].flags, LB_SNAP_T_DRAINED);
	lb_snap_free(s1);
	lb_snap_free(s0);
	lb_overlay_free(ov);
	free(f);
}

/* A larger frontend: draining one of ten targets moves few other slots. */
static void
test_drain_disruption(void **state)
{
	struct fx *f = fx_base();
	struct lb_config_frontend *fe;
	struct lb_overlay *ov = lb_overlay_new();
	struct lb_ip da = lb_ip4(IP("10.1.1.14"));
	const struct lb_snap_fe *x, *y;
	struct lb_snap *s0, *s1;
	uint32_t i, kept = 0, other = 0, di;

	(void)state;
	fe = add_fe(f, "big", "203.0.113.30", LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 65537);
	for (i = 0; i < 10; i++) {
		char a[20];

		snprintf(a, sizeof(a), "10.1.1.%u", 10 + i);
		add_t(fe, a, 30000, 1);
	}
	assert_int_equal(lb_overlay_drain(ov, "big", &da, htons(30000), true), 0);
	s0 = build(f, NULL);
	s1 = build(f, ov);
	lb_overlay_free(ov);
	x = &s0->fes[0];
	y = &s1->fes[0];
	di = (uint32_t)tidx(x, "10.1.1.14", 30000);
	for (i = 0; i < x->maglev_size; i++) {
		assert_true(y->maglev[i] != di);
		if (x->maglev[i] == di)
			continue;
		other++;
		kept += y->maglev[i] == x->maglev[i];
	}
	/* Maglev's promise: removing 1 of 10 disturbs only a few percent of
	 * the others' slots. */
	assert_true(kept * 100 >= other * 98);
	lb_snap_free(s0);
	lb_snap_free(s1);
	free(f);
}

/* Incremental: a change to 1 of 1,000 frontends (65537 slots each) builds
 * one table and reuses 999; the old and new snapshots share them. The time
 * spent building tables is printed (a figure for the README, not a timed
 * assertion). */
static void
test_incremental(void **state)
{
	struct fx *f = fx_base();
	struct lb_snap_input in = { .settings = &f->cfg, .env = &f->env };
	struct lb_snap_build_stats st;
	struct lb_model *m0, *m1;
	struct lb_overlay *ov = lb_overlay_new();
	struct lb_snap *s0, *s1, *s2;
	struct lb_ip a;
	char err[256];
	uint32_t i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		struct lb_config_frontend *fe;
		char name[16], vip[20];

		snprintf(name, sizeof(name), "fe%u", i);
		snprintf(vip, sizeof(vip), "203.0.%u.%u", 113 + i / 250, 1 + i % 250);
		fe = add_fe(f, name, vip, LB_PROTO_TCP, 80, LB_METHOD_FULLNAT, 65537);
		add_t(fe, "10.1.0.11", (uint16_t)(30000 + i), 1);
		add_t(fe, "10.1.0.12", (uint16_t)(30000 + i), 1);
		add_t(fe, "10.1.0.13", (uint16_t)(30000 + i), 1);
	}
	m0 = lb_config_model(&f->cfg, err, sizeof(err));
	assert_non_null(m0);
	in.model = m0;
	s0 = lb_snap_build(&in, NULL, NULL, &st, err, sizeof(err));
	assert_non_null(s0);
	assert_int_equal(st.tables_built, 1000);
	assert_int_equal(st.tables_reused, 0);
	print_message("initial build: 1000 tables of 65537 slots in %.1f ms\n", st.table_ns / 1e6);

	/* the same model again: nothing to build */
	in.prev = s0;
	s1 = lb_snap_build(&in, NULL, NULL, &st, err, sizeof(err));
	assert_non_null(s1);
	assert_int_equal(st.tables_built, 0);
	assert_int_equal(st.tables_reused, 1000);
	/* same model objects, settings and overlay: frontends copied whole */
	assert_int_equal(st.fes_copied, 1000);
	for (i = 0; i < 1000; i++) {
		assert_ptr_equal(s1->fes[i].maglev, s0->fes[i].maglev);
		assert_memory_equal(s1->fes[i].targets, s0->fes[i].targets,
			sizeof(*s0->fes[i].targets) * s0->fes[i].n_targets);
	}

	/* one frontend gains a target (a new model from the config) */
	add_t(&f->fes[500], "10.1.0.14", 30500, 1);
	m1 = lb_config_model(&f->cfg, err, sizeof(err));
	assert_non_null(m1);
	in.model = m1;
	in.prev = s1;
	s2 = lb_snap_build(&in, NULL, NULL, &st, err, sizeof(err));
	assert_non_null(s2);
	assert_int_equal(st.tables_built, 1);
	assert_int_equal(st.tables_reused, 999);
	assert_int_equal(st.fes_copied, 0);	/* new model objects: recomputed */
	print_message("1 of 1000 frontends changed: %u table built in %.3f ms (whole build %.3f ms)\n",
		st.tables_built, st.table_ns / 1e6, st.total_ns / 1e6);
	assert_true(s2->fes[500].maglev != s1->fes[500].maglev);
	assert_ptr_equal(s2->fes[499].maglev, s1->fes[499].maglev);
	/* tables outlive the snapshot that built them while another uses them */
	lb_snap_free(s0);
	lb_snap_free(s1);
	assert_int_equal(s2->fes[0].maglev[0] < 3, true);

	/* a drain of one target changes one table (effective weight), not more */
	a = lb_ip4(IP("10.1.0.11"));
	assert_int_equal(lb_overlay_drain(ov, "fe7", &a, htons(30007), true), 0);
	in.overlay = ov;
	in.prev = s2;
	s1 = lb_snap_build(&in, NULL, NULL, &st, err, sizeof(err));
	assert_non_null(s1);
	assert_int_equal(st.tables_built, 1);
	assert_int_equal(st.fes_copied, 0);	/* the overlay changed: nothing copied */
	assert_int_equal(s1->fes[7].n_active, 2);
	lb_snap_free(s2);
	lb_snap_free(s1);
	lb_overlay_free(ov);
	lb_model_free(m0);
	lb_model_free(m1);
	free(f);
}

/* Overlay flags, fail-open, and terminating targets. */
static void
test_flags_and_fail_open(void **state)
{
	struct fx *f = fx_ref();
	struct lb_overlay *ov = lb_overlay_new();
	struct lb_snap_input in = { .settings = &f->cfg, .env = &f->env, .overlay = ov };
	struct lb_model *m;
	const struct lb_snap_fe *fe;
	struct lb_snap *s;
	struct lb_ip a;
	char err[256];

	(void)state;
	m = lb_config_model(&f->cfg, err, sizeof(err));
	assert_non_null(m);
	in.model = m;
	/* web-udp: both targets unhealthy -> fail open, both keep their slots */
	a = lb_ip4(IP("10.1.0.21"));
	assert_int_equal(lb_overlay_set_unhealthy(ov, NULL, &a, 0, true, "down"), 0);
	a = lb_ip4(IP("10.1.0.22"));
	assert_int_equal(lb_overlay_set_unhealthy(ov, NULL, &a, 0, true, "down"), 0);
	s = lb_snap_build(&in, NULL, NULL, NULL, err, sizeof(err));
	assert_non_null(s);
	fe = fe_named(s, "web-udp");
	assert_true(fe->flags & LB_SNAP_FE_FAIL_OPEN);
	assert_int_equal(fe->n_active, 2);
	assert_true(fe->targets[0].flags & LB_SNAP_T_UNHEALTHY);
	/* web-tls shares 10.1.0.21:8080 but has healthy targets: no fail-open */
	fe = fe_named(s, "web-tls");
	assert_false(fe->flags & LB_SNAP_FE_FAIL_OPEN);
	assert_int_equal(fe->n_active, 2);
	lb_snap_free(s);

	/* one drained and one unhealthy: drained is an operator's choice, so
	 * failing open brings back only the unhealthy one */
	assert_int_equal(lb_overlay_drain(ov, "web-udp", &a, htons(8080), true), 0);
	s = lb_snap_build(&in, NULL, NULL, NULL, err, sizeof(err));
	fe = fe_named(s, "web-udp");
	assert_true(fe->flags & LB_SNAP_FE_FAIL_OPEN);
	assert_int_equal(fe->n_active, 1);
	assert_true(fe->targets[tidx(fe, "10.1.0.22", 8080)].flags & LB_SNAP_T_DRAINED);
	lb_snap_free(s);
	lb_model_free(m);

	/* a terminating target keeps its place but holds no slot */
	m = lb_config_model(&f->cfg, err, sizeof(err));
	m->fes[0]->targets[0].flags |= LB_MT_TERMINATING;
	in.model = m;
	in.overlay = NULL;
	s = lb_snap_build(&in, NULL, NULL, NULL, err, sizeof(err));
	fe = fe_named(s, "web");
	assert_int_equal(fe->n_targets, 4);
	assert_int_equal(fe->n_active, 2);
	{
		uint32_t cnt[8];
		int ti = -1;

		for (uint32_t k = 0; k < fe->n_targets; k++)
			if (fe->targets[k].flags & LB_SNAP_T_TERMINATING)
				ti = (int)k;
		assert_true(ti >= 0);
		slot_counts(fe, cnt);
		assert_int_equal(cnt[ti], 0);
	}
	lb_snap_free(s);
	lb_model_free(m);
	lb_overlay_free(ov);
	free(f);
}

struct rejects {
	int n;
	char msgs[8][512];
};

static void
on_reject(void *ctx, const struct lb_model_fe *fe, const struct lb_model_target *t,
	const char *msg)
{
	struct rejects *r = ctx;

	(void)fe;
	(void)t;
	if (r->n < 8)
		snprintf(r->msgs[r->n], sizeof(r->msgs[0]), "%s", msg);
	r->n++;
}

static bool
has_msg(const struct rejects *r, const char *s)
{
	for (int i = 0; i < r->n && i < 8; i++)
		if (strstr(r->msgs[i], s) != NULL)
			return true;
	return false;
}

/* A frontend or target the data path cannot serve is left out and said so;
 * the rest of the snapshot is built. */
static void
test_rejections(void **state)
{
	struct fx *f = fx_ref();
	struct lb_snap_input in = { .settings = &f->cfg, .env = &f->env };
	struct rejects r = { 0 };
	struct lb_model *m;
	struct lb_model_fe *v6;
	struct lb_snap *s;
	char err[256];

	(void)state;
	m = lb_config_model(&f->cfg, err, sizeof(err));
	assert_non_null(m);
	/* an IPv6 frontend, and an IPv6 target in an IPv4 one */
	v6 = lb_model_fe_new(1, 0, 0);
	snprintf(v6->name, sizeof(v6->name), "ns/v6:http");
	snprintf(v6->origin, sizeof(v6->origin), "k8s ns/v6 port http");
	assert_int_equal(lb_ip_parse("2001:db8::1", &v6->vip), 0);
	v6->proto = LB_PROTO_TCP;
	v6->port = htons(80);
	assert_int_equal(lb_ip_parse("2001:db8::10", &v6->targets[0].addr), 0);
	v6->targets[0].port = htons(80);
	assert_int_equal(lb_model_fe_seal(v6, err, sizeof(err)), 0);
	assert_int_equal(lb_model_add(m, v6), 0);
	lb_model_fe_put(v6);
	/* a VIP that is lbd's SNAT address */
	v6 = lb_model_fe_new(0, 0, 0);
	snprintf(v6->name, sizeof(v6->name), "ns/snat:x");
	v6->vip = lb_ip4(IP("10.1.0.100"));
	v6->proto = LB_PROTO_TCP;
	v6->port = htons(80);
	assert_int_equal(lb_model_fe_seal(v6, err, sizeof(err)), 0);
	assert_int_equal(lb_model_add(m, v6), 0);
	lb_model_fe_put(v6);
	/* an off-link target while the internal port has no gateway */
	f->cfg.ports[1].gateway = 0;
	in.model = m;
	assert_int_equal(lb_snap_check(&in, on_reject, &r), 3);
	assert_int_equal(r.n, 3);
	r.n = 0;
	s = lb_snap_build(&in, on_reject, &r, NULL, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(r.n, 3);
	assert_true(has_msg(&r, "frontend web: target 10.2.0.5:30080 is off the internal subnet"));
	assert_true(has_msg(&r, "frontend ns/v6:http: VIP 2001:db8::1: IPv6 is not served yet"));
	assert_true(has_msg(&r, "frontend ns/snat:x: VIP 10.1.0.100 is a SNAT address of lbd"));
	assert_int_equal(s->n_fes, 5);
	assert_int_equal(fe_named(s, "web")->n_targets, 3);
	lb_snap_free(s);
	lb_model_free(m);
	free(f);
}

/* Configs the validator should have refused fail cleanly with a message. */
static void
test_errors(void **state)
{
	char err[256];
	struct fx *f;
	struct lb_config_frontend *fe;

	(void)state;
	/* Duplicate (vip, proto, port). */
	f = fx_ref();
	fe = add_fe(f, "dup", "203.0.113.10", LB_PROTO_TCP, 443, LB_METHOD_DNAT, 7);
	add_t(fe, "10.1.0.11", 1, 1);
	err[0] = '\0';
	assert_null(lb_snap_build_config(&f->cfg, &f->env, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "web-tls"));
	assert_non_null(strstr(err, "dup"));
	free(f);

	/* Duplicate target. */
	f = fx_ref();
	add_t(&f->fes[0], "10.1.0.11", 30080, 5);
	err[0] = '\0';
	assert_null(lb_snap_build_config(&f->cfg, &f->env, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "10.1.0.11:30080"));
	free(f);

	/* Off-link target and no gateway. */
	f = fx_ref();
	f->cfg.ports[1].gateway = 0;
	err[0] = '\0';
	assert_null(lb_snap_build_config(&f->cfg, &f->env, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "10.2.0.5:30080"));
	free(f);

	/* Non-prime table size. */
	f = fx_ref();
	f->fes[2].maglev_size = 250;
	err[0] = '\0';
	assert_null(lb_snap_build_config(&f->cfg, &f->env, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "250"));
	free(f);

	/* Two ports on one device; a device id beyond the map. */
	f = fx_ref();
	f->env.dev[1] = 3;
	err[0] = '\0';
	assert_null(lb_snap_build_config(&f->cfg, &f->env, NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	f->env.dev[1] = 300;
	err[0] = '\0';
	assert_null(lb_snap_build_config(&f->cfg, &f->env, NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	free(f);

	/* SNAT addresses but a range too small for the workers. */
	f = fx_ref();
	f->cfg.snat_port_lo = 2000;
	f->cfg.snat_port_hi = 2002;
	err[0] = '\0';
	assert_null(lb_snap_build_config(&f->cfg, &f->env, NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	free(f);
}

/* Minimal configs: no frontends; one-arm; DNAT only without SNAT. */
static void
test_minimal(void **state)
{
	struct fx *f = fx_base();
	struct lb_config_frontend *fe;
	const struct lb_snap_local *l;
	struct lb_snap *s;

	(void)state;
	f->cfg.n_snat = 0;
	f->cfg.snat_port_lo = 0;
	f->cfg.snat_port_hi = 0;
	s = build(f, NULL);
	assert_int_equal(s->n_fes, 0);
	assert_int_equal(s->fe_mask, 15);
	assert_null(lb_snap_fe_lookup(s, IP("203.0.113.10"), LB_PROTO_TCP, htons(80)));
	assert_int_equal(s->n_snat, 0);
	assert_int_equal(lb_snat_owner(&s->snat, 1024), -1);
	assert_int_equal(lb_snat_owner(&s->snat, 0), -1);
	lb_snap_free(s);

	/* One-arm: port 1 does both jobs; VIPs answer there. */
	f->cfg.n_ports = 1;
	f->cfg.ports[0] = f->cfg.ports[1];
	f->cfg.ports[0].role = LB_ROLE_BOTH;
	f->cfg.ext_port = 0;
	f->cfg.int_port = 0;
	fe = add_fe(f, "dnat", "10.1.200.1", LB_PROTO_TCP, 80, LB_METHOD_DNAT, 7);
	add_t(fe, "10.1.0.11", 8080, 1);
	s = build(f, NULL);
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->dev_to_port[3], 0);
	assert_int_equal(s->dev_to_port[7], LB_SNAP_NO_PORT);
	l = lb_snap_local_lookup(s, IP("10.1.200.1"));
	assert_non_null(l);
	assert_int_equal(l->port, 0);
	assert_int_equal(s->fes[0].targets[0].out_port, 0);
	assert_int_equal(s->fes[0].n_active, 1);
	assert_int_equal(s->fes[0].maglev_size, 7);
	assert_int_equal(s->fes[0].maglev[3], 0);
	lb_snap_free(s);
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_and_globals),
		cmocka_unit_test(test_frontends),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_dnat_rev),
		cmocka_unit_test(test_vip_echo_acls),
		cmocka_unit_test(test_many_frontends),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_drains),
		cmocka_unit_test(test_drain_disruption),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_flags_and_fail_open),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_minimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
