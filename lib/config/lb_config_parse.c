/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libconfig tree -> model. Each section is checked here on its own: unknown
 * keys, types, ranges, address syntax and duplicates within a list. What
 * needs several sections at once (roles, clashes, reachability) is in
 * lb_config_check.c and runs after everything has been read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "lb_maglev.h"
#include "lb_config_priv.h"

#define fail lb_config_fail

static int
line_of(const config_setting_t *s)
{
	int l = s != NULL ? (int)config_setting_source_line(s) : 0;

	return l > 0 ? l : 1;
}

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "of unknown type";
}

/* "path.key", or "key" at the top level. */
static const char *
lbl(char *buf, size_t n, const char *path, const char *key)
{
	snprintf(buf, n, "%s%s%s", path, *path != '\0' ? "." : "", key);
	return buf;
}

/* Rejects a member of group g that is not in keys (NULL-terminated). where
 * says where the keys belong, as in "in target" or "at the top level". */
static int
check_keys(struct lb_config_ctx *x, const config_setting_t *g, const char *where,
	const char *const *keys)
{
	int i, n = config_setting_length(g);
	char list[256];
	size_t k, off;

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);

		for (k = 0; keys[k] != NULL; k++)
			if (name != NULL && strcmp(name, keys[k]) == 0)
				break;
		if (keys[k] != NULL)
			continue;
		list[0] = '\0';
		for (k = 0, off = 0; keys[k] != NULL && off < sizeof(list); k++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
				k > 0 ? ", " : "", keys[k]);
		return fail(x, line_of(m), "unknown key '%s' %s (expected %s)",
			name != NULL ? name : "?", where, list);
	}
	return 0;
}

enum want {
	W_INT,
	W_STRING,
	W_BOOL,
	W_GROUP,
	W_SEQ,		/* array or list */
};

static bool
has_type(const config_setting_t *s, enum want w)
{
	int t = config_setting_type(s);

	switch (w) {
	case W_INT:
		return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
	case W_STRING:
		return t == CONFIG_TYPE_STRING;
	case W_BOOL:
		return t == CONFIG_TYPE_BOOL;
	case W_GROUP:
		return t == CONFIG_TYPE_GROUP;
	case W_SEQ:
		return t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
	}
	return false;
}

static const char *const want_name[] = {
	[W_INT] = "an integer",
	[W_STRING] = "a string",
	[W_BOOL] = "a boolean (true or false)",
	[W_GROUP] = "a group { ... }",
	[W_SEQ] = "a list ( ... ) or array [ ... ]",
};

/* Checks the type of a setting named by label. */
static int
want_type(struct lb_config_ctx *x, const config_setting_t *s, const char *label, enum want w)
{
	if (has_type(s, w))
		return 0;
	return fail(x, line_of(s), "%s must be %s, not %s", label, want_name[w], type_name(s));
}

/*
 * Finds key in group g (which may be NULL: an absent section) and checks its
 * type. *out is the setting, or NULL when it is absent and not required.
 * A missing required key is reported at the group's line.
 */
static int
get(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	enum want w, bool required, const config_setting_t **out)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, key) : NULL;
	char b[96];

	*out = NULL;
	if (s == NULL) {
		if (!required)
			return 0;
		if (*path == '\0')
			return fail(x, line_of(g), "missing required key '%s' at the top level", key);
		return fail(x, line_of(g), "missing required key '%s' in %s", key, path);
	}
	if (want_type(x, s, lbl(b, sizeof(b), path, key), w) != 0)
		return -EINVAL;
	*out = s;
	return 0;
}

static int
int_range(struct lb_config_ctx *x, const config_setting_t *s, const char *label, long long lo,
	long long hi, uint32_t *out)
{
	long long v;

	if (want_type(x, s, label, W_INT) != 0)
		return -EINVAL;
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return fail(x, line_of(s), "%s = %lld is out of range (%lld..%lld)", label, v, lo,
			hi);
	*out = (uint32_t)v;
	return 0;
}

