/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "lb_ev.h"

#define MAX_EVENTS	64

/* A registered fd. epoll carries (gen << 32 | fd) so that an event for an
 * fd removed (and perhaps re-added) earlier in the same pass is ignored. */
struct reg {
	lb_ev_fd_fn fn;
	void *ctx;
	uint32_t gen;		/* 0 = free */
	uint32_t events;
};

struct lb_ev_timer {
	struct lb_ev *ev;
	lb_ev_timer_fn fn;
	void *ctx;
	uint64_t due;
	uint64_t seq;		/* when it was armed (lb_ev.arm_seq) */
	uint32_t heap_idx;	/* UINT32_MAX: not armed */
};

struct lb_ev {
	int epfd;
	int wakefd;
	uint32_t next_gen;
	uint32_t n_regs;	/* size of regs[] (max fd + 1) */
	struct reg *regs;
	uint32_t n_heap, cap_heap;
	uint64_t arm_seq;
	struct lb_ev_timer **heap;
	struct lb_ev_stats st;
};

uint64_t
lb_ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* CPU time of the calling thread: a pass that takes long in wall time but
 * little CPU time was preempted (another thread or process on the CPU), not
 * busy. A system call, unlike CLOCK_MONOTONIC; a few per pass is cheap at a
 * control loop's rate. */
static uint64_t
cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Records one callback's wall and CPU time in the slowest-callback stats. */
static void
note_callback(struct lb_ev *ev, const void *fn, uint64_t c0, uint64_t p0)
{
	uint64_t cd = now_us() - c0, pd = cpu_us() - p0;

	if (cd > ev->st.slowest_us) {
		ev->st.slowest_us = cd;
		ev->st.slowest_fn = fn;
	}
	if (pd > ev->st.slowest_cpu_us) {
		ev->st.slowest_cpu_us = pd;
		ev->st.slowest_cpu_fn = fn;
	}
}

static uint32_t
ep_events(uint32_t ev)
{
	return (ev & LB_EV_IN ? EPOLLIN : 0) | (ev & LB_EV_OUT ? EPOLLOUT : 0);
}

struct lb_ev *
lb_ev_create(void)
{
	struct lb_ev *ev = calloc(1, sizeof(*ev));
	struct epoll_event e = { .events = EPOLLIN };

	if (ev == NULL)
		return NULL;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ev->epfd < 0 || ev->wakefd < 0)
		goto fail;
	e.data.u64 = UINT64_MAX;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->wakefd, &e) != 0)
		goto fail;
	ev->next_gen = 1;
	ev->st.last_max_reset = lb_ev_now_ms();
	return ev;
fail:
	if (ev->epfd >= 0)
		close(ev->epfd);
	if (ev->wakefd >= 0)
		close(ev->wakefd);
	free(ev);
	return NULL;
}

void
lb_ev_destroy(struct lb_ev *ev)
{
	uint32_t i;

	if (ev == NULL)
		return;
	for (i = 0; i < ev->n_heap; i++) {
		ev->heap[i]->heap_idx = UINT32_MAX;
		ev->heap[i]->ev = NULL;
	}
	free(ev->heap);
	free(ev->regs);
	close(ev->epfd);
	close(ev->wakefd);
	free(ev);
}

static struct reg *
reg_of(struct lb_ev *ev, int fd)
{
	if (fd < 0 || (uint32_t)fd >= ev->n_regs || ev->regs[fd].gen == 0)
		return NULL;
	return &ev->regs[fd];
}

int
lb_ev_fd_add(struct lb_ev *ev, int fd, uint32_t events, lb_ev_fd_fn fn, void *ctx)
{
	struct epoll_event e;
	struct reg *r;

	if (fd < 0 || fn == NULL)
		return -EINVAL;
	if (reg_of(ev, fd) != NULL)
		return -EEXIST;
	if ((uint32_t)fd >= ev->n_regs) {
		uint32_t n = ev->n_regs ? ev->n_regs : 64;
		struct reg *nr;

		while (n <= (uint32_t)fd)
			n *= 2;
		nr = realloc(ev->regs, sizeof(*nr) * n);
		if (nr == NULL)
			return -ENOMEM;
		memset(nr + ev->n_regs, 0, sizeof(*nr) * (n - ev->n_regs));
		ev->regs = nr;
		ev->n_regs = n;
	}
	r = &ev->regs[fd];
	r->gen = ev->next_gen++;
	if (ev->next_gen == 0)
		ev->next_gen = 1;
	memset(&e, 0, sizeof(e));
	e.events = ep_events(events);
	e.data.u64 = (uint64_t)r->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
		int rc = -errno;

		r->gen = 0;
		return rc;
	}
	r->fn = fn;
	r->ctx = ctx;
	r->events = events;
	ev->st.fds++;
	return 0;
}

