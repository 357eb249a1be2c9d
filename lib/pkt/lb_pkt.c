/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>
#include <arpa/inet.h>

#include "lb_pkt.h"
#include "lb_csum.h"

/*
 * The parser runs once per packet on every worker, so it is a straight line
 * of "check length, then load" steps: every load below is preceded by a
 * comparison that puts it inside frame[0..len). Loads go through memcpy (one
 * mov, any alignment, no aliasing questions); comparisons against wire values
 * use constants swapped at compile time instead of swapping the loaded value.
 */

#define ETH_HLEN	14
#define VLAN_HLEN	4
#define ARP_LEN		28
#define IP4_MIN_HLEN	20
#define TCP_MIN_HLEN	20
#define UDP_HLEN	8
#define ICMP_HLEN	8
/* RFC 792: an ICMP error quotes the IP header and the first 64 bits of data. */
#define ICMP_QUOTE_L4	8

static inline uint16_t
ld16(const uint8_t *b)
{
	uint16_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

static inline uint32_t
ld32(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

/* Complemented checksum of an IPv4 header of ihl bytes (>= 20, already
 * bounds-checked): 0 when the stored checksum is right. The option-free 20
 * bytes are summed inline; only options take the generic path. */
static inline uint16_t
ip4_hdr_csum(const uint8_t *ip, uint32_t ihl)
{
	uint64_t s;

	s = (uint64_t)ld32(ip) + ld32(ip + 4) + ld32(ip + 8) + ld32(ip + 12) + ld32(ip + 16);
	s = (s & 0xffffffffULL) + (s >> 32);
	s = (s & 0xffffffffULL) + (s >> 32);
	if (LB_UNLIKELY(ihl > IP4_MIN_HLEN))
		return (uint16_t)~lb_csum_partial(ip + IP4_MIN_HLEN, ihl - IP4_MIN_HLEN,
			(uint32_t)s);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static enum lb_pkt_err
parse_arp(const uint8_t *a, uint32_t avail, struct lb_pkt *p)
{
	if (LB_UNLIKELY(avail < ARP_LEN))
		return LB_PKT_ERR_ARP;
	if (LB_UNLIKELY(ld16(a) != htons(LB_ARP_HRD_ETHER) ||
			ld16(a + 2) != htons(LB_ETHER_TYPE_IPV4) ||
			a[4] != LB_ETHER_ADDR_LEN || a[5] != 4))
		return LB_PKT_ERR_ARP;
	p->l3_len = ARP_LEN;
	p->src = ld32(a + offsetof(struct lb_arp_hdr, spa));
	p->dst = ld32(a + offsetof(struct lb_arp_hdr, tpa));
	return LB_PKT_OK;
}

/* The quoted datagram of an ICMP error at q, with qlen bytes up to the end of
 * the outer datagram. */
static enum lb_pkt_err
parse_icmp_inner(const uint8_t *frame, uint32_t q_off, uint32_t qlen, struct lb_pkt *p)
{
	const uint8_t *q = frame + q_off;
	uint32_t ihl;

	if (LB_UNLIKELY(qlen < IP4_MIN_HLEN + ICMP_QUOTE_L4))
		return LB_PKT_ERR_ICMP_INNER;
	ihl = (uint32_t)(q[0] & 0x0f) * 4;
	if (LB_UNLIKELY((q[0] >> 4) != 4 || ihl < IP4_MIN_HLEN || ihl + ICMP_QUOTE_L4 > qlen))
		return LB_PKT_ERR_ICMP_INNER;
	p->inner_l3_off = (uint16_t)q_off;
	p->inner_l4_off = (uint16_t)(q_off + ihl);
	p->inner_proto = q[offsetof(struct lb_ipv4_hdr, proto)];
	p->inner_src = ld32(q + offsetof(struct lb_ipv4_hdr, src));
	p->inner_dst = ld32(q + offsetof(struct lb_ipv4_hdr, dst));
	/* A non-first fragment quotes payload bytes, not ports. */
	if ((p->inner_proto == LB_PROTO_TCP || p->inner_proto == LB_PROTO_UDP) &&
	    (ld16(q + offsetof(struct lb_ipv4_hdr, frag_off)) & htons(LB_IP4_OFFMASK)) == 0) {
		p->inner_sport = ld16(q + ihl);
		p->inner_dport = ld16(q + ihl + 2);
	}
	return LB_PKT_OK;
}

/* L4 header at l4 with l4_len bytes, all inside the frame. */
static enum lb_pkt_err
parse_l4(const uint8_t *frame, uint32_t l4_off, uint32_t l4_len, struct lb_pkt *p)
{
	const uint8_t *l4 = frame + l4_off;
	uint32_t n;

	switch (p->proto) {
	case LB_PROTO_TCP:
		if (LB_UNLIKELY(l4_len < TCP_MIN_HLEN))
			return LB_PKT_ERR_L4;
		n = (uint32_t)(l4[offsetof(struct lb_tcp_hdr, off)] >> 4) * 4;
		if (LB_UNLIKELY(n < TCP_MIN_HLEN || n > l4_len))
			return LB_PKT_ERR_L4;
		p->sport = ld16(l4);
		p->dport = ld16(l4 + 2);
		p->tcp_flags = l4[offsetof(struct lb_tcp_hdr, flags)];
		return LB_PKT_OK;
	case LB_PROTO_UDP:
		if (LB_UNLIKELY(l4_len < UDP_HLEN))
			return LB_PKT_ERR_L4;
		n = ntohs(ld16(l4 + offsetof(struct lb_udp_hdr, len)));
		if (LB_UNLIKELY(n < UDP_HLEN || n > l4_len))
			return LB_PKT_ERR_L4;
		p->sport = ld16(l4);
		p->dport = ld16(l4 + 2);
		return LB_PKT_OK;
	case LB_PROTO_ICMP:
		if (LB_UNLIKELY(l4_len < ICMP_HLEN))
			return LB_PKT_ERR_L4;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		switch (p->icmp_type) {
		case LB_ICMP_ECHO_REQUEST:
		case LB_ICMP_ECHO_REPLY:
			p->sport = p->dport = ld16(l4 + offsetof(struct lb_icmp_hdr, id));
			return LB_PKT_OK;
		case LB_ICMP_DEST_UNREACH:
		case LB_ICMP_TIME_EXCEEDED:
			return parse_icmp_inner(frame, l4_off + ICMP_HLEN, l4_len - ICMP_HLEN, p);
		default:
			return LB_PKT_OK;
		}
	default:
		/* Other protocols: the caller sees proto and decides. */
		return LB_PKT_OK;
	}
}

enum lb_pkt_err
lb_pkt_parse(const uint8_t *frame, uint32_t len, bool verify_ip_csum, struct lb_pkt *p)
{
	const uint8_t *ip;
	uint32_t off = ETH_HLEN, avail, ihl, tot;
	uint16_t type;

	memset(p, 0, sizeof(*p));
	if (LB_UNLIKELY(len < ETH_HLEN))
		return LB_PKT_ERR_L2;
	type = ld16(frame + offsetof(struct lb_ether_hdr, type));
	if (type == htons(LB_ETHER_TYPE_VLAN)) {
		if (LB_UNLIKELY(len < ETH_HLEN + VLAN_HLEN))
			return LB_PKT_ERR_L2;
		p->has_vlan = 1;
		p->vlan = ntohs(ld16(frame + ETH_HLEN)) & 0x0fff;
		type = ld16(frame + ETH_HLEN + offsetof(struct lb_vlan_hdr, type));
		off += VLAN_HLEN;
		if (LB_UNLIKELY(type == htons(LB_ETHER_TYPE_VLAN) ||
				type == htons(LB_ETHER_TYPE_QINQ))) {
			p->ether_type = ntohs(type);
			return LB_PKT_ERR_L2;
		}
	}
	p->ether_type = ntohs(type);
	p->l2_len = (uint8_t)off;
	p->l3_off = (uint16_t)off;
	avail = len - off;

	if (LB_UNLIKELY(type != htons(LB_ETHER_TYPE_IPV4))) {
		if (type == htons(LB_ETHER_TYPE_ARP))
			return parse_arp(frame + off, avail, p);
		return LB_PKT_ERR_ETHERTYPE;
	}

	ip = frame + off;
	if (LB_UNLIKELY(avail < IP4_MIN_HLEN))
		return LB_PKT_ERR_IP;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	tot = ntohs(ld16(ip + offsetof(struct lb_ipv4_hdr, total_len)));
	/* ihl <= tot <= avail keeps the header (options included) in the frame. */
	if (LB_UNLIKELY((ip[0] >> 4) != 4 || ihl < IP4_MIN_HLEN || tot < ihl || tot > avail))
		return LB_PKT_ERR_IP;
	if (verify_ip_csum && LB_UNLIKELY(ip4_hdr_csum(ip, ihl) != 0))
		return LB_PKT_ERR_IP_CSUM;

	p->l3_len = (uint16_t)tot;
	p->l4_off = (uint16_t)(off + ihl);
	p->l4_len = (uint16_t)(tot - ihl);
	p->proto = ip[offsetof(struct lb_ipv4_hdr, proto)];
	p->src = ld32(ip + offsetof(struct lb_ipv4_hdr, src));
	p->dst = ld32(ip + offsetof(struct lb_ipv4_hdr, dst));
	if (LB_UNLIKELY(ld16(ip + offsetof(struct lb_ipv4_hdr, frag_off)) &
			htons(LB_IP4_MF | LB_IP4_OFFMASK))) {
		p->is_frag = 1;
		return LB_PKT_OK;
	}
	return parse_l4(frame, off + ihl, tot - ihl, p);
}

const char *
lb_pkt_err_str(enum lb_pkt_err e)
{
	static const char *const names[LB_PKT_ERR_MAX] = {
		[LB_PKT_OK] = "ok",
		[LB_PKT_ERR_L2] = "l2",
		[LB_PKT_ERR_ETHERTYPE] = "ethertype",
		[LB_PKT_ERR_ARP] = "arp",
		[LB_PKT_ERR_IP] = "ip",
		[LB_PKT_ERR_IP_CSUM] = "ip_csum",
		[LB_PKT_ERR_L4] = "l4",
		[LB_PKT_ERR_ICMP_INNER] = "icmp_inner",
	};

	if ((unsigned int)e >= LB_PKT_ERR_MAX)
		return "unknown";
	return names[e];
}
