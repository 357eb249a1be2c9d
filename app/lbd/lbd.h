/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LBD_H
#define LBD_H

/*
 * The daemon's shared state. One instance (g_lbd). Fields say who writes
 * them; everything not marked otherwise is written by the control thread
 * (the EAL main lcore) during init or in its loop, and read by workers only
 * through the RCU-published pointers.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "lb_config.h"
#include "lb_ctl.h"
#include "lb_dp.h"
#include "lb_neigh.h"
#include "lb_port.h"
#include "lb_snap.h"

#define LBD_VERSION	"0.1.0"
#define LBD_BURST	32
#define LBD_RING_SIZE	4096
#define LBD_MAX_DRAINS	1024
#define LBD_MAX_RXQ	(LB_MAX_PORTS * 4)

/* Per-mbuf metadata for frames handed to or from the control thread. */
struct lbd_meta {
	uint32_t nexthop;	/* RESOLVE: next hop to ARP for */
	uint8_t port;		/* port index: where it arrived (ARP) or must leave (RESOLVE, ctl tx) */
	uint8_t kind;		/* enum lb_dp_ctl_kind */
};

struct lbd_rxq {
	uint16_t dev;
	uint16_t queue;
	uint8_t port;		/* port index */
};

/* Flow sample request from control to a worker (lbctl flows). */
struct lbd_flow_sample {
	struct lb_flow_key key[2];
	uint8_t cls;
	int64_t expires_in_ms;
};

#define LBD_FLOWS_MAX	1000	/* largest sample per worker */

/* Flow sample mailbox (flows.c). Control writes max (and buf, once) before
 * publishing req with release, and never while req != done; the worker
 * copies max once per request and publishes done with release after its
 * entries. */
struct lbd_mailbox {
	_Atomic uint32_t req;	/* control: sequence number of the request */
	_Atomic uint32_t done;	/* worker: sequence number answered */
	uint32_t max;		/* control: entries wanted */
	uint32_t n;		/* worker: entries written (read by control once done == req) */
	struct lbd_flow_sample *buf;	/* control: LBD_FLOWS_MAX entries, set once */
	uint32_t serving;	/* worker: request being answered */
	uint32_t serving_max;	/* worker: its max, clamped to LBD_FLOWS_MAX */
	uint32_t cursor;	/* worker: where its walk of the flow table stands */
};

struct lbd_worker {
	struct lb_dp_worker dp;		/* worker: flow tables, SNAT, counters */
	uint32_t index;
	uint32_t lcore;
	uint32_t n_rxq;
	struct lbd_rxq rxq[LBD_MAX_RXQ];
	struct rte_ring *handoff;	/* in: frames other workers own less than we do (MP/SC) */
	struct rte_ring *ctl_tx;	/* in: control-originated frames to send (SP/SC) */
	struct lbd_mailbox mb;
	volatile uint32_t flows_live;	/* worker: published in housekeeping */
	volatile uint32_t affinity_live;
	void *flow_mem;
	void *aff_mem;
} __rte_cache_aligned;

struct lbd_port {
	uint16_t dev;
	char devargs[LB_CONFIG_DEVICE_MAX + 32];
	struct lb_port_info info;
};

struct lbd_deferred {
	void *ptr;
	void (*fn)(void *);
	uint64_t token;
};

struct lbd_ctl_counters {
	uint64_t rx;		/* frames from workers */
	uint64_t arp_in;
	uint64_t resolve_in;
	uint64_t garp_sent;
	uint64_t arp_requests_sent;
	uint64_t tx_enqueue_failed;
	uint64_t alloc_failed;
	uint64_t arp_conflicts;		/* conflicting ARPs the workers passed on */
	uint64_t arp_defences;		/* announcements sent to defend an address */
};

struct lbd {
	char config_path[LB_CONFIG_PATH_MAX];
	struct lb_config *cfg;		/* the running config */
	uint32_t n_workers;
	struct lbd_worker *workers;
	uint32_t n_ports;
	struct lbd_port ports[LB_MAX_PORTS];
	struct rte_mempool *mp;
	struct rte_ring *to_ctl;	/* workers -> control (MP/SC) */
	struct rte_rcu_qsbr *qsv;
	_Atomic(struct lb_snap *) snap;
	_Atomic(struct lb_neigh_table *) neigh_tab;
	struct lb_neigh *neigh;
	uint64_t neigh_version;
	uint32_t n_drains;
	struct lb_snap_drain drains[LBD_MAX_DRAINS];
	uint64_t generation;
	struct lb_ctl_server *ctl;
	atomic_bool quit;
	uint64_t tsc_per_ms;
	int meta_off;			/* mbuf dynfield offset of struct lbd_meta */
	uint32_t n_deferred;
	struct lbd_deferred deferred[64];
	uint64_t start_time;
	struct {
		bool ok;
		uint64_t time;
		char error[512];
	} last_reload;
	struct lbd_ctl_counters cc;
};

extern struct lbd g_lbd;

static inline struct lbd_meta *
lbd_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, g_lbd.meta_off, struct lbd_meta *);
}

static inline uint64_t
lbd_now_ms(void)
{
	return rte_get_tsc_cycles() / g_lbd.tsc_per_ms;
}

/* worker.c */
int lbd_worker_main(void *arg);

/* control.c */
int lbd_control_init(char *err, size_t errlen);
void lbd_control_loop(void);
void lbd_control_term(void);
int lbd_publish_snapshot(const struct lb_config *cfg, char *err, size_t errlen);
int lbd_reload(char *err, size_t errlen);
void lbd_send_garp(uint8_t port, uint32_t ip);
int lbd_ctl_tx(struct rte_mbuf *m, uint8_t port);

/* flows.c: lbctl flows, answered when the workers have (never blocks) */
struct json_object *lbd_flows_request(struct json_object *req, char *err, size_t errlen);
void lbd_flows_poll(void);
void lbd_flows_serve(struct lbd_worker *w, uint64_t now);
void lbd_flows_term(void);

/* defend.c: an ARP frame (m, from port) claiming one of lbd's addresses */
void lbd_arp_conflict(struct rte_mbuf *m, uint8_t port, uint64_t now);

/* ctl.c: lbctl command handlers */
struct json_object *lbd_ctl_handle(void *ctx, const char *cmd, struct json_object *req,
	char *err, size_t errlen);

/* Logging (control thread and init only; workers never log). */
void lbd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LBD_ERR		0
#define LBD_WARN	1
#define LBD_INFO	2
#define LBD_DEBUG	3

#endif /* LBD_H */
