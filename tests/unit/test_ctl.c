/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket server, driven in-process: the test owns both ends and
 * interleaves client I/O with lb_ctl_server_process() calls, so every step is
 * deterministic and nothing needs a second thread, except the lb_ctl_call()
 * tests, which block and therefore run the server on a thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cmocka.h>

#include "lb_ctl.h"
#include "lb_ev.h"

#define WAIT_MS	5000

struct hstate {
	unsigned calls;
	char last_cmd[64];
	struct lb_ctl_server *s;	/* for "later" */
	uint64_t ticket;		/* the last "later" request's */
};

struct fix {
	struct rlimit nofile;	/* restored by teardown (tests lower it) */
	char dir[64];
	char path[128];
	struct lb_ctl_server *s;
	struct hstate h;
};

struct conn {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
	bool eof;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Test commands: "fail" and "fail-silent" return errors; "big" returns a
 * string of req.size bytes; anything else echoes cmd and the request.
 */
static struct json_object *
handler(void *ctx, const char *cmd, struct json_object *req, char *err, size_t errlen)
{
	struct hstate *h = ctx;
	struct json_object *r, *v;

	h->calls++;
	snprintf(h->last_cmd, sizeof(h->last_cmd), "%s", cmd);
	if (strcmp(cmd, "fail") == 0) {
		snprintf(err, errlen, "no such frontend '%s'", "nope");
		return NULL;
	}
	if (strcmp(cmd, "fail-silent") == 0)
		return NULL;
	/* "later" is answered through lb_ctl_server_complete */
	if (strcmp(cmd, "later") == 0) {
		h->ticket = lb_ctl_server_defer(h->s);
		assert_true(h->ticket != 0);
		return NULL;
	}
	r = json_object_new_object();
	if (strcmp(cmd, "big") == 0) {
		size_t n = 0;
		char *data;

		if (json_object_object_get_ex(req, "size", &v))
			n = (size_t)json_object_get_int64(v);
		data = malloc(n + 1);
		assert_non_null(data);
		memset(data, 'x', n);
		data[n] = '\0';
		json_object_object_add(r, "data", json_object_new_string_len(data, (int)n));
		free(data);
		if (json_object_object_get_ex(req, "seq", &v))
			json_object_object_add(r, "seq", json_object_get(v));
		return r;
	}
	json_object_object_add(r, "cmd", json_object_new_string(cmd));
	json_object_object_add(r, "req", json_object_get(req));
	return r;
}

static void
rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &f->nofile), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* A parent that does not exist yet: open must create it. */
	snprintf(f->path, sizeof(f->path), "%s/run/lbd/lbd.sock", f->dir);
	f->s = lb_ctl_server_open(f->path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("open: %s", err);
	f->h.s = f->s;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	setrlimit(RLIMIT_NOFILE, &f->nofile);
	lb_ctl_server_close(f->s);
	rm_rf(f->dir);
	free(f);
	return 0;
}

/* One poll + process round over the server and, optionally, extra fds. */
static void
pump_with(struct fix *f, struct pollfd *extra, int n_extra, int timeout_ms)
{
	struct pollfd fds[LB_CTL_MAX_POLLFDS + 4];
	int n, i;

	n = lb_ctl_server_pollfds(f->s, fds, LB_CTL_MAX_POLLFDS);
	assert_true(n >= 1 && n <= LB_CTL_MAX_POLLFDS);
	for (i = 0; i < n_extra; i++) {
		extra[i].revents = 0;
		fds[n + i] = extra[i];
	}
	if (poll(fds, (nfds_t)(n + n_extra), timeout_ms) < 0)
		fail_msg("poll: %s", strerror(errno));
	/* Foreign entries are passed too: the server must ignore them. */
	lb_ctl_server_process(f->s, fds, n + n_extra, handler, &f->h);
	for (i = 0; i < n_extra; i++)
		extra[i].revents = fds[n + i].revents;
}

static void
pump(struct fix *f, int timeout_ms)
{
	pump_with(f, NULL, 0, timeout_ms);
}

static void
pump_until_clients(struct fix *f, unsigned n)
{
	int64_t end = now_ms() + WAIT_MS;

	while (lb_ctl_server_clients(f->s) != n && now_ms() < end)
		pump(f, 10);
	assert_int_equal(lb_ctl_server_clients(f->s), n);
}

static struct conn *
conn_open(struct fix *f)
{
	struct conn *c = calloc(1, sizeof(*c));
	char err[256];

	assert_non_null(c);
	c->fd = lb_ctl_connect(f->path, err, sizeof(err));
	if (c->fd < 0)
		fail_msg("connect: %s", err);
	return c;
}

static void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

/* Sends everything, running the server while the socket is full. */
static void
conn_send(struct fix *f, struct conn *c, const void *data, size_t len)
{
	int64_t end = now_ms() + WAIT_MS;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, (const char *)data + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		assert_true(now_ms() < end);
		pump(f, 10);
	}
}

static void
conn_sendstr(struct fix *f, struct conn *c, const char *s)
{
	conn_send(f, c, s, strlen(s));
}

/* Reads into the connection's buffer while running the server. Returns
 * false on timeout. */
