/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dp: the whole per-frame data path on crafted frames, without the EAL.
 * Frames are built and checked by code in this file (its own checksum
 * routine, independent of lib/pkt's); the snapshot comes from a config
 * string through the real loader and compiler.
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
#define NWORKERS	2

static const uint8_t EXT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t INT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0, 0, 0, 0xcc, 0x01 };
static const uint8_t ROUTER_MAC[6] = { 0x02, 0, 0, 0, 0xcc, 0x02 };

static const char *base_config =
	"ports = (\n"
	"  { name = \"ext\"; device = \"net_null0\"; role = \"external\"; address = \"192.0.2.1/24\"; %s },\n"
	"  { name = \"int\"; device = \"net_null1\"; role = \"internal\"; address = \"198.51.100.1/24\";\n"
	"    gateway = \"198.51.100.254\"; %s\n"
	"    neighbours = (\n"
	"      { address = \"198.51.100.11\"; mac = \"02:00:00:00:01:11\"; },\n"
	"      { address = \"198.51.100.12\"; mac = \"02:00:00:00:01:12\"; },\n"
	"      { address = \"198.51.100.13\"; mac = \"02:00:00:00:01:13\"; },\n"
	"      { address = \"198.51.100.21\"; mac = \"02:00:00:00:01:21\"; },\n"
	"      { address = \"198.51.100.22\"; mac = \"02:00:00:00:01:22\"; },\n"
	"      { address = \"198.51.100.254\"; mac = \"02:00:00:00:01:fe\"; }\n"
	"    ); }\n"
	");\n"
	"workers = { lcores = [1, 2]; flow_capacity = 4096; snat_addresses = [\"198.51.100.2\"];\n"
	"  snat_ports = [1024, 65535]; };\n"
	"frontends = (\n"
	"  { name = \"web\"; vip = \"192.0.2.10\"; port = 80; targets = (\n"
	"      { address = \"198.51.100.11\"; port = 30080; }, %s\n"
	"      { address = \"198.51.100.13\"; port = 30080; } ); },\n"
	"  { name = \"dns\"; vip = \"192.0.2.10\"; protocol = \"udp\"; port = 53; targets = (\n"
	"      { address = \"198.51.100.11\"; port = 30053; } ); },\n"
	"  { name = \"direct\"; vip = \"192.0.2.20\"; port = 80; method = \"dnat\"; targets = (\n"
	"      { address = \"198.51.100.21\"; port = 8080; },\n"
	"      { address = \"198.51.100.22\"; port = 8080; } ); },\n"
	"  { name = \"sticky\"; vip = \"192.0.2.30\"; port = 443; session_affinity = \"client_ip\";\n"
	"    targets = ( { address = \"198.51.100.11\"; port = 30443; },\n"
	"                { address = \"198.51.100.12\"; port = 30443; },\n"
	"                { address = \"198.51.100.13\"; port = 30443; } ); },\n"
	"  { name = \"acl\"; vip = \"192.0.2.40\"; port = 80; source_ranges = [\"203.0.113.0/24\"];\n"
	"    targets = ( { address = \"198.51.100.11\"; port = 30081; } ); },\n"
	"  { name = \"far\"; vip = \"192.0.2.60\"; port = 80; targets = (\n"
	"      { address = \"10.99.0.5\"; port = 8080; } ); },\n"
	"  { name = \"unresolved\"; vip = \"192.0.2.70\"; port = 80; targets = (\n"
	"      { address = \"198.51.100.99\"; port = 8080; } ); },\n"
	"  { name = \"empty\"; vip = \"192.0.2.50\"; port = 80; }\n"
	");\n";

struct env {
	struct lb_config *cfg;
	struct lb_snap *snap;
	struct lb_neigh *neigh;
	struct lb_neigh_table *nt;
	struct lb_dp_worker w[NWORKERS];
	void *mem[NWORKERS][2];
	uint64_t now;
};

static uint32_t
ip(const char *s)
{
	uint32_t a;

	assert_int_equal(lb_ip4_parse(s, &a), 0);
	return a;
}

/* --- independent checksum (a plain byte loop) --- */

static uint16_t
ref_sum(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static bool
ip_csum_ok(const uint8_t *iph)
{
	return ref_sum(iph, (size_t)(iph[0] & 0xf) * 4, 0) == 0xffff;
}

static bool
l4_csum_ok(const uint8_t *iph)
{
	size_t ihl = (size_t)(iph[0] & 0xf) * 4;
	size_t tot = (size_t)iph[2] << 8 | iph[3];
	uint32_t acc = 0;
	uint8_t proto = iph[9];

	if (proto == LB_PROTO_UDP && iph[ihl + 6] == 0 && iph[ihl + 7] == 0)
		return true;	/* no checksum */
	acc += (uint32_t)iph[12] << 8 | iph[13];
	acc += (uint32_t)iph[14] << 8 | iph[15];
	acc += (uint32_t)iph[16] << 8 | iph[17];
	acc += (uint32_t)iph[18] << 8 | iph[19];
	acc += proto;
	acc += (uint32_t)(tot - ihl);
	return ref_sum(iph + ihl, tot - ihl, acc) == 0xffff;
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

static void
fill_ip_csum(uint8_t *iph)
{
	put16(iph + 10, 0);
	put16(iph + 10, (uint16_t)~ref_sum(iph, (size_t)(iph[0] & 0xf) * 4, 0));
}

static void
fill_l4_csum(uint8_t *iph)
{
	size_t ihl = (size_t)(iph[0] & 0xf) * 4;
	size_t tot = (size_t)iph[2] << 8 | iph[3];
	uint8_t proto = iph[9];
	size_t off = proto == LB_PROTO_TCP ? 16 : proto == LB_PROTO_UDP ? 6 : 2;
	uint32_t acc = 0;
	uint16_t c;

	put16(iph + ihl + off, 0);
	if (proto != LB_PROTO_ICMP) {
		acc += (uint32_t)get16(iph + 12) + get16(iph + 14) + get16(iph + 16) +
			get16(iph + 18) + proto + (uint32_t)(tot - ihl);
	}
	c = (uint16_t)~ref_sum(iph + ihl, tot - ihl, acc);
	if (proto == LB_PROTO_UDP && c == 0)
		c = 0xffff;
	put16(iph + ihl + off, c);
}

/* --- frame building --- */

struct frame {
	uint8_t buf[HEADROOM + 2048];
	uint8_t *data;		/* buf + HEADROOM, moved by r.adj */
	uint32_t len;
};

struct pspec {
	const uint8_t *src_mac;
	const uint8_t *dst_mac;
	uint16_t vlan;		/* 0 none */
	uint32_t src, dst;
	uint8_t proto;
	uint16_t sport, dport;	/* host order */
	uint8_t flags;		/* TCP */
	uint8_t ttl;
	uint16_t payload;
	bool udp_no_csum;
	uint16_t frag;		/* frag_off field, host order */
};

/* Writes eth(+vlan) header; returns its length. */
static uint32_t
put_l2(uint8_t *p, const struct pspec *s, uint16_t type)
{
	memcpy(p, s->dst_mac, 6);
	memcpy(p + 6, s->src_mac, 6);
	if (s->vlan) {
		put16(p + 12, LB_ETHER_TYPE_VLAN);
		put16(p + 14, s->vlan);
		put16(p + 16, type);
		return 18;
	}
	put16(p + 12, type);
	return 14;
}

static void
build(struct frame *f, const struct pspec *s)
{
	uint8_t *p;
	uint32_t l2, l4len;
	uint8_t *iph, *l4;

	memset(f->buf, 0, sizeof(f->buf));
	f->data = f->buf + HEADROOM;
	p = f->data;
	l2 = put_l2(p, s, LB_ETHER_TYPE_IPV4);
	iph = p + l2;
	l4len = (s->proto == LB_PROTO_TCP ? 20 : 8) + s->payload;
	iph[0] = 0x45;
	put16(iph + 2, (uint16_t)(20 + l4len));
	put16(iph + 4, 0x1234);
	put16(iph + 6, s->frag ? s->frag : LB_IP4_DF);
	iph[8] = s->ttl ? s->ttl : 64;
	iph[9] = s->proto;
	memcpy(iph + 12, &s->src, 4);
	memcpy(iph + 16, &s->dst, 4);
	l4 = iph + 20;
	if (s->proto == LB_PROTO_TCP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, 0x1111);
		put16(l4 + 8, 0x2222);
		l4[12] = 5 << 4;
		l4[13] = s->flags;
		put16(l4 + 14, 65535);
	} else if (s->proto == LB_PROTO_UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)l4len);
	} else if (s->proto == LB_PROTO_ICMP) {
		l4[0] = LB_ICMP_ECHO_REQUEST;
		put16(l4 + 4, s->sport);
		put16(l4 + 6, 1);
	}
	for (uint32_t i = 0; i < s->payload; i++)
		l4[(s->proto == LB_PROTO_TCP ? 20 : 8) + i] = (uint8_t)(i * 7 + 3);
	fill_ip_csum(iph);
	if (!(s->proto == LB_PROTO_UDP && s->udp_no_csum))
		fill_l4_csum(iph);
	f->len = l2 + 20 + l4len;
}

