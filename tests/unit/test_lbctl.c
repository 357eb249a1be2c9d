/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lbctl: its argument checking and table formatting on canned results, then
 * the real binary (path in argv[1]) end to end against an lb_ctl_server run
 * by this test with canned answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "lb_ctl.h"
#include "lbctl.h"

static const char *lbctl_path;

/* Canned results, shaped as docs/lbctl.md specifies. */
static const char status_json[] =
	"{\"version\":\"0.1.0\",\"pid\":4242,\"uptime_s\":93784,\"config\":\"/etc/lbd/lbd.conf\","
	"\"generation\":3,\"workers\":2,\"frontends\":4,"
	"\"ports\":[{\"name\":\"ext\",\"device\":\"0000:01:00.0\",\"role\":\"external\","
	"\"address\":\"192.0.2.1/24\",\"mac\":\"02:00:00:00:00:01\",\"vlan\":0,\"link\":\"up\","
	"\"rx_queues\":2,\"tx_queues\":3},"
	"{\"name\":\"int\",\"device\":\"net_af_packet0,iface=veth1\",\"role\":\"internal\","
	"\"address\":\"198.51.100.2/24\",\"mac\":\"02:00:00:00:00:02\",\"vlan\":100,"
	"\"link\":\"down\",\"rx_queues\":2,\"tx_queues\":3}],"
	"\"last_reload\":{\"ok\":true,\"time\":1700000000,\"error\":\"\"}}";

static const char frontends_json[] =
	"{\"frontends\":[{\"name\":\"web\",\"vip\":\"192.0.2.10\",\"protocol\":\"tcp\",\"port\":80,"
	"\"method\":\"fullnat\",\"session_affinity\":\"none\",\"affinity_timeout\":10800,"
	"\"source_ranges\":[\"0.0.0.0/0\"],\"maglev_size\":65537,\"targets\":3,\"active\":3,"
	"\"fail_open\":false,\"origin\":\"config /etc/lbd/lbd.conf:40\",\"source\":\"config\"},"
	"{\"name\":\"dns\",\"vip\":\"192.0.2.11\",\"protocol\":\"udp\",\"port\":53,"
	"\"method\":\"dnat\",\"session_affinity\":\"clientip\",\"affinity_timeout\":600,"
	"\"source_ranges\":[\"10.0.0.0/8\",\"192.168.0.0/16\"],\"maglev_size\":251,"
	"\"targets\":12,\"active\":11,\"fail_open\":true,\"origin\":\"k8s kube-system/dns port dns\","
	"\"source\":\"kubernetes\",\"service\":{\"namespace\":\"kube-system\",\"name\":\"dns\","
	"\"port\":\"dns\"}}]}";

static const char targets_json[] =
	"{\"frontend\":\"web\",\"targets\":["
	"{\"address\":\"198.51.100.11\",\"port\":30080,\"weight\":1,\"drained\":false,"
	"\"state\":\"active\",\"reasons\":[],"
	"\"slots\":16384,\"share\":0.25,\"nexthop\":\"198.51.100.11\","
	"\"health\":{\"check\":\"http 198.51.100.11:10256/healthz\",\"state\":\"up\","
	"\"last_result\":\"ok\",\"reason\":\"HTTP 200\",\"latency_ms\":1.25,"
	"\"last_check\":1700000100.5,\"last_change\":1700000000}},"
	"{\"address\":\"198.51.100.12\",\"port\":30080,\"weight\":2,\"drained\":false,"
	"\"state\":\"terminating\",\"reasons\":[\"terminating (Kubernetes endpoint)\"],"
	"\"slots\":32769,\"share\":0.5000076,\"nexthop\":\"198.51.100.12\",\"health\":null},"
	"{\"address\":\"203.0.113.100\",\"port\":8080,\"weight\":1,\"drained\":true,"
	"\"state\":\"drained\",\"reasons\":[\"drained (lbctl drain, all frontends)\","
	"\"unhealthy: healthz 503\"],"
	"\"slots\":16384,\"share\":0.25,\"nexthop\":\"198.51.100.1\","
	"\"health\":{\"check\":\"tcp 203.0.113.100:8080\",\"state\":\"down\","
	"\"last_result\":\"failed\",\"reason\":\"connect: Connection refused\","
	"\"latency_ms\":0.31,\"last_check\":1700000101,\"last_change\":1700000050}}]}";

static const char health_json[] =
	"{\"checks\":["
	"{\"kind\":\"http\",\"address\":\"198.51.100.11\",\"port\":10256,\"path\":\"/healthz\","
	"\"check\":\"http 198.51.100.11:10256/healthz\",\"state\":\"up\",\"last_result\":\"ok\","
	"\"reason\":\"HTTP 200\",\"latency_ms\":1.25,\"last_check\":1700000100.5,"
	"\"last_change\":1700000000,\"in_flight\":false,\"successes\":12,\"failures\":0,"
	"\"interval_ms\":2000,\"timeout_ms\":1000,\"rise\":2,\"fall\":3,\"targets\":["
	"{\"frontend\":\"web\",\"target\":\"198.51.100.11:30080\"},"
	"{\"frontend\":\"web-tls\",\"target\":\"198.51.100.11:30443\"}]},"
	"{\"kind\":\"tcp\",\"address\":\"203.0.113.100\",\"port\":8080,"
	"\"check\":\"tcp 203.0.113.100:8080\",\"state\":\"down\",\"last_result\":\"failed\","
	"\"reason\":\"connect: Connection refused\",\"latency_ms\":0.31,\"last_check\":1700000101,"
	"\"last_change\":1700000050,\"in_flight\":true,\"successes\":0,\"failures\":7,"
	"\"interval_ms\":2000,\"timeout_ms\":1000,\"rise\":2,\"fall\":3,\"targets\":["
	"{\"frontend\":\"web\",\"target\":\"203.0.113.100:8080\"}]},"
	"{\"kind\":\"tcp\",\"address\":\"10.244.1.7\",\"port\":53,"
	"\"check\":\"tcp 10.244.1.7:53\",\"state\":\"unknown\",\"last_result\":null,"
	"\"reason\":null,\"latency_ms\":null,\"last_check\":null,\"last_change\":0,"
	"\"in_flight\":true,\"successes\":0,\"failures\":0,\"interval_ms\":2000,"
	"\"timeout_ms\":1000,\"rise\":2,\"fall\":3,\"targets\":[]}],"
	"\"up\":1,\"down\":1,\"unknown\":1,\"in_flight\":2,\"probes\":340,\"probes_failed\":7,"
	"\"interface\":\"eth1\",\"source\":null}";