static bool
conn_fill(struct fix *f, struct conn *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int64_t end = now_ms() + timeout_ms;
	ssize_t n;

	do {
		pump_with(f, &p, 1, 10);
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap + 1);
			assert_non_null(c->buf);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			return true;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			c->eof = true;
			return true;
		}
	} while (now_ms() < end);
	return false;
}

/* Returns the next response line (without its newline; caller frees), or
 * NULL on EOF. Fails the test on timeout. */
static char *
conn_line(struct fix *f, struct conn *c)
{
	int64_t end = now_ms() + WAIT_MS;
	char *nl, *line;
	size_t len;

	for (;;) {
		nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl != NULL)
			break;
		if (c->eof)
			return NULL;
		if (now_ms() > end || !conn_fill(f, c, WAIT_MS))
			fail_msg("no response line within %d ms", WAIT_MS);
	}
	len = (size_t)(nl - c->buf);
	line = malloc(len + 1);
	assert_non_null(line);
	memcpy(line, c->buf, len);
	line[len] = '\0';
	memmove(c->buf, nl + 1, c->len - len - 1);
	c->len -= len + 1;
	return line;
}

/* Next response, parsed; the line must be a JSON object with a bool "ok". */
static struct json_object *
conn_resp(struct fix *f, struct conn *c)
{
	char *line = conn_line(f, c);
	struct json_object *r, *ok;

	if (line == NULL)
		fail_msg("connection closed, expected a response");
	r = json_tokener_parse(line);
	if (r == NULL || !json_object_object_get_ex(r, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean))
		fail_msg("malformed response: %.200s", line);
	free(line);
	return r;
}

static void
expect_eof(struct fix *f, struct conn *c)
{
	char *line = conn_line(f, c);

	if (line != NULL)
		fail_msg("expected EOF, got: %.200s", line);
}

static const char *
resp_error(struct json_object *r)
{
	struct json_object *ok, *e;

	assert_true(json_object_object_get_ex(r, "ok", &ok));
	assert_false(json_object_get_boolean(ok));
	assert_true(json_object_object_get_ex(r, "error", &e));
	return json_object_get_string(e);
}

static struct json_object *
resp_result(struct json_object *r)
{
	struct json_object *ok, *res;

	assert_true(json_object_object_get_ex(r, "ok", &ok));
	if (!json_object_get_boolean(ok))
		fail_msg("error response: %s", json_object_to_json_string(r));
	assert_true(json_object_object_get_ex(r, "result", &res));
	return res;
}

static const char *
str_at(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, k1, &v));
	if (k2 != NULL)
		assert_true(json_object_object_get_ex(v, k2, &v));
	return json_object_get_string(v);
}

/* Sends one request and checks it is answered as a successful echo. */
static void
expect_echo(struct fix *f, struct conn *c, const char *cmd)
{
	char req[128];
	struct json_object *r;

	snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}\n", cmd);
	conn_sendstr(f, c, req);
	r = conn_resp(f, c);
	assert_string_equal(str_at(resp_result(r), "cmd", NULL), cmd);
	json_object_put(r);
}

static void
test_good_request(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f);
	struct json_object *r, *res, *v;
	char *line;

	conn_sendstr(f, c, "{\"cmd\":\"targets\",\"frontend\":\"web\",\"n\":3}\n");
	line = conn_line(f, c);
	assert_non_null(line);
	/* Exactly one line, one object, nothing else. */
	assert_int_equal(c->len, 0);
	assert_null(strchr(line, '\n'));
	r = json_tokener_parse(line);
	assert_non_null(r);
	assert_int_equal(json_object_object_length(r), 2);
	res = resp_result(r);
	assert_string_equal(str_at(res, "cmd", NULL), "targets");
	assert_string_equal(str_at(res, "req", "frontend"), "web");
	assert_true(json_object_object_get_ex(res, "req", &v));
	assert_true(json_object_object_get_ex(v, "n", &v));
	assert_int_equal(json_object_get_int(v), 3);
	assert_int_equal(f->h.calls, 1);
	assert_string_equal(f->h.last_cmd, "targets");
	/* Slashes stay readable (CIDRs, paths). */
	assert_non_null(strstr(line, "\"ok\":true"));
	free(line);
	json_object_put(r);

	conn_sendstr(f, c, "{\"cmd\":\"x\",\"path\":\"/run/lbd\"}\n");
	line = conn_line(f, c);
	assert_non_null(strstr(line, "\"/run/lbd\""));
	free(line);
	conn_close(c);
}

static void
test_handler_errors(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f);
	struct json_object *r;

	conn_sendstr(f, c, "{\"cmd\":\"fail\"}\n");
	r = conn_resp(f, c);
	assert_string_equal(resp_error(r), "no such frontend 'nope'");
	assert_int_equal(json_object_object_length(r), 2);
	json_object_put(r);
	conn_sendstr(f, c, "{\"cmd\":\"fail-silent\"}\n");
	r = conn_resp(f, c);
	assert_string_equal(resp_error(r), "command failed");
	json_object_put(r);
	/* The connection survives handler errors. */
	expect_echo(f, c, "status");
	assert_int_equal(f->h.calls, 3);
	conn_close(c);
}