static void
build_tcp(struct frame *f, const uint8_t *smac, uint32_t src, uint16_t sport, uint32_t dst,
	uint16_t dport, uint8_t flags)
{
	struct pspec s = { .src_mac = smac, .dst_mac = EXT_MAC, .src = src, .dst = dst,
		.proto = LB_PROTO_TCP, .sport = sport, .dport = dport, .flags = flags, .payload = 10 };

	build(f, &s);
}

/* An ICMP error of type/code from esrc to edst quoting the IPv4+L4 frame q. */
static void
build_icmp_error(struct frame *f, const uint8_t *smac, const uint8_t *dmac, uint32_t esrc,
	uint32_t edst, uint8_t type, uint8_t code, const struct frame *q, uint32_t qlen)
{
	const uint8_t *qip = q->data + 14;
	uint8_t *iph, *ic;
	uint32_t l2;
	struct pspec s = { .src_mac = smac, .dst_mac = dmac };

	memset(f->buf, 0, sizeof(f->buf));
	f->data = f->buf + HEADROOM;
	l2 = put_l2(f->data, &s, LB_ETHER_TYPE_IPV4);
	iph = f->data + l2;
	iph[0] = 0x45;
	put16(iph + 2, (uint16_t)(20 + 8 + qlen));
	iph[8] = 64;
	iph[9] = LB_PROTO_ICMP;
	memcpy(iph + 12, &esrc, 4);
	memcpy(iph + 16, &edst, 4);
	ic = iph + 20;
	ic[0] = type;
	ic[1] = code;
	put16(ic + 6, 1400);	/* next-hop MTU for frag-needed */
	memcpy(ic + 8, qip, qlen);
	fill_ip_csum(iph);
	fill_l4_csum(iph);
	f->len = l2 + 20 + 8 + qlen;
}

static void
build_arp(struct frame *f, uint16_t op, const uint8_t *sha, uint32_t spa, uint32_t tpa,
	uint16_t vlan)
{
	struct pspec s = { .src_mac = sha, .dst_mac = (const uint8_t *)"\xff\xff\xff\xff\xff\xff",
		.vlan = vlan };
	uint8_t *a;
	uint32_t l2;

	memset(f->buf, 0, sizeof(f->buf));
	f->data = f->buf + HEADROOM;
	l2 = put_l2(f->data, &s, LB_ETHER_TYPE_ARP);
	a = f->data + l2;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memcpy(a + 24, &tpa, 4);
	f->len = l2 + 28 < 60 ? 60 : l2 + 28;
}

/* --- views of an output frame --- */

struct view {
	uint8_t dst_mac[6], src_mac[6];
	int vlan;		/* -1 untagged */
	const uint8_t *iph;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t ttl, proto, flags;
};

static struct view
view(const struct frame *f)
{
	struct view v;
	const uint8_t *p = f->data;
	uint32_t l2 = 14;

	memcpy(v.dst_mac, p, 6);
	memcpy(v.src_mac, p + 6, 6);
	v.vlan = -1;
	if (get16(p + 12) == LB_ETHER_TYPE_VLAN) {
		v.vlan = get16(p + 14) & 0xfff;
		l2 = 18;
	}
	v.iph = p + l2;
	memcpy(&v.src, v.iph + 12, 4);
	memcpy(&v.dst, v.iph + 16, 4);
	v.ttl = v.iph[8];
	v.proto = v.iph[9];
	v.sport = get16(v.iph + 20);
	v.dport = get16(v.iph + 22);
	v.flags = v.proto == LB_PROTO_TCP ? v.iph[20 + 13] : 0;
	return v;
}

/* --- environment --- */

static struct lb_snap *
compile(struct env *e, const char *extra_target, const char *ext_vlan, const char *int_vlan,
	const struct lb_overlay *ov)
{
	char text[8192], err[512];
	struct lb_snap_env se;
	struct lb_config *cfg;
	struct lb_snap *s;

	snprintf(text, sizeof(text), base_config, ext_vlan, int_vlan, extra_target);
	cfg = lb_config_load_string(text, "test.conf", err, sizeof(err));
	if (cfg == NULL)
		fail_msg("config: %s", err);
	memset(&se, 0, sizeof(se));
	se.n_workers = NWORKERS;
	se.dev[0] = 0;
	se.dev[1] = 1;
	memcpy(se.mac[0], EXT_MAC, 6);
	memcpy(se.mac[1], INT_MAC, 6);
	s = lb_snap_build_config(cfg, &se, ov, err, sizeof(err));
	if (s == NULL)
		fail_msg("snap: %s", err);
	if (e->cfg != NULL)
		lb_config_free(e->cfg);
	e->cfg = cfg;
	return s;
}

static void
env_neigh(struct env *e)
{
	const struct lb_config_port *p = &e->cfg->ports[1];
	uint32_t ips[16];
	uint8_t macs[16][6], ports[16];
	uint32_t i;

	for (i = 0; i < p->n_neigh; i++) {
		ips[i] = p->neigh[i].addr;
		memcpy(macs[i], p->neigh[i].mac, 6);
		ports[i] = 1;
	}
	assert_int_equal(lb_neigh_set_static(e->neigh, ips, (const uint8_t (*)[6])macs, ports,
		p->n_neigh, e->now), 0);
	if (e->nt != NULL)
		lb_neigh_table_free(e->nt);
	e->nt = lb_neigh_table_build(e->neigh);
	assert_non_null(e->nt);
}

