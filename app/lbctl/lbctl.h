/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LBCTL_H
#define LBCTL_H

/*
 * lbctl's pieces, split so that tests can drive them without a daemon:
 * lbctl_args.c turns the command line into options and a request (validating
 * everything it can without lbd), lbctl_fmt.c prints results, lbctl.c talks
 * to lbd. docs/lbctl.md is the user's reference.
 */
#include <stdio.h>
#include <json-c/json.h>

#include "lb_common.h"

#define LBCTL_EXIT_OK		0
#define LBCTL_EXIT_FAIL		1	/* lbd unreachable, timed out, or it said no */
#define LBCTL_EXIT_USAGE	2	/* bad command line; lbd was not contacted */

#define LBCTL_DEFAULT_TIMEOUT_MS	10000
#define LBCTL_FLOWS_DEFAULT		20
#define LBCTL_FLOWS_MAX			1000
#define LBCTL_TOP_DELAY_MS		1000
#define LBCTL_TOP_MAX_ITER		1000000

enum lbctl_output {
	LBCTL_OUT_TABLE,
	LBCTL_OUT_JSON,
};

struct lbctl_opts {
	const char *socket;		/* -s, else $LBD_SOCKET, else the default */
	enum lbctl_output output;	/* -o */
	int timeout_ms;			/* -t, in seconds on the command line */
	bool verbose;			/* -v */
	const char *cmd;		/* the command's name as sent to lbd */
	struct json_object *req;	/* the request; the caller puts it */
	/* top */
	unsigned iterations;		/* -n: frames to show, 0 = until q */
	int delay_ms;			/* -d */
};

enum lbctl_parse {
	LBCTL_PARSE_OK,		/* opts->req is set */
	LBCTL_PARSE_HELP,	/* print the usage to stdout, exit 0 */
	LBCTL_PARSE_USAGE,	/* err says what is wrong; exit LBCTL_EXIT_USAGE */
};

/*
 * Parses argv (with argv[0]) into opts. sock_env is $LBD_SOCKET or NULL.
 * Uses getopt, so it resets optind itself; argv may be permuted.
 * On LBCTL_PARSE_USAGE, err holds a one-line message and *usage_cmd the
 * name of the command whose synopsis should follow it (NULL: all).
 */
enum lbctl_parse lbctl_parse_args(int argc, char **argv, const char *sock_env,
		struct lbctl_opts *opts, const char **usage_cmd, char *err, size_t errlen);

/* The synopsis of one command ("targets FRONTEND"), or NULL if unknown. */
const char *lbctl_synopsis(const char *cmd);
/* The full help text. */
void lbctl_usage(FILE *out);

/* Prints a command's result as tables and lines; unknown commands and
 * unexpected shapes fall back to JSON, missing fields print as "-". */
void lbctl_fmt_table(FILE *out, const char *cmd, struct json_object *result, bool verbose);
/* Prints the result as indented JSON, keys in the order lbd sent them. */
void lbctl_fmt_json(FILE *out, struct json_object *result);

/*
 * lbctl top (lbctl_top.c): one sample is the results of status, stats and
 * frontends at a monotonic time t (seconds). lbctl_top_render prints one
 * frame: rates between prev and cur (prev NULL: the first frame, totals
 * only), cut to width x height (0: unlimited). Shapes follow docs/lbctl.md;
 * missing parts print as "-".
 */
struct lbctl_top_sample {
	double t;
	struct json_object *status;
	struct json_object *stats;
	struct json_object *frontends;
};
void lbctl_top_render(FILE *out, const struct lbctl_top_sample *prev,
	const struct lbctl_top_sample *cur, double delay, unsigned width, unsigned height);
/* Runs lbctl top on fd: a live view on a terminal (q quits), frames one
 * after the other otherwise. Returns the exit status. */
int lbctl_top_run(int fd, const struct lbctl_opts *o);

#endif /* LBCTL_H */
