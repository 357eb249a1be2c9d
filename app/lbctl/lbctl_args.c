/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lb_addr.h"
#include "lb_ctl.h"
#include "lbctl.h"

struct args {
	int argc;		/* the command's own arguments */
	char **argv;
	unsigned limit;		/* -n, 0 when not given */
	int delay_ms;		/* -d, 0 when not given */
};

struct command {
	const char *name;
	const char *synopsis;
	const char *help;
	int min_args;
	int max_args;
	/* Adds the arguments to req; returns 0 or -1 with err set. */
	int (*build)(const struct args *a, struct json_object *req, char *err, size_t errlen);
};

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Frontend names: a config name, or NAMESPACE/NAME:PORT for Kubernetes
 * (lib/model's LB_MODEL_NAME_MAX, NUL included). */
#define FRONTEND_NAME_MAX	384

static int
check_frontend(const char *cmd, const char *name, char *err, size_t errlen)
{
	size_t i, len = strlen(name);

	if (len == 0 || len >= FRONTEND_NAME_MAX) {
		set_err(err, errlen, "%s: frontend name must be 1 to %d characters", cmd,
			FRONTEND_NAME_MAX - 1);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!isgraph((unsigned char)name[i])) {
			set_err(err, errlen, "%s: bad frontend name '%s'", cmd, name);
			return -1;
		}
	}
	return 0;
}

/* Re-prints a valid endpoint in canonical form into buf. */
static int
check_ep(const char *cmd, const char *what, const char *s, char *buf, char *err, size_t errlen)
{
	uint32_t addr;
	uint16_t port;

	if (lb_ep_parse(s, &addr, &port) < 0) {
		set_err(err, errlen, "%s: bad %s '%s' (expected IPV4-ADDRESS:PORT)", cmd, what, s);
		return -1;
	}
	lb_ep_fmt(addr, port, buf);
	return 0;
}

static int
build_targets(const struct args *a, struct json_object *req, char *err, size_t errlen)
{
	if (check_frontend("targets", a->argv[0], err, errlen) < 0)
		return -1;
	json_object_object_add(req, "frontend", json_object_new_string(a->argv[0]));
	return 0;
}

static int
build_flows(const struct args *a, struct json_object *req, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	json_object_object_add(req, "limit",
		json_object_new_int(a->limit ? (int)a->limit : LBCTL_FLOWS_DEFAULT));
	return 0;
}

static int
build_top(const struct args *a, struct json_object *req, char *err, size_t errlen)
{
	(void)a;
	(void)req;
	(void)err;
	(void)errlen;
	return 0;
}

static int
build_trace(const struct args *a, struct json_object *req, char *err, size_t errlen)
{
	char src[LB_EP_STRLEN], dst[LB_EP_STRLEN], vip[64];
	const char *slash = strchr(a->argv[1], '/');
	const char *proto;

	if (check_ep("trace", "source", a->argv[0], src, err, errlen) < 0)
		return -1;
	if (slash == NULL || (size_t)(slash - a->argv[1]) >= sizeof(vip)) {
		set_err(err, errlen, "trace: bad destination '%s' (expected VIP:PORT/tcp or VIP:PORT/udp)",
			a->argv[1]);
		return -1;
	}
	memcpy(vip, a->argv[1], (size_t)(slash - a->argv[1]));
	vip[slash - a->argv[1]] = '\0';
	if (check_ep("trace", "destination", vip, dst, err, errlen) < 0)
		return -1;
	if (strcasecmp(slash + 1, "tcp") == 0) {
		proto = "tcp";
	} else if (strcasecmp(slash + 1, "udp") == 0) {
		proto = "udp";
	} else {
		set_err(err, errlen, "trace: bad protocol '%s' (expected tcp or udp)", slash + 1);
		return -1;
	}
	json_object_object_add(req, "src", json_object_new_string(src));
	json_object_object_add(req, "dst", json_object_new_string(dst));
	json_object_object_add(req, "protocol", json_object_new_string(proto));
	return 0;
}