static struct env *
env_new(const char *ext_vlan, const char *int_vlan)
{
	const struct lb_neigh_params np = { .reachable_ms = 300000, .retries = 3, .retry_ms = 1000,
		.queue_len = 3, .failed_hold_ms = 5000, .max_entries = 64 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	struct env *e = calloc(1, sizeof(*e));
	uint32_t i;

	assert_non_null(e);
	e->now = 1000000;
	e->snap = compile(e, "", ext_vlan, int_vlan, NULL);
	e->neigh = lb_neigh_create(&np, &ops);
	assert_non_null(e->neigh);
	env_neigh(e);
	for (i = 0; i < NWORKERS; i++) {
		size_t fsz = lb_flow_table_memsize(4096), asz = lb_flow_table_memsize(1024);

		e->mem[i][0] = aligned_alloc(64, (fsz + 63) & ~(size_t)63);
		e->mem[i][1] = aligned_alloc(64, (asz + 63) & ~(size_t)63);
		e->w[i].id = i;
		e->w[i].flows = lb_flow_table_init(e->mem[i][0], 4096, 42 + i);
		e->w[i].affinity = lb_flow_table_init(e->mem[i][1], 1024, 99 + i);
		assert_non_null(e->w[i].flows);
		assert_non_null(e->w[i].affinity);
		assert_int_equal(lb_snat_init(&e->w[i].snat, &e->snap->snat, i, e->cfg->snat_addrs,
			e->cfg->n_snat), 0);
	}
	return e;
}

static void
env_free(struct env *e)
{
	uint32_t i;

	for (i = 0; i < NWORKERS; i++) {
		free(e->mem[i][0]);
		free(e->mem[i][1]);
	}
	lb_neigh_table_free(e->nt);
	lb_neigh_destroy(e->neigh);
	lb_snap_free(e->snap);
	lb_config_free(e->cfg);
	free(e);
}

/* Runs f through the data path on its owner: the first worker hands off to
 * the owner when it is not, which then processes it. */
static enum lb_dp_verdict
run(struct env *e, struct frame *f, uint8_t in_port, struct lb_dp_result *r, uint32_t *owner)
{
	enum lb_dp_verdict v;
	uint32_t w = 0;

	v = lb_dp_process(&e->w[0], e->snap, e->nt, f->data, f->len, (uint32_t)(f->data - f->buf),
		in_port, e->now, r);
	if (v == LB_DP_HANDOFF) {
		assert_true(r->worker < NWORKERS);
		assert_int_not_equal(r->worker, 0);
		w = r->worker;
		v = lb_dp_process(&e->w[w], e->snap, e->nt, f->data, f->len,
			(uint32_t)(f->data - f->buf), in_port, e->now, r);
		assert_int_not_equal(v, LB_DP_HANDOFF);
	}
	if (v == LB_DP_TX || v == LB_DP_TO_CTL) {
		f->data += r->adj;
		f->len = (uint32_t)((int64_t)f->len - r->adj);
	}
	if (owner != NULL)
		*owner = w;
	return v;
}

static uint64_t
drops(struct env *e, enum lb_drop d)
{
	return e->w[0].ctr.drops[d] + e->w[1].ctr.drops[d];
}

static void
expect_drop(struct env *e, struct frame *f, uint8_t in_port, enum lb_drop why)
{
	struct lb_dp_result r;
	uint64_t before = drops(e, why);

	assert_int_equal(run(e, f, in_port, &r, NULL), LB_DP_DROP);
	assert_int_equal(r.reason, why);
	assert_int_equal(drops(e, why), before + 1);
}

static const uint8_t *
target_mac(uint32_t addr)
{
	static uint8_t m[6];
	uint8_t last = (uint8_t)(ntohl(addr) & 0xff);

	memcpy(m, "\x02\x00\x00\x00\x01", 5);
	m[5] = last == 254 ? 0xfe : (uint8_t)(((last / 10) << 4) | (last % 10));
	return m;
}

/* --- tests --- */

/* SYN to a VIP: FullNAT to a target; later packets and replies follow. */
static void
test_fullnat_flow(void **state)
{
	struct env *e = env_new("", "");
	struct frame f, g;
	struct lb_dp_result r;
	struct view v, v2;
	uint32_t vip = ip("192.0.2.10"), client = ip("203.0.113.7"), owner, owner2;
	uint16_t snat_port;
	struct lb_dp_trace t;

	(void)state;
	build_tcp(&f, CLIENT_MAC, client, 40000, vip, 80, LB_TCP_SYN);
	assert_int_equal(run(e, &f, 0, &r, &owner), LB_DP_TX);
	assert_int_equal(r.port, 1);
	v = view(&f);
	/* the target is the one lb_dp_trace predicts */
	assert_int_equal(lb_dp_trace(e->snap, client, htons(40000), vip, htons(80), LB_PROTO_TCP, &t), 0);
	assert_int_equal(t.owner, (int)owner);
	assert_true(t.target >= 0);
	assert_int_equal(v.dst, t.fe->targets[t.target].addr);
	assert_int_equal(v.dport, 30080);
	assert_int_equal(v.src, ip("198.51.100.2"));
	snat_port = v.sport;
	/* the SNAT port's low bits name the owner (lib/owner) */
	assert_int_equal(lb_snat_owner(&e->snap->snat, snat_port), (int)owner);
	assert_int_equal(v.ttl, 63);
	assert_int_equal(v.flags, LB_TCP_SYN);
	assert_memory_equal(v.src_mac, INT_MAC, 6);
	assert_memory_equal(v.dst_mac, target_mac(v.dst), 6);
	assert_true(ip_csum_ok(v.iph));
	assert_true(l4_csum_ok(v.iph));

	/* same flow: same target and SNAT port */
	build_tcp(&g, CLIENT_MAC, client, 40000, vip, 80, LB_TCP_ACK);
	assert_int_equal(run(e, &g, 0, &r, &owner2), LB_DP_TX);
	assert_int_equal(owner2, owner);
	v2 = view(&g);
	assert_int_equal(v2.dst, v.dst);
	assert_int_equal(v2.sport, snat_port);
	assert_true(l4_csum_ok(v2.iph));

	/* reply from the target to the SNAT address: reverse NAT to the client */
	{
		struct pspec s = { .src_mac = target_mac(v.dst), .dst_mac = INT_MAC, .src = v.dst,
			.dst = v.src, .proto = LB_PROTO_TCP, .sport = 30080, .dport = snat_port,
			.flags = LB_TCP_SYN | LB_TCP_ACK, .payload = 33 };

		build(&g, &s);
	}
	assert_int_equal(run(e, &g, 1, &r, &owner2), LB_DP_TX);
	assert_int_equal(owner2, owner);
	assert_int_equal(r.port, 0);
	v2 = view(&g);
	assert_int_equal(v2.src, vip);
	assert_int_equal(v2.sport, 80);
	assert_int_equal(v2.dst, client);
	assert_int_equal(v2.dport, 40000);
	assert_memory_equal(v2.dst_mac, CLIENT_MAC, 6);
	assert_memory_equal(v2.src_mac, EXT_MAC, 6);
	assert_true(ip_csum_ok(v2.iph));
	assert_true(l4_csum_ok(v2.iph));

	/* a reply to an unknown SNAT port is dropped */
	{
		struct pspec s = { .src_mac = target_mac(v.dst), .dst_mac = INT_MAC, .src = v.dst,
			.dst = v.src, .proto = LB_PROTO_TCP, .sport = 30080,
			.dport = (uint16_t)(snat_port + 1), .flags = LB_TCP_ACK };

		build(&g, &s);
	}
	expect_drop(e, &g, 1, LB_DROP_NO_FLOW);
	/* a non-SYN to a FullNAT VIP without a flow cannot be picked up */
	build_tcp(&g, CLIENT_MAC, client, 40001, vip, 80, LB_TCP_ACK);
	expect_drop(e, &g, 0, LB_DROP_NO_FLOW);
	env_free(e);
}

/* Many clients: every flow goes to its Maglev target, spread over targets,
 * and the two workers share them. */
static void
test_spread_and_owners(void **state)
{
	struct env *e = env_new("", "");
	uint32_t vip = ip("192.0.2.10"), per_target[3] = { 0 }, per_worker[2] = { 0 };
	uint32_t i, owner;

	(void)state;
	for (i = 0; i < 3000; i++) {
		struct frame f;
		struct lb_dp_result r;
		struct view v;
		uint32_t client = htonl(0xcb007100 + (i % 200));

		build_tcp(&f, CLIENT_MAC, client, (uint16_t)(1024 + i), vip, 80, LB_TCP_SYN);
		assert_int_equal(run(e, &f, 0, &r, &owner), LB_DP_TX);
		v = view(&f);
		per_target[(ntohl(v.dst) & 0xff) - 11]++;
		per_worker[owner]++;
	}
	for (i = 0; i < 3; i++)
		if (i != 1)
			assert_in_range(per_target[i], 1200, 1800);	/* 2 targets: ~1500 each */
	assert_int_equal(per_target[1], 0);				/* .12 is not configured */
	assert_in_range(per_worker[0], 1200, 1800);
	assert_int_equal(e->w[0].ctr.flows_created + e->w[1].ctr.flows_created, 3000);
	env_free(e);
}

static void
test_udp(void **state)
{
	struct env *e = env_new("", "");
	struct frame f;
	struct lb_dp_result r;
	struct view v;
	struct pspec s = { .src_mac = CLIENT_MAC, .dst_mac = EXT_MAC, .src = ip("203.0.113.9"),
		.dst = ip("192.0.2.10"), .proto = LB_PROTO_UDP, .sport = 5353, .dport = 53,
		.payload = 31 };

	(void)state;
	build(&f, &s);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	v = view(&f);
	assert_int_equal(v.dst, ip("198.51.100.11"));
	assert_int_equal(v.dport, 30053);
	assert_true(ip_csum_ok(v.iph));
	assert_true(l4_csum_ok(v.iph));
	/* a zero UDP checksum stays zero */
	s.udp_no_csum = true;
	s.sport = 5354;
	build(&f, &s);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	v = view(&f);
	assert_int_equal(get16(v.iph + 26), 0);
	assert_true(ip_csum_ok(v.iph));
	env_free(e);
}

static void
test_dnat(void **state)
{
	struct env *e = env_new("", "");
	uint32_t vip = ip("192.0.2.20"), client = ip("203.0.113.50"), o1, o2;
	struct frame f, g;
	struct lb_dp_result r;
	struct view v;

	(void)state;
	build_tcp(&f, ROUTER_MAC, client, 55555, vip, 80, LB_TCP_SYN);
	assert_int_equal(run(e, &f, 0, &r, &o1), LB_DP_TX);
	v = view(&f);
	assert_int_equal(v.src, client);
	assert_int_equal(v.sport, 55555);
	assert_true(v.dst == ip("198.51.100.21") || v.dst == ip("198.51.100.22"));
	assert_int_equal(v.dport, 8080);
	assert_true(ip_csum_ok(v.iph) && l4_csum_ok(v.iph));
	/* the pod answers the client directly, routed through lbd */
	{
		struct pspec s = { .src_mac = target_mac(v.dst), .dst_mac = INT_MAC, .src = v.dst,
			.dst = client, .proto = LB_PROTO_TCP, .sport = 8080, .dport = 55555,
			.flags = LB_TCP_SYN | LB_TCP_ACK };

		build(&g, &s);
	}
	assert_int_equal(run(e, &g, 1, &r, &o2), LB_DP_TX);
	assert_int_equal(o1, o2);
	v = view(&g);
	assert_int_equal(v.src, vip);
	assert_int_equal(v.sport, 80);
	assert_int_equal(v.dst, client);
	assert_memory_equal(v.dst_mac, ROUTER_MAC, 6);
	assert_true(ip_csum_ok(v.iph) && l4_csum_ok(v.iph));
	/* mid-stream pickup: a non-SYN packet without a flow goes to the same
	 * target the Maglev table gives a SYN */
	{
		struct lb_dp_trace t;

		build_tcp(&f, ROUTER_MAC, client, 55556, vip, 80, LB_TCP_ACK);
		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
		v = view(&f);
		lb_dp_trace(e->snap, client, htons(55556), vip, htons(80), LB_PROTO_TCP, &t);
		assert_int_equal(v.dst, t.fe->targets[t.target].addr);
		assert_int_equal(e->w[0].ctr.flows_picked_up + e->w[1].ctr.flows_picked_up, 1);
	}
	/* a target's reply without a flow leaves from the VIP, routed to the
	 * client by the external port's route: it has none here */
	{
		struct pspec s = { .src_mac = ROUTER_MAC, .dst_mac = INT_MAC,
			.src = ip("198.51.100.21"), .dst = ip("203.0.113.99"), .proto = LB_PROTO_TCP,
			.sport = 8080, .dport = 1234, .flags = LB_TCP_ACK };

		build(&g, &s);
	}
	expect_drop(e, &g, 1, LB_DROP_NO_ROUTE);
	/* from a port that is no DNAT target's: not ours */
	{
		struct pspec s = { .src_mac = ROUTER_MAC, .dst_mac = INT_MAC,
			.src = ip("198.51.100.21"), .dst = ip("203.0.113.99"), .proto = LB_PROTO_TCP,
			.sport = 8081, .dport = 1234, .flags = LB_TCP_ACK };

		build(&g, &s);
	}
	expect_drop(e, &g, 1, LB_DROP_NOT_LOCAL);
	env_free(e);
}

/*
 * DNAT replies that find no flow (the forward frame went statelessly under
 * flood, or the flow expired): they leave from the VIP:port of the target's
 * DNAT frontend, towards the external port's gateway, counted as stateless;
 * a target of FullNAT frontends only, or a reply from another port, is not
 * lbd's to forward.
 */
static void
test_dnat_stateless_reply(void **state)
{
	struct env *e = env_new("gateway = \"192.0.2.254\";", "");
	uint32_t vip = ip("192.0.2.20"), client = ip("203.0.113.99");
	struct frame g;
	struct lb_dp_result r;
	struct view v;
	uint64_t stateless = 0, rev = 0;
	uint32_t i;

	(void)state;
	{
		struct pspec s = { .src_mac = ROUTER_MAC, .dst_mac = INT_MAC,
			.src = ip("198.51.100.22"), .dst = client, .proto = LB_PROTO_TCP,
			.sport = 8080, .dport = 1234, .flags = LB_TCP_ACK, .ttl = 64 };

		build(&g, &s);
	}
	/* the gateway's MAC is not known yet: to control, to be resolved on
	 * the external port */
	assert_int_equal(run(e, &g, 1, &r, NULL), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_RESOLVE);
	assert_int_equal(r.port, 0);
	assert_int_equal(r.nexthop, ip("192.0.2.254"));
	v = view(&g);
	assert_int_equal(v.src, vip);
	assert_int_equal(v.sport, 80);
	assert_int_equal(v.dst, client);
	assert_int_equal(v.dport, 1234);
	assert_int_equal(v.ttl, 63);
	assert_true(ip_csum_ok(v.iph) && l4_csum_ok(v.iph));
	for (i = 0; i < NWORKERS; i++) {
		stateless += e->w[i].ctr.stateless;
		rev += e->w[i].ctr.rev;
	}
	assert_int_equal(stateless, 1);
	assert_int_equal(rev, 1);
	assert_int_equal(e->w[0].ctr.flows_created + e->w[1].ctr.flows_created, 0);
	/* a FullNAT target answering a client directly: not lbd's */
	{
		struct pspec s = { .src_mac = ROUTER_MAC, .dst_mac = INT_MAC,
			.src = ip("198.51.100.11"), .dst = client, .proto = LB_PROTO_TCP,
			.sport = 30080, .dport = 1234, .flags = LB_TCP_ACK };

		build(&g, &s);
	}
	expect_drop(e, &g, 1, LB_DROP_NOT_LOCAL);
	/* UDP from the DNAT target's TCP port: not a target of that protocol */
	{
		struct pspec s = { .src_mac = ROUTER_MAC, .dst_mac = INT_MAC,
			.src = ip("198.51.100.22"), .dst = client, .proto = LB_PROTO_UDP,
			.sport = 8080, .dport = 1234 };

		build(&g, &s);
	}
	expect_drop(e, &g, 1, LB_DROP_NOT_LOCAL);
	env_free(e);
}

static void
test_arp_and_echo(void **state)
{
	struct env *e = env_new("", "");
	struct frame f;
	struct lb_dp_result r;
	const uint8_t *a;

	(void)state;
	/* ARP for a VIP on the external port */
	build_arp(&f, LB_ARP_OP_REQUEST, CLIENT_MAC, ip("192.0.2.2"), ip("192.0.2.10"), 0);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	assert_int_equal(r.port, 0);
	a = f.data + 14;
	assert_memory_equal(f.data, CLIENT_MAC, 6);
	assert_memory_equal(f.data + 6, EXT_MAC, 6);
	assert_int_equal(get16(a + 6), LB_ARP_OP_REPLY);
	assert_memory_equal(a + 8, EXT_MAC, 6);
	assert_int_equal(memcmp(a + 14, &(uint32_t){ ip("192.0.2.10") }, 4), 0);
	assert_memory_equal(a + 18, CLIENT_MAC, 6);
	assert_int_equal(memcmp(a + 24, &(uint32_t){ ip("192.0.2.2") }, 4), 0);
	/* the SNAT address and the internal address answer on the internal port */
	build_arp(&f, LB_ARP_OP_REQUEST, ROUTER_MAC, ip("198.51.100.11"), ip("198.51.100.2"), 0);
	assert_int_equal(run(e, &f, 1, &r, NULL), LB_DP_TX);
	assert_memory_equal(f.data + 14 + 8, INT_MAC, 6);
	build_arp(&f, LB_ARP_OP_REQUEST, ROUTER_MAC, ip("198.51.100.11"), ip("198.51.100.1"), 0);
	assert_int_equal(run(e, &f, 1, &r, NULL), LB_DP_TX);
	/* ...but a VIP is not answered on the internal port, nor strangers */
	build_arp(&f, LB_ARP_OP_REQUEST, ROUTER_MAC, ip("198.51.100.11"), ip("192.0.2.10"), 0);
	expect_drop(e, &f, 1, LB_DROP_ARP_IGNORED);
	build_arp(&f, LB_ARP_OP_REQUEST, CLIENT_MAC, ip("192.0.2.2"), ip("192.0.2.99"), 0);
	expect_drop(e, &f, 0, LB_DROP_ARP_IGNORED);
	/* replies on the internal side go to the control thread */
	build_arp(&f, LB_ARP_OP_REPLY, ROUTER_MAC, ip("198.51.100.11"), ip("198.51.100.1"), 0);
	assert_int_equal(run(e, &f, 1, &r, NULL), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_ARP);
	assert_int_equal(r.port, 1);

	/* ICMP echo to a VIP */
	{
		struct pspec s = { .src_mac = CLIENT_MAC, .dst_mac = EXT_MAC, .src = ip("192.0.2.2"),
			.dst = ip("192.0.2.10"), .proto = LB_PROTO_ICMP, .sport = 77, .payload = 56 };
		struct view v;

		build(&f, &s);
		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
		v = view(&f);
		assert_int_equal(v.iph[20], LB_ICMP_ECHO_REPLY);
		assert_int_equal(v.src, ip("192.0.2.10"));
		assert_int_equal(v.dst, ip("192.0.2.2"));
		assert_memory_equal(v.dst_mac, CLIENT_MAC, 6);
		assert_true(ip_csum_ok(v.iph));
		assert_int_equal(ref_sum(v.iph + 20, 8 + 56, 0), 0xffff);
	}
	env_free(e);
}

/* ICMP frag-needed from a target about a FullNAT flow reaches the client as
 * if sent about its own packet to the VIP; and the other way round. */
static void
test_icmp_errors(void **state)
{
	struct env *e = env_new("", "");
	uint32_t vip = ip("192.0.2.10"), client = ip("203.0.113.7");
	struct frame syn, err, out;
	struct lb_dp_result r;
	struct view v;
	const uint8_t *ic, *in;

	(void)state;
	build_tcp(&syn, CLIENT_MAC, client, 40000, vip, 80, LB_TCP_SYN);
	assert_int_equal(run(e, &syn, 0, &r, NULL), LB_DP_TX);
	v = view(&syn);	/* as sent to the target: SNAT -> target */
	/* the target's router says the packet was too big, quoting 28 bytes and
	 * then a full TCP header */
	for (uint32_t qlen = 28; qlen <= 40; qlen += 12) {
		uint32_t router = ip("198.51.100.254");

		build_icmp_error(&err, ROUTER_MAC, INT_MAC, router, v.src, LB_ICMP_DEST_UNREACH,
			LB_ICMP_FRAG_NEEDED, &syn, qlen);
		memcpy(&out, &err, sizeof(out));
		out.data = out.buf + (err.data - err.buf);
		assert_int_equal(run(e, &out, 1, &r, NULL), LB_DP_TX);
		assert_int_equal(r.port, 0);
		v = view(&out);
		assert_int_equal(v.src, vip);
		assert_int_equal(v.dst, client);
		assert_memory_equal(v.dst_mac, CLIENT_MAC, 6);
		assert_true(ip_csum_ok(v.iph));
		ic = v.iph + 20;
		assert_int_equal(ic[0], LB_ICMP_DEST_UNREACH);
		assert_int_equal(ic[1], LB_ICMP_FRAG_NEEDED);
		assert_int_equal(get16(ic + 6), 1400);
		assert_int_equal(ref_sum(ic, 8 + qlen, 0), 0xffff);
		in = ic + 8;
		assert_true(ip_csum_ok(in));
		assert_int_equal(memcmp(in + 12, &client, 4), 0);
		assert_int_equal(memcmp(in + 16, &vip, 4), 0);
		assert_int_equal(get16(in + 20), 40000);
		assert_int_equal(get16(in + 22), 80);
		if (qlen == 40) {
			/* the quoted TCP header's checksum matches its new addresses
			 * and ports (it covered 10 payload bytes we no longer have, so
			 * compare with the original client packet instead) */
			struct frame c;

			build_tcp(&c, CLIENT_MAC, client, 40000, vip, 80, LB_TCP_SYN);
			assert_int_equal(get16(in + 36), get16(c.data + 14 + 36));
		}
		v = view(&syn);
	}
	/* an ICMP error about an unknown flow */
	build_tcp(&out, CLIENT_MAC, client, 40099, vip, 80, LB_TCP_SYN);
	{
		struct frame q;

		build_tcp(&q, INT_MAC, v.src, 60000, ip("198.51.100.11"), 30080, LB_TCP_SYN);
		build_icmp_error(&err, ROUTER_MAC, INT_MAC, ip("198.51.100.254"), v.src,
			LB_ICMP_DEST_UNREACH, 1, &q, 28);
	}
	expect_drop(e, &err, 1, LB_DROP_ICMP_NO_FLOW);

	/* client side: a router before the client says lbd's reply was too big */
	{
		struct frame reply;
		struct pspec s = { .src_mac = INT_MAC, .dst_mac = EXT_MAC, .src = vip, .dst = client,
			.proto = LB_PROTO_TCP, .sport = 80, .dport = 40000, .flags = LB_TCP_ACK };
		struct view sv = view(&syn);

		build(&reply, &s);
		build_icmp_error(&err, ROUTER_MAC, EXT_MAC, ip("192.0.2.254"), vip,
			LB_ICMP_DEST_UNREACH, LB_ICMP_FRAG_NEEDED, &reply, 28);
		assert_int_equal(run(e, &err, 0, &r, NULL), LB_DP_TX);
		assert_int_equal(r.port, 1);
		v = view(&err);
		assert_int_equal(v.dst, sv.dst);		/* the target */
		assert_int_equal(v.src, sv.src);		/* the SNAT address */
		in = v.iph + 28;
		assert_true(ip_csum_ok(v.iph));
		assert_true(ip_csum_ok(in));
		assert_int_equal(memcmp(in + 12, &sv.dst, 4), 0);
		assert_int_equal(memcmp(in + 16, &sv.src, 4), 0);
		assert_int_equal(get16(in + 20), 30080);
		assert_int_equal(get16(in + 22), sv.sport);
		assert_int_equal(ref_sum(v.iph + 20, 8 + 28, 0), 0xffff);
	}
	assert_int_equal(e->w[0].ctr.icmp_errors + e->w[1].ctr.icmp_errors, 3);
	env_free(e);
}

static void
test_drops(void **state)
{
	struct env *e = env_new("", "");
	uint32_t vip = ip("192.0.2.10");
	struct frame f;
	struct pspec s = { .src_mac = CLIENT_MAC, .dst_mac = EXT_MAC, .src = ip("203.0.113.7"),
		.dst = vip, .proto = LB_PROTO_TCP, .sport = 1000, .dport = 80, .flags = LB_TCP_SYN };

	(void)state;
	s.dst = ip("192.0.2.99");
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_NOT_LOCAL);
	s.dst = vip;
	s.dport = 81;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_NO_FRONTEND);
	s.dport = 80;
	s.ttl = 1;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_TTL);
	s.ttl = 0;
	s.frag = LB_IP4_MF;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_FRAGMENT);
	s.frag = 0;
	s.vlan = 7;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_VLAN);
	s.vlan = 0;
	/* unicast to someone else's MAC, flooded to us */
	s.dst_mac = ROUTER_MAC;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_DST_MAC);
	/* IPv4 in a broadcast frame is not forwarded either */
	s.dst_mac = (const uint8_t *)"\xff\xff\xff\xff\xff\xff";
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_DST_MAC);
	s.dst_mac = EXT_MAC;
	/* ACL: only 203.0.113.0/24 may reach 192.0.2.40 */
	s.dst = ip("192.0.2.40");
	s.src = ip("198.18.0.1");
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_ACL);
	{
		struct lb_dp_trace t;

		/* trace agrees: a denied source gets no target */
		assert_int_equal(lb_dp_trace(e->snap, s.src, htons(1000), s.dst, htons(80),
			LB_PROTO_TCP, &t), 0);
		assert_false(t.allowed);
		assert_int_equal(t.target, -1);
	}
	s.src = ip("203.0.113.200");
	build(&f, &s);
	{
		struct lb_dp_result r;

		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	}
	/* a frontend without targets */
	s.dst = ip("192.0.2.50");
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_NO_TARGET);
	/* a frontend whose target is behind the gateway: routed via its MAC */
	s.dst = ip("192.0.2.60");
	build(&f, &s);
	{
		struct lb_dp_result r;
		struct view v;

		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
		v = view(&f);
		assert_int_equal(v.dst, ip("10.99.0.5"));
		assert_memory_equal(v.dst_mac, target_mac(ip("198.51.100.254")), 6);
	}
	/* an unresolved next hop: the rewritten frame goes to control */
	s.dst = ip("192.0.2.70");
	build(&f, &s);
	{
		struct lb_dp_result r;

		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TO_CTL);
		assert_int_equal(r.ctl, LB_DP_CTL_RESOLVE);
		assert_int_equal(r.nexthop, ip("198.51.100.99"));
		assert_int_equal(r.port, 1);
		assert_int_equal(view(&f).dst, ip("198.51.100.99"));
	}
	/* GRE to a VIP */
	s.dst = vip;
	s.proto = 47;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_L4_PROTO);
	/* a bad IP checksum */
	s.proto = LB_PROTO_TCP;
	build(&f, &s);
	f.data[14 + 10] ^= 0x55;
	expect_drop(e, &f, 0, LB_DROP_IP_CSUM);
	/* truncations of a valid SYN: every length is dropped, none crashes */
	build(&f, &s);
	for (uint32_t len = 0; len < 14 + 20 + 20; len++) {
		struct frame t;
		struct lb_dp_result r;

		memcpy(&t, &f, sizeof(t));
		t.data = t.buf + HEADROOM;
		t.len = len;
		assert_int_equal(run(e, &t, 0, &r, NULL), LB_DP_DROP);
	}
	/* TCP to lbd's own address */
	s.dst = ip("192.0.2.1");
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_LOCAL_UNSUPPORTED);
	env_free(e);
}

