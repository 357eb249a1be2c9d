/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_ADDR_H
#define LB_ADDR_H

/* IPv4 address, CIDR, endpoint and MAC parsing and printing, and a
 * family-aware address (struct lb_ip) for the model and the Kubernetes
 * decoder, which must keep IPv6 addresses they cannot serve yet. */
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

/* --- family-aware addresses (model, Kubernetes objects, pools) --- */

#define LB_AF_INET	4
#define LB_AF_INET6	6
#define LB_IP_STRLEN	46	/* INET6_ADDRSTRLEN */
#define LB_PREFIX_STRLEN (LB_IP_STRLEN + 4)

/* An IPv4 or IPv6 address. v4 is network order; v6 the 16 wire bytes. A zeroed
 * struct (family 0) is "no address". Compare with lb_ip_cmp, never memcmp of
 * structs that were not zeroed first. */
struct lb_ip {
	uint8_t family;		/* LB_AF_INET, LB_AF_INET6 or 0 */
	union {
		uint32_t v4;
		uint8_t v6[16];
	};
};

/* An address prefix of either family; addr has no host bits set. */
struct lb_prefix {
	struct lb_ip addr;
	uint8_t len;		/* 0..32 or 0..128 */
};

/* "192.0.2.1" or an IPv6 address in any RFC 4291 text form. 0 or -EINVAL
 * (out untouched on error). */
int lb_ip_parse(const char *s, struct lb_ip *out);
/* "ADDR/LEN" or a bare address (full length). Host bits set: -EINVAL. */
int lb_prefix_parse(const char *s, struct lb_prefix *out);
/* Canonical text (RFC 5952 for IPv6); "-" for family 0. Returns buf. */
char *lb_ip_fmt(const struct lb_ip *ip, char *buf);
char *lb_prefix_fmt(const struct lb_prefix *p, char *buf);
/* Total order: family first, then the address bytes as numbers. */
int lb_ip_cmp(const struct lb_ip *a, const struct lb_ip *b);
bool lb_prefix_match(const struct lb_prefix *p, const struct lb_ip *ip);
/* The address ip + n (n may be negative) within its family; -ERANGE when it
 * would leave the family's space (out untouched). */
int lb_ip_add(const struct lb_ip *ip, int64_t n, struct lb_ip *out);
/* b - a as a signed count, saturated at INT64_MIN/MAX (same family only). */
int64_t lb_ip_diff(const struct lb_ip *a, const struct lb_ip *b);

static inline struct lb_ip
lb_ip4(uint32_t addr_be)
{
	struct lb_ip ip = { .family = LB_AF_INET };

	ip.v4 = addr_be;
	return ip;
}

static inline bool
lb_cidr_match(const struct lb_cidr *c, uint32_t addr)
{
	return (addr & c->mask) == c->addr;
}

#endif /* LB_ADDR_H */
