/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_RATELIMIT_H
#define LB_RATELIMIT_H

/*
 * A per-call-site rate limit for log lines a packet can trigger: at most
 * burst events per window; the first event let through after some were held
 * back learns how many (so the line can say suppressed=N). Not thread-safe:
 * one limiter per thread. Time is the caller's millisecond clock.
 */
#include "lb_common.h"

struct lb_ratelimit {
	uint64_t window_start;
	uint32_t n;		/* events let through in this window */
	uint32_t suppressed;	/* held back since the last one let through */
	bool started;
};

/* Whether this event may be logged; *suppressed is how many were held back
 * before it (0 unless it is the first after a suppression). */
bool lb_ratelimit_ok(struct lb_ratelimit *rl, uint64_t now_ms, uint32_t burst,
	uint32_t window_ms, uint32_t *suppressed);

#endif /* LB_RATELIMIT_H */
