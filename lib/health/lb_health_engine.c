/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The check engine: one lb_ev timer per check (its next probe, or the
 * deadline of the probe in flight), TCP connect probes on non-blocking
 * sockets, HTTP probes through lb_health_http.c. Nothing here blocks: a
 * connect that does not complete at once waits in the event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lb_hash.h"
#include "lb_health_priv.h"

uint64_t
lb_health_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
sockaddr_of(const struct lb_ip *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == LB_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = port;
		memcpy(&s6->sin6_addr, ip->v6, 16);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = port;
		s4->sin_addr.s_addr = ip->v4;
		*len = sizeof(*s4);
	}
}

int
lb_health_bind_socket(const struct lb_health_bind *b, int fd, int family)
{
	if (b->ifname[0] != '\0' &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b->ifname, (socklen_t)strlen(b->ifname)) != 0)
		return -errno;
	if (b->source.family != 0 &&
	    (b->source.family == LB_AF_INET6) == (family == AF_INET6)) {
		struct sockaddr_storage ss;
		socklen_t len;

		sockaddr_of(&b->source, 0, &ss, &len);
		if (bind(fd, (struct sockaddr *)&ss, len) != 0)
			return -errno;
	}
	return 0;
}

/* --- the engine --- */

struct lb_health_engine *
lb_health_engine_new(struct lb_ev *ev, const struct lb_health_bind *bind, lb_health_done_fn done,
	void *ctx, char *err, size_t errlen)
{
	struct lb_health_engine *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->ev = ev;
	e->done = done;
	e->ctx = ctx;
	if (bind != NULL)
		e->bind = *bind;
	if (lb_health_http_init(e, err, errlen) != 0) {
		free(e);
		return NULL;
	}
	return e;
}

void
lb_health_engine_free(struct lb_health_engine *e)
{
	if (e == NULL)
		return;
	while (e->head != NULL)
		lb_health_remove(e, e->head);
	lb_health_http_fini(e);
	free(e);
}

void
lb_health_engine_set_bind(struct lb_health_engine *e, const struct lb_health_bind *bind)
{
	memset(&e->bind, 0, sizeof(e->bind));
	if (bind != NULL)
		e->bind = *bind;
}

void
lb_health_engine_stats(const struct lb_health_engine *e, struct lb_health_engine_stats *st)
{
	*st = e->st;
}

/* --- probes --- */

static void
arm(struct lb_health_check *c)
{
	uint64_t now = lb_ev_now_ms(), next = lb_health_sm_next(&c->sm);

	lb_ev_timer_arm(c->timer, next > now ? next - now : 0);
}

static void
tcp_close(struct lb_health_check *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (c->fd < 0)
		return;
	lb_ev_fd_del(c->e->ev, c->fd);
	/* A reset instead of a FIN: probes at hundreds per second would
	 * otherwise leave as many sockets in TIME_WAIT on lbd's side. */
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd);
	c->fd = -1;
}

/* Aborts whatever probe is in flight (no result). */
static void
abort_probe(struct lb_health_check *c)
{
	tcp_close(c);
	if (c->in_multi)
		lb_health_http_abort(c);
}

void
lb_health_finish(struct lb_health_check *c, struct lb_health_result *r)
{
	struct lb_health_engine *e = c->e;
	uint64_t now = lb_ev_now_ms();
	int change;

	r->latency_us = (uint32_t)LB_MIN(lb_health_mono_us() - c->started_us, UINT32_MAX);
	e->st.inflight--;
	if (r->ok)
		e->st.ok++;
	else
		e->st.failed++;
	if (r->timed_out)
		e->st.timeouts++;
	change = lb_health_sm_result(&c->sm, c->seq, r, now);
	if (change < 0)
		change = LB_HEALTH_SAME;	/* cannot happen: the probe was ours */
	arm(c);
	if (e->done != NULL)
		e->done(e->ctx, c, c->user, (enum lb_health_change)change, r);
}

static void
on_tcp(void *ctx, int fd, uint32_t events)
{
	struct lb_health_check *c = ctx;
	struct lb_health_result r;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	(void)events;
	memset(&r, 0, sizeof(r));
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		soerr = errno;
	if (soerr == 0) {
		r.ok = true;
		snprintf(r.reason, sizeof(r.reason), "connected");
	} else {
		snprintf(r.reason, sizeof(r.reason), "connect: %s", strerror(soerr));
	}
	tcp_close(c);
	lb_health_finish(c, &r);
}

