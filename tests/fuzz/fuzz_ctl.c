/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the control protocol (lib/ctl): the input is what one
 * client writes on its connection before it shuts down its side, up to its
 * MAX_LINES-th newline (8 request lines). The server is real (a Unix socket
 * in a private directory) and so is the client socket; the handler stands in
 * for lbd's: it answers "status" and friends (an echo of the request), fails
 * "fail", defers "later" (answered on the next turn of the loop, as lbd's
 * flows are), defers and answers "now" at once, returns many small items for
 * "big" ({"n":N}, at most 1,000 per input) and one long string for "blob"
 * ({"n":N,"s":S}: S repeated to at most N bytes, 32 KiB per input). The
 * server's side of each connection gets the smallest send buffer Linux
 * allows (SO_SNDBUF, about 8 KiB) so that such responses exceed it and
 * lib/ctl writes partially and buffers.
 *
 * Checked: every line the server writes is one JSON object with a boolean
 * "ok" (and "result" or a string "error"), by a strict allocation-free JSON
 * checker (response_ok, self-tested at start); there are never more
 * responses than request lines; the server closes the connection once
 * everything is answered, within a bounded number of loop turns; no client
 * is left over.
 *
 * Speed (10 million executions should take well under 40 minutes of one
 * core): the line cap, the per-input budgets, the checker (json-c's parser
 * took a third of the time) and one poll for server and client per turn with
 * one recv only when the client's socket is readable took a grown corpus
 * from about 870 to 6,500 executions per second (tests/fuzz/README.md).
 */
#include <ctype.h>
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
/* Request lines per input: the input is sent up to its MAX_LINES-th newline
 * and no further. lib/ctl runs one request per turn whatever the depth of
 * the pipeline (test_ctl's test_pipeline_bounded runs 2,000), and each costs
 * some 35 us under ASan: 4 KiB pipelines of hundreds of requests were what
 * slowed the target down to 600 executions per second. */
#define MAX_LINES	8
/*
 * What one input may make the handler build: "big" items (5,000 per request
 * before, which is 6 ms under ASan; now 1,000 per input) and "blob" bytes
 * per input, enough for responses several times the server's send buffer
 * (SNDBUF: partial writes, then the output buffer given back), not for one
 * over LB_CTL_MAX_RESPONSE (4 MiB: some 50 ms under ASan; test_ctl's
 * test_slow_reader covers it). With the default buffer (~208 KiB) a blob had
 * to be 320 KiB, 5 to 20 ms an input, and such inputs took the rate from
 * some 6,500 to under 1,000 executions per second as they filled the corpus.
 */
#define BIG_PER_INPUT	1000
#define BLOB_PER_INPUT	(32u << 10)
#define SNDBUF		4096	/* Linux doubles it, to at least ~4.5 KiB */

static struct {
	char dir[64];
	char path[96];
	struct lb_ctl_server *s;
	uint64_t pending[8];
	unsigned n_pending;
	size_t big_left;	/* of BIG_PER_INPUT, this input */
	size_t blob_left;	/* of BLOB_PER_INPUT, this input */
} g;

static void response_ok_selftest(void);

static void
cleanup(void)
{
	lb_ctl_server_close(g.s);
	rmdir(g.dir);
}

/* The request's integer "n", clamped to 0..max. */
static size_t
req_n(struct json_object *req, size_t max)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(req, "n", &v) || !json_object_is_type(v, json_type_int))
		return 0;
	n = json_object_get_int64(v);
	return n <= 0 ? 0 : (uint64_t)n < max ? (size_t)n : max;
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
	if (strcmp(cmd, "big") == 0) {
		/* {"items":[0,1,...]}: many small values */
		size_t n = req_n(req, g.big_left);
		struct json_object *a = json_object_new_array_ext((int)n);

		g.big_left -= n;
		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, json_object_new_int64((int64_t)i));
		json_object_object_add(r, "items", a);
		return r;
	}
	if (strcmp(cmd, "blob") == 0) {
		/* {"data":"..."}: one large string, "s" (default "x") repeated
		 * to at most n bytes, escapes and all */
		size_t n = req_n(req, g.blob_left), len = 1, off = 0;
		const char *fill = "x";
		char *buf;

		if (json_object_object_get_ex(req, "s", &v) && json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) > 0) {
			fill = json_object_get_string(v);
			len = (size_t)json_object_get_string_len(v);
		}
		buf = malloc(n + 1);
		CHECK(buf != NULL);
		if (len <= n) {
			memcpy(buf, fill, len);
			/* doubling: whole copies of fill, n / len of them */
			for (off = len; off + len <= n; off += LB_MIN(off, n / len * len - off))
				memcpy(buf + off, buf, LB_MIN(off, n / len * len - off));
		}
		g.blob_left -= off;
		json_object_object_add(r, "data", json_object_new_string_len(buf, (int)off));
		free(buf);
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
	response_ok_selftest();
	return 0;
}

