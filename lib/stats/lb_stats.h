/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_STATS_H
#define LB_STATS_H

/*
 * One counter list. Every counter and gauge lbd exports is named here once,
 * in an X-macro list, with its lbctl/telemetry key, its Prometheus family,
 * an optional label that tells members of one family apart, its type and
 * its help text. The three outputs are generated from these lists:
 *
 *   lbctl stats (JSON)      lb_stats_json()          this component
 *   Prometheus /metrics     lb_prom_render()         lb_prom.h
 *   DPDK telemetry          lb_stats_emit_*()        through a sink, app/lbd/telemetry.c
 *
 * so they cannot disagree; tests/unit/test_stats.c checks that each list
 * covers its struct word for word and that the three outputs carry the same
 * names and values.
 *
 * List entry: X(field, key, metric, label, type, unit, help)
 *   field   member of the list's struct (a uint64_t)
 *   key     lbctl JSON key and telemetry name: stable, [a-z0-9_]
 *   metric  Prometheus family without the "lbd_" prefix and the "_total"
 *           suffix of counters; entries of one family are adjacent and tell
 *           themselves apart by label
 *   label   NULL or one extra label pair, e.g. "direction=\"in\""
 *   type    COUNTER or GAUGE (LB_STAT_ prefixed)
 *   unit    ONE, or NS / US / MS: the value is exported to Prometheus in
 *           seconds (the key says the unit it has in JSON)
 *   help    the family's help text (the first entry's is used)
 *
 * Adding a counter: add the field to its struct and one line here; lbctl,
 * Prometheus, telemetry, lbctl top and the docs' tables follow (the README
 * lists every metric; test_stats.c fails until the list covers the struct).
 *
 * Plain C: values are copied in by the app (racy 64-bit loads of the
 * workers' counters, copies of control-thread state); nothing here reads
 * shared memory by itself.
 */
#include "lb_common.h"
#include "lb_dp.h"
#include "lb_ev.h"
#include "lb_neigh.h"
#include "lb_snap.h"

#include <json-c/json.h>

enum lb_stat_type {
	LB_STAT_COUNTER = 0,
	LB_STAT_GAUGE = 1,
};

enum lb_stat_unit {
	LB_STAT_ONE = 0,
	LB_STAT_NS,	/* exported in seconds */
	LB_STAT_US,
	LB_STAT_MS,
};

struct lb_stat_desc {
	const char *key;
	const char *metric;
	const char *label;	/* NULL or `name="value"` */
	const char *help;
	uint16_t off;		/* byte offset of the uint64_t in the list's struct */
	uint8_t type;		/* enum lb_stat_type */
	uint8_t unit;		/* enum lb_stat_unit */
};

/* ---- per worker ----------------------------------------------------------
 * A sample of one worker: its data-path counters (lib/dp, written by the
 * worker alone, copied with racy aligned 64-bit loads) and what it publishes
 * in housekeeping.
 */
struct lb_stats_worker {
	struct lb_dp_counters c;
	uint64_t flows;		/* flows in the worker's table */
	uint64_t affinity;	/* session-affinity entries */
	uint32_t lcore;		/* not a counter: the worker's lcore */
};

