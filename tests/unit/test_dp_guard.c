/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dp against hostile and nonsensical input (lb_dp_guard.h): sources that
 * cannot be genuine, TCP flags and ports that start no connection, what is
 * sent past the IPv4 datagram, the port MTU, ARP conflicts, and source ranges
 * after a reload. One worker (no hand-offs); frames are built here, with an
 * IPv4 header checksum of this file's own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_addr.h"
#include "lb_config.h"
#include "lb_dp.h"
#include "lb_neigh.h"
#include "lb_pkt.h"
#include "lb_snap.h"
#include "dp_util.h"

#define HEADROOM	128

static const uint8_t EXT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t INT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0, 0, 0, 0xcc, 0x01 };
static const uint8_t NODE_MAC[6] = { 0x02, 0, 0, 0, 0x01, 0x11 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* %s: external port options; %s: the guarded frontend's source ranges;
 * %s: more frontends */
static const char *two_arm =
	"ports = (\n"
	"  { name = \"ext\"; device = \"net_null0\"; role = \"external\"; address = \"192.0.2.1/24\"; %s },\n"
	"  { name = \"int\"; device = \"net_null1\"; role = \"internal\"; address = \"198.51.100.1/24\";\n"
	"    gateway = \"198.51.100.254\";\n"
	"    neighbours = (\n"
	"      { address = \"198.51.100.11\"; mac = \"02:00:00:00:01:11\"; },\n"
	"      { address = \"198.51.100.21\"; mac = \"02:00:00:00:01:21\"; },\n"
	"      { address = \"198.51.100.254\"; mac = \"02:00:00:00:01:fe\"; }\n"
	"    ); }\n"
	");\n"
	"workers = { lcores = [1]; flow_capacity = 1024; snat_addresses = [\"198.51.100.2\"]; };\n"
	"frontends = (\n"
	"  { name = \"web\"; vip = \"192.0.2.10\"; port = 80;\n"
	"    targets = ( { address = \"198.51.100.11\"; port = 30080; } ); },\n"
	"  { name = \"web-udp\"; vip = \"192.0.2.10\"; protocol = \"udp\"; port = 53;\n"
	"    targets = ( { address = \"198.51.100.11\"; port = 30053; } ); },\n"
	"  { name = \"pods\"; vip = \"192.0.2.20\"; port = 80; method = \"dnat\";\n"
	"    targets = ( { address = \"198.51.100.21\"; port = 8080; } ); },\n"
	"  { name = \"far\"; vip = \"192.0.2.30\"; port = 80;\n"
	"    targets = ( { address = \"10.99.0.5\"; port = 8080; } ); },\n"
	"  { name = \"guarded\"; vip = \"192.0.2.40\"; port = 80; source_ranges = [%s];\n"
	"    targets = ( { address = \"198.51.100.11\"; port = 30081; } ); }%s\n"
	");\n";

static const char *one_arm =
	"ports = (\n"
	"  { name = \"arm\"; device = \"net_null0\"; role = \"both\"; address = \"192.0.2.1/24\";\n"
	"    neighbours = ( { address = \"192.0.2.11\"; mac = \"02:00:00:00:01:11\"; } ); }\n"
	");\n"
	"workers = { lcores = [1]; flow_capacity = 1024; snat_addresses = [\"192.0.2.2\"]; };\n"
	"frontends = (\n"
	"  { name = \"web\"; vip = \"192.0.2.10\"; port = 80;\n"
	"    targets = ( { address = \"192.0.2.11\"; port = 30080; } ); }\n"
	");\n";

struct env {
	struct lb_config *cfg;
	struct lb_snap *snap;
	struct lb_neigh *neigh;
	struct lb_neigh_table *nt;
	struct lb_dp_worker w;
	void *mem[2];
	uint64_t now;
	uint16_t mtu[2];
};

static uint32_t
ip(const char *s)
{
	uint32_t a;

	assert_int_equal(lb_ip4_parse(s, &a), 0);
	return a;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 1071 over n bytes, a byte loop of its own. */
static uint16_t
sum16(const uint8_t *p, size_t n)
{
	uint32_t acc = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* --- environment --- */

static void
compile(struct env *e, const char *text)
{
	char err[512];
	struct lb_snap_env se;
	struct lb_config *cfg;

	cfg = lb_config_load_string(text, "guard.conf", err, sizeof(err));
	if (cfg == NULL)
		fail_msg("config: %s", err);
	memset(&se, 0, sizeof(se));
	se.n_workers = 1;
	se.dev[0] = 0;
	se.dev[1] = 1;
	memcpy(se.mac[0], EXT_MAC, 6);
	memcpy(se.mac[1], INT_MAC, 6);
	se.mtu[0] = e->mtu[0];
	se.mtu[1] = e->mtu[1];
	lb_snap_free(e->snap);
	e->snap = lb_snap_build_config(cfg, &se, NULL, err, sizeof(err));
	if (e->snap == NULL)
		fail_msg("snap: %s", err);
	lb_config_free(e->cfg);
	e->cfg = cfg;
}

static void
compile_two_arm(struct env *e, const char *ranges, const char *more)
{
	char text[8192];

	snprintf(text, sizeof(text), two_arm, "", ranges, more);
	compile(e, text);
}

static struct env *
env_with(const char *text, uint16_t ext_mtu, uint16_t int_mtu)
{
	const struct lb_neigh_params np = { .reachable_ms = 300000, .retries = 3, .retry_ms = 1000,
		.queue_len = 3, .failed_hold_ms = 5000, .max_entries = 64 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	struct env *e = calloc(1, sizeof(*e));
	uint32_t ips[16], i, n = 0, p;
	uint8_t macs[16][6], ports[16];
	size_t fsz = lb_flow_table_memsize(1024);

	assert_non_null(e);
	e->now = 1000000;
	e->mtu[0] = ext_mtu;
	e->mtu[1] = int_mtu;
	if (text != NULL)
		compile(e, text);
	else
		compile_two_arm(e, "\"203.0.113.0/24\"", "");
	e->neigh = lb_neigh_create(&np, &ops);
	assert_non_null(e->neigh);
	for (p = 0; p < e->cfg->n_ports; p++) {
		for (i = 0; i < e->cfg->ports[p].n_neigh; i++, n++) {
			ips[n] = e->cfg->ports[p].neigh[i].addr;
			memcpy(macs[n], e->cfg->ports[p].neigh[i].mac, 6);
			ports[n] = (uint8_t)p;
		}
	}
	assert_int_equal(lb_neigh_set_static(e->neigh, ips, (const uint8_t (*)[6])macs, ports, n,
		e->now), 0);
	e->nt = lb_neigh_table_build(e->neigh);
	assert_non_null(e->nt);
	e->mem[0] = aligned_alloc(64, (fsz + 63) & ~(size_t)63);
	e->mem[1] = aligned_alloc(64, (fsz + 63) & ~(size_t)63);
	e->w.flows = lb_flow_table_init(e->mem[0], 1024, 42);
	e->w.affinity = lb_flow_table_init(e->mem[1], 1024, 43);
	assert_non_null(e->w.flows);
	assert_int_equal(lb_snat_init(&e->w.snat, &e->snap->snat, 0, e->cfg->snat_addrs,
		e->cfg->n_snat), 0);
	return e;
}

static void
env_free(struct env *e)
{
	free(e->mem[0]);
	free(e->mem[1]);
	lb_neigh_table_free(e->nt);
	lb_neigh_destroy(e->neigh);
	lb_snap_free(e->snap);
	lb_config_free(e->cfg);
	free(e);
}

/* --- frames --- */

struct frame {
	uint8_t buf[HEADROOM + 4096];
	uint8_t *data;
	uint32_t len;
};

struct spec {
	const uint8_t *smac, *dmac;
	uint16_t vlan;
	uint32_t src, dst;
	uint8_t proto;		/* 0: TCP */
	uint16_t sport, dport;	/* host order; ICMP echo: sport is the id */
	uint8_t flags;		/* TCP; 0 means SYN unless no_flags */
	bool no_flags;
	uint16_t payload;
	uint16_t trailer;	/* bytes of 0xee after the datagram */
};

static void
build(struct frame *f, const struct spec *s)
{
	uint8_t proto = s->proto ? s->proto : LB_PROTO_TCP;
	uint32_t l2 = s->vlan ? 18 : 14, l4h = proto == LB_PROTO_TCP ? 20 : 8;
	uint32_t tot = 20 + l4h + s->payload, i;
	uint8_t *p, *iph, *l4;

	memset(f->buf, 0, sizeof(f->buf));
	f->data = f->buf + HEADROOM;
	p = f->data;
	memcpy(p, s->dmac ? s->dmac : EXT_MAC, 6);
	memcpy(p + 6, s->smac ? s->smac : CLIENT_MAC, 6);
	if (s->vlan) {
		put16(p + 12, LB_ETHER_TYPE_VLAN);
		put16(p + 14, s->vlan);
		put16(p + 16, LB_ETHER_TYPE_IPV4);
	} else {
		put16(p + 12, LB_ETHER_TYPE_IPV4);
	}
	iph = p + l2;
	iph[0] = 0x45;
	put16(iph + 2, (uint16_t)tot);
	put16(iph + 6, LB_IP4_DF);
	iph[8] = 64;
	iph[9] = proto;
	memcpy(iph + 12, &s->src, 4);
	memcpy(iph + 16, &s->dst, 4);
	put16(iph + 10, (uint16_t)~sum16(iph, 20));
	l4 = iph + 20;
	if (proto == LB_PROTO_ICMP) {
		l4[0] = LB_ICMP_ECHO_REQUEST;
		put16(l4 + 4, s->sport);
		put16(l4 + 6, 1);
	} else {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		if (proto == LB_PROTO_TCP) {
			l4[12] = 5 << 4;
			l4[13] = s->no_flags ? 0 : s->flags ? s->flags : LB_TCP_SYN;
		} else {
			put16(l4 + 4, (uint16_t)(l4h + s->payload));
		}
	}
	for (i = 0; i < s->payload; i++)
		l4[l4h + i] = (uint8_t)(i * 7 + 3);
	if (proto == LB_PROTO_ICMP)
		put16(l4 + 2, (uint16_t)~sum16(l4, l4h + s->payload));
	f->len = l2 + tot;
	memset(p + f->len, 0xee, s->trailer);
	f->len += s->trailer;
}

/* A SYN from src:sport to dst:dport on the external side. */
static void
syn(struct frame *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct spec s = { .src = src, .dst = dst, .sport = sport, .dport = dport };

	build(f, &s);
}

static void
build_arp(struct frame *f, const uint8_t *eth_src, uint16_t op, const uint8_t *sha,
	uint32_t spa, uint32_t tpa, uint8_t pad)
{
	uint8_t *a;

	memset(f->buf, 0, sizeof(f->buf));
	f->data = f->buf + HEADROOM;
	memcpy(f->data, BCAST, 6);
	memcpy(f->data + 6, eth_src, 6);
	put16(f->data + 12, LB_ETHER_TYPE_ARP);
	a = f->data + 14;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memcpy(a + 24, &tpa, 4);
	memset(f->data + 42, pad, 18);
	f->len = 60;
}

static enum lb_dp_verdict
run(struct env *e, struct frame *f, uint8_t port, struct lb_dp_result *r)
{
	enum lb_dp_verdict v;

	v = lb_dp_process(&e->w, e->snap, e->nt, f->data, f->len, (uint32_t)(f->data - f->buf),
		port, e->now, r);
	assert_int_not_equal(v, LB_DP_HANDOFF);
	if (v == LB_DP_TX || v == LB_DP_TO_CTL) {
		f->data += r->adj;
		f->len = r->len;
	}
	return v;
}

static uint64_t
drops_total(const struct env *e)
{
	uint64_t d = 0;
	unsigned i;

	for (i = 0; i < LB_DROP_MAX; i++)
		d += e->w.ctr.drops[i];
	return d;
}

/* f is dropped for why, and nothing else happens: no flow, no other counter. */
static void
expect_drop(struct env *e, struct frame *f, uint8_t port, enum lb_drop why)
{
	struct lb_dp_result r;
	uint64_t before = e->w.ctr.drops[why], total = drops_total(e);
	uint64_t flows = e->w.ctr.flows_created;
	enum lb_dp_verdict v = run(e, f, port, &r);

	if (v != LB_DP_DROP || r.reason != why)
		fail_msg("expected drop %s, got verdict %d reason %s", lb_drop_str(why), v,
			v == LB_DP_DROP ? lb_drop_str(r.reason) : "-");
	assert_int_equal(e->w.ctr.drops[why], before + 1);
	assert_int_equal(drops_total(e), total + 1);
	assert_int_equal(e->w.ctr.flows_created, flows);
}

static void
expect_tx(struct env *e, struct frame *f, uint8_t port, uint8_t out_port)
{
	struct lb_dp_result r;
	enum lb_dp_verdict v = run(e, f, port, &r);

	if (v != LB_DP_TX)
		fail_msg("expected TX, got verdict %d reason %s", v,
			v == LB_DP_DROP ? lb_drop_str(r.reason) : "-");
	assert_int_equal(r.port, out_port);
}

/* --- tests --- */

static void
test_martian_sources(void **state)
{
	static const char *const martians[] = {
		"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254", "224.0.0.5",
		"239.255.255.250", "240.0.0.1", "255.255.255.254", "255.255.255.255",
		"192.0.2.255",	/* the external subnet's broadcast */
	};
	struct env *e = env_with(NULL, 0, 0);
	struct frame f;
	unsigned i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(martians); i++) {
		struct spec echo = { .src = ip(martians[i]), .dst = ip("192.0.2.10"),
			.proto = LB_PROTO_ICMP, .sport = 9 };

		syn(&f, ip(martians[i]), 1000, ip("192.0.2.10"), 80);
		expect_drop(e, &f, 0, LB_DROP_MARTIAN);
		build(&f, &echo);
		expect_drop(e, &f, 0, LB_DROP_MARTIAN);
	}
	/* the internal side too: a "reply" from 127.0.0.1 to a SNAT address */
	{
		struct spec s = { .smac = NODE_MAC, .dmac = INT_MAC, .src = ip("127.0.0.1"),
			.dst = ip("198.51.100.2"), .sport = 30080, .dport = 2000,
			.flags = LB_TCP_SYN | LB_TCP_ACK };

		build(&f, &s);
		expect_drop(e, &f, 1, LB_DROP_MARTIAN);
	}
	/* the neighbours of the martians are fine */
	syn(&f, ip("1.0.0.1"), 1000, ip("192.0.2.10"), 80);
	expect_tx(e, &f, 0, 1);
	syn(&f, ip("223.255.255.254"), 1000, ip("192.0.2.10"), 80);
	expect_tx(e, &f, 0, 1);
	syn(&f, ip("192.0.2.254"), 1000, ip("192.0.2.10"), 80);
	expect_tx(e, &f, 0, 1);
	env_free(e);
}

static void
test_own_and_spoofed_sources(void **state)
{
	struct env *e = env_with(NULL, 0, 0);
	struct frame f;
	struct lb_dp_result r;

	(void)state;
	/* lbd's own addresses as source, on either port */
	syn(&f, ip("192.0.2.10"), 1000, ip("192.0.2.10"), 80);	/* a VIP */
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC);
	syn(&f, ip("192.0.2.40"), 1000, ip("192.0.2.10"), 80);	/* another VIP */
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC);
	syn(&f, ip("192.0.2.1"), 1000, ip("192.0.2.10"), 80);	/* the external address */
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC);
	{
		struct spec s = { .smac = NODE_MAC, .dmac = INT_MAC, .src = ip("198.51.100.2"),
			.dst = ip("198.51.100.2"), .sport = 30080, .dport = 2000,
			.flags = LB_TCP_ACK };

		build(&f, &s);	/* the SNAT address talking to itself */
		expect_drop(e, &f, 1, LB_DROP_OWN_SRC);
		s.proto = LB_PROTO_ICMP;
		s.src = ip("198.51.100.1");
		build(&f, &s);	/* echo "from" lbd's internal address */
		expect_drop(e, &f, 1, LB_DROP_OWN_SRC);
	}
	/* From outside: the internal subnet, the SNAT address, targets on and
	 * off the subnet. Before lbd checked, a DNAT SYN spoofing the pod came
	 * out with source == destination. */
	syn(&f, ip("198.51.100.77"), 1000, ip("192.0.2.10"), 80);
	expect_drop(e, &f, 0, LB_DROP_SPOOFED);
	syn(&f, ip("198.51.100.2"), 1000, ip("192.0.2.10"), 80);
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC);
	syn(&f, ip("198.51.100.21"), 1000, ip("192.0.2.20"), 80);
	expect_drop(e, &f, 0, LB_DROP_SPOOFED);
	syn(&f, ip("10.99.0.5"), 1000, ip("192.0.2.10"), 80);
	expect_drop(e, &f, 0, LB_DROP_SPOOFED);
	{
		struct spec echo = { .src = ip("10.99.0.5"), .dst = ip("192.0.2.30"),
			.proto = LB_PROTO_ICMP, .sport = 5 };

		build(&f, &echo);
		expect_drop(e, &f, 0, LB_DROP_SPOOFED);
	}
	/* a client next door to a target is a client */
	syn(&f, ip("10.99.0.6"), 1000, ip("192.0.2.30"), 80);
	expect_tx(e, &f, 0, 1);
	/* replies from the cluster come from its addresses, of course */
	syn(&f, ip("203.0.113.5"), 1234, ip("192.0.2.20"), 80);
	expect_tx(e, &f, 0, 1);
	{
		struct spec s = { .smac = NODE_MAC, .dmac = INT_MAC, .src = ip("198.51.100.21"),
			.dst = ip("203.0.113.5"), .sport = 8080, .dport = 1234,
			.flags = LB_TCP_SYN | LB_TCP_ACK };

		build(&f, &s);
		assert_int_equal(run(e, &f, 1, &r), LB_DP_TX);
		assert_int_equal(r.port, 0);
	}
	assert_int_equal(lb_flow_count(e->w.flows), 2);
	env_free(e);

	/* One arm: clients and targets share the segment, so a source in the
	 * port's subnet is a client like any other (but lbd's own is not). */
	e = env_with(one_arm, 0, 0);
	syn(&f, ip("192.0.2.77"), 1000, ip("192.0.2.10"), 80);
	{
		memcpy(f.data, EXT_MAC, 6);
		expect_tx(e, &f, 0, 0);
	}
	syn(&f, ip("192.0.2.2"), 1000, ip("192.0.2.10"), 80);
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC);
	env_free(e);
}

