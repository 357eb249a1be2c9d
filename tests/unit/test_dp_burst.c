/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dp, part two: the burst API against frame-by-frame processing, NIC
 * hints, the owner rule with 2 to 4 workers (frames delivered as a NIC
 * programmed by lbd would, then at random), and the flow-table regressions of
 * issue 7 through the data path. Frames are built here with their own
 * checksum routine; the snapshot comes from a config string through the real
 * loader and compiler.
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

#define MAXW		4
#define SLOT		256
#define HEADROOM	64

static const uint8_t EXT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t INT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0, 0, 0, 0xcc, 0x01 };

/* %u capacity, %u udp timeout */
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
	"workers = { lcores = [1, 2, 3, 4]; flow_capacity = %u;\n"
	"  snat_addresses = [\"198.51.100.2\", \"198.51.100.3\"]; snat_ports = [1024, 65535];\n"
	"  timeouts = { tcp_syn = 30; tcp_established = 600; tcp_fin = 30; udp = %u; }; };\n"
	"frontends = (\n"
	"  { name = \"web\"; vip = \"192.0.2.10\"; port = 80; targets = (\n"
	"      { address = \"198.51.100.11\"; port = 30080; },\n"
	"      { address = \"198.51.100.12\"; port = 30080; },\n"
	"      { address = \"198.51.100.13\"; port = 30080; } ); },\n"
	"  { name = \"dns\"; vip = \"192.0.2.10\"; protocol = \"udp\"; port = 53; targets = (\n"
	"      { address = \"198.51.100.11\"; port = 30053; },\n"
	"      { address = \"198.51.100.12\"; port = 30053; } ); },\n"
	"  { name = \"pods\"; vip = \"192.0.2.20\"; port = 8080; method = \"dnat\"; targets = (\n"
	"      { address = \"198.51.100.21\"; port = 8080; } ); },\n"
	"  { name = \"long\"; vip = \"192.0.2.30\"; port = 443; session_affinity = \"client_ip\";\n"
	"    affinity_timeout = 600; targets = ( { address = \"198.51.100.11\"; port = 30443; },\n"
	"      { address = \"198.51.100.12\"; port = 30443; },\n"
	"      { address = \"198.51.100.13\"; port = 30443; } ); },\n"
	"  { name = \"short\"; vip = \"192.0.2.31\"; port = 443; session_affinity = \"client_ip\";\n"
	"    affinity_timeout = 1; targets = ( { address = \"198.51.100.11\"; port = 30443; },\n"
	"      { address = \"198.51.100.12\"; port = 30443; } ); }\n"
	");\n";

struct env {
	uint32_t nw;
	struct lb_config *cfg;
	struct lb_snap *snap;
	struct lb_neigh *neigh;
	struct lb_neigh_table *nt;
	struct lb_dp_worker w[MAXW];
	void *mem[MAXW][2];
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

static bool
csums_ok(const uint8_t *f)
{
	const uint8_t *iph = f + 14;
	uint32_t tot = (uint32_t)iph[2] << 8 | iph[3], l4len = tot - 20, acc;
	uint32_t src, dst;

	if (dpu_ref_csum(iph, 20, 0) != 0)
		return false;
	memcpy(&src, iph + 12, 4);
	memcpy(&dst, iph + 16, 4);
	acc = (ntohl(src) >> 16) + (ntohl(src) & 0xffff) + (ntohl(dst) >> 16) +
		(ntohl(dst) & 0xffff) + iph[9] + l4len;
	return dpu_ref_csum(iph + 20, l4len, acc) == 0;
}

/* --- environment --- */

static struct lb_snap *
compile(struct env *e, uint32_t capacity, uint32_t udp_timeout, bool rss_owner)
{
	char text[8192], err[512];
	struct lb_snap_env se;
	struct lb_snap *s;

	snprintf(text, sizeof(text), config, capacity, udp_timeout);
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
	return s;
}

static struct env *
env_new(uint32_t nw, uint32_t capacity, uint32_t udp_timeout)
{
	const struct lb_neigh_params np = { .reachable_ms = 300000, .retries = 3, .retry_ms = 1000,
		.queue_len = 3, .failed_hold_ms = 5000, .max_entries = 64 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	struct env *e = calloc(1, sizeof(*e));
	const struct lb_config_port *p;
	uint32_t ips[8], i;
	uint8_t macs[8][6], ports[8];

	assert_non_null(e);
	e->nw = nw;
	e->now = 5000000;
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

static uint64_t
drops(const struct lb_dp_worker *w)
{
	uint64_t d = 0;
	unsigned k;

	for (k = 0; k < LB_DROP_MAX; k++)
		d += w->ctr.drops[k];
	return d;
}

/* --- burst == frame by frame --- */

struct frames {
	uint32_t n;
	uint8_t buf[4096][SLOT];
	uint32_t len[4096];
	uint8_t port[4096];
};

/* A random mix: SYNs, data, FINs, UDP, DNAT pickups, replies to flows made
 * earlier in the same burst, ARP, echo, garbage, bad checksums, TTL 1. */
static void
random_frames(struct frames *fr, uint32_t n, uint64_t seed)
{
	uint32_t i;

	fr->n = n;
	for (i = 0; i < n; i++) {
		uint8_t *f = fr->buf[i] + HEADROOM;
		uint32_t client = htonl(0xcb007100u + (uint32_t)(seed % 37));
		uint16_t cport = (uint16_t)(2000 + seed % 61);
		unsigned kind;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		kind = (unsigned)(seed >> 58);
		fr->port[i] = 0;
		if (kind < 20) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.10", 80, LB_PROTO_TCP,
				LB_TCP_SYN, i);
		} else if (kind < 36) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.10", 80, LB_PROTO_TCP,
				LB_TCP_ACK, i);
		} else if (kind < 40) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.10", 80, LB_PROTO_TCP,
				LB_TCP_FIN | LB_TCP_ACK, i);
		} else if (kind < 48) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.10", 53, LB_PROTO_UDP, 0, i);
		} else if (kind < 54) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.20", 8080, LB_PROTO_TCP,
				LB_TCP_ACK, i);
		} else if (kind < 57) {
			/* a DNAT reply from the pod to the client */
			fr->len[i] = dpu_l4_frame(f, INT_MAC, (const uint8_t *)"\x02\0\0\0\x01\x21",
				ip("198.51.100.21"), 8080, client, cport, LB_PROTO_TCP, LB_TCP_ACK, i);
			fr->port[i] = 1;
		} else if (kind < 59) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.10", 80, LB_PROTO_TCP,
				LB_TCP_SYN, i);
			f[14 + 10] ^= 0x5a;	/* bad IP checksum */
		} else if (kind < 61) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.10", 80, LB_PROTO_TCP,
				LB_TCP_ACK, i);
			fr->len[i] = 14 + 20 + 10;	/* truncated TCP */
		} else if (kind < 62) {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.99", 80, LB_PROTO_TCP,
				LB_TCP_SYN, i);	/* not lbd's */
		} else {
			fr->len[i] = client_frame(f, client, cport, "192.0.2.10", 80, LB_PROTO_TCP,
				LB_TCP_ACK, i);
			f[14 + 8] = 1;		/* TTL 1 */
			dpu_put16(f + 14 + 10, 0);
			dpu_put16(f + 14 + 10, dpu_ref_csum(f + 14, 20, 0));
		}
	}
}

