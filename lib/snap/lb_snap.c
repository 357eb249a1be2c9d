/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "lb_snap_priv.h"

/*
 * The snapshot is one block, so that publishing and freeing it are single
 * pointer operations and the workers' data sits close together; only the
 * Maglev tables live apart (shared between snapshots). Building is two
 * passes: the first decides what is kept and sizes every region, the second
 * fills them.
 *
 *   struct lb_snap | fes | fe_index | locals | targets | src_ranges
 */

#define INDEX_MIN_SLOTS	16
/* lb_flow stores expiries on 32 bits and compares them with wrap-around, so
 * no timeout may reach 2^31 ms (about 24 days). */
#define TIMEOUT_MAX_MS	0x7fffffffU

/* What pass one decided about a model frontend. */
struct fe_plan {
	bool keep;
	bool dnat;
	uint32_t m;
	uint32_t n_targets;	/* kept targets */
	uint32_t n_ranges;	/* IPv4 ranges, or 1 for "deny all" */
	size_t targets_off;
	size_t ranges_off;
};

struct build {
	const struct lb_snap_input *in;
	bool can_copy;		/* same settings and overlay as the previous snapshot */
	lb_snap_reject_fn reject;
	void *ctx;
	struct lb_snap_build_stats st;
	const struct lb_snap_port *ip;	/* internal port, for next hops */
	/* previous snapshot's frontends by id */
	uint32_t prev_mask;
	const struct lb_snap_fe **prev_by_id;
	/* scratch for one frontend */
	uint64_t *ids;
	uint32_t *weights;
	uint32_t key_cap;
	void *mg_scratch;
	size_t mg_scratch_size;
	char *err;
	size_t errlen;
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

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
reject(struct build *b, const struct lb_model_fe *fe, const struct lb_model_target *t,
	const char *fmt, ...)
{
	char msg[LB_MODEL_NAME_MAX + 256];
	va_list ap;
	size_t n;

	n = (size_t)snprintf(msg, sizeof(msg), "frontend %s: ", fe->name);
	if (n >= sizeof(msg))
		n = sizeof(msg) - 1;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	if (t == NULL)
		b->st.rejected++;
	else
		b->st.targets_rejected++;
	if (b->reject != NULL)
		b->reject(b->ctx, fe, t, msg);
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

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Distinct non-zero addresses lbd will answer for: kept VIPs, ports, SNAT. */
static int
count_locals(const struct lb_config *cfg, const struct lb_model *m, const struct fe_plan *fp,
	uint32_t *count)
{
	uint32_t *a, n = 0, i, u = 0;

	a = malloc(sizeof(*a) * ((size_t)m->n_fes + cfg->n_ports + cfg->n_snat + 1));
	if (a == NULL)
		return -ENOMEM;
	for (i = 0; i < m->n_fes; i++)
		if (fp[i].keep)
			a[n++] = m->fes[i]->vip.v4;
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

static int
target_cmp(const void *a, const void *b)
{
	const struct lb_snap_target *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* Equal identities are rejected; the order still must not depend on
	 * the input's. */
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return 0;
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
		p->rss_owner = env->rss_owner[i];
		p->mtu = env->mtu[i] ? env->mtu[i] : LB_SNAP_DEFAULT_MTU;
		memcpy(p->mac, env->mac[i], LB_ETHER_ADDR_LEN);
		p->kernel = cp->kernel[0] != '\0';
		p->kernel_rate = cp->kernel_rate;
		copy_name(p->name, cp->name);
		s->dev_to_port[env->dev[i]] = (uint8_t)i;
	}
	s->ext_port = (uint8_t)cfg->ext_port;
	s->int_port = (uint8_t)cfg->int_port;
}

/* Whether addr is a port's or a SNAT address (a VIP may be neither). */
static const char *
own_address(const struct lb_config *cfg, uint32_t addr)
{
	uint32_t i;

	for (i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].addr == addr)
			return "the address of a port";
	for (i = 0; i < cfg->n_snat; i++)
		if (cfg->snat_addrs[i] == addr)
			return "a SNAT address";
	return NULL;
}

/* Next hop for an IPv4 target, or 0 when it cannot be reached. */
static uint32_t
nexthop(const struct lb_snap_port *ip, uint32_t addr)
{
	if ((addr & ip->mask) == (ip->addr & ip->mask))
		return addr;
	return ip->gateway;
}

static bool
target_usable(struct build *b, const struct lb_model_fe *fe, const struct lb_model_target *t,
	bool report)
{
	char a[LB_IP_STRLEN];

	if (t->addr.family != LB_AF_INET) {
		if (report)
			reject(b, fe, t, "target %s: IPv6 targets are not served yet",
				lb_ip_fmt(&t->addr, a));
		return false;
	}
	if (nexthop(b->ip, t->addr.v4) == 0) {
		if (report)
			reject(b, fe, t, "target %s:%u is off the internal subnet and port %s has "
				"no gateway", lb_ip_fmt(&t->addr, a), ntohs(t->port), b->ip->name);
		return false;
	}
	return true;
}

/* Pass one for a frontend: keep or reject it, count what it needs. */
static void
plan_fe(struct build *b, const struct lb_model_fe *fe, struct fe_plan *p)
{
	const struct lb_config *cfg = b->in->settings;
	char a[LB_IP_STRLEN];
	const char *own;
	uint32_t k;

	memset(p, 0, sizeof(*p));
	if (fe->vip.family != LB_AF_INET) {
		reject(b, fe, NULL, "VIP %s: IPv6 is not served yet", lb_ip_fmt(&fe->vip, a));
		return;
	}
	if (fe->proto != LB_PROTO_TCP && fe->proto != LB_PROTO_UDP) {
		reject(b, fe, NULL, "protocol %u is not served", fe->proto);
		return;
	}
	own = own_address(cfg, fe->vip.v4);
	if (own != NULL) {
		reject(b, fe, NULL, "VIP %s is %s of lbd", lb_ip_fmt(&fe->vip, a), own);
		return;
	}
	p->m = fe->maglev_size ? fe->maglev_size : LB_MAGLEV_DEFAULT_SIZE;
	if (p->m < LB_MAGLEV_MIN_SIZE || p->m > LB_MAGLEV_MAX_SIZE || !lb_maglev_is_prime(p->m)) {
		reject(b, fe, NULL, "Maglev size %u is not a prime in %u..%u", p->m,
			LB_MAGLEV_MIN_SIZE, LB_MAGLEV_MAX_SIZE);
		return;
	}
	for (k = 0; k < fe->n_targets; k++)
		if (target_usable(b, fe, &fe->targets[k], false))
			p->n_targets++;
	for (k = 0; k < fe->n_src_ranges; k++)
		if (fe->src_ranges[k].addr.family == LB_AF_INET)
			p->n_ranges++;
	/* IPv6 ranges only: no IPv4 client is allowed (see fill_fe) */
	if (p->n_ranges == 0 && fe->n_src_ranges > 0)
		p->n_ranges = 1;
	p->keep = true;
}

static int
grow_scratch(struct build *b, uint32_t n, uint32_t m)
{
	size_t need = lb_maglev_scratch_size(n, m);

	if (n > b->key_cap) {
		uint64_t *ids = realloc(b->ids, sizeof(*ids) * n);
		uint32_t *w;

		if (ids == NULL)
			return -ENOMEM;
		b->ids = ids;
		w = realloc(b->weights, sizeof(*w) * n);
		if (w == NULL)
			return -ENOMEM;
		b->weights = w;
		b->key_cap = n;
	}
	if (need > b->mg_scratch_size) {
		void *p = NULL;

		if (posix_memalign(&p, 8, need) != 0)
			return -ENOMEM;
		free(b->mg_scratch);
		b->mg_scratch = p;
		b->mg_scratch_size = need;
	}
	return 0;
}

static const struct lb_snap_fe *
prev_fe(const struct build *b, uint64_t id)
{
	uint32_t i;

	if (b->prev_by_id == NULL)
		return NULL;
	for (i = (uint32_t)id & b->prev_mask; b->prev_by_id[i] != NULL; i = (i + 1) & b->prev_mask)
		if (b->prev_by_id[i]->id == id)
			return b->prev_by_id[i];
	return NULL;
}

/* The frontend's table: the previous snapshot's when its key matches. */
static int
attach_table(struct build *b, struct lb_snap_fe *fe, uint32_t m, uint32_t n)
{
	const struct lb_snap_fe *old = prev_fe(b, fe->id);
	struct lb_snap_table *t;
	uint64_t t0;

	if (old != NULL && old->table != NULL &&
	    lb_snap_table_matches(old->table, m, b->ids, b->weights, n)) {
		fe->table = lb_snap_table_get(old->table);
		b->st.tables_reused++;
	} else {
		t0 = mono_ns();
		t = lb_snap_table_build(m, b->ids, b->weights, n, b->mg_scratch, b->err,
			b->errlen);
		b->st.table_ns += mono_ns() - t0;
		if (t == NULL)
			return -ENOMEM;
		fe->table = t;
		b->st.tables_built++;
	}
	fe->maglev = fe->table->slots;
	return 0;
}

/* Pass two, fast: the previous snapshot's frontend for the same model
 * object, copied. false when it cannot be (then fill_fe computes it). */
static bool
copy_fe(struct build *b, uint8_t *base, const struct lb_model_fe *mf, const struct fe_plan *p,
	struct lb_snap_fe *fe)
{
	const struct lb_snap_fe *old;
	struct lb_snap_target *t = (struct lb_snap_target *)(base + p->targets_off);
	struct lb_cidr *r = (struct lb_cidr *)(base + p->ranges_off);