static void
test_source_macs(void **state)
{
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t odd[6] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x07 };
	struct env *e = env_with(NULL, 0, 0);
	struct frame f;
	struct spec s = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"), .sport = 1000,
		.dport = 80 };

	(void)state;
	s.smac = BCAST;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_SRC_MAC);
	s.smac = mcast;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_SRC_MAC);
	s.smac = odd;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_SRC_MAC);
	/* lbd's own MACs: a frame of its own, looped back */
	s.smac = EXT_MAC;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC_MAC);
	s.smac = INT_MAC;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC_MAC);
	/* ARP too: lbd's own announcement coming back is no conflict */
	build_arp(&f, EXT_MAC, LB_ARP_OP_REQUEST, EXT_MAC, ip("192.0.2.10"), ip("192.0.2.10"), 0);
	expect_drop(e, &f, 0, LB_DROP_OWN_SRC_MAC);
	build_arp(&f, BCAST, LB_ARP_OP_REQUEST, CLIENT_MAC, ip("192.0.2.2"), ip("192.0.2.10"), 0);
	expect_drop(e, &f, 0, LB_DROP_SRC_MAC);
	assert_int_equal(e->w.ctr.arp_replies, 0);
	env_free(e);
}

static void
test_tcp_flags_and_ports(void **state)
{
	static const uint8_t bad[] = {
		LB_TCP_SYN | LB_TCP_FIN, LB_TCP_SYN | LB_TCP_RST, LB_TCP_SYN | LB_TCP_FIN | LB_TCP_ACK,
		LB_TCP_SYN | LB_TCP_RST | LB_TCP_ACK, LB_TCP_FIN, LB_TCP_PSH, 0x20 /* URG */,
		LB_TCP_FIN | LB_TCP_PSH | 0x20 /* "Xmas" */, 0 /* none */,
	};
	struct env *e = env_with(NULL, 0, 0);
	struct frame f;
	unsigned i;
	uint32_t vips[2] = { ip("192.0.2.10"), ip("192.0.2.20") };	/* FullNAT, DNAT */

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		for (unsigned v = 0; v < 2; v++) {
			struct spec s = { .src = ip("203.0.113.5"), .dst = vips[v],
				.sport = (uint16_t)(2000 + i), .dport = 80, .flags = bad[i],
				.no_flags = bad[i] == 0 };

			build(&f, &s);
			expect_drop(e, &f, 0, LB_DROP_TCP_FLAGS);
		}
	}
	assert_int_equal(lb_flow_count(e->w.flows), 0);
	/* port 0, either side, TCP or UDP */
	syn(&f, ip("203.0.113.5"), 0, ip("192.0.2.10"), 80);
	expect_drop(e, &f, 0, LB_DROP_ZERO_PORT);
	syn(&f, ip("203.0.113.5"), 1000, ip("192.0.2.10"), 0);
	expect_drop(e, &f, 0, LB_DROP_ZERO_PORT);
	{
		struct spec s = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"),
			.proto = LB_PROTO_UDP, .sport = 0, .dport = 53 };

		build(&f, &s);
		expect_drop(e, &f, 0, LB_DROP_ZERO_PORT);
		/* ICMP echo identifier 0 is fine */
		s.proto = LB_PROTO_ICMP;
		build(&f, &s);
		expect_tx(e, &f, 0, 0);
	}
	assert_int_equal(lb_flow_count(e->w.flows), 0);
	/* what is left: a SYN opens, ACK, RST and RST+ACK, FIN+ACK go through */
	syn(&f, ip("203.0.113.5"), 3000, ip("192.0.2.10"), 80);
	expect_tx(e, &f, 0, 1);
	{
		static const uint8_t ok[] = { LB_TCP_ACK, LB_TCP_ACK | LB_TCP_PSH,
			LB_TCP_FIN | LB_TCP_ACK, LB_TCP_RST | LB_TCP_ACK, LB_TCP_RST };

		for (i = 0; i < LB_ARRAY_SIZE(ok); i++) {
			struct spec s = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"),
				.sport = 3000, .dport = 80, .flags = ok[i] };

			build(&f, &s);
			expect_tx(e, &f, 0, 1);
		}
	}
	assert_int_equal(lb_flow_count(e->w.flows), 1);
	env_free(e);
}

