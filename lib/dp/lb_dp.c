/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>

#include "lb_addr.h"
#include "lb_dp_priv.h"
#include "lb_hash.h"
#include "lb_maglev.h"

/*
 * Fixed seed: the Maglev pick must be the same on every lbd instance so that
 * flows survive moving between appliances behind ECMP (invariant 2).
 */
#define PICK_SEED	0x6c62645fU	/* "lbd_" */

/* SNAT candidates tried per new FullNAT flow before giving up, and of them
 * at most how many past the first one found in the target's TIME_WAIT
 * (lb_snat_pick). */
#define SNAT_PROBES	64
#define SNAT_AHEAD	8

static const char *const drop_names[LB_DROP_MAX] = {
#define LB_DROP_NAME(e, s) [LB_DROP_##e] = s,
	LB_DROP_LIST(LB_DROP_NAME)
#undef LB_DROP_NAME
};

const char *
lb_drop_str(enum lb_drop d)
{
	return (unsigned)d < LB_DROP_MAX ? drop_names[d] : "unknown";
}

static const uint8_t parse_drop[LB_PKT_ERR_MAX] = {
	[LB_PKT_ERR_L2] = LB_DROP_MALFORMED_L2,
	[LB_PKT_ERR_ETHERTYPE] = LB_DROP_ETHERTYPE,
	[LB_PKT_ERR_ARP] = LB_DROP_MALFORMED_ARP,
	[LB_PKT_ERR_IP] = LB_DROP_MALFORMED_IP,
	[LB_PKT_ERR_IP_CSUM] = LB_DROP_IP_CSUM,
	[LB_PKT_ERR_L4] = LB_DROP_MALFORMED_L4,
	[LB_PKT_ERR_ICMP_INNER] = LB_DROP_MALFORMED_ICMP,
};

/* --- per-frontend and per-target counters --- */

/* Drops that belong to a frontend: its counter index + 1 (0: not one). */
static const uint8_t fe_drop_ctr[LB_DROP_MAX] = {
	[LB_DROP_ACL] = LB_STATS_FE_DROP_ACL + 1,
	[LB_DROP_NO_TARGET] = LB_STATS_FE_DROP_NO_TARGET + 1,
	[LB_DROP_SNAT_EXHAUSTED] = LB_STATS_FE_DROP_SNAT + 1,
	[LB_DROP_FLOW_CONFLICT] = LB_STATS_FE_DROP_CONFLICT + 1,
	[LB_DROP_NO_FLOW] = LB_STATS_FE_DROP_NO_FLOW + 1,
	[LB_DROP_TTL] = LB_STATS_FE_DROP_TTL + 1,
};

/* A drop of a frame of the frontend whose counter slot is fs: counted for
 * the worker (by reason) and, for the reasons above, for the frontend. */
static inline enum lb_dp_verdict
fe_drop(struct lb_dp_worker *w, uint32_t fs, struct lb_dp_result *r, enum lb_drop why)
{
	if (fs < w->n_fe_ctr && fe_drop_ctr[why] != 0)
		w->fe_ctr[fs].v[fe_drop_ctr[why] - 1]++;
	return lb_dp_drop(w, r, why);
}

/* A translated frame of a flow whose frontend and target slots are fs and
 * ts; in: client to target. A slot outside the worker's sets (none assigned,
 * or no sets at all) counts nowhere. */
static inline void
count_frame(struct lb_dp_worker *w, uint32_t fs, uint32_t ts, bool in, uint32_t len)
{
	if (LB_LIKELY(fs < w->n_fe_ctr)) {
		uint64_t *v = w->fe_ctr[fs].v;

		v[in ? LB_STATS_FE_PKTS_IN : LB_STATS_FE_PKTS_OUT]++;
		v[in ? LB_STATS_FE_BYTES_IN : LB_STATS_FE_BYTES_OUT] += len;
	}
	if (LB_LIKELY(ts < w->n_t_ctr)) {
		uint64_t *v = w->t_ctr[ts].v;

		v[in ? LB_STATS_T_PKTS_IN : LB_STATS_T_PKTS_OUT]++;
		v[in ? LB_STATS_T_BYTES_IN : LB_STATS_T_BYTES_OUT] += len;
	}
}

/* The flow table's release hook: a flow left the table. */
static void
flow_ended(void *ctx, const struct lb_flow *f)
{
	struct lb_dp_worker *w = ctx;

	if (f->fe < w->n_fe_ctr)
		w->fe_ctr[f->fe].v[LB_STATS_FE_FLOWS_ENDED]++;
	if (f->user < w->n_t_ctr)
		w->t_ctr[f->user].v[LB_STATS_T_FLOWS_ENDED]++;
}

int
lb_dp_counters_attach(struct lb_dp_worker *w, struct lb_stats_fe_set *fe, uint32_t n_fe,
	struct lb_stats_target_set *t, uint32_t n_t)
{
	if (w->flows == NULL || n_fe > LB_DP_FE_CTR_MAX || (fe == NULL && n_fe != 0) ||
	    (t == NULL && n_t != 0))
		return -EINVAL;
	w->fe_ctr = fe;
	w->n_fe_ctr = n_fe;
	w->t_ctr = t;
	w->n_t_ctr = n_t;
	lb_flow_set_release_hook(w->flows, n_fe != 0 || n_t != 0 ? flow_ended : NULL, w);
	return 0;
}

