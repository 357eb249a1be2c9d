/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The compatibility contract: tests/compat/vectors-v1.txt holds literal
 * target identities, Maglev tables and flow picks as lbd 0.1.0 computed them.
 * This checks the code against those literals (never against itself): the
 * identities, every table built from its targets in several orders, and
 * each pick both through lb_dp_trace and through the data path itself.
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
#include "lb_maglev.h"
#include "lb_neigh.h"
#include "lb_snap.h"
#include "dp_util.h"

#define VECTORS		LB_SOURCE_ROOT "/tests/compat/vectors-v1.txt"
#define MAX_TARGETS	52
#define MAX_TABLES	16
#define MAX_SLICES	64
#define MAX_FES		16
#define MAX_PICKS	256

struct v_target {
	char label;
	uint32_t addr;
	uint16_t port;		/* network order */
	uint64_t id;
};

struct v_table {
	char name[16];
	uint32_t size;
	uint32_t n;
	char labels[MAX_TARGETS];
	uint32_t weights[MAX_TARGETS];
	uint32_t counts[MAX_TARGETS];
	bool have_counts;
};

struct v_slice {
	char table[16];
	uint32_t first;
	char *labels;
};

struct v_fe {
	char name[32];
	uint32_t vip;
	uint16_t port;		/* network order */
	char proto[4];
	char method[16];
	char affinity[16];
	char table[16];
};

struct v_pick {
	char fe[32];
	uint32_t client;
	uint16_t cport;		/* network order */
	uint32_t hash;
	uint32_t slot;
	char label;
};

static struct {
	struct v_target t[MAX_TARGETS];
	uint32_t n_t;
	struct v_table tab[MAX_TABLES];
	uint32_t n_tab;
	struct v_slice sl[MAX_SLICES];
	uint32_t n_sl;
	struct v_fe fe[MAX_FES];
	uint32_t n_fe;
	struct v_pick pk[MAX_PICKS];
	uint32_t n_pk;
} V;

static const struct v_target *
target_by_label(char l)
{
	uint32_t i;

	for (i = 0; i < V.n_t; i++)
		if (V.t[i].label == l)
			return &V.t[i];
	fail_msg("vectors: unknown target label %c", l);
	return NULL;
}

static const struct v_table *
table_by_name(const char *name)
{
	uint32_t i;

	for (i = 0; i < V.n_tab; i++)
		if (strcmp(V.tab[i].name, name) == 0)
			return &V.tab[i];
	fail_msg("vectors: unknown table %s", name);
	return NULL;
}

static void
parse_ep(const char *s, uint32_t *addr, uint16_t *port)
{
	if (lb_ep_parse(s, addr, port) != 0)
		fail_msg("vectors: bad endpoint %s", s);
}

