/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lb_ev.h"

struct rec {
	struct lb_ev *ev;
	int calls;
	uint32_t last_events;
	int order[16];
	int n_order;
	struct lb_ev_timer *self;
	int rearm;
	int fd_to_del;
};

static void
on_fd(void *ctx, int fd, uint32_t events)
{
	struct rec *r = ctx;
	char buf[64];

	r->calls++;
	r->last_events = events;
	if (events & LB_EV_IN)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	if (r->fd_to_del >= 0)
		lb_ev_fd_del(r->ev, r->fd_to_del);
}

static void
on_timer(void *ctx)
{
	struct rec *r = ctx;

	if (r->n_order < 16)
		r->order[r->n_order++] = r->calls;
	r->calls++;
	if (r->rearm > 0) {
		r->rearm--;
		lb_ev_timer_arm(r->self, 0);
	}
}

static void
test_fds(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct rec a = { .ev = ev, .fd_to_del = -1 }, b = { .ev = ev, .fd_to_del = -1 };
	struct lb_ev_stats st;
	int p1[2], p2[2];

	(void)state;
	assert_non_null(ev);
	assert_int_equal(pipe2(p1, O_NONBLOCK), 0);
	assert_int_equal(pipe2(p2, O_NONBLOCK), 0);
	assert_int_equal(lb_ev_fd_add(ev, p1[0], LB_EV_IN, on_fd, &a), 0);
	assert_int_equal(lb_ev_fd_add(ev, p1[0], LB_EV_IN, on_fd, &a), -EEXIST);
	assert_int_equal(lb_ev_fd_add(ev, p2[0], LB_EV_IN, on_fd, &b), 0);
	assert_int_equal(lb_ev_run_once(ev, 0), 0);
	assert_int_equal(write(p1[1], "x", 1), 1);
	assert_int_equal(lb_ev_run_once(ev, 1000), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.last_events, LB_EV_IN);
	assert_int_equal(b.calls, 0);

	/* a callback that removes another fd ready in the same pass: the
	 * removed one is not called */
	assert_int_equal(write(p1[1], "x", 1), 1);
	assert_int_equal(write(p2[1], "y", 1), 1);
	a.fd_to_del = p2[0];
	b.fd_to_del = p1[0];
	assert_int_equal(lb_ev_run_once(ev, 1000), 1);
	assert_int_equal(a.calls + b.calls, 2);	/* one of the two ran */
	lb_ev_stats(ev, &st);
	assert_int_equal(st.fds, 1);

	/* OUT interest and hang-up */
	close(p2[1]);
	close(p2[0]);
	close(p1[0]);
	lb_ev_fd_del(ev, p1[0]);
	lb_ev_fd_del(ev, p2[0]);
	assert_int_equal(lb_ev_fd_del(ev, p2[0]), -ENOENT);
	assert_int_equal(pipe2(p2, O_NONBLOCK), 0);
	memset(&b, 0, sizeof(b));
	b.fd_to_del = -1;
	assert_int_equal(lb_ev_fd_add(ev, p2[1], LB_EV_OUT, on_fd, &b), 0);
	assert_int_equal(lb_ev_run_once(ev, 1000), 1);
	assert_int_equal(b.last_events, LB_EV_OUT);
	assert_int_equal(lb_ev_fd_mod(ev, p2[1], 0), 0);
	close(p2[0]);
	assert_int_equal(lb_ev_run_once(ev, 1000), 1);
	assert_true(b.last_events & LB_EV_ERR);
	lb_ev_fd_del(ev, p2[1]);
	close(p2[1]);
	close(p1[1]);
	lb_ev_destroy(ev);
}

