/* SPDX-License-Identifier: BSD-3-Clause */
/* Client side of the control socket (lbctl, tests) and helpers both sides share. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lb_ctl.h"
#include "lb_ctl_priv.h"

void
lb_ctl_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
lb_ctl_fill_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}


int
lb_ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd, e;

	if (path == NULL || lb_ctl_fill_addr(&sa, path) < 0) {
		lb_ctl_set_err(err, errlen, "cannot connect to %s: %s", path ? path : "(null)",
			strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		lb_ctl_set_err(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		if (e == ENOENT)
			lb_ctl_set_err(err, errlen, "lbd is not running (no socket at %s)", path);
		else
			lb_ctl_set_err(err, errlen, "cannot connect to %s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to become ready for events; 1 ready, 0 timed out, <0 errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int rc;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left < 0)
			left = 0;
		rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Client responses may be larger than requests; the server caps them. */
#define CALL_MAX_RESPONSE	(LB_CTL_MAX_RESPONSE + 4096)

struct json_object *
lb_ctl_call(int fd, struct json_object *req, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct json_object *resp = NULL, *ok;
	const char *str;
	char *buf = NULL, *nl = NULL, *p;
	size_t len, off = 0, cap = 0, blen = 0;
	ssize_t n;
	int rc;

	str = json_object_to_json_string_length(req, LB_CTL_SER_FLAGS, &len);
	if (str == NULL) {
		lb_ctl_set_err(err, errlen, "cannot encode request");
		return NULL;
	}
	/* The plain encoding escapes newlines inside strings, so the request
	 * is one line. */
	while (off < len + 1) {
		const char *src = off < len ? str + off : "\n";
		size_t todo = off < len ? len - off : 1;

		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc <= 0)
			goto io_fail;
		n = send(fd, src, todo, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			/* A server that refuses us (too many clients) says why
			 * before it closes: read that rather than report EPIPE. */
			if (errno == EPIPE || errno == ECONNRESET)
				break;
			rc = -errno;
			goto io_fail;
		}
		off += (size_t)n;
	}
	while (nl == NULL) {
		if (blen == cap) {
			if (cap >= CALL_MAX_RESPONSE) {
				lb_ctl_set_err(err, errlen, "invalid response from lbd: longer than %u bytes",
					CALL_MAX_RESPONSE);
				goto fail;
			}
			cap = cap ? cap * 2 : 16384;
			p = realloc(buf, cap + 1);
			if (p == NULL) {
				lb_ctl_set_err(err, errlen, "out of memory");
				goto fail;
			}
			buf = p;
		}
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc <= 0)
			goto io_fail;
		n = recv(fd, buf + blen, cap - blen, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			rc = -errno;
			goto io_fail;
		}
		if (n == 0) {
			lb_ctl_set_err(err, errlen, "lbd closed the connection without answering");
			goto fail;
		}
		nl = memchr(buf + blen, '\n', (size_t)n);
		blen += (size_t)n;
	}
	*nl = '\0';
	resp = json_tokener_parse(buf);
	if (resp == NULL || !json_object_is_type(resp, json_type_object) ||
	    !json_object_object_get_ex(resp, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		lb_ctl_set_err(err, errlen, "invalid response from lbd: %.80s", buf);
		json_object_put(resp);
		resp = NULL;
	}
	free(buf);
	return resp;
io_fail:
	if (rc == 0)
		lb_ctl_set_err(err, errlen, "timed out after %d ms waiting for lbd", timeout_ms);
	else
		lb_ctl_set_err(err, errlen, "connection to lbd failed: %s", strerror(-rc));
fail:
	free(buf);
	return NULL;
}
