/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libconfig tree -> model. Each section is checked here on its own: unknown
 * keys, types, ranges, address syntax and duplicates within a list (the
 * frontends are in lb_config_frontend.c). What needs several sections at once
 * (roles, clashes, reachability) is in lb_config_check.c and runs after
 * everything has been read.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "lb_config_priv.h"
#include "lb_snat.h"

#define fail lb_config_fail

/* ---- lbd = { ... } ---- */

static const char *const lbd_keys[] = { "socket", "control_lcore", NULL };

static int
parse_lbd(struct lb_config_ctx *x, const config_setting_t *g)
{
	struct lb_config *c = x->c;
	const char *str = NULL;
	int rc;

	if (g != NULL && (rc = lb_config_check_keys(x, g, "in lbd", lbd_keys)) != 0)
		return rc;
	rc = lb_config_get_str(x, g, "lbd", "socket", false, &str, &c->line_socket);
	if (rc != 0)
		return rc;
	if (str != NULL) {
		if (*str == '\0' || strlen(str) > LB_CONFIG_SOCKET_MAX)
			return fail(x, c->line_socket,
				"lbd.socket must be a path of 1 to %d characters (a Unix socket path)",
				LB_CONFIG_SOCKET_MAX);
		snprintf(c->socket, sizeof(c->socket), "%s", str);
	}
	return lb_config_get_uint(x, g, "lbd", "control_lcore", 0, LB_CONFIG_MAX_LCORE - 1, false,
		&c->control_lcore, &c->line_control_lcore);
}

/* ---- eal = { ... } ---- */

static const char *const eal_keys[] = { "file_prefix", "no_huge", "memory_mb", "args", NULL };

/* EAL options lbd always sets itself from other keys: passing them again in
 * eal.args would contradict those keys. -l and --lcores stay allowed: lbd
 * then leaves the lcore list to them (to map lcores to CPUs, e.g.
 * "--lcores=0@0,1@1,2@1"), and they must still name the lcores used here. */
static const struct {
	const char *opt;
	bool is_short;
	const char *key;
} eal_reserved[] = {
	{ "--file-prefix", false, "eal.file_prefix" },
	{ "--no-huge", false, "eal.no_huge" },
	{ "-m", true, "eal.memory_mb" },
	{ "-c", true, "lbd.control_lcore and workers.lcores (or use -l/--lcores)" },
	{ "--main-lcore", false, "lbd.control_lcore" },
	{ "--master-lcore", false, "lbd.control_lcore" },
};

static const char *
eal_reserved_key(const char *arg)
{
	size_t k, n;

	for (k = 0; k < LB_ARRAY_SIZE(eal_reserved); k++) {
		n = strlen(eal_reserved[k].opt);
		if (strncmp(arg, eal_reserved[k].opt, n) != 0)
			continue;
		if (eal_reserved[k].is_short || arg[n] == '\0' || arg[n] == '=')
			return eal_reserved[k].key;
	}
	return NULL;
}

static int
parse_eal(struct lb_config_ctx *x, const config_setting_t *g)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	int i, n, rc;

	if (g != NULL && (rc = lb_config_check_keys(x, g, "in eal", eal_keys)) != 0)
		return rc;
	rc = lb_config_get_name(x, g, "eal", "file_prefix", false, LB_NAME_MAX - 1, c->file_prefix,
		&c->line_file_prefix);
	if (rc == 0)
		rc = lb_config_get_bool(x, g, "eal", "no_huge", &c->no_huge, &c->line_no_huge);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "eal", "memory_mb", 0, 1048576, false, &c->memory_mb,
			&c->line_memory_mb);
	if (rc == 0)
		rc = lb_config_get_seq(x, g, "eal", "args", false, LB_CONFIG_W_STRING, &seq,
			&c->line_eal_args);
	if (rc != 0)
		return rc;
	if (c->no_huge && c->memory_mb == 0)
		return fail(x, c->line_memory_mb,
			"eal.memory_mb must be set (> 0) when eal.no_huge is true");
	n = seq != NULL ? config_setting_length(seq) : 0;
	if (n > LB_CONFIG_MAX_EAL_ARGS)
		return fail(x, c->line_eal_args, "eal.args has %d entries (at most %d)", n,
			LB_CONFIG_MAX_EAL_ARGS);
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		const char *arg = config_setting_get_string(el);
		const char *key;

		if (arg == NULL || *arg == '\0')
			return fail(x, lb_config_line(el), "eal.args[%d] is empty", i);
		key = eal_reserved_key(arg);
		if (key != NULL)
			return fail(x, lb_config_line(el),
				"eal.args[%d] = \"%s\": lbd sets that option from %s; use that instead",
				i, arg, key);
		c->eal_args[i] = strdup(arg);
		if (c->eal_args[i] == NULL)
			return fail(x, lb_config_line(el), "out of memory");
		c->n_eal_args = (uint32_t)i + 1;
	}
	return 0;
}