#define LB_STATS_WORKER_LIST(X) \
	X(c.rx, "rx", "worker_rx_packets", NULL, COUNTER, ONE, \
		"Frames the worker received from its rx queues.") \
	X(c.tx, "tx", "worker_tx_packets", NULL, COUNTER, ONE, \
		"Frames the worker's tx queues accepted.") \
	X(c.handoff_in, "handoff_in", "worker_handoff_packets", "direction=\"in\"", COUNTER, ONE, \
		"Frames handed between workers to the flow's owner (in: received from another " \
		"worker; out: sent to the owner).") \
	X(c.handoff_out, "handoff_out", "worker_handoff_packets", "direction=\"out\"", COUNTER, ONE, \
		NULL) \
	X(c.to_ctl, "to_control", "worker_to_control_packets", NULL, COUNTER, ONE, \
		"Frames passed to the control thread (ARP, frames waiting for a next hop, frames " \
		"for a kernel interface).") \
	X(c.ctl_tx, "control_tx", "worker_control_tx_packets", NULL, COUNTER, ONE, \
		"Control-originated frames (ARP requests, gratuitous ARP, released frames) the " \
		"worker sent for the control thread.") \
	X(c.ctl_tx_failed, "control_tx_failed", "worker_control_tx_failed_packets", NULL, COUNTER, \
		ONE, "Control-originated frames the NIC refused.") \
	X(flows, "flows", "worker_flows", NULL, GAUGE, ONE, \
		"Flows in the worker's flow table (updated every 1024 polling passes).") \
	X(c.fwd, "fwd", "worker_nat_packets", "direction=\"forward\"", COUNTER, ONE, \
		"Frames NATed (forward: client to target; reverse: target to client).") \
	X(c.rev, "rev", "worker_nat_packets", "direction=\"reverse\"", COUNTER, ONE, NULL) \
	X(c.arp_replies, "arp_replies", "worker_arp_replies", NULL, COUNTER, ONE, \
		"ARP replies sent for VIPs and lbd's own addresses.") \
	X(c.icmp_echo_replies, "icmp_echo_replies", "worker_icmp_echo_replies", NULL, COUNTER, \
		ONE, "ICMP echo replies sent.") \
	X(c.icmp_errors, "icmp_errors", "worker_icmp_errors_translated", NULL, COUNTER, ONE, \
		"ICMP errors about a flow translated and forwarded.") \
	X(c.flows_created, "flows_created", "worker_flows_created", NULL, COUNTER, ONE, \
		"Flows created (a new connection picked a target).") \
	X(c.flows_picked_up, "flows_picked_up", "worker_flows_picked_up", NULL, COUNTER, ONE, \
		"DNAT flows picked up mid-stream (no SYN seen); unconfirmed until the target " \
		"answers.") \
	X(c.flows_promoted, "flows_promoted", "worker_flows_promoted", NULL, COUNTER, ONE, \
		"Picked-up flows confirmed because the target acknowledged the client's segment.") \
	X(c.stateless, "stateless", "worker_stateless_packets", NULL, COUNTER, ONE, \
		"DNAT frames forwarded without creating a flow (a pickup under flood, or a full " \
		"table with no flow a new one may displace); also counted in fwd.") \
	X(c.flood_episodes, "flood_episodes", "worker_flood_episodes", NULL, COUNTER, ONE, \
		"Times the worker's new-flow governor declared a flood (more new flows per second " \
		"than workers.new_flow_rate).") \
	X(c.snat_tw_skips, "snat_time_wait_skips", "worker_snat_time_wait_skips", NULL, COUNTER, \
		ONE, "SNAT address:port candidates passed over because a connection through them " \
		"to the same target closed less than workers.snat_time_wait ago.") \
	X(c.snat_tw_forgotten, "snat_time_wait_forgotten", "worker_snat_time_wait_forgotten", \
		NULL, COUNTER, ONE, "TIME_WAIT entries displaced before their time by a full " \
		"table: each may allow one early reuse of a SNAT address:port towards its target.") \
	X(c.affinity_hits, "affinity_hits", "worker_affinity_hits", NULL, COUNTER, ONE, \
		"New flows that followed a session-affinity entry.") \
	X(affinity, "affinity_entries", "worker_affinity_entries", NULL, GAUGE, ONE, \
		"Session-affinity entries in the worker's table.") \
	X(c.flows_evicted, "flows_evicted", "worker_flows_evicted", NULL, COUNTER, ONE, \
		"Live flows displaced by new ones (a full flow table; expired flows are reclaimed " \
		"first).") \
	X(c.cycles_busy, "cycles_busy", "worker_busy_cycles", NULL, COUNTER, ONE, \
		"TSC cycles of the worker's polling passes that had frames (per frame with " \
		"frames_busy: the worker's cost per frame, I/O included).") \
	X(c.frames_busy, "frames_busy", "worker_busy_frames", NULL, COUNTER, ONE, \
		"Frames those passes processed (received and handed over).") \
	X(c.pass_max_cycles, "pass_max_cycles", "worker_pass_max_cycles", NULL, GAUGE, ONE, \
		"Longest polling pass of the last second in TSC cycles (the worst gap between two " \
		"quiescent states); the total is the worst worker's.") \
	X(c.rx_bursts[0], "rx_bursts_1", "worker_rx_bursts", "size=\"1\"", COUNTER, ONE, \
		"Non-empty rx bursts by size in frames (a histogram of bucket counts, not " \
		"cumulative: 1, 2-3, 4-7, 8-15, 16-31, 32-63, 64).") \
	X(c.rx_bursts[1], "rx_bursts_2_3", "worker_rx_bursts", "size=\"2-3\"", COUNTER, ONE, \
		NULL) \
	X(c.rx_bursts[2], "rx_bursts_4_7", "worker_rx_bursts", "size=\"4-7\"", COUNTER, ONE, \
		NULL) \
	X(c.rx_bursts[3], "rx_bursts_8_15", "worker_rx_bursts", "size=\"8-15\"", COUNTER, ONE, \
		NULL) \
	X(c.rx_bursts[4], "rx_bursts_16_31", "worker_rx_bursts", "size=\"16-31\"", COUNTER, ONE, \
		NULL) \
	X(c.rx_bursts[5], "rx_bursts_32_63", "worker_rx_bursts", "size=\"32-63\"", COUNTER, ONE, \
		NULL) \
	X(c.rx_bursts[6], "rx_bursts_64", "worker_rx_bursts", "size=\"64\"", COUNTER, ONE, NULL)