int
lb_ev_fd_mod(struct lb_ev *ev, int fd, uint32_t events)
{
	struct reg *r = reg_of(ev, fd);
	struct epoll_event e;

	if (r == NULL)
		return -ENOENT;
	if (r->events == events)
		return 0;
	memset(&e, 0, sizeof(e));
	e.events = ep_events(events);
	e.data.u64 = (uint64_t)r->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &e) != 0)
		return -errno;
	r->events = events;
	return 0;
}

int
lb_ev_fd_del(struct lb_ev *ev, int fd)
{
	struct reg *r = reg_of(ev, fd);

	if (r == NULL)
		return -ENOENT;
	/* may fail if the caller closed fd already; the registration goes anyway */
	epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(r, 0, sizeof(*r));
	ev->st.fds--;
	return 0;
}

/* --- timers: a binary min-heap on due time --- */

static void
heap_set(struct lb_ev *ev, uint32_t i, struct lb_ev_timer *t)
{
	ev->heap[i] = t;
	t->heap_idx = i;
}

static void
sift_up(struct lb_ev *ev, uint32_t i)
{
	struct lb_ev_timer *t = ev->heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;

		if (ev->heap[p]->due <= t->due)
			break;
		heap_set(ev, i, ev->heap[p]);
		i = p;
	}
	heap_set(ev, i, t);
}

static void
sift_down(struct lb_ev *ev, uint32_t i)
{
	struct lb_ev_timer *t = ev->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= ev->n_heap)
			break;
		if (c + 1 < ev->n_heap && ev->heap[c + 1]->due < ev->heap[c]->due)
			c++;
		if (t->due <= ev->heap[c]->due)
			break;
		heap_set(ev, i, ev->heap[c]);
		i = c;
	}
	heap_set(ev, i, t);
}

static void
heap_remove(struct lb_ev *ev, struct lb_ev_timer *t)
{
	uint32_t i = t->heap_idx;

	t->heap_idx = UINT32_MAX;
	ev->n_heap--;
	if (i == ev->n_heap)
		return;
	t = ev->heap[ev->n_heap];
	heap_set(ev, i, t);
	sift_down(ev, i);
	sift_up(ev, t->heap_idx);
}

struct lb_ev_timer *
lb_ev_timer_new(struct lb_ev *ev, lb_ev_timer_fn fn, void *ctx)
{
	struct lb_ev_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ev = ev;
	t->fn = fn;
	t->ctx = ctx;
	t->heap_idx = UINT32_MAX;
	return t;
}

void
lb_ev_timer_disarm(struct lb_ev_timer *t)
{
	if (t == NULL || t->ev == NULL || t->heap_idx == UINT32_MAX)
		return;
	heap_remove(t->ev, t);
	t->ev->st.timers_armed--;
}

void
lb_ev_timer_arm(struct lb_ev_timer *t, uint64_t delay_ms)
{
	struct lb_ev *ev = t->ev;

	if (ev == NULL)
		return;
	lb_ev_timer_disarm(t);
	if (ev->n_heap == ev->cap_heap) {
		uint32_t cap = ev->cap_heap ? ev->cap_heap * 2 : 32;
		struct lb_ev_timer **h = realloc(ev->heap, sizeof(*h) * cap);

		if (h == NULL)
			return;	/* cannot happen in practice; the timer stays disarmed */
		ev->heap = h;
		ev->cap_heap = cap;
	}
	t->due = lb_ev_now_ms() + delay_ms;
	t->seq = ev->arm_seq++;
	heap_set(ev, ev->n_heap++, t);
	sift_up(ev, t->heap_idx);
	ev->st.timers_armed++;
}

bool
lb_ev_timer_armed(const struct lb_ev_timer *t)
{
	return t != NULL && t->heap_idx != UINT32_MAX;
}