static int
load(void **state)
{
	static char line[65536 + 256];
	FILE *f = fopen(VECTORS, "r");
	int ln = 0;

	(void)state;
	if (f == NULL)
		fail_msg("cannot open %s", VECTORS);
	memset(&V, 0, sizeof(V));
	while (fgets(line, sizeof(line), f) != NULL) {
		char kind[16], a[64], b[64], c[64], d[32];
		int off = 0;

		ln++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%15s%n", kind, &off) != 1)
			fail_msg("%s:%d: no keyword", VECTORS, ln);
		if (strcmp(kind, "target") == 0) {
			struct v_target *t = &V.t[V.n_t++];
			unsigned long long id;

			assert_true(V.n_t <= MAX_TARGETS);
			if (sscanf(line + off, " %c %63s %llx", &t->label, a, &id) != 3)
				fail_msg("%s:%d: bad target line", VECTORS, ln);
			parse_ep(a, &t->addr, &t->port);
			t->id = id;
		} else if (strcmp(kind, "table") == 0) {
			struct v_table *t = &V.tab[V.n_tab++];
			char *p = line + off, *tok;

			assert_true(V.n_tab <= MAX_TABLES);
			tok = strtok(p, " \n");
			snprintf(t->name, sizeof(t->name), "%s", tok);
			t->size = (uint32_t)strtoul(strtok(NULL, " \n"), NULL, 10);
			while ((tok = strtok(NULL, " \n")) != NULL) {
				t->labels[t->n] = tok[0];
				assert_int_equal(tok[1], '*');
				t->weights[t->n++] = (uint32_t)strtoul(tok + 2, NULL, 10);
			}
		} else if (strcmp(kind, "count") == 0) {
			char *p = line + off, *tok;
			struct v_table *t;

			tok = strtok(p, " \n");
			t = (struct v_table *)table_by_name(tok);
			while ((tok = strtok(NULL, " \n")) != NULL) {
				uint32_t k;

				for (k = 0; k < t->n && t->labels[k] != tok[0]; k++)
					;
				assert_true(k < t->n && tok[1] == '=');
				t->counts[k] = (uint32_t)strtoul(tok + 2, NULL, 10);
			}
			t->have_counts = true;
		} else if (strcmp(kind, "slice") == 0) {
			struct v_slice *s = &V.sl[V.n_sl++];
			static char labels[65536];

			assert_true(V.n_sl <= MAX_SLICES);
			if (sscanf(line + off, " %15s %u %65535s", s->table, &s->first, labels) != 3)
				fail_msg("%s:%d: bad slice line", VECTORS, ln);
			s->labels = strdup(labels);
		} else if (strcmp(kind, "frontend") == 0) {
			struct v_fe *fe = &V.fe[V.n_fe++];
			char *slash;

			assert_true(V.n_fe <= MAX_FES);
			if (sscanf(line + off, " %31s %63s %15s %15s %15s", fe->name, a, fe->method,
			    fe->affinity, fe->table) != 5)
				fail_msg("%s:%d: bad frontend line", VECTORS, ln);
			slash = strchr(a, '/');
			assert_non_null(slash);
			*slash = '\0';
			snprintf(fe->proto, sizeof(fe->proto), "%s", slash + 1);
			parse_ep(a, &fe->vip, &fe->port);
		} else if (strcmp(kind, "pick") == 0) {
			struct v_pick *pk = &V.pk[V.n_pk++];

			assert_true(V.n_pk <= MAX_PICKS);
			if (sscanf(line + off, " %31s %63s %63s %63s %31s", pk->fe, a, b, c, d) != 5)
				fail_msg("%s:%d: bad pick line", VECTORS, ln);
			parse_ep(a, &pk->client, &pk->cport);
			pk->hash = (uint32_t)strtoul(b, NULL, 16);
			pk->slot = (uint32_t)strtoul(c, NULL, 10);
			pk->label = d[0];
		} else {
			fail_msg("%s:%d: unknown line '%s'", VECTORS, ln, kind);
		}
	}
	fclose(f);
	/* the file is what it claims to be: nothing may go missing unnoticed */
	assert_int_equal(V.n_t, 21);
	assert_int_equal(V.n_tab, 4);
	assert_int_equal(V.n_fe, 4);
	assert_int_equal(V.n_pk, 32);
	return 0;
}

static int
unload(void **state)
{
	uint32_t i;

	(void)state;
	for (i = 0; i < V.n_sl; i++)
		free(V.sl[i].labels);
	return 0;
}

static void
test_identities(void **state)
{
	uint32_t i;

	(void)state;
	for (i = 0; i < V.n_t; i++) {
		char ep[LB_EP_STRLEN];
		uint64_t got = lb_maglev_target_id(V.t[i].addr, V.t[i].port);

		if (got != V.t[i].id)
			fail_msg("identity of %s is 0x%016llx, the contract says 0x%016llx",
				lb_ep_fmt(V.t[i].addr, V.t[i].port, ep), (unsigned long long)got,
				(unsigned long long)V.t[i].id);
	}
}

/* Builds table t with its targets in the order perm gives and checks every
 * slice and count of it. */
static void
check_table(const struct v_table *t, const uint32_t *perm)
{
	struct lb_maglev_target mt[MAX_TARGETS];
	uint32_t *tab = malloc(sizeof(uint32_t) * t->size), counts[MAX_TARGETS] = { 0 };
	char *labels = malloc(t->size + 1);
	uint32_t k, s, i;

	assert_non_null(tab);
	assert_non_null(labels);
	for (k = 0; k < t->n; k++) {
		const struct v_target *vt = target_by_label(t->labels[perm[k]]);

		mt[k].id = vt->id;
		mt[k].weight = t->weights[perm[k]];
	}
	assert_int_equal(lb_maglev_build_alloc(tab, t->size, mt, t->n), 0);
	for (s = 0; s < t->size; s++) {
		labels[s] = t->labels[perm[tab[s]]];
		counts[perm[tab[s]]]++;
	}
	labels[t->size] = '\0';
	for (k = 0; t->have_counts && k < t->n; k++)
		if (counts[k] != t->counts[k])
			fail_msg("table %s: target %c holds %u slots, the contract says %u", t->name,
				t->labels[k], counts[k], t->counts[k]);
	for (i = 0; i < V.n_sl; i++) {
		const struct v_slice *sl = &V.sl[i];
		size_t n = strlen(sl->labels);

		if (strcmp(sl->table, t->name) != 0)
			continue;
		assert_true(sl->first + n <= t->size);
		if (memcmp(labels + sl->first, sl->labels, n) != 0)
			fail_msg("table %s: slots %u..%zu are %.*s, the contract says %s", t->name,
				sl->first, sl->first + n - 1, (int)n, labels + sl->first, sl->labels);
	}
	free(labels);
	free(tab);
}

