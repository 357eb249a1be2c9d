/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_maglev.h"
#include "lb_snap.h"

/*
 * The snapshot is one block so that publishing and freeing it are single
 * pointer operations, and so that the workers' data sits close together.
 * Building is two passes: the first sizes every region, the second fills
 * them. Regions start on cache lines; the Maglev tables must (they are the
 * largest thing a worker reads at random).
 *
 *   struct lb_snap | fes | fe_index | locals | targets | src_ranges | maglev...
 *   | target_set | vip_acls | vip_ranges
 */

#define INDEX_MIN_SLOTS	16
/* lb_flow stores expiries on 32 bits and compares them with wrap-around, so
 * no timeout may reach 2^31 ms (about 24 days). */
#define TIMEOUT_MAX_MS	0x7fffffffU

struct fe_plan {
	size_t targets_off;
	size_t ranges_off;
	size_t maglev_off;	/* 0: no table */
	uint32_t m;
	uint32_t n_active;
};

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

static size_t
align_up(size_t x)
{
	return (x + LB_CACHE_LINE - 1) & ~(size_t)(LB_CACHE_LINE - 1);
}

static uint32_t
pow2_slots(uint64_t count)
{
	uint32_t n = INDEX_MIN_SLOTS;

	while (n < 2 * count)
		n *= 2;
	return n;
}

static uint32_t
sec_to_ms(uint32_t s)
{
	uint64_t ms = (uint64_t)s * 1000;

	return ms > TIMEOUT_MAX_MS ? TIMEOUT_MAX_MS : (uint32_t)ms;
}

