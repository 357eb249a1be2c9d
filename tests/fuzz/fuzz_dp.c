/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the whole data path: lb_dp_process on two workers against
 * one fixed snapshot (FullNAT, DNAT, affinity, source ranges, a target
 * behind the gateway, one whose next hop is unresolved, an empty frontend).
 * Flow tables are small (eviction happens) and, like a worker's, are kept
 * from one input to the next, as are the SNAT TIME_WAIT records and the
 * per-frontend and per-target counter sets; the clock only moves forward.
 *
 * An input is a sequence of records:
 *   byte 0   bit 0: port (0 ext, 1 int); bit 1: the worker that receives it;
 *            bit 2: fix the IPv4 header checksum first (so mutations get past
 *            the parser); bit 3: housekeeping after it; bits 4-7: clock
 *            advance, (v * v * 50) ms
 *   byte 1-2 frame length (little endian, at most 2048)
 *   ...      the frame
 *
 * Checked on every frame: the verdict is one of four; a drop names a reason
 * and moves exactly one drop counter; a hand-off names another worker, whose
 * own verdict is never a hand-off; a frame lbd sends (or gives the control
 * thread) lies inside the buffer, parses with a correct IPv4 header
 * checksum, carries the output port's VLAN and source MAC, is no longer than
 * the frame's bytes and its datagram no larger than the port's MTU; and per
 * worker rx + handoff_in == tx + handoff_out + to_control + drops.
 */
#include <string.h>

#include "fuzz.h"
#include "lb_config.h"
#include "lb_dp.h"
#include "lb_neigh.h"
#include "lb_pkt.h"
#include "lb_snap.h"
#include "../unit/dp_util.h"

#define NWORKERS	2
#define CAPACITY	64
#define HEADROOM	128
#define MAX_FRAME	2048
#define CTR_SLOTS	32

static const char config[] =
	"ports = (\n"
	"  { name = \"ext\"; device = \"net_null0\"; role = \"external\"; address = \"192.0.2.1/24\"; },\n"
	"  { name = \"int\"; device = \"net_null1\"; role = \"internal\"; address = \"198.51.100.1/24\";\n"
	"    gateway = \"198.51.100.254\"; vlan = 100;\n"
	"    neighbours = (\n"
	"      { address = \"198.51.100.11\"; mac = \"02:00:00:00:01:11\"; },\n"
	"      { address = \"198.51.100.12\"; mac = \"02:00:00:00:01:12\"; },\n"
	"      { address = \"198.51.100.21\"; mac = \"02:00:00:00:01:21\"; },\n"
	"      { address = \"198.51.100.254\"; mac = \"02:00:00:00:01:fe\"; }\n"
	"    ); }\n"
	");\n"
	"workers = { lcores = [1, 2]; flow_capacity = 1024; snat_addresses = [\"198.51.100.2\"];\n"
	"  snat_ports = [1024, 1100]; };\n"
	"frontends = (\n"
	"  { name = \"web\"; vip = \"192.0.2.10\"; port = 80; maglev_size = 251; targets = (\n"
	"      { address = \"198.51.100.11\"; port = 30080; },\n"
	"      { address = \"198.51.100.12\"; port = 30080; weight = 3; } ); },\n"
	"  { name = \"dns\"; vip = \"192.0.2.10\"; protocol = \"udp\"; port = 53; maglev_size = 251;\n"
	"    targets = ( { address = \"198.51.100.11\"; port = 30053; } ); },\n"
	"  { name = \"pods\"; vip = \"192.0.2.20\"; port = 80; method = \"dnat\"; maglev_size = 251;\n"
	"    targets = ( { address = \"198.51.100.21\"; port = 8080; } ); },\n"
	"  { name = \"podsu\"; vip = \"192.0.2.20\"; protocol = \"udp\"; port = 53; method = \"dnat\";\n"
	"    maglev_size = 251; targets = ( { address = \"198.51.100.21\"; port = 53; } ); },\n"
	"  { name = \"sticky\"; vip = \"192.0.2.30\"; port = 443; session_affinity = \"client_ip\";\n"
	"    maglev_size = 251; targets = ( { address = \"198.51.100.11\"; port = 30443; },\n"
	"      { address = \"198.51.100.12\"; port = 30443; } ); },\n"
	"  { name = \"acl\"; vip = \"192.0.2.40\"; port = 80; source_ranges = [\"203.0.113.0/25\"];\n"
	"    maglev_size = 251; targets = ( { address = \"198.51.100.11\"; port = 30081; } ); },\n"
	"  { name = \"far\"; vip = \"192.0.2.60\"; port = 80; maglev_size = 251;\n"
	"    targets = ( { address = \"10.99.0.5\"; port = 8080; } ); },\n"
	"  { name = \"unresolved\"; vip = \"192.0.2.70\"; port = 80; maglev_size = 251;\n"
	"    targets = ( { address = \"198.51.100.99\"; port = 8080; } ); },\n"
	"  { name = \"empty\"; vip = \"192.0.2.50\"; port = 80; }\n"
	");\n";