static void
test_burst_equals_single(void **state)
{
	static struct frames a, b;
	uint32_t nw, i, k, chunk;
	uint64_t seed = 77;

	(void)state;
	for (nw = 1; nw <= 3; nw += 2) {
		struct env *e1 = env_new(nw, 1024, 30), *e2 = env_new(nw, 1024, 30);
		uint32_t sizes[] = { 1, 2, 7, 32, 64, 65, 200 };

		for (uint32_t round = 0; round < 20; round++) {
			random_frames(&a, 700, seed + round);
			memcpy(&b, &a, sizeof(a));
			/* e1: frame by frame on worker 0; e2: bursts on worker 0
			 * (frames owned elsewhere come back as HANDOFF in both) */
			struct lb_dp_result r1[700];
			enum lb_dp_verdict v1[700];
			struct lb_dp_pkt p2[700];

			for (i = 0; i < a.n; i++)
				v1[i] = lb_dp_process(&e1->w[0], e1->snap, e1->nt, a.buf[i] + HEADROOM,
					a.len[i], HEADROOM, a.port[i], e1->now, &r1[i]);
			for (i = 0; i < b.n; i++) {
				p2[i].frame = b.buf[i] + HEADROOM;
				p2[i].len = b.len[i];
				p2[i].headroom = HEADROOM;
				p2[i].in_port = b.port[i];
				p2[i].hints = 0;
			}
			for (i = 0, k = 0; i < b.n; i += chunk, k++) {
				chunk = LB_MIN(sizes[k % LB_ARRAY_SIZE(sizes)], b.n - i);
				lb_dp_process_burst(&e2->w[0], e2->snap, e2->nt, p2 + i, chunk, e2->now);
			}
			for (i = 0; i < a.n; i++) {
				assert_int_equal(p2[i].verdict, v1[i]);
				if (v1[i] == LB_DP_DROP)
					assert_int_equal(p2[i].r.reason, r1[i].reason);
				if (v1[i] == LB_DP_HANDOFF)
					assert_int_equal(p2[i].r.worker, r1[i].worker);
				if (v1[i] == LB_DP_TX || v1[i] == LB_DP_TO_CTL) {
					assert_int_equal(p2[i].r.port, r1[i].port);
					assert_int_equal(p2[i].r.adj, r1[i].adj);
				}
				assert_memory_equal(a.buf[i], b.buf[i], SLOT);
			}
			e1->now += 50;
			e2->now += 50;
		}
		assert_memory_equal(&e1->w[0].ctr, &e2->w[0].ctr, sizeof(e1->w[0].ctr));
		assert_true(e1->w[0].ctr.flows_created > 100);
		assert_true(drops(&e1->w[0]) > 100);
		env_free(e1);
		env_free(e2);
	}
}

/* --- NIC hints --- */

