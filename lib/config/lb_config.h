/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

/*
 * lbd's static configuration: a libconfig file loaded into a validated model.
 * docs/config.md is the reference for every key; this header is the model.
 *
 * The loader checks everything it can without the hardware: syntax, unknown
 * keys, types, ranges, duplicates, prime table sizes, one port per role,
 * address clashes, targets reachable from the internal port. Every error is
 * reported as "FILE:LINE: message" in err. Addresses are network order.
 *
 * Written by: lb_config_load* (control thread). Read by: the control thread
 * (lbd main, the snapshot compiler, lbctl handlers). A loaded model is never
 * modified; a reload loads a second model and swaps it in after
 * lb_config_reload_check() accepts it.
 *
 * The line_* fields are source lines for messages (reload errors, the
 * snapshot compiler). A key that is absent carries the line of its enclosing
 * group, and a group that is absent line 1, so every line is >= 1.
 */
#include "lb_common.h"
#include "lb_addr.h"
#include "lb_health.h"
#include "lb_model.h"

#define LB_CONFIG_DEVICE_MAX	512
#define LB_CONFIG_PATH_MAX	256
#define LB_CONFIG_MAX_EAL_ARGS	32
#define LB_CONFIG_MAX_NEIGH	256
/* lcore ids accepted by the loader; lbd also checks them against the EAL's
 * RTE_MAX_LCORE (128 in Debian's DPDK) when it starts. */
#define LB_CONFIG_MAX_LCORE	1024
/* A Unix socket path must fit sockaddr_un.sun_path (108 bytes with its NUL). */
#define LB_CONFIG_SOCKET_MAX	107
#define LB_CONFIG_PORT_NAME_MAX	31
#define LB_CONFIG_IFNAME_MAX	16	/* IFNAMSIZ: kernel interface names */
#define LB_CONFIG_KERNEL_RATE	1000	/* default ports[].kernel_rate */
#define LB_CONFIG_FE_NAME_MAX	63
/* Largest file lb_config_load reads. */
#define LB_CONFIG_FILE_MAX	(16u << 20)

/* Defaults (docs/config.md lists the same values). */
#define LB_CONFIG_DEF_SOCKET		"/run/lbd/lbd.sock"
#define LB_CONFIG_DEF_FILE_PREFIX	"lbd"
#define LB_CONFIG_DEF_FLOW_CAPACITY	262144
#define LB_CONFIG_MIN_FLOW_CAPACITY	1024
#define LB_CONFIG_MAX_FLOW_CAPACITY	67108864
#define LB_CONFIG_MIN_MBUFS		8192	/* workers.mbufs, when set */
#define LB_CONFIG_MAX_MBUFS		67108864
#define LB_CONFIG_DEF_SNAT_LO		1024
#define LB_CONFIG_DEF_SNAT_HI		65535
#define LB_CONFIG_DEF_TCP_SYN		30
#define LB_CONFIG_DEF_TCP_ESTABLISHED	3600
#define LB_CONFIG_DEF_TCP_FIN		30
#define LB_CONFIG_DEF_UDP		30
/* New flows per second per worker above which the worker is under flood. */
#define LB_CONFIG_DEF_NEW_FLOW_RATE	100000
#define LB_CONFIG_MAX_NEW_FLOW_RATE	100000000
/* Seconds a FullNAT source address:port stays away from a target after its
 * connection there closed (the target's TIME_WAIT; Linux: 60 s). */
#define LB_CONFIG_DEF_SNAT_TIME_WAIT	60
#define LB_CONFIG_DEF_ARP_REACHABLE	300
#define LB_CONFIG_DEF_ARP_RETRIES	3
#define LB_CONFIG_DEF_ARP_RETRY_MS	1000
#define LB_CONFIG_DEF_ARP_QUEUE		3
#define LB_CONFIG_DEF_AFFINITY_TIMEOUT	10800	/* Kubernetes' default */
#define LB_CONFIG_DEF_K8S_CLASS		"lbd.io/lbd"
#define LB_CONFIG_DEF_K8S_RESYNC	300	/* seconds */
#define LB_CONFIG_DEF_K8S_RELIST	0	/* seconds, 0 = only when the API asks */
#define LB_CONFIG_DEF_K8S_BACKOFF_MIN	500	/* ms */
#define LB_CONFIG_DEF_K8S_BACKOFF_MAX	30000	/* ms */
#define LB_CONFIG_DEF_K8S_EVENT_INTERVAL 300	/* seconds */
#define LB_CONFIG_DEF_K8S_SYNC_BATCH	50
#define LB_CONFIG_MAX_POOLS		64
#define LB_CONFIG_MAX_POOL_RANGES	64
/* A Kubernetes qualified name: DNS subdomain prefix (253), '/', name (63). */
#define LB_CONFIG_K8S_CLASS_MAX		317
#define LB_CONFIG_K8S_CONTEXT_MAX	253
#define LB_CONFIG_DEF_METRICS_ADDRESS	"127.0.0.1"
#define LB_CONFIG_DEF_METRICS_PORT	9542
#define LB_CONFIG_METRICS_ADDRESS_MAX	46	/* INET6_ADDRSTRLEN */