/*
 * A strict JSON (RFC 8259) checker for response lines that allocates
 * nothing: json-c's parser, used here before, made and freed an object per
 * value and took a third of the target's time. Stricter than json-c's
 * default parser (no trailing commas, comments, single quotes, control
 * characters in strings). Numbers too: it found at once that json-c 0.16's
 * STRICT parser, which lib/ctl uses for requests, takes numbers with nothing
 * after the point ("1.", "1.e5"), leading zeros ("02.", "01e5"), NaN,
 * Infinity and -Infinity, and writes a number parsed from text back
 * verbatim, so an echoed request put them into a response; lib/ctl now
 * refuses such requests. Not instrumented for coverage: the
 * shapes of responses are not what is being explored.
 */
#if defined(__clang__)
#define NO_COV	__attribute__((no_sanitize("coverage")))
#else
#define NO_COV
#endif
#define JV_DEPTH	64

struct jv {
	const char *p;
	const char *end;
};

NO_COV static void
jv_ws(struct jv *v)
{
	while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\r' || *v->p == '\n'))
		v->p++;
}

NO_COV static bool
jv_lit(struct jv *v, const char *lit, size_t n)
{
	if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0)
		return false;
	v->p += n;
	return true;
}

/* A string; its raw (unescaped) bytes in *s, *n. */
NO_COV static bool
jv_string(struct jv *v, const char **s, size_t *n)
{
	const char *start;

	if (v->p >= v->end || *v->p != '"')
		return false;
	start = ++v->p;
	while (v->p < v->end) {
		unsigned char c = (unsigned char)*v->p;

		if (c == '"') {
			*s = start;
			*n = (size_t)(v->p - start);
			v->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		v->p++;
		if (c != '\\')
			continue;
		if (v->p >= v->end)
			return false;
		c = (unsigned char)*v->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, v->p++)
				if (v->p >= v->end || !isxdigit((unsigned char)*v->p))
					return false;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
			return false;
		}
	}
	return false;
}

NO_COV static bool
jv_digits(struct jv *v)
{
	const char *p0 = v->p;

	while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
		v->p++;
	return v->p > p0;
}

NO_COV static bool
jv_number(struct jv *v)
{
	if (v->p < v->end && *v->p == '-')
		v->p++;
	if (v->p < v->end && *v->p == '0')
		v->p++;		/* no leading zeros */
	else if (!jv_digits(v))
		return false;
	if (v->p < v->end && *v->p == '.') {
		v->p++;
		if (!jv_digits(v))
			return false;
	}
	if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
		v->p++;
		if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
			v->p++;
		if (!jv_digits(v))
			return false;
	}
	return true;
}

/* One value; returns its kind ('{', '[', '"', '0', 't', 'f', 'n') or 0 when
 * it is not valid JSON. */
