/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_DP_PRIV_H
#define LB_DP_PRIV_H

/*
 * Internals of lib/dp shared by its files: lb_dp.c (dispatch, flows, bursts),
 * lb_dp_local.c (ARP, echo), lb_dp_icmp.c (ICMP errors). The helpers on the
 * per-packet path are inline so that the hot path pays no calls for them.
 */
#include <string.h>
#include <arpa/inet.h>

#include "lb_csum.h"
#include "lb_dp.h"
#include "lb_dp_guard.h"
#include "lb_pkt.h"

#define IP4_DEFAULT_TTL	64

/* What the stages of a burst know about one frame. */
struct lb_dp_ctx {
	struct lb_pkt p;
	uint64_t hash;		/* w->flows hash of the frame's own 5-tuple, when hashed */
	bool hashed;
	uint8_t hints;		/* LB_DP_HINT_* */
	uint32_t rss;
};

static inline uint16_t
lb_dp_load16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

void lb_dp_ip4_set_csum(struct lb_ipv4_hdr *ip);

/*
 * Rewrites the ports of a TCP/UDP header for a move from addresses
 * osrc -> odst to src:sport -> dst:dport, updating its checksum for the
 * pseudo-header and port changes (RFC 1624). A UDP checksum of zero (none)
 * stays zero; with csum false a TCP checksum is left alone (an ICMP error
 * that does not quote it).
 */
static inline void
lb_dp_l4_rewrite(uint8_t *l4, uint8_t proto, uint32_t osrc, uint32_t odst, uint32_t src,
	uint16_t sport, uint32_t dst, uint16_t dport, bool csum)
{
	uint16_t c;

	if (proto == LB_PROTO_TCP) {
		struct lb_tcp_hdr *th = (struct lb_tcp_hdr *)l4;

		if (csum) {
			c = lb_csum_update32(th->csum, osrc, src);
			c = lb_csum_update32(c, odst, dst);
			c = lb_csum_update16(c, th->sport, sport);
			th->csum = lb_csum_update16(c, th->dport, dport);
		}
		th->sport = sport;
		th->dport = dport;
	} else {
		struct lb_udp_hdr *uh = (struct lb_udp_hdr *)l4;

		c = lb_csum_udp_update32(uh->csum, osrc, src);
		c = lb_csum_udp_update32(c, odst, dst);
		c = lb_csum_udp_update16(c, uh->sport, sport);
		uh->csum = lb_csum_udp_update16(c, uh->dport, dport);
		uh->sport = sport;
		uh->dport = dport;
	}
}

/*
 * Rewrites the IPv4 addresses and L4 ports of a TCP/UDP packet, decrementing
 * the TTL, with incremental checksum updates.
 */
static inline void
lb_dp_nat_rewrite(uint8_t *frame, const struct lb_pkt *p, uint32_t src, uint16_t sport,
	uint32_t dst, uint16_t dport)
{
	struct lb_ipv4_hdr *ip = (struct lb_ipv4_hdr *)(frame + p->l3_off);
	uint8_t ttlp[2];
	uint16_t old_tp, new_tp, c;

	/* TTL and protocol as one 16-bit word, decremented in a register: a
	 * byte store followed by a wider load of the same bytes would stall
	 * on store forwarding. */
	memcpy(ttlp, &ip->ttl, 2);
	memcpy(&old_tp, ttlp, 2);
	ttlp[0]--;
	memcpy(&new_tp, ttlp, 2);
	memcpy(&ip->ttl, &new_tp, 2);
	c = lb_csum_update32(ip->csum, ip->src, src);
	c = lb_csum_update32(c, ip->dst, dst);
	ip->csum = lb_csum_update16(c, old_tp, new_tp);
	lb_dp_l4_rewrite(frame + p->l4_off, p->proto, ip->src, ip->dst, src, sport, dst, dport, true);
	ip->src = src;
	ip->dst = dst;
}

/*
 * Makes the frame's 802.1Q tagging match the output port, moving the MAC
 * addresses when a tag is pushed or popped. Returns the new frame start or
 * NULL when there is no headroom for a tag; *adj receives the shift.
 */
static inline uint8_t *
lb_dp_vlan_adjust(uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint16_t out_vlan,
	int32_t *adj)
{
	struct lb_vlan_hdr *vh;

	*adj = 0;
	if (p->has_vlan && out_vlan != 0) {
		/* retag in place: TPID at 12, TCI at 14 */
		vh = (struct lb_vlan_hdr *)(frame + 14);
		vh->tci = htons(out_vlan & 0xfff);
		return frame;
	}
	if (!p->has_vlan && out_vlan == 0)
		return frame;
	if (p->has_vlan) {
		/* pop: slide the two MAC addresses over the tag */
		memmove(frame + 4, frame, 12);
		*adj = 4;
		return frame + 4;
	}
	if (headroom < 4)
		return NULL;
	/* push: the ether type at offset 12 becomes the tag's inner type */
	memmove(frame - 4, frame, 12);
	frame -= 4;
	*adj = -4;
	frame[12] = LB_ETHER_TYPE_VLAN >> 8;
	frame[13] = LB_ETHER_TYPE_VLAN & 0xff;
	vh = (struct lb_vlan_hdr *)(frame + 14);
	vh->tci = htons(out_vlan & 0xfff);
	/* vh->type (offset 16) is the original ether type, already in place */
	return frame;
}

static inline void
lb_dp_set_macs(uint8_t *frame, const uint8_t *dst, const uint8_t *src)
{
	struct lb_ether_hdr *eh = (struct lb_ether_hdr *)frame;

	memcpy(eh->dst, dst, LB_ETHER_ADDR_LEN);
	memcpy(eh->src, src, LB_ETHER_ADDR_LEN);
}

