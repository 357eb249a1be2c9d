/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_dp: the data path alone (lib/dp on frames in memory, no EAL, no
 * NIC): nanoseconds and TSC cycles per frame for established flows at several
 * table sizes and for new connections, through the burst API and frame by
 * frame. It isolates lbd's own per-packet work from the I/O that make bench's
 * testpmd comparison includes, so a profile of it points at lbd's code only.
 * A benchmark: it prints figures (the best of many short slices, the least
 * disturbed by other work on the machine), asserts nothing.
 *
 *   bench_dp [-n FLOWS[,FLOWS...]] [-s SECONDS] [-b BURST] [-c 0|1]
 *
 * -c 0 runs without per-frontend and per-target counters (lbd always has
 * them; the default is 1): the difference is what counting costs.
 *
 * Each frame is copied from a template before processing (as a PMD copies
 * it into an mbuf), so the copy's cost is in the figures for both paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#ifdef __x86_64__
#include <x86intrin.h>
#endif

#include "lb_config.h"
#include "lb_dp.h"
#include "lb_neigh.h"
#include "lb_snap.h"
#include "../unit/dp_util.h"

#define FRAME_LEN	60
#define SLOT		128	/* bytes per frame buffer, with headroom */
#define HEADROOM	64
#define SLICES		25
#define MAX_BURST	64

static uint32_t burst_n = 32;

static const char *conf_text =
	"ports = (\n"
	"  { name = \"ext\"; device = \"net_null0\"; role = \"external\"; address = \"192.0.2.1/24\"; },\n"
	"  { name = \"int\"; device = \"net_null1\"; role = \"internal\"; address = \"198.51.100.1/24\";\n"
	"    neighbours = ( %s ); }\n"
	");\n"
	"workers = { lcores = [1]; flow_capacity = %u;\n"
	"  snat_addresses = [\"198.51.100.2\", \"198.51.100.3\", \"198.51.100.4\", \"198.51.100.5\",\n"
	"                    \"198.51.100.6\", \"198.51.100.7\", \"198.51.100.8\", \"198.51.100.9\"];\n"
	"  timeouts = { tcp_syn = 600; tcp_established = 3600; udp = 600; }; };\n"
	"frontends = ( { name = \"web\"; vip = \"192.0.2.10\"; port = 80; targets = ( %s ); } );\n";

static const uint8_t EXT_MAC[6] = { 0x02, 0x70, 0x63, 0x61, 0x70, 0x00 };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
tsc(void)
{
#ifdef __x86_64__
	return __rdtsc();
#else
	return (uint64_t)(now_s() * 1e9);
#endif
}

