/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Kubernetes control plane's glue: lib/kapi (the API client) feeds
 * lib/k8s (objects, mapping, IPAM, the controller), whose model goes into the
 * snapshot pipeline; published snapshots go back to the controller, which
 * writes Service status, finalizers and Events through lib/kapi.
 *
 * Without a kubernetes group in the config every function here is a no-op.
 */
#include "lbd.h"

int
lbd_k8s_init(struct lb_ev *ev, char *err, size_t errlen)
{
	(void)ev;
	(void)err;
	(void)errlen;
	return 0;
}

void
lbd_k8s_term(void)
{
}

const struct lb_model *
lbd_k8s_model(void)
{
	return NULL;
}

void
lbd_k8s_conflict(const struct lb_model_fe *kept, const struct lb_model_fe *dropped,
	const char *msg)
{
	(void)kept;
	(void)dropped;
	lbd_log(LBD_WARN, "conflict: %s", msg);
}

void
lbd_k8s_rejected(const struct lb_model_fe *fe, bool target, const char *msg)
{
	(void)fe;
	(void)target;
	(void)msg;
}

void
lbd_k8s_published(const struct lb_snap *s)
{
	(void)s;
}

struct json_object *
lbd_k8s_status(void)
{
	return NULL;
}