/* Starts a TCP probe; returns -1 with r filled when it ended at once. */
static int
tcp_start(struct lb_health_check *c, struct lb_health_result *r)
{
	int family = c->addr.family == LB_AF_INET6 ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(r->reason, sizeof(r->reason), "socket: %s", strerror(errno));
		return -1;
	}
	c->fd = fd;
	rc = lb_health_bind_socket(&c->e->bind, fd, family);
	if (rc != 0) {
		snprintf(r->reason, sizeof(r->reason), "bind to %s: %s",
			c->e->bind.ifname[0] ? c->e->bind.ifname : "the source address",
			strerror(-rc));
		tcp_close(c);
		return -1;
	}
	sockaddr_of(&c->addr, c->port, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		r->ok = true;
		snprintf(r->reason, sizeof(r->reason), "connected");
		tcp_close(c);
		return -1;
	}
	if (errno != EINPROGRESS) {
		snprintf(r->reason, sizeof(r->reason), "connect: %s", strerror(errno));
		tcp_close(c);
		return -1;
	}
	rc = lb_ev_fd_add(c->e->ev, fd, LB_EV_OUT, on_tcp, c);
	if (rc != 0) {
		snprintf(r->reason, sizeof(r->reason), "event loop: %s", strerror(-rc));
		close(fd);	/* never registered */
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void
start(struct lb_health_check *c, uint64_t now)
{
	struct lb_health_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	c->seq = lb_health_sm_start(&c->sm, now);
	c->started_us = lb_health_mono_us();
	c->e->st.probes++;
	c->e->st.inflight++;
	arm(c);		/* the deadline */
	if (c->spec.kind == LB_HEALTH_TCP)
		rc = tcp_start(c, &r);
	else
		rc = lb_health_http_start(c, &r);
	if (rc != 0)
		lb_health_finish(c, &r);
}

static void
on_timer(void *ctx)
{
	struct lb_health_check *c = ctx;
	uint64_t now = lb_ev_now_ms();
	struct lb_health_result r;

	if (!c->sm.inflight) {
		if (now >= c->sm.due_ms)
			start(c, now);
		else
			arm(c);
		return;
	}
	if (now < lb_health_sm_next(&c->sm)) {
		arm(c);
		return;
	}
	/* the probe in flight missed its deadline */
	abort_probe(c);
	memset(&r, 0, sizeof(r));
	r.timed_out = true;
	snprintf(r.reason, sizeof(r.reason), "timeout after %u ms", c->sm.timeout_ms);
	lb_health_finish(c, &r);
}

struct lb_health_check *
lb_health_add(struct lb_health_engine *e, const struct lb_health_spec *spec,
	const struct lb_ip *addr, uint16_t target_port, uint64_t seed, void *user)
{
	struct lb_health_check *c;

	if (spec->kind == LB_HEALTH_NONE || lb_health_spec_validate(spec, NULL, 0) != 0 ||
	    (addr->family != LB_AF_INET && addr->family != LB_AF_INET6) ||
	    lb_health_probe_port(spec, target_port) == 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->e = e;
	c->spec = *spec;
	c->addr = *addr;
	c->port = lb_health_probe_port(spec, target_port);
	c->user = user;
	c->fd = -1;
	c->timer = lb_ev_timer_new(e->ev, on_timer, c);
	if (c->timer == NULL) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	lb_health_sm_init(&c->sm, spec, seed, lb_ev_now_ms());
	c->next = e->head;
	if (e->head != NULL)
		e->head->prev = c;
	e->head = c;
	e->st.checks++;
	arm(c);
	return c;
}

void
lb_health_remove(struct lb_health_engine *e, struct lb_health_check *c)
{
	if (c == NULL)
		return;
	if (c->sm.inflight) {
		abort_probe(c);
		lb_health_sm_cancel(&c->sm, lb_ev_now_ms());
		e->st.inflight--;
		e->st.aborted++;
	}
	lb_ev_timer_free(c->timer);
	lb_health_http_free(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	e->st.checks--;
	free(c);
}

const struct lb_health_sm *
lb_health_check_sm(const struct lb_health_check *c)
{
	return &c->sm;
}

const struct lb_health_spec *
lb_health_check_spec(const struct lb_health_check *c)
{
	return &c->spec;
}

const struct lb_ip *
lb_health_check_addr(const struct lb_health_check *c)
{
	return &c->addr;
}

uint16_t
lb_health_check_port(const struct lb_health_check *c)
{
	return c->port;
}
