/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_addr.h"
#include "lb_csum.h"
#include "lb_dp.h"
#include "lb_dp_guard.h"
#include "lb_hash.h"
#include "lb_maglev.h"
#include "lb_pkt.h"

/*
 * Fixed seeds: the Maglev pick must be the same on every lbd instance so that
 * flows survive moving between appliances behind ECMP (invariant 2); the
 * ownership hash only has to agree between the workers of one instance, but a
 * fixed value keeps runs reproducible.
 */
#define PICK_SEED	0x6c62645fU	/* "lbd_" */
#define OWNER_SEED	0x6f776e72U	/* "ownr" */

/* SNAT candidates tried per new FullNAT flow before giving up. */
#define SNAT_PROBES	64

#define IP4_DEFAULT_TTL	64

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

/* --- pure helpers shared with lb_dp_trace --- */

static inline bool
fe_by_client_ip(const struct lb_snap_fe *fe)
{
	return fe->method == LB_METHOD_DNAT || fe->affinity == LB_AFFINITY_CLIENT_IP;
}

static inline uint32_t
worker_of(uint32_t h, uint32_t n_workers)
{
	return (uint32_t)(((uint64_t)h * n_workers) >> 32);
}

static inline uint32_t
owner_by_ip(const struct lb_snap *s, uint32_t client)
{
	return worker_of(lb_hash32_2(client, 0, OWNER_SEED), s->n_workers);
}

static inline uint32_t
owner_by_client(const struct lb_snap *s, const struct lb_snap_fe *fe, uint32_t client,
	uint16_t cport)
{
	if (fe_by_client_ip(fe))
		return owner_by_ip(s, client);
	return worker_of(lb_hash32_2(client, cport, OWNER_SEED), s->n_workers);
}

static inline uint32_t
pick_hash(const struct lb_snap_fe *fe, uint32_t src, uint16_t sport)
{
	if (fe->affinity == LB_AFFINITY_CLIENT_IP)
		return lb_hash32_2(src, 0, PICK_SEED);
	return lb_hash32_3(src, fe->vip, (uint32_t)sport << 16 | fe->port, PICK_SEED ^ fe->proto);
}

/* Owner of a frame whose destination is a SNAT address, from the SNAT port. */
static inline int
owner_by_snat_port(const struct lb_snap *s, uint16_t port_be)
{
	return lb_snat_owner(&s->snat, ntohs(port_be));
}

/* --- header rewriting --- */

static inline uint16_t
load16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
ip4_set_csum(struct lb_ipv4_hdr *ip)
{
	ip->csum = 0;
	ip->csum = lb_csum(ip, (size_t)(ip->version_ihl & 0xf) * 4);
}

/*
 * Rewrites the ports of a TCP/UDP header for a move from addresses
 * osrc -> odst to src:sport -> dst:dport, updating its checksum for the
 * pseudo-header and port changes (RFC 1624). A UDP checksum of zero (none)
 * stays zero; with csum false a TCP checksum is left alone (an ICMP error
 * that does not quote it).
 */
static void
l4_rewrite(uint8_t *l4, uint8_t proto, uint32_t osrc, uint32_t odst, uint32_t src,
	uint16_t sport, uint32_t dst, uint16_t dport, bool csum)
{
	uint16_t c;

	if (proto == LB_PROTO_TCP) {
		struct lb_tcp_hdr *th = (struct lb_tcp_hdr *)l4;

		if (csum) {
			c = lb_csum_update32(th->csum, osrc, src);
			c = lb_csum_update32(c, odst, dst);
			c = lb_csum_update16(c, th->sport, sport);
			th->csum = lb_csum_update16(c, th->dport, dport);
		}
		th->sport = sport;
		th->dport = dport;
	} else {
		struct lb_udp_hdr *uh = (struct lb_udp_hdr *)l4;

		c = lb_csum_udp_update32(uh->csum, osrc, src);
		c = lb_csum_udp_update32(c, odst, dst);
		c = lb_csum_udp_update16(c, uh->sport, sport);
		uh->csum = lb_csum_udp_update16(c, uh->dport, dport);
		uh->sport = sport;
		uh->dport = dport;
	}
}

