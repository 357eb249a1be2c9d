/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread: owns every piece of mutable state and talks to the
 * workers only through RCU-published immutable objects (the snapshot and the
 * neighbour table) and rings (frames to and from the data path).
 *
 * Event loop: signals (signalfd), the lbctl socket, frames from workers (ARP
 * and frames waiting for a next hop), neighbour timers, deferred frees.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "lb_pkt.h"
#include "lbd.h"

#define CTL_POLL_MS		1
#define CTL_RING_BUDGET		1024
#define NEIGH_MAX_ENTRIES	65536

static int sig_fd = -1;

/* --- deferred frees after an RCU grace period --- */

static void
reclaim(bool wait)
{
	uint32_t i = 0;

	while (i < g_lbd.n_deferred) {
		struct lbd_deferred *d = &g_lbd.deferred[i];

		if (wait || rte_rcu_qsbr_check(g_lbd.qsv, d->token, false) == 1) {
			if (wait)
				rte_rcu_qsbr_check(g_lbd.qsv, d->token, true);
			d->fn(d->ptr);
			g_lbd.deferred[i] = g_lbd.deferred[--g_lbd.n_deferred];
		} else {
			i++;
		}
	}
}

static void
defer_free(void *ptr, void (*fn)(void *))
{
	if (ptr == NULL)
		return;
	if (g_lbd.n_deferred == RTE_DIM(g_lbd.deferred))
		reclaim(true);	/* workers pass quiescent states every burst: short */
	g_lbd.deferred[g_lbd.n_deferred].ptr = ptr;
	g_lbd.deferred[g_lbd.n_deferred].fn = fn;
	g_lbd.deferred[g_lbd.n_deferred].token = rte_rcu_qsbr_start(g_lbd.qsv);
	g_lbd.n_deferred++;
}

static void
free_snap(void *p)
{
	lb_snap_free(p);
}

static void
free_neigh_table(void *p)
{
	lb_neigh_table_free(p);
}

/* --- frames from the control thread --- */

