/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_K8S_PRIV_H
#define LB_K8S_PRIV_H

/* Shared by lib/k8s's files only. */
#include <stdarg.h>

#include "lb_k8s.h"

/* --- arena: every string and array of one decoded object --- */

void *lb_k8s_arena_alloc(struct lb_k8s_arena_blk **head, size_t n);	/* zeroed */
char *lb_k8s_arena_strdup(struct lb_k8s_arena_blk **head, const char *s);
void lb_k8s_arena_free(struct lb_k8s_arena_blk *head);

/* --- a string-keyed hash table (chained; keys copied) --- */

struct lb_k8s_tab_node {
	struct lb_k8s_tab_node *next;
	uint64_t hash;
	void *val;
	char key[];
};

struct lb_k8s_tab {
	uint32_t n;
	uint32_t mask;		/* buckets - 1; 0 buckets before the first insert */
	struct lb_k8s_tab_node **b;
};

void lb_k8s_tab_init(struct lb_k8s_tab *t);
/* Frees the nodes; vals are the caller's (free them first with foreach). */
void lb_k8s_tab_fini(struct lb_k8s_tab *t);
void *lb_k8s_tab_get(const struct lb_k8s_tab *t, const char *key);
/* Sets key's value (adding the key). 0 or -ENOMEM. *old (optional) is the
 * previous value or NULL. */
int lb_k8s_tab_set(struct lb_k8s_tab *t, const char *key, void *val, void **old);
/* Removes key; returns its value or NULL. */
void *lb_k8s_tab_del(struct lb_k8s_tab *t, const char *key);
/* Visits every entry; fn may not modify the table. */
void lb_k8s_tab_foreach(const struct lb_k8s_tab *t,
	void (*fn)(void *ctx, const char *key, void *val), void *ctx);
/* The entry's key, stable while it is in the table. */
const char *lb_k8s_tab_key(const struct lb_k8s_tab *t, const char *key);

/* "NS/NAME", or "NAME" when ns is "" (nodes). -ENAMETOOLONG when it does
 * not fit. */
int lb_k8s_key(char *buf, size_t n, const char *ns, const char *name);

/* Writes a message; returns rc. */
int lb_k8s_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* LB_K8S_PRIV_H */
