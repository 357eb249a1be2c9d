/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_EV_H
#define LB_EV_H

/*
 * The control thread's event loop: file descriptors (epoll) and one-shot
 * timers, dispatched from lb_ev_run_once(). Components register what they
 * wait on (the lbctl socket, signals, libcurl's sockets and timers, health
 * checks) and are called back; none of them may block. The loop measures
 * how long each pass takes (callbacks included), so a component that stalls
 * it shows up in lb_ev_stats.
 *
 * Single-threaded: every call but lb_ev_wake() comes from the loop's thread.
 * Callbacks may add, change and remove fds and timers, their own included.
 */
#include "lb_common.h"

#define LB_EV_IN	0x1
#define LB_EV_OUT	0x2
#define LB_EV_ERR	0x4	/* error or hang-up (always reported) */

struct lb_ev;
struct lb_ev_timer;

typedef void (*lb_ev_fd_fn)(void *ctx, int fd, uint32_t events);
typedef void (*lb_ev_timer_fn)(void *ctx);

/* NULL on failure (errno set). */
struct lb_ev *lb_ev_create(void);
/* Frees the loop and every timer still attached; fds are not closed. */
void lb_ev_destroy(struct lb_ev *ev);

/* Watches fd for events (LB_EV_IN | LB_EV_OUT; 0 = errors only). One
 * registration per fd. 0 or a negative errno (-EEXIST when present). */
int lb_ev_fd_add(struct lb_ev *ev, int fd, uint32_t events, lb_ev_fd_fn fn, void *ctx);
int lb_ev_fd_mod(struct lb_ev *ev, int fd, uint32_t events);
/* Removes fd (call before closing it). 0 or -ENOENT. */
int lb_ev_fd_del(struct lb_ev *ev, int fd);

/* A timer, disarmed. NULL on ENOMEM. */
struct lb_ev_timer *lb_ev_timer_new(struct lb_ev *ev, lb_ev_timer_fn fn, void *ctx);
/* (Re)arms t to fire once, delay_ms from now (0: on the next pass). */
void lb_ev_timer_arm(struct lb_ev_timer *t, uint64_t delay_ms);
void lb_ev_timer_disarm(struct lb_ev_timer *t);
bool lb_ev_timer_armed(const struct lb_ev_timer *t);
/* Disarms and frees; NULL is a no-op. Safe from the timer's own callback. */
void lb_ev_timer_free(struct lb_ev_timer *t);

/*
 * One pass: waits up to max_wait_ms (0: do not wait; negative: until an
 * event) or until the next timer is due, then runs due timers and fd
 * callbacks. Returns the number of callbacks run, or a negative errno from
 * epoll_wait (EINTR is not an error: 0).
 */
int lb_ev_run_once(struct lb_ev *ev, int max_wait_ms);

/* Makes a waiting lb_ev_run_once return early; any thread, async-safe. */
void lb_ev_wake(struct lb_ev *ev);

/* Monotonic milliseconds, the clock timers use. */
uint64_t lb_ev_now_ms(void);

struct lb_ev_stats {
	uint64_t passes;
	uint64_t callbacks;
	uint64_t busy_us;		/* time spent in callbacks, in total */
	uint64_t max_pass_us;		/* longest pass, waiting excluded */
	uint64_t last_max_reset;	/* lb_ev_now_ms() of the last reset */
	uint32_t fds;
	uint32_t timers_armed;
	uint64_t slow_passes;		/* passes over LB_EV_SLOW_PASS_US */
	/* The longest single callback since the last reset: which function
	 * (for dladdr) and how long. */
	const void *slowest_fn;
	uint64_t slowest_us;
	/* The same in the loop thread's CPU time (CLOCK_THREAD_CPUTIME_ID):
	 * the work itself, without the time the thread waited for a CPU that
	 * another thread or process had. */
	uint64_t busy_cpu_us;
	uint64_t max_pass_cpu_us;
	uint64_t slow_cpu_passes;	/* passes over LB_EV_SLOW_PASS_US of CPU */
	const void *slowest_cpu_fn;
	uint64_t slowest_cpu_us;
};
#define LB_EV_SLOW_PASS_US	20000

void lb_ev_stats(const struct lb_ev *ev, struct lb_ev_stats *st);
/* Starts a new measuring window for max_pass_us. */
void lb_ev_stats_reset_max(struct lb_ev *ev);

#endif /* LB_EV_H */
