/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread: owns every piece of mutable state and talks to the
 * workers only through RCU-published immutable objects (the snapshot and the
 * neighbour table) and rings (frames to and from the data path).
 *
 * Event loop (lib/ev): signals (signalfd), the lbctl socket, the snapshot
 * builder's completions (pipeline.c), the Kubernetes client's sockets and
 * timers (k8s.c), and a tick that drains the workers' rings (ARP frames,
 * frames waiting for a next hop), serves the kernel interfaces (kni.c), runs
 * neighbour timers and frees what the workers no longer see.
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

#include "lb_addr.h"
#include "lb_pkt.h"
#include "lbd.h"

#define CTL_TICK_MS		1
#define CTL_RING_BUDGET		1024
#define NEIGH_MAX_ENTRIES	65536

static int sig_fd = -1;
static struct lb_ev_timer *tick;

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
		LBD_LOG_RL(LBD_WARN, "control frame dropped: worker 0's control ring is full "
			"port=%u", port);
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
		LBD_LOG_RL(LBD_WARN, "no mbuf for an ARP frame port=%u", port);
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

/* Neighbour events, rate-limited: ARP from the wire can cause them. */
static void
neigh_event(void *ctx, const struct lb_neigh_info *i, const uint8_t *old_mac)
{
	char ip[LB_IP4_STRLEN], mac[LB_MAC_STRLEN], old[LB_MAC_STRLEN];
	const char *port = g_lbd.cfg->ports[i->port].name;

	(void)ctx;
	lb_ip4_fmt(i->ip, ip);
	if (i->state == LB_NEIGH_FAILED)
		LBD_LOG_RL(LBD_WARN, "neighbour unreachable: no ARP answer address=%s port=%s "
			"dropped=%u", ip, port, i->queued);
	else if (old_mac != NULL)
		LBD_LOG_RL(LBD_WARN, "neighbour moved to another MAC address=%s port=%s mac=%s "
			"old_mac=%s", ip, port, lb_mac_fmt(i->mac, mac), lb_mac_fmt(old_mac, old));
	else
		LBD_LOG_RL(LBD_DEBUG, "neighbour resolved address=%s port=%s mac=%s", ip, port,
			lb_mac_fmt(i->mac, mac));
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

void
lbd_defer_free_snap(struct lb_snap *s)
{
	defer_free(s, free_snap);
}

/* --- convergence: Kubernetes event arrival to published snapshot --- */

static struct {
	uint64_t ns[LBD_CONVERGENCE_KEEP];
	uint64_t count;
	uint64_t base;		/* count at the last reset: the window starts there */
	uint64_t max;		/* since the last reset */
} conv;

void
lbd_convergence_reset(void)
{
	conv.base = conv.count;
	conv.max = 0;
}

void
lbd_convergence_add(uint64_t ns)
{
	conv.ns[conv.count % LBD_CONVERGENCE_KEEP] = ns;
	conv.count++;
	if (ns > conv.max)
		conv.max = ns;
}

static int
u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

bool
lbd_convergence(uint64_t *p50, uint64_t *p99, uint64_t *count, uint64_t *max)
{
	static uint64_t tmp[LBD_CONVERGENCE_KEEP];
	uint64_t n = conv.count - conv.base < LBD_CONVERGENCE_KEEP ? conv.count - conv.base :
		LBD_CONVERGENCE_KEEP;

	*count = conv.count;
	*max = conv.max;
	if (n == 0)
		return false;
	/* the last n samples of the ring */
	for (uint64_t i = 0; i < n; i++)
		tmp[i] = conv.ns[(conv.count - n + i) % LBD_CONVERGENCE_KEEP];
	qsort(tmp, n, sizeof(uint64_t), u64cmp);
	*p50 = tmp[(n - 1) / 2];
	*p99 = tmp[(n * 99 + 99) / 100 - 1];
	return true;
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

int
lbd_apply_neighbours(const struct lb_config *cfg, char *err, size_t errlen)
{
	struct lb_neigh_params np;

	neigh_params(cfg, &np);
	/* static entries first: the only step that can fail (memory) */
	if (apply_static_neighbours(cfg) != 0) {
		snprintf(err, errlen, "%s: cannot apply the static neighbours (out of memory)",
			cfg->path);
		return -ENOMEM;
	}
	if (lb_neigh_set_params(g_lbd.neigh, &np) != 0) {
		snprintf(err, errlen, "%s: invalid arp settings", cfg->path);
		return -EINVAL;
	}
	return 0;
}

/* --- reload --- */

struct reload_check {
	char first[512];
	uint32_t n;
};

static void
reload_reject(void *ctx, const struct lb_model_fe *fe, const struct lb_model_target *t,
	const char *msg)
{
	struct reload_check *rc = ctx;

	(void)t;
	if (fe->origin_kind != LB_ORIGIN_CONFIG)
		return;	/* Kubernetes frontends are reported by the pipeline */
	if (rc->n++ == 0)
		snprintf(rc->first, sizeof(rc->first), "%s: %s", fe->origin + strlen("config "),
			msg);
}

void
lbd_reload_done(bool ok, const char *err)
{
	g_lbd.last_reload.ok = ok;
	g_lbd.last_reload.time = (uint64_t)time(NULL);
	snprintf(g_lbd.last_reload.error, sizeof(g_lbd.last_reload.error), "%s", ok ? "" : err);
	if (ok) {
		g_lbd.last_reload.n_ok++;
		lbd_log(LBD_INFO, "reloaded config=%s frontends=%u", LBD_Q(g_lbd.config_path),
			g_lbd.cfg->n_frontends);
		lbd_k8s_set_pools(g_lbd.cfg);
	} else {
		g_lbd.last_reload.n_failed++;
		lbd_log(LBD_ERR, "reload failed, running config kept error=%s", LBD_Q(err));
	}
}

int
lbd_reload(uint64_t token, char *err, size_t errlen)
{
	struct reload_check rc = { .n = 0 };
	struct lb_snap_input in;
	struct lb_snap_env env;
	struct lbd_cfg *next = NULL;
	struct lb_config *c;
	struct json_object *result;

	c = lb_config_load(g_lbd.config_path, err, errlen);
	if (c == NULL)
		goto fail;
	if (lb_config_reload_check(g_lbd.cfg, c, err, errlen) != 0 ||
	    lbd_k8s_check_pools(c, err, errlen) != 0) {
		lb_config_free(c);
		goto fail;
	}
	next = lbd_cfg_new(c, err, errlen);
	if (next == NULL) {
		lb_config_free(c);
		goto fail;
	}
	/* Everything the snapshot compiler would refuse, refused now: a reload
	 * either serves every frontend of the file or changes nothing. */
	memset(&env, 0, sizeof(env));
	env.n_workers = g_lbd.n_workers;
	env.reta_size = g_lbd.owner.reta_size;
	memset(&in, 0, sizeof(in));
	in.settings = c;
	in.env = &env;
	in.model = next->model;
	lb_snap_check(&in, reload_reject, &rc);
	if (rc.n > 0) {
		snprintf(err, errlen, "%s", rc.first);
		lbd_cfg_put(next);
		goto fail;
	}
	result = json_object_new_object();
	json_object_object_add(result, "frontends", json_object_new_uint64(c->n_frontends));
	lbd_cfg_put(g_lbd.cur);
	g_lbd.cur = next;
	g_lbd.cfg = c;
	if (lbd_pipeline_op(LBD_OP_RELOAD, token, result) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	lbd_log(LBD_INFO, "reloading config=%s frontends=%u", LBD_Q(g_lbd.config_path),
		c->n_frontends);
	return 0;
fail:
	lbd_reload_done(false, err);
	return -EINVAL;
}

/* --- event loop callbacks --- */

static void
on_signal(void *ctx, int fd, uint32_t events)
{
	struct signalfd_siginfo si;
	char err[1024];

	(void)ctx;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			lbd_log(LBD_INFO, "SIGHUP received, reloading config=%s",
				LBD_Q(g_lbd.config_path));
			lbd_reload(0, err, sizeof(err));
			break;
		case SIGINT:
		case SIGTERM:
			lbd_log(LBD_INFO, "stopping signal=%s", strsignal((int)si.ssi_signo));
			atomic_store(&g_lbd.quit, true);
			break;
		default:
			break;
		}
	}
}

static void on_tick(void *ctx);

/* --- init / loop / term --- */

int
lbd_control_init(char *err, size_t errlen)
{
	const struct lb_neigh_ops ops = {
		.ctx = NULL,
		.send_request = neigh_send_request,
		.send_pkt = neigh_send_pkt,
		.drop_pkt = neigh_drop_pkt,
		.event = neigh_event,
	};
	const struct lb_config *cfg = g_lbd.cfg;
	struct lb_neigh_params np;
	sigset_t sigs;
	uint32_t i;

	g_lbd.ev = lb_ev_create();
	if (g_lbd.ev == NULL) {
		snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
		return -ENOMEM;
	}
	neigh_params(cfg, &np);
	g_lbd.neigh = lb_neigh_create(&np, &ops);
	if (g_lbd.neigh == NULL) {
		snprintf(err, errlen, "cannot create the neighbour table");
		return -ENOMEM;
	}
	g_lbd.overlay = lb_overlay_new();
	g_lbd.cur = lbd_cfg_new(g_lbd.cfg, err, errlen);
	if (g_lbd.overlay == NULL || g_lbd.cur == NULL)
		return -ENOMEM;
	if (lbd_k8s_init(g_lbd.ev, err, errlen) != 0)
		return -EINVAL;
	if (lbd_pipeline_init(g_lbd.ev, err, errlen) != 0)
		return -EINVAL;
	if (lbd_health_init(g_lbd.ev, err, errlen) != 0)
		return -ENOMEM;
	if (apply_static_neighbours(cfg) != 0) {
		snprintf(err, errlen, "%s: cannot apply the static neighbours", cfg->path);
		return -ENOMEM;
	}
	publish_neigh();
	if (atomic_load(&g_lbd.neigh_tab) == NULL) {
		snprintf(err, errlen, "cannot build the neighbour table");
		return -ENOMEM;
	}

	/* the socket was opened (and checked) before the EAL started */
	if (lb_ctl_server_attach(g_lbd.ctl, g_lbd.ev, lbd_ctl_handle, NULL) != 0) {
		snprintf(err, errlen, "cannot attach the control socket to the event loop");
		return -EINVAL;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0 || lb_ev_fd_add(g_lbd.ev, sig_fd, LB_EV_IN, on_signal, NULL) != 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -EINVAL;
	}
	tick = lb_ev_timer_new(g_lbd.ev, on_tick, NULL);
	if (tick == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	lb_ev_timer_arm(tick, CTL_TICK_MS);

	/* Tell the segments lbd's addresses live here now (VIPs were announced
	 * when the first snapshot was published). */
	for (i = 0; i < cfg->n_ports; i++)
		lbd_send_garp((uint8_t)i, cfg->ports[i].addr);
	for (i = 0; i < cfg->n_snat; i++)
		lbd_send_garp((uint8_t)cfg->int_port, cfg->snat_addrs[i]);
	return 0;
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
		/* the kernel interface keeps its own neighbour entries */
		lbd_kni_arp(m, meta->port);
	}
	rte_pktmbuf_free(m);
}

/* Every CTL_TICK_MS: the workers' frames, neighbour timers, frees. ARP
 * first and all of it (its ring is small, and a reply is what releases the
 * frames in the other ring), then frames waiting for a next hop within a
 * budget. With a backlog left in either ring, again on the next pass without
 * sleeping. */
static void
on_tick(void *ctx)
{
	struct rte_mbuf *pkts[64];
	unsigned n, total = 0, i;
	uint64_t now = lbd_now_ms();

	(void)ctx;
	do {
		n = rte_ring_dequeue_burst(g_lbd.to_ctl_arp, (void **)pkts, RTE_DIM(pkts), NULL);
		for (i = 0; i < n; i++)
			control_frame(pkts[i], now);
		total += n;
	} while (n > 0 && total < LBD_ARP_RING_SIZE);
	total = 0;
	do {
		n = rte_ring_dequeue_burst(g_lbd.to_ctl, (void **)pkts, RTE_DIM(pkts), NULL);
		for (i = 0; i < n; i++)
			control_frame(pkts[i], now);
		total += n;
	} while (n > 0 && total < CTL_RING_BUDGET);
	lbd_kni_poll();
	lbd_flows_poll();
	lb_neigh_run(g_lbd.neigh, now);
	if (lb_neigh_version(g_lbd.neigh) != g_lbd.neigh_version)
		publish_neigh();
	reclaim(false);
	lbd_counters_reclaim(now);
	lb_ev_timer_arm(tick, rte_ring_count(g_lbd.to_ctl) > 0 ||
		rte_ring_count(g_lbd.to_ctl_arp) > 0 ? 0 : CTL_TICK_MS);
}

void
lbd_control_loop(void)
{
	while (!atomic_load(&g_lbd.quit)) {
		int rc = lb_ev_run_once(g_lbd.ev, 100);

		if (rc < 0)
			lbd_log(LBD_WARN, "event loop error error=%s", LBD_Q(strerror(-rc)));
	}
}

void
lbd_control_term(void)
{
	struct rte_mbuf *m;

	lbd_flows_term();
	lbd_k8s_term();
	lbd_health_term();
	lbd_pipeline_term(g_lbd.ev);
	if (g_lbd.ctl != NULL)
		lb_ctl_server_close(g_lbd.ctl);
	g_lbd.ctl = NULL;
	if (sig_fd >= 0) {
		if (g_lbd.ev != NULL)
			lb_ev_fd_del(g_lbd.ev, sig_fd);
		close(sig_fd);
	}
	sig_fd = -1;
	lb_ev_timer_free(tick);
	tick = NULL;
	/* workers have stopped (or never started): everything can go now */
	while (g_lbd.to_ctl != NULL && rte_ring_dequeue(g_lbd.to_ctl, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (g_lbd.to_ctl_arp != NULL && rte_ring_dequeue(g_lbd.to_ctl_arp, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	if (g_lbd.neigh != NULL)
		lb_neigh_destroy(g_lbd.neigh);
	g_lbd.neigh = NULL;
	for (uint32_t i = 0; i < g_lbd.n_deferred; i++)
		g_lbd.deferred[i].fn(g_lbd.deferred[i].ptr);
	g_lbd.n_deferred = 0;
	lb_snap_free(atomic_exchange(&g_lbd.snap, NULL));
	lb_overlay_free(g_lbd.overlay);
	g_lbd.overlay = NULL;
	/* g_lbd.cfg stays valid for main's last messages: main frees it */
	if (g_lbd.cur != NULL) {
		g_lbd.cur->c = NULL;	/* lb_config_free(NULL) is a no-op */
		lbd_cfg_put(g_lbd.cur);
		g_lbd.cur = NULL;
	}
	lb_ev_destroy(g_lbd.ev);
	g_lbd.ev = NULL;
	lb_neigh_table_free(atomic_exchange(&g_lbd.neigh_tab, NULL));
	for (uint32_t i = 0; g_lbd.workers != NULL && i < g_lbd.n_workers; i++)
		while ((g_lbd.workers[i].ctl_tx != NULL &&
			rte_ring_dequeue(g_lbd.workers[i].ctl_tx, (void **)&m) == 0) ||
		       (g_lbd.workers[i].handoff != NULL &&
			rte_ring_dequeue(g_lbd.workers[i].handoff, (void **)&m) == 0))
			rte_pktmbuf_free(m);
}
