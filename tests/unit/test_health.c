/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/health without sockets: specs, the state machine on an injected clock
 * (rise, fall, flapping, jitter, timeouts, a probe cancelled by removal,
 * the detection bound), the Kubernetes defaults, kube-proxy's body and the
 * overlay marks a verdict produces. The engine (sockets, libcurl) is in
 * test_health_engine.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lb_health.h"

static struct lb_ip
IP(const char *s)
{
	struct lb_ip ip;

	assert_int_equal(lb_ip_parse(s, &ip), 0);
	return ip;
}

static struct lb_health_spec
spec(uint32_t interval, uint32_t timeout, uint32_t rise, uint32_t fall, uint32_t jitter)
{
	struct lb_health_spec s;

	lb_health_spec_default(&s);
	s.kind = LB_HEALTH_TCP;
	s.interval_ms = interval;
	s.timeout_ms = timeout;
	s.rise = rise;
	s.fall = fall;
	s.jitter_pct = jitter;
	return s;
}

static struct lb_health_result
res(bool ok)
{
	struct lb_health_result r;

	memset(&r, 0, sizeof(r));
	r.ok = ok;
	snprintf(r.reason, sizeof(r.reason), "%s", ok ? "HTTP 200" : "HTTP 503");
	return r;
}

/* Runs one probe at its due time with outcome ok, returning the change;
 * *now follows the clock. */
static int
probe(struct lb_health_sm *sm, uint64_t *now, bool ok, uint32_t latency_ms)
{
	struct lb_health_result r = res(ok);
	uint32_t seq;

	assert_false(sm->inflight);
	if (*now < sm->due_ms)
		*now = sm->due_ms;
	seq = lb_health_sm_start(sm, *now);
	assert_true(sm->inflight);
	*now += latency_ms;
	return lb_health_sm_result(sm, seq, &r, *now);
}

/* --- specs --- */

static void
test_spec(void **state)
{
	struct lb_health_spec s, t;
	char err[256];
	uint8_t k;

	(void)state;
	lb_health_spec_default(&s);
	assert_int_equal(s.kind, LB_HEALTH_NONE);
	assert_int_equal(s.interval_ms, LB_HEALTH_DEF_INTERVAL_MS);
	assert_int_equal(s.timeout_ms, LB_HEALTH_DEF_TIMEOUT_MS);
	assert_int_equal(s.rise, 2);
	assert_int_equal(s.fall, 3);
	assert_string_equal(s.path, "/");
	assert_int_equal(lb_health_spec_validate(&s, err, sizeof(err)), 0);

	t = s;
	t.timeout_ms = 3000;
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "timeout_ms 3000 exceeds interval_ms 2000 (a probe must end "
		"before the next one is due)");
	t = s;
	t.rise = 0;
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rise 0"));
	t = s;
	t.jitter_pct = 51;
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	t = s;
	snprintf(t.path, sizeof(t.path), "healthz");
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "path must start with '/'"));
	snprintf(t.path, sizeof(t.path), "/a b");
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	snprintf(t.path, sizeof(t.path), "/a\r\nX: y");
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	t = s;
	snprintf(t.host, sizeof(t.host), "evil\r\nX: 1");
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	t = s;
	t.n_expect = 1;
	t.expect[0].lo = 300;
	t.expect[0].hi = 200;
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	t.expect[0].lo = 99;
	t.expect[0].hi = 200;
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);
	t.interval_ms = 10;
	assert_int_equal(lb_health_spec_validate(&t, err, sizeof(err)), -EINVAL);

	/* equality and hash */
	t = s;
	assert_true(lb_health_spec_equal(&s, &t));
	assert_true(lb_health_spec_hash(&s) == lb_health_spec_hash(&t));
	snprintf(t.path, sizeof(t.path), "/healthz");
	assert_false(lb_health_spec_equal(&s, &t));
	assert_false(lb_health_spec_hash(&s) == lb_health_spec_hash(&t));
	t = s;
	t.fall = 4;
	assert_false(lb_health_spec_equal(&s, &t));
	t = s;
	t.n_expect = 1;
	t.expect[0].lo = t.expect[0].hi = 204;
	assert_false(lb_health_spec_equal(&s, &t));
	assert_false(lb_health_spec_hash(&s) == lb_health_spec_hash(&t));

	/* expected statuses: default 200..399; the kube-proxy rule wants 200 */
	assert_true(lb_health_status_expected(&s, 200));
	assert_true(lb_health_status_expected(&s, 302));
	assert_false(lb_health_status_expected(&s, 404));
	assert_false(lb_health_status_expected(&s, 199));
	assert_true(lb_health_status_expected(&t, 204));
	assert_false(lb_health_status_expected(&t, 200));
	t = s;
	t.body = LB_HEALTH_BODY_KUBE_PROXY;
	assert_true(lb_health_status_expected(&t, 200));
	assert_false(lb_health_status_expected(&t, 204));

	/* names */
	assert_int_equal(lb_health_kind_parse("https", &k), 0);
	assert_int_equal(k, LB_HEALTH_HTTPS);
	assert_int_equal(lb_health_kind_parse("HTTP", &k), -EINVAL);
	assert_int_equal(lb_health_body_parse("kube-proxy", &k), 0);
	assert_int_equal(k, LB_HEALTH_BODY_KUBE_PROXY);
	assert_null(lb_health_kind_str(9));
	assert_string_equal(lb_health_state_str(LB_HEALTH_DOWN), "down");
}

