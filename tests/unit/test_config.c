/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config loader tests: every file in config/ loads, every file in
 * tests/config/ fails with the message and line its first line announces,
 * defaults, the model's byte order, error paths from strings, reload rules,
 * and a truncation/mutation loop that only asks for no crash, no leak and a
 * well-formed answer.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_config.h"

#ifndef LB_SOURCE_ROOT
#error "LB_SOURCE_ROOT must name the source tree (tests/unit/meson.build sets it)"
#endif

#define ERRLEN 512

/*
 * libconfig 1.5 (Debian 12) leaks a string token's buffer when a syntax
 * error follows it (hyperrealm/libconfig#142, fixed in 1.7 by a bison
 * %destructor). Only inputs with such syntax errors trigger it; lbd leaks a
 * few bytes per rejected file. Suppress exactly that allocation site so that
 * every other leak still fails the ASan run.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\n";
}

static uint32_t
ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* A small valid two-arm config; the string tests edit it. */
static const char base_conf[] =
	"lbd = {\n"						/* 1 */
	"	socket = \"/tmp/t.sock\";\n"			/* 2 */
	"	control_lcore = 0;\n"				/* 3 */
	"};\n"							/* 4 */
	"eal = {\n"						/* 5 */
	"	file_prefix = \"t\";\n"				/* 6 */
	"	no_huge = true;\n"				/* 7 */
	"	memory_mb = 128;\n"				/* 8 */
	"	args = [ \"--no-pci\" ];\n"			/* 9 */
	"};\n"							/* 10 */
	"ports = (\n"						/* 11 */
	"	{\n"						/* 12 */
	"		name = \"ext\";\n"			/* 13 */
	"		device = \"net_ring0\";\n"		/* 14 */
	"		role = \"external\";\n"			/* 15 */
	"		address = \"192.0.2.1/24\";\n"		/* 16 */
	"		gateway = \"192.0.2.254\";\n"		/* 17 */
	"		vlan = 10;\n"				/* 18 */
	"	},\n"						/* 19 */
	"	{\n"						/* 20 */
	"		name = \"int\";\n"			/* 21 */
	"		device = \"0000:03:00.1\";\n"		/* 22 */
	"		role = \"internal\";\n"			/* 23 */
	"		address = \"198.51.100.1/24\";\n"	/* 24 */
	"		neighbours = (\n"			/* 25 */
	"			{ address = \"198.51.100.11\"; mac = \"02:00:00:00:00:0b\"; }\n" /* 26 */
	"		);\n"					/* 27 */
	"	}\n"						/* 28 */
	");\n"							/* 29 */
	"workers = {\n"						/* 30 */
	"	lcores = [ 1, 2 ];\n"				/* 31 */
	"	flow_capacity = 4096;\n"			/* 32 */
	"	snat_addresses = [ \"198.51.100.2\", \"198.51.100.3\" ];\n" /* 33 */
	"	snat_ports = [ 2000, 3999 ];\n"			/* 34 */
	"	timeouts = {\n"					/* 35 */
	"		tcp_syn = 5;\n"				/* 36 */
	"		tcp_established = 600;\n"		/* 37 */
	"		tcp_fin = 6;\n"				/* 38 */
	"		udp = 7;\n"				/* 39 */
	"	};\n"						/* 40 */
	"};\n"							/* 41 */
	"arp = {\n"						/* 42 */
	"	reachable = 60;\n"				/* 43 */
	"	retries = 5;\n"					/* 44 */
	"	retry_interval_ms = 250;\n"			/* 45 */
	"	queue = 0;\n"					/* 46 */
	"};\n"							/* 47 */
	"frontends = (\n"					/* 48 */
	"	{\n"						/* 49 */
	"		name = \"web\";\n"			/* 50 */
	"		vip = \"192.0.2.10\";\n"		/* 51 */
	"		protocol = \"tcp\";\n"			/* 52 */
	"		port = 80;\n"				/* 53 */
	"		method = \"fullnat\";\n"		/* 54 */
	"		maglev_size = 251;\n"			/* 55 */
	"		session_affinity = \"client_ip\";\n"	/* 56 */
	"		affinity_timeout = 99;\n"		/* 57 */
	"		source_ranges = [ \"10.0.0.0/8\", \"203.0.113.7\" ];\n" /* 58 */
	"		targets = (\n"				/* 59 */
	"			{ address = \"198.51.100.11\"; port = 30080; weight = 3; },\n" /* 60 */
	"			{ address = \"198.51.100.12\"; port = 30080; },\n" /* 61 */
	"			{ address = \"198.51.100.13\"; port = 30081; weight = 0; }\n" /* 62 */
	"		);\n"					/* 63 */
	"	},\n"						/* 64 */
	"	{\n"						/* 65 */
	"		name = \"dns\";\n"			/* 66 */
	"		vip = \"192.0.2.10\";\n"		/* 67 */
	"		protocol = \"udp\";\n"			/* 68 */
	"		port = 53;\n"				/* 69 */
	"		method = \"dnat\";\n"			/* 70 */
	"	}\n"						/* 71 */
	");\n";							/* 72 */

/* base_conf with `old` (which must occur exactly once) replaced by `new`. */
static char *
edit(const char *base, const char *old, const char *new)
{
	const char *at = strstr(base, old);
	size_t lb = strlen(base), lo = strlen(old), ln = strlen(new);
	char *out;

	if (at == NULL || strstr(at + 1, old) != NULL)
		fail_msg("edit: '%s' must occur exactly once", old);
	out = malloc(lb - lo + ln + 1);
	assert_non_null(out);
	memcpy(out, base, (size_t)(at - base));
	memcpy(out + (at - base), new, ln);
	memcpy(out + (at - base) + ln, at + lo, lb - (size_t)(at - base) - lo + 1);
	return out;
}

/* 1-based line of the first occurrence of needle in text. */
static int
line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle), *p;
	int line = 1;

	if (at == NULL)
		fail_msg("line_of: '%s' not in the text", needle);
	for (p = text; p < at; p++)
		if (*p == '\n')
			line++;
	return line;
}

/* Loads text and expects "name:LINE: ...substring...". */
static void
expect_err_line(const char *text, int line, const char *substring)
{
	char err[ERRLEN], prefix[64];
	struct lb_config *c;

	c = lb_config_load_string(text, "t.conf", err, sizeof(err));
	if (c != NULL) {
		lb_config_free(c);
		fail_msg("loaded, expected line %d: %s", line, substring);
	}
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, substring) == NULL)
		fail_msg("expected '%s...%s', got '%s'", prefix, substring, err);
}

