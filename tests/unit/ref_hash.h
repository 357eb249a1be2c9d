/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef REF_HASH_H
#define REF_HASH_H

/*
 * lb_hash64 written again from its definition (lib/common/lb_hash.c), byte by
 * byte, for tests: the state starts at mix(seed ^ K0 * (len + 1)); each full
 * little-endian 8-byte word w gives h = mix(h ^ w) + K0; a tail of r bytes t
 * gives h = mix(h ^ t ^ r << 59) + K0; the result is mix(h). Maglev identities
 * rest on it, so a change to lb_hash64 (which would move every connection
 * between lbd versions) must fail the tests that compare against this.
 */
#include <stddef.h>
#include <stdint.h>

static inline uint64_t
ref_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
ref_hash64(const uint8_t *p, size_t len, uint64_t seed)
{
	const uint64_t k0 = 0x9e3779b97f4a7c15ULL;
	uint64_t h = ref_mix(seed ^ (k0 * (len + 1))), w;
	size_t i, b, full = len / 8 * 8;

	for (i = 0; i < full; i += 8) {
		for (w = 0, b = 8; b-- > 0;)
			w = w << 8 | p[i + b];
		h = ref_mix(h ^ w) + k0;
	}
	if (len > full) {
		for (w = 0, b = len; b-- > full;)
			w = w << 8 | p[b];
		h = ref_mix(h ^ w ^ ((uint64_t)(len - full) << 59)) + k0;
	}
	return ref_mix(h);
}

#endif /* REF_HASH_H */