/* A port with a kernel interface: what lbd does not answer to its own address
 * goes to control (LB_DP_CTL_KERNEL) within kernel_rate, except from targets;
 * echo stays lbd's, and VIPs, SNAT addresses and other ports' addresses never
 * go there. */
static void
test_kernel_path(void **state)
{
	struct env *e = env_new("", "");
	struct lb_snap *snap = (struct lb_snap *)e->snap;
	struct lb_dp_result r;
	struct frame f;
	struct pspec s = { .src_mac = CLIENT_MAC, .dst_mac = EXT_MAC, .src = ip("203.0.113.7"),
		.dst = ip("192.0.2.1"), .proto = LB_PROTO_TCP, .sport = 1000, .dport = 22,
		.flags = LB_TCP_SYN };
	uint64_t to_ctl = 0;

	(void)state;
	snap->ports[0].kernel = 1;
	snap->ports[0].kernel_rate = 20;	/* burst: 2 frames */
	build(&f, &s);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_KERNEL);
	assert_int_equal(r.port, 0);
	assert_int_equal(r.adj, 0);
	build(&f, &s);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TO_CTL);
	/* the bucket is empty (both frames went to worker 0: one client) */
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_KERNEL_RATE);
	/* 50 ms at 20/s: one more */
	e->now += 50;
	build(&f, &s);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TO_CTL);
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_KERNEL_RATE);
	/* UDP and ICMP other than echo go too; echo is answered by lbd */
	e->now += 1000;
	s.proto = LB_PROTO_UDP;
	build(&f, &s);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TO_CTL);
	assert_int_equal(r.ctl, LB_DP_CTL_KERNEL);
	/* a VIP's unknown port is not the kernel's */
	s.proto = LB_PROTO_TCP;
	s.dst = ip("192.0.2.10");
	s.dport = 81;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_NO_FRONTEND);
	/* the internal port has no kernel interface: still unsupported there */
	s.dst = ip("198.51.100.1");
	s.src = ip("198.51.100.11");
	s.src_mac = target_mac(s.src);
	s.dst_mac = INT_MAC;
	build(&f, &s);
	expect_drop(e, &f, 1, LB_DROP_LOCAL_UNSUPPORTED);
	/* ... with one, a target's frames are never rate-limited */
	snap->ports[1].kernel = 1;
	snap->ports[1].kernel_rate = 1;
	for (int i = 0; i < 50; i++) {
		build(&f, &s);
		assert_int_equal(run(e, &f, 1, &r, NULL), LB_DP_TO_CTL);
		assert_int_equal(r.ctl, LB_DP_CTL_KERNEL);
		to_ctl++;
	}
	assert_int_equal(drops(e, LB_DROP_KERNEL_RATE), 2);
	/* SNAT addresses stay the data path's: a reply without a flow */
	s.dst = ip("198.51.100.2");
	s.dport = 20001;
	build(&f, &s);
	assert_int_equal(run(e, &f, 1, &r, NULL), LB_DP_DROP);
	assert_int_equal(r.reason, LB_DROP_NO_FLOW);
	(void)to_ctl;
	env_free(e);
}

