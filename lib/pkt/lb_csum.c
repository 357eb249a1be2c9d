/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>
#include <arpa/inet.h>

#include "lb_csum.h"

/*
 * Words are loaded natively (memcpy: any alignment, one mov) and summed into
 * a 64-bit accumulator; carries out of bit 15 are folded back at the end.
 * Folding works for any word width because 2^16 == 1 modulo 0xffff, so a
 * 32-bit load counts as the two 16-bit words it holds, in either byte order.
 */
static inline uint16_t
fold64(uint64_t s)
{
	s = (s & 0xffffffffULL) + (s >> 32);
	s = (s & 0xffffffffULL) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint64_t
sum_bytes(const uint8_t *b, size_t len, uint64_t s)
{
	uint64_t v;
	uint32_t w;
	uint16_t h;

	/* Adding two 32-bit halves per 8 bytes cannot overflow 64 bits for any
	 * length a packet can have. */
	while (len >= 8) {
		memcpy(&v, b, 8);
		s += (v & 0xffffffffULL) + (v >> 32);
		b += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w, b, 4);
		s += w;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, b, 2);
		s += h;
		b += 2;
		len -= 2;
	}
	if (len) {
		/* The last byte is the first byte of a zero-padded word in
		 * memory order; loading that word natively is right on both
		 * endiannesses. */
		uint8_t pad[2] = { b[0], 0 };

		memcpy(&h, pad, 2);
		s += h;
	}
	return s;
}

uint16_t
lb_csum_partial(const void *data, size_t len, uint32_t initial)
{
	return fold64(sum_bytes(data, len, initial));
}

uint16_t
lb_csum(const void *data, size_t len)
{
	return (uint16_t)~fold64(sum_bytes(data, len, 0));
}

uint16_t
lb_csum_l4_ip4(uint32_t src, uint32_t dst, uint8_t proto, const void *l4, uint16_t l4_len)
{
	/* Pseudo header words: src, dst, {0, proto}, {len}, each as stored. */
	uint64_t s = (uint64_t)src + dst + htons(proto) + htons(l4_len);

	return (uint16_t)~fold64(sum_bytes(l4, l4_len, s));
}