static int
build_drain(const struct args *a, struct json_object *req, char *err, size_t errlen)
{
	const char *cmd = json_object_get_string(json_object_object_get(req, "cmd"));
	char ep[LB_EP_STRLEN];

	if (check_ep(cmd, "target", a->argv[0], ep, err, errlen) < 0)
		return -1;
	if (a->argc > 1 && check_frontend(cmd, a->argv[1], err, errlen) < 0)
		return -1;
	json_object_object_add(req, "target", json_object_new_string(ep));
	if (a->argc > 1)
		json_object_object_add(req, "frontend", json_object_new_string(a->argv[1]));
	return 0;
}

static const struct command commands[] = {
	{ "status", "status", "daemon, ports and last reload", 0, 0, NULL },
	{ "frontends", "frontends", "configured frontends", 0, 0, NULL },
	{ "targets", "targets FRONTEND", "a frontend's targets and their Maglev shares",
		1, 1, build_targets },
	{ "stats", "stats [-v]", "per-worker counters and drop reasons (-v: all reasons)",
		0, 0, NULL },
	{ "flows", "flows [-n N]", "flow count and a sample of N flows (default 20, max 1000)",
		0, 0, build_flows },
	{ "trace", "trace SRC-IP:PORT VIP:PORT/tcp|udp",
		"where a new connection would go, and why", 2, 2, build_trace },
	{ "drain", "drain TARGET-IP:PORT [FRONTEND]",
		"stop new flows to a target (in all frontends unless named)",
		1, 2, build_drain },
	{ "undrain", "undrain TARGET-IP:PORT [FRONTEND]", "undo drain", 1, 2, build_drain },
	{ "reload", "reload", "re-read the configuration file", 0, 0, NULL },
	{ "neighbours", "neighbours", "the ARP neighbour table", 0, 0, NULL },
	{ "services", "services", "Kubernetes Services lbd serves, their VIPs and state",
		0, 0, NULL },
	{ "top", "top [-d SECS] [-n N]",
		"live rates per port, worker, drop reason and frontend (q quits)", 0, 0, build_top },
	{ "health", "health", "health checks: state, last result and targets of each", 0, 0,
		NULL },
};