/* ---- ports = ( { ... }, ... ) ---- */

static const char *const port_keys[] = {
	"name", "device", "role", "address", "gateway", "vlan", "neighbours", "kernel",
	"kernel_rate", NULL
};
static const char *const neigh_keys[] = { "address", "mac", NULL };
static const char *const role_names[] = { "external", "internal", "both", NULL };
static const unsigned role_bits[] = { LB_ROLE_EXTERNAL, LB_ROLE_INTERNAL, LB_ROLE_BOTH };

static int
parse_neighbours(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_port *p)
{
	const config_setting_t *seq;
	char npath[64], ip[LB_IP4_STRLEN];
	const char *mac = NULL;
	int i, j, n, rc, l;

	rc = lb_config_get_seq(x, g, path, "neighbours", false, LB_CONFIG_W_GROUP, &seq,
		&p->line_neighbours);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n > LB_CONFIG_MAX_NEIGH)
		return fail(x, p->line_neighbours, "%s.neighbours has %d entries (at most %d)",
			path, n, LB_CONFIG_MAX_NEIGH);
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		struct lb_config_neigh *nb = &p->neigh[i];

		snprintf(npath, sizeof(npath), "%s.neighbours[%d]", path, i);
		nb->line = lb_config_line(el);
		rc = lb_config_check_keys(x, el, "in neighbour", neigh_keys);
		if (rc == 0)
			rc = lb_config_get_host(x, el, npath, "address", true, &nb->addr, &l);
		if (rc != 0)
			return rc;
		if (!lb_config_in_net(&p->net, nb->addr) || lb_config_net_edge(&p->net, nb->addr))
			return fail(x, l, "%s.address %s is not a host in the subnet of port '%s' "
				"(static neighbours must be on-link)", npath,
				lb_ip4_fmt(nb->addr, ip), p->name);
		if (nb->addr == p->addr)
			return fail(x, l, "%s.address %s is the port's own address", npath,
				lb_ip4_fmt(nb->addr, ip));
		for (j = 0; j < i; j++)
			if (p->neigh[j].addr == nb->addr)
				return fail(x, l, "duplicate static neighbour %s on port '%s' "
					"(first at line %d)", lb_ip4_fmt(nb->addr, ip), p->name,
					p->neigh[j].line);
		rc = lb_config_get_str(x, el, npath, "mac", true, &mac, &l);
		if (rc != 0)
			return rc;
		if (lb_mac_parse(mac, nb->mac) != 0)
			return fail(x, l,
				"%s.mac = \"%s\" is not a MAC address (aa:bb:cc:dd:ee:ff)",
				npath, mac);
		if ((nb->mac[0] & 1) != 0 ||
		    (nb->mac[0] | nb->mac[1] | nb->mac[2] | nb->mac[3] | nb->mac[4] | nb->mac[5]) == 0)
			return fail(x, l, "%s.mac = \"%s\" is not a unicast MAC address", npath,
				mac);
		p->n_neigh = (uint32_t)i + 1;
	}
	return 0;
}