static void
test_sequential_and_pipelined(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f);
	struct json_object *r;
	char buf[4096];
	size_t off = 0;
	int i;

	expect_echo(f, c, "a");
	expect_echo(f, c, "b");
	/* Twenty requests in one write, with a CRLF and blank lines between
	 * them: twenty responses, in order. */
	for (i = 0; i < 20; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			"{\"cmd\":\"p%d\"}%s", i, i == 5 ? "\r\n\n  \n" : "\n");
	conn_send(f, c, buf, off);
	for (i = 0; i < 20; i++) {
		char want[16];

		snprintf(want, sizeof(want), "p%d", i);
		r = conn_resp(f, c);
		assert_string_equal(str_at(resp_result(r), "cmd", NULL), want);
		json_object_put(r);
	}
	assert_int_equal(f->h.calls, 22);
	conn_close(c);
}

static void
test_byte_by_byte(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f);
	const char *req = "{\"cmd\":\"frontends\",\"x\":[1,2,{\"y\":\"z\"}]}\n";
	struct json_object *r;
	size_t i;

	pump_until_clients(f, 1);
	for (i = 0; req[i] != '\0'; i++) {
		conn_send(f, c, req + i, 1);
		pump(f, 5);
		pump(f, 0);
		/* Nothing runs before the newline arrives. */
		if (req[i + 1] != '\0')
			assert_int_equal(f->h.calls, 0);
	}
	r = conn_resp(f, c);
	assert_string_equal(str_at(resp_result(r), "cmd", NULL), "frontends");
	assert_int_equal(f->h.calls, 1);
	json_object_put(r);
	conn_close(c);
}

/* A literal with its length, so embedded NULs count. */
#define B(s)	{ s, sizeof(s) - 1 }

static void
test_bad_requests(void **state)
{
	static const struct {
		const char *req;
		size_t len;
	} bad[] = {
		B("{\"cmd\":\"status\"\n"),
		B("{cmd: status}\n"),
		B("not json at all\n"),
		B("[\"status\"]\n"),
		B("\"status\"\n"),
		B("123\n"),
		B("true\n"),
		B("null\n"),
		B("{}\n"),
		B("{\"command\":\"status\"}\n"),
		B("{\"cmd\":5}\n"),
		B("{\"cmd\":null}\n"),
		B("{\"cmd\":[\"status\"]}\n"),
		B("{\"cmd\":{\"a\":1}}\n"),
		B("{\"cmd\":\"status\"} {\"cmd\":\"status\"}\n"),
		B("{\"cmd\":\"status\"}x\n"),
		B("{\"cmd\":\"status\",}\n"),
		B("{\"cmd\":\"sta\0tus\"}\n"),
		B("\0{\"cmd\":\"status\"}\n"),
		B("{\"cmd\":\"\xff\xfe\"}\n"),
		B("{\"cmd\":\"\xc3\x28\"}\n"),
		B("{\"cmd\":\"status\",\"a\":\"\x80\"}\n"),
		B("{\"cmd\":\"status\",\"a\":\"\\ud800\"\n"),
		/* numbers json-c takes but RFC 8259 does not (it would write
		 * them back as typed) */
		B("{\"cmd\":\"status\",\"n\":1.}\n"),
		B("{\"cmd\":\"status\",\"n\":1.e5}\n"),
		B("{\"cmd\":\"status\",\"n\":02}\n"),
		B("{\"cmd\":\"status\",\"n\":[0,01e5]}\n"),
		B("{\"cmd\":\"status\",\"n\":-02.5}\n"),
		B("{\"cmd\":\"status\",\"n\":NaN}\n"),
		B("{\"cmd\":\"status\",\"n\":Infinity}\n"),
		B("{\"cmd\":\"status\",\"n\":-Infinity}\n"),
		B("{\"cmd\":\"status\",\"n\":1e}\n"),
		B("{\"cmd\":\"status\",\"n\":-01}\n"),
		B("{\"cmd\":\"status\",\"n\":2E+}\n"),
	};
	struct fix *f = *state;
	struct conn *c = conn_open(f), *other = conn_open(f);
	struct json_object *r;
	char deep[200];
	size_t i;

	for (i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		conn_send(f, c, bad[i].req, bad[i].len);
		r = conn_resp(f, c);
		if (strncmp(resp_error(r), "bad request: ", 13) != 0)
			fail_msg("case %zu: %s", i, json_object_to_json_string(r));
		json_object_put(r);
		assert_int_equal(f->h.calls, 0);
		/* Other clients are still served in between. */
		if (i % 8 == 0)
			expect_echo(f, other, "status");
		f->h.calls = 0;
	}
	/* Nesting beyond the tokener's depth is an error, not recursion. */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 98);
	deep[198] = '\n';
	deep[199] = '\0';
	conn_sendstr(f, c, deep);
	r = conn_resp(f, c);
	assert_int_equal(strncmp(resp_error(r), "bad request: ", 13), 0);
	json_object_put(r);
	/* The error names what is wrong. */
	conn_sendstr(f, c, "{\"cmd\":5}\n");
	r = conn_resp(f, c);
	assert_string_equal(resp_error(r), "bad request: \"cmd\" must be a string");
	json_object_put(r);
	conn_sendstr(f, c, "[1]\n");
	r = conn_resp(f, c);
	assert_string_equal(resp_error(r), "bad request: a request must be a JSON object");
	json_object_put(r);
	conn_sendstr(f, c, "{\"cmd\":\"status\",\"n\":1.}\n");
	r = conn_resp(f, c);
	assert_string_equal(resp_error(r),
		"bad request: invalid JSON at byte 20: not an RFC 8259 number");
	json_object_put(r);
	/* Every number RFC 8259 allows is taken, and number-like text inside
	 * strings (escaped quotes included) is only text. */
	f->h.calls = 0;
	conn_sendstr(f, c, "{\"cmd\":\"status\",\"n\":[0,-0,10,-1.5,0.25e-3,1E+2,2e9],"
		"\"s\":\"NaN 1. \\\" 02 Infinity\",\"t\":true,\"f\":false,\"z\":null}\n");
	r = conn_resp(f, c);
	assert_string_equal(str_at(resp_result(r), "cmd", NULL), "status");
	json_object_put(r);
	assert_int_equal(f->h.calls, 1);
	/* The same connection still works after all that. */
	f->h.calls = 0;
	expect_echo(f, c, "status");
	assert_int_equal(f->h.calls, 1);
	conn_close(c);
	conn_close(other);
}