#define WORKER_STATS(id, lc, rx, tx, nf, ttl) \
	"{\"id\":" #id ",\"lcore\":" #lc ",\"rx\":" #rx ",\"tx\":" #tx ",\"handoff_in\":0," \
	"\"handoff_out\":0,\"to_control\":2,\"flows\":7," \
	"\"drops\":{\"no_frontend\":" #nf ",\"ttl_exceeded\":" #ttl ",\"bad_checksum\":0}}"
static const char stats_json[] =
	"{\"workers\":[" WORKER_STATS(0, 1, 1000, 990, 8, 0) "," WORKER_STATS(1, 2, 5, 3, 0, 0) "],"
	"\"total\":{\"rx\":1005,\"tx\":993,\"handoff_in\":0,\"handoff_out\":0,\"to_control\":4,"
	"\"flows\":14,\"drops\":{\"no_frontend\":8,\"ttl_exceeded\":0,\"bad_checksum\":0}},"
	"\"neighbours\":{\"requests\":3,\"replies\":2,\"queued\":1,\"sent\":1,\"queue_full\":0,"
	"\"failed\":0,\"resolutions_failed\":1}}";

static const char flows_json[] =
	"{\"count\":12,\"per_worker\":[12,0],\"sample\":["
	"{\"worker\":0,\"protocol\":\"tcp\",\"client\":\"192.0.2.2:40000\",\"vip\":\"192.0.2.10:80\","
	"\"target\":\"198.51.100.12:30080\",\"snat\":\"198.51.100.2:1030\",\"state\":\"established\","
	"\"expires_in_ms\":3599000},"
	"{\"worker\":0,\"protocol\":\"udp\",\"client\":\"192.0.2.3:5353\",\"vip\":\"192.0.2.11:53\","
	"\"target\":\"10.244.1.7:53\",\"snat\":null,\"state\":\"active\",\"expires_in_ms\":250}]}";

static const char trace_json[] =
	"{\"frontend\":\"web\",\"allowed\":true,\"affinity\":false,\"hash\":123,\"slot\":456,"
	"\"maglev_size\":65537,\"target\":\"198.51.100.12:30080\",\"owner_worker\":0,"
	"\"reason\":\"slot 456 of web's table belongs to 198.51.100.12:30080\"}";

static const char drain_json[] =
	"{\"target\":\"198.51.100.11:30080\",\"frontends\":[\"web\",\"web-alt\"],\"generation\":4}";

static const char reload_json[] = "{\"generation\":5,\"frontends\":4}";

static const char neighbours_json[] =
	"{\"neighbours\":[{\"address\":\"198.51.100.11\",\"port\":\"int\",\"mac\":\"02:00:00:00:00:11\","
	"\"state\":\"reachable\",\"expires_in_ms\":1000,\"queued\":0},"
	"{\"address\":\"198.51.100.13\",\"port\":\"int\",\"mac\":null,\"state\":\"incomplete\","
	"\"expires_in_ms\":300,\"queued\":2}]}";

static struct json_object *
parse(const char *json)
{
	struct json_object *o = json_tokener_parse(json);

	if (o == NULL)
		fail_msg("bad canned JSON: %s", json);
	return o;
}

/* Formats a canned result as lbctl would print it; caller frees. */
static char *
fmt(const char *cmd, const char *json, bool verbose, bool as_json)
{
	struct json_object *r = json != NULL ? parse(json) : NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	if (as_json)
		lbctl_fmt_json(out, r);
	else
		lbctl_fmt_table(out, cmd, r, verbose);
	fclose(out);
	json_object_put(r);
	return buf;
}

static void
expect_fmt(const char *cmd, const char *json, bool verbose, const char *want)
{
	char *got = fmt(cmd, json, verbose, false);

	if (strcmp(got, want) != 0)
		fail_msg("%s output differs.\n--- got:\n%s--- want:\n%s", cmd, got, want);
	free(got);
}

static void
test_fmt_status(void **state)
{
	(void)state;
	expect_fmt("status", status_json, false,
		"lbd 0.1.0, pid 4242, up 1d 02:03:04\n"
		"config:       /etc/lbd/lbd.conf (generation 3)\n"
		"last reload:  ok at 2023-11-14 22:13:20 UTC\n"
		"workers:      2\n"
		"frontends:    4\n"
		"\n"
		"PORT  DEVICE                      ROLE      ADDRESS          MAC                "
		"VLAN  LINK  RXQ  TXQ\n"
		"ext   0000:01:00.0                external  192.0.2.1/24     02:00:00:00:00:01  "
		"   0  up      2    3\n"
		"int   net_af_packet0,iface=veth1  internal  198.51.100.2/24  02:00:00:00:00:02  "
		" 100  down    2    3\n");
	expect_fmt("status",
		"{\"version\":\"0.1.0\",\"uptime_s\":59,\"last_reload\":{\"ok\":false,\"time\":0,"
		"\"error\":\"/etc/lbd/lbd.conf:12: unknown key 'fronted'\"}}", false,
		"lbd 0.1.0, pid -, up 00:00:59\n"
		"config:       - (generation -)\n"
		"last reload:  FAILED at never: /etc/lbd/lbd.conf:12: unknown key 'fronted'\n"
		"workers:      -\n"
		"frontends:    -\n");
}

static void
test_fmt_frontends(void **state)
{
	(void)state;
	expect_fmt("frontends", frontends_json, false,
		"NAME  VIP         PROTO  PORT  METHOD   AFFINITY       TARGETS  ACTIVE  MAGLEV  SOURCES"
		"                    ORIGIN\n"
		"web   192.0.2.10  tcp      80  fullnat  none                 3       3   65537  0.0.0.0/0"
		"                  config /etc/lbd/lbd.conf:40\n"
		"dns   192.0.2.11  udp      53  dnat     clientip/600s       12      11     251  "
		"10.0.0.0/8,192.168.0.0/16  k8s kube-system/dns port dns [failing open]\n");
	expect_fmt("frontends", "{\"frontends\":[]}", false, "no frontends\n");
	/* with counters: a traffic table of totals after the frontends */
	expect_fmt("frontends", "{\"frontends\":[{\"name\":\"web\",\"vip\":\"192.0.2.10\","
		"\"protocol\":\"tcp\",\"port\":80,\"method\":\"fullnat\",\"session_affinity\":\"none\","
		"\"targets\":1,\"active\":1,\"maglev_size\":251,\"origin\":\"config\","
		"\"counters\":{\"packets_in\":1234567,\"packets_out\":12,\"bytes_in\":99999,"
		"\"bytes_out\":7,\"flows\":3,\"flows_created\":5,\"drops_acl_denied\":2,"
		"\"drops_no_flow\":1}}]}", false,
		"NAME  VIP         PROTO  PORT  METHOD   AFFINITY  TARGETS  ACTIVE  MAGLEV  SOURCES  ORIGIN\n"
		"web   192.0.2.10  tcp      80  fullnat  none            1       1     251  -        config\n"
		"\ntraffic (totals since each appeared; `lbctl top` for rates):\n"
		"FRONTEND  PKTS IN  PKTS OUT  BYTES IN  BYTES OUT  FLOWS  CREATED  DROPS\n"
		"web         1.23M        12    100.0k          7      3        5      3\n");
}

