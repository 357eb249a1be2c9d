/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dp, part three: per-frontend and per-target counters. Crafted frames
 * through the data path in both directions (burst API and frame by frame,
 * two workers with hand-offs), the drops that belong to a frontend, flows
 * that end (expiry, a reused tuple), and slots kept across a snapshot
 * rebuild that moves the frontends around. Slots are given by stable id
 * here as app/lbd/counters.c gives them (lib/stats' slot map is tested in
 * test_stats.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_addr.h"
#include "lb_config.h"
#include "lb_dp.h"
#include "lb_neigh.h"
#include "lb_pkt.h"
#include "lb_snap.h"
#include "dp_util.h"

#define MAXW		2
#define NSLOTS		16

static const uint8_t EXT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t INT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0, 0, 0, 0xcc, 0x01 };

/* %s: frontends put first (a rebuild that moves the others); %u capacity,
 * %u udp timeout */
static const char *config =
	"ports = (\n"
	"  { name = \"ext\"; device = \"net_null0\"; role = \"external\"; address = \"192.0.2.1/24\"; },\n"
	"  { name = \"int\"; device = \"net_null1\"; role = \"internal\"; address = \"198.51.100.1/24\";\n"
	"    neighbours = (\n"
	"      { address = \"198.51.100.11\"; mac = \"02:00:00:00:01:11\"; },\n"
	"      { address = \"198.51.100.12\"; mac = \"02:00:00:00:01:12\"; },\n"
	"      { address = \"198.51.100.13\"; mac = \"02:00:00:00:01:13\"; },\n"
	"      { address = \"198.51.100.21\"; mac = \"02:00:00:00:01:21\"; }\n"
	"    ); }\n"
	");\n"
	"workers = { lcores = [1, 2]; flow_capacity = %u;\n"
	"  snat_addresses = [\"198.51.100.2\"]; snat_ports = [1024, 65535];\n"
	"  timeouts = { tcp_syn = 30; tcp_established = 600; tcp_fin = 30; udp = %u; }; };\n"
	"frontends = ( %s\n"
	"  { name = \"web\"; vip = \"192.0.2.10\"; port = 80; targets = (\n"
	"      { address = \"198.51.100.11\"; port = 30080; },\n"
	"      { address = \"198.51.100.12\"; port = 30080; },\n"
	"      { address = \"198.51.100.13\"; port = 30080; } ); },\n"
	"  { name = \"dns\"; vip = \"192.0.2.10\"; protocol = \"udp\"; port = 53; targets = (\n"
	"      { address = \"198.51.100.11\"; port = 30053; } ); },\n"
	"  { name = \"pods\"; vip = \"192.0.2.20\"; port = 8080; method = \"dnat\"; targets = (\n"
	"      { address = \"198.51.100.21\"; port = 8080; } ); },\n"
	"  { name = \"acl\"; vip = \"192.0.2.40\"; port = 80; source_ranges = [\"203.0.113.0/24\"];\n"
	"    targets = ( { address = \"198.51.100.11\"; port = 30081; } ); },\n"
	"  { name = \"empty\"; vip = \"192.0.2.50\"; port = 80; }\n"
	");\n";

struct env {
	uint32_t nw;
	struct lb_config *cfg;
	struct lb_snap *snap;
	struct lb_neigh *neigh;
	struct lb_neigh_table *nt;
	struct lb_dp_worker w[MAXW];
	void *mem[MAXW][2];
	struct lb_stats_fe_set fe[MAXW][NSLOTS];
	struct lb_stats_target_set t[MAXW][NSLOTS];
	/* slot maps by stable key, as the control thread keeps them */
	uint64_t fe_key[NSLOTS], t_key[NSLOTS];
	uint32_t n_fe_key, n_t_key;
	const char *extra;
	uint64_t now;
};

static uint32_t
ip(const char *s)
{
	uint32_t a;

	assert_int_equal(lb_ip4_parse(s, &a), 0);
	return a;
}

/* --- frames (own checksums: a plain byte loop) --- */

static uint32_t
client_frame(uint8_t *f, uint32_t client, uint16_t cport, const char *vip, uint16_t vport,
	uint8_t proto, uint8_t flags, uint32_t seq)
{
	return dpu_l4_frame(f, EXT_MAC, CLIENT_MAC, client, cport, ip(vip), vport, proto, flags, seq);
}