/* Integer key; *out and *line stay as they are when it is absent. */
static int
get_uint(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	long long lo, long long hi, bool required, uint32_t *out, int *line)
{
	const config_setting_t *s;
	char b[96];
	int rc;

	rc = get(x, g, path, key, W_INT, required, &s);
	if (rc != 0 || s == NULL)
		return rc;
	rc = int_range(x, s, lbl(b, sizeof(b), path, key), lo, hi, out);
	if (rc == 0 && line != NULL)
		*line = line_of(s);
	return rc;
}

static int
get_bool(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	bool *out, int *line)
{
	const config_setting_t *s;
	int rc;

	rc = get(x, g, path, key, W_BOOL, false, &s);
	if (rc != 0 || s == NULL)
		return rc;
	*out = config_setting_get_bool(s) != 0;
	if (line != NULL)
		*line = line_of(s);
	return 0;
}

/* String key; *out points into libconfig's tree (valid during the load). */
static int
get_str(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	bool required, const char **out, int *line)
{
	const config_setting_t *s;
	int rc;

	rc = get(x, g, path, key, W_STRING, required, &s);
	if (rc != 0 || s == NULL)
		return rc;
	*out = config_setting_get_string(s);
	if (*out == NULL)
		*out = "";
	if (line != NULL)
		*line = line_of(s);
	return 0;
}

/* One of names[] (NULL-terminated); *out is its index. */
static int
get_enum(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	const char *const *names, bool required, int *out, int *line)
{
	const char *str = NULL;
	char list[128], b[96];
	size_t k, off;
	int l = 0, rc;

	rc = get_str(x, g, path, key, required, &str, &l);
	if (rc != 0 || str == NULL)
		return rc;
	for (k = 0; names[k] != NULL; k++) {
		if (strcmp(str, names[k]) == 0) {
			*out = (int)k;
			if (line != NULL)
				*line = l;
			return 0;
		}
	}
	for (k = 0, off = 0; names[k] != NULL && off < sizeof(list); k++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s\"%s\"",
			k > 0 ? ", " : "", names[k]);
	return fail(x, l, "%s = \"%s\" is not one of %s", lbl(b, sizeof(b), path, key), str, list);
}

/* A host address: dotted quad, not 0/8, loopback, multicast or reserved. */
static int
parse_host(struct lb_config_ctx *x, const char *str, const char *label, int line, uint32_t *out)
{
	if (lb_ip4_parse(str, out) != 0)
		return fail(x, line, "%s = \"%s\" is not an IPv4 address (a.b.c.d)", label, str);
	if (!lb_config_unicast(*out))
		return fail(x, line, "%s = \"%s\" is not a unicast host address", label, str);
	return 0;
}

static int
get_host(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	bool required, uint32_t *out, int *line)
{
	const char *str = NULL;
	char b[96];
	int l = 0, rc;

	rc = get_str(x, g, path, key, required, &str, &l);
	if (rc != 0 || str == NULL)
		return rc;
	rc = parse_host(x, str, lbl(b, sizeof(b), path, key), l, out);
	if (rc == 0 && line != NULL)
		*line = l;
	return rc;
}

