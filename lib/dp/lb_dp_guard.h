/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_DP_GUARD_H
#define LB_DP_GUARD_H

/*
 * The data path's checks on who a frame claims to come from, and on what lbd
 * is about to send. Kept apart from lb_dp.c so the checks read as one list
 * and the forwarding code calls each from one place.
 *
 * Received frames (lb_dp_guard_rx), after the parser and the VLAN and
 * destination MAC checks (RFC 1812 5.3.7, RFC 1122 3.2.1.3, BCP 38):
 *   bad_src_mac     the source MAC is a group (multicast or broadcast) address
 *   own_src_mac     the source MAC is one of lbd's (its own frame, looped back)
 *   martian_source  IPv4 source in 0/8, 127/8, 224/4 or 240/4 (which holds
 *                   255.255.255.255), or the receiving port's subnet broadcast
 *   own_source      IPv4 source is one of lbd's addresses (VIP, port, SNAT)
 *   spoofed_source  on a port that is external only: the source lies in the
 *                   internal port's subnet or is some frontend's target; such
 *                   a frame would otherwise reach the cluster as if sent from
 *                   inside (DNAT: with source == destination)
 *   bad_tcp_flags   SYN with FIN or RST, or none of SYN, ACK and RST (every
 *                   segment of a connection but its first SYN carries ACK;
 *                   Linux discards the same)
 *   zero_port       TCP or UDP with source or destination port 0
 * The L4 checks are skipped for fragments (no L4 header to look at). A port
 * with both roles (one arm) shares its segment with the cluster, so the
 * spoofing check does not apply there.
 */
#include <string.h>
#include <arpa/inet.h>

#include "lb_dp.h"
#include "lb_pkt.h"

/* The per-frame checks are inline: as calls they cost about 7 cycles per
 * frame at 1,000 flows in bench_dp (142-152 against 135-136). */
#define LB_DP_GUARD_ETHER_MIN	60	/* without the FCS */
#define LB_DP_GUARD_ARP_LEN	28

static inline bool
lb_dp_guard_is_lbd_mac(const struct lb_snap *s, const uint8_t *mac)
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
lb_dp_guard_is_martian(const struct lb_snap_port *port, uint32_t src)
{
	uint32_t a = ntohl(src), mask = ntohl(port->mask);

	if ((a >> 24) == 0 || (a >> 24) == 127 || a >= 0xe0000000U)
		return true;
	/* /31 and /32 have no broadcast address (RFC 3021) */
	return mask < 0xfffffffeU && (a & ~mask) == ~mask &&
		(a & mask) == (ntohl(port->addr) & mask);
}

static inline bool
lb_dp_guard_tcp_flags_bad(uint8_t fl)
{
	if (fl & LB_TCP_SYN)
		return (fl & (LB_TCP_FIN | LB_TCP_RST)) != 0;
	return (fl & (LB_TCP_ACK | LB_TCP_RST)) == 0;
}

/* LB_DROP_MAX when the frame passes, else the reason to drop it. */
static inline enum lb_drop
lb_dp_guard_rx(const struct lb_snap *s, uint8_t in_port, const uint8_t *frame,
	const struct lb_pkt *p)
{
	const struct lb_snap_port *port = &s->ports[in_port];
	const uint8_t *smac = frame + LB_ETHER_ADDR_LEN;
	bool maybe;

	if (LB_UNLIKELY(smac[0] & 1))
		return LB_DROP_SRC_MAC;
	if (LB_UNLIKELY(lb_dp_guard_is_lbd_mac(s, smac)))
		return LB_DROP_OWN_SRC_MAC;
	if (p->ether_type != LB_ETHER_TYPE_IPV4)
		return LB_DROP_MAX;	/* ARP: lb_dp_guard_arp_conflict */
	if (LB_UNLIKELY(lb_dp_guard_is_martian(port, p->src)))
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
		if (p->proto == LB_PROTO_TCP && LB_UNLIKELY(lb_dp_guard_tcp_flags_bad(p->tcp_flags)))
			return LB_DROP_TCP_FLAGS;
	}
	return LB_DROP_MAX;
}


/*
 * An ARP frame from another station that claims one of lbd's addresses
 * (sender protocol address) on the port lbd answers for it, with a sender
 * hardware address that is not lbd's: an address conflict (RFC 5227 2.4).
 */
bool lb_dp_guard_arp_conflict(const struct lb_snap *s, uint8_t in_port,
	const struct lb_arp_hdr *ah);

/*
 * The last step before a frame leaves (verdict TX or TO_CTL; r->port and
 * r->adj set): LB_DROP_MTU when its IPv4 datagram is larger than r->port's
 * MTU, else LB_DROP_MAX with r->len set to the frame's length from its new
 * start. That length covers the L2 header and the datagram (or the 28-byte
 * ARP message) only: padding or a trailer that followed it on the wire is not
 * sent on. A result shorter than the 60-byte Ethernet minimum is zero-padded
 * up to it within the len bytes the frame had (never beyond). frame and len
 * are what lb_dp_process was given.
 */
static inline enum lb_drop
lb_dp_guard_tx(const struct lb_snap *s, const struct lb_pkt *p, uint8_t *frame, uint32_t len,
	struct lb_dp_result *r)
{
	uint32_t l2 = (uint32_t)((int32_t)p->l2_len - r->adj);
	uint32_t have = (uint32_t)((int64_t)len - r->adj);
	uint32_t n;

	if (p->ether_type == LB_ETHER_TYPE_ARP) {
		n = l2 + LB_DP_GUARD_ARP_LEN;
	} else {
		if (LB_UNLIKELY(p->l3_len > s->ports[r->port].mtu))
			return LB_DROP_MTU;
		n = l2 + p->l3_len;
	}
	if (n < LB_DP_GUARD_ETHER_MIN && have > n) {
		uint32_t pad = LB_MIN(have, (uint32_t)LB_DP_GUARD_ETHER_MIN);

		memset(frame + r->adj + n, 0, pad - n);
		n = pad;
	}
	r->len = n;
	return LB_DROP_MAX;
}

/*
 * Source ranges after the first frame: whether the frontend that serves the
 * flow whose forward key is fwd still allows its client. Replies and ICMP
 * errors of a flow whose client a reload has put outside the ranges are
 * dropped (acl_denied) like its client's frames. A flow whose frontend is
 * gone is not this check's business (true).
 */
bool lb_dp_guard_flow_allowed(const struct lb_snap *s, const struct lb_flow_key *fwd);

#endif /* LB_DP_GUARD_H */
