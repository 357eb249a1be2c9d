/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "lb_ev_curl.h"

struct lb_ev_curl {
	struct lb_ev *ev;
	CURLM *multi;
	struct lb_ev_timer *timer;	/* curl's timeout */
	void (*after)(void *ctx);
	void *ctx;
};

static void
on_fd(void *arg, int fd, uint32_t events)
{
	struct lb_ev_curl *c = arg;
	int mask = 0, running;

	if (events & LB_EV_IN)
		mask |= CURL_CSELECT_IN;
	if (events & LB_EV_OUT)
		mask |= CURL_CSELECT_OUT;
	if (events & LB_EV_ERR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, mask, &running);
	c->after(c->ctx);
}

static void
on_timer(void *arg)
{
	struct lb_ev_curl *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	c->after(c->ctx);
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct lb_ev_curl *c = userp;
	uint32_t ev = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (socketp != NULL) {
			lb_ev_fd_del(c->ev, s);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= LB_EV_IN;
	if (what & CURL_POLL_OUT)
		ev |= LB_EV_OUT;
	if (socketp != NULL)
		return lb_ev_fd_mod(c->ev, s, ev) == 0 ? 0 : -1;
	if (lb_ev_fd_add(c->ev, s, ev, on_fd, c) == -EEXIST) {
		/* a registration left by a socket closed without a REMOVE: the
		 * number is curl's now */
		lb_ev_fd_del(c->ev, s);
		if (lb_ev_fd_add(c->ev, s, ev, on_fd, c) != 0)
			return -1;
	}
	curl_multi_assign(c->multi, s, c);
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct lb_ev_curl *c = userp;

	(void)multi;
	if (timeout_ms < 0)
		lb_ev_timer_disarm(c->timer);
	else
		lb_ev_timer_arm(c->timer, (uint64_t)timeout_ms);
	return 0;
}

struct lb_ev_curl *
lb_ev_curl_new(struct lb_ev *ev, void (*after)(void *ctx), void *ctx)
{
	struct lb_ev_curl *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ev = ev;
	c->after = after;
	c->ctx = ctx;
	c->multi = curl_multi_init();
	c->timer = lb_ev_timer_new(ev, on_timer, c);
	if (c->multi == NULL || c->timer == NULL) {
		lb_ev_curl_free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

CURLM *
lb_ev_curl_multi(const struct lb_ev_curl *c)
{
	return c->multi;
}

void
lb_ev_curl_free(struct lb_ev_curl *c)
{
	if (c == NULL)
		return;
	/* closes cached connections: their sockets leave the loop through
	 * socket_cb, which still has c */
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	lb_ev_timer_free(c->timer);
	free(c);
}
