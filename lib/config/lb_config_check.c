/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks that need several sections at once, run after the whole file has
 * been read: one port per role, disjoint port subnets, addresses lbd owns
 * (port addresses, gateways, SNAT addresses, VIPs) never clashing, and every
 * target reachable from the internal port. Pools are checked in
 * lb_config_k8s.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_config_priv.h"

#define fail lb_config_fail

/* "198.51.100.0/24" */
static const char *
net_fmt(const struct lb_cidr *net, char *buf, size_t n)
{
	char ip[LB_IP4_STRLEN];

	snprintf(buf, n, "%s/%u", lb_ip4_fmt(net->addr & net->mask, ip), net->len);
	return buf;
}

static int
overlap(struct lb_config_ctx *x, uint32_t i, int first, const char *what)
{
	const struct lb_config_port *p = &x->c->ports[i], *o = &x->c->ports[first];

	return fail(x, p->line_role, "overlapping roles: port '%s' (role \"%s\") and port '%s' "
		"(role \"%s\", line %d) both take the %s role (exactly one port may be external "
		"and one internal; \"both\" counts as each)", p->name, lb_role_str(p->role),
		o->name, lb_role_str(o->role), o->line_role, what);
}

static int
check_roles(struct lb_config_ctx *x)
{
	struct lb_config *c = x->c;
	int ext = -1, in = -1;
	uint32_t i;

	for (i = 0; i < c->n_ports; i++) {
		if ((c->ports[i].role & LB_ROLE_EXTERNAL) != 0) {
			if (ext >= 0)
				return overlap(x, i, ext, "external");
			ext = (int)i;
		}
		if ((c->ports[i].role & LB_ROLE_INTERNAL) != 0) {
			if (in >= 0)
				return overlap(x, i, in, "internal");
			in = (int)i;
		}
	}
	if (ext < 0 || in < 0)
		return fail(x, c->line_ports, "no port has the %s role (give one port role "
			"\"external\" and one \"internal\", or a single port role \"both\")",
			ext < 0 ? "external" : "internal");
	c->ext_port = ext;
	c->int_port = in;
	return 0;
}

static int
check_subnets(struct lb_config_ctx *x)
{
	const struct lb_config *c = x->c;
	char a[24], b[24];
	uint32_t i, j, mask;

	for (i = 0; i < c->n_ports; i++) {
		for (j = 0; j < i; j++) {
			const struct lb_config_port *p = &c->ports[i], *o = &c->ports[j];

			mask = p->net.len < o->net.len ? p->net.mask : o->net.mask;
			if (((p->addr ^ o->addr) & mask) != 0)
				continue;
			return fail(x, p->line_address, "subnet %s of port '%s' overlaps subnet %s "
				"of port '%s' (line %d)", net_fmt(&p->net, a, sizeof(a)), p->name,
				net_fmt(&o->net, b, sizeof(b)), o->name, o->line_address);
		}
	}
	return 0;
}

bool
lb_config_port_owned(const struct lb_config *c, uint32_t addr, char *what, size_t n, int *line)
{
	uint32_t i, k;

	for (i = 0; i < c->n_ports; i++) {
		const struct lb_config_port *p = &c->ports[i];

		if (addr == p->addr) {
			snprintf(what, n, "the address of port '%s'", p->name);
			*line = p->line_address;
			return true;
		}
		if (addr == p->gateway) {
			snprintf(what, n, "the gateway of port '%s'", p->name);
			*line = p->line_gateway;
			return true;
		}
		for (k = 0; k < p->n_neigh; k++) {
			if (addr == p->neigh[k].addr) {
				snprintf(what, n, "a static neighbour of port '%s'", p->name);
				*line = p->neigh[k].line;
				return true;
			}
		}
	}
	return false;
}

