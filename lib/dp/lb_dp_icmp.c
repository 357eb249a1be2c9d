/* SPDX-License-Identifier: BSD-3-Clause */
/* ICMP errors about tracked flows, translated in both directions (path MTU
 * discovery through lbd). */
#include "lb_dp_priv.h"

/*
 * Rewrites an ICMP error in place: the outer addresses become osrc -> odst,
 * the embedded header becomes isrc:isport -> idst:idport. The embedded L4
 * checksum is updated when it is inside the quoted bytes (always for UDP,
 * for TCP only when at least 18 bytes are quoted), the ICMP checksum is
 * recomputed over the whole message.
 */
static void
icmp_error_rewrite(uint8_t *frame, const struct lb_pkt *p, uint32_t osrc, uint32_t odst,
	uint32_t isrc, uint16_t isport, uint32_t idst, uint16_t idport)
{
	struct lb_ipv4_hdr *ip = (struct lb_ipv4_hdr *)(frame + p->l3_off);
	struct lb_icmp_hdr *ic = (struct lb_icmp_hdr *)(frame + p->l4_off);
	struct lb_ipv4_hdr *in = (struct lb_ipv4_hdr *)(frame + p->inner_l3_off);
	uint8_t *il4 = frame + p->inner_l4_off;
	uint32_t quoted = (uint32_t)(p->l3_off + p->l3_len - p->inner_l4_off);
	uint16_t c;

	c = lb_csum_update32(in->csum, in->src, isrc);
	in->csum = lb_csum_update32(c, in->dst, idst);
	lb_dp_l4_rewrite(il4, p->inner_proto, in->src, in->dst, isrc, isport, idst, idport,
		quoted >= offsetof(struct lb_tcp_hdr, csum) + 2);
	in->src = isrc;
	in->dst = idst;

	ic->csum = 0;
	ic->csum = lb_csum(ic, p->l4_len);

	ip->src = osrc;
	ip->dst = odst;
	ip->ttl--;
	lb_dp_ip4_set_csum(ip);
}

static inline bool
inner_is_l4(const struct lb_pkt *p)
{
	return p->inner_proto == LB_PROTO_TCP || p->inner_proto == LB_PROTO_UDP;
}

/*
 * ICMP error from the client side about a packet lbd sent to the client
 * (embedded: VIP:port -> client): translated for the target as if the target's
 * own packet had caused it.
 */
enum lb_dp_verdict
lb_dp_icmp_from_client(struct lb_dp_worker *w, const struct lb_snap *s,
	const struct lb_neigh_table *nt, uint8_t *frame, const struct lb_pkt *p,
	uint32_t headroom, uint64_t now, struct lb_dp_result *r)
{
	const struct lb_snap_fe *fe;
	const struct lb_flow_key *rk;
	struct lb_flow_key k;
	struct lb_flow *f;
	uint32_t owner;
	int dir;

	if (!inner_is_l4(p))
		return lb_dp_drop(w, r, LB_DROP_ICMP_NO_FLOW);
	fe = lb_snap_fe_lookup(s, p->inner_src, p->inner_proto, p->inner_sport);
	if (fe == NULL)
		return lb_dp_drop(w, r, LB_DROP_ICMP_NO_FLOW);
	owner = lb_owner_of_client(&s->owner, p->inner_dst);
	if (owner != w->id)
		return lb_dp_handoff(r, owner);
	k = lb_flow_key_make(p->inner_dst, p->inner_src, p->inner_dport, p->inner_sport,
		p->inner_proto);
	f = lb_flow_lookup(w->flows, &k, now, &dir);
	if (f == NULL || dir != LB_FLOW_FWD)
		return lb_dp_drop(w, r, LB_DROP_ICMP_NO_FLOW);
	if (!lb_dp_guard_flow_allowed(s, &f->key[LB_FLOW_FWD]))
		return lb_dp_drop(w, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return lb_dp_drop(w, r, LB_DROP_TTL);
	rk = &f->key[LB_FLOW_REV];
	icmp_error_rewrite(frame, p, rk->dst, rk->src, rk->src, rk->sport, rk->dst, rk->dport);
	w->ctr.icmp_errors++;
	return lb_dp_out_internal(w, s, nt, frame, p, headroom, rk->src, r);
}

/*
 * ICMP error from the cluster side about a packet lbd sent to a target
 * (embedded: SNAT or client -> target): translated for the client as if its
 * own packet to the VIP had caused it. This is what makes path MTU discovery
 * work through lbd.
 */
enum lb_dp_verdict
lb_dp_icmp_from_target(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint32_t headroom, uint64_t now, struct lb_dp_result *r)
{
	const struct lb_snap_local *l;
	const struct lb_flow_key *fk;
	struct lb_flow_key k;
	struct lb_flow *f;
	int owner, dir;

	if (!inner_is_l4(p))
		return lb_dp_drop(w, r, LB_DROP_ICMP_NO_FLOW);
	l = lb_snap_local_lookup(s, p->inner_src);
	if (l != NULL && l->kind == LB_LOCAL_SNAT)
		owner = lb_dp_snat_owner(s, p->inner_sport);
	else
		owner = (int)lb_owner_of_client(&s->owner, p->inner_src);
	if (owner < 0)
		return lb_dp_drop(w, r, LB_DROP_ICMP_NO_FLOW);
	if ((uint32_t)owner != w->id)
		return lb_dp_handoff(r, (uint32_t)owner);
	k = lb_flow_key_make(p->inner_dst, p->inner_src, p->inner_dport, p->inner_sport,
		p->inner_proto);
	f = lb_flow_lookup(w->flows, &k, now, &dir);
	if (f == NULL || dir != LB_FLOW_REV)
		return lb_dp_drop(w, r, LB_DROP_ICMP_NO_FLOW);
	if (!lb_dp_guard_flow_allowed(s, &f->key[LB_FLOW_FWD]))
		return lb_dp_drop(w, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return lb_dp_drop(w, r, LB_DROP_TTL);
	fk = &f->key[LB_FLOW_FWD];
	icmp_error_rewrite(frame, p, fk->dst, fk->src, fk->src, fk->sport, fk->dst, fk->dport);
	w->ctr.icmp_errors++;
	return lb_dp_out_client(s, frame, p, headroom, f, w, r);
}
