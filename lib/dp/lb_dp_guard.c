/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>
#include <arpa/inet.h>

#include "lb_dp_guard.h"

#define ETHER_MIN_LEN	60	/* without the FCS */
#define ARP_LEN		28

static inline bool
is_lbd_mac(const struct lb_snap *s, const uint8_t *mac)
{
	uint32_t i;

	for (i = 0; i < s->n_ports; i++)
		if (memcmp(mac, s->ports[i].mac, LB_ETHER_ADDR_LEN) == 0)
			return true;
	return false;
}

/* Never a valid source (RFC 1812 5.3.7): "this network" 0/8, loopback 127/8,
 * multicast 224/4, reserved 240/4 and the limited broadcast, and the directed
 * broadcast of the subnet the frame arrived on. */
static inline bool
is_martian(const struct lb_snap_port *port, uint32_t src)
{
	uint32_t a = ntohl(src), mask = ntohl(port->mask);

	if ((a >> 24) == 0 || (a >> 24) == 127 || a >= 0xe0000000U)
		return true;
	/* /31 and /32 have no broadcast address (RFC 3021) */
	return mask < 0xfffffffeU && (a & ~mask) == ~mask &&
		(a & mask) == (ntohl(port->addr) & mask);
}

static inline bool
tcp_flags_bad(uint8_t fl)
{
	if (fl & LB_TCP_SYN)
		return (fl & (LB_TCP_FIN | LB_TCP_RST)) != 0;
	return (fl & (LB_TCP_ACK | LB_TCP_RST)) == 0;
}

enum lb_drop
lb_dp_guard_rx(const struct lb_snap *s, uint8_t in_port, const uint8_t *frame,
	const struct lb_pkt *p)
{
	const struct lb_snap_port *port = &s->ports[in_port];
	const uint8_t *smac = frame + LB_ETHER_ADDR_LEN;
	bool maybe;

	if (LB_UNLIKELY(smac[0] & 1))
		return LB_DROP_SRC_MAC;
	if (LB_UNLIKELY(is_lbd_mac(s, smac)))
		return LB_DROP_OWN_SRC_MAC;
	if (p->ether_type != LB_ETHER_TYPE_IPV4)
		return LB_DROP_MAX;	/* ARP: lb_dp_guard_arp_conflict */
	if (LB_UNLIKELY(is_martian(port, p->src)))
		return LB_DROP_MARTIAN;
	/* the exact sets only for the few sources the filter lets through */
	maybe = lb_snap_src_maybe_special(s, p->src);
	if (LB_UNLIKELY(maybe) && lb_snap_local_lookup(s, p->src) != NULL)
		return LB_DROP_OWN_SRC;
	if (port->role == LB_ROLE_EXTERNAL) {
		const struct lb_snap_port *ip = &s->ports[s->int_port];

		if (LB_UNLIKELY((p->src & ip->mask) == (ip->addr & ip->mask) ||
				(maybe && lb_snap_is_target(s, p->src))))
			return LB_DROP_SPOOFED;
	}
	if (p->is_frag)
		return LB_DROP_MAX;
	if (p->proto == LB_PROTO_TCP || p->proto == LB_PROTO_UDP) {
		if (LB_UNLIKELY(p->sport == 0 || p->dport == 0))
			return LB_DROP_ZERO_PORT;
		if (p->proto == LB_PROTO_TCP && LB_UNLIKELY(tcp_flags_bad(p->tcp_flags)))
			return LB_DROP_TCP_FLAGS;
	}
	return LB_DROP_MAX;
}

bool
lb_dp_guard_arp_conflict(const struct lb_snap *s, uint8_t in_port, const struct lb_arp_hdr *ah)
{
	const struct lb_snap_local *l;
	uint32_t spa;

	memcpy(&spa, &ah->spa, sizeof(spa));
	if (spa == 0)
		return false;	/* a probe (RFC 5227 2.1.1): answered like any request */
	l = lb_snap_local_lookup(s, spa);
	if (l == NULL || l->port != in_port)
		return false;
	return !is_lbd_mac(s, ah->sha);
}

enum lb_drop
lb_dp_guard_tx(const struct lb_snap *s, const struct lb_pkt *p, uint8_t *frame, uint32_t len,
	struct lb_dp_result *r)
{
	uint32_t l2 = (uint32_t)((int32_t)p->l2_len - r->adj);
	uint32_t have = (uint32_t)((int64_t)len - r->adj);
	uint32_t n;

	if (p->ether_type == LB_ETHER_TYPE_ARP) {
		n = l2 + ARP_LEN;
	} else {
		if (LB_UNLIKELY(p->l3_len > s->ports[r->port].mtu))
			return LB_DROP_MTU;
		n = l2 + p->l3_len;
	}
	if (n < ETHER_MIN_LEN && have > n) {
		uint32_t pad = LB_MIN(have, (uint32_t)ETHER_MIN_LEN);

		memset(frame + r->adj + n, 0, pad - n);
		n = pad;
	}
	r->len = n;
	return LB_DROP_MAX;
}

bool
lb_dp_guard_flow_allowed(const struct lb_snap *s, const struct lb_flow_key *fwd)
{
	const struct lb_snap_fe *fe;

	if (LB_LIKELY(!s->any_src_ranges))
		return true;
	fe = lb_snap_fe_lookup(s, fwd->dst, fwd->proto, fwd->dport);
	return fe == NULL || lb_snap_fe_allows(fe, fwd->src);
}
