/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_K8S_H
#define LB_K8S_H

/*
 * Kubernetes objects as lbd needs them: decoders from json-c objects (what
 * the API server sends, `kubectl get -o json` shape) into plain C structs,
 * and an object store that applies watch events and relists.
 *
 *   lib/kapi (list+watch) ──(kind, event, json)──► lb_k8s_decode ──► store
 *                                                                     │
 *                        lb_k8s_ctrl (lb_k8s_ctrl.h) ◄── changes ─────┘
 *
 * Decoders are pure functions: no network, no global state, never abort.
 * They are strict about types (a port that is a string, a label that is a
 * number, an address that does not parse: an error naming the field), ignore
 * unknown fields, and default optional fields as the API server does
 * (protocol TCP, externalTrafficPolicy Cluster, allocateLoadBalancerNodePorts
 * true, sessionAffinity None with 10800 s, ipFamilies [IPv4], an endpoint's
 * ready condition unset = ready). Only what the mapping needs is kept:
 * annotations under lbd.io/, metallb.io/, metallb.universe.tf/ and
 * service.beta.kubernetes.io/load-balancer-source-ranges; the
 * kubernetes.io/service-name label of slices; the
 * node.kubernetes.io/exclude-from-external-load-balancers label of nodes.
 *
 * A decoded object (struct lb_k8s_obj) is one allocation owner: every string
 * and array it points to lives until lb_k8s_obj_free. It may be decoded on
 * one thread and handed to another (lb_k8s_store_put).
 */
#include "lb_common.h"
#include "lb_addr.h"

struct json_object;

enum lb_k8s_kind {
	LB_K8S_SERVICE = 0,
	LB_K8S_SLICE = 1,	/* discovery.k8s.io/v1 EndpointSlice */
	LB_K8S_NODE = 2,
	LB_K8S_NKINDS
};

enum lb_k8s_event {
	LB_K8S_ADDED = 0,
	LB_K8S_MODIFIED = 1,
	LB_K8S_DELETED = 2,
};

/* Label and annotation names lbd reads. */
#define LB_K8S_LABEL_SERVICE_NAME	"kubernetes.io/service-name"
#define LB_K8S_LABEL_EXCLUDE_LB		"node.kubernetes.io/exclude-from-external-load-balancers"
#define LB_K8S_TAINT_TO_BE_DELETED	"ToBeDeletedByClusterAutoscaler"
#define LB_K8S_ANN_SOURCE_RANGES	"service.beta.kubernetes.io/load-balancer-source-ranges"
#define LB_K8S_FINALIZER		"service.kubernetes.io/load-balancer-cleanup"

#define LB_K8S_NS_MAX		63
#define LB_K8S_NAME_MAX		253
/* "NAMESPACE/NAME" */
#define LB_K8S_KEY_MAX		(LB_K8S_NS_MAX + 1 + LB_K8S_NAME_MAX + 1)

struct lb_k8s_kv {
	const char *key;
	const char *value;
};

struct lb_k8s_meta {
	const char *ns;		/* "" for cluster-scoped objects (nodes) */
	const char *name;
	const char *uid;	/* "" when absent */
	const char *rv;		/* resourceVersion, "" when absent */
	bool deleting;		/* metadata.deletionTimestamp is set */
	uint32_t n_finalizers;
	const char **finalizers;
	uint32_t n_labels;	/* kept labels only (see above) */
	struct lb_k8s_kv *labels;
	uint32_t n_annotations;	/* kept annotations only */
	struct lb_k8s_kv *annotations;
};

enum lb_k8s_svc_type {
	LB_K8S_SVC_CLUSTER_IP = 0,
	LB_K8S_SVC_NODE_PORT = 1,
	LB_K8S_SVC_LOAD_BALANCER = 2,
	LB_K8S_SVC_EXTERNAL_NAME = 3,
};

enum lb_k8s_policy {
	LB_K8S_POLICY_CLUSTER = 0,
	LB_K8S_POLICY_LOCAL = 1,
};

struct lb_k8s_svc_port {
	const char *name;	/* "" when unnamed */
	const char *protocol;	/* "TCP", "UDP", "SCTP", ... as given (default "TCP") */
	uint8_t proto;		/* LB_PROTO_TCP / LB_PROTO_UDP, 0 for anything else */
	uint16_t port;		/* host order, 1..65535 */
	uint16_t node_port;	/* host order, 0 = none */
	uint16_t target_port;	/* host order, 0 when named or absent */
	const char *target_port_name;	/* NULL unless targetPort is a name */
};