/* --- environment --- */

static uint32_t
slot_of(uint64_t *keys, uint32_t *n, uint64_t key)
{
	uint32_t i;

	for (i = 0; i < *n; i++)
		if (keys[i] == key)
			return i;
	assert_true(*n < NSLOTS);
	keys[*n] = key;
	return (*n)++;
}

/* Gives s's frontends and targets their slots, by stable id. */
static void
assign(struct env *e, struct lb_snap *s)
{
	uint32_t i, j;

	for (i = 0; i < s->n_fes; i++) {
		struct lb_snap_fe *fe = (struct lb_snap_fe *)&s->fes[i];
		struct lb_snap_target *t = (struct lb_snap_target *)fe->targets;

		assert_int_equal(fe->ctr, LB_SNAP_NO_CTR);	/* the compiler leaves them */
		fe->ctr = slot_of(e->fe_key, &e->n_fe_key, fe->id);
		for (j = 0; j < fe->n_targets; j++)
			t[j].ctr = slot_of(e->t_key, &e->n_t_key, fe->id * 31 + t[j].id);
	}
}

static struct lb_snap *
compile(struct env *e, uint32_t capacity, uint32_t udp_timeout, bool rss_owner)
{
	char text[8192], err[512];
	struct lb_snap_env se;
	struct lb_snap *s;

	snprintf(text, sizeof(text), config, capacity, udp_timeout, e->extra ? e->extra : "");
	if (e->cfg != NULL)
		lb_config_free(e->cfg);
	e->cfg = lb_config_load_string(text, "t.conf", err, sizeof(err));
	if (e->cfg == NULL)
		fail_msg("config: %s", err);
	memset(&se, 0, sizeof(se));
	se.n_workers = e->nw;
	se.dev[1] = 1;
	se.rss_owner[0] = se.rss_owner[1] = rss_owner;
	memcpy(se.mac[0], EXT_MAC, 6);
	memcpy(se.mac[1], INT_MAC, 6);
	s = lb_snap_build_config(e->cfg, &se, NULL, err, sizeof(err));
	if (s == NULL)
		fail_msg("snap: %s", err);
	assign(e, s);
	return s;
}

