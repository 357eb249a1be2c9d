/* SPDX-License-Identifier: BSD-3-Clause */
#include "lb_ratelimit.h"

bool
lb_ratelimit_ok(struct lb_ratelimit *rl, uint64_t now_ms, uint32_t burst, uint32_t window_ms,
	uint32_t *suppressed)
{
	*suppressed = 0;
	if (!rl->started || now_ms - rl->window_start >= window_ms) {
		rl->started = true;
		rl->window_start = now_ms;
		rl->n = 0;
	}
	if (rl->n >= burst) {
		rl->suppressed++;
		return false;
	}
	rl->n++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