/* Drops: one counter per reason of LB_DROP_LIST (lib/dp), exported as
 * lbd_worker_dropped_packets_total{worker, reason}, "drops": {reason: n} in
 * lbctl and "drops/<reason>" in telemetry. */
#define LB_STATS_DROP_METRIC	"worker_dropped_packets"
#define LB_STATS_DROP_HELP	"Frames dropped, by reason (every drop has one; see the README)."

/* ---- neighbours (control thread, lib/neigh) ---- */
#define LB_STATS_NEIGH_LIST(X) \
	X(requests, "requests", "neighbour_requests", NULL, COUNTER, ONE, \
		"ARP requests sent to resolve next hops.") \
	X(replies, "replies", "neighbour_replies", NULL, COUNTER, ONE, \
		"ARP answers that updated a neighbour entry.") \
	X(queued, "queued", "neighbour_queued_packets", NULL, COUNTER, ONE, \
		"Frames queued while their next hop was resolved.") \
	X(sent, "sent", "neighbour_released_packets", NULL, COUNTER, ONE, \
		"Queued frames sent once their next hop answered.") \
	X(queue_full, "queue_full", "neighbour_dropped_packets", "reason=\"queue_full\"", COUNTER, \
		ONE, "Frames the neighbour resolver dropped, by reason.") \
	X(failed, "failed", "neighbour_dropped_packets", "reason=\"resolution_failed\"", COUNTER, \
		ONE, NULL) \
	X(table_full, "table_full", "neighbour_dropped_packets", "reason=\"table_full\"", COUNTER, \
		ONE, NULL) \
	X(resolutions_failed, "resolutions_failed", "neighbour_resolutions_failed", NULL, COUNTER, \
		ONE, "Next hops that did not answer ARP (entry went FAILED).")

/* ---- control thread ---- */
struct lb_ctl_counters {
	uint64_t rx;			/* frames from the workers' ring */
	uint64_t arp_in;
	uint64_t resolve_in;
	uint64_t garp_sent;
	uint64_t arp_requests_sent;
	uint64_t tx_enqueue_failed;
	uint64_t alloc_failed;
	uint64_t arp_conflicts;		/* conflicting ARPs the workers passed on (defend.c) */
	uint64_t arp_defences;		/* announcements sent to defend an address */
	/* The kernel interfaces (app/lbd/kni.c). They add up:
	 *   kernel_rx + kernel_arp == kernel_in + kernel_in_failed
	 *   frames read from the kernel ==
	 *	kernel_out + kernel_out_filtered + kernel_out_failed */
	uint64_t kernel_rx;		/* frames from the workers' kernel ring */
	uint64_t kernel_arp;		/* ARP replies and announcements copied to the kernel */
	uint64_t kernel_in;		/* frames the kernel interface accepted */
	uint64_t kernel_in_failed;	/* ... refused (or no mbuf for an ARP copy) */
	uint64_t kernel_out;		/* frames from the kernel queued to leave the port */
	uint64_t kernel_out_filtered;	/* ... not IPv4/ARP from the port's MAC and address */
	uint64_t kernel_out_failed;	/* ... dropped: worker 0's ring full, no room for a tag */
};