static char *
padded_request(size_t len)
{
	/* {"cmd":"pad","p":"xxxx..."} of exactly len bytes, then a newline. */
	const char *head = "{\"cmd\":\"pad\",\"p\":\"";
	char *buf = malloc(len + 2);
	size_t h = strlen(head);

	assert_non_null(buf);
	assert_true(len > h + 2);
	memcpy(buf, head, h);
	memset(buf + h, 'x', len - h - 2);
	memcpy(buf + len - 2, "\"}\n", 4);
	return buf;
}

static void
test_oversize(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f), *other = conn_open(f);
	struct json_object *r;
	char *buf;

	/* A request of exactly the limit is fine. */
	buf = padded_request(LB_CTL_MAX_REQUEST);
	assert_int_equal(strlen(buf), LB_CTL_MAX_REQUEST + 1);
	conn_sendstr(f, c, buf);
	r = conn_resp(f, c);
	assert_string_equal(str_at(resp_result(r), "cmd", NULL), "pad");
	json_object_put(r);
	free(buf);

	/* One byte more is refused and the connection closed. */
	buf = padded_request(LB_CTL_MAX_REQUEST + 1);
	conn_sendstr(f, c, buf);
	r = conn_resp(f, c);
	assert_non_null(strstr(resp_error(r), "longer than 65536"));
	json_object_put(r);
	expect_eof(f, c);
	free(buf);
	conn_close(c);

	/* So is a stream without any newline, long before it ends. */
	c = conn_open(f);
	buf = malloc(300000);
	assert_non_null(buf);
	memset(buf, '{', 300000);
	{
		struct pollfd p = { .fd = c->fd };
		int64_t end = now_ms() + WAIT_MS;
		size_t off = 0;
		ssize_t n;

		/* The server stops reading after the error, so the send may
		 * never complete: write what goes, read the answer. */
		while (off < 300000 && now_ms() < end) {
			n = send(c->fd, buf + off, 300000 - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n <= 0)
				break;
			off += (size_t)n;
			pump_with(f, &p, 1, 1);
		}
		assert_true(off > LB_CTL_MAX_REQUEST);
	}
	r = conn_resp(f, c);
	assert_non_null(strstr(resp_error(r), "bad request: request longer than"));
	json_object_put(r);
	expect_eof(f, c);
	free(buf);
	conn_close(c);
	pump_until_clients(f, 1);
	assert_int_equal(f->h.calls, 1);
	expect_echo(f, other, "status");
	conn_close(other);
}

static void
test_client_limit(void **state)
{
	struct fix *f = *state;
	struct conn *c[LB_CTL_MAX_CLIENTS + 1], *late;
	struct json_object *r;
	int i;

	for (i = 0; i < LB_CTL_MAX_CLIENTS; i++)
		c[i] = conn_open(f);
	pump_until_clients(f, LB_CTL_MAX_CLIENTS);
	c[LB_CTL_MAX_CLIENTS] = conn_open(f);	/* the backlog takes it */
	r = conn_resp(f, c[LB_CTL_MAX_CLIENTS]);
	assert_non_null(strstr(resp_error(r), "too many clients"));
	json_object_put(r);
	expect_eof(f, c[LB_CTL_MAX_CLIENTS]);
	assert_int_equal(lb_ctl_server_clients(f->s), LB_CTL_MAX_CLIENTS);
	for (i = 0; i < LB_CTL_MAX_CLIENTS; i++)
		expect_echo(f, c[i], "status");
	assert_int_equal(f->h.calls, LB_CTL_MAX_CLIENTS);
	/* A freed slot is taken by the next client. */
	conn_close(c[3]);
	pump_until_clients(f, LB_CTL_MAX_CLIENTS - 1);
	late = conn_open(f);
	expect_echo(f, late, "status");
	assert_int_equal(lb_ctl_server_clients(f->s), LB_CTL_MAX_CLIENTS);
	for (i = 0; i <= LB_CTL_MAX_CLIENTS; i++)
		if (i != 3)
			conn_close(c[i]);
	conn_close(late);
	pump_until_clients(f, 0);
}

