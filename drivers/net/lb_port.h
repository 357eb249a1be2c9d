/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_PORT_H
#define LB_PORT_H

/*
 * Port bring-up for any DPDK device lbd is given: a PCI address on a real
 * NIC, or a vdev string (net_pcap, net_af_packet, net_af_xdp, net_memif,
 * net_tap, net_null, net_ring). This is the only code that knows how devices
 * differ: how many queues they offer, which need arguments added, whether
 * RSS can be configured.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

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

/*
 * Configures and starts a port with up to want_rxq rx queues (at least 1; fewer
 * when the device has fewer: the workers then hand packets to their owners)
 * and exactly n_txq tx queues (one per worker; an error naming the device's
 * limit when it has fewer). Returns 0 or a negative errno with a message in err.
 *
 * A port that fails half way is left as it is, not closed: some PMDs release
 * what a failed queue setup allocated and then again when the port is closed
 * (net_pcap with infinite_rx frees its packet ring twice and crashes). lbd
 * exits right after such a failure, which releases the rest; nor should it
 * run rte_eal_cleanup, which closes every device (info->configured without
 * info->started tells).
 */
int lb_port_start(uint16_t port_id, uint16_t want_rxq, uint16_t n_txq, struct rte_mempool *mp,
	struct lb_port_info *info, char *err, size_t errlen);

/* Stops and closes a port lb_port_start started. */
void lb_port_stop(uint16_t port_id);

/* Link state for lbctl status. */
bool lb_port_link_up(uint16_t port_id);

#endif /* LB_PORT_H */