void
lb_ev_timer_free(struct lb_ev_timer *t)
{
	if (t == NULL)
		return;
	lb_ev_timer_disarm(t);
	free(t);
}

/* --- the loop --- */

void
lb_ev_wake(struct lb_ev *ev)
{
	uint64_t one = 1;
	ssize_t r = write(ev->wakefd, &one, sizeof(one));

	(void)r;	/* EAGAIN: a wake-up is pending already */
}

static int
run_timers(struct lb_ev *ev, uint64_t now)
{
	/* Timers armed by this pass's callbacks run on the next pass, so a
	 * timer that re-arms itself with 0 cannot starve the fds. A due timer
	 * armed later sits behind the heap's top only if its due time is later,
	 * so stopping at the first one armed during the pass is safe: it is
	 * left for the next pass, and so is everything due after it. */
	uint64_t seq_limit = ev->arm_seq;
	int n = 0;

	while (ev->n_heap > 0 && ev->heap[0]->due <= now && ev->heap[0]->seq < seq_limit) {
		struct lb_ev_timer *t = ev->heap[0];

		heap_remove(ev, t);
		ev->st.timers_armed--;
		{
			uint64_t c0 = now_us(), p0 = cpu_us();
			lb_ev_timer_fn fn = t->fn;

			fn(t->ctx);
			note_callback(ev, (const void *)fn, c0, p0);
		}
		n++;
	}
	return n;
}

int
lb_ev_run_once(struct lb_ev *ev, int max_wait_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now = lb_ev_now_ms(), t0, dt, pass_cpu0, pd;
	int wait = max_wait_ms, n, i, calls = 0;

	if (ev->n_heap > 0) {
		uint64_t due = ev->heap[0]->due;
		int until = due <= now ? 0 : (due - now > 60000 ? 60000 : (int)(due - now));

		if (wait < 0 || until < wait)
			wait = until;
	}
	n = epoll_wait(ev->epfd, evs, MAX_EVENTS, wait);
	if (n < 0 && errno != EINTR)
		return -errno;
	t0 = now_us();
	pass_cpu0 = cpu_us();
	for (i = 0; i < n; i++) {
		uint64_t d = evs[i].data.u64;
		int fd = (int)(uint32_t)d;
		uint32_t got = 0;
		struct reg *r;

		if (d == UINT64_MAX) {
			uint64_t v;

			while (read(ev->wakefd, &v, sizeof(v)) > 0)
				;
			continue;
		}
		r = reg_of(ev, fd);
		if (r == NULL || r->gen != (uint32_t)(d >> 32))
			continue;	/* removed earlier in this pass */
		if (evs[i].events & EPOLLIN)
			got |= LB_EV_IN;
		if (evs[i].events & EPOLLOUT)
			got |= LB_EV_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			got |= LB_EV_ERR;
		{
			uint64_t c0 = now_us(), p0 = cpu_us();
			lb_ev_fd_fn fn = r->fn;

			fn(r->ctx, fd, got);
			note_callback(ev, (const void *)fn, c0, p0);
		}
		calls++;
	}
	calls += run_timers(ev, lb_ev_now_ms());
	dt = now_us() - t0;
	pd = cpu_us() - pass_cpu0;
	ev->st.passes++;
	ev->st.callbacks += (uint64_t)calls;
	ev->st.busy_us += dt;
	if (dt > ev->st.max_pass_us)
		ev->st.max_pass_us = dt;
	if (dt > LB_EV_SLOW_PASS_US)
		ev->st.slow_passes++;
	ev->st.busy_cpu_us += pd;
	if (pd > ev->st.max_pass_cpu_us)
		ev->st.max_pass_cpu_us = pd;
	if (pd > LB_EV_SLOW_PASS_US)
		ev->st.slow_cpu_passes++;
	return calls;
}

void
lb_ev_stats(const struct lb_ev *ev, struct lb_ev_stats *st)
{
	*st = ev->st;
}

void
lb_ev_stats_reset_max(struct lb_ev *ev)
{
	ev->st.max_pass_us = 0;
	ev->st.slowest_us = 0;
	ev->st.slowest_fn = NULL;
	ev->st.max_pass_cpu_us = 0;
	ev->st.slowest_cpu_us = 0;
	ev->st.slowest_cpu_fn = NULL;
	ev->st.last_max_reset = lb_ev_now_ms();
}
