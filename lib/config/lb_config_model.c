/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb_config.h"

static struct lb_model_fe *
fe_from_config(const struct lb_config *c, const struct lb_config_frontend *cf, char *err,
	size_t errlen)
{
	struct lb_model_fe *fe;
	uint32_t i;

	fe = lb_model_fe_new(cf->n_targets, cf->n_src_ranges, strlen(c->path) + 1);
	if (fe == NULL) {
		snprintf(err, errlen, "out of memory for frontend %s", cf->name);
		return NULL;
	}
	snprintf(fe->name, sizeof(fe->name), "%s", cf->name);
	fe->origin_kind = LB_ORIGIN_CONFIG;
	snprintf(fe->origin, sizeof(fe->origin), "config %s:%d", c->path, cf->line);
	fe->file = lb_model_fe_strdup(fe, c->path);
	fe->line = cf->line;
	fe->vip = lb_ip4(cf->vip);
	fe->proto = cf->proto;
	fe->port = cf->port;
	fe->method = (uint8_t)cf->method;
	fe->affinity = (uint8_t)cf->affinity;
	fe->affinity_timeout = cf->affinity_timeout;
	fe->maglev_size = cf->maglev_size;
	for (i = 0; i < cf->n_src_ranges; i++) {
		fe->src_ranges[i].addr = lb_ip4(cf->src_ranges[i].addr);
		fe->src_ranges[i].len = cf->src_ranges[i].len;
	}
	for (i = 0; i < cf->n_targets; i++) {
		fe->targets[i].addr = lb_ip4(cf->targets[i].addr);
		fe->targets[i].port = cf->targets[i].port;
		fe->targets[i].weight = cf->targets[i].weight;
		fe->targets[i].line = cf->targets[i].line;
	}
	if (lb_model_fe_seal(fe, err, errlen) != 0) {
		lb_model_fe_put(fe);
		return NULL;
	}
	return fe;
}

struct lb_model *
lb_config_model(const struct lb_config *c, char *err, size_t errlen)
{
	struct lb_model *m = lb_model_new();
	uint32_t i;

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < c->n_frontends; i++) {
		struct lb_model_fe *fe = fe_from_config(c, &c->frontends[i], err, errlen);
		int rc;

		if (fe == NULL) {
			lb_model_free(m);
			return NULL;
		}
		rc = lb_model_add(m, fe);
		lb_model_fe_put(fe);
		if (rc != 0) {
			snprintf(err, errlen, "out of memory");
			lb_model_free(m);
			return NULL;
		}
	}
	return m;
}
