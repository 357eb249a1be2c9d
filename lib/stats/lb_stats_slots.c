/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counter slots for per-frontend and per-target sets (lb_stats.h): a key ->
 * slot map (open addressing, linear probing, backward-shift deletion) over
 * a fixed number of slots, with a free stack and a retired state that waits
 * for the caller's grace period.
 */
#include <errno.h>
#include <stdlib.h>

#include "lb_stats.h"

enum { SLOT_FREE = 0, SLOT_LIVE, SLOT_RETIRED };

struct lb_stats_slots {
	uint32_t cap;
	uint32_t mask;		/* index size - 1 */
	uint32_t used;		/* live + retired */
	uint32_t n_free;
	uint32_t *free;		/* stack of free slots */
	uint32_t *index;	/* slot + 1, 0 = empty */
	uint64_t *key;		/* per slot */
	uint64_t *token;	/* per slot, while retired */
	uint8_t *state;		/* per slot */
};

static uint32_t
mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

uint64_t
lb_stats_target_key(uint64_t fe_id, uint64_t target_id)
{
	uint64_t k = fe_id ^ (target_id * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);

	k ^= k >> 31;
	k *= 0xbf58476d1ce4e5b9ULL;
	return k ^ (k >> 29);
}

struct lb_stats_slots *
lb_stats_slots_new(uint32_t capacity)
{
	struct lb_stats_slots *s;
	uint32_t n = 16, i;

	if (capacity == 0 || capacity > (1u << 28))
		return NULL;
	while (n < capacity * 2)
		n <<= 1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cap = capacity;
	s->mask = n - 1;
	s->free = calloc(capacity, sizeof(*s->free));
	s->index = calloc(n, sizeof(*s->index));
	s->key = calloc(capacity, sizeof(*s->key));
	s->token = calloc(capacity, sizeof(*s->token));
	s->state = calloc(capacity, sizeof(*s->state));
	if (s->free == NULL || s->index == NULL || s->key == NULL || s->token == NULL ||
	    s->state == NULL) {
		lb_stats_slots_free(s);
		return NULL;
	}
	/* lowest slots first */
	for (i = 0; i < capacity; i++)
		s->free[i] = capacity - 1 - i;
	s->n_free = capacity;
	return s;
}

void
lb_stats_slots_free(struct lb_stats_slots *s)
{
	if (s == NULL)
		return;
	free(s->free);
	free(s->index);
	free(s->key);
	free(s->token);
	free(s->state);
	free(s);
}

/* Index position holding key, or of the empty entry where it would go. */
static uint32_t
probe(const struct lb_stats_slots *s, uint64_t key)
{
	uint32_t i = mix(key) & s->mask;

	while (s->index[i] != 0 && s->key[s->index[i] - 1] != key)
		i = (i + 1) & s->mask;
	return i;
}

uint32_t
lb_stats_slot_find(const struct lb_stats_slots *s, uint64_t key)
{
	uint32_t i = probe(s, key);

	return s->index[i] != 0 ? s->index[i] - 1 : LB_STATS_NO_SLOT;
}

uint32_t
lb_stats_slot_get(struct lb_stats_slots *s, uint64_t key)
{
	uint32_t i = probe(s, key), slot;

	if (s->index[i] != 0) {
		slot = s->index[i] - 1;
		s->state[slot] = SLOT_LIVE;	/* back before its grace period ended */
		return slot;
	}
	if (s->n_free == 0)
		return LB_STATS_NO_SLOT;
	slot = s->free[--s->n_free];
	s->key[slot] = key;
	s->state[slot] = SLOT_LIVE;
	s->index[i] = slot + 1;
	s->used++;
	return slot;
}

int
lb_stats_slot_retire(struct lb_stats_slots *s, uint64_t key, uint64_t token)
{
	uint32_t slot = lb_stats_slot_find(s, key);

	if (slot == LB_STATS_NO_SLOT)
		return -ENOENT;
	s->state[slot] = SLOT_RETIRED;
	s->token[slot] = token;
	return 0;
}

/* Removes index entry i, shifting back the entries of its probe chain. */
static void
index_del(struct lb_stats_slots *s, uint32_t i)
{
	uint32_t j = i;

	s->index[i] = 0;
	for (;;) {
		uint32_t home;

		j = (j + 1) & s->mask;
		if (s->index[j] == 0)
			return;
		home = mix(s->key[s->index[j] - 1]) & s->mask;
		/* entry j may move to i when its home is not in (i, j] */
		if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
			s->index[i] = s->index[j];
			s->index[j] = 0;
			i = j;
		}
	}
}

uint32_t
lb_stats_slot_reclaim(struct lb_stats_slots *s,
	bool (*done)(void *ctx, uint32_t slot, uint64_t token),
	void (*zero)(void *ctx, uint32_t slot), void *ctx)
{
	uint32_t slot, freed = 0;

	for (slot = 0; slot < s->cap; slot++) {
		if (s->state[slot] != SLOT_RETIRED || !done(ctx, slot, s->token[slot]))
			continue;
		index_del(s, probe(s, s->key[slot]));
		if (zero != NULL)
			zero(ctx, slot);
		s->state[slot] = SLOT_FREE;
		s->free[s->n_free++] = slot;
		s->used--;
		freed++;
	}
	return freed;
}

uint32_t
lb_stats_slots_used(const struct lb_stats_slots *s)
{
	return s->used;
}
