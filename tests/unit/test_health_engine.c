/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The health engine on a real event loop against servers on the loopback
 * interface run by this test (a thread): TCP connect (accepted, refused,
 * never answered), HTTP (statuses, kube-proxy bodies, Host header, hanging
 * servers), a live flip measured against fall * interval + timeout,
 * removal while a probe is in flight (the server sees the connection
 * close, no callback follows), source and device binding, and many checks
 * at once (the longest event-loop pass is printed).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "lb_health.h"

/* --- a small HTTP server on 127.0.0.1 --- */

#define MAX_CONN	4096

static struct {
	pthread_t thread;
	int lfd;		/* HTTP listener */
	int stopfd;
	uint16_t port;		/* network order */
	_Atomic int ctl_status;	/* what /ctl answers */
	_Atomic int hang_open;	/* /hang connections held */
	_Atomic int hang_closed;	/* ... closed by the client */
	_Atomic int requests;
	char buf[MAX_CONN][1024];
	size_t len[MAX_CONN];
	bool hanging[MAX_CONN];
} S;

static void
reply(int fd, int status, const char *body)
{
	char out[512];
	int n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n%s", status, strlen(body), body);

	if (write(fd, out, (size_t)n) < 0) {
		/* the client left */
	}
}

static void
big_reply(int fd)
{
	static char body[100000];
	char head[128];
	int n;

	memset(body, 'x', sizeof(body));
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n", sizeof(body));
	if (write(fd, head, (size_t)n) < 0 || write(fd, body, sizeof(body)) < 0) {
		/* the client left */
	}
}

/* Answers a complete request; returns true when fd is to be closed. */
static bool
serve(int fd)
{
	char *req = S.buf[fd], path[256] = "";

	if (strstr(req, "\r\n\r\n") == NULL)
		return false;
	atomic_fetch_add(&S.requests, 1);
	sscanf(req, "GET %255s", path);
	if (strcmp(path, "/ok") == 0)
		reply(fd, 200, "ok");
	else if (strcmp(path, "/503") == 0)
		reply(fd, 503, "no");
	else if (strcmp(path, "/kp1") == 0)
		reply(fd, 200, "{\"localEndpoints\":1}");
	else if (strcmp(path, "/kp0") == 0)
		reply(fd, 503, "{\"localEndpoints\":0}");
	else if (strcmp(path, "/big") == 0)
		big_reply(fd);
	else if (strcmp(path, "/host") == 0)
		reply(fd, strcasestr(req, "\r\nHost: example.test\r\n") ? 200 : 400, "");
	else if (strcmp(path, "/ctl") == 0)
		reply(fd, atomic_load(&S.ctl_status), "");
	else if (strcmp(path, "/hang") == 0) {
		S.hanging[fd] = true;
		atomic_fetch_add(&S.hang_open, 1);
		return false;
	} else
		reply(fd, 404, "");
	return true;
}

static void *
server_main(void *arg)
{
	struct epoll_event ev, evs[64];
	int ep = epoll_create1(0), i, n;

	(void)arg;
	ev.events = EPOLLIN;
	ev.data.fd = S.lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, S.lfd, &ev);
	ev.data.fd = S.stopfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, S.stopfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == S.stopfd)
				goto out;
			if (fd == S.lfd) {
				int c;

				while ((c = accept4(S.lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (c >= MAX_CONN) {
						close(c);
						continue;
					}
					S.len[c] = 0;
					S.hanging[c] = false;
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			{
				ssize_t r = read(fd, S.buf[fd] + S.len[fd], sizeof(S.buf[fd]) - 1 -
					S.len[fd]);

				if (r <= 0) {
					if (S.hanging[fd])
						atomic_fetch_add(&S.hang_closed, 1);
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
					continue;
				}
				S.len[fd] += (size_t)r;
				S.buf[fd][S.len[fd]] = '\0';
				if (!S.hanging[fd] && serve(fd)) {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
				}
			}
		}
	}
out:
	close(ep);
	return NULL;
}

static uint16_t
listener(int *fdp, int backlog)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* any address: test_many probes 127.0.0.1 to 127.0.0.250 */
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*fdp = fd;
	return sa.sin_port;
}

/* A port nothing listens on (bound, then released). */
static uint16_t
closed_port(void)
{
	int fd;
	uint16_t p = listener(&fd, 1);

	close(fd);
	return p;
}

