/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_CSUM_H
#define LB_CSUM_H

/*
 * Internet checksum (RFC 1071) and its incremental update (RFC 1624,
 * equation 3: HC' = ~(~HC + ~m + m')).
 *
 * Byte order: checksums, addresses and ports are passed and returned exactly
 * as they sit in the header (network order, loaded with a plain 16/32-bit
 * load). The one's-complement sum commutes with byte swapping, so summing the
 * stored words natively and storing the result natively gives the right bytes
 * on either endianness; never ntohs()/htons() a value before passing it here.
 */
#include "lb_common.h"

/* One's-complement sum of len bytes plus initial, folded to 16 bits, not
 * complemented. Odd lengths are padded with a zero byte at the end. initial
 * is any earlier partial sum (or a pseudo header sum) in the same stored
 * order. */
uint16_t lb_csum_partial(const void *data, size_t len, uint32_t initial);

/* Complemented checksum of a buffer, ready to store (e.g. the IPv4 header
 * checksum, computed with the csum field zeroed). Over a header that includes
 * a correct checksum it returns 0, so it also verifies. */
uint16_t lb_csum(const void *data, size_t len);

/* TCP/UDP checksum over the IPv4 pseudo header (src, dst, proto, l4_len) and
 * l4[0..l4_len). src/dst as stored in the IPv4 header.
 * - To compute: zero the checksum field in l4 first; the result is what to
 *   store, except that a UDP result of 0 must be stored as 0xffff
 *   (lb_csum_udp_final()).
 * - To verify: leave the received checksum in place; a correct segment gives
 *   0 (for UDP, only when the received checksum is not 0, "none"). */
uint16_t lb_csum_l4_ip4(uint32_t src, uint32_t dst, uint8_t proto, const void *l4,
	uint16_t l4_len);

/* RFC 768: 0 in the UDP checksum field means "no checksum", so a computed 0
 * is transmitted as its one's-complement twin 0xffff. */
static inline uint16_t
lb_csum_udp_final(uint16_t csum)
{
	return csum == 0 ? 0xffff : csum;
}

/*
 * RFC 1624 updates: the checksummed area had old16/old32 replaced by
 * new16/new32 (all as stored); they return the updated checksum to store. For
 * TCP and the IPv4 header the result equals a full recomputation.
 *
 * Inline because NAT chains several per packet. The sum of at most five
 * 16-bit terms is below 2^19, so two folds reach 16 bits. ~HC + ~m + m' only
 * folds to 0 when all terms are 0, i.e. HC == 0xffff, which a full
 * computation over TCP or IPv4 data never produces (their sum is never zero).
 */
static inline uint16_t
lb_csum_update16(uint16_t csum, uint16_t old16, uint16_t new16)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old16 + new16;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline uint16_t
lb_csum_update32(uint16_t csum, uint32_t old32, uint32_t new32)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (~old32 & 0xffff) + (~old32 >> 16) +
		(new32 & 0xffff) + (new32 >> 16);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* UDP: a zero checksum means "none" and stays zero; an updated checksum that
 * comes out as 0 is returned as 0xffff (RFC 768). */
static inline uint16_t
lb_csum_udp_update16(uint16_t csum, uint16_t old16, uint16_t new16)
{
	if (csum == 0)
		return 0;
	return lb_csum_udp_final(lb_csum_update16(csum, old16, new16));
}

static inline uint16_t
lb_csum_udp_update32(uint16_t csum, uint32_t old32, uint32_t new32)
{
	if (csum == 0)
		return 0;
	return lb_csum_udp_final(lb_csum_update32(csum, old32, new32));
}

#endif /* LB_CSUM_H */
