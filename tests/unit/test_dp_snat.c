/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dp, part four: the SNAT TIME_WAIT rule above its capacity (issue 7,
 * "client port reuse"). Clients drive FullNAT connections (SYN, then the
 * client's FIN a few milliseconds later) towards one to three targets through
 * one SNAT address and a small port range, on a fake clock, for several
 * TIME_WAIT periods. The rule allows ports / snat_time_wait connections/s per
 * (SNAT address, target); the data path must settle at about that rate, count
 * every SYN it refuses (snat_exhausted), never reuse an endpoint towards a
 * target within snat_time_wait of its close, and spend a bounded number of
 * probes on each refusal. Two client models:
 *
 * - open: new connections arrive at three times the capacity, each refused
 *   SYN sent again after Linux's back-off (1 s, then 2 s) and then given up;
 * - redial: a few clients in a loop (connect, request, close, next), a
 *   refused connect given up after 1 s and dialled again from a new port
 *   (a client's connect timeout). Attempts are then few, so a cursor that
 *   runs 64 candidates on per refusal comes back to the endpoints that freed
 *   behind it only after many seconds: the rate it reaches is far below the
 *   capacity, however many endpoints are free.
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

#define SLOT		256
#define HEADROOM	64
#define PORT_LO		20000
#define NPORTS		8192		/* one worker owns them all */
#define TW_S		20		/* workers.snat_time_wait */
#define TW_MS		(TW_S * 1000u)
#define PERIODS		6		/* TIME_WAIT periods driven */
#define WARM		2		/* periods left out of the rate */
#define MAX_CLIENTS	32768		/* connections in progress at most */
#define MAX_TARGETS	3
#define OFFERED		3		/* open: new connections, times the capacity */
#define RTO_MS		1000u		/* Linux: first SYN retransmission timeout */
#define SYN_RETRIES	2		/* open: tcp_syn_retries, as a client that gives up
					 * after 3 s */
#define REDIAL_CLIENTS	4
#define REDIAL_MS	1000u		/* redial: connect timeout */
#define MAX_PROBES_REFUSED	9	/* TIME_WAIT probes per refused SYN, at most:
					 * lib/dp's SNAT_AHEAD + 1 (the old
					 * allocator: SNAT_PROBES, 64) */

static const uint8_t EXT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t INT_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t CLIENT_MAC[6] = { 0x02, 0, 0, 0, 0xcc, 0x01 };

/* %u port_lo, %u port_hi, %u snat_time_wait, %s targets */
static const char *config =
	"ports = (\n"
	"  { name = \"ext\"; device = \"net_null0\"; role = \"external\"; address = \"192.0.2.1/24\"; },\n"
	"  { name = \"int\"; device = \"net_null1\"; role = \"internal\"; address = \"198.51.100.1/24\";\n"
	"    neighbours = (\n"
	"      { address = \"198.51.100.11\"; mac = \"02:00:00:00:01:11\"; },\n"
	"      { address = \"198.51.100.12\"; mac = \"02:00:00:00:01:12\"; },\n"
	"      { address = \"198.51.100.13\"; mac = \"02:00:00:00:01:13\"; }\n"
	"    ); }\n"
	");\n"
	"workers = { lcores = [1]; flow_capacity = 65536;\n"
	"  snat_addresses = [\"198.51.100.2\"]; snat_ports = [%u, %u]; snat_time_wait = %u;\n"
	"  timeouts = { tcp_syn = 5; tcp_established = 600; tcp_fin = 2; }; };\n"
	"frontends = (\n"
	"  { name = \"web\"; vip = \"192.0.2.10\"; port = 80; targets = ( %s ); } );\n";

static const char *const target_conf[MAX_TARGETS] = {
	"{ address = \"198.51.100.11\"; port = 30080; }",
	"{ address = \"198.51.100.12\"; port = 30080; }",
	"{ address = \"198.51.100.13\"; port = 30080; }",
};

enum model { OPEN, REDIAL };

struct client {
	uint32_t addr;		/* network order */
	uint16_t port;		/* host order: the current connection's */
	bool open;		/* connected; next event: its close */
	uint32_t rto;		/* open: next retransmission timeout, ms */
	uint32_t tries;		/* SYNs sent for this connection */
	uint64_t at;		/* next event, ms; UINT64_MAX: none (open: idle) */
	uint16_t sport;		/* open: its SNAT port */
	uint8_t target;		/* open: its target */
};

struct sim {
	enum model model;
	struct lb_config *cfg;
	struct lb_snap *snap;
	struct lb_neigh *neigh;
	struct lb_neigh_table *nt;
	struct lb_dp_worker w;
	void *mem[3];
	uint32_t n_targets, n_clients;
	uint64_t rng;
	uint64_t late_from;	/* the rate counts connections from here */
	struct client c[MAX_CLIENTS];
	/* per (SNAT port, target): when a connection through it last closed */
	uint64_t closed[NPORTS][MAX_TARGETS];
	/* results */
	uint64_t syns, refused, established, est_late, early_reuse;
	uint64_t refused_probes, refused_probes_max;	/* TIME_WAIT probes of refused SYNs */
	uint64_t per_target_late[MAX_TARGETS];
};

/* xorshift64: the same sequence on every run */
static uint32_t
rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng >> 32);
}

