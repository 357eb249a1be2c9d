/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/owner: the Toeplitz hash against the published RSS verification
 * vectors, the per-byte tables against the bit loop, the symmetric key's
 * property that makes both directions of a DNAT flow hash alike, the
 * redirection table and the SNAT port split.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_owner.h"

/* Microsoft's RSS verification suite ("Verifying the RSS Hash Calculation"):
 * the key and the IPv4 vectors, with and without the TCP ports. */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

struct ms_vec {
	uint8_t dst[4], src[4];
	uint16_t dport, sport;
	uint32_t ip_only, with_ports;
};

static const struct ms_vec ms_vecs[] = {
	{ { 161, 142, 100, 80 }, { 66, 9, 149, 187 }, 1766, 2794, 0x323e8fc2, 0x51ccc178 },
	{ { 65, 69, 140, 83 }, { 199, 92, 111, 2 }, 4739, 14230, 0xd718262a, 0xc626b0ea },
	{ { 12, 22, 207, 184 }, { 24, 19, 198, 95 }, 38024, 12898, 0xd2d0a5de, 0x5c2b394a },
	{ { 209, 142, 163, 6 }, { 38, 27, 205, 30 }, 2217, 48228, 0x82989176, 0xafc7327f },
	{ { 202, 188, 127, 2 }, { 153, 39, 163, 191 }, 1303, 44251, 0x5d1809c5, 0x10e828a2 },
};

static void
test_toeplitz_vectors(void **state)
{
	uint8_t in[12];
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(ms_vecs); i++) {
		const struct ms_vec *v = &ms_vecs[i];

		/* input order: source address, destination address, ports */
		memcpy(in, v->src, 4);
		memcpy(in + 4, v->dst, 4);
		in[8] = (uint8_t)(v->sport >> 8);
		in[9] = (uint8_t)v->sport;
		in[10] = (uint8_t)(v->dport >> 8);
		in[11] = (uint8_t)v->dport;
		assert_int_equal(lb_owner_toeplitz(ms_key, in, 8), v->ip_only);
		assert_int_equal(lb_owner_toeplitz(ms_key, in, 12), v->with_ports);
	}
}

static void
test_tables_and_symmetry(void **state)
{
	struct lb_owner *o = malloc(sizeof(*o));
	uint8_t key[LB_OWNER_RSS_KEY_LEN], in[8];
	uint64_t rng = 12345;
	uint32_t i, a;

	(void)state;
	assert_non_null(o);
	assert_int_equal(lb_owner_init(o, 4, 0), 0);
	lb_owner_default_key(key, sizeof(key));
	assert_memory_equal(key, o->rss_key, sizeof(key));
	assert_int_equal(key[0], 0x6d);
	assert_int_equal(key[1], 0x5a);
	assert_int_equal(key[38], 0x6d);
	for (i = 0; i < 100000; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		a = (uint32_t)rng;
		memcpy(in, &a, 4);
		/* the tables give the bit loop's answer */
		assert_int_equal(lb_owner_hash_addr(o, a), lb_owner_toeplitz(key, in, 4));
		/* the address hashes alike as source (a NIC hashing the L3
		 * source only: destination zeroed) and as destination (L3
		 * destination only), so a DNAT reply lands with its flow */
		memset(in + 4, 0, 4);
		assert_int_equal(lb_owner_toeplitz(key, in, 8), lb_owner_hash_addr(o, a));
		memset(in, 0, 4);
		memcpy(in + 4, &a, 4);
		assert_int_equal(lb_owner_toeplitz(key, in, 8), lb_owner_hash_addr(o, a));
		assert_true(lb_owner_of_client(o, a) < 4);
	}
	free(o);
}

static void
test_reta_and_spread(void **state)
{
	struct lb_owner *o = malloc(sizeof(*o));
	uint32_t n, i, count[LB_MAX_WORKERS];

	(void)state;
	assert_non_null(o);
	assert_int_equal(lb_owner_init(o, 0, 0), -EINVAL);
	assert_int_equal(lb_owner_init(o, LB_MAX_WORKERS + 1, 0), -EINVAL);
	assert_int_equal(lb_owner_init(o, 2, 100), -EINVAL);
	assert_int_equal(lb_owner_init(o, 2, LB_OWNER_RETA_MAX * 2), -EINVAL);
	assert_int_equal(lb_owner_init(NULL, 2, 0), -EINVAL);
	for (n = 1; n <= LB_MAX_WORKERS; n++) {
		assert_int_equal(lb_owner_init(o, n, n > 32 ? 512 : 0), 0);
		assert_int_equal(o->reta_size, n > 32 ? 512 : LB_OWNER_RETA_DEFAULT);
		for (i = 0; i < o->reta_size; i++)
			assert_int_equal(o->reta[i], i % n);
		assert_int_equal(lb_owner_of_hash(o, 5), 5 % n);
		assert_int_equal(lb_owner_of_hash(o, o->reta_size + 5), 5 % n);
		/* clients spread over every worker */
		memset(count, 0, sizeof(count));
		for (i = 0; i < 64 * n; i++)
			count[lb_owner_of_client(o, htonl(0x0a000000 + i * 7919))]++;
		for (i = 0; i < n; i++)
			assert_true(count[i] > 0);
	}
	free(o);
}

static void
test_port_split(void **state)
{
	struct lb_owner o;
	uint32_t mask, n, r, p;
	uint8_t pw[LB_OWNER_PORT_RESIDUES];

	(void)state;
	assert_int_equal(lb_owner_port_split(0, &mask, pw), -EINVAL);
	assert_int_equal(lb_owner_port_split(LB_MAX_WORKERS + 1, &mask, pw), -EINVAL);
	for (n = 1; n <= LB_MAX_WORKERS; n++) {
		uint32_t seen[LB_MAX_WORKERS] = { 0 };

		assert_int_equal(lb_owner_port_split(n, &mask, pw), 0);
		assert_true(mask + 1 >= n && mask + 1 < 2 * n);
		assert_int_equal(mask & (mask + 1), 0);
		for (r = 0; r <= mask; r++) {
			assert_int_equal(pw[r], r % n);
			seen[pw[r]]++;
		}
		/* each worker one or two residues */
		for (r = 0; r < n; r++)
			assert_true(seen[r] == 1 || seen[r] == 2);
		assert_int_equal(lb_owner_init(&o, n, 0), 0);
		assert_int_equal(o.port_mask, mask);
		for (p = 0; p < 65536; p += 97)
			assert_int_equal(lb_owner_of_port(&o, (uint16_t)p), pw[p & mask]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toeplitz_vectors),
		cmocka_unit_test(test_tables_and_symmetry),
		cmocka_unit_test(test_reta_and_spread),
		cmocka_unit_test(test_port_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