#define LB_STATS_CTL_LIST(X) \
	X(rx, "rx", "control_rx_packets", NULL, COUNTER, ONE, \
		"Frames the control thread took from the workers' ring.") \
	X(arp_in, "arp_in", "control_arp_packets", NULL, COUNTER, ONE, \
		"ARP frames the control thread learned from.") \
	X(resolve_in, "resolve_in", "control_resolve_packets", NULL, COUNTER, ONE, \
		"Frames handed to the control thread to wait for their next hop.") \
	X(garp_sent, "garp_sent", "control_gratuitous_arp_sent", NULL, COUNTER, ONE, \
		"Gratuitous ARP announcements sent.") \
	X(arp_requests_sent, "arp_requests_sent", "control_arp_requests_sent", NULL, COUNTER, ONE, \
		"ARP requests the control thread queued for transmission.") \
	X(tx_enqueue_failed, "tx_enqueue_failed", "control_tx_enqueue_failed_packets", NULL, \
		COUNTER, ONE, "Control frames dropped because worker 0's control ring was full.") \
	X(alloc_failed, "alloc_failed", "control_mbuf_alloc_failures", NULL, COUNTER, ONE, \
		"Control frames not built for lack of an mbuf.") \
	X(arp_conflicts, "arp_conflicts", "control_arp_conflicts", NULL, COUNTER, ONE, \
		"ARP frames from another station claiming one of lbd's addresses, as the " \
		"workers passed them on (at most one per second per worker).") \
	X(arp_defences, "arp_defences", "control_arp_defences", NULL, COUNTER, ONE, \
		"Announcements lbd sent to keep an address another station claimed (at most " \
		"one per 10 s per address).") \
	X(kernel_rx, "kernel_rx", "control_kernel_ring_packets", NULL, COUNTER, ONE, \
		"Frames for the ports' kernel interfaces the control thread took from the " \
		"workers' kernel ring.") \
	X(kernel_arp, "kernel_arp", "control_kernel_arp_packets", NULL, COUNTER, ONE, \
		"ARP replies and announcements for a port's address copied to its kernel " \
		"interface.") \
	X(kernel_in, "kernel_in", "kernel_packets", "direction=\"in\"", COUNTER, ONE, \
		"Frames through the ports' kernel interfaces (in: written to the kernel; out: " \
		"sent by the kernel and queued to leave the port).") \
	X(kernel_out, "kernel_out", "kernel_packets", "direction=\"out\"", COUNTER, ONE, NULL) \
	X(kernel_in_failed, "kernel_in_failed", "kernel_dropped_packets", \
		"reason=\"in_refused\"", COUNTER, ONE, \
		"Frames of the kernel path the control thread dropped, by reason (in_refused: " \
		"the kernel interface did not take it; out_filtered: the kernel sent something " \
		"other than IPv4 or ARP from the port's MAC and address; out_failed: worker 0's " \
		"control ring was full or no room for the VLAN tag).") \
	X(kernel_out_filtered, "kernel_out_filtered", "kernel_dropped_packets", \
		"reason=\"out_filtered\"", COUNTER, ONE, NULL) \
	X(kernel_out_failed, "kernel_out_failed", "kernel_dropped_packets", \
		"reason=\"out_failed\"", COUNTER, ONE, NULL)