/* The external side is on VLAN 100 and the internal side untagged, then the
 * other way round: tags are popped and pushed on the way. */
static void
test_vlan(void **state)
{
	struct env *e = env_new("vlan = 100;", "");
	struct frame f;
	struct lb_dp_result r;
	struct view v;
	struct pspec s = { .src_mac = CLIENT_MAC, .dst_mac = EXT_MAC, .vlan = 100,
		.src = ip("203.0.113.7"), .dst = ip("192.0.2.10"), .proto = LB_PROTO_TCP,
		.sport = 1000, .dport = 80, .flags = LB_TCP_SYN, .payload = 5 };
	uint32_t len;

	(void)state;
	build(&f, &s);
	len = f.len;
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	assert_int_equal(r.adj, 4);
	assert_int_equal(f.len, len - 4);
	v = view(&f);
	assert_int_equal(v.vlan, -1);
	assert_memory_equal(v.src_mac, INT_MAC, 6);
	assert_true(ip_csum_ok(v.iph) && l4_csum_ok(v.iph));
	/* the reply gets the tag back */
	{
		struct pspec b = { .src_mac = target_mac(v.dst), .dst_mac = INT_MAC, .src = v.dst,
			.dst = v.src, .proto = LB_PROTO_TCP, .sport = v.dport, .dport = v.sport,
			.flags = LB_TCP_SYN | LB_TCP_ACK };

		build(&f, &b);
	}
	len = f.len;
	assert_int_equal(run(e, &f, 1, &r, NULL), LB_DP_TX);
	assert_int_equal(r.adj, -4);
	assert_int_equal(f.len, len + 4);
	v = view(&f);
	assert_int_equal(v.vlan, 100);
	assert_memory_equal(v.dst_mac, CLIENT_MAC, 6);
	assert_int_equal(v.dst, ip("203.0.113.7"));
	assert_true(ip_csum_ok(v.iph) && l4_csum_ok(v.iph));
	/* ARP on the tagged side is answered tagged */
	build_arp(&f, LB_ARP_OP_REQUEST, CLIENT_MAC, ip("192.0.2.2"), ip("192.0.2.10"), 100);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	assert_int_equal(get16(f.data + 12), LB_ETHER_TYPE_VLAN);
	assert_int_equal(get16(f.data + 14) & 0xfff, 100);
	/* untagged frames on the tagged port are not ours */
	s.vlan = 0;
	build(&f, &s);
	expect_drop(e, &f, 0, LB_DROP_VLAN);
	env_free(e);

	/* both sides tagged, different VLANs: retagged in place */
	e = env_new("vlan = 100;", "vlan = 200;");
	s.vlan = 100;
	build(&f, &s);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	assert_int_equal(r.adj, 0);
	assert_int_equal(view(&f).vlan, 200);
	env_free(e);
}