/*
 * Rewrites the IPv4 addresses and L4 ports of a TCP/UDP packet, decrementing
 * the TTL, with incremental checksum updates.
 */
static void
nat_rewrite(uint8_t *frame, const struct lb_pkt *p, uint32_t src, uint16_t sport,
	uint32_t dst, uint16_t dport)
{
	struct lb_ipv4_hdr *ip = (struct lb_ipv4_hdr *)(frame + p->l3_off);
	uint16_t old_ttl = load16(&ip->ttl);
	uint16_t c;

	ip->ttl--;
	c = lb_csum_update32(ip->csum, ip->src, src);
	c = lb_csum_update32(c, ip->dst, dst);
	ip->csum = lb_csum_update16(c, old_ttl, load16(&ip->ttl));
	l4_rewrite(frame + p->l4_off, p->proto, ip->src, ip->dst, src, sport, dst, dport, true);
	ip->src = src;
	ip->dst = dst;
}

/*
 * Makes the frame's 802.1Q tagging match the output port, moving the MAC
 * addresses when a tag is pushed or popped. Returns the new frame start or
 * NULL when there is no headroom for a tag; *adj receives the shift.
 */
static uint8_t *
vlan_adjust(uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint16_t out_vlan,
	int32_t *adj)
{
	struct lb_vlan_hdr *vh;

	*adj = 0;
	if (p->has_vlan && out_vlan != 0) {
		/* retag in place: TPID at 12, TCI at 14 */
		vh = (struct lb_vlan_hdr *)(frame + 14);
		vh->tci = htons(out_vlan & 0xfff);
		return frame;
	}
	if (!p->has_vlan && out_vlan == 0)
		return frame;
	if (p->has_vlan) {
		/* pop: slide the two MAC addresses over the tag */
		memmove(frame + 4, frame, 12);
		*adj = 4;
		return frame + 4;
	}
	if (headroom < 4)
		return NULL;
	/* push: the ether type at offset 12 becomes the tag's inner type */
	memmove(frame - 4, frame, 12);
	frame -= 4;
	*adj = -4;
	frame[12] = LB_ETHER_TYPE_VLAN >> 8;
	frame[13] = LB_ETHER_TYPE_VLAN & 0xff;
	vh = (struct lb_vlan_hdr *)(frame + 14);
	vh->tci = htons(out_vlan & 0xfff);
	/* vh->type (offset 16) is the original ether type, already in place */
	return frame;
}

static inline void
set_macs(uint8_t *frame, const uint8_t *dst, const uint8_t *src)
{
	struct lb_ether_hdr *eh = (struct lb_ether_hdr *)frame;

	memcpy(eh->dst, dst, LB_ETHER_ADDR_LEN);
	memcpy(eh->src, src, LB_ETHER_ADDR_LEN);
}

static inline enum lb_dp_verdict
drop(struct lb_dp_worker *w, struct lb_dp_result *r, enum lb_drop why)
{
	w->ctr.drops[why]++;
	r->reason = why;
	return LB_DP_DROP;
}

static inline enum lb_dp_verdict
handoff(struct lb_dp_result *r, uint32_t owner)
{
	r->worker = (uint16_t)owner;
	return LB_DP_HANDOFF;
}

/*
 * Finishes a frame towards a target on the internal side: resolves the next
 * hop of dst, fixes the VLAN tag and MACs. The L3/L4 rewrite is done.
 */
static enum lb_dp_verdict
out_internal(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint32_t dst,
	struct lb_dp_result *r)
{
	const struct lb_snap_port *op = &s->ports[s->int_port];
	uint8_t mac[LB_ETHER_ADDR_LEN];
	uint32_t nh = dst;
	int32_t adj;
	int st;