/* Names of ports, frontends and the EAL file prefix: [A-Za-z0-9_.-]{1,max}. */
static bool
valid_name(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		char ch = s[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return n >= 1 && n <= max;
}

static int
get_name(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	bool required, size_t max, char *out, int *line)
{
	const char *str = NULL;
	char b[96];
	int l = 0, rc;

	rc = get_str(x, g, path, key, required, &str, &l);
	if (rc != 0 || str == NULL)
		return rc;
	if (!valid_name(str, max))
		return fail(x, l, "%s = \"%s\" is not a valid name (1 to %zu of A-Z a-z 0-9 _ . -)",
			lbl(b, sizeof(b), path, key), str, max);
	snprintf(out, LB_NAME_MAX, "%s", str);
	if (line != NULL)
		*line = l;
	return 0;
}

/* The elements of a list or array; each must have type w. */
static int
get_seq(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	bool required, enum want w, const config_setting_t **out, int *line)
{
	const config_setting_t *s;
	char b[96], e[112];
	int i, n, rc;

	rc = get(x, g, path, key, W_SEQ, required, &s);
	*out = s;
	if (rc != 0 || s == NULL)
		return rc;
	if (line != NULL)
		*line = line_of(s);
	n = config_setting_length(s);
	lbl(b, sizeof(b), path, key);
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);

		snprintf(e, sizeof(e), "%s[%d]", b, i);
		if (want_type(x, el, e, w) != 0)
			return -EINVAL;
	}
	return 0;
}

static bool
hex_run(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
			return false;
	return true;
}

/* Length of the device's identity: up to the first ',' (devargs follow). */
static size_t
device_id_len(const char *dev)
{
	return strcspn(dev, ",");
}

bool
lb_config_device_valid(const char *dev)
{
	size_t id = device_id_len(dev), i;
	const char *args = dev + id;

	if (id == 12 && hex_run(dev, 4) && dev[4] == ':' && hex_run(dev + 5, 2) &&
	    dev[7] == ':' && hex_run(dev + 8, 2) && dev[10] == '.' &&
	    dev[11] >= '0' && dev[11] <= '7') {
		/* PCI domain:bus:device.function; a device number is 5 bits. */
		if (dev[8] > '1')
			return false;
	} else {
		/* net_<driver><n>: lower-case driver name, then the instance number. */
		if (id < 6 || strncmp(dev, "net_", 4) != 0 || !(dev[4] >= 'a' && dev[4] <= 'z') ||
		    !(dev[id - 1] >= '0' && dev[id - 1] <= '9'))
			return false;
		for (i = 4; i < id; i++)
			if (!((dev[i] >= 'a' && dev[i] <= 'z') || (dev[i] >= '0' && dev[i] <= '9') ||
			      dev[i] == '_'))
				return false;
	}
	if (*args == '\0')
		return true;
	/* Device arguments: key=value pairs; no blanks, no empty argument. */
	for (i = 0; args[i] != '\0'; i++) {
		if ((unsigned char)args[i] <= ' ' || (unsigned char)args[i] >= 0x7f)
			return false;
		if (args[i] == ',' && (args[i + 1] == ',' || args[i + 1] == '\0'))
			return false;
	}
	return true;
}

/* ---- lbd = { ... } ---- */

static const char *const lbd_keys[] = { "socket", "control_lcore", NULL };

static int
parse_lbd(struct lb_config_ctx *x, const config_setting_t *g)
{
	struct lb_config *c = x->c;
	const char *str = NULL;
	int rc;

	if (g != NULL && (rc = check_keys(x, g, "in lbd", lbd_keys)) != 0)
		return rc;
	rc = get_str(x, g, "lbd", "socket", false, &str, &c->line_socket);
	if (rc != 0)
		return rc;
	if (str != NULL) {
		if (*str == '\0' || strlen(str) > LB_CONFIG_SOCKET_MAX)
			return fail(x, c->line_socket,
				"lbd.socket must be a path of 1 to %d characters (a Unix socket path)",
				LB_CONFIG_SOCKET_MAX);
		snprintf(c->socket, sizeof(c->socket), "%s", str);
	}
	return get_uint(x, g, "lbd", "control_lcore", 0, LB_CONFIG_MAX_LCORE - 1, false,
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

	if (g != NULL && (rc = check_keys(x, g, "in eal", eal_keys)) != 0)
		return rc;
	rc = get_name(x, g, "eal", "file_prefix", false, LB_NAME_MAX - 1, c->file_prefix,
		&c->line_file_prefix);
	if (rc == 0)
		rc = get_bool(x, g, "eal", "no_huge", &c->no_huge, &c->line_no_huge);
	if (rc == 0)
		rc = get_uint(x, g, "eal", "memory_mb", 0, 1048576, false, &c->memory_mb,
			&c->line_memory_mb);
	if (rc == 0)
		rc = get_seq(x, g, "eal", "args", false, W_STRING, &seq, &c->line_eal_args);
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
			return fail(x, line_of(el), "eal.args[%d] is empty", i);
		key = eal_reserved_key(arg);
		if (key != NULL)
			return fail(x, line_of(el),
				"eal.args[%d] = \"%s\": lbd sets that option from %s; use that instead",
				i, arg, key);
		c->eal_args[i] = strdup(arg);
		if (c->eal_args[i] == NULL)
			return fail(x, line_of(el), "out of memory");
		c->n_eal_args = (uint32_t)i + 1;
	}
	return 0;
}