	if (!b->can_copy || (old = prev_fe(b, mf->id)) == NULL || old->model != mf ||
	    old->n_rejected != 0 || old->n_targets != p->n_targets ||
	    old->n_src_ranges != p->n_ranges || old->maglev_size != p->m)
		return false;
	*fe = *old;
	if (old->n_targets > 0)
		memcpy(t, old->targets, sizeof(*t) * old->n_targets);
	fe->targets = old->n_targets ? t : NULL;
	if (old->n_src_ranges > 0)
		memcpy(r, old->src_ranges, sizeof(*r) * old->n_src_ranges);
	fe->src_ranges = old->n_src_ranges ? r : NULL;
	fe->model = lb_model_fe_get((struct lb_model_fe *)mf);
	if (fe->table != NULL) {
		fe->table = lb_snap_table_get(fe->table);
		b->st.tables_reused++;
	}
	b->st.fes_copied++;
	return true;
}

/* Pass two for a kept frontend. Returns 0, or -ENOMEM. */
static int
fill_fe(struct build *b, struct lb_snap *s, uint8_t *base, const struct lb_model_fe *mf,
	struct fe_plan *p, struct lb_snap_fe *fe)
{
	struct lb_snap_target *t = (struct lb_snap_target *)(base + p->targets_off);
	struct lb_cidr *r = (struct lb_cidr *)(base + p->ranges_off);
	const struct lb_overlay *ov = b->in->overlay;
	uint32_t n = 0, k, active = 0, blocked_by_health = 0;
	char a[LB_IP_STRLEN], c[LB_IP_STRLEN];

