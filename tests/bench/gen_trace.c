/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gen_trace: writes a benchmark trace (pcap) that is a pure function of its
 * arguments and seed, so anyone can regenerate the exact frames a figure was
 * measured with.
 *
 *   gen_trace -o FILE -n FLOWS -k KIND [options]
 *
 * KIND:
 *   est    per flow a SYN, then (after every flow's SYN) one data segment
 *   syn    one SYN per flow (new connections; or established flows when the
 *          trace is replayed: lbd takes a SYN on a live flow as one of its
 *          segments)
 *   ack    one data segment (ACK|PSH) per flow
 *   udp    one datagram per flow
 *   reply  one ACK per flow from --target to the client (DNAT replies)
 *
 * Options:
 *   -s SIZE          frame size on the wire including the 4-byte FCS
 *                    (default 64; the pcap holds SIZE - 4 bytes)
 *   -S SEED          seed of the client addresses and ports (default 1)
 *   --vip A:P        destination (default 192.0.2.10:80)
 *   --target A:P     source of replies (kind reply)
 *   --dmac / --smac  Ethernet addresses (default 02:70:63:61:70:00, the first
 *                    net_pcap port's, and 02:00:00:00:cc:01)
 *   --split W:Q      keep only the frames worker Q of W owns by lib/owner's
 *                    rule (what a NIC programmed by lbd delivers to queue Q)
 *
 * Flow i's client is 10.0.0.0/8 host perm(i) (a bijection of 24 bits mixed
 * with the seed, so flows never share a client address up to 2^24 flows) and
 * port 1024 + hash(i, seed) % 64512.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_owner.h"

enum kind { K_EST, K_SYN, K_ACK, K_UDP, K_REPLY };

struct opts {
	const char *out;
	uint32_t flows;
	enum kind kind;
	uint32_t size;
	uint64_t seed;
	uint32_t vip, target;
	uint16_t vport, tport;
	uint8_t dmac[6], smac[6];
	uint32_t split_w, split_q;
};

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t
client_addr(uint32_t i, uint64_t seed)
{
	/* odd multiplier and xor: a bijection of the low 24 bits */
	uint32_t x = (i * 0x9e3779b1u + (uint32_t)mix64(seed)) & 0xffffff;

	x ^= (uint32_t)(mix64(seed + 1) & 0xffffff);
	return htonl(0x0a000000u | x);
}

static uint16_t
client_port(uint32_t i, uint64_t seed)
{
	return htons((uint16_t)(1024 + mix64(seed * 0x100000001ULL + i) % 64512));
}

static uint16_t
csum16(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One frame; returns its length. */
static uint32_t
frame(const struct opts *o, uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
	uint16_t dport, uint8_t proto, uint8_t flags, uint32_t seq)
{
	uint32_t len = o->size - 4, l4len = len - 14 - 20, i;
	uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t acc;

	memset(f, 0, len);
	memcpy(f, o->dmac, 6);
	memcpy(f + 6, o->smac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, (uint16_t)seq);
	put16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put16(ip + 10, csum16(ip, 20, 0));
	memcpy(l4, &sport, 2);
	memcpy(l4 + 2, &dport, 2);
	if (proto == 6) {
		put16(l4 + 4, (uint16_t)(seq >> 16));
		put16(l4 + 6, (uint16_t)seq);
		if (flags & 0x10)
			put16(l4 + 10, 1);
		l4[12] = 5 << 4;
		l4[13] = flags;
		put16(l4 + 14, 65535);
		for (i = 20; i < l4len; i++)
			l4[i] = (uint8_t)(i * 7 + seq);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
		for (i = 8; i < l4len; i++)
			l4[i] = (uint8_t)(i * 7 + seq);
	}
	acc = (uint32_t)(ntohl(src) >> 16) + (ntohl(src) & 0xffff) + (ntohl(dst) >> 16) +
		(ntohl(dst) & 0xffff) + proto + l4len;
	put16(l4 + (proto == 6 ? 16 : 6), csum16(l4, l4len, acc));
	return len;
}

static int
parse_mac(const char *s, uint8_t *m)
{
	unsigned v[6], i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

static int
parse_ep(const char *s, uint32_t *a, uint16_t *p)
{
	char buf[64];
	char *c;

	snprintf(buf, sizeof(buf), "%s", s);
	c = strrchr(buf, ':');
	if (c == NULL)
		return -1;
	*c = '\0';
	*p = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: gen_trace -o FILE -n FLOWS -k est|syn|ack|udp|reply [-s SIZE] "
		"[-S SEED] [--vip A:P] [--target A:P] [--dmac MAC] [--smac MAC] [--split W:Q]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "vip", required_argument, NULL, 'v' }, { "target", required_argument, NULL, 't' },
		{ "dmac", required_argument, NULL, 'd' }, { "smac", required_argument, NULL, 'm' },
		{ "split", required_argument, NULL, 'p' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->size = 64;
	o->seed = 1;
	parse_ep("192.0.2.10:80", &o->vip, &o->vport);
	parse_mac("02:70:63:61:70:00", o->dmac);
	parse_mac("02:00:00:00:cc:01", o->smac);
	o->kind = K_EST;
	while ((c = getopt_long(argc, argv, "o:n:k:s:S:", lo, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'n': o->flows = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': o->size = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'S': o->seed = strtoull(optarg, NULL, 0); break;
		case 'k':
			if (!strcmp(optarg, "est")) o->kind = K_EST;
			else if (!strcmp(optarg, "syn")) o->kind = K_SYN;
			else if (!strcmp(optarg, "ack")) o->kind = K_ACK;
			else if (!strcmp(optarg, "udp")) o->kind = K_UDP;
			else if (!strcmp(optarg, "reply")) o->kind = K_REPLY;
			else usage();
			break;
		case 'v': if (parse_ep(optarg, &o->vip, &o->vport)) usage(); break;
		case 't': if (parse_ep(optarg, &o->target, &o->tport)) usage(); break;
		case 'd': if (parse_mac(optarg, o->dmac)) usage(); break;
		case 'm': if (parse_mac(optarg, o->smac)) usage(); break;
		case 'p':
			if (sscanf(optarg, "%u:%u", &o->split_w, &o->split_q) != 2 ||
			    o->split_w == 0 || o->split_q >= o->split_w)
				usage();
			break;
		default: usage();
		}
	}
	if (o->out == NULL || o->flows == 0 || o->flows > (1u << 24) || o->size < 64 ||
	    o->size > 1518 || (o->kind == K_REPLY && o->target == 0))
		usage();
}

int
main(int argc, char **argv)
{
	static const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	struct lb_owner owner;
	struct opts o;
	uint8_t f[1600];
	uint64_t written = 0;
	uint32_t i, pass, passes, len, rec[4];
	FILE *out;

	parse_args(argc, argv, &o);
	if (o.split_w > 0 && lb_owner_init(&owner, o.split_w, 0) != 0)
		usage();
	out = fopen(o.out, "wb");
	if (out == NULL) {
		fprintf(stderr, "gen_trace: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	fwrite(hdr, 4, 6, out);
	passes = o.kind == K_EST ? 2 : 1;
	for (pass = 0; pass < passes; pass++) {
		for (i = 0; i < o.flows; i++) {
			uint32_t c = client_addr(i, o.seed);
			uint16_t cp = client_port(i, o.seed);

			if (o.split_w > 0 && lb_owner_of_client(&owner, c) != o.split_q)
				continue;
			switch (o.kind) {
			case K_EST:
				len = frame(&o, f, c, o.vip, cp, o.vport, 6, pass == 0 ? 0x02 : 0x18,
					i * 2 + pass);
				break;
			case K_SYN:
				len = frame(&o, f, c, o.vip, cp, o.vport, 6, 0x02, i);
				break;
			case K_ACK:
				len = frame(&o, f, c, o.vip, cp, o.vport, 6, 0x18, i);
				break;
			case K_UDP:
				len = frame(&o, f, c, o.vip, cp, o.vport, 17, 0, i);
				break;
			default:
				len = frame(&o, f, o.target, c, o.tport, cp, 6, 0x10, i);
				break;
			}
			rec[0] = 1700000000u + (uint32_t)(written / 1000000);
			rec[1] = (uint32_t)(written % 1000000);
			rec[2] = rec[3] = len;
			fwrite(rec, 4, 4, out);
			fwrite(f, 1, len, out);
			written++;
		}
	}
	if (fclose(out) != 0) {
		fprintf(stderr, "gen_trace: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	printf("%s: %llu frames of %u bytes\n", o.out, (unsigned long long)written, o.size - 4);
	return 0;
}