static void
test_disconnects(void **state)
{
	struct fix *f = *state;
	struct conn *c;
	struct json_object *r;
	char *line;

	/* Hangs up halfway through a request: nothing runs. */
	c = conn_open(f);
	conn_sendstr(f, c, "{\"cmd\":\"sta");
	pump_until_clients(f, 1);
	pump(f, 10);
	conn_close(c);
	pump_until_clients(f, 0);
	assert_int_equal(f->h.calls, 0);

	/* Hangs up right after a request, before the response. */
	c = conn_open(f);
	conn_sendstr(f, c, "{\"cmd\":\"big\",\"size\":1000000}\n{\"cmd\":\"x\"}\n");
	conn_close(c);
	pump_until_clients(f, 0);

	/* Half-close: the requests sent before it are all answered, the last
	 * one even without its newline, then the server closes. */
	c = conn_open(f);
	conn_sendstr(f, c, "{\"cmd\":\"one\"}\n{\"cmd\":\"two\"}");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	r = conn_resp(f, c);
	assert_string_equal(str_at(resp_result(r), "cmd", NULL), "one");
	json_object_put(r);
	r = conn_resp(f, c);
	assert_string_equal(str_at(resp_result(r), "cmd", NULL), "two");
	json_object_put(r);
	line = conn_line(f, c);
	assert_null(line);
	conn_close(c);
	pump_until_clients(f, 0);

	c = conn_open(f);
	expect_echo(f, c, "status");
	conn_close(c);
}

static void
test_slow_reader(void **state)
{
	struct fix *f = *state;
	struct conn *slow = conn_open(f), *fast = conn_open(f);
	struct json_object *r, *d;
	int64_t t0;
	unsigned i;

	/* Three 1 MiB responses requested at once and not read. */
	conn_sendstr(f, slow,
		"{\"cmd\":\"big\",\"size\":1048576,\"seq\":1}\n"
		"{\"cmd\":\"big\",\"size\":1048576,\"seq\":2}\n"
		"{\"cmd\":\"big\",\"size\":1048576,\"seq\":3}\n");
	t0 = now_ms();
	for (i = 0; i < 50; i++)
		pump(f, 1);
	/* The first ran; the rest wait for the reader (output stays bounded). */
	assert_int_equal(f->h.calls, 1);
	/* Meanwhile the loop never blocks and others are served. */
	for (i = 0; i < 20; i++)
		expect_echo(f, fast, "status");
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(f->h.calls, 21);
	/* The slow reader gets everything, in order, intact. */
	for (i = 1; i <= 3; i++) {
		r = conn_resp(f, slow);
		assert_true(json_object_object_get_ex(resp_result(r), "data", &d));
		assert_int_equal(json_object_get_string_len(d), 1048576);
		assert_true(json_object_object_get_ex(resp_result(r), "seq", &d));
		assert_int_equal(json_object_get_int(d), (int)i);
		json_object_put(r);
	}
	/* A result over the response limit is replaced by an error. */
	conn_sendstr(f, slow, "{\"cmd\":\"big\",\"size\":5000000}\n");
	r = conn_resp(f, slow);
	assert_non_null(strstr(resp_error(r), "response too large"));
	json_object_put(r);
	expect_echo(f, slow, "status");
	conn_close(slow);
	conn_close(fast);
}

/* Random bytes, newlines sprinkled in, random chunking: every line gets one
 * response and the server survives (run it under ASan). */
static void
test_garbage(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f);
	unsigned seed = 12345, lines = 0, i, round;
	char buf[4096];
	char *line;

	for (round = 0; round < 40; round++) {
		size_t len = 1 + rand_r(&seed) % (sizeof(buf) - 1);

		for (i = 0; i < len; i++) {
			unsigned x = (unsigned)rand_r(&seed);

			/* Mostly JSON-ish characters so the tokener gets deep. */
			buf[i] = "{}[]\":,0123456789-.eE\\utfalsn \t\x80\xff\x00"[x % 35];
			if (x % 97 == 0)
				buf[i] = '\n';
		}
		buf[len - 1] = '\n';
		for (i = 0; i < len; i++) {
			if (buf[i] == '\n')
				lines++;
		}
		conn_send(f, c, buf, len);
		pump(f, 1);
	}
	conn_sendstr(f, c, "{\"cmd\":\"end\"}\n");
	/* Each non-blank line got a response; the last one is ours. */
	for (;;) {
		struct json_object *r;

		line = conn_line(f, c);
		assert_non_null(line);
		r = json_tokener_parse(line);
		assert_non_null(r);
		free(line);
		if (json_object_object_length(r) == 2 &&
		    json_object_object_get_ex(r, "result", NULL)) {
			if (strcmp(str_at(r, "result", "cmd"), "end") == 0) {
				json_object_put(r);
				break;
			}
		}
		json_object_put(r);
		assert_true(lines-- > 0);
	}
	conn_close(c);
}

static void
test_pollfds(void **state)
{
	struct fix *f = *state;
	struct pollfd fds[LB_CTL_MAX_POLLFDS];
	struct conn *c = conn_open(f);
	int n;

	pump_until_clients(f, 1);
	assert_int_equal(lb_ctl_server_pollfds(f->s, fds, 0), 0);
	assert_int_equal(lb_ctl_server_pollfds(f->s, fds, 1), 1);
	n = lb_ctl_server_pollfds(f->s, fds, LB_CTL_MAX_POLLFDS);
	assert_int_equal(n, 2);
	assert_int_equal(fds[0].events, POLLIN);
	assert_int_equal(fds[1].events, POLLIN);
	lb_ctl_server_process(f->s, fds, 0, handler, &f->h);
	assert_int_equal(lb_ctl_server_clients(NULL), 0);
	lb_ctl_server_close(NULL);
	conn_close(c);
}