static int
setup(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	S.port = listener(&S.lfd, 1024);
	S.stopfd = eventfd(0, 0);
	atomic_store(&S.ctl_status, 200);
	assert_int_equal(pthread_create(&S.thread, NULL, server_main, NULL), 0);
	return 0;
}

static int
teardown(void **state)
{
	uint64_t one = 1;

	(void)state;
	if (write(S.stopfd, &one, sizeof(one)) < 0)
		return -1;
	pthread_join(S.thread, NULL);
	close(S.lfd);
	close(S.stopfd);
	return 0;
}

/* --- what the engine reports --- */

#define MAX_USERS	512

static struct {
	int results[MAX_USERS];
	int changes[MAX_USERS];
	int last_change[MAX_USERS];
	struct lb_health_result last[MAX_USERS];
	uint64_t went_down_ms[MAX_USERS];
	uint64_t went_up_ms[MAX_USERS];
	int total;
	/* removal from the callback */
	struct lb_health_engine *engine;
	struct lb_health_check *remove_on_result[MAX_USERS];
	struct lb_health_check *also_remove[MAX_USERS];
} R;

static void
done(void *ctx, struct lb_health_check *c, void *user, enum lb_health_change change,
	const struct lb_health_result *r)
{
	size_t i = (size_t)(uintptr_t)user;

	(void)ctx;
	assert_true(i < MAX_USERS);
	R.results[i]++;
	R.total++;
	R.last[i] = *r;
	if (change != LB_HEALTH_SAME) {
		R.changes[i]++;
		R.last_change[i] = change;
		if (change == LB_HEALTH_WENT_DOWN)
			R.went_down_ms[i] = lb_ev_now_ms();
		else
			R.went_up_ms[i] = lb_ev_now_ms();
	}
	if (R.remove_on_result[i] == c) {
		R.remove_on_result[i] = NULL;
		lb_health_remove(R.engine, R.also_remove[i]);
		lb_health_remove(R.engine, c);
	}
}

static void
reset(void)
{
	memset(&R, 0, sizeof(R));
}

/* Runs the loop until pred() or ms elapsed; returns whether pred held. */
static bool
run_until(struct lb_ev *ev, uint32_t ms, bool (*pred)(void *), void *arg)
{
	uint64_t end = lb_ev_now_ms() + ms;

	while (lb_ev_now_ms() < end) {
		if (pred != NULL && pred(arg))
			return true;
		assert_true(lb_ev_run_once(ev, 10) >= 0);
	}
	return pred != NULL && pred(arg);
}

static bool
has_results(void *arg)
{
	size_t i, n = (size_t)(uintptr_t)arg;

	for (i = 0; i < n; i++)
		if (R.results[i] == 0)
			return false;
	return true;
}

static bool
has_result(void *arg)
{
	return R.results[(size_t)(uintptr_t)arg] > 0;
}

/* A seed whose first probe is due within 20 ms (lb_health_sm_init spreads
 * first probes over a whole interval), so that tests do not wait. */
static uint64_t
quick(const struct lb_health_spec *s, uint64_t from)
{
	struct lb_health_sm sm;
	uint64_t seed;

	for (seed = from;; seed++) {
		lb_health_sm_init(&sm, s, seed, 0);
		if (sm.due_ms < 20)
			return seed;
	}
}

static struct lb_health_spec
mk(uint8_t kind, const char *path, uint32_t interval, uint32_t timeout, uint32_t fall)
{
	struct lb_health_spec s;

	lb_health_spec_default(&s);
	s.kind = kind;
	snprintf(s.path, sizeof(s.path), "%s", path);
	s.interval_ms = interval;
	s.timeout_ms = timeout;
	s.rise = 1;
	s.fall = fall;
	s.jitter_pct = 0;
	return s;
}

static struct lb_ip
lo(void)
{
	return lb_ip4(htonl(INADDR_LOOPBACK));
}

static struct lb_health_engine *
engine(struct lb_ev *ev, const struct lb_health_bind *b)
{
	char err[256];
	struct lb_health_engine *e = lb_health_engine_new(ev, b, done, NULL, err, sizeof(err));

	assert_non_null(e);
	R.engine = e;
	return e;
}

/* --- tests --- */

