/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The controller's side of publication: assembling the Kubernetes model,
 * learning which frontends a published snapshot serves, conflicts and
 * rejects reported by the glue, pool reloads, accessors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_k8s_ctrl_priv.h"

/* --- the model --- */

struct model_acc {
	struct lb_model *m;
	bool nomem;
};

static void
model_add_cb(void *ctx, const char *key, void *val)
{
	struct model_acc *a = ctx;
	struct svc *s = val;
	uint32_t i;

	(void)key;
	for (i = 0; i < s->n_fes && !a->nomem; i++)
		if (lb_model_add(a->m, s->fes[i]) != 0)
			a->nomem = true;
}

struct lb_model *
lb_k8s_ctrl_model(struct lb_k8s_ctrl *c, uint64_t *version)
{
	struct model_acc a = { .m = lb_model_new() };

	if (a.m == NULL)
		return NULL;
	lb_k8s_tab_foreach(&c->svcs, model_add_cb, &a);
	if (a.nomem) {
		lb_model_free(a.m);
		return NULL;
	}
	if (version != NULL)
		*version = c->version;
	return a.m;
}

/* --- publication --- */

/* The published ids as an open-addressing set (ids are hashes already;
 * 0 marks an empty slot, and an id of 0 is remembered apart). */
struct idset {
	uint32_t mask;
	uint64_t *slot;
	bool zero;
};

static int
idset_init(struct idset *s, const uint64_t *ids, uint32_t n)
{
	uint32_t slots = 16, i;

	memset(s, 0, sizeof(*s));
	while (slots < 2 * n)
		slots *= 2;
	s->slot = calloc(slots, sizeof(*s->slot));
	if (s->slot == NULL)
		return -ENOMEM;
	s->mask = slots - 1;
	for (i = 0; i < n; i++) {
		uint32_t k = (uint32_t)ids[i] & s->mask;

		if (ids[i] == 0) {
			s->zero = true;
			continue;
		}
		while (s->slot[k] != 0 && s->slot[k] != ids[i])
			k = (k + 1) & s->mask;
		s->slot[k] = ids[i];
	}
	return 0;
}

static bool
idset_has(const struct idset *s, uint64_t id)
{
	uint32_t k = (uint32_t)id & s->mask;

	if (id == 0)
		return s->zero;
	while (s->slot[k] != 0) {
		if (s->slot[k] == id)
			return true;
		k = (k + 1) & s->mask;
	}
	return false;
}

struct pub {
	struct lb_k8s_ctrl *c;
	uint64_t version;
	uint64_t before;	/* published version before this one */
	struct idset ids;
};

/* Updates which of s's frontends are live; plans s only when that changed,
 * when its last change just went live, or when its address may go. */
static void
pub_cb(void *ctx, const char *key, void *val)
{
	struct pub *p = ctx;
	struct svc *s = val;
	bool mark = false;
	uint32_t i;

	(void)key;
	if (p->version >= s->fe_version) {
		for (i = 0; i < s->n_fes; i++) {
			uint8_t live = idset_has(&p->ids, s->fes[i]->id);

			mark |= live != s->live[i];
			s->live[i] = live;
		}
		mark |= s->fe_version > p->before;
	}
	mark |= s->release_pending && s->release_version <= p->version;
	if (mark)
		lb_k8s_ctrl_mark_plan(p->c, s);
}

void
lb_k8s_ctrl_published(struct lb_k8s_ctrl *c, uint64_t version, const uint64_t *ids,
	uint32_t n_ids)
{
	struct pub p = { .c = c, .version = version };

	if (version > c->version)
		return;	/* not a version this controller made */
	if (idset_init(&p.ids, ids, ids != NULL ? n_ids : 0) != 0)
		return;	/* ENOMEM: the next publication says it again */
	p.before = c->published;
	if (version > c->published)
		c->published = version;
	lb_k8s_tab_foreach(&c->svcs, pub_cb, &p);
	free(p.ids.slot);
}

static struct svc *
svc_of_fe(struct lb_k8s_ctrl *c, const struct lb_model_fe *fe)
{
	char key[LB_K8S_KEY_MAX];

	if (fe == NULL || fe->origin_kind != LB_ORIGIN_K8S || fe->k8s_ns == NULL ||
	    fe->k8s_name == NULL || lb_k8s_key(key, sizeof(key), fe->k8s_ns, fe->k8s_name) != 0)
		return NULL;
	return lb_k8s_ctrl_svc(c, key);
}

void
lb_k8s_ctrl_conflict(void *ctx, const struct lb_model_fe *kept, const struct lb_model_fe *dropped,
	const char *msg)
{
	struct lb_k8s_ctrl *c = ctx;
	struct svc *s = svc_of_fe(c, dropped), *o = svc_of_fe(c, kept);

	if (s != NULL) {
		snprintf(s->error, sizeof(s->error), "%s", msg);
		lb_k8s_ctrl_emit(c, s, "Warning", LB_K8S_R_CONFLICT, "Publish", msg);
	}
	if (o != NULL && o != s)
		lb_k8s_ctrl_emit(c, o, "Warning", LB_K8S_R_CONFLICT, "Publish", msg);
}

void
lb_k8s_ctrl_rejected(void *ctx, const struct lb_model_fe *fe, const struct lb_model_target *target,
	const char *msg)
{
	struct lb_k8s_ctrl *c = ctx;
	struct svc *s = svc_of_fe(c, fe);

	(void)target;
	if (s == NULL)
		return;
	snprintf(s->error, sizeof(s->error), "%s", msg);
	lb_k8s_ctrl_emit(c, s, "Warning", LB_K8S_R_REJECTED, "Publish", msg);
}

void
lb_k8s_ctrl_note(struct lb_k8s_ctrl *c, const struct lb_model_fe *fe, bool warning,
	const char *reason, const char *msg)
{
	struct svc *s = svc_of_fe(c, fe);

	if (s != NULL)
		lb_k8s_ctrl_emit(c, s, warning ? "Warning" : "Normal", reason, "Health", msg);
}

/* --- pools --- */

int
lb_k8s_ctrl_check_pools(const struct lb_k8s_ctrl *c, const struct lb_model_pool *pools,
	uint32_t n_pools, char *err, size_t errlen)
{
	return lb_ipam_check_pools(c->ipam, pools, n_pools, err, errlen);
}

static void
resync_cb(void *ctx, const char *key, void *val)
{
	struct lb_k8s_ctrl *c = ctx;

	(void)val;
	(void)lb_k8s_tab_set(&c->resync_keys, key, (void *)1, NULL);
}

int
lb_k8s_ctrl_set_pools(struct lb_k8s_ctrl *c, const struct lb_model_pool *pools, uint32_t n_pools)
{
	int rc = lb_ipam_set_pools(c->ipam, pools, n_pools);

	if (rc != 0)
		return rc;
	lb_k8s_tab_foreach(&c->svcs, resync_cb, c);
	return 0;
}

const struct lb_k8s_store *
lb_k8s_ctrl_store(const struct lb_k8s_ctrl *c)
{
	return c->store;
}

const struct lb_ipam *
lb_k8s_ctrl_ipam(const struct lb_k8s_ctrl *c)
{
	return c->ipam;
}