/* Nothing past the IPv4 datagram leaves lbd: a trailer is cut, Ethernet
 * padding is zeroed, in forwarded frames, echo replies and ARP replies. */
static void
test_trim(void **state)
{
	struct env *e = env_with(NULL, 0, 0);
	struct frame f;
	struct lb_dp_result r;
	struct spec s = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"), .sport = 1000,
		.dport = 80, .payload = 100, .trailer = 24 };
	uint32_t i;

	(void)state;
	/* a trailer after a full-size datagram */
	build(&f, &s);
	assert_int_equal(f.len, 14 + 20 + 20 + 100 + 24);
	expect_tx(e, &f, 0, 1);
	assert_int_equal(f.len, 14 + 20 + 20 + 100);
	/* a bare ACK in a minimum frame whose padding is not zero */
	s.flags = LB_TCP_ACK;
	s.payload = 0;
	s.trailer = 6;
	build(&f, &s);
	assert_int_equal(f.len, 60);
	expect_tx(e, &f, 0, 1);
	assert_int_equal(f.len, 60);
	for (i = 54; i < 60; i++)
		assert_int_equal(f.data[i], 0);
	/* a short frame stays short: lbd pads only within what it received */
	s.trailer = 0;
	build(&f, &s);
	assert_int_equal(f.len, 54);
	expect_tx(e, &f, 0, 1);
	assert_int_equal(f.len, 54);
	/* echo: the reply carries the request's data, not its trailer */
	{
		struct spec echo = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"),
			.proto = LB_PROTO_ICMP, .sport = 9, .payload = 32, .trailer = 40 };

		build(&f, &echo);
		expect_tx(e, &f, 0, 0);
		assert_int_equal(f.len, 14 + 20 + 8 + 32);
		assert_int_equal(f.data[34], LB_ICMP_ECHO_REPLY);
		assert_int_equal(sum16(f.data + 34, 8 + 32), 0xffff);
	}
	/* ARP: the reply is the 28-byte message, zero-padded to 60 bytes */
	build_arp(&f, CLIENT_MAC, LB_ARP_OP_REQUEST, CLIENT_MAC, ip("192.0.2.2"), ip("192.0.2.10"),
		0xaa);
	assert_int_equal(run(e, &f, 0, &r), LB_DP_TX);
	assert_int_equal(r.len, 60);
	assert_int_equal(get16(f.data + 14 + 6), LB_ARP_OP_REPLY);
	for (i = 42; i < 60; i++)
		assert_int_equal(f.data[i], 0);
	env_free(e);
}

