/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_ADDR_H
#define LB_ADDR_H

/* IPv4 address, CIDR, endpoint and MAC parsing and printing. */
#include "lb_common.h"

#define LB_IP4_STRLEN	16	/* "255.255.255.255" + NUL */
#define LB_EP_STRLEN	22	/* "255.255.255.255:65535" + NUL */
#define LB_MAC_STRLEN	18

/* An IPv4 prefix, network order. addr has no bits beyond len set unless it was
 * parsed with allow_host_bits (a port's own address/prefix), in which case
 * lb_cidr_match does not apply to it: compare (x & mask) == (addr & mask). */
struct lb_cidr {
	uint32_t addr;
	uint32_t mask;	/* network order, derived from len */
	uint8_t len;
};

/* Dotted quad only (no shorthand, no leading zeros beyond "0"). 0 or -EINVAL. */
int lb_ip4_parse(const char *s, uint32_t *addr);
/* "a.b.c.d/len"; a bare address means /32. Host bits set is -EINVAL unless
 * allow_host_bits (a port address like 10.0.0.2/24 keeps its host bits). */
int lb_cidr_parse(const char *s, struct lb_cidr *c, bool allow_host_bits);
/* "a.b.c.d:port" with port 1..65535. */
int lb_ep_parse(const char *s, uint32_t *addr, uint16_t *port);
/* "aa:bb:cc:dd:ee:ff". */
int lb_mac_parse(const char *s, uint8_t mac[LB_ETHER_ADDR_LEN]);

/* Formatters write into buf (at least the *_STRLEN above) and return buf. */
char *lb_ip4_fmt(uint32_t addr, char *buf);
char *lb_ep_fmt(uint32_t addr, uint16_t port, char *buf);
char *lb_mac_fmt(const uint8_t mac[LB_ETHER_ADDR_LEN], char *buf);

uint32_t lb_prefix_mask(uint8_t len);	/* network order */

static inline bool
lb_cidr_match(const struct lb_cidr *c, uint32_t addr)
{
	return (addr & c->mask) == c->addr;
}

#endif /* LB_ADDR_H */