static void
sim_init(struct sim *s, enum model m, uint32_t n_targets, uint64_t now)
{
	const struct lb_neigh_params np = { .reachable_ms = 3600000, .retries = 3, .retry_ms = 1000,
		.queue_len = 3, .failed_hold_ms = 5000, .max_entries = 64 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	char text[4096], targets[512] = "", err[512];
	const struct lb_config_port *p;
	struct lb_snap_env se;
	uint32_t ips[8], i, n;
	uint8_t macs[8][6], ports[8];
	size_t sz;

	memset(s, 0, sizeof(*s));
	s->model = m;
	s->n_targets = n_targets;
	s->n_clients = m == OPEN ? MAX_CLIENTS : REDIAL_CLIENTS;
	s->rng = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < n_targets; i++) {
		strcat(targets, target_conf[i]);
		if (i + 1 < n_targets)
			strcat(targets, ", ");
	}
	snprintf(text, sizeof(text), config, PORT_LO, PORT_LO + NPORTS - 1, TW_S, targets);
	s->cfg = lb_config_load_string(text, "t.conf", err, sizeof(err));
	if (s->cfg == NULL)
		fail_msg("config: %s", err);
	memset(&se, 0, sizeof(se));
	se.n_workers = 1;
	se.dev[1] = 1;
	memcpy(se.mac[0], EXT_MAC, 6);
	memcpy(se.mac[1], INT_MAC, 6);
	s->snap = lb_snap_build_config(s->cfg, &se, NULL, err, sizeof(err));
	if (s->snap == NULL)
		fail_msg("snap: %s", err);
	assert_int_equal(s->snap->snat_time_wait_ms, TW_MS);
	s->neigh = lb_neigh_create(&np, &ops);
	p = &s->cfg->ports[1];
	for (i = 0; i < p->n_neigh; i++) {
		ips[i] = p->neigh[i].addr;
		memcpy(macs[i], p->neigh[i].mac, 6);
		ports[i] = 1;
	}
	assert_int_equal(lb_neigh_set_static(s->neigh, ips, (const uint8_t (*)[6])macs, ports,
		p->n_neigh, now), 0);
	s->nt = lb_neigh_table_build(s->neigh);
	sz = lb_flow_table_memsize(65536);
	s->mem[0] = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	s->mem[1] = aligned_alloc(64, (lb_flow_table_memsize(1024) + 63) & ~(size_t)63);
	s->w.flows = lb_flow_table_init(s->mem[0], 65536, 42);
	s->w.affinity = lb_flow_table_init(s->mem[1], 1024, 43);
	assert_int_equal(lb_snat_init(&s->w.snat, &s->snap->snat, 0, s->cfg->snat_addrs,
		s->cfg->n_snat), 0);
	n = lb_snat_candidates(&s->w.snat);
	assert_int_equal(n, NPORTS);
	sz = lb_dp_tw_memsize(n);
	s->mem[2] = aligned_alloc(64, (sz + 63) & ~(size_t)63);
	s->w.snat_tw = lb_dp_tw_init(s->mem[2], n, 12345);
	assert_non_null(s->w.snat_tw);
	for (i = 0; i < s->n_clients; i++) {
		s->c[i].addr = htonl(0x0a000000u + i + 1);	/* 10.0.x.y */
		s->c[i].port = 1024;
		/* redial: the clients start in the first 100 ms */
		s->c[i].at = m == OPEN ? UINT64_MAX : now + i * 100 / REDIAL_CLIENTS;
	}
}