NO_COV static char
jv_value(struct jv *v, int depth)
{
	const char *s;
	size_t n;
	char open, close;

	if (v->p >= v->end)
		return 0;
	switch (*v->p) {
	case '"':
		return jv_string(v, &s, &n) ? '"' : 0;
	case 't':
		return jv_lit(v, "true", 4) ? 't' : 0;
	case 'f':
		return jv_lit(v, "false", 5) ? 'f' : 0;
	case 'n':
		return jv_lit(v, "null", 4) ? 'n' : 0;
	case '{':
	case '[':
		break;
	default:
		return jv_number(v) ? '0' : 0;
	}
	if (depth >= JV_DEPTH)
		return 0;
	open = *v->p++;
	close = open == '{' ? '}' : ']';
	jv_ws(v);
	if (v->p < v->end && *v->p == close) {
		v->p++;
		return open;
	}
	for (;;) {
		if (open == '{') {
			if (!jv_string(v, &s, &n))
				return 0;
			jv_ws(v);
			if (v->p >= v->end || *v->p++ != ':')
				return 0;
			jv_ws(v);
		}
		if (jv_value(v, depth + 1) == 0)
			return 0;
		jv_ws(v);
		if (v->p >= v->end)
			return 0;
		if (*v->p == close) {
			v->p++;
			return open;
		}
		if (*v->p++ != ',')
			return 0;
		jv_ws(v);
	}
}

/*
 * Checks one response line: one JSON object, nothing after it, with a
 * boolean "ok", and "result" when ok is true or a string "error" when it is
 * false (the last of duplicate keys counts, as in json-c). Returns false
 * instead of aborting, for the self-test.
 */
NO_COV static bool
response_ok(const char *line, size_t len)
{
	struct jv v = { line, line + len };
	char ok = 0, result = 0, error = 0, kind;
	const char *k;
	size_t kn;

	jv_ws(&v);
	if (v.p >= v.end || *v.p++ != '{')
		return false;
	jv_ws(&v);
	if (v.p < v.end && *v.p == '}') {
		v.p++;
	} else {
		for (;;) {
			if (!jv_string(&v, &k, &kn))
				return false;
			jv_ws(&v);
			if (v.p >= v.end || *v.p++ != ':')
				return false;
			jv_ws(&v);
			kind = jv_value(&v, 1);
			if (kind == 0)
				return false;
			if (kn == 2 && memcmp(k, "ok", 2) == 0)
				ok = kind;
			else if (kn == 6 && memcmp(k, "result", 6) == 0)
				result = kind;
			else if (kn == 5 && memcmp(k, "error", 5) == 0)
				error = kind;
			jv_ws(&v);
			if (v.p < v.end && *v.p == '}') {
				v.p++;
				break;
			}
			if (v.p >= v.end || *v.p++ != ',')
				return false;
			jv_ws(&v);
		}
	}
	jv_ws(&v);
	if (v.p != v.end)
		return false;
	return (ok == 't' && result != 0) || (ok == 'f' && error == '"');
}

