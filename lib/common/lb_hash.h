/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_HASH_H
#define LB_HASH_H

/*
 * Hashes with fixed, documented definitions. Maglev target identities, Maglev
 * picks and worker ownership must give the same answer on every lbd instance
 * and every run (ARCHITECTURE.md invariant 2), so none of these may depend on
 * the build or a random seed unless the caller passes one. lb_hash64 reads
 * bytes and is the same on every host; the lb_hash32_* helpers hash the 32-bit
 * words as loaded, so they agree between hosts of the same byte order (every
 * DPDK target lbd supports is little-endian).
 */
#include "lb_common.h"

/* 64-bit hash of a byte string. Byte-order independent: it reads the input as
 * little-endian words whatever the host is. */
uint64_t lb_hash64(const void *data, size_t len, uint64_t seed);

/* Finaliser-quality mixing of two 32-bit words (e.g. an address and a port
 * pair), for per-packet use. */
static inline uint32_t
lb_hash32_2(uint32_t a, uint32_t b, uint32_t seed)
{
	uint64_t h = ((uint64_t)a << 32 | b) ^ ((uint64_t)seed * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static inline uint32_t
lb_hash32_3(uint32_t a, uint32_t b, uint32_t c, uint32_t seed)
{
	return lb_hash32_2(lb_hash32_2(a, b, seed), c, seed ^ 0x85ebca6bU);
}

#endif /* LB_HASH_H */
