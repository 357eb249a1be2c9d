/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_OWNER_H
#define LB_OWNER_H

/*
 * The owner rule: which worker processes a frame. A flow's frames in both
 * directions must reach the worker that holds its state (ARCHITECTURE.md §2),
 * and this is the one place that says which that is. drivers/net programs the
 * NIC from it (RSS key and redirection table, rte_flow rules) so that the
 * hardware already delivers each frame to its owner's queue; lib/dp computes
 * the same thing in software and hands a frame it does not own to its owner
 * (the fallback for devices that cannot steer).
 *
 *   client -> VIP (any method)            Toeplitz(client address) -> RETA
 *   target -> client (DNAT reply)          the same, of the destination
 *   target -> SNAT address:port (FullNAT)  the port's low bits (lb_owner_port)
 *   ICMP error about a flow                the rule above for the quoted header
 *
 * Client frames are hashed on the client address alone, with a symmetric
 * Toeplitz key (0x6d5a repeated): the NIC computes the same hash whether it
 * hashes the source of a client frame (RSS on the external port, L3 source
 * only) or the destination of a DNAT reply (internal port, L3 destination
 * only), so both directions of a DNAT flow land on one queue, and a client's
 * affinity state lives on one worker. The price: one client address is
 * served by one worker (a large NAT in front of many users is not spread).
 *
 * FullNAT replies carry lbd's own SNAT address:port; the port's low bits name
 * the worker (the SNAT allocator only gives a worker ports it owns), which
 * one rte_flow rule per (SNAT address, protocol, residue) steers, as DPVS
 * does. Residue r of port & port_mask belongs to worker r % n_workers; with a
 * worker count that is not a power of two the first workers own two residues.
 *
 * Written by: lb_owner_init (control thread, once at start; the snapshot
 * carries a copy). Read by: workers (lib/dp), drivers/net, lbctl trace.
 */
#include "lb_common.h"

#define LB_OWNER_RSS_KEY_LEN	40
#define LB_OWNER_RETA_MAX	512
#define LB_OWNER_RETA_DEFAULT	128
#define LB_OWNER_PORT_RESIDUES	64	/* >= LB_MAX_WORKERS, a power of two */

struct lb_owner {
	uint32_t n_workers;
	uint32_t reta_size;		/* power of two, 1..LB_OWNER_RETA_MAX */
	uint32_t port_mask;		/* smallest 2^k - 1 >= n_workers - 1 */
	uint8_t reta[LB_OWNER_RETA_MAX];	/* RSS redirection: entry -> worker (= rx queue) */
	uint8_t port_worker[LB_OWNER_PORT_RESIDUES];	/* residue -> worker */
	uint8_t rss_key[LB_OWNER_RSS_KEY_LEN];
	/* Toeplitz of a 4-byte input: toeplitz[i][b] is the contribution of
	 * byte i having value b (the hash is the XOR of four entries). */
	uint32_t toeplitz[4][256];
};

/* The symmetric key lbd programs (0x6d, 0x5a repeated), len bytes of it. */
void lb_owner_default_key(uint8_t *key, size_t len);

/*
 * Initialises o for n_workers (1..LB_MAX_WORKERS) and a redirection table of
 * reta_size entries (a power of two up to LB_OWNER_RETA_MAX; 0 picks
 * LB_OWNER_RETA_DEFAULT), entry i -> worker i % n_workers. Returns 0 or
 * -EINVAL (o untouched).
 */
int lb_owner_init(struct lb_owner *o, uint32_t n_workers, uint32_t reta_size);

/* Reference Toeplitz hash (Microsoft RSS): key must have len + 4 bytes at
 * least. Bit loop, for tests and for checking the tables. */
uint32_t lb_owner_toeplitz(const uint8_t *key, const uint8_t *data, size_t len);

/* Toeplitz hash of an IPv4 address (network order), as the NIC computes it
 * for a frame hashed on that address alone. */
static inline uint32_t
lb_owner_hash_addr(const struct lb_owner *o, uint32_t addr)
{
	const uint8_t *b = (const uint8_t *)&addr;

	return o->toeplitz[0][b[0]] ^ o->toeplitz[1][b[1]] ^ o->toeplitz[2][b[2]] ^
		o->toeplitz[3][b[3]];
}

/* Worker for an RSS hash value (the NIC's, or lb_owner_hash_addr's). */
static inline uint32_t
lb_owner_of_hash(const struct lb_owner *o, uint32_t hash)
{
	return o->reta[hash & (o->reta_size - 1)];
}

/* Owner of a client's frames (and of DNAT replies to it). */
static inline uint32_t
lb_owner_of_client(const struct lb_owner *o, uint32_t client)
{
	return lb_owner_of_hash(o, lb_owner_hash_addr(o, client));
}

/* Owner of a SNAT port (host order) by its low bits. Whether the port is a
 * SNAT port at all is lb_snat's question (lb_snat_owner). */
static inline uint32_t
lb_owner_of_port(const struct lb_owner *o, uint16_t port)
{
	return o->port_worker[port & o->port_mask];
}

/* The residue split alone, for lib/snat's layout: port_mask and
 * port_worker[] for n_workers (1..LB_MAX_WORKERS); -EINVAL otherwise. */
int lb_owner_port_split(uint32_t n_workers, uint32_t *port_mask,
	uint8_t port_worker[LB_OWNER_PORT_RESIDUES]);

#endif /* LB_OWNER_H */