static struct env *
env_new(uint32_t nw, uint32_t capacity, uint32_t udp_timeout, const char *extra)
{
	const struct lb_neigh_params np = { .reachable_ms = 300000, .retries = 3, .retry_ms = 1000,
		.queue_len = 3, .failed_hold_ms = 5000, .max_entries = 64 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	struct env *e = aligned_alloc(64, (sizeof(*e) + 63) & ~(size_t)63);
	const struct lb_config_port *p;
	uint32_t ips[8], i;
	uint8_t macs[8][6], ports[8];

	assert_non_null(e);
	memset(e, 0, sizeof(*e));
	e->nw = nw;
	e->now = 5000000;
	e->extra = extra;
	e->snap = compile(e, capacity, udp_timeout, false);
	e->neigh = lb_neigh_create(&np, &ops);
	p = &e->cfg->ports[1];
	for (i = 0; i < p->n_neigh; i++) {
		ips[i] = p->neigh[i].addr;
		memcpy(macs[i], p->neigh[i].mac, 6);
		ports[i] = 1;
	}
	assert_int_equal(lb_neigh_set_static(e->neigh, ips, (const uint8_t (*)[6])macs, ports,
		p->n_neigh, e->now), 0);
	e->nt = lb_neigh_table_build(e->neigh);
	for (i = 0; i < nw; i++) {
		size_t fsz = lb_flow_table_memsize(capacity), asz = lb_flow_table_memsize(1024);

		e->mem[i][0] = aligned_alloc(64, (fsz + 63) & ~(size_t)63);
		e->mem[i][1] = aligned_alloc(64, (asz + 63) & ~(size_t)63);
		e->w[i].id = i;
		e->w[i].flows = lb_flow_table_init(e->mem[i][0], capacity, 42 + i);
		e->w[i].affinity = lb_flow_table_init(e->mem[i][1], 1024, 99 + i);
		assert_int_equal(lb_snat_init(&e->w[i].snat, &e->snap->snat, i, e->cfg->snat_addrs,
			e->cfg->n_snat), 0);
		assert_int_equal(lb_dp_counters_attach(&e->w[i], e->fe[i], NSLOTS, e->t[i], NSLOTS),
			0);
	}
	return e;
}

static void
env_free(struct env *e)
{
	uint32_t i;

	for (i = 0; i < e->nw; i++) {
		free(e->mem[i][0]);
		free(e->mem[i][1]);
	}
	lb_neigh_table_free(e->nt);
	lb_neigh_destroy(e->neigh);
	lb_snap_free(e->snap);
	lb_config_free(e->cfg);
	free(e);
}

/* Runs one frame on its owner (worker 0 first, then the owner it names). */
static enum lb_dp_verdict
run(struct env *e, uint8_t *f, uint32_t len, uint8_t port, struct lb_dp_result *r)
{
	enum lb_dp_verdict v;

	v = lb_dp_process(&e->w[0], e->snap, e->nt, f, len, 0, port, e->now, r);
	if (v == LB_DP_HANDOFF)
		v = lb_dp_process(&e->w[r->worker], e->snap, e->nt, f, len, 0, port, e->now, r);
	assert_int_not_equal(v, LB_DP_HANDOFF);
	return v;
}

/* The sum over workers of a frontend's (target's) counter. */
static uint64_t
fe_sum(struct env *e, const char *name, enum lb_stats_fe_ctr c)
{
	uint64_t n = 0;
	uint32_t i, w;

	for (i = 0; i < e->snap->n_fes; i++)
		if (strcmp(e->snap->fes[i].name, name) == 0)
			for (w = 0; w < e->nw; w++)
				n += e->fe[w][e->snap->fes[i].ctr].v[c];
	return n;
}

static uint64_t
t_sum(struct env *e, const struct lb_snap_target *t, enum lb_stats_target_ctr c)
{
	uint64_t n = 0;
	uint32_t w;

	for (w = 0; w < e->nw; w++)
		n += e->t[w][t->ctr].v[c];
	return n;
}

static const struct lb_snap_fe *
fe_named(struct env *e, const char *name)
{
	uint32_t i;

	for (i = 0; i < e->snap->n_fes; i++)
		if (strcmp(e->snap->fes[i].name, name) == 0)
			return &e->snap->fes[i];
	fail_msg("no frontend %s", name);
	return NULL;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

#define NCONN	64

/* Client frames in bursts, then the targets' replies frame by frame: each
 * direction counted once per frame, for the frontend and the target the
 * frame went to, bytes as received; created flows per frontend and target. */
static void
test_both_directions(void **state)
{
	struct env *e = env_new(2, 4096, 300, NULL);
	static uint8_t buf[NCONN][128];
	struct lb_dp_pkt pk[NCONN];
	const struct lb_snap_fe *web = fe_named(e, "web");
	uint64_t per_t_in[8] = { 0 }, per_t_out[8] = { 0 }, bytes_in = 0, bytes_out = 0;
	uint32_t i, j, w, n_out = 0;

	(void)state;
	for (w = 0; w < e->nw; w++) {
		uint32_t n = 0;

		/* each worker gets the frames it owns, so no hand-off in a burst */
		for (i = 0; i < NCONN; i++) {
			uint32_t client = htonl(0xcb007100 + i);
			struct lb_dp_trace tr;

			assert_int_equal(lb_dp_trace(e->snap, client, htons(4000), ip("192.0.2.10"),
				htons(80), LB_PROTO_TCP, &tr), 0);
			if ((uint32_t)tr.owner != w)
				continue;
			memset(&pk[n], 0, sizeof(pk[n]));
			pk[n].frame = buf[i];
			pk[n].len = client_frame(buf[i], client, 4000, "192.0.2.10", 80, LB_PROTO_TCP,
				LB_TCP_SYN, i);
			bytes_in += pk[n].len;
			n++;
		}
		lb_dp_process_burst(&e->w[w], e->snap, e->nt, pk, n, e->now);
		for (i = 0; i < n; i++) {
			uint32_t dst = get32(pk[i].frame + 14 + 16);

			assert_int_equal(pk[i].verdict, LB_DP_TX);
			for (j = 0; j < web->n_targets; j++)
				if (web->targets[j].addr == dst)
					per_t_in[j]++;
		}
	}
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_PKTS_IN), NCONN);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_BYTES_IN), bytes_in);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_FLOWS_CREATED), NCONN);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_PKTS_OUT), 0);
	assert_int_equal(fe_sum(e, "dns", LB_STATS_FE_PKTS_IN), 0);

	/* the replies: target -> SNAT address:port, 20 bytes of payload more */
	for (i = 0; i < NCONN; i++) {
		uint8_t *f = buf[i], rep[160];
		uint32_t tgt = get32(f + 14 + 16), snat = get32(f + 14 + 12), len;
		uint16_t tport = get16(f + 34 + 2), sport = get16(f + 34);
		struct lb_dp_result r;

		len = dpu_l4_frame(rep, INT_MAC, (const uint8_t *)"\x02\x00\x00\x00\x01\x11", tgt,
			tport, snat, sport, LB_PROTO_TCP, LB_TCP_SYN | LB_TCP_ACK, i);
		assert_int_equal(run(e, rep, len, 1, &r), LB_DP_TX);
		bytes_out += len;
		n_out++;
		for (j = 0; j < web->n_targets; j++)
			if (web->targets[j].addr == tgt)
				per_t_out[j]++;
	}
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_PKTS_OUT), n_out);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_BYTES_OUT), bytes_out);
	for (j = 0; j < web->n_targets; j++) {
		const struct lb_snap_target *t = &web->targets[j];

		assert_int_equal(t_sum(e, t, LB_STATS_T_PKTS_IN), per_t_in[j]);
		assert_int_equal(t_sum(e, t, LB_STATS_T_FLOWS_CREATED), per_t_in[j]);
		assert_int_equal(t_sum(e, t, LB_STATS_T_PKTS_OUT), per_t_out[j]);
		assert_true(per_t_in[j] > 0);	/* 64 flows reach all three */
	}
	/* the frontend's counters are the sum of its targets' */
	{
		uint64_t b_in = 0, b_out = 0;

		for (j = 0; j < web->n_targets; j++) {
			b_in += t_sum(e, &web->targets[j], LB_STATS_T_BYTES_IN);
			b_out += t_sum(e, &web->targets[j], LB_STATS_T_BYTES_OUT);
		}
		assert_int_equal(b_in, bytes_in);
		assert_int_equal(b_out, bytes_out);
	}
	/* both workers counted (their own sets only) */
	assert_true(e->fe[0][web->ctr].v[LB_STATS_FE_PKTS_IN] > 0);
	assert_true(e->fe[1][web->ctr].v[LB_STATS_FE_PKTS_IN] > 0);

	/* DNAT: the reply comes from the pod to the client itself */
	{
		uint8_t f[128];
		uint32_t client = ip("203.0.113.9"), len;
		struct lb_dp_result r;
		const struct lb_snap_fe *pods = fe_named(e, "pods");

		len = client_frame(f, client, 5555, "192.0.2.20", 8080, LB_PROTO_TCP, LB_TCP_SYN, 1);
		assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
		len = dpu_l4_frame(f, INT_MAC, (const uint8_t *)"\x02\x00\x00\x00\x01\x21",
			ip("198.51.100.21"), 8080, client, 5555, LB_PROTO_TCP, LB_TCP_SYN | LB_TCP_ACK, 2);
		assert_int_equal(run(e, f, len, 1, &r), LB_DP_TX);
		assert_int_equal(fe_sum(e, "pods", LB_STATS_FE_PKTS_IN), 1);
		assert_int_equal(fe_sum(e, "pods", LB_STATS_FE_PKTS_OUT), 1);
		assert_int_equal(t_sum(e, &pods->targets[0], LB_STATS_T_PKTS_OUT), 1);
	}
	env_free(e);
}

