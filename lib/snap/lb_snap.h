/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_SNAP_H
#define LB_SNAP_H

/*
 * The snapshot: everything the workers read, compiled by the control side
 * from the settings (ports, SNAT, timeouts), the merged model (lib/model) and
 * the overlay (drained and unhealthy targets) into one immutable block,
 * published with one atomic pointer swap and freed after every worker has
 * passed a quiescent state.
 *
 * Maglev tables are separate reference-counted objects (struct
 * lb_snap_table). A build given the previous snapshot reuses the table of
 * every frontend whose table size and (target identity, effective weight)
 * list did not change, so publishing a change costs table work only for the
 * frontends it touches. A table is freed with the last snapshot using it.
 *
 * Targets of a frontend are stored sorted by Maglev identity, so two instances
 * given the same targets in any order build byte-identical Maglev tables
 * (ARCHITECTURE.md invariant 2).
 *
 * Written by: lb_snap_build (control thread or its builder). Read by:
 * workers, lbctl handlers. Nothing in it changes after build; reference
 * counts change only in lb_snap_build and lb_snap_free.
 */
#include "lb_common.h"
#include "lb_addr.h"
#include "lb_config.h"
#include "lb_flow.h"
#include "lb_model.h"
#include "lb_owner.h"
#include "lb_snat.h"

#define LB_SNAP_NO_PORT	0xff
/* MTU a port gets when the environment does not say (DPDK's default). */
#define LB_SNAP_DEFAULT_MTU	1500

struct lb_snap_port {
	uint16_t dev;		/* DPDK port id (from lb_snap_env) */
	uint8_t role;		/* enum lb_role bits */
	uint8_t rss_owner;	/* the NIC's RSS hash of this port's client frames and
				 * DNAT replies is lib/owner's (from lb_snap_env) */
	uint16_t vlan;		/* 0 = untagged */
	uint32_t addr;		/* own address */
	uint32_t mask;		/* subnet mask */
	uint32_t gateway;	/* 0 = none */
	uint16_t mtu;		/* largest IPv4 datagram lbd sends on it */
	uint8_t mac[LB_ETHER_ADDR_LEN];
	uint8_t kernel;		/* the port has a kernel interface (exception path) */
	uint32_t kernel_rate;	/* frames/s per worker to it from non-target sources */
	char name[LB_NAME_MAX];
};

/* Why a target takes no new flows (it keeps the flows it has). */
#define LB_SNAP_T_DRAINED	0x01	/* lbctl drain */
#define LB_SNAP_T_TERMINATING	0x02	/* Kubernetes: endpoint terminating */
#define LB_SNAP_T_UNHEALTHY	0x04	/* health checks (ignored while the frontend fails open) */
#define LB_SNAP_T_NO_NEW	(LB_SNAP_T_DRAINED | LB_SNAP_T_TERMINATING | LB_SNAP_T_UNHEALTHY)

struct lb_snap_target {
	uint32_t addr;
	uint16_t port;		/* network order */
	uint8_t flags;		/* LB_SNAP_T_* */
	uint8_t out_port;	/* port index it is reached through */
	uint32_t nexthop;	/* addr itself when on-link, else the port's gateway */
	uint32_t weight;	/* weight from the model (flags do not change it) */
	uint64_t id;		/* lb_maglev_target_id */
	uint32_t ctr;		/* counter slot (set by the control thread before it
				 * publishes; LB_SNAP_NO_CTR: not counted) */
};

/* A Maglev table shared by the snapshots whose frontend has the same size
 * and the same (identity, effective weight) list. */
struct lb_snap_table;

/* No counter slot: the snapshot compiler leaves every ctr so; the caller
 * that publishes the snapshot assigns slots (app/lbd/counters.c). */
#define LB_SNAP_NO_CTR		UINT32_MAX

#define LB_SNAP_FE_FAIL_OPEN	0x01	/* every target unhealthy: all take flows */

struct lb_snap_fe {
	/* Read per packet. */
	uint32_t vip;
	uint16_t port;		/* network order */
	uint8_t proto;
	uint8_t method;		/* enum lb_method */
	uint8_t affinity;	/* enum lb_affinity */
	uint8_t flags;		/* LB_SNAP_FE_* */
	uint32_t affinity_timeout_ms;
	uint32_t ctr;		/* counter slot, as lb_snap_target.ctr */
	uint32_t n_src_ranges;	/* 0 = allow all */
	const struct lb_cidr *src_ranges;
	uint32_t n_targets;
	const struct lb_snap_target *targets;	/* sorted by id */
	uint32_t n_active;	/* targets holding Maglev slots */
	uint32_t maglev_size;
	const uint32_t *maglev;	/* maglev_size indices into targets, or NULL if n_active == 0 */
	/* Control side only. */
	uint64_t id;		/* lb_model_fe_id(name): stable across snapshots */
	const char *name;	/* the model frontend's */
	const struct lb_model_fe *model;	/* held by the snapshot: origin, k8s fields */
	struct lb_snap_table *table;
	uint32_t n_rejected;	/* targets of the model left out */
};