static void
test_describe(void **state)
{
	struct lb_health_spec s;
	struct lb_ip a = IP("10.0.0.1"), b = IP("2001:db8::1");
	char buf[LB_HEALTH_DESC_MAX];

	(void)state;
	lb_health_spec_default(&s);
	s.kind = LB_HEALTH_TCP;
	assert_string_equal(lb_health_describe(&s, &a, htons(80), buf, sizeof(buf)),
		"tcp 10.0.0.1:80");
	s.kind = LB_HEALTH_HTTP;
	snprintf(s.path, sizeof(s.path), "/healthz");
	assert_string_equal(lb_health_describe(&s, &a, htons(10256), buf, sizeof(buf)),
		"http 10.0.0.1:10256/healthz");
	s.kind = LB_HEALTH_HTTPS;
	assert_string_equal(lb_health_describe(&s, &b, htons(443), buf, sizeof(buf)),
		"https [2001:db8::1]:443/healthz");
	/* the probe port: the spec's, else the target's */
	assert_int_equal(lb_health_probe_port(&s, htons(80)), htons(80));
	s.port = htons(8080);
	assert_int_equal(lb_health_probe_port(&s, htons(80)), htons(8080));
}

/* --- the state machine --- */

static void
test_fall_rise(void **state)
{
	struct lb_health_spec s = spec(1000, 500, 2, 3, 0);
	struct lb_health_sm sm;
	uint64_t now = 5000;

	(void)state;
	lb_health_sm_init(&sm, &s, 42, now);
	assert_int_equal(sm.state, LB_HEALTH_UNKNOWN);
	/* unknown: one success decides */
	assert_int_equal(probe(&sm, &now, true, 1), LB_HEALTH_WENT_UP);
	assert_int_equal(sm.state, LB_HEALTH_UP);
	assert_int_equal(sm.changed_ms, now);
	/* fall = 3: two failures are not enough */
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_SAME);
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_SAME);
	assert_int_equal(sm.state, LB_HEALTH_UP);
	assert_int_equal(sm.fail_run, 2);
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_WENT_DOWN);
	assert_int_equal(sm.state, LB_HEALTH_DOWN);
	assert_string_equal(sm.last.reason, "HTTP 503");
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_SAME);
	/* rise = 2 */
	assert_int_equal(probe(&sm, &now, true, 1), LB_HEALTH_SAME);
	assert_int_equal(sm.state, LB_HEALTH_DOWN);
	assert_int_equal(probe(&sm, &now, true, 1), LB_HEALTH_WENT_UP);
	assert_int_equal(sm.n_ok, 3);
	assert_int_equal(sm.n_failed, 4);

	/* unknown: fall failures decide the other way */
	lb_health_sm_init(&sm, &s, 43, now);
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_SAME);
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_SAME);
	assert_int_equal(sm.state, LB_HEALTH_UNKNOWN);
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_WENT_DOWN);

	/* rise = fall = 1: every result counts */
	s = spec(1000, 500, 1, 1, 0);
	lb_health_sm_init(&sm, &s, 44, now);
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_WENT_DOWN);
	assert_int_equal(probe(&sm, &now, true, 1), LB_HEALTH_WENT_UP);
	assert_int_equal(probe(&sm, &now, false, 1), LB_HEALTH_WENT_DOWN);
}