static uint64_t
worker_drops(struct env *e, enum lb_drop d)
{
	uint64_t n = 0;
	uint32_t w;

	for (w = 0; w < e->nw; w++)
		n += e->w[w].ctr.drops[d];
	return n;
}

/* Drops that belong to a frontend are counted for it and for the worker. */
static void
test_frontend_drops(void **state)
{
	struct env *e = env_new(2, 4096, 300, NULL);
	struct lb_dp_result r;
	uint8_t f[128];
	uint32_t len, i;

	(void)state;
	/* source outside the frontend's ranges */
	for (i = 0; i < 3; i++) {
		len = client_frame(f, ip("198.18.0.1") + htonl(i), 4000, "192.0.2.40", 80,
			LB_PROTO_TCP, LB_TCP_SYN, i);
		assert_int_equal(run(e, f, len, 0, &r), LB_DP_DROP);
		assert_int_equal(r.reason, LB_DROP_ACL);
	}
	assert_int_equal(fe_sum(e, "acl", LB_STATS_FE_DROP_ACL), 3);
	assert_int_equal(worker_drops(e, LB_DROP_ACL), 3);
	assert_int_equal(fe_sum(e, "acl", LB_STATS_FE_PKTS_IN), 0);
	/* no target */
	len = client_frame(f, ip("203.0.113.1"), 4000, "192.0.2.50", 80, LB_PROTO_TCP, LB_TCP_SYN, 1);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_DROP);
	assert_int_equal(fe_sum(e, "empty", LB_STATS_FE_DROP_NO_TARGET), 1);
	/* a FullNAT frame without a flow that cannot start one */
	len = client_frame(f, ip("203.0.113.1"), 4001, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_ACK, 1);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_DROP);
	assert_int_equal(r.reason, LB_DROP_NO_FLOW);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_DROP_NO_FLOW), 1);
	/* TTL 1 */
	len = client_frame(f, ip("203.0.113.1"), 4002, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 1);
	f[14 + 8] = 1;
	dpu_put16(f + 14 + 10, 0);
	dpu_put16(f + 14 + 10, dpu_ref_csum(f + 14, 20, 0));
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_DROP);
	assert_int_equal(r.reason, LB_DROP_TTL);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_DROP_TTL), 1);
	/* a frame to no frontend counts for none */
	len = client_frame(f, ip("203.0.113.1"), 4003, "192.0.2.10", 81, LB_PROTO_TCP, LB_TCP_SYN, 1);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_DROP);
	for (i = 0; i < e->snap->n_fes; i++) {
		const struct lb_snap_fe *fe = &e->snap->fes[i];
		uint64_t d = 0;
		unsigned k;

		for (k = LB_STATS_FE_DROP_ACL; k < LB_STATS_FE_N; k++)
			d += fe_sum(e, fe->name, (enum lb_stats_fe_ctr)k);
		assert_int_equal(d, strcmp(fe->name, "acl") == 0 ? 3 :
			strcmp(fe->name, "empty") == 0 ? 1 : strcmp(fe->name, "web") == 0 ? 2 : 0);
	}
	env_free(e);
}