static inline uint32_t
pick_hash(const struct lb_snap_fe *fe, uint32_t src, uint16_t sport)
{
	if (fe->affinity == LB_AFFINITY_CLIENT_IP)
		return lb_hash32_2(src, 0, PICK_SEED);
	return lb_hash32_3(src, fe->vip, (uint32_t)sport << 16 | fe->port, PICK_SEED ^ fe->proto);
}

/* The flow whose key is the frame's own 5-tuple k, with the hash the burst's
 * first stage computed when there is one. */
static inline struct lb_flow *
frame_flow(struct lb_dp_worker *w, const struct lb_dp_ctx *c, const struct lb_flow_key *k,
	uint64_t now, int *dir)
{
	if (c->hashed)
		return lb_flow_lookup_hash(w->flows, k, c->hash, now, dir);
	return lb_flow_lookup(w->flows, k, now, dir);
}

/* --- flows --- */

struct snat_probe {
	struct lb_dp_worker *w;
	uint32_t taddr;
	uint16_t tport;
	uint8_t proto;
	uint32_t target;	/* tw_target() of the above */
	uint64_t now;
};

/* A SNAT endpoint is taken towards a target while a flow uses it, and for
 * snat_time_wait after a connection through it closed (the target may hold
 * that connection in TIME_WAIT: a new SYN from the same address:port would be
 * answered with the old connection's ACK). */
size_t
lb_dp_tw_memsize(uint32_t n)
{
	return sizeof(struct lb_dp_tw) + (size_t)n * sizeof(struct lb_dp_tw_slot[LB_DP_TW_SLOTS]);
}

struct lb_dp_tw *
lb_dp_tw_init(void *mem, uint32_t n, uint32_t seed)
{
	struct lb_dp_tw *tw = mem;
	uint32_t i;

	if (mem == NULL || n == 0)
		return NULL;
	memset(mem, 0, lb_dp_tw_memsize(n));
	tw->n = n;
	for (i = 0; i < LB_DP_TW_CURSORS; i++)
		tw->cursor[i] = lb_hash32_2(i, seed, 0x63757273U) % n;
	return tw;
}

/* A target as the TIME_WAIT records know it (never 0). */
static inline uint32_t
tw_target(uint32_t taddr, uint16_t tport, uint8_t proto)
{
	return lb_hash32_3(taddr, (uint32_t)tport << 16 | proto, 0, 0x74696d65U) | 1;
}

/* The records of the worker's SNAT endpoint (addr, port), or NULL. */
static inline struct lb_dp_tw_slot *
tw_slots(const struct lb_dp_worker *w, uint32_t addr, uint16_t port)
{
	uint32_t c;

	if (w->snat_tw == NULL || lb_snat_index(&w->snat, addr, port, &c) != 0 ||
	    c >= w->snat_tw->n)
		return NULL;
	return w->snat_tw->slot[c];
}

static inline bool
tw_live(const struct lb_dp_tw_slot *t, uint32_t now)
{
	return t->target != 0 && (int32_t)(t->until - now) > 0;
}

/* lb_snat_pick's probe: candidate c towards the target in sp. The TIME_WAIT
 * record first (an array read; a closing flow has one, and is then waited
 * for rather than passed over as busy). */
static enum lb_snat_use
snat_probe(void *ctx, uint32_t c, uint32_t addr, uint16_t port, uint32_t *wait_ms)
{
	const struct snat_probe *sp = ctx;
	const struct lb_dp_tw *tw = sp->w->snat_tw;
	struct lb_flow_key k;
	uint32_t i, n32 = (uint32_t)sp->now;

	if (tw != NULL && c < tw->n) {
		const struct lb_dp_tw_slot *t = tw->slot[c];

		for (i = 0; i < LB_DP_TW_SLOTS; i++) {
			if (t[i].target == sp->target && tw_live(&t[i], n32)) {
				sp->w->ctr.snat_tw_skips++;
				*wait_ms = t[i].until - n32;
				return LB_SNAT_WAIT;
			}
		}
	}
	k = lb_flow_key_make(sp->taddr, addr, sp->tport, port, sp->proto);
	if (lb_flow_lookup(sp->w->flows, &k, sp->now, NULL) != NULL)
		return LB_SNAT_BUSY;
	return LB_SNAT_FREE;
}

/*
 * f (FullNAT or DNAT, TCP) is closing: a FIN or RST, either way. For FullNAT
 * the SNAT endpoint is kept from the target for snat_time_wait from the
 * last of them, whatever becomes of the flow (expired, evicted, replaced by
 * a new connection on the client's tuple): a target that closed first
 * enters TIME_WAIT only when the client's FIN reaches it, which may be long
 * after its own FIN (a half-close).
 */
