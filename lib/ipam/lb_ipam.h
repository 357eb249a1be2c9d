/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_IPAM_H
#define LB_IPAM_H

/*
 * Address management for Kubernetes Services: which VIP each Service gets
 * from the configured pools (struct lb_model_pool, from lib/config).
 *
 * An owner (a Service, "NAMESPACE/NAME") holds at most one address per
 * family. lb_ipam_assign either keeps what the owner holds, when that still
 * satisfies the request, or allocates again; allocation is deterministic
 * (the lowest free address of the first fitting pool, pools in config
 * order), so two lbd instances given the same Services in the same order
 * agree.
 *
 * An address is acceptable for a request when it lies in a pool and
 *   - the request names that pool, or names no pool and the address was
 *     asked for explicitly (want), or the pool has auto_assign;
 *   - it is the requested address, when the request asks for one of that
 *     family;
 *   - it is not x.x.x.0 or x.x.x.255 in a pool with avoid_buggy_ips;
 *   - its other holders, if any, share the request's sharing key (non-NULL)
 *     and none of them serves one of the request's (protocol, port) pairs.
 *
 * Order of preference per family: the requested address; the address the
 * owner holds; the address its status held before a restart (prev, a hint);
 * an address already shared under the same key; the lowest free address.
 *
 * Single-threaded (the control thread). Nothing here prints.
 */
#include "lb_common.h"
#include "lb_addr.h"
#include "lb_model.h"

#define LB_IPAM_MAX_FAMILIES	2

struct lb_ipam;

/* A (protocol, port) the owner serves on its address: two holders of one
 * shared address may not serve the same pair. port is host order. */
struct lb_ipam_port {
	uint8_t proto;
	uint16_t port;
};

struct lb_ipam_req {
	const char *pool;		/* NULL: any pool with auto_assign */
	const char *sharing_key;	/* NULL or "": the address is the owner's alone */
	uint32_t n_families;		/* 1 or 2 */
	uint8_t families[LB_IPAM_MAX_FAMILIES];	/* LB_AF_INET / LB_AF_INET6, distinct */
	uint32_t n_want;		/* requested addresses, at most one per family */
	struct lb_ip want[LB_IPAM_MAX_FAMILIES];
	uint32_t n_prev;		/* addresses the owner's status holds (restart) */
	struct lb_ip prev[LB_IPAM_MAX_FAMILIES];
	uint32_t n_ports;
	const struct lb_ipam_port *ports;
};

/* What an owner holds: addr[i] is of family req.families[i]. */
struct lb_ipam_result {
	uint32_t n;
	struct lb_ip addr[LB_IPAM_MAX_FAMILIES];
	uint32_t pool[LB_IPAM_MAX_FAMILIES];	/* index into the pools */
	bool shared[LB_IPAM_MAX_FAMILIES];	/* another owner holds it too */
};

/*
 * A new allocator over pools[0..n) (copied; the caller keeps its array).
 * Pools must not overlap (lib/config checks it). NULL on ENOMEM.
 */
struct lb_ipam *lb_ipam_new(const struct lb_model_pool *pools, uint32_t n_pools);
void lb_ipam_free(struct lb_ipam *ipam);	/* NULL is a no-op */

/*
 * Gives owner addresses for req, keeping what it holds where acceptable.
 * Returns 0 with the addresses in *out, or an error with a message in err
 * (and the owner then holds nothing: a request it no longer fits releases
 * its old addresses, as an explicit change of the Service should):
 *   -EINVAL      the request itself is wrong (no family, a family twice, a
 *                requested address of a family the Service does not have,
 *                two requested addresses of one family)
 *   -ENOENT      the named pool does not exist, or has no range of a family
 *   -EADDRNOTAVAIL  a requested address is in no pool (or not in the named
 *                one), or is an address avoid_buggy_ips excludes
 *   -EADDRINUSE  a requested address is held by another owner and cannot be
 *                shared (names it)
 *   -ENOSPC      no free address is left in the pools that fit
 *   -ENOMEM
 */
int lb_ipam_assign(struct lb_ipam *ipam, const char *owner, const struct lb_ipam_req *req,
	struct lb_ipam_result *out, char *err, size_t errlen);

/* Releases every address owner holds. 0, or -ENOENT when it held none. */
int lb_ipam_release(struct lb_ipam *ipam, const char *owner);

/* What owner holds (n = 0 when nothing). */
void lb_ipam_lookup(const struct lb_ipam *ipam, const char *owner, struct lb_ipam_result *out);

/*
 * Who holds ip: the first owner (in name order) or NULL; *n_holders (may be
 * NULL) is how many hold it. The string lives until that owner releases.
 */
const char *lb_ipam_holder(const struct lb_ipam *ipam, const struct lb_ip *ip,
	uint32_t *n_holders);

/* Index of the pool containing ip, or -1. */
int lb_ipam_pool_of(const struct lb_ipam *ipam, const struct lb_ip *ip);

/*
 * Whether the allocator could switch to new pools: -EBUSY with "address A
 * (held by OWNER) is in no pool of the new configuration" for the first
 * held address the new pools do not contain, else 0. The glue calls it
 * before accepting a reload.
 */
int lb_ipam_check_pools(const struct lb_ipam *ipam, const struct lb_model_pool *pools,
	uint32_t n_pools, char *err, size_t errlen);

/*
 * Switches to new pools, keeping every holding (pool indexes are looked up
 * again; an address outside every new pool stays held until its owner is
 * assigned again, which then moves it). 0 or -ENOMEM (unchanged).
 */
int lb_ipam_set_pools(struct lb_ipam *ipam, const struct lb_model_pool *pools, uint32_t n_pools);

struct lb_ipam_pool_stats {
	const char *name;
	uint64_t size;		/* addresses (saturated at UINT64_MAX), buggy ones included */
	uint64_t used;		/* distinct addresses held */
	bool auto_assign;
};
/* Stats of pool i; -ENOENT when i is out of range. */
int lb_ipam_pool_stats(const struct lb_ipam *ipam, uint32_t i, struct lb_ipam_pool_stats *st);
uint32_t lb_ipam_n_pools(const struct lb_ipam *ipam);

/* Visits every held address in address order with its holders (lbctl). */
void lb_ipam_foreach(const struct lb_ipam *ipam,
	void (*fn)(void *ctx, const struct lb_ip *ip, const char *pool, const char *sharing_key,
		const char *const *owners, uint32_t n_owners),
	void *ctx);

#endif /* LB_IPAM_H */