static void
test_tables(void **state)
{
	uint32_t i, k, perm[MAX_TARGETS];

	(void)state;
	for (i = 0; i < V.n_tab; i++) {
		const struct v_table *t = &V.tab[i];

		for (k = 0; k < t->n; k++)
			perm[k] = k;
		check_table(t, perm);
		for (k = 0; k < t->n; k++)	/* reversed */
			perm[k] = t->n - 1 - k;
		check_table(t, perm);
		for (k = 0; k < t->n; k++)	/* rotated */
			perm[k] = (k + 1) % t->n;
		check_table(t, perm);
	}
}

/* --- picks --- */

static struct lb_config *
compat_config(void)
{
	static char text[32768];
	size_t off = 0;
	char err[512], ip[LB_IP4_STRLEN];
	struct lb_config *cfg;
	uint32_t f, k;

	off += (size_t)snprintf(text + off, sizeof(text) - off,
		"ports = ( { name = \"ext\"; device = \"net_null0\"; role = \"external\";\n"
		"    address = \"192.0.2.1/24\"; },\n"
		"  { name = \"int\"; device = \"net_null1\"; role = \"internal\";\n"
		"    address = \"198.51.100.1/24\"; } );\n"
		"workers = { lcores = [1]; snat_addresses = [\"198.51.100.2\"]; };\n"
		"frontends = (\n");
	for (f = 0; f < V.n_fe; f++) {
		const struct v_fe *fe = &V.fe[f];
		const struct v_table *t = table_by_name(fe->table);

		off += (size_t)snprintf(text + off, sizeof(text) - off,
			"%s{ name = \"%s\"; vip = \"%s\"; protocol = \"%s\"; port = %u; method = \"%s\";\n"
			"  session_affinity = \"%s\"; maglev_size = %u; targets = (", f ? "," : "",
			fe->name, lb_ip4_fmt(fe->vip, ip), fe->proto, ntohs(fe->port), fe->method,
			fe->affinity, t->size);
		for (k = 0; k < t->n; k++) {
			const struct v_target *vt = target_by_label(t->labels[k]);

			off += (size_t)snprintf(text + off, sizeof(text) - off,
				"%s{ address = \"%s\"; port = %u; weight = %u; }", k ? "," : "",
				lb_ip4_fmt(vt->addr, ip), ntohs(vt->port), t->weights[k]);
		}
		off += (size_t)snprintf(text + off, sizeof(text) - off, "); }\n");
	}
	snprintf(text + off, sizeof(text) - off, ");\n");
	cfg = lb_config_load_string(text, "compat.conf", err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	return cfg;
}

static struct lb_snap *
compat_snap(struct lb_config *cfg)
{
	struct lb_snap_env env;
	struct lb_snap *s;
	char err[512];

	memset(&env, 0, sizeof(env));
	env.n_workers = 1;
	env.dev[1] = 1;
	env.mac[0][0] = env.mac[1][0] = 2;
	env.mac[0][5] = 1;
	env.mac[1][5] = 2;
	s = lb_snap_build_config(cfg, &env, NULL, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	return s;
}

static const struct v_fe *
fe_by_name(const char *name)
{
	uint32_t i;

	for (i = 0; i < V.n_fe; i++)
		if (strcmp(V.fe[i].name, name) == 0)
			return &V.fe[i];
	fail_msg("vectors: unknown frontend %s", name);
	return NULL;
}

static uint8_t
proto_of(const struct v_fe *fe)
{
	return strcmp(fe->proto, "udp") == 0 ? LB_PROTO_UDP : LB_PROTO_TCP;
}

static void
test_picks_trace(void **state)
{
	struct lb_config *cfg = compat_config();
	struct lb_snap *s = compat_snap(cfg);
	uint32_t i;

	(void)state;
	for (i = 0; i < V.n_pk; i++) {
		const struct v_pick *pk = &V.pk[i];
		const struct v_fe *fe = fe_by_name(pk->fe);
		const struct v_target *want = target_by_label(pk->label);
		struct lb_dp_trace t;
		char ep[LB_EP_STRLEN];

		assert_int_equal(lb_dp_trace(s, pk->client, pk->cport, fe->vip, fe->port, proto_of(fe),
			&t), 0);
		if (t.hash != pk->hash || t.slot != pk->slot)
			fail_msg("%s from %s: hash 0x%08x slot %u, the contract says 0x%08x slot %u",
				pk->fe, lb_ep_fmt(pk->client, pk->cport, ep), t.hash, t.slot, pk->hash,
				pk->slot);
		assert_true(t.target >= 0);
		assert_int_equal(t.fe->targets[t.target].addr, want->addr);
		assert_int_equal(t.fe->targets[t.target].port, want->port);
	}
	lb_snap_free(s);
	lb_config_free(cfg);
}

/* The same picks made by the data path: a first packet from each client
 * leaves towards the contract's target. */
static void
test_picks_data_path(void **state)
{
	const struct lb_neigh_params np = { .reachable_ms = 1000, .retries = 1, .retry_ms = 1000,
		.queue_len = 1, .failed_hold_ms = 1000, .max_entries = 1 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	struct lb_config *cfg = compat_config();
	struct lb_snap *s = compat_snap(cfg);
	struct lb_neigh *n = lb_neigh_create(&np, &ops);
	struct lb_neigh_table *nt;
	struct lb_dp_worker w;
	size_t sz = (lb_flow_table_memsize(4096) + 63) & ~(size_t)63;
	void *m1 = aligned_alloc(64, sz), *m2 = aligned_alloc(64, sz);
	uint32_t i;

	(void)state;
	assert_non_null(n);
	nt = lb_neigh_table_build(n);
	assert_non_null(nt);
	memset(&w, 0, sizeof(w));
	w.flows = lb_flow_table_init(m1, 4096, 1);
	w.affinity = lb_flow_table_init(m2, 4096, 2);
	assert_int_equal(lb_snat_init(&w.snat, &s->snat, 0, cfg->snat_addrs, cfg->n_snat), 0);
	for (i = 0; i < V.n_pk; i++) {
		const struct v_pick *pk = &V.pk[i];
		const struct v_fe *fe = fe_by_name(pk->fe);
		const struct v_target *want = target_by_label(pk->label);
		uint8_t buf[256], *f = buf + 64, *ip = f + 14, *l4 = ip + 20;
		uint8_t proto = proto_of(fe);
		uint32_t len = 14 + 20 + (proto == LB_PROTO_TCP ? 20 : 8), sum = 0, k;
		struct lb_dp_result r;
		enum lb_dp_verdict v;
		uint16_t dport;
		uint32_t dst;

		memset(buf, 0, sizeof(buf));
		memcpy(f, s->ports[0].mac, 6);
		f[6] = 2;
		f[11] = 0x99;
		f[12] = 0x08;
		ip[0] = 0x45;
		ip[3] = (uint8_t)(len - 14);
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, &pk->client, 4);
		memcpy(ip + 16, &fe->vip, 4);
		for (k = 0; k < 20; k += 2)
			sum += (uint32_t)ip[k] << 8 | ip[k + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		ip[10] = (uint8_t)(~sum >> 8);
		ip[11] = (uint8_t)~sum;
		memcpy(l4, &pk->cport, 2);
		memcpy(l4 + 2, &fe->port, 2);
		if (proto == LB_PROTO_TCP) {
			l4[12] = 5 << 4;
			l4[13] = 0x02;	/* SYN */
		} else {
			l4[5] = 8;
		}
		v = lb_dp_process(&w, s, nt, f, len, 64, 0, 1000000, &r);
		/* no neighbour is known: the rewritten frame waits for ARP */
		assert_int_equal(v, LB_DP_TO_CTL);
		memcpy(&dst, f + r.adj + 14 + 16, 4);
		memcpy(&dport, f + r.adj + 14 + 20 + 2, 2);
		assert_int_equal(dst, want->addr);
		assert_int_equal(dport, want->port);
	}
	free(m1);
	free(m2);
	lb_neigh_table_free(nt);
	lb_neigh_destroy(n);
	lb_snap_free(s);
	lb_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_picks_trace),
		cmocka_unit_test(test_picks_data_path),
	};

	return cmocka_run_group_tests(tests, load, unload);
}
