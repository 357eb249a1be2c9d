/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_addr.h"

/* Parses a decimal number of at most maxdigits digits with no sign and no
 * leading zero (except "0"); returns the number of characters consumed, or 0. */
static int
parse_dec(const char *s, unsigned maxdigits, unsigned long *out)
{
	unsigned long v = 0;
	unsigned n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == maxdigits)
			return 0;
		v = v * 10 + (unsigned long)(s[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return 0;
	*out = v;
	return (int)n;
}

/* Parses a dotted quad at s; returns characters consumed or 0. */
static int
parse_quad(const char *s, uint32_t *addr)
{
	uint32_t v = 0;
	const char *p = s;
	unsigned long oct;
	int i, n;

	for (i = 0; i < 4; i++) {
		n = parse_dec(p, 3, &oct);
		if (n == 0 || oct > 255)
			return 0;
		v = v << 8 | (uint32_t)oct;
		p += n;
		if (i < 3) {
			if (*p != '.')
				return 0;
			p++;
		}
	}
	*addr = htonl(v);
	return (int)(p - s);
}

/* The parsers below write their outputs only on success, so a rejected
 * string never changes the caller's state (ARCHITECTURE.md invariant 4). */
int
lb_ip4_parse(const char *s, uint32_t *addr)
{
	uint32_t a;
	int n;

	if (s == NULL)
		return -EINVAL;
	n = parse_quad(s, &a);
	if (n == 0 || s[n] != '\0')
		return -EINVAL;
	*addr = a;
	return 0;
}

uint32_t
lb_prefix_mask(uint8_t len)
{
	if (len == 0)
		return 0;
	if (len >= 32)
		return 0xffffffffU;
	return htonl(~((1U << (32 - len)) - 1));
}

int
lb_cidr_parse(const char *s, struct lb_cidr *c, bool allow_host_bits)
{
	unsigned long len = 32;
	uint32_t addr, mask;
	int n;

	if (s == NULL)
		return -EINVAL;
	n = parse_quad(s, &addr);
	if (n == 0)
		return -EINVAL;
	if (s[n] == '/') {
		int m = parse_dec(s + n + 1, 2, &len);

		if (m == 0 || len > 32 || s[n + 1 + m] != '\0')
			return -EINVAL;
	} else if (s[n] != '\0') {
		return -EINVAL;
	}
	mask = lb_prefix_mask((uint8_t)len);
	if (!allow_host_bits && (addr & ~mask) != 0)
		return -EINVAL;
	c->len = (uint8_t)len;
	c->mask = mask;
	c->addr = addr;
	return 0;
}

int
lb_ep_parse(const char *s, uint32_t *addr, uint16_t *port)
{
	unsigned long p;
	uint32_t a;
	int n, m;

	if (s == NULL)
		return -EINVAL;
	n = parse_quad(s, &a);
	if (n == 0 || s[n] != ':')
		return -EINVAL;
	m = parse_dec(s + n + 1, 5, &p);
	if (m == 0 || p == 0 || p > 65535 || s[n + 1 + m] != '\0')
		return -EINVAL;
	*addr = a;
	*port = htons((uint16_t)p);
	return 0;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
lb_mac_parse(const char *s, uint8_t mac[LB_ETHER_ADDR_LEN])
{
	uint8_t m[LB_ETHER_ADDR_LEN];
	int i, hi, lo;

	if (s == NULL || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < LB_ETHER_ADDR_LEN; i++) {
		hi = hexval(s[i * 3]);
		lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, sizeof(m));
	return 0;
}

char *
lb_ip4_fmt(uint32_t addr, char *buf)
{
	uint32_t a = ntohl(addr);

	snprintf(buf, LB_IP4_STRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		(a >> 8) & 0xff, a & 0xff);
	return buf;
}

char *
lb_ep_fmt(uint32_t addr, uint16_t port, char *buf)
{
	char ip[LB_IP4_STRLEN];

	snprintf(buf, LB_EP_STRLEN, "%s:%u", lb_ip4_fmt(addr, ip), ntohs(port));
	return buf;
}

char *
lb_mac_fmt(const uint8_t mac[LB_ETHER_ADDR_LEN], char *buf)
{
	snprintf(buf, LB_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}