int
lbd_ctl_tx(struct rte_mbuf *m, uint8_t port)
{
	/* Worker 0 transmits control frames on its own tx queues: the control
	 * thread has none, and the ring is single-producer (only us). */
	lbd_meta(m)->port = port;
	if (rte_ring_enqueue(g_lbd.workers[0].ctl_tx, m) != 0) {
		g_lbd.cc.tx_enqueue_failed++;
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	return 0;
}

/* An ARP frame (request or reply) from port's address and MAC. */
static struct rte_mbuf *
arp_frame(uint8_t port, uint16_t op, uint32_t spa, uint32_t tpa)
{
	const struct lb_snap_port *sp;
	const struct lb_snap *s = atomic_load(&g_lbd.snap);
	struct lb_ether_hdr *eh;
	struct lb_arp_hdr *ah;
	struct rte_mbuf *m;
	uint8_t *p;
	size_t len;

	sp = &s->ports[port];
	m = rte_pktmbuf_alloc(g_lbd.mp);
	if (m == NULL) {
		g_lbd.cc.alloc_failed++;
		return NULL;
	}
	len = sizeof(*eh) + (sp->vlan ? sizeof(struct lb_vlan_hdr) : 0) + sizeof(*ah);
	if (len < 60)
		len = 60;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	memset(p, 0, len);
	eh = (struct lb_ether_hdr *)p;
	memset(eh->dst, 0xff, LB_ETHER_ADDR_LEN);
	memcpy(eh->src, sp->mac, LB_ETHER_ADDR_LEN);
	p += sizeof(*eh);
	if (sp->vlan) {
		struct lb_vlan_hdr *vh = (struct lb_vlan_hdr *)p;

		eh->type = htons(LB_ETHER_TYPE_VLAN);
		vh->tci = htons(sp->vlan);
		vh->type = htons(LB_ETHER_TYPE_ARP);
		p += sizeof(*vh);
	} else {
		eh->type = htons(LB_ETHER_TYPE_ARP);
	}
	ah = (struct lb_arp_hdr *)p;
	ah->hrd = htons(LB_ARP_HRD_ETHER);
	ah->pro = htons(LB_ETHER_TYPE_IPV4);
	ah->hln = LB_ETHER_ADDR_LEN;
	ah->pln = 4;
	ah->op = htons(op);
	memcpy(ah->sha, sp->mac, LB_ETHER_ADDR_LEN);
	ah->spa = spa;
	ah->tpa = tpa;
	return m;
}

void
lbd_send_garp(uint8_t port, uint32_t ip)
{
	/* RFC 5227 announcement: a request with sender = target = the address */
	struct rte_mbuf *m = arp_frame(port, LB_ARP_OP_REQUEST, ip, ip);

	if (m != NULL && lbd_ctl_tx(m, port) == 0)
		g_lbd.cc.garp_sent++;
}

static void
neigh_send_request(void *ctx, uint8_t port, uint32_t ip)
{
	const struct lb_snap *s = atomic_load(&g_lbd.snap);
	struct rte_mbuf *m;

	(void)ctx;
	m = arp_frame(port, LB_ARP_OP_REQUEST, s->ports[port].addr, ip);
	if (m != NULL && lbd_ctl_tx(m, port) == 0)
		g_lbd.cc.arp_requests_sent++;
}

static void
neigh_send_pkt(void *ctx, uint8_t port, void *pkt, const uint8_t mac[LB_ETHER_ADDR_LEN])
{
	struct rte_mbuf *m = pkt;

	(void)ctx;
	memcpy(rte_pktmbuf_mtod(m, struct lb_ether_hdr *)->dst, mac, LB_ETHER_ADDR_LEN);
	lbd_ctl_tx(m, port);
}

static void
neigh_drop_pkt(void *ctx, void *pkt)
{
	(void)ctx;
	rte_pktmbuf_free(pkt);
}

/* --- publishing --- */

static void
publish_neigh(void)
{
	struct lb_neigh_table *t = lb_neigh_table_build(g_lbd.neigh);
	struct lb_neigh_table *old;

	if (t == NULL) {
		lbd_log(LBD_ERR, "out of memory building the neighbour table; keeping the old one");
		return;
	}
	g_lbd.neigh_version = lb_neigh_version(g_lbd.neigh);
	old = atomic_exchange_explicit(&g_lbd.neigh_tab, t, memory_order_acq_rel);
	defer_free(old, free_neigh_table);
}

int
lbd_publish_snapshot(const struct lb_config *cfg, char *err, size_t errlen)
{
	struct lb_snap_env env;
	struct lb_snap *s, *old;
	uint32_t i;

	memset(&env, 0, sizeof(env));
	env.n_workers = g_lbd.n_workers;
	for (i = 0; i < g_lbd.n_ports; i++) {
		env.dev[i] = g_lbd.ports[i].dev;
		memcpy(env.mac[i], g_lbd.ports[i].info.mac.addr_bytes, LB_ETHER_ADDR_LEN);
		env.mtu[i] = g_lbd.ports[i].info.mtu;
	}
	s = lb_snap_build(cfg, &env, g_lbd.drains, g_lbd.n_drains, err, errlen);
	if (s == NULL)
		return -EINVAL;
	s->generation = ++g_lbd.generation;
	old = atomic_exchange_explicit(&g_lbd.snap, s, memory_order_acq_rel);
	defer_free(old, free_snap);
	lbd_log(LBD_INFO, "snapshot %lu published: %u frontend(s)", (unsigned long)s->generation,
		s->n_fes);
	return 0;
}

static int
apply_static_neighbours(const struct lb_config *cfg)
{
	static uint32_t ip[LB_MAX_PORTS * LB_CONFIG_MAX_NEIGH];
	static uint8_t mac[LB_MAX_PORTS * LB_CONFIG_MAX_NEIGH][LB_ETHER_ADDR_LEN];
	static uint8_t port[LB_MAX_PORTS * LB_CONFIG_MAX_NEIGH];
	uint32_t n = 0, i, j;

	for (i = 0; i < cfg->n_ports; i++)
		for (j = 0; j < cfg->ports[i].n_neigh; j++) {
			ip[n] = cfg->ports[i].neigh[j].addr;
			memcpy(mac[n], cfg->ports[i].neigh[j].mac, LB_ETHER_ADDR_LEN);
			port[n] = (uint8_t)i;
			n++;
		}
	return lb_neigh_set_static(g_lbd.neigh, ip, (const uint8_t (*)[LB_ETHER_ADDR_LEN])mac, port,
		n, lbd_now_ms());
}

static void
neigh_params(const struct lb_config *cfg, struct lb_neigh_params *p)
{
	memset(p, 0, sizeof(*p));
	p->reachable_ms = cfg->arp_reachable * 1000;
	p->retries = cfg->arp_retries;
	p->retry_ms = cfg->arp_retry_ms;
	p->queue_len = cfg->arp_queue;
	/* retry a failed next hop no sooner than a full round of retries later */
	p->failed_hold_ms = cfg->arp_retries * cfg->arp_retry_ms > 5000 ?
		cfg->arp_retries * cfg->arp_retry_ms : 5000;
	p->max_entries = NEIGH_MAX_ENTRIES;
}

/* Announces every VIP of cfg absent from old (all when old is NULL). */
static void
announce_vips(const struct lb_config *cfg, const struct lb_config *old)
{
	uint32_t i, j;

	for (i = 0; i < cfg->n_frontends; i++) {
		uint32_t vip = cfg->frontends[i].vip;
		bool seen = false;

		for (j = 0; j < i && !seen; j++)
			seen = cfg->frontends[j].vip == vip;
		for (j = 0; old != NULL && j < old->n_frontends && !seen; j++)
			seen = old->frontends[j].vip == vip;
		if (!seen)
			lbd_send_garp((uint8_t)cfg->ext_port, vip);
	}
}

int
lbd_reload(char *err, size_t errlen)
{
	struct lb_config *next;
	struct lb_neigh_params np;

	next = lb_config_load(g_lbd.config_path, err, errlen);
	if (next == NULL)
		goto fail;
	if (lb_config_reload_check(g_lbd.cfg, next, err, errlen) != 0 ||
	    lbd_publish_snapshot(next, err, errlen) != 0) {
		lb_config_free(next);
		goto fail;
	}
	neigh_params(next, &np);
	if (lb_neigh_set_params(g_lbd.neigh, &np) != 0)
		lbd_log(LBD_WARN, "reload: arp settings not applied (invalid)");
	if (apply_static_neighbours(next) != 0)
		lbd_log(LBD_WARN, "reload: static neighbours not applied (out of memory)");
	announce_vips(next, g_lbd.cfg);
	lb_config_free(g_lbd.cfg);
	g_lbd.cfg = next;
	g_lbd.last_reload.ok = true;
	g_lbd.last_reload.time = (uint64_t)time(NULL);
	g_lbd.last_reload.error[0] = '\0';
	lbd_log(LBD_INFO, "reloaded %s: %u frontend(s)", g_lbd.config_path, next->n_frontends);
	return 0;
fail:
	g_lbd.last_reload.ok = false;
	g_lbd.last_reload.time = (uint64_t)time(NULL);
	snprintf(g_lbd.last_reload.error, sizeof(g_lbd.last_reload.error), "%s", err);
	lbd_log(LBD_ERR, "reload rejected, running config kept: %s", err);
	return -EINVAL;
}

/* --- init / loop / term --- */

int
lbd_control_init(char *err, size_t errlen)
{
	const struct lb_neigh_ops ops = {
		.ctx = NULL,
		.send_request = neigh_send_request,
		.send_pkt = neigh_send_pkt,
		.drop_pkt = neigh_drop_pkt,
	};
	const struct lb_config *cfg = g_lbd.cfg;
	struct lb_neigh_params np;
	sigset_t sigs;
	uint32_t i;

	neigh_params(cfg, &np);
	g_lbd.neigh = lb_neigh_create(&np, &ops);
	if (g_lbd.neigh == NULL) {
		snprintf(err, errlen, "cannot create the neighbour table");
		return -ENOMEM;
	}
	if (lbd_publish_snapshot(cfg, err, errlen) != 0)
		return -EINVAL;
	if (apply_static_neighbours(cfg) != 0) {
		snprintf(err, errlen, "%s: cannot apply the static neighbours", cfg->path);
		return -ENOMEM;
	}
	publish_neigh();
	if (atomic_load(&g_lbd.neigh_tab) == NULL) {
		snprintf(err, errlen, "cannot build the neighbour table");
		return -ENOMEM;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -errno;
	}

	/* Tell the segments lbd's addresses live here now. */
	for (i = 0; i < cfg->n_ports; i++)
		lbd_send_garp((uint8_t)i, cfg->ports[i].addr);
	for (i = 0; i < cfg->n_snat; i++)
		lbd_send_garp((uint8_t)cfg->int_port, cfg->snat_addrs[i]);
	announce_vips(cfg, NULL);
	return 0;
}

static void
handle_signals(void)
{
	struct signalfd_siginfo si;
	char err[1024];

	while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			lbd_log(LBD_INFO, "SIGHUP: reloading %s", g_lbd.config_path);
			lbd_reload(err, sizeof(err));
			break;
		case SIGINT:
		case SIGTERM:
			lbd_log(LBD_INFO, "signal %u: stopping", si.ssi_signo);
			atomic_store(&g_lbd.quit, true);
			break;
		default:
			break;
		}
	}
}

