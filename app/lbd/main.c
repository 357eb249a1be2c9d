/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lbd: ordered initialisation and termination of the daemon's modules.
 *
 *   config -> lbctl socket (the single-instance check, before anything
 *   touches a device) -> EAL (arguments derived from the config) -> mbuf pool
 *   -> rings, workers' flow tables, RCU -> ports -> control (neighbours,
 *   snapshot, signals) -> launch workers -> control loop -> reverse.
 *
 * Every failure on the way prints one "lbd: ..." message, undoes what was
 * done (ports stopped, DPDK memory and its runtime files released, the
 * socket removed) and exits 1. Hugepage files never outlive lbd: it asks the
 * EAL to unlink them as soon as they are mapped (--huge-unlink).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_random.h>

#include "lbd.h"

struct lbd g_lbd;

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: lbd [-c FILE] [-v] [-- EAL-ARGS...]\n"
		"       lbd --check-config FILE\n"
		"\n"
		"  -c, --config FILE        configuration (default /etc/lbd/lbd.conf)\n"
		"      --check-config FILE  validate FILE and exit: 0 when valid, else print\n"
		"                           FILE:LINE: message and exit 1\n"
		"  -v, --verbose            debug logging\n"
		"  -V, --version            print the version\n"
		"  -h, --help               this text\n"
		"\n"
		"EAL arguments are derived from the config (lcores, file prefix, memory,\n"
		"devices); anything after -- is appended to them.\n");
}

/* --- EAL arguments --- */

struct argv_buf {
	int argc;
	char *argv[128];
};

static int
argv_add(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->argc >= (int)RTE_DIM(a->argv) - 1)
		return -E2BIG;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return -ENOMEM;
	a->argv[a->argc++] = s;
	a->argv[a->argc] = NULL;
	return 0;
}

static void
argv_free(struct argv_buf *a)
{
	int i;

	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
	a->argc = 0;
}

/*
 * The EAL command line for cfg: lcores, main lcore, file prefix, memory,
 * one --vdev per vdev port and an allow-list of the PCI ports (--no-pci when
 * there are none, so EAL does not touch NICs lbd was not given).
 */
/*
 * Whether an EAL argument from eal.args or after -- equals arg, or (prefix)
 * starts with it. Used to leave out what the operator gave already: -l /
 * --lcores maps lcores to CPUs (e.g. "--lcores=0@0,1@1,2@1" runs two
 * workers on one CPU in a test), --no-pci.
 */
static bool
has_arg(const struct lb_config *cfg, int extra_argc, char **extra_argv, const char *arg,
	bool prefix)
{
	size_t n = prefix ? strlen(arg) : SIZE_MAX;
	int k, total = (int)cfg->n_eal_args + extra_argc;

	for (k = 0; k < total; k++) {
		const char *a = k < (int)cfg->n_eal_args ? cfg->eal_args[k] :
			extra_argv[k - (int)cfg->n_eal_args];

		if (strncmp(a, arg, n) == 0)
			return true;
	}
	return false;
}

static int
build_eal_args(const struct lb_config *cfg, int extra_argc, char **extra_argv,
	struct argv_buf *a, char *err, size_t errlen)
{
	char lcores[512];
	size_t off;
	bool any_pci = false;
	uint32_t i;
	int rc = 0;