	if (copy_fe(b, base, mf, p, fe))
		return 0;
	fe->vip = mf->vip.v4;
	fe->port = mf->port;
	fe->proto = mf->proto;
	fe->method = mf->method;
	fe->affinity = mf->affinity;
	fe->affinity_timeout_ms = sec_to_ms(mf->affinity_timeout);
	fe->id = mf->id;
	fe->ctr = LB_SNAP_NO_CTR;
	fe->name = mf->name;
	fe->model = lb_model_fe_get((struct lb_model_fe *)mf);
	fe->maglev_size = p->m;

	for (k = 0; k < mf->n_src_ranges; k++) {
		if (mf->src_ranges[k].addr.family != LB_AF_INET)
			continue;
		r[n].addr = mf->src_ranges[k].addr.v4;
		r[n].len = mf->src_ranges[k].len;
		r[n].mask = lb_prefix_mask(r[n].len);
		n++;
	}
	if (n == 0 && p->n_ranges == 1) {
		/* Only IPv6 ranges: allow no IPv4 client. 0.0.0.0/32 matches
		 * nothing a client can send from. */
		r[0].addr = 0;
		r[0].len = 32;
		r[0].mask = 0xffffffffU;
		n = 1;
	}
	fe->n_src_ranges = n;
	fe->src_ranges = n ? r : NULL;

