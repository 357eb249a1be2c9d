/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop: poll-mode, run to completion, no locks, no heap, no logs.
 *
 *   rx bursts (own queues, then frames handed over by other workers)
 *   -> lb_dp_process_burst (staged: parse and hash, prefetch buckets,
 *   prefetch flows, act) -> per-port tx buffers / hand-off buffers /
 *   control ring -> flush -> control-originated frames -> quiescent state
 *   -> bounded housekeeping every HOUSEKEEP_PASSES passes.
 */
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include "lbd.h"

#define HOUSEKEEP_PASSES	1024
#define EXPIRE_BUDGET		256

struct txbuf {
	uint16_t n;
	struct rte_mbuf *m[LBD_BURST * 2];
};

struct wstate {
	struct lbd_worker *w;
	struct txbuf tx[LB_MAX_PORTS];
	struct txbuf handoff[LB_MAX_WORKERS];
	struct txbuf ctl;	/* frames waiting for a next hop */
	struct txbuf ctl_arp;	/* ARP for control: a ring of its own */
	struct txbuf kni;
	struct txbuf drop;
};

static void
flush_tx(struct wstate *ws, uint8_t port)
{
	struct txbuf *b = &ws->tx[port];
	uint16_t sent;

	if (b->n == 0)
		return;
	sent = rte_eth_tx_burst(g_lbd.ports[port].dev, (uint16_t)ws->w->index, b->m, b->n);
	ws->w->dp.ctr.tx += sent;
	if (sent < b->n) {
		ws->w->dp.ctr.drops[LB_DROP_TX_FULL] += b->n - sent;
		rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
	}
	b->n = 0;
}

static void
flush_handoff(struct wstate *ws, uint32_t to)
{
	struct txbuf *b = &ws->handoff[to];
	unsigned sent;

	if (b->n == 0)
		return;
	sent = rte_ring_enqueue_burst(g_lbd.workers[to].handoff, (void **)b->m, b->n, NULL);
	ws->w->dp.ctr.handoff_out += sent;
	if (sent < b->n) {
		ws->w->dp.ctr.drops[LB_DROP_HANDOFF_FULL] += b->n - sent;
		rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
	}
	b->n = 0;
}

static void
flush_ctl(struct wstate *ws, struct txbuf *b, struct rte_ring *r, enum lb_drop full)
{
	unsigned sent;

	if (b->n == 0)
		return;
	sent = rte_ring_enqueue_burst(r, (void **)b->m, b->n, NULL);
	ws->w->dp.ctr.to_ctl += sent;
	if (sent < b->n) {
		ws->w->dp.ctr.drops[full] += b->n - sent;
		rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
	}
	b->n = 0;
}

/* Frames for the kernel interfaces: a ring of their own, so that a flood of a
 * port's address cannot crowd ARP out of the control ring. */
static void
flush_kni(struct wstate *ws)
{
	struct txbuf *b = &ws->kni;
	unsigned sent = 0;

	if (b->n == 0)
		return;
	if (g_lbd.to_kni != NULL)
		sent = rte_ring_enqueue_burst(g_lbd.to_kni, (void **)b->m, b->n, NULL);
	ws->w->dp.ctr.to_ctl += sent;
	if (sent < b->n) {
		ws->w->dp.ctr.drops[LB_DROP_KERNEL_FULL] += b->n - sent;
		rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
	}
	b->n = 0;
}

static inline void
to_drop(struct wstate *ws, struct rte_mbuf *m)
{
	ws->drop.m[ws->drop.n++] = m;
	if (ws->drop.n == RTE_DIM(ws->drop.m)) {
		rte_pktmbuf_free_bulk(ws->drop.m, ws->drop.n);
		ws->drop.n = 0;
	}
}

/* Applies the data path's frame shift (VLAN push/pop) and length (nothing
 * past the IPv4 datagram) to the single-segment mbuf. */
static inline bool
apply_adj(struct rte_mbuf *m, const struct lb_dp_result *r)
{
	if (r->adj > 0 && rte_pktmbuf_adj(m, (uint16_t)r->adj) == NULL)
		return false;
	if (r->adj < 0 && rte_pktmbuf_prepend(m, (uint16_t)-r->adj) == NULL)
		return false;
	if (r->len > m->data_len)
		return false;
	m->data_len = (uint16_t)r->len;
	m->pkt_len = r->len;
	return true;
}