static int
parse_port_address(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_port *p)
{
	const char *str = NULL;
	int rc;

	rc = lb_config_get_str(x, g, path, "address", true, &str, &p->line_address);
	if (rc != 0)
		return rc;
	if (strchr(str, '/') == NULL)
		return fail(x, p->line_address,
			"%s.address = \"%s\" needs a prefix length (e.g. \"%s/24\")", path, str,
			str);
	if (lb_cidr_parse(str, &p->net, true) != 0)
		return fail(x, p->line_address,
			"%s.address = \"%s\" is not an IPv4 address with a prefix (a.b.c.d/len)",
			path, str);
	if (p->net.len == 0)
		return fail(x, p->line_address, "%s.address = \"%s\": a port's prefix cannot be /0",
			path, str);
	p->addr = p->net.addr;
	if (!lb_config_unicast(p->addr))
		return fail(x, p->line_address, "%s.address = \"%s\" is not a unicast host address",
			path, str);
	if (lb_config_net_edge(&p->net, p->addr))
		return fail(x, p->line_address,
			"%s.address = \"%s\" is the subnet's network or broadcast address", path,
			str);
	return 0;
}

/* kernel = "NAME": the port's kernel interface (docs/config.md, "ports"). */
static int
parse_port_kernel(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	uint32_t i)
{
	struct lb_config *c = x->c;
	struct lb_config_port *p = &c->ports[i];
	const char *str = NULL;
	size_t k;
	uint32_t j;
	int rc;

	p->kernel_rate = LB_CONFIG_KERNEL_RATE;
	rc = lb_config_get_str(x, g, path, "kernel", false, &str, &p->line_kernel);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "kernel_rate", 1, 10000000, false,
			&p->kernel_rate, &p->line_kernel_rate);
	if (rc != 0 || str == NULL)
		return rc;
	if (str[0] == '\0' || strlen(str) >= sizeof(p->kernel))
		return fail(x, p->line_kernel, "%s.kernel = \"%s\" is not an interface name "
			"(1 to %zu characters)", path, str, sizeof(p->kernel) - 1);
	for (k = 0; str[k] != '\0'; k++)
		if (!isalnum((unsigned char)str[k]) && str[k] != '-' && str[k] != '_' &&
		    str[k] != '.')
			return fail(x, p->line_kernel, "%s.kernel = \"%s\" is not an interface "
				"name ([A-Za-z0-9_.-])", path, str);
	if (strcmp(str, ".") == 0 || strcmp(str, "..") == 0)
		return fail(x, p->line_kernel, "%s.kernel = \"%s\" is not an interface name",
			path, str);
	for (j = 0; j < i; j++)
		if (strcmp(c->ports[j].kernel, str) == 0)
			return fail(x, p->line_kernel, "duplicate kernel interface '%s': port '%s' "
				"uses it too (line %d)", str, c->ports[j].name,
				c->ports[j].line_kernel);
	snprintf(p->kernel, sizeof(p->kernel), "%s", str);
	return 0;
}