static void
test_hints(void **state)
{
	struct env *e = env_new(2, 1024, 30);
	uint8_t buf[SLOT];
	struct lb_dp_pkt p;
	uint32_t client = ip("203.0.113.9");
	uint32_t mine;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.frame = buf + HEADROOM;
	p.headroom = HEADROOM;
	mine = lb_owner_of_client(&e->snap->owner, client);
	/* checksum verified good by the NIC: trusted, even when it is not */
	p.len = client_frame(p.frame, client, 4000, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 1);
	p.frame[14 + 10] ^= 1;
	p.hints = LB_DP_HINT_IP_CSUM_GOOD;
	lb_dp_process_burst(&e->w[mine], e->snap, e->nt, &p, 1, e->now);
	assert_int_equal(p.verdict, LB_DP_TX);
	/* bad by the NIC: dropped as a bad checksum, even when it is right */
	p.len = client_frame(p.frame, client, 4001, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 2);
	p.hints = LB_DP_HINT_IP_CSUM_BAD;
	lb_dp_process_burst(&e->w[mine], e->snap, e->nt, &p, 1, e->now);
	assert_int_equal(p.verdict, LB_DP_DROP);
	assert_int_equal(p.r.reason, LB_DROP_IP_CSUM);
	/* ... and before a truncated TCP header, as the software check orders it */
	dpu_put16(p.frame + 14 + 2, 20 + 10);
	p.len = 14 + 20 + 10;
	lb_dp_process_burst(&e->w[mine], e->snap, e->nt, &p, 1, e->now);
	assert_int_equal(p.r.reason, LB_DROP_IP_CSUM);
	/* ... but after a broken IP header */
	p.len = 14 + 10;
	lb_dp_process_burst(&e->w[mine], e->snap, e->nt, &p, 1, e->now);
	assert_int_equal(p.r.reason, LB_DROP_MALFORMED_IP);
	/* RSS hash: ignored unless the snapshot says the port hashes as lib/owner */
	p.len = client_frame(p.frame, client, 4002, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 3);
	p.hints = LB_DP_HINT_RSS;
	p.rss = lb_owner_hash_addr(&e->snap->owner, client) + 1;	/* points at the other worker */
	assert_int_not_equal(lb_owner_of_hash(&e->snap->owner, p.rss), mine);
	lb_dp_process_burst(&e->w[mine], e->snap, e->nt, &p, 1, e->now);
	assert_int_equal(p.verdict, LB_DP_TX);
	lb_snap_free(e->snap);
	e->snap = compile(e, 1024, 30, true);
	p.len = client_frame(p.frame, client, 4003, "192.0.2.10", 80, LB_PROTO_TCP, LB_TCP_SYN, 4);
	lb_dp_process_burst(&e->w[mine], e->snap, e->nt, &p, 1, e->now);
	assert_int_equal(p.verdict, LB_DP_HANDOFF);
	assert_int_equal(p.r.worker, lb_owner_of_hash(&e->snap->owner, p.rss));
	env_free(e);
}

/* --- the owner rule with several workers --- */

struct conn {
	uint32_t client;
	uint16_t cport;
	const char *vip;
	uint16_t vport;
	uint8_t proto;
	/* after the first frame: what the target sees */
	uint32_t taddr, saddr;
	uint16_t tport, sport;
	uint32_t worker;
};

/* Runs one frame as a NIC would deliver it (to `to`) and follows hand-offs;
 * returns the worker that sent it, with *handoffs incremented per hop. */
static uint32_t
deliver(struct env *e, uint8_t *f, uint32_t len, uint8_t port, uint32_t to, uint32_t *handoffs,
	struct lb_dp_pkt *out)
{
	struct lb_dp_pkt p;

	memset(&p, 0, sizeof(p));
	p.frame = f;
	p.len = len;
	p.headroom = HEADROOM;
	p.in_port = port;
	lb_dp_process_burst(&e->w[to], e->snap, e->nt, &p, 1, e->now);
	if (p.verdict == LB_DP_HANDOFF) {
		(*handoffs)++;
		to = p.r.worker;
		lb_dp_process_burst(&e->w[to], e->snap, e->nt, &p, 1, e->now);
		assert_int_not_equal(p.verdict, LB_DP_HANDOFF);
	}
	*out = p;
	return to;
}

/* Both directions of FullNAT, DNAT and UDP flows through nw workers: with
 * frames on the queues lbd's RSS and rte_flow rules give them there is no
 * hand-off at all; delivered at random the results are the same, with
 * hand-offs. Returns the hand-offs. */
static uint32_t
owner_run(uint32_t nw, bool steered, struct conn *c, uint32_t nc, bool first)
{
	struct env *e = env_new(nw, 4096, 30);
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	uint64_t rng = 12345 + nw;
	uint32_t i, to, by, len, hoff = 0;
	struct lb_dp_pkt p;

	for (i = 0; i < nc; i++) {
		bool dnat = c[i].vport == 8080;

		rng = rng * 6364136223846793005ULL + 1;
		len = client_frame(f, c[i].client, c[i].cport, c[i].vip, c[i].vport, c[i].proto,
			LB_TCP_SYN, i);
		to = steered ? lb_owner_of_client(&e->snap->owner, c[i].client) :
			(uint32_t)(rng >> 40) % nw;
		by = deliver(e, f, len, 0, to, &hoff, &p);
		assert_int_equal(p.verdict, LB_DP_TX);
		assert_true(csums_ok(p.frame + p.r.adj));
		memcpy(&c[i].taddr, p.frame + 14 + 16, 4);
		c[i].tport = (uint16_t)(p.frame[14 + 22] << 8 | p.frame[14 + 23]);
		{
			uint32_t sa;
			uint16_t sp = (uint16_t)(p.frame[14 + 20] << 8 | p.frame[14 + 21]);

			memcpy(&sa, p.frame + 14 + 12, 4);
			if (first) {
				c[i].saddr = sa;
				c[i].sport = sp;
				c[i].worker = by;
			}
			/* the flow lives on the client's owner... */
			assert_int_equal(by, lb_owner_of_client(&e->snap->owner, c[i].client));
			/* ... whose SNAT ports name it */
			if (!dnat)
				assert_int_equal(lb_snat_owner(&e->snap->snat, sp), (int)by);
		}
		/* the reply, on the queue the SNAT port's rte_flow rule (FullNAT) or
		 * the destination's RSS hash (DNAT) gives it */
		{
			uint32_t sa, ca = c[i].client;
			uint16_t sp;

			memcpy(&sa, p.frame + 14 + 12, 4);
			sp = (uint16_t)(p.frame[14 + 20] << 8 | p.frame[14 + 21]);
			len = dpu_l4_frame(f, INT_MAC, (const uint8_t *)"\x02\0\0\0\x01\x11", c[i].taddr,
				c[i].tport, dnat ? ca : sa, dnat ? c[i].cport : sp, c[i].proto,
				LB_TCP_SYN | LB_TCP_ACK, i);
			rng = rng * 6364136223846793005ULL + 1;
			to = !steered ? (uint32_t)(rng >> 40) % nw : dnat ?
				lb_owner_of_client(&e->snap->owner, ca) :
				lb_owner_of_port(&e->snap->owner, sp);
			by = deliver(e, f, len, 1, to, &hoff, &p);
			assert_int_equal(p.verdict, LB_DP_TX);
			assert_true(csums_ok(p.frame + p.r.adj));
			assert_int_equal(by, lb_owner_of_client(&e->snap->owner, ca));
			/* back to the client from the VIP */
			assert_memory_equal(p.frame + p.r.adj + 14 + 16, &ca, 4);
		}
	}
	for (i = 0; i < nw; i++) {
		const struct lb_dp_counters *k = &e->w[i].ctr;

		assert_int_equal(drops(&e->w[i]), 0);
		/* every worker got its share */
		assert_true(k->flows_created > 0);
	}
	env_free(e);
	return hoff;
}

