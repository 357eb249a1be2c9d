/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a reload may change. Frontends, timeouts, ARP settings and static
 * neighbours are compiled into the next snapshot and take effect without
 * touching a worker. Everything else is fixed when lbd starts: the EAL,
 * lcores, the ports and their addresses (RSS, SNAT layout and the flow
 * tables depend on them) and the metrics endpoint, so a change there needs a
 * restart.
 *
 * Pools may change (the control thread also asks lib/k8s whether the
 * addresses in use still fit). The kubernetes group may not: the API
 * client, its credentials and which Services lbd owns are set up once, and
 * changing the class under running Services would withdraw them all.
 */
#include <errno.h>
#include <string.h>

#include "lb_config_priv.h"

static int
changed(const struct lb_config *next, int line, const char *key, char *err, size_t errlen)
{
	struct lb_config_ctx x = { .name = next->path, .err = err, .errlen = errlen };

	return lb_config_fail(&x, line, "%s cannot change on reload (restart lbd)", key);
}

static int
check_port(const struct lb_config_port *a, const struct lb_config_port *b, uint32_t i,
	const struct lb_config *next, char *err, size_t errlen)
{
	char key[48];

#define PORT_KEY(k) (snprintf(key, sizeof(key), "ports[%u].%s", i, k), key)
	if (strcmp(a->name, b->name) != 0)
		return changed(next, b->line_name, PORT_KEY("name"), err, errlen);
	if (strcmp(a->device, b->device) != 0)
		return changed(next, b->line_device, PORT_KEY("device"), err, errlen);
	if (a->role != b->role)
		return changed(next, b->line_role, PORT_KEY("role"), err, errlen);
	if (a->addr != b->addr || a->net.len != b->net.len)
		return changed(next, b->line_address, PORT_KEY("address"), err, errlen);
	if (a->gateway != b->gateway)
		return changed(next, b->line_gateway, PORT_KEY("gateway"), err, errlen);
	if (a->vlan != b->vlan)
		return changed(next, b->line_vlan, PORT_KEY("vlan"), err, errlen);
	if (strcmp(a->kernel, b->kernel) != 0)
		return changed(next, b->line_kernel, PORT_KEY("kernel"), err, errlen);
	if (a->kernel_rate != b->kernel_rate)
		return changed(next, b->line_kernel_rate, PORT_KEY("kernel_rate"), err, errlen);
#undef PORT_KEY
	return 0;
}

static int
check_k8s(const struct lb_config_k8s *a, const struct lb_config_k8s *b,
	const struct lb_config *next, char *err, size_t errlen)
{
	if (a->enabled != b->enabled)
		return changed(next, b->line, "kubernetes (adding or removing the group)", err,
			errlen);
	if (strcmp(a->kubeconfig, b->kubeconfig) != 0)
		return changed(next, b->line_kubeconfig, "kubernetes.kubeconfig", err, errlen);
	if (strcmp(a->context, b->context) != 0)
		return changed(next, b->line_context, "kubernetes.context", err, errlen);
	if (strcmp(a->lb_class, b->lb_class) != 0)
		return changed(next, b->line_class, "kubernetes.load_balancer_class", err, errlen);
	if (a->class_less != b->class_less)
		return changed(next, b->line_class_less, "kubernetes.class_less", err, errlen);
	if (a->resync != b->resync)
		return changed(next, b->line_resync, "kubernetes.resync", err, errlen);
	if (a->relist != b->relist)
		return changed(next, b->line_relist, "kubernetes.relist", err, errlen);
	if (a->backoff_min_ms != b->backoff_min_ms || a->backoff_max_ms != b->backoff_max_ms)
		return changed(next, b->line_backoff, "kubernetes.backoff_min_ms/backoff_max_ms",
			err, errlen);
	if (a->maglev_size != b->maglev_size)
		return changed(next, b->line_maglev_size, "kubernetes.maglev_size", err, errlen);
	if (a->event_interval != b->event_interval)
		return changed(next, b->line_event_interval, "kubernetes.event_interval", err,
			errlen);
	if (a->sync_batch != b->sync_batch)
		return changed(next, b->line_sync_batch, "kubernetes.sync_batch", err, errlen);
	return 0;
}

int
lb_config_reload_check(const struct lb_config *cur, const struct lb_config *next, char *err,
	size_t errlen)
{
	uint32_t i;
	int rc;

	if (cur == NULL || next == NULL)
		return -EINVAL;
	if (strcmp(cur->socket, next->socket) != 0)
		return changed(next, next->line_socket, "lbd.socket", err, errlen);
	if (cur->control_lcore != next->control_lcore)
		return changed(next, next->line_control_lcore, "lbd.control_lcore", err, errlen);
	if (strcmp(cur->file_prefix, next->file_prefix) != 0)
		return changed(next, next->line_file_prefix, "eal.file_prefix", err, errlen);
	if (cur->no_huge != next->no_huge)
		return changed(next, next->line_no_huge, "eal.no_huge", err, errlen);
	if (cur->memory_mb != next->memory_mb)
		return changed(next, next->line_memory_mb, "eal.memory_mb", err, errlen);
	if (cur->n_eal_args != next->n_eal_args)
		return changed(next, next->line_eal_args, "eal.args", err, errlen);
	for (i = 0; i < cur->n_eal_args; i++)
		if (strcmp(cur->eal_args[i], next->eal_args[i]) != 0)
			return changed(next, next->line_eal_args, "eal.args", err, errlen);

	if (cur->n_ports != next->n_ports)
		return changed(next, next->line_ports, "ports", err, errlen);
	for (i = 0; i < cur->n_ports; i++) {
		rc = check_port(&cur->ports[i], &next->ports[i], i, next, err, errlen);
		if (rc != 0)
			return rc;
	}

	/* Worker order matters too: worker i owns SNAT slice i and flow table i. */
	if (cur->n_workers != next->n_workers ||
	    memcmp(cur->worker_lcores, next->worker_lcores,
		   cur->n_workers * sizeof(cur->worker_lcores[0])) != 0)
		return changed(next, next->line_lcores, "workers.lcores", err, errlen);
	if (cur->flow_capacity != next->flow_capacity)
		return changed(next, next->line_flow_capacity, "workers.flow_capacity", err,
			errlen);
	if (cur->mbufs != next->mbufs)
		return changed(next, next->line_mbufs, "workers.mbufs", err, errlen);
	if (cur->n_snat != next->n_snat ||
	    memcmp(cur->snat_addrs, next->snat_addrs,
		   cur->n_snat * sizeof(cur->snat_addrs[0])) != 0)
		return changed(next, next->line_snat_addrs, "workers.snat_addresses", err, errlen);
	if (cur->snat_port_lo != next->snat_port_lo || cur->snat_port_hi != next->snat_port_hi)
		return changed(next, next->line_snat_ports, "workers.snat_ports", err, errlen);
	if (cur->metrics_enabled != next->metrics_enabled)
		return changed(next, next->line_metrics_enabled, "metrics", err, errlen);
	if (strcmp(cur->metrics_address, next->metrics_address) != 0)
		return changed(next, next->line_metrics_address, "metrics.address", err, errlen);
	if (cur->metrics_port != next->metrics_port)
		return changed(next, next->line_metrics_port, "metrics.port", err, errlen);
	return check_k8s(&cur->k8s, &next->k8s, next, err, errlen);
}
