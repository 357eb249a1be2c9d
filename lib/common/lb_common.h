/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_COMMON_H
#define LB_COMMON_H

/*
 * Small definitions every component shares.
 *
 * Byte order rule for the whole tree: IPv4 addresses and L4 ports are kept in
 * network byte order wherever they sit next to packet data (flow keys, the
 * snapshot, the config model), as uint32_t / uint16_t. Only printing and
 * arithmetic on port ranges convert.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define LB_LIKELY(x)	__builtin_expect(!!(x), 1)
#define LB_UNLIKELY(x)	__builtin_expect(!!(x), 0)
#define LB_CACHE_LINE	64
#define LB_CACHE_ALIGNED __attribute__((aligned(LB_CACHE_LINE)))
#define LB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LB_MIN(a, b)	((a) < (b) ? (a) : (b))
#define LB_MAX(a, b)	((a) > (b) ? (a) : (b))

/* Limits shared by the config loader, the snapshot and the data path. */
#define LB_MAX_PORTS		8
#define LB_MAX_WORKERS		64
#define LB_MAX_SNAT_ADDRS	64
#define LB_NAME_MAX		64

#define LB_PROTO_TCP	6
#define LB_PROTO_UDP	17
#define LB_PROTO_ICMP	1

#define LB_ETHER_ADDR_LEN 6

#endif /* LB_COMMON_H */
