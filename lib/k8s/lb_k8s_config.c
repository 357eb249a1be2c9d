/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/config's kubernetes group -> the controller's settings. */
#include <string.h>

#include "lb_config.h"
#include "lb_hash.h"
#include "lb_k8s_ctrl.h"

void
lb_k8s_conf_from_config(struct lb_k8s_conf *out, const struct lb_config *cfg,
	const char *instance)
{
	const struct lb_config_k8s *k = &cfg->k8s;

	memset(out, 0, sizeof(*out));
	out->lb_class = k->lb_class;
	out->class_less = k->class_less;
	out->map.maglev_size = k->maglev_size;
	out->map.serve_ipv6 = false;	/* until the data path forwards IPv6 */
	out->backoff_min_ms = k->backoff_min_ms;
	out->backoff_max_ms = k->backoff_max_ms;
	out->resync_ms = k->resync * 1000u;
	out->event_interval_ms = k->event_interval * 1000u;
	out->controller = k->lb_class;
	out->instance = instance;
	/* Jitter differs between instances (two lbd behind ECMP must not retry
	 * in step) and stays reproducible for one. */
	out->seed = lb_hash64(instance != NULL ? instance : "", instance != NULL ?
		strlen(instance) : 0, 0x6c62642d6b387363ULL);
	out->sync_batch = k->sync_batch;
	out->sync_budget_us = LB_K8S_SYNC_BUDGET_US;
}