static void
test_owner_steering(void **state)
{
	static struct conn c[600], d[600];
	uint32_t nw, i;

	(void)state;
	for (nw = 2; nw <= MAXW; nw++) {
		for (i = 0; i < LB_ARRAY_SIZE(c); i++) {
			memset(&c[i], 0, sizeof(c[i]));
			c[i].client = htonl(0x0a000000u + i * 7919u);
			c[i].cport = (uint16_t)(1024 + i * 31);
			c[i].vip = i % 3 == 2 ? "192.0.2.20" : "192.0.2.10";
			c[i].vport = i % 3 == 2 ? 8080 : i % 3 == 1 ? 53 : 80;
			c[i].proto = i % 3 == 1 ? LB_PROTO_UDP : LB_PROTO_TCP;
		}
		/* As lbd programs a NIC: no frame ever crosses to another worker. */
		assert_int_equal(owner_run(nw, true, c, LB_ARRAY_SIZE(c), true), 0);
		/* At random (a device that cannot steer): hand-offs, same outcome. */
		memcpy(d, c, sizeof(c));
		assert_true(owner_run(nw, false, d, LB_ARRAY_SIZE(d), false) > LB_ARRAY_SIZE(c) / 2);
		for (i = 0; i < LB_ARRAY_SIZE(c); i++) {
			assert_int_equal(d[i].taddr, c[i].taddr);
			assert_int_equal(d[i].tport, c[i].tport);
		}
	}
}

/* --- issue 7: tables whose entries have different lifetimes --- */

static enum lb_dp_verdict
run1(struct env *e, uint8_t *f, uint32_t len, uint8_t port, struct lb_dp_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->frame = f;
	p->len = len;
	p->headroom = HEADROOM;
	p->in_port = port;
	lb_dp_process_burst(&e->w[0], e->snap, e->nt, p, 1, e->now);
	return p->verdict;
}

/* After a reload shortened the UDP timeout from 600 s to 1 s, idle flows
 * under the new timeout expire and the flow created under the old one keeps
 * its SNAT endpoint when the table fills again. */
static void
test_udp_timeout_shortened(void **state)
{
	struct env *e = env_new(1, 1024, 600);
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	struct lb_dp_pkt p;
	uint8_t first[64];
	uint32_t i, client = htonl(0x0a010101);

	(void)state;
	assert_int_equal(run1(e, f, client_frame(f, client, 5000, "192.0.2.10", 53, LB_PROTO_UDP,
		0, 0), 0, &p), LB_DP_TX);
	memcpy(first, f, 64);
	lb_snap_free(e->snap);
	e->snap = compile(e, 1024, 1, false);
	for (i = 1; i < 1024; i++) {
		e->now += 1;
		assert_int_equal(run1(e, f, client_frame(f, htonl(0x0a020000 + i), 5000, "192.0.2.10",
			53, LB_PROTO_UDP, 0, i), 0, &p), LB_DP_TX);
	}
	assert_int_equal(lb_flow_count(e->w[0].flows), 1024);
	e->now += 3000;		/* the 1023 have expired; no sweep ran */
	assert_int_equal(run1(e, f, client_frame(f, htonl(0x0a030000), 5000, "192.0.2.10", 53,
		LB_PROTO_UDP, 0, 9999), 0, &p), LB_DP_TX);
	assert_int_equal(lb_flow_stats(e->w[0].flows)->evicted[LB_FLOW_UDP], 0);
	/* the long-lived flow's next datagram leaves from its old SNAT endpoint */
	assert_int_equal(run1(e, f, client_frame(f, client, 5000, "192.0.2.10", 53, LB_PROTO_UDP, 0,
		1), 0, &p), LB_DP_TX);
	assert_memory_equal(f + 14 + 12, first + 14 + 12, 4);	/* SNAT address */
	assert_memory_equal(f + 14 + 20, first + 14 + 20, 2);	/* SNAT port */
	assert_memory_equal(f + 14 + 16, first + 14 + 16, 4);	/* target */
	env_free(e);
}

/* Affinity entries of a 600 s frontend survive a 1 s frontend filling the
 * shared affinity table, expiring, and filling it again. */