enum lb_role {
	LB_ROLE_EXTERNAL = 0x1,
	LB_ROLE_INTERNAL = 0x2,
	LB_ROLE_BOTH = 0x3,	/* one-arm */
};

struct lb_config_neigh {
	uint32_t addr;
	uint8_t mac[LB_ETHER_ADDR_LEN];
	int line;
};

struct lb_config_port {
	char name[LB_NAME_MAX];
	char device[LB_CONFIG_DEVICE_MAX];	/* PCI address or vdev string */
	unsigned role;				/* enum lb_role bits */
	struct lb_cidr net;			/* address/prefix; net.addr keeps host bits */
	uint32_t addr;				/* the port's own address */
	uint32_t gateway;			/* 0 = none */
	uint16_t vlan;				/* 0 = untagged, else 1..4094 */
	char kernel[LB_CONFIG_IFNAME_MAX];	/* kernel interface (net_tap) name; "" = none */
	uint32_t kernel_rate;			/* frames/s per worker to the kernel from
						 * sources that are not targets */
	uint32_t n_neigh;
	struct lb_config_neigh neigh[LB_CONFIG_MAX_NEIGH];	/* static ARP entries */
	int line;
	int line_name;
	int line_device;
	int line_role;
	int line_address;
	int line_gateway;
	int line_vlan;
	int line_neighbours;
	int line_kernel;
	int line_kernel_rate;
};

struct lb_config_target {
	uint32_t addr;
	uint16_t port;		/* network order */
	uint32_t weight;	/* 0..65535; 0 takes no new flows */
	int line;
};

struct lb_config_frontend {
	char name[LB_NAME_MAX];
	uint32_t vip;
	uint8_t proto;		/* LB_PROTO_TCP or LB_PROTO_UDP */
	uint16_t port;		/* network order */
	enum lb_method method;
	uint32_t maglev_size;	/* prime */
	enum lb_affinity affinity;
	uint32_t affinity_timeout;	/* seconds */
	uint32_t n_src_ranges;		/* 0 = allow all */
	struct lb_cidr *src_ranges;
	uint32_t n_targets;
	struct lb_config_target *targets;
	/* The frontend's check: its health group over the top-level one (kind
	 * NONE: not checked). */
	struct lb_health_spec health;
	int line;
	int line_vip;
	int line_health;	/* its health group, else the frontend's line */
};

/* kubernetes = { ... }: how lbd reaches the API and which Services it owns
 * (lib/k8s reads it through lb_k8s_conf_from_config). */
struct lb_config_k8s {
	bool enabled;			/* the group is present */
	char kubeconfig[LB_CONFIG_PATH_MAX];	/* "" = in-cluster configuration */
	char context[LB_CONFIG_K8S_CONTEXT_MAX + 1];	/* "" = the kubeconfig's current-context */
	char lb_class[LB_CONFIG_K8S_CLASS_MAX + 1];	/* owned spec.loadBalancerClass */
	bool class_less;		/* also own Services without a class */
	uint32_t resync;		/* seconds between status re-checks, 0 = never */
	uint32_t relist;		/* seconds between full relists, 0 = only on 410 */
	uint32_t backoff_min_ms;	/* API retries: first delay */
	uint32_t backoff_max_ms;	/* API retries: longest delay */
	uint32_t maglev_size;		/* of Kubernetes frontends, a prime */
	uint32_t event_interval;	/* seconds between Events of one reason per Service */
	uint32_t sync_batch;		/* Services mapped per control-loop pass, 0 = all */
	int line;			/* of the group (1 when absent) */
	int line_kubeconfig;
	int line_context;
	int line_class;
	int line_class_less;
	int line_resync;
	int line_relist;
	int line_backoff;
	int line_maglev_size;
	int line_event_interval;
	int line_sync_batch;
};

/* Source lines of pools[i], for messages. */
struct lb_config_pool_lines {
	int name;
	int *range;			/* one per range (= per entry of addresses) */
};

struct lb_config_timeouts {	/* seconds */
	uint32_t tcp_syn;
	uint32_t tcp_established;
	uint32_t tcp_fin;
	uint32_t udp;
};

struct lb_config {
	char path[LB_CONFIG_PATH_MAX];	/* file it was loaded from (or the name given) */

	/* lbd = { ... } */
	char socket[LB_CONFIG_PATH_MAX];
	uint32_t control_lcore;

	/* eal = { ... } */
	char file_prefix[LB_NAME_MAX];
	bool no_huge;
	uint32_t memory_mb;		/* 0 = EAL default */
	uint32_t n_eal_args;
	char *eal_args[LB_CONFIG_MAX_EAL_ARGS];

