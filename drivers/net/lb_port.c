/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "lb_port.h"

bool
lb_port_is_vdev(const char *device)
{
	return strncmp(device, "net_", 4) == 0;
}

int
lb_port_devargs(const char *device, unsigned n_workers, char *out, size_t outlen)
{
	int n;

	/* af_packet opens one socket per queue pair and fans packets out
	 * among them; lbd wants one pair per worker. */
	if (strncmp(device, "net_af_packet", 13) == 0 && strstr(device, "qpairs=") == NULL)
		n = snprintf(out, outlen, "%s,qpairs=%u", device, n_workers);
	else
		n = snprintf(out, outlen, "%s", device);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int
lb_port_find(const char *device, uint16_t *port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t n = strcspn(device, ",");

	if (n >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, device, n);
	name[n] = '\0';
	return rte_eth_dev_get_port_by_name(name, port_id);
}

int
lb_port_start(uint16_t port_id, uint16_t want_rxq, uint16_t n_txq, struct rte_mempool *mp,
	struct lb_port_info *info, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info dev;
	struct rte_eth_txconf txc;
	uint16_t nrxd = LB_PORT_RXD, ntxd = LB_PORT_TXD, q;
	int socket = rte_eth_dev_socket_id(port_id);
	int rc;

	memset(info, 0, sizeof(*info));
	rc = rte_eth_dev_info_get(port_id, &dev);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: cannot get device info: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	snprintf(info->driver, sizeof(info->driver), "%s", dev.driver_name);
	if (dev.max_tx_queues < n_txq) {
		snprintf(err, errlen,
			"port %u (%s): device offers %u tx queue(s), lbd needs %u (one per worker)%s",
			port_id, dev.driver_name, dev.max_tx_queues, n_txq,
			strstr(dev.driver_name, "pcap") ? "; give net_pcap one tx_pcap= per worker" : "");
		return -EINVAL;
	}
	info->n_rxq = want_rxq < dev.max_rx_queues ? want_rxq : dev.max_rx_queues;
	if (info->n_rxq == 0)
		info->n_rxq = 1;
	info->n_txq = n_txq;

	memset(&conf, 0, sizeof(conf));
	if (info->n_rxq > 1 && (dev.flow_type_rss_offloads & (RTE_ETH_RSS_NONFRAG_IPV4_TCP |
	    RTE_ETH_RSS_NONFRAG_IPV4_UDP))) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = dev.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP);
		info->rss = true;
	}
	if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	rc = rte_eth_dev_configure(port_id, info->n_rxq, info->n_txq, &conf);
	if (rc != 0) {
		snprintf(err, errlen, "port %u (%s): configure %u rx / %u tx queues: %s", port_id,
			dev.driver_name, info->n_rxq, info->n_txq, rte_strerror(-rc));
		return rc;
	}
	info->configured = true;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nrxd, &ntxd);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: descriptor counts: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	for (q = 0; q < info->n_rxq; q++) {
		rc = rte_eth_rx_queue_setup(port_id, q, nrxd, socket, NULL, mp);
		if (rc != 0) {
			snprintf(err, errlen, "port %u: rx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	txc = dev.default_txconf;
	txc.offloads = conf.txmode.offloads;
	for (q = 0; q < info->n_txq; q++) {
		rc = rte_eth_tx_queue_setup(port_id, q, ntxd, socket, &txc);
		if (rc != 0) {
			snprintf(err, errlen, "port %u: tx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %u (%s): start: %s", port_id, dev.driver_name,
			rte_strerror(-rc));
		return rc;
	}
	rte_eth_macaddr_get(port_id, &info->mac);
	if (rte_eth_dev_get_mtu(port_id, &info->mtu) != 0)
		info->mtu = RTE_ETHER_MTU;
	info->port_id = port_id;
	info->started = true;
	return 0;
}

void
lb_port_stop(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}

bool
lb_port_link_up(uint16_t port_id)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(port_id, &link) != 0)
		return false;
	return link.link_status == RTE_ETH_LINK_UP;
}
