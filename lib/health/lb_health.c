/* SPDX-License-Identifier: BSD-3-Clause */
/* Check specs and the per-check state machine (pure: the clock is passed in). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_hash.h"
#include "lb_health.h"

#define SPEC_HASH_SEED	0x6c62642d68632d73ULL	/* "lbd-hc-s" */

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* --- specs --- */

static const char *const kind_names[] = {
	[LB_HEALTH_NONE] = "none", [LB_HEALTH_TCP] = "tcp", [LB_HEALTH_HTTP] = "http",
	[LB_HEALTH_HTTPS] = "https",
};
static const char *const body_names[] = {
	[LB_HEALTH_BODY_ANY] = "any", [LB_HEALTH_BODY_KUBE_PROXY] = "kube-proxy",
};
static const char *const state_names[] = {
	[LB_HEALTH_UNKNOWN] = "unknown", [LB_HEALTH_UP] = "up", [LB_HEALTH_DOWN] = "down",
};

const char *
lb_health_kind_str(uint8_t kind)
{
	return kind < LB_ARRAY_SIZE(kind_names) ? kind_names[kind] : NULL;
}

const char *
lb_health_body_str(uint8_t body)
{
	return body < LB_ARRAY_SIZE(body_names) ? body_names[body] : NULL;
}