static int
check_snat(struct lb_config_ctx *x)
{
	const struct lb_config *c = x->c;
	const struct lb_config_port *in = &c->ports[c->int_port];
	char ip[LB_IP4_STRLEN], net[24], what[96];
	uint32_t i;
	int l;

	for (i = 0; i < c->n_snat; i++) {
		uint32_t a = c->snat_addrs[i];

		if (!lb_config_in_net(&in->net, a) || lb_config_net_edge(&in->net, a))
			return fail(x, c->snat_addr_line[i], "SNAT address %s is not a host in the "
				"subnet %s of internal port '%s' (return traffic must reach lbd "
				"there)", lb_ip4_fmt(a, ip), net_fmt(&in->net, net, sizeof(net)),
				in->name);
		if (lb_config_port_owned(c, a, what, sizeof(what), &l))
			return fail(x, c->snat_addr_line[i], "SNAT address %s is %s (line %d)",
				lb_ip4_fmt(a, ip), what, l);
	}
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
check_vip(struct lb_config_ctx *x, const struct lb_config_frontend *fe)
{
	const struct lb_config *c = x->c;
	const struct lb_config_port *in = &c->ports[c->int_port];
	char ip[LB_IP4_STRLEN], net[24], what[96];
	uint32_t i;
	int l;

	lb_ip4_fmt(fe->vip, ip);
	if (lb_config_port_owned(c, fe->vip, what, sizeof(what), &l))
		return fail(x, fe->line_vip, "VIP %s of frontend '%s' is %s (line %d)", ip,
			fe->name, what, l);
	for (i = 0; i < c->n_snat; i++)
		if (fe->vip == c->snat_addrs[i])
			return fail(x, fe->line_vip, "VIP %s of frontend '%s' is a SNAT address "
				"(line %d)", ip, fe->name, c->snat_addr_line[i]);
	for (i = 0; i < c->n_ports; i++) {
		const struct lb_config_port *p = &c->ports[i];

		if (lb_config_in_net(&p->net, fe->vip) && lb_config_net_edge(&p->net, fe->vip))
			return fail(x, fe->line_vip, "VIP %s of frontend '%s' is the network or "
				"broadcast address of port '%s''s subnet %s", ip, fe->name, p->name,
				net_fmt(&p->net, net, sizeof(net)));
	}
	if (c->int_port != c->ext_port && lb_config_in_net(&in->net, fe->vip))
		return fail(x, fe->line_vip, "VIP %s of frontend '%s' is inside the subnet %s of "
			"internal port '%s': it would be ambiguous which side answers ARP for it "
			"(only a one-arm port, role \"both\", may have VIPs on its subnet)", ip,
			fe->name, net_fmt(&in->net, net, sizeof(net)), in->name);
	return 0;
}

static int
check_target(struct lb_config_ctx *x, const struct lb_config_frontend *fe,
	const struct lb_config_target *t, const uint32_t *vips)
{
	const struct lb_config *c = x->c;
	const struct lb_config_port *in = &c->ports[c->int_port];
	const struct lb_config_port *ext = &c->ports[c->ext_port];
	char ep[LB_EP_STRLEN], net[24];
	uint32_t i;

	lb_ep_fmt(t->addr, t->port, ep);
	if (bsearch(&t->addr, vips, c->n_frontends, sizeof(*vips), cmp_u32) != NULL)
		return fail(x, t->line, "target %s of frontend '%s' is a VIP of lbd itself", ep,
			fe->name);
	for (i = 0; i < c->n_ports; i++)
		if (t->addr == c->ports[i].addr)
			return fail(x, t->line, "target %s of frontend '%s' is the address of "
				"port '%s' (line %d)", ep, fe->name, c->ports[i].name,
				c->ports[i].line_address);
	for (i = 0; i < c->n_snat; i++)
		if (t->addr == c->snat_addrs[i])
			return fail(x, t->line, "target %s of frontend '%s' is a SNAT address "
				"(line %d)", ep, fe->name, c->snat_addr_line[i]);
	if (ext != in && lb_config_in_net(&ext->net, t->addr))
		return fail(x, t->line, "target %s of frontend '%s' is inside the subnet %s of "
			"external port '%s'; targets are reached through internal port '%s'", ep,
			fe->name, net_fmt(&ext->net, net, sizeof(net)), ext->name, in->name);
	if (lb_config_in_net(&in->net, t->addr)) {
		if (lb_config_net_edge(&in->net, t->addr))
			return fail(x, t->line, "target %s of frontend '%s' is the network or "
				"broadcast address of subnet %s", ep, fe->name,
				net_fmt(&in->net, net, sizeof(net)));
		return 0;
	}
	if (in->gateway == 0)
		return fail(x, t->line, "target %s of frontend '%s' is not reachable: it is "
			"outside the subnet %s of internal port '%s' and that port has no gateway",
			ep, fe->name, net_fmt(&in->net, net, sizeof(net)), in->name);
	return 0;
}

static int
check_frontends(struct lb_config_ctx *x)
{
	const struct lb_config *c = x->c;
	uint32_t *vips, i, j;
	int rc = 0;

	if (c->n_frontends == 0)
		return 0;
	vips = malloc(c->n_frontends * sizeof(*vips));
	if (vips == NULL)
		return fail(x, c->line_frontends, "out of memory");
	for (i = 0; i < c->n_frontends; i++)
		vips[i] = c->frontends[i].vip;
	qsort(vips, c->n_frontends, sizeof(*vips), cmp_u32);

	for (i = 0; i < c->n_frontends && rc == 0; i++) {
		const struct lb_config_frontend *fe = &c->frontends[i];

		rc = check_vip(x, fe);
		if (rc == 0 && fe->method == LB_METHOD_FULLNAT && c->n_snat == 0)
			rc = fail(x, fe->line, "frontend '%s' uses method \"fullnat\" but "
				"workers.snat_addresses is empty (line %d): add a SNAT address or "
				"use method \"dnat\"", fe->name, c->line_snat_addrs);
		for (j = 0; j < fe->n_targets && rc == 0; j++)
			rc = check_target(x, fe, &fe->targets[j], vips);
	}
	free(vips);
	return rc;
}

int
lb_config_check(struct lb_config_ctx *x)
{
	int rc;

	rc = check_roles(x);
	if (rc == 0)
		rc = check_subnets(x);
	if (rc == 0)
		rc = check_snat(x);
	if (rc == 0)
		rc = check_frontends(x);
	if (rc == 0)
		rc = lb_config_check_pools(x);
	return rc;
}