static const struct command *
find_command(const char *name)
{
	size_t i;

	if (strcmp(name, "neighbors") == 0)
		name = "neighbours";
	for (i = 0; i < LB_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const char *
lbctl_synopsis(const char *cmd)
{
	const struct command *c = find_command(cmd);

	return c != NULL ? c->synopsis : NULL;
}

void
lbctl_usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: lbctl [-s SOCKET] [-o table|json] [-t TIMEOUT] [-v] COMMAND [ARGS]\n"
		"\n"
		"Inspects and steers a running lbd through its control socket.\n"
		"\n"
		"commands:\n");
	for (i = 0; i < LB_ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-36s %s\n", commands[i].synopsis, commands[i].help);
	fprintf(out, "  %-36s %s\n", "help", "this text");
	fprintf(out,
		"\n"
		"options:\n"
		"  -s, --socket PATH    control socket (default: $LBD_SOCKET, else %s)\n"
		"  -o, --output FORMAT  table (default) or json (the result object as lbd sent it)\n"
		"  -t, --timeout SECS   how long to wait for lbd (default %d)\n"
		"  -n, --limit N        flows: how many flows to show; top: frames to show, then exit\n"
		"  -d, --delay SECS     top: seconds between frames (default 1)\n"
		"  -v, --verbose        stats: show every drop reason, not only non-zero ones\n"
		"  -h, --help           this text\n"
		"\n"
		"exit status: 0 success, 1 lbd unreachable or it reported an error, 2 usage error\n",
		LB_CTL_DEFAULT_SOCKET, LBCTL_DEFAULT_TIMEOUT_MS / 1000);
}

static int
parse_timeout(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
		return -1;
	*ms = (int)(v * 1000 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

static int
parse_limit(const char *s, unsigned *limit)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > LBCTL_TOP_MAX_ITER)
		return -1;
	*limit = (unsigned)v;
	return 0;
}

enum lbctl_parse
lbctl_parse_args(int argc, char **argv, const char *sock_env, struct lbctl_opts *opts,
		const char **usage_cmd, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c;
	struct args a = { 0 };
	int opt;

	memset(opts, 0, sizeof(*opts));
	opts->socket = sock_env != NULL && sock_env[0] != '\0' ? sock_env : LB_CTL_DEFAULT_SOCKET;
	opts->output = LBCTL_OUT_TABLE;
	opts->timeout_ms = LBCTL_DEFAULT_TIMEOUT_MS;
	*usage_cmd = NULL;
	err[0] = '\0';

	optind = 0;	/* full re-initialisation, so tests can call this repeatedly */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "s:o:t:n:d:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (optarg[0] == '\0') {
				set_err(err, errlen, "-s: empty socket path");
				return LBCTL_PARSE_USAGE;
			}
			opts->socket = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "table") == 0) {
				opts->output = LBCTL_OUT_TABLE;
			} else if (strcmp(optarg, "json") == 0) {
				opts->output = LBCTL_OUT_JSON;
			} else {
				set_err(err, errlen, "-o: unknown output format '%s' (table or json)",
					optarg);
				return LBCTL_PARSE_USAGE;
			}
			break;
		case 't':
			if (parse_timeout(optarg, &opts->timeout_ms) < 0) {
				set_err(err, errlen, "-t: bad timeout '%s' (seconds, > 0)", optarg);
				return LBCTL_PARSE_USAGE;
			}
			break;
		case 'n':
			if (parse_limit(optarg, &a.limit) < 0) {
				set_err(err, errlen, "-n: bad count '%s' (flows: 1 to %d; top: 1 to %d)",
					optarg, LBCTL_FLOWS_MAX, LBCTL_TOP_MAX_ITER);
				return LBCTL_PARSE_USAGE;
			}
			break;
		case 'd':
			if (parse_timeout(optarg, &a.delay_ms) < 0 || a.delay_ms > 3600000) {
				*usage_cmd = "top";
				set_err(err, errlen, "-d: bad delay '%s' (seconds, > 0, at most 3600)",
					optarg);
				return LBCTL_PARSE_USAGE;
			}
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'h':
			return LBCTL_PARSE_HELP;
		default:
			if (optopt != 0 && strchr("sotnd", optopt) != NULL)
				set_err(err, errlen, "option -%c needs an argument", optopt);
			else if (optopt != 0)
				set_err(err, errlen, "unknown option -%c", optopt);
			else
				set_err(err, errlen, "unknown option %s", argv[optind - 1]);
			return LBCTL_PARSE_USAGE;
		}
	}
	if (optind >= argc) {
		set_err(err, errlen, "no command given");
		return LBCTL_PARSE_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0)
		return LBCTL_PARSE_HELP;
	c = find_command(argv[optind]);
	if (c == NULL) {
		set_err(err, errlen, "unknown command '%s'", argv[optind]);
		return LBCTL_PARSE_USAGE;
	}
	*usage_cmd = c->name;
	a.argc = argc - optind - 1;
	a.argv = argv + optind + 1;
	if (a.limit != 0 && c->build != build_flows && c->build != build_top) {
		set_err(err, errlen, "%s: -n applies to flows and top only", c->name);
		return LBCTL_PARSE_USAGE;
	}
	if (a.limit > LBCTL_FLOWS_MAX && c->build == build_flows) {
		set_err(err, errlen, "-n: bad flow count '%u' (1 to %d)", a.limit, LBCTL_FLOWS_MAX);
		return LBCTL_PARSE_USAGE;
	}
	if (a.delay_ms != 0 && c->build != build_top) {
		set_err(err, errlen, "%s: -d applies to top only", c->name);
		return LBCTL_PARSE_USAGE;
	}
	opts->iterations = c->build == build_top ? a.limit : 0;
	opts->delay_ms = a.delay_ms != 0 ? a.delay_ms : LBCTL_TOP_DELAY_MS;
	if (a.argc < c->min_args) {
		set_err(err, errlen, "%s: missing argument", c->name);
		return LBCTL_PARSE_USAGE;
	}
	if (a.argc > c->max_args) {
		set_err(err, errlen, "%s: unexpected argument '%s'", c->name, a.argv[c->max_args]);
		return LBCTL_PARSE_USAGE;
	}
	opts->cmd = c->name;
	opts->req = json_object_new_object();
	json_object_object_add(opts->req, "cmd", json_object_new_string(c->name));
	if (c->build != NULL && c->build(&a, opts->req, err, errlen) < 0) {
		json_object_put(opts->req);
		opts->req = NULL;
		return LBCTL_PARSE_USAGE;
	}
	return LBCTL_PARSE_OK;
}
