/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DP_UTIL_H
#define DP_UTIL_H

/*
 * Shared by the data-path unit tests, the data-path fuzz target and the
 * benchmark driver: neighbour callbacks that do nothing, and TCP/UDP frames
 * built byte by byte with a checksum routine of their own (a plain loop, not
 * lib/pkt's), so that a test never checks lbd against itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_neigh.h"
#include "lb_pkt.h"

static inline void
dpu_noop_req(void *ctx, uint8_t port, uint32_t a)
{
	(void)ctx;
	(void)port;
	(void)a;
}

static inline void
dpu_noop_send(void *ctx, uint8_t port, void *pkt, const uint8_t mac[6])
{
	(void)ctx;
	(void)port;
	(void)pkt;
	(void)mac;
}

static inline void
dpu_noop_drop(void *ctx, void *pkt)
{
	(void)ctx;
	(void)pkt;
}

/* Neighbour callbacks for a table no frame ever leaves through. */
#define DPU_NOOP_NEIGH_OPS	{ NULL, dpu_noop_req, dpu_noop_send, dpu_noop_drop, NULL }

static inline uint16_t
dpu_ref_csum(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static inline void
dpu_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A TCP (flags != 0xff) or UDP frame src:sport -> dst:dport (ports host order);
 * returns its length. */
static inline uint32_t
dpu_l4_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t src, uint16_t sport,
	uint32_t dst, uint16_t dport, uint8_t proto, uint8_t flags, uint32_t seq)
{
	uint32_t l4len = proto == LB_PROTO_TCP ? 24 : 16, acc;
	uint8_t *iph = f + 14, *l4 = iph + 20;

	memset(f, 0, 14 + 20 + l4len);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	dpu_put16(f + 12, LB_ETHER_TYPE_IPV4);
	iph[0] = 0x45;
	dpu_put16(iph + 2, (uint16_t)(20 + l4len));
	dpu_put16(iph + 4, (uint16_t)seq);
	iph[8] = 64;
	iph[9] = proto;
	memcpy(iph + 12, &src, 4);
	memcpy(iph + 16, &dst, 4);
	dpu_put16(iph + 10, dpu_ref_csum(iph, 20, 0));
	dpu_put16(l4, sport);
	dpu_put16(l4 + 2, dport);
	if (proto == LB_PROTO_TCP) {
		dpu_put16(l4 + 4, (uint16_t)(seq >> 16));
		dpu_put16(l4 + 6, (uint16_t)seq);
		l4[12] = 5 << 4;
		l4[13] = flags;
		dpu_put16(l4 + 14, 1000);
		l4[20] = (uint8_t)seq;
	} else {
		dpu_put16(l4 + 4, (uint16_t)l4len);
		l4[8] = (uint8_t)seq;
	}
	acc = (ntohl(src) >> 16) + (ntohl(src) & 0xffff) + (ntohl(dst) >> 16) +
		(ntohl(dst) & 0xffff) + proto + l4len;
	dpu_put16(l4 + (proto == LB_PROTO_TCP ? 16 : 6), dpu_ref_csum(l4, l4len, acc));
	return 14 + 20 + l4len;
}

#endif /* DP_UTIL_H */