/* ---- ports = ( { ... }, ... ) ---- */

static const char *const port_keys[] = {
	"name", "device", "role", "address", "gateway", "vlan", "neighbours", NULL
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

	rc = get_seq(x, g, path, "neighbours", false, W_GROUP, &seq, &p->line_neighbours);
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
		nb->line = line_of(el);
		rc = check_keys(x, el, "in neighbour", neigh_keys);
		if (rc == 0)
			rc = get_host(x, el, npath, "address", true, &nb->addr, &l);
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
		rc = get_str(x, el, npath, "mac", true, &mac, &l);
		if (rc != 0)
			return rc;
		if (lb_mac_parse(mac, nb->mac) != 0)
			return fail(x, l, "%s.mac = \"%s\" is not a MAC address (aa:bb:cc:dd:ee:ff)",
				npath, mac);
		if ((nb->mac[0] & 1) != 0 ||
		    (nb->mac[0] | nb->mac[1] | nb->mac[2] | nb->mac[3] | nb->mac[4] | nb->mac[5]) == 0)
			return fail(x, l, "%s.mac = \"%s\" is not a unicast MAC address", npath, mac);
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

	rc = get_str(x, g, path, "address", true, &str, &p->line_address);
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
	p->line = line_of(g);
	p->line_name = p->line_device = p->line_role = p->line_address = p->line;
	p->line_gateway = p->line_vlan = p->line_neighbours = p->line;
	rc = check_keys(x, g, "in port", port_keys);
	if (rc == 0)
		rc = get_name(x, g, path, "name", true, LB_CONFIG_PORT_NAME_MAX, p->name,
			&p->line_name);
	if (rc != 0)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->ports[j].name, p->name) == 0)
			return fail(x, p->line_name, "duplicate port name '%s' (first at line %d)",
				p->name, c->ports[j].line_name);

	rc = get_str(x, g, path, "device", true, &dev, &p->line_device);
	if (rc != 0)
		return rc;
	if (strlen(dev) >= sizeof(p->device) || !lb_config_device_valid(dev))
		return fail(x, p->line_device, "%s.device = \"%s\" is neither a PCI address "
			"(DDDD:BB:DD.F) nor a vdev (net_<driver><n>[,args])", path, dev);
	for (j = 0; j < i; j++)
		if (device_id_len(c->ports[j].device) == device_id_len(dev) &&
		    strncasecmp(c->ports[j].device, dev, device_id_len(dev)) == 0)
			return fail(x, p->line_device,
				"duplicate device '%.*s': port '%s' uses it too (line %d)",
				(int)device_id_len(dev), dev, c->ports[j].name,
				c->ports[j].line_device);
	snprintf(p->device, sizeof(p->device), "%s", dev);

	rc = get_enum(x, g, path, "role", role_names, true, &role, &p->line_role);
	if (rc != 0)
		return rc;
	p->role = role_bits[role];

	rc = parse_port_address(x, g, path, p);
	if (rc == 0)
		rc = get_host(x, g, path, "gateway", false, &p->gateway, &p->line_gateway);
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
	rc = get_uint(x, g, path, "vlan", 0, 4094, false, &vlan, &p->line_vlan);
	if (rc != 0)
		return rc;
	p->vlan = (uint16_t)vlan;
	return parse_neighbours(x, g, path, p);
}