struct lb_k8s_port_status {
	uint16_t port;		/* host order */
	uint8_t proto;		/* 0 when not TCP/UDP */
	const char *protocol;
	const char *error;	/* NULL when absent */
};

struct lb_k8s_ingress {
	struct lb_ip ip;	/* family 0 when the entry has only a hostname */
	const char *hostname;	/* NULL when absent */
	const char *ip_mode;	/* "VIP", "Proxy", NULL when absent */
	uint32_t n_ports;
	struct lb_k8s_port_status *ports;
};

struct lb_k8s_svc {
	uint8_t type;		/* enum lb_k8s_svc_type */
	const char *lb_class;	/* spec.loadBalancerClass, NULL when absent */
	uint8_t policy;		/* enum lb_k8s_policy: externalTrafficPolicy */
	bool alloc_node_ports;	/* spec.allocateLoadBalancerNodePorts (default true) */
	bool affinity_client_ip;	/* sessionAffinity: ClientIP */
	uint32_t affinity_timeout;	/* seconds (default 10800) */
	const char *lb_ip;	/* spec.loadBalancerIP, NULL when absent or "" */
	uint32_t n_families;	/* spec.ipFamilies, 1 or 2 (default [IPv4]) */
	uint8_t families[2];	/* LB_AF_INET / LB_AF_INET6 */
	uint16_t hc_node_port;	/* spec.healthCheckNodePort, 0 = none */
	uint32_t n_ports;
	struct lb_k8s_svc_port *ports;
	uint32_t n_src_ranges;	/* spec.loadBalancerSourceRanges as given (parsed by the mapping) */
	const char **src_ranges;
	uint32_t n_ingress;	/* status.loadBalancer.ingress */
	struct lb_k8s_ingress *ingress;
};

/* An endpoint condition: -1 unset, 0 false, 1 true. */
struct lb_k8s_ep {
	struct lb_ip addr;	/* addresses[0] (kube-proxy uses the first one too) */
	int8_t ready;
	int8_t serving;
	int8_t terminating;
	const char *node;	/* nodeName, NULL when absent */
};

struct lb_k8s_ep_port {
	const char *name;	/* "" when unnamed */
	const char *protocol;
	uint8_t proto;		/* LB_PROTO_TCP / LB_PROTO_UDP, 0 otherwise */
	uint16_t port;		/* host order, 0 when absent (unusable) */
};

struct lb_k8s_slice {
	const char *service;	/* label kubernetes.io/service-name, NULL when absent */
	const char *address_type;	/* "IPv4", "IPv6", "FQDN" */
	uint8_t family;		/* LB_AF_INET / LB_AF_INET6, 0 for FQDN (endpoints not kept) */
	uint32_t n_eps;
	struct lb_k8s_ep *eps;
	uint32_t n_ports;
	struct lb_k8s_ep_port *ports;
};

struct lb_k8s_node {
	bool ready;		/* condition Ready is "True" */
	bool excluded;		/* label node.kubernetes.io/exclude-from-external-load-balancers */
	bool to_be_deleted;	/* taint ToBeDeletedByClusterAutoscaler */
	struct lb_ip internal[2];	/* first InternalIP of each family: [0] IPv4, [1] IPv6 */
};

struct lb_k8s_arena_blk;

struct lb_k8s_obj {
	uint8_t kind;		/* enum lb_k8s_kind */
	struct lb_k8s_meta meta;
	union {
		struct lb_k8s_svc svc;
		struct lb_k8s_slice slice;
		struct lb_k8s_node node;
	};
	/* Store bookkeeping (the store writes these). */
	uint64_t epoch;
	/* Storage of everything above. */
	struct lb_k8s_arena_blk *mem;
};

/*
 * Decodes obj as a kind. Returns a new object (free with lb_k8s_obj_free) or
 * NULL with "Service default/web: spec.ports[1].port: expected an integer,
 * got a string" (or "out of memory") in err. Never aborts on any input.
 */
struct lb_k8s_obj *lb_k8s_decode(enum lb_k8s_kind kind, const struct json_object *obj,
	char *err, size_t errlen);

/* Only metadata.namespace and .name (for a DELETED event whose body is
 * otherwise nonsense): 0, or -EINVAL with a message. ns is "" for nodes. */
int lb_k8s_decode_key(enum lb_k8s_kind kind, const struct json_object *obj, char *ns,
	size_t nslen, char *name, size_t namelen, char *err, size_t errlen);