/* Flows that end are counted where they were created: a reused tuple, then
 * expiry; active = created - ended comes back to 0. */
static void
test_flows_ended(void **state)
{
	struct env *e = env_new(1, 4096, 5, NULL);
	const struct lb_snap_fe *web;
	struct lb_dp_result r;
	uint8_t f[128];
	uint64_t t_created = 0, t_ended = 0;
	uint32_t len, i;

	(void)state;
	web = fe_named(e, "web");
	for (i = 0; i < 10; i++) {
		len = client_frame(f, ip("203.0.113.1") + htonl(i), 4000, "192.0.2.10", 80,
			LB_PROTO_TCP, LB_TCP_SYN, i);
		assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	}
	len = client_frame(f, ip("203.0.113.1"), 4000, "192.0.2.10", 80, LB_PROTO_TCP,
		LB_TCP_FIN | LB_TCP_ACK, 99);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	/* a SYN on the closed tuple: the old flow ends, a new one starts */
	len = client_frame(f, ip("203.0.113.1"), 4000, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 100);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_FLOWS_CREATED), 11);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_FLOWS_ENDED), 1);
	/* UDP flows too */
	len = client_frame(f, ip("203.0.113.1"), 5353, "192.0.2.10", 53, LB_PROTO_UDP, 0, 1);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	assert_int_equal(fe_sum(e, "dns", LB_STATS_FE_FLOWS_CREATED), 1);
	/* everything expires */
	e->now += 60000;
	lb_dp_housekeep(&e->w[0], e->now, 1000);
	assert_int_equal(lb_flow_count(e->w[0].flows), 0);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_FLOWS_ENDED), 11);
	assert_int_equal(fe_sum(e, "dns", LB_STATS_FE_FLOWS_ENDED), 1);
	for (i = 0; i < web->n_targets; i++) {
		t_created += t_sum(e, &web->targets[i], LB_STATS_T_FLOWS_CREATED);
		t_ended += t_sum(e, &web->targets[i], LB_STATS_T_FLOWS_ENDED);
	}
	assert_int_equal(t_created, 11);
	assert_int_equal(t_ended, 11);
	/* without sets nothing is counted, and nothing breaks */
	assert_int_equal(lb_dp_counters_attach(&e->w[0], NULL, 0, NULL, 0), 0);
	len = client_frame(f, ip("203.0.113.1"), 4000, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 1);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	e->now += 60000;
	lb_dp_housekeep(&e->w[0], e->now, 1000);
	assert_int_equal(fe_sum(e, "web", LB_STATS_FE_FLOWS_CREATED), 11);
	assert_int_equal(lb_dp_counters_attach(&e->w[0], e->fe[0], LB_DP_FE_CTR_MAX + 1, e->t[0], 1),
		-EINVAL);
	env_free(e);
}

