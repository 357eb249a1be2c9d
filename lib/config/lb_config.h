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
 */
#include "lb_common.h"
#include "lb_addr.h"

#define LB_CONFIG_DEVICE_MAX	512
#define LB_CONFIG_PATH_MAX	256
#define LB_CONFIG_MAX_EAL_ARGS	32
#define LB_CONFIG_MAX_NEIGH	256

enum lb_role {
	LB_ROLE_EXTERNAL = 0x1,
	LB_ROLE_INTERNAL = 0x2,
	LB_ROLE_BOTH = 0x3,	/* one-arm */
};

enum lb_method {
	LB_METHOD_FULLNAT = 0,
	LB_METHOD_DNAT = 1,
};

enum lb_affinity {
	LB_AFFINITY_NONE = 0,
	LB_AFFINITY_CLIENT_IP = 1,
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
	uint32_t n_neigh;
	struct lb_config_neigh neigh[LB_CONFIG_MAX_NEIGH];	/* static ARP entries */
	int line;
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
	int line;
};

struct lb_config_timeouts {	/* seconds */
	uint32_t tcp_syn;
	uint32_t tcp_established;
	uint32_t tcp_fin;
	uint32_t udp;
};

struct lb_config {
	char path[LB_CONFIG_PATH_MAX];	/* file it was loaded from */

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
	uint32_t n_snat;
	uint32_t snat_addrs[LB_MAX_SNAT_ADDRS];
	uint16_t snat_port_lo;		/* host order */
	uint16_t snat_port_hi;
	struct lb_config_timeouts timeouts;

	/* arp = { ... } */
	uint32_t arp_reachable;		/* seconds an entry stays valid */
	uint32_t arp_retries;		/* requests before an entry fails */
	uint32_t arp_retry_ms;		/* between requests */
	uint32_t arp_queue;		/* packets held per unresolved neighbour */

	/* frontends = ( ... ) */
	uint32_t n_frontends;
	struct lb_config_frontend *frontends;
};

/*
 * Loads and validates path. Returns the model (free with lb_config_free), or
 * NULL with "PATH:LINE: message" (or "PATH: message" when no line applies)
 * in err.
 */
struct lb_config *lb_config_load(const char *path, char *err, size_t errlen);

/* Same from a string; name stands in for the file name in messages. */
struct lb_config *lb_config_load_string(const char *text, const char *name, char *err,
	size_t errlen);

void lb_config_free(struct lb_config *c);

/*
 * A reload may change frontends, timeouts, arp settings and static
 * neighbours; everything else needs a restart. Returns 0 when next may replace
 * cur, or -EINVAL with "PATH:LINE: <key> cannot change on reload (restart
 * lbd)" in err.
 */
int lb_config_reload_check(const struct lb_config *cur, const struct lb_config *next,
	char *err, size_t errlen);

const char *lb_role_str(unsigned role);
const char *lb_method_str(enum lb_method m);
const char *lb_proto_str(uint8_t proto);

#endif /* LB_CONFIG_H */