static void
control_frame(struct rte_mbuf *m, uint64_t now)
{
	struct lbd_meta *meta = lbd_meta(m);
	const struct lb_arp_hdr *ah;
	struct lb_pkt p;

	g_lbd.cc.rx++;
	if (meta->kind == LB_DP_CTL_RESOLVE) {
		g_lbd.cc.resolve_in++;
		/* ownership of m passes to the neighbour table (sent, queued or dropped) */
		lb_neigh_resolve(g_lbd.neigh, meta->port, meta->nexthop, now, m);
		return;
	}
	if (meta->kind == LB_DP_CTL_CONFLICT) {
		lbd_arp_conflict(m, meta->port, now);
		rte_pktmbuf_free(m);
		return;
	}
	g_lbd.cc.arp_in++;
	if (lb_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, false, &p) == LB_PKT_OK &&
	    p.ether_type == LB_ETHER_TYPE_ARP) {
		ah = rte_pktmbuf_mtod_offset(m, const struct lb_arp_hdr *, p.l3_off);
		lb_neigh_input(g_lbd.neigh, meta->port, p.src, ah->sha, false, now);
	}
	rte_pktmbuf_free(m);
}

void
lbd_control_loop(void)
{
	struct pollfd fds[1 + 32];
	struct rte_mbuf *pkts[64];
	int nfds;

	while (!atomic_load(&g_lbd.quit)) {
		uint64_t now;
		unsigned n, total = 0, i;

		fds[0].fd = sig_fd;
		fds[0].events = POLLIN;
		fds[0].revents = 0;
		nfds = 1 + lb_ctl_server_pollfds(g_lbd.ctl, fds + 1, (int)RTE_DIM(fds) - 1);
		if (poll(fds, (nfds_t)nfds, CTL_POLL_MS) < 0 && errno != EINTR)
			lbd_log(LBD_WARN, "poll: %s", strerror(errno));
		if (fds[0].revents & POLLIN)
			handle_signals();
		lb_ctl_server_process(g_lbd.ctl, fds + 1, nfds - 1, lbd_ctl_handle, NULL);

		now = lbd_now_ms();
		do {
			n = rte_ring_dequeue_burst(g_lbd.to_ctl, (void **)pkts, RTE_DIM(pkts), NULL);
			for (i = 0; i < n; i++)
				control_frame(pkts[i], now);
			total += n;
		} while (n > 0 && total < CTL_RING_BUDGET);
		lbd_flows_poll();
		lb_neigh_run(g_lbd.neigh, now);
		if (lb_neigh_version(g_lbd.neigh) != g_lbd.neigh_version)
			publish_neigh();
		reclaim(false);
	}
}