/* Session affinity: one client's connections stick to one target across
 * ports, and move when the target is drained. */
static void
test_affinity(void **state)
{
	struct env *e = env_new("", "");
	uint32_t vip = ip("192.0.2.30"), client = ip("203.0.113.77"), first = 0, o, prev_owner = 99;
	struct lb_overlay *ov = lb_overlay_new();
	struct lb_ip drained;
	struct frame f;
	struct lb_dp_result r;
	uint16_t p;

	(void)state;
	for (p = 2000; p < 2040; p++) {
		build_tcp(&f, CLIENT_MAC, client, p, vip, 443, LB_TCP_SYN);
		assert_int_equal(run(e, &f, 0, &r, &o), LB_DP_TX);
		if (first == 0)
			first = view(&f).dst;
		assert_int_equal(view(&f).dst, first);
		/* one owner for all of a client's flows */
		if (prev_owner != 99)
			assert_int_equal(o, prev_owner);
		prev_owner = o;
	}
	assert_int_equal(e->w[o].ctr.affinity_hits, 39);
	/* the pick itself hashes the client address only: any port, same slot */
	{
		struct lb_dp_trace t1, t2;

		assert_int_equal(lb_dp_trace(e->snap, client, htons(2000), vip, htons(443),
			LB_PROTO_TCP, &t1), 0);
		assert_int_equal(lb_dp_trace(e->snap, client, htons(9999), vip, htons(443),
			LB_PROTO_TCP, &t2), 0);
		assert_true(t1.affinity);
		assert_int_equal(t1.slot, t2.slot);
		assert_int_equal(t1.fe->targets[t1.target].addr, first);
	}
	/* drain the chosen target: new connections go elsewhere, and stick there */
	drained = lb_ip4(first);
	assert_int_equal(lb_overlay_drain(ov, NULL, &drained, htons(30443), true), 0);
	lb_snap_free(e->snap);
	e->snap = compile(e, "", "", "", ov);
	lb_overlay_free(ov);
	build_tcp(&f, CLIENT_MAC, client, 3000, vip, 443, LB_TCP_SYN);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	{
		uint32_t second = view(&f).dst;

		assert_int_not_equal(second, first);
		for (p = 3001; p < 3010; p++) {
			build_tcp(&f, CLIENT_MAC, client, p, vip, 443, LB_TCP_SYN);
			assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
			assert_int_equal(view(&f).dst, second);
		}
	}
	/* the old flow to the drained target still works */
	build_tcp(&f, CLIENT_MAC, client, 2000, vip, 443, LB_TCP_ACK);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	assert_int_equal(view(&f).dst, first);
	env_free(e);
}