static int
parse_port(struct lb_config_ctx *x, const config_setting_t *g, uint32_t i)
{
	struct lb_config *c = x->c;
	struct lb_config_port *p = &c->ports[i];
	char path[32], ip[LB_IP4_STRLEN];
	const char *dev = NULL;
	uint32_t vlan = 0, j;
	int role = 0, rc;

	snprintf(path, sizeof(path), "ports[%u]", i);
	p->line = lb_config_line(g);
	p->line_name = p->line_device = p->line_role = p->line_address = p->line;
	p->line_gateway = p->line_vlan = p->line_neighbours = p->line;
	p->line_kernel = p->line_kernel_rate = p->line;
	rc = lb_config_check_keys(x, g, "in port", port_keys);
	if (rc == 0)
		rc = lb_config_get_name(x, g, path, "name", true, LB_CONFIG_PORT_NAME_MAX, p->name,
			&p->line_name);
	if (rc != 0)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->ports[j].name, p->name) == 0)
			return fail(x, p->line_name, "duplicate port name '%s' (first at line %d)",
				p->name, c->ports[j].line_name);

	rc = lb_config_get_str(x, g, path, "device", true, &dev, &p->line_device);
	if (rc != 0)
		return rc;
	if (strlen(dev) >= sizeof(p->device) || !lb_config_device_valid(dev))
		return fail(x, p->line_device, "%s.device = \"%s\" is neither a PCI address "
			"(DDDD:BB:DD.F) nor a vdev (net_<driver><n>[,args])", path, dev);
	for (j = 0; j < i; j++)
		if (lb_config_device_id_len(c->ports[j].device) == lb_config_device_id_len(dev) &&
		    strncasecmp(c->ports[j].device, dev, lb_config_device_id_len(dev)) == 0)
			return fail(x, p->line_device,
				"duplicate device '%.*s': port '%s' uses it too (line %d)",
				(int)lb_config_device_id_len(dev), dev, c->ports[j].name,
				c->ports[j].line_device);
	snprintf(p->device, sizeof(p->device), "%s", dev);

	rc = lb_config_get_enum(x, g, path, "role", role_names, true, &role, &p->line_role);
	if (rc != 0)
		return rc;
	p->role = role_bits[role];

	rc = parse_port_address(x, g, path, p);
	if (rc == 0)
		rc = lb_config_get_host(x, g, path, "gateway", false, &p->gateway,
			&p->line_gateway);
	if (rc != 0)
		return rc;
	if (p->gateway != 0) {
		if (!lb_config_in_net(&p->net, p->gateway) ||
		    lb_config_net_edge(&p->net, p->gateway))
			return fail(x, p->line_gateway,
				"%s.gateway %s is not a host on the port's subnet", path,
				lb_ip4_fmt(p->gateway, ip));
		if (p->gateway == p->addr)
			return fail(x, p->line_gateway, "%s.gateway %s is the port's own address",
				path, lb_ip4_fmt(p->gateway, ip));
	}
	rc = lb_config_get_uint(x, g, path, "vlan", 0, 4094, false, &vlan, &p->line_vlan);
	if (rc != 0)
		return rc;
	p->vlan = (uint16_t)vlan;
	rc = parse_port_kernel(x, g, path, i);
	if (rc != 0)
		return rc;
	return parse_neighbours(x, g, path, p);
}

static int
parse_ports(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	int i, n, rc;

	rc = lb_config_get_seq(x, root, "", "ports", true, LB_CONFIG_W_GROUP, &seq, &c->line_ports);
	if (rc != 0)
		return rc;
	n = config_setting_length(seq);
	if (n < 1 || n > LB_MAX_PORTS)
		return fail(x, c->line_ports, "ports has %d entries (1 to %d)", n, LB_MAX_PORTS);
	for (i = 0; i < n; i++) {
		rc = parse_port(x, config_setting_get_elem(seq, (unsigned)i), (uint32_t)i);
		if (rc != 0)
			return rc;
		c->n_ports = (uint32_t)i + 1;
	}
	return 0;
}

/* ---- workers = { ... } ---- */

static const char *const workers_keys[] = {
	"lcores", "flow_capacity", "mbufs", "snat_addresses", "snat_ports", "timeouts",
	"new_flow_rate", "snat_time_wait", NULL
};
static const char *const timeout_keys[] = {
	"tcp_syn", "tcp_established", "tcp_fin", "udp", NULL
};