static int
parse_ports(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	int i, n, rc;

	rc = get_seq(x, root, "", "ports", true, W_GROUP, &seq, &c->line_ports);
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
	"lcores", "flow_capacity", "snat_addresses", "snat_ports", "timeouts", NULL
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

	rc = get(x, w, "workers", "timeouts", W_GROUP, false, &g);
	if (rc != 0 || g == NULL)
		return rc;
	c->line_timeouts = line_of(g);
	rc = check_keys(x, g, "in workers.timeouts", timeout_keys);
	/* Timeouts become milliseconds in a 32-bit signed comparison on the
	 * data path, hence 2000000 s at most. */
	if (rc == 0)
		rc = get_uint(x, g, path, "tcp_syn", 1, 86400, false, &c->timeouts.tcp_syn, NULL);
	if (rc == 0)
		rc = get_uint(x, g, path, "tcp_established", 1, 2000000, false,
			&c->timeouts.tcp_established, NULL);
	if (rc == 0)
		rc = get_uint(x, g, path, "tcp_fin", 1, 86400, false, &c->timeouts.tcp_fin, NULL);
	if (rc == 0)
		rc = get_uint(x, g, path, "udp", 1, 2000000, false, &c->timeouts.udp, NULL);
	return rc;
}

static int
parse_lcores(struct lb_config_ctx *x, const config_setting_t *w)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	char label[48];
	int i, j, n, rc;

	rc = get_seq(x, w, "workers", "lcores", true, W_INT, &seq, &c->line_lcores);
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
		rc = int_range(x, el, label, 0, LB_CONFIG_MAX_LCORE - 1, &lc);
		if (rc != 0)
			return rc;
		if (lc == c->control_lcore)
			return fail(x, line_of(el), "%s = %u is the control lcore "
				"(lbd.control_lcore, line %d); workers need lcores of their own",
				label, lc, c->line_control_lcore);
		for (j = 0; j < i; j++)
			if (c->worker_lcores[j] == lc)
				return fail(x, line_of(el), "duplicate lcore %u in workers.lcores",
					lc);
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

	rc = get_seq(x, w, "workers", "snat_addresses", false, W_STRING, &seq,
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
		rc = parse_host(x, config_setting_get_string(el), label, line_of(el), &a);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (c->snat_addrs[j] == a)
				return fail(x, line_of(el), "duplicate SNAT address %s (first at line %d)",
					lb_ip4_fmt(a, ip), c->snat_addr_line[j]);
		c->snat_addrs[i] = a;
		c->snat_addr_line[i] = line_of(el);
		c->n_snat = (uint32_t)i + 1;
	}

	rc = get_seq(x, w, "workers", "snat_ports", false, W_INT, &seq, &c->line_snat_ports);
	if (rc != 0 || seq == NULL)
		return rc;
	if (config_setting_length(seq) != 2)
		return fail(x, c->line_snat_ports,
			"workers.snat_ports must be [ first, last ] (two integers)");
	rc = int_range(x, config_setting_get_elem(seq, 0), "workers.snat_ports[0]", 1, 65535, &lo);
	if (rc == 0)
		rc = int_range(x, config_setting_get_elem(seq, 1), "workers.snat_ports[1]", 1, 65535,
			&hi);
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
	struct lb_config *c = x->c;
	const config_setting_t *w;
	int rc;

	rc = get(x, root, "", "workers", W_GROUP, true, &w);
	if (rc != 0)
		return rc;
	c->line_workers = line_of(w);
	c->line_lcores = c->line_flow_capacity = c->line_snat_addrs = c->line_workers;
	c->line_snat_ports = c->line_timeouts = c->line_workers;
	rc = check_keys(x, w, "in workers", workers_keys);
	if (rc == 0)
		rc = parse_lcores(x, w);
	if (rc == 0)
		rc = get_uint(x, w, "workers", "flow_capacity", LB_CONFIG_MIN_FLOW_CAPACITY,
			LB_CONFIG_MAX_FLOW_CAPACITY, false, &c->flow_capacity,
			&c->line_flow_capacity);
	if (rc == 0)
		rc = parse_snat(x, w);
	if (rc == 0)
		rc = parse_timeouts(x, w);
	if (rc != 0)
		return rc;
	/* Each worker owns a slice of the SNAT port range (lb_snat.h). */
	if ((uint32_t)(c->snat_port_hi - c->snat_port_lo) + 1 < c->n_workers)
		return fail(x, c->line_snat_ports,
			"workers.snat_ports [%u, %u] has fewer ports than the %u workers",
			c->snat_port_lo, c->snat_port_hi, c->n_workers);
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
		rc = check_keys(x, g, "in arp", arp_keys);
	if (rc == 0)
		rc = get_uint(x, g, "arp", "reachable", 1, 86400, false, &c->arp_reachable, NULL);
	if (rc == 0)
		rc = get_uint(x, g, "arp", "retries", 1, 20, false, &c->arp_retries, NULL);
	if (rc == 0)
		rc = get_uint(x, g, "arp", "retry_interval_ms", 10, 60000, false,
			&c->arp_retry_ms, NULL);
	if (rc == 0)
		rc = get_uint(x, g, "arp", "queue", 0, 64, false, &c->arp_queue, NULL);
	return rc;
}

