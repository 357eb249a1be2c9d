/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_PROM_H
#define LB_PROM_H

/*
 * Prometheus text exposition format 0.0.4 of a struct lb_stats_view: every
 * list of lb_stats.h becomes families named "lbd_" + metric (+ "_total" for
 * counters), with HELP and TYPE lines, values in base units (seconds, bytes),
 * labels worker, port, reason, direction, state, frontend, target. The README
 * lists every family; test_stats.c checks the output against the lists and
 * runs `promtool check metrics` on it when promtool is installed.
 */
#include "lb_stats.h"

#define LB_PROM_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* A growing text buffer; after an allocation failure it stays failed. */
struct lb_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

void lb_buf_init(struct lb_buf *b);
void lb_buf_free(struct lb_buf *b);
void lb_buf_printf(struct lb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a Prometheus label value (backslash, quote, newline escaped). */
void lb_buf_label_value(struct lb_buf *b, const char *s);

/* Renders v into b (appending). 0, or -ENOMEM (b holds part of the text). */
int lb_prom_render(const struct lb_stats_view *v, struct lb_buf *b);

#endif /* LB_PROM_H */