static void
snat_tw_note(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_flow *f,
	uint64_t now)
{
	/* reply key: target -> SNAT address:port */
	const struct lb_flow_key *k = &f->key[LB_FLOW_REV];
	uint32_t target, n32 = (uint32_t)now, i, pick = 0;
	struct lb_dp_tw_slot *t;

	/* DNAT: the client's own address:port, its own business */
	if (w->snat_tw == NULL || s->snat_time_wait_ms == 0 || k->dst == f->key[LB_FLOW_FWD].src)
		return;
	t = tw_slots(w, k->dst, k->dport);
	if (t == NULL)
		return;
	target = tw_target(k->src, k->sport, k->proto);
	/* the same target again, else a free slot, else the one that frees
	 * first (forgotten early) */
	for (i = 0; i < LB_DP_TW_SLOTS; i++) {
		if (t[i].target == target) {
			pick = i;
			break;
		}
		if (!tw_live(&t[i], n32)) {
			pick = i;
			continue;
		}
		if (tw_live(&t[pick], n32) &&
		    (int32_t)(t[i].until - t[pick].until) < 0)
			pick = i;
	}
	if (i == LB_DP_TW_SLOTS && tw_live(&t[pick], n32))
		w->ctr.snat_tw_forgotten++;
	t[pick].target = target;
	t[pick].until = n32 + s->snat_time_wait_ms;
}

static inline uint64_t
expiry(const struct lb_snap *s, enum lb_flow_class cls, uint64_t now)
{
	return now + s->timeout_ms[cls];
}

static inline bool
target_takes_new_flows(const struct lb_snap_target *t)
{
	return t->weight > 0 && !(t->flags & LB_SNAP_T_DRAINED);
}

/*
 * Chooses the target of a new flow: the client's affinity entry when it still
 * names a target that takes new flows, else the Maglev slot of the flow hash.
 */
static const struct lb_snap_target *
pick_target(struct lb_dp_worker *w, const struct lb_snap_fe *fe, const struct lb_pkt *p,
	uint64_t now)
{
	const struct lb_snap_target *t;
	struct lb_flow_key ak = { 0 };
	struct lb_flow *a = NULL;
	uint64_t exp = 0;
	int i;

	if (fe->affinity == LB_AFFINITY_CLIENT_IP) {
		ak = lb_flow_key_make(p->src, fe->vip, 0, fe->port, fe->proto);
		exp = now + fe->affinity_timeout_ms;
		a = lb_flow_lookup(w->affinity, &ak, now, NULL);
		if (a != NULL) {
			i = lb_snap_target_find(fe, a->key[LB_FLOW_REV].src, a->key[LB_FLOW_REV].sport);
			if (i >= 0 && target_takes_new_flows(&fe->targets[i])) {
				lb_flow_touch(w->affinity, a, LB_FLOW_OTHER, exp);
				w->ctr.affinity_hits++;
				return &fe->targets[i];
			}
			lb_flow_remove(w->affinity, a);
		}
	}
	t = &fe->targets[lb_maglev_lookup(fe->maglev, fe->maglev_size,
		pick_hash(fe, p->src, p->sport))];
	if (fe->affinity == LB_AFFINITY_CLIENT_IP) {
		struct lb_flow_key tk = lb_flow_key_make(t->addr, 0, t->port, 0, fe->proto);

		lb_flow_insert(w->affinity, &ak, &tk, LB_FLOW_OTHER, LB_FLOW_F_FWD_ONLY, now, exp,
			LB_FLOW_EVICT_ANY, NULL);
	}
	return t;
}

static inline enum lb_flow_class
tcp_class_after(enum lb_flow_class cur, uint8_t flags)
{
	if (flags & (LB_TCP_FIN | LB_TCP_RST))
		return LB_FLOW_FIN;
	return cur;
}

/* What a new flow may displace outside a flood: anything but an established
 * TCP connection (lb_dp.h). */
#define NEW_FLOW_EVICT	(LB_FLOW_EVICT_ANY & ~LB_FLOW_EVICT(LB_FLOW_EST))

/* f->state bits (the table leaves the field to lib/dp). */
#define FS_PICKUP	0x01	/* picked up mid-stream: unconfirmed until the target answers */

/*
 * The new-flow governor (lb_dp.h): counts one more new flow at now and says
 * whether the worker is under flood.
 */
static bool
gov_new_flow(struct lb_dp_worker *w, const struct lb_snap *s, uint64_t now)
{
	struct lb_dp_gov *g = &w->gov;
	uint32_t limit;
	bool flood;

	if (s->new_flow_rate == 0)
		return false;
	if (now - g->start >= LB_DP_GOV_WINDOW_MS || now < g->start) {
		g->prev = now - g->start < 2 * LB_DP_GOV_WINDOW_MS ? g->cur : 0;
		g->cur = 0;
		g->start = now;
	}
	g->cur++;
	limit = s->new_flow_rate / (1000 / LB_DP_GOV_WINDOW_MS);
	if (limit == 0)
		limit = 1;
	flood = g->cur > limit || g->prev > limit;
	if (flood && !g->flood)
		w->ctr.flood_episodes++;
	g->flood = flood;
	return flood;
}

/* What a new flow's first frame leads to: a flow, or (DNAT under flood) a
 * target to forward to without one. */
struct flow_new {
	struct lb_flow *f;		/* NULL: stateless (tkey) or dropped */
	struct lb_flow_key tkey;	/* stateless: the REV key the flow would have had */
	uint32_t tslot;			/* stateless: the target's counter slot */
};