/* What an address owned by lbd is. */
enum lb_local_kind {
	LB_LOCAL_VIP = 1,
	LB_LOCAL_PORT = 2,	/* a port's own address */
	LB_LOCAL_SNAT = 3,
};

struct lb_snap_local {
	uint32_t addr;		/* 0 = empty slot */
	uint8_t kind;		/* enum lb_local_kind */
	uint8_t port;		/* port index that answers ARP for it */
	uint16_t acl;		/* VIP: 0 = every source may ping it, else 1 + index into
				 * vip_acls (sources some frontend of the VIP allows) */
};

/* The sources a VIP answers ICMP echo for: the union of its frontends'
 * source ranges, vip_ranges[first .. first + n). */
struct lb_snap_vip_acl {
	uint32_t first;
	uint32_t n;
};

struct lb_snap {
	uint64_t generation;	/* set by the caller after build */
	uint32_t n_workers;
	struct lb_owner owner;	/* which worker owns a frame (lb_owner_init with the
				 * env's workers and RSS table size) */
	/* What it was built from, so the next build can copy frontends whose
	 * model object, settings and overlay did not change. */
	const void *settings;
	uint64_t overlay_version;
	bool overlay;

	uint32_t n_ports;
	struct lb_snap_port ports[LB_MAX_PORTS];
	uint8_t ext_port;	/* port index of the external role */
	uint8_t int_port;	/* port index of the internal role */
	uint8_t dev_to_port[256];	/* DPDK port id -> port index, LB_SNAP_NO_PORT if none */

	uint32_t timeout_ms[LB_FLOW_NCLASS];	/* LB_FLOW_OTHER unused */
	uint32_t new_flow_rate;	/* flood governor: new flows/s per worker; 0 = off */
	uint32_t snat_time_wait_ms;	/* FullNAT endpoint kept from its target after a close */

	struct lb_snat_layout snat;
	uint32_t n_snat;
	uint32_t snat_addrs[LB_MAX_SNAT_ADDRS];

	uint32_t n_fes;
	const struct lb_snap_fe *fes;

	/* Open-addressing index over (vip, proto, port) -> fe index + 1 (0 empty). */
	uint32_t fe_mask;
	const uint32_t *fe_index;

	/* Open-addressing set of lbd's own addresses. */
	uint32_t local_mask;
	const struct lb_snap_local *locals;

	/* Open-addressing set of every frontend's target addresses (0 = empty
	 * slot): a frame from outside claiming one of them is spoofed. */
	uint32_t target_mask;
	const uint32_t *target_set;

	/* Open-addressing index of the targets of DNAT frontends: (address,
	 * port, protocol) -> the frontend. A target's reply that finds no flow
	 * (it was forwarded statelessly, or its flow expired) leaves from the
	 * frontend's VIP:port when exactly one DNAT frontend has that target. */
	uint32_t dnat_rev_mask;
	const struct lb_snap_dnat_rev *dnat_rev;

	/* A bitmap over a multiplicative hash of an address, with the bit of
	 * every local and target address set: a source whose bit is clear is
	 * neither (the common case, one load); a set bit sends it to the exact
	 * sets above. */
	uint32_t src_filter_shift;	/* 32 - log2(bits) */
	const uint64_t *src_filter;

	/* Echo allow-lists of VIPs whose every frontend has source ranges. */
	uint32_t n_vip_acls;
	const struct lb_snap_vip_acl *vip_acls;
	const struct lb_cidr *vip_ranges;
	bool any_src_ranges;	/* some frontend has source ranges */
};

/* A target of DNAT frontends, for replies that find no flow. */
struct lb_snap_dnat_rev {
	uint32_t addr;		/* 0 = empty slot */
	uint16_t port;		/* network order */
	uint8_t proto;
	uint8_t pad;
	uint32_t fe;		/* index into fes + 1, or LB_SNAP_DNAT_AMBIGUOUS */
	uint32_t target;	/* index into that frontend's targets */
};

#define LB_SNAP_DNAT_AMBIGUOUS	UINT32_MAX	/* the target serves two DNAT frontends */

