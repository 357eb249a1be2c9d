/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The expiry side of the flow table: a hierarchical timer wheel per class.
 *
 * Ticks are milliseconds (the low 32 bits of the caller's clock). The sweep
 * has processed every tick up to and including t->cursor; a flow is placed
 * relative to a base tick b (cursor + 1 outside the sweep, the tick being
 * processed inside it) by d = expire - b:
 *
 *   d < 0              level 0, slot b & 255 (overdue: processed next)
 *   0 <= d < 256       level 0, slot expire & 255
 *   256^k <= d < 256^(k+1)   level k, slot (expire >> 8k) & 255
 *
 * A level-k slot is emptied ("cascaded") when the sweep reaches the first
 * tick of its range, g = expire rounded down to 256^k, which is always past
 * the base; its flows move to lower levels by their exact expiry, so every
 * flow reaches a level-0 slot at its expiry tick. Each level-0 slot holds one
 * tick, each level-k slot one range, at any time (the usual hierarchical
 * wheel argument: d < 256^(k+1) and the sweep has not reached g yet).
 *
 * Lazy refresh: lb_flow_touch only raises f->expire; the flow stays in the
 * slot of its old expiry (f->due). When the sweep or an eviction search
 * meets it there and finds it still live, it is placed again by its current
 * expiry. So a flow's slot is never later than its expiry, and an expired
 * flow is always in a slot the sweep has reached or is about to.
 */
#include "lb_flow_priv.h"

static inline unsigned
level_of(const struct lb_flow *f)
{
	return (f->flags & F_LVL_MASK) >> F_LVL_SHIFT;
}

static inline unsigned
slot_of(uint32_t due, unsigned lvl)
{
	return (due >> (WHEEL_BITS * lvl)) & (WHEEL_SLOTS - 1);
}

static inline void
bit_set(uint64_t *w, unsigned s)
{
	w[s >> 6] |= 1ULL << (s & 63);
}

static inline void
bit_clear(uint64_t *w, unsigned s)
{
	w[s >> 6] &= ~(1ULL << (s & 63));
}

/* First set bit at or after s, circularly over WHEEL_SLOTS bits; -1 if none. */
static int
bit_next(const uint64_t *w, unsigned s)
{
	unsigned i, word = s >> 6;
	uint64_t m = w[word] & (~0ULL << (s & 63));

	for (i = 0; i <= WHEEL_WORDS; i++) {
		if (m != 0)
			return (int)(((word << 6) | (unsigned)__builtin_ctzll(m)) & (WHEEL_SLOTS - 1));
		word = (word + 1) & (WHEEL_WORDS - 1);
		m = w[word];
		if (i + 1 == WHEEL_WORDS)	/* back at the start word: only its low part */
			m &= (1ULL << (s & 63)) - 1;
	}
	return -1;
}

/* Clears the level's bit for slot s when no class has flows there. */
static void
bit_update(struct lb_flow_table *t, unsigned lvl, unsigned s)
{
	unsigned c;

	for (c = 0; c < LB_FLOW_NCLASS; c++)
		if (t->wheel[c][lvl][s].head != LB_FLOW_NIL)
			return;
	bit_clear(t->used[lvl], s);
}

void
lb_flow_timer_start(struct lb_flow_table *t, uint32_t now)
{
	if (!t->started) {
		t->started = true;
		t->cursor = now - 1;
	}
}

void
lb_flow_timer_place(struct lb_flow_table *t, uint32_t idx, uint32_t base)
{
	struct lb_flow *f = &t->flows[idx];
	int32_t d = (int32_t)(f->expire - base);
	unsigned lvl = 0, s;
	struct wheel_list *l;

	if (d < 0) {
		f->due = base;
	} else {
		f->due = f->expire;
		if ((uint32_t)d >= 1u << 24)
			lvl = 3;
		else if ((uint32_t)d >= 1u << 16)
			lvl = 2;
		else if ((uint32_t)d >= 1u << 8)
			lvl = 1;
	}
	f->flags = (uint8_t)((f->flags & ~F_LVL_MASK) | (lvl << F_LVL_SHIFT));
	s = slot_of(f->due, lvl);
	l = &t->wheel[f->cls][lvl][s];
	f->tnext = LB_FLOW_NIL;
	f->tprev = l->tail;
	if (l->tail == LB_FLOW_NIL)
		l->head = idx;
	else
		t->flows[l->tail].tnext = idx;
	l->tail = idx;
	bit_set(t->used[lvl], s);
}

void
lb_flow_timer_unlink(struct lb_flow_table *t, uint32_t idx)
{
	struct lb_flow *f = &t->flows[idx];
	unsigned lvl = level_of(f), s = slot_of(f->due, lvl);
	struct wheel_list *l = &t->wheel[f->cls][lvl][s];

	if (f->tprev == LB_FLOW_NIL)
		l->head = f->tnext;
	else
		t->flows[f->tprev].tnext = f->tnext;
	if (f->tnext == LB_FLOW_NIL)
		l->tail = f->tprev;
	else
		t->flows[f->tnext].tprev = f->tprev;
	if (l->head == LB_FLOW_NIL)
		bit_update(t, lvl, s);
}

/* Takes the first flow off a list (the list stays valid). */
static uint32_t
list_pop(struct lb_flow_table *t, struct wheel_list *l)
{
	uint32_t idx = l->head;
	struct lb_flow *f = &t->flows[idx];

	l->head = f->tnext;
	if (l->head == LB_FLOW_NIL)
		l->tail = LB_FLOW_NIL;
	else
		t->flows[l->head].tprev = LB_FLOW_NIL;
	return idx;
}

/*
 * Distance from `from` to the first tick, at or after it, that has work: a
 * non-empty level-0 slot, or the first tick of a non-empty level-k slot's
 * range. UINT32_MAX when the wheel is empty.
 */
static uint32_t
next_work(const struct lb_flow_table *t, uint32_t from)
{
	uint32_t best = UINT32_MAX, dist, g0, idx0;
	unsigned lvl, span;
	int b;

	b = bit_next(t->used[0], from & (WHEEL_SLOTS - 1));
	if (b >= 0)
		best = ((uint32_t)b - from) & (WHEEL_SLOTS - 1);
	for (lvl = 1; lvl < WHEEL_LEVELS; lvl++) {
		span = WHEEL_BITS * lvl;
		/* first tick at or after from where this level's slots begin */
		g0 = (from + (1u << span) - 1) & ~((1u << span) - 1);
		idx0 = (g0 >> span) & (WHEEL_SLOTS - 1);
		b = bit_next(t->used[lvl], idx0);
		if (b < 0)
			continue;
		dist = (g0 - from) + ((((uint32_t)b - idx0) & (WHEEL_SLOTS - 1)) << span);
		if (dist < best)
			best = dist;
	}
	return best;
}

uint32_t
lb_flow_timer_advance(struct lb_flow_table *t, uint32_t now, uint32_t budget, uint32_t work,
	bool until_one)
{
	uint32_t freed = 0, done = 0, tick, dist, idx;
	unsigned lvl, c, s;

	if (!t->started)
		return 0;
	while ((int32_t)(now - t->cursor) > 0) {
		dist = next_work(t, t->cursor + 1);
		if (dist == UINT32_MAX || dist > now - (t->cursor + 1)) {
			t->cursor = now;	/* nothing due up to now */
			break;
		}
		tick = t->cursor + 1 + dist;
		t->cursor = tick - 1;
		/* Cascade the levels whose slots begin at this tick, highest
		 * first, so that flows can fall through several levels at once.
		 * A cascaded flow never lands back in the slot being emptied. */
		for (lvl = WHEEL_LEVELS - 1; lvl > 0; lvl--) {
			if ((tick & ((1u << (WHEEL_BITS * lvl)) - 1)) != 0)
				continue;
			s = slot_of(tick, lvl);
			for (c = 0; c < LB_FLOW_NCLASS; c++) {
				struct wheel_list *l = &t->wheel[c][lvl][s];

				while (l->head != LB_FLOW_NIL) {
					if (done >= work)
						return freed;
					idx = list_pop(t, l);
					lb_flow_timer_place(t, idx, tick);
					done++;
				}
			}
			bit_clear(t->used[lvl], s);
		}
		s = tick & (WHEEL_SLOTS - 1);
		for (c = 0; c < LB_FLOW_NCLASS; c++) {
			struct wheel_list *l = &t->wheel[c][0][s];

			while (l->head != LB_FLOW_NIL) {
				if (freed >= budget || done >= work)
					return freed;
				idx = list_pop(t, l);
				if (lb_flow_is_expired(t->flows[idx].expire, now)) {
					lb_flow_release(t, idx);
					t->stats.expired++;
					freed++;
				} else {
					/* refreshed since it was placed */
					lb_flow_timer_place(t, idx, tick);
					done++;
				}
			}
		}
		bit_clear(t->used[0], s);
		t->cursor = tick;
		done++;
		if (until_one && freed > 0)
			break;
	}
	return freed;
}

/* Whether f still belongs in the slot it sits in (its expiry was not raised
 * past the slot's range since it was placed). */
static inline bool
in_place(const struct lb_flow_table *t, const struct lb_flow *f, unsigned lvl)
{
	/* overdue (a touch to an expiry already past): take it as it is */
	if ((int32_t)(f->expire - t->cursor) <= 0)
		return true;
	return (f->expire >> (WHEEL_BITS * lvl)) == (f->due >> (WHEEL_BITS * lvl));
}

/* First flow of list l that is in place; re-places the stale ones it meets
 * (always into a later slot). */
static uint32_t
list_victim(struct lb_flow_table *t, struct wheel_list *l, unsigned lvl)
{
	uint32_t idx = l->head, next;

	while (idx != LB_FLOW_NIL) {
		next = t->flows[idx].tnext;
		if (in_place(t, &t->flows[idx], lvl))
			return idx;
		lb_flow_timer_unlink(t, idx);
		lb_flow_timer_place(t, idx, t->cursor + 1);
		idx = next;
	}
	return LB_FLOW_NIL;
}

/*
 * The live flow of class cls closest to expiry (see lb_flow.h for the
 * precision), or LB_FLOW_NIL when the class is empty. Scans level 0 tick by
 * tick from the cursor, then each higher level slot by slot in time order.
 */
uint32_t
lb_flow_timer_victim(struct lb_flow_table *t, uint8_t cls)
{
	uint32_t from = t->cursor + 1, idx, g0, idx0;
	unsigned lvl, j, s, span;
	int b;

	for (lvl = 0; lvl < WHEEL_LEVELS; lvl++) {
		span = WHEEL_BITS * lvl;
		g0 = lvl == 0 ? from : (from + (1u << span) - 1) & ~((1u << span) - 1);
		idx0 = (g0 >> span) & (WHEEL_SLOTS - 1);
		for (j = 0; j < WHEEL_SLOTS; j++) {
			b = bit_next(t->used[lvl], (idx0 + j) & (WHEEL_SLOTS - 1));
			if (b < 0)
				break;
			/* continue from the bit found; stop once it wraps */
			if ((((uint32_t)b - idx0) & (WHEEL_SLOTS - 1)) < j)
				break;
			j = ((uint32_t)b - idx0) & (WHEEL_SLOTS - 1);
			s = (unsigned)b;
			if (t->wheel[cls][lvl][s].head == LB_FLOW_NIL)
				continue;
			idx = list_victim(t, &t->wheel[cls][lvl][s], lvl);
			if (idx != LB_FLOW_NIL)
				return idx;
		}
	}
	return LB_FLOW_NIL;
}