static void
test_affinity_lifetimes(void **state)
{
	struct env *e = env_new(1, 4096, 30);
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	uint32_t tgt[100], i;
	struct lb_dp_pkt p;

	(void)state;
	for (i = 0; i < 100; i++) {
		assert_int_equal(run1(e, f, client_frame(f, htonl(0x0b000000 + i), 3000, "192.0.2.30",
			443, LB_PROTO_TCP, LB_TCP_SYN, i), 0, &p), LB_DP_TX);
		memcpy(&tgt[i], f + 14 + 16, 4);
	}
	/* the 1 s frontend: more clients than the table (1024) holds */
	for (i = 0; i < 2000; i++) {
		e->now += i % 4 == 0;
		assert_int_equal(run1(e, f, client_frame(f, htonl(0x0c000000 + i), 3000, "192.0.2.31",
			443, LB_PROTO_TCP, LB_TCP_SYN, i), 0, &p), LB_DP_TX);
	}
	e->now += 2000;
	for (i = 0; i < 2000; i++)
		assert_int_equal(run1(e, f, client_frame(f, htonl(0x0d000000 + i), 3000,
			"192.0.2.31", 443, LB_PROTO_TCP, LB_TCP_SYN, i), 0, &p), LB_DP_TX);
	/* the long frontend's clients come back: every one hits its entry */
	for (i = 0; i < 100; i++) {
		assert_int_equal(run1(e, f, client_frame(f, htonl(0x0b000000 + i), 3001, "192.0.2.30",
			443, LB_PROTO_TCP, LB_TCP_SYN, i), 0, &p), LB_DP_TX);
		assert_memory_equal(f + 14 + 16, &tgt[i], 4);
	}
	assert_int_equal(e->w[0].ctr.affinity_hits, 100);
	env_free(e);
}


/* --- floods (issue 7): a small table of real connections under ACK and SYN
 * floods of 100 times its capacity --- */

#define FL_CAP		1024
#define FL_FLOOD	(100 * FL_CAP)

static const uint8_t NODE_MAC[6] = { 0x02, 0, 0, 0, 0x01, 0x11 };

/* One real connection as the client and the target see it. */
struct fl_conn {
	uint32_t client;
	uint16_t cport;
	const char *vip;
	uint16_t vport;
	uint32_t taddr;		/* as the target sees the connection */
	uint16_t tport;
	uint32_t laddr;		/* SNAT address (FullNAT), the client (DNAT) */
	uint16_t lport;
};

/* Verdict tally of a phase: every frame is TX or a drop with one reason. */
struct tally {
	uint64_t n, tx, drop;
	uint64_t fwd, rev, drops;
};

static void
tally_begin(const struct env *e, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->fwd = e->w[0].ctr.fwd;
	t->rev = e->w[0].ctr.rev;
	t->drops = drops(&e->w[0]);
}

/* Every frame of the phase is explained: TX frames are NATed ones (fwd or
 * rev), drops moved the drop counters by as much. */
static void
tally_check(const struct env *e, const struct tally *t)
{
	assert_int_equal(t->tx + t->drop, t->n);
	assert_int_equal((e->w[0].ctr.fwd - t->fwd) + (e->w[0].ctr.rev - t->rev), t->tx);
	assert_int_equal(drops(&e->w[0]) - t->drops, t->drop);
}

static enum lb_dp_verdict
fl_run(struct env *e, uint8_t *f, uint32_t len, uint8_t port, struct tally *t,
	struct lb_dp_result *r)
{
	enum lb_dp_verdict v = lb_dp_process(&e->w[0], e->snap, e->nt, f, len, HEADROOM, port,
		e->now, r);

	if (t != NULL) {
		t->n++;
		t->tx += v == LB_DP_TX;
		t->drop += v == LB_DP_DROP;
	}
	return v;
}

/* Opens c: with a SYN (the target answers SYN-ACK, the client ACKs) or, for
 * DNAT with pickup, by a mid-stream segment the target acknowledges. */
static void
fl_open(struct env *e, struct fl_conn *c, bool pickup)
{
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	struct lb_dp_result r;
	uint32_t len;

	len = client_frame(f, c->client, c->cport, c->vip, c->vport, LB_PROTO_TCP,
		pickup ? LB_TCP_ACK : LB_TCP_SYN, 1);
	assert_int_equal(fl_run(e, f, len, 0, NULL, &r), LB_DP_TX);
	assert_int_equal(r.port, 1);
	memcpy(&c->taddr, f + 14 + 16, 4);
	c->tport = (uint16_t)(f[14 + 22] << 8 | f[14 + 23]);
	memcpy(&c->laddr, f + 14 + 12, 4);
	c->lport = (uint16_t)(f[14 + 20] << 8 | f[14 + 21]);
	len = dpu_l4_frame(f, INT_MAC, NODE_MAC, c->taddr, c->tport, c->laddr, c->lport, LB_PROTO_TCP,
		pickup ? LB_TCP_ACK : LB_TCP_SYN | LB_TCP_ACK, 2);
	assert_int_equal(fl_run(e, f, len, 1, NULL, &r), LB_DP_TX);
	assert_int_equal(r.port, 0);
	len = client_frame(f, c->client, c->cport, c->vip, c->vport, LB_PROTO_TCP, LB_TCP_ACK, 3);
	assert_int_equal(fl_run(e, f, len, 0, NULL, &r), LB_DP_TX);
}

/* c still works both ways, through the same target and SNAT endpoint. */
static void
fl_check(struct env *e, const struct fl_conn *c, struct tally *t)
{
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	struct lb_dp_result r;
	uint32_t len, a;

	len = client_frame(f, c->client, c->cport, c->vip, c->vport, LB_PROTO_TCP,
		LB_TCP_ACK | 0x08, 7);
	assert_int_equal(fl_run(e, f, len, 0, t, &r), LB_DP_TX);
	memcpy(&a, f + 14 + 16, 4);
	assert_int_equal(a, c->taddr);
	assert_int_equal(f[14 + 22] << 8 | f[14 + 23], c->tport);
	memcpy(&a, f + 14 + 12, 4);
	assert_int_equal(a, c->laddr);
	assert_int_equal(f[14 + 20] << 8 | f[14 + 21], c->lport);
	assert_true(csums_ok(f));
	len = dpu_l4_frame(f, INT_MAC, NODE_MAC, c->taddr, c->tport, c->laddr, c->lport, LB_PROTO_TCP,
		LB_TCP_ACK | 0x08, 8);
	assert_int_equal(fl_run(e, f, len, 1, t, &r), LB_DP_TX);
	memcpy(&a, f + 14 + 12, 4);
	assert_int_equal(a, ip(c->vip));
	memcpy(&a, f + 14 + 16, 4);
	assert_int_equal(a, c->client);
	assert_true(csums_ok(f));
}

