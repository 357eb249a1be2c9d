/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_STATS_SETS_H
#define LB_STATS_SETS_H

/*
 * Per-frontend and per-target counters: part of the one counter list
 * (lb_stats.h, whose entry format these lists follow), in a header of their
 * own because lib/dp writes them and lib/stats depends on lib/dp. Header
 * only: lib/dp includes it without linking lib/stats.
 *
 * Each worker keeps an array of struct lb_stats_fe_set and one of struct
 * lb_stats_target_set, indexed by slot, and writes them alone, without
 * atomics (lb_dp_counters_attach). The control thread gives each frontend
 * (keyed by its model id, lb_model_fe id) and each target (keyed by
 * lb_stats_target_key of the frontend id and the target's Maglev identity)
 * a slot when it appears in a published snapshot (struct lb_stats_slots),
 * the snapshot carries the slot (lb_snap_fe.ctr, lb_snap_target.ctr), a flow
 * carries its frontend's and target's slots so that replies find them
 * without a lookup, and the exporters sum a slot over the workers with the
 * labels the control thread published for it. docs/design.md, "Counters".
 *
 * Where the data path counts (lib/dp/lb_dp.c):
 *   packets and bytes   when the frame is translated (as the worker's fwd/rev
 *                       counters); bytes are the frame's L2 length as received
 *   flows created       a new flow picked a target (picked-up DNAT flows too)
 *   flows ended         the flow left the table (expiry, eviction, a reused
 *                       tuple, a full table's reclaim); active flows are
 *                       created - ended, exact, not sampled
 *   drops               frames to the frontend (or replies of its flows)
 *                       dropped for one of the reasons below; each is also in
 *                       the worker's drop counter of the same reason
 */
#include <stdint.h>

#include "lb_common.h"

#define LB_STATS_FE_LIST(X) \
	X(PKTS_IN, "packets_in", "frontend_packets", "direction=\"in\"", COUNTER, ONE, \
		"Frames of the frontend's flows (in: client to target; out: target to client).") \
	X(PKTS_OUT, "packets_out", "frontend_packets", "direction=\"out\"", COUNTER, ONE, NULL) \
	X(BYTES_IN, "bytes_in", "frontend_bytes", "direction=\"in\"", COUNTER, ONE, \
		"Bytes of the frontend's flows, by direction (L2 frame length).") \
	X(BYTES_OUT, "bytes_out", "frontend_bytes", "direction=\"out\"", COUNTER, ONE, NULL) \
	X(FLOWS_CREATED, "flows_created", "frontend_flows_created", NULL, COUNTER, ONE, \
		"Flows the frontend created.") \
	X(FLOWS_ENDED, "flows_ended", "frontend_flows_ended", NULL, COUNTER, ONE, \
		"Flows of the frontend that left the flow table (expired, evicted, replaced).") \
	X(DROP_ACL, "drops_acl_denied", "frontend_dropped_packets", "reason=\"acl_denied\"", \
		COUNTER, ONE, "Frames to the frontend (or replies of its flows) dropped, by reason.") \
	X(DROP_NO_TARGET, "drops_no_target", "frontend_dropped_packets", "reason=\"no_target\"", \
		COUNTER, ONE, NULL) \
	X(DROP_SNAT, "drops_snat_exhausted", "frontend_dropped_packets", \
		"reason=\"snat_exhausted\"", COUNTER, ONE, NULL) \
	X(DROP_CONFLICT, "drops_flow_conflict", "frontend_dropped_packets", \
		"reason=\"flow_conflict\"", COUNTER, ONE, NULL) \
	X(DROP_NO_FLOW, "drops_no_flow", "frontend_dropped_packets", "reason=\"no_flow\"", \
		COUNTER, ONE, NULL) \
	X(DROP_TTL, "drops_ttl_expired", "frontend_dropped_packets", "reason=\"ttl_expired\"", \
		COUNTER, ONE, NULL)

#define LB_STATS_TARGET_LIST(X) \
	X(PKTS_IN, "packets_in", "target_packets", "direction=\"in\"", COUNTER, ONE, \
		"Frames of the target's flows (in: client to target; out: target to client).") \
	X(PKTS_OUT, "packets_out", "target_packets", "direction=\"out\"", COUNTER, ONE, NULL) \
	X(BYTES_IN, "bytes_in", "target_bytes", "direction=\"in\"", COUNTER, ONE, \
		"Bytes of the target's flows, by direction (L2 frame length).") \
	X(BYTES_OUT, "bytes_out", "target_bytes", "direction=\"out\"", COUNTER, ONE, NULL) \
	X(FLOWS_CREATED, "flows_created", "target_flows_created", NULL, COUNTER, ONE, \
		"Flows that picked the target.") \
	X(FLOWS_ENDED, "flows_ended", "target_flows_ended", NULL, COUNTER, ONE, \
		"Flows to the target that left the flow table (expired, evicted, replaced).")

enum lb_stats_fe_ctr {
#define LB_STATS_FE_ENUM(e, ...) LB_STATS_FE_##e,
	LB_STATS_FE_LIST(LB_STATS_FE_ENUM)
#undef LB_STATS_FE_ENUM
	LB_STATS_FE_N
};

enum lb_stats_target_ctr {
#define LB_STATS_T_ENUM(e, ...) LB_STATS_T_##e,
	LB_STATS_TARGET_LIST(LB_STATS_T_ENUM)
#undef LB_STATS_T_ENUM
	LB_STATS_T_N
};

/* One frontend's (or target's) counters in one worker: written by that
 * worker only. Cache-line aligned, so a set never straddles more lines than
 * it must (the four traffic words of a set share its first line). The
 * active flow gauges are FLOWS_CREATED - FLOWS_ENDED. */
struct lb_stats_fe_set {
	uint64_t v[LB_STATS_FE_N];
} LB_CACHE_ALIGNED;

struct lb_stats_target_set {
	uint64_t v[LB_STATS_T_N];
} LB_CACHE_ALIGNED;

#endif /* LB_STATS_SETS_H */