static inline enum lb_dp_verdict
lb_dp_drop(struct lb_dp_worker *w, struct lb_dp_result *r, enum lb_drop why)
{
	w->ctr.drops[why]++;
	r->reason = why;
	return LB_DP_DROP;
}

static inline enum lb_dp_verdict
lb_dp_handoff(struct lb_dp_result *r, uint32_t owner)
{
	r->worker = (uint16_t)owner;
	return LB_DP_HANDOFF;
}

/*
 * Finishes a frame out port `out` to dst: resolves dst's next hop there (dst
 * itself on the port's subnet, else its gateway), fixes the VLAN tag and
 * MACs. The L3/L4 rewrite is done.
 */
static inline enum lb_dp_verdict
lb_dp_out_port(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint8_t out, uint32_t dst,
	struct lb_dp_result *r)
{
	const struct lb_snap_port *op = &s->ports[out];
	uint8_t mac[LB_ETHER_ADDR_LEN];
	uint32_t nh = dst;
	int32_t adj;
	int st;

	if ((dst & op->mask) != (op->addr & op->mask)) {
		if (op->gateway == 0)
			return lb_dp_drop(w, r, LB_DROP_NO_ROUTE);
		nh = op->gateway;
	}
	st = lb_neigh_lookup(nt, out, nh, mac);
	if (LB_UNLIKELY(st == LB_NEIGH_DOWN || st == LB_NEIGH_PENDING))
		return lb_dp_drop(w, r, st == LB_NEIGH_DOWN ? LB_DROP_NEIGH_DOWN :
			LB_DROP_NEIGH_PENDING);
	frame = lb_dp_vlan_adjust(frame, p, headroom, op->vlan, &adj);
	if (frame == NULL)
		return lb_dp_drop(w, r, LB_DROP_NO_MBUF);
	r->adj = adj;
	r->port = out;
	if (st == LB_NEIGH_MISS) {
		/* control sets the destination MAC once ARP answers */
		lb_dp_set_macs(frame, op->mac, op->mac);
		r->ctl = LB_DP_CTL_RESOLVE;
		r->nexthop = nh;
		return LB_DP_TO_CTL;
	}
	lb_dp_set_macs(frame, mac, op->mac);
	return LB_DP_TX;
}

/* Finishes a frame towards a target on the internal side (lb_dp_out_port). */
static inline enum lb_dp_verdict
lb_dp_out_internal(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint32_t dst,
	struct lb_dp_result *r)
{
	return lb_dp_out_port(w, s, nt, frame, p, headroom, s->int_port, dst, r);
}

/* Finishes a frame towards a client: out the port the flow arrived on, to the
 * MAC its packets came from. */
static inline enum lb_dp_verdict
lb_dp_out_client(const struct lb_snap *s, uint8_t *frame, const struct lb_pkt *p, uint32_t headroom,
	const struct lb_flow *f, struct lb_dp_worker *w, struct lb_dp_result *r)
{
	const struct lb_snap_port *op = &s->ports[f->port];
	int32_t adj;

	frame = lb_dp_vlan_adjust(frame, p, headroom, op->vlan, &adj);
	if (frame == NULL)
		return lb_dp_drop(w, r, LB_DROP_NO_MBUF);
	lb_dp_set_macs(frame, f->peer_mac, op->mac);
	r->adj = adj;
	r->port = f->port;
	return LB_DP_TX;
}

/* Owner of a client's frames (client -> VIP, and DNAT replies to it): the
 * NIC's RSS hash when the port hashes as lib/owner does, else lib/owner's
 * own computation of it. */
static inline uint32_t
lb_dp_client_owner(const struct lb_snap *s, const struct lb_dp_ctx *c, uint8_t in_port,
	uint32_t client)
{
	if (s->owner.n_workers == 1)
		return 0;
	if ((c->hints & LB_DP_HINT_RSS) && s->ports[in_port].rss_owner)
		return lb_owner_of_hash(&s->owner, c->rss);
	return lb_owner_of_client(&s->owner, client);
}

/* Owner of a frame whose destination is a SNAT address, from the SNAT port. */
static inline int
lb_dp_snat_owner(const struct lb_snap *s, uint16_t port_be)
{
	return lb_snat_owner(&s->snat, ntohs(port_be));
}

/* lb_dp_local.c */
enum lb_dp_verdict lb_dp_arp_input(struct lb_dp_worker *w, const struct lb_snap *s,
	uint8_t *frame, const struct lb_pkt *p, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r);
enum lb_dp_verdict lb_dp_echo_reply(struct lb_dp_worker *w, const struct lb_snap *s,
	uint8_t *frame, const struct lb_pkt *p, uint8_t in_port, struct lb_dp_result *r);
enum lb_dp_verdict lb_dp_to_kernel(struct lb_dp_worker *w, const struct lb_snap *s,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r);

/* lb_dp_icmp.c */
static inline bool
lb_dp_icmp_is_error(const struct lb_pkt *p)
{
	return p->icmp_type == LB_ICMP_DEST_UNREACH || p->icmp_type == LB_ICMP_TIME_EXCEEDED;
}

enum lb_dp_verdict lb_dp_icmp_from_client(struct lb_dp_worker *w, const struct lb_snap *s,
	const struct lb_neigh_table *nt, uint8_t *frame, const struct lb_pkt *p,
	uint32_t headroom, uint64_t now, struct lb_dp_result *r);
enum lb_dp_verdict lb_dp_icmp_from_target(struct lb_dp_worker *w, const struct lb_snap *s,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint64_t now,
	struct lb_dp_result *r);

#endif /* LB_DP_PRIV_H */