static void
sim_free(struct sim *s)
{
	free(s->mem[0]);
	free(s->mem[1]);
	free(s->mem[2]);
	lb_neigh_table_free(s->nt);
	lb_neigh_destroy(s->neigh);
	lb_snap_free(s->snap);
	lb_config_free(s->cfg);
}

static uint32_t
target_index(const struct sim *s, const uint8_t *f)
{
	uint32_t dst, i;

	memcpy(&dst, f + 14 + 16, 4);
	for (i = 0; i < s->n_targets; i++)
		if (ntohl(dst) == 0xc6336400u + 11 + i)	/* 198.51.100.1x */
			return i;
	fail_msg("frame to an unknown target");
	return 0;
}

static void
next_port(struct client *c)
{
	c->port = (uint16_t)(c->port == 65535 ? 1024 : c->port + 1);
	c->rto = 0;
	c->tries = 0;
}

/* Client k's event at now: its SYN (first or again), or the close of its
 * connection. */
static void
client_event(struct sim *s, uint32_t k, uint64_t now)
{
	struct client *c = &s->c[k];
	uint8_t buf[SLOT], *f = buf + HEADROOM;
	struct lb_dp_result r;
	enum lb_dp_verdict v;
	uint32_t len, t;
	uint64_t skips;
	uint16_t sport;

	if (c->open) {
		len = dpu_l4_frame(f, EXT_MAC, CLIENT_MAC, c->addr, c->port, htonl(0xc000020au), 80,
			LB_PROTO_TCP, LB_TCP_FIN | LB_TCP_ACK, 2);
		v = lb_dp_process(&s->w, s->snap, s->nt, f, len, HEADROOM, 0, now, &r);
		assert_int_equal(v, LB_DP_TX);
		s->closed[c->sport - PORT_LO][c->target] = now;
		c->open = false;
		next_port(c);
		/* redial: the next connection at once; open: the slot is free */
		c->at = s->model == REDIAL ? now + 1 : UINT64_MAX;
		return;
	}
	len = dpu_l4_frame(f, EXT_MAC, CLIENT_MAC, c->addr, c->port, htonl(0xc000020au), 80,
		LB_PROTO_TCP, LB_TCP_SYN, 1);
	skips = s->w.ctr.snat_tw_skips;
	v = lb_dp_process(&s->w, s->snap, s->nt, f, len, HEADROOM, 0, now, &r);
	s->syns++;
	if (v != LB_DP_TX) {
		assert_int_equal(v, LB_DP_DROP);
		assert_int_equal(r.reason, LB_DROP_SNAT_EXHAUSTED);
		s->refused++;
		skips = s->w.ctr.snat_tw_skips - skips;
		s->refused_probes += skips;
		s->refused_probes_max = LB_MAX(s->refused_probes_max, skips);
		if (s->model == REDIAL) {
			/* connect timeout: dial again from a new port */
			next_port(c);
			c->at = now + REDIAL_MS;
			return;
		}
		c->rto = c->rto == 0 ? RTO_MS : 2 * c->rto;
		c->at = now + c->rto;
		if (++c->tries > SYN_RETRIES) {
			/* connect() failed: the slot is free */
			next_port(c);
			c->at = UINT64_MAX;
		}
		return;
	}
	t = target_index(s, f);
	sport = (uint16_t)(f[14 + 20] << 8 | f[14 + 21]);
	assert_true(sport >= PORT_LO && sport < PORT_LO + NPORTS);
	/* a port closed towards this target less than snat_time_wait ago */
	if (s->closed[sport - PORT_LO][t] != 0 && now - s->closed[sport - PORT_LO][t] < TW_MS)
		s->early_reuse++;
	s->established++;
	if (now >= s->late_from) {
		s->est_late++;
		s->per_target_late[t]++;
	}
	c->target = (uint8_t)t;
	c->sport = sport;
	c->open = true;
	/* the request takes 1 or 2 ms */
	c->at = now + 1 + rnd(s) % 2;
}