static uint16_t
csum(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* A TCP frame client:port -> VIP:80 with the given flags. */
static void
tcp_frame(uint8_t *f, uint32_t client, uint16_t cport, uint8_t flags)
{
	uint8_t *ip = f + 14, *th = ip + 20;
	uint32_t vip = htonl(0xc000020a), acc;

	memset(f, 0, FRAME_LEN);
	memcpy(f, EXT_MAC, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\xcc\x01", 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 46;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &client, 4);
	memcpy(ip + 16, &vip, 4);
	ip[10] = 0;
	ip[11] = 0;
	{
		uint16_t c = csum(ip, 20, 0);

		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	}
	memcpy(th, &cport, 2);
	th[2] = 0;
	th[3] = 80;
	th[12] = 5 << 4;
	th[13] = flags;
	th[14] = 0xff;
	th[15] = 0xff;
	acc = (ntohl(client) >> 16) + (ntohl(client) & 0xffff) + 0xc000 + 0x020a + 6 + 26;
	{
		uint16_t c = csum(th, 26, acc);

		th[16] = (uint8_t)(c >> 8);
		th[17] = (uint8_t)c;
	}
}

#define CTR_SLOTS	64

static int fe_counters = 1;
static struct lb_stats_fe_set fe_ctr[CTR_SLOTS];
static struct lb_stats_target_set t_ctr[CTR_SLOTS];

struct env {
	struct lb_snap *snap;
	struct lb_neigh *neigh;
	struct lb_neigh_table *nt;
	struct lb_dp_worker w;
	void *mem[2];
	struct lb_config *cfg;
};

/* Table memory as lbd has it: 2 MB hugepages (reserved ones when there are,
 * else transparent ones where the kernel gives them). Never freed: the
 * process is short-lived. */
static void *
huge_alloc(size_t sz)
{
	size_t a = 2u << 20, len = (sz + a - 1) & ~(a - 1);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		-1, 0);

	if (p != MAP_FAILED)
		return p;
	p = aligned_alloc(a, len);
	if (p != NULL) {
		madvise(p, len, MADV_HUGEPAGE);
		memset(p, 0, len);
	}
	return p;
}

static int
env_init(struct env *e, uint32_t capacity)
{
	static char text[16384], neigh[4096], tgt[4096];
	const struct lb_neigh_params np = { .reachable_ms = 300000, .retries = 3, .retry_ms = 1000,
		.queue_len = 3, .failed_hold_ms = 5000, .max_entries = 64 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	uint32_t ips[16], i;
	uint8_t macs[16][6], ports[16];
	struct lb_snap_env se;
	char err[512];
	size_t off = 0, toff = 0;

	for (i = 0; i < 10; i++) {
		off += (size_t)snprintf(neigh + off, sizeof(neigh) - off,
			"%s{ address = \"198.51.100.%u\"; mac = \"02:00:00:00:01:%02x\"; }",
			i ? ", " : "", 11 + i, 11 + i);
		toff += (size_t)snprintf(tgt + toff, sizeof(tgt) - toff,
			"%s{ address = \"198.51.100.%u\"; port = 30080; }", i ? ", " : "", 11 + i);
	}
	snprintf(text, sizeof(text), conf_text, neigh, capacity, tgt);
	e->cfg = lb_config_load_string(text, "bench.conf", err, sizeof(err));
	if (e->cfg == NULL) {
		fprintf(stderr, "bench_dp: %s\n", err);
		return -1;
	}
	memset(&se, 0, sizeof(se));
	se.n_workers = 1;
	se.dev[1] = 1;
	memcpy(se.mac[0], EXT_MAC, 6);
	memcpy(se.mac[1], "\x02\x00\x00\x00\x00\x02", 6);
	e->snap = lb_snap_build_config(e->cfg, &se, NULL, err, sizeof(err));
	if (e->snap == NULL) {
		fprintf(stderr, "bench_dp: %s\n", err);
		return -1;
	}
	e->neigh = lb_neigh_create(&np, &ops);
	for (i = 0; i < e->cfg->ports[1].n_neigh; i++) {
		ips[i] = e->cfg->ports[1].neigh[i].addr;
		memcpy(macs[i], e->cfg->ports[1].neigh[i].mac, 6);
		ports[i] = 1;
	}
	lb_neigh_set_static(e->neigh, ips, (const uint8_t (*)[6])macs, ports,
		e->cfg->ports[1].n_neigh, 0);
	e->nt = lb_neigh_table_build(e->neigh);
	memset(&e->w, 0, sizeof(e->w));
	e->mem[0] = huge_alloc(lb_flow_table_memsize(capacity));
	e->mem[1] = huge_alloc(lb_flow_table_memsize(1024));
	e->w.flows = lb_flow_table_init(e->mem[0], capacity, 42);
	e->w.affinity = lb_flow_table_init(e->mem[1], 1024, 43);
	lb_snat_init(&e->w.snat, &e->snap->snat, 0, e->cfg->snat_addrs, e->cfg->n_snat);
	if (e->w.flows == NULL)
		return -1;
	if (fe_counters) {
		/* slots as lbd's control thread gives them: one per frontend and
		 * per target */
		uint32_t f, t, nt = 0;

		memset(fe_ctr, 0, sizeof(fe_ctr));
		memset(t_ctr, 0, sizeof(t_ctr));
		for (f = 0; f < e->snap->n_fes && f < CTR_SLOTS; f++) {
			struct lb_snap_fe *fe = (struct lb_snap_fe *)&e->snap->fes[f];

			fe->ctr = f;
			for (t = 0; t < fe->n_targets && nt < CTR_SLOTS; t++)
				((struct lb_snap_target *)fe->targets)[t].ctr = nt++;
		}
		if (lb_dp_counters_attach(&e->w, fe_ctr, CTR_SLOTS, t_ctr, CTR_SLOTS) != 0)
			return -1;
	}
	return 0;
}

static void
env_free(struct env *e)
{
	lb_neigh_table_free(e->nt);
	lb_neigh_destroy(e->neigh);
	lb_snap_free(e->snap);
	lb_config_free(e->cfg);
}

/*
 * Runs the frames tmpl[0..n) round and round for about secs seconds in
 * bursts of burst_n (32 by default, as lbd's worker) or one by one; returns
 * the best ns/frame of the SLICES slices of the run and stores cycles/frame.
 * The best slice is the one least disturbed by other work on the machine.
 */
static double
run(struct env *e, const uint8_t *tmpl, uint32_t n, bool burst, double secs, uint64_t *now,
	double *cycles, uint64_t *tx)
{
	static uint8_t buf[MAX_BURST * SLOT] __attribute__((aligned(64)));
	struct lb_dp_pkt p[MAX_BURST];
	double best = 1e9, bestc = 1e9;
	uint32_t i = 0, k, slice;

	for (slice = 0; slice < SLICES; slice++) {
		double t0 = now_s(), t1;
		uint64_t c0 = tsc(), frames = 0;

		do {
			for (k = 0; k < burst_n; k++, i = i + 1 == n ? 0 : i + 1) {
				memcpy(buf + k * SLOT + HEADROOM, tmpl + (size_t)i * FRAME_LEN, FRAME_LEN);
				p[k].frame = buf + k * SLOT + HEADROOM;
				p[k].len = FRAME_LEN;
				p[k].headroom = HEADROOM;
				p[k].in_port = 0;
				p[k].hints = 0;
			}
			if (burst) {
				lb_dp_process_burst(&e->w, e->snap, e->nt, p, burst_n, *now);
			} else {
				for (k = 0; k < burst_n; k++)
					p[k].verdict = lb_dp_process(&e->w, e->snap, e->nt, p[k].frame,
						p[k].len, p[k].headroom, 0, *now, &p[k].r);
			}
			for (k = 0; k < burst_n; k++)
				*tx += p[k].verdict == LB_DP_TX;
			frames += burst_n;
			if ((frames & 0x3fff) == 0)
				(*now)++;
		} while ((t1 = now_s()) - t0 < secs / SLICES);
		if ((t1 - t0) * 1e9 / (double)frames < best) {
			best = (t1 - t0) * 1e9 / (double)frames;
			bestc = (double)(tsc() - c0) / (double)frames;
		}
	}
	*cycles = bestc;
	return best;
}

static void
bench(uint32_t flows, bool new_conn, double secs)
{
	uint32_t capacity = new_conn ? 262144 : (flows * 5 / 4 < 65536 ? 65536 : flows * 5 / 4);
	uint32_t n = new_conn ? 1000000 : flows, i;
	uint8_t *tmpl = malloc((size_t)n * FRAME_LEN);
	uint64_t now = 1000000, tx = 0;
	double nsb, nss, cb, cs;
	struct env e;

	if (tmpl == NULL || env_init(&e, capacity) != 0)
		exit(1);
	for (i = 0; i < n; i++)
		tcp_frame(tmpl + (size_t)i * FRAME_LEN,
			htonl(0x0a000000u | ((i * 0x9e3779b1u) & 0xffffff)),
			htons((uint16_t)(1024 + i % 60000)), 0x02);
	/* warm: every flow in the table (new connections: a full table) */
	run(&e, tmpl, n, true, n > 100000 ? 2.0 : 0.5, &now, &cb, &tx);
	tx = 0;
	nsb = run(&e, tmpl, n, true, secs, &now, &cb, &tx);
	nss = run(&e, tmpl, n, false, secs, &now, &cs, &tx);
	printf("dp  %-9s flows=%-8u burst %6.1f ns %6.0f cycles/frame   one by one %6.1f ns %6.0f "
		"cycles/frame   table %u, evicted %lu%s\n", new_conn ? "new-conn" : "est-tcp",
		new_conn ? n : flows, nsb, cb, nss, cs, capacity,
		(unsigned long)(lb_flow_stats(e.w.flows)->evicted[LB_FLOW_SYN] +
		lb_flow_stats(e.w.flows)->evicted[LB_FLOW_EST]), tx == 0 ? " (NOTHING SENT)" : "");
	printf("{\"workload\":\"dp_%s\",\"flows\":%u,\"burst_ns\":%.2f,\"burst_cycles\":%.1f,"
		"\"single_ns\":%.2f,\"single_cycles\":%.1f,\"fe_counters\":%s}\n",
		new_conn ? "new_conn" : "est_tcp", new_conn ? n : flows, nsb, cb, nss, cs,
		fe_counters ? "true" : "false");
	env_free(&e);
	free(tmpl);
}

int
main(int argc, char **argv)
{
	static const uint32_t def[] = { 1, 1000, 65536, 1000000 };
	uint32_t list[16], n = 0, i;
	double secs = 2.0;
	char *s, *save = NULL;

	for (i = 1; i + 1 < (uint32_t)argc; i += 2) {
		if (strcmp(argv[i], "-s") == 0)
			secs = atof(argv[i + 1]);
		else if (strcmp(argv[i], "-c") == 0)
			fe_counters = atoi(argv[i + 1]) != 0;
		else if (strcmp(argv[i], "-b") == 0)
			burst_n = LB_MIN((uint32_t)atoi(argv[i + 1]), (uint32_t)MAX_BURST);
		else if (strcmp(argv[i], "-n") == 0)
			for (s = strtok_r(argv[i + 1], ",", &save); s && n < 16;
			     s = strtok_r(NULL, ",", &save))
				list[n++] = (uint32_t)strtoul(s, NULL, 0);
	}
	if (n == 0)
		for (n = 0; n < 4; n++)
			list[n] = def[n];
	for (i = 0; i < n; i++)
		bench(list[i], list[i] == 0, secs);
	return 0;
}
