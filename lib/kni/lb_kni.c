/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "lb_kni.h"

#define ETH_HLEN	14
#define IP4_MIN		20
#define ARP_LEN		28
#define TYPE_IPV4	0x0800
#define TYPE_ARP	0x0806
#define TYPE_VLAN	0x8100

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int
lb_kni_egress_check(const uint8_t *frame, uint32_t len, const uint8_t mac[LB_ETHER_ADDR_LEN],
	uint32_t addr)
{
	const uint8_t *l3 = frame + ETH_HLEN;

	if (len < ETH_HLEN)
		return -EINVAL;
	switch (be16(frame + 12)) {
	case TYPE_IPV4:
		if (len < ETH_HLEN + IP4_MIN || (l3[0] >> 4) != 4)
			return -EINVAL;
		if (memcmp(frame + 6, mac, LB_ETHER_ADDR_LEN) != 0 || memcmp(l3 + 12, &addr, 4) != 0)
			return -EPERM;
		return 0;
	case TYPE_ARP:
		if (len < ETH_HLEN + ARP_LEN)
			return -EINVAL;
		/* the sender fields: hardware type, protocol, lengths, op, then sha, spa */
		if (memcmp(frame + 6, mac, LB_ETHER_ADDR_LEN) != 0 ||
		    memcmp(l3 + 8, mac, LB_ETHER_ADDR_LEN) != 0 || memcmp(l3 + 14, &addr, 4) != 0)
			return -EPERM;
		return 0;
	default:
		return -EPROTONOSUPPORT;
	}
}

void
lb_kni_vlan_push(uint8_t *buf, uint16_t vlan)
{
	memmove(buf, buf + 4, 12);
	buf[12] = TYPE_VLAN >> 8;
	buf[13] = TYPE_VLAN & 0xff;
	buf[14] = (uint8_t)((vlan >> 8) & 0x0f);
	buf[15] = (uint8_t)(vlan & 0xff);
	/* buf[16..17]: the frame's own ether type, in place */
}

uint32_t
lb_kni_vlan_pop(uint8_t *frame, uint32_t len)
{
	if (len < ETH_HLEN + 4 || be16(frame + 12) != TYPE_VLAN)
		return 0;
	memmove(frame + 4, frame, 12);
	return 4;
}