static void
test_trim_vlan(void **state)
{
	char text[8192];
	struct env *e;
	struct frame f;
	struct spec s = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"), .sport = 1000,
		.dport = 80, .flags = LB_TCP_ACK, .vlan = 7, .trailer = 10 };
	uint32_t i;

	(void)state;
	/* the external port on VLAN 7 */
	snprintf(text, sizeof(text), two_arm, "vlan = 7;", "\"203.0.113.0/24\"", "");
	e = env_with(text, 0, 0);
	{
		struct spec t = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"), .sport = 1000,
			.dport = 80, .vlan = 7 };

		build(&f, &t);
		expect_tx(e, &f, 0, 1);
	}
	/* 18 + 40 + 10 trailer = 68 bytes in; the tag and trailer go: 54 bytes
	 * of frame, padded to 60 with zeros within what arrived */
	build(&f, &s);
	assert_int_equal(f.len, 68);
	expect_tx(e, &f, 0, 1);
	assert_int_equal(f.len, 60);
	assert_int_equal(get16(f.data + 12), LB_ETHER_TYPE_IPV4);
	for (i = 54; i < 60; i++)
		assert_int_equal(f.data[i], 0);
	env_free(e);
}

/* lbd never sends an IPv4 datagram above the outgoing port's MTU. */
static void
test_mtu(void **state)
{
	struct env *e = env_with(NULL, 1400, 1000);
	struct frame f;
	struct spec s = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"), .sport = 1000,
		.dport = 80 };

	(void)state;
	assert_int_equal(e->snap->ports[0].mtu, 1400);
	assert_int_equal(e->snap->ports[1].mtu, 1000);
	s.payload = 1000 - 40;
	build(&f, &s);
	expect_tx(e, &f, 0, 1);
	s.flags = LB_TCP_ACK;
	s.payload = 1000 - 40 + 1;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_MTU);
	/* the other way: the external port's MTU */
	{
		struct spec b = { .smac = NODE_MAC, .dmac = INT_MAC, .src = ip("198.51.100.11"),
			.dst = ip("198.51.100.2"), .sport = 30080, .flags = LB_TCP_ACK,
			.payload = 1400 - 40 + 1 };
		struct lb_flow_key k = lb_flow_key_make(ip("203.0.113.5"), ip("192.0.2.10"),
			htons(1000), htons(80), LB_PROTO_TCP);
		struct lb_flow *fl = lb_flow_lookup(e->w.flows, &k, e->now, NULL);

		assert_non_null(fl);
		b.dport = ntohs(fl->key[LB_FLOW_REV].dport);
		build(&f, &b);
		expect_drop(e, &f, 1, LB_DROP_MTU);
		b.payload = 1400 - 40;
		build(&f, &b);
		expect_tx(e, &f, 1, 0);
	}
	/* echo replies too */
	{
		struct spec echo = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.10"),
			.proto = LB_PROTO_ICMP, .sport = 9, .payload = 1401 - 28 };

		build(&f, &echo);
		expect_drop(e, &f, 0, LB_DROP_MTU);
	}
	/* the default is DPDK's 1500 */
	env_free(e);
	e = env_with(NULL, 0, 0);
	assert_int_equal(e->snap->ports[0].mtu, LB_SNAP_DEFAULT_MTU);
	s.flags = 0;
	s.payload = 0;
	build(&f, &s);
	expect_tx(e, &f, 0, 1);
	s.flags = LB_TCP_ACK;
	s.payload = 1500 - 40 + 1;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_MTU);
	s.payload = 1500 - 40;
	build(&f, &s);
	expect_tx(e, &f, 0, 1);
	env_free(e);
}

