/* SPDX-License-Identifier: BSD-3-Clause */
#include "lb_dp_guard.h"

bool
lb_dp_guard_arp_conflict(const struct lb_snap *s, uint8_t in_port, const struct lb_arp_hdr *ah)
{
	const struct lb_snap_local *l;
	uint32_t spa;

	memcpy(&spa, &ah->spa, sizeof(spa));
	if (spa == 0)
		return false;	/* a probe (RFC 5227 2.1.1): answered like any request */
	l = lb_snap_local_lookup(s, spa);
	if (l == NULL || l->port != in_port)
		return false;
	return !lb_dp_guard_is_lbd_mac(s, ah->sha);
}

bool
lb_dp_guard_flow_allowed(const struct lb_snap *s, const struct lb_flow_key *fwd)
{
	const struct lb_snap_fe *fe;

	if (LB_LIKELY(!s->any_src_ranges))
		return true;
	fe = lb_snap_fe_lookup(s, fwd->dst, fwd->proto, fwd->dport);
	return fe == NULL || lb_snap_fe_allows(fe, fwd->src);
}