/* A rebuild that puts a new frontend first (every index moves) keeps each
 * frontend's and target's slot by id: counts go on where they were, for new
 * frames and for the replies of flows created before it; a frontend that
 * left the snapshot still counts its flows' replies and ends. */
static void
test_rebuild_keeps_slots(void **state)
{
	struct env *e = env_new(1, 4096, 300, NULL);
	struct lb_snap *old;
	struct lb_dp_result r;
	uint8_t f[128], rep[128];
	uint32_t len, web_slot, dns_slot, tgt, snat;
	uint16_t tport, sport;

	(void)state;
	web_slot = fe_named(e, "web")->ctr;
	dns_slot = fe_named(e, "dns")->ctr;
	len = client_frame(f, ip("203.0.113.1"), 4000, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 1);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	tgt = get32(f + 14 + 16);
	snat = get32(f + 14 + 12);
	tport = get16(f + 34 + 2);
	sport = get16(f + 34);

	/* rebuild: a new frontend first, dns gone */
	old = e->snap;
	e->extra = "{ name = \"first\"; vip = \"192.0.2.9\"; port = 80; targets = ("
		" { address = \"198.51.100.13\"; port = 1; } ); },";
	e->snap = compile(e, 4096, 300, false);
	lb_snap_free(old);
	assert_true(fe_named(e, "web") != &e->snap->fes[0]);
	assert_int_equal(fe_named(e, "web")->ctr, web_slot);
	assert_int_not_equal(fe_named(e, "first")->ctr, dns_slot);

	/* the old flow, both directions, and a new one */
	len = client_frame(f, ip("203.0.113.1"), 4000, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_ACK, 2);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	len = dpu_l4_frame(rep, INT_MAC, (const uint8_t *)"\x02\x00\x00\x00\x01\x11", tgt, tport, snat,
		sport, LB_PROTO_TCP, LB_TCP_ACK, 3);
	assert_int_equal(run(e, rep, len, 1, &r), LB_DP_TX);
	len = client_frame(f, ip("203.0.113.2"), 4000, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 4);
	assert_int_equal(run(e, f, len, 0, &r), LB_DP_TX);
	assert_int_equal(e->fe[0][web_slot].v[LB_STATS_FE_PKTS_IN], 3);
	assert_int_equal(e->fe[0][web_slot].v[LB_STATS_FE_PKTS_OUT], 1);
	assert_int_equal(e->fe[0][web_slot].v[LB_STATS_FE_FLOWS_CREATED], 2);
	assert_int_equal(fe_sum(e, "first", LB_STATS_FE_PKTS_IN), 0);
	env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_directions),
		cmocka_unit_test(test_frontend_drops),
		cmocka_unit_test(test_flows_ended),
		cmocka_unit_test(test_rebuild_keeps_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