/* ---- frontends = ( { ... }, ... ) ---- */

static const char *const fe_keys[] = {
	"name", "vip", "protocol", "port", "method", "maglev_size", "session_affinity",
	"affinity_timeout", "source_ranges", "targets", NULL
};
static const char *const target_keys[] = { "address", "port", "weight", NULL };
static const char *const proto_names[] = { "tcp", "udp", NULL };
static const uint8_t proto_nums[] = { LB_PROTO_TCP, LB_PROTO_UDP };
static const char *const method_names[] = { "fullnat", "dnat", NULL };
static const char *const affinity_names[] = { "none", "client_ip", NULL };

static uint32_t
next_prime(uint32_t n)
{
	while (n < LB_MAGLEV_MAX_SIZE && !lb_maglev_is_prime(n))
		n++;
	return n;
}

static int
parse_src_ranges(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_frontend *fe)
{
	const config_setting_t *seq;
	char label[96], ip[LB_IP4_STRLEN];
	int i, n, rc;

	rc = get_seq(x, g, path, "source_ranges", false, W_STRING, &seq, NULL);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n == 0)
		return 0;
	fe->src_ranges = calloc((size_t)n, sizeof(*fe->src_ranges));
	if (fe->src_ranges == NULL)
		return fail(x, line_of(seq), "out of memory");
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		const char *str = config_setting_get_string(el);
		struct lb_cidr *r = &fe->src_ranges[i];

		snprintf(label, sizeof(label), "%s.source_ranges[%d]", path, i);
		if (lb_cidr_parse(str, r, true) != 0)
			return fail(x, line_of(el), "%s = \"%s\" is not a CIDR (a.b.c.d/len)", label,
				str);
		if ((r->addr & ~r->mask) != 0)
			return fail(x, line_of(el), "%s = \"%s\" has host bits set (did you mean "
				"\"%s/%u\"?)", label, str, lb_ip4_fmt(r->addr & r->mask, ip), r->len);
		fe->n_src_ranges = (uint32_t)i + 1;
	}
	return 0;
}