/* Alternating results never move a check with rise and fall of 2 or more,
 * whichever state it is in. */
static void
test_flapping(void **state)
{
	struct lb_health_spec s = spec(1000, 500, 2, 2, 10);
	struct lb_health_sm sm;
	uint64_t now = 0;
	int i;

	(void)state;
	lb_health_sm_init(&sm, &s, 7, now);
	assert_int_equal(probe(&sm, &now, true, 3), LB_HEALTH_WENT_UP);
	for (i = 0; i < 100; i++)
		assert_int_equal(probe(&sm, &now, i % 2 == 0 ? false : true, 3), LB_HEALTH_SAME);
	assert_int_equal(sm.state, LB_HEALTH_UP);
	assert_int_equal(probe(&sm, &now, false, 3), LB_HEALTH_SAME);
	assert_int_equal(probe(&sm, &now, false, 3), LB_HEALTH_WENT_DOWN);
	for (i = 0; i < 100; i++)
		assert_int_equal(probe(&sm, &now, i % 2 == 0 ? true : false, 3), LB_HEALTH_SAME);
	assert_int_equal(sm.state, LB_HEALTH_DOWN);
	/* two in a row do it */
	assert_int_equal(probe(&sm, &now, true, 3), LB_HEALTH_SAME);
	assert_int_equal(probe(&sm, &now, true, 3), LB_HEALTH_WENT_UP);
}

/* Probes start every interval minus up to jitter_pct, never later; the
 * first one somewhere in the first interval; checks with different seeds
 * do not fire together. */
static void
test_jitter(void **state)
{
	struct lb_health_spec s = spec(1000, 200, 2, 3, 20);
	struct lb_health_sm a, b, z;
	uint64_t now = 100000, na, nb, prev, gaps_seen[1001] = { 0 };
	uint32_t same = 0, distinct = 0, i, first_min = UINT32_MAX, first_max = 0;

	(void)state;
	/* first probes of 1000 checks created together spread over [0, 1000) */
	for (i = 0; i < 1000; i++) {
		uint32_t off;

		lb_health_sm_init(&a, &s, 0x1234 + i * 7919, now);
		off = (uint32_t)(a.due_ms - now);
		assert_true(off < 1000);
		first_min = LB_MIN(first_min, off);
		first_max = LB_MAX(first_max, off);
	}
	assert_true(first_min < 50 && first_max > 950);
	/* the same seed gives the same schedule */
	lb_health_sm_init(&a, &s, 99, now);
	lb_health_sm_init(&b, &s, 99, now);
	assert_int_equal(a.due_ms, b.due_ms);

	lb_health_sm_init(&a, &s, 1, now);
	lb_health_sm_init(&b, &s, 2, now);
	na = nb = now;
	prev = a.due_ms;
	for (i = 0; i < 500; i++) {
		uint64_t g;

		probe(&a, &na, true, 5);
		probe(&b, &nb, true, 5);
		g = a.due_ms - prev;
		/* due = start + gap, start = previous due */
		assert_true(g >= 800 && g <= 1000);
		if (gaps_seen[g]++ == 0)
			distinct++;
		prev = a.due_ms;
		if (a.due_ms == b.due_ms)
			same++;
	}
	assert_true(distinct > 50);	/* really jittered */
	assert_true(same < 10);		/* not in lockstep */

	/* no jitter: exactly the interval */
	s.jitter_pct = 0;
	lb_health_sm_init(&z, &s, 5, now);
	na = now;
	probe(&z, &na, true, 5);
	prev = z.due_ms;
	for (i = 0; i < 20; i++) {
		probe(&z, &na, true, 5);
		assert_int_equal(z.due_ms - prev, 1000);
		prev = z.due_ms;
	}
}