	/* ports = ( ... ) */
	uint32_t n_ports;
	struct lb_config_port ports[LB_MAX_PORTS];
	int ext_port;			/* index into ports[] of the external role */
	int int_port;			/* index of the internal role (== ext_port one-arm) */

	/* workers = { ... } */
	uint32_t n_workers;
	uint32_t worker_lcores[LB_MAX_WORKERS];
	uint32_t flow_capacity;		/* per worker */
	uint32_t mbufs;			/* packet buffers; 0 = sized by lbd from its ports */
	uint32_t n_snat;
	uint32_t snat_addrs[LB_MAX_SNAT_ADDRS];
	uint16_t snat_port_lo;		/* host order */
	uint16_t snat_port_hi;
	struct lb_config_timeouts timeouts;
	uint32_t new_flow_rate;		/* flood governor: new flows/s per worker; 0 = off */
	uint32_t snat_time_wait;	/* seconds; 0 = off */

	/* arp = { ... } */
	uint32_t arp_reachable;		/* seconds an entry stays valid */
	uint32_t arp_retries;		/* requests before an entry fails */
	uint32_t arp_retry_ms;		/* between requests */
	uint32_t arp_queue;		/* packets held per unresolved neighbour */

	/* metrics = { ... }: the Prometheus endpoint (off without the group) */
	bool metrics_enabled;
	char metrics_address[LB_CONFIG_METRICS_ADDRESS_MAX];	/* IPv4 or IPv6 literal */
	uint16_t metrics_port;
	/* health = { ... } */
	struct lb_health_spec health;		/* default check of static frontends */
	struct lb_health_k8s_conf health_k8s;	/* Kubernetes checks: timing, kinds */
	struct lb_health_bind health_bind;	/* where probes leave from */

	/* frontends = ( ... ) */
	uint32_t n_frontends;
	struct lb_config_frontend *frontends;

	/* pools = ( ... ): addresses IPAM gives Kubernetes Services */
	uint32_t n_pools;
	struct lb_model_pool *pools;		/* in file order; ranges as [first, last] */
	struct lb_config_pool_lines *pool_lines;

	/* kubernetes = { ... } */
	struct lb_config_k8s k8s;

	/* Source lines (see the note at the top). */
	int line_lbd;
	int line_socket;
	int line_control_lcore;
	int line_eal;
	int line_file_prefix;
	int line_no_huge;
	int line_memory_mb;
	int line_eal_args;
	int line_ports;
	int line_workers;
	int line_lcores;
	int line_flow_capacity;
	int line_mbufs;
	int line_snat_addrs;
	int snat_addr_line[LB_MAX_SNAT_ADDRS];
	int line_snat_ports;
	int line_timeouts;
	int line_arp;
	int line_metrics_enabled;
	int line_metrics_address;
	int line_metrics_port;
	int line_frontends;
	int line_pools;
	int line_health;
	int line_health_kind;	/* health.kind, 0 when not set */
};

/*
 * Loads and validates path. Returns the model (free with lb_config_free), or
 * NULL with "PATH:LINE: message" (or "PATH: message" when the file cannot be
 * read at all) in err. A file may not use @include: lbd keeps its
 * configuration in one file so that every message names it.
 */
struct lb_config *lb_config_load(const char *path, char *err, size_t errlen);

/* Same from a string; name stands in for the file name in messages. */
struct lb_config *lb_config_load_string(const char *text, const char *name, char *err,
	size_t errlen);

/* Frees a model from lb_config_load*; NULL is a no-op. */
void lb_config_free(struct lb_config *c);

/*
 * A reload may change frontends, pools, timeouts, arp settings and static
 * neighbours; everything else (the kubernetes group included) needs a
 * restart. Pools are only checked here as a file; whether the running
 * allocations still fit them is lib/k8s's lb_k8s_ctrl_check_pools.
 * Returns 0 when next may replace cur, or -EINVAL with "PATH:LINE: <key> cannot change on reload (restart
 * lbd)" in err, PATH and LINE being next's, for the first difference in
 * file order.
 */
int lb_config_reload_check(const struct lb_config *cur, const struct lb_config *next,
	char *err, size_t errlen);

/* "external", "internal", "both"; "?" for anything else. (lb_method_str and
 * lb_proto_str are lib/model's.) */
const char *lb_role_str(unsigned role);

/*
 * The config's frontends as a model (lib/model): one frontend per entry of
 * frontends, named as in the file, origin "config PATH:LINE". NULL with a
 * message in err on ENOMEM (the loader validated everything else).
 */
struct lb_model *lb_config_model(const struct lb_config *c, char *err, size_t errlen);

/* Whether a vdev name or PCI address is well formed ("net_pcap0,...",
 * "0000:03:00.0"); exported for lbctl and tests. */
bool lb_config_device_valid(const char *dev);

#endif /* LB_CONFIG_H */
