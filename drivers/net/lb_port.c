/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_flow.h>

#include "lb_config.h"
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

uint16_t
lb_port_reta_size(uint16_t port_id)
{
	struct rte_eth_dev_info dev;

	if (rte_eth_dev_info_get(port_id, &dev) != 0 || dev.flow_type_rss_offloads == 0)
		return 0;
	return dev.reta_size;
}

/* --- mbufs --- */

/* Frames in a pcap file (either byte order, micro- or nanosecond), 0 when it
 * cannot be read. */
static uint64_t
pcap_frames(const char *path)
{
	static const uint32_t magics[] = { 0xa1b2c3d4, 0xa1b23c4d };
	uint8_t hdr[24], rec[16];
	uint64_t n = 0;
	uint32_t magic, incl;
	bool swap = false;
	FILE *f = fopen(path, "rb");
	unsigned i;

	if (f == NULL)
		return 0;
	if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr)) {
		fclose(f);
		return 0;
	}
	memcpy(&magic, hdr, 4);
	for (i = 0; i < RTE_DIM(magics); i++)
		if (magic == magics[i] || magic == __builtin_bswap32(magics[i]))
			swap = magic != magics[i];
	while (fread(rec, 1, sizeof(rec), f) == sizeof(rec)) {
		memcpy(&incl, rec + 8, 4);
		if (swap)
			incl = __builtin_bswap32(incl);
		if (fseek(f, (long)incl, SEEK_CUR) != 0)
			break;
		n++;
	}
	fclose(f);
	return n;
}

/* What a PMD keeps beyond its descriptor rings: net_pcap with infinite_rx
 * loads every frame of its rx files into mbufs of the rx queue's pool. */
static uint64_t
pmd_mbufs(const char *devargs)
{
	char buf[LB_CONFIG_DEVICE_MAX + 32], *tok, *save = NULL;
	uint64_t n = 0;
	bool infinite = false;

	if (strncmp(devargs, "net_pcap", 8) != 0 || strlen(devargs) >= sizeof(buf))
		return 0;
	strcpy(buf, devargs);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "infinite_rx=1") == 0)
			infinite = true;
	if (!infinite)
		return 0;
	strcpy(buf, devargs);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (strncmp(tok, "rx_pcap=", 8) == 0)
			n += pcap_frames(tok + 8);
	return n;
}

uint64_t
lb_port_mbufs(uint16_t port_id, const char *devargs, uint16_t want_rxq, uint16_t n_txq)
{
	struct rte_eth_dev_info dev;
	uint64_t rxq = want_rxq, rxd = LB_PORT_RXD, txd = LB_PORT_TXD;

	if (rte_eth_dev_info_get(port_id, &dev) == 0) {
		if (dev.max_rx_queues > 0 && dev.max_rx_queues < rxq)
			rxq = dev.max_rx_queues;
		if (dev.rx_desc_lim.nb_min > rxd)
			rxd = dev.rx_desc_lim.nb_min;
		if (dev.tx_desc_lim.nb_min > txd)
			txd = dev.tx_desc_lim.nb_min;
	}
	return rxq * rxd + (uint64_t)n_txq * txd + pmd_mbufs(devargs);
}

/* --- start --- */

/*
 * RSS as lib/owner computes it: the client address alone (L3 source of
 * client frames on the external role, L3 destination of DNAT replies on the
 * internal one), lbd's symmetric key, lbd's redirection table. Falls back to
 * the device's own IPv4 hashing (frames then reach their owner by hand-off).
 */
static void
rss_conf(const struct rte_eth_dev_info *dev, unsigned role, uint8_t *key,
	struct rte_eth_conf *conf, bool *exact)
{
	uint64_t only = role == LB_ROLE_EXTERNAL ? RTE_ETH_RSS_L3_SRC_ONLY :
		role == LB_ROLE_INTERNAL ? RTE_ETH_RSS_L3_DST_ONLY : 0;
	uint64_t capa = dev->flow_type_rss_offloads;

	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	*exact = only != 0 && (capa & RTE_ETH_RSS_IPV4) && (capa & only);
	if (*exact) {
		/* IPv4 alone (not the TCP/UDP types, whose input has the
		 * ports): the address is the whole input. */
		conf->rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IPV4 | only;
	} else {
		conf->rx_adv_conf.rss_conf.rss_hf = capa & (RTE_ETH_RSS_IP |
			RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP);
	}
	if (dev->hash_key_size > 0) {
		lb_owner_default_key(key, dev->hash_key_size);
		conf->rx_adv_conf.rss_conf.rss_key = key;
		conf->rx_adv_conf.rss_conf.rss_key_len = dev->hash_key_size;
	} else {
		*exact = false;	/* cannot set the key */
	}
}

/* Programs lib/owner's redirection table (entry i -> worker i % n_workers,
 * repeated over a larger device table). */