static const uint8_t macs[2][6] = { { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 } };

static struct {
	struct lb_config *cfg;
	struct lb_snap *snap;
	struct lb_neigh *neigh;
	struct lb_neigh_table *nt;
	struct lb_dp_worker w[NWORKERS];
	/* what the worker loop would count */
	uint64_t rx[NWORKERS], hin[NWORKERS], hout[NWORKERS], tx[NWORKERS], ctl[NWORKERS];
	uint64_t now;
	/* per-frontend and per-target counter sets, as lbd attaches them */
	struct lb_stats_fe_set fe_ctr[NWORKERS][CTR_SLOTS];
	struct lb_stats_target_set t_ctr[NWORKERS][CTR_SLOTS];
} g;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct lb_neigh_params np = { .reachable_ms = 300000, .retries = 3, .retry_ms = 1000,
		.queue_len = 3, .failed_hold_ms = 5000, .max_entries = 64 };
	const struct lb_neigh_ops ops = DPU_NOOP_NEIGH_OPS;
	const struct lb_config_port *p;
	struct lb_snap_env env;
	uint32_t ips[16], i, k, n_t;
	uint8_t nmacs[16][6], ports[16];
	char err[512];

	(void)argc;
	(void)argv;
	g.cfg = lb_config_load_string(config, "fuzz_dp.conf", err, sizeof(err));
	if (g.cfg == NULL) {
		fprintf(stderr, "fuzz_dp: %s\n", err);
		abort();
	}
	memset(&env, 0, sizeof(env));
	env.n_workers = NWORKERS;
	env.dev[0] = 0;
	env.dev[1] = 1;
	memcpy(env.mac, macs, sizeof(macs));
	env.mtu[0] = 1500;
	env.mtu[1] = 1400;
	g.snap = lb_snap_build_config(g.cfg, &env, NULL, err, sizeof(err));
	CHECK(g.snap != NULL);
	g.neigh = lb_neigh_create(&np, &ops);
	CHECK(g.neigh != NULL);
	p = &g.cfg->ports[1];
	for (i = 0; i < p->n_neigh; i++) {
		ips[i] = p->neigh[i].addr;
		memcpy(nmacs[i], p->neigh[i].mac, 6);
		ports[i] = 1;
	}
	CHECK(lb_neigh_set_static(g.neigh, ips, (const uint8_t (*)[6])nmacs, ports, p->n_neigh, 0) == 0);
	g.nt = lb_neigh_table_build(g.neigh);
	CHECK(g.nt != NULL);
	/* counter slots as lbd's stats give them: one per frontend, one per
	 * target of each */
	for (i = 0, n_t = 0; i < g.snap->n_fes && i < CTR_SLOTS; i++) {
		struct lb_snap_fe *fe = (struct lb_snap_fe *)&g.snap->fes[i];

		fe->ctr = i;
		for (k = 0; k < fe->n_targets && n_t < CTR_SLOTS; k++)
			((struct lb_snap_target *)fe->targets)[k].ctr = n_t++;
	}
	for (i = 0; i < NWORKERS; i++) {
		size_t sz = (lb_flow_table_memsize(CAPACITY) + 63) & ~(size_t)63, tw;
		void *m1 = aligned_alloc(64, sz), *m2 = aligned_alloc(64, sz), *m3;

		g.w[i].id = i;
		g.w[i].flows = lb_flow_table_init(m1, CAPACITY, 7 + i);
		g.w[i].affinity = lb_flow_table_init(m2, CAPACITY, 9 + i);
		CHECK(g.w[i].flows != NULL && g.w[i].affinity != NULL);
		CHECK(lb_snat_init(&g.w[i].snat, &g.snap->snat, i, g.cfg->snat_addrs, g.cfg->n_snat) == 0);
		/* the SNAT TIME_WAIT records (workers.snat_time_wait, 60 s) */
		tw = (lb_dp_tw_memsize(lb_snat_candidates(&g.w[i].snat)) + 63) & ~(size_t)63;
		m3 = aligned_alloc(64, tw);
		CHECK(m3 != NULL);
		g.w[i].snat_tw = lb_dp_tw_init(m3, lb_snat_candidates(&g.w[i].snat), 11 + i);
		CHECK(g.w[i].snat_tw != NULL);
		CHECK(lb_dp_counters_attach(&g.w[i], g.fe_ctr[i], CTR_SLOTS, g.t_ctr[i],
			CTR_SLOTS) == 0);
	}
	g.now = 1000000;
	return 0;
}

static uint64_t
drops_of(const struct lb_dp_worker *w)
{
	uint64_t d = 0;
	unsigned i;

	for (i = 0; i < LB_DROP_MAX; i++)
		d += w->ctr.drops[i];
	return d;
}

