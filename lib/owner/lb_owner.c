/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "lb_owner.h"

void
lb_owner_default_key(uint8_t *key, size_t len)
{
	size_t i;

	/* Period 16 bits: every 32-bit window at an even byte offset is the
	 * same, so the hash of an address does not depend on where in the
	 * NIC's input (source or destination field) it sits. */
	for (i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

uint32_t
lb_owner_toeplitz(const uint8_t *key, const uint8_t *data, size_t len)
{
	uint32_t h = 0, win;
	size_t i;
	int b;

	/* win = key bits [8i, 8i + 32), shifted along bit by bit */
	win = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
	for (i = 0; i < len; i++) {
		for (b = 7; b >= 0; b--) {
			if (data[i] & (1u << b))
				h ^= win;
			win = win << 1 | ((key[i + 4] >> b) & 1);
		}
	}
	return h;
}

int
lb_owner_port_split(uint32_t n_workers, uint32_t *port_mask,
	uint8_t port_worker[LB_OWNER_PORT_RESIDUES])
{
	uint32_t mask = 0, r;

	if (n_workers == 0 || n_workers > LB_MAX_WORKERS)
		return -EINVAL;
	while (mask + 1 < n_workers)
		mask = mask << 1 | 1;
	*port_mask = mask;
	for (r = 0; r < LB_OWNER_PORT_RESIDUES; r++)
		port_worker[r] = (uint8_t)((r & mask) % n_workers);
	return 0;
}

int
lb_owner_init(struct lb_owner *o, uint32_t n_workers, uint32_t reta_size)
{
	uint8_t in[4] = { 0 };
	uint32_t i, b;

	if (reta_size == 0)
		reta_size = LB_OWNER_RETA_DEFAULT;
	if (o == NULL || n_workers == 0 || n_workers > LB_MAX_WORKERS ||
	    reta_size > LB_OWNER_RETA_MAX || (reta_size & (reta_size - 1)) != 0)
		return -EINVAL;
	memset(o, 0, sizeof(*o));
	o->n_workers = n_workers;
	o->reta_size = reta_size;
	for (i = 0; i < reta_size; i++)
		o->reta[i] = (uint8_t)(i % n_workers);
	lb_owner_port_split(n_workers, &o->port_mask, o->port_worker);
	lb_owner_default_key(o->rss_key, sizeof(o->rss_key));
	/* Toeplitz is linear in its input: per-byte tables, XORed. */
	for (i = 0; i < 4; i++)
		for (b = 0; b < 256; b++) {
			memset(in, 0, sizeof(in));
			in[i] = (uint8_t)b;
			o->toeplitz[i][b] = lb_owner_toeplitz(o->rss_key, in, sizeof(in));
		}
	return 0;
}
