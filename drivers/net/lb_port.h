/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_PORT_H
#define LB_PORT_H

/*
 * Port bring-up for any DPDK device lbd is given: a PCI address on a real
 * NIC, or a vdev string (net_pcap, net_af_packet, net_af_xdp, net_memif,
 * net_tap, net_null, net_ring). This is the only code that knows how devices
 * differ: how many queues they offer, which need arguments added, whether
 * RSS can be configured and how, whether rte_flow can steer, how many mbufs
 * a PMD keeps for itself.
 *
 * Steering (lib/owner says which worker owns a frame; rx queue q is polled by
 * worker q): where the device allows it, lb_port_start programs RSS on the
 * client address alone (L3 source only on the external role, L3 destination
 * only on the internal one) with lib/owner's symmetric key and redirection
 * table, and lb_port_steer_snat adds one rte_flow rule per (SNAT address,
 * protocol, port residue) that sends FullNAT replies to the queue of the
 * worker owning the SNAT port. Frames that still arrive on another worker's
 * queue (a device without these features, fewer queues than workers, a
 * one-arm port, ICMP errors) are handed over in software and counted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "lb_owner.h"

#define LB_PORT_RXD	1024
#define LB_PORT_TXD	1024

struct lb_port_info {
	uint16_t port_id;
	uint16_t n_rxq;		/* queues actually configured */
	uint16_t n_txq;
	struct rte_ether_addr mac;
	uint16_t mtu;		/* what the device reports once started */
	char driver[64];
	bool rss;		/* RSS over several rx queues is active */
	bool rss_owner;		/* ... and computes lib/owner's hash and table exactly */
	uint16_t reta_size;	/* redirection entries programmed (0: none) */
	bool ip_csum;		/* the NIC verifies IPv4 header checksums (mbuf flags) */
	bool rss_hash;		/* the NIC reports its RSS hash in the mbuf */
	uint32_t snat_rules;	/* rte_flow rules steering FullNAT replies (0: none) */
	char steering[96];	/* how frames reach their owner, for logs and lbctl */
	bool configured;	/* rte_eth_dev_configure succeeded */
	bool started;		/* lb_port_start succeeded: lb_port_stop undoes it */
};

/* Whether device names a vdev (net_*) rather than a PCI address. */
bool lb_port_is_vdev(const char *device);

/*
 * The EAL argument for device, adjusted for lbd: net_af_packet gets
 * qpairs=<n_workers> unless given, so that every worker has a queue pair.
 * Returns 0 or -ENAMETOOLONG.
 */
int lb_port_devargs(const char *device, unsigned n_workers, char *out, size_t outlen);

/* DPDK port id of a probed device, matched by vdev name or PCI address. */
int lb_port_find(const char *device, uint16_t *port_id);

/* Redirection table size of a probed device, 0 when it has no RSS. */
uint16_t lb_port_reta_size(uint16_t port_id);

/*
 * Mbufs a port needs with want_rxq rx queues (fewer if the device has fewer)
 * and n_txq tx queues: their descriptor rings, plus what the PMD keeps of its
 * own (net_pcap with infinite_rx=1 holds a copy of every frame of its rx
 * files). devargs is the device string given to the EAL.
 */
uint64_t lb_port_mbufs(uint16_t port_id, const char *devargs, uint16_t want_rxq,
	uint16_t n_txq);

/*
 * Configures and starts a port with up to want_rxq rx queues (at least 1; fewer
 * when the device has fewer: the workers then hand packets to their owners)
 * and exactly n_txq tx queues (one per worker; an error naming the device's
 * limit when it has fewer). role (enum lb_role bits) picks the RSS input;
 * owner gives the key and redirection table. Returns 0 or a negative errno
 * with a message in err.
 *
 * A port that fails half way is left as it is, not closed: some PMDs release
 * what a failed queue setup allocated and then again when the port is closed
 * (net_pcap with infinite_rx frees its packet ring twice and crashes). lbd
 * exits right after such a failure, which releases the rest; nor should it
 * run rte_eal_cleanup, which closes every device (info->configured without
 * info->started tells).
 */
int lb_port_start(uint16_t port_id, uint16_t want_rxq, uint16_t n_txq, unsigned role,
	const struct lb_owner *owner, struct rte_mempool *mp, struct lb_port_info *info,
	char *err, size_t errlen);

/*
 * Installs the rte_flow rules that send FullNAT replies (TCP and UDP to a SNAT
 * address) to the queue of the worker owning the destination port. All or
 * nothing: on any failure the rules made are removed and the replies are
 * handed over in software. Returns the number of rules (0 when one worker
 * needs none), or a negative errno with the device's reason in err.
 */
int lb_port_steer_snat(uint16_t port_id, const struct lb_owner *owner, const uint32_t *addrs,
	uint32_t n_addrs, struct lb_port_info *info, char *err, size_t errlen);

/* Stops and closes a port lb_port_start started. */
void lb_port_stop(uint16_t port_id);

/* Link state for lbctl status. */
bool lb_port_link_up(uint16_t port_id);

#endif /* LB_PORT_H */