static void
test_timeout(void **state)
{
	struct lb_health_spec s = spec(1000, 300, 1, 2, 0);
	struct lb_health_result r = res(true);
	struct lb_health_sm sm;
	uint64_t now = 1000;
	uint32_t seq;

	(void)state;
	lb_health_sm_init(&sm, &s, 3, now);
	now = sm.due_ms;
	seq = lb_health_sm_start(&sm, now);
	/* in flight: the caller comes back at the deadline */
	assert_int_equal(lb_health_sm_next(&sm), now + 300);
	assert_int_equal(lb_health_sm_timeout(&sm, now + 300), LB_HEALTH_SAME);
	assert_false(sm.inflight);
	assert_true(sm.last.timed_out);
	assert_string_equal(sm.last.reason, "timeout after 300 ms");
	assert_int_equal(sm.last.latency_us, 300000);
	assert_int_equal(sm.n_timeouts, 1);
	/* the answer that arrives afterwards is stale: nothing changes */
	assert_int_equal(lb_health_sm_result(&sm, seq, &r, now + 350), -ESTALE);
	assert_int_equal(sm.n_ok, 0);
	assert_int_equal(sm.fail_run, 1);
	/* next probe one interval after the last start */
	assert_int_equal(sm.due_ms, now + 1000);
	assert_int_equal(lb_health_sm_timeout(&sm, now + 400), -ESTALE);
	now = sm.due_ms;
	lb_health_sm_start(&sm, now);
	assert_int_equal(lb_health_sm_timeout(&sm, now + 300), LB_HEALTH_WENT_DOWN);

	/* a late result never schedules the next probe in the past */
	s = spec(100, 100, 1, 1, 0);
	lb_health_sm_init(&sm, &s, 3, 0);
	seq = lb_health_sm_start(&sm, sm.due_ms);
	now = sm.due_ms + 5000;
	assert_int_equal(lb_health_sm_result(&sm, seq, &r, now), LB_HEALTH_WENT_UP);
	assert_true(sm.due_ms >= now);
}

/* A check removed (or replaced) while its probe is in flight: the probe
 * is cancelled, and its result, should it still come, is ignored. */
static void
test_cancel_inflight(void **state)
{
	struct lb_health_spec s = spec(500, 200, 1, 1, 0);
	struct lb_health_result bad = res(false), good = res(true);
	struct lb_health_sm sm;
	uint64_t now = 0;
	uint32_t seq, seq2;

	(void)state;
	lb_health_sm_init(&sm, &s, 11, now);
	assert_int_equal(probe(&sm, &now, true, 1), LB_HEALTH_WENT_UP);
	now = sm.due_ms;
	seq = lb_health_sm_start(&sm, now);
	lb_health_sm_cancel(&sm, now + 10);
	assert_false(sm.inflight);
	assert_int_equal(lb_health_sm_result(&sm, seq, &bad, now + 20), -ESTALE);
	assert_int_equal(sm.state, LB_HEALTH_UP);
	assert_int_equal(sm.n_failed, 0);
	assert_int_equal(sm.due_ms, now + 500);
	/* the next probe has a new number; the old one stays stale */
	seq2 = lb_health_sm_start(&sm, sm.due_ms);
	assert_int_not_equal(seq, seq2);
	assert_int_equal(lb_health_sm_result(&sm, seq, &bad, sm.due_ms + 1), -ESTALE);
	assert_int_equal(lb_health_sm_result(&sm, seq2, &good, sm.started_ms + 1), LB_HEALTH_SAME);
	/* cancelling when idle does nothing */
	now = sm.due_ms;
	lb_health_sm_cancel(&sm, 0);
	assert_int_equal(sm.due_ms, now);
}

/*
 * The bound the docs promise, on a simulated clock: a target failing at
 * any moment is DOWN within fall * interval + timeout (answers failing at
 * once, or never coming and timing out), and UP again within
 * rise * interval + latency of coming back.
 */