/* A flood frame: a spoofed source from 198.18.0.0/15, 100 frames a ms. */
static uint32_t
flood_frame(struct env *e, uint8_t *f, uint32_t i, const char *vip, uint16_t vport, uint8_t flags)
{
	if (i % 100 == 0)
		e->now++;
	return client_frame(f, htonl(0xc6120000u + (i * 2654435761u >> 15)), (uint16_t)(1024 + i % 60000),
		vip, vport, LB_PROTO_TCP, flags, i);
}

static void
test_floods(void **state)
{
	struct env *e = env_new(1, FL_CAP, 30);
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	const struct lb_flow_stats *fs = lb_flow_stats(e->w[0].flows);
	static struct fl_conn conns[FL_CAP];
	struct lb_dp_result r;
	uint64_t c0, pick0, sl0;
	struct tally t;
	uint32_t i, n = 0, len;

	(void)state;
	/* The table: 400 FullNAT connections, 400 DNAT ones opened with a SYN
	 * and 100 picked up mid-stream, all confirmed, with the governor off
	 * while they open. */
	e->snap->new_flow_rate = 0;
	for (i = 0; i < 900; i++, n++) {
		struct fl_conn *c = &conns[n];

		c->client = htonl(0xcb007100u + i / 200);	/* 203.0.113.0/24 */
		c->cport = (uint16_t)(10000 + i);
		c->vip = i < 400 ? "192.0.2.10" : "192.0.2.20";
		c->vport = i < 400 ? 80 : 8080;
		fl_open(e, c, i >= 800);
		e->now += 1;
	}
	assert_int_equal(e->w[0].ctr.flows_picked_up, 100);
	assert_int_equal(e->w[0].ctr.flows_promoted, 100);
	assert_int_equal(lb_flow_class_count(e->w[0].flows, LB_FLOW_EST), 900);
	assert_int_equal(lb_flow_count(e->w[0].flows), 900);

	/* An ACK flood to the DNAT VIP, governor on (1,000 new flows per
	 * second): the first pickups take the free room as unconfirmed flows,
	 * then the worker is under flood and forwards the rest without state. */
	e->snap->new_flow_rate = 1000;
	tally_begin(e, &t);
	pick0 = e->w[0].ctr.flows_picked_up;
	sl0 = e->w[0].ctr.stateless;
	for (i = 0; i < FL_FLOOD; i++) {
		len = flood_frame(e, f, i, "192.0.2.20", 8080, LB_TCP_ACK);
		assert_int_equal(fl_run(e, f, len, 0, &t, &r), LB_DP_TX);
	}
	tally_check(e, &t);
	assert_true(e->w[0].ctr.flood_episodes >= 1);
	assert_int_equal((e->w[0].ctr.flows_picked_up - pick0) + (e->w[0].ctr.stateless - sl0),
		FL_FLOOD);
	assert_true(e->w[0].ctr.stateless - sl0 >= FL_FLOOD - 2 * 100);
	assert_int_equal(lb_flow_class_count(e->w[0].flows, LB_FLOW_EST), 900);

	/* A SYN flood to the FullNAT VIP: new flows displace only
	 * unconfirmed ones (the ACK flood's, then each other); under flood
	 * those that find no room are dropped and counted. */
	tally_begin(e, &t);
	c0 = e->w[0].ctr.flows_created;
	for (i = 0; i < FL_FLOOD; i++) {
		len = flood_frame(e, f, i + FL_FLOOD, "192.0.2.10", 80, LB_TCP_SYN);
		fl_run(e, f, len, 0, &t, &r);
	}
	tally_check(e, &t);
	assert_int_equal(e->w[0].ctr.flows_created - c0 + e->w[0].ctr.drops[LB_DROP_TABLE_FULL],
		FL_FLOOD);
	assert_int_equal(t.tx, e->w[0].ctr.flows_created - c0);
	assert_int_equal(t.drop, e->w[0].ctr.drops[LB_DROP_TABLE_FULL]);
	assert_int_equal(lb_flow_class_count(e->w[0].flows, LB_FLOW_EST), 900);

	/* A SYN flood to the DNAT VIP: the same, but DNAT needs no state. */
	tally_begin(e, &t);
	for (i = 0; i < FL_FLOOD; i++) {
		len = flood_frame(e, f, i + 2 * FL_FLOOD, "192.0.2.20", 8080, LB_TCP_SYN);
		assert_int_equal(fl_run(e, f, len, 0, &t, &r), LB_DP_TX);
	}
	tally_check(e, &t);
	assert_int_equal(lb_flow_class_count(e->w[0].flows, LB_FLOW_EST), 900);

	/* No established connection was displaced, and each still works
	 * through its target and SNAT endpoint. */
	assert_int_equal(fs->evicted[LB_FLOW_EST], 0);
	tally_begin(e, &t);
	for (i = 0; i < n; i++)
		fl_check(e, &conns[i], &t);
	tally_check(e, &t);
	assert_int_equal(t.tx, 2 * n);

	/* The flood is over: the governor lets new flows take state again. */
	e->now += 1000;
	conns[n] = (struct fl_conn){ .client = htonl(0xcb007101u), .cport = 9999,
		.vip = "192.0.2.10", .vport = 80 };
	c0 = e->w[0].ctr.flows_created;
	fl_open(e, &conns[n], false);
	assert_int_equal(e->w[0].ctr.flows_created, c0 + 1);
	env_free(e);
}

/* --- SNAT TIME_WAIT (issue 7): a SNAT address:port does not go back to a
 * target within workers.snat_time_wait of a connection through it closing
 * there, whatever became of the flow; towards other targets it may. --- */