/* ---- ports (ethdev statistics, read by the control thread) ---- */
struct lb_stats_port {
	uint64_t ipackets;
	uint64_t opackets;
	uint64_t ibytes;
	uint64_t obytes;
	uint64_t imissed;
	uint64_t ierrors;
	uint64_t oerrors;
	uint64_t rx_nombuf;
	uint64_t link_up;
	/* labels */
	char name[LB_NAME_MAX];
	char role[16];
	char driver[32];
	char mac[18];
};

#define LB_STATS_PORT_LIST(X) \
	X(ipackets, "rx_packets", "port_rx_packets", NULL, COUNTER, ONE, \
		"Frames the NIC received (ethdev ipackets).") \
	X(opackets, "tx_packets", "port_tx_packets", NULL, COUNTER, ONE, \
		"Frames the NIC sent (ethdev opackets).") \
	X(ibytes, "rx_bytes", "port_rx_bytes", NULL, COUNTER, ONE, \
		"Bytes the NIC received (ethdev ibytes).") \
	X(obytes, "tx_bytes", "port_tx_bytes", NULL, COUNTER, ONE, \
		"Bytes the NIC sent (ethdev obytes).") \
	X(imissed, "rx_missed", "port_rx_missed_packets", NULL, COUNTER, ONE, \
		"Frames the NIC dropped because no rx descriptor was free (ethdev imissed).") \
	X(ierrors, "rx_errors", "port_rx_errors", NULL, COUNTER, ONE, \
		"Erroneous frames received (ethdev ierrors).") \
	X(oerrors, "tx_errors", "port_tx_errors", NULL, COUNTER, ONE, \
		"Frames the NIC failed to send (ethdev oerrors).") \
	X(rx_nombuf, "rx_nombuf", "port_rx_mbuf_allocation_failures", NULL, COUNTER, ONE, \
		"Receive mbuf allocation failures (ethdev rx_nombuf).") \
	X(link_up, "link_up", "port_link_up", NULL, GAUGE, ONE, "1 when the port's link is up.")

/* ---- the daemon: snapshots, reloads, event loop, neighbours by state ---- */
struct lb_stats_daemon {
	uint64_t generation;
	uint64_t frontends;
	uint64_t snap_submitted;
	uint64_t snap_published;
	uint64_t snap_failed;
	uint64_t snap_conflicts;
	uint64_t snap_last_build_ns;
	uint64_t snap_max_build_ns;
	uint64_t snap_last_table_ns;
	uint64_t snap_last_tables_built;
	uint64_t snap_last_tables_reused;
	uint64_t snap_inflight;
	uint64_t snap_dirty;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	uint64_t reload_last_ok;
	uint64_t reload_last_time;
	uint64_t ev_passes;
	uint64_t ev_callbacks;
	uint64_t ev_busy_us;
	uint64_t ev_slow_passes;
	uint64_t ev_max_pass_us;
	uint64_t ev_fds;
	uint64_t ev_timers;
	uint64_t neigh_incomplete;
	uint64_t neigh_reachable;
	uint64_t neigh_probe;
	uint64_t neigh_failed;
	uint64_t neigh_permanent;
	uint64_t start_time;
	uint64_t ready;
	uint64_t view_age_ms;
	/*
	 * Kubernetes sync (issue 5) and health checks (issue 8) go here: add
	 * the fields and their lines below, e.g. k8s_synced,
	 * k8s_watch_restarts{resource}, k8s_last_event_time,
	 * health_checks{result}, targets_unhealthy. Nothing else changes.
	 */
};