static void
test_fmt_targets(void **state)
{
	(void)state;
	expect_fmt("targets", targets_json, false,
		"frontend web: 3 targets\n"
		"ADDRESS         PORT  WEIGHT  STATE        SLOTS   SHARE  NEXTHOP        HEALTH       "
		"                      LATENCY  CHANGED                  WHY\n"
		"198.51.100.11  30080       1  active       16384  25.00%  198.51.100.11  up: HTTP 200 "
		"                       1.25ms  2023-11-14 22:13:20 UTC  -\n"
		"198.51.100.12  30080       2  terminating  32769  50.00%  198.51.100.12  -            "
		"                            -  -                        "
		"terminating (Kubernetes endpoint)\n"
		"203.0.113.100   8080       1  drained      16384  25.00%  198.51.100.1   down: connect: "
		"Connection refused   0.31ms  2023-11-14 22:14:10 UTC  "
		"drained (lbctl drain, all frontends); unhealthy: healthz 503\n");
	expect_fmt("targets", "{\"frontend\":\"web\",\"targets\":[]}", false,
		"frontend web: 0 targets\n");
}

static void
test_fmt_health(void **state)
{
	(void)state;
	expect_fmt("health", health_json, false,
		"3 checks: 1 up, 1 down, 1 unknown; 2 probes in flight; interface eth1\n"
		"CHECK                             STATE    LAST RESULT                          LATENCY  "
		"CHANGED                  TARGETS\n"
		"http 198.51.100.11:10256/healthz  up       ok: HTTP 200                          1.25ms  "
		"2023-11-14 22:13:20 UTC  web 198.51.100.11:30080, web-tls 198.51.100.11:30443\n"
		"tcp 203.0.113.100:8080            down     failed: connect: Connection refused   0.31ms  "
		"2023-11-14 22:14:10 UTC  web 203.0.113.100:8080\n"
		"tcp 10.244.1.7:53                 unknown  none yet                                   -  "
		"never                    -\n");
	expect_fmt("health", "{\"checks\":[],\"up\":0,\"down\":0,\"unknown\":0,\"in_flight\":0,"
		"\"interface\":\"\",\"source\":\"10.10.0.2\"}", false,
		"0 checks: 0 up, 0 down, 0 unknown; 0 probes in flight; source 10.10.0.2\n");
}

static void
test_fmt_stats(void **state)
{
	char *out;

	(void)state;
	expect_fmt("stats", stats_json, false,
		"COUNTER        w0  w1  TOTAL\n"
		"lcore           1   2      -\n"
		"rx           1000   5   1005\n"
		"tx            990   3    993\n"
		"handoff_in      0   0      0\n"
		"handoff_out     0   0      0\n"
		"to_control      2   2      4\n"
		"flows           7   7     14\n"
		"\n"
		"DROP REASON  w0  w1  TOTAL\n"
		"no_frontend   8   0      8\n"
		"\n"
		"neighbours: requests=3 replies=2 queued=1 sent=1 queue_full=0 failed=0 "
		"resolutions_failed=1\n");
	/* -v: every reason, zero or not. */
	out = fmt("stats", stats_json, true, false);
	assert_non_null(strstr(out,
		"DROP REASON   w0  w1  TOTAL\n"
		"no_frontend    8   0      8\n"
		"ttl_exceeded   0   0      0\n"
		"bad_checksum   0   0      0\n"));
	free(out);
	/* control counters and ports, as lbd sends them */
	out = fmt("stats", "{\"workers\":[],\"total\":{\"rx\":0,\"drops\":{}},"
		"\"control\":{\"rx\":4,\"garp_sent\":2},"
		"\"ports\":[{\"name\":\"ext\",\"rx_packets\":10,\"link_up\":1},"
		"{\"name\":\"int\",\"rx_packets\":2000,\"link_up\":0}]}", false, false);
	assert_non_null(strstr(out, "control: rx=4 garp_sent=2\n\n"
		"PORT  rx_packets  link_up\n"
		"ext           10        1\n"
		"int         2000        0\n"));
	free(out);
	/* No drops at all. */
	out = fmt("stats", "{\"workers\":[],\"total\":{\"rx\":0,\"drops\":{\"a\":0}}}", false, false);
	assert_string_equal(out, "COUNTER  TOTAL\nrx           0\n\ndrops: none\n");
	free(out);
}

/* lbctl top: two samples 2 s apart, rates checked cell by cell. */
#define TOP_WORKER(id, lc, rx, tx, nf, hin, fl, fc, d1, d2) \
	"{\"id\":" #id ",\"lcore\":" #lc ",\"rx\":" #rx ",\"tx\":" #tx ",\"handoff_in\":" #hin "," \
	"\"handoff_out\":0,\"to_control\":0,\"flows\":" #fl ",\"flows_created\":" #fc "," \
	"\"drops\":{\"no_frontend\":" #d1 ",\"no_flow\":" #d2 ",\"ttl_expired\":0}}"
#define TOP_PORT(n, up, rp, rb, tp, tb) \
	"{\"name\":\"" n "\",\"rx_packets\":" #rp ",\"tx_packets\":" #tp ",\"rx_bytes\":" #rb "," \
	"\"tx_bytes\":" #tb ",\"rx_missed\":0,\"rx_errors\":0,\"tx_errors\":0,\"link_up\":" #up "}"
static const char top_prev[] =
	"{\"workers\":[" TOP_WORKER(0, 1, 1000, 900, 10, 0, 5, 100, 0, 0) ","
	TOP_WORKER(1, 2, 0, 0, 0, 0, 0, 0, 0, 0) "],"
	"\"total\":" TOP_WORKER(9, 0, 1000, 900, 10, 0, 5, 100, 0, 0) ","
	"\"ports\":[" TOP_PORT("ext", 1, 1000, 64000, 0, 0) "," TOP_PORT("int", 0, 0, 0, 900, 90000)
	"]}";
static const char top_cur[] =
	"{\"workers\":[" TOP_WORKER(0, 1, 3000, 2800, 10, 40, 7, 300, 60, 40) ","
	TOP_WORKER(1, 2, 500, 400, 0, 100, 3, 120, 0, 0) "],"
	"\"total\":" TOP_WORKER(9, 0, 3500, 3200, 10, 140, 10, 420, 60, 40) ","
	"\"ports\":[" TOP_PORT("ext", 1, 3500, 2064000, 0, 0) "," TOP_PORT("int", 0, 0, 0, 3200, 340000)
	"]}";

