/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LB_KAPI_UTIL_H
#define LB_KAPI_UTIL_H

/*
 * Building blocks of the API client, pure and unit-tested on their own:
 * retry delays, the token file watcher, the newline-delimited JSON splitter,
 * base64 and a small random generator.
 */
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "lb_common.h"

/* --- retry delays --- */

struct lb_kapi_backoff {
	uint32_t base_ms;
	uint32_t max_ms;
};

/* Longest Retry-After honoured; a server asking for more gets this. */
#define LB_KAPI_RETRY_AFTER_MAX_S	600

/*
 * Delay before retry number attempt (0 for the first retry): the nominal
 * delay d = min(max_ms, base_ms * 2^attempt), jittered uniformly into
 * [d/2, d] by rnd (any 64-bit random value), so that many clients restarted
 * together spread out, and never above the cap.
 */
uint64_t lb_kapi_backoff_ms(const struct lb_kapi_backoff *b, unsigned attempt, uint64_t rnd);

/* The delay when the server sent Retry-After (seconds; negative: none): the
 * larger of the backoff and Retry-After, Retry-After capped at
 * LB_KAPI_RETRY_AFTER_MAX_S. */
uint64_t lb_kapi_retry_delay_ms(uint64_t backoff_ms, int64_t retry_after_s);

/* xorshift64*: the next value of *state (non-zero; 0 is replaced). */
uint64_t lb_kapi_rand(uint64_t *state);

/* --- bearer token file --- */

#define LB_KAPI_TOKEN_MAX	(64 * 1024)

/*
 * A token file watched for changes: stat() before each request is cheap, and
 * the file is read again when its device, inode, size or mtime changed
 * (kubelet replaces projected tokens by swapping a symlinked directory, which
 * changes the inode) or when forced (after a 401).
 */
struct lb_kapi_token {
	char *path;
	char *value;		/* current token; NULL until read successfully */
	bool have_id;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* 0 or -ENOMEM. Reads nothing yet. */
int lb_kapi_token_init(struct lb_kapi_token *t, const char *path);
void lb_kapi_token_fini(struct lb_kapi_token *t);

/*
 * Re-reads the file if it changed since the last successful read, or always
 * when force. Returns 1 when the token value changed (or was read for the
 * first time), 0 when it did not (or the file is unchanged), or a negative
 * errno with err set: the file is missing or unreadable (-errno), empty
 * (-ENODATA), too large (-EFBIG) or holds characters a header cannot carry
 * (-EINVAL). On failure the previous value stays in use.
 */
int lb_kapi_token_refresh(struct lb_kapi_token *t, bool force, char *err, size_t errlen);

/* Trims surrounding whitespace in place; -EINVAL when what is left is empty
 * or holds a control character, space or non-ASCII byte. */
int lb_kapi_token_check(char *tok);

/* --- newline-delimited JSON --- */

/*
 * Splits a byte stream of JSON objects separated by whitespace (a watch
 * stream), or holding one object (a LIST body), fed in chunks cut anywhere:
 * json-c's tokener keeps the state across chunks.
 */
struct lb_kapi_ndjson {
	struct json_tokener *tok;
	size_t max_bytes;	/* longest value accepted */
	size_t value_bytes;	/* bytes of the value being parsed */
	bool mid;		/* a value has started */
};

/* max_bytes 0: 64 MiB. 0 or -ENOMEM. */
int lb_kapi_ndjson_init(struct lb_kapi_ndjson *s, size_t max_bytes);
void lb_kapi_ndjson_fini(struct lb_kapi_ndjson *s);
/* Forgets a partly parsed value. */
void lb_kapi_ndjson_reset(struct lb_kapi_ndjson *s);

/*
 * Feeds buf[0..len) until one value completes or the input is used up.
 * Returns the bytes consumed and sets *out to the completed object (a new
 * reference) or NULL when more input is needed. Errors (call reset before
 * feeding again): -EBADMSG invalid JSON, -EMSGSIZE value over max_bytes,
 * -EPROTO a value that is not an object.
 */
ssize_t lb_kapi_ndjson_feed(struct lb_kapi_ndjson *s, const char *buf, size_t len,
		struct json_object **out);

/* True between the first byte of a value and its end (a stream cut here is
 * truncated). */
bool lb_kapi_ndjson_pending(const struct lb_kapi_ndjson *s);

/* --- base64 (kubeconfig *-data fields) --- */

/* Decodes standard base64 (padding optional, whitespace skipped) into a new
 * NUL-terminated buffer; *out_len excludes the NUL. 0, -EINVAL or -ENOMEM. */
int lb_kapi_base64_decode(const char *in, size_t len, char **out, size_t *out_len);

#endif /* LB_KAPI_UTIL_H */