static void
test_detection_bound(void **state)
{
	struct lb_health_spec s = spec(300, 200, 2, 3, 20);
	uint64_t worst_down = 0, worst_up = 0;
	int mode, trial;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		for (trial = 0; trial < 300; trial++) {
			struct lb_health_sm sm;
			uint64_t now = 0, t_fail, t_back, lat = mode ? 0 : 7;
			bool done = false;

			lb_health_sm_init(&sm, &s, (uint64_t)trial * 104729 + (uint64_t)mode, 0);
			while (sm.state != LB_HEALTH_UP)
				probe(&sm, &now, true, 2);
			t_fail = now + (uint64_t)(trial * 37 % 300);
			while (!done) {
				uint32_t seq;

				now = LB_MAX(now, sm.due_ms);
				seq = lb_health_sm_start(&sm, now);
				if (now < t_fail) {
					struct lb_health_result r = res(true);

					now += 2;
					lb_health_sm_result(&sm, seq, &r, now);
				} else if (mode == 0) {
					struct lb_health_result r = res(false);

					now += lat;
					done = lb_health_sm_result(&sm, seq, &r, now) ==
						LB_HEALTH_WENT_DOWN;
				} else {
					now += sm.timeout_ms;
					done = lb_health_sm_timeout(&sm, now) == LB_HEALTH_WENT_DOWN;
				}
			}
			assert_true(now - t_fail <= 3 * 300 + 200);
			worst_down = LB_MAX(worst_down, now - t_fail);
			t_back = now + (uint64_t)(trial * 53 % 300);
			done = false;
			while (!done) {
				struct lb_health_result r = res(now >= t_back);
				uint32_t seq;

				now = LB_MAX(now, sm.due_ms);
				r.ok = now >= t_back;
				seq = lb_health_sm_start(&sm, now);
				now += 5;
				done = lb_health_sm_result(&sm, seq, &r, now) == LB_HEALTH_WENT_UP;
			}
			assert_true(now - t_back <= 2 * 300 + 5);
			worst_up = LB_MAX(worst_up, now - t_back);
		}
	}
	/* the bound is nearly reached, so the test would see it broken */
	assert_true(worst_down > 3 * 300);
	assert_true(worst_up > 300);
	print_message("detection (simulated, interval 300 ms, timeout 200, fall 3, rise 2, "
		"jitter 20%%): worst down %lu ms (bound 1100), worst up %lu ms (bound 605)\n",
		(unsigned long)worst_down, (unsigned long)worst_up);
}

/* --- Kubernetes defaults --- */

static struct lb_model_fe *
k8s_fe(uint8_t method, uint8_t origin)
{
	struct lb_model_fe *fe = lb_model_fe_new(2, 0, 64);
	char err[128];

	assert_non_null(fe);
	snprintf(fe->name, sizeof(fe->name), "default/web:http");
	fe->origin_kind = origin;
	fe->vip = IP("192.0.2.10");
	fe->proto = LB_PROTO_TCP;
	fe->port = htons(80);
	fe->method = method;
	fe->targets[0].addr = IP("10.0.0.11");
	fe->targets[0].port = htons(30080);
	fe->targets[0].node = lb_model_fe_strdup(fe, "node1");
	fe->targets[1].addr = IP("10.0.0.12");
	fe->targets[1].port = htons(30080);
	fe->targets[1].node = lb_model_fe_strdup(fe, "node2");
	assert_int_equal(lb_model_fe_seal(fe, err, sizeof(err)), 0);
	return fe;
}