/* Invariant 1: a new snapshot that removes a target leaves established flows
 * on their targets, and no new flow goes to the removed one. */
static void
test_reload_keeps_flows(void **state)
{
	struct env *e = env_new("", "");
	uint32_t vip = ip("192.0.2.10"), i;
	uint32_t tgt[400];
	struct frame f;
	struct lb_dp_result r;

	(void)state;
	/* add .12 first: three targets */
	lb_snap_free(e->snap);
	e->snap = compile(e, "{ address = \"198.51.100.12\"; port = 30080; },", "", "", NULL);
	for (i = 0; i < 400; i++) {
		build_tcp(&f, CLIENT_MAC, htonl(0xcb007100 + i), 5000, vip, 80, LB_TCP_SYN);
		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
		tgt[i] = view(&f).dst;
	}
	/* reload without .12 */
	lb_snap_free(e->snap);
	e->snap = compile(e, "", "", "", NULL);
	for (i = 0; i < 400; i++) {
		build_tcp(&f, CLIENT_MAC, htonl(0xcb007100 + i), 5000, vip, 80, LB_TCP_ACK);
		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
		assert_int_equal(view(&f).dst, tgt[i]);
	}
	for (i = 0; i < 400; i++) {
		build_tcp(&f, CLIENT_MAC, htonl(0xcb007100 + i), 6000, vip, 80, LB_TCP_SYN);
		assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
		assert_int_not_equal(view(&f).dst, ip("198.51.100.12"));
	}
	env_free(e);
}