	off = (size_t)snprintf(lcores, sizeof(lcores), "%u", cfg->control_lcore);
	for (i = 0; i < cfg->n_workers && off < sizeof(lcores); i++)
		off += (size_t)snprintf(lcores + off, sizeof(lcores) - off, ",%u",
			cfg->worker_lcores[i]);
	rc |= argv_add(a, "lbd");
	if (!has_arg(cfg, extra_argc, extra_argv, "--lcores", true) &&
	    !has_arg(cfg, extra_argc, extra_argv, "-l", true)) {
		rc |= argv_add(a, "-l");
		rc |= argv_add(a, "%s", lcores);
	}
	rc |= argv_add(a, "--main-lcore=%u", cfg->control_lcore);
	rc |= argv_add(a, "--file-prefix=%s", cfg->file_prefix);
	if (cfg->no_huge)
		rc |= argv_add(a, "--no-huge");
	else if (!has_arg(cfg, extra_argc, extra_argv, "--no-huge", false) &&
		 !has_arg(cfg, extra_argc, extra_argv, "--in-memory", false) &&
		 !has_arg(cfg, extra_argc, extra_argv, "--huge-unlink", true))
		rc |= argv_add(a, "--huge-unlink");
	if (cfg->memory_mb > 0)
		rc |= argv_add(a, "-m%u", cfg->memory_mb);
	for (i = 0; i < cfg->n_ports; i++) {
		const char *dev = cfg->ports[i].device;

		if (lb_port_is_vdev(dev)) {
			if (lb_port_devargs(dev, cfg->n_workers, g_lbd.ports[i].devargs,
			    sizeof(g_lbd.ports[i].devargs)) != 0) {
				snprintf(err, errlen, "%s:%d: device string too long", cfg->path,
					cfg->ports[i].line);
				return -ENAMETOOLONG;
			}
			rc |= argv_add(a, "--vdev=%s", g_lbd.ports[i].devargs);
		} else {
			snprintf(g_lbd.ports[i].devargs, sizeof(g_lbd.ports[i].devargs), "%s", dev);
			rc |= argv_add(a, "-a%s", dev);
			any_pci = true;
		}
	}
	if (!any_pci && !has_arg(cfg, extra_argc, extra_argv, "--no-pci", false))
		rc |= argv_add(a, "--no-pci");
	for (i = 0; i < cfg->n_eal_args; i++)
		rc |= argv_add(a, "%s", cfg->eal_args[i]);
	for (i = 0; i < (uint32_t)extra_argc; i++)
		rc |= argv_add(a, "%s", extra_argv[i]);
	if (rc != 0) {
		snprintf(err, errlen, "cannot build the EAL command line");
		return -ENOMEM;
	}
	return 0;
}

/* --- init steps --- */

/*
 * Mbufs lbd needs: every port's rx and tx descriptor rings and what its PMD
 * keeps for itself (lb_port_mbufs), the rings between threads, the bursts a
 * worker holds between rx and tx, the per-lcore caches of the pool (mbufs
 * parked there are not available to other lcores) and the frames queued for
 * ARP resolution, with slack. workers.mbufs overrides the sum.
 */
static uint64_t
mbufs_needed(void)
{
	const uint32_t w = g_lbd.n_workers, cache = 256;
	uint64_t n = 0;
	uint16_t dev;
	uint32_t i;

	for (i = 0; i < g_lbd.n_ports; i++)
		if (lb_port_find(g_lbd.ports[i].devargs, &dev) == 0)
			n += lb_port_mbufs(dev, g_lbd.ports[i].devargs, (uint16_t)w, (uint16_t)w);
	n += (uint64_t)(w + 1) * LBD_RING_SIZE + (uint64_t)w * 1024;	/* hand-off, control */
	n += LBD_ARP_RING_SIZE;						/* ARP to control */
	n += (uint64_t)w * LBD_BURST * 2 * (g_lbd.n_ports + w + 2);	/* tx/hand-off buffers */
	n += (uint64_t)(w + 1) * cache * 3 / 2;
	n += 4096;	/* ARP queues, control-originated frames */
	n += lbd_kni_mbufs(g_lbd.cfg);	/* kernel interfaces: their queues and ring */
	return n;
}