static void
test_k8s_defaults(void **state)
{
	struct lb_model_fe *cluster = k8s_fe(LB_METHOD_FULLNAT, LB_ORIGIN_K8S);
	struct lb_model_fe *local = k8s_fe(LB_METHOD_DNAT, LB_ORIGIN_K8S);
	struct lb_model_fe *cfg = k8s_fe(LB_METHOD_FULLNAT, LB_ORIGIN_CONFIG);
	struct lb_health_k8s_conf conf;
	struct lb_health_k8s_svc svc;
	struct lb_health_spec out;
	char err[256];

	(void)state;
	lb_health_k8s_conf_default(&conf);
	assert_true(conf.nodes);
	assert_int_equal(conf.proxy_port, htons(10256));
	assert_int_equal(conf.pod.kind, LB_HEALTH_TCP);

	/* Cluster: kube-proxy's healthz per node */
	memset(&svc, 0, sizeof(svc));
	svc.node_targets = true;
	assert_int_equal(lb_health_k8s_spec(cluster, &svc, &conf, &out), 0);
	assert_int_equal(out.kind, LB_HEALTH_HTTP);
	assert_int_equal(out.port, htons(10256));
	assert_string_equal(out.path, "/healthz");
	assert_int_equal(out.body, LB_HEALTH_BODY_KUBE_PROXY);
	assert_int_equal(lb_health_spec_validate(&out, err, sizeof(err)), 0);
	/* the same without the Service: guessed from the method */
	assert_int_equal(lb_health_k8s_spec(cluster, NULL, &conf, &out), 0);
	assert_int_equal(out.kind, LB_HEALTH_HTTP);
	assert_int_equal(out.port, htons(10256));

	/* Local with node targets: the Service's healthCheckNodePort */
	svc.local = true;
	svc.hc_node_port = htons(31234);
	assert_int_equal(lb_health_k8s_spec(cluster, &svc, &conf, &out), 0);
	assert_int_equal(out.kind, LB_HEALTH_HTTP);
	assert_int_equal(out.port, htons(31234));
	assert_string_equal(out.path, "/healthz");
	assert_int_equal(out.body, LB_HEALTH_BODY_KUBE_PROXY);
	/* Local without one (node ports not allocated...): kube-proxy's own */
	svc.hc_node_port = 0;
	assert_int_equal(lb_health_k8s_spec(cluster, &svc, &conf, &out), 0);
	assert_int_equal(out.port, htons(10256));

	/* pods: TCP connect to the target port */
	memset(&svc, 0, sizeof(svc));
	svc.local = true;
	assert_int_equal(lb_health_k8s_spec(local, &svc, &conf, &out), 0);
	assert_int_equal(out.kind, LB_HEALTH_TCP);
	assert_int_equal(out.port, 0);
	assert_int_equal(lb_health_k8s_spec(local, NULL, &conf, &out), 0);
	assert_int_equal(out.kind, LB_HEALTH_TCP);

	/* the config's word: timing applies, pods and nodes can be turned off */
	conf.node.interval_ms = 5000;
	conf.node.fall = 5;
	conf.node.kind = LB_HEALTH_TCP;	/* ignored: kube-proxy speaks HTTP */
	assert_int_equal(lb_health_k8s_spec(cluster, NULL, &conf, &out), 0);
	assert_int_equal(out.interval_ms, 5000);
	assert_int_equal(out.fall, 5);
	assert_int_equal(out.kind, LB_HEALTH_HTTP);
	conf.nodes = false;
	assert_int_equal(lb_health_k8s_spec(cluster, NULL, &conf, &out), 0);
	assert_int_equal(out.kind, LB_HEALTH_NONE);
	conf.pod.kind = LB_HEALTH_NONE;
	assert_int_equal(lb_health_k8s_spec(local, NULL, &conf, &out), 0);
	assert_int_equal(out.kind, LB_HEALTH_NONE);

	/* not a Kubernetes frontend */
	assert_int_equal(lb_health_k8s_spec(cfg, NULL, &conf, &out), -EINVAL);
	lb_model_fe_put(cluster);
	lb_model_fe_put(local);
	lb_model_fe_put(cfg);
}