static char *
top(const char *prev_stats, const char *cur_stats, const char *fes, unsigned w, unsigned h)
{
	struct lbctl_top_sample p = { 10.0, NULL, NULL, NULL }, c = { 12.0, NULL, NULL, NULL };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	p.stats = json_tokener_parse(prev_stats);
	c.stats = json_tokener_parse(cur_stats);
	c.status = json_tokener_parse(status_json);
	c.frontends = json_tokener_parse(fes);
	assert_non_null(p.stats);
	assert_non_null(c.stats);
	lbctl_top_render(f, &p, &c, 2.0, w, h);
	fclose(f);
	json_object_put(p.stats);
	json_object_put(c.stats);
	json_object_put(c.status);
	json_object_put(c.frontends);
	if (buf == NULL)
		fail_msg("open_memstream gave no buffer");
	return buf;
}

static void
expect_in(const char *out, const char *want)
{
	if (out == NULL)
		fail_msg("no output");
	if (strstr(out, want) == NULL) {
		fprintf(stderr, "--- lbctl top output:\n%s--- lacks:\n%s\n", out, want);
		fail_msg("lbctl top output lacks the lines above");
	}
}

static void
test_fmt_top(void **state)
{
	char *out;
	unsigned lines = 0;
	const char *p;

	(void)state;
	out = top(top_prev, top_cur, frontends_json, 0, 0);
	expect_in(out, "lbd 0.1.0  up 26:03:04  generation 3  workers 2  frontends 4");
	/* 2500 frames in 2 s; 320 new flows; 100 drops; 140 hand-offs */
	expect_in(out, "total: rx 1.25k pkt/s  tx 1.15k pkt/s  new flows 160/s  active flows 10  "
		"drops 50/s  hand-offs 0/s  to control 0/s\n");
	expect_in(out, "PORT  LINK  RX PKT/S  RX BIT/S  TX PKT/S  TX BIT/S  MISSED/S  ERRORS/S\n");
	/* (2064000 - 64000) * 8 / 2 = 8 Mbit/s */
	expect_in(out, "ext   up       1.25k     8.00M         0         0         0         0\n");
	expect_in(out, "int   down         0         0     1.15k     1.00M         0         0\n");
	expect_in(out, "WORKER  LCORE  RX PKT/S  TX PKT/S  NEW FLOWS/S  ACTIVE FLOWS  HANDOFF IN/S  "
		"TO CTL/S  DROPS/S\n");
	expect_in(out, "w0          1     1.00k       950          100             7            20  "
		"       0       50\n");
	expect_in(out, "w1          2       250       200           60             3            50  "
		"       0        0\n");
	/* reasons by rate, per worker and in total */
	expect_in(out, "DROPS/S BY REASON  w0  w1  TOTAL\n"
		"no_frontend        30   0     30\n"
		"no_flow            20   0     20\n");
	/* without per-frontend counters: lbctl frontends' columns */
	expect_in(out, "FRONTEND  VIP:PORT/PROTO     METHOD   TARGETS     ACTIVE  SOURCE\n"
		"web       192.0.2.10:80/tcp  fullnat        3          3  config\n"
		"dns       192.0.2.11:53/udp  dnat          12  11 (open)  kubernetes\n");
	assert_null(strstr(out, "PKT/S IN"));
	free(out);

	/* a window of 60 x 12: lines cut, rows cut with "... N more" */
	out = top(top_prev, top_cur, frontends_json, 60, 12);
	for (p = out; *p != '\0'; p++)
		if (*p == '\n')
			lines++;
	assert_true(lines <= 12);
	for (p = out; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		assert_true((size_t)(strchr(p, '\n') - p) <= 60);
	free(out);

	/* per-frontend counters in stats: rates per frontend */
	{
		static const char pf[] = "{\"workers\":[],\"total\":{\"rx\":0,\"drops\":{}},"
			"\"frontends\":[{\"name\":\"web\",\"packets_in\":100,\"bytes_in\":1000,"
			"\"packets_out\":50,\"bytes_out\":500,\"flows_created\":10,\"flows_ended\":4,"
			"\"drops_acl_denied\":0,\"drops_no_target\":1,"
			"\"targets\":[{\"target\":\"198.51.100.11:30080\",\"packets_in\":60,"
			"\"packets_out\":30,\"bytes_in\":600,\"bytes_out\":300,\"flows_created\":6,"
			"\"flows_ended\":2}]}]}";
		static const char cf[] = "{\"workers\":[],\"total\":{\"rx\":0,\"drops\":{}},"
			"\"frontends\":[{\"name\":\"web\",\"packets_in\":300,\"bytes_in\":251000,"
			"\"packets_out\":250,\"bytes_out\":2000500,\"flows_created\":30,\"flows_ended\":20,"
			"\"drops_acl_denied\":4,\"drops_no_target\":5,"
			"\"targets\":[{\"target\":\"198.51.100.11:30080\",\"packets_in\":160,"
			"\"packets_out\":130,\"bytes_in\":125600,\"bytes_out\":1000300,\"flows_created\":16,"
			"\"flows_ended\":12}]}]}";

		out = top(pf, cf, frontends_json, 0, 0);
		expect_in(out, "FRONTEND  VIP:PORT/PROTO     METHOD   TARGETS     ACTIVE  PKT/S IN  "
			"PKT/S OUT  BIT/S IN  BIT/S OUT  NEW/S  FLOWS  DROP/S  SOURCE\n"
			"web       192.0.2.10:80/tcp  fullnat        3          3       100        100     "
			"1.00M      8.00M     10     10       4  config\n"
			"dns       192.0.2.11:53/udp  dnat          12  11 (open)         -          -         "
			"-          -      -      -       -  kubernetes\n");
		expect_in(out, "FRONTEND  TARGET               PKT/S IN  PKT/S OUT  BIT/S IN  BIT/S OUT  "
			"NEW/S  FLOWS\n"
			"web       198.51.100.11:30080        50         50      500k      4.00M      5      4\n");
		expect_in(out, "drops/s: none\n");
		free(out);
	}
	/* first frame, or a counter that went back (lbd restarted): "-", never garbage */
	out = top(top_cur, top_prev, frontends_json, 0, 0);
	expect_in(out, "total: rx - pkt/s");
	free(out);
}

static void
test_fmt_flows(void **state)
{
	(void)state;
	expect_fmt("flows", flows_json, false,
		"12 flows (w0: 12, w1: 0)\n"
		"sample of 2:\n"
		"W  PROTO  CLIENT           VIP            TARGET               SNAT               "
		"STATE        EXPIRES\n"
		"0  tcp    192.0.2.2:40000  192.0.2.10:80  198.51.100.12:30080  198.51.100.2:1030  "
		"established  3599.0s\n"
		"0  udp    192.0.2.3:5353   192.0.2.11:53  10.244.1.7:53        -                  "
		"active       0.2s\n");
	expect_fmt("flows", "{\"count\":0,\"per_worker\":[0],\"sample\":[]}", false,
		"0 flows (w0: 0)\n");
}

static void
test_fmt_trace(void **state)
{
	(void)state;
	expect_fmt("trace", trace_json, false,
		"frontend:  web\n"
		"allowed:   yes\n"
		"affinity:  no\n"
		"hash:      123\n"
		"slot:      456 of 65537\n"
		"target:    198.51.100.12:30080\n"
		"owner:     worker 0\n"
		"reason:    slot 456 of web's table belongs to 198.51.100.12:30080\n");
	expect_fmt("trace",
		"{\"frontend\":null,\"allowed\":false,\"target\":null,"
		"\"reason\":\"no frontend for 192.0.2.99:80/tcp\"}", false,
		"frontend:  none\n"
		"allowed:   no\n"
		"affinity:  -\n"
		"hash:      -\n"
		"slot:      - of -\n"
		"target:    none\n"
		"owner:     worker -\n"
		"reason:    no frontend for 192.0.2.99:80/tcp\n");
}

static void
test_fmt_small(void **state)
{
	(void)state;
	expect_fmt("drain", drain_json, false,
		"drained 198.51.100.11:30080 in web, web-alt (generation 4)\n");
	expect_fmt("undrain", drain_json, false,
		"undrained 198.51.100.11:30080 in web, web-alt (generation 4)\n");
	expect_fmt("reload", reload_json, false, "reloaded: generation 5, 4 frontends\n");
	expect_fmt("neighbours", neighbours_json, false,
		"ADDRESS        PORT  MAC                STATE       EXPIRES  QUEUED\n"
		"198.51.100.11  int   02:00:00:00:00:11  reachable   1.0s          0\n"
		"198.51.100.13  int   -                  incomplete  0.3s          2\n");
	expect_fmt("neighbours", "{\"neighbours\":[]}", false, "no neighbours\n");
}

static void
test_fmt_json(void **state)
{
	char *out;

	(void)state;
	/* Keys stay in lbd's order, slashes are not escaped, numbers as sent. */
	out = fmt(NULL, "{\"zeta\":1,\"alpha\":{\"y\":\"0.0.0.0/0\",\"x\":0.5000076}}", false, true);
	assert_string_equal(out,
		"{\n"
		"  \"zeta\": 1,\n"
		"  \"alpha\": {\n"
		"    \"y\": \"0.0.0.0/0\",\n"
		"    \"x\": 0.5000076\n"
		"  }\n"
		"}\n");
	free(out);
	/* Table mode falls back to JSON for what it does not know. */
	out = fmt("future-command", "{\"a\":1}", false, false);
	assert_string_equal(out, "{\n  \"a\": 1\n}\n");
	free(out);
	out = fmt("status", "[1]", false, false);
	assert_string_equal(out, "[\n  1\n]\n");
	free(out);
	out = fmt("status", NULL, false, false);
	assert_string_equal(out, "null\n");
	free(out);
}

/* Odd shapes never crash the formatter (run under ASan) and print "-". */
static void
test_fmt_robust(void **state)
{
	static const char *cmds[] = {
		"status", "frontends", "targets", "stats", "flows", "trace", "drain",
		"undrain", "reload", "neighbours", "health",
	};
	static const char *shapes[] = {
		"{}",
		"{\"ports\":5,\"frontends\":\"x\",\"targets\":{},\"workers\":3,\"sample\":null}",
		"{\"ports\":[1,null,\"x\",[]],\"frontends\":[1,null,{}],\"targets\":[null,{}],"
		"\"neighbours\":[3,{}],\"sample\":[null,{}],\"per_worker\":[null,{}],"
		"\"workers\":[null,1,{}],\"total\":{\"drops\":[1]},\"last_reload\":7}",
		"{\"workers\":[{\"id\":\"zero\",\"drops\":5}],\"total\":3,\"neighbours\":[],"
		"\"frontends\":[{\"source_ranges\":[null,1,{}],\"session_affinity\":7}]}",
		"{\"uptime_s\":-5,\"last_reload\":{\"time\":1e300,\"ok\":\"yes\"},"
		"\"targets\":[{\"share\":\"half\",\"drained\":1}]}",
		"{\"workers\":[{\"id\":0,\"rx\":18446744073709551615,\"drops\":{\"x\":-1}}]}",
	};
	size_t i, j;
	char *out;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(cmds); i++) {
		for (j = 0; j < LB_ARRAY_SIZE(shapes); j++) {
			out = fmt(cmds[i], shapes[j], j % 2 == 0, false);
			assert_true(strlen(out) > 0);
			free(out);
		}
	}
	/* lbctl top on every pair of odd shapes (and a window too small) */
	for (i = 0; i < LB_ARRAY_SIZE(shapes); i++)
		for (j = 0; j < LB_ARRAY_SIZE(shapes); j++) {
			out = top(shapes[i], shapes[j], shapes[(i + j) % LB_ARRAY_SIZE(shapes)],
				(unsigned)(i * 7), (unsigned)j);
			free(out);
		}
	/* The largest counter is printed exactly. */
	out = fmt("stats", shapes[5], false, false);
	assert_non_null(strstr(out, "18446744073709551615"));
	free(out);
}