/* RFC 5227 2.4: another station claiming lbd's address goes to control (at
 * most once per interval per worker), never into the neighbour table. */
static void
test_arp_conflict(void **state)
{
	struct env *e = env_with(NULL, 0, 0);
	struct frame f;
	struct lb_dp_result r;

	(void)state;
	/* a gratuitous ARP for the VIP from someone else */
	build_arp(&f, CLIENT_MAC, LB_ARP_OP_REQUEST, CLIENT_MAC, ip("192.0.2.10"), ip("192.0.2.10"), 0);
	assert_int_equal(run(e, &f, 0, &r), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_CONFLICT);
	assert_int_equal(r.port, 0);
	/* more within the interval: counted and dropped */
	build_arp(&f, CLIENT_MAC, LB_ARP_OP_REPLY, CLIENT_MAC, ip("192.0.2.10"), ip("192.0.2.2"), 0);
	expect_drop(e, &f, 0, LB_DROP_ARP_CONFLICT);
	e->now += LB_DP_CONFLICT_MS - 1;
	build_arp(&f, CLIENT_MAC, LB_ARP_OP_REQUEST, CLIENT_MAC, ip("192.0.2.1"), ip("192.0.2.99"), 0);
	expect_drop(e, &f, 0, LB_DROP_ARP_CONFLICT);
	e->now += 1;
	assert_int_equal(run(e, &f, 0, &r), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_CONFLICT);
	/* On the internal port an announcement of the SNAT address went to the
	 * neighbour table as if it were a neighbour's; now it is a conflict. */
	e->now += LB_DP_CONFLICT_MS;
	build_arp(&f, NODE_MAC, LB_ARP_OP_REQUEST, NODE_MAC, ip("198.51.100.2"), ip("198.51.100.2"), 0);
	assert_int_equal(run(e, &f, 1, &r), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_CONFLICT);
	assert_int_equal(r.port, 1);
	/* a probe (sender 0.0.0.0) for lbd's address is answered, as before */
	build_arp(&f, CLIENT_MAC, LB_ARP_OP_REQUEST, CLIENT_MAC, 0, ip("192.0.2.10"), 0);
	assert_int_equal(run(e, &f, 0, &r), LB_DP_TX);
	assert_int_equal(get16(f.data + 14 + 6), LB_ARP_OP_REPLY);
	/* a VIP claimed on the internal port is not where lbd answers for it */
	build_arp(&f, NODE_MAC, LB_ARP_OP_REQUEST, NODE_MAC, ip("192.0.2.10"), ip("198.51.100.1"), 0);
	assert_int_equal(run(e, &f, 1, &r), LB_DP_TX);
	/* a neighbour's own announcement still feeds the neighbour table */
	build_arp(&f, NODE_MAC, LB_ARP_OP_REQUEST, NODE_MAC, ip("198.51.100.11"), ip("198.51.100.11"), 0);
	assert_int_equal(run(e, &f, 1, &r), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_ARP);
	env_free(e);
}

