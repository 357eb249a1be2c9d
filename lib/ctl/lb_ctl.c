/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "lb_ctl.h"
#include "lb_ev.h"
#include "lb_ctl_priv.h"

/* The input buffer holds one maximal line and its newline. */
#define IN_CAP		(LB_CTL_MAX_REQUEST + 1)
/* Bytes read from one client per poll event: enough for a full request, small
 * enough that one busy client cannot hog the loop. */
#define READ_CHUNK	IN_CAP
/* Output above this is a bug or an attack: drop the client. One response is
 * at most LB_CTL_MAX_RESPONSE plus a newline and only one is queued at a time,
 * so this is never reached by a well-behaved server and client. */
#define OUT_CAP		(LB_CTL_MAX_RESPONSE + 4096)
/* Output buffers keep up to this much memory when idle. */
#define OUT_KEEP	(64 * 1024)
#define JSON_DEPTH	32
#define ACCEPT_BURST	32
#define LISTEN_BACKLOG	32
/* How long the listening socket rests after accept4 ran out of descriptors or
 * memory: the pending connection keeps the socket readable, and polling it
 * again at once would spin the control loop. */
#define ACCEPT_BACKOFF_MS	100


struct client {
	int fd;			/* -1: slot free */
	bool eof;		/* peer sent EOF: answer what is buffered, then close */
	bool closing;		/* close as soon as the output is flushed */
	char *in;		/* IN_CAP bytes and a spare one for a NUL */
	size_t in_off;		/* start of unconsumed input */
	size_t in_len;		/* end of unconsumed input */
	char *out;
	size_t out_off;
	size_t out_len;
	size_t out_cap;
	uint64_t pending;	/* token of a deferred request being served, 0 = none */
	uint32_t ev_events;	/* interest registered with the event loop */
};

struct lb_ctl_server {
	int fd;
	int reserve;		/* a spare descriptor (a dup of fd) given up to shed a
				 * connection when the process runs out of them; -1: none */
	uint64_t accept_resume;	/* monotonic ms before which the listener is not polled */
	dev_t dev;		/* identity of the socket file we created */
	ino_t ino;
	unsigned n_clients;
	struct json_tokener *tok;
	char path[LB_CTL_PATH_MAX + 1];
	struct client clients[LB_CTL_MAX_CLIENTS];
	/* deferred responses */
	uint64_t next_token;
	uint64_t cur_token;	/* token of the request being run, during the handler */
	bool deferred;		/* the handler called lb_ctl_server_defer */
	bool in_handler;
	bool early;		/* completed before the handler returned */
	struct json_object *early_result;
	char early_err[512];
	lb_ctl_handler_fn fn;	/* from the last process call, for completions */
	void *ctx;
	/* event-loop attachment (lb_ctl_server_attach) */
	struct lb_ev *ev;
	struct lb_ev_timer *rest;	/* ends the listener's rest (accept back-off) */
};

