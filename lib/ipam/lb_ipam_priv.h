/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_IPAM_PRIV_H
#define LB_IPAM_PRIV_H

/* Shared by lib/ipam's files only. */
#include "lb_ipam.h"

struct lb_ipam_pool_def {
	char name[LB_NAME_MAX];
	bool auto_assign;
	bool avoid_buggy;
	uint32_t n_ranges;
	struct lb_ip_range *ranges;
};

struct lb_ipam_holder {
	char *name;
	char *key;			/* sharing key, NULL = exclusive */
	uint32_t n_ports;
	struct lb_ipam_port *ports;
	uint32_t n;
	struct lb_ip addr[LB_IPAM_MAX_FAMILIES];
};

struct lb_ipam_entry {
	struct lb_ip ip;
	int pool;			/* -1 when no current pool contains it */
	uint32_t n;
	uint32_t cap;
	struct lb_ipam_holder **holders;	/* sorted by name */
};

struct lb_ipam {
	uint32_t n_pools;
	struct lb_ipam_pool_def *pools;
	uint32_t n_entries;
	uint32_t cap_entries;
	struct lb_ipam_entry *entries;
	uint32_t n_holders;
	uint32_t cap_holders;
	struct lb_ipam_holder **holders;	/* sorted by name */
};

/* Copies of the configuration's pools (lb_ipam_pools.c). */
struct lb_ipam_pool_def *lb_ipam_pools_copy(const struct lb_model_pool *src, uint32_t n);
void lb_ipam_pools_free(struct lb_ipam_pool_def *p, uint32_t n);
bool lb_ipam_in_range(const struct lb_ip_range *r, const struct lb_ip *ip);
/* Index of the pool containing ip, or -1. */
int lb_ipam_find_pool(const struct lb_ipam_pool_def *pools, uint32_t n, const struct lb_ip *ip);
/* The held address ip, or NULL (lb_ipam.c). */
struct lb_ipam_entry *lb_ipam_entry_find(const struct lb_ipam *ipam, const struct lb_ip *ip);

#endif /* LB_IPAM_PRIV_H */