/* A FIN closes a flow into the FIN class; a new SYN on the same tuple after
 * that is a new connection, picked afresh. Expiry frees flows. */
static void
test_tcp_lifecycle(void **state)
{
	struct env *e = env_new("", "");
	uint32_t vip = ip("192.0.2.10"), client = ip("203.0.113.8"), o;
	struct frame f;
	struct lb_dp_result r;

	(void)state;
	build_tcp(&f, CLIENT_MAC, client, 7000, vip, 80, LB_TCP_SYN);
	assert_int_equal(run(e, &f, 0, &r, &o), LB_DP_TX);
	assert_int_equal(lb_flow_class_count(e->w[o].flows, LB_FLOW_SYN), 1);
	build_tcp(&f, CLIENT_MAC, client, 7000, vip, 80, LB_TCP_FIN | LB_TCP_ACK);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	assert_int_equal(lb_flow_class_count(e->w[o].flows, LB_FLOW_FIN), 1);
	build_tcp(&f, CLIENT_MAC, client, 7000, vip, 80, LB_TCP_SYN);
	assert_int_equal(run(e, &f, 0, &r, NULL), LB_DP_TX);
	assert_int_equal(lb_flow_class_count(e->w[o].flows, LB_FLOW_SYN), 1);
	assert_int_equal(lb_flow_count(e->w[o].flows), 1);
	/* after the SYN timeout the flow is gone */
	e->now += e->snap->timeout_ms[LB_FLOW_SYN] + 1;
	lb_dp_housekeep(&e->w[o], e->now, 100);
	assert_int_equal(lb_flow_count(e->w[o].flows), 0);
	env_free(e);
}

/* Invariant 6: per worker rx + handoff_in == tx + handoff_out + to_ctl + drops,
 * counting verdicts as the worker loop does. */
static void
test_counters_add_up(void **state)
{
	struct env *e = env_new("", "");
	uint64_t rx[NWORKERS] = { 0 }, hin[NWORKERS] = { 0 }, tx[NWORKERS] = { 0 };
	uint64_t hout[NWORKERS] = { 0 }, ctl[NWORKERS] = { 0 };
	uint32_t i, k;

	(void)state;
	srand(7);
	for (i = 0; i < 2000; i++) {
		struct frame f;
		struct pspec s = { .src_mac = CLIENT_MAC, .dst_mac = EXT_MAC,
			.src = htonl(0xcb007100 + (uint32_t)(rand() % 50)),
			.dst = ip(rand() % 5 ? "192.0.2.10" : "192.0.2.70"),
			.proto = rand() % 4 ? LB_PROTO_TCP : LB_PROTO_UDP,
			.sport = (uint16_t)(1024 + rand() % 100), .dport = rand() % 7 ? 80 : 53,
			.flags = rand() % 3 ? LB_TCP_SYN : LB_TCP_ACK, .ttl = (uint8_t)(rand() % 20) };
		uint32_t wi = (uint32_t)rand() % NWORKERS;
		struct lb_dp_result r;
		enum lb_dp_verdict v;

		build(&f, &s);
		if (rand() % 10 == 0)
			f.len = (uint32_t)rand() % f.len;
		rx[wi]++;
		for (k = 0;; k++) {
			v = lb_dp_process(&e->w[wi], e->snap, e->nt, f.data, f.len, HEADROOM, 0,
				e->now, &r);
			if (v != LB_DP_HANDOFF)
				break;
			assert_true(k == 0);
			hout[wi]++;
			wi = r.worker;
			hin[wi]++;
		}
		if (v == LB_DP_TX)
			tx[wi]++;
		else if (v == LB_DP_TO_CTL)
			ctl[wi]++;
	}
	for (i = 0; i < NWORKERS; i++) {
		uint64_t d = 0;

		for (k = 0; k < LB_DROP_MAX; k++)
			d += e->w[i].ctr.drops[k];
		assert_int_equal(rx[i] + hin[i], tx[i] + hout[i] + ctl[i] + d);
	}
	env_free(e);
}

static void
test_drop_names(void **state)
{
	unsigned i, j;

	(void)state;
	for (i = 0; i < LB_DROP_MAX; i++) {
		assert_non_null(lb_drop_str((enum lb_drop)i));
		assert_string_not_equal(lb_drop_str((enum lb_drop)i), "unknown");
		for (j = 0; j < i; j++)
			assert_string_not_equal(lb_drop_str((enum lb_drop)i), lb_drop_str((enum lb_drop)j));
	}
	assert_string_equal(lb_drop_str(LB_DROP_MAX), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fullnat_flow),
		cmocka_unit_test(test_spread_and_owners),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_dnat),
		cmocka_unit_test(test_dnat_stateless_reply),
		cmocka_unit_test(test_arp_and_echo),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_kernel_path),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_reload_keeps_flows),
		cmocka_unit_test(test_tcp_lifecycle),
		cmocka_unit_test(test_counters_add_up),
		cmocka_unit_test(test_drop_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
