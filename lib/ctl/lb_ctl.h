/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_CTL_H
#define LB_CTL_H

/*
 * The control socket: newline-delimited JSON over a Unix stream socket, spoken
 * between lbd and lbctl. docs/lbctl.md is the protocol reference.
 *
 * Server side: a non-blocking, poll-driven server for the control thread's
 * event loop. It never blocks and never waits on a client: input is framed by
 * newlines and parsed with json-c's tokener, output is queued per client and
 * written when the socket accepts it. A request that is not a JSON object with
 * a string "cmd" is answered with {"ok":false,"error":"bad request: ..."}
 * without reaching the handler (ARCHITECTURE.md invariant 4).
 *
 * Requests on one connection are answered in order, one at a time: the server
 * does not run a client's next request before that client's previous response
 * has left the output buffer, so a client that stops reading only stalls
 * itself, and its buffered output is bounded by one response.
 *
 * Input is read one request at a time too: what a client pipelines stays in
 * its socket until its turn, so the server holds at most one request per
 * client and runs at most one per client per event (a client that writes
 * thousands at once gets them run one per turn of the caller's loop).
 *
 * When accept4 fails for lack of descriptors or memory, the listening socket
 * rests for 100 ms (lb_ctl_server_pollfds gives it fd -1, which poll ignores;
 * attached to an event loop, its interest is dropped and a timer restores
 * it) instead of being polled again at once; out of descriptors, the server
 * first gives up a spare one to tell each waiting client why it is turned
 * away.
 *
 * Client side: lb_ctl_connect() and lb_ctl_call(), blocking helpers for lbctl
 * and tests.
 *
 * Single-threaded: a server and its clients are used from one thread.
 */
#include <poll.h>
#include <json-c/json.h>

#include "lb_common.h"

#define LB_CTL_DEFAULT_SOCKET	"/run/lbd/lbd.sock"
#define LB_CTL_MAX_REQUEST	65536		/* bytes per request line, newline excluded */
#define LB_CTL_MAX_CLIENTS	16
#define LB_CTL_MAX_RESPONSE	(4u << 20)	/* a larger result is answered with an error */
#define LB_CTL_MAX_POLLFDS	(1 + LB_CTL_MAX_CLIENTS)
/* Longest socket path: sun_path less room for the temporary name the socket
 * is bound under before it is renamed into place. */
#define LB_CTL_PATH_MAX		92

struct lb_ctl_server;

/*
 * Creates the listening socket at path: creates the parent directory (0755)
 * if missing, fails with "... already running ..." if a server answers on
 * path, replaces a stale socket, refuses to replace anything that is not a
 * socket. The socket is bound under a temporary name, set to mode 0600 and
 * listening before it is renamed to path, so nobody ever sees it with a wider
 * mode or connects before it listens. Returns NULL with err set on failure.
 */
struct lb_ctl_server *lb_ctl_server_open(const char *path, char *err, size_t errlen);

/* Closes every client and the listening socket and unlinks path (if it is
 * still the socket this server created). NULL is a no-op. */
void lb_ctl_server_close(struct lb_ctl_server *s);

/*
 * Fills fds[0..] with the listening socket and one entry per client (POLLIN
 * while the client may send its next request, POLLOUT while output is
 * pending) and returns the number of entries written, at most max. max of
 * LB_CTL_MAX_POLLFDS always suffices. The entries may sit anywhere in the
 * caller's poll array.
 */
int lb_ctl_server_pollfds(struct lb_ctl_server *s, struct pollfd *fds, int max);

/*
 * Runs a command. cmd is the request's "cmd"; req is the whole request object
 * (owned by the server, valid during the call). Returns the "result" object,
 * whose reference passes to the server, or NULL with a message in err, which
 * the client receives as {"ok":false,"error":err}.
 */
typedef struct json_object *(*lb_ctl_handler_fn)(void *ctx, const char *cmd,
		struct json_object *req, char *err, size_t errlen);

/*
 * Handles the events poll() returned in fds[0..n-1]; entries that are not
 * this server's are ignored, so the caller may pass its whole poll array.
 * Accepts new clients, reads, runs complete requests through fn, writes
 * responses, drops clients that hung up or misbehaved. Never blocks.
 */
void lb_ctl_server_process(struct lb_ctl_server *s, const struct pollfd *fds, int n,
		lb_ctl_handler_fn fn, void *ctx);

struct lb_ev;

/*
 * Lets the server run from an event loop (lib/ev) instead of pollfds/process:
 * it registers its listening socket and each client's socket with ev, keeps
 * their interest up to date and runs requests through fn(ctx, ...) from the
 * loop's callbacks. Call once, after open; close deregisters everything.
 * 0 or a negative errno.
 */
int lb_ctl_server_attach(struct lb_ctl_server *s, struct lb_ev *ev, lb_ctl_handler_fn fn,
	void *ctx);

/*
 * Deferred responses, for commands whose answer is known only later (a
 * snapshot that a builder thread is compiling, workers sampling flows).
 * Called from inside a handler: marks the request as answered later and
 * returns its token; the handler's return value is then ignored (return
 * NULL). The client's next requests wait, as for any request. Later,
 * lb_ctl_server_complete(token, result, err) sends {"ok":true,"result":...}
 * when result is non-NULL (its reference passes to the server), else
 * {"ok":false,"error":err}. Returns 0, or -ENOENT when the client has gone
 * (result is released). Completing from inside the handler that deferred
 * (an immediate answer after all) is allowed: the answer goes out as usual.
 */
uint64_t lb_ctl_server_defer(struct lb_ctl_server *s);
int lb_ctl_server_complete(struct lb_ctl_server *s, uint64_t token, struct json_object *result,
	const char *err);

/* Number of connected clients (for status output and tests). */
unsigned lb_ctl_server_clients(const struct lb_ctl_server *s);

/*
 * Client: connects to the server at path. Returns a blocking, close-on-exec
 * socket, or a negative errno with err set to "lbd is not running (no socket
 * at PATH)" when nothing exists at path, else "cannot connect to PATH: ...".
 */
int lb_ctl_connect(const char *path, char *err, size_t errlen);

/*
 * Client: sends req (not consumed) as one line and waits up to timeout_ms
 * (negative: forever) for its response line. Returns the whole response, an
 * object with a boolean "ok" (the caller puts it), or NULL with err set on a
 * timeout, a closed connection or a malformed response. fd must carry no
 * other outstanding request; SIGPIPE is never raised.
 */
struct json_object *lb_ctl_call(int fd, struct json_object *req, int timeout_ms,
		char *err, size_t errlen);

#endif /* LB_CTL_H */
