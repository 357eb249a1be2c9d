/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket server attached to the event loop (lib/ev), and
 * deferred responses: a handler that answers later, pipelined requests
 * waiting behind it, a client that leaves before the answer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "lb_ctl.h"
#include "lb_ev.h"

struct fix {
	char dir[64];
	char path[128];
	struct lb_ctl_server *s;
	struct lb_ev *ev;
	uint64_t tokens[8];
	int n_tokens;
	int calls;
};

/* "later" defers; "now" defers and completes at once; anything else echoes
 * cmd. */
static struct json_object *
handler(void *ctx, const char *cmd, struct json_object *req, char *err, size_t errlen)
{
	struct fix *f = ctx;
	struct json_object *r;

	(void)req;
	(void)err;
	(void)errlen;
	f->calls++;
	if (strcmp(cmd, "later") == 0) {
		assert_true(f->n_tokens < 8);
		f->tokens[f->n_tokens++] = lb_ctl_server_defer(f->s);
		return NULL;
	}
	if (strcmp(cmd, "now") == 0) {
		assert_int_equal(lb_ctl_server_complete(f->s, lb_ctl_server_defer(f->s), NULL,
			"refused at once"), 0);
		return NULL;
	}
	r = json_object_new_object();
	json_object_object_add(r, "cmd", json_object_new_string(cmd));
	return r;
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lbctlev.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
	f->s = lb_ctl_server_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	f->ev = lb_ev_create();
	assert_non_null(f->ev);
	assert_int_equal(lb_ctl_server_attach(f->s, f->ev, handler, f), 0);
	assert_int_equal(lb_ctl_server_attach(f->s, f->ev, handler, f), -EINVAL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	struct lb_ev_stats st;

	lb_ctl_server_close(f->s);
	lb_ev_stats(f->ev, &st);
	assert_int_equal(st.fds, 0);	/* close deregistered everything */
	lb_ev_destroy(f->ev);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Runs the loop until fd has n complete lines (or ~2 s); returns them. */
static char *
read_lines(struct fix *f, int fd, int n, char *buf, size_t cap)
{
	size_t len = 0;
	int i, lines = 0;

	buf[0] = '\0';
	for (i = 0; i < 400 && lines < n; i++) {
		ssize_t r;

		lb_ev_run_once(f->ev, 5);
		r = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (r > 0) {
			len += (size_t)r;
			buf[len] = '\0';
			lines = 0;
			for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
				lines++;
		}
	}
	return buf;
}

static void
pump(struct fix *f, int passes)
{
	while (passes-- > 0)
		lb_ev_run_once(f->ev, 2);
}

static void
test_attached(void **state)
{
	struct fix *f = *state;
	char buf[4096];
	int fd = connect_to(f->path);

	send_str(fd, "{\"cmd\":\"a\"}\n{\"cmd\":\"b\"}\n");
	read_lines(f, fd, 2, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"result\":{\"cmd\":\"a\"}}\n"
		"{\"ok\":true,\"result\":{\"cmd\":\"b\"}}\n");
	assert_int_equal(lb_ctl_server_clients(f->s), 1);
	close(fd);
	pump(f, 5);
	assert_int_equal(lb_ctl_server_clients(f->s), 0);
}

static void
test_deferred(void **state)
{
	struct fix *f = *state;
	struct json_object *r;
	char buf[4096];
	int fd = connect_to(f->path), other = connect_to(f->path);

	/* a deferred request, and one pipelined behind it */
	send_str(fd, "{\"cmd\":\"later\"}\n{\"cmd\":\"next\"}\n");
	pump(f, 10);
	assert_int_equal(f->n_tokens, 1);
	assert_int_equal(f->calls, 1);	/* "next" waits for "later" */
	/* other clients are served meanwhile */
	send_str(other, "{\"cmd\":\"x\"}\n");
	read_lines(f, other, 1, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"result\":{\"cmd\":\"x\"}}\n");
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	/* the answer, then the queued request's */
	r = json_object_new_object();
	json_object_object_add(r, "generation", json_object_new_int(7));
	assert_int_equal(lb_ctl_server_complete(f->s, f->tokens[0], r, NULL), 0);
	read_lines(f, fd, 2, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"result\":{\"generation\":7}}\n"
		"{\"ok\":true,\"result\":{\"cmd\":\"next\"}}\n");
	/* completing twice: the token is spent */
	assert_int_equal(lb_ctl_server_complete(f->s, f->tokens[0], NULL, "x"), -ENOENT);

	/* an error answer */
	send_str(fd, "{\"cmd\":\"later\"}\n");
	pump(f, 10);
	assert_int_equal(f->n_tokens, 2);
	assert_int_equal(lb_ctl_server_complete(f->s, f->tokens[1], NULL, "build failed"), 0);
	read_lines(f, fd, 1, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"build failed\"}\n");

	/* deferred and completed inside the handler */
	send_str(fd, "{\"cmd\":\"now\"}\n{\"cmd\":\"after\"}\n");
	read_lines(f, fd, 2, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"refused at once\"}\n"
		"{\"ok\":true,\"result\":{\"cmd\":\"after\"}}\n");

	/* a request sent with EOF right after it is still answered */
	send_str(fd, "{\"cmd\":\"later\"}\n");
	shutdown(fd, SHUT_WR);
	pump(f, 10);
	assert_int_equal(f->n_tokens, 3);
	assert_int_equal(lb_ctl_server_complete(f->s, f->tokens[2], NULL, "late"), 0);
	read_lines(f, fd, 1, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"late\"}\n");
	pump(f, 5);
	close(fd);

	/* the client leaves before the answer: dropped, completion says so */
	fd = connect_to(f->path);
	send_str(fd, "{\"cmd\":\"later\"}\n");
	pump(f, 10);
	assert_int_equal(f->n_tokens, 4);
	close(fd);
	pump(f, 10);
	assert_int_equal(lb_ctl_server_clients(f->s), 1);	/* only "other" */
	r = json_object_new_object();
	assert_int_equal(lb_ctl_server_complete(f->s, f->tokens[3], r, NULL), -ENOENT);
	close(other);
	pump(f, 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