	n = 0;
	for (k = 0; k < mf->n_targets; k++) {
		const struct lb_model_target *mt = &mf->targets[k];
		uint32_t f;

		if (!target_usable(b, mf, mt, true)) {
			fe->n_rejected++;
			continue;
		}
		t[n].addr = mt->addr.v4;
		t[n].port = mt->port;
		t[n].weight = mt->weight;
		t[n].id = lb_maglev_target_id(mt->addr.v4, mt->port);
		t[n].ctr = LB_SNAP_NO_CTR;
		t[n].out_port = s->int_port;
		t[n].nexthop = nexthop(b->ip, mt->addr.v4);
		t[n].flags = (mt->flags & LB_MT_TERMINATING) ? LB_SNAP_T_TERMINATING : 0;
		f = ov ? lb_overlay_flags(ov, mf->name, &mt->addr, mt->port, NULL, 0) : 0;
		if (f & LB_OV_DRAINED)
			t[n].flags |= LB_SNAP_T_DRAINED;
		if (f & LB_OV_UNHEALTHY)
			t[n].flags |= LB_SNAP_T_UNHEALTHY;
		n++;
	}
	qsort(t, n, sizeof(*t), target_cmp);
	/* a colliding identity would make the table ambiguous: keep the first */
	for (k = 1; k < n;) {
		if (t[k].id == t[k - 1].id) {
			reject(b, mf, NULL, "targets %s:%u and %s:%u have the same identity; "
				"the second is left out", lb_ip4_fmt(t[k - 1].addr, a),
				ntohs(t[k - 1].port), lb_ip4_fmt(t[k].addr, c), ntohs(t[k].port));
			b->st.rejected--;
			b->st.targets_rejected++;
			memmove(&t[k], &t[k + 1], sizeof(*t) * (n - k - 1));
			n--;
			fe->n_rejected++;
		} else {
			k++;
		}
	}
	fe->n_targets = n;
	fe->targets = n ? t : NULL;
	if (grow_scratch(b, n, p->m) != 0) {
		fail(b->err, b->errlen, "out of memory");
		return -ENOMEM;
	}
	for (k = 0; k < n; k++) {
		b->ids[k] = t[k].id;
		b->weights[k] = (t[k].flags & LB_SNAP_T_NO_NEW) ? 0 : t[k].weight;
		if (b->weights[k] > 0)
			active++;
		else if (t[k].weight > 0 && (t[k].flags & LB_SNAP_T_NO_NEW) == LB_SNAP_T_UNHEALTHY)
			blocked_by_health++;
	}
	if (active == 0 && blocked_by_health > 0) {
		/* fail open: every target that would take flows but for its
		 * health takes them */
		fe->flags |= LB_SNAP_FE_FAIL_OPEN;
		for (k = 0; k < n; k++)
			if (t[k].weight > 0 && (t[k].flags & LB_SNAP_T_NO_NEW) == LB_SNAP_T_UNHEALTHY) {
				b->weights[k] = t[k].weight;
				active++;
			}
	}
	fe->n_active = active;
	if (active == 0)
		return 0;
	return attach_table(b, fe, p->m, n);
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

/* Inserts fe into the (vip, proto, port) index; the frontend already there
 * when the key is taken, else NULL. */
static const struct lb_snap_fe *
index_add(struct lb_snap *s, uint32_t fi)
{
	const struct lb_snap_fe *fe = &s->fes[fi];
	uint32_t *index = (uint32_t *)s->fe_index;
	uint32_t h = lb_snap_fe_hash(fe->vip, fe->proto, fe->port) & s->fe_mask;

	while (index[h] != 0) {
		const struct lb_snap_fe *o = &s->fes[index[h] - 1];

		if (o->vip == fe->vip && o->proto == fe->proto && o->port == fe->port)
			return o;
		h = (h + 1) & s->fe_mask;
	}
	index[h] = fi + 1;
	return NULL;
}

static int
index_prev(struct build *b)
{
	const struct lb_snap *prev = b->in->prev;
	uint32_t slots, i, j;

	if (prev == NULL || prev->n_fes == 0)
		return 0;
	slots = pow2_slots(prev->n_fes);
	b->prev_by_id = calloc(slots, sizeof(*b->prev_by_id));
	if (b->prev_by_id == NULL)
		return -ENOMEM;
	b->prev_mask = slots - 1;
	for (i = 0; i < prev->n_fes; i++) {
		for (j = (uint32_t)prev->fes[i].id & b->prev_mask; b->prev_by_id[j] != NULL;
		     j = (j + 1) & b->prev_mask)
			;
		b->prev_by_id[j] = &prev->fes[i];
	}
	return 0;
}

static void
build_free(struct build *b)
{
	free(b->prev_by_id);
	free(b->ids);
	free(b->weights);
	free(b->mg_scratch);
}

/* Sizes of the regions the source checks read (lib/dp/lb_dp_guard.h). */
struct guard_plan {
	uint32_t target_slots;
	size_t target_off;
	uint32_t dnat_slots;
	size_t dnat_off;
	uint32_t filter_log2;	/* bits in the source filter: 1 << filter_log2 */
	size_t filter_off;
	size_t acls_off;
	size_t ranges_off;
};

/* Source filter bits per slot of the exact sets (which are at most half
 * full): 16, so at most 1 in 32 bits is set and a random source passes the
 * filter with a probability below 3 %. */
#define SRC_FILTER_BITS_PER_SLOT	16
#define SRC_FILTER_MIN_LOG2		9	/* 512 bits, 64 bytes */

static size_t
plan_guard(const struct fe_plan *fp, uint32_t n_fes, uint32_t local_slots, size_t off,
	struct guard_plan *gp)
{
	uint64_t bits;
	uint64_t n_targets = 0, n_ranges = 0, n_keep = 0, n_dnat = 0;
	uint32_t i;