static int
parse_targets(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_frontend *fe)
{
	const config_setting_t *seq;
	char tpath[96], ep[LB_EP_STRLEN];
	uint32_t port, active = 0;
	int i, j, n, rc;

	rc = get_seq(x, g, path, "targets", false, W_GROUP, &seq, NULL);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n == 0)
		return 0;
	fe->targets = calloc((size_t)n, sizeof(*fe->targets));
	if (fe->targets == NULL)
		return fail(x, line_of(seq), "out of memory");
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(seq, (unsigned)i);
		struct lb_config_target *t = &fe->targets[i];

		snprintf(tpath, sizeof(tpath), "%s.targets[%d]", path, i);
		t->line = line_of(el);
		t->weight = 1;
		rc = check_keys(x, el, "in target", target_keys);
		if (rc == 0)
			rc = get_host(x, el, tpath, "address", true, &t->addr, NULL);
		if (rc == 0)
			rc = get_uint(x, el, tpath, "port", 1, 65535, true, &port, NULL);
		if (rc == 0)
			rc = get_uint(x, el, tpath, "weight", 0, 65535, false, &t->weight, NULL);
		if (rc != 0)
			return rc;
		t->port = htons((uint16_t)port);
		for (j = 0; j < i; j++)
			if (fe->targets[j].addr == t->addr && fe->targets[j].port == t->port)
				return fail(x, t->line, "duplicate target %s in frontend '%s' "
					"(first at line %d)", lb_ep_fmt(t->addr, t->port, ep),
					fe->name, fe->targets[j].line);
		fe->n_targets = (uint32_t)i + 1;
		if (t->weight > 0)
			active++;
	}
	if (active > fe->maglev_size)
		return fail(x, line_of(seq), "frontend '%s' has %u targets with a weight but only "
			"%u Maglev slots (raise maglev_size)", fe->name, active, fe->maglev_size);
	return 0;
}

static int
parse_frontend(struct lb_config_ctx *x, const config_setting_t *g, uint32_t i)
{
	struct lb_config *c = x->c;
	struct lb_config_frontend *fe = &c->frontends[i];
	char path[32], ip[LB_IP4_STRLEN];
	uint32_t port = 0, j;
	int idx, l, rc;

	snprintf(path, sizeof(path), "frontends[%u]", i);
	fe->line = fe->line_vip = line_of(g);
	fe->proto = LB_PROTO_TCP;
	fe->method = LB_METHOD_FULLNAT;
	fe->maglev_size = LB_MAGLEV_DEFAULT_SIZE;
	fe->affinity = LB_AFFINITY_NONE;
	fe->affinity_timeout = LB_CONFIG_DEF_AFFINITY_TIMEOUT;

	rc = check_keys(x, g, "in frontend", fe_keys);
	if (rc == 0)
		rc = get_name(x, g, path, "name", true, LB_CONFIG_FE_NAME_MAX, fe->name, &l);
	if (rc != 0)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(c->frontends[j].name, fe->name) == 0)
			return fail(x, l, "duplicate frontend name '%s' (first at line %d)", fe->name,
				c->frontends[j].line);

	idx = 0;
	rc = get_host(x, g, path, "vip", true, &fe->vip, &fe->line_vip);
	if (rc == 0)
		rc = get_enum(x, g, path, "protocol", proto_names, false, &idx, NULL);
	if (rc != 0)
		return rc;
	fe->proto = proto_nums[idx];
	rc = get_uint(x, g, path, "port", 1, 65535, true, &port, NULL);
	if (rc != 0)
		return rc;
	fe->port = htons((uint16_t)port);
	for (j = 0; j < i; j++) {
		const struct lb_config_frontend *o = &c->frontends[j];

		if (o->vip == fe->vip && o->proto == fe->proto && o->port == fe->port)
			return fail(x, fe->line, "frontend '%s' duplicates %s %s/%u of frontend '%s' "
				"(line %d)", fe->name, lb_ip4_fmt(fe->vip, ip),
				lb_proto_str(fe->proto), port, o->name, o->line);
	}

	idx = (int)fe->method;
	rc = get_enum(x, g, path, "method", method_names, false, &idx, NULL);
	if (rc != 0)
		return rc;
	fe->method = (enum lb_method)idx;
	l = fe->line;
	rc = get_uint(x, g, path, "maglev_size", LB_MAGLEV_MIN_SIZE, LB_MAGLEV_MAX_SIZE, false,
		&fe->maglev_size, &l);
	if (rc != 0)
		return rc;
	if (!lb_maglev_is_prime(fe->maglev_size))
		return fail(x, l, "%s.maglev_size = %u is not a prime (the next prime is %u)", path,
			fe->maglev_size, next_prime(fe->maglev_size));
	idx = (int)fe->affinity;
	rc = get_enum(x, g, path, "session_affinity", affinity_names, false, &idx, NULL);
	if (rc != 0)
		return rc;
	fe->affinity = (enum lb_affinity)idx;
	rc = get_uint(x, g, path, "affinity_timeout", 1, 86400, false, &fe->affinity_timeout,
		NULL);
	if (rc == 0)
		rc = parse_src_ranges(x, g, path, fe);
	if (rc == 0)
		rc = parse_targets(x, g, path, fe);
	return rc;
}

