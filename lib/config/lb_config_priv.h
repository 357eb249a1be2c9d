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

/* Checks across sections: roles, address clashes, reachability. */
int lb_config_check(struct lb_config_ctx *x);

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

#endif /* LB_CONFIG_PRIV_H */
