/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Typed access to libconfig settings for the section parsers: each getter
 * checks presence, type and range and reports "FILE:LINE: message" through
 * lb_config_fail, naming the setting by its path ("ports[1].vlan").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "lb_config_priv.h"

#define fail lb_config_fail

int
lb_config_line(const config_setting_t *s)
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
const char *
lb_config_label(char *buf, size_t n, const char *path, const char *key)
{
	snprintf(buf, n, "%s%s%s", path, *path != '\0' ? "." : "", key);
	return buf;
}

/* Rejects a member of group g that is not in keys (NULL-terminated). where
 * says where the keys belong, as in "in target" or "at the top level". */
int
lb_config_check_keys(struct lb_config_ctx *x, const config_setting_t *g, const char *where,
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
		return fail(x, lb_config_line(m), "unknown key '%s' %s (expected %s)",
			name != NULL ? name : "?", where, list);
	}
	return 0;
}

static bool
has_type(const config_setting_t *s, enum lb_config_want w)
{
	int t = config_setting_type(s);

	switch (w) {
	case LB_CONFIG_W_INT:
		return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
	case LB_CONFIG_W_STRING:
		return t == CONFIG_TYPE_STRING;
	case LB_CONFIG_W_BOOL:
		return t == CONFIG_TYPE_BOOL;
	case LB_CONFIG_W_GROUP:
		return t == CONFIG_TYPE_GROUP;
	case LB_CONFIG_W_SEQ:
		return t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
	}
	return false;
}

static const char *const want_name[] = {
	[LB_CONFIG_W_INT] = "an integer",
	[LB_CONFIG_W_STRING] = "a string",
	[LB_CONFIG_W_BOOL] = "a boolean (true or false)",
	[LB_CONFIG_W_GROUP] = "a group { ... }",
	[LB_CONFIG_W_SEQ] = "a list ( ... ) or array [ ... ]",
};

/* Checks the type of a setting named by label. */
int
lb_config_want_type(struct lb_config_ctx *x, const config_setting_t *s, const char *label,
	enum lb_config_want w)
{
	if (has_type(s, w))
		return 0;
	return fail(x, lb_config_line(s), "%s must be %s, not %s", label, want_name[w],
		type_name(s));
}

/*
 * Finds key in group g (which may be NULL: an absent section) and checks its
 * type. *out is the setting, or NULL when it is absent and not required.
 * A missing required key is reported at the group's line.
 */
int
lb_config_get(struct lb_config_ctx *x, const config_setting_t *g, const char *path, const char *key,
	enum lb_config_want w, bool required, const config_setting_t **out)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, key) : NULL;
	char b[96];

	*out = NULL;
	if (s == NULL) {
		if (!required)
			return 0;
		if (*path == '\0')
			return fail(x, lb_config_line(g),
				"missing required key '%s' at the top level", key);
		return fail(x, lb_config_line(g), "missing required key '%s' in %s", key, path);
	}
	if (lb_config_want_type(x, s, lb_config_label(b, sizeof(b), path, key), w) != 0)
		return -EINVAL;
	*out = s;
	return 0;
}

int
lb_config_int_range(struct lb_config_ctx *x, const config_setting_t *s, const char *label,
	long long lo, long long hi, uint32_t *out)
{
	long long v;

	if (lb_config_want_type(x, s, label, LB_CONFIG_W_INT) != 0)
		return -EINVAL;
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return fail(x, lb_config_line(s), "%s = %lld is out of range (%lld..%lld)", label,
			v, lo, hi);
	*out = (uint32_t)v;
	return 0;
}

/* Integer key; *out and *line stay as they are when it is absent. */
int
lb_config_get_uint(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, long long lo, long long hi, bool required, uint32_t *out, int *line)
{
	const config_setting_t *s;
	char b[96];
	int rc;

	rc = lb_config_get(x, g, path, key, LB_CONFIG_W_INT, required, &s);
	if (rc != 0 || s == NULL)
		return rc;
	rc = lb_config_int_range(x, s, lb_config_label(b, sizeof(b), path, key), lo, hi, out);
	if (rc == 0 && line != NULL)
		*line = lb_config_line(s);
	return rc;
}

