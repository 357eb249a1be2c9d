/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_CONFIG_PRIV_H
#define LB_CONFIG_PRIV_H

/* Shared by the loader's files only; not installed, not for other components. */
#include <libconfig.h>

#include "lb_config.h"

/* State of one load: the model being filled and where the first error goes. */
struct lb_config_ctx {
	const char *name;	/* file name used in messages */
	char *err;
	size_t errlen;
	struct lb_config *c;
};

/* Writes "NAME:LINE: message" into the error buffer; returns -EINVAL. */
int lb_config_fail(struct lb_config_ctx *x, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* libconfig tree -> model, checking keys, types, ranges and duplicates. */
int lb_config_parse(struct lb_config_ctx *x, const config_setting_t *root);
int lb_config_parse_frontends(struct lb_config_ctx *x, const config_setting_t *root);
int lb_config_parse_metrics(struct lb_config_ctx *x, const config_setting_t *root);

/* pools and kubernetes (lb_config_k8s.c); their checks across sections. */
int lb_config_parse_pools(struct lb_config_ctx *x, const config_setting_t *root);
int lb_config_parse_k8s(struct lb_config_ctx *x, const config_setting_t *root);
int lb_config_check_pools(struct lb_config_ctx *x);

/* health = { ... } (before the frontends, which inherit it) and a
 * frontend's own health group (lb_config_health.c). */
int lb_config_parse_health(struct lb_config_ctx *x, const config_setting_t *root);
int lb_config_parse_fe_health(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	struct lb_config_frontend *fe);

/* Checks across sections: roles, address clashes, reachability. */
int lb_config_check(struct lb_config_ctx *x);

/* Whether addr is a port address, a gateway or a static neighbour; what
 * names it for a message and *line is where it is set. */
bool lb_config_port_owned(const struct lb_config *c, uint32_t addr, char *what, size_t n,
	int *line);

/* Whether addr is the network or broadcast address of net (prefixes up to
 * /30; /31 and /32 have neither). */
bool lb_config_net_edge(const struct lb_cidr *net, uint32_t addr);

/* Whether addr can be a host: not 0/8, 127/8, multicast or 240/4. */
bool lb_config_unicast(uint32_t addr);

/* Whether addr is inside a port's subnet (net.addr keeps host bits, so
 * lb_cidr_match does not apply). */
static inline bool
lb_config_in_net(const struct lb_cidr *net, uint32_t addr)
{
	return ((addr ^ net->addr) & net->mask) == 0;
}

/*
 * Typed getters (lb_config_get.c). path names the group in messages
 * ("ports[1]", "" at the top level); g may be NULL for an absent group.
 * Each returns 0 or -EINVAL with the message written. An absent optional key
 * leaves *out (and *line) untouched; an absent required key is reported at
 * the group's line.
 */
enum lb_config_want {
	LB_CONFIG_W_INT,
	LB_CONFIG_W_STRING,
	LB_CONFIG_W_BOOL,
	LB_CONFIG_W_GROUP,
	LB_CONFIG_W_SEQ,		/* array or list */
};

int lb_config_line(const config_setting_t *s);	/* source line, >= 1 */
const char *lb_config_label(char *buf, size_t n, const char *path, const char *key);
/* Rejects members of g not in keys (NULL-terminated); where: "in target". */
int lb_config_check_keys(struct lb_config_ctx *x, const config_setting_t *g, const char *where,
	const char *const *keys);
int lb_config_want_type(struct lb_config_ctx *x, const config_setting_t *s, const char *label,
	enum lb_config_want w);
/* The setting for key with type w in *out, or NULL when absent. */
int lb_config_get(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, enum lb_config_want w, bool required, const config_setting_t **out);
int lb_config_int_range(struct lb_config_ctx *x, const config_setting_t *s, const char *label,
	long long lo, long long hi, uint32_t *out);
int lb_config_get_uint(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, long long lo, long long hi, bool required, uint32_t *out, int *line);
int lb_config_get_bool(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool *out, int *line);
/* *out points into libconfig's tree (valid during the load). */
int lb_config_get_str(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool required, const char **out, int *line);
/* One of names[] (NULL-terminated); *out is its index. */
int lb_config_get_enum(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, const char *const *names, bool required, int *out, int *line);
/* A unicast host address (not 0/8, loopback, multicast or 240/4). */
int lb_config_parse_host(struct lb_config_ctx *x, const char *str, const char *label, int line,
	uint32_t *out);
int lb_config_get_host(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool required, uint32_t *out, int *line);
/* A name of 1..max characters of [A-Za-z0-9_.-], copied into out[LB_NAME_MAX]. */
int lb_config_get_name(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool required, size_t max, char *out, int *line);
/* A list or array whose elements all have type w. */
int lb_config_get_seq(struct lb_config_ctx *x, const config_setting_t *g, const char *path,
	const char *key, bool required, enum lb_config_want w, const config_setting_t **out,
	int *line);
/* Length of a device string's identity: up to its first ','. */
size_t lb_config_device_id_len(const char *dev);

#endif /* LB_CONFIG_PRIV_H */