static int
parse_timeouts(struct lb_config_ctx *x, const config_setting_t *w)
{
	struct lb_config *c = x->c;
	const config_setting_t *g;
	const char *path = "workers.timeouts";
	int rc;

	rc = lb_config_get(x, w, "workers", "timeouts", LB_CONFIG_W_GROUP, false, &g);
	if (rc != 0 || g == NULL)
		return rc;
	c->line_timeouts = lb_config_line(g);
	rc = lb_config_check_keys(x, g, "in workers.timeouts", timeout_keys);
	/* Timeouts become milliseconds in a 32-bit signed comparison on the
	 * data path, hence 2000000 s at most. */
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "tcp_syn", 1, 86400, false,
			&c->timeouts.tcp_syn, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "tcp_established", 1, 2000000, false,
			&c->timeouts.tcp_established, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "tcp_fin", 1, 86400, false,
			&c->timeouts.tcp_fin, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, path, "udp", 1, 2000000, false, &c->timeouts.udp,
			NULL);
	return rc;
}

static int
parse_lcores(struct lb_config_ctx *x, const config_setting_t *w)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	char label[48];
	int i, j, n, rc;

	rc = lb_config_get_seq(x, w, "workers", "lcores", true, LB_CONFIG_W_INT, &seq,
		&c->line_lcores);
	if (rc != 0)
		return rc;
	n = config_setting_length(seq);
	if (n < 1 || n > LB_MAX_WORKERS)
		return fail(x, c->line_lcores, "workers.lcores has %d entries (1 to %d)", n,
			LB_MAX_WORKERS);
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		uint32_t lc;

		snprintf(label, sizeof(label), "workers.lcores[%d]", i);
		rc = lb_config_int_range(x, el, label, 0, LB_CONFIG_MAX_LCORE - 1, &lc);
		if (rc != 0)
			return rc;
		if (lc == c->control_lcore)
			return fail(x, lb_config_line(el), "%s = %u is the control lcore "
				"(lbd.control_lcore, line %d); workers need lcores of their own",
				label, lc, c->line_control_lcore);
		for (j = 0; j < i; j++)
			if (c->worker_lcores[j] == lc)
				return fail(x, lb_config_line(el),
					"duplicate lcore %u in workers.lcores", lc);
		c->worker_lcores[i] = lc;
		c->n_workers = (uint32_t)i + 1;
	}
	return 0;
}

static int
parse_snat(struct lb_config_ctx *x, const config_setting_t *w)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	char label[48], ip[LB_IP4_STRLEN];
	uint32_t lo, hi;
	int i, j, n, rc;

	rc = lb_config_get_seq(x, w, "workers", "snat_addresses", false, LB_CONFIG_W_STRING, &seq,
		&c->line_snat_addrs);
	if (rc != 0)
		return rc;
	n = seq != NULL ? config_setting_length(seq) : 0;
	if (n > LB_MAX_SNAT_ADDRS)
		return fail(x, c->line_snat_addrs,
			"workers.snat_addresses has %d entries (at most %d)", n,
			LB_MAX_SNAT_ADDRS);
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		uint32_t a;

		snprintf(label, sizeof(label), "workers.snat_addresses[%d]", i);
		rc = lb_config_parse_host(x, config_setting_get_string(el), label,
			lb_config_line(el), &a);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (c->snat_addrs[j] == a)
				return fail(x, lb_config_line(el),
					"duplicate SNAT address %s (first at line %d)",
					lb_ip4_fmt(a, ip), c->snat_addr_line[j]);
		c->snat_addrs[i] = a;
		c->snat_addr_line[i] = lb_config_line(el);
		c->n_snat = (uint32_t)i + 1;
	}

	rc = lb_config_get_seq(x, w, "workers", "snat_ports", false, LB_CONFIG_W_INT, &seq,
		&c->line_snat_ports);
	if (rc != 0 || seq == NULL)
		return rc;
	if (config_setting_length(seq) != 2)
		return fail(x, c->line_snat_ports,
			"workers.snat_ports must be [ first, last ] (two integers)");
	rc = lb_config_int_range(x, config_setting_get_elem(seq, 0), "workers.snat_ports[0]", 1,
		65535, &lo);
	if (rc == 0)
		rc = lb_config_int_range(x, config_setting_get_elem(seq, 1),
			"workers.snat_ports[1]", 1, 65535, &hi);
	if (rc != 0)
		return rc;
	if (lo > hi)
		return fail(x, c->line_snat_ports, "workers.snat_ports [%u, %u]: first > last", lo,
			hi);
	c->snat_port_lo = (uint16_t)lo;
	c->snat_port_hi = (uint16_t)hi;
	return 0;
}