const char *
lb_health_state_str(uint8_t state)
{
	return state < LB_ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

int
lb_health_kind_parse(const char *s, uint8_t *kind)
{
	uint8_t i;

	for (i = 0; i < LB_ARRAY_SIZE(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*kind = i;
			return 0;
		}
	return -EINVAL;
}

int
lb_health_body_parse(const char *s, uint8_t *body)
{
	uint8_t i;

	for (i = 0; i < LB_ARRAY_SIZE(body_names); i++)
		if (strcmp(s, body_names[i]) == 0) {
			*body = i;
			return 0;
		}
	return -EINVAL;
}

void
lb_health_spec_default(struct lb_health_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->kind = LB_HEALTH_NONE;
	s->interval_ms = LB_HEALTH_DEF_INTERVAL_MS;
	s->timeout_ms = LB_HEALTH_DEF_TIMEOUT_MS;
	s->rise = LB_HEALTH_DEF_RISE;
	s->fall = LB_HEALTH_DEF_FALL;
	s->jitter_pct = LB_HEALTH_DEF_JITTER_PCT;
	snprintf(s->path, sizeof(s->path), "%s", LB_HEALTH_DEF_PATH);
}

/* Printable ASCII without blanks: what may go into a request line or a
 * header without breaking it. */
static bool
clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int
lb_health_spec_validate(const struct lb_health_spec *s, char *err, size_t errlen)
{
	uint32_t i;

	if (lb_health_kind_str(s->kind) == NULL) {
		fail(err, errlen, "kind %u is not a check kind", s->kind);
		return -EINVAL;
	}
	if (lb_health_body_str(s->body) == NULL) {
		fail(err, errlen, "body %u is not a body rule", s->body);
		return -EINVAL;
	}
	if (s->interval_ms < LB_HEALTH_MIN_INTERVAL_MS || s->interval_ms > LB_HEALTH_MAX_INTERVAL_MS) {
		fail(err, errlen, "interval_ms %u is out of range (%u..%u)", s->interval_ms,
			LB_HEALTH_MIN_INTERVAL_MS, LB_HEALTH_MAX_INTERVAL_MS);
		return -EINVAL;
	}
	if (s->timeout_ms < LB_HEALTH_MIN_TIMEOUT_MS) {
		fail(err, errlen, "timeout_ms %u is below %u", s->timeout_ms,
			LB_HEALTH_MIN_TIMEOUT_MS);
		return -EINVAL;
	}
	if (s->timeout_ms > s->interval_ms) {
		fail(err, errlen, "timeout_ms %u exceeds interval_ms %u (a probe must end before "
			"the next one is due)", s->timeout_ms, s->interval_ms);
		return -EINVAL;
	}
	if (s->rise < 1 || s->rise > LB_HEALTH_MAX_THRESHOLD || s->fall < 1 ||
	    s->fall > LB_HEALTH_MAX_THRESHOLD) {
		fail(err, errlen, "rise %u and fall %u must be 1..%u", s->rise, s->fall,
			LB_HEALTH_MAX_THRESHOLD);
		return -EINVAL;
	}
	if (s->jitter_pct > LB_HEALTH_MAX_JITTER_PCT) {
		fail(err, errlen, "jitter_pct %u is out of range (0..%u)", s->jitter_pct,
			LB_HEALTH_MAX_JITTER_PCT);
		return -EINVAL;
	}
	if (strnlen(s->path, sizeof(s->path)) == sizeof(s->path) || s->path[0] != '/' ||
	    !clean(s->path)) {
		fail(err, errlen, "path must start with '/' and hold no blanks or control "
			"characters (at most %d characters)", LB_HEALTH_PATH_MAX - 1);
		return -EINVAL;
	}
	if (strnlen(s->host, sizeof(s->host)) == sizeof(s->host) || !clean(s->host)) {
		fail(err, errlen, "host must hold no blanks or control characters (at most %d "
			"characters)", LB_HEALTH_HOST_MAX - 1);
		return -EINVAL;
	}
	if (s->n_expect > LB_HEALTH_EXPECT_MAX) {
		fail(err, errlen, "at most %d expected status ranges", LB_HEALTH_EXPECT_MAX);
		return -EINVAL;
	}
	for (i = 0; i < s->n_expect; i++) {
		if (s->expect[i].lo < 100 || s->expect[i].hi > 599 ||
		    s->expect[i].lo > s->expect[i].hi) {
			fail(err, errlen, "expected status %u-%u is not within 100..599 with first "
				"<= last", s->expect[i].lo, s->expect[i].hi);
			return -EINVAL;
		}
	}
	return 0;
}

bool
lb_health_spec_equal(const struct lb_health_spec *a, const struct lb_health_spec *b)
{
	return a->kind == b->kind && a->body == b->body && a->tls_verify == b->tls_verify &&
		a->port == b->port && a->interval_ms == b->interval_ms &&
		a->timeout_ms == b->timeout_ms && a->rise == b->rise && a->fall == b->fall &&
		a->jitter_pct == b->jitter_pct && a->n_expect == b->n_expect &&
		memcmp(a->expect, b->expect, sizeof(a->expect[0]) * a->n_expect) == 0 &&
		strcmp(a->path, b->path) == 0 && strcmp(a->host, b->host) == 0;
}

uint64_t
lb_health_spec_hash(const struct lb_health_spec *s)
{
	uint32_t v[12] = {
		s->kind, s->body, s->tls_verify, s->port, s->interval_ms, s->timeout_ms, s->rise,
		s->fall, s->jitter_pct, s->n_expect, 0, 0,
	};
	uint64_t h = lb_hash64(v, sizeof(v), SPEC_HASH_SEED);

	if (s->n_expect > 0)
		h = lb_hash64(s->expect, sizeof(s->expect[0]) * s->n_expect, h);
	h = lb_hash64(s->path, strnlen(s->path, sizeof(s->path)), h);
	return lb_hash64(s->host, strnlen(s->host, sizeof(s->host)), h);
}

bool
lb_health_status_expected(const struct lb_health_spec *s, long status)
{
	uint32_t i;

	if (s->n_expect == 0)
		return s->body == LB_HEALTH_BODY_KUBE_PROXY ? status == 200 :
			status >= 200 && status <= 399;
	for (i = 0; i < s->n_expect; i++)
		if (status >= s->expect[i].lo && status <= s->expect[i].hi)
			return true;
	return false;
}

char *
lb_health_describe(const struct lb_health_spec *s, const struct lb_ip *addr, uint16_t port,
	char *buf, size_t len)
{
	char a[LB_IP_STRLEN];
	bool v6 = addr->family == LB_AF_INET6;
	const char *k = lb_health_kind_str(s->kind);

	lb_ip_fmt(addr, a);
	if (s->kind == LB_HEALTH_HTTP || s->kind == LB_HEALTH_HTTPS)
		snprintf(buf, len, "%s %s%s%s:%u%s", k, v6 ? "[" : "", a, v6 ? "]" : "",
			ntohs(port), s->path);
	else
		snprintf(buf, len, "%s %s%s%s:%u", k ? k : "?", v6 ? "[" : "", a, v6 ? "]" : "",
			ntohs(port));
	return buf;
}

/* --- the state machine --- */

/* splitmix64: a good, tiny generator for jitter (no quality needs beyond
 * spreading checks). */
static uint64_t
next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The gap before the next probe: the interval shortened by up to
 * jitter_pct percent, never lengthened, so fall * interval + timeout stays
 * a bound on detection. */
static uint64_t
gap(struct lb_health_sm *sm)
{
	uint64_t j = (uint64_t)sm->interval_ms * sm->jitter_pct / 100;

	if (j == 0)
		return sm->interval_ms;
	return sm->interval_ms - next_rand(&sm->rng) % (j + 1);
}

void
lb_health_sm_init(struct lb_health_sm *sm, const struct lb_health_spec *spec, uint64_t seed,
	uint64_t now_ms)
{
	memset(sm, 0, sizeof(*sm));
	sm->interval_ms = spec->interval_ms ? spec->interval_ms : LB_HEALTH_DEF_INTERVAL_MS;
	sm->timeout_ms = spec->timeout_ms ? spec->timeout_ms : LB_HEALTH_DEF_TIMEOUT_MS;
	if (sm->timeout_ms > sm->interval_ms)
		sm->timeout_ms = sm->interval_ms;
	sm->rise = spec->rise ? spec->rise : 1;
	sm->fall = spec->fall ? spec->fall : 1;
	sm->jitter_pct = spec->jitter_pct > 100 ? 100 : spec->jitter_pct;
	sm->rng = seed;
	sm->state = LB_HEALTH_UNKNOWN;
	sm->due_ms = now_ms + next_rand(&sm->rng) % sm->interval_ms;
}

uint64_t
lb_health_sm_next(const struct lb_health_sm *sm)
{
	return sm->inflight ? sm->started_ms + sm->timeout_ms : sm->due_ms;
}

uint32_t
lb_health_sm_start(struct lb_health_sm *sm, uint64_t now_ms)
{
	sm->inflight = true;
	sm->started_ms = now_ms;
	return ++sm->seq;
}

static void
schedule(struct lb_health_sm *sm, uint64_t now_ms)
{
	uint64_t due = sm->started_ms + gap(sm);

	sm->inflight = false;
	sm->due_ms = due > now_ms ? due : now_ms;
}

int
lb_health_sm_result(struct lb_health_sm *sm, uint32_t seq, const struct lb_health_result *r,
	uint64_t now_ms)
{
	uint8_t before = sm->state;

	if (!sm->inflight || seq != sm->seq)
		return -ESTALE;
	schedule(sm, now_ms);
	sm->last = *r;
	sm->last_ms = now_ms ? now_ms : 1;
	if (r->ok) {
		sm->n_ok++;
		sm->fail_run = 0;
		if (sm->ok_run < UINT32_MAX)
			sm->ok_run++;
		if (sm->state == LB_HEALTH_UNKNOWN ||
		    (sm->state == LB_HEALTH_DOWN && sm->ok_run >= sm->rise))
			sm->state = LB_HEALTH_UP;
	} else {
		sm->n_failed++;
		if (r->timed_out)
			sm->n_timeouts++;
		sm->ok_run = 0;
		if (sm->fail_run < UINT32_MAX)
			sm->fail_run++;
		if (sm->state != LB_HEALTH_DOWN && sm->fail_run >= sm->fall)
			sm->state = LB_HEALTH_DOWN;
	}
	if (sm->state == before)
		return LB_HEALTH_SAME;
	sm->changed_ms = sm->last_ms;
	return sm->state == LB_HEALTH_UP ? LB_HEALTH_WENT_UP : LB_HEALTH_WENT_DOWN;
}

int
lb_health_sm_timeout(struct lb_health_sm *sm, uint64_t now_ms)
{
	struct lb_health_result r;

	if (!sm->inflight)
		return -ESTALE;
	memset(&r, 0, sizeof(r));
	r.timed_out = true;
	r.latency_us = (uint32_t)LB_MIN((now_ms - sm->started_ms) * 1000, UINT32_MAX);
	snprintf(r.reason, sizeof(r.reason), "timeout after %u ms", sm->timeout_ms);
	return lb_health_sm_result(sm, sm->seq, &r, now_ms);
}

void
lb_health_sm_cancel(struct lb_health_sm *sm, uint64_t now_ms)
{
	if (sm->inflight)
		schedule(sm, now_ms);
}

/* --- overlay marks --- */

int
lb_health_mark(struct lb_overlay *ov, const struct lb_health_user *users, uint32_t n, bool down,
	const char *reason)
{
	int changed = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		int rc = lb_overlay_set_unhealthy(ov, users[i].fe, &users[i].addr, users[i].port,
			down, reason);

		if (rc < 0)
			return rc;
		if (rc == 0)
			changed++;
	}
	return changed;
}