static void
test_socket_mode_and_dirs(void **state)
{
	struct fix *f = *state;
	struct lb_ctl_server *s;
	char path[160], dir[160], err[256];
	struct stat st;
	mode_t old;

	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s/run/lbd", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	/* Whatever the umask. */
	old = umask(0);
	snprintf(path, sizeof(path), "%s/a/b/c.sock", f->dir);
	s = lb_ctl_server_open(path, err, sizeof(err));
	umask(old);
	assert_non_null(s);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	lb_ctl_server_close(s);
	old = umask(077);
	snprintf(path, sizeof(path), "%s/d/e.sock", f->dir);
	s = lb_ctl_server_open(path, err, sizeof(err));
	umask(old);
	assert_non_null(s);
	snprintf(dir, sizeof(dir), "%s/d", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	lb_ctl_server_close(s);
	/* No temporary names are left behind. */
	snprintf(dir, sizeof(dir), "ls -A '%s/run/lbd' | grep -vx lbd.sock", f->dir);
	assert_int_not_equal(system(dir), 0);
}

static void
test_already_running(void **state)
{
	struct fix *f = *state;
	struct lb_ctl_server *s;
	struct conn *c;
	char err[256] = "";

	s = lb_ctl_server_open(f->path, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "already running"));
	/* The live server keeps its socket and keeps serving. */
	c = conn_open(f);
	expect_echo(f, c, "status");
	conn_close(c);
}

/* Leaves a socket file at path that nobody listens on. */
static void
make_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void
test_stale_and_foreign_paths(void **state)
{
	struct fix *f = *state;
	struct lb_ctl_server *s;
	struct stat st;
	char path[160], err[256] = "";
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "%s/stale.sock", f->dir);
	make_stale(path);
	fd = lb_ctl_connect(path, err, sizeof(err));
	assert_int_equal(fd, -ECONNREFUSED);
	assert_non_null(strstr(err, "cannot connect to "));
	assert_non_null(strstr(err, strerror(ECONNREFUSED)));
	s = lb_ctl_server_open(path, err, sizeof(err));
	if (s == NULL)
		fail_msg("open over stale socket: %s", err);
	fd = lb_ctl_connect(path, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	lb_ctl_server_close(s);
	/* close unlinks */
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	fd = lb_ctl_connect(path, err, sizeof(err));
	assert_int_equal(fd, -ENOENT);
	snprintf(path, sizeof(path), "lbd is not running (no socket at %s/stale.sock)", f->dir);
	assert_string_equal(err, path);

	/* A regular file is never replaced. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("keep me\n", fp);
	fclose(fp);
	s = lb_ctl_server_open(path, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	/* A parent that is a file. */
	snprintf(path, sizeof(path), "%s/file/x.sock", f->dir);
	assert_null(lb_ctl_server_open(path, err, sizeof(err)));
	/* Too long a path. */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_null(lb_ctl_server_open(path, err, sizeof(err)));
	assert_null(lb_ctl_server_open("", err, sizeof(err)));

	/* close leaves alone a path someone else has taken over. */
	snprintf(path, sizeof(path), "%s/taken.sock", f->dir);
	s = lb_ctl_server_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(unlink(path), 0);
	make_stale(path);
	lb_ctl_server_close(s);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
}

/* lb_ctl_call blocks, so the server runs on a thread for these. */
struct srv_thread {
	struct fix *f;
	int stop[2];
	pthread_t th;
};

static void *
srv_main(void *arg)
{
	struct srv_thread *t = arg;
	struct pollfd p = { .fd = t->stop[0], .events = POLLIN };

	for (;;) {
		pump_with(t->f, &p, 1, 100);
		if (p.revents)
			return NULL;
	}
}

