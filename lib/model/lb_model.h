/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_MODEL_H
#define LB_MODEL_H

/*
 * The model: what lbd should serve, independent of where it came from.
 *
 *   config file ──► model ─┐
 *                          ├─ merge ──► merged model + overlay ──► snapshot
 *   Kubernetes  ──► model ─┘
 *
 * A frontend (struct lb_model_fe) is (VIP, protocol, port) with its targets,
 * a stable name and id, and its origin ("config FILE:LINE" or
 * "k8s NAMESPACE/NAME port PORT"). Frontends are immutable once built and
 * reference counted, so a source that rebuilds its model after one change
 * shares every unchanged frontend with the previous model, and the snapshot
 * compiler recognises them (lib/snap reuses their Maglev tables).
 *
 * The overlay (struct lb_overlay) holds per-target flags that belong to
 * neither source: drained (lbctl) and unhealthy (health checks), with a
 * reason. Sources never see it; the snapshot compiler applies it.
 *
 * Addresses are family-aware (struct lb_ip): the Kubernetes decoder keeps
 * IPv6 addresses; the snapshot compiler serves IPv4 and rejects IPv6 with a
 * message until the data path supports it.
 *
 * Threads: a frontend may be built on one thread and handed to another; its
 * reference count is atomic. A model and an overlay belong to one thread at
 * a time (the control thread, or a builder it hands them to).
 */
#include <stdatomic.h>

#include "lb_common.h"
#include "lb_addr.h"

/* "NAMESPACE/NAME:PORT" for Kubernetes (63 + 1 + 253 + 1 + 15), a config name
 * otherwise (A-Z a-z 0-9 _ . -, no '/', so the two never collide). */
#define LB_MODEL_NAME_MAX	384
#define LB_MODEL_ORIGIN_MAX	512
#define LB_MODEL_REASON_MAX	128

enum lb_method {
	LB_METHOD_FULLNAT = 0,
	LB_METHOD_DNAT = 1,
};

enum lb_affinity {
	LB_AFFINITY_NONE = 0,
	LB_AFFINITY_CLIENT_IP = 1,
};

enum lb_origin_kind {
	LB_ORIGIN_CONFIG = 1,
	LB_ORIGIN_K8S = 2,
};

/* Target flags set by a source. */
#define LB_MT_TERMINATING	0x01	/* k8s: endpoint terminating; keeps its flows, no new ones */

struct lb_model_target {
	struct lb_ip addr;
	uint16_t port;		/* network order */
	uint32_t weight;	/* 0..65535; 0 takes no new flows */
	uint8_t flags;		/* LB_MT_* */
	int line;		/* config: source line; 0 otherwise */
	const char *node;	/* k8s: node name (Cluster: the node; Local: the endpoint's
				 * nodeName), NULL when unknown; lives in the frontend */
};

struct lb_model_fe {
	_Atomic uint32_t refcnt;
	uint64_t id;		/* lb_model_fe_id(name) */
	char name[LB_MODEL_NAME_MAX];
	uint8_t origin_kind;	/* enum lb_origin_kind */
	char origin[LB_MODEL_ORIGIN_MAX];	/* "config FILE:LINE", "k8s NS/NAME port P" */
	/* Structured origin (strings live in the frontend, NULL when absent). */
	const char *file;	/* config */
	int line;		/* config */
	const char *k8s_ns;	/* k8s */
	const char *k8s_name;
	const char *k8s_uid;
	const char *k8s_port;	/* the port's name, or its number when unnamed */

	struct lb_ip vip;
	uint8_t proto;		/* LB_PROTO_TCP or LB_PROTO_UDP */
	uint16_t port;		/* network order */
	uint8_t method;		/* enum lb_method */
	uint8_t affinity;	/* enum lb_affinity */
	uint32_t affinity_timeout;	/* seconds */
	uint32_t maglev_size;	/* 0 = default */
	uint32_t n_src_ranges;	/* 0 = allow all */
	struct lb_prefix *src_ranges;
	uint32_t n_targets;
	struct lb_model_target *targets;

	/* Trailing storage for the arrays and strings above. */
	size_t str_cap;
	size_t str_used;
	char *str;
};

/* Stable 64-bit id of a frontend name (lb_hash64 with a fixed seed). */
uint64_t lb_model_fe_id(const char *name);

/*
 * A new frontend with room for n_targets targets, n_ranges source ranges and
 * str_bytes of strings (lb_model_fe_strdup); refcount 1, everything else
 * zeroed. The caller fills it, then calls lb_model_fe_seal. NULL on ENOMEM.
 */
struct lb_model_fe *lb_model_fe_new(uint32_t n_targets, uint32_t n_ranges, size_t str_bytes);

/* Copies s into fe's string storage; NULL when it does not fit (or s NULL). */
const char *lb_model_fe_strdup(struct lb_model_fe *fe, const char *s);

/*
 * Finishes a frontend: sets id from name and sorts targets by (address,
 * port) so that equal frontends compare equal whatever order their source
 * listed the targets in. Returns 0, or -EINVAL with a message when name is
 * empty, a target or the VIP has no family, or two targets share an address
 * and port.
 */