/*
 * Creates the flow for a first packet to fe. Returns 0 with nf->f set, 1 for
 * a DNAT frame to forward statelessly (nf->tkey set), or -1 with the drop
 * reason set.
 */
static int
flow_create(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_snap_fe *fe,
	const uint8_t *frame, const struct lb_pkt *p, uint8_t in_port, uint64_t now,
	struct flow_new *nf, enum lb_drop *why)
{
	const struct lb_snap_target *t;
	struct lb_flow_key fwd, rev;
	enum lb_flow_class cls;
	struct lb_flow *f;
	bool pickup = false, flood;

	if (p->proto == LB_PROTO_TCP) {
		uint8_t fl = p->tcp_flags;

		if ((fl & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN && !(fl & LB_TCP_RST)) {
			cls = LB_FLOW_SYN;
		} else if (fe->method == LB_METHOD_DNAT && !(fl & (LB_TCP_RST | LB_TCP_SYN))) {
			/* DNAT keeps the client's tuple, so a connection whose
			 * flow state is gone (expiry, another appliance behind
			 * ECMP) can be picked up mid-stream: the Maglev pick is
			 * the same as when it started. Anyone can send such a
			 * segment, so the flow is unconfirmed (SYN class and
			 * timeout) until the target answers it. */
			cls = tcp_class_after(LB_FLOW_SYN, fl);
			pickup = true;
		} else {
			*why = LB_DROP_NO_FLOW;
			return -1;
		}
	} else {
		cls = LB_FLOW_UDP;
	}
	if (fe->n_active == 0) {
		*why = LB_DROP_NO_TARGET;
		return -1;
	}
	flood = gov_new_flow(w, s, now);
	t = pick_target(w, fe, p, now);
	fwd = lb_flow_key_make(p->src, p->dst, p->sport, p->dport, p->proto);
	if (fe->method == LB_METHOD_DNAT) {
		rev = lb_flow_key_make(t->addr, p->src, t->port, p->sport, p->proto);
		if (lb_flow_lookup(w->flows, &rev, now, NULL) != NULL) {
			*why = LB_DROP_FLOW_CONFLICT;
			return -1;
		}
		if (flood && pickup) {
			nf->tkey = rev;
			nf->tslot = t->ctr;
			w->ctr.stateless++;
			return 1;
		}
	} else {
		struct snat_probe sp = { w, t->addr, t->port, p->proto,
			tw_target(t->addr, t->port, p->proto), now };
		/* a candidate with more than half of snat_time_wait to go was
		 * used out of the cursor's order (lb_snat_pick) */
		struct lb_snat_budget b = { SNAT_PROBES, SNAT_AHEAD, s->snat_time_wait_ms / 2 };
		/* the target's own cursor (lb_dp.h) */
		uint32_t *cur = w->snat_tw != NULL ?
			&w->snat_tw->cursor[(sp.target >> 1) % LB_DP_TW_CURSORS] : &w->snat.cursor;
		uint32_t saddr;
		uint16_t sport;

		if (lb_snat_pick(&w->snat, cur, snat_probe, &sp, &b, &saddr, &sport) != 0) {
			*why = LB_DROP_SNAT_EXHAUSTED;
			return -1;
		}
		rev = lb_flow_key_make(t->addr, saddr, t->port, sport, p->proto);
	}
	f = lb_flow_insert(w->flows, &fwd, &rev, cls, 0, now, expiry(s, cls, now),
		flood ? LB_FLOW_EVICT_UNCONFIRMED : NEW_FLOW_EVICT, NULL);
	if (f == NULL) {
		if (fe->method == LB_METHOD_DNAT) {
			nf->tkey = rev;
			nf->tslot = t->ctr;
			w->ctr.stateless++;
			return 1;
		}
		*why = LB_DROP_TABLE_FULL;
		return -1;
	}
	f->port = in_port;
	/* the counter slots travel with the flow: its replies find them there,
	 * and its end is counted against them (flow_ended) */
	f->fe = (uint16_t)LB_MIN(fe->ctr, LB_DP_FE_CTR_MAX);
	f->user = t->ctr;
	f->state = pickup ? FS_PICKUP : 0;
	memcpy(f->peer_mac, ((const struct lb_ether_hdr *)frame)->src, LB_ETHER_ADDR_LEN);
	w->ctr.flows_created++;
	if (f->fe < w->n_fe_ctr)
		w->fe_ctr[f->fe].v[LB_STATS_FE_FLOWS_CREATED]++;
	if (f->user < w->n_t_ctr)
		w->t_ctr[f->user].v[LB_STATS_T_FLOWS_CREATED]++;
	if (pickup)
		w->ctr.flows_picked_up++;
	nf->f = f;
	return 0;
}

/* Client -> VIP:port (TCP/UDP). */
static enum lb_dp_verdict
forward(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_dp_ctx *c, const struct lb_snap_fe *fe, uint32_t headroom,
	uint8_t in_port, uint64_t now, struct lb_dp_result *r)
{
	const struct lb_pkt *p = &c->p;
	const struct lb_flow_key *rk;
	struct flow_new nf;
	struct lb_flow_key k;
	struct lb_flow *f;
	enum lb_drop why;
	uint32_t owner;
	int dir, rc;

	if (fe == NULL)
		return lb_dp_drop(w, r, LB_DROP_NO_FRONTEND);
	owner = lb_dp_client_owner(s, c, in_port, p->src);
	if (owner != w->id)
		return lb_dp_handoff(r, owner);
	/* Source ranges apply to every packet, so narrowing them on reload
	 * also cuts connections that are already open. */
	if (!lb_snap_fe_allows(fe, p->src))
		return fe_drop(w, fe->ctr, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return fe_drop(w, fe->ctr, r, LB_DROP_TTL);

	k = lb_flow_key_make(p->src, p->dst, p->sport, p->dport, p->proto);
	f = frame_flow(w, c, &k, now, &dir);
	if (f != NULL && dir != LB_FLOW_FWD)
		return fe_drop(w, fe->ctr, r, LB_DROP_FLOW_CONFLICT);
	if (f != NULL && p->proto == LB_PROTO_TCP && f->cls == LB_FLOW_FIN &&
	    (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK | LB_TCP_RST)) == LB_TCP_SYN) {
		/* the client reuses the tuple of a closed connection: a new
		 * connection, picked afresh */
		lb_flow_remove(w->flows, f);
		f = NULL;
	}
	if (f == NULL) {
		nf.f = NULL;
		rc = flow_create(w, s, fe, frame, p, in_port, now, &nf, &why);
		if (rc < 0)
			return fe_drop(w, fe->ctr, r, why);
		f = nf.f;
		rk = f != NULL ? &f->key[LB_FLOW_REV] : &nf.tkey;
	} else {
		enum lb_flow_class cls = (enum lb_flow_class)f->cls;

		if (p->proto == LB_PROTO_TCP) {
			cls = tcp_class_after(cls, p->tcp_flags);
			if (LB_UNLIKELY(p->tcp_flags & (LB_TCP_FIN | LB_TCP_RST)))
				snat_tw_note(w, s, f, now);
		}
		lb_flow_touch(w->flows, f, cls, expiry(s, cls, now));
		/* follow the client side's router if it changes (VRRP etc.) */
		if (LB_UNLIKELY(memcmp(f->peer_mac, frame + LB_ETHER_ADDR_LEN, LB_ETHER_ADDR_LEN)))
			memcpy(f->peer_mac, frame + LB_ETHER_ADDR_LEN, LB_ETHER_ADDR_LEN);
		rk = &f->key[LB_FLOW_REV];
	}
	lb_dp_nat_rewrite(frame, p, rk->dst, rk->dport, rk->src, rk->sport);
	w->ctr.fwd++;
	if (LB_LIKELY(f != NULL))
		count_frame(w, f->fe, f->user, true, r->len);
	else
		count_frame(w, LB_MIN(fe->ctr, LB_DP_FE_CTR_MAX), nf.tslot, true, r->len);
	return lb_dp_out_internal(w, s, nt, frame, p, headroom, rk->src, r);
}

/*
 * Target -> client (DNAT) without a flow: forwarded from the VIP:port of the
 * one DNAT frontend the target serves, routed to the client out of the
 * external port (the flow would have known the client's router MAC; here its
 * next hop is resolved). The return path of stateless forwarding (a pickup
 * under flood, a full table), and of a connection whose flow expired or was
 * evicted. Without such a frontend (or with two) it is not lbd's.
 */
static enum lb_dp_verdict
stateless_reply(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, struct lb_dp_result *r)
{
	const struct lb_snap_target *t = NULL;
	const struct lb_snap_fe *fe = lb_snap_dnat_rev_lookup(s, p->src, p->sport, p->proto, &t);
	struct lb_flow_key fwd;
	uint32_t fs;

	if (fe == NULL)
		return lb_dp_drop(w, r, LB_DROP_NOT_LOCAL);
	fs = LB_MIN(fe->ctr, LB_DP_FE_CTR_MAX);
	fwd = lb_flow_key_make(p->dst, fe->vip, p->dport, fe->port, p->proto);
	if (!lb_dp_guard_flow_allowed(s, &fwd))
		return fe_drop(w, fs, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return fe_drop(w, fs, r, LB_DROP_TTL);
	lb_dp_nat_rewrite(frame, p, fe->vip, fe->port, p->dst, p->dport);
	w->ctr.rev++;
	w->ctr.stateless++;
	count_frame(w, fs, t->ctr, false, r->len);
	return lb_dp_out_port(w, s, nt, frame, p, headroom, s->ext_port, p->dst, r);
}

/* Target -> SNAT address (FullNAT) or target -> client (DNAT), TCP/UDP. */
static enum lb_dp_verdict
reverse(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_dp_ctx *c, uint32_t headroom, uint8_t in_port, bool snat,
	uint64_t now, struct lb_dp_result *r)
{
	const struct lb_pkt *p = &c->p;
	struct lb_flow_key k;
	struct lb_flow *f;
	enum lb_flow_class cls;
	int owner, dir;

	owner = snat ? lb_dp_snat_owner(s, p->dport) : (int)lb_dp_client_owner(s, c, in_port, p->dst);
	if (owner < 0)
		return lb_dp_drop(w, r, LB_DROP_NO_FLOW);
	if ((uint32_t)owner != w->id)
		return lb_dp_handoff(r, (uint32_t)owner);
	k = lb_flow_key_make(p->src, p->dst, p->sport, p->dport, p->proto);
	f = frame_flow(w, c, &k, now, &dir);
	if (f == NULL && !snat)
		return stateless_reply(w, s, nt, frame, p, headroom, r);
	if (f == NULL || dir != LB_FLOW_REV)
		return lb_dp_drop(w, r, snat ? LB_DROP_NO_FLOW : LB_DROP_NOT_LOCAL);
	if (!lb_dp_guard_flow_allowed(s, &f->key[LB_FLOW_FWD]))
		return fe_drop(w, f->fe, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return fe_drop(w, f->fe, r, LB_DROP_TTL);
	cls = (enum lb_flow_class)f->cls;
	if (p->proto == LB_PROTO_TCP) {
		/* The target answered the handshake, or (a picked-up flow)
		 * acknowledged the client's segment without resetting it: the
		 * connection is real. */
		if (cls == LB_FLOW_SYN && (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) ==
		    (LB_TCP_SYN | LB_TCP_ACK)) {
			cls = LB_FLOW_EST;
		} else if (LB_UNLIKELY(f->state & FS_PICKUP) &&
			   (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK | LB_TCP_RST)) == LB_TCP_ACK) {
			if (cls == LB_FLOW_SYN)
				cls = LB_FLOW_EST;
			f->state &= (uint8_t)~FS_PICKUP;
			w->ctr.flows_promoted++;
		}
		cls = tcp_class_after(cls, p->tcp_flags);
		if (LB_UNLIKELY(p->tcp_flags & (LB_TCP_FIN | LB_TCP_RST)))
			snat_tw_note(w, s, f, now);
	}
	lb_flow_touch(w->flows, f, cls, expiry(s, cls, now));
	lb_dp_nat_rewrite(frame, p, f->key[LB_FLOW_FWD].dst, f->key[LB_FLOW_FWD].dport,
		f->key[LB_FLOW_FWD].src, f->key[LB_FLOW_FWD].sport);
	w->ctr.rev++;
	count_frame(w, f->fe, f->user, false, r->len);
	return lb_dp_out_client(s, frame, p, headroom, f, w, r);
}

/* --- dispatch --- */

/* A frame addressed to a VIP on a port with the external role. */
static enum lb_dp_verdict
to_vip(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_dp_ctx *c, uint32_t headroom, uint8_t in_port,
	uint64_t now, struct lb_dp_result *r)
{
	const struct lb_pkt *p = &c->p;

	switch (p->proto) {
	case LB_PROTO_TCP:
	case LB_PROTO_UDP:
		return forward(w, s, nt, frame, c, lb_snap_fe_lookup(s, p->dst, p->proto, p->dport),
			headroom, in_port, now, r);
	case LB_PROTO_ICMP:
		if (p->icmp_type == LB_ICMP_ECHO_REQUEST)
			return lb_dp_echo_reply(w, s, frame, p, in_port, r);
		if (lb_dp_icmp_is_error(p))
			return lb_dp_icmp_from_client(w, s, nt, frame, p, headroom, now, r);
		return lb_dp_drop(w, r, LB_DROP_ICMP_UNSUPPORTED);
	default:
		return lb_dp_drop(w, r, LB_DROP_L4_PROTO);
	}
}

/* A frame on a port with the internal role that is not for a VIP: replies
 * to SNAT addresses (FullNAT) or to clients (DNAT). */
static enum lb_dp_verdict
from_cluster(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_dp_ctx *c, uint32_t headroom, uint8_t in_port, bool snat,
	uint64_t now, struct lb_dp_result *r)
{
	const struct lb_pkt *p = &c->p;

	switch (p->proto) {
	case LB_PROTO_TCP:
	case LB_PROTO_UDP:
		return reverse(w, s, nt, frame, c, headroom, in_port, snat, now, r);
	case LB_PROTO_ICMP:
		if (lb_dp_icmp_is_error(p))
			return lb_dp_icmp_from_target(w, s, frame, p, headroom, now, r);
		return lb_dp_drop(w, r, snat ? LB_DROP_ICMP_UNSUPPORTED : LB_DROP_NOT_LOCAL);
	default:
		return lb_dp_drop(w, r, snat ? LB_DROP_LOCAL_UNSUPPORTED : LB_DROP_NOT_LOCAL);
	}
}

/*
 * A frame that passed the port and source checks: its fate from its headers,
 * the port it arrived on and the snapshot.
 */
static inline enum lb_dp_verdict
route(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_dp_ctx *c, uint32_t headroom, uint8_t in_port,
	uint64_t now, struct lb_dp_result *r)
{
	const struct lb_pkt *p = &c->p;
	const struct lb_snap_port *port = &s->ports[in_port];
	const struct lb_snap_local *l;

	if (p->ether_type == LB_ETHER_TYPE_ARP)
		return lb_dp_arp_input(w, s, frame, p, in_port, now, r);
	if (LB_UNLIKELY(p->is_frag))
		return lb_dp_drop(w, r, LB_DROP_FRAGMENT);

	/* The common case first: TCP/UDP to a frontend. A destination with a
	 * frontend is a VIP (the compiler leaves out frontends on lbd's other
	 * addresses), so this takes the same turn as the general path below,
	 * with one hash probe instead of two. */
	if (LB_LIKELY(p->proto == LB_PROTO_TCP || p->proto == LB_PROTO_UDP) &&
	    (port->role & LB_ROLE_EXTERNAL)) {
		const struct lb_snap_fe *fe = lb_snap_fe_lookup(s, p->dst, p->proto, p->dport);

		if (fe != NULL)
			return forward(w, s, nt, frame, c, fe, headroom, in_port, now, r);
	}

	l = lb_snap_local_lookup(s, p->dst);
	if (l == NULL) {
		if (port->role & LB_ROLE_INTERNAL)
			return from_cluster(w, s, nt, frame, c, headroom, in_port, false, now, r);
		return lb_dp_drop(w, r, LB_DROP_NOT_LOCAL);
	}
	switch (l->kind) {
	case LB_LOCAL_VIP:
		if (!(port->role & LB_ROLE_EXTERNAL))
			return lb_dp_drop(w, r, LB_DROP_NOT_LOCAL);
		/* a VIP answers echo only for sources one of its frontends takes */
		if (p->proto == LB_PROTO_ICMP && p->icmp_type == LB_ICMP_ECHO_REQUEST &&
		    !lb_snap_vip_echo_allows(s, l, p->src))
			return lb_dp_drop(w, r, LB_DROP_ACL);
		return to_vip(w, s, nt, frame, c, headroom, in_port, now, r);
	case LB_LOCAL_SNAT:
		if (!(port->role & LB_ROLE_INTERNAL))
			return lb_dp_drop(w, r, LB_DROP_NOT_LOCAL);
		if (p->proto == LB_PROTO_ICMP && p->icmp_type == LB_ICMP_ECHO_REQUEST)
			return lb_dp_echo_reply(w, s, frame, p, in_port, r);
		return from_cluster(w, s, nt, frame, c, headroom, in_port, true, now, r);
	default:
		if (l->port != in_port)
			return lb_dp_drop(w, r, LB_DROP_NOT_LOCAL);
		if (p->proto == LB_PROTO_ICMP && p->icmp_type == LB_ICMP_ECHO_REQUEST)
			return lb_dp_echo_reply(w, s, frame, p, in_port, r);
		if (port->kernel)
			return lb_dp_to_kernel(w, s, frame, p, headroom, in_port, now, r);
		return lb_dp_drop(w, r, LB_DROP_LOCAL_UNSUPPORTED);
	}
}

/*
 * Everything after the parse (err is its result): the port and source checks,
 * the route, and the checks on what leaves. lb_dp_process and the burst's
 * last stage both end here, so a frame meets the same checks either way.
 */
static enum lb_dp_verdict
dispatch(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, uint32_t len, enum lb_pkt_err err, const struct lb_dp_ctx *c,
	uint32_t headroom, uint8_t in_port, uint64_t now, struct lb_dp_result *r)
{
	const struct lb_pkt *p = &c->p;
	const struct lb_snap_port *port;
	enum lb_dp_verdict v;
	enum lb_drop why;

	r->adj = 0;
	r->len = len;
	if (LB_UNLIKELY(in_port >= s->n_ports))
		return lb_dp_drop(w, r, LB_DROP_NOT_LOCAL);
	port = &s->ports[in_port];
	if (LB_UNLIKELY(err != LB_PKT_OK))
		return lb_dp_drop(w, r, (enum lb_drop)parse_drop[err]);
	if (LB_UNLIKELY(p->vlan != port->vlan || (p->has_vlan != 0) != (port->vlan != 0)))
		return lb_dp_drop(w, r, LB_DROP_VLAN);
	/* Only ARP may arrive group-addressed (broadcast requests). IPv4 must
	 * be unicast to this port: a flooded frame for another station, or IPv4
	 * in a broadcast frame, is not forwarded (RFC 1812 5.3.4), or every
	 * appliance on the segment would forward the same frame. */
	if (LB_UNLIKELY(memcmp(frame, port->mac, LB_ETHER_ADDR_LEN) != 0) &&
	    (!(frame[0] & 1) || p->ether_type != LB_ETHER_TYPE_ARP))
		return lb_dp_drop(w, r, LB_DROP_DST_MAC);
	why = lb_dp_guard_rx(s, in_port, frame, p);
	if (LB_UNLIKELY(why != LB_DROP_MAX))
		return lb_dp_drop(w, r, why);
	v = route(w, s, nt, frame, c, headroom, in_port, now, r);
	if (v == LB_DP_TX || v == LB_DP_TO_CTL) {
		why = lb_dp_guard_tx(s, p, frame, len, r);
		if (LB_UNLIKELY(why != LB_DROP_MAX))
			return lb_dp_drop(w, r, why);
	}
	return v;
}

/*
 * Parses a frame with the NIC's checksum verdict when it gave one. A bad
 * checksum reported by the NIC is the same drop as one found in software:
 * the parser checks the checksum right after the IPv4 header's structure, so
 * anything it would find later (L4) is reported as the checksum error too.
 */
static inline enum lb_pkt_err
parse(const uint8_t *frame, uint32_t len, uint8_t hints, struct lb_pkt *p)
{
	enum lb_pkt_err err;

	if (LB_LIKELY(!(hints & (LB_DP_HINT_IP_CSUM_GOOD | LB_DP_HINT_IP_CSUM_BAD))))
		return lb_pkt_parse(frame, len, true, p);
	err = lb_pkt_parse(frame, len, false, p);
	if (LB_UNLIKELY(hints & LB_DP_HINT_IP_CSUM_BAD) && p->ether_type == LB_ETHER_TYPE_IPV4 &&
	    (err == LB_PKT_OK || err == LB_PKT_ERR_L4 || err == LB_PKT_ERR_ICMP_INNER))
		return LB_PKT_ERR_IP_CSUM;
	return err;
}

enum lb_dp_verdict
lb_dp_process(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, uint32_t len, uint32_t headroom, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r)
{
	struct lb_dp_ctx c;
	enum lb_pkt_err err;

	c.hashed = false;
	c.hints = 0;
	c.rss = 0;
	err = lb_pkt_parse(frame, len, true, &c.p);
	return dispatch(w, s, nt, frame, len, err, &c, headroom, in_port, now, r);
}

/* Stage 1: parse, and for a TCP/UDP frame hash its 5-tuple (the key of its
 * flow in either direction) and prefetch the bucket. */
static inline enum lb_pkt_err
stage_parse(struct lb_dp_worker *w, const struct lb_dp_pkt *pk, struct lb_dp_ctx *c)
{
	const struct lb_pkt *p = &c->p;
	enum lb_pkt_err err;
	struct lb_flow_key k;

	c->hints = pk->hints;
	c->rss = pk->rss;
	c->hashed = false;
	err = parse(pk->frame, pk->len, pk->hints, &c->p);
	if (LB_LIKELY(err == LB_PKT_OK) && p->ether_type == LB_ETHER_TYPE_IPV4 && !p->is_frag &&
	    (p->proto == LB_PROTO_TCP || p->proto == LB_PROTO_UDP)) {
		k = lb_flow_key_make(p->src, p->dst, p->sport, p->dport, p->proto);
		c->hash = lb_flow_hash(w->flows, &k);
		c->hashed = true;
		lb_flow_prefetch_bucket(w->flows, c->hash);
	}
	return err;
}

static void
burst_chunk(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	struct lb_dp_pkt *pkts, uint32_t n, uint64_t now)
{
	struct lb_dp_ctx ctx[LB_DP_BURST_MAX];
	enum lb_pkt_err err[LB_DP_BURST_MAX];
	uint32_t i;

	for (i = 0; i < n; i++)
		err[i] = stage_parse(w, &pkts[i], &ctx[i]);
	/* Stage 2: the buckets are (mostly) in cache by now; prefetch the flow
	 * whose signature matches. */
	for (i = 0; i < n; i++)
		if (ctx[i].hashed)
			lb_flow_prefetch_flow(w->flows, ctx[i].hash);
	/* Stage 3: act, in arrival order. */
	for (i = 0; i < n; i++)
		pkts[i].verdict = dispatch(w, s, nt, pkts[i].frame, pkts[i].len, err[i], &ctx[i],
			pkts[i].headroom, pkts[i].in_port, now, &pkts[i].r);
}

void
lb_dp_process_burst(struct lb_dp_worker *w, const struct lb_snap *s,
	const struct lb_neigh_table *nt, struct lb_dp_pkt *pkts, uint32_t n, uint64_t now)
{
	uint32_t k;

	for (k = 0; k < n; k += LB_DP_BURST_MAX)
		burst_chunk(w, s, nt, pkts + k, LB_MIN(n - k, (uint32_t)LB_DP_BURST_MAX), now);
}

void
lb_dp_housekeep(struct lb_dp_worker *w, uint64_t now, uint32_t budget)
{
	lb_flow_expire(w->flows, now, budget);
	if (w->affinity != NULL)
		lb_flow_expire(w->affinity, now, budget);
}

int
lb_dp_trace(const struct lb_snap *s, uint32_t src, uint16_t sport, uint32_t vip,
	uint16_t vport, uint8_t proto, struct lb_dp_trace *t)
{
	const struct lb_snap_fe *fe = lb_snap_fe_lookup(s, vip, proto, vport);

	memset(t, 0, sizeof(*t));
	t->target = -1;
	t->owner = -1;
	t->fe = fe;
	if (fe == NULL)
		return -ENOENT;
	t->allowed = lb_snap_fe_allows(fe, src);
	t->affinity = fe->affinity == LB_AFFINITY_CLIENT_IP;
	t->hash = pick_hash(fe, src, sport);
	t->slot = t->hash % fe->maglev_size;
	t->rss_hash = lb_owner_hash_addr(&s->owner, src);
	t->owner = (int)lb_owner_of_client(&s->owner, src);
	/* a denied source's frames go nowhere: name no target */
	if (t->allowed && fe->maglev != NULL)
		t->target = (int)fe->maglev[t->slot];
	return 0;
}
