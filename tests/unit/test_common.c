/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for lib/common: address, CIDR, endpoint and MAC parsing and
 * printing, prefix masks, and the fixed hashes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ref_hash.h"

#include "lb_addr.h"
#include "lb_hash.h"
#include "lb_ratelimit.h"

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/* ---------------------------------------------------------------- parse */

static void
test_ip4_parse(void **state)
{
	static const struct {
		const char *s;
		uint32_t host;
	} good[] = {
		{ "0.0.0.0", 0 },
		{ "255.255.255.255", 0xffffffff },
		{ "10.1.2.3", 0x0a010203 },
		{ "192.168.0.10", 0xc0a8000a },
		{ "1.0.0.0", 0x01000000 },
		{ "0.0.0.1", 0x00000001 },
		{ "100.200.250.199", 0x64c8fac7 },
	};
	static const char *const bad[] = {
		"", "1", "1.2", "1.2.3", "1.2.3.", ".1.2.3", "1.2.3.4.", "1.2.3.4.5",
		"1..2.3", "01.2.3.4", "1.2.3.04", "1.02.3.4", "00.0.0.0", "256.1.1.1",
		"1.2.3.256", "1.2.3.999", "1000.1.1.1", "1.2.3.0004", " 1.2.3.4",
		"1.2.3.4 ", "1.2.3.4x", "1.2.3.4/32", "1.2.3.4:80", "+1.2.3.4",
		"1.2.-3.4", "0x1.2.3.4", "1.2.3.4\n", "a.b.c.d", "1,2,3,4",
		"4294967295", "1.2.3.4\t",
	};
	uint32_t a;
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(good); i++) {
		a = 0xdeadbeef;
		assert_int_equal(lb_ip4_parse(good[i].s, &a), 0);
		assert_int_equal(a, htonl(good[i].host));
	}
	for (i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		a = 0xdeadbeef;
		if (lb_ip4_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(a, 0xdeadbeef);	/* untouched on error */
	}
	assert_int_equal(lb_ip4_parse(NULL, &a), -EINVAL);
}

static void
test_cidr_parse(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/", "10.0.0.0/33", "10.0.0.0/100", "10.0.0.0/08", "10.0.0.0/-1",
		"10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/8x", "10.0.0.0/8/8", "/8",
		"10.0.0/8", "010.0.0.0/8", "10.0.0.0:8", "10.0.0.0 /8", "",
		"256.0.0.0/8",
	};
	struct lb_cidr c, keep;
	size_t i;

	(void)state;
	assert_int_equal(lb_cidr_parse("10.0.0.0/8", &c, false), 0);
	assert_int_equal(c.addr, htonl(0x0a000000));
	assert_int_equal(c.mask, htonl(0xff000000));
	assert_int_equal(c.len, 8);
	assert_int_equal(lb_cidr_parse("0.0.0.0/0", &c, false), 0);
	assert_int_equal(c.addr, 0);
	assert_int_equal(c.mask, 0);
	assert_int_equal(c.len, 0);
	assert_int_equal(lb_cidr_parse("192.168.7.9/32", &c, false), 0);
	assert_int_equal(c.addr, htonl(0xc0a80709));
	assert_int_equal(c.mask, 0xffffffff);
	/* A bare address is a /32. */
	assert_int_equal(lb_cidr_parse("192.168.7.9", &c, false), 0);
	assert_int_equal(c.len, 32);
	assert_int_equal(c.mask, 0xffffffff);
	assert_int_equal(c.addr, htonl(0xc0a80709));
	assert_int_equal(lb_cidr_parse("172.16.0.0/12", &c, false), 0);
	assert_int_equal(c.mask, htonl(0xfff00000));

	/* Host bits: refused, unless asked for, then kept. */
	memset(&keep, 0x5a, sizeof(keep));
	c = keep;
	assert_int_equal(lb_cidr_parse("10.0.0.1/8", &c, false), -EINVAL);
	assert_memory_equal(&c, &keep, sizeof(c));
	assert_int_equal(lb_cidr_parse("1.2.3.4/0", &c, false), -EINVAL);
	assert_int_equal(lb_cidr_parse("10.0.0.128/25", &c, false), 0);
	assert_int_equal(lb_cidr_parse("10.0.0.129/25", &c, false), -EINVAL);
	assert_int_equal(lb_cidr_parse("10.0.0.2/24", &c, true), 0);
	assert_int_equal(c.addr, htonl(0x0a000002));
	assert_int_equal(c.mask, htonl(0xffffff00));
	assert_int_equal(c.len, 24);

	for (i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		c = keep;
		if (lb_cidr_parse(bad[i], &c, true) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_memory_equal(&c, &keep, sizeof(c));
	}
	assert_int_equal(lb_cidr_parse(NULL, &c, true), -EINVAL);

	/* Matching. */
	assert_int_equal(lb_cidr_parse("10.1.0.0/16", &c, false), 0);
	assert_true(lb_cidr_match(&c, htonl(0x0a010000)));
	assert_true(lb_cidr_match(&c, htonl(0x0a01ffff)));
	assert_false(lb_cidr_match(&c, htonl(0x0a020000)));
	assert_false(lb_cidr_match(&c, htonl(0x0a00ffff)));
	assert_int_equal(lb_cidr_parse("0.0.0.0/0", &c, false), 0);
	assert_true(lb_cidr_match(&c, htonl(0xdeadbeef)));
	assert_int_equal(lb_cidr_parse("8.8.8.8/32", &c, false), 0);
	assert_true(lb_cidr_match(&c, htonl(0x08080808)));
	assert_false(lb_cidr_match(&c, htonl(0x08080809)));
}