static int
parse_frontends(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *seq;
	int i, n, rc;

	rc = get_seq(x, root, "", "frontends", false, W_GROUP, &seq, &c->line_frontends);
	if (rc != 0 || seq == NULL)
		return rc;
	n = config_setting_length(seq);
	if (n == 0)
		return 0;
	c->frontends = calloc((size_t)n, sizeof(*c->frontends));
	if (c->frontends == NULL)
		return fail(x, c->line_frontends, "out of memory");
	for (i = 0; i < n; i++) {
		/* Counted before parsing so that lb_config_free releases a
		 * half-parsed frontend's arrays. */
		c->n_frontends = (uint32_t)i + 1;
		rc = parse_frontend(x, config_setting_get_elem(seq, (unsigned)i), (uint32_t)i);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- top level ---- */

static const char *const top_keys[] = {
	"lbd", "eal", "ports", "workers", "arp", "frontends", NULL
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
	c->arp_reachable = LB_CONFIG_DEF_ARP_REACHABLE;
	c->arp_retries = LB_CONFIG_DEF_ARP_RETRIES;
	c->arp_retry_ms = LB_CONFIG_DEF_ARP_RETRY_MS;
	c->arp_queue = LB_CONFIG_DEF_ARP_QUEUE;

	c->line_lbd = c->line_socket = c->line_control_lcore = 1;
	c->line_eal = c->line_file_prefix = c->line_no_huge = c->line_memory_mb = 1;
	c->line_eal_args = c->line_ports = c->line_workers = c->line_lcores = 1;
	c->line_flow_capacity = c->line_snat_addrs = c->line_snat_ports = 1;
	c->line_timeouts = c->line_arp = c->line_frontends = 1;
}

int
lb_config_parse(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *lbd, *eal, *arp;
	int rc;

	set_defaults(c);
	rc = check_keys(x, root, "at the top level", top_keys);
	if (rc == 0)
		rc = get(x, root, "", "lbd", W_GROUP, false, &lbd);
	if (rc == 0)
		rc = get(x, root, "", "eal", W_GROUP, false, &eal);
	if (rc == 0)
		rc = get(x, root, "", "arp", W_GROUP, false, &arp);
	if (rc != 0)
		return rc;
	if (lbd != NULL)
		c->line_lbd = c->line_socket = c->line_control_lcore = line_of(lbd);
	if (eal != NULL) {
		c->line_eal = c->line_file_prefix = c->line_no_huge = line_of(eal);
		c->line_memory_mb = c->line_eal_args = line_of(eal);
	}
	if (arp != NULL)
		c->line_arp = line_of(arp);

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
		rc = parse_frontends(x, root);
	return rc;
}