#define LB_STATS_DAEMON_LIST(X) \
	X(generation, "generation", "snapshot_generation", NULL, GAUGE, ONE, \
		"Generation of the published snapshot (1 = the first).") \
	X(frontends, "frontends", "frontends", NULL, GAUGE, ONE, \
		"Frontends in the published snapshot.") \
	X(snap_submitted, "snapshots_submitted", "snapshot_builds_submitted", NULL, COUNTER, ONE, \
		"Snapshot builds handed to the builder thread.") \
	X(snap_published, "snapshots_published", "snapshots_published", NULL, COUNTER, ONE, \
		"Snapshots published to the workers.") \
	X(snap_failed, "snapshots_failed", "snapshot_builds_failed", NULL, COUNTER, ONE, \
		"Snapshot builds that failed (the previous snapshot stayed).") \
	X(snap_conflicts, "snapshot_conflicts", "snapshot_merge_conflicts", NULL, COUNTER, ONE, \
		"Frontends dropped by model merges because another source had them.") \
	X(snap_last_build_ns, "snapshot_last_build_ns", "snapshot_last_build_seconds", NULL, \
		GAUGE, NS, "Time from submit to publish of the last snapshot.") \
	X(snap_max_build_ns, "snapshot_max_build_ns", "snapshot_max_build_seconds", NULL, GAUGE, \
		NS, "Longest submit-to-publish time since start.") \
	X(snap_last_table_ns, "snapshot_last_table_ns", "snapshot_last_table_build_seconds", NULL, \
		GAUGE, NS, "Time the last build spent building Maglev tables.") \
	X(snap_last_tables_built, "snapshot_last_tables_built", "snapshot_last_tables", \
		"kind=\"built\"", GAUGE, ONE, \
		"Maglev tables of the last snapshot, built anew or reused from the previous one.") \
	X(snap_last_tables_reused, "snapshot_last_tables_reused", "snapshot_last_tables", \
		"kind=\"reused\"", GAUGE, ONE, NULL) \
	X(snap_inflight, "snapshot_building", "snapshot_build_in_progress", NULL, GAUGE, ONE, \
		"1 while a snapshot build is in flight.") \
	X(snap_dirty, "snapshot_pending", "snapshot_changes_pending", NULL, GAUGE, ONE, \
		"1 while changes wait for the next build.") \
	X(reloads_ok, "reloads_ok", "reloads", "result=\"ok\"", COUNTER, ONE, \
		"Configuration reloads (SIGHUP, lbctl reload), by result.") \
	X(reloads_failed, "reloads_failed", "reloads", "result=\"failed\"", COUNTER, ONE, NULL) \
	X(reload_last_ok, "reload_last_ok", "reload_last_success", NULL, GAUGE, ONE, \
		"1 when the last reload succeeded (or there was none).") \
	X(reload_last_time, "reload_last_time", "reload_last_timestamp_seconds", NULL, GAUGE, ONE, \
		"Unix time of the last reload, 0 for none.") \
	X(ev_passes, "event_loop_passes", "event_loop_passes", NULL, COUNTER, ONE, \
		"Passes of the control thread's event loop.") \
	X(ev_callbacks, "event_loop_callbacks", "event_loop_callbacks", NULL, COUNTER, ONE, \
		"Callbacks the event loop ran.") \
	X(ev_busy_us, "event_loop_busy_us", "event_loop_busy_seconds", NULL, COUNTER, US, \
		"Time the event loop spent in callbacks.") \
	X(ev_slow_passes, "event_loop_slow_passes", "event_loop_slow_passes", NULL, COUNTER, ONE, \
		"Event loop passes longer than 20 ms.") \
	X(ev_max_pass_us, "event_loop_max_pass_us", "event_loop_max_pass_seconds", NULL, GAUGE, US, \
		"Longest event loop pass since start or the last `lbctl status` reset.") \
	X(ev_fds, "event_loop_fds", "event_loop_fds", NULL, GAUGE, ONE, \
		"File descriptors registered with the event loop.") \
	X(ev_timers, "event_loop_timers", "event_loop_timers_armed", NULL, GAUGE, ONE, \
		"Timers armed in the event loop.") \
	X(neigh_incomplete, "neighbours_incomplete", "neighbours", "state=\"incomplete\"", GAUGE, \
		ONE, "Neighbour entries, by state.") \
	X(neigh_reachable, "neighbours_reachable", "neighbours", "state=\"reachable\"", GAUGE, ONE, \
		NULL) \
	X(neigh_probe, "neighbours_probe", "neighbours", "state=\"probe\"", GAUGE, ONE, NULL) \
	X(neigh_failed, "neighbours_failed", "neighbours", "state=\"failed\"", GAUGE, ONE, NULL) \
	X(neigh_permanent, "neighbours_permanent", "neighbours", "state=\"permanent\"", GAUGE, ONE, \
		NULL) \
	X(start_time, "start_time", "start_time_seconds", NULL, GAUGE, ONE, \
		"Unix time lbd started.") \
	X(ready, "ready", "ready", NULL, GAUGE, ONE, \
		"1 when lbd is ready (/readyz): ports up, a snapshot published and, when " \
		"configured, the first Kubernetes sync done.") \
	X(view_age_ms, "view_age_ms", "control_view_age_seconds", NULL, GAUGE, MS, \
		"Age of the control thread's last published view; grows when the control loop " \
		"stalls.")

