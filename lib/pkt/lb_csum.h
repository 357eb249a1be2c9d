/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_CSUM_H
#define LB_CSUM_H

/*
 * Internet checksum (RFC 1071) and its incremental update (RFC 1624,
 * equation 3: HC' = ~(~HC + ~m + m')). Checksums are handled as the uint16_t
 * found in the header (network order); the one's-complement sum is
 * byte-order independent, so no conversion is needed as long as old and new
 * values are also passed as stored.
 */
#include "lb_common.h"

/* One's-complement sum of len bytes folded to 16 bits, plus initial (not
 * complemented). Odd lengths are padded with a zero byte. */
uint16_t lb_csum_partial(const void *data, size_t len, uint32_t initial);
/* Complemented checksum of a buffer (as written into an IPv4 header). */
uint16_t lb_csum(const void *data, size_t len);
/* TCP/UDP checksum over the IPv4 pseudo header + l4 bytes. The checksum field
 * inside l4 must be zeroed by the caller first (or its value is included). */
uint16_t lb_csum_l4_ip4(uint32_t src, uint32_t dst, uint8_t proto, const void *l4, uint16_t l4_len);

/* RFC 1624 updates: replace old 16-bit / 32-bit value by new in a checksummed
 * area and return the updated checksum. */
uint16_t lb_csum_update16(uint16_t csum, uint16_t old16, uint16_t new16);
uint16_t lb_csum_update32(uint16_t csum, uint32_t old32, uint32_t new32);

/* UDP: a zero checksum means "none" and stays zero; an updated checksum that
 * comes out as 0 is sent as 0xffff (RFC 768). */
uint16_t lb_csum_udp_update32(uint16_t csum, uint32_t old32, uint32_t new32);
uint16_t lb_csum_udp_update16(uint16_t csum, uint16_t old16, uint16_t new16);

#endif /* LB_CSUM_H */