/* Run-time facts the compiler cannot find in the config. */
struct lb_snap_env {
	uint16_t dev[LB_MAX_PORTS];	/* DPDK port id of config port i */
	uint8_t mac[LB_MAX_PORTS][LB_ETHER_ADDR_LEN];
	uint16_t mtu[LB_MAX_PORTS];	/* 0: LB_SNAP_DEFAULT_MTU */
	uint32_t n_workers;
	uint32_t reta_size;		/* RSS redirection entries lbd programmed; 0: default */
	uint8_t rss_owner[LB_MAX_PORTS];	/* port i's NIC hashes as lib/owner does */
};

/* What to compile. */
struct lb_snap_input {
	const struct lb_config *settings;	/* ports, SNAT, timeouts (frontends unused) */
	const struct lb_snap_env *env;
	const struct lb_model *model;		/* the merged model */
	const struct lb_overlay *overlay;	/* NULL: nothing drained or unhealthy */
	const struct lb_snap *prev;		/* tables to reuse; NULL: build all */
};

struct lb_snap_build_stats {
	uint32_t tables_built;
	uint32_t tables_reused;
	uint32_t fes_copied;	/* taken whole from the previous snapshot */
	uint32_t rejected;	/* frontends left out (reject() was told why) */
	uint32_t targets_rejected;	/* targets left out of kept frontends */
	uint64_t table_ns;	/* time spent building tables */
	uint64_t total_ns;
};

/* A frontend (target NULL) or one of its targets left out of the snapshot,
 * and why ("frontend web: target 10.9.0.1:80 is off the internal subnet and
 * port int has no gateway"). */
typedef void (*lb_snap_reject_fn)(void *ctx, const struct lb_model_fe *fe,
	const struct lb_model_target *target, const char *msg);

/*
 * Compiles a snapshot. Returns NULL with a message in err only on
 * allocation failure or settings the config validator should have caught
 * (no ports, two ports on one device, a SNAT range the workers cannot
 * share). A frontend that cannot be served (IPv6 VIP, a VIP that is one of
 * lbd's own port or SNAT addresses, a table size that is not a prime in
 * range, more active targets than slots) is left out and reported through
 * reject; so is a target that cannot be reached (IPv6, off the internal
 * subnet without a gateway) or whose identity collides with another's.
 * st (optional) says what was built, reused and rejected.
 *
 * - fes[] keep the model's order; each frontend's targets are sorted by id.
 * - A frontend whose model object is the one the previous snapshot used,
 *   built with the same settings object and overlay version, is copied
 *   from it (targets, ranges, table reference) instead of recomputed, so a
 *   build costs little for what did not change.
 * - Effective weight: 0 when the target is drained, terminating or
 *   unhealthy, else its weight; when no target would hold a slot only
 *   because of health, unhealthy targets count as healthy and the frontend
 *   is marked LB_SNAP_FE_FAIL_OPEN (better to try them than to drop all).
 * - maglev_size 0 means LB_MAGLEV_DEFAULT_SIZE.
 * - Timeouts are clamped below 2^31 ms (the flow table's clock limit).
 * - locals: each port's own address, SNAT addresses (int_port), VIPs
 *   (ext_port). A VIP all of whose frontends have source ranges gets an echo
 *   allow-list (their union).
 * - target_set: the address of every target of every frontend kept.
 * - generation is 0: the caller numbers the snapshots it publishes.
 */
struct lb_snap *lb_snap_build(const struct lb_snap_input *in, lb_snap_reject_fn reject,
	void *ctx, struct lb_snap_build_stats *st, char *err, size_t errlen);

/*
 * What lb_snap_build would leave out, without building anything: runs the
 * same checks on every frontend and target of in->model and reports each
 * problem through reject (in->prev and in->overlay are not used). Returns
 * the number of frontends and targets it would reject. Cheap: no tables.
 */
uint32_t lb_snap_check(const struct lb_snap_input *in, lb_snap_reject_fn reject, void *ctx);

/*
 * Convenience for tests and tools: the config's own frontends (lb_config_model)
 * with an overlay (NULL = none), no previous snapshot; any rejected frontend
 * or target is an error. NULL with err set.
 */
struct lb_snap *lb_snap_build_config(const struct lb_config *cfg, const struct lb_snap_env *env,
	const struct lb_overlay *ov, char *err, size_t errlen);

/* Drops the snapshot's references (tables, model frontends) and frees it. */
void lb_snap_free(struct lb_snap *s);

static inline uint32_t
lb_snap_fe_hash(uint32_t vip, uint8_t proto, uint16_t port)
{
	uint32_t h = vip ^ ((uint32_t)port << 16 | proto);

	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	return h ^ (h >> 16);
}