/* NIC offload flags as lib/dp's hints (plain fields, no DPDK in lib/). */
static inline uint8_t
hints_of(const struct rte_mbuf *m, uint32_t *rss)
{
	uint64_t f = m->ol_flags;
	uint8_t h = 0;

	if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		h |= LB_DP_HINT_IP_CSUM_GOOD;
	else if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		h |= LB_DP_HINT_IP_CSUM_BAD;
	if (f & RTE_MBUF_F_RX_RSS_HASH) {
		h |= LB_DP_HINT_RSS;
		*rss = m->hash.rss;
	}
	return h;
}

static void
process_burst(struct wstate *ws, const struct lb_snap *s, const struct lb_neigh_table *nt,
	struct rte_mbuf **pkts, uint16_t n, int fixed_port, uint64_t now)
{
	struct lbd_worker *w = ws->w;
	struct lb_dp_pkt dp[LBD_BURST];
	uint16_t i, k = 0;

	/* The parse stage reads every header in turn: start all the loads. */
	for (i = 0; i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (unlikely(m->nb_segs != 1)) {
			/* frames larger than one mbuf do not occur at lbd's MTU */
			w->dp.ctr.drops[LB_DROP_MALFORMED_L2]++;
			to_drop(ws, m);
			continue;
		}
		pkts[k] = m;
		dp[k].frame = rte_pktmbuf_mtod(m, uint8_t *);
		dp[k].len = m->data_len;
		dp[k].headroom = rte_pktmbuf_headroom(m);
		dp[k].in_port = fixed_port >= 0 ? (uint8_t)fixed_port : s->dev_to_port[m->port];
		dp[k].hints = hints_of(m, &dp[k].rss);
		k++;
	}
	lb_dp_process_burst(&w->dp, s, nt, dp, k, now);
	for (i = 0; i < k; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct lb_dp_result *r = &dp[i].r;
		struct txbuf *b;

		switch (dp[i].verdict) {
		case LB_DP_TX:
			if (unlikely(!apply_adj(m, r))) {
				w->dp.ctr.drops[LB_DROP_NO_MBUF]++;
				to_drop(ws, m);
				break;
			}
			b = &ws->tx[r->port];
			b->m[b->n++] = m;
			if (b->n == RTE_DIM(b->m))
				flush_tx(ws, r->port);
			break;
		case LB_DP_HANDOFF:
			b = &ws->handoff[r->worker];
			b->m[b->n++] = m;
			if (b->n == RTE_DIM(b->m))
				flush_handoff(ws, r->worker);
			break;
		case LB_DP_TO_CTL: {
			struct lbd_meta *meta;

			if (unlikely(!apply_adj(m, r))) {
				w->dp.ctr.drops[LB_DROP_NO_MBUF]++;
				to_drop(ws, m);
				break;
			}
			meta = lbd_meta(m);
			meta->kind = r->ctl;
			meta->port = r->port;
			meta->nexthop = r->nexthop;
			if (unlikely(r->ctl == LB_DP_CTL_KERNEL)) {
				b = &ws->kni;
				b->m[b->n++] = m;
				if (b->n == RTE_DIM(b->m))
					flush_kni(ws);
				break;
			}
			if (r->ctl == LB_DP_CTL_RESOLVE) {
				b = &ws->ctl;
				b->m[b->n++] = m;
				if (b->n == RTE_DIM(b->m))
					flush_ctl(ws, b, g_lbd.to_ctl, LB_DROP_CTL_FULL);
			} else {
				b = &ws->ctl_arp;
				b->m[b->n++] = m;
				if (b->n == RTE_DIM(b->m))
					flush_ctl(ws, b, g_lbd.to_ctl_arp, LB_DROP_ARP_RING_FULL);
			}
			break;
		}
		default:
			to_drop(ws, m);
			break;
		}
	}
}

/* Frames the control thread asked this worker to transmit. */
static void
send_ctl_frames(struct wstate *ws)
{
	struct lbd_worker *w = ws->w;
	struct rte_mbuf *pkts[LBD_BURST];
	unsigned n, i;

	n = rte_ring_dequeue_burst(w->ctl_tx, (void **)pkts, LBD_BURST, NULL);
	for (i = 0; i < n; i++) {
		uint8_t port = lbd_meta(pkts[i])->port;

		if (rte_eth_tx_burst(g_lbd.ports[port].dev, (uint16_t)w->index, &pkts[i], 1) == 1) {
			w->dp.ctr.ctl_tx++;
		} else {
			w->dp.ctr.ctl_tx_failed++;
			rte_pktmbuf_free(pkts[i]);
		}
	}
}