static void
test_call(void **state)
{
	struct fix *f = *state;
	struct srv_thread t = { .f = f };
	struct json_object *req, *r, *big;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[256], path[160];
	int fd, lfd, afd;
	int64_t t0;

	assert_int_equal(pipe(t.stop), 0);
	assert_int_equal(pthread_create(&t.th, NULL, srv_main, &t), 0);
	fd = lb_ctl_connect(f->path, err, sizeof(err));
	assert_true(fd >= 0);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	json_object_object_add(req, "note", json_object_new_string("a\nb"));
	r = lb_ctl_call(fd, req, 5000, err, sizeof(err));
	if (r == NULL)
		fail_msg("call: %s", err);
	assert_string_equal(str_at(resp_result(r), "req", "note"), "a\nb");
	json_object_put(r);
	/* Again on the same connection; req is not consumed. */
	r = lb_ctl_call(fd, req, 5000, err, sizeof(err));
	assert_non_null(r);
	json_object_put(r);
	json_object_put(req);
	/* Error responses are returned whole. */
	req = json_tokener_parse("{\"cmd\":\"fail\"}");
	r = lb_ctl_call(fd, req, 5000, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(resp_error(r), "no such frontend 'nope'");
	json_object_put(r);
	json_object_put(req);
	/* A large response arrives whole. */
	req = json_tokener_parse("{\"cmd\":\"big\",\"size\":3000000}");
	r = lb_ctl_call(fd, req, 5000, err, sizeof(err));
	assert_non_null(r);
	assert_true(json_object_object_get_ex(resp_result(r), "data", &big));
	assert_int_equal(json_object_get_string_len(big), 3000000);
	json_object_put(r);
	json_object_put(req);
	close(fd);
	assert_int_equal(write(t.stop[1], "x", 1), 1);
	assert_int_equal(pthread_join(t.th, NULL), 0);
	close(t.stop[0]);
	close(t.stop[1]);

	/* A server that accepts but never answers: timeout. */
	snprintf(path, sizeof(path), "%s/mute.sock", f->dir);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	fd = lb_ctl_connect(path, err, sizeof(err));
	assert_true(fd >= 0);
	req = json_tokener_parse("{\"cmd\":\"status\"}");
	t0 = now_ms();
	r = lb_ctl_call(fd, req, 200, err, sizeof(err));
	assert_null(r);
	assert_true(now_ms() - t0 >= 190);
	assert_non_null(strstr(err, "timed out"));
	close(fd);
	close(accept(lfd, NULL, NULL));	/* take it out of the backlog */

	/* One that answers nonsense. */
	fd = lb_ctl_connect(path, err, sizeof(err));
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(write(afd, "[1,2]\n", 6), 6);
	r = lb_ctl_call(fd, req, 2000, err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "invalid response"));
	close(fd);
	close(afd);

	/* One that hangs up. */
	fd = lb_ctl_connect(path, err, sizeof(err));
	afd = accept(lfd, NULL, NULL);
	close(afd);
	r = lb_ctl_call(fd, req, 2000, err, sizeof(err));
	assert_null(r);
	close(fd);
	json_object_put(req);
	close(lfd);
}


/* A client that writes thousands of requests at once gets them run one per
 * lb_ctl_server_process() call, in order; the server never holds more than
 * the one it is running. */
static void
test_pipeline_bounded(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f), *other = conn_open(f);
	const char req[] = "{\"cmd\":\"reload\"}\n";
	size_t n = 2000, i;
	char *buf = malloc(n * (sizeof(req) - 1));
	unsigned before;

	assert_non_null(buf);
	pump_until_clients(f, 2);
	for (i = 0; i < n; i++)
		memcpy(buf + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	conn_send(f, c, buf, n * (sizeof(req) - 1));
	free(buf);
	for (i = 0; i < 10; i++) {
		before = f->h.calls;
		pump(f, 10);
		assert_true(f->h.calls - before <= 1);
	}
	/* another client is served in the meantime, at once */
	before = f->h.calls;
	expect_echo(f, other, "status");
	assert_true(f->h.calls - before <= 12);
	for (i = 0; i < n; i++) {
		struct json_object *r = conn_resp(f, c);

		assert_string_equal(str_at(resp_result(r), "cmd", NULL), "reload");
		json_object_put(r);
	}
	assert_int_equal(f->h.calls, n + 1);
	conn_close(c);
	conn_close(other);
}

static void
test_deferred(void **state)
{
	struct fix *f = *state;
	struct conn *c = conn_open(f), *other = conn_open(f);
	struct json_object *r, *res;
	uint64_t t;
	int i;

	/* the response waits; so does the client's next request; others don't */
	conn_sendstr(f, c, "{\"cmd\":\"later\"}\n{\"cmd\":\"next\"}\n");
	for (i = 0; i < 20 && f->h.ticket == 0; i++)
		pump(f, 10);
	t = f->h.ticket;
	assert_true(t != 0);
	for (i = 0; i < 10; i++)
		pump(f, 5);
	assert_int_equal(f->h.calls, 1);
	expect_echo(f, other, "status");
	assert_int_equal(c->len, 0);
	res = json_object_new_object();
	json_object_object_add(res, "answer", json_object_new_int(42));
	assert_int_equal(lb_ctl_server_complete(f->s, t, res, NULL), 0);
	r = conn_resp(f, c);
	assert_int_equal(json_object_get_int(json_object_object_get(resp_result(r), "answer")), 42);
	json_object_put(r);
	r = conn_resp(f, c);
	assert_string_equal(str_at(resp_result(r), "cmd", NULL), "next");
	json_object_put(r);
	/* a ticket answers once */
	assert_int_equal(lb_ctl_server_complete(f->s, t, json_object_new_object(), NULL), -ENOENT);
	assert_int_equal(lb_ctl_server_complete(f->s, 0, NULL, "x"), -ENOENT);

	/* an error response */
	conn_sendstr(f, c, "{\"cmd\":\"later\"}\n");
	while (f->h.ticket == t)
		pump(f, 10);
	assert_int_equal(lb_ctl_server_complete(f->s, f->h.ticket, NULL, "workers busy"), 0);
	r = conn_resp(f, c);
	assert_string_equal(resp_error(r), "workers busy");
	json_object_put(r);

	/* half-close after a deferred request: answered, then closed */
	t = f->h.ticket;
	conn_sendstr(f, c, "{\"cmd\":\"later\"}\n");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	while (f->h.ticket == t)
		pump(f, 10);
	for (i = 0; i < 5; i++)
		pump(f, 5);
	assert_int_equal(lb_ctl_server_clients(f->s), 2);
	assert_int_equal(lb_ctl_server_complete(f->s, f->h.ticket, json_object_new_object(), NULL), 0);
	r = conn_resp(f, c);
	json_object_put(r);
	expect_eof(f, c);
	conn_close(c);
	pump_until_clients(f, 1);

	/* the client hangs up while its response is prepared: dropped at
	 * once (no busy loop on the hang-up), the late response goes nowhere */
	c = conn_open(f);
	t = f->h.ticket;
	conn_sendstr(f, c, "{\"cmd\":\"later\"}\n");
	while (f->h.ticket == t)
		pump(f, 10);
	conn_close(c);
	pump_until_clients(f, 1);
	assert_int_equal(lb_ctl_server_complete(f->s, f->h.ticket, json_object_new_object(), NULL),
		-ENOENT);
	conn_close(other);
}