static int
parse_workers(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_snat_layout layout;
	struct lb_config *c = x->c;
	const config_setting_t *w;
	int rc;

	rc = lb_config_get(x, root, "", "workers", LB_CONFIG_W_GROUP, true, &w);
	if (rc != 0)
		return rc;
	c->line_workers = lb_config_line(w);
	c->line_lcores = c->line_flow_capacity = c->line_snat_addrs = c->line_workers;
	c->line_mbufs = c->line_workers;
	c->line_snat_ports = c->line_timeouts = c->line_workers;
	rc = lb_config_check_keys(x, w, "in workers", workers_keys);
	if (rc == 0)
		rc = parse_lcores(x, w);
	if (rc == 0)
		rc = lb_config_get_uint(x, w, "workers", "flow_capacity",
			LB_CONFIG_MIN_FLOW_CAPACITY,
			LB_CONFIG_MAX_FLOW_CAPACITY, false, &c->flow_capacity,
			&c->line_flow_capacity);
	if (rc == 0)
		rc = lb_config_get_uint(x, w, "workers", "mbufs", 0, LB_CONFIG_MAX_MBUFS, false,
			&c->mbufs, &c->line_mbufs);
	if (rc == 0 && c->mbufs != 0 && c->mbufs < LB_CONFIG_MIN_MBUFS)
		return fail(x, c->line_mbufs, "workers.mbufs = %u is too small: 0 (lbd sizes the "
			"pool) or at least %u", c->mbufs, LB_CONFIG_MIN_MBUFS);
	if (rc == 0)
		rc = lb_config_get_uint(x, w, "workers", "new_flow_rate", 0,
			LB_CONFIG_MAX_NEW_FLOW_RATE, false, &c->new_flow_rate, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, w, "workers", "snat_time_wait", 0, 3600, false,
			&c->snat_time_wait, NULL);
	if (rc == 0)
		rc = parse_snat(x, w);
	if (rc == 0)
		rc = parse_timeouts(x, w);
	if (rc != 0)
		return rc;
	/* Each worker owns the ports of the range with its low bits (lb_snat.h). */
	if ((uint32_t)(c->snat_port_hi - c->snat_port_lo) + 1 < c->n_workers)
		return fail(x, c->line_snat_ports,
			"workers.snat_ports [%u, %u] has fewer ports than the %u workers",
			c->snat_port_lo, c->snat_port_hi, c->n_workers);
	if (lb_snat_layout_init(&layout, c->snat_port_lo, c->snat_port_hi, c->n_workers) != 0)
		return fail(x, c->line_snat_ports,
			"workers.snat_ports [%u, %u] leaves a worker without a port (ports are "
			"split by their low bits; any %u consecutive ports give each of the %u "
			"workers one)", c->snat_port_lo, c->snat_port_hi,
			lb_snat_min_ports(c->n_workers), c->n_workers);
	return 0;
}

/* ---- arp = { ... } ---- */

static const char *const arp_keys[] = {
	"reachable", "retries", "retry_interval_ms", "queue", NULL
};

static int
parse_arp(struct lb_config_ctx *x, const config_setting_t *g)
{
	struct lb_config *c = x->c;
	int rc = 0;

	if (g != NULL)
		rc = lb_config_check_keys(x, g, "in arp", arp_keys);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "arp", "reachable", 1, 86400, false,
			&c->arp_reachable, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "arp", "retries", 1, 20, false, &c->arp_retries,
			NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "arp", "retry_interval_ms", 10, 60000, false,
			&c->arp_retry_ms, NULL);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "arp", "queue", 0, 64, false, &c->arp_queue, NULL);
	return rc;
}

/* ---- top level ---- */

