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

/* v in decimal at p; returns the end. (The formatters below run for every
 * target of every frontend when the exporters' table is built: snprintf
 * cost ~0.4 us per call there.) */
static char *
put_dec(char *p, uint32_t v)
{
	char t[10];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = t[--n];
	return p;
}

static char *
put_ip4(char *p, uint32_t addr)
{
	uint32_t a = ntohl(addr);

	p = put_dec(p, a >> 24);
	*p++ = '.';
	p = put_dec(p, (a >> 16) & 0xff);
	*p++ = '.';
	p = put_dec(p, (a >> 8) & 0xff);
	*p++ = '.';
	return put_dec(p, a & 0xff);
}

char *
lb_ip4_fmt(uint32_t addr, char *buf)
{
	*put_ip4(buf, addr) = '\0';
	return buf;
}

char *
lb_ep_fmt(uint32_t addr, uint16_t port, char *buf)
{
	char *p = put_ip4(buf, addr);

	*p++ = ':';
	*put_dec(p, ntohs(port)) = '\0';
	return buf;
}

char *
lb_mac_fmt(const uint8_t mac[LB_ETHER_ADDR_LEN], char *buf)
{
	snprintf(buf, LB_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

/* --- family-aware addresses --- */

int
lb_ip_parse(const char *s, struct lb_ip *out)
{
	struct lb_ip ip;
	uint32_t v4;

	if (s == NULL || out == NULL)
		return -EINVAL;
	memset(&ip, 0, sizeof(ip));
	if (lb_ip4_parse(s, &v4) == 0) {
		ip.family = LB_AF_INET;
		ip.v4 = v4;
	} else if (strchr(s, ':') != NULL && inet_pton(AF_INET6, s, ip.v6) == 1) {
		ip.family = LB_AF_INET6;
	} else {
		return -EINVAL;
	}
	*out = ip;
	return 0;
}

static unsigned
family_bits(uint8_t family)
{
	return family == LB_AF_INET ? 32 : family == LB_AF_INET6 ? 128 : 0;
}

/* Bytes of ip in wire order and their count. */
static const uint8_t *
ip_bytes(const struct lb_ip *ip, unsigned *n)
{
	*n = family_bits(ip->family) / 8;
	return ip->family == LB_AF_INET ? (const uint8_t *)&ip->v4 : ip->v6;
}

static bool
host_bits_clear(const struct lb_ip *ip, unsigned len)
{
	unsigned n, i;
	const uint8_t *b = ip_bytes(ip, &n);

	for (i = 0; i < n; i++) {
		unsigned first = i * 8;
		uint8_t keep;

		if (first + 8 <= len)
			continue;
		keep = first >= len ? 0 : (uint8_t)(0xff << (8 - (len - first)));
		if (b[i] & (uint8_t)~keep)
			return false;
	}
	return true;
}

int
lb_prefix_parse(const char *s, struct lb_prefix *out)
{
	char buf[LB_PREFIX_STRLEN];
	const char *slash;
	struct lb_prefix p;
	unsigned long len;
	size_t alen;
	int n;

	if (s == NULL || out == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(&p, 0, sizeof(p));
	if (lb_ip_parse(buf, &p.addr) != 0)
		return -EINVAL;
	if (slash == NULL) {
		len = family_bits(p.addr.family);
	} else {
		n = parse_dec(slash + 1, 3, &len);
		if (n == 0 || slash[1 + n] != '\0' || len > family_bits(p.addr.family))
			return -EINVAL;
	}
	if (!host_bits_clear(&p.addr, (unsigned)len))
		return -EINVAL;
	p.len = (uint8_t)len;
	*out = p;
	return 0;
}

char *
lb_ip_fmt(const struct lb_ip *ip, char *buf)
{
	if (ip->family == LB_AF_INET)
		return lb_ip4_fmt(ip->v4, buf);
	if (ip->family != LB_AF_INET6 || inet_ntop(AF_INET6, ip->v6, buf, LB_IP_STRLEN) == NULL)
		snprintf(buf, LB_IP_STRLEN, "-");
	return buf;
}

char *
lb_prefix_fmt(const struct lb_prefix *p, char *buf)
{
	char a[LB_IP_STRLEN];

	snprintf(buf, LB_PREFIX_STRLEN, "%s/%u", lb_ip_fmt(&p->addr, a), p->len);
	return buf;
}

int
lb_ip_cmp(const struct lb_ip *a, const struct lb_ip *b)
{
	unsigned n;
	const uint8_t *x, *y;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	x = ip_bytes(a, &n);
	y = ip_bytes(b, &n);
	c = n ? memcmp(x, y, n) : 0;
	return c < 0 ? -1 : c > 0;
}

bool
lb_prefix_match(const struct lb_prefix *p, const struct lb_ip *ip)
{
	unsigned n, i, len = p->len;
	const uint8_t *a, *b;

	if (p->addr.family != ip->family || len > family_bits(ip->family))
		return false;
	a = ip_bytes(&p->addr, &n);
	b = ip_bytes(ip, &n);
	for (i = 0; i < n && i * 8 < len; i++) {
		unsigned bits = len - i * 8 >= 8 ? 8 : len - i * 8;
		uint8_t mask = (uint8_t)(0xff << (8 - bits));

		if ((a[i] & mask) != (b[i] & mask))
			return false;
	}
	return true;
}

int
lb_ip_add(const struct lb_ip *ip, int64_t n, struct lb_ip *out)
{
	uint8_t b[16];
	unsigned len, i;
	const uint8_t *src = ip_bytes(ip, &len);
	/* two's complement addition of n, sign-extended over len bytes */
	uint64_t mag = n < 0 ? (uint64_t)(-(n + 1)) + 1 : (uint64_t)n;
	unsigned carry = 0;
	struct lb_ip r;

	if (len == 0)
		return -EINVAL;
	memcpy(b, src, len);
	for (i = len; i-- > 0;) {
		unsigned digit = (unsigned)(mag & 0xff);
		int v;

		mag >>= 8;
		if (n >= 0) {
			v = b[i] + (int)digit + (int)carry;
			carry = v > 0xff;
		} else {
			v = b[i] - (int)digit - (int)carry;
			carry = v < 0;
		}
		b[i] = (uint8_t)v;
	}
	if (carry || mag != 0)
		return -ERANGE;
	r = *ip;
	if (ip->family == LB_AF_INET)
		memcpy(&r.v4, b, 4);
	else
		memcpy(r.v6, b, 16);
	*out = r;
	return 0;
}

int64_t
lb_ip_diff(const struct lb_ip *a, const struct lb_ip *b)
{
	unsigned n, i;
	const uint8_t *x = ip_bytes(a, &n), *y = ip_bytes(b, &n);
	__int128 d = 0;

	if (a->family != b->family)
		return 0;
	/* Once |d| passes INT64_MAX no later byte can bring it back (each step
	 * multiplies by 256 and adds at most 255), so stop there. */
	for (i = 0; i < n && d <= INT64_MAX && d >= INT64_MIN; i++)
		d = d * 256 + ((__int128)y[i] - (__int128)x[i]);
	if (d > INT64_MAX)
		return INT64_MAX;
	if (d < INT64_MIN)
		return INT64_MIN;
	return (int64_t)d;
}
