/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics = { enabled, address, port }: where lbd serves /metrics, /healthz
 * and /readyz. Without the group the endpoint is off; with it, it is on
 * (unless enabled = false) and listens on 127.0.0.1 unless told otherwise.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_config_priv.h"

static const char *const metrics_keys[] = { "enabled", "address", "port", NULL };

int
lb_config_parse_metrics(struct lb_config_ctx *x, const config_setting_t *root)
{
	struct lb_config *c = x->c;
	const config_setting_t *g;
	const char *addr = NULL;
	unsigned char buf[sizeof(struct in6_addr)];
	uint32_t port = LB_CONFIG_DEF_METRICS_PORT;
	int rc, line;

	snprintf(c->metrics_address, sizeof(c->metrics_address), "%s",
		LB_CONFIG_DEF_METRICS_ADDRESS);
	c->metrics_port = LB_CONFIG_DEF_METRICS_PORT;
	c->line_metrics_enabled = c->line_metrics_address = c->line_metrics_port = 1;
	rc = lb_config_get(x, root, "", "metrics", LB_CONFIG_W_GROUP, false, &g);
	if (rc != 0 || g == NULL)
		return rc;
	line = lb_config_line(g);
	c->line_metrics_enabled = c->line_metrics_address = c->line_metrics_port = line;
	c->metrics_enabled = true;
	rc = lb_config_check_keys(x, g, "in metrics", metrics_keys);
	if (rc == 0)
		rc = lb_config_get_bool(x, g, "metrics", "enabled", &c->metrics_enabled,
			&c->line_metrics_enabled);
	if (rc == 0)
		rc = lb_config_get_str(x, g, "metrics", "address", false, &addr,
			&c->line_metrics_address);
	if (rc == 0)
		rc = lb_config_get_uint(x, g, "metrics", "port", 1, 65535, false, &port,
			&c->line_metrics_port);
	if (rc != 0)
		return rc;
	if (addr != NULL) {
		if (strlen(addr) >= sizeof(c->metrics_address) ||
		    (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1))
			return lb_config_fail(x, c->line_metrics_address,
				"metrics.address = \"%s\" is not an IPv4 or IPv6 address (e.g. "
				"\"127.0.0.1\", \"0.0.0.0\", \"::1\")", addr);
		snprintf(c->metrics_address, sizeof(c->metrics_address), "%s", addr);
	}
	c->metrics_port = (uint16_t)port;
	return 0;
}