void
lbd_control_term(void)
{
	struct rte_mbuf *m;

	lbd_flows_term();
	if (g_lbd.ctl != NULL)
		lb_ctl_server_close(g_lbd.ctl);
	g_lbd.ctl = NULL;
	if (sig_fd >= 0)
		close(sig_fd);
	sig_fd = -1;
	/* workers have stopped (or never started): everything can go now */
	while (g_lbd.to_ctl != NULL && rte_ring_dequeue(g_lbd.to_ctl, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	if (g_lbd.neigh != NULL)
		lb_neigh_destroy(g_lbd.neigh);
	g_lbd.neigh = NULL;
	for (uint32_t i = 0; i < g_lbd.n_deferred; i++)
		g_lbd.deferred[i].fn(g_lbd.deferred[i].ptr);
	g_lbd.n_deferred = 0;
	lb_snap_free(atomic_exchange(&g_lbd.snap, NULL));
	lb_neigh_table_free(atomic_exchange(&g_lbd.neigh_tab, NULL));
	for (uint32_t i = 0; g_lbd.workers != NULL && i < g_lbd.n_workers; i++)
		while ((g_lbd.workers[i].ctl_tx != NULL &&
			rte_ring_dequeue(g_lbd.workers[i].ctl_tx, (void **)&m) == 0) ||
		       (g_lbd.workers[i].handoff != NULL &&
			rte_ring_dequeue(g_lbd.workers[i].handoff, (void **)&m) == 0))
			rte_pktmbuf_free(m);
}