static struct lb_config *
load_ok(const char *text)
{
	char err[ERRLEN];
	struct lb_config *c;

	c = lb_config_load_string(text, "t.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("unexpected error: %s", err);
	return c;
}

static struct lb_config *
edit_ok(const char *old, const char *new)
{
	char *text = edit(base_conf, old, new);
	struct lb_config *c = load_ok(text);

	free(text);
	return c;
}

/* ---- files ---- */

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.conf names in dir; returns how many. */
static size_t
list_confs(const char *dir, char ***out)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		fail_msg("cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, ".conf"))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		assert_non_null(names);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	return n;
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ports[].kernel and kernel_rate. */
static void
test_port_kernel(void **state)
{
	struct lb_config *c;
	char *text;

	(void)state;
	c = load_ok(base_conf);
	assert_string_equal(c->ports[0].kernel, "");
	assert_int_equal(c->ports[0].kernel_rate, LB_CONFIG_KERNEL_RATE);
	lb_config_free(c);
	c = edit_ok("role = \"internal\";", "role = \"internal\"; kernel = \"lbk1\"; "
		"kernel_rate = 500;");
	assert_string_equal(c->ports[c->int_port].kernel, "lbk1");
	assert_int_equal(c->ports[c->int_port].kernel_rate, 500);
	lb_config_free(c);
	text = edit(base_conf, "role = \"internal\";", "role = \"internal\"; kernel = \"a/b\";");
	expect_err_line(text, line_of(text, "kernel ="), "is not an interface name");
	free(text);
	text = edit(base_conf, "role = \"internal\";",
		"role = \"internal\"; kernel = \"abcdefghijklmnop\";");
	expect_err_line(text, line_of(text, "kernel ="), "1 to 15 characters");
	free(text);
	text = edit(base_conf, "role = \"internal\";", "role = \"internal\"; kernel_rate = 0;");
	expect_err_line(text, line_of(text, "kernel_rate"), "kernel_rate");
	free(text);
	text = edit(base_conf, "role = \"external\";", "role = \"external\"; kernel = \"k\";");
	{
		char *t2 = edit(text, "role = \"internal\";", "role = \"internal\"; kernel = \"k\";");

		expect_err_line(t2, line_of(t2, "role = \"internal\"; kernel"),
			"duplicate kernel interface 'k'");
		free(t2);
	}
	free(text);
}

static void
test_example_configs_load(void **state)
{
	char **names, path[PATH_MAX], err[ERRLEN];
	const char *required[] = { "lbd.conf", "demo.conf", "one-arm.conf", "pcap.conf" };
	size_t n, i, k;

	(void)state;
	n = list_confs(LB_SOURCE_ROOT "/config", &names);
	for (k = 0; k < LB_ARRAY_SIZE(required); k++) {
		for (i = 0; i < n; i++)
			if (strcmp(names[i], required[k]) == 0)
				break;
		if (i == n)
			fail_msg("config/%s is missing", required[k]);
	}
	for (i = 0; i < n; i++) {
		struct lb_config *c;

		snprintf(path, sizeof(path), "%s/config/%s", LB_SOURCE_ROOT, names[i]);
		c = lb_config_load(path, err, sizeof(err));
		if (c == NULL)
			fail_msg("%s", err);
		assert_string_equal(c->path, path);
		lb_config_free(c);
	}
	free_names(names, n);
}

/* demo.conf is what the demo's namespaces are built around: check it
 * against that topology key by key. */
static void
test_demo_topology(void **state)
{
	const struct lb_config_frontend *fe;
	const struct lb_config_port *e, *in;
	char err[ERRLEN];
	struct lb_config *c;
	uint32_t i;

	(void)state;
	c = lb_config_load(LB_SOURCE_ROOT "/config/demo.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->socket, "/run/lbd/demo.sock");
	assert_int_equal(c->control_lcore, 0);
	assert_string_equal(c->file_prefix, "lbd-demo");
	assert_true(c->no_huge);
	assert_int_equal(c->memory_mb, 512);
	assert_int_equal(c->n_ports, 2);
	e = &c->ports[c->ext_port];
	in = &c->ports[c->int_port];
	assert_int_not_equal(c->ext_port, c->int_port);
	assert_string_equal(e->device, "net_af_packet0,iface=lb-ext");
	assert_int_equal(e->role, LB_ROLE_EXTERNAL);
	assert_int_equal(e->addr, ip("192.0.2.1"));
	assert_int_equal(e->net.len, 24);
	assert_string_equal(in->device, "net_af_packet1,iface=lb-int");
	assert_int_equal(in->role, LB_ROLE_INTERNAL);
	assert_int_equal(in->addr, ip("198.51.100.1"));
	assert_int_equal(in->net.len, 24);
	assert_int_equal(c->n_workers, 1);
	assert_int_equal(c->worker_lcores[0], 1);
	assert_int_equal(c->flow_capacity, 65536);
	assert_int_equal(c->n_snat, 1);
	assert_int_equal(c->snat_addrs[0], ip("198.51.100.2"));
	assert_int_equal(c->n_frontends, 1);
	fe = &c->frontends[0];
	assert_int_equal(fe->vip, ip("192.0.2.10"));
	assert_int_equal(fe->proto, LB_PROTO_TCP);
	assert_int_equal(fe->port, htons(80));
	assert_int_equal(fe->method, LB_METHOD_FULLNAT);
	assert_int_equal(fe->n_targets, 3);
	for (i = 0; i < 3; i++) {
		char a[16];

		snprintf(a, sizeof(a), "198.51.100.%u", 11 + i);
		assert_int_equal(fe->targets[i].addr, ip(a));
		assert_int_equal(fe->targets[i].port, htons(30080));
		assert_int_equal(fe->targets[i].weight, i == 1 ? 2 : 1);
	}
	lb_config_free(c);
}

static void
test_other_examples(void **state)
{
	char err[ERRLEN];
	struct lb_config *c;
	uint32_t i;

	(void)state;
	c = lb_config_load(LB_SOURCE_ROOT "/config/one-arm.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_ports, 1);
	assert_int_equal(c->ports[0].role, LB_ROLE_BOTH);
	assert_int_equal(c->ext_port, 0);
	assert_int_equal(c->int_port, 0);
	lb_config_free(c);

	c = lb_config_load(LB_SOURCE_ROOT "/config/pcap.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	for (i = 0; i < c->n_ports; i++)
		assert_true(strncmp(c->ports[i].device, "net_pcap", 8) == 0);
	lb_config_free(c);

	/* The reference shows every key: make sure it really sets them. */
	c = lb_config_load(LB_SOURCE_ROOT "/config/lbd.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_ports, 2);
	assert_true(lb_config_device_valid(c->ports[0].device));
	assert_int_not_equal(c->ports[0].gateway, 0);
	assert_true(c->ports[1].vlan > 0);
	assert_true(c->ports[1].n_neigh > 0);
	assert_true(c->n_eal_args > 0);
	assert_true(c->n_snat > 0);
	assert_true(c->n_frontends >= 2);
	lb_config_free(c);
}

/* Every tests/config/X.conf starts with "# expect: LINE: SUBSTRING". */
static void
test_broken_files(void **state)
{
	char **names, path[PATH_MAX], err[ERRLEN], first[512], prefix[PATH_MAX + 32];
	size_t n, i;

	(void)state;
	n = list_confs(LB_SOURCE_ROOT "/tests/config", &names);
	assert_true(n >= 20);
	for (i = 0; i < n; i++) {
		struct lb_config *c;
		char *sub, *nl;
		int line;
		FILE *f;

		snprintf(path, sizeof(path), "%s/tests/config/%s", LB_SOURCE_ROOT, names[i]);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(first, sizeof(first), f));
		fclose(f);
		nl = strchr(first, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (sscanf(first, "# expect: %d:", &line) != 1 || line < 1)
			fail_msg("%s: first line must be '# expect: LINE: text'", names[i]);
		sub = strchr(first + strlen("# expect: "), ':');
		assert_non_null(sub);
		sub += 2;
		assert_true(strlen(sub) > 3);

		c = lb_config_load(path, err, sizeof(err));
		if (c != NULL) {
			lb_config_free(c);
			fail_msg("%s loaded without error", names[i]);
		}
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
		if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, sub) == NULL)
			fail_msg("%s: expected line %d '%s', got '%s'", names[i], line, sub, err);
	}
	free_names(names, n);
}

/* ---- model ---- */

static void
test_defaults(void **state)
{
	static const char text[] =
		"# defaults\n"
		"ports = (\n"
		"  { name = \"p\"; device = \"net_null0\"; role = \"both\"; address = \"10.0.0.1/24\"; }\n"
		");\n"
		"workers = {\n"
		"  lcores = [ 3 ];\n"
		"  snat_addresses = [ \"10.0.0.2\" ];\n"
		"};\n"
		"frontends = ( {\n"
		"  name = \"f\"; vip = \"10.0.0.9\"; port = 443;\n"
		"  targets = ( { address = \"10.0.0.20\"; port = 8443; } );\n"
		"} );\n";
	const struct lb_config_frontend *fe;
	struct lb_config *c = load_ok(text);

	(void)state;
	assert_string_equal(c->socket, "/run/lbd/lbd.sock");
	assert_int_equal(c->control_lcore, 0);
	assert_string_equal(c->file_prefix, "lbd");
	assert_false(c->no_huge);
	assert_int_equal(c->memory_mb, 0);
	assert_int_equal(c->n_eal_args, 0);
	assert_int_equal(c->n_ports, 1);
	assert_int_equal(c->ports[0].gateway, 0);
	assert_int_equal(c->ports[0].vlan, 0);
	assert_int_equal(c->ports[0].n_neigh, 0);
	assert_int_equal(c->n_workers, 1);
	assert_int_equal(c->worker_lcores[0], 3);
	assert_int_equal(c->flow_capacity, 262144);
	assert_int_equal(c->mbufs, 0);
	assert_int_equal(c->snat_port_lo, 1024);
	assert_int_equal(c->snat_port_hi, 65535);
	assert_int_equal(c->timeouts.tcp_syn, 30);
	assert_int_equal(c->timeouts.tcp_established, 3600);
	assert_int_equal(c->timeouts.tcp_fin, 30);
	assert_int_equal(c->timeouts.udp, 30);
	assert_int_equal(c->arp_reachable, 300);
	assert_int_equal(c->arp_retries, 3);
	assert_int_equal(c->arp_retry_ms, 1000);
	assert_int_equal(c->arp_queue, 3);
	assert_int_equal(c->n_frontends, 1);
	fe = &c->frontends[0];
	assert_int_equal(fe->proto, LB_PROTO_TCP);
	assert_int_equal(fe->method, LB_METHOD_FULLNAT);
	assert_int_equal(fe->maglev_size, 65537);
	assert_int_equal(fe->affinity, LB_AFFINITY_NONE);
	assert_int_equal(fe->affinity_timeout, 10800);
	assert_int_equal(fe->n_src_ranges, 0);
	assert_null(fe->src_ranges);
	assert_int_equal(fe->n_targets, 1);
	assert_int_equal(fe->targets[0].weight, 1);
	/* Lines of absent keys: their group's, or 1 for an absent group. */
	assert_int_equal(c->line_socket, 1);
	assert_int_equal(c->line_memory_mb, 1);
	assert_int_equal(c->line_ports, 2);
	assert_int_equal(c->line_workers, 5);
	assert_int_equal(c->line_flow_capacity, 5);
	assert_int_equal(c->line_snat_ports, 5);
	assert_int_equal(c->line_lcores, 6);
	assert_int_equal(c->ports[0].line_gateway, c->ports[0].line);
	assert_int_equal(c->ports[0].line, 3);
	lb_config_free(c);

	/* No frontends at all: no SNAT needed, frontends stays NULL. */
	c = load_ok("ports = ( { name = \"p\"; device = \"0000:00:1f.7\"; role = \"both\";"
		" address = \"10.0.0.1/31\"; } );\nworkers = { lcores = [ 1 ]; };\n");
	assert_int_equal(c->n_frontends, 0);
	assert_null(c->frontends);
	assert_int_equal(c->n_snat, 0);
	lb_config_free(c);
}

static void
test_model_values(void **state)
{
	const struct lb_config_frontend *fe;
	const struct lb_config_port *p;
	struct lb_config *c = load_ok(base_conf);
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 0x0b };

	(void)state;
	assert_string_equal(c->path, "t.conf");
	assert_string_equal(c->socket, "/tmp/t.sock");
	assert_string_equal(c->file_prefix, "t");
	assert_true(c->no_huge);
	assert_int_equal(c->memory_mb, 128);
	assert_int_equal(c->n_eal_args, 1);
	assert_string_equal(c->eal_args[0], "--no-pci");
	assert_int_equal(c->ext_port, 0);
	assert_int_equal(c->int_port, 1);

	p = &c->ports[0];
	assert_string_equal(p->name, "ext");
	assert_string_equal(p->device, "net_ring0");
	assert_int_equal(p->role, LB_ROLE_EXTERNAL);
	assert_int_equal(p->addr, ip("192.0.2.1"));
	assert_int_equal(p->net.addr, ip("192.0.2.1"));	/* host bits kept */
	assert_int_equal(p->net.mask, ip("255.255.255.0"));
	assert_int_equal(p->net.len, 24);
	assert_int_equal(p->gateway, ip("192.0.2.254"));
	assert_int_equal(p->vlan, 10);
	assert_int_equal(p->line, 12);
	assert_int_equal(p->line_address, 16);
	assert_int_equal(p->line_vlan, 18);
	p = &c->ports[1];
	assert_string_equal(p->device, "0000:03:00.1");
	assert_int_equal(p->n_neigh, 1);
	assert_int_equal(p->neigh[0].addr, ip("198.51.100.11"));
	assert_memory_equal(p->neigh[0].mac, mac, 6);
	assert_int_equal(p->neigh[0].line, 26);

	assert_int_equal(c->n_workers, 2);
	assert_int_equal(c->worker_lcores[0], 1);
	assert_int_equal(c->worker_lcores[1], 2);
	assert_int_equal(c->flow_capacity, 4096);
	assert_int_equal(c->n_snat, 2);
	assert_int_equal(c->snat_addrs[1], ip("198.51.100.3"));
	assert_int_equal(c->snat_addr_line[1], 33);
	assert_int_equal(c->snat_port_lo, 2000);	/* host order */
	assert_int_equal(c->snat_port_hi, 3999);
	assert_int_equal(c->timeouts.tcp_syn, 5);
	assert_int_equal(c->timeouts.tcp_established, 600);
	assert_int_equal(c->timeouts.tcp_fin, 6);
	assert_int_equal(c->timeouts.udp, 7);
	assert_int_equal(c->arp_reachable, 60);
	assert_int_equal(c->arp_retries, 5);
	assert_int_equal(c->arp_retry_ms, 250);
	assert_int_equal(c->arp_queue, 0);

	assert_int_equal(c->n_frontends, 2);
	fe = &c->frontends[0];
	assert_string_equal(fe->name, "web");
	assert_int_equal(fe->vip, ip("192.0.2.10"));
	assert_int_equal(fe->port, htons(80));		/* network order */
	assert_int_equal(fe->maglev_size, 251);
	assert_int_equal(fe->affinity, LB_AFFINITY_CLIENT_IP);
	assert_int_equal(fe->affinity_timeout, 99);
	assert_int_equal(fe->n_src_ranges, 2);
	assert_int_equal(fe->src_ranges[0].addr, ip("10.0.0.0"));
	assert_int_equal(fe->src_ranges[0].len, 8);
	assert_int_equal(fe->src_ranges[1].addr, ip("203.0.113.7"));
	assert_int_equal(fe->src_ranges[1].len, 32);
	assert_int_equal(fe->n_targets, 3);
	assert_int_equal(fe->targets[0].port, htons(30080));
	assert_int_equal(fe->targets[0].weight, 3);
	assert_int_equal(fe->targets[1].weight, 1);
	assert_int_equal(fe->targets[2].weight, 0);
	assert_int_equal(fe->targets[2].port, htons(30081));
	assert_int_equal(fe->targets[2].line, 62);
	assert_int_equal(fe->line, 49);
	assert_int_equal(fe->line_vip, 51);
	fe = &c->frontends[1];
	assert_int_equal(fe->proto, LB_PROTO_UDP);
	assert_int_equal(fe->method, LB_METHOD_DNAT);
	assert_int_equal(fe->n_targets, 0);
	assert_null(fe->targets);
	lb_config_free(c);
}

/* Variants that must load. */
static void
test_accepts(void **state)
{
	struct lb_config *c;
	char *t, *s;

	(void)state;
	/* Targets beyond the internal subnet, through its gateway. */
	c = edit_ok("		address = \"198.51.100.1/24\";\n",
		"		address = \"198.51.100.1/24\";\n		gateway = \"198.51.100.254\";\n"
		"		vlan = 4094;\n");
	assert_int_equal(c->ports[1].gateway, ip("198.51.100.254"));
	assert_int_equal(c->ports[1].vlan, 4094);
	lb_config_free(c);
	/* Integers as 64-bit and hex literals; lists where arrays are usual. */
	c = edit_ok("	flow_capacity = 4096;\n	snat_addresses = [ \"198.51.100.2\", \"198.51.100.3\" ];\n",
		"	flow_capacity = 0x1000L;\n	snat_addresses = ( \"198.51.100.2\", \"198.51.100.3\" );\n");
	assert_int_equal(c->flow_capacity, 4096);
	assert_int_equal(c->n_snat, 2);
	lb_config_free(c);
	c = edit_ok("	flow_capacity = 4096;\n", "	flow_capacity = 4096;\n	mbufs = 100000;\n");
	assert_int_equal(c->mbufs, 100000);
	lb_config_free(c);
	/* Comments of all three kinds, colons for assignment, empty arrays. */
	c = edit_ok("	args = [ \"--no-pci\" ];\n", "	// c\n	/* c */ args: [ ]; # c\n");
	assert_int_equal(c->n_eal_args, 0);
	lb_config_free(c);
	/* FullNAT needs SNAT addresses (named at the frontend), DNAT does not. */
	t = edit(base_conf, "	snat_addresses = [ \"198.51.100.2\", \"198.51.100.3\" ];\n", "");
	expect_err_line(t, 48, "frontend 'web' uses method \"fullnat\" but workers.snat_addresses is empty");
	c = load_ok(s = edit(t, "		method = \"fullnat\";", "		method = \"dnat\";"));
	assert_int_equal(c->n_snat, 0);
	assert_int_equal(c->frontends[0].method, LB_METHOD_DNAT);
	lb_config_free(c);
	free(s);
	free(t);
	/* A /32 port with a gateway-less internal side and no frontends. */
	lb_config_free(load_ok("ports = ( { name = \"p\"; device = \"net_null0\"; role = \"both\";"
		" address = \"10.9.9.9/32\"; } );\nworkers = { lcores = [ 1 ]; };\n"));
	lb_config_free(NULL);
}

static void
test_one_arm_and_roles(void **state)
{
	static const char one_arm[] =
		"ports = ( { name = \"lan\"; device = \"net_tap0,iface=t0\"; role = \"both\";\n"
		"  address = \"10.1.0.1/16\"; } );\n"
		"workers = { lcores = [ 1 ]; snat_addresses = [ \"10.1.0.2\" ]; };\n"
		"frontends = ( { name = \"a\"; vip = \"10.1.0.100\"; port = 80;\n"
		"  targets = ( { address = \"10.1.3.4\"; port = 8080; } ); } );\n";
	struct lb_config *c = load_ok(one_arm);
	char *t;

	(void)state;
	assert_int_equal(c->ext_port, 0);
	assert_int_equal(c->int_port, 0);
	lb_config_free(c);

	/* "both" next to an external port. */
	t = edit(base_conf, "		role = \"internal\";", "		role = \"both\";");
	expect_err_line(t, 23, "overlapping roles: port 'int' (role \"both\") and port 'ext'");
	free(t);
	/* Two internal ports: the message names both. */
	t = edit(base_conf, "		role = \"external\";", "		role = \"internal\";");
	expect_err_line(t, 23, "port 'ext' (role \"internal\", line 15)");
	free(t);
	/* No external port at all (one internal port). */
	expect_err_line("ports = (\n { name = \"i\"; device = \"net_null0\"; role = \"internal\";"
		" address = \"10.0.0.1/24\"; }\n);\nworkers = { lcores = [ 1 ]; };\n", 1,
		"no port has the external role");
}

/* Error paths from strings: each edit and the message it must cause. */
static void
test_string_errors(void **state)
{
	static const struct {
		const char *old, *new, *at, *msg;
	} cases[] = {
		/* syntax and lexical */
		{ "	control_lcore = 0;", "	control_lcore = 0;;;", "control_lcore", "syntax error" },
		{ "	queue = 0;", "	queue = 99999999999;", "queue", "integer 99999999999 is out of range" },
		{ "	queue = 0;", "	queue = 0x1ffffffff;", "queue", "integer 0x1ffffffff is out of range" },
		{ "	queue = 0;", "	queue = -3000000000;", "queue", "is out of range" },
		{ "	queue = 0;", "	queue = 2147483648L;", "queue", "integer 2147483648L is out of range" },
		{ "	queue = 0;", "	queue = 2147483647L;", "queue", "arp.queue = 2147483647 is out of range (0..64)" },
		/* types */
		{ "	queue = 0;", "	queue = 1.5;", "queue", "arp.queue must be an integer, not a float" },
		{ "	queue = 0;", "	queue = true;", "queue", "arp.queue must be an integer, not a boolean" },
		{ "	no_huge = true;", "	no_huge = 1;", "no_huge", "eal.no_huge must be a boolean (true or false), not an integer" },
		{ "	socket = \"/tmp/t.sock\";", "	socket = 5;", "socket", "lbd.socket must be a string, not an integer" },
		{ "	lcores = [ 1, 2 ];", "	lcores = 1;", "lcores", "workers.lcores must be a list ( ... ) or array [ ... ], not an integer" },
		{ "	lcores = [ 1, 2 ];", "	lcores = ( 1, \"2\" );", "lcores", "workers.lcores[1] must be an integer, not a string" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ 1 ];", "args", "eal.args[0] must be a string, not an integer" },
		{ "		targets = (\n", "		targets = [ 1 ];\n		xtargets = (\n", "xtargets", "unknown key 'xtargets' in frontend" },
		{ "		targets = (\n", "		targets = [ 1 ];\n		x = (\n", "x = (", "unknown key 'x'" },
		{ "	timeouts = {\n", "	timeouts = 3;\n	x = {\n", "x = {", "unknown key 'x' in workers" },
		{ "frontends = (\n", "frontends = 1;\nx = (\n", "x = (", "unknown key 'x' at the top level" },
		{ "frontends = (\n", "frontends = ( 1 ),\nx = (\n", "x = (", "unknown key 'x' at the top level" },
		/* ranges */
		{ "	control_lcore = 0;", "	control_lcore = 1024;", "control_lcore", "lbd.control_lcore = 1024 is out of range (0..1023)" },
		{ "	memory_mb = 128;", "	memory_mb = -1;", "memory_mb", "eal.memory_mb = -1 is out of range" },
		{ "	flow_capacity = 4096;", "	flow_capacity = 1023;", "flow_capacity", "workers.flow_capacity = 1023 is out of range (1024..67108864)" },
		{ "	flow_capacity = 4096;", "	flow_capacity = 67108865;", "flow_capacity", "(1024..67108864)" },
		{ "	flow_capacity = 4096;", "	flow_capacity = 4096; mbufs = 8191;", "flow_capacity", "workers.mbufs = 8191 is too small: 0 (lbd sizes the pool) or at least 8192" },
		{ "	flow_capacity = 4096;", "	flow_capacity = 4096; mbufs = 67108865;", "flow_capacity", "workers.mbufs = 67108865 is out of range (0..67108864)" },
		{ "		tcp_syn = 5;", "		tcp_syn = 86401;", "tcp_syn", "workers.timeouts.tcp_syn = 86401 is out of range (1..86400)" },
		{ "		tcp_established = 600;", "		tcp_established = 2000001;", "tcp_established", "(1..2000000)" },
		{ "		tcp_fin = 6;", "		tcp_fin = 0;", "tcp_fin", "workers.timeouts.tcp_fin = 0 is out of range" },
		{ "	reachable = 60;", "	reachable = 0;", "reachable", "arp.reachable = 0 is out of range (1..86400)" },
		{ "	retries = 5;", "	retries = 21;", "retries", "arp.retries = 21 is out of range (1..20)" },
		{ "	retry_interval_ms = 250;", "	retry_interval_ms = 9;", "retry_interval_ms", "(10..60000)" },
		{ "	queue = 0;", "	queue = 65;", "queue", "arp.queue = 65 is out of range (0..64)" },
		{ "		port = 80;", "		port = 0;", "port = 0", "frontends[0].port = 0 is out of range (1..65535)" },
		{ "		port = 80;", "		port = 65536;", "port = 65536", "(1..65535)" },
		{ "weight = 3;", "weight = 65536;", "weight = 65536", "frontends[0].targets[0].weight = 65536 is out of range (0..65535)" },
		{ "port = 30081;", "port = 0;", "port = 0;", "frontends[0].targets[2].port = 0 is out of range" },
		{ "		affinity_timeout = 99;", "		affinity_timeout = 0;", "affinity_timeout", "(1..86400)" },
		{ "		maglev_size = 251;", "		maglev_size = 16777259;", "maglev_size", "(7..16777213)" },
		{ "		maglev_size = 251;", "		maglev_size = 1000;", "maglev_size", "maglev_size = 1000 is not a prime (the next prime is 1009)" },
		{ "		maglev_size = 251;", "		maglev_size = 7;", "targets = (", "" },	/* 2 weighted targets */
		{ "	snat_ports = [ 2000, 3999 ];", "	snat_ports = [ 0, 3999 ];", "snat_ports", "workers.snat_ports[0] = 0 is out of range (1..65535)" },
		{ "	snat_ports = [ 2000, 3999 ];", "	snat_ports = [ 2000 ];", "snat_ports", "must be [ first, last ]" },
		{ "	snat_ports = [ 2000, 3999 ];", "	snat_ports = [ 2000, 2000 ];", "snat_ports", "fewer ports than the 2 workers" },
		{ "	snat_ports = [ 2000, 3999 ];", "	snat_ports = [ 2000, 2001 ];", "snat_ports", "" },
		{ "	snat_ports = [ 2000, 3999 ];", "	snat_ports = [ 2001, 2002 ];", "snat_ports", "" },
		{ "		vlan = 10;", "		vlan = -1;", "vlan", "ports[0].vlan = -1 is out of range" },
		/* strings and enums */
		{ "		protocol = \"tcp\";", "		protocol = \"TCP\";", "protocol", "frontends[0].protocol = \"TCP\" is not one of \"tcp\", \"udp\"" },
		{ "		method = \"fullnat\";", "		method = \"dsr\";", "method", "is not one of \"fullnat\", \"dnat\"" },
		{ "		session_affinity = \"client_ip\";", "		session_affinity = \"cookie\";", "session_affinity", "is not one of \"none\", \"client_ip\"" },
		{ "	socket = \"/tmp/t.sock\";", "	socket = \"\";", "socket", "lbd.socket must be a path of 1 to 107 characters" },
		{ "	socket = \"/tmp/t.sock\";", "	socket = \"/tmp/0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789.sock\";", "socket", "lbd.socket must be a path" },
		{ "	file_prefix = \"t\";", "	file_prefix = \"a/b\";", "file_prefix", "eal.file_prefix = \"a/b\" is not a valid name" },
		{ "	file_prefix = \"t\";", "	file_prefix = \"\";", "file_prefix", "is not a valid name" },
		{ "		name = \"ext\";", "		name = \"0123456789012345678901234567890x\";", "0123", "is not a valid name (1 to 31" },
		{ "		name = \"web\";", "		name = \"\";", "name = \"\"", "is not a valid name (1 to 63" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"--no-pci\", \"\" ];", "args", "eal.args[1] is empty" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"-c\", \"0xf\" ];", "args", "lbd sets that option from lbd.control_lcore and workers.lcores" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"-l\", \"0-2\" ];", "args", "" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"--lcores=0@0,1@1,2@1\" ];", "args", "" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"-m512\" ];", "args", "from eal.memory_mb" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"--no-huge\" ];", "args", "from eal.no_huge" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"--main-lcore=3\" ];", "args", "from lbd.control_lcore" },
		{ "	args = [ \"--no-pci\" ];", "	args = [ \"-a\", \"0000:01:00.0\", \"-c\", \"f\" ];", "args", "eal.args[2] = \"-c\"" },
		/* devices */
		{ "		device = \"net_ring0\";", "		device = \"net_ring\";", "device", "ports[0].device = \"net_ring\" is neither a PCI address" },
		{ "		device = \"net_ring0\";", "		device = \"net_ring0,\";", "device", "is neither" },
		{ "		device = \"net_ring0\";", "		device = \"net_ring0,a=1,,b=2\";", "device", "is neither" },
		{ "		device = \"net_ring0\";", "		device = \"net_ring0,a b\";", "device", "is neither" },
		{ "		device = \"net_ring0\";", "		device = \"NET_RING0\";", "device", "is neither" },
		{ "		device = \"0000:03:00.1\";", "		device = \"03:00.1\";", "\"03:00.1", "is neither" },
		{ "		device = \"0000:03:00.1\";", "		device = \"0000:03:20.1\";", "03:20", "is neither" },
		{ "		device = \"0000:03:00.1\";", "		device = \"0000:03:00.8\";", "00.8", "is neither" },
		{ "		device = \"0000:03:00.1\";", "		device = \"0000:03:00.1,x=1\";\n		vlan = 0;", "device", "" },
		{ "		device = \"0000:03:00.1\";", "		device = \"0000:03:00.1\";\n		vlan = 0;\n		vlan = 1;", "vlan = 1;", "duplicate setting name" },
		{ "		device = \"0000:03:00.1\";", "		device = \"net_RING0,x=1\";", "net_RING0", "is neither" },
		{ "		device = \"0000:03:00.1\";", "		device = \"net_ring0,x=1\";", "net_ring0,x=1", "duplicate device 'net_ring0': port 'ext' uses it too (line 14)" },
		/* addresses */
		{ "		address = \"192.0.2.1/24\";", "		address = \"192.0.2.1/33\";", "address", "is not an IPv4 address with a prefix" },
		{ "		address = \"192.0.2.1/24\";", "		address = \"192.0.2.1/0\";", "address", "a port's prefix cannot be /0" },
		{ "		address = \"192.0.2.1/24\";", "		address = \"192.0.2.0/24\";", "address", "is the subnet's network or broadcast address" },
		{ "		address = \"192.0.2.1/24\";", "		address = \"192.0.2.255/24\";", "address", "network or broadcast" },
		{ "		address = \"192.0.2.1/24\";", "		address = \"127.0.0.1/8\";", "address", "is not a unicast host address" },
		{ "		address = \"192.0.2.1/24\";", "		address = \"224.0.0.1/24\";", "address", "is not a unicast host address" },
		{ "		gateway = \"192.0.2.254\";", "		gateway = \"192.0.2.1\";", "gateway", "ports[0].gateway 192.0.2.1 is the port's own address" },
		{ "		gateway = \"192.0.2.254\";", "		gateway = \"192.0.2.255\";", "gateway", "is not a host on the port's subnet" },
		{ "		gateway = \"192.0.2.254\";", "		gateway = \"gw\";", "gateway", "ports[0].gateway = \"gw\" is not an IPv4 address" },
		{ "		vip = \"192.0.2.10\";\n		protocol = \"tcp\";", "		vip = \"0.0.0.0\";\n		protocol = \"tcp\";", "0.0.0.0", "frontends[0].vip = \"0.0.0.0\" is not a unicast host address" },
		{ "		vip = \"192.0.2.10\";\n		protocol = \"tcp\";", "		vip = \"192.0.2.255\";\n		protocol = \"tcp\";", "192.0.2.255", "is the network or broadcast address of port 'ext''s subnet" },
		{ "		vip = \"192.0.2.10\";\n		protocol = \"tcp\";", "		vip = \"198.51.100.11\";\n		protocol = \"tcp\";", "vip = \"198.51.100.11\"", "VIP 198.51.100.11 of frontend 'web' is a static neighbour of port 'int' (line 26)" },
		{ "\"10.0.0.0/8\"", "\"10.0.0.0/40\"", "source_ranges", "frontends[0].source_ranges[0] = \"10.0.0.0/40\" is not a CIDR" },
		{ "\"10.0.0.0/8\"", "\"10.0.0.1/31\"", "source_ranges", "(did you mean \"10.0.0.0/31\"?)" },
		{ "mac = \"02:00:00:00:00:0b\"", "mac = \"01:00:5e:00:00:0b\"", "01:00:5e", "is not a unicast MAC address" },
		{ "mac = \"02:00:00:00:00:0b\"", "mac = \"00:00:00:00:00:00\"", "00:00:00:00:00:00", "is not a unicast MAC address" },
		{ "mac = \"02:00:00:00:00:0b\"", "mac = \"02-00-00-00-00-0b\"", "02-00", "is not a MAC address" },
		{ "{ address = \"198.51.100.11\"; mac", "{ address = \"198.51.100.1\"; mac", "198.51.100.1\"; mac", "ports[1].neighbours[0].address 198.51.100.1 is the port's own address" },
		{ "{ address = \"198.51.100.11\"; mac", "{ mac", "{ mac", "missing required key 'address' in ports[1].neighbours[0]" },
		{ "; mac = \"02:00:00:00:00:0b\"; }", "; }", "{ address = \"198.51.100.11\"; }", "missing required key 'mac' in ports[1].neighbours[0]" },
		{ "\"198.51.100.2\", \"198.51.100.3\"", "\"198.51.100.2\", \"198.51.100.254\", \"198.51.100.255\"", "snat_addresses", "SNAT address 198.51.100.255 is not a host in the subnet" },
		{ "\"198.51.100.2\", \"198.51.100.3\"", "\"198.51.100.11\"", "snat_addresses", "SNAT address 198.51.100.11 is a static neighbour of port 'int' (line 26)" },
		{ "		address = \"198.51.100.1/24\";\n", "		address = \"198.51.100.1/24\";\n		gateway = \"198.51.100.3\";\n", "snat_addresses", "SNAT address 198.51.100.3 is the gateway of port 'int'" },
		{ "\"198.51.100.2\", \"198.51.100.3\"", "\"198.51.100.2\", \"192.0.2.10\"", "snat_addresses", "SNAT address 192.0.2.10 is not a host in the subnet 198.51.100.0/24" },
		/* targets */
		{ "{ address = \"198.51.100.12\"; port = 30080; }", "{ address = \"198.51.100.2\"; port = 30080; }", "198.51.100.2\"; port", "target 198.51.100.2:30080 of frontend 'web' is a SNAT address (line 33)" },
		{ "{ address = \"198.51.100.12\"; port = 30080; }", "{ address = \"198.51.100.1\"; port = 30080; }", "198.51.100.1\"; port", "is the address of port 'int'" },
		{ "{ address = \"198.51.100.12\"; port = 30080; }", "{ address = \"192.0.2.10\"; port = 30080; }", "192.0.2.10\"; port", "is a VIP of lbd itself" },
		{ "{ address = \"198.51.100.12\"; port = 30080; }", "{ address = \"198.51.100.0\"; port = 30080; }", "198.51.100.0\"; port", "network or broadcast address of subnet 198.51.100.0/24" },
		{ "{ address = \"198.51.100.12\"; port = 30080; }", "{ port = 30080; }", "{ port = 30080; }", "missing required key 'address' in frontends[0].targets[1]" },
		{ "{ address = \"198.51.100.12\"; port = 30080; }", "5", "5,", "frontends[0].targets[1] must be a group { ... }, not an integer" },
		/* frontends */
		{ "		name = \"dns\";\n		vip = \"192.0.2.10\";\n		protocol = \"udp\";\n		port = 53;\n",
		  "		name = \"dns\";\n		vip = \"192.0.2.10\";\n		protocol = \"udp\";\n		port = 80;\n", "		name = \"dns\"", "" },
		{ "		method = \"dnat\";\n", "", "		name = \"dns\"", "" },
		{ "		name = \"dns\";\n", "", "	{\n		vip", "missing required key 'name' in frontends[1]" },
		{ "		name = \"dns\";\n		vip = \"192.0.2.10\";\n", "		name = \"dns\";\n", "	{\n		name = \"dns\"", "missing required key 'vip' in frontends[1]" },
		{ "		port = 53;\n", "", "	{\n		name = \"dns\"", "missing required key 'port' in frontends[1]" },
		{ "		name = \"dns\";\n", "		name = \"web\";\n", "name = \"web\";\n		vip = \"192.0.2.10\";\n		protocol = \"udp\"", "duplicate frontend name 'web' (first at line 49)" },
		/* ports */
		{ "		role = \"internal\";\n", "", "	{\n		name = \"int\"", "missing required key 'role' in ports[1]" },
		{ "		device = \"net_ring0\";\n", "", "	{\n		name = \"ext\"", "missing required key 'device' in ports[0]" },
		{ "		address = \"192.0.2.1/24\";\n", "", "	{\n		name = \"ext\"", "missing required key 'address' in ports[0]" },
		{ "		name = \"ext\";\n", "", "	{\n		device", "missing required key 'name' in ports[0]" },
		{ "ports = (\n	{\n", "ports = (\n	7, {\n", "7, {", "ports[0] must be a group { ... }, not an integer" },
		{ "	lcores = [ 1, 2 ];\n", "", "workers = {", "missing required key 'lcores' in workers" },
		{ "	lcores = [ 1, 2 ];\n", "	lcores = [ ];\n", "lcores", "workers.lcores has 0 entries (1 to 64)" },
		{ "	lcores = [ 1, 2 ];\n", "	lcores = [ 1, 1024 ];\n", "lcores", "workers.lcores[1] = 1024 is out of range (0..1023)" },
		{ "		address = \"192.0.2.1/24\";\n", "		address = \"192.0.2.1/1\";\n", "198.51.100.1/24", "subnet 198.51.100.0/24 of port 'int' overlaps subnet 128.0.0.0/1 of port 'ext' (line 16)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(cases); i++) {
		char *text = edit(base_conf, cases[i].old, cases[i].new);

		if (cases[i].msg[0] == '\0') {
			/* An accepted variant, listed here for its neighbours. */
			lb_config_free(load_ok(text));
		} else {
			expect_err_line(text, line_of(text, cases[i].at), cases[i].msg);
		}
		free(text);
	}
}

/* Limits on the number of entries. */
static void
test_counts(void **state)
{
	char *big, *text, *p;
	size_t cap = 1 << 16;
	int i;

	(void)state;
	big = malloc(cap);
	assert_non_null(big);

	/* 65 lcores. */
	p = big + sprintf(big, "	lcores = [ 1");
	for (i = 2; i <= 65; i++)
		p += sprintf(p, ", %d", i);
	sprintf(p, " ];");
	text = edit(base_conf, "	lcores = [ 1, 2 ];", big);
	expect_err_line(text, 31, "workers.lcores has 65 entries (1 to 64)");
	free(text);

	/* 64 lcores is fine, and so is any large lcore list order. */
	p = big + sprintf(big, "	lcores = [ 64");
	for (i = 63; i >= 1; i--)
		p += sprintf(p, ", %d", i);
	sprintf(p, " ];\n	snat_ports = [ 1000, 1063 ];");
	text = edit(base_conf, "	lcores = [ 1, 2 ];", big);
	text = edit(p = text, "	snat_ports = [ 2000, 3999 ];\n", "");
	free(p);
	lb_config_free(load_ok(text));
	free(text);

	/* 33 EAL arguments. */
	p = big + sprintf(big, "	args = [ \"--a0\"");
	for (i = 1; i < 33; i++)
		p += sprintf(p, ", \"--a%d\"", i);
	sprintf(p, " ];");
	text = edit(base_conf, "	args = [ \"--no-pci\" ];", big);
	expect_err_line(text, 9, "eal.args has 33 entries (at most 32)");
	free(text);

	/* 65 SNAT addresses. */
	p = big + sprintf(big, "	snat_addresses = [ \"198.51.100.100\"");
	for (i = 101; i < 165; i++)
		p += sprintf(p, ", \"198.51.100.%d\"", i);
	sprintf(p, " ];");
	text = edit(base_conf, "	snat_addresses = [ \"198.51.100.2\", \"198.51.100.3\" ];", big);
	expect_err_line(text, 33, "workers.snat_addresses has 65 entries (at most 64)");
	free(text);

	/* 257 static neighbours. */
	p = big + sprintf(big, "		neighbours = (\n");
	for (i = 0; i < 257; i++)
		p += sprintf(p, "{ address = \"198.51.%d.%d\"; mac = \"02:00:00:00:00:01\"; },\n",
			100 + i / 200, 10 + i % 200);
	sprintf(p - 2, "\n");
	text = edit(base_conf, "		neighbours = (\n", big);
	text = edit(p = text, "			{ address = \"198.51.100.11\"; mac = \"02:00:00:00:00:0b\"; }\n", "");
	free(p);
	text = edit(p = text, "		address = \"198.51.100.1/24\";", "		address = \"198.51.100.1/23\";");
	free(p);
	expect_err_line(text, 25, "ports[1].neighbours has 257 entries (at most 256)");
	free(text);

	/* More weighted targets than Maglev slots (weight 0 takes none). */
	p = big + sprintf(big, "ports = ( { name = \"p\"; device = \"net_null0\"; role = \"both\";"
		" address = \"10.0.0.1/24\"; } );\n"
		"workers = { lcores = [ 1 ]; };\n"
		"frontends = ( { name = \"f\"; vip = \"10.0.0.2\"; port = 80; method = \"dnat\";\n"
		"  maglev_size = 7; targets = (\n");
	for (i = 0; i < 9; i++)
		p += sprintf(p, "{ address = \"10.0.0.%d\"; port = 80; weight = %d; },\n",
			20 + i, i < 8);
	sprintf(p - 2, "\n  );\n} );\n");
	expect_err_line(big, 4, "frontend 'f' has 8 targets with a weight but only 7 Maglev slots");
	/* Seven fit. */
	p = strstr(big, "{ address = \"10.0.0.27\"; port = 80; weight = 1; }");
	assert_non_null(p);
	memcpy(strstr(p, "weight = 1"), "weight = 0", 10);
	lb_config_free(load_ok(big));

	/* 9 ports. */
	p = big + sprintf(big, "ports = (\n");
	for (i = 0; i < 9; i++)
		p += sprintf(p, "{ name = \"p%d\"; device = \"net_null%d\"; role = \"both\";"
			" address = \"10.%d.0.1/24\"; },\n", i, i, i);
	sprintf(p - 2, "\n);\nworkers = { lcores = [ 1 ]; };\n");
	expect_err_line(big, 1, "ports has 9 entries (1 to 8)");
	expect_err_line("ports = ( );\nworkers = { lcores = [ 1 ]; };\n", 1, "ports has 0 entries");
	free(big);
}

/* Errors that do not come from a particular setting. */
static void
test_load_errors(void **state)
{
	char err[ERRLEN], small[24], path[] = "/tmp/lbd-test-config-XXXXXX";
	struct lb_config *c;
	FILE *f;
	int fd;

	(void)state;
	expect_err_line("", 1, "missing required key 'ports' at the top level");
	expect_err_line("# only a comment\n", 1, "missing required key 'ports'");
	expect_err_line("ports = (\n{ name = \"p\"; device = \"net_null0\"; role = \"both\";"
		" address = \"10.0.0.1/24\"; }\n);\n", 1, "missing required key 'workers' at the top level");
	expect_err_line("lbd = {\n", 2, "syntax error");
	/* libconfig itself accepts these three. */
	expect_err_line("ports = 1;\n\nx = \"abc\n\n", 3, "unterminated string");
	expect_err_line("ports = 1;\nx = \"a\" \"b", 2, "unterminated string");
	expect_err_line("ports = 1;\n/* x\n\n", 2, "unterminated comment");
	/* ... and a string token before a syntax error (leaks in libconfig 1.5). */
	expect_err_line("a = { \"x\" };\n", 1, "syntax error");
	expect_err_line("ports = { name = \"p\"; };\nworkers = { lcores = [ 1 ]; };\n", 1,
		"ports must be a list ( ... ) or array [ ... ], not a group");

	c = lb_config_load_string(NULL, "x", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "x: no configuration text");
	c = lb_config_load_string("", NULL, err, sizeof(err));
	assert_null(c);
	assert_true(strncmp(err, "<string>:1: ", 12) == 0);

	/* A short buffer gets a truncated, terminated message; none at all is fine. */
	memset(small, 'x', sizeof(small));
	c = lb_config_load_string("ports = 1;", "t.conf", small, sizeof(small));
	assert_null(c);
	assert_true(strlen(small) == sizeof(small) - 1);
	assert_true(strncmp(small, "t.conf:1: ports must", 20) == 0);
	c = lb_config_load_string("ports = 1;", "t.conf", small, 4);
	assert_null(c);
	assert_string_equal(small, "t.c");
	assert_null(lb_config_load_string("ports = 1;", "t.conf", NULL, 0));

	c = lb_config_load("/nonexistent/lbd.conf", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "/nonexistent/lbd.conf: cannot open: No such file or directory");
	c = lb_config_load("/", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "/: cannot read: Is a directory");
	assert_null(lb_config_load(NULL, err, sizeof(err)));

	/* A NUL byte in a file is named with its line. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fwrite("# x\n\n ports\0 = 1;\n", 1, 18, f);
	fclose(f);
	c = lb_config_load(path, err, sizeof(err));
	assert_null(c);
	assert_true(strstr(err, ":3: NUL byte") != NULL);
	/* A file as large as a long config works like the string. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(base_conf, f);
	fputs("# padding to cross the first read buffer\n", f);
	for (fd = 0; fd < 400; fd++)
		fputs("#########################################################\n", f);
	fclose(f);
	c = lb_config_load(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->path, path);
	assert_int_equal(c->n_frontends, 2);
	lb_config_free(c);
	unlink(path);
}

/* ---- reload ---- */

static void
expect_reload_reject(const struct lb_config *cur, const char *old, const char *new,
	const char *at, const char *key)
{
	char *text = edit(base_conf, old, new), err[ERRLEN], want[128];
	struct lb_config *next = load_ok(text);

	memset(err, 0, sizeof(err));
	assert_int_equal(lb_config_reload_check(cur, next, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "t.conf:%d: %s cannot change on reload (restart lbd)",
		line_of(text, at), key);
	assert_string_equal(err, want);
	lb_config_free(next);
	free(text);
}

static void
expect_reload_accept(const struct lb_config *cur, const char *old, const char *new)
{
	char *text = edit(base_conf, old, new), err[ERRLEN];
	struct lb_config *next = load_ok(text);

	err[0] = '\0';
	if (lb_config_reload_check(cur, next, err, sizeof(err)) != 0)
		fail_msg("reload of '%s' rejected: %s", new, err);
	lb_config_free(next);
	free(text);
}

static void
test_reload(void **state)
{
	struct lb_config *cur = load_ok(base_conf), *same = load_ok(base_conf);
	char err[ERRLEN];

	(void)state;
	assert_int_equal(lb_config_reload_check(cur, same, err, sizeof(err)), 0);
	assert_int_equal(lb_config_reload_check(cur, NULL, err, sizeof(err)), -EINVAL);
	lb_config_free(same);

	/* What may change. */
	expect_reload_accept(cur, "		port = 80;", "		port = 8080;");
	expect_reload_accept(cur, "weight = 3;", "weight = 0;");
	expect_reload_accept(cur, "		method = \"dnat\";\n	}\n", "		method = \"dnat\";\n	},\n"
		"	{ name = \"new\"; vip = \"203.0.113.5\"; port = 1; }\n");
	expect_reload_accept(cur, "		tcp_established = 600;", "		tcp_established = 7200;");
	expect_reload_accept(cur, "	retries = 5;", "	retries = 6;");
	expect_reload_accept(cur, "	queue = 0;", "	queue = 64;");
	expect_reload_accept(cur, "mac = \"02:00:00:00:00:0b\"", "mac = \"02:00:00:00:00:0c\"");
	expect_reload_accept(cur, "			{ address = \"198.51.100.11\"; mac = \"02:00:00:00:00:0b\"; }\n", "");
	/* Same values written differently are no change. */
	expect_reload_accept(cur, "		vlan = 10;", "		vlan = 0xa;");

	/* What needs a restart, each named with its line in the new file. */
	expect_reload_reject(cur, "	socket = \"/tmp/t.sock\";", "	socket = \"/tmp/u.sock\";",
		"socket", "lbd.socket");
	expect_reload_reject(cur, "	control_lcore = 0;", "	control_lcore = 3;",
		"control_lcore", "lbd.control_lcore");
	expect_reload_reject(cur, "	file_prefix = \"t\";", "	file_prefix = \"u\";",
		"file_prefix", "eal.file_prefix");
	expect_reload_reject(cur, "	no_huge = true;", "	no_huge = false;", "no_huge", "eal.no_huge");
	expect_reload_reject(cur, "	memory_mb = 128;", "	memory_mb = 256;", "memory_mb",
		"eal.memory_mb");
	expect_reload_reject(cur, "	args = [ \"--no-pci\" ];", "	args = [ \"--no-pci\", \"-v\" ];",
		"args", "eal.args");
	expect_reload_reject(cur, "	args = [ \"--no-pci\" ];", "	args = [ \"--no-pcj\" ];",
		"args", "eal.args");
	/* A missing key is named at its group's line. */
	expect_reload_reject(cur, "	args = [ \"--no-pci\" ];\n", "", "eal = {", "eal.args");
	expect_reload_reject(cur, "		name = \"ext\";", "		name = \"wan\";", "\"wan\"",
		"ports[0].name");
	expect_reload_reject(cur, "		device = \"net_ring0\";", "		device = \"net_ring2\";",
		"net_ring2", "ports[0].device");
	expect_reload_reject(cur, "		address = \"192.0.2.1/24\";", "		address = \"192.0.2.1/23\";",
		"192.0.2.1/23", "ports[0].address");
	expect_reload_reject(cur, "		address = \"192.0.2.1/24\";", "		address = \"192.0.2.2/24\";",
		"192.0.2.2/24", "ports[0].address");
	expect_reload_reject(cur, "		gateway = \"192.0.2.254\";", "		gateway = \"192.0.2.253\";",
		"gateway", "ports[0].gateway");
	expect_reload_reject(cur, "		vlan = 10;", "		vlan = 11;", "vlan", "ports[0].vlan");
	expect_reload_reject(cur, "		vlan = 10;\n", "", "	{\n		name = \"ext\"", "ports[0].vlan");
	expect_reload_reject(cur, "		address = \"198.51.100.1/24\";\n",
		"		address = \"198.51.100.1/24\";\n		gateway = \"198.51.100.9\";\n", "198.51.100.9",
		"ports[1].gateway");
	expect_reload_reject(cur, "	lcores = [ 1, 2 ];", "	lcores = [ 2, 1 ];", "lcores",
		"workers.lcores");
	expect_reload_reject(cur, "	lcores = [ 1, 2 ];", "	lcores = [ 1, 2, 3 ];", "lcores",
		"workers.lcores");
	expect_reload_reject(cur, "	flow_capacity = 4096;", "	flow_capacity = 8192;",
		"flow_capacity", "workers.flow_capacity");
	expect_reload_reject(cur, "	flow_capacity = 4096;", "	flow_capacity = 4096; mbufs = 65535;",
		"flow_capacity", "workers.mbufs");
	expect_reload_reject(cur, "\"198.51.100.2\", \"198.51.100.3\"", "\"198.51.100.2\"",
		"snat_addresses", "workers.snat_addresses");
	expect_reload_reject(cur, "	snat_ports = [ 2000, 3999 ];", "	snat_ports = [ 2000, 3998 ];",
		"snat_ports", "workers.snat_ports");
	lb_config_free(cur);

	/* Port count and role (one-arm and back). */
	{
		static const char one[] =
			"ports = ( { name = \"ext\"; device = \"net_ring0\"; role = \"both\";\n"
			" address = \"192.0.2.1/24\"; } );\nworkers = { lcores = [ 1 ]; };\n";
		static const char one_ext[] =
			"ports = ( { name = \"ext\"; device = \"net_ring0\"; role = \"external\";\n"
			" address = \"192.0.2.1/24\"; },\n"
			"{ name = \"int\"; device = \"net_ring1\"; role = \"internal\";\n"
			" address = \"10.0.0.1/24\"; } );\nworkers = { lcores = [ 1 ]; };\n";
		struct lb_config *a = load_ok(one), *b = load_ok(one_ext);

		assert_int_equal(lb_config_reload_check(a, b, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "t.conf:1: ports cannot change on reload (restart lbd)");
		assert_int_equal(lb_config_reload_check(b, a, err, sizeof(err)), -EINVAL);
		lb_config_free(a);
		lb_config_free(b);
	}
}

/* metrics = { ... }: off without the group, on with it, validated, restart-only. */
static void
test_metrics(void **state)
{
	const char *arp_end = "	queue = 0;\n};\n";
	struct lb_config *c = load_ok(base_conf), *d;
	char *text;

	(void)state;
	assert_false(c->metrics_enabled);
	assert_string_equal(c->metrics_address, "127.0.0.1");
	assert_int_equal(c->metrics_port, LB_CONFIG_DEF_METRICS_PORT);

	d = edit_ok(arp_end, "	queue = 0;\n};\nmetrics = { };\n");
	assert_true(d->metrics_enabled);
	assert_string_equal(d->metrics_address, "127.0.0.1");
	assert_int_equal(d->metrics_port, LB_CONFIG_DEF_METRICS_PORT);
	lb_config_free(d);
	d = edit_ok(arp_end, "	queue = 0;\n};\nmetrics = { address = \"::1\"; port = 9100; };\n");
	assert_true(d->metrics_enabled);
	assert_string_equal(d->metrics_address, "::1");
	assert_int_equal(d->metrics_port, 9100);
	lb_config_free(d);
	d = edit_ok(arp_end, "	queue = 0;\n};\nmetrics = { enabled = false; address = \"0.0.0.0\"; };\n");
	assert_false(d->metrics_enabled);
	assert_string_equal(d->metrics_address, "0.0.0.0");
	lb_config_free(d);

	text = edit(base_conf, arp_end, "	queue = 0;\n};\nmetrics = {\n address = \"localhost\";\n};\n");
	expect_err_line(text, 49, "metrics.address = \"localhost\" is not an IPv4 or IPv6 address");
	free(text);
	text = edit(base_conf, arp_end, "	queue = 0;\n};\nmetrics = {\n port = 0;\n};\n");
	expect_err_line(text, 49, "metrics.port");
	free(text);
	text = edit(base_conf, arp_end, "	queue = 0;\n};\nmetrics = {\n enabled = 1;\n};\n");
	expect_err_line(text, 49, "metrics.enabled");
	free(text);
	text = edit(base_conf, arp_end, "	queue = 0;\n};\nmetrics = {\n listen = \"x\";\n};\n");
	expect_err_line(text, 49, "unknown key 'listen' in metrics");
	free(text);
	text = edit(base_conf, arp_end, "	queue = 0;\n};\nmetrics = 1;\n");
	expect_err_line(text, 48, "metrics must be a group");
	free(text);

	/* a restart setting */
	expect_reload_reject(c, arp_end, "	queue = 0;\n};\nmetrics = { };\n", "metrics", "metrics");
	lb_config_free(c);
	c = edit_ok(arp_end, "	queue = 0;\n};\nmetrics = { port = 9100; };\n");
	text = edit(base_conf, arp_end, "	queue = 0;\n};\nmetrics = {\n port = 9101;\n};\n");
	d = load_ok(text);
	{
		char err[ERRLEN];

		assert_int_equal(lb_config_reload_check(c, d, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "t.conf:49: metrics.port cannot change on reload (restart lbd)");
	}
	lb_config_free(d);
	free(text);
	lb_config_free(c);
}

static void
test_strings(void **state)
{
	(void)state;
	assert_string_equal(lb_role_str(LB_ROLE_EXTERNAL), "external");
	assert_string_equal(lb_role_str(LB_ROLE_INTERNAL), "internal");
	assert_string_equal(lb_role_str(LB_ROLE_BOTH), "both");
	assert_string_equal(lb_role_str(0), "?");
	assert_string_equal(lb_role_str(7), "?");
	assert_string_equal(lb_method_str(LB_METHOD_FULLNAT), "fullnat");
	assert_string_equal(lb_method_str(LB_METHOD_DNAT), "dnat");
	assert_string_equal(lb_method_str((enum lb_method)9), "?");
	assert_string_equal(lb_proto_str(LB_PROTO_TCP), "tcp");
	assert_string_equal(lb_proto_str(LB_PROTO_UDP), "udp");
	assert_string_equal(lb_proto_str(LB_PROTO_ICMP), "icmp");
	assert_string_equal(lb_proto_str(0), "?");
	assert_string_equal(lb_proto_str(255), "?");
}

static void
test_device_valid(void **state)
{
	static const char *const good[] = {
		"0000:00:00.0", "ffff:ff:1f.7", "0000:3B:00.1", "0000:03:00.0,txq_inline=128",
		"net_pcap0", "net_af_packet12,iface=veth0,qpairs=2", "net_null0", "net_ring0",
		"net_tap0,iface=tap0", "net_af_xdp0,iface=eth0,start_queue=0", "net_memif0,role=server",
		"net_pcap0,rx_pcap=/tmp/in.pcap,tx_pcap=/tmp/out.pcap",
	};
	static const char *const bad[] = {
		"", "0", "03:00.0", "0000:03:00", "0000:03:00.8", "0000:03:20.0", "0000:3g:00.0",
		"00000:03:00.0", "0000:03:00.0,", "0000:03:00.0 ", "net_", "net_0", "net_pcap",
		"net_pcap0,", "net_pcap0,,a=1", "net_pcap0,a=1,", "net_Pcap0", "eth0", "net-pcap0",
		"net_pcap0 ,a=1", "net_pcap0,a=b c", "net_pcap0,a=\x7f", "pcap0",
	};
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(good); i++)
		if (!lb_config_device_valid(good[i]))
			fail_msg("'%s' should be a valid device", good[i]);
	for (i = 0; i < LB_ARRAY_SIZE(bad); i++)
		if (lb_config_device_valid(bad[i]))
			fail_msg("'%s' should be rejected", bad[i]);
}

/* ---- robustness ---- */

/* The answer to any input: a model that holds together, or one message of
 * the form "name:N: text" with N >= 1. */
static void
check_answer(struct lb_config *c, const char *err, const char *what)
{
	const char *p;
	uint32_t i;

	if (c != NULL) {
		assert_true(c->n_ports >= 1 && c->n_ports <= LB_MAX_PORTS);
		assert_true(c->ext_port >= 0 && (uint32_t)c->ext_port < c->n_ports);
		assert_true(c->int_port >= 0 && (uint32_t)c->int_port < c->n_ports);
		assert_true(c->n_workers >= 1 && c->n_workers <= LB_MAX_WORKERS);
		assert_true(c->snat_port_lo <= c->snat_port_hi);
		for (i = 0; i < c->n_frontends; i++)
			assert_true(c->frontends[i].maglev_size >= 7);
		lb_config_free(c);
		return;
	}
	if (strncmp(err, "m.conf:", 7) != 0)
		fail_msg("%s: malformed message '%s'", what, err);
	p = err + 7;
	if (!(*p >= '1' && *p <= '9'))
		fail_msg("%s: no line in '%s'", what, err);
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, ": ", 2) != 0 || p[2] == '\0' || strstr(err, "(null)") != NULL)
		fail_msg("%s: malformed message '%s'", what, err);
}

static char *
read_file(const char *path, size_t *len)
{
	char *buf;
	long n;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
test_prefixes(void **state)
{
	char err[ERRLEN], what[64], *text, *cut;
	size_t len, i, ok = 0;

	(void)state;
	text = read_file(LB_SOURCE_ROOT "/config/lbd.conf", &len);
	cut = malloc(len + 1);
	assert_non_null(cut);
	for (i = 0; i <= len; i++) {
		struct lb_config *c;

		memcpy(cut, text, i);
		cut[i] = '\0';
		err[0] = '\0';
		c = lb_config_load_string(cut, "m.conf", err, sizeof(err));
		ok += c != NULL;
		snprintf(what, sizeof(what), "prefix of %zu bytes", i);
		check_answer(c, err, what);
	}
	/* The whole file loads; most prefixes cannot. */
	assert_true(ok >= 1 && ok < len / 2);
	free(cut);
	free(text);
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_mutations(void **state)
{
	static const char interesting[] = "{}()[];=,:\"#/*@0123456789-+.xLe \n\tabz_";
	char err[ERRLEN], what[64], *text, *m;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t len, i, ok = 0, iters = 6000;
	int k, flips;

	(void)state;
	text = read_file(LB_SOURCE_ROOT "/config/lbd.conf", &len);
	m = malloc(len + 1);
	assert_non_null(m);
	for (i = 0; i < iters; i++) {
		struct lb_config *c;

		memcpy(m, text, len + 1);
		flips = 1 + (int)(rnd(&seed) % 3);
		for (k = 0; k < flips; k++) {
			size_t at = rnd(&seed) % len;
			uint64_t r = rnd(&seed);

			if (r & 1)
				m[at] = interesting[(r >> 8) % (sizeof(interesting) - 1)];
			else
				m[at] = (char)(1 + (r >> 8) % 255);	/* never NUL */
		}
		err[0] = '\0';
		c = lb_config_load_string(m, "m.conf", err, sizeof(err));
		ok += c != NULL;
		snprintf(what, sizeof(what), "mutation %zu", i);
		check_answer(c, err, what);
	}
	/* Flips in comments keep the file valid, most others do not. */
	assert_true(ok > 0 && ok < iters);
	free(m);
	free(text);
}

/* ---- health ---- */

static void
test_health(void **state)
{
	static const char top[] =
		"health = {\n"
		"	kind = \"http\";\n"
		"	path = \"/healthz\";\n"
		"	host = \"lb.example\";\n"
		"	expect = ( 200, \"300-302\" );\n"
		"	interval_ms = 1000;\n"
		"	timeout_ms = 400;\n"
		"	rise = 3;\n"
		"	fall = 4;\n"
		"	jitter_pct = 5;\n"
		"	tls_verify = true;\n"
		"	interface = \"eth1\";\n"
		"	source = \"198.51.100.9\";\n"
		"	kubernetes = { nodes = false; pods = \"none\"; kube_proxy_port = 10257; };\n"
		"};\n"
		"frontends = (\n";
	const struct lb_config_frontend *web, *dns;
	struct lb_config *c;
	char *t, *t2;

	(void)state;
	/* nothing said: no checks of static frontends, Kubernetes defaults */
	c = load_ok(base_conf);
	assert_int_equal(c->health.kind, LB_HEALTH_NONE);
	assert_int_equal(c->frontends[0].health.kind, LB_HEALTH_NONE);
	assert_int_equal(c->frontends[0].health.interval_ms, LB_HEALTH_DEF_INTERVAL_MS);
	assert_true(c->health_k8s.nodes);
	assert_int_equal(c->health_k8s.proxy_port, htons(10256));
	assert_int_equal(c->health_k8s.pod.kind, LB_HEALTH_TCP);
	assert_string_equal(c->health_bind.ifname, "");
	assert_int_equal(c->health_bind.source.family, 0);
	lb_config_free(c);

	/* a default for all; the UDP frontend opts out, web narrows it */
	t = edit(base_conf, "frontends = (\n", top);
	t2 = edit(t, "		method = \"dnat\";\n",
		"		method = \"dnat\";\n		health = { kind = \"none\"; };\n");
	free(t);
	t = edit(t2, "		targets = (\n",
		"		health = { port = 8080; fall = 2; expect = [ \"200-204\" ]; };\n"
		"		targets = (\n");
	free(t2);
	c = load_ok(t);
	assert_int_equal(c->health.kind, LB_HEALTH_HTTP);
	assert_string_equal(c->health.path, "/healthz");
	assert_string_equal(c->health.host, "lb.example");
	assert_int_equal(c->health.n_expect, 2);
	assert_int_equal(c->health.expect[0].lo, 200);
	assert_int_equal(c->health.expect[0].hi, 200);
	assert_int_equal(c->health.expect[1].lo, 300);
	assert_int_equal(c->health.expect[1].hi, 302);
	assert_int_equal(c->health.interval_ms, 1000);
	assert_int_equal(c->health.timeout_ms, 400);
	assert_true(c->health.tls_verify);
	assert_string_equal(c->health_bind.ifname, "eth1");
	assert_int_equal(c->health_bind.source.family, LB_AF_INET);
	assert_int_equal(c->health_bind.source.v4, ip("198.51.100.9"));
	assert_false(c->health_k8s.nodes);
	assert_int_equal(c->health_k8s.pod.kind, LB_HEALTH_NONE);
	assert_int_equal(c->health_k8s.proxy_port, htons(10257));
	/* Kubernetes checks take the group's timing */
	assert_int_equal(c->health_k8s.node.interval_ms, 1000);
	assert_int_equal(c->health_k8s.node.fall, 4);
	assert_int_equal(c->health_k8s.pod.timeout_ms, 400);
	web = &c->frontends[0];
	dns = &c->frontends[1];
	assert_int_equal(web->health.kind, LB_HEALTH_HTTP);
	assert_int_equal(web->health.port, htons(8080));
	assert_string_equal(web->health.path, "/healthz");
	assert_int_equal(web->health.fall, 2);
	assert_int_equal(web->health.rise, 3);
	assert_int_equal(web->health.n_expect, 1);
	assert_int_equal(web->health.expect[0].hi, 204);
	assert_int_equal(web->line_health, line_of(t, "health = { port"));
	assert_int_equal(dns->health.kind, LB_HEALTH_NONE);
	lb_config_free(c);

	/* errors, each at its line */
	t2 = edit(t, "		health = { kind = \"none\"; };\n", "");
	/* at the frontend's line (its group), naming where the kind came from */
	expect_err_line(t2, line_of(t2, "		name = \"dns\"") - 1,
		"frontend 'dns' is UDP: its health check (kind \"http\", set at line 49) needs "
		"health.port");
	assert_int_equal(line_of(t2, "	kind = \"http\""), 49);
	free(t2);
	t2 = edit(t, "	timeout_ms = 400;\n", "	timeout_ms = 1400;\n");
	expect_err_line(t2, line_of(t2, "timeout_ms = 1400"), "health: timeout_ms 1400 exceeds "
		"interval_ms 1000");
	free(t2);
	t2 = edit(t, "	interface = \"eth1\";\n", "	interface = \"a very long name\";\n");
	expect_err_line(t2, line_of(t2, "interface ="), "health.interface = \"a very long name\" "
		"is not an interface name (1 to 15 characters)");
	free(t2);
	t2 = edit(t, "	source = \"198.51.100.9\";\n", "	source = \"198.51.100\";\n");
	expect_err_line(t2, line_of(t2, "source ="), "health.source = \"198.51.100\" is not an "
		"IP address");
	free(t2);
	t2 = edit(t, "	path = \"/healthz\";\n", "	path = \"healthz\";\n");
	expect_err_line(t2, line_of(t2, "path ="), "health.path = \"healthz\" must start with '/'");
	free(t2);
	t2 = edit(t, "	path = \"/healthz\";\n", "	path = \"/health z\";\n");
	expect_err_line(t2, line_of(t2, "path ="), "holds a blank or a control character");
	free(t2);
	t2 = edit(t, "	rise = 3;\n", "	rise = 0;\n");
	expect_err_line(t2, line_of(t2, "rise ="), "health.rise = 0 is out of range (1..100)");
	free(t2);
	t2 = edit(t, "	jitter_pct = 5;\n", "	jitter_pct = 60;\n");
	expect_err_line(t2, line_of(t2, "jitter_pct ="), "health.jitter_pct = 60 is out of range "
		"(0..50)");
	free(t2);
	t2 = edit(t, "	expect = ( 200, \"300-302\" );\n", "	expect = ( 200, true );\n");
	expect_err_line(t2, line_of(t2, "expect ="), "health.expect[1] must be a status code (200) "
		"or a range of them (\"200-299\")");
	free(t2);
	t2 = edit(t, "	expect = ( 200, \"300-302\" );\n", "	expect = [ 600 ];\n");
	expect_err_line(t2, line_of(t2, "expect ="), "health.expect[0] = 600 is out of range "
		"(100..599)");
	free(t2);
	t2 = edit(t, "	expect = ( 200, \"300-302\" );\n", "	expect = [ ];\n");
	expect_err_line(t2, line_of(t2, "expect ="), "health.expect has 0 entries (1 to 8)");
	free(t2);
	t2 = edit(t, "	kubernetes = {", "	kubernetes = { x = 1; ");
	expect_err_line(t2, line_of(t2, "kubernetes ="), "unknown key 'x' in health.kubernetes");
	free(t2);
	t2 = edit(t, "	kind = \"http\";\n", "	kind = \"http\";\n	weight = 1;\n");
	expect_err_line(t2, line_of(t2, "weight = 1"), "unknown key 'weight' in health");
	free(t2);
	t2 = edit(t, "	kind = \"http\";\n", "	kind = \"ftp\";\n");
	expect_err_line(t2, line_of(t2, "ftp"), "health.kind = \"ftp\" is not one of");
	free(t2);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_kernel),
		cmocka_unit_test(test_example_configs_load),
		cmocka_unit_test(test_demo_topology),
		cmocka_unit_test(test_other_examples),
		cmocka_unit_test(test_broken_files),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_model_values),
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_one_arm_and_roles),
		cmocka_unit_test(test_string_errors),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_device_valid),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_health),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