	for (i = 0; i < n_fes; i++) {
		if (!fp[i].keep)
			continue;
		n_targets += fp[i].n_targets;
		n_ranges += fp[i].n_ranges;
		n_keep++;
		if (fp[i].dnat)
			n_dnat += fp[i].n_targets;
	}
	gp->target_slots = pow2_slots(n_targets);
	gp->target_off = off;
	off += align_up(sizeof(uint32_t) * (size_t)gp->target_slots);
	gp->dnat_slots = pow2_slots(n_dnat);
	gp->dnat_off = off;
	off += align_up(sizeof(struct lb_snap_dnat_rev) * (size_t)gp->dnat_slots);
	gp->acls_off = off;
	off += align_up(sizeof(struct lb_snap_vip_acl) * (size_t)n_keep);
	gp->ranges_off = off;
	off += align_up(sizeof(struct lb_cidr) * (size_t)n_ranges);
	bits = ((uint64_t)local_slots + gp->target_slots) * SRC_FILTER_BITS_PER_SLOT;
	for (gp->filter_log2 = SRC_FILTER_MIN_LOG2; gp->filter_log2 < 31 &&
	     (1ULL << gp->filter_log2) < bits; gp->filter_log2++)
		;
	gp->filter_off = off;
	off += align_up((size_t)(1ULL << gp->filter_log2) / 8);
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

/* Enters (target, its DNAT frontend) in the reply index; a target of two
 * DNAT frontends is marked ambiguous (LB_SNAP_DNAT_AMBIGUOUS). */
static void
dnat_rev_add(struct lb_snap_dnat_rev *x, uint32_t mask, const struct lb_snap_target *t,
	uint8_t proto, uint32_t fe, uint32_t target)
{
	uint32_t i = lb_snap_fe_hash(t->addr, proto, t->port) & mask;

	while (x[i].fe != 0) {
		if (x[i].addr == t->addr && x[i].port == t->port && x[i].proto == proto) {
			if (x[i].fe != fe + 1)
				x[i].fe = LB_SNAP_DNAT_AMBIGUOUS;
			return;
		}
		i = (i + 1) & mask;
	}
	x[i].addr = t->addr;
	x[i].port = t->port;
	x[i].proto = proto;
	x[i].fe = fe + 1;
	x[i].target = target;
}

static inline void
src_filter_set(uint64_t *f, uint32_t shift, uint32_t addr)
{
	uint32_t b = lb_snap_src_filter_bit(shift, addr);

	f[b >> 6] |= 1ULL << (b & 63);
}

/* The source filter over every address of the local and target sets. */
static void
fill_src_filter(struct lb_snap *s, uint64_t *f, uint32_t log2_bits)
{
	uint32_t i;

	s->src_filter = f;
	s->src_filter_shift = 32 - log2_bits;
	for (i = 0; i <= s->local_mask; i++)
		if (s->locals[i].addr != 0)
			src_filter_set(f, s->src_filter_shift, s->locals[i].addr);
	for (i = 0; i <= s->target_mask; i++)
		if (s->target_set[i] != 0)
			src_filter_set(f, s->src_filter_shift, s->target_set[i]);
}

/*
 * Fills the target set and the VIPs' echo allow-lists from the frontends
 * kept; locals must be filled. A VIP answers echo from the sources one of its
 * frontends accepts: every source when one of them has no ranges, else the
 * union of their ranges (in frontend order; the VIPs' lists in the order of
 * their first frontend). Linear in the frontends: per-VIP facts are kept by
 * the VIP's slot in the local set.
 */
static int
fill_guard(struct lb_snap *s, uint8_t *base, const struct guard_plan *gp, char *err,
	size_t errlen)
{
	struct lb_snap_vip_acl *acls = (struct lb_snap_vip_acl *)(base + gp->acls_off);
	struct lb_cidr *ranges = (struct lb_cidr *)(base + gp->ranges_off);
	uint32_t *set = (uint32_t *)(base + gp->target_off);
	uint32_t nslots = s->local_mask + 1, i, k, n_ranges = 0, slot;
	/* per local slot: 0 no frontend yet, 1 open (a frontend without
	 * ranges), 2 ranges only, 3 its list being copied; fill: the list's
	 * next free range */
	uint8_t *vs = calloc(nslots, 1);
	uint32_t *fill = calloc(nslots, sizeof(*fill));
	int rc = 0;

	if (vs == NULL || fill == NULL) {
		fail(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	s->target_set = set;
	s->target_mask = gp->target_slots - 1;
	s->dnat_rev = (struct lb_snap_dnat_rev *)(base + gp->dnat_off);
	s->dnat_rev_mask = gp->dnat_slots - 1;
	s->vip_acls = acls;
	s->vip_ranges = ranges;
	/* targets, and which VIPs are open */
	for (i = 0; i < s->n_fes; i++) {
		const struct lb_snap_fe *fe = &s->fes[i];
		const struct lb_snap_local *l;

		for (k = 0; k < fe->n_targets; k++) {
			if (fe->targets[k].addr != 0)
				target_add(set, s->target_mask, fe->targets[k].addr);
			if (fe->method == LB_METHOD_DNAT)
				dnat_rev_add((struct lb_snap_dnat_rev *)s->dnat_rev,
					s->dnat_rev_mask, &fe->targets[k], fe->proto, i, k);
		}
		if (fe->n_src_ranges > 0)
			s->any_src_ranges = true;
		l = lb_snap_local_lookup(s, fe->vip);
		if (l == NULL || l->kind != LB_LOCAL_VIP)
			continue;
		slot = (uint32_t)(l - s->locals);
		if (fe->n_src_ranges == 0)
			vs[slot] = 1;
		else if (vs[slot] == 0)
			vs[slot] = 2;
	}
	/* a list per VIP with ranges only, in the order of its first
	 * frontend: count, place the lists one after another, copy */
	for (i = 0; i < s->n_fes; i++) {
		const struct lb_snap_fe *fe = &s->fes[i];
		struct lb_snap_local *l = (struct lb_snap_local *)lb_snap_local_lookup(s, fe->vip);

		if (l == NULL || l->kind != LB_LOCAL_VIP || vs[(uint32_t)(l - s->locals)] != 2)
			continue;
		if (l->acl == 0) {
			if (s->n_vip_acls == UINT16_MAX) {
				fail(err, errlen, "more than %u VIPs with source ranges", UINT16_MAX);
				rc = -E2BIG;
				goto out;
			}
			acls[s->n_vip_acls].n = 0;
			l->acl = (uint16_t)(++s->n_vip_acls);
		}
		acls[l->acl - 1].n += fe->n_src_ranges;
	}
	for (i = 0; i < s->n_vip_acls; i++) {
		acls[i].first = n_ranges;
		n_ranges += acls[i].n;
	}
	for (i = 0; i < s->n_fes; i++) {
		const struct lb_snap_fe *fe = &s->fes[i];
		const struct lb_snap_local *l = lb_snap_local_lookup(s, fe->vip);

		if (l == NULL || l->kind != LB_LOCAL_VIP || l->acl == 0)
			continue;
		slot = (uint32_t)(l - s->locals);
		if (vs[slot] == 2) {	/* the VIP's first frontend */
			vs[slot] = 3;
			fill[slot] = acls[l->acl - 1].first;
		}
		memcpy(&ranges[fill[slot]], fe->src_ranges, sizeof(*ranges) * fe->n_src_ranges);
		fill[slot] += fe->n_src_ranges;
	}
	fill_src_filter(s, (uint64_t *)(base + gp->filter_off), gp->filter_log2);
out:
	free(vs);
	free(fill);
	return rc;
}

struct lb_snap *
lb_snap_build(const struct lb_snap_input *in, lb_snap_reject_fn rej, void *ctx,
	struct lb_snap_build_stats *st, char *err, size_t errlen)
{
	const struct lb_config *cfg;
	const struct lb_model *model;
	struct build b;
	struct fe_plan *fp = NULL;
	struct guard_plan gp;
	struct lb_snap *s = NULL;
	uint32_t fe_slots, local_slots, n_keep = 0, n_locals, i, fi;
	uint64_t t0 = mono_ns();
	size_t off;
	uint8_t *base;
	void *mem;

	if (in == NULL || in->settings == NULL || in->env == NULL || in->model == NULL) {
		fail(err, errlen, "invalid arguments");
		return NULL;
	}
	cfg = in->settings;
	model = in->model;
	memset(&b, 0, sizeof(b));
	b.in = in;
	b.reject = rej;
	b.ctx = ctx;
	b.err = err;
	b.errlen = errlen;
	if (check_shape(cfg, in->env, err, errlen) < 0)
		return NULL;
	fp = calloc(model->n_fes ? model->n_fes : 1, sizeof(*fp));
	b.can_copy = in->prev != NULL && in->prev->settings == (const void *)cfg &&
		in->prev->n_workers == in->env->n_workers &&
		in->prev->overlay == (in->overlay != NULL) &&
		(in->overlay == NULL || in->prev->overlay_version == lb_overlay_version(in->overlay));
	if (fp == NULL || index_prev(&b) != 0) {
		fail(err, errlen, "out of memory");
		goto fail;
	}

	/* the internal port as the snapshot will hold it, for next hops */
	{
		static const struct lb_snap_port none;
		struct lb_snap_port ip = none;
		const struct lb_config_port *cp = &cfg->ports[cfg->int_port];

		ip.addr = cp->addr;
		ip.mask = lb_prefix_mask(cp->net.len);
		ip.gateway = cp->gateway;
		copy_name(ip.name, cp->name);
		b.ip = &ip;
		for (i = 0; i < model->n_fes; i++) {
			plan_fe(&b, model->fes[i], &fp[i]);
			fp[i].dnat = model->fes[i]->method == LB_METHOD_DNAT;
			n_keep += fp[i].keep;
		}
		b.ip = NULL;
	}

	if (count_locals(cfg, model, fp, &n_locals) != 0) {
		fail(err, errlen, "out of memory");
		goto fail;
	}
	fe_slots = pow2_slots(n_keep);
	local_slots = pow2_slots(n_locals);
	off = align_up(sizeof(struct lb_snap));
	off += align_up(sizeof(struct lb_snap_fe) * (size_t)n_keep);
	off += align_up(sizeof(uint32_t) * (size_t)fe_slots);
	off += align_up(sizeof(struct lb_snap_local) * (size_t)local_slots);
	for (i = 0; i < model->n_fes; i++) {
		if (!fp[i].keep)
			continue;
		fp[i].targets_off = off;
		off += align_up(sizeof(struct lb_snap_target) * (size_t)fp[i].n_targets);
		fp[i].ranges_off = off;
		off += align_up(sizeof(struct lb_cidr) * (size_t)fp[i].n_ranges);
	}
	off = plan_guard(fp, model->n_fes, local_slots, off, &gp);
	if (posix_memalign(&mem, LB_CACHE_LINE, off) != 0) {
		fail(err, errlen, "out of memory for a %zu-byte snapshot", off);
		goto fail;
	}
	/* Zeroed, so padding is deterministic and byte comparisons are fair. */
	memset(mem, 0, off);
	s = mem;
	base = mem;
	off = align_up(sizeof(*s));
	s->fes = (const struct lb_snap_fe *)(base + off);
	off += align_up(sizeof(struct lb_snap_fe) * (size_t)n_keep);
	s->fe_index = (const uint32_t *)(base + off);
	s->fe_mask = fe_slots - 1;
	off += align_up(sizeof(uint32_t) * (size_t)fe_slots);
	s->locals = (const struct lb_snap_local *)(base + off);
	s->local_mask = local_slots - 1;

	s->n_workers = in->env->n_workers;
	if (lb_owner_init(&s->owner, in->env->n_workers, in->env->reta_size) < 0) {
		fail(err, errlen, "no owner rule for %u workers and %u RSS table entries",
			in->env->n_workers, in->env->reta_size);
		goto fail;
	}
	s->settings = cfg;
	s->overlay = in->overlay != NULL;
	s->overlay_version = in->overlay != NULL ? lb_overlay_version(in->overlay) : 0;
	fill_ports(s, cfg, in->env);
	b.ip = &s->ports[s->int_port];
	s->timeout_ms[LB_FLOW_SYN] = sec_to_ms(cfg->timeouts.tcp_syn);
	s->timeout_ms[LB_FLOW_EST] = sec_to_ms(cfg->timeouts.tcp_established);
	s->timeout_ms[LB_FLOW_FIN] = sec_to_ms(cfg->timeouts.tcp_fin);
	s->timeout_ms[LB_FLOW_UDP] = sec_to_ms(cfg->timeouts.udp);
	s->timeout_ms[LB_FLOW_OTHER] = 0;
	s->new_flow_rate = cfg->new_flow_rate;
	s->snat_time_wait_ms = sec_to_ms(cfg->snat_time_wait);
	/* Without SNAT addresses (a DNAT-only setup) the range may be unset; a
	 * zeroed layout owns no port. */
	if (lb_snat_layout_init(&s->snat, cfg->snat_port_lo, cfg->snat_port_hi,
			in->env->n_workers) < 0 && cfg->n_snat > 0) {
		fail(err, errlen, "%s: SNAT ports %u-%u cannot be split over %u workers",
			cfg->path, cfg->snat_port_lo, cfg->snat_port_hi, in->env->n_workers);
		goto fail;
	}
	s->n_snat = cfg->n_snat;
	memcpy(s->snat_addrs, cfg->snat_addrs, sizeof(uint32_t) * cfg->n_snat);

	for (i = 0; i < cfg->n_ports; i++)
		local_add((struct lb_snap_local *)s->locals, s->local_mask, cfg->ports[i].addr,
			LB_LOCAL_PORT, (uint8_t)i);
	for (i = 0; i < cfg->n_snat; i++)
		local_add((struct lb_snap_local *)s->locals, s->local_mask, cfg->snat_addrs[i],
			LB_LOCAL_SNAT, s->int_port);

	for (i = 0, fi = 0; i < model->n_fes; i++) {
		struct lb_snap_fe *fe = (struct lb_snap_fe *)&s->fes[fi];
		const struct lb_snap_fe *other;

		if (!fp[i].keep)
			continue;
		/* the slot is used now, so lb_snap_free releases what it holds */
		s->n_fes = fi + 1;
		if (fill_fe(&b, s, base, model->fes[i], &fp[i], fe) != 0)
			goto fail;
		other = index_add(s, fi);
		if (other != NULL) {
			/* lib/model's merge prevents this; be safe anyway */
			reject(&b, model->fes[i], NULL, "frontend %s (%s) serves the same VIP, "
				"protocol and port", other->name, other->model->origin);
			lb_snap_table_put(fe->table);
			lb_model_fe_put((struct lb_model_fe *)fe->model);
			memset(fe, 0, sizeof(*fe));
			s->n_fes = fi;
			continue;
		}
		local_add((struct lb_snap_local *)s->locals, s->local_mask, fe->vip,
			LB_LOCAL_VIP, s->ext_port);
		fi++;
	}
	s->n_fes = fi;
	if (fill_guard(s, base, &gp, err, errlen) != 0)
		goto fail;
	free(fp);
	b.st.total_ns = mono_ns() - t0;
	if (st != NULL)
		*st = b.st;
	build_free(&b);
	return s;
fail:
	free(fp);
	lb_snap_free(s);
	build_free(&b);
	return NULL;
}

uint32_t
lb_snap_check(const struct lb_snap_input *in, lb_snap_reject_fn rej, void *ctx)
{
	const struct lb_config *cfg = in->settings;
	const struct lb_config_port *cp = &cfg->ports[cfg->int_port];
	struct lb_snap_port ip;
	struct fe_plan p;
	struct build b;
	uint32_t i, k;

	memset(&b, 0, sizeof(b));
	memset(&ip, 0, sizeof(ip));
	b.in = in;
	b.reject = rej;
	b.ctx = ctx;
	ip.addr = cp->addr;
	ip.mask = lb_prefix_mask(cp->net.len);
	ip.gateway = cp->gateway;
	copy_name(ip.name, cp->name);
	b.ip = &ip;
	for (i = 0; i < in->model->n_fes; i++) {
		const struct lb_model_fe *fe = in->model->fes[i];

		plan_fe(&b, fe, &p);
		if (!p.keep)
			continue;
		for (k = 0; k < fe->n_targets; k++)
			target_usable(&b, fe, &fe->targets[k], true);
	}
	return b.st.rejected + b.st.targets_rejected;
}

static void
reject_is_error(void *ctx, const struct lb_model_fe *fe, const struct lb_model_target *t,
	const char *msg)
{
	char *err = ctx;

	(void)fe;
	(void)t;
	if (err[0] == '\0')
		snprintf(err, 512, "%s", msg);
}

struct lb_snap *
lb_snap_build_config(const struct lb_config *cfg, const struct lb_snap_env *env,
	const struct lb_overlay *ov, char *err, size_t errlen)
{
	char first[512] = "";
	struct lb_snap_input in = { .settings = cfg, .env = env, .overlay = ov };
	struct lb_snap_build_stats st;
	struct lb_snap *s;

	in.model = lb_config_model(cfg, err, errlen);
	if (in.model == NULL)
		return NULL;
	s = lb_snap_build(&in, reject_is_error, first, &st, err, errlen);
	lb_model_free((struct lb_model *)in.model);
	if (s != NULL && (st.rejected > 0 || st.targets_rejected > 0)) {
		fail(err, errlen, "%s", first);
		lb_snap_free(s);
		return NULL;
	}
	return s;
}

void
lb_snap_free(struct lb_snap *s)
{
	uint32_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_fes; i++) {
		lb_snap_table_put(s->fes[i].table);
		lb_model_fe_put((struct lb_model_fe *)s->fes[i].model);
	}
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
