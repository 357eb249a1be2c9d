/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ports' kernel interfaces (exception path; docs/design.md, "Kernel
 * interfaces"). A port with `kernel = "NAME"` gets a net_tap device NAME
 * carrying the port's MAC and address, so that the host's programs (health
 * checks, a BGP daemon, ssh) can use the data port through the kernel stack.
 *
 * The control thread serves both directions from its tick; workers never
 * touch the tap:
 *   wire -> kernel: lib/dp passes frames to the port's own address that lbd
 *     does not answer itself (LB_DP_CTL_KERNEL, rate-limited per worker) on
 *     a ring of their own (g_lbd.to_kni); ARP replies and announcements the
 *     control thread learns from are copied to the kernel as well.
 *   kernel -> wire: frames the kernel sends are checked (lib/kni: IPv4 or
 *     ARP from the port's MAC and address), tagged as the port needs and
 *     sent by worker 0 like every control-originated frame.
 * At most KNI_BUDGET frames each way per tick: a flood of the port's address
 * costs the control loop a bounded share, and what does not fit waits in
 * the ring or is dropped there (counted by the workers, kernel_ring_full).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rte_dev.h>
#include <rte_ethdev.h>

#include "lb_kni.h"
#include "lbd.h"

#define KNI_BUDGET	256	/* frames per direction per tick */
#define KNI_RXD		512
#define KNI_TXD		512

struct kni {
	bool on;		/* created and started */
	bool probed;
	uint16_t dev;		/* DPDK port id of the tap */
	char vdev[32];
	uint8_t mac[LB_ETHER_ADDR_LEN];
	uint32_t addr;
	uint16_t vlan;
};

static struct kni K[LB_MAX_PORTS];

uint32_t
lbd_kni_mbufs(const struct lb_config *cfg)
{
	uint32_t i, n = 0;

	for (i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].kernel[0] != '\0')
			n += KNI_RXD + KNI_TXD + KNI_BUDGET;
	return n == 0 ? 0 : n + LBD_RING_SIZE;
}

/* Best effort: the kernel interface speaks IPv4 only (lbd forwards no IPv6),
 * so it should not send router solicitations and MLD reports out of the port. */
static void
disable_ipv6(const char *ifname)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		lbd_log(LBD_WARN, "kernel interface: cannot disable IPv6 interface=%s error=%s",
			ifname, LBD_Q(strerror(errno)));
	close(fd);
}

/* The port's address and prefix on the interface, and the interface up. */
static int
set_address(const char *ifname, uint32_t addr, uint32_t mask, char *err, size_t errlen)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = addr;
	if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set its address: %s", strerror(errno));
		goto out;
	}
	sin->sin_addr.s_addr = mask;
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set its netmask: %s", strerror(errno));
		goto out;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot read its flags: %s", strerror(errno));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot bring it up: %s", strerror(errno));
	}
out:
	close(fd);
	return rc;
}