static void
test_tcp(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct lb_health_engine *e;
	struct lb_health_spec s = mk(LB_HEALTH_TCP, "/", 100, 80, 1);
	struct lb_health_engine_stats st;
	struct lb_ip a = lo();
	int open_fd, full_fd, c1, c2;
	uint16_t open_port = listener(&open_fd, 16), full_port = listener(&full_fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = full_port,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	(void)state;
	reset();
	/* fill the accept queue of full_port so that further SYNs are dropped */
	c1 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(c1, (struct sockaddr *)&sa, sizeof(sa));
	connect(c2, (struct sockaddr *)&sa, sizeof(sa));
	usleep(50000);
	e = engine(ev, NULL);
	assert_non_null(lb_health_add(e, &s, &a, open_port, quick(&s, 1), (void *)0));
	assert_non_null(lb_health_add(e, &s, &a, closed_port(), quick(&s, 2), (void *)1));
	assert_non_null(lb_health_add(e, &s, &a, full_port, quick(&s, 3), (void *)2));
	assert_true(run_until(ev, 2000, has_results, (void *)3));
	assert_true(R.last[0].ok);
	assert_string_equal(R.last[0].reason, "connected");
	assert_int_equal(R.last_change[0], LB_HEALTH_WENT_UP);
	assert_false(R.last[1].ok);
	assert_string_equal(R.last[1].reason, "connect: Connection refused");
	assert_int_equal(R.last_change[1], LB_HEALTH_WENT_DOWN);
	assert_false(R.last[2].ok);
	assert_true(R.last[2].timed_out);
	assert_string_equal(R.last[2].reason, "timeout after 80 ms");
	assert_true(R.last[2].latency_us >= 70000);
	lb_health_engine_stats(e, &st);
	assert_int_equal(st.checks, 3);
	assert_true(st.timeouts >= 1);
	/* the spec's port overrides the target's */
	s.port = open_port;
	assert_non_null(lb_health_add(e, &s, &a, closed_port(), quick(&s, 4), (void *)3));
	assert_true(run_until(ev, 1000, has_results, (void *)4));
	assert_true(R.last[3].ok);
	/* kind none, or no port at all, is not a check */
	s.kind = LB_HEALTH_NONE;
	assert_null(lb_health_add(e, &s, &a, open_port, 5, (void *)5));
	s.kind = LB_HEALTH_TCP;
	s.port = 0;
	assert_null(lb_health_add(e, &s, &a, 0, 5, (void *)5));
	lb_health_engine_free(e);
	lb_ev_destroy(ev);
	close(c1);
	close(c2);
	close(open_fd);
	close(full_fd);
}

static void
test_http(void **state)
{
	static const struct {
		const char *path;
		uint8_t body;
		uint16_t expect_lo, expect_hi;
		const char *host;
		bool ok;
		const char *reason;
	} cases[] = {
		{ "/ok", 0, 0, 0, "", true, "HTTP 200" },
		{ "/503", 0, 0, 0, "", false, "HTTP 503 (not an expected status)" },
		{ "/503", 0, 500, 503, "", true, "HTTP 503" },
		{ "/nope", 0, 0, 0, "", false, "HTTP 404 (not an expected status)" },
		{ "/kp1", LB_HEALTH_BODY_KUBE_PROXY, 0, 0, "", true, "HTTP 200, localEndpoints 1" },
		{ "/kp0", LB_HEALTH_BODY_KUBE_PROXY, 0, 0, "", false, "HTTP 503, localEndpoints 0" },
		{ "/ok", LB_HEALTH_BODY_KUBE_PROXY, 0, 0, "", false,
			"HTTP 200 but the body is not kube-proxy's JSON" },
		{ "/big", 0, 0, 0, "", true, "HTTP 200" },
		{ "/host", 0, 0, 0, "example.test", true, "HTTP 200" },
		{ "/host", 0, 0, 0, "", false, "HTTP 400 (not an expected status)" },
		{ "/hang", 0, 0, 0, "", false, "timeout after 150 ms" },
	};
	size_t n = LB_ARRAY_SIZE(cases), i;
	struct lb_ev *ev = lb_ev_create();
	struct lb_health_engine *e;
	struct lb_ip a = lo();

	(void)state;
	reset();
	e = engine(ev, NULL);
	for (i = 0; i < n; i++) {
		struct lb_health_spec s = mk(LB_HEALTH_HTTP, cases[i].path, 1000, 150, 1);

		s.body = cases[i].body;
		if (cases[i].expect_lo != 0) {
			s.n_expect = 1;
			s.expect[0].lo = cases[i].expect_lo;
			s.expect[0].hi = cases[i].expect_hi;
		}
		snprintf(s.host, sizeof(s.host), "%s", cases[i].host);
		assert_non_null(lb_health_add(e, &s, &a, S.port, quick(&s, i), (void *)(uintptr_t)i));
	}
	assert_true(run_until(ev, 3000, has_results, (void *)(uintptr_t)n));
	for (i = 0; i < n; i++) {
		if (R.last[i].ok != cases[i].ok || strcmp(R.last[i].reason, cases[i].reason) != 0)
			fail_msg("case %zu (%s): got %d '%s', want %d '%s'", i, cases[i].path,
				R.last[i].ok, R.last[i].reason, cases[i].ok, cases[i].reason);
		assert_int_equal(R.last_change[i], cases[i].ok ? LB_HEALTH_WENT_UP :
			LB_HEALTH_WENT_DOWN);
	}
	assert_int_equal(R.last[0].http_status, 200);
	assert_true(R.last[10].timed_out);
	/* refused */
	{
		struct lb_health_spec s = mk(LB_HEALTH_HTTP, "/", 1000, 150, 1);

		assert_non_null(lb_health_add(e, &s, &a, closed_port(), quick(&s, 99), (void *)20));
		assert_true(run_until(ev, 2000, has_result, (void *)20));
		assert_string_equal(R.last[20].reason, "connect: Connection refused");
	}
	/* https against a plain server fails, and says so */
	{
		struct lb_health_spec s = mk(LB_HEALTH_HTTPS, "/ok", 1000, 300, 1);

		assert_non_null(lb_health_add(e, &s, &a, S.port, quick(&s, 98), (void *)21));
		assert_true(run_until(ev, 2000, has_result, (void *)21));
		assert_false(R.last[21].ok);
	}
	lb_health_engine_free(e);
	lb_ev_destroy(ev);
}

static bool
changed_to(void *arg)
{
	return R.last_change[0] == (int)(intptr_t)arg;
}

/* A server going from 200 to 503 and back, in real time: DOWN within
 * fall * interval + timeout, UP within rise * interval (+ slack for the
 * sanitizers and a shared machine). */
static void
test_flip(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct lb_health_spec s = mk(LB_HEALTH_HTTP, "/ctl", 100, 50, 3);
	struct lb_health_engine *e;
	struct lb_ip a = lo();
	uint64_t t0, down_ms, up_ms;

	(void)state;
	reset();
	s.rise = 2;
	s.jitter_pct = 20;
	e = engine(ev, NULL);
	assert_non_null(lb_health_add(e, &s, &a, S.port, quick(&s, 5), (void *)0));
	assert_true(run_until(ev, 2000, changed_to, (void *)LB_HEALTH_WENT_UP));
	t0 = lb_ev_now_ms();
	atomic_store(&S.ctl_status, 503);
	assert_true(run_until(ev, 3000, changed_to, (void *)LB_HEALTH_WENT_DOWN));
	down_ms = R.went_down_ms[0] - t0;
	t0 = lb_ev_now_ms();
	atomic_store(&S.ctl_status, 200);
	assert_true(run_until(ev, 3000, changed_to, (void *)LB_HEALTH_WENT_UP));
	up_ms = R.went_up_ms[0] - t0;
	print_message("flip: down after %lu ms (bound 3 x 100 + 50 = 350), up after %lu ms "
		"(bound 2 x 100 = 200, plus latency)\n", (unsigned long)down_ms,
		(unsigned long)up_ms);
	assert_true(down_ms <= 350 + 100);
	assert_true(up_ms <= 200 + 100);
	assert_true(down_ms >= 2 * 80);	/* three failures need two gaps at least */
	lb_health_engine_free(e);
	lb_ev_destroy(ev);
}

static bool
hang_open(void *arg)
{
	return atomic_load(&S.hang_open) >= (int)(intptr_t)arg;
}

static bool
hang_closed(void *arg)
{
	return atomic_load(&S.hang_closed) >= (int)(intptr_t)arg;
}

/* Removal while a probe is in flight: the connection goes, no callback
 * comes, the engine counts it; also from within a callback. */
static void
test_remove_inflight(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct lb_health_spec hs = mk(LB_HEALTH_HTTP, "/hang", 2000, 1500, 1);
	struct lb_health_spec ts = mk(LB_HEALTH_TCP, "/", 2000, 1500, 1);
	struct lb_health_engine_stats st;
	struct lb_health_engine *e;
	struct lb_health_check *h, *t, *x, *y;
	struct lb_ip a = lo();
	int full_fd, c1, c2;
	uint16_t full_port = listener(&full_fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = full_port,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	(void)state;
	reset();
	c1 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(c1, (struct sockaddr *)&sa, sizeof(sa));
	connect(c2, (struct sockaddr *)&sa, sizeof(sa));
	usleep(50000);
	e = engine(ev, NULL);
	h = lb_health_add(e, &hs, &a, S.port, quick(&hs, 1), (void *)0);
	t = lb_health_add(e, &ts, &a, full_port, quick(&ts, 1000), (void *)1);
	assert_non_null(h);
	assert_non_null(t);
	/* both in flight: the server holds the HTTP request, the SYN hangs */
	assert_true(run_until(ev, 3000, hang_open, (void *)1));
	while (!lb_health_check_sm(t)->inflight)
		assert_true(lb_ev_run_once(ev, 10) >= 0);
	lb_health_engine_stats(e, &st);
	assert_int_equal(st.inflight, 2);
	lb_health_remove(e, h);
	lb_health_remove(e, t);
	lb_health_engine_stats(e, &st);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.aborted, 2);
	assert_int_equal(st.checks, 0);
	/* the server sees the connection closed; nothing is reported */
	assert_true(run_until(ev, 2000, hang_closed, (void *)1));
	run_until(ev, 200, NULL, NULL);
	assert_int_equal(R.total, 0);

	/* a callback removing its own check and another one in flight */
	hs = mk(LB_HEALTH_HTTP, "/ok", 100, 80, 1);
	x = lb_health_add(e, &hs, &a, S.port, 3, (void *)2);
	hs = mk(LB_HEALTH_HTTP, "/hang", 2000, 1500, 1);
	y = lb_health_add(e, &hs, &a, S.port, quick(&hs, 4), (void *)3);
	R.remove_on_result[2] = x;
	R.also_remove[2] = y;
	assert_true(run_until(ev, 3000, hang_open, (void *)2));
	assert_true(run_until(ev, 3000, has_result, (void *)2));
	run_until(ev, 300, NULL, NULL);
	assert_int_equal(R.results[2], 1);
	assert_int_equal(R.results[3], 0);
	lb_health_engine_stats(e, &st);
	assert_int_equal(st.checks, 0);
	assert_int_equal(st.inflight, 0);
	assert_true(run_until(ev, 2000, hang_closed, (void *)2));
	/* freeing the engine with probes in flight */
	hs = mk(LB_HEALTH_HTTP, "/hang", 2000, 1500, 1);
	assert_non_null(lb_health_add(e, &hs, &a, S.port, quick(&hs, 5), (void *)4));
	assert_true(run_until(ev, 3000, hang_open, (void *)3));
	lb_health_engine_free(e);
	lb_ev_destroy(ev);
	close(c1);
	close(c2);
	close(full_fd);
}

static void
test_bind(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct lb_health_spec hs = mk(LB_HEALTH_HTTP, "/ok", 1000, 300, 1);
	struct lb_health_spec ts = mk(LB_HEALTH_TCP, "/", 1000, 300, 1);
	struct lb_health_bind b;
	struct lb_health_engine *e;
	struct lb_ip a = lo();
	int open_fd;
	uint16_t open_port = listener(&open_fd, 16);

	(void)state;
	reset();
	/* a local source address */
	memset(&b, 0, sizeof(b));
	b.source = lo();
	e = engine(ev, &b);
	assert_non_null(lb_health_add(e, &hs, &a, S.port, quick(&hs, 1), (void *)0));
	assert_non_null(lb_health_add(e, &ts, &a, open_port, quick(&ts, 2), (void *)1));
	assert_true(run_until(ev, 2000, has_results, (void *)2));
	assert_true(R.last[0].ok);
	assert_true(R.last[1].ok);
	lb_health_engine_free(e);

	/* a source that is not ours: every probe fails, saying why */
	reset();
	assert_int_equal(lb_ip_parse("192.0.2.77", &b.source), 0);
	e = engine(ev, &b);
	assert_non_null(lb_health_add(e, &hs, &a, S.port, quick(&hs, 1), (void *)0));
	assert_non_null(lb_health_add(e, &ts, &a, open_port, quick(&ts, 2), (void *)1));
	assert_true(run_until(ev, 2000, has_results, (void *)2));
	assert_false(R.last[0].ok);
	assert_false(R.last[1].ok);
	assert_string_equal(R.last[1].reason,
		"bind to the source address: Cannot assign requested address");
	/* changing the binding applies to the next probes */
	memset(&b, 0, sizeof(b));
	lb_health_engine_set_bind(e, &b);
	memset(&R.last_change, 0, sizeof(R.last_change));
	assert_true(run_until(ev, 3000, changed_to, (void *)LB_HEALTH_WENT_UP));
	lb_health_engine_free(e);

	/* an interface: lo works (needs CAP_NET_RAW), a missing one does not */
	reset();
	snprintf(b.ifname, sizeof(b.ifname), "lo");
	e = engine(ev, &b);
	assert_non_null(lb_health_add(e, &ts, &a, open_port, quick(&ts, 2), (void *)0));
	assert_true(run_until(ev, 2000, has_results, (void *)1));
	if (geteuid() == 0)
		assert_true(R.last[0].ok);
	else
		print_message("not root: SO_BINDTODEVICE to lo not checked (%s)\n",
			R.last[0].reason);
	lb_health_engine_free(e);
	reset();
	snprintf(b.ifname, sizeof(b.ifname), "nosuchif0");
	e = engine(ev, &b);
	assert_non_null(lb_health_add(e, &ts, &a, open_port, quick(&ts, 2), (void *)0));
	assert_non_null(lb_health_add(e, &hs, &a, S.port, quick(&hs, 3), (void *)1));
	assert_true(run_until(ev, 2000, has_results, (void *)2));
	assert_false(R.last[0].ok);
	assert_false(R.last[1].ok);
	lb_health_engine_free(e);
	lb_ev_destroy(ev);
	close(open_fd);
}

/* Many checks at once: all come up, and the event loop's longest pass is
 * printed (a figure, not a pass/fail criterion: this build has sanitizers). */
static void
test_many(void **state)
{
	enum { N = 500 };
	struct lb_ev *ev = lb_ev_create();
	struct lb_health_spec hs = mk(LB_HEALTH_HTTP, "/ok", 1000, 500, 1);
	struct lb_health_spec ts = mk(LB_HEALTH_TCP, "/", 1000, 500, 1);
	struct lb_health_engine_stats st;
	struct lb_ev_stats es;
	struct lb_health_engine *e;
	int open_fd, i, up = 0;
	uint16_t open_port = listener(&open_fd, 4096);
	uint64_t t0;

	(void)state;
	reset();
	hs.jitter_pct = ts.jitter_pct = 10;
	e = engine(ev, NULL);
	for (i = 0; i < N; i++) {
		/* distinct loopback addresses, as distinct targets would be */
		struct lb_ip a = lb_ip4(htonl(INADDR_LOOPBACK + (uint32_t)(i % 250)));

		assert_non_null(lb_health_add(e, i % 2 ? &ts : &hs, &a, i % 2 ? open_port : S.port,
			(uint64_t)i * 2654435761u, (void *)(uintptr_t)i));
	}
	/* the listener of the TCP half accepts nothing: drain its queue */
	lb_ev_stats_reset_max(ev);
	t0 = lb_ev_now_ms();
	while (lb_ev_now_ms() - t0 < 3000) {
		int c;

		assert_true(lb_ev_run_once(ev, 10) >= 0);
		while ((c = accept(open_fd, NULL, NULL)) >= 0)
			close(c);
	}
	for (i = 0; i < N; i++)
		up += R.last_change[i] == LB_HEALTH_WENT_UP && R.changes[i] == 1;
	lb_ev_stats(ev, &es);
	lb_health_engine_stats(e, &st);
	print_message("%d checks (half HTTP, half TCP) every 1 s for 3 s: %lu probes, %lu ok, "
		"%lu failed; event loop: longest pass %lu us, %lu passes, busy %lu ms\n", N,
		(unsigned long)st.probes, (unsigned long)st.ok, (unsigned long)st.failed,
		(unsigned long)es.max_pass_us, (unsigned long)es.passes,
		(unsigned long)(es.busy_us / 1000));
	assert_int_equal(up, N);
	assert_true(st.probes >= 2 * N);
	lb_health_engine_free(e);
	lb_ev_destroy(ev);
	close(open_fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_flip),
		cmocka_unit_test(test_remove_inflight),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