/* A client port of 203.0.113.99 whose new web connection goes to target
 * index want (or, with want < 0, to any other target than -1 - want). */
static uint16_t
port_for_target(struct env *e, int want, uint16_t from)
{
	struct lb_dp_trace t;
	uint16_t p;

	for (p = from; p < 60000; p++) {
		assert_int_equal(lb_dp_trace(e->snap, htonl(0xcb007163u), htons(p), ip("192.0.2.10"),
			htons(80), LB_PROTO_TCP, &t), 0);
		if (want >= 0 ? t.target == want : t.target != -1 - want)
			return p;
	}
	fail_msg("no client port for target %d", want);
	return 0;
}

/* Every target's SNAT cursor to candidate c: the next pick towards any
 * target probes c first. */
static void
set_cursors(struct env *e, uint32_t c)
{
	uint32_t i;

	for (i = 0; i < LB_DP_TW_CURSORS; i++)
		e->w[0].snat_tw->cursor[i] = c;
}

/* Sends a client SYN; returns the SNAT endpoint it left from. */
static void
tw_syn(struct env *e, uint16_t cport, uint32_t *saddr, uint16_t *sport, int *target)
{
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	struct lb_dp_result r;
	struct lb_dp_trace t;
	uint32_t len = client_frame(f, htonl(0xcb007163u), cport, "192.0.2.10", 80, LB_PROTO_TCP,
		LB_TCP_SYN, 1);

	assert_int_equal(lb_dp_process(&e->w[0], e->snap, e->nt, f, len, HEADROOM, 0, e->now, &r),
		LB_DP_TX);
	memcpy(saddr, f + 14 + 12, 4);
	*sport = (uint16_t)(f[14 + 20] << 8 | f[14 + 21]);
	assert_int_equal(lb_dp_trace(e->snap, htonl(0xcb007163u), htons(cport), ip("192.0.2.10"),
		htons(80), LB_PROTO_TCP, &t), 0);
	*target = t.target;
}

static void
tw_fin(struct env *e, uint16_t cport)
{
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	struct lb_dp_result r;
	uint32_t len = client_frame(f, htonl(0xcb007163u), cport, "192.0.2.10", 80, LB_PROTO_TCP,
		LB_TCP_FIN | LB_TCP_ACK, 2);

	assert_int_equal(lb_dp_process(&e->w[0], e->snap, e->nt, f, len, HEADROOM, 0, e->now, &r),
		LB_DP_TX);
}

static void
test_snat_time_wait(void **state)
{
	struct env *e = env_new(1, 1024, 30);
	size_t sz = lb_dp_tw_memsize(lb_snat_candidates(&e->w[0].snat));
	void *mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	uint32_t a0, a1, cur;
	uint16_t p0, p1, c0, c1, c2;
	int t0, t1;

	(void)state;
	e->w[0].snat_tw = lb_dp_tw_init(mem, lb_snat_candidates(&e->w[0].snat), 7);
	assert_non_null(e->w[0].snat_tw);
	assert_int_equal(e->snap->snat_time_wait_ms, 60000);	/* the default */

	/* a connection to target t0 closes; its flow is removed when the
	 * client reuses its tuple for a new connection */
	c0 = port_for_target(e, 0, 20000);
	cur = e->w[0].snat.cursor;
	set_cursors(e, cur);
	tw_syn(e, c0, &a0, &p0, &t0);
	assert_int_equal(t0, 0);
	tw_fin(e, c0);
	tw_syn(e, c0, &a1, &p1, &t1);
	assert_int_equal(lb_flow_count(e->w[0].flows), 1);

	/* the allocator comes round to that endpoint again: towards t0 it is
	 * passed over, towards another target it is taken */
	c1 = port_for_target(e, 0, c0 + 1);
	set_cursors(e, cur);
	tw_syn(e, c1, &a1, &p1, &t1);
	assert_int_equal(t1, 0);
	assert_false(a1 == a0 && p1 == p0);
	assert_int_equal(e->w[0].ctr.snat_tw_skips, 1);
	c2 = port_for_target(e, -1, 20000);
	set_cursors(e, cur);
	tw_syn(e, c2, &a1, &p1, &t1);
	assert_true(t1 != 0);
	assert_true(a1 == a0 && p1 == p0);
	assert_int_equal(e->w[0].ctr.snat_tw_skips, 1);

	/* the flows expire (tcp_fin 30 s, tcp_syn 30 s): still kept from t0 */
	e->now += 31000;
	lb_dp_housekeep(&e->w[0], e->now, 100000);
	assert_int_equal(lb_flow_count(e->w[0].flows), 0);
	set_cursors(e, cur);
	tw_syn(e, port_for_target(e, 0, c1 + 1), &a1, &p1, &t1);
	assert_false(a1 == a0 && p1 == p0);
	assert_int_equal(e->w[0].ctr.snat_tw_skips, 2);

	/* 60 s after the close it may go back to t0 */
	e->now += 29001;
	set_cursors(e, cur);
	tw_syn(e, port_for_target(e, 0, 30000), &a1, &p1, &t1);
	assert_true(a1 == a0 && p1 == p0);
	assert_int_equal(e->w[0].ctr.snat_tw_skips, 2);
	assert_int_equal(e->w[0].ctr.snat_tw_forgotten, 0);
	e->w[0].snat_tw = NULL;
	free(mem);
	env_free(e);
}

/* The target closes first (its TIME_WAIT starts only when the client's FIN
 * reaches it), and the client half-closes 10 s later: the endpoint is kept
 * from the target for snat_time_wait from the last FIN, not the first (a
 * record from the first FIN let the endpoint back 10 s inside the target's
 * TIME_WAIT). */