static int
start_one(uint32_t i, char *err, size_t errlen)
{
	const struct lb_config_port *cp = &g_lbd.cfg->ports[i];
	struct lbd_port *p = &g_lbd.ports[i];
	struct kni *k = &K[i];
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	char args[96], msg[256];
	int rc, socket = (int)rte_socket_id();

	/* hot-plugged now that the data port's MAC is known */
	snprintf(k->vdev, sizeof(k->vdev), "net_tap_lbd%u", i);
	snprintf(args, sizeof(args), "%s,iface=%s", k->vdev, cp->kernel);
	rc = rte_dev_probe(args);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create it (net_tap): %s", rte_strerror(-rc));
		return rc < 0 ? rc : -EINVAL;
	}
	rc = rte_eth_dev_get_port_by_name(k->vdev, &k->dev);
	if (rc != 0) {
		snprintf(err, errlen, "net_tap device %s not found after creation", k->vdev);
		return -ENODEV;
	}
	k->probed = true;
	disable_ipv6(cp->kernel);
	memcpy(mac.addr_bytes, p->info.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	rc = rte_eth_dev_default_mac_addr_set(k->dev, &mac);
	if (rc != 0) {
		snprintf(err, errlen, "cannot give it the port's MAC: %s", rte_strerror(-rc));
		return rc;
	}
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(k->dev, 1, 1, &conf);
	if (rc == 0 && p->info.mtu != 0 && rte_eth_dev_set_mtu(k->dev, p->info.mtu) != 0)
		lbd_log(LBD_WARN, "kernel interface keeps its MTU interface=%s mtu_wanted=%u",
			cp->kernel, p->info.mtu);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(k->dev, 0, KNI_RXD, (unsigned)socket, NULL, g_lbd.mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(k->dev, 0, KNI_TXD, (unsigned)socket, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(k->dev);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start it: %s", rte_strerror(-rc));
		return rc;
	}
	k->on = true;
	rc = set_address(cp->kernel, cp->addr, lb_prefix_mask(cp->net.len), msg, sizeof(msg));
	if (rc != 0) {
		snprintf(err, errlen, "%s", msg);
		return rc;
	}
	memcpy(k->mac, mac.addr_bytes, LB_ETHER_ADDR_LEN);
	k->addr = cp->addr;
	k->vlan = cp->vlan;
	return 0;
}

int
lbd_kni_init(char *err, size_t errlen)
{
	const struct lb_config *cfg = g_lbd.cfg;
	char msg[384], ip[LB_IP4_STRLEN];
	uint32_t i;
	int rc;

	for (i = 0; i < cfg->n_ports; i++) {
		if (cfg->ports[i].kernel[0] == '\0')
			continue;
		if (g_lbd.to_kni == NULL) {
			g_lbd.to_kni = rte_ring_create("lbd_to_kni", LBD_RING_SIZE,
				(int)rte_socket_id(), RING_F_SC_DEQ);
			if (g_lbd.to_kni == NULL) {
				snprintf(err, errlen, "out of DPDK memory for the kernel ring");
				return -ENOMEM;
			}
		}
		rc = start_one(i, msg, sizeof(msg));
		if (rc != 0) {
			snprintf(err, errlen, "%s:%d: port %s: kernel interface %s: %s", cfg->path,
				cfg->ports[i].line_kernel, cfg->ports[i].name, cfg->ports[i].kernel,
				msg);
			return rc;
		}
		lbd_log(LBD_INFO, "kernel interface up port=%s interface=%s address=%s/%u",
			cfg->ports[i].name, cfg->ports[i].kernel, lb_ip4_fmt(cfg->ports[i].addr, ip),
			cfg->ports[i].net.len);
	}
	return 0;
}

void
lbd_kni_term(void)
{
	struct rte_mbuf *m;
	uint32_t i;

	while (g_lbd.to_kni != NULL && rte_ring_dequeue(g_lbd.to_kni, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	for (i = 0; i < LB_MAX_PORTS; i++) {
		struct kni *k = &K[i];

		/* closing the tap removes the kernel's interface; the EAL's
		 * cleanup removes the vdev */
		if (k->on)
			rte_eth_dev_stop(k->dev);
		if (k->probed && rte_eth_dev_is_valid_port(k->dev))
			rte_eth_dev_close(k->dev);
		k->on = k->probed = false;
	}
	rte_ring_free(g_lbd.to_kni);
	g_lbd.to_kni = NULL;
}

bool
lbd_kni_port(uint8_t port)
{
	return port < LB_MAX_PORTS && K[port].on;
}

static void
to_kernel(struct rte_mbuf *m, uint8_t port)
{
	if (!lbd_kni_port(port) || rte_eth_tx_burst(K[port].dev, 0, &m, 1) != 1) {
		g_lbd.cc.kernel_in_failed++;
		rte_pktmbuf_free(m);
		return;
	}
	g_lbd.cc.kernel_in++;
}

void
lbd_kni_arp(struct rte_mbuf *m, uint8_t port)
{
	struct rte_mbuf *c;
	uint32_t adj;

	if (!lbd_kni_port(port))
		return;
	g_lbd.cc.kernel_arp++;
	c = rte_pktmbuf_copy(m, g_lbd.mp, 0, UINT32_MAX);
	if (c == NULL) {
		g_lbd.cc.kernel_in_failed++;
		return;
	}
	adj = lb_kni_vlan_pop(rte_pktmbuf_mtod(c, uint8_t *), c->data_len);
	if (adj > 0)
		rte_pktmbuf_adj(c, (uint16_t)adj);
	to_kernel(c, port);
}

/* Frames the kernel sent on port's interface: out of the port. */
static uint32_t
from_kernel(uint8_t port, uint32_t budget)
{
	struct kni *k = &K[port];
	struct rte_mbuf *pkts[LBD_BURST];
	uint32_t done = 0;
	uint16_t n, i;

	while (done < budget) {
		n = rte_eth_rx_burst(k->dev, 0, pkts,
			(uint16_t)(budget - done < LBD_BURST ? budget - done : LBD_BURST));
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			uint8_t *f;

			if (m->nb_segs != 1 || lb_kni_egress_check(rte_pktmbuf_mtod(m, uint8_t *),
			    m->data_len, k->mac, k->addr) != 0) {
				g_lbd.cc.kernel_out_filtered++;
				rte_pktmbuf_free(m);
				continue;
			}
			if (k->vlan != 0) {
				f = (uint8_t *)rte_pktmbuf_prepend(m, 4);
				if (f == NULL) {
					g_lbd.cc.kernel_out_failed++;
					rte_pktmbuf_free(m);
					continue;
				}
				lb_kni_vlan_push(f, k->vlan);
			}
			/* lbd_ctl_tx frees what worker 0's ring does not take */
			if (lbd_ctl_tx(m, port) == 0)
				g_lbd.cc.kernel_out++;
			else
				g_lbd.cc.kernel_out_failed++;
		}
		done += n;
		if (n < LBD_BURST)
			break;
	}
	return done;
}

void
lbd_kni_poll(void)
{
	struct rte_mbuf *pkts[LBD_BURST];
	unsigned n, i, total = 0;
	uint32_t p;

	if (g_lbd.to_kni == NULL)
		return;
	do {
		n = rte_ring_dequeue_burst(g_lbd.to_kni, (void **)pkts, LBD_BURST, NULL);
		g_lbd.cc.kernel_rx += n;
		for (i = 0; i < n; i++)
			to_kernel(pkts[i], lbd_meta(pkts[i])->port);
		total += n;
	} while (n == LBD_BURST && total < KNI_BUDGET);
	for (p = 0; p < g_lbd.n_ports; p++)
		if (K[p].on)
			from_kernel((uint8_t)p, KNI_BUDGET);
}
