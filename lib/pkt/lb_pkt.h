/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_PKT_H
#define LB_PKT_H

/*
 * Wire headers and a bounds-checked parser for the frames lbd handles:
 * Ethernet II with at most one 802.1Q tag, ARP (Ethernet/IPv4), IPv4 (with
 * options), TCP, UDP and ICMP, including the embedded IPv4 + L4 header of ICMP
 * errors. No rte_*.h: works on a plain byte buffer.
 *
 * All multi-byte header fields are in network byte order.
 */
#include "lb_common.h"

#define LB_ETHER_TYPE_IPV4	0x0800
#define LB_ETHER_TYPE_ARP	0x0806
#define LB_ETHER_TYPE_VLAN	0x8100
#define LB_ETHER_TYPE_QINQ	0x88a8	/* 802.1ad S-tag: never accepted */
#define LB_ETHER_TYPE_IPV6	0x86dd

struct lb_ether_hdr {
	uint8_t dst[LB_ETHER_ADDR_LEN];
	uint8_t src[LB_ETHER_ADDR_LEN];
	uint16_t type;
} __attribute__((packed));

struct lb_vlan_hdr {
	uint16_t tci;
	uint16_t type;		/* encapsulated ether type */
} __attribute__((packed));

#define LB_ARP_HRD_ETHER	1
#define LB_ARP_OP_REQUEST	1
#define LB_ARP_OP_REPLY		2

struct lb_arp_hdr {
	uint16_t hrd;
	uint16_t pro;
	uint8_t hln;
	uint8_t pln;
	uint16_t op;
	uint8_t sha[LB_ETHER_ADDR_LEN];
	uint32_t spa;
	uint8_t tha[LB_ETHER_ADDR_LEN];
	uint32_t tpa;
} __attribute__((packed));

#define LB_IP4_DF	0x4000
#define LB_IP4_MF	0x2000
#define LB_IP4_OFFMASK	0x1fff

struct lb_ipv4_hdr {
	uint8_t version_ihl;
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	uint16_t frag_off;	/* flags + fragment offset */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src;
	uint32_t dst;
} __attribute__((packed));

#define LB_TCP_FIN	0x01
#define LB_TCP_SYN	0x02
#define LB_TCP_RST	0x04
#define LB_TCP_PSH	0x08
#define LB_TCP_ACK	0x10

struct lb_tcp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t off;		/* data offset in the high nibble */
	uint8_t flags;
	uint16_t win;
	uint16_t csum;
	uint16_t urp;
} __attribute__((packed));

struct lb_udp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint16_t len;
	uint16_t csum;
} __attribute__((packed));

#define LB_ICMP_ECHO_REPLY	0
#define LB_ICMP_DEST_UNREACH	3
#define LB_ICMP_ECHO_REQUEST	8
#define LB_ICMP_TIME_EXCEEDED	11
#define LB_ICMP_FRAG_NEEDED	4	/* code of DEST_UNREACH */

struct lb_icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t csum;
	uint16_t id;		/* echo; for frag-needed: unused */
	uint16_t seq;		/* echo; for frag-needed: next-hop MTU */
} __attribute__((packed));

/* Why a frame was rejected. LB_PKT_OK is 0; errors are positive so that they
 * can index a counter array. */
enum lb_pkt_err {
	LB_PKT_OK = 0,
	LB_PKT_ERR_L2,		/* shorter than its Ethernet/VLAN header, or more than one tag */
	LB_PKT_ERR_ETHERTYPE,	/* neither IPv4 nor ARP (after at most one tag) */
	LB_PKT_ERR_ARP,		/* truncated or not Ethernet/IPv4 ARP */
	LB_PKT_ERR_IP,		/* truncated, version != 4, IHL < 5, total_len inconsistent */
	LB_PKT_ERR_IP_CSUM,	/* IPv4 header checksum wrong */
	LB_PKT_ERR_L4,		/* TCP/UDP/ICMP header truncated or inconsistent (TCP doff, UDP len) */
	LB_PKT_ERR_ICMP_INNER,	/* ICMP error whose embedded IPv4 + 8 bytes is truncated or invalid */
	LB_PKT_ERR_MAX
};