struct arg_case {
	const char *argv[8];
	enum lbctl_parse want;
	const char *want_req;	/* OK: the request, serialised */
	const char *want_err;	/* USAGE: a substring of the message */
};

static void
test_args(void **state)
{
	static const struct arg_case cases[] = {
		{ { "status" }, LBCTL_PARSE_OK, "{\"cmd\":\"status\"}", NULL },
		{ { "frontends" }, LBCTL_PARSE_OK, "{\"cmd\":\"frontends\"}", NULL },
		{ { "health" }, LBCTL_PARSE_OK, "{\"cmd\":\"health\"}", NULL },
		{ { "health", "web" }, LBCTL_PARSE_USAGE, NULL, "health: unexpected argument 'web'" },
		{ { "targets", "web" }, LBCTL_PARSE_OK, "{\"cmd\":\"targets\",\"frontend\":\"web\"}", NULL },
		{ { "stats", "-v" }, LBCTL_PARSE_OK, "{\"cmd\":\"stats\"}", NULL },
		{ { "flows" }, LBCTL_PARSE_OK, "{\"cmd\":\"flows\",\"limit\":20}", NULL },
		{ { "flows", "-n", "5" }, LBCTL_PARSE_OK, "{\"cmd\":\"flows\",\"limit\":5}", NULL },
		{ { "top" }, LBCTL_PARSE_OK, "{\"cmd\":\"top\"}", NULL },
		{ { "top", "-n", "3", "-d", "0.5" }, LBCTL_PARSE_OK, "{\"cmd\":\"top\"}", NULL },
		{ { "top", "-n", "1000000" }, LBCTL_PARSE_OK, "{\"cmd\":\"top\"}", NULL },
		{ { "top", "x" }, LBCTL_PARSE_USAGE, NULL, "unexpected argument" },
		{ { "top", "-d", "0" }, LBCTL_PARSE_USAGE, NULL, "bad delay '0'" },
		{ { "top", "-n", "1000001" }, LBCTL_PARSE_USAGE, NULL, "bad count" },
		{ { "stats", "-d", "1" }, LBCTL_PARSE_USAGE, NULL, "-d applies to top only" },
		{ { "-n1000", "flows" }, LBCTL_PARSE_OK, "{\"cmd\":\"flows\",\"limit\":1000}", NULL },
		{ { "trace", "192.0.2.2:40000", "192.0.2.10:80/tcp" }, LBCTL_PARSE_OK,
			"{\"cmd\":\"trace\",\"src\":\"192.0.2.2:40000\",\"dst\":\"192.0.2.10:80\","
			"\"protocol\":\"tcp\"}", NULL },
		{ { "trace", "192.0.2.2:1", "192.0.2.10:53/UDP" }, LBCTL_PARSE_OK,
			"{\"cmd\":\"trace\",\"src\":\"192.0.2.2:1\",\"dst\":\"192.0.2.10:53\","
			"\"protocol\":\"udp\"}", NULL },
		{ { "drain", "198.51.100.11:30080" }, LBCTL_PARSE_OK,
			"{\"cmd\":\"drain\",\"target\":\"198.51.100.11:30080\"}", NULL },
		{ { "undrain", "198.51.100.11:30080", "web" }, LBCTL_PARSE_OK,
			"{\"cmd\":\"undrain\",\"target\":\"198.51.100.11:30080\",\"frontend\":\"web\"}",
			NULL },
		{ { "reload" }, LBCTL_PARSE_OK, "{\"cmd\":\"reload\"}", NULL },
		{ { "neighbours" }, LBCTL_PARSE_OK, "{\"cmd\":\"neighbours\"}", NULL },
		{ { "neighbors" }, LBCTL_PARSE_OK, "{\"cmd\":\"neighbours\"}", NULL },
		{ { "help" }, LBCTL_PARSE_HELP, NULL, NULL },
		{ { "-h" }, LBCTL_PARSE_HELP, NULL, NULL },
		{ { "--help", "status" }, LBCTL_PARSE_HELP, NULL, NULL },
		{ { NULL }, LBCTL_PARSE_USAGE, NULL, "no command" },
		{ { "statu" }, LBCTL_PARSE_USAGE, NULL, "unknown command 'statu'" },
		{ { "targets" }, LBCTL_PARSE_USAGE, NULL, "targets: missing" },
		{ { "targets", "a", "b" }, LBCTL_PARSE_USAGE, NULL, "unexpected argument 'b'" },
		{ { "targets", "" }, LBCTL_PARSE_USAGE, NULL, "frontend name" },
		{ { "targets", "we b" }, LBCTL_PARSE_USAGE, NULL, "bad frontend name" },
		{ { "status", "x" }, LBCTL_PARSE_USAGE, NULL, "unexpected argument" },
		{ { "flows", "-n", "0" }, LBCTL_PARSE_USAGE, NULL, "bad count '0'" },
		{ { "flows", "-n", "1001" }, LBCTL_PARSE_USAGE, NULL, "bad flow count" },
		{ { "flows", "-n", "5x" }, LBCTL_PARSE_USAGE, NULL, "bad count '5x'" },
		{ { "flows", "-n" }, LBCTL_PARSE_USAGE, NULL, "needs an argument" },
		{ { "stats", "-n", "5" }, LBCTL_PARSE_USAGE, NULL, "flows and top only" },
		{ { "trace", "192.0.2.2:40000" }, LBCTL_PARSE_USAGE, NULL, "missing" },
		{ { "trace", "192.0.2.2", "192.0.2.10:80/tcp" }, LBCTL_PARSE_USAGE, NULL, "bad source" },
		{ { "trace", "192.0.2.2:0", "192.0.2.10:80/tcp" }, LBCTL_PARSE_USAGE, NULL, "bad source" },
		{ { "trace", "192.0.2.256:1", "192.0.2.10:80/tcp" }, LBCTL_PARSE_USAGE, NULL, "bad source" },
		{ { "trace", "192.0.2.2:1", "192.0.2.10:80" }, LBCTL_PARSE_USAGE, NULL, "bad destination" },
		{ { "trace", "192.0.2.2:1", "192.0.2.10/tcp" }, LBCTL_PARSE_USAGE, NULL, "bad destination" },
		{ { "trace", "192.0.2.2:1", "192.0.2.10:80/sctp" }, LBCTL_PARSE_USAGE, NULL, "bad protocol" },
		{ { "trace", "192.0.2.2:1", "192.0.2.10:70000/tcp" }, LBCTL_PARSE_USAGE, NULL,
			"bad destination" },
		{ { "drain" }, LBCTL_PARSE_USAGE, NULL, "drain: missing" },
		{ { "drain", "web" }, LBCTL_PARSE_USAGE, NULL, "drain: bad target 'web'" },
		{ { "undrain", "1.2.3.4:5", "web", "x" }, LBCTL_PARSE_USAGE, NULL, "unexpected" },
		{ { "-o", "yaml", "status" }, LBCTL_PARSE_USAGE, NULL, "unknown output format" },
		{ { "-t", "0", "status" }, LBCTL_PARSE_USAGE, NULL, "bad timeout" },
		{ { "-t", "soon", "status" }, LBCTL_PARSE_USAGE, NULL, "bad timeout" },
		{ { "-s", "", "status" }, LBCTL_PARSE_USAGE, NULL, "empty socket path" },
		{ { "-q", "status" }, LBCTL_PARSE_USAGE, NULL, "unknown option -q" },
		{ { "--frobnicate", "status" }, LBCTL_PARSE_USAGE, NULL, "unknown option --frobnicate" },
	};
	struct lbctl_opts o;
	const char *ucmd;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(cases); i++) {
		char *argv[10] = { (char *)"lbctl" };
		int argc = 1;
		enum lbctl_parse rc;

		while (argc < 9 && cases[i].argv[argc - 1] != NULL) {
			argv[argc] = (char *)cases[i].argv[argc - 1];
			argc++;
		}
		rc = lbctl_parse_args(argc, argv, NULL, &o, &ucmd, err, sizeof(err));
		if (rc != cases[i].want)
			fail_msg("case %zu (%s): got %d want %d (%s)", i,
				cases[i].argv[0] ? cases[i].argv[0] : "", rc, cases[i].want, err);
		if (rc == LBCTL_PARSE_OK) {
			assert_string_equal(json_object_to_json_string_ext(o.req,
				JSON_C_TO_STRING_PLAIN), cases[i].want_req);
			json_object_put(o.req);
		}
		if (rc == LBCTL_PARSE_USAGE && strstr(err, cases[i].want_err) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, err, cases[i].want_err);
	}
}