int lb_model_fe_seal(struct lb_model_fe *fe, char *err, size_t errlen);

struct lb_model_fe *lb_model_fe_get(struct lb_model_fe *fe);
void lb_model_fe_put(struct lb_model_fe *fe);	/* NULL is a no-op */

/*
 * Whether two sealed frontends describe the same service (everything but
 * refcount, id storage and origin line numbers). A source may use it to keep
 * its previous object, and lib/snap to reuse a table.
 */
bool lb_model_fe_equal(const struct lb_model_fe *a, const struct lb_model_fe *b);

/* "tcp" "udp"; "fullnat" "dnat"; "none" "client_ip". */
const char *lb_proto_str(uint8_t proto);
const char *lb_method_str(enum lb_method m);
const char *lb_affinity_str(enum lb_affinity a);

/* --- a model: a set of frontends --- */

struct lb_model {
	uint32_t n_fes;
	uint32_t cap;
	struct lb_model_fe **fes;	/* one reference each */
};

struct lb_model *lb_model_new(void);
void lb_model_free(struct lb_model *m);	/* drops its references; NULL is a no-op */
/* Appends fe, taking a new reference. 0 or -ENOMEM. */
int lb_model_add(struct lb_model *m, struct lb_model_fe *fe);
/* The frontend named name, or NULL (linear; lbctl-rate use). */
const struct lb_model_fe *lb_model_find(const struct lb_model *m, const char *name);

/*
 * Merges sources in priority order (src[0] first: the config file, then
 * Kubernetes). A frontend conflicts with one already kept when it has the
 * same name or serves the same (VIP, protocol, port); the earlier one is
 * kept, and conflict() is called with both and a message naming both
 * origins. Returns the merged model (new references), NULL on ENOMEM.
 * Cost: O(total frontends) expected.
 */
typedef void (*lb_model_conflict_fn)(void *ctx, const struct lb_model_fe *kept,
	const struct lb_model_fe *dropped, const char *msg);
struct lb_model *lb_model_merge(const struct lb_model *const *src, uint32_t n_src,
	lb_model_conflict_fn conflict, void *ctx);

/* --- address pools (config; used by IPAM) --- */

struct lb_ip_range {
	struct lb_ip first;	/* same family, first <= last */
	struct lb_ip last;
};

struct lb_model_pool {
	char name[LB_NAME_MAX];
	bool auto_assign;	/* Services without a request may get addresses from it */
	bool avoid_buggy_ips;	/* skip .0 and .255 addresses (MetalLB's option) */
	uint32_t n_ranges;
	struct lb_ip_range *ranges;	/* CIDRs are stored as ranges */
	int line;
};

/* --- the overlay: drained and unhealthy targets --- */

#define LB_OV_DRAINED	0x01
#define LB_OV_UNHEALTHY	0x02

struct lb_overlay;

struct lb_overlay *lb_overlay_new(void);
/* A deep copy, for all-or-nothing operations: change the copy, publish, and
 * keep it only if publishing worked. NULL on ENOMEM. */
struct lb_overlay *lb_overlay_clone(const struct lb_overlay *ov);
void lb_overlay_free(struct lb_overlay *ov);

/*
 * Drains. A target is drained in frontend F when F has an entry of its own
 * for it (drained or explicitly undrained), else when there is an
 * all-frontends drain for it:
 *   drain T          all-frontends drain; per-frontend entries for T removed
 *   undrain T        every entry for T removed (undrained everywhere)
 *   drain T F        F's entry = drained
 *   undrain T F      with an all-frontends drain: F's entry = undrained (an
 *                    exception); otherwise F's entry removed
 * fe NULL or "" means all frontends. Returns 0 when the state changed, 1 when
 * it already was so (nothing changed), -ENOMEM.
 */
int lb_overlay_drain(struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port, bool drain);
bool lb_overlay_drained(const struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port);

/*
 * Health, from the health checker: marks (fe or all, addr, port or 0 = every
 * port of addr) unhealthy with a reason, or healthy again (removes the mark).
 * Returns 0 when the state changed, 1 when not, -ENOMEM.
 */
int lb_overlay_set_unhealthy(struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port, bool unhealthy, const char *reason);

/*
 * The overlay's flags for target addr:port of frontend fe (LB_OV_*), with
 * the first unhealthy reason copied to reason when non-NULL. O(log n).
 */
uint32_t lb_overlay_flags(const struct lb_overlay *ov, const char *fe, const struct lb_ip *addr,
	uint16_t port, char *reason, size_t reason_len);

/* Changes since creation (a counter the control thread compares). */
uint64_t lb_overlay_version(const struct lb_overlay *ov);

/* Visits every entry (lbctl). fe is "" for all-frontends entries. */
struct lb_overlay_entry_info {
	const char *fe;
	struct lb_ip addr;
	uint16_t port;
	uint32_t flags;		/* LB_OV_*; drained-exception entries have flags 0 */
	bool undrain_exception;
	const char *reason;
};
void lb_overlay_foreach(const struct lb_overlay *ov,
	void (*fn)(void *ctx, const struct lb_overlay_entry_info *e), void *ctx);

#endif /* LB_MODEL_H */