/* ---- per frontend and per target ----
 * LB_STATS_FE_LIST and LB_STATS_TARGET_LIST, and the sets the workers keep,
 * are in lb_stats_sets.h: lib/dp writes them and cannot include this header
 * (lib/stats depends on lib/dp). */
#include "lb_stats_sets.h"

/* ---- descriptors generated from the lists ---- */
extern const struct lb_stat_desc lb_stats_worker_desc[];
extern const unsigned lb_stats_worker_n;
extern const struct lb_stat_desc lb_stats_neigh_desc[];
extern const unsigned lb_stats_neigh_n;
extern const struct lb_stat_desc lb_stats_ctl_desc[];
extern const unsigned lb_stats_ctl_n;
extern const struct lb_stat_desc lb_stats_port_desc[];
extern const unsigned lb_stats_port_n;
extern const struct lb_stat_desc lb_stats_daemon_desc[];
extern const unsigned lb_stats_daemon_n;
/* off is the index into v[] times 8 for these two */
extern const struct lb_stat_desc lb_stats_fe_desc[];
extern const unsigned lb_stats_fe_n;
extern const struct lb_stat_desc lb_stats_target_desc[];
extern const unsigned lb_stats_target_n;

static inline uint64_t
lb_stat_get(const void *base, const struct lb_stat_desc *d)
{
	return *(const uint64_t *)(const void *)((const uint8_t *)base + d->off);
}

/*
 * A racy copy of a worker's counters: each is one aligned 64-bit word
 * written by its worker only, read with a volatile load (a torn value cannot
 * occur on the 64-bit targets DPDK supports; a sum over words may mix moments,
 * as any reader of live counters does).
 */
void lb_stats_read_dp(const struct lb_dp_counters *live, struct lb_dp_counters *out);

/* out += in, word by word (lcore is left alone). */
void lb_stats_worker_add(struct lb_stats_worker *out, const struct lb_stats_worker *in);

/* ---- the whole picture, as one exporter sees it ---- */

/* What a frontend is, from the published snapshot (control thread). */
enum lb_stats_target_state {
	LB_STATS_TS_ACTIVE = 0,
	LB_STATS_TS_DRAINED,
	LB_STATS_TS_TERMINATING,
	LB_STATS_TS_UNHEALTHY,
	LB_STATS_TS_STANDBY,		/* weight 0 */
	LB_STATS_TS_N
};
const char *lb_stats_target_state_str(enum lb_stats_target_state s);

struct lb_stats_target_info {
	char target[48];		/* "ADDRESS:PORT" */
	uint32_t weight;
	uint8_t state;			/* enum lb_stats_target_state */
	uint32_t slot;			/* counter slot, LB_STATS_NO_SLOT until counted */
};

struct lb_stats_fe_info {
	char name[384];
	char vip[48];
	char protocol[8];
	char method[16];
	char source[16];		/* "config" or "kubernetes" */
	uint16_t port;
	uint32_t n_active;
	bool fail_open;
	uint32_t slot;			/* counter slot, LB_STATS_NO_SLOT until counted */
	uint32_t n_targets;
	const struct lb_stats_target_info *targets;
};

#define LB_STATS_NO_SLOT	UINT32_MAX
_Static_assert(LB_STATS_NO_SLOT == LB_SNAP_NO_CTR, "a snapshot's slots are the view's");