static int
init_mempool(char *err, size_t errlen)
{
	static const struct rte_mbuf_dynfield meta_desc = {
		.name = "lbd_meta",
		.size = sizeof(struct lbd_meta),
		.align = __alignof__(struct lbd_meta),
	};
	uint64_t need = mbufs_needed();
	uint32_t n;

	g_lbd.meta_off = rte_mbuf_dynfield_register(&meta_desc);
	if (g_lbd.meta_off < 0) {
		snprintf(err, errlen, "cannot register mbuf metadata: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}
	if (g_lbd.cfg->mbufs != 0)
		n = g_lbd.cfg->mbufs;
	else if (need >= (1ULL << 31))
		n = 1u << 31;
	else	/* 2^k - 1 fills the pool's ring exactly */
		n = rte_align32pow2((uint32_t)need) - 1;
	g_lbd.mp = rte_pktmbuf_pool_create("lbd_mbufs", n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
		(int)rte_socket_id());
	if (g_lbd.mp == NULL) {
		snprintf(err, errlen, "cannot create a pool of %u mbufs (%.0f MiB): %s (more memory: "
			"eal.memory_mb or hugepages; or set workers.mbufs)", n,
			(double)n * (RTE_MBUF_DEFAULT_BUF_SIZE + sizeof(struct rte_mbuf)) / 1048576.0,
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	lbd_log(LBD_INFO, "mbuf pool created mbufs=%u sized_by=%s needed=%lu", n,
		g_lbd.cfg->mbufs != 0 ? "workers.mbufs" : "lbd", (unsigned long)need);
	if (g_lbd.cfg->mbufs != 0 && g_lbd.cfg->mbufs < need)
		lbd_log(LBD_WARN, "workers.mbufs is below what the ports, rings and caches can hold: "
			"rx queues may run dry mbufs=%u needed=%lu", g_lbd.cfg->mbufs,
			(unsigned long)need);
	return 0;
}

/* lib/owner's rule for the workers and the smallest redirection table of the
 * ports (tables of larger ports repeat it). */
static int
init_owner(char *err, size_t errlen)
{
	uint32_t i, reta = 0, r;
	uint16_t dev;

	for (i = 0; i < g_lbd.n_ports; i++) {
		if (lb_port_find(g_lbd.ports[i].devargs, &dev) != 0)
			continue;
		r = lb_port_reta_size(dev);
		if (r == 0)
			continue;
		r = r > LB_OWNER_RETA_MAX ? LB_OWNER_RETA_MAX : rte_align32prevpow2(r);
		if (reta == 0 || r < reta)
			reta = r;
	}
	if (lb_owner_init(&g_lbd.owner, g_lbd.n_workers, reta) != 0) {
		snprintf(err, errlen, "no owner rule for %u workers (RSS table %u)", g_lbd.n_workers,
			reta);
		return -EINVAL;
	}
	return 0;
}

static int
init_ports(char *err, size_t errlen)
{
	const struct lb_config *cfg = g_lbd.cfg;
	char msg[512];
	uint32_t i, wi, q;
	int rc;

	for (i = 0; i < g_lbd.n_ports; i++) {
		struct lbd_port *p = &g_lbd.ports[i];

		rc = lb_port_find(p->devargs, &p->dev);
		if (rc != 0) {
			snprintf(err, errlen, "%s:%d: port %s: device '%s' not found (probe failed?)",
				cfg->path, cfg->ports[i].line, cfg->ports[i].name, cfg->ports[i].device);
			return -ENODEV;
		}
		rc = lb_port_start(p->dev, (uint16_t)g_lbd.n_workers, (uint16_t)g_lbd.n_workers,
			cfg->ports[i].role, &g_lbd.owner, g_lbd.mp, &p->info, msg, sizeof(msg));
		if (rc != 0) {
			snprintf(err, errlen, "%s:%d: port %s: %s", cfg->path, cfg->ports[i].line,
				cfg->ports[i].name, msg);
			return rc;
		}
		lbd_log(LBD_INFO, "port started port=%s device=%s driver=%s rx_queues=%u tx_queues=%u "
			"rss=%s mac=%02x:%02x:%02x:%02x:%02x:%02x", cfg->ports[i].name,
			LBD_Q(cfg->ports[i].device), p->info.driver, p->info.n_rxq, p->info.n_txq,
			p->info.rss ? "yes" : "no",
			p->info.mac.addr_bytes[0], p->info.mac.addr_bytes[1], p->info.mac.addr_bytes[2],
			p->info.mac.addr_bytes[3], p->info.mac.addr_bytes[4], p->info.mac.addr_bytes[5]);
		if (cfg->ports[i].role & LB_ROLE_INTERNAL) {
			rc = lb_port_steer_snat(p->dev, &g_lbd.owner, cfg->snat_addrs, cfg->n_snat,
				&p->info, msg, sizeof(msg));
			if (rc < 0)
				lbd_log(LBD_INFO, "FullNAT replies are handed to their owner, no steering "
					"port=%s reason=%s", cfg->ports[i].name, LBD_Q(msg));
		}
		lbd_log(LBD_INFO, "port steering port=%s steering=%s snat_rules=%u",
			cfg->ports[i].name, LBD_Q(p->info.steering), p->info.snat_rules);
		/* rx queue q is polled by worker q % n_workers */
		for (q = 0; q < p->info.n_rxq; q++) {
			struct lbd_worker *w = &g_lbd.workers[q % g_lbd.n_workers];

			if (w->n_rxq == LBD_MAX_RXQ)
				continue;
			w->rxq[w->n_rxq].dev = p->dev;
			w->rxq[w->n_rxq].queue = (uint16_t)q;
			w->rxq[w->n_rxq].port = (uint8_t)i;
			w->n_rxq++;
		}
	}
	for (wi = 0; wi < g_lbd.n_workers; wi++)
		if (g_lbd.workers[wi].n_rxq == 0)
			lbd_log(LBD_INFO, "worker polls no rx queue: it serves hand-offs only "
				"worker=%u lcore=%u", wi, g_lbd.workers[wi].lcore);
	return 0;
}

static int
init_workers(char *err, size_t errlen)
{
	const struct lb_config *cfg = g_lbd.cfg;
	struct lb_snat_layout layout;
	uint32_t aff_cap = cfg->flow_capacity / 4 > 1024 ? cfg->flow_capacity / 4 : 1024;
	char name[RTE_RING_NAMESIZE];
	size_t qsz;
	uint32_t i;

	g_lbd.workers = rte_zmalloc("lbd_workers", sizeof(struct lbd_worker) * g_lbd.n_workers,
		RTE_CACHE_LINE_SIZE);
	if (g_lbd.workers == NULL)
		goto nomem;
	if (lb_snat_layout_init(&layout, cfg->snat_port_lo, cfg->snat_port_hi, g_lbd.n_workers) != 0) {
		snprintf(err, errlen, "%s: snat_ports [%u, %u] has fewer ports than workers",
			cfg->path, cfg->snat_port_lo, cfg->snat_port_hi);
		return -EINVAL;
	}
	g_lbd.to_ctl = rte_ring_create("lbd_to_ctl", LBD_RING_SIZE, (int)rte_socket_id(),
		RING_F_SC_DEQ);
	g_lbd.to_ctl_arp = rte_ring_create("lbd_to_ctl_arp", LBD_ARP_RING_SIZE,
		(int)rte_socket_id(), RING_F_SC_DEQ);
	if (g_lbd.to_ctl == NULL || g_lbd.to_ctl_arp == NULL)
		goto nomem;
	for (i = 0; i < g_lbd.n_workers; i++) {
		struct lbd_worker *w = &g_lbd.workers[i];
		int socket = (int)rte_lcore_to_socket_id(cfg->worker_lcores[i]);

		w->index = i;
		w->lcore = cfg->worker_lcores[i];
		w->dp.id = i;
		w->flow_mem = rte_zmalloc_socket("lbd_flows", lb_flow_table_memsize(cfg->flow_capacity),
			RTE_CACHE_LINE_SIZE, socket);
		w->aff_mem = rte_zmalloc_socket("lbd_affinity", lb_flow_table_memsize(aff_cap),
			RTE_CACHE_LINE_SIZE, socket);
		if (w->flow_mem == NULL || w->aff_mem == NULL) {
			snprintf(err, errlen, "worker %u: cannot allocate a flow table of %u flows "
				"(%zu bytes); lower workers.flow_capacity or raise eal.memory_mb", i,
				cfg->flow_capacity, lb_flow_table_memsize(cfg->flow_capacity));
			return -ENOMEM;
		}
		w->dp.flows = lb_flow_table_init(w->flow_mem, cfg->flow_capacity, rte_rand());
		w->dp.affinity = lb_flow_table_init(w->aff_mem, aff_cap, rte_rand());
		if (w->dp.flows == NULL || w->dp.affinity == NULL) {
			snprintf(err, errlen, "worker %u: flow table init failed", i);
			return -EINVAL;
		}
		/* rte_zmalloc_socket: hugepage memory (unless eal.no_huge) on the
		 * worker's NUMA node, so table lookups miss neither TLB nor node */
		lbd_log(LBD_INFO, "flow table allocated worker=%u flows=%u mib=%.1f socket=%d "
			"hugepages=%s", i, cfg->flow_capacity,
			lb_flow_table_memsize(cfg->flow_capacity) / 1048576.0, socket,
			rte_eal_has_hugepages() ? "yes" : "no");
		lb_snat_init(&w->dp.snat, &layout, i, cfg->snat_addrs, cfg->n_snat);
		/* the SNAT TIME_WAIT rule: a record per SNAT candidate (32 bytes),
		 * and the per-target cursors (64 KiB) */
		if (lb_snat_candidates(&w->dp.snat) > 0) {
			size_t sz = lb_dp_tw_memsize(lb_snat_candidates(&w->dp.snat));

			w->tw_mem = rte_zmalloc_socket("lbd_snat_tw", sz, RTE_CACHE_LINE_SIZE, socket);
			if (w->tw_mem == NULL) {
				snprintf(err, errlen, "worker %u: cannot allocate the SNAT TIME_WAIT "
					"records (%zu bytes); raise eal.memory_mb", i, sz);
				return -ENOMEM;
			}
			/* each target's cursor starts at a random candidate: a
			 * restarted lbd that began at the first port again would
			 * meet the TIME_WAIT sockets its previous run left on the
			 * targets */
			w->dp.snat_tw = lb_dp_tw_init(w->tw_mem, lb_snat_candidates(&w->dp.snat),
				(uint32_t)rte_rand());
		}
		/* Start each run at a random SNAT candidate (as above; the shared
		 * cursor, used when there are no per-target ones). */
		if (lb_snat_candidates(&w->dp.snat) > 0)
			w->dp.snat.cursor = (uint32_t)(rte_rand() % lb_snat_candidates(&w->dp.snat));
		snprintf(name, sizeof(name), "lbd_handoff%u", i);
		w->handoff = rte_ring_create(name, LBD_RING_SIZE, socket, RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "lbd_ctltx%u", i);
		w->ctl_tx = rte_ring_create(name, 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->handoff == NULL || w->ctl_tx == NULL)
			goto nomem;
	}
	qsz = rte_rcu_qsbr_get_memsize(g_lbd.n_workers);
	g_lbd.qsv = rte_zmalloc("lbd_rcu", qsz, RTE_CACHE_LINE_SIZE);
	if (g_lbd.qsv == NULL || rte_rcu_qsbr_init(g_lbd.qsv, g_lbd.n_workers) != 0)
		goto nomem;
	return lbd_counters_init(err, errlen);
nomem:
	snprintf(err, errlen, "out of DPDK memory while creating workers (raise eal.memory_mb)");
	return -ENOMEM;
}

static void
term_workers(void)
{
	uint32_t i;

	rte_ring_free(g_lbd.to_ctl);
	g_lbd.to_ctl = NULL;
	rte_ring_free(g_lbd.to_ctl_arp);
	g_lbd.to_ctl_arp = NULL;
	lbd_counters_term();
	if (g_lbd.workers == NULL)
		return;
	for (i = 0; i < g_lbd.n_workers; i++) {
		rte_ring_free(g_lbd.workers[i].handoff);
		rte_ring_free(g_lbd.workers[i].ctl_tx);
		rte_free(g_lbd.workers[i].flow_mem);
		rte_free(g_lbd.workers[i].aff_mem);
		rte_free(g_lbd.workers[i].tw_mem);
	}
	rte_free(g_lbd.workers);
	g_lbd.workers = NULL;
	rte_free(g_lbd.qsv);
	g_lbd.qsv = NULL;
}

/*
 * Removes the EAL's runtime directory (/var/run/dpdk/PREFIX: its config and
 * memory maps) once the EAL is done with it, unless another process holds
 * its config lock (an instance of someone else with the same prefix).
 */
static void
remove_runtime_dir(const char *dir)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd;

	if (dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		int busy = fcntl(fd, F_SETLK, &lk) < 0;

		close(fd);
		if (busy)
			return;
	}
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Undoes whatever of the initialisation was done (each step knows whether
 * its part exists). Returns false when the EAL had to be left as it is. */
static bool
teardown(bool eal_up)
{
	char runtime[PATH_MAX] = "";
	bool half_set_up = false;
	uint32_t i;

	lbd_metrics_term();
	lbd_control_term();	/* also closes the lbctl socket */
	if (!eal_up)
		return true;
	lbd_kni_term();
	for (i = 0; i < g_lbd.n_ports; i++) {
		if (g_lbd.ports[i].info.started)
			lb_port_stop(g_lbd.ports[i].dev);
		else if (g_lbd.ports[i].info.configured)
			half_set_up = true;
	}
	term_workers();
	snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
	/* A port whose setup failed half way must not be closed: the EAL's
	 * cleanup would close it (see lb_port_start) and its PMD may free what
	 * it already freed. The process ends now, which releases its memory;
	 * the runtime files go below. */
	if (!half_set_up) {
		rte_mempool_free(g_lbd.mp);
		g_lbd.mp = NULL;
		rte_eal_cleanup();
	}
	remove_runtime_dir(runtime);
	return !half_set_up;
}

static int
check_config(const char *path)
{
	char err[1024];
	struct lb_config *cfg = lb_config_load(path, err, sizeof(err));

	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s: ok (%u port(s), %u worker(s), %u frontend(s))\n", path, cfg->n_ports,
		cfg->n_workers, cfg->n_frontends);
	lb_config_free(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = "/etc/lbd/lbd.conf";
	struct argv_buf eal = { 0 };
	char err[1024];
	bool eal_up = false;
	sigset_t sigs;
	uint32_t i;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			return check_config(optarg);
		case 'v':
			lbd_log_set_level(LBD_DEBUG);
			break;
		case 'V':
			printf("lbd %s\n", LBD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	/* Maglev tables (256 KiB at the default size) come and go with every
	 * change; from mmap, each would cost page faults and zeroing every
	 * time (expensive in VMs). Keep them in the heap, and keep the heap. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);

	snprintf(g_lbd.config_path, sizeof(g_lbd.config_path), "%s", config);
	g_lbd.cfg = lb_config_load(config, err, sizeof(err));
	if (g_lbd.cfg == NULL) {
		fprintf(stderr, "lbd: %s\n", err);
		return 1;
	}
	g_lbd.n_workers = g_lbd.cfg->n_workers;
	g_lbd.n_ports = g_lbd.cfg->n_ports;
	for (i = 0; i <= g_lbd.n_workers; i++) {
		uint32_t lc = i < g_lbd.n_workers ? g_lbd.cfg->worker_lcores[i] :
			g_lbd.cfg->control_lcore;

		if (lc >= RTE_MAX_LCORE) {
			fprintf(stderr, "lbd: %s:%d: lcore %u is beyond this DPDK's RTE_MAX_LCORE (%d)\n",
				config, i < g_lbd.n_workers ? g_lbd.cfg->line_lcores :
				g_lbd.cfg->line_control_lcore, lc, RTE_MAX_LCORE);
			lb_config_free(g_lbd.cfg);
			return 1;
		}
	}
	g_lbd.last_reload.ok = true;
	g_lbd.start_time = (uint64_t)time(NULL);

	/* The single-instance check comes first: a second lbd on the same
	 * config must fail before the EAL probes (and resets) the devices the
	 * first one is using. */
	g_lbd.ctl = lb_ctl_server_open(g_lbd.cfg->socket, err, sizeof(err));
	if (g_lbd.ctl == NULL) {
		fprintf(stderr, "lbd: %s\n", err);
		lb_config_free(g_lbd.cfg);
		return 1;
	}
	if (build_eal_args(g_lbd.cfg, argc - optind, argv + optind, &eal, err, sizeof(err)) != 0)
		goto fail;

	/* Signals are taken synchronously by the control thread (signalfd);
	 * block them before EAL creates any thread so that all inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	{
		char line[2048];
		size_t off = 0;
		int k;

		for (k = 0; k < eal.argc && off < sizeof(line); k++)
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", k ? " " : "",
				eal.argv[k]);
		lbd_log(LBD_INFO, "starting EAL args=%s", LBD_Q(line));
	}
	{
		/* rte_eal_init permutes and keeps pointers into argv: give it a copy
		 * and keep the strings alive until exit. */
		char *eal_argv[RTE_DIM(eal.argv)];

		memcpy(eal_argv, eal.argv, sizeof(eal_argv));
		rc = rte_eal_init(eal.argc, eal_argv);
	}
	if (rc < 0) {
		snprintf(err, sizeof(err), "EAL initialisation failed: %s", rte_strerror(rte_errno));
		goto fail;
	}
	eal_up = true;
	g_lbd.tsc_per_ms = rte_get_tsc_hz() / 1000;
	for (i = 0; i < g_lbd.n_workers; i++) {
		if (!rte_lcore_is_enabled(g_lbd.cfg->worker_lcores[i]) ||
		    g_lbd.cfg->worker_lcores[i] == rte_get_main_lcore()) {
			snprintf(err, sizeof(err), "%s:%d: worker lcore %u is not an EAL worker lcore "
				"(check -l/--lcores in eal.args)", g_lbd.cfg->path,
				g_lbd.cfg->line_lcores, g_lbd.cfg->worker_lcores[i]);
			goto fail;
		}
	}
	if (rte_get_main_lcore() != g_lbd.cfg->control_lcore) {
		snprintf(err, sizeof(err), "%s:%d: control_lcore %u is not the EAL main lcore %u",
			g_lbd.cfg->path, g_lbd.cfg->line_control_lcore, g_lbd.cfg->control_lcore,
			rte_get_main_lcore());
		goto fail;
	}

	if (init_owner(err, sizeof(err)) != 0 ||
	    init_mempool(err, sizeof(err)) != 0 ||
	    init_workers(err, sizeof(err)) != 0 ||
	    init_ports(err, sizeof(err)) != 0 ||
	    lbd_kni_init(err, sizeof(err)) != 0 ||
	    lbd_control_init(err, sizeof(err)) != 0 ||
	    lbd_metrics_init(err, sizeof(err)) != 0)
		goto fail;

	for (i = 0; i < g_lbd.n_workers; i++) {
		rc = rte_eal_remote_launch(lbd_worker_main, &g_lbd.workers[i], g_lbd.workers[i].lcore);
		if (rc != 0) {
			snprintf(err, sizeof(err), "cannot launch worker %u on lcore %u: %s", i,
				g_lbd.workers[i].lcore, rte_strerror(-rc));
			atomic_store(&g_lbd.quit, true);
			rte_eal_mp_wait_lcore();
			goto fail;
		}
	}
	lbd_log(LBD_INFO, "running workers=%u frontends=%u socket=%s version=%s", g_lbd.n_workers,
		g_lbd.cfg->n_frontends, LBD_Q(g_lbd.cfg->socket), LBD_VERSION);

	lbd_notify("READY=1");
	lbd_control_loop();

	lbd_notify("STOPPING=1");
	atomic_store(&g_lbd.quit, true);
	rte_eal_mp_wait_lcore();
	teardown(true);
	argv_free(&eal);
	lb_config_free(g_lbd.cfg);
	lbd_log(LBD_INFO, "stopped");
	return 0;
fail:
	fprintf(stderr, "lbd: %s\n", err);
	if (!teardown(eal_up)) {
		/* The devices were left open on purpose (teardown): end without
		 * the exit handlers, whose leak checks would only report what
		 * the PMDs still hold and the kernel takes back now. */
		fflush(NULL);
		_exit(1);
	}
	argv_free(&eal);
	lb_config_free(g_lbd.cfg);
	return 1;
}