static void
test_args_options(void **state)
{
	char *argv[] = { (char *)"lbctl", (char *)"stats", (char *)"-o", (char *)"json",
		(char *)"--timeout", (char *)"0.25", (char *)"-v", NULL };
	char *argv2[] = { (char *)"lbctl", (char *)"-s", (char *)"/x/y.sock", (char *)"status",
		NULL };
	char *argv3[] = { (char *)"lbctl", (char *)"status", NULL };
	struct lbctl_opts o;
	const char *ucmd;
	char err[256];

	(void)state;
	assert_int_equal(lbctl_parse_args(7, argv, "/env.sock", &o, &ucmd, err, sizeof(err)),
		LBCTL_PARSE_OK);
	assert_int_equal(o.output, LBCTL_OUT_JSON);
	assert_int_equal(o.timeout_ms, 250);
	assert_true(o.verbose);
	assert_string_equal(o.socket, "/env.sock");
	assert_string_equal(o.cmd, "stats");
	json_object_put(o.req);
	/* -s beats the environment, which beats the default. */
	assert_int_equal(lbctl_parse_args(4, argv2, "/env.sock", &o, &ucmd, err, sizeof(err)),
		LBCTL_PARSE_OK);
	assert_string_equal(o.socket, "/x/y.sock");
	assert_int_equal(o.output, LBCTL_OUT_TABLE);
	assert_int_equal(o.timeout_ms, LBCTL_DEFAULT_TIMEOUT_MS);
	assert_false(o.verbose);
	json_object_put(o.req);
	assert_int_equal(lbctl_parse_args(2, argv3, "", &o, &ucmd, err, sizeof(err)),
		LBCTL_PARSE_OK);
	assert_string_equal(o.socket, LB_CTL_DEFAULT_SOCKET);
	json_object_put(o.req);
	assert_non_null(lbctl_synopsis("trace"));
	assert_null(lbctl_synopsis("nope"));
}

