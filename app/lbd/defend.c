/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Address conflicts (control thread): another station sent an ARP claiming
 * one of lbd's addresses on the port lbd answers for it. lbd keeps the address
 * (it is configured to own it) and defends it as RFC 5227 2.4 (c) allows: it
 * logs the conflict and broadcasts one announcement, at most once per
 * DEFEND_INTERVAL per address, so two stations that both defend do not loop.
 * The workers pass at most one conflicting frame per second each
 * (LB_DP_CONFLICT_MS); the rest are counted as arp_conflict drops.
 */
#include <string.h>
#include <arpa/inet.h>

#include "lb_addr.h"
#include "lb_pkt.h"
#include "lbd.h"

/* RFC 5227: DEFEND_INTERVAL, 10 seconds. */
#define DEFEND_INTERVAL_MS	10000
#define DEFEND_SLOTS		64

static struct {
	uint32_t addr;		/* 0: free */
	uint64_t last;		/* when lbd last announced it because of a conflict */
} defended[DEFEND_SLOTS];

/* The slot for addr: its own, a free one, or the one defended longest ago. */
static unsigned
slot_of(uint32_t addr)
{
	unsigned i, best = 0;

	for (i = 0; i < DEFEND_SLOTS; i++) {
		if (defended[i].addr == addr)
			return i;
		if (defended[i].addr == 0 || defended[i].last < defended[best].last)
			best = i;
	}
	if (defended[best].addr != addr) {
		defended[best].addr = addr;
		defended[best].last = 0;
	}
	return best;
}

static const char *
kind_str(const struct lb_snap_local *l)
{
	if (l == NULL)
		return "address";
	switch (l->kind) {
	case LB_LOCAL_VIP:
		return "VIP";
	case LB_LOCAL_SNAT:
		return "SNAT address";
	default:
		return "port address";
	}
}

void
lbd_arp_conflict(struct rte_mbuf *m, uint8_t port, uint64_t now)
{
	const struct lb_snap *s = atomic_load_explicit(&g_lbd.snap, memory_order_acquire);
	const struct lb_arp_hdr *ah;
	char ip[LB_IP4_STRLEN], mac[LB_MAC_STRLEN];
	struct lb_pkt p;
	uint32_t addr;
	unsigned i;

	g_lbd.cc.arp_conflicts++;
	if (lb_pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, false, &p) != LB_PKT_OK ||
	    p.ether_type != LB_ETHER_TYPE_ARP || port >= s->n_ports)
		return;
	ah = rte_pktmbuf_mtod_offset(m, const struct lb_arp_hdr *, p.l3_off);
	memcpy(&addr, &ah->spa, sizeof(addr));
	i = slot_of(addr);
	if (defended[i].last != 0 && now - defended[i].last < DEFEND_INTERVAL_MS) {
		lbd_log(LBD_DEBUG, "ARP conflict on port %s: %s claims %s %s (defended %lu ms ago)",
			s->ports[port].name, lb_mac_fmt(ah->sha, mac), kind_str(lb_snap_local_lookup(s,
			addr)), lb_ip4_fmt(addr, ip), (unsigned long)(now - defended[i].last));
		return;
	}
	defended[i].last = now ? now : 1;
	lbd_log(LBD_WARN, "ARP conflict on port %s: %s claims %s %s; lbd keeps it and "
		"announces it again (at most every %u s)", s->ports[port].name,
		lb_mac_fmt(ah->sha, mac), kind_str(lb_snap_local_lookup(s, addr)),
		lb_ip4_fmt(addr, ip), DEFEND_INTERVAL_MS / 1000);
	g_lbd.cc.arp_defences++;
	lbd_send_garp(port, addr);
}
