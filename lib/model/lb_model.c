/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_hash.h"
#include "lb_model.h"

#define FE_ID_SEED	0x6c62642d66652d69ULL	/* "lbd-fe-i" */
#define STR_ALIGN	8

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

uint64_t
lb_model_fe_id(const char *name)
{
	return lb_hash64(name, strnlen(name, LB_MODEL_NAME_MAX), FE_ID_SEED);
}

static size_t
round8(size_t x)
{
	return (x + STR_ALIGN - 1) & ~(size_t)(STR_ALIGN - 1);
}

struct lb_model_fe *
lb_model_fe_new(uint32_t n_targets, uint32_t n_ranges, size_t str_bytes)
{
	size_t t = round8(sizeof(struct lb_model_target) * (size_t)n_targets);
	size_t r = round8(sizeof(struct lb_prefix) * (size_t)n_ranges);
	size_t head = round8(sizeof(struct lb_model_fe));
	struct lb_model_fe *fe;
	uint8_t *p;

	if (str_bytes > (1u << 24) || n_targets > (1u << 24) || n_ranges > (1u << 20))
		return NULL;
	p = calloc(1, head + t + r + str_bytes + 1);
	if (p == NULL)
		return NULL;
	fe = (struct lb_model_fe *)p;
	atomic_init(&fe->refcnt, 1);
	fe->targets = n_targets ? (struct lb_model_target *)(p + head) : NULL;
	fe->n_targets = n_targets;
	fe->src_ranges = n_ranges ? (struct lb_prefix *)(p + head + t) : NULL;
	fe->n_src_ranges = n_ranges;
	fe->str = (char *)(p + head + t + r);
	fe->str_cap = str_bytes + 1;
	fe->str_used = 0;
	return fe;
}

const char *
lb_model_fe_strdup(struct lb_model_fe *fe, const char *s)
{
	size_t n;
	char *d;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	if (fe->str_used + n > fe->str_cap)
		return NULL;
	d = fe->str + fe->str_used;
	memcpy(d, s, n);
	fe->str_used += n;
	return d;
}

static int
target_cmp(const void *a, const void *b)
{
	const struct lb_model_target *x = a, *y = b;
	int c = lb_ip_cmp(&x->addr, &y->addr);

	if (c != 0)
		return c;
	return x->port < y->port ? -1 : x->port > y->port;
}

int
lb_model_fe_seal(struct lb_model_fe *fe, char *err, size_t errlen)
{
	char a[LB_IP_STRLEN];
	uint32_t i;

	if (fe->name[0] == '\0') {
		fail(err, errlen, "frontend without a name (%s)", fe->origin);
		return -EINVAL;
	}
	if (fe->vip.family != LB_AF_INET && fe->vip.family != LB_AF_INET6) {
		fail(err, errlen, "frontend %s: no VIP", fe->name);
		return -EINVAL;
	}
	for (i = 0; i < fe->n_targets; i++) {
		if (fe->targets[i].addr.family != LB_AF_INET &&
		    fe->targets[i].addr.family != LB_AF_INET6) {
			fail(err, errlen, "frontend %s: target %u has no address", fe->name, i);
			return -EINVAL;
		}
	}
	if (fe->n_targets > 1)
		qsort(fe->targets, fe->n_targets, sizeof(*fe->targets), target_cmp);
	for (i = 1; i < fe->n_targets; i++) {
		if (target_cmp(&fe->targets[i - 1], &fe->targets[i]) == 0) {
			fail(err, errlen, "frontend %s: target %s%s%s:%u listed twice", fe->name,
				fe->targets[i].addr.family == LB_AF_INET6 ? "[" : "",
				lb_ip_fmt(&fe->targets[i].addr, a),
				fe->targets[i].addr.family == LB_AF_INET6 ? "]" : "",
				ntohs(fe->targets[i].port));
			return -EINVAL;
		}
	}
	fe->id = lb_model_fe_id(fe->name);
	return 0;
}

struct lb_model_fe *
lb_model_fe_get(struct lb_model_fe *fe)
{
	if (fe != NULL)
		atomic_fetch_add_explicit(&fe->refcnt, 1, memory_order_relaxed);
	return fe;
}

void
lb_model_fe_put(struct lb_model_fe *fe)
{
	if (fe != NULL && atomic_fetch_sub_explicit(&fe->refcnt, 1, memory_order_acq_rel) == 1)
		free(fe);
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
lb_model_fe_equal(const struct lb_model_fe *a, const struct lb_model_fe *b)
{
	uint32_t i;

	if (a == b)
		return true;
	if (strcmp(a->name, b->name) != 0 || a->origin_kind != b->origin_kind ||
	    lb_ip_cmp(&a->vip, &b->vip) != 0 || a->proto != b->proto || a->port != b->port ||
	    a->method != b->method || a->affinity != b->affinity ||
	    a->affinity_timeout != b->affinity_timeout || a->maglev_size != b->maglev_size ||
	    a->n_src_ranges != b->n_src_ranges || a->n_targets != b->n_targets ||
	    !str_eq(a->k8s_ns, b->k8s_ns) || !str_eq(a->k8s_name, b->k8s_name) ||
	    !str_eq(a->k8s_uid, b->k8s_uid) || !str_eq(a->k8s_port, b->k8s_port) ||
	    !str_eq(a->file, b->file))
		return false;
	for (i = 0; i < a->n_src_ranges; i++)
		if (lb_ip_cmp(&a->src_ranges[i].addr, &b->src_ranges[i].addr) != 0 ||
		    a->src_ranges[i].len != b->src_ranges[i].len)
			return false;
	for (i = 0; i < a->n_targets; i++) {
		const struct lb_model_target *x = &a->targets[i], *y = &b->targets[i];

		if (lb_ip_cmp(&x->addr, &y->addr) != 0 || x->port != y->port ||
		    x->weight != y->weight || x->flags != y->flags || !str_eq(x->node, y->node))
			return false;
	}
	return true;
}

const char *
lb_proto_str(uint8_t proto)
{
	switch (proto) {
	case LB_PROTO_TCP:
		return "tcp";
	case LB_PROTO_UDP:
		return "udp";
	case LB_PROTO_ICMP:
		return "icmp";
	default:
		return "?";
	}
}

const char *
lb_method_str(enum lb_method m)
{
	return m == LB_METHOD_FULLNAT ? "fullnat" : m == LB_METHOD_DNAT ? "dnat" : "?";
}

const char *
lb_affinity_str(enum lb_affinity a)
{
	return a == LB_AFFINITY_CLIENT_IP ? "client_ip" : a == LB_AFFINITY_NONE ? "none" : "?";
}

/* --- models --- */

struct lb_model *
lb_model_new(void)
{
	return calloc(1, sizeof(struct lb_model));
}

void
lb_model_free(struct lb_model *m)
{
	uint32_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_fes; i++)
		lb_model_fe_put(m->fes[i]);
	free(m->fes);
	free(m);
}