/* The allow-list covers every frame of a flow and echo to the VIP. */
static void
test_source_ranges(void **state)
{
	struct env *e = env_with(NULL, 0, 0);
	struct frame f;
	struct lb_dp_result r;
	struct lb_flow_key k = lb_flow_key_make(ip("203.0.113.5"), ip("192.0.2.40"), htons(1000),
		htons(80), LB_PROTO_TCP);
	struct lb_flow *fl;
	struct spec back = { .smac = NODE_MAC, .dmac = INT_MAC, .src = ip("198.51.100.11"),
		.dst = ip("198.51.100.2"), .sport = 30081, .flags = LB_TCP_ACK, .payload = 10 };
	struct spec echo = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.40"),
		.proto = LB_PROTO_ICMP, .sport = 3 };

	(void)state;
	syn(&f, ip("203.0.113.5"), 1000, ip("192.0.2.40"), 80);
	expect_tx(e, &f, 0, 1);
	fl = lb_flow_lookup(e->w.flows, &k, e->now, NULL);
	assert_non_null(fl);
	back.dport = ntohs(fl->key[LB_FLOW_REV].dport);
	build(&f, &back);
	expect_tx(e, &f, 1, 0);
	build(&f, &echo);
	expect_tx(e, &f, 0, 0);
	echo.src = ip("198.18.0.1");
	build(&f, &echo);
	expect_drop(e, &f, 0, LB_DROP_ACL);

	/* a reload narrows the ranges: the open flow's client is out */
	compile_two_arm(e, "\"203.0.113.128/25\"", "");
	build(&f, &back);
	expect_drop(e, &f, 1, LB_DROP_ACL);
	{
		struct spec s = { .src = ip("203.0.113.5"), .dst = ip("192.0.2.40"), .sport = 1000,
			.dport = 80, .flags = LB_TCP_ACK };

		build(&f, &s);
		expect_drop(e, &f, 0, LB_DROP_ACL);
	}
	echo.src = ip("203.0.113.5");
	build(&f, &echo);
	expect_drop(e, &f, 0, LB_DROP_ACL);
	echo.src = ip("203.0.113.200");
	build(&f, &echo);
	expect_tx(e, &f, 0, 0);
	/* the flow is still there: widening the ranges again lets it through */
	compile_two_arm(e, "\"203.0.113.0/24\"", "");
	build(&f, &back);
	expect_tx(e, &f, 1, 0);

	/* A VIP with an open frontend answers everyone; a VIP whose frontends
	 * all have ranges answers their union. */
	compile_two_arm(e, "\"203.0.113.0/24\"",
		",\n  { name = \"guarded-udp\"; vip = \"192.0.2.40\"; protocol = \"udp\"; port = 53;\n"
		"    source_ranges = [\"198.18.0.0/15\"];\n"
		"    targets = ( { address = \"198.51.100.11\"; port = 30053; } ); }");
	echo.src = ip("198.19.1.1");
	build(&f, &echo);
	expect_tx(e, &f, 0, 0);
	echo.src = ip("203.0.113.9");
	build(&f, &echo);
	expect_tx(e, &f, 0, 0);
	echo.src = ip("100.64.0.1");
	build(&f, &echo);
	expect_drop(e, &f, 0, LB_DROP_ACL);
	compile_two_arm(e, "\"203.0.113.0/24\"",
		",\n  { name = \"open-udp\"; vip = \"192.0.2.40\"; protocol = \"udp\"; port = 53;\n"
		"    targets = ( { address = \"198.51.100.11\"; port = 30053; } ); }");
	build(&f, &echo);
	expect_tx(e, &f, 0, 0);
	(void)r;
	env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_martian_sources),
		cmocka_unit_test(test_own_and_spoofed_sources),
		cmocka_unit_test(test_source_macs),
		cmocka_unit_test(test_tcp_flags_and_ports),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_trim_vlan),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_arp_conflict),
		cmocka_unit_test(test_source_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
