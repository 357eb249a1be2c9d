/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_MAGLEV_H
#define LB_MAGLEV_H

/*
 * Weighted Maglev lookup tables (Eisenbud et al., NSDI 2016, section 3.4).
 *
 * Each target is known by a stable 64-bit identity (lb_maglev_target_id: a hash
 * of its address and port, never its position). The table built for a set of
 * targets maps every slot to a target identity that does not depend on the
 * order in which the targets are passed (ARCHITECTURE.md invariant 2): the
 * builder works on the targets sorted by identity. Slots hold indices into the
 * caller's array, so a caller that stores its targets sorted by identity (as
 * the snapshot compiler does) gets byte-identical tables.
 *
 * Weights: of the m slots, a target of weight w out of a total W gets exactly
 * m * w / W rounded down or up (largest remainders take the slots left over,
 * ties to the lower identity), so shares are exact to one slot. Weight 0 takes
 * no slot (drained or standby) and gives the same slot -> identity table as
 * leaving the target out. When more targets have a weight than there are
 * slots, the m with the largest remainders (lowest identities among equal
 * weights) get one slot each and the others none.
 *
 * Which slots a target gets is Maglev's: each target walks its own permutation
 * of the slots (offset and skip hashed from its identity, see the seeds below)
 * and takes the first free one on its turn. A target of weight w has turns at
 * times (k + 1/2) / w, k = 0, 1, ..., ties going to the lower identity, until
 * its quota is met; with equal weights that is the paper's round robin. Turns
 * interleaved in proportion to weight keep the slots that move between
 * surviving targets few when a target comes or goes (tests/unit/test_maglev.c:
 * at m = 65537 and up to 100 targets, equal or weighted 1..10, removing or
 * adding one moves under 1% of the slots among the others). The table is a
 * pure function of m and the set of (identity, weight); lbd versions that
 * change this algorithm or its seeds cannot share flows behind one ECMP group.
 */
#include "lb_common.h"

#define LB_MAGLEV_NONE		UINT32_MAX	/* slot value when no target has weight */
#define LB_MAGLEV_DEFAULT_SIZE	65537
#define LB_MAGLEV_MIN_SIZE	7
#define LB_MAGLEV_MAX_SIZE	16777213	/* largest prime below 2^24 */

struct lb_maglev_target {
	uint64_t id;		/* lb_maglev_target_id() */
	uint32_t weight;	/* 0 = no slots */
};

/*
 * The seeds are part of the definition: two lbd instances agree on a table
 * only if they agree on these. A target's permutation of the m slots is
 * offset + j * skip (mod m), j = 0, 1, ..., with offset = H(OFFSET_SEED) mod m
 * and skip = H(SKIP_SEED) mod (m - 1) + 1, where H(seed) is lb_hash64 over the
 * 8 little-endian bytes of the identity.
 */
#define LB_MAGLEV_ID_SEED	0x6c62642d6d61676cULL	/* "lbd-magl" */
#define LB_MAGLEV_OFFSET_SEED	0x6d61676c2d6f6666ULL	/* "magl-off" */
#define LB_MAGLEV_SKIP_SEED	0x6d61676c2d736b70ULL	/* "magl-skp" */

/* Identity of a target: stable across runs, hosts and instances. addr and
 * port are network order. Defined as lb_hash64 over the 6 bytes addr[0..3]
 * port[0..1] as they appear on the wire, with LB_MAGLEV_ID_SEED. */
uint64_t lb_maglev_target_id(uint32_t addr, uint16_t port);

/* Exact primality test (trial division); fast for any uint32_t. */
bool lb_maglev_is_prime(uint32_t n);

/* Bytes of scratch memory lb_maglev_build needs for n targets and size m:
 * O(n) plus a bitmap of m bits (taken slots, probed instead of the table). */
size_t lb_maglev_scratch_size(uint32_t n, uint32_t m);

/*
 * Fills table[0..m) with indices into t[0..n). m must be a prime in
 * [LB_MAGLEV_MIN_SIZE, LB_MAGLEV_MAX_SIZE]. scratch must be 8-byte aligned and
 * hold lb_maglev_scratch_size(n, m) bytes (no allocation happens inside); it
 * may be NULL when n == 0.
 * Returns 0 on success. Errors:
 *   -EINVAL  table NULL, bad m, t or scratch NULL with n > 0, misaligned
 *            scratch; table untouched.
 *   -EEXIST  two targets share an identity; table untouched.
 *   -ENOENT  n == 0 or every weight is 0; table filled with LB_MAGLEV_NONE.
 * Cost: O(n log n + m log n) plus Maglev's own O(m log m) expected probing
 * (no log n term when all weights are equal).
 */
int lb_maglev_build(uint32_t *table, uint32_t m, const struct lb_maglev_target *t,
	uint32_t n, void *scratch);

/* Convenience wrapper that allocates its own scratch (control thread only).
 * Same returns as lb_maglev_build, plus -ENOMEM. */
int lb_maglev_build_alloc(uint32_t *table, uint32_t m, const struct lb_maglev_target *t,
	uint32_t n);

/* The slot a flow hash selects. */
static inline uint32_t
lb_maglev_lookup(const uint32_t *table, uint32_t m, uint32_t flow_hash)
{
	return table[flow_hash % m];
}

#endif /* LB_MAGLEV_H */