static void
test_kube_proxy_body(void **state)
{
	static const struct {
		long status;
		const char *body;
		bool ok;
		const char *reason;
	} cases[] = {
		/* healthCheckNodePort of a Local Service */
		{ 200, "{\"service\":{\"namespace\":\"default\",\"name\":\"web\"},"
			"\"localEndpoints\":2,\"serviceProxyHealthy\":true}", true,
			"HTTP 200, localEndpoints 2" },
		{ 503, "{\"service\":{\"namespace\":\"default\",\"name\":\"web\"},"
			"\"localEndpoints\":0,\"serviceProxyHealthy\":true}", false,
			"HTTP 503, localEndpoints 0" },
		{ 200, "{\"localEndpoints\":0}", false, "HTTP 200 but localEndpoints 0" },
		/* kube-proxy's own :10256/healthz */
		{ 200, "{\"lastUpdated\": \"2024-01-01 00:00:00 +0000 UTC\","
			"\"currentTime\": \"2024-01-01 00:00:01 +0000 UTC\", \"nodeEligible\": true}",
			true, "HTTP 200" },
		{ 503, "{\"lastUpdated\": \"x\",\"currentTime\": \"y\"}", false, "HTTP 503" },
		/* not kube-proxy */
		{ 200, "ok", false, "HTTP 200 but the body is not kube-proxy's JSON" },
		{ 200, "", false, "HTTP 200 but the body is not kube-proxy's JSON" },
		{ 200, "[1,2]", false, "HTTP 200 but the body is not kube-proxy's JSON" },
		{ 200, "{\"localEndpoints\":", false,
			"HTTP 200 but the body is not kube-proxy's JSON" },
		{ 500, "<html>", false, "HTTP 500" },
		{ 200, "{\"localEndpoints\":\"3\"}", true, "HTTP 200" },
	};
	char reason[LB_HEALTH_REASON_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < LB_ARRAY_SIZE(cases); i++) {
		bool ok = lb_health_kube_proxy_ok(cases[i].status, cases[i].body,
			strlen(cases[i].body), reason, sizeof(reason));

		if (ok != cases[i].ok || strcmp(reason, cases[i].reason) != 0)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, ok, reason, cases[i].ok,
				cases[i].reason);
	}
	/* the body is not NUL-terminated: only len bytes count */
	assert_true(lb_health_kube_proxy_ok(200, "{\"localEndpoints\":1}garbage", 20, reason,
		sizeof(reason)));
}

/* --- overlay marks --- */

static void
test_marks(void **state)
{
	struct lb_overlay *ov = lb_overlay_new();
	struct lb_ip n1 = IP("10.0.0.11"), n2 = IP("10.0.0.12");
	struct lb_health_user users[] = {
		{ "web", n1, htons(30080) },
		{ "api", n1, htons(30443) },
	};
	char reason[LB_MODEL_REASON_MAX];

	(void)state;
	assert_non_null(ov);
	assert_int_equal(lb_health_mark(ov, users, 2, true, "HTTP 503"), 2);
	assert_int_equal(lb_overlay_flags(ov, "web", &n1, htons(30080), reason, sizeof(reason)),
		LB_OV_UNHEALTHY);
	assert_string_equal(reason, "HTTP 503");
	assert_int_equal(lb_overlay_flags(ov, "api", &n1, htons(30443), NULL, 0), LB_OV_UNHEALTHY);
	/* only the users: not another frontend, port or address */
	assert_int_equal(lb_overlay_flags(ov, "other", &n1, htons(30080), NULL, 0), 0);
	assert_int_equal(lb_overlay_flags(ov, "web", &n1, htons(30443), NULL, 0), 0);
	assert_int_equal(lb_overlay_flags(ov, "web", &n2, htons(30080), NULL, 0), 0);
	/* asserting again changes nothing (no new snapshot) */
	assert_int_equal(lb_health_mark(ov, users, 2, true, "HTTP 503"), 0);
	/* a drain by lbctl is kept apart from health */
	assert_int_equal(lb_overlay_drain(ov, "web", &n1, htons(30080), true), 0);
	assert_int_equal(lb_overlay_flags(ov, "web", &n1, htons(30080), NULL, 0),
		LB_OV_UNHEALTHY | LB_OV_DRAINED);
	/* healthy again: the marks go, the drain stays */
	assert_int_equal(lb_health_mark(ov, users, 2, false, NULL), 2);
	assert_int_equal(lb_overlay_flags(ov, "web", &n1, htons(30080), NULL, 0), LB_OV_DRAINED);
	assert_int_equal(lb_overlay_flags(ov, "api", &n1, htons(30443), NULL, 0), 0);
	assert_int_equal(lb_health_mark(ov, users, 2, false, NULL), 0);
	lb_overlay_free(ov);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_fall_rise),
		cmocka_unit_test(test_flapping),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cancel_inflight),
		cmocka_unit_test(test_detection_bound),
		cmocka_unit_test(test_k8s_defaults),
		cmocka_unit_test(test_kube_proxy_body),
		cmocka_unit_test(test_marks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