/* The checker must tell good lines from bad ones, or the target checks nothing. */
static void
response_ok_selftest(void)
{
	static const char *const good[] = {
		"{\"ok\":true,\"result\":{}}",
		"{\"ok\":true,\"result\":{\"items\":[0,1,-2,3.5e+7,1E-2,0.25]}}",
		"{\"ok\":false,\"error\":\"bad request: \\\"x\\\" \\u00e9\\n\\/\"}",
		" { \"result\" : [ true , false , null , \"\" ] , \"ok\" : true } ",
		"{\"ok\":true,\"result\":{\"a\":{\"b\":[[[]]]},\"c\":\"\xc3\xa9\"}}",
		"{\"ok\":true,\"result\":[0,-0,0.5,-0e1,10,100.001]}",
	};
	static const char *const bad[] = {
		"", "[]", "null", "{}", "{\"ok\":1,\"result\":{}}", "{\"ok\":true}",
		"{\"ok\":false,\"error\":1}", "{\"ok\":false,\"result\":{}}",
		"{\"ok\":true,\"result\":{}} x", "{\"ok\":true,\"result\":{}}{}",
		"{\"ok\":true,\"result\":{},}", "{\"ok\":true,\"result\":[1,]}",
		"{\"ok\":true,\"result\":nan}", "{\"ok\":true,\"result\":-NaN}",
		"{\"ok\":true,\"result\":+1}", "{\"ok\":true,\"result\":-}",
		"{\"ok\":true,\"result\":.5}", "{\"ok\":true,\"result\":1e}",
		"{\"ok\":true,\"result\":\"a\tb\"}", "{\"ok\":true,\"result\":\"\\x\"}",
		"{\"ok\":true,\"result\":\"\\u12g4\"}", "{\"ok\":true,\"result\":\"abc}",
		"{\"ok\":true,\"result\":tru}", "{\"ok\":true,\"result\":{\"a\"}}",
		/* what json-c's parser takes and lib/ctl now refuses */
		"{\"ok\":true,\"result\":1.}", "{\"ok\":true,\"result\":-2.e5}",
		"{\"ok\":true,\"result\":02}", "{\"ok\":true,\"result\":01e5}",
		"{\"ok\":true,\"result\":NaN}", "{\"ok\":true,\"result\":Infinity}",
		"{\"ok\":true,\"result\":-Infinity}",
		"{\"ok\":true,\"result\":{1:2}}", "{'ok':true,\"result\":{}}",
		"{\"ok\":true \"result\":{}}",
	};
	static const char nul[] = "{\"ok\":true,\"result\":\"a\0b\"}";
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(response_ok(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!response_ok(bad[i], strlen(bad[i])));
	/* a NUL inside the line is not JSON either */
	CHECK(!response_ok(nul, sizeof(nul) - 1));
	/* nesting: up to JV_DEPTH levels below the response object */
	for (i = 62; i <= 64; i++) {
		char deep[200];
		size_t n = 0, j;

		n += (size_t)snprintf(deep, sizeof(deep), "{\"ok\":true,\"result\":");
		for (j = 0; j < i; j++)
			deep[n++] = '[';
		for (j = 0; j < i; j++)
			deep[n++] = ']';
		deep[n++] = '}';
		CHECK(response_ok(deep, n) == (i < JV_DEPTH));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char rbuf[8 << 20];
	size_t sent = 0, rlen = 0, lines_in = 0, lines_out = 0, i;
	bool eof = false, shut = false, sized = false;
	unsigned turn;
	int fd, j;

	if (size > MAX_INPUT)
		return 0;
	g.big_left = BIG_PER_INPUT;
	g.blob_left = BLOB_PER_INPUT;
	for (i = 0; i < size && lines_in < MAX_LINES; i++)
		lines_in += data[i] == '\n';
	if (lines_in == MAX_LINES)
		size = i;	/* the rest is not sent */
	else
		lines_in++;	/* the last request may lack its newline */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g.path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	for (turn = 0; turn < MAX_TURNS && !eof; turn++) {
		/* the server's entries, then the client's: one poll for both */
		struct pollfd fds[LB_CTL_MAX_POLLFDS + 1];
		int n = lb_ctl_server_pollfds(g.s, fds, LB_CTL_MAX_POLLFDS);
		ssize_t k;

		/* the server's end of this connection (its only client), before
		 * it writes anything there: a small send buffer */
		for (j = 1; j < n && !sized; j++) {
			int v = SNDBUF;

			CHECK(setsockopt(fds[j].fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) == 0);
			sized = true;
		}
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
		fds[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
		CHECK(poll(fds, (nfds_t)n + 1, 0) >= 0);
		lb_ctl_server_process(g.s, fds, n, handler, NULL);
		/* deferred requests are answered one turn later */
		for (i = 0; i < g.n_pending; i++) {
			int rc = lb_ctl_server_complete(g.s, g.pending[i], i % 2 ? NULL :
				json_object_new_object(), "later failed");

			CHECK(rc == 0 || rc == -ENOENT);
		}
		g.n_pending = 0;
		/* What the server wrote before the poll; what it wrote since is
		 * read on the next turn. One recv: the next poll tells if there
		 * is more. */
		if (!(fds[n].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		k = recv(fd, rbuf + rlen, sizeof(rbuf) - 1 - rlen, MSG_DONTWAIT);
		if (k > 0) {
			rlen += (size_t)k;
			CHECK(rlen < sizeof(rbuf) - 1);
		} else if (k == 0 || errno == ECONNRESET) {
			eof = true;
		} else {
			CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
		}
	}
	CHECK(eof);
	{
		size_t start = 0;
		const char *nl;

		while ((nl = memchr(rbuf + start, '\n', rlen - start)) != NULL) {
			i = (size_t)(nl - rbuf);
			CHECK(response_ok(rbuf + start, i - start));
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