/* End to end: the binary against a server run here. */

struct e2e {
	char dir[64];
	char path[128];
	struct lb_ctl_server *s;
	unsigned calls;
	char last_req[1024];
	bool mute;		/* accept but never answer */
};

static struct json_object *
fake_lbd(void *ctx, const char *cmd, struct json_object *req, char *err, size_t errlen)
{
	static const struct {
		const char *cmd;
		const char *json;
	} canned[] = {
		{ "status", status_json }, { "frontends", frontends_json },
		{ "targets", targets_json }, { "stats", stats_json }, { "flows", flows_json },
		{ "trace", trace_json }, { "drain", drain_json }, { "undrain", drain_json },
		{ "reload", reload_json }, { "neighbours", neighbours_json },
		{ "health", health_json },
	};
	struct e2e *e = ctx;
	struct json_object *fe;
	size_t i;

	e->calls++;
	snprintf(e->last_req, sizeof(e->last_req), "%s",
		json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	if (strcmp(cmd, "targets") == 0 && json_object_object_get_ex(req, "frontend", &fe) &&
	    strcmp(json_object_get_string(fe), "web") != 0) {
		snprintf(err, errlen, "unknown frontend '%s'", json_object_get_string(fe));
		return NULL;
	}
	if (strcmp(cmd, "reload") == 0 && e->calls > 100) {
		snprintf(err, errlen, "/etc/lbd/lbd.conf:7: bad things");
		return NULL;
	}
	for (i = 0; i < LB_ARRAY_SIZE(canned); i++)
		if (strcmp(cmd, canned[i].cmd) == 0)
			return parse(canned[i].json);
	snprintf(err, errlen, "unknown command '%s'", cmd);
	return NULL;
}

static int
e2e_setup(void **state)
{
	struct e2e *e = calloc(1, sizeof(*e));
	char err[256];

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_lbctl.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/lbd.sock", e->dir);
	e->s = lb_ctl_server_open(e->path, err, sizeof(err));
	if (e->s == NULL)
		fail_msg("open: %s", err);
	*state = e;
	return 0;
}

static int
e2e_teardown(void **state)
{
	struct e2e *e = *state;
	char cmd[128];

	lb_ctl_server_close(e->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int ch;

	assert_non_null(fp);
	assert_non_null(out);
	while ((ch = fgetc(fp)) != EOF)
		fputc(ch, out);
	fclose(fp);
	fclose(out);
	return buf;
}

struct run {
	int status;	/* exit code */
	char *out;
	char *err;
};

/*
 * Runs lbctl with args (NULL-terminated) and LBD_SOCKET=env_sock (NULL:
 * unset), serving requests until it exits.
 */
static void
run_lbctl(struct e2e *e, struct run *r, const char *env_sock, const char *const *args)
{
	char outp[160], errp[160];
	char *argv[16] = { (char *)lbctl_path };
	int i, st = 0;
	int64_t deadline;
	struct timespec ts;
	pid_t pid, w;

	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	snprintf(outp, sizeof(outp), "%s/out", e->dir);
	snprintf(errp, sizeof(errp), "%s/err", e->dir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		if (env_sock != NULL)
			setenv("LBD_SOCKET", env_sock, 1);
		else
			unsetenv("LBD_SOCKET");
		execv(lbctl_path, argv);
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec + 20;
	for (;;) {
		struct pollfd fds[LB_CTL_MAX_POLLFDS];
		int n;

		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		assert_int_equal(w, 0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("lbctl did not finish");
		}
		n = lb_ctl_server_pollfds(e->s, fds, LB_CTL_MAX_POLLFDS);
		if (e->mute)
			n = 0;
		if (poll(fds, (nfds_t)n, 5) > 0)
			lb_ctl_server_process(e->s, fds, n, fake_lbd, e);
	}
	assert_true(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
	assert_int_not_equal(r->status, 127);
	r->out = slurp(outp);
	r->err = slurp(errp);
}

static void
expect_status(const struct run *r, int status)
{
	if (r->status != status)
		fail_msg("lbctl exited %d, expected %d\nstdout:\n%s\nstderr:\n%s", r->status,
			status, r->out, r->err);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define RUN(e, r, env, ...) \
	run_lbctl(e, r, env, (const char *const[]){ __VA_ARGS__, NULL })

static void
test_e2e_commands(void **state)
{
	struct e2e *e = *state;
	struct json_object *a, *b;
	struct run r;
	int i;

	RUN(e, &r, NULL, "-s", e->path, "status");
	expect_status(&r, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, "lbd 0.1.0, pid 4242, up 1d 02:03:04\n"));
	assert_string_equal(e->last_req, "{\"cmd\":\"status\"}");
	run_free(&r);

	/* The socket from the environment; -o json prints the result as sent. */
	RUN(e, &r, e->path, "-o", "json", "targets", "web");
	expect_status(&r, 0);
	assert_string_equal(e->last_req, "{\"cmd\":\"targets\",\"frontend\":\"web\"}");
	a = json_tokener_parse(r.out);
	b = parse(targets_json);
	assert_non_null(a);
	assert_true(json_object_equal(a, b));
	json_object_put(a);
	json_object_put(b);
	run_free(&r);

	RUN(e, &r, NULL, "-s", e->path, "flows", "-n", "7");
	expect_status(&r, 0);
	assert_string_equal(e->last_req, "{\"cmd\":\"flows\",\"limit\":7}");
	assert_non_null(strstr(r.out, "12 flows (w0: 12, w1: 0)\n"));
	run_free(&r);

	RUN(e, &r, NULL, "-s", e->path, "trace", "192.0.2.2:40000", "192.0.2.10:80/tcp");
	expect_status(&r, 0);
	assert_string_equal(e->last_req, "{\"cmd\":\"trace\",\"src\":\"192.0.2.2:40000\","
		"\"dst\":\"192.0.2.10:80\",\"protocol\":\"tcp\"}");
	assert_non_null(strstr(r.out, "target:    198.51.100.12:30080\n"));
	run_free(&r);

	RUN(e, &r, NULL, "-s", e->path, "drain", "198.51.100.11:30080", "web");
	expect_status(&r, 0);
	assert_string_equal(e->last_req,
		"{\"cmd\":\"drain\",\"target\":\"198.51.100.11:30080\",\"frontend\":\"web\"}");
	assert_string_equal(r.out, "drained 198.51.100.11:30080 in web, web-alt (generation 4)\n");
	run_free(&r);

	RUN(e, &r, NULL, "-s", e->path, "health");
	expect_status(&r, 0);
	assert_string_equal(e->last_req, "{\"cmd\":\"health\"}");
	assert_non_null(strstr(r.out, "3 checks: 1 up, 1 down, 1 unknown"));
	run_free(&r);

	RUN(e, &r, NULL, "-s", e->path, "stats", "-v");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "bad_checksum"));
	run_free(&r);

	/* lbd says no: its message, exit 1. */
	RUN(e, &r, NULL, "-s", e->path, "targets", "nope");
	expect_status(&r, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "lbctl: unknown frontend 'nope'\n");
	run_free(&r);
	e->calls = 1000;
	RUN(e, &r, NULL, "-s", e->path, "reload");
	expect_status(&r, 1);
	assert_string_equal(r.err, "lbctl: /etc/lbd/lbd.conf:7: bad things\n");
	run_free(&r);
	/* Every lbctl connection is gone once the server has seen the hang-ups. */
	for (i = 0; i < 500 && lb_ctl_server_clients(e->s) != 0; i++) {
		struct pollfd fds[LB_CTL_MAX_POLLFDS];
		int n = lb_ctl_server_pollfds(e->s, fds, LB_CTL_MAX_POLLFDS);

		if (poll(fds, (nfds_t)n, 10) > 0)
			lb_ctl_server_process(e->s, fds, n, fake_lbd, e);
	}
	assert_int_equal(lb_ctl_server_clients(e->s), 0);
}

static void
test_e2e_failures(void **state)
{
	struct e2e *e = *state;
	char missing[160], stale[160], want[256];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned calls;
	struct run r;
	int fd;

	/* Usage errors exit 2 and never reach lbd. */
	calls = e->calls;
	RUN(e, &r, NULL, "-s", e->path, "trace", "192.0.2.2", "192.0.2.10:80/tcp");
	expect_status(&r, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "lbctl: trace: bad source '192.0.2.2'"));
	assert_non_null(strstr(r.err, "usage: lbctl [options] trace SRC-IP:PORT VIP:PORT/tcp|udp"));
	run_free(&r);
	RUN(e, &r, NULL, "-s", e->path, "bogus");
	expect_status(&r, 2);
	assert_non_null(strstr(r.err, "unknown command 'bogus'"));
	run_free(&r);
	RUN(e, &r, NULL, "-s", e->path, "targets");
	expect_status(&r, 2);
	run_free(&r);
	RUN(e, &r, NULL, "-s", e->path, "flows", "-n", "0");
	expect_status(&r, 2);
	run_free(&r);
	RUN(e, &r, NULL, "-s", "/nonexistent/lbd.sock", "drain", "1.2.3.4");
	expect_status(&r, 2);
	run_free(&r);
	assert_int_equal(e->calls, calls);

	RUN(e, &r, NULL, "help");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "usage: lbctl"));
	assert_non_null(strstr(r.out, "neighbours"));
	assert_non_null(strstr(r.out, "undrain"));
	run_free(&r);
	RUN(e, &r, NULL, "-h");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "usage: lbctl"));
	run_free(&r);

	/* No socket: lbd is not running. */
	snprintf(missing, sizeof(missing), "%s/none/lbd.sock", e->dir);
	RUN(e, &r, NULL, "-s", missing, "status");
	expect_status(&r, 1);
	snprintf(want, sizeof(want), "lbctl: lbd is not running (no socket at %s)\n", missing);
	assert_string_equal(r.err, want);
	run_free(&r);
	RUN(e, &r, missing, "status");
	expect_status(&r, 1);
	assert_string_equal(r.err, want);
	run_free(&r);

	/* A socket nobody listens on. */
	snprintf(stale, sizeof(stale), "%s/stale.sock", e->dir);
	memcpy(sa.sun_path, stale, strlen(stale) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	RUN(e, &r, NULL, "-s", stale, "status");
	expect_status(&r, 1);
	snprintf(want, sizeof(want), "lbctl: cannot connect to %s: %s\n", stale,
		strerror(ECONNREFUSED));
	assert_string_equal(r.err, want);
	run_free(&r);

	/* lbd that does not answer: the timeout. */
	e->mute = true;
	RUN(e, &r, NULL, "-s", e->path, "-t", "0.3", "status");
	e->mute = false;
	expect_status(&r, 1);
	assert_non_null(strstr(r.err, "timed out"));
	run_free(&r);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_status),
		cmocka_unit_test(test_fmt_frontends),
		cmocka_unit_test(test_fmt_targets),
		cmocka_unit_test(test_fmt_health),
		cmocka_unit_test(test_fmt_stats),
		cmocka_unit_test(test_fmt_flows),
		cmocka_unit_test(test_fmt_top),
		cmocka_unit_test(test_fmt_trace),
		cmocka_unit_test(test_fmt_small),
		cmocka_unit_test(test_fmt_json),
		cmocka_unit_test(test_fmt_robust),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_args_options),
		cmocka_unit_test_setup_teardown(test_e2e_commands, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_e2e_failures, e2e_setup, e2e_teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-LBCTL\n", argv[0]);
		return 1;
	}
	lbctl_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