/* mkdir -p of path's parent directory; new directories get mode 0755. */
static int
make_parent(const char *path, char *err, size_t errlen)
{
	char dir[LB_CTL_PATH_MAX + 1];
	char *slash, *p;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		lb_ctl_set_err(err, errlen, "%s is not a directory", dir);
		return -ENOTDIR;
	}
	for (p = dir + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			/* Exactly 0755 whatever the umask: lbctl users need to
			 * reach the socket, whose own mode guards it. */
			chmod(dir, 0755);
		} else if (errno != EEXIST) {
			int e = errno;

			lb_ctl_set_err(err, errlen, "cannot create directory %s: %s", dir, strerror(e));
			return -e;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/*
 * Decides what may be done about an existing path: 0 when it is free or a
 * stale socket (removed), negative with err set when a live server answers
 * or the path is something else.
 */
static int
clear_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		e = errno;
		lb_ctl_set_err(err, errlen, "cannot stat %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		lb_ctl_set_err(err, errlen, "%s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		lb_ctl_set_err(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	lb_ctl_fill_addr(&sa, path);
	/* Non-blocking, so a live server with a full backlog (EAGAIN) still
	 * counts as live instead of hanging us. */
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = rc < 0 ? errno : 0;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		lb_ctl_set_err(err, errlen, "another lbd is already running (it answers on %s)", path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		lb_ctl_set_err(err, errlen, "cannot probe %s: %s", path, strerror(e));
		return -e;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		e = errno;
		lb_ctl_set_err(err, errlen, "cannot remove stale socket %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

struct lb_ctl_server *
lb_ctl_server_open(const char *path, char *err, size_t errlen)
{
	struct lb_ctl_server *s;
	struct sockaddr_un sa;
	char tmp[sizeof(sa.sun_path)];
	struct stat st;
	int fd = -1, e;
	unsigned i;

	if (path == NULL || path[0] == '\0') {
		lb_ctl_set_err(err, errlen, "control socket path is empty");
		return NULL;
	}
	if (strlen(path) > LB_CTL_PATH_MAX) {
		lb_ctl_set_err(err, errlen, "control socket path is longer than %d characters: %s",
			LB_CTL_PATH_MAX, path);
		return NULL;
	}
	if ((unsigned)snprintf(tmp, sizeof(tmp), "%s.%x.tmp", path, (unsigned)getpid()) >=
	    sizeof(tmp)) {
		lb_ctl_set_err(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	if (make_parent(path, err, errlen) < 0 || clear_path(path, err, errlen) < 0)
		return NULL;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		lb_ctl_set_err(err, errlen, "out of memory");
		return NULL;
	}
	s->fd = -1;
	s->reserve = -1;
	for (i = 0; i < LB_CTL_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->tok = json_tokener_new_ex(JSON_DEPTH);
	if (s->tok == NULL) {
		lb_ctl_set_err(err, errlen, "out of memory");
		goto fail;
	}
	json_tokener_set_flags(s->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		lb_ctl_set_err(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	lb_ctl_fill_addr(&sa, tmp);
	unlink(tmp);	/* left over by a crashed process with our pid */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		lb_ctl_set_err(err, errlen, "cannot bind %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (chmod(tmp, 0600) < 0 || listen(fd, LISTEN_BACKLOG) < 0 ||
	    rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		lb_ctl_set_err(err, errlen, "cannot set up %s: %s", path, strerror(e));
		goto fail;
	}
	if (lstat(path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	s->fd = fd;
	s->reserve = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return s;
fail:
	if (fd >= 0)
		close(fd);
	if (s->tok != NULL)
		json_tokener_free(s->tok);
	free(s);
	return NULL;
}

static void
client_drop(struct lb_ctl_server *s, struct client *c)
{
	if (s->ev != NULL)
		lb_ev_fd_del(s->ev, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	s->n_clients--;
}

void
lb_ctl_server_close(struct lb_ctl_server *s)
{
	struct stat st;
	unsigned i;

	if (s == NULL)
		return;
	for (i = 0; i < LB_CTL_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_drop(s, &s->clients[i]);
	if (s->ev != NULL)
		lb_ev_fd_del(s->ev, s->fd);
	lb_ev_timer_free(s->rest);
	if (s->reserve >= 0)
		close(s->reserve);
	close(s->fd);
	/* Only remove the socket we created: if someone replaced it, it is theirs. */
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	json_tokener_free(s->tok);
	free(s);
}

unsigned
lb_ctl_server_clients(const struct lb_ctl_server *s)
{
	return s == NULL ? 0 : s->n_clients;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A client may send its next request once its last response has gone out
 * (and a deferred one has been answered). */
static bool
client_wants_input(const struct client *c)
{
	return !c->eof && !c->closing && c->out_len == c->out_off && c->pending == 0;
}

int
lb_ctl_server_pollfds(struct lb_ctl_server *s, struct pollfd *fds, int max)
{
	int n = 0;
	unsigned i;

	if (s == NULL || fds == NULL || max <= 0)
		return 0;
	/* A resting listener keeps its entry, with an fd poll ignores. */
	fds[n].fd = s->accept_resume != 0 && mono_ms() < s->accept_resume ? -1 : s->fd;
	fds[n].events = POLLIN;
	fds[n].revents = 0;
	n++;
	for (i = 0; i < LB_CTL_MAX_CLIENTS && n < max; i++) {
		const struct client *c = &s->clients[i];

		if (c->fd < 0)
			continue;
		fds[n].fd = c->fd;
		fds[n].events = (short)((client_wants_input(c) ? POLLIN : 0) |
				(c->out_len > c->out_off ? POLLOUT : 0));
		fds[n].revents = 0;
		n++;
	}
	return n;
}

/* Queues data; false when the client must be dropped (out of memory or over
 * the output cap). */
static bool
client_queue(struct client *c, const char *data, size_t len)
{
	size_t pending = c->out_len - c->out_off;

	if (pending + len > OUT_CAP)
		return false;
	if (c->out_off > 0 && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL)
			return false;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return true;
}

/* Writes what the socket takes; false when the client is gone. */
static bool
client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUT_KEEP) {
		/* Give back what a large response took. */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return true;
}

/* Serialises a response object (consumed) and queues it with its newline. */
static bool
queue_response(struct client *c, struct json_object *resp)
{
	size_t len;
	const char *str = json_object_to_json_string_length(resp, LB_CTL_SER_FLAGS, &len);
	bool ok;

	if (str == NULL) {
		json_object_put(resp);
		return false;
	}
	if (len > LB_CTL_MAX_RESPONSE) {
		char msg[96];

		json_object_put(resp);
		snprintf(msg, sizeof(msg), "response too large (%zu bytes, limit %u)",
			len, LB_CTL_MAX_RESPONSE);
		resp = json_object_new_object();
		json_object_object_add(resp, "ok", json_object_new_boolean(0));
		json_object_object_add(resp, "error", json_object_new_string(msg));
		str = json_object_to_json_string_length(resp, LB_CTL_SER_FLAGS, &len);
		if (str == NULL) {
			json_object_put(resp);
			return false;
		}
	}
	ok = client_queue(c, str, len) && client_queue(c, "\n", 1);
	json_object_put(resp);
	return ok;
}

static struct json_object *
error_response(const char *msg)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", json_object_new_string(msg));
	return r;
}

static bool
all_space(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

static size_t
skip_digits(const char *line, size_t i, size_t len)
{
	while (i < len && isdigit((unsigned char)line[i]))
		i++;
	return i;
}

/*
 * The offset of the first number in line (valid JSON to json-c's STRICT
 * tokener) that RFC 8259 does not allow, or len. json-c also takes "1.",
 * "1.e5", "02", "NaN", "Infinity" and "-Infinity", and writes a number back
 * as it was typed, so a handler echoing one would answer invalid JSON.
 */
static size_t
bad_number(const char *line, size_t len)
{
	size_t i = 0, j, start;

	while (i < len) {
		if (line[i] == '"') {
			for (i++; i < len && line[i] != '"'; i++)
				if (line[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (line[i] == 'N' || line[i] == 'I')
			return i;
		if (line[i] != '-' && !isdigit((unsigned char)line[i])) {
			i++;
			continue;
		}
		/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
		start = i;
		i += line[i] == '-';
		j = i < len && line[i] == '0' ? i + 1 : skip_digits(line, i, len);
		if (j == i)
			return start;
		i = j;
		if (i < len && line[i] == '.') {
			j = skip_digits(line, i + 1, len);
			if (j == i + 1)
				return start;
			i = j;
		}
		if (i < len && (line[i] == 'e' || line[i] == 'E')) {
			i += 1 + (i + 1 < len && (line[i + 1] == '+' || line[i + 1] == '-'));
			j = skip_digits(line, i, len);
			if (j == i)
				return start;
			i = j;
		}
		if (i < len && isdigit((unsigned char)line[i]))
			return start;	/* a leading zero */
	}
	return len;
}

/*
 * Runs one request line and returns its response, or NULL for a blank line
 * (no request, no response). line[len] is writable and becomes the NUL that
 * tells the tokener where the input ends (a number or literal at the very end
 * is then complete rather than "continue").
 */
static struct json_object *
run_line(struct lb_ctl_server *s, struct client *c, char *line, size_t len,
	lb_ctl_handler_fn fn, void *ctx)
{
	char err[512];
	struct json_object *req, *cmd, *result, *resp;
	enum json_tokener_error jerr;
	size_t bad;

	if (all_space(line, len))
		return NULL;
	if (memchr(line, '\0', len) != NULL)
		return error_response("bad request: NUL byte in request");
	line[len] = '\0';
	json_tokener_reset(s->tok);
	req = json_tokener_parse_ex(s->tok, line, (int)len + 1);
	if (req == NULL) {
		jerr = json_tokener_get_error(s->tok);
		snprintf(err, sizeof(err), "bad request: invalid JSON at byte %zu: %s",
			json_tokener_get_parse_end(s->tok),
			jerr == json_tokener_success ? "null is not a request" :
			json_tokener_error_desc(jerr));
		return error_response(err);
	}
	if (!json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return error_response("bad request: a request must be a JSON object");
	}
	bad = bad_number(line, len);
	if (bad < len) {
		snprintf(err, sizeof(err), "bad request: invalid JSON at byte %zu: "
			"not an RFC 8259 number", bad);
		json_object_put(req);
		return error_response(err);
	}
	if (!json_object_object_get_ex(req, "cmd", &cmd)) {
		json_object_put(req);
		return error_response("bad request: missing \"cmd\"");
	}
	if (!json_object_is_type(cmd, json_type_string)) {
		json_object_put(req);
		return error_response("bad request: \"cmd\" must be a string");
	}
	err[0] = '\0';
	s->cur_token = ++s->next_token;
	s->deferred = false;
	s->early = false;
	s->in_handler = true;
	result = fn(ctx, json_object_get_string(cmd), req, err, sizeof(err));
	s->in_handler = false;
	json_object_put(req);
	if (s->deferred) {
		s->deferred = false;
		if (result != NULL)
			json_object_put(result);
		if (!s->early) {
			/* answered later by lb_ctl_server_complete */
			c->pending = s->cur_token;
			return NULL;
		}
		/* deferred, then completed before returning: answer now */
		result = s->early_result;
		s->early_result = NULL;
		snprintf(err, sizeof(err), "%s", s->early_err);
	}
	if (result == NULL)
		return error_response(err[0] != '\0' ? err : "command failed");
	resp = json_object_new_object();
	json_object_object_add(resp, "ok", json_object_new_boolean(1));
	json_object_object_add(resp, "result", result);
	return resp;
}

/*
 * Runs buffered requests while the client has no output pending, writing
 * each response as it is made. Returns false when the client must be dropped.
 */
static bool
client_pump(struct lb_ctl_server *s, struct client *c, lb_ctl_handler_fn fn, void *ctx)
{
	struct json_object *resp;
	char *line, *nl;
	size_t avail, len;

	while (!c->closing && c->out_len == c->out_off && c->pending == 0) {
		line = c->in + c->in_off;
		avail = c->in_len - c->in_off;
		nl = memchr(line, '\n', avail);
		if (nl != NULL) {
			len = (size_t)(nl - line);
			c->in_off += len + 1;
		} else if (avail > LB_CTL_MAX_REQUEST) {
			c->closing = true;
			c->in_off = c->in_len = 0;
			return queue_response(c, error_response(
				"bad request: request longer than 65536 bytes"));
		} else if (c->eof && avail > 0) {
			/* The last request may lack its newline: answer it
			 * (the buffer has a spare byte for run_line's NUL). */
			len = avail;
			c->in_off = c->in_len;
		} else {
			break;
		}
		if (len > LB_CTL_MAX_REQUEST) {
			resp = error_response("bad request: request longer than 65536 bytes");
			c->closing = true;
		} else {
			resp = run_line(s, c, line, len, fn, ctx);
		}
		/* Write at once: if the socket takes it all, the next
		 * buffered request may run. */
		if (resp != NULL && (!queue_response(c, resp) || !client_flush(c)))
			return false;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (c->eof && c->in_off == c->in_len && c->pending == 0)
		c->closing = true;
	return true;
}

/* Reads what is available, up to one chunk. false: drop the client. */
static bool
client_read(struct client *c)
{
	ssize_t n;

	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len == IN_CAP)
		return true;	/* client_pump reports the oversize request */
	/* Take at most one request per read: look first, then consume up to
	 * the first newline. What the client pipelined after it stays in the
	 * socket, so lbd holds one request per client, a client that writes
	 * thousands at once gets them run one per turn of the event loop, and
	 * the socket's buffer pushes back on it. */
	for (;;) {
		n = recv(c->fd, c->in + c->in_len, LB_MIN((size_t)READ_CHUNK, IN_CAP - c->in_len),
			MSG_DONTWAIT | MSG_PEEK);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n == 0) {
		c->eof = true;
		return true;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK;
	{
		char *nl = memchr(c->in + c->in_len, '\n', (size_t)n);
		size_t want = nl != NULL ? (size_t)(nl - (c->in + c->in_len)) + 1 : (size_t)n;

		for (;;) {
			n = recv(c->fd, c->in + c->in_len, want, MSG_DONTWAIT);
			if (n >= 0 || errno != EINTR)
				break;
		}
	}
	if (n == 0) {
		c->eof = true;
		return true;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK;
	c->in_len += (size_t)n;
	return true;
}

static void
client_event(struct lb_ctl_server *s, struct client *c, short revents,
		lb_ctl_handler_fn fn, void *ctx)
{
	if (revents & POLLNVAL) {
		client_drop(s, c);
		return;
	}
	if (revents & POLLOUT && !client_flush(c)) {
		client_drop(s, c);
		return;
	}
	/* A hang-up or error shows up as EOF or an error on read; read only
	 * while the client may send its next request. */
	if (revents & (POLLIN | POLLHUP | POLLERR) && client_wants_input(c) && !client_read(c)) {
		client_drop(s, c);
		return;
	}
	/* Gone while a deferred request is served: its answer has nowhere to go. */
	if (revents & (POLLHUP | POLLERR) && c->pending != 0) {
		client_drop(s, c);
		return;
	}
	if (!client_pump(s, c, fn, ctx) || !client_flush(c)) {
		client_drop(s, c);
		return;
	}
	/* Output still queued after a hang-up or an error cannot be delivered. */
	if ((c->closing && c->out_len == c->out_off) ||
	    (revents & (POLLHUP | POLLERR) && c->out_len != c->out_off))
		client_drop(s, c);
}

/* --- event-loop attachment --- */

static void ev_client(void *ctx, int fd, uint32_t events);

static uint32_t
client_interest(const struct client *c)
{
	return (client_wants_input(c) ? LB_EV_IN : 0) |
		(c->out_len > c->out_off ? LB_EV_OUT : 0);
}

static int
ev_watch(struct lb_ctl_server *s, struct client *c)
{
	c->ev_events = client_interest(c);
	return lb_ev_fd_add(s->ev, c->fd, c->ev_events, ev_client, s);
}

/* Brings the loop's interest in c up to date (after anything that changes
 * what c waits for). */
static void
ev_update(struct lb_ctl_server *s, struct client *c)
{
	uint32_t want;

	if (s->ev == NULL || c->fd < 0)
		return;
	want = client_interest(c);
	if (want != c->ev_events && lb_ev_fd_mod(s->ev, c->fd, want) == 0)
		c->ev_events = want;
}

static struct client *
client_of(struct lb_ctl_server *s, int fd)
{
	unsigned j;

	for (j = 0; j < LB_CTL_MAX_CLIENTS; j++)
		if (s->clients[j].fd == fd)
			return &s->clients[j];
	return NULL;
}

static void
ev_client(void *ctx, int fd, uint32_t events)
{
	struct lb_ctl_server *s = ctx;
	struct client *c = client_of(s, fd);
	short revents = (short)((events & LB_EV_IN ? POLLIN : 0) |
		(events & LB_EV_OUT ? POLLOUT : 0) | (events & LB_EV_ERR ? POLLHUP : 0));

	if (c == NULL || s->fn == NULL)
		return;
	client_event(s, c, revents, s->fn, s->ctx);
	if (c->fd == fd)
		ev_update(s, c);
}

static void accept_clients(struct lb_ctl_server *s);

static void
ev_listen(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	accept_clients(ctx);
}

/* The listener's rest is over: watch it again. */
static void
ev_rest_over(void *ctx)
{
	struct lb_ctl_server *s = ctx;

	s->accept_resume = 0;
	lb_ev_fd_mod(s->ev, s->fd, LB_EV_IN);
}

int
lb_ctl_server_attach(struct lb_ctl_server *s, struct lb_ev *ev, lb_ctl_handler_fn fn, void *ctx)
{
	unsigned i;
	int rc;

	if (s == NULL || ev == NULL || fn == NULL || s->ev != NULL)
		return -EINVAL;
	s->fn = fn;
	s->ctx = ctx;
	s->ev = ev;
	s->rest = lb_ev_timer_new(ev, ev_rest_over, s);
	if (s->rest == NULL) {
		s->ev = NULL;
		return -ENOMEM;
	}
	rc = lb_ev_fd_add(ev, s->fd, LB_EV_IN, ev_listen, s);
	if (rc != 0) {
		lb_ev_timer_free(s->rest);
		s->rest = NULL;
		s->ev = NULL;
		return rc;
	}
	for (i = 0; i < LB_CTL_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && ev_watch(s, &s->clients[i]) != 0)
			client_drop(s, &s->clients[i]);
	return 0;
}

/* --- deferred responses --- */

uint64_t
lb_ctl_server_defer(struct lb_ctl_server *s)
{
	s->deferred = true;
	return s->cur_token;
}

int
lb_ctl_server_complete(struct lb_ctl_server *s, uint64_t token, struct json_object *result,
	const char *err)
{
	struct json_object *resp;
	struct client *c = NULL;
	unsigned j;

	if (s != NULL && s->in_handler && s->deferred && token == s->cur_token && !s->early) {
		s->early = true;
		s->early_result = result;
		snprintf(s->early_err, sizeof(s->early_err), "%s", err != NULL ? err : "");
		return 0;
	}
	for (j = 0; s != NULL && token != 0 && j < LB_CTL_MAX_CLIENTS; j++)
		if (s->clients[j].fd >= 0 && s->clients[j].pending == token)
			c = &s->clients[j];
	if (c == NULL) {
		if (result != NULL)
			json_object_put(result);
		return -ENOENT;
	}
	c->pending = 0;
	if (result != NULL) {
		resp = json_object_new_object();
		json_object_object_add(resp, "ok", json_object_new_boolean(1));
		json_object_object_add(resp, "result", result);
	} else {
		resp = error_response(err != NULL && err[0] != '\0' ? err : "command failed");
	}
	/* then the requests the client queued behind it */
	if (!queue_response(c, resp) || !client_flush(c) ||
	    (s->fn != NULL && (!client_pump(s, c, s->fn, s->ctx) || !client_flush(c))) ||
	    (c->closing && c->out_len == c->out_off)) {
		client_drop(s, c);
		return 0;
	}
	ev_update(s, c);
	return 0;
}

/*
 * Out of descriptors: give up the spare one for a moment to take the
 * connection at the head of the queue and tell it why it is turned away
 * (rather than leave it hanging until its timeout), then take the spare back.
 * Returns whether that worked and the spare is back; if not, the listener
 * rests and the queue waits.
 */
static bool
shed_client(struct lb_ctl_server *s)
{
	static const char msg[] =
		"{\"ok\":false,\"error\":\"lbd is out of file descriptors; try again\"}\n";
	int fd;

	if (s->reserve < 0)
		return false;
	close(s->reserve);
	fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		(void)send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
	}
	s->reserve = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	return fd >= 0 && s->reserve >= 0;
}

/* The listener stops being watched for ACCEPT_BACKOFF_MS. */
static void
rest_listener(struct lb_ctl_server *s)
{
	s->accept_resume = mono_ms() + ACCEPT_BACKOFF_MS;
	if (s->ev != NULL && lb_ev_fd_mod(s->ev, s->fd, 0) == 0)
		lb_ev_timer_arm(s->rest, ACCEPT_BACKOFF_MS);
}

static void
accept_clients(struct lb_ctl_server *s)
{
	static const char busy[] =
		"{\"ok\":false,\"error\":\"too many clients (limit 16); try again\"}\n";
	struct client *c;
	unsigned i, k;
	int fd;

	for (k = 0; k < ACCEPT_BURST; k++) {
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && shed_client(s))
			continue;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)) {
			rest_listener(s);
			return;
		}
		if (fd < 0)
			return;	/* EAGAIN, or a client that went away before we got to it */
		if (s->n_clients == LB_CTL_MAX_CLIENTS) {
			/* Best effort: a fresh socket always has room for one line. */
			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		for (i = 0; i < LB_CTL_MAX_CLIENTS && s->clients[i].fd >= 0; i++)
			;
		if (i == LB_CTL_MAX_CLIENTS) {	/* n_clients says otherwise; be safe */
			close(fd);
			continue;
		}
		c = &s->clients[i];
		c->in = malloc(IN_CAP + 1);
		if (c->in == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		s->n_clients++;
		if (s->ev != NULL && ev_watch(s, c) != 0) {
			client_drop(s, c);
			continue;
		}
	}
}

void
lb_ctl_server_process(struct lb_ctl_server *s, const struct pollfd *fds, int n,
		lb_ctl_handler_fn fn, void *ctx)
{
	bool listen_ready = false;
	unsigned j;
	int i;

	if (s == NULL || fds == NULL || fn == NULL)
		return;
	s->fn = fn;
	s->ctx = ctx;
	/* Clients first, accepts last: a client closed here frees its fd number,
	 * and a new client must not be mistaken for it by a later entry. */
	for (i = 0; i < n; i++) {
		if (fds[i].revents == 0 || fds[i].fd < 0)
			continue;
		if (fds[i].fd == s->fd) {
			listen_ready = true;
			continue;
		}
		for (j = 0; j < LB_CTL_MAX_CLIENTS; j++) {
			if (s->clients[j].fd == fds[i].fd) {
				client_event(s, &s->clients[j], fds[i].revents, fn, ctx);
				break;
			}
		}
	}
	if (listen_ready)
		accept_clients(s);
	if (s->accept_resume != 0 && mono_ms() >= s->accept_resume)
		s->accept_resume = 0;
}