/* The lowest descriptor number not in use. */
static int
lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void
set_nofile(rlim_t cur)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = cur;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* Polls the server for ms milliseconds (1 ms timeouts, as lbd's loop does);
 * returns how many polls found the listening socket readable. */
static unsigned
listener_wakeups(struct fix *f, int ms)
{
	int64_t end = now_ms() + ms;
	unsigned n = 0;

	while (now_ms() < end) {
		struct pollfd fds[LB_CTL_MAX_POLLFDS];
		int k = lb_ctl_server_pollfds(f->s, fds, LB_CTL_MAX_POLLFDS);

		if (poll(fds, (nfds_t)k, 1) > 0 && fds[0].fd >= 0 && (fds[0].revents & POLLIN))
			n++;
		lb_ctl_server_process(f->s, fds, k, handler, &f->h);
	}
	return n;
}

/* accept4 fails with EMFILE: the waiting client is told why and turned away
 * with the spare descriptor; the server does not spin on the listener. */
static void
test_accept_out_of_fds(void **state)
{
	struct fix *f = *state;
	struct rlimit saved;
	struct conn *c;
	struct json_object *r;
	unsigned wakeups;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	c = conn_open(f);
	set_nofile((rlim_t)lowest_free_fd());
	wakeups = listener_wakeups(f, 300);
	r = conn_resp(f, c);
	assert_non_null(strstr(resp_error(r), "out of file descriptors"));
	json_object_put(r);
	expect_eof(f, c);
	conn_close(c);
	assert_true(wakeups <= 5);
	assert_int_equal(lb_ctl_server_clients(f->s), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	c = conn_open(f);
	expect_echo(f, c, "status");
	conn_close(c);
}

/* The same without a spare descriptor (it could not be made): the listener
 * rests 100 ms at a time instead of waking every poll, and the client is
 * served once descriptors are available again. */
static void
test_accept_backoff(void **state)
{
	struct fix *f = *state;
	struct rlimit saved;
	struct conn *c;
	char err[256], path[96];
	unsigned wakeups;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	/* a server of its own whose spare dup fails: one descriptor left */
	snprintf(path, sizeof(path), "%s/tight.sock", f->dir);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	lb_ctl_server_close(f->s);
	set_nofile((rlim_t)lowest_free_fd() + 1);
	f->s = lb_ctl_server_open(path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("open: %s", err);
	f->h.s = f->s;
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	wakeups = listener_wakeups(f, 500);
	assert_true(wakeups >= 1);
	assert_true(wakeups <= 8);
	assert_int_equal(lb_ctl_server_clients(f->s), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	expect_echo(f, c, "status");
	conn_close(c);
}

/* The same attached to an event loop: the listener's interest is dropped for
 * the rest and a timer restores it, so the loop does not run its callback on
 * every pass. */
static void
test_accept_backoff_ev(void **state)
{
	struct fix *f = *state;
	struct rlimit saved;
	struct lb_ev *ev;
	int fd, passes = 0, calls = 0;
	char err[256], path[96];
	int64_t end;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	snprintf(path, sizeof(path), "%s/tight-ev.sock", f->dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	ev = lb_ev_create();
	assert_non_null(ev);
	lb_ctl_server_close(f->s);
	set_nofile((rlim_t)lowest_free_fd() + 1);
	f->s = lb_ctl_server_open(path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("open: %s", err);
	f->h.s = f->s;
	assert_int_equal(lb_ctl_server_attach(f->s, ev, handler, &f->h), 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	end = now_ms() + 500;
	while (now_ms() < end) {
		int n = lb_ev_run_once(ev, 1);

		passes++;
		if (n > 0)
			calls += n;
	}
	/* about one accept attempt and one timer per 100 ms rest */
	assert_true(calls >= 1);
	assert_true(calls <= 14);
	assert_int_equal(lb_ctl_server_clients(f->s), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	end = now_ms() + 2000;
	while (lb_ctl_server_clients(f->s) == 0 && now_ms() < end)
		lb_ev_run_once(ev, 10);
	assert_int_equal(lb_ctl_server_clients(f->s), 1);
	close(fd);
	lb_ctl_server_close(f->s);
	f->s = NULL;
	lb_ev_destroy(ev);
	(void)passes;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequential_and_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pollfds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode_and_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_already_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_foreign_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipeline_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_out_of_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_backoff_ev, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
