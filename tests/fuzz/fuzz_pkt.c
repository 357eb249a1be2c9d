/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for lib/pkt (see fuzz.h for how it is built and replayed).
 *
 * Checks: the parser stays inside the input (ASan), OK results describe
 * headers inside the frame, and lb_csum agrees with a byte-loop reference.
 */
#include <string.h>

#include "fuzz.h"
#include "lb_pkt.h"
#include "lb_csum.h"

static void
check_bounds(const struct lb_pkt *p, uint32_t len)
{
	CHECK(p->l2_len == 14 || p->l2_len == 18);
	CHECK(p->l3_off == p->l2_len);
	if (p->ether_type == LB_ETHER_TYPE_ARP) {
		CHECK((uint32_t)p->l3_off + 28 <= len);
		return;
	}
	CHECK(p->ether_type == LB_ETHER_TYPE_IPV4);
	CHECK((uint32_t)p->l3_off + p->l3_len <= len);
	CHECK(p->l4_off >= p->l3_off + 20 && p->l4_off <= p->l3_off + 60);
	CHECK((uint32_t)p->l4_off + p->l4_len == (uint32_t)p->l3_off + p->l3_len);
	if (p->is_frag)
		return;
	if (p->proto == LB_PROTO_TCP)
		CHECK(p->l4_len >= 20);
	if (p->inner_l3_off) {
		CHECK(p->inner_l3_off == p->l4_off + 8);
		CHECK((uint32_t)p->inner_l4_off + 8 <= (uint32_t)p->l4_off + p->l4_len);
	}
}

static uint16_t
ref_csum(const uint8_t *b, size_t n)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (i & 1) ? b[i] : (uint32_t)b[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_pkt p;
	uint16_t c;
	int v;

	if (size > 65535)
		return 0;
	for (v = 0; v < 2; v++) {
		enum lb_pkt_err e = lb_pkt_parse(data, (uint32_t)size, v, &p);

		CHECK((unsigned int)e < LB_PKT_ERR_MAX);
		if (e == LB_PKT_OK)
			check_bounds(&p, (uint32_t)size);
	}
	c = lb_csum(data, size);
	CHECK((uint16_t)((const uint8_t *)&c)[0] << 8 == (ref_csum(data, size) & 0xff00));
	CHECK(((const uint8_t *)&c)[1] == (ref_csum(data, size) & 0xff));
	return 0;
}
