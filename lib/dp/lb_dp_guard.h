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
#include "lb_dp.h"
#include "lb_pkt.h"

/* LB_DROP_MAX when the frame passes, else the reason to drop it. */
enum lb_drop lb_dp_guard_rx(const struct lb_snap *s, uint8_t in_port, const uint8_t *frame,
	const struct lb_pkt *p);

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
enum lb_drop lb_dp_guard_tx(const struct lb_snap *s, const struct lb_pkt *p, uint8_t *frame,
	uint32_t len, struct lb_dp_result *r);

/*
 * Source ranges after the first frame: whether the frontend that serves the
 * flow whose forward key is fwd still allows its client. Replies and ICMP
 * errors of a flow whose client a reload has put outside the ranges are
 * dropped (acl_denied) like its client's frames. A flow whose frontend is
 * gone is not this check's business (true).
 */
bool lb_dp_guard_flow_allowed(const struct lb_snap *s, const struct lb_flow_key *fwd);

#endif /* LB_DP_GUARD_H */