int
lb_model_add(struct lb_model *m, struct lb_model_fe *fe)
{
	if (m->n_fes == m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 16;
		struct lb_model_fe **f = realloc(m->fes, sizeof(*f) * cap);

		if (f == NULL)
			return -ENOMEM;
		m->fes = f;
		m->cap = cap;
	}
	m->fes[m->n_fes++] = lb_model_fe_get(fe);
	return 0;
}

const struct lb_model_fe *
lb_model_find(const struct lb_model *m, const char *name)
{
	uint32_t i;

	for (i = 0; m != NULL && i < m->n_fes; i++)
		if (strcmp(m->fes[i]->name, name) == 0)
			return m->fes[i];
	return NULL;
}

/* Open-addressing sets over the kept frontends, by name id and by service. */
struct kept_set {
	uint32_t mask;
	const struct lb_model_fe **by_name;
	const struct lb_model_fe **by_svc;
};

static uint64_t
svc_hash(const struct lb_model_fe *fe)
{
	uint8_t key[20];
	size_t n = 0;

	key[n++] = fe->vip.family;
	key[n++] = fe->proto;
	memcpy(key + n, &fe->port, 2);
	n += 2;
	if (fe->vip.family == LB_AF_INET) {
		memcpy(key + n, &fe->vip.v4, 4);
		n += 4;
	} else {
		memcpy(key + n, fe->vip.v6, 16);
		n += 16;
	}
	return lb_hash64(key, n, FE_ID_SEED);
}

static bool
same_svc(const struct lb_model_fe *a, const struct lb_model_fe *b)
{
	return a->proto == b->proto && a->port == b->port && lb_ip_cmp(&a->vip, &b->vip) == 0;
}

/* Returns the kept frontend fe conflicts with (by name or service), or NULL
 * after inserting fe. */
static const struct lb_model_fe *
kept_insert(struct kept_set *k, const struct lb_model_fe *fe)
{
	uint32_t i = (uint32_t)fe->id & k->mask, j = (uint32_t)svc_hash(fe) & k->mask;

	for (; k->by_name[i] != NULL; i = (i + 1) & k->mask)
		if (strcmp(k->by_name[i]->name, fe->name) == 0)
			return k->by_name[i];
	for (; k->by_svc[j] != NULL; j = (j + 1) & k->mask)
		if (same_svc(k->by_svc[j], fe))
			return k->by_svc[j];
	k->by_name[i] = fe;
	k->by_svc[j] = fe;
	return NULL;
}

struct lb_model *
lb_model_merge(const struct lb_model *const *src, uint32_t n_src, lb_model_conflict_fn conflict,
	void *ctx)
{
	struct kept_set k = { 0 };
	struct lb_model *out;
	uint64_t total = 0;
	uint32_t s, i, slots = 16;

	for (s = 0; s < n_src; s++)
		total += src[s] ? src[s]->n_fes : 0;
	while (slots < 2 * total)
		slots *= 2;
	out = lb_model_new();
	k.mask = slots - 1;
	k.by_name = calloc(slots, sizeof(*k.by_name));
	k.by_svc = calloc(slots, sizeof(*k.by_svc));
	if (out == NULL || k.by_name == NULL || k.by_svc == NULL)
		goto nomem;
	for (s = 0; s < n_src; s++) {
		for (i = 0; src[s] != NULL && i < src[s]->n_fes; i++) {
			struct lb_model_fe *fe = src[s]->fes[i];
			const struct lb_model_fe *o = kept_insert(&k, fe);

			if (o != NULL) {
				char msg[2 * LB_MODEL_ORIGIN_MAX + 2 * LB_MODEL_NAME_MAX + 128];
				char ip[LB_IP_STRLEN];

				if (strcmp(o->name, fe->name) == 0)
					snprintf(msg, sizeof(msg), "frontend name %s (%s) is already "
						"used by %s", fe->name, fe->origin, o->origin);
				else
					snprintf(msg, sizeof(msg), "%s %s port %u of %s (%s) is "
						"already served by %s (%s)", lb_proto_str(fe->proto),
						lb_ip_fmt(&fe->vip, ip),
						ntohs(fe->port),
						fe->name, fe->origin, o->name, o->origin);
				if (conflict != NULL)
					conflict(ctx, o, fe, msg);
				continue;
			}
			if (lb_model_add(out, fe) != 0)
				goto nomem;
		}
	}
	free(k.by_name);
	free(k.by_svc);
	return out;
nomem:
	free(k.by_name);
	free(k.by_svc);
	lb_model_free(out);
	return NULL;
}