struct lb_stats_view {
	const char *version;
	const char *dpdk_version;
	uint32_t n_workers;
	const struct lb_stats_worker *workers;
	struct lb_ctl_counters ctl;
	struct lb_neigh_counters neigh;
	uint32_t n_ports;
	const struct lb_stats_port *ports;
	struct lb_stats_daemon daemon;
	uint32_t n_fes;
	const struct lb_stats_fe_info *fes;
	/* Per-frontend and per-target counter sets, per worker (fe_sets[w] is an
	 * array indexed by slot); NULL while the data path does not count them. */
	const struct lb_stats_fe_set *const *fe_sets;
	uint32_t n_fe_slots;
	const struct lb_stats_target_set *const *target_sets;
	uint32_t n_target_slots;
};

/* Sum of slot over the workers; false when there is nothing to sum. */
bool lb_stats_fe_sum(const struct lb_stats_view *v, uint32_t slot, struct lb_stats_fe_set *out);
bool lb_stats_target_sum(const struct lb_stats_view *v, uint32_t slot,
	struct lb_stats_target_set *out);

/*
 * lbctl stats: {"workers": [{"id", "lcore", <worker list>, "drops": {}}],
 * "total": {...}, "neighbours": {<neigh list>}, "control": {<ctl list>},
 * "ports": [{"name", <port list>}]}, and with counter sets
 * "frontends": [{"name", <frontend list>, "targets": [{"target", <target
 * list>}]}]. docs/lbctl.md shows it. NULL on ENOMEM.
 */
struct json_object *lb_stats_json(const struct lb_stats_view *v);

/*
 * Telemetry and anything else that wants (key, value) pairs in list order.
 * Nested keys are "section/key" ("drops/no_flow"). Each emitter returns 0 or
 * the sink's first negative return.
 */
struct lb_stats_sink {
	void *ctx;
	int (*u64)(void *ctx, const char *key, uint64_t v);
};
int lb_stats_emit_worker(const struct lb_stats_worker *w, const struct lb_stats_sink *s);
int lb_stats_emit_list(const struct lb_stat_desc *d, unsigned n, const void *base,
	const struct lb_stats_sink *s);

/*
 * Counter slots for per-frontend and per-target sets: a key (frontend id, or
 * lb_stats_target_key) -> a dense slot index below capacity. Control thread
 * only.
 *
 * Life of a slot: lb_stats_slot_get() gives a key its slot (the same one
 * while the key lives); lb_stats_slot_retire() marks it unused from a
 * moment (a token, e.g. the RCU token of the snapshot that dropped the key);
 * lb_stats_slot_reclaim() frees the retired slots that done() accepts
 * (no worker can write them any more: the token's grace period is over and
 * no flow holds the slot) and calls zero() on each so it starts
 * from 0 when it is reused; a key seen again before that keeps its slot and
 * its counts.
 */
struct lb_stats_slots;
struct lb_stats_slots *lb_stats_slots_new(uint32_t capacity);
void lb_stats_slots_free(struct lb_stats_slots *s);
/* The key's slot; LB_STATS_NO_SLOT when every slot is taken. */
uint32_t lb_stats_slot_get(struct lb_stats_slots *s, uint64_t key);
/* The key's slot or LB_STATS_NO_SLOT, without assigning one. */
uint32_t lb_stats_slot_find(const struct lb_stats_slots *s, uint64_t key);
/* 0, or -ENOENT when the key has no slot. */
int lb_stats_slot_retire(struct lb_stats_slots *s, uint64_t key, uint64_t token);
/* Returns how many slots were freed. */
uint32_t lb_stats_slot_reclaim(struct lb_stats_slots *s,
	bool (*done)(void *ctx, uint32_t slot, uint64_t token),
	void (*zero)(void *ctx, uint32_t slot), void *ctx);
uint32_t lb_stats_slots_used(const struct lb_stats_slots *s);
/* The key of a target's slot: its frontend's id and its Maglev identity. */
uint64_t lb_stats_target_key(uint64_t fe_id, uint64_t target_id);

#endif /* LB_STATS_H */
