/* SPDX-License-Identifier: BSD-3-Clause */
/* The arena, the hash table and small helpers shared by lib/k8s. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_hash.h"
#include "lb_k8s_priv.h"

#define BLK_MIN		2048
#define TAB_SEED	0x6c62642d6b387362ULL	/* "lbd-k8sb" */

struct lb_k8s_arena_blk {
	struct lb_k8s_arena_blk *next;
	size_t cap;
	size_t used;
	_Alignas(16) unsigned char data[];
};

void *
lb_k8s_arena_alloc(struct lb_k8s_arena_blk **head, size_t n)
{
	struct lb_k8s_arena_blk *b = *head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > BLK_MIN ? n : BLK_MIN;

		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		/* A big block goes behind the current one so that the current
		 * block's free space stays usable. */
		if (*head != NULL && n > BLK_MIN) {
			b->next = (*head)->next;
			(*head)->next = b;
		} else {
			b->next = *head;
			*head = b;
		}
	}
	p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *
lb_k8s_arena_strdup(struct lb_k8s_arena_blk **head, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = lb_k8s_arena_alloc(head, n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

void
lb_k8s_arena_free(struct lb_k8s_arena_blk *head)
{
	while (head != NULL) {
		struct lb_k8s_arena_blk *n = head->next;

		free(head);
		head = n;
	}
}

/* --- hash table --- */

void
lb_k8s_tab_init(struct lb_k8s_tab *t)
{
	memset(t, 0, sizeof(*t));
}

void
lb_k8s_tab_fini(struct lb_k8s_tab *t)
{
	uint32_t i;

	for (i = 0; t->b != NULL && i <= t->mask; i++) {
		struct lb_k8s_tab_node *n = t->b[i];

		while (n != NULL) {
			struct lb_k8s_tab_node *next = n->next;

			free(n);
			n = next;
		}
	}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

static uint64_t
hash(const char *key)
{
	return lb_hash64(key, strlen(key), TAB_SEED);
}

static struct lb_k8s_tab_node *
find(const struct lb_k8s_tab *t, const char *key, uint64_t h)
{
	struct lb_k8s_tab_node *n;

	if (t->b == NULL)
		return NULL;
	for (n = t->b[h & t->mask]; n != NULL; n = n->next)
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

void *
lb_k8s_tab_get(const struct lb_k8s_tab *t, const char *key)
{
	struct lb_k8s_tab_node *n = find(t, key, hash(key));

	return n != NULL ? n->val : NULL;
}

const char *
lb_k8s_tab_key(const struct lb_k8s_tab *t, const char *key)
{
	struct lb_k8s_tab_node *n = find(t, key, hash(key));

	return n != NULL ? n->key : NULL;
}

static int
grow(struct lb_k8s_tab *t)
{
	uint32_t nb = t->b == NULL ? 64 : (t->mask + 1) * 2, i;
	struct lb_k8s_tab_node **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	for (i = 0; t->b != NULL && i <= t->mask; i++) {
		struct lb_k8s_tab_node *n = t->b[i];

		while (n != NULL) {
			struct lb_k8s_tab_node *next = n->next;

			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
			n = next;
		}
	}
	free(t->b);
	t->b = b;
	t->mask = nb - 1;
	return 0;
}

int
lb_k8s_tab_set(struct lb_k8s_tab *t, const char *key, void *val, void **old)
{
	uint64_t h = hash(key);
	struct lb_k8s_tab_node *n = find(t, key, h);
	size_t len;

	if (old != NULL)
		*old = NULL;
	if (n != NULL) {
		if (old != NULL)
			*old = n->val;
		n->val = val;
		return 0;
	}
	if ((t->b == NULL || t->n >= t->mask + 1) && grow(t) != 0)
		return -ENOMEM;
	len = strlen(key) + 1;
	n = malloc(sizeof(*n) + len);
	if (n == NULL)
		return -ENOMEM;
	memcpy(n->key, key, len);
	n->hash = h;
	n->val = val;
	n->next = t->b[h & t->mask];
	t->b[h & t->mask] = n;
	t->n++;
	return 0;
}

void *
lb_k8s_tab_del(struct lb_k8s_tab *t, const char *key)
{
	uint64_t h = hash(key);
	struct lb_k8s_tab_node **pp, *n;
	void *val;

	if (t->b == NULL)
		return NULL;
	for (pp = &t->b[h & t->mask]; (n = *pp) != NULL; pp = &n->next) {
		if (n->hash == h && strcmp(n->key, key) == 0) {
			*pp = n->next;
			val = n->val;
			free(n);
			t->n--;
			return val;
		}
	}
	return NULL;
}

void
lb_k8s_tab_foreach(const struct lb_k8s_tab *t, void (*fn)(void *ctx, const char *key, void *val),
	void *ctx)
{
	uint32_t i;

	for (i = 0; t->b != NULL && i <= t->mask; i++) {
		struct lb_k8s_tab_node *n, *next;

		for (n = t->b[i]; n != NULL; n = next) {
			next = n->next;
			fn(ctx, n->key, n->val);
		}
	}
}

int
lb_k8s_key(char *buf, size_t n, const char *ns, const char *name)
{
	int r;

	if (ns == NULL || *ns == '\0')
		r = snprintf(buf, n, "%s", name);
	else
		r = snprintf(buf, n, "%s/%s", ns, name);
	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

int
lb_k8s_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
