/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lbctl command handlers (control thread). Result shapes are specified in
 * docs/lbctl.md; each handler returns a json-c object or NULL with err set.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <json-c/json.h>
#include <rte_cycles.h>

#include "lb_addr.h"
#include "lb_maglev.h"
#include "lbd.h"

static inline const struct lb_snap *
cur_snap(void)
{
	return atomic_load_explicit(&g_lbd.snap, memory_order_acquire);
}

static struct json_object *
jstr(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *
jip(uint32_t addr)
{
	char buf[LB_IP4_STRLEN];

	return jstr(lb_ip4_fmt(addr, buf));
}

static struct json_object *
jep(uint32_t addr, uint16_t port)
{
	char buf[LB_EP_STRLEN];

	return jstr(lb_ep_fmt(addr, port, buf));
}

static void
add(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static void
add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

/* --- status --- */

static struct json_object *
cmd_status(struct json_object *req)
{
	const struct lb_config *cfg = g_lbd.cfg;
	const struct lb_snap *s = cur_snap();
	struct json_object *r = json_object_new_object(), *ports = json_object_new_array();
	struct json_object *rl = json_object_new_object();
	uint32_t i;

	add(r, "version", jstr(LBD_VERSION));
	add_u64(r, "pid", (uint64_t)getpid());
	add_u64(r, "uptime_s", (uint64_t)time(NULL) - g_lbd.start_time);
	add(r, "config", jstr(g_lbd.config_path));
	add_u64(r, "generation", s->generation);
	add_u64(r, "workers", g_lbd.n_workers);
	add_u64(r, "frontends", s->n_fes);
	for (i = 0; i < g_lbd.n_ports; i++) {
		const struct lb_config_port *cp = &cfg->ports[i];
		struct json_object *p = json_object_new_object();
		char buf[64], mac[LB_MAC_STRLEN];

		add(p, "name", jstr(cp->name));
		add(p, "device", jstr(g_lbd.ports[i].devargs));
		add(p, "driver", jstr(g_lbd.ports[i].info.driver));
		add(p, "role", jstr(lb_role_str(cp->role)));
		snprintf(buf, sizeof(buf), "%s/%u", lb_ip4_fmt(cp->addr, mac), cp->net.len);
		add(p, "address", jstr(buf));
		add(p, "mac", jstr(lb_mac_fmt(g_lbd.ports[i].info.mac.addr_bytes, mac)));
		add_u64(p, "vlan", cp->vlan);
		add(p, "link", jstr(lb_port_link_up(g_lbd.ports[i].dev) ? "up" : "down"));
		add_u64(p, "rx_queues", g_lbd.ports[i].info.n_rxq);
		add_u64(p, "tx_queues", g_lbd.ports[i].info.n_txq);
		json_object_array_add(ports, p);
	}
	add(r, "ports", ports);
	add(rl, "ok", json_object_new_boolean(g_lbd.last_reload.ok));
	add_u64(rl, "time", g_lbd.last_reload.time);
	add(rl, "error", jstr(g_lbd.last_reload.error));
	add(r, "last_reload", rl);
	{
		struct json_object *pl = json_object_new_object(), *el = json_object_new_object();
		struct lbd_pipeline_stats ps;
		struct lb_ev_stats es;
		uint64_t p50, p99, cnt, max;

		lbd_pipeline_stats(&ps);
		add_u64(pl, "published", ps.published);
		add_u64(pl, "failed", ps.failed);
		add(pl, "building", json_object_new_boolean(ps.inflight));
		add_u64(pl, "last_build_us", ps.last_build_ns / 1000);
		add_u64(pl, "max_build_us", ps.max_build_ns / 1000);
		add_u64(pl, "last_tables_built", ps.last_tables_built);
		add_u64(pl, "last_tables_reused", ps.last_tables_reused);
		add_u64(pl, "last_table_us", ps.last_table_ns / 1000);
		add_u64(pl, "tables_built", ps.tables_built);
		add_u64(pl, "builder_wall_ms", ps.build_wall_ns / 1000000);
		add_u64(pl, "builder_cpu_ms", ps.build_cpu_ns / 1000000);
		if (lbd_convergence(&p50, &p99, &cnt, &max)) {
			struct json_object *cv = json_object_new_object();

			add_u64(cv, "samples", cnt);
			add_u64(cv, "p50_us", p50 / 1000);
			add_u64(cv, "p99_us", p99 / 1000);
			add_u64(cv, "max_us", max / 1000);
			add(pl, "convergence", cv);
		}
		add(r, "snapshots", pl);
		lb_ev_stats(g_lbd.ev, &es);
		add_u64(el, "passes", es.passes);
		add_u64(el, "max_pass_us", es.max_pass_us);
		add_u64(el, "slow_passes", es.slow_passes);
		add_u64(el, "busy_ms", es.busy_us / 1000);
		add_u64(el, "slowest_callback_us", es.slowest_us);
		add_u64(el, "max_pass_cpu_us", es.max_pass_cpu_us);
		add_u64(el, "slow_cpu_passes", es.slow_cpu_passes);
		add_u64(el, "busy_cpu_ms", es.busy_cpu_us / 1000);
		add_u64(el, "slowest_cpu_callback_us", es.slowest_cpu_us);
		{
			char fn[32];

			snprintf(fn, sizeof(fn), "%p", es.slowest_fn);
			add(el, "slowest_callback", jstr(fn));
			snprintf(fn, sizeof(fn), "%p", es.slowest_cpu_fn);
			add(el, "slowest_cpu_callback", jstr(fn));
		}
		add(r, "event_loop", el);
		if (json_object_object_get_ex(req, "reset_max", NULL)) {
			lb_ev_stats_reset_max(g_lbd.ev);
			lbd_convergence_reset();
		}
	}
	{
		struct json_object *k = lbd_k8s_status();

		if (k != NULL)
			add(r, "kubernetes", k);
	}
	return r;
}

/* --- frontends / targets --- */

/* "origin" (as the model says it), "source" and, for Kubernetes, "service". */
static void
add_origin(struct json_object *o, const struct lb_model_fe *m)
{
	add(o, "origin", jstr(m->origin));
	add(o, "source", jstr(m->origin_kind == LB_ORIGIN_K8S ? "kubernetes" : "config"));
	if (m->origin_kind == LB_ORIGIN_K8S) {
		struct json_object *svc = json_object_new_object();

		add(svc, "namespace", jstr(m->k8s_ns ? m->k8s_ns : ""));
		add(svc, "name", jstr(m->k8s_name ? m->k8s_name : ""));
		add(svc, "port", jstr(m->k8s_port ? m->k8s_port : ""));
		add(o, "service", svc);
	}
}

/* Why a target takes no new flows: its state and the reasons, most
 * specific first. */
static void
add_target_state(struct json_object *o, const struct lb_snap_fe *fe,
	const struct lb_snap_target *t)
{
	struct json_object *why = json_object_new_array();
	struct lb_ip ip = lb_ip4(t->addr);
	char reason[LB_MODEL_REASON_MAX] = "", buf[LB_MODEL_REASON_MAX + 64];
	const char *state = "active";
	bool fail_open = fe->flags & LB_SNAP_FE_FAIL_OPEN;

	if (t->flags & LB_SNAP_T_DRAINED) {
		state = "drained";
		json_object_array_add(why, jstr(lb_overlay_drained(g_lbd.overlay, "", &ip, t->port) ?
			"drained (lbctl drain, all frontends)" :
			"drained (lbctl drain, this frontend)"));
	}
	if (t->flags & LB_SNAP_T_TERMINATING) {
		if (strcmp(state, "active") == 0)
			state = "terminating";
		json_object_array_add(why, jstr("terminating (Kubernetes endpoint)"));
	}
	if (t->flags & LB_SNAP_T_UNHEALTHY) {
		lb_overlay_flags(g_lbd.overlay, fe->name, &ip, t->port, reason, sizeof(reason));
		snprintf(buf, sizeof(buf), "unhealthy%s%s%s", reason[0] ? ": " : "", reason,
			fail_open ? " (ignored: every target is unhealthy, failing open)" : "");
		if (strcmp(state, "active") == 0 && !fail_open)
			state = "unhealthy";
		json_object_array_add(why, jstr(buf));
	}
	if (strcmp(state, "active") == 0 && t->weight == 0) {
		state = "standby";
		json_object_array_add(why, jstr("weight 0"));
	}
	add(o, "state", jstr(state));
	add(o, "reasons", why);
	for (uint32_t i = 0; i < fe->model->n_targets; i++) {
		const struct lb_model_target *mt = &fe->model->targets[i];

		if (mt->addr.family == LB_AF_INET && mt->addr.v4 == t->addr && mt->port == t->port) {
			if (mt->node != NULL)
				add(o, "node", jstr(mt->node));
			break;
		}
	}
}

static const char *
affinity_str(uint8_t a)
{
	return a == LB_AFFINITY_CLIENT_IP ? "client_ip" : "none";
}

static struct json_object *
cmd_frontends(void)
{
	const struct lb_snap *s = cur_snap();
	struct json_object *r = json_object_new_object(), *a = json_object_new_array();
	uint32_t i, j;

	for (i = 0; i < s->n_fes; i++) {
		const struct lb_snap_fe *fe = &s->fes[i];
		struct json_object *o = json_object_new_object(), *sr = json_object_new_array();

		add(o, "name", jstr(fe->name));
		add(o, "vip", jip(fe->vip));
		add(o, "protocol", jstr(lb_proto_str(fe->proto)));
		add_u64(o, "port", ntohs(fe->port));
		add(o, "method", jstr(lb_method_str((enum lb_method)fe->method)));
		add(o, "session_affinity", jstr(affinity_str(fe->affinity)));
		add_u64(o, "affinity_timeout", fe->affinity_timeout_ms / 1000);
		for (j = 0; j < fe->n_src_ranges; j++) {
			char buf[32], ip[LB_IP4_STRLEN];

			snprintf(buf, sizeof(buf), "%s/%u", lb_ip4_fmt(fe->src_ranges[j].addr, ip),
				fe->src_ranges[j].len);
			json_object_array_add(sr, jstr(buf));
		}
		add(o, "source_ranges", sr);
		add_u64(o, "maglev_size", fe->maglev_size);
		add_u64(o, "targets", fe->n_targets);
		add_u64(o, "active", fe->n_active);
		add(o, "fail_open", json_object_new_boolean(fe->flags & LB_SNAP_FE_FAIL_OPEN));
		add_origin(o, fe->model);
		add(o, "counters", lbd_counters_json(fe->ctr, false));
		json_object_array_add(a, o);
	}
	add(r, "frontends", a);
	return r;
}

static const struct lb_snap_fe *
find_fe(const struct lb_snap *s, const char *name)
{
	uint32_t i;

	for (i = 0; i < s->n_fes; i++)
		if (strcmp(s->fes[i].name, name) == 0)
			return &s->fes[i];
	return NULL;
}

static const char *
get_str(struct json_object *req, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
cmd_targets(struct json_object *req, char *err, size_t errlen)
{
	const struct lb_snap *s = cur_snap();
	const char *name = get_str(req, "frontend");
	const struct lb_snap_fe *fe;
	struct json_object *r, *a;
	uint32_t *slots;
	uint32_t i;

	if (name == NULL) {
		snprintf(err, errlen, "bad request: targets: 'frontend' (string) is required");
		return NULL;
	}
	fe = find_fe(s, name);
	if (fe == NULL) {
		snprintf(err, errlen, "no frontend named '%s'", name);
		return NULL;
	}
	slots = calloc(fe->n_targets + 1, sizeof(*slots));
	if (slots == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; fe->maglev != NULL && i < fe->maglev_size; i++)
		slots[fe->maglev[i]]++;
	r = json_object_new_object();
	a = json_object_new_array();
	add(r, "frontend", jstr(fe->name));
	for (i = 0; i < fe->n_targets; i++) {
		const struct lb_snap_target *t = &fe->targets[i];
		struct json_object *o = json_object_new_object();

		add(o, "address", jip(t->addr));
		add_u64(o, "port", ntohs(t->port));
		add_u64(o, "weight", t->weight);
		add(o, "drained", json_object_new_boolean(t->flags & LB_SNAP_T_DRAINED));
		add_target_state(o, fe, t);
		add_u64(o, "slots", slots[i]);
		add(o, "share", json_object_new_double(fe->maglev_size ?
			(double)slots[i] / fe->maglev_size : 0));
		add(o, "nexthop", jip(t->nexthop));
		add(o, "health", lbd_health_target_json(fe->id, t->addr, t->port));
		add(o, "counters", lbd_counters_json(t->ctr, true));
		json_object_array_add(a, o);
	}
	free(slots);
	add(r, "targets", a);
	return r;
}

/* --- stats --- */

/* The counter lists of lib/stats (one list for lbctl, Prometheus and
 * telemetry): metrics.c samples them. */
static struct json_object *
cmd_stats(char *err, size_t errlen)
{
	struct json_object *r = lbd_stats_json();

	if (r == NULL)
		snprintf(err, errlen, "out of memory");
	else	/* the workers' cycles_* are TSC cycles: this turns them into time */
		json_object_object_add(r, "tsc_hz", json_object_new_uint64(rte_get_tsc_hz()));
	return r;
}

/* --- trace --- */

static struct json_object *
cmd_trace(struct json_object *req, char *err, size_t errlen)
{
	const struct lb_snap *s = cur_snap();
	const char *src = get_str(req, "src"), *dst = get_str(req, "dst");
	const char *proto = get_str(req, "protocol");
	struct lb_dp_trace t;
	struct json_object *r;
	uint32_t saddr, vip;
	uint16_t sport, vport;
	uint8_t p;
	char reason[512], buf[LB_EP_STRLEN];

	if (src == NULL || lb_ep_parse(src, &saddr, &sport) != 0) {
		snprintf(err, errlen, "bad request: trace: 'src' must be ADDRESS:PORT");
		return NULL;
	}
	if (dst == NULL || lb_ep_parse(dst, &vip, &vport) != 0) {
		snprintf(err, errlen, "bad request: trace: 'dst' must be ADDRESS:PORT");
		return NULL;
	}
	if (proto == NULL || (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)) {
		snprintf(err, errlen, "bad request: trace: 'protocol' must be tcp or udp");
		return NULL;
	}
	p = strcmp(proto, "tcp") == 0 ? LB_PROTO_TCP : LB_PROTO_UDP;
	if (lb_dp_trace(s, saddr, sport, vip, vport, p, &t) != 0) {
		snprintf(err, errlen, "no frontend for %s/%s (lbd would drop it: no_frontend or "
			"not_local)", dst, proto);
		return NULL;
	}
	r = json_object_new_object();
	add(r, "frontend", jstr(t.fe->name));
	add(r, "allowed", json_object_new_boolean(t.allowed));
	add(r, "affinity", json_object_new_boolean(t.affinity));
	add_u64(r, "hash", t.hash);
	add_u64(r, "slot", t.slot);
	add_u64(r, "maglev_size", t.fe->maglev_size);
	add(r, "target", t.target >= 0 ? jep(t.fe->targets[t.target].addr,
		t.fe->targets[t.target].port) : NULL);
	add_u64(r, "owner_worker", (uint64_t)t.owner);
	if (!t.allowed)
		snprintf(reason, sizeof(reason), "%s is outside the source ranges of frontend %s: "
			"dropped (acl_denied)", src, t.fe->name);
	else if (t.target < 0)
		snprintf(reason, sizeof(reason), "frontend %s has no target taking new flows: "
			"dropped (no_target)", t.fe->name);
	else
		snprintf(reason, sizeof(reason), "hash of %s %u -> Maglev slot %u of %u -> %s "
			"(%s, weight %u); an existing flow or affinity entry takes precedence",
			t.affinity ? "the client address" : "the 5-tuple", t.hash, t.slot,
			t.fe->maglev_size, lb_ep_fmt(t.fe->targets[t.target].addr,
			t.fe->targets[t.target].port, buf), lb_method_str((enum lb_method)t.fe->method),
			t.fe->targets[t.target].weight);
	add(r, "reason", jstr(reason));
	return r;
}

/* --- drain / undrain / reload --- */

static struct json_object *
cmd_drain(struct json_object *req, bool drain, char *err, size_t errlen)
{
	const char *target = get_str(req, "target"), *fe_name = get_str(req, "frontend");
	const struct lb_snap *s = cur_snap();
	struct json_object *r, *fes;
	uint32_t addr, i;
	uint16_t port;
	bool found = false;

	if (target == NULL || lb_ep_parse(target, &addr, &port) != 0) {
		snprintf(err, errlen, "bad request: %s: 'target' must be ADDRESS:PORT",
			drain ? "drain" : "undrain");
		return NULL;
	}
	if (fe_name == NULL)
		fe_name = "";
	if (fe_name[0] != '\0' && find_fe(s, fe_name) == NULL) {
		snprintf(err, errlen, "no frontend named '%s'", fe_name);
		return NULL;
	}
	fes = json_object_new_array();
	for (i = 0; i < s->n_fes; i++) {
		if (fe_name[0] != '\0' && strcmp(fe_name, s->fes[i].name) != 0)
			continue;
		if (lb_snap_target_find(&s->fes[i], addr, port) >= 0) {
			json_object_array_add(fes, jstr(s->fes[i].name));
			found = true;
		}
	}
	if (!found) {
		json_object_put(fes);
		snprintf(err, errlen, "%s is not a target of %s", target,
			fe_name[0] ? fe_name : "any frontend");
		return NULL;
	}
	/* Applied to the current state now, answered when the snapshot holding
	 * it is published (a failed build puts the committed state back). */
	{
		struct lb_ip ip = lb_ip4(addr);
		int rc = lb_overlay_drain(g_lbd.overlay, fe_name, &ip, port, drain);
		bool all = fe_name[0] == '\0';
		char note[256] = "";

		if (rc < 0) {
			json_object_put(fes);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		if (!all && !drain && lb_overlay_drained(g_lbd.overlay, "", &ip, port))
			snprintf(note, sizeof(note), "still drained in every other frontend "
				"(drained for all); undrain it in all with: lbctl undrain %s", target);
		r = json_object_new_object();
		add(r, "target", jstr(target));
		add(r, "frontends", fes);
		add(r, "changed", json_object_new_boolean(rc == 0));
		if (note[0] != '\0')
			add(r, "note", jstr(note));
		if (rc == 1) {
			/* nothing to publish */
			add_u64(r, "generation", g_lbd.generation);
			return r;
		}
		if (lbd_pipeline_op(LBD_OP_DRAIN, lb_ctl_server_defer(g_lbd.ctl), r) != 0)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
}

static struct json_object *
cmd_reload(char *err, size_t errlen)
{
	uint64_t token = lb_ctl_server_defer(g_lbd.ctl);

	if (lbd_reload(token, err, errlen) != 0)
		lbd_ctl_complete(token, NULL, err);
	return NULL;
}

/* --- neighbours --- */

struct neigh_ctx {
	struct json_object *a;
	uint64_t now;
};

static void
neigh_one(void *arg, const struct lb_neigh_info *i)
{
	struct neigh_ctx *c = arg;
	struct json_object *o = json_object_new_object();
	char mac[LB_MAC_STRLEN];

	add(o, "address", jip(i->ip));
	add(o, "port", jstr(g_lbd.cfg->ports[i->port].name));
	if (i->state == LB_NEIGH_REACHABLE || i->state == LB_NEIGH_PROBE ||
	    i->state == LB_NEIGH_PERMANENT)
		add(o, "mac", jstr(lb_mac_fmt(i->mac, mac)));
	else
		add(o, "mac", NULL);
	add(o, "state", jstr(lb_neigh_state_str(i->state)));
	json_object_object_add(o, "expires_in_ms", json_object_new_int64(i->expires == 0 ? 0 :
		(int64_t)i->expires - (int64_t)c->now));
	add_u64(o, "queued", i->queued);
	json_object_array_add(c->a, o);
}

static struct json_object *
cmd_neighbours(void)
{
	struct json_object *r = json_object_new_object();
	struct neigh_ctx c = { json_object_new_array(), lbd_now_ms() };

	lb_neigh_foreach(g_lbd.neigh, neigh_one, &c);
	add(r, "neighbours", c.a);
	return r;
}

void
lbd_ctl_complete(uint64_t token, struct json_object *result, const char *err)
{
	if (lb_ctl_server_complete(g_lbd.ctl, token, result, err) == -ENOENT)
		lbd_log(LBD_DEBUG, "lbctl client left before its answer");
}

struct json_object *
lbd_ctl_handle(void *ctx, const char *cmd, struct json_object *req, char *err, size_t errlen)
{
	(void)ctx;
	if (strcmp(cmd, "status") == 0)
		return cmd_status(req);
	if (strcmp(cmd, "frontends") == 0)
		return cmd_frontends();
	if (strcmp(cmd, "targets") == 0)
		return cmd_targets(req, err, errlen);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(err, errlen);
	if (strcmp(cmd, "flows") == 0)
		return lbd_flows_request(req, err, errlen);
	if (strcmp(cmd, "trace") == 0)
		return cmd_trace(req, err, errlen);
	if (strcmp(cmd, "drain") == 0)
		return cmd_drain(req, true, err, errlen);
	if (strcmp(cmd, "undrain") == 0)
		return cmd_drain(req, false, err, errlen);
	if (strcmp(cmd, "reload") == 0)
		return cmd_reload(err, errlen);
	if (strcmp(cmd, "neighbours") == 0)
		return cmd_neighbours();
	if (strcmp(cmd, "services") == 0)
		return lbd_k8s_services(err, errlen);
	if (strcmp(cmd, "health") == 0) {
		struct json_object *r = lbd_health_json();

		if (r == NULL)
			snprintf(err, errlen, "out of memory");
		return r;
	}
	snprintf(err, errlen, "unknown command '%s' (try: status, frontends, targets, stats, "
		"flows, trace, drain, undrain, reload, neighbours, services, health, top)", cmd);
	return NULL;
}