static int
program_reta(uint16_t port_id, uint16_t reta_size, uint16_t n_rxq, const struct lb_owner *owner)
{
	struct rte_eth_rss_reta_entry64 conf[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE];
	uint16_t i;

	if (reta_size == 0 || reta_size > RTE_ETH_RSS_RETA_SIZE_512 ||
	    reta_size % owner->reta_size != 0)
		return -ENOTSUP;
	memset(conf, 0, sizeof(conf));
	for (i = 0; i < reta_size; i++) {
		uint8_t q = owner->reta[i & (owner->reta_size - 1)];

		if (q >= n_rxq)
			return -ENOTSUP;
		conf[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
		conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = q;
	}
	return rte_eth_dev_rss_reta_update(port_id, conf, reta_size);
}

int
lb_port_start(uint16_t port_id, uint16_t want_rxq, uint16_t n_txq, unsigned role,
	const struct lb_owner *owner, struct rte_mempool *mp, struct lb_port_info *info,
	char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info dev;
	struct rte_eth_txconf txc;
	uint8_t key[256];
	uint16_t nrxd = LB_PORT_RXD, ntxd = LB_PORT_TXD, q;
	int socket = rte_eth_dev_socket_id(port_id);
	bool exact = false;
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
	/* key[] holds any uint8_t hash_key_size */
	if (info->n_rxq > 1 && (dev.flow_type_rss_offloads & RTE_ETH_RSS_IP)) {
		rss_conf(&dev, role, key, &conf, &exact);
		info->rss = true;
		if (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH) {
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
			info->rss_hash = true;
		}
	}
	if (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
		info->ip_csum = true;
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
	if (info->rss) {
		/* reta_size is only known for sure once the port is configured */
		if (rte_eth_dev_info_get(port_id, &dev) == 0 &&
		    program_reta(port_id, dev.reta_size, info->n_rxq, owner) == 0)
			info->reta_size = dev.reta_size;
		info->rss_owner = exact && info->reta_size > 0 && info->n_rxq == owner->n_workers;
	}
	if (info->rss_owner)
		snprintf(info->steering, sizeof(info->steering),
			"RSS on the client address (lbd's key and table of %u)", info->reta_size);
	else if (info->rss)
		snprintf(info->steering, sizeof(info->steering),
			"RSS by the device's hash: frames off their owner are handed over");
	else
		snprintf(info->steering, sizeof(info->steering),
			"%u rx queue(s), no RSS: frames off their owner are handed over", info->n_rxq);
	rte_eth_macaddr_get(port_id, &info->mac);
	if (rte_eth_dev_get_mtu(port_id, &info->mtu) != 0)
		info->mtu = RTE_ETHER_MTU;
	info->port_id = port_id;
	info->started = true;
	return 0;
}

/* --- rte_flow steering of FullNAT replies --- */

static int
snat_rule(uint16_t port_id, uint32_t addr, uint8_t proto, uint16_t residue, uint16_t mask,
	uint16_t queue, struct rte_flow **out, struct rte_flow_error *fe)
{
	struct rte_flow_attr attr = { .ingress = 1 };
	struct rte_flow_item_ipv4 ip_spec = { .hdr.dst_addr = addr };
	struct rte_flow_item_ipv4 ip_mask = { .hdr.dst_addr = RTE_BE32(0xffffffff) };
	struct rte_flow_item_tcp tcp_spec = { .hdr.dst_port = rte_cpu_to_be_16(residue) };
	struct rte_flow_item_tcp tcp_mask = { .hdr.dst_port = rte_cpu_to_be_16(mask) };
	struct rte_flow_item_udp udp_spec = { .hdr.dst_port = rte_cpu_to_be_16(residue) };
	struct rte_flow_item_udp udp_mask = { .hdr.dst_port = rte_cpu_to_be_16(mask) };
	struct rte_flow_action_queue q = { .index = queue };
	struct rte_flow_item pattern[] = {
		{ .type = RTE_FLOW_ITEM_TYPE_ETH },
		{ .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec, .mask = &ip_mask },
		{ .type = proto == LB_PROTO_TCP ? RTE_FLOW_ITEM_TYPE_TCP : RTE_FLOW_ITEM_TYPE_UDP,
		  .spec = proto == LB_PROTO_TCP ? (const void *)&tcp_spec : (const void *)&udp_spec,
		  .mask = proto == LB_PROTO_TCP ? (const void *)&tcp_mask : (const void *)&udp_mask },
		{ .type = RTE_FLOW_ITEM_TYPE_END },
	};
	struct rte_flow_action actions[] = {
		{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q },
		{ .type = RTE_FLOW_ACTION_TYPE_END },
	};

	if (rte_flow_validate(port_id, &attr, pattern, actions, fe) != 0)
		return -ENOTSUP;
	*out = rte_flow_create(port_id, &attr, pattern, actions, fe);
	return *out != NULL ? 0 : -ENOTSUP;
}

int
lb_port_steer_snat(uint16_t port_id, const struct lb_owner *owner, const uint32_t *addrs,
	uint32_t n_addrs, struct lb_port_info *info, char *err, size_t errlen)
{
	static const uint8_t protos[] = { LB_PROTO_TCP, LB_PROTO_UDP };
	struct rte_flow_error fe;
	struct rte_flow *f;
	uint32_t a, r, n = 0;
	unsigned k;

	info->snat_rules = 0;
	if (owner->n_workers < 2 || n_addrs == 0)
		return 0;
	if (info->n_rxq < owner->n_workers) {
		snprintf(err, errlen, "%u rx queue(s) for %u workers", info->n_rxq, owner->n_workers);
		return -ENOTSUP;
	}
	memset(&fe, 0, sizeof(fe));
	for (a = 0; a < n_addrs; a++)
		for (k = 0; k < RTE_DIM(protos); k++)
			for (r = 0; r <= owner->port_mask; r++) {
				if (snat_rule(port_id, addrs[a], protos[k], (uint16_t)r,
				    (uint16_t)owner->port_mask, owner->port_worker[r], &f, &fe) != 0) {
					snprintf(err, errlen, "rte_flow: %s",
						fe.message != NULL ? fe.message : "not supported");
					rte_flow_flush(port_id, &fe);
					return -ENOTSUP;
				}
				n++;
			}
	info->snat_rules = n;
	return (int)n;
}

void
lb_port_stop(uint16_t port_id)
{
	struct rte_flow_error fe;

	rte_flow_flush(port_id, &fe);
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
