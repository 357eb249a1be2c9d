/* SPDX-License-Identifier: BSD-3-Clause */
/* Local answers: ARP for lbd's addresses, ICMP echo; what goes to a port's
 * kernel interface. */
#include "lb_dp_priv.h"

void
lb_dp_ip4_set_csum(struct lb_ipv4_hdr *ip)
{
	ip->csum = 0;
	ip->csum = lb_csum(ip, (size_t)(ip->version_ihl & 0xf) * 4);
}

enum lb_dp_verdict
lb_dp_arp_input(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
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
			return lb_dp_drop(w, r, LB_DROP_ARP_CONFLICT);
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
			return lb_dp_drop(w, r, LB_DROP_ARP_IGNORED);
		ah->op = htons(LB_ARP_OP_REPLY);
		memcpy(ah->tha, ah->sha, LB_ETHER_ADDR_LEN);
		memcpy(&ah->tpa, &ah->spa, sizeof(uint32_t));
		memcpy(ah->sha, port->mac, LB_ETHER_ADDR_LEN);
		memcpy(&ah->spa, &target, sizeof(uint32_t));
		lb_dp_set_macs(frame, ((struct lb_ether_hdr *)frame)->src, port->mac);
		r->port = in_port;
		r->adj = 0;
		w->ctr.arp_replies++;
		return LB_DP_TX;
	}
	/* Replies and gratuitous announcements feed the neighbour table, which
	 * only the internal side needs, and the kernel interface's, which
	 * control passes them on to. */
	if ((op == LB_ARP_OP_REPLY || ah->spa == ah->tpa) &&
	    ((port->role & LB_ROLE_INTERNAL) || port->kernel)) {
		r->port = in_port;
		r->ctl = LB_DP_CTL_ARP;
		r->adj = 0;
		return LB_DP_TO_CTL;
	}
	return lb_dp_drop(w, r, LB_DROP_ARP_IGNORED);
}

enum lb_dp_verdict
lb_dp_echo_reply(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint8_t in_port, struct lb_dp_result *r)
{
	struct lb_ipv4_hdr *ip = (struct lb_ipv4_hdr *)(frame + p->l3_off);
	struct lb_icmp_hdr *ic = (struct lb_icmp_hdr *)(frame + p->l4_off);
	uint16_t old = lb_dp_load16(&ic->type);
	uint32_t a = ip->src;

	ic->type = LB_ICMP_ECHO_REPLY;
	ic->csum = lb_csum_update16(ic->csum, old, lb_dp_load16(&ic->type));
	ip->src = ip->dst;
	ip->dst = a;
	ip->ttl = IP4_DEFAULT_TTL;
	lb_dp_ip4_set_csum(ip);
	lb_dp_set_macs(frame, ((struct lb_ether_hdr *)frame)->src, s->ports[in_port].mac);
	r->port = in_port;
	r->adj = 0;
	w->ctr.icmp_echo_replies++;
	return LB_DP_TX;
}

/* Burst of the kernel interface's token bucket: a tenth of a second. */
#define KERNEL_BURST_DIV	10

static bool
kernel_token(struct lb_dp_worker *w, uint8_t port, uint32_t rate, uint64_t now)
{
	uint64_t cap = (uint64_t)(rate / KERNEL_BURST_DIV > 0 ? rate / KERNEL_BURST_DIV : 1) * 1000;
	uint64_t dt;

	if (now > w->kernel[port].last) {
		/* rate is at most 10^7: a gap clamped to 10^6 ms cannot overflow */
		dt = now - w->kernel[port].last;
		if (dt > 1000000)
			dt = 1000000;
		w->kernel[port].milli += dt * rate;
		if (w->kernel[port].milli > cap)
			w->kernel[port].milli = cap;
		w->kernel[port].last = now;
	}
	if (w->kernel[port].milli < 1000)
		return false;
	w->kernel[port].milli -= 1000;
	return true;
}

/*
 * A frame to in_port's own address that lbd does not answer itself, on a port
 * with a kernel interface. Frames from targets (health check answers) always
 * go; others at most at the port's kernel_rate per worker, so that a flood of
 * the address costs the worker one bucket check per frame and the control
 * thread and kernel a bounded share. The tag comes off: the kernel interface
 * is untagged.
 */
enum lb_dp_verdict
lb_dp_to_kernel(struct lb_dp_worker *w, const struct lb_snap *s, uint8_t *frame,
	const struct lb_pkt *p, uint32_t headroom, uint8_t in_port, uint64_t now,
	struct lb_dp_result *r)
{
	if (!lb_snap_is_target(s, p->src) &&
	    !kernel_token(w, in_port, s->ports[in_port].kernel_rate, now))
		return lb_dp_drop(w, r, LB_DROP_KERNEL_RATE);
	lb_dp_vlan_adjust(frame, p, headroom, 0, &r->adj);	/* a pop cannot fail */
	r->port = in_port;
	r->ctl = LB_DP_CTL_KERNEL;
	return LB_DP_TO_CTL;
}
