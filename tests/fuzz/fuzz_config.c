/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the config loader (lib/config) and what reads its model:
 * the input is a config file. A file the loader accepts is compared with a
 * running config (lb_config_reload_check) and compiled into a snapshot
 * (lib/snap), as a reload would; a rejected one must come with a message.
 *
 * Checked: an error message is never empty and names the file; an accepted
 * model holds together (ports, roles, workers within their limits); a
 * snapshot that builds answers lookups for every frontend it was given.
 * Configs whose Maglev tables add up to more than 2^20 slots are loaded and
 * checked but not compiled (the build is linear in the table size, and a
 * 16M-slot table per input would only measure memset).
 */
#include <string.h>

#include "fuzz.h"
#include "lb_config.h"
#include "lb_snap.h"

#define MAX_INPUT	65536
#define MAX_SLOTS	(1u << 20)

static const char running[] =
	"ports = (\n"
	"  { name = \"ext\"; device = \"net_pcap0,iface=a\"; role = \"external\"; address = \"192.0.2.1/24\"; },\n"
	"  { name = \"int\"; device = \"net_pcap1,iface=b\"; role = \"internal\"; address = \"198.51.100.1/24\"; }\n"
	");\n"
	"workers = { lcores = [1]; snat_addresses = [\"198.51.100.2\"]; };\n"
	"frontends = ( { name = \"web\"; vip = \"192.0.2.10\"; port = 80;\n"
	"  targets = ( { address = \"198.51.100.11\"; port = 30080; } ); } );\n";

static struct lb_config *cur;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	cur = lb_config_load_string(running, "running.conf", err, sizeof(err));
	if (cur == NULL) {
		fprintf(stderr, "fuzz_config: %s\n", err);
		abort();
	}
	return 0;
}

static void
check_model(const struct lb_config *c)
{
	uint32_t i;

	CHECK(c->n_ports >= 1 && c->n_ports <= LB_MAX_PORTS);
	CHECK(c->ext_port >= 0 && (uint32_t)c->ext_port < c->n_ports);
	CHECK(c->int_port >= 0 && (uint32_t)c->int_port < c->n_ports);
	CHECK(c->ports[c->ext_port].role & LB_ROLE_EXTERNAL);
	CHECK(c->ports[c->int_port].role & LB_ROLE_INTERNAL);
	CHECK(c->n_workers >= 1 && c->n_workers <= LB_MAX_WORKERS);
	CHECK(c->n_snat <= LB_MAX_SNAT_ADDRS);
	for (i = 0; i < c->n_frontends; i++) {
		const struct lb_config_frontend *fe = &c->frontends[i];

		CHECK(fe->name[0] != '\0');
		CHECK(fe->proto == LB_PROTO_TCP || fe->proto == LB_PROTO_UDP);
		CHECK(fe->n_targets == 0 || fe->targets != NULL);
	}
}

static uint64_t
total_slots(const struct lb_config *c)
{
	uint64_t slots = 0;
	uint32_t i;

	for (i = 0; i < c->n_frontends; i++)
		slots += c->frontends[i].maglev_size ? c->frontends[i].maglev_size : 65537;
	return slots;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024], *text;
	struct lb_config *c;
	struct lb_snap_env env;
	struct lb_snap *s;
	uint32_t i;

	if (size > MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	c = lb_config_load_string(text, "fuzz.conf", err, sizeof(err));
	free(text);
	if (c == NULL) {
		CHECK(err[0] != '\0' && strncmp(err, "fuzz.conf", 9) == 0);
		return 0;
	}
	check_model(c);
	err[0] = '\0';
	if (lb_config_reload_check(cur, c, err, sizeof(err)) != 0)
		CHECK(err[0] != '\0');
	if (total_slots(c) <= MAX_SLOTS) {
		memset(&env, 0, sizeof(env));
		env.n_workers = c->n_workers;
		for (i = 0; i < c->n_ports; i++) {
			env.dev[i] = (uint16_t)i;
			env.mac[i][0] = 2;
			env.mac[i][5] = (uint8_t)i;
		}
		s = lb_snap_build_config(c, &env, NULL, err, sizeof(err));
		if (s != NULL) {
			CHECK(s->n_fes == c->n_frontends);
			for (i = 0; i < s->n_fes; i++)
				CHECK(lb_snap_fe_lookup(s, s->fes[i].vip, s->fes[i].proto,
					s->fes[i].port) == &s->fes[i]);
			lb_snap_free(s);
		} else {
			CHECK(err[0] != '\0');
		}
	}
	lb_config_free(c);
	return 0;
}
