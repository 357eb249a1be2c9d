/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lb_kapi_util.h"

/* --- retry delays --- */

uint64_t
lb_kapi_backoff_ms(const struct lb_kapi_backoff *b, unsigned attempt, uint64_t rnd)
{
	uint64_t base = b->base_ms ? b->base_ms : 1;
	uint64_t max = LB_MAX((uint64_t)b->max_ms, base);
	uint64_t d = base, half;
	unsigned i;

	for (i = 0; i < attempt && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	half = d / 2;
	return half + rnd % (d - half + 1);
}

uint64_t
lb_kapi_retry_delay_ms(uint64_t backoff_ms, int64_t retry_after_s)
{
	uint64_t ra;

	if (retry_after_s < 0)
		return backoff_ms;
	ra = (uint64_t)LB_MIN(retry_after_s, (int64_t)LB_KAPI_RETRY_AFTER_MAX_S) * 1000;
	return LB_MAX(ra, backoff_ms);
}

uint64_t
lb_kapi_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* --- bearer token file --- */

static void
set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
lb_kapi_token_init(struct lb_kapi_token *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->path = strdup(path);
	return t->path == NULL ? -ENOMEM : 0;
}

void
lb_kapi_token_fini(struct lb_kapi_token *t)
{
	free(t->path);
	free(t->value);
	memset(t, 0, sizeof(*t));
}

int
lb_kapi_token_check(char *tok)
{
	size_t len = strlen(tok), i, start = 0;

	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t' ||
	       tok[len - 1] == '\n' || tok[len - 1] == '\r'))
		len--;
	while (start < len && (tok[start] == ' ' || tok[start] == '\t' ||
	       tok[start] == '\n' || tok[start] == '\r'))
		start++;
	memmove(tok, tok + start, len - start);
	len -= start;
	tok[len] = '\0';
	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
			return -EINVAL;
	return 0;
}

static bool
same_file(const struct lb_kapi_token *t, const struct stat *st)
{
	return t->have_id && t->dev == st->st_dev && t->ino == st->st_ino &&
		t->size == st->st_size && t->mtime.tv_sec == st->st_mtim.tv_sec &&
		t->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int
lb_kapi_token_refresh(struct lb_kapi_token *t, bool force, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, e, changed;

	if (stat(t->path, &st) < 0) {
		e = errno;
		set_err(err, errlen, "cannot read token file %s: %s", t->path, strerror(e));
		return -e;
	}
	if (!force && t->value != NULL && same_file(t, &st))
		return 0;
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		set_err(err, errlen, "cannot read token file %s: %s", t->path, strerror(e));
		return -e;
	}
	/* the identity of what is actually read, in case it was swapped since */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		set_err(err, errlen, "token file %s is not a regular file", t->path);
		return -EINVAL;
	}
	if (st.st_size > LB_KAPI_TOKEN_MAX) {
		close(fd);
		set_err(err, errlen, "token file %s is larger than %d bytes", t->path,
			LB_KAPI_TOKEN_MAX);
		return -EFBIG;
	}
	buf = malloc(LB_KAPI_TOKEN_MAX + 2);
	if (buf == NULL) {
		close(fd);
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		n = read(fd, buf + len, LB_KAPI_TOKEN_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > LB_KAPI_TOKEN_MAX)
			break;
	}
	e = n < 0 ? errno : 0;
	close(fd);
	if (e != 0 || len > LB_KAPI_TOKEN_MAX) {
		free(buf);
		if (e != 0) {
			set_err(err, errlen, "cannot read token file %s: %s", t->path, strerror(e));
			return -e;
		}
		set_err(err, errlen, "token file %s is larger than %d bytes", t->path,
			LB_KAPI_TOKEN_MAX);
		return -EFBIG;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) == NULL && strspn(buf, " \t\r\n") == len) {
		free(buf);
		set_err(err, errlen, "token file %s is empty", t->path);
		return -ENODATA;
	}
	if (memchr(buf, '\0', len) != NULL || lb_kapi_token_check(buf) < 0) {
		free(buf);
		set_err(err, errlen, "token file %s holds characters a bearer token cannot have",
			t->path);
		return -EINVAL;
	}
	changed = t->value == NULL || strcmp(t->value, buf) != 0;
	free(t->value);
	t->value = buf;
	t->have_id = true;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->size = st.st_size;
	t->mtime = st.st_mtim;
	return changed;
}

/* --- newline-delimited JSON --- */

#define NDJSON_DEPTH		64
#define NDJSON_DEFAULT_MAX	(64u << 20)

int
lb_kapi_ndjson_init(struct lb_kapi_ndjson *s, size_t max_bytes)
{
	memset(s, 0, sizeof(*s));
	s->tok = json_tokener_new_ex(NDJSON_DEPTH);
	if (s->tok == NULL)
		return -ENOMEM;
	/* Not JSON_TOKENER_VALIDATE_UTF8: json-c 0.16 keeps its UTF-8 state in
	 * a local of json_tokener_parse_ex(), so a character split across two
	 * chunks would be rejected. Bytes in strings pass through as they are. */
	json_tokener_set_flags(s->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	s->max_bytes = max_bytes ? max_bytes : NDJSON_DEFAULT_MAX;
	return 0;
}

void
lb_kapi_ndjson_fini(struct lb_kapi_ndjson *s)
{
	if (s->tok != NULL)
		json_tokener_free(s->tok);
	s->tok = NULL;
}

void
lb_kapi_ndjson_reset(struct lb_kapi_ndjson *s)
{
	json_tokener_reset(s->tok);
	s->mid = false;
	s->value_bytes = 0;
}

bool
lb_kapi_ndjson_pending(const struct lb_kapi_ndjson *s)
{
	return s->mid;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

ssize_t
lb_kapi_ndjson_feed(struct lb_kapi_ndjson *s, const char *buf, size_t len,
		struct json_object **out)
{
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t i = 0, n, allow, used;

	*out = NULL;
	if (!s->mid) {
		while (i < len && is_ws(buf[i]))
			i++;
		if (i == len)
			return (ssize_t)len;
		s->mid = true;
		s->value_bytes = 0;
	}
	n = LB_MIN(len - i, (size_t)INT_MAX);
	allow = s->max_bytes - s->value_bytes;
	if (n > allow)
		n = allow;
	if (n == 0)
		return -EMSGSIZE;
	obj = json_tokener_parse_ex(s->tok, buf + i, (int)n);
	jerr = json_tokener_get_error(s->tok);
	if (jerr == json_tokener_continue) {
		s->value_bytes += n;
		if (i + n < len && s->value_bytes == s->max_bytes)
			return -EMSGSIZE;
		return (ssize_t)(i + n);
	}
	if (jerr != json_tokener_success)
		return -EBADMSG;
	used = json_tokener_get_parse_end(s->tok);
	json_tokener_reset(s->tok);
	s->mid = false;
	s->value_bytes = 0;
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EPROTO;
	}
	*out = obj;
	return (ssize_t)(i + used);
}

/* --- base64 --- */

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
lb_kapi_base64_decode(const char *in, size_t len, char **out, size_t *out_len)
{
	char *o = malloc(len / 4 * 3 + 4);
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0, pad = 0;

	if (o == NULL)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_val(c);
		if (v < 0 || pad > 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (char)(acc >> bits & 0xff);
		}
	}
	/* leftover bits must be zero padding of a 2- or 3-character group */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0 || pad > 2)
		goto bad;
	o[n] = '\0';
	*out = o;
	*out_len = n;
	return 0;
bad:
	free(o);
	return -EINVAL;
}