/* Runs PERIODS TIME_WAIT periods of the clients against n targets. */
static void
run(enum model m, uint32_t n_targets)
{
	struct sim *s = calloc(1, sizeof(*s));
	const uint64_t base = 1000000, end = base + (uint64_t)PERIODS * TW_MS;
	const double cap = (double)NPORTS / TW_S * n_targets;	/* connections/s allowed */
	double rate, acc = 0, per_refused;
	uint64_t now, next_hk = 0, ex, dropped;
	uint32_t k, t, idle = 0;

	assert_non_null(s);
	/* the clock starts at base: closed[] == 0 means never */
	sim_init(s, m, n_targets, base);
	s->late_from = base + (uint64_t)WARM * TW_MS;
	for (now = base; now < end; now++) {
		if (m == OPEN) {
			/* new connections at OFFERED times the capacity, each
			 * in a free slot */
			acc += OFFERED * cap / 1000;
			for (; acc >= 1.0; acc -= 1.0) {
				for (k = 0; k < s->n_clients && s->c[idle].at != UINT64_MAX; k++)
					idle = (idle + 1) % s->n_clients;
				assert_true(k < s->n_clients);
				s->c[idle].at = now;
			}
		}
		for (k = 0; k < s->n_clients; k++)
			if (s->c[k].at == now)
				client_event(s, k, now);
		if (now >= next_hk) {
			lb_dp_housekeep(&s->w, now, 4096);
			next_hk = now + 10;
		}
	}
	rate = (double)s->est_late / ((PERIODS - WARM) * TW_S);
	ex = s->w.ctr.drops[LB_DROP_SNAT_EXHAUSTED];
	per_refused = (double)s->refused_probes / (double)(s->refused ? s->refused : 1);
	print_message("  %s, %u target(s): capacity %.0f conn/s; established %.1f conn/s over "
		"periods %u..%u (%.1f %%); %lu SYNs, %lu refused (snat_exhausted %lu), "
		"TIME_WAIT probes %lu (%.1f per refused SYN, at most %lu), early reuses %lu\n",
		m == OPEN ? "open" : "redial", n_targets, cap, rate, WARM + 1, PERIODS,
		100.0 * rate / cap, (unsigned long)s->syns, (unsigned long)s->refused,
		(unsigned long)ex, (unsigned long)s->w.ctr.snat_tw_skips, per_refused,
		(unsigned long)s->refused_probes_max, (unsigned long)s->early_reuse);
	for (t = 0; t < n_targets; t++)
		print_message("    target %u: %.1f conn/s\n", t,
			(double)s->per_target_late[t] / ((PERIODS - WARM) * TW_S));
	/* never back to a target within its TIME_WAIT */
	assert_int_equal(s->early_reuse, 0);
	assert_int_equal(s->w.ctr.snat_tw_forgotten, 0);
	/* every refused SYN is a counted drop, nothing else was dropped, and
	 * every other SYN made a flow */
	assert_int_equal(ex, s->refused);
	for (t = 0, dropped = 0; t < LB_DROP_MAX; t++)
		dropped += s->w.ctr.drops[t];
	assert_int_equal(dropped, ex);
	assert_int_equal(s->w.ctr.flows_created, s->established);
	/* above capacity: refusals; the rate holds at about the capacity (it
	 * cannot exceed it without an early reuse) */
	assert_true(s->refused > 0);
	assert_true(rate >= 0.9 * cap);
	assert_true(rate <= 1.001 * cap);
	/* a refusal costs a few probes, not a run over 64 candidates */
	assert_true(s->refused_probes_max <= MAX_PROBES_REFUSED);
	sim_free(s);
	free(s);
}

static void
test_open_one_target(void **state)
{
	(void)state;
	run(OPEN, 1);
}

static void
test_open_three_targets(void **state)
{
	(void)state;
	run(OPEN, 3);
}

static void
test_redial_one_target(void **state)
{
	(void)state;
	run(REDIAL, 1);
}

static void
test_redial_two_targets(void **state)
{
	(void)state;
	run(REDIAL, 2);
}

static void
test_redial_three_targets(void **state)
{
	(void)state;
	run(REDIAL, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_one_target),
		cmocka_unit_test(test_open_three_targets),
		cmocka_unit_test(test_redial_one_target),
		cmocka_unit_test(test_redial_two_targets),
		cmocka_unit_test(test_redial_three_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
