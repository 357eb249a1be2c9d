/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/kni: what may leave a port from its kernel interface; VLAN tags. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_kni.h"

static const uint8_t MAC[6] = { 0x02, 0x6c, 0x62, 0, 0, 0x02 };
static const uint8_t OTHER[6] = { 0x02, 0, 0, 0, 0x64, 0xfe };

static uint32_t
addr(void)
{
	return htonl(0xc6336401);	/* 198.51.100.1 */
}

static uint32_t
ipv4(uint8_t *f, const uint8_t *smac, uint32_t src)
{
	memset(f, 0, 64);
	memcpy(f, OTHER, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	memcpy(f + 26, &src, 4);
	return 60;
}

static uint32_t
arp(uint8_t *f, const uint8_t *smac, const uint8_t *sha, uint32_t spa)
{
	memset(f, 0, 64);
	memset(f, 0xff, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	f[14 + 7] = 1;
	memcpy(f + 22, sha, 6);
	memcpy(f + 28, &spa, 4);
	return 42;
}

static void
test_egress(void **state)
{
	uint8_t f[64];
	uint32_t len;

	(void)state;
	len = ipv4(f, MAC, addr());
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), 0);
	assert_int_equal(lb_kni_egress_check(f, 33, MAC, addr()), -EINVAL);
	assert_int_equal(lb_kni_egress_check(f, 13, MAC, addr()), -EINVAL);
	/* another source address or MAC: the kernel forwarding, or spoofing */
	len = ipv4(f, MAC, htonl(0xc633640b));
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EPERM);
	len = ipv4(f, OTHER, addr());
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EPERM);
	/* not IPv4 in the header */
	len = ipv4(f, MAC, addr());
	f[14] = 0x65;
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EINVAL);
	/* IPv6, a tagged frame */
	len = ipv4(f, MAC, addr());
	f[12] = 0x86;
	f[13] = 0xdd;
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EPROTONOSUPPORT);
	f[12] = 0x81;
	f[13] = 0x00;
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EPROTONOSUPPORT);
	/* ARP from the port's MAC and address only */
	len = arp(f, MAC, MAC, addr());
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), 0);
	assert_int_equal(lb_kni_egress_check(f, 41, MAC, addr()), -EINVAL);
	len = arp(f, MAC, OTHER, addr());
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EPERM);
	len = arp(f, MAC, MAC, htonl(0xc6336402));
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EPERM);
	len = arp(f, OTHER, MAC, addr());
	assert_int_equal(lb_kni_egress_check(f, len, MAC, addr()), -EPERM);
}

static void
test_vlan(void **state)
{
	uint8_t buf[68], orig[64];
	uint32_t len;

	(void)state;
	len = ipv4(buf + 4, MAC, addr());
	memcpy(orig, buf + 4, sizeof(orig));
	lb_kni_vlan_push(buf, 100);
	assert_memory_equal(buf, orig, 12);
	assert_int_equal(buf[12], 0x81);
	assert_int_equal(buf[13], 0x00);
	assert_int_equal(buf[14], 0x00);
	assert_int_equal(buf[15], 100);
	assert_int_equal(buf[16], 0x08);
	assert_int_equal(buf[17], 0x00);
	assert_memory_equal(buf + 18, orig + 14, len - 14);
	/* and off again */
	assert_int_equal(lb_kni_vlan_pop(buf, len + 4), 4);
	assert_memory_equal(buf + 4, orig, len);
	/* untagged or too short: nothing moves */
	assert_int_equal(lb_kni_vlan_pop(buf + 4, len), 0);
	assert_memory_equal(buf + 4, orig, len);
	lb_kni_vlan_push(buf, 4094);
	assert_int_equal(buf[14], 0x0f);
	assert_int_equal(buf[15], 0xfe);
	assert_int_equal(lb_kni_vlan_pop(buf, 17), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_egress),
		cmocka_unit_test(test_vlan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
