/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_KNI_H
#define LB_KNI_H

/*
 * A port's kernel interface (the exception path, docs/design.md): what may
 * leave the port of what the kernel sends on it, and the 802.1Q tag that the
 * untagged kernel interface does not carry. Plain functions on frames, used
 * by the control thread (app/lbd/kni.c).
 */
#include "lb_common.h"

/*
 * Whether a frame the kernel sent on the kernel interface of a port whose
 * MAC is mac and address addr (network order) may go out of the port: an
 * untagged IPv4 frame or ARP message from that MAC and that address. Returns
 * 0; -EINVAL for a frame too short for its headers; -EPROTONOSUPPORT for
 * another ether type (IPv6, a tag); -EPERM for another source MAC or address
 * (the kernel forwarding or using an address lbd does not own).
 */
int lb_kni_egress_check(const uint8_t *frame, uint32_t len, const uint8_t mac[LB_ETHER_ADDR_LEN],
	uint32_t addr);

/*
 * Tags a frame that starts at buf + 4 with VLAN vlan (1..4094): the MAC
 * addresses move to buf and the tag follows them. buf must have len + 4
 * bytes; the tagged frame starts at buf.
 */
void lb_kni_vlan_push(uint8_t *buf, uint16_t vlan);

/*
 * Untags a frame in place when it carries an 802.1Q tag: the MAC addresses
 * move over the tag. Returns how many bytes the frame now starts later (4, or
 * 0 when it had no tag or is too short to have one).
 */
uint32_t lb_kni_vlan_pop(uint8_t *frame, uint32_t len);

#endif /* LB_KNI_H */