/* Frontend for (vip, proto, port), or NULL. */
static inline const struct lb_snap_fe *
lb_snap_fe_lookup(const struct lb_snap *s, uint32_t vip, uint8_t proto, uint16_t port)
{
	uint32_t i = lb_snap_fe_hash(vip, proto, port) & s->fe_mask;

	for (;;) {
		uint32_t v = s->fe_index[i];
		const struct lb_snap_fe *fe;

		if (v == 0)
			return NULL;
		fe = &s->fes[v - 1];
		if (fe->vip == vip && fe->port == port && fe->proto == proto)
			return fe;
		i = (i + 1) & s->fe_mask;
	}
}

/* lbd's own address entry, or NULL. */
static inline const struct lb_snap_local *
lb_snap_local_lookup(const struct lb_snap *s, uint32_t addr)
{
	uint32_t i = lb_snap_fe_hash(addr, 0, 0) & s->local_mask;

	for (;;) {
		const struct lb_snap_local *l = &s->locals[i];

		if (l->addr == 0)
			return NULL;
		if (l->addr == addr)
			return l;
		i = (i + 1) & s->local_mask;
	}
}

/* The DNAT frontend whose target (addr, port, proto) is, and that target,
 * or NULL when none or more than one frontend has it. */
static inline const struct lb_snap_fe *
lb_snap_dnat_rev_lookup(const struct lb_snap *s, uint32_t addr, uint16_t port, uint8_t proto,
	const struct lb_snap_target **t)
{
	uint32_t i = lb_snap_fe_hash(addr, proto, port) & s->dnat_rev_mask;

	if (s->dnat_rev == NULL)
		return NULL;
	for (;;) {
		const struct lb_snap_dnat_rev *x = &s->dnat_rev[i];

		if (x->fe == 0)
			return NULL;
		if (x->addr == addr && x->port == port && x->proto == proto) {
			if (x->fe == LB_SNAP_DNAT_AMBIGUOUS)
				return NULL;
			*t = &s->fes[x->fe - 1].targets[x->target];
			return &s->fes[x->fe - 1];
		}
		i = (i + 1) & s->dnat_rev_mask;
	}
}

/* Bit of addr in the source filter. */
static inline uint32_t
lb_snap_src_filter_bit(uint32_t shift, uint32_t addr)
{
	return (addr * 0x9e3779b1U) >> shift;
}

/* False when addr is certainly neither one of lbd's own addresses nor a
 * target's; true when it may be either (then ask the exact sets). */
static inline bool
lb_snap_src_maybe_special(const struct lb_snap *s, uint32_t addr)
{
	uint32_t b = lb_snap_src_filter_bit(s->src_filter_shift, addr);

	return (s->src_filter[b >> 6] >> (b & 63)) & 1;
}

/* Whether addr is the address of some frontend's target. */
static inline bool
lb_snap_is_target(const struct lb_snap *s, uint32_t addr)
{
	uint32_t i = lb_snap_fe_hash(addr, 0, 1) & s->target_mask;

	for (;;) {
		uint32_t a = s->target_set[i];

		if (a == 0)
			return false;
		if (a == addr)
			return true;
		i = (i + 1) & s->target_mask;
	}
}

/* Index of the frontend's target with this address and port, or -1. Binary
 * search on the target's identity (lb_maglev_target_id), so it hashes once. */
int lb_snap_target_find(const struct lb_snap_fe *fe, uint32_t addr, uint16_t port);

/* Whether addr is allowed by fe's source ranges. */
static inline bool
lb_snap_fe_allows(const struct lb_snap_fe *fe, uint32_t addr)
{
	uint32_t i;

	if (fe->n_src_ranges == 0)
		return true;
	for (i = 0; i < fe->n_src_ranges; i++)
		if (lb_cidr_match(&fe->src_ranges[i], addr))
			return true;
	return false;
}

/* Whether lbd answers ICMP echo from addr to the VIP whose local entry is l:
 * when some frontend of the VIP would take a connection from addr. */
static inline bool
lb_snap_vip_echo_allows(const struct lb_snap *s, const struct lb_snap_local *l, uint32_t addr)
{
	const struct lb_snap_vip_acl *a;
	uint32_t i;

	if (l->acl == 0)
		return true;
	a = &s->vip_acls[l->acl - 1];
	for (i = 0; i < a->n; i++)
		if (lb_cidr_match(&s->vip_ranges[a->first + i], addr))
			return true;
	return false;
}

#endif /* LB_SNAP_H */