int
lb_config_get_bool(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool *out, int *line)
{
	const config_setting_t *s;
	int rc;

	rc = lb_config_get(x, g, path, key, LB_CONFIG_W_BOOL, false, &s);
	if (rc != 0 || s == NULL)
		return rc;
	*out = config_setting_get_bool(s) != 0;
	if (line != NULL)
		*line = lb_config_line(s);
	return 0;
}

/* String key; *out points into libconfig's tree (valid during the load). */
int
lb_config_get_str(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool required, const char **out, int *line)
{
	const config_setting_t *s;
	int rc;

	rc = lb_config_get(x, g, path, key, LB_CONFIG_W_STRING, required, &s);
	if (rc != 0 || s == NULL)
		return rc;
	*out = config_setting_get_string(s);
	if (*out == NULL)
		*out = "";
	if (line != NULL)
		*line = lb_config_line(s);
	return 0;
}

/* One of names[] (NULL-terminated); *out is its index. */
int
lb_config_get_enum(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, const char *const *names, bool required, int *out, int *line)
{
	const char *str = NULL;
	char list[128], b[96];
	size_t k, off;
	int l = 0, rc;

	rc = lb_config_get_str(x, g, path, key, required, &str, &l);
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
	return fail(x, l, "%s = \"%s\" is not one of %s", lb_config_label(b, sizeof(b), path, key),
		str, list);
}

/* A host address: dotted quad, not 0/8, loopback, multicast or reserved. */
int
lb_config_parse_host(struct lb_config_ctx *x, const char *str, const char *label, int line,
	uint32_t *out)
{
	if (lb_ip4_parse(str, out) != 0)
		return fail(x, line, "%s = \"%s\" is not an IPv4 address (a.b.c.d)", label, str);
	if (!lb_config_unicast(*out))
		return fail(x, line, "%s = \"%s\" is not a unicast host address", label, str);
	return 0;
}

int
lb_config_get_host(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool required, uint32_t *out, int *line)
{
	const char *str = NULL;
	char b[96];
	int l = 0, rc;

	rc = lb_config_get_str(x, g, path, key, required, &str, &l);
	if (rc != 0 || str == NULL)
		return rc;
	rc = lb_config_parse_host(x, str, lb_config_label(b, sizeof(b), path, key), l, out);
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

int
lb_config_get_name(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool required, size_t max, char *out, int *line)
{
	const char *str = NULL;
	char b[96];
	int l = 0, rc;

	rc = lb_config_get_str(x, g, path, key, required, &str, &l);
	if (rc != 0 || str == NULL)
		return rc;
	if (!valid_name(str, max))
		return fail(x, l, "%s = \"%s\" is not a valid name (1 to %zu of A-Z a-z 0-9 _ . -)",
			lb_config_label(b, sizeof(b), path, key), str, max);
	snprintf(out, LB_NAME_MAX, "%s", str);
	if (line != NULL)
		*line = l;
	return 0;
}

/* The elements of a list or array; each must have type w. */
int
lb_config_get_seq(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key,
	bool required, enum lb_config_want w, const config_setting_t **out, int *line)
{
	const config_setting_t *s;
	char b[96], e[112];
	int i, n, rc;

	rc = lb_config_get(x, g, path, key, LB_CONFIG_W_SEQ, required, &s);
	*out = s;
	if (rc != 0 || s == NULL)
		return rc;
	if (line != NULL)
		*line = lb_config_line(s);
	n = config_setting_length(s);
	lb_config_label(b, sizeof(b), path, key);
	for (i = 0; i < n; i++) {
		const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);

		snprintf(e, sizeof(e), "%s[%d]", b, i);
		if (lb_config_want_type(x, el, e, w) != 0)
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
size_t
lb_config_device_id_len(const char *dev)
{
	return strcspn(dev, ",");
}

bool
lb_config_device_valid(const char *dev)
{
	size_t id = lb_config_device_id_len(dev), i;
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
