/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_K8S_MAP_H
#define LB_K8S_MAP_H

/*
 * The mapping (ARCHITECTURE.md §5): one Service, its EndpointSlices, the
 * eligible nodes and the VIPs IPAM gave it -> model frontends. Pure: no
 * store, no allocation state; the controller (lb_k8s_ctrl.h) calls it for
 * each Service that changed and keeps the frontends that came out equal.
 *
 * Annotations lbd reads on a Service (docs/kubernetes.md):
 *   lbd.io/addresses     requested VIPs, comma-separated, at most one per family
 *   lbd.io/pool          the pool to allocate from
 *   lbd.io/sharing-key   Services with the same key may share a VIP
 *   lbd.io/method        "fullnat" or "dnat": overrides the policy's method
 * and, for migration from MetalLB (metallb.io/ and metallb.universe.tf/):
 *   loadBalancerIPs, address-pool, allow-shared-ip
 * lbd's own annotation wins over MetalLB's, metallb.io/ over
 * metallb.universe.tf/, and every annotation over the deprecated
 * spec.loadBalancerIP.
 */
#include "lb_k8s.h"
#include "lb_ipam.h"
#include "lb_model.h"

#define LB_K8S_ANN_ADDRESSES	"lbd.io/addresses"
#define LB_K8S_ANN_POOL		"lbd.io/pool"
#define LB_K8S_ANN_SHARING	"lbd.io/sharing-key"
#define LB_K8S_ANN_METHOD	"lbd.io/method"
#define LB_K8S_ANN_METALLB_IPS	"metallb.io/loadBalancerIPs"
#define LB_K8S_ANN_METALLB_POOL	"metallb.io/address-pool"
#define LB_K8S_ANN_METALLB_SHARE	"metallb.io/allow-shared-ip"
#define LB_K8S_ANN_METALLB_OLD_IPS	"metallb.universe.tf/loadBalancerIPs"
#define LB_K8S_ANN_METALLB_OLD_POOL	"metallb.universe.tf/address-pool"
#define LB_K8S_ANN_METALLB_OLD_SHARE	"metallb.universe.tf/allow-shared-ip"

/* Event reasons the mapping raises (through lb_k8s_note_fn). */
#define LB_K8S_R_UNSUPPORTED_PROTOCOL	"UnsupportedProtocol"
#define LB_K8S_R_IPV6			"IPv6NotServed"
#define LB_K8S_R_BAD_ANNOTATION		"InvalidAnnotation"
#define LB_K8S_R_BAD_SOURCE_RANGE	"InvalidSourceRange"

typedef void (*lb_k8s_note_fn)(void *ctx, const char *reason, const char *msg);

struct lb_k8s_map_conf {
	uint32_t maglev_size;	/* of every frontend; 0 = lib/snap's default */
	bool serve_ipv6;	/* false until the data path forwards IPv6 */
};

/* Eligible nodes (Ready, not excluded, not going away), sorted by name.
 * When no candidate node is Ready at all (the node controller marks every
 * node Unknown when it stops hearing from kubelets, as in a control-plane
 * partition), readiness is ignored: fail static. */
struct lb_k8s_node_ref {
	const char *name;
	struct lb_ip addr[2];	/* InternalIP: [0] IPv4, [1] IPv6; family 0 when none */
};

struct lb_k8s_nodes {
	uint32_t n;
	struct lb_k8s_node_ref *v;
	bool ready_ignored;	/* no candidate was Ready: all of them are used */
};

/* From the store's nodes; names are copied. 0 or -ENOMEM (out empty). */
int lb_k8s_nodes_build(const struct lb_k8s_store *st, struct lb_k8s_nodes *out);
void lb_k8s_nodes_fini(struct lb_k8s_nodes *n);

/*
 * What IPAM is asked for, from the Service's spec, annotations and status:
 * served families (IPv6 ones skipped with a note unless serve_ipv6),
 * requested addresses, pool, sharing key, the status's addresses as the
 * restart hint, and the (protocol, port) pairs. ports must have room for
 * the Service's ports. Strings in req point into svc.
 * Returns 0; -EAFNOSUPPORT when no served family is left (message in err);
 * -EINVAL for an address annotation that does not parse (message in err).
 */
int lb_k8s_ipam_request(const struct lb_k8s_obj *svc, const struct lb_k8s_map_conf *conf,
	struct lb_ipam_req *req, struct lb_ipam_port *ports, lb_k8s_note_fn note, void *ctx,
	char *err, size_t errlen);

struct lb_k8s_map_in {
	const struct lb_k8s_obj *svc;
	const struct lb_k8s_obj *const *slices;	/* the Service's, any family */
	uint32_t n_slices;
	const struct lb_k8s_nodes *nodes;
	uint32_t n_vips;			/* one per served family */
	struct lb_ip vips[LB_IPAM_MAX_FAMILIES];
	const struct lb_k8s_map_conf *conf;
};

struct lb_k8s_map_out {
	uint32_t n_fes;
	struct lb_model_fe **fes;	/* sealed, one reference each; free with _fini */
	bool uses_nodes;		/* some frontend targets nodes (Cluster policy) */
};

/*
 * Frontends for every (served VIP, TCP or UDP port) of the Service: named
 * "NAMESPACE/NAME:PORT" (PORT = the port's name, or its number when
 * unnamed; "/ipv6" appended for an IPv6 VIP), origin
 * "k8s NAMESPACE/NAME port PORT".
 *   - Cluster policy with node ports: every eligible node's InternalIP of
 *     the VIP's family : nodePort, FullNAT.
 *   - Local policy, allocateLoadBalancerNodePorts false, or a port without
 *     a nodePort: the endpoints of the slices of the VIP's family whose
 *     port has the Service port's name and protocol, DNAT. Ready (or
 *     unset) endpoints take flows; when none is, serving terminating ones
 *     do; every other terminating endpoint is kept with LB_MT_TERMINATING;
 *     the rest is left out. An address listed twice keeps its best state.
 *   - lbd.io/method overrides the method; sessionAffinity ClientIP gives
 *     client_ip affinity with its timeout; loadBalancerSourceRanges (or
 *     the annotation when the field is empty) the source ranges.
 * SCTP and other protocols are skipped with a note, an unknown method
 * annotation is ignored with a note. Returns 0, -EINVAL when the source
 * ranges do not parse (note raised, no frontends: serving the Service
 * without its allow-list would open it), or -ENOMEM.
 */
int lb_k8s_map_service(const struct lb_k8s_map_in *in, struct lb_k8s_map_out *out,
	lb_k8s_note_fn note, void *ctx);
void lb_k8s_map_out_fini(struct lb_k8s_map_out *out);

#endif /* LB_K8S_MAP_H */