static void
fix_ip_csum(uint8_t *f, uint32_t len)
{
	uint32_t off = 14, ihl, i, s = 0;

	if (len >= 18 && f[12] == 0x81 && f[13] == 0x00)
		off = 18;
	if (len < off + 20 || f[off - 2] != 0x08 || f[off - 1] != 0x00)
		return;
	ihl = (uint32_t)(f[off] & 0xf) * 4;
	if (ihl < 20 || off + ihl > len)
		return;
	f[off + 10] = f[off + 11] = 0;
	for (i = 0; i < ihl; i += 2)
		s += (uint32_t)f[off + i] << 8 | f[off + i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	f[off + 10] = (uint8_t)(~s >> 8);
	f[off + 11] = (uint8_t)~s;
}

/* What lbd hands on (TX or to control): inside the buffer, well formed. */
static void
check_output(const uint8_t *buf, size_t bufsz, const uint8_t *frame, uint32_t len,
	const struct lb_dp_result *r, enum lb_dp_verdict v)
{
	const uint8_t *out = frame + r->adj;
	const struct lb_snap_port *port;
	struct lb_pkt p;

	CHECK(r->port < g.snap->n_ports);
	CHECK(r->adj == 0 || r->adj == 4 || r->adj == -4);
	CHECK(out >= buf && r->len >= 14 && out + r->len <= buf + bufsz);
	CHECK((int64_t)r->len <= (int64_t)len - r->adj);
	CHECK(lb_pkt_parse(out, r->len, true, &p) == LB_PKT_OK);
	port = &g.snap->ports[r->port];
	if (v == LB_DP_TX || r->ctl == LB_DP_CTL_RESOLVE) {
		CHECK(p.vlan == port->vlan && (p.has_vlan != 0) == (port->vlan != 0));
		CHECK(memcmp(out + 6, port->mac, 6) == 0);
	}
	if (p.ether_type == LB_ETHER_TYPE_IPV4) {
		CHECK(p.l3_len <= port->mtu);
		CHECK((uint32_t)p.l3_off + p.l3_len <= r->len);
	}
}

static void
one_frame(uint8_t flags, const uint8_t *data, uint32_t len)
{
	uint8_t in_port = flags & 1;
	uint32_t wi = (flags >> 1) & 1;
	size_t bufsz = HEADROOM + len;
	uint8_t *buf = malloc(bufsz ? bufsz : 1), *frame = buf + HEADROOM;
	struct lb_dp_result r;
	enum lb_dp_verdict v;
	uint64_t before;
	uint32_t k;

	CHECK(buf != NULL);
	memset(buf, 0xa5, HEADROOM);
	memcpy(frame, data, len);
	if (flags & 4)
		fix_ip_csum(frame, len);
	g.rx[wi]++;
	for (k = 0;; k++) {
		before = drops_of(&g.w[wi]);
		memset(&r, 0xee, sizeof(r));
		v = lb_dp_process(&g.w[wi], g.snap, g.nt, frame, len, HEADROOM, in_port, g.now, &r);
		CHECK(v == LB_DP_DROP || v == LB_DP_TX || v == LB_DP_HANDOFF || v == LB_DP_TO_CTL);
		if (v != LB_DP_HANDOFF)
			break;
		CHECK(k == 0);
		CHECK(r.worker < NWORKERS && r.worker != wi);
		CHECK(drops_of(&g.w[wi]) == before);
		g.hout[wi]++;
		wi = r.worker;
		g.hin[wi]++;
	}
	switch (v) {
	case LB_DP_DROP:
		CHECK((unsigned)r.reason < LB_DROP_MAX);
		CHECK(drops_of(&g.w[wi]) == before + 1);
		break;
	case LB_DP_TX:
		CHECK(drops_of(&g.w[wi]) == before);
		check_output(buf, bufsz, frame, len, &r, v);
		g.tx[wi]++;
		break;
	default:
		CHECK(drops_of(&g.w[wi]) == before);
		CHECK(r.ctl == LB_DP_CTL_ARP || r.ctl == LB_DP_CTL_RESOLVE ||
			r.ctl == LB_DP_CTL_CONFLICT);
		check_output(buf, bufsz, frame, len, &r, v);
		g.ctl[wi]++;
		break;
	}
	for (k = 0; k < NWORKERS; k++)
		CHECK(g.rx[k] + g.hin[k] == g.tx[k] + g.hout[k] + g.ctl[k] + drops_of(&g.w[k]));
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off + 3 <= size) {
		uint8_t flags = data[off];
		uint32_t len = (uint32_t)data[off + 1] | (uint32_t)data[off + 2] << 8;
		uint32_t adv = flags >> 4;

		off += 3;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		if (len > size - off)
			len = (uint32_t)(size - off);
		g.now += (uint64_t)adv * adv * 50;
		one_frame(flags, data + off, len);
		off += len;
		if (flags & 8)
			for (uint32_t i = 0; i < NWORKERS; i++)
				lb_dp_housekeep(&g.w[i], g.now, 16);
	}
	return 0;
}