	if ((dst & op->mask) != (op->addr & op->mask)) {
		if (op->gateway == 0)
			return drop(w, r, LB_DROP_NO_ROUTE);
		nh = op->gateway;
	}
	st = lb_neigh_lookup(nt, s->int_port, nh, mac);
	if (st == LB_NEIGH_DOWN)
		return drop(w, r, LB_DROP_NEIGH_DOWN);
	frame = vlan_adjust(frame, p, headroom, op->vlan, &adj);
	if (frame == NULL)
		return drop(w, r, LB_DROP_NO_MBUF);
	r->adj = adj;
	r->port = s->int_port;
	if (st == LB_NEIGH_MISS) {
		/* control sets the destination MAC once ARP answers */
		set_macs(frame, op->mac, op->mac);
		r->ctl = LB_DP_CTL_RESOLVE;
		r->nexthop = nh;
		return LB_DP_TO_CTL;
	}
	set_macs(frame, mac, op->mac);
	return LB_DP_TX;
}

/* Finishes a frame towards a client: out the port the flow arrived on, to the
 * MAC its packets came from. */
static enum lb_dp_verdict
out_client(const struct lb_snap *s, uint8_t *frame, const struct lb_pkt *p, uint32_t headroom,
	const struct lb_flow *f, struct lb_dp_worker *w, struct lb_dp_result *r)
{
	const struct lb_snap_port *op = &s->ports[f->port];
	int32_t adj;

	frame = vlan_adjust(frame, p, headroom, op->vlan, &adj);
	if (frame == NULL)
		return drop(w, r, LB_DROP_NO_MBUF);
	set_macs(frame, f->peer_mac, op->mac);
	r->adj = adj;
	r->port = f->port;
	return LB_DP_TX;
}

/* --- local answers: ARP and ICMP echo --- */

static enum lb_dp_verdict
arp_input(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint8_t in_port, uint64_t now, struct lb_dp_result *r)
{
	struct lb_arp_hdr *ah = (struct lb_arp_hdr *)(frame + p->l3_off);
	const struct lb_snap_port *port = &s->ports[in_port];
	const struct lb_snap_local *l;
	uint16_t op = ntohs(ah->op);
	uint32_t target;

	/* Another station claims one of our addresses: the control thread
	 * logs it and defends the address (RFC 5227 2.4), fed at most one such
	 * frame per interval per worker so that a flood cannot fill its ring. */
	if (LB_UNLIKELY(lb_dp_guard_arp_conflict(s, in_port, ah))) {
		if (now < w->conflict_next)
			return drop(w, r, LB_DROP_ARP_CONFLICT);
		w->conflict_next = now + LB_DP_CONFLICT_MS;
		r->port = in_port;
		r->ctl = LB_DP_CTL_CONFLICT;
		r->adj = 0;
		return LB_DP_TO_CTL;
	}
	if (op == LB_ARP_OP_REQUEST && ah->spa != ah->tpa) {
		memcpy(&target, &ah->tpa, sizeof(target));
		l = lb_snap_local_lookup(s, target);
		if (l == NULL || l->port != in_port)
			return drop(w, r, LB_DROP_ARP_IGNORED);
		ah->op = htons(LB_ARP_OP_REPLY);
		memcpy(ah->tha, ah->sha, LB_ETHER_ADDR_LEN);
		memcpy(&ah->tpa, &ah->spa, sizeof(uint32_t));
		memcpy(ah->sha, port->mac, LB_ETHER_ADDR_LEN);
		memcpy(&ah->spa, &target, sizeof(uint32_t));
		set_macs(frame, ((struct lb_ether_hdr *)frame)->src, port->mac);
		r->port = in_port;
		r->adj = 0;
		w->ctr.arp_replies++;
		return LB_DP_TX;
	}
	/* Replies and gratuitous announcements feed the neighbour table, which
	 * only the internal side needs. */
	if ((op == LB_ARP_OP_REPLY || ah->spa == ah->tpa) && (port->role & LB_ROLE_INTERNAL)) {
		r->port = in_port;
		r->ctl = LB_DP_CTL_ARP;
		r->adj = 0;
		return LB_DP_TO_CTL;
	}
	return drop(w, r, LB_DROP_ARP_IGNORED);
}