void lb_k8s_obj_free(struct lb_k8s_obj *o);	/* NULL is a no-op */

/* The value of a kept annotation or label, or NULL. */
const char *lb_k8s_annotation(const struct lb_k8s_obj *o, const char *key);
const char *lb_k8s_label(const struct lb_k8s_obj *o, const char *key);
bool lb_k8s_has_finalizer(const struct lb_k8s_obj *o, const char *finalizer);

/* Node eligibility for Cluster policy: Ready, not excluded, not going away. */
bool lb_k8s_node_eligible(const struct lb_k8s_node *n, const struct lb_k8s_meta *m);

const char *lb_k8s_kind_str(enum lb_k8s_kind k);	/* "Service", "EndpointSlice", "Node" */

/* --- the object store --- */

/*
 * Services and EndpointSlices keyed "NAMESPACE/NAME", Nodes by name; slices
 * also grouped by (namespace, kubernetes.io/service-name), several per
 * Service. The store records what changed since lb_k8s_store_take_changes:
 * each Service whose object or slices changed, and whether any node changed
 * in a way the mapping sees (eligibility or InternalIPs). A slice or node
 * update that changes nothing the mapping reads records nothing.
 *
 * Fail static: an event whose object does not decode leaves the stored
 * version as it was (and counts in decode_errors); a relist removes only the
 * objects it did not mention (an undecodable one it mentioned stays).
 *
 * Single-threaded. Pointers returned stay valid until the next call that
 * modifies the store.
 */
struct lb_k8s_store;

struct lb_k8s_store_stats {
	uint64_t objects[LB_K8S_NKINDS];
	uint64_t events;		/* applied (put + delete) */
	uint64_t decode_errors;
	uint64_t relists;
	uint64_t relist_removed;
	uint64_t unchanged;		/* updates that changed nothing the mapping reads */
};

struct lb_k8s_store *lb_k8s_store_new(void);
void lb_k8s_store_free(struct lb_k8s_store *st);

/*
 * Applies a watch event (or a list item: ADDED) from its JSON. 0 when
 * applied, -EINVAL when the object did not decode (message in err; the store
 * is unchanged except that a relist in progress counts it as seen), -ENOMEM.
 */
int lb_k8s_store_apply(struct lb_k8s_store *st, enum lb_k8s_kind kind, enum lb_k8s_event ev,
	const struct json_object *obj, char *err, size_t errlen);

/* Adds or replaces an object decoded elsewhere; the store takes ownership
 * (also on error). 0 or -ENOMEM. */
int lb_k8s_store_put(struct lb_k8s_store *st, struct lb_k8s_obj *o);
/* Removes ns/name (ns "" for nodes); 0, or -ENOENT when absent. */
int lb_k8s_store_delete(struct lb_k8s_store *st, enum lb_k8s_kind kind, const char *ns,
	const char *name);

/* A full list of kind starts; objects it does not mention before
 * lb_k8s_store_relist_end are then removed (and recorded as changes). The
 * first relist_end of a kind marks it synced. relist_end returns how many
 * objects it removed. */
void lb_k8s_store_relist_begin(struct lb_k8s_store *st, enum lb_k8s_kind kind);
uint32_t lb_k8s_store_relist_end(struct lb_k8s_store *st, enum lb_k8s_kind kind);
bool lb_k8s_store_synced(const struct lb_k8s_store *st, enum lb_k8s_kind kind);

const struct lb_k8s_obj *lb_k8s_store_get(const struct lb_k8s_store *st, enum lb_k8s_kind kind,
	const char *ns, const char *name);
/* The slices labelled for Service ns/name: *out points to n objects. */
uint32_t lb_k8s_store_slices(const struct lb_k8s_store *st, const char *ns, const char *svc,
	const struct lb_k8s_obj *const **out);
void lb_k8s_store_foreach(const struct lb_k8s_store *st, enum lb_k8s_kind kind,
	void (*fn)(void *ctx, const struct lb_k8s_obj *o), void *ctx);

/*
 * Hands over the changes recorded since the last call and forgets them:
 * fn is called once per changed Service key "NAMESPACE/NAME" (whether the
 * Service exists or not), and the return value says whether nodes changed.
 */
bool lb_k8s_store_take_changes(struct lb_k8s_store *st,
	void (*fn)(void *ctx, const char *svc_key), void *ctx);

void lb_k8s_store_stats(const struct lb_k8s_store *st, struct lb_k8s_store_stats *out);

#endif /* LB_K8S_H */