static void
test_ep_parse(void **state)
{
	static const char *const bad[] = {
		"1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:99999",
		"1.2.3.4:123456", "1.2.3.4:080", "1.2.3.4:00", "1.2.3.4:-1", "1.2.3.4:+80",
		"1.2.3.4:80x", "1.2.3.4:80 ", "1.2.3.4: 80", "1.2.3.4:80:90", ":80",
		"1.2.3:80", "01.2.3.4:80", "256.2.3.4:80", "1.2.3.4/32:80", "",
		"1.2.3.4::80",
	};
	uint32_t a;
	uint16_t p;
	size_t i;

	(void)state;
	assert_int_equal(lb_ep_parse("10.0.0.1:80", &a, &p), 0);
	assert_int_equal(a, htonl(0x0a000001));
	assert_int_equal(p, htons(80));
	assert_int_equal(lb_ep_parse("0.0.0.0:1", &a, &p), 0);
	assert_int_equal(a, 0);
	assert_int_equal(p, htons(1));
	assert_int_equal(lb_ep_parse("255.255.255.255:65535", &a, &p), 0);
	assert_int_equal(a, 0xffffffff);
	assert_int_equal(p, htons(65535));
	assert_int_equal(lb_ep_parse("192.168.1.2:30080", &a, &p), 0);
	assert_int_equal(p, htons(30080));

	for (i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		a = 0xdeadbeef;
		p = 0xbeef;
		if (lb_ep_parse(bad[i], &a, &p) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(a, 0xdeadbeef);
		assert_int_equal(p, 0xbeef);
	}
	assert_int_equal(lb_ep_parse(NULL, &a, &p), -EINVAL);
}

static void
test_mac_parse(void **state)
{
	static const uint8_t want[6] = { 0x00, 0x1a, 0x2b, 0xc3, 0xd4, 0xff };
	static const char *const bad[] = {
		"", "00:1a:2b:c3:d4", "00:1a:2b:c3:d4:ff:", "00:1a:2b:c3:d4:ff:00",
		"00-1a-2b-c3-d4-ff", "00:1a:2b:c3:d4:fg", "0:1a:2b:c3:d4:ff0",
		"001a2bc3d4ff", "00:1a:2b:c3:d4: f", " 0:1a:2b:c3:d4:ff",
		"00:1a:2b:c3:d4:ff ", "00:1a:2b:c3:d4;ff", "0x:1a:2b:c3:d4:ff",
		"00:1a:2b:c3:d4:f", "g0:1a:2b:c3:d4:ff",
	};
	uint8_t mac[6], keep[6];
	size_t i;

	(void)state;
	assert_int_equal(lb_mac_parse("00:1a:2b:c3:d4:ff", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(lb_mac_parse("00:1A:2B:C3:D4:FF", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(lb_mac_parse("ff:ff:ff:ff:ff:ff", mac), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(mac[i], 0xff);
	memset(keep, 0x77, sizeof(keep));
	for (i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		memcpy(mac, keep, 6);
		if (lb_mac_parse(bad[i], mac) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_memory_equal(mac, keep, 6);
	}
	assert_int_equal(lb_mac_parse(NULL, mac), -EINVAL);
}

/* ----------------------------------------------------------- formatting */

static void
test_format_known(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0xab, 0xcd };
	char ip[LB_IP4_STRLEN], ep[LB_EP_STRLEN], m[LB_MAC_STRLEN];

	(void)state;
	assert_ptr_equal(lb_ip4_fmt(htonl(0x0a000001), ip), ip);
	assert_string_equal(ip, "10.0.0.1");
	assert_string_equal(lb_ip4_fmt(0, ip), "0.0.0.0");
	assert_string_equal(lb_ip4_fmt(0xffffffff, ip), "255.255.255.255");
	assert_int_equal(strlen(ip) + 1, LB_IP4_STRLEN);	/* the longest fits */
	assert_ptr_equal(lb_ep_fmt(htonl(0xc0a80102), htons(8080), ep), ep);
	assert_string_equal(ep, "192.168.1.2:8080");
	assert_string_equal(lb_ep_fmt(0xffffffff, 0xffff, ep), "255.255.255.255:65535");
	assert_int_equal(strlen(ep) + 1, LB_EP_STRLEN);
	assert_ptr_equal(lb_mac_fmt(mac, m), m);
	assert_string_equal(m, "02:00:5e:10:ab:cd");
	assert_int_equal(strlen(m) + 1, LB_MAC_STRLEN);
	assert_string_equal(lb_ep_fmt(htonl(0x01000a09), htons(10), ep), "1.0.10.9:10");
	assert_string_equal(lb_ep_fmt(htonl(0x7f000001), 0, ep), "127.0.0.1:0");
}

/* The hand-written formatters agree with printf on every octet value and
 * on ports across the range. */
static void
test_format_like_printf(void **state)
{
	char ip[LB_IP4_STRLEN], ep[LB_EP_STRLEN], want[64];
	uint32_t v, x = 12345;

	(void)state;
	for (v = 0; v < 256; v++) {
		uint32_t a = v << 24 | (255 - v) << 16 | (v * 7 & 0xff) << 8 | v;

		snprintf(want, sizeof(want), "%u.%u.%u.%u", v, 255 - v, v * 7 & 0xff, v);
		assert_string_equal(lb_ip4_fmt(htonl(a), ip), want);
	}
	for (v = 0; v < 70000; v += 7) {
		x = x * 1103515245u + 12345u;
		snprintf(want, sizeof(want), "%u.%u.%u.%u:%u", x >> 24, (x >> 16) & 0xff,
			(x >> 8) & 0xff, x & 0xff, v & 0xffff);
		assert_string_equal(lb_ep_fmt(htonl(x), htons((uint16_t)v), ep), want);
	}
}

static void
test_format_roundtrip(void **state)
{
	char ip[LB_IP4_STRLEN], ep[LB_EP_STRLEN], m[LB_MAC_STRLEN];
	uint8_t mac[6], back_mac[6];
	uint32_t a, back;
	uint16_t p, back_p;
	struct lb_cidr c;
	int i, k;

	(void)state;
	for (i = 0; i < 20000; i++) {
		a = rng();
		p = (uint16_t)(rng() % 65535 + 1);
		assert_int_equal(lb_ip4_parse(lb_ip4_fmt(a, ip), &back), 0);
		assert_int_equal(back, a);
		assert_int_equal(lb_ep_parse(lb_ep_fmt(a, htons(p), ep), &back, &back_p), 0);
		assert_int_equal(back, a);
		assert_int_equal(back_p, htons(p));
		assert_int_equal(lb_cidr_parse(ip, &c, false), 0);
		assert_int_equal(c.addr, a);
		for (k = 0; k < 6; k++)
			mac[k] = (uint8_t)rng();
		assert_int_equal(lb_mac_parse(lb_mac_fmt(mac, m), back_mac), 0);
		assert_memory_equal(mac, back_mac, 6);
	}
}

static void
test_prefix_mask(void **state)
{
	uint32_t len, mask, host, bit;

	(void)state;
	for (len = 0; len <= 32; len++) {
		mask = lb_prefix_mask((uint8_t)len);
		host = ntohl(mask);
		/* Exactly len leading ones, then zeros, counted bit by bit. */
		for (bit = 0; bit < 32; bit++)
			assert_int_equal((host >> (31 - bit)) & 1, bit < len ? 1 : 0);
	}
	assert_int_equal(lb_prefix_mask(0), 0);
	assert_int_equal(lb_prefix_mask(32), 0xffffffff);
	assert_int_equal(lb_prefix_mask(24), htonl(0xffffff00));
	assert_int_equal(lb_prefix_mask(1), htonl(0x80000000));
	assert_int_equal(lb_prefix_mask(31), htonl(0xfffffffe));
}

/* ---------------------------------------------------------------- hashes */

static void
test_hash64_reference(void **state)
{
	uint8_t buf[80], moved[96];
	size_t len, off;
	uint64_t seed;

	(void)state;
	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (uint8_t)rng();
	for (len = 0; len <= 72; len++) {
		seed = (uint64_t)rng() << 32 | rng();
		assert_true(lb_hash64(buf, len, seed) == ref_hash64(buf, len, seed));
		assert_true(lb_hash64(buf, len, 0) == ref_hash64(buf, len, 0));
		/* Stable, and independent of where the bytes sit in memory. */
		assert_true(lb_hash64(buf, len, seed) == lb_hash64(buf, len, seed));
		for (off = 1; off < 8; off++) {
			memcpy(moved + off, buf, len);
			assert_true(lb_hash64(moved + off, len, seed) ==
				lb_hash64(buf, len, seed));
		}
	}
	assert_true(lb_hash64(NULL, 0, 7) == ref_hash64(NULL, 0, 7));
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_hash64_distinct(void **state)
{
	static const uint8_t zeros[64];
	uint64_t h[65 + 3 * 256 + 2 * 64 * 8], base;
	uint8_t buf[64];
	size_t n = 0, i, bit;

	(void)state;
	/* Runs of zero bytes of every length differ: the length counts. */
	for (i = 0; i <= 64; i++)
		h[n++] = lb_hash64(zeros, i, 0);
	/* Every other one-byte string, and two-byte strings with one zero
	 * byte (all-zero ones are above): content and length together. */
	for (i = 1; i < 256; i++) {
		buf[0] = (uint8_t)i;
		buf[1] = 0;
		h[n++] = lb_hash64(buf, 1, 0);
		h[n++] = lb_hash64(buf, 2, 0);
		buf[0] = 0;
		buf[1] = (uint8_t)i;
		h[n++] = lb_hash64(buf, 2, 0);
	}
	/* Every single-bit flip of a 64-byte message, and of its 8-byte head. */
	memset(buf, 0x3c, sizeof(buf));
	base = lb_hash64(buf, 64, 0);
	for (bit = 0; bit < 64 * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		h[n++] = lb_hash64(buf, 64, 0);
		assert_true(h[n - 1] != base);
		if (bit < 64) {
			h[n++] = lb_hash64(buf, 8, 0);
			assert_true(h[n - 1] != lb_hash64(buf, 8, 1));	/* seed counts */
		}
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_true(n <= LB_ARRAY_SIZE(h));
	qsort(h, n, sizeof(h[0]), cmp_u64);
	for (i = 1; i < n; i++)
		assert_true(h[i] != h[i - 1]);
	/* Same message, same hash. */
	assert_true(lb_hash64(buf, 64, 0) == base);
}

/* Pearson's chi-square of counts against a uniform expectation. */
static double
chi_square(const uint32_t *count, uint32_t buckets, uint32_t total)
{
	double e = (double)total / buckets, x = 0;
	uint32_t i;

	for (i = 0; i < buckets; i++)
		x += (count[i] - e) * (count[i] - e) / e;
	return x;
}

/*
 * Sequential inputs (addresses a.b.c.1, .2, ...; ports 1, 2, ...) must spread
 * evenly over buckets taken from the low bits, the high bits, and mod a
 * Maglev size. With 255 degrees of freedom chi-square has mean 255 and
 * standard deviation about 22.6; 400 is over six deviations out, so a fair
 * hash does not trip it, while a weak one (identity, low bits of a
 * multiply) lands in the thousands.
 */
static void
test_hash32_spread(void **state)
{
	const uint32_t total = 256 * 1024;
	uint32_t lo[256], hi[256], md[256], i, h, mode;
	double x;

	(void)state;
	for (mode = 0; mode < 4; mode++) {
		memset(lo, 0, sizeof(lo));
		memset(hi, 0, sizeof(hi));
		memset(md, 0, sizeof(md));
		for (i = 0; i < total; i++) {
			switch (mode) {
			case 0:	/* clients 10.0.0.0 + i, fixed port */
				h = lb_hash32_2(htonl(0x0a000000 + i), htons(443), 0);
				break;
			case 1:	/* one client, sequential ports and a counter */
				h = lb_hash32_2(htonl(0xc0a80001), (i & 0xffff) << 16 | i >> 16, 0);
				break;
			case 2:	/* sequential words, nonzero seed */
				h = lb_hash32_2(i, 0, 0x12345678);
				break;
			default:	/* three words, sequential last */
				h = lb_hash32_3(htonl(0x0a000001), htonl(0x0a000002), i, 0);
				break;
			}
			lo[h & 0xff]++;
			hi[h >> 24]++;
			md[(h % 65537) & 0xff]++;
		}
		x = chi_square(lo, 256, total);
		if (x > 400)
			fail_msg("mode %u low byte chi-square %.1f", mode, x);
		x = chi_square(hi, 256, total);
		if (x > 400)
			fail_msg("mode %u high byte chi-square %.1f", mode, x);
		x = chi_square(md, 256, total);
		if (x > 400)
			fail_msg("mode %u mod 65537 chi-square %.1f", mode, x);
	}
}

/* Flipping one input bit flips about half the output bits, and the seed
 * and the order of the words matter. */
static void
test_hash32_avalanche(void **state)
{
	uint64_t flips = 0, trials = 0;
	uint32_t i, bit, a, b, h;

	(void)state;
	for (i = 0; i < 2000; i++) {
		a = rng();
		b = rng();
		h = lb_hash32_2(a, b, 0);
		for (bit = 0; bit < 64; bit++) {
			uint32_t a2 = bit < 32 ? a ^ (1u << bit) : a;
			uint32_t b2 = bit < 32 ? b : b ^ (1u << (bit - 32));

			flips += (uint64_t)__builtin_popcount(h ^ lb_hash32_2(a2, b2, 0));
			trials++;
		}
		assert_int_equal(lb_hash32_2(a, b, 0), h);
		if (a != b)
			assert_true(lb_hash32_2(b, a, 0) != h);
	}
	/* 32 * 0.5 = 16 expected; a few tenths either way is noise. */
	assert_true(flips > trials * 155 / 10);
	assert_true(flips < trials * 165 / 10);
	assert_true(lb_hash32_2(1, 2, 0) != lb_hash32_2(1, 2, 1));
	assert_true(lb_hash32_3(1, 2, 3, 0) != lb_hash32_3(1, 2, 4, 0));
}

/* The log rate limit: a burst per window, then silence, then the count. */
static void
test_ratelimit(void **state)
{
	struct lb_ratelimit rl = { 0 };
	uint32_t sup, i, let = 0;

	(void)state;
	for (i = 0; i < 25; i++)
		if (lb_ratelimit_ok(&rl, 1000 + i, 10, 5000, &sup)) {
			assert_int_equal(sup, 0);
			let++;
		}
	assert_int_equal(let, 10);
	/* still the same window */
	assert_false(lb_ratelimit_ok(&rl, 5999, 10, 5000, &sup));
	/* the next window: the first event carries the 16 held back */
	assert_true(lb_ratelimit_ok(&rl, 6000, 10, 5000, &sup));
	assert_int_equal(sup, 16);
	assert_true(lb_ratelimit_ok(&rl, 6001, 10, 5000, &sup));
	assert_int_equal(sup, 0);
	/* a clock that starts at 0 is a clock like any other */
	memset(&rl, 0, sizeof(rl));
	assert_true(lb_ratelimit_ok(&rl, 0, 1, 100, &sup));
	assert_false(lb_ratelimit_ok(&rl, 99, 1, 100, &sup));
	assert_true(lb_ratelimit_ok(&rl, 100, 1, 100, &sup));
	assert_int_equal(sup, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_ip4_parse),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_ep_parse),
		cmocka_unit_test(test_mac_parse),
		cmocka_unit_test(test_format_known),
		cmocka_unit_test(test_format_like_printf),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_prefix_mask),
		cmocka_unit_test(test_hash64_reference),
		cmocka_unit_test(test_hash64_distinct),
		cmocka_unit_test(test_hash32_spread),
		cmocka_unit_test(test_hash32_avalanche),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