static void
copy_name(char dst[LB_NAME_MAX], const char *src)
{
	size_t n = strnlen(src, LB_NAME_MAX - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool
is_drained(const struct lb_config_frontend *fe, const struct lb_config_target *t,
	const struct lb_snap_drain *drains, uint32_t n_drains)
{
	uint32_t i;

	for (i = 0; i < n_drains; i++) {
		const struct lb_snap_drain *d = &drains[i];

		if (d->addr != t->addr || d->port != t->port)
			continue;
		if (d->fe[0] == '\0' || strncmp(d->fe, fe->name, LB_NAME_MAX) == 0)
			return true;
	}
	return false;
}

static int
target_cmp(const void *a, const void *b)
{
	const struct lb_snap_target *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* Equal identities are rejected below; the order still must not
	 * depend on the input's. */
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Number of distinct non-zero addresses lbd answers for. */
static int
count_locals(const struct lb_config *cfg, uint32_t *count)
{
	uint32_t *a, n = 0, i, u = 0;

	a = malloc(sizeof(*a) * ((size_t)cfg->n_frontends + cfg->n_ports + cfg->n_snat + 1));
	if (a == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->n_frontends; i++)
		a[n++] = cfg->frontends[i].vip;
	for (i = 0; i < cfg->n_ports; i++)
		a[n++] = cfg->ports[i].addr;
	for (i = 0; i < cfg->n_snat; i++)
		a[n++] = cfg->snat_addrs[i];
	qsort(a, n, sizeof(*a), u32_cmp);
	for (i = 0; i < n; i++)
		if (a[i] != 0 && (i == 0 || a[i] != a[i - 1]))
			u++;
	free(a);
	*count = u;
	return 0;
}

/* Adds addr unless present (the first kind given for an address wins). */
static void
local_add(struct lb_snap_local *set, uint32_t mask, uint32_t addr, uint8_t kind, uint8_t port)
{
	uint32_t i = lb_snap_fe_hash(addr, 0, 0) & mask;

	if (addr == 0)
		return;
	while (set[i].addr != 0) {
		if (set[i].addr == addr)
			return;
		i = (i + 1) & mask;
	}
	set[i].addr = addr;
	set[i].kind = kind;
	set[i].port = port;
}

static int
check_shape(const struct lb_config *cfg, const struct lb_snap_env *env, char *err, size_t errlen)
{
	uint32_t i, k;

	if (cfg->n_ports == 0 || cfg->n_ports > LB_MAX_PORTS) {
		fail(err, errlen, "%s: %u ports (1..%u)", cfg->path, cfg->n_ports, LB_MAX_PORTS);
		return -EINVAL;
	}
	if (cfg->ext_port < 0 || (uint32_t)cfg->ext_port >= cfg->n_ports ||
			cfg->int_port < 0 || (uint32_t)cfg->int_port >= cfg->n_ports) {
		fail(err, errlen, "%s: no external or internal port", cfg->path);
		return -EINVAL;
	}
	if (cfg->n_snat > LB_MAX_SNAT_ADDRS) {
		fail(err, errlen, "%s: %u SNAT addresses (at most %u)", cfg->path, cfg->n_snat,
			LB_MAX_SNAT_ADDRS);
		return -EINVAL;
	}
	if (env->n_workers > LB_MAX_WORKERS) {
		fail(err, errlen, "%u workers (at most %u)", env->n_workers, LB_MAX_WORKERS);
		return -EINVAL;
	}
	if (cfg->n_frontends > 0 && cfg->frontends == NULL) {
		fail(err, errlen, "%s: frontends missing", cfg->path);
		return -EINVAL;
	}
	for (i = 0; i < cfg->n_ports; i++) {
		if (env->dev[i] >= 256) {
			fail(err, errlen, "port %s: device id %u out of range", cfg->ports[i].name,
				env->dev[i]);
			return -EINVAL;
		}
		for (k = 0; k < i; k++) {
			if (env->dev[k] == env->dev[i]) {
				fail(err, errlen, "ports %s and %s share device id %u",
					cfg->ports[k].name, cfg->ports[i].name, env->dev[i]);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Sizes every region of the block. Returns the total, or 0 with err set. */
static size_t
plan(const struct lb_config *cfg, const struct lb_snap_drain *drains, uint32_t n_drains,
	struct fe_plan *fp, uint32_t fe_slots, uint32_t local_slots, size_t *scratch,
	uint32_t *max_targets, char *err, size_t errlen)
{
	size_t off, ranges;
	uint32_t i, k;

	off = align_up(sizeof(struct lb_snap));
	off += align_up(sizeof(struct lb_snap_fe) * (size_t)cfg->n_frontends);
	off += align_up(sizeof(uint32_t) * (size_t)fe_slots);
	off += align_up(sizeof(struct lb_snap_local) * (size_t)local_slots);
	*scratch = 0;
	*max_targets = 0;
	for (i = 0; i < cfg->n_frontends; i++) {
		const struct lb_config_frontend *fe = &cfg->frontends[i];

		if ((fe->n_targets > 0 && fe->targets == NULL) ||
				(fe->n_src_ranges > 0 && fe->src_ranges == NULL)) {
			fail(err, errlen, "%s:%d: frontend %s: missing targets or ranges",
				cfg->path, fe->line, fe->name);
			return 0;
		}
		fp[i].targets_off = off;
		off += align_up(sizeof(struct lb_snap_target) * (size_t)fe->n_targets);
		ranges = sizeof(struct lb_cidr) * (size_t)fe->n_src_ranges;
		fp[i].ranges_off = off;
		off += align_up(ranges);
		fp[i].m = fe->maglev_size ? fe->maglev_size : LB_MAGLEV_DEFAULT_SIZE;
		if (fp[i].m < LB_MAGLEV_MIN_SIZE || fp[i].m > LB_MAGLEV_MAX_SIZE ||
				!lb_maglev_is_prime(fp[i].m)) {
			fail(err, errlen, "%s:%d: frontend %s: Maglev size %u is not a prime in %u..%u",
				cfg->path, fe->line, fe->name, fp[i].m, LB_MAGLEV_MIN_SIZE,
				LB_MAGLEV_MAX_SIZE);
			return 0;
		}
		fp[i].n_active = 0;
		for (k = 0; k < fe->n_targets; k++)
			if (fe->targets[k].weight > 0 &&
					!is_drained(fe, &fe->targets[k], drains, n_drains))
				fp[i].n_active++;
		fp[i].maglev_off = 0;
		if (fp[i].n_active > 0) {
			size_t s = lb_maglev_scratch_size(fe->n_targets, fp[i].m);

			fp[i].maglev_off = off;
			off += align_up(sizeof(uint32_t) * (size_t)fp[i].m);
			*scratch = LB_MAX(*scratch, s);
		}
		*max_targets = LB_MAX(*max_targets, fe->n_targets);
	}
	return off;
}

static void
fill_ports(struct lb_snap *s, const struct lb_config *cfg, const struct lb_snap_env *env)
{
	uint32_t i;

	memset(s->dev_to_port, LB_SNAP_NO_PORT, sizeof(s->dev_to_port));
	s->n_ports = cfg->n_ports;
	for (i = 0; i < cfg->n_ports; i++) {
		const struct lb_config_port *cp = &cfg->ports[i];
		struct lb_snap_port *p = &s->ports[i];

		p->dev = env->dev[i];
		p->role = (uint8_t)cp->role;
		p->vlan = cp->vlan;
		p->addr = cp->addr;
		p->mask = lb_prefix_mask(cp->net.len);
		p->gateway = cp->gateway;
		p->mtu = env->mtu[i] ? env->mtu[i] : LB_SNAP_DEFAULT_MTU;
		memcpy(p->mac, env->mac[i], LB_ETHER_ADDR_LEN);
		copy_name(p->name, cp->name);
		s->dev_to_port[env->dev[i]] = (uint8_t)i;
	}
	s->ext_port = (uint8_t)cfg->ext_port;
	s->int_port = (uint8_t)cfg->int_port;
}

/* Copies, sorts and routes one frontend's targets and builds its table. */
static int
fill_targets(struct lb_snap *s, const struct lb_config *cfg, uint32_t fi, uint8_t *base,
	const struct fe_plan *fp, const struct lb_snap_drain *drains, uint32_t n_drains,
	struct lb_maglev_target *mt, void *scratch, char *err, size_t errlen)
{
	const struct lb_config_frontend *cf = &cfg->frontends[fi];
	const struct lb_snap_port *ip = &s->ports[s->int_port];
	struct lb_snap_fe *fe = (struct lb_snap_fe *)&s->fes[fi];
	struct lb_snap_target *t = (struct lb_snap_target *)(base + fp->targets_off);
	char a[LB_EP_STRLEN], b[LB_EP_STRLEN];
	uint32_t k;
	int rc;

	for (k = 0; k < cf->n_targets; k++) {
		const struct lb_config_target *ct = &cf->targets[k];

		t[k].addr = ct->addr;
		t[k].port = ct->port;
		t[k].weight = ct->weight;
		t[k].id = lb_maglev_target_id(ct->addr, ct->port);
		t[k].out_port = s->int_port;
		if (is_drained(cf, ct, drains, n_drains))
			t[k].flags |= LB_SNAP_T_DRAINED;
		if ((ct->addr & ip->mask) == (ip->addr & ip->mask)) {
			t[k].nexthop = ct->addr;
		} else if (ip->gateway != 0) {
			t[k].nexthop = ip->gateway;
		} else {
			fail(err, errlen, "%s:%d: frontend %s: target %s is off the internal "
				"subnet and port %s has no gateway", cfg->path, ct->line, cf->name,
				lb_ep_fmt(ct->addr, ct->port, a), ip->name);
			return -EINVAL;
		}
	}
	/* Identity order makes the table independent of the config's order. */
	qsort(t, cf->n_targets, sizeof(*t), target_cmp);
	for (k = 1; k < cf->n_targets; k++) {
		if (t[k].id == t[k - 1].id) {
			fail(err, errlen, "%s:%d: frontend %s: targets %s and %s have the same "
				"identity", cfg->path, cf->line, cf->name,
				lb_ep_fmt(t[k - 1].addr, t[k - 1].port, a),
				lb_ep_fmt(t[k].addr, t[k].port, b));
			return -EEXIST;
		}
	}
	fe->n_targets = cf->n_targets;
	fe->targets = cf->n_targets ? t : NULL;
	fe->n_active = fp->n_active;
	fe->maglev_size = fp->m;
	fe->maglev = NULL;
	if (fp->n_active == 0)
		return 0;
	for (k = 0; k < cf->n_targets; k++) {
		mt[k].id = t[k].id;
		mt[k].weight = (t[k].flags & LB_SNAP_T_DRAINED) ? 0 : t[k].weight;
	}
	rc = lb_maglev_build((uint32_t *)(base + fp->maglev_off), fp->m, mt, cf->n_targets,
		scratch);
	if (rc < 0) {
		fail(err, errlen, "%s:%d: frontend %s: Maglev table: %s", cfg->path, cf->line,
			cf->name, strerror(-rc));
		return rc;
	}
	fe->maglev = (const uint32_t *)(base + fp->maglev_off);
	return 0;
}

static int
fill_frontends(struct lb_snap *s, const struct lb_config *cfg, uint8_t *base,
	const struct fe_plan *fp, const struct lb_snap_drain *drains, uint32_t n_drains,
	uint32_t max_targets, size_t scratch_size, char *err, size_t errlen)
{
	struct lb_maglev_target *mt;
	uint32_t *index = (uint32_t *)s->fe_index;
	void *scratch;
	uint32_t i, h;
	int rc = 0;

	mt = malloc(sizeof(*mt) * (max_targets ? max_targets : 1));
	scratch = malloc(scratch_size ? scratch_size : 1);
	if (mt == NULL || scratch == NULL) {
		fail(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cfg->n_frontends; i++) {
		const struct lb_config_frontend *cf = &cfg->frontends[i];
		struct lb_snap_fe *fe = (struct lb_snap_fe *)&s->fes[i];

		fe->vip = cf->vip;
		fe->port = cf->port;
		fe->proto = cf->proto;
		fe->method = (uint8_t)cf->method;
		fe->affinity = (uint8_t)cf->affinity;
		fe->affinity_timeout_ms = sec_to_ms(cf->affinity_timeout);
		fe->n_src_ranges = cf->n_src_ranges;
		if (cf->n_src_ranges > 0) {
			memcpy(base + fp[i].ranges_off, cf->src_ranges,
				sizeof(struct lb_cidr) * cf->n_src_ranges);
			fe->src_ranges = (const struct lb_cidr *)(base + fp[i].ranges_off);
		}
		copy_name(fe->name, cf->name);
		rc = fill_targets(s, cfg, i, base, &fp[i], drains, n_drains, mt, scratch, err,
			errlen);
		if (rc < 0)
			goto out;

		h = lb_snap_fe_hash(fe->vip, fe->proto, fe->port) & s->fe_mask;
		while (index[h] != 0) {
			const struct lb_snap_fe *o = &s->fes[index[h] - 1];

			if (o->vip == fe->vip && o->proto == fe->proto && o->port == fe->port) {
				char ep[LB_EP_STRLEN];

				fail(err, errlen, "%s:%d: frontends %s and %s both serve %s %s",
					cfg->path, cf->line, o->name, fe->name, lb_proto_str(fe->proto),
					lb_ep_fmt(fe->vip, fe->port, ep));
				rc = -EEXIST;
				goto out;
			}
			h = (h + 1) & s->fe_mask;
		}
		index[h] = i + 1;
	}
out:
	free(mt);
	free(scratch);
	return rc;
}

/* Sizes of the regions the source checks read (lib/dp/lb_dp_guard.c). */
struct guard_plan {
	uint32_t target_slots;
	size_t target_off;
	size_t acls_off;
	size_t ranges_off;
};

static size_t
plan_guard(const struct lb_config *cfg, size_t off, struct guard_plan *gp)
{
	uint64_t n_targets = 0, n_ranges = 0;
	uint32_t i;

	for (i = 0; i < cfg->n_frontends; i++) {
		n_targets += cfg->frontends[i].n_targets;
		n_ranges += cfg->frontends[i].n_src_ranges;
	}
	gp->target_slots = pow2_slots(n_targets);
	gp->target_off = off;
	off += align_up(sizeof(uint32_t) * (size_t)gp->target_slots);
	gp->acls_off = off;
	off += align_up(sizeof(struct lb_snap_vip_acl) * (size_t)cfg->n_frontends);
	gp->ranges_off = off;
	off += align_up(sizeof(struct lb_cidr) * (size_t)n_ranges);
	return off;
}

static void
target_add(uint32_t *set, uint32_t mask, uint32_t addr)
{
	uint32_t i = lb_snap_fe_hash(addr, 0, 1) & mask;

	while (set[i] != 0) {
		if (set[i] == addr)
			return;
		i = (i + 1) & mask;
	}
	set[i] = addr;
}

/*
 * Fills the target set and the VIPs' echo allow-lists; locals must be filled.
 * A VIP answers echo from the sources one of its frontends accepts: every
 * source when one of them has no ranges, else the union of their ranges.
 */
static int
fill_guard(struct lb_snap *s, const struct lb_config *cfg, uint8_t *base,
	const struct guard_plan *gp, char *err, size_t errlen)
{
	struct lb_snap_vip_acl *acls = (struct lb_snap_vip_acl *)(base + gp->acls_off);
	struct lb_cidr *ranges = (struct lb_cidr *)(base + gp->ranges_off);
	uint32_t *set = (uint32_t *)(base + gp->target_off);
	uint32_t i, j, k, n_ranges = 0;

	s->target_set = set;
	s->target_mask = gp->target_slots - 1;
	s->vip_acls = acls;
	s->vip_ranges = ranges;
	for (i = 0; i < cfg->n_frontends; i++) {
		const struct lb_config_frontend *fe = &cfg->frontends[i];
		struct lb_snap_local *l;
		bool open = false, seen = false;

		for (k = 0; k < fe->n_targets; k++)
			if (fe->targets[k].addr != 0)
				target_add(set, s->target_mask, fe->targets[k].addr);
		if (fe->n_src_ranges > 0)
			s->any_src_ranges = true;
		for (j = 0; j < i && !seen; j++)
			seen = cfg->frontends[j].vip == fe->vip;
		if (seen)
			continue;
		/* the first frontend of this VIP: decide for all of them */
		for (j = i; j < cfg->n_frontends && !open; j++)
			open = cfg->frontends[j].vip == fe->vip && cfg->frontends[j].n_src_ranges == 0;
		l = (struct lb_snap_local *)lb_snap_local_lookup(s, fe->vip);
		if (open || l == NULL || l->kind != LB_LOCAL_VIP)
			continue;
		if (s->n_vip_acls == UINT16_MAX) {
			fail(err, errlen, "%s: more than %u VIPs with source ranges", cfg->path,
				UINT16_MAX);
			return -E2BIG;
		}
		acls[s->n_vip_acls].first = n_ranges;
		for (j = i; j < cfg->n_frontends; j++) {
			if (cfg->frontends[j].vip != fe->vip)
				continue;
			memcpy(&ranges[n_ranges], cfg->frontends[j].src_ranges,
				sizeof(*ranges) * cfg->frontends[j].n_src_ranges);
			n_ranges += cfg->frontends[j].n_src_ranges;
		}
		acls[s->n_vip_acls].n = n_ranges - acls[s->n_vip_acls].first;
		l->acl = (uint16_t)(++s->n_vip_acls);
	}
	return 0;
}

struct lb_snap *
lb_snap_build(const struct lb_config *cfg, const struct lb_snap_env *env,
	const struct lb_snap_drain *drains, uint32_t n_drains, char *err, size_t errlen)
{
	struct fe_plan *fp = NULL;
	struct guard_plan gp;
	struct lb_snap *s = NULL;
	uint32_t fe_slots, local_slots, n_locals, max_targets, i;
	size_t total, scratch, off;
	uint8_t *base;
	void *mem;

	if (cfg == NULL || env == NULL || (n_drains > 0 && drains == NULL)) {
		fail(err, errlen, "invalid arguments");
		return NULL;
	}
	if (check_shape(cfg, env, err, errlen) < 0)
		return NULL;
	if (count_locals(cfg, &n_locals) < 0) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	fe_slots = pow2_slots(cfg->n_frontends);
	local_slots = pow2_slots(n_locals);
	fp = calloc(cfg->n_frontends ? cfg->n_frontends : 1, sizeof(*fp));
	if (fp == NULL) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	total = plan(cfg, drains, n_drains, fp, fe_slots, local_slots, &scratch, &max_targets,
		err, errlen);
	if (total == 0)
		goto fail;
	total = plan_guard(cfg, total, &gp);
	if (posix_memalign(&mem, LB_CACHE_LINE, total) != 0) {
		fail(err, errlen, "out of memory for a %zu-byte snapshot", total);
		goto fail;
	}
	/* Zeroed, so padding is deterministic and byte comparisons are fair. */
	memset(mem, 0, total);
	s = mem;
	base = mem;

	off = align_up(sizeof(*s));
	s->fes = (const struct lb_snap_fe *)(base + off);
	s->n_fes = cfg->n_frontends;
	off += align_up(sizeof(struct lb_snap_fe) * (size_t)cfg->n_frontends);
	s->fe_index = (const uint32_t *)(base + off);
	s->fe_mask = fe_slots - 1;
	off += align_up(sizeof(uint32_t) * (size_t)fe_slots);
	s->locals = (const struct lb_snap_local *)(base + off);
	s->local_mask = local_slots - 1;

	s->n_workers = env->n_workers;
	fill_ports(s, cfg, env);
	s->timeout_ms[LB_FLOW_SYN] = sec_to_ms(cfg->timeouts.tcp_syn);
	s->timeout_ms[LB_FLOW_EST] = sec_to_ms(cfg->timeouts.tcp_established);
	s->timeout_ms[LB_FLOW_FIN] = sec_to_ms(cfg->timeouts.tcp_fin);
	s->timeout_ms[LB_FLOW_UDP] = sec_to_ms(cfg->timeouts.udp);
	s->timeout_ms[LB_FLOW_OTHER] = 0;

	/* Without SNAT addresses (a DNAT-only setup) the range may be unset; a
	 * zeroed layout owns no port. */
	if (lb_snat_layout_init(&s->snat, cfg->snat_port_lo, cfg->snat_port_hi,
			env->n_workers) < 0 && cfg->n_snat > 0) {
		fail(err, errlen, "%s: SNAT ports %u-%u cannot be split over %u workers",
			cfg->path, cfg->snat_port_lo, cfg->snat_port_hi, env->n_workers);
		goto fail;
	}
	s->n_snat = cfg->n_snat;
	memcpy(s->snat_addrs, cfg->snat_addrs, sizeof(uint32_t) * cfg->n_snat);

	if (fill_frontends(s, cfg, base, fp, drains, n_drains, max_targets, scratch, err,
			errlen) < 0)
		goto fail;

	for (i = 0; i < cfg->n_frontends; i++)
		local_add((struct lb_snap_local *)s->locals, s->local_mask, cfg->frontends[i].vip,
			LB_LOCAL_VIP, s->ext_port);
	for (i = 0; i < cfg->n_ports; i++)
		local_add((struct lb_snap_local *)s->locals, s->local_mask, cfg->ports[i].addr,
			LB_LOCAL_PORT, (uint8_t)i);
	for (i = 0; i < cfg->n_snat; i++)
		local_add((struct lb_snap_local *)s->locals, s->local_mask, cfg->snat_addrs[i],
			LB_LOCAL_SNAT, s->int_port);
	if (fill_guard(s, cfg, base, &gp, err, errlen) < 0)
		goto fail;
	free(fp);
	return s;
fail:
	free(fp);
	free(s);
	return NULL;
}

void
lb_snap_free(struct lb_snap *s)
{
	free(s);
}

int
lb_snap_target_find(const struct lb_snap_fe *fe, uint32_t addr, uint16_t port)
{
	uint64_t id = lb_maglev_target_id(addr, port);
	uint32_t lo = 0, hi = fe->n_targets, mid;

	/* First target whose id is not below id. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (fe->targets[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < fe->n_targets && fe->targets[lo].id == id; lo++)
		if (fe->targets[lo].addr == addr && fe->targets[lo].port == port)
			return (int)lo;
	return -1;
}
