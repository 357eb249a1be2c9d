/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lbctl: the runtime CLI. Validates the command line, sends one request over
 * lbd's control socket, prints the result. docs/lbctl.md is the reference.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_ctl.h"
#include "lbctl.h"

static int
usage_error(const char *msg, const char *cmd)
{
	const char *syn = cmd != NULL ? lbctl_synopsis(cmd) : NULL;

	fprintf(stderr, "lbctl: %s\n", msg);
	if (syn != NULL)
		fprintf(stderr, "usage: lbctl [options] %s\n", syn);
	else
		fprintf(stderr, "usage: lbctl [-s SOCKET] [-o table|json] [-t TIMEOUT] [-v] COMMAND [ARGS]\n");
	fprintf(stderr, "Run 'lbctl help' for the list of commands.\n");
	return LBCTL_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct json_object *resp, *ok, *v;
	struct lbctl_opts o;
	const char *ucmd;
	char err[512];
	int fd, rc;

	switch (lbctl_parse_args(argc, argv, getenv("LBD_SOCKET"), &o, &ucmd, err, sizeof(err))) {
	case LBCTL_PARSE_HELP:
		lbctl_usage(stdout);
		return LBCTL_EXIT_OK;
	case LBCTL_PARSE_USAGE:
		return usage_error(err, ucmd);
	case LBCTL_PARSE_OK:
		break;
	}

	fd = lb_ctl_connect(o.socket, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "lbctl: %s\n", err);
		json_object_put(o.req);
		return LBCTL_EXIT_FAIL;
	}
	if (strcmp(o.cmd, "top") == 0) {
		rc = lbctl_top_run(fd, &o);
		close(fd);
		json_object_put(o.req);
		return rc;
	}
	resp = lb_ctl_call(fd, o.req, o.timeout_ms, err, sizeof(err));
	close(fd);
	json_object_put(o.req);
	if (resp == NULL) {
		fprintf(stderr, "lbctl: %s\n", err);
		return LBCTL_EXIT_FAIL;
	}
	json_object_object_get_ex(resp, "ok", &ok);
	if (!json_object_get_boolean(ok)) {
		if (json_object_object_get_ex(resp, "error", &v) &&
		    json_object_is_type(v, json_type_string))
			fprintf(stderr, "lbctl: %s\n", json_object_get_string(v));
		else
			fprintf(stderr, "lbctl: lbd reported an error without a message\n");
		rc = LBCTL_EXIT_FAIL;
	} else {
		if (!json_object_object_get_ex(resp, "result", &v))
			v = NULL;
		if (o.output == LBCTL_OUT_JSON)
			lbctl_fmt_json(stdout, v);
		else
			lbctl_fmt_table(stdout, o.cmd, v, o.verbose);
		rc = LBCTL_EXIT_OK;
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "lbctl: cannot write output\n");
			rc = LBCTL_EXIT_FAIL;
		}
	}
	json_object_put(resp);
	return rc;
}
