/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "lb_hash.h"

/*
 * A 64-bit multiply-xorshift hash over little-endian 8-byte words, with the
 * length folded into the start state. It is not cryptographic: it gives Maglev
 * target identities and similar stable keys a well-spread, reproducible value.
 */
#define K0 0x9e3779b97f4a7c15ULL
#define K1 0xbf58476d1ce4e5b9ULL
#define K2 0x94d049bb133111ebULL

static inline uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * K1;
	z = (z ^ (z >> 27)) * K2;
	return z ^ (z >> 31);
}

static inline uint64_t
load_le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t
lb_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = mix64(seed ^ (K0 * (len + 1)));

	while (len >= 8) {
		h = mix64(h ^ load_le64(p, 8)) + K0;
		p += 8;
		len -= 8;
	}
	if (len > 0)
		h = mix64(h ^ load_le64(p, len) ^ ((uint64_t)len << 59)) + K0;
	return mix64(h);
}