static enum lb_dp_verdict
echo_reply(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint8_t in_port, struct lb_dp_result *r)
{
	struct lb_ipv4_hdr *ip = (struct lb_ipv4_hdr *)(frame + p->l3_off);
	struct lb_icmp_hdr *ic = (struct lb_icmp_hdr *)(frame + p->l4_off);
	uint16_t old = load16(&ic->type);
	uint32_t a = ip->src;

	ic->type = LB_ICMP_ECHO_REPLY;
	ic->csum = lb_csum_update16(ic->csum, old, load16(&ic->type));
	ip->src = ip->dst;
	ip->dst = a;
	ip->ttl = IP4_DEFAULT_TTL;
	ip4_set_csum(ip);
	set_macs(frame, ((struct lb_ether_hdr *)frame)->src, s->ports[in_port].mac);
	r->port = in_port;
	r->adj = 0;
	w->ctr.icmp_echo_replies++;
	return LB_DP_TX;
}

/* --- flows --- */

struct snat_probe {
	struct lb_flow_table *flows;
	uint32_t taddr;
	uint16_t tport;
	uint8_t proto;
	uint64_t now;
};

static bool
snat_in_use(void *ctx, uint32_t addr, uint16_t port)
{
	const struct snat_probe *sp = ctx;
	struct lb_flow_key k = lb_flow_key_make(sp->taddr, addr, sp->tport, port, sp->proto);

	return lb_flow_lookup(sp->flows, &k, sp->now, NULL) != NULL;
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

		lb_flow_insert(w->affinity, &ak, &tk, LB_FLOW_OTHER, LB_FLOW_F_FWD_ONLY, exp, NULL);
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

/* Creates the flow for a first packet to fe; NULL with the drop reason set. */
static struct lb_flow *
flow_create(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_snap_fe *fe,
	const uint8_t *frame, const struct lb_pkt *p, uint8_t in_port, uint64_t now,
	enum lb_drop *why)
{
	const struct lb_snap_target *t;
	struct lb_flow_key fwd, rev;
	enum lb_flow_class cls;
	struct lb_flow *f;
	bool pickup = false;

	if (p->proto == LB_PROTO_TCP) {
		uint8_t fl = p->tcp_flags;

		if ((fl & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN && !(fl & LB_TCP_RST)) {
			cls = LB_FLOW_SYN;
		} else if (fe->method == LB_METHOD_DNAT && !(fl & (LB_TCP_RST | LB_TCP_SYN))) {
			/* DNAT keeps the client's tuple, so a connection whose
			 * flow state is gone (expiry, another appliance behind
			 * ECMP) can be picked up mid-stream: the Maglev pick is
			 * the same as when it started. */
			cls = tcp_class_after(LB_FLOW_EST, fl);
			pickup = true;
		} else {
			*why = LB_DROP_NO_FLOW;
			return NULL;
		}
	} else {
		cls = LB_FLOW_UDP;
	}
	if (fe->n_active == 0) {
		*why = LB_DROP_NO_TARGET;
		return NULL;
	}
	t = pick_target(w, fe, p, now);
	fwd = lb_flow_key_make(p->src, p->dst, p->sport, p->dport, p->proto);
	if (fe->method == LB_METHOD_DNAT) {
		rev = lb_flow_key_make(t->addr, p->src, t->port, p->sport, p->proto);
		if (lb_flow_lookup(w->flows, &rev, now, NULL) != NULL) {
			*why = LB_DROP_FLOW_CONFLICT;
			return NULL;
		}
	} else {
		struct snat_probe sp = { w->flows, t->addr, t->port, p->proto, now };
		uint32_t saddr;
		uint16_t sport;

		if (lb_snat_pick(&w->snat, snat_in_use, &sp, SNAT_PROBES, &saddr, &sport) != 0) {
			*why = LB_DROP_SNAT_EXHAUSTED;
			return NULL;
		}
		rev = lb_flow_key_make(t->addr, saddr, t->port, sport, p->proto);
	}
	f = lb_flow_insert(w->flows, &fwd, &rev, cls, 0, expiry(s, cls, now), NULL);
	if (f == NULL) {
		*why = LB_DROP_NO_FLOW;
		return NULL;
	}
	f->port = in_port;
	f->fe = (uint16_t)(fe - s->fes);
	f->state = 0;
	memcpy(f->peer_mac, ((const struct lb_ether_hdr *)frame)->src, LB_ETHER_ADDR_LEN);
	w->ctr.flows_created++;
	if (pickup)
		w->ctr.flows_picked_up++;
	return f;
}

/* Client -> VIP:port (TCP/UDP). */
static enum lb_dp_verdict
forward(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r)
{
	const struct lb_snap_fe *fe = lb_snap_fe_lookup(s, p->dst, p->proto, p->dport);
	struct lb_flow_key k;
	struct lb_flow *f;
	enum lb_drop why;
	uint32_t owner;
	int dir;

	if (fe == NULL)
		return drop(w, r, LB_DROP_NO_FRONTEND);
	owner = owner_by_client(s, fe, p->src, p->sport);
	if (owner != w->id)
		return handoff(r, owner);
	/* Source ranges apply to every packet, so narrowing them on reload
	 * also cuts connections that are already open. */
	if (!lb_snap_fe_allows(fe, p->src))
		return drop(w, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return drop(w, r, LB_DROP_TTL);

	k = lb_flow_key_make(p->src, p->dst, p->sport, p->dport, p->proto);
	f = lb_flow_lookup(w->flows, &k, now, &dir);
	if (f != NULL && dir != LB_FLOW_FWD)
		return drop(w, r, LB_DROP_FLOW_CONFLICT);
	if (f != NULL && p->proto == LB_PROTO_TCP && f->cls == LB_FLOW_FIN &&
	    (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK | LB_TCP_RST)) == LB_TCP_SYN) {
		/* the client reuses the tuple of a closed connection: a new
		 * connection, picked afresh */
		lb_flow_remove(w->flows, f);
		f = NULL;
	}
	if (f == NULL) {
		f = flow_create(w, s, fe, frame, p, in_port, now, &why);
		if (f == NULL)
			return drop(w, r, why);
	} else {
		enum lb_flow_class cls = (enum lb_flow_class)f->cls;

		if (p->proto == LB_PROTO_TCP)
			cls = tcp_class_after(cls, p->tcp_flags);
		lb_flow_touch(w->flows, f, cls, expiry(s, cls, now));
		/* follow the client side's router if it changes (VRRP etc.) */
		memcpy(f->peer_mac, ((const struct lb_ether_hdr *)frame)->src, LB_ETHER_ADDR_LEN);
	}
	nat_rewrite(frame, p, f->key[LB_FLOW_REV].dst, f->key[LB_FLOW_REV].dport,
		f->key[LB_FLOW_REV].src, f->key[LB_FLOW_REV].sport);
	w->ctr.fwd++;
	return out_internal(w, s, nt, frame, p, headroom, f->key[LB_FLOW_REV].src, r);
}

/* Target -> SNAT address (FullNAT) or target -> client (DNAT), TCP/UDP. */
static enum lb_dp_verdict
reverse(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint32_t headroom, bool snat, uint64_t now,
	struct lb_dp_result *r)
{
	struct lb_flow_key k;
	struct lb_flow *f;
	enum lb_flow_class cls;
	int owner, dir;

	owner = snat ? owner_by_snat_port(s, p->dport) : (int)owner_by_ip(s, p->dst);
	if (owner < 0)
		return drop(w, r, LB_DROP_NO_FLOW);
	if ((uint32_t)owner != w->id)
		return handoff(r, (uint32_t)owner);
	k = lb_flow_key_make(p->src, p->dst, p->sport, p->dport, p->proto);
	f = lb_flow_lookup(w->flows, &k, now, &dir);
	if (f == NULL || dir != LB_FLOW_REV)
		return drop(w, r, snat ? LB_DROP_NO_FLOW : LB_DROP_NOT_LOCAL);
	if (!lb_dp_guard_flow_allowed(s, &f->key[LB_FLOW_FWD]))
		return drop(w, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return drop(w, r, LB_DROP_TTL);
	cls = (enum lb_flow_class)f->cls;
	if (p->proto == LB_PROTO_TCP) {
		/* the target answered the handshake: the connection is real */
		if (cls == LB_FLOW_SYN && (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) ==
		    (LB_TCP_SYN | LB_TCP_ACK))
			cls = LB_FLOW_EST;
		cls = tcp_class_after(cls, p->tcp_flags);
	}
	lb_flow_touch(w->flows, f, cls, expiry(s, cls, now));
	nat_rewrite(frame, p, f->key[LB_FLOW_FWD].dst, f->key[LB_FLOW_FWD].dport,
		f->key[LB_FLOW_FWD].src, f->key[LB_FLOW_FWD].sport);
	w->ctr.rev++;
	return out_client(s, frame, p, headroom, f, w, r);
}

/* --- ICMP errors about tracked flows --- */

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
	l4_rewrite(il4, p->inner_proto, in->src, in->dst, isrc, isport, idst, idport,
		quoted >= offsetof(struct lb_tcp_hdr, csum) + 2);
	in->src = isrc;
	in->dst = idst;

	ic->csum = 0;
	ic->csum = lb_csum(ic, p->l4_len);

	ip->src = osrc;
	ip->dst = odst;
	ip->ttl--;
	ip4_set_csum(ip);
}

static inline bool
icmp_is_error(const struct lb_pkt *p)
{
	return p->icmp_type == LB_ICMP_DEST_UNREACH || p->icmp_type == LB_ICMP_TIME_EXCEEDED;
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
static enum lb_dp_verdict
icmp_error_from_client(struct lb_dp_worker *w, const struct lb_snap *s,
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
		return drop(w, r, LB_DROP_ICMP_NO_FLOW);
	fe = lb_snap_fe_lookup(s, p->inner_src, p->inner_proto, p->inner_sport);
	if (fe == NULL)
		return drop(w, r, LB_DROP_ICMP_NO_FLOW);
	owner = owner_by_client(s, fe, p->inner_dst, p->inner_dport);
	if (owner != w->id)
		return handoff(r, owner);
	k = lb_flow_key_make(p->inner_dst, p->inner_src, p->inner_dport, p->inner_sport,
		p->inner_proto);
	f = lb_flow_lookup(w->flows, &k, now, &dir);
	if (f == NULL || dir != LB_FLOW_FWD)
		return drop(w, r, LB_DROP_ICMP_NO_FLOW);
	if (!lb_dp_guard_flow_allowed(s, &f->key[LB_FLOW_FWD]))
		return drop(w, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return drop(w, r, LB_DROP_TTL);
	rk = &f->key[LB_FLOW_REV];
	icmp_error_rewrite(frame, p, rk->dst, rk->src, rk->src, rk->sport, rk->dst, rk->dport);
	w->ctr.icmp_errors++;
	return out_internal(w, s, nt, frame, p, headroom, rk->src, r);
}

/*
 * ICMP error from the cluster side about a packet lbd sent to a target
 * (embedded: SNAT or client -> target): translated for the client as if its
 * own packet to the VIP had caused it. This is what makes path MTU discovery
 * work through lbd.
 */
static enum lb_dp_verdict
icmp_error_from_target(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint32_t headroom, uint64_t now, struct lb_dp_result *r)
{
	const struct lb_snap_local *l;
	const struct lb_flow_key *fk;
	struct lb_flow_key k;
	struct lb_flow *f;
	int owner, dir;

	if (!inner_is_l4(p))
		return drop(w, r, LB_DROP_ICMP_NO_FLOW);
	l = lb_snap_local_lookup(s, p->inner_src);
	if (l != NULL && l->kind == LB_LOCAL_SNAT)
		owner = owner_by_snat_port(s, p->inner_sport);
	else
		owner = (int)owner_by_ip(s, p->inner_src);
	if (owner < 0)
		return drop(w, r, LB_DROP_ICMP_NO_FLOW);
	if ((uint32_t)owner != w->id)
		return handoff(r, (uint32_t)owner);
	k = lb_flow_key_make(p->inner_dst, p->inner_src, p->inner_dport, p->inner_sport,
		p->inner_proto);
	f = lb_flow_lookup(w->flows, &k, now, &dir);
	if (f == NULL || dir != LB_FLOW_REV)
		return drop(w, r, LB_DROP_ICMP_NO_FLOW);
	if (!lb_dp_guard_flow_allowed(s, &f->key[LB_FLOW_FWD]))
		return drop(w, r, LB_DROP_ACL);
	if (((const struct lb_ipv4_hdr *)(frame + p->l3_off))->ttl <= 1)
		return drop(w, r, LB_DROP_TTL);
	fk = &f->key[LB_FLOW_FWD];
	icmp_error_rewrite(frame, p, fk->dst, fk->src, fk->src, fk->sport, fk->dst, fk->dport);
	w->ctr.icmp_errors++;
	return out_client(s, frame, p, headroom, f, w, r);
}

/* --- dispatch --- */

/* A frame addressed to a VIP on a port with the external role. */
static enum lb_dp_verdict
to_vip(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r)
{
	switch (p->proto) {
	case LB_PROTO_TCP:
	case LB_PROTO_UDP:
		return forward(w, s, nt, frame, p, headroom, in_port, now, r);
	case LB_PROTO_ICMP:
		if (p->icmp_type == LB_ICMP_ECHO_REQUEST)
			return echo_reply(w, s, frame, p, in_port, r);
		if (icmp_is_error(p))
			return icmp_error_from_client(w, s, nt, frame, p, headroom, now, r);
		return drop(w, r, LB_DROP_ICMP_UNSUPPORTED);
	default:
		return drop(w, r, LB_DROP_L4_PROTO);
	}
}

/* A frame on a port with the internal role that is not for a VIP: replies
 * to SNAT addresses (FullNAT) or to clients (DNAT). */
static enum lb_dp_verdict
from_cluster(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint32_t headroom, bool snat, uint64_t now, struct lb_dp_result *r)
{
	switch (p->proto) {
	case LB_PROTO_TCP:
	case LB_PROTO_UDP:
		return reverse(w, s, frame, p, headroom, snat, now, r);
	case LB_PROTO_ICMP:
		if (icmp_is_error(p))
			return icmp_error_from_target(w, s, frame, p, headroom, now, r);
		return drop(w, r, snat ? LB_DROP_ICMP_UNSUPPORTED : LB_DROP_NOT_LOCAL);
	default:
		return drop(w, r, snat ? LB_DROP_LOCAL_UNSUPPORTED : LB_DROP_NOT_LOCAL);
	}
}

/* A parsed frame that passed the port and source checks. */
static enum lb_dp_verdict
dispatch(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, const struct lb_pkt *p, uint32_t headroom, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r)
{
	const struct lb_snap_port *port = &s->ports[in_port];
	const struct lb_snap_local *l;

	if (p->ether_type == LB_ETHER_TYPE_ARP)
		return arp_input(w, s, frame, p, in_port, now, r);
	if (LB_UNLIKELY(p->is_frag))
		return drop(w, r, LB_DROP_FRAGMENT);

	l = lb_snap_local_lookup(s, p->dst);
	if (l == NULL) {
		if (port->role & LB_ROLE_INTERNAL)
			return from_cluster(w, s, frame, p, headroom, false, now, r);
		return drop(w, r, LB_DROP_NOT_LOCAL);
	}
	switch (l->kind) {
	case LB_LOCAL_VIP:
		if (!(port->role & LB_ROLE_EXTERNAL))
			return drop(w, r, LB_DROP_NOT_LOCAL);
		/* a VIP answers echo only for sources one of its frontends takes */
		if (p->proto == LB_PROTO_ICMP && p->icmp_type == LB_ICMP_ECHO_REQUEST &&
		    !lb_snap_vip_echo_allows(s, l, p->src))
			return drop(w, r, LB_DROP_ACL);
		return to_vip(w, s, nt, frame, p, headroom, in_port, now, r);
	case LB_LOCAL_SNAT:
		if (!(port->role & LB_ROLE_INTERNAL))
			return drop(w, r, LB_DROP_NOT_LOCAL);
		if (p->proto == LB_PROTO_ICMP && p->icmp_type == LB_ICMP_ECHO_REQUEST)
			return echo_reply(w, s, frame, p, in_port, r);
		return from_cluster(w, s, frame, p, headroom, true, now, r);
	default:
		if (l->port != in_port)
			return drop(w, r, LB_DROP_NOT_LOCAL);
		if (p->proto == LB_PROTO_ICMP && p->icmp_type == LB_ICMP_ECHO_REQUEST)
			return echo_reply(w, s, frame, p, in_port, r);
		return drop(w, r, LB_DROP_LOCAL_UNSUPPORTED);
	}
}

enum lb_dp_verdict
lb_dp_process(struct lb_dp_worker *w, const struct lb_snap *s, const struct lb_neigh_table *nt,
	uint8_t *frame, uint32_t len, uint32_t headroom, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r)
{
	const struct lb_snap_port *port;
	enum lb_dp_verdict v;
	enum lb_pkt_err err;
	enum lb_drop why;
	struct lb_pkt p;

	r->adj = 0;
	r->len = len;
	if (LB_UNLIKELY(in_port >= s->n_ports))
		return drop(w, r, LB_DROP_NOT_LOCAL);
	port = &s->ports[in_port];
	err = lb_pkt_parse(frame, len, true, &p);
	if (LB_UNLIKELY(err != LB_PKT_OK))
		return drop(w, r, (enum lb_drop)parse_drop[err]);
	if (LB_UNLIKELY(p.vlan != port->vlan || (p.has_vlan != 0) != (port->vlan != 0)))
		return drop(w, r, LB_DROP_VLAN);
	/* Only ARP may arrive group-addressed (broadcast requests). IPv4 must
	 * be unicast to this port: a flooded frame for another station, or IPv4
	 * in a broadcast frame, is not forwarded (RFC 1812 5.3.4), or every
	 * appliance on the segment would forward the same frame. */
	if (LB_UNLIKELY(memcmp(frame, port->mac, LB_ETHER_ADDR_LEN) != 0) &&
	    (!(frame[0] & 1) || p.ether_type != LB_ETHER_TYPE_ARP))
		return drop(w, r, LB_DROP_DST_MAC);
	why = lb_dp_guard_rx(s, in_port, frame, &p);
	if (LB_UNLIKELY(why != LB_DROP_MAX))
		return drop(w, r, why);
	v = dispatch(w, s, nt, frame, &p, headroom, in_port, now, r);
	if (v == LB_DP_TX || v == LB_DP_TO_CTL) {
		why = lb_dp_guard_tx(s, &p, frame, len, r);
		if (LB_UNLIKELY(why != LB_DROP_MAX))
			return drop(w, r, why);
	}
	return v;
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
	t->owner = (int)owner_by_client(s, fe, src, sport);
	/* a denied source's frames go nowhere: name no target */
	if (t->allowed && fe->maglev != NULL)
		t->target = (int)fe->maglev[t->slot];
	return 0;
}