static const char *const top_keys[] = {
	"lbd", "eal", "ports", "workers", "arp", "metrics", "health", "frontends", "pools",
	"kubernetes", NULL
};

static void
set_defaults(struct lb_config *c)
{
	snprintf(c->socket, sizeof(c->socket), "%s", LB_CONFIG_DEF_SOCKET);
	snprintf(c->file_prefix, sizeof(c->file_prefix), "%s", LB_CONFIG_DEF_FILE_PREFIX);
	c->ext_port = -1;
	c->int_port = -1;
	c->flow_capacity = LB_CONFIG_DEF_FLOW_CAPACITY;
	c->snat_port_lo = LB_CONFIG_DEF_SNAT_LO;
	c->snat_port_hi = LB_CONFIG_DEF_SNAT_HI;
	c->timeouts.tcp_syn = LB_CONFIG_DEF_TCP_SYN;
	c->timeouts.tcp_established = LB_CONFIG_DEF_TCP_ESTABLISHED;
	c->timeouts.tcp_fin = LB_CONFIG_DEF_TCP_FIN;
	c->timeouts.udp = LB_CONFIG_DEF_UDP;
	c->new_flow_rate = LB_CONFIG_DEF_NEW_FLOW_RATE;
	c->snat_time_wait = LB_CONFIG_DEF_SNAT_TIME_WAIT;
	c->arp_reachable = LB_CONFIG_DEF_ARP_REACHABLE;
	c->arp_retries = LB_CONFIG_DEF_ARP_RETRIES;
	c->arp_retry_ms = LB_CONFIG_DEF_ARP_RETRY_MS;
	c->arp_queue = LB_CONFIG_DEF_ARP_QUEUE;

	c->line_lbd = c->line_socket = c->line_control_lcore = 1;
	c->line_eal = c->line_file_prefix = c->line_no_huge = c->line_memory_mb = 1;
	c->line_eal_args = c->line_ports = c->line_workers = c->line_lcores = 1;
	c->line_flow_capacity = c->line_snat_addrs = c->line_snat_ports = 1;
	c->line_mbufs = 1;
	c->line_timeouts = c->line_arp = c->line_frontends = c->line_pools = 1;
}

int
lb_config_parse(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *lbd, *eal, *arp;
	int rc;

	set_defaults(c);
	rc = lb_config_check_keys(x, root, "at the top level", top_keys);
	if (rc == 0)
		rc = lb_config_get(x, root, "", "lbd", LB_CONFIG_W_GROUP, false, &lbd);
	if (rc == 0)
		rc = lb_config_get(x, root, "", "eal", LB_CONFIG_W_GROUP, false, &eal);
	if (rc == 0)
		rc = lb_config_get(x, root, "", "arp", LB_CONFIG_W_GROUP, false, &arp);
	if (rc != 0)
		return rc;
	if (lbd != NULL)
		c->line_lbd = c->line_socket = c->line_control_lcore = lb_config_line(lbd);
	if (eal != NULL) {
		c->line_eal = c->line_file_prefix = c->line_no_huge = lb_config_line(eal);
		c->line_memory_mb = c->line_eal_args = lb_config_line(eal);
	}
	if (arp != NULL)
		c->line_arp = lb_config_line(arp);

	rc = parse_lbd(x, lbd);
	if (rc == 0)
		rc = parse_eal(x, eal);
	if (rc == 0)
		rc = parse_ports(x, root);
	if (rc == 0)
		rc = parse_workers(x, root);
	if (rc == 0)
		rc = parse_arp(x, arp);
	if (rc == 0)
		rc = lb_config_parse_metrics(x, root);
	if (rc == 0)
		rc = lb_config_parse_health(x, root);
	if (rc == 0)
		rc = lb_config_parse_frontends(x, root);
	if (rc == 0)
		rc = lb_config_parse_pools(x, root);
	if (rc == 0)
		rc = lb_config_parse_k8s(x, root);
	return rc;
}