static void
test_snat_time_wait_last_fin(void **state)
{
	struct env *e = env_new(1, 1024, 30);
	size_t sz = lb_dp_tw_memsize(lb_snat_candidates(&e->w[0].snat));
	void *mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	struct fl_conn c = { .client = htonl(0xcb007163u), .vip = "192.0.2.10", .vport = 80 };
	struct lb_dp_result r;
	uint64_t last_fin;
	uint32_t a, cur, len;
	uint16_t p, from;
	int t;

	(void)state;
	e->w[0].snat_tw = lb_dp_tw_init(mem, lb_snat_candidates(&e->w[0].snat), 7);
	cur = e->w[0].snat.cursor;
	set_cursors(e, cur);
	c.cport = port_for_target(e, 0, 20000);
	from = (uint16_t)(c.cport + 1);
	fl_open(e, &c, false);
	/* the target's FIN, then 10 s of the client's data, then its FIN */
	len = dpu_l4_frame(f, INT_MAC, NODE_MAC, c.taddr, c.tport, c.laddr, c.lport, LB_PROTO_TCP,
		LB_TCP_FIN | LB_TCP_ACK, 4);
	assert_int_equal(fl_run(e, f, len, 1, NULL, &r), LB_DP_TX);
	e->now += 10000;
	len = client_frame(f, c.client, c.cport, c.vip, c.vport, LB_PROTO_TCP, LB_TCP_ACK, 5);
	assert_int_equal(fl_run(e, f, len, 0, NULL, &r), LB_DP_TX);
	len = client_frame(f, c.client, c.cport, c.vip, c.vport, LB_PROTO_TCP,
		LB_TCP_FIN | LB_TCP_ACK, 6);
	assert_int_equal(fl_run(e, f, len, 0, NULL, &r), LB_DP_TX);
	last_fin = e->now;
	/* 60 s after the first FIN, but 50 s into the target's TIME_WAIT: kept */
	e->now = last_fin - 10000 + 60001;
	lb_dp_housekeep(&e->w[0], e->now, 100000);
	assert_int_equal(lb_flow_count(e->w[0].flows), 0);
	set_cursors(e, cur);
	tw_syn(e, port_for_target(e, 0, from), &a, &p, &t);
	assert_int_equal(t, 0);
	assert_false(a == c.laddr && p == c.lport);
	assert_int_equal(e->w[0].ctr.snat_tw_skips, 1);
	/* 60 s after the last FIN: the target may have it again */
	e->now = last_fin + 60001;
	set_cursors(e, cur);
	tw_syn(e, port_for_target(e, 0, (uint16_t)(from + 1000)), &a, &p, &t);
	assert_true(a == c.laddr && p == c.lport);
	assert_int_equal(e->w[0].ctr.snat_tw_forgotten, 0);
	e->w[0].snat_tw = NULL;
	free(mem);
	env_free(e);
}

/* One SNAT endpoint closed towards each of the three targets in turn: it is
 * kept from all three at once (one record, several targets), nothing is
 * forgotten, and each may have it again 60 s after its own close. */
static void
test_snat_time_wait_targets(void **state)
{
	struct env *e = env_new(1, 1024, 30);
	size_t sz = lb_dp_tw_memsize(lb_snat_candidates(&e->w[0].snat));
	void *mem = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	uint32_t a0 = 0, a, cur;
	uint16_t p0 = 0, p, c[3], from = 20000;
	uint64_t closed[3];
	int t, k;

	(void)state;
	e->w[0].snat_tw = lb_dp_tw_init(mem, lb_snat_candidates(&e->w[0].snat), 7);
	cur = e->w[0].snat.cursor;
	set_cursors(e, cur);
	for (k = 0; k < 3; k++) {
		c[k] = port_for_target(e, k, from);
		from = (uint16_t)(c[k] + 1);
		/* every target's first connection leaves from the same endpoint */
		set_cursors(e, cur);
		tw_syn(e, c[k], &a, &p, &t);
		assert_int_equal(t, k);
		if (k == 0) {
			a0 = a;
			p0 = p;
		}
		assert_true(a == a0 && p == p0);
		tw_fin(e, c[k]);
		closed[k] = e->now;
		e->now += 1000;
	}
	/* the flows go (tcp_fin 30 s), the record stays */
	e->now += 31000;
	lb_dp_housekeep(&e->w[0], e->now, 100000);
	assert_int_equal(lb_flow_count(e->w[0].flows), 0);
	/* all three kept away from it */
	for (k = 0; k < 3; k++) {
		set_cursors(e, cur);
		tw_syn(e, port_for_target(e, k, from), &a, &p, &t);
		from = (uint16_t)(from + 1000);
		assert_int_equal(t, k);
		assert_false(a == a0 && p == p0);
	}
	assert_int_equal(e->w[0].ctr.snat_tw_skips, 3);
	/* 60 s after the first close, target 0 may have it again, the others
	 * not yet */
	e->now = closed[0] + 60001;
	set_cursors(e, cur);
	tw_syn(e, port_for_target(e, 0, from), &a, &p, &t);
	assert_true(a == a0 && p == p0);
	set_cursors(e, cur);
	tw_syn(e, port_for_target(e, 2, (uint16_t)(from + 1000)), &a, &p, &t);
	assert_false(a == a0 && p == p0);
	assert_int_equal(e->w[0].ctr.snat_tw_forgotten, 0);
	e->w[0].snat_tw = NULL;
	free(mem);
	env_free(e);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_equals_single),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_owner_steering),
		cmocka_unit_test(test_udp_timeout_shortened),
		cmocka_unit_test(test_affinity_lifetimes),
		cmocka_unit_test(test_floods),
		cmocka_unit_test(test_snat_time_wait),
		cmocka_unit_test(test_snat_time_wait_targets),
		cmocka_unit_test(test_snat_time_wait_last_fin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