/*
 * Parse result: offsets are from the start of the frame. Written by
 * lb_pkt_parse only; read by the data path. The whole struct is zeroed first,
 * so a field that does not apply to the frame reads 0.
 */
struct lb_pkt {
	uint16_t ether_type;	/* after the tag, host order: LB_ETHER_TYPE_IPV4 or _ARP
				 * (also filled on LB_PKT_ERR_ETHERTYPE) */
	uint16_t vlan;		/* VLAN id (host order, 12 bits) or 0 when untagged */
	uint8_t has_vlan;	/* a tag was present (it may carry VLAN id 0) */
	uint8_t l2_len;		/* 14 or 18 */
	uint16_t l3_off;	/* == l2_len */
	uint16_t l3_len;	/* IPv4 total_len (bytes past it in the frame are padding);
				 * ARP: 28 */
	uint16_t l4_off;	/* l3_off + IHL * 4 */
	uint16_t l4_len;	/* l3_len - IHL * 4 (for UDP this may exceed udp.len) */
	uint8_t proto;		/* IPv4 protocol */
	uint8_t is_frag;	/* MF set or offset != 0: L4 fields below are not filled */
	uint8_t tcp_flags;	/* TCP only */
	uint8_t icmp_type;	/* ICMP only */
	uint8_t icmp_code;
	uint32_t src;		/* IPv4 src/dst, network order; ARP: spa/tpa */
	uint32_t dst;
	uint16_t sport;		/* TCP/UDP ports, network order; ICMP echo: id in both */
	uint16_t dport;
	/* ICMP dest-unreach / time-exceeded only: the embedded datagram. */
	uint16_t inner_l3_off;
	uint16_t inner_l4_off;	/* inner_l3_off + inner IHL * 4; 8 bytes there are in the frame */
	uint8_t inner_proto;
	uint32_t inner_src;
	uint32_t inner_dst;
	uint16_t inner_sport;	/* inner TCP/UDP ports, only when the inner datagram */
	uint16_t inner_dport;	/* is TCP/UDP and not a non-first fragment; else 0 */
};

/*
 * Parses frame[0..len), reading nothing outside it. On LB_PKT_OK every offset
 * and length in *p lies within the frame, so the caller can touch those
 * headers without further checks.
 *
 * Accepted (anything else is the error named):
 * - L2: Ethernet II, at most one 802.1Q tag. A tag (0x8100 or 0x88a8) inside
 *   the tag is LB_PKT_ERR_L2; an outer 0x88a8 is just an unsupported type.
 * - ARP: hrd Ethernet, pro IPv4, hln 6, pln 4, 28 bytes; the opcode is not
 *   checked (the caller decides). Ethernet padding after it is ignored.
 * - IPv4: version 4, IHL >= 5, IHL * 4 <= total_len <= bytes after L2
 *   (padding past total_len is allowed). Options are skipped, not parsed.
 *   Fragments (MF or offset != 0) parse OK with is_frag set and no L4 fields.
 * - TCP: 20 <= doff * 4 <= l4_len.
 * - UDP: 8 <= udp.len <= l4_len. udp.len < l4_len is accepted, as routers and
 *   the Linux stack do (the rest is IP-level padding): NAT only rewrites the
 *   header and updates checksums incrementally, so the slack is harmless.
 * - ICMP: 8-byte header. Echo request/reply: sport = dport = id. DEST_UNREACH
 *   and TIME_EXCEEDED additionally need, inside the ICMP payload, an inner
 *   IPv4 header (version 4, IHL >= 5, complete) plus 8 bytes after it, else
 *   LB_PKT_ERR_ICMP_INNER. The inner total_len and checksum are not checked:
 *   the quoted datagram is routinely truncated and its header may have been
 *   rewritten on the way.
 *
 * verify_ip_csum: check the outer IPv4 header checksum (LB_PKT_ERR_IP_CSUM
 * when wrong). L4 checksums are never checked here.
 */
enum lb_pkt_err lb_pkt_parse(const uint8_t *frame, uint32_t len, bool verify_ip_csum,
	struct lb_pkt *p);

/* Stable short name of an error ("ok", "l2", ...); "unknown" when out of range. */
const char *lb_pkt_err_str(enum lb_pkt_err e);

#endif /* LB_PKT_H */
