/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the control protocol (lib/ctl): the input is what one
 * client writes on its connection before it shuts down its side. The server
 * is real (a Unix socket in a private directory) and so is the client socket;
 * the handler stands in for lbd's: it answers "status" and friends, fails
 * "fail", defers "later" (answered on the next turn of the loop, as lbd's
 * flows are), defers and answers "now" at once, and returns a large result
 * for "big".
 *
 * Checked: every line the server writes is one JSON object with a boolean
 * "ok" (and "result" or a string "error"); there are never more responses
 * than request lines; the server closes the connection once everything is
 * answered, within a bounded number of loop turns; no client is left over.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fuzz.h"
#include "lb_ctl.h"

#define MAX_TURNS	20000
#define MAX_INPUT	(256 * 1024)

static struct {
	char dir[64];
	char path[96];
	struct lb_ctl_server *s;
	uint64_t pending[8];
	unsigned n_pending;
} g;

static void
cleanup(void)
{
	lb_ctl_server_close(g.s);
	rmdir(g.dir);
}

static struct json_object *
handler(void *ctx, const char *cmd, struct json_object *req, char *err, size_t errlen)
{
	struct json_object *r, *v;

	(void)ctx;
	if (strcmp(cmd, "fail") == 0) {
		snprintf(err, errlen, "no such thing");
		return NULL;
	}
	if (strcmp(cmd, "later") == 0 && g.n_pending < 8) {
		uint64_t t = lb_ctl_server_defer(g.s);

		CHECK(t != 0);
		g.pending[g.n_pending++] = t;
		return NULL;
	}
	if (strcmp(cmd, "now") == 0) {
		/* deferred, then answered before the handler returns */
		uint64_t t = lb_ctl_server_defer(g.s);

		CHECK(lb_ctl_server_complete(g.s, t, json_object_new_object(), NULL) == 0);
		return NULL;
	}
	r = json_object_new_object();
	if (strcmp(cmd, "big") == 0 && json_object_object_get_ex(req, "n", &v) &&
	    json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		struct json_object *a = json_object_new_array();

		for (int64_t i = 0; i < n && i < 5000; i++)
			json_object_array_add(a, json_object_new_int64(i));
		json_object_object_add(r, "items", a);
		return r;
	}
	json_object_object_add(r, "cmd", json_object_new_string(cmd));
	json_object_object_add(r, "req", json_object_get(req));
	return r;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	snprintf(g.dir, sizeof(g.dir), "/tmp/fuzz_ctl.XXXXXX");
	CHECK(mkdtemp(g.dir) != NULL);
	snprintf(g.path, sizeof(g.path), "%s/s", g.dir);
	g.s = lb_ctl_server_open(g.path, err, sizeof(err));
	if (g.s == NULL) {
		fprintf(stderr, "fuzz_ctl: %s\n", err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* Checks one response line. */
static void
check_line(const char *line, size_t len)
{
	static struct json_tokener *tok;
	struct json_object *o, *ok, *x;

	if (tok == NULL)
		tok = json_tokener_new();
	CHECK(tok != NULL);
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, line, (int)len);
	CHECK(o != NULL && json_tokener_get_parse_end(tok) == len);
	CHECK(json_object_is_type(o, json_type_object));
	CHECK(json_object_object_get_ex(o, "ok", &ok) && json_object_is_type(ok, json_type_boolean));
	if (json_object_get_boolean(ok))
		CHECK(json_object_object_get_ex(o, "result", &x));
	else
		CHECK(json_object_object_get_ex(o, "error", &x) &&
			json_object_is_type(x, json_type_string));
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char rbuf[8 << 20];
	size_t sent = 0, rlen = 0, lines_in = 0, lines_out = 0, i;
	bool eof = false, shut = false;
	unsigned turn;
	int fd;

	if (size > MAX_INPUT)
		return 0;
	for (i = 0; i < size; i++)
		lines_in += data[i] == '\n';
	lines_in++;	/* the last request may lack its newline */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g.path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	for (turn = 0; turn < MAX_TURNS && !eof; turn++) {
		struct pollfd fds[LB_CTL_MAX_POLLFDS];
		int n = lb_ctl_server_pollfds(g.s, fds, LB_CTL_MAX_POLLFDS);
		ssize_t k;

		if (sent < size) {
			k = send(fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k > 0)
				sent += (size_t)k;
			else
				CHECK(errno == EAGAIN || errno == EWOULDBLOCK || errno == EPIPE ||
					errno == ECONNRESET);
			if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				sent = size;	/* the server closed on us */
		}
		if (sent == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		CHECK(poll(fds, (nfds_t)n, 0) >= 0);
		lb_ctl_server_process(g.s, fds, n, handler, NULL);
		/* deferred requests are answered one turn later */
		for (i = 0; i < g.n_pending; i++) {
			int rc = lb_ctl_server_complete(g.s, g.pending[i], i % 2 ? NULL :
				json_object_new_object(), "later failed");

			CHECK(rc == 0 || rc == -ENOENT);
		}
		g.n_pending = 0;
		for (;;) {
			k = recv(fd, rbuf + rlen, sizeof(rbuf) - 1 - rlen, MSG_DONTWAIT);
			if (k > 0) {
				rlen += (size_t)k;
				CHECK(rlen < sizeof(rbuf) - 1);
				continue;
			}
			if (k == 0 || (k < 0 && errno == ECONNRESET))
				eof = true;
			break;
		}
	}
	CHECK(eof);
	{
		size_t start = 0;

		for (i = 0; i < rlen; i++) {
			if (rbuf[i] != '\n')
				continue;
			check_line(rbuf + start, i - start);
			lines_out++;
			start = i + 1;
		}
		CHECK(start == rlen);	/* nothing after the last newline */
	}
	CHECK(lines_out <= lines_in);
	close(fd);
	/* the server notices the hang-up within a turn or two */
	for (turn = 0; turn < 100 && lb_ctl_server_clients(g.s) > 0; turn++) {
		struct pollfd fds[LB_CTL_MAX_POLLFDS];
		int n = lb_ctl_server_pollfds(g.s, fds, LB_CTL_MAX_POLLFDS);

		CHECK(poll(fds, (nfds_t)n, 1) >= 0);
		lb_ctl_server_process(g.s, fds, n, handler, NULL);
	}
	CHECK(lb_ctl_server_clients(g.s) == 0);
	return 0;
}