static void
test_timers(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct rec r[3];
	struct lb_ev_timer *t[3];
	uint64_t t0 = lb_ev_now_ms();
	int i, guard = 0;

	(void)state;
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		t[i] = lb_ev_timer_new(ev, on_timer, &r[i]);
		r[i].self = t[i];
	}
	lb_ev_timer_arm(t[0], 30);
	lb_ev_timer_arm(t[1], 10);
	lb_ev_timer_arm(t[2], 20);
	assert_true(lb_ev_timer_armed(t[0]));
	lb_ev_timer_disarm(t[2]);
	assert_false(lb_ev_timer_armed(t[2]));
	while ((r[0].calls == 0 || r[1].calls == 0) && guard++ < 100)
		lb_ev_run_once(ev, -1);	/* waits for the next timer, no busy loop */
	assert_true(guard < 10);
	assert_true(lb_ev_now_ms() - t0 >= 30);
	assert_int_equal(r[2].calls, 0);

	/* re-arming with 0 from the callback runs on the next pass, not this one */
	r[2].rearm = 3;
	lb_ev_timer_arm(t[2], 0);
	assert_int_equal(lb_ev_run_once(ev, 0), 1);
	assert_int_equal(r[2].calls, 1);
	assert_int_equal(lb_ev_run_once(ev, 0), 1);
	assert_int_equal(lb_ev_run_once(ev, 0), 1);
	assert_int_equal(lb_ev_run_once(ev, 0), 1);
	assert_int_equal(lb_ev_run_once(ev, 0), 0);
	assert_int_equal(r[2].calls, 4);

	/* many timers: every armed one fires once, the freed ones never */
	{
		struct rec many = { 0 };
		struct lb_ev_timer *m[200];

		for (i = 0; i < 200; i++) {
			m[i] = lb_ev_timer_new(ev, on_timer, &many);
			lb_ev_timer_arm(m[i], (uint64_t)((i * 37) % 5));
		}
		for (i = 0; i < 100; i += 2)
			lb_ev_timer_free(m[i]);
		guard = 0;
		while (many.calls < 150 && guard++ < 100)
			lb_ev_run_once(ev, 50);
		assert_int_equal(many.calls, 150);	/* 200 armed, 50 freed */
		for (i = 1; i < 200; i += (i < 99 ? 2 : 1))	/* 1, 3, ..., 99, 100, ..., 199 */
			lb_ev_timer_free(m[i]);
	}
	for (i = 0; i < 3; i++)
		lb_ev_timer_free(t[i]);
	lb_ev_destroy(ev);
}

static void *
waker(void *arg)
{
	usleep(20000);
	lb_ev_wake(arg);
	return NULL;
}

static void
test_wake_and_stats(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct lb_ev_stats st;
	pthread_t th;
	uint64_t t0;

	(void)state;
	t0 = lb_ev_now_ms();
	assert_int_equal(pthread_create(&th, NULL, waker, ev), 0);
	assert_int_equal(lb_ev_run_once(ev, 5000), 0);
	assert_true(lb_ev_now_ms() - t0 < 4000);
	pthread_join(th, NULL);
	lb_ev_stats(ev, &st);
	assert_int_equal(st.passes, 1);
	/* waiting is not counted as busy */
	assert_true(st.max_pass_us < 10000);
	lb_ev_stats_reset_max(ev);
	lb_ev_stats(ev, &st);
	assert_int_equal(st.max_pass_us, 0);
	lb_ev_destroy(ev);
}

static uint64_t
thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
sleeper(void *ctx)
{
	(void)ctx;
	usleep(30000);
}

static void
spinner(void *ctx)
{
	uint64_t t0 = thread_cpu_us();

	(void)ctx;
	while (thread_cpu_us() - t0 < 20000)
		;
}

/* A pass's CPU time counts the work, not the time the thread did not run. */
static void
test_cpu_stats(void **state)
{
	struct lb_ev *ev = lb_ev_create();
	struct lb_ev_timer *a = lb_ev_timer_new(ev, sleeper, NULL);
	struct lb_ev_timer *b = lb_ev_timer_new(ev, spinner, NULL);
	struct lb_ev_stats st;

	(void)state;
	lb_ev_timer_arm(a, 0);
	assert_int_equal(lb_ev_run_once(ev, 1000), 1);
	lb_ev_stats(ev, &st);
	assert_true(st.max_pass_us >= 30000);
	assert_true(st.max_pass_cpu_us < 15000);
	assert_int_equal(st.slow_cpu_passes, 0);
	lb_ev_timer_arm(b, 0);
	assert_int_equal(lb_ev_run_once(ev, 1000), 1);
	lb_ev_stats(ev, &st);
	assert_true(st.max_pass_cpu_us >= 20000);
	assert_int_equal(st.slow_cpu_passes, 1);
	assert_ptr_equal(st.slowest_cpu_fn, (const void *)spinner);
	assert_true(st.slowest_cpu_us >= 20000);
	assert_true(st.busy_cpu_us >= 20000);
	lb_ev_stats_reset_max(ev);
	lb_ev_stats(ev, &st);
	assert_int_equal(st.max_pass_cpu_us, 0);
	assert_null(st.slowest_cpu_fn);
	lb_ev_timer_free(a);
	lb_ev_timer_free(b);
	lb_ev_destroy(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fds),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_wake_and_stats),
		cmocka_unit_test(test_cpu_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