static void
housekeep(struct lbd_worker *w, uint64_t now)
{
	const struct lb_flow_stats *fs;
	uint64_t ev = 0;
	int cls;

	lb_dp_housekeep(&w->dp, now, EXPIRE_BUDGET);
	fs = lb_flow_stats(w->dp.flows);
	for (cls = 0; cls < LB_FLOW_NCLASS; cls++)
		ev += fs->evicted[cls];
	w->dp.ctr.flows_evicted = ev;
	w->flows_live = lb_flow_count(w->dp.flows);
	w->affinity_live = lb_flow_count(w->dp.affinity);
	lbd_flows_serve(w, now);
}

int
lbd_worker_main(void *arg)
{
	struct wstate ws;
	struct lbd_worker *w = arg;
	struct rte_mbuf *pkts[LBD_BURST];
	uint32_t pass = 0, q, p;
	uint64_t hz = rte_get_tsc_hz(), t0, t1, win = rte_rdtsc(), pass_max = 0;

	memset(&ws, 0, sizeof(ws));
	ws.w = w;
	rte_rcu_qsbr_thread_register(g_lbd.qsv, w->index);
	rte_rcu_qsbr_thread_online(g_lbd.qsv, w->index);

	while (!atomic_load_explicit(&g_lbd.quit, memory_order_relaxed)) {
		const struct lb_snap *s = atomic_load_explicit(&g_lbd.snap, memory_order_acquire);
		const struct lb_neigh_table *nt =
			atomic_load_explicit(&g_lbd.neigh_tab, memory_order_acquire);
		uint64_t now;
		unsigned n, frames = 0;

		t0 = rte_rdtsc();
		now = t0 / g_lbd.tsc_per_ms;
		for (q = 0; q < w->n_rxq; q++) {
			n = rte_eth_rx_burst(w->rxq[q].dev, w->rxq[q].queue, pkts, LBD_BURST);
			if (n == 0)
				continue;
			w->dp.ctr.rx += n;
			w->dp.ctr.rx_bursts[lb_dp_burst_bucket(n)]++;
			frames += n;
			process_burst(&ws, s, nt, pkts, (uint16_t)n, w->rxq[q].port, now);
		}
		n = rte_ring_dequeue_burst(w->handoff, (void **)pkts, LBD_BURST, NULL);
		if (n > 0) {
			w->dp.ctr.handoff_in += n;
			frames += n;
			process_burst(&ws, s, nt, pkts, (uint16_t)n, -1, now);
		}
		for (p = 0; p < g_lbd.n_ports; p++)
			flush_tx(&ws, (uint8_t)p);
		for (p = 0; p < g_lbd.n_workers; p++)
			flush_handoff(&ws, p);
		flush_ctl(&ws, &ws.ctl_arp, g_lbd.to_ctl_arp, LB_DROP_ARP_RING_FULL);
		flush_ctl(&ws, &ws.ctl, g_lbd.to_ctl, LB_DROP_CTL_FULL);
		flush_kni(&ws);
		if (ws.drop.n > 0) {
			rte_pktmbuf_free_bulk(ws.drop.m, ws.drop.n);
			ws.drop.n = 0;
		}
		send_ctl_frames(&ws);

		/* s and nt are not used past this point */
		rte_rcu_qsbr_quiescent(g_lbd.qsv, w->index);

		if (++pass == HOUSEKEEP_PASSES) {
			pass = 0;
			housekeep(w, now);
		}

		/* Cycle accounting: per-frame cost (cycles_busy / frames_busy)
		 * and the longest pass of each second (a stall of the worker,
		 * whatever caused it: a snapshot swap, housekeeping, or the
		 * kernel running something else on this core). */
		t1 = rte_rdtsc();
		if (frames > 0) {
			w->dp.ctr.cycles_busy += t1 - t0;
			w->dp.ctr.frames_busy += frames;
		}
		if (t1 - t0 > pass_max)
			pass_max = t1 - t0;
		if (t1 - win >= hz) {
			w->dp.ctr.pass_max_cycles = pass_max;
			pass_max = 0;
			win = t1;
		}
	}
	rte_rcu_qsbr_thread_offline(g_lbd.qsv, w->index);
	rte_rcu_qsbr_thread_unregister(g_lbd.qsv, w->index);
	return 0;
}
