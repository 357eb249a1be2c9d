/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entry points of the config loader: reading the text, a lexical pre-scan for
 * what libconfig 1.5 lets through silently, and freeing the model. The
 * section parsers live in lb_config_parse.c, the cross-section checks in
 * lb_config_check.c and the reload rules in lb_config_reload.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lb_config_priv.h"

int
lb_config_fail(struct lb_config_ctx *x, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->err == NULL || x->errlen == 0)
		return -EINVAL;
	if (line > 0)
		n = snprintf(x->err, x->errlen, "%s:%d: ", x->name, line);
	else
		n = snprintf(x->err, x->errlen, "%s: ", x->name);
	if (n < 0 || (size_t)n >= x->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool
lb_config_net_edge(const struct lb_cidr *net, uint32_t addr)
{
	uint32_t host = addr & ~net->mask;

	if (net->len > 30)
		return false;
	return host == 0 || host == ~net->mask;
}

bool
lb_config_unicast(uint32_t addr)
{
	uint32_t a = ntohl(addr);

	return (a >> 24) != 0 && (a >> 24) != 127 && (a >> 28) < 14;
}

/*
 * What the pre-scan finds. libconfig 1.5 wraps an integer literal that does
 * not fit 32 bits without a word (3000000000 reads as -1294967296, and
 * 4294968320 as 1024, which would pass a range check), accepts a string or
 * a comment left open at the end of the text (a truncated file loads), and
 * would open any file named by @include. The scan tokenises the text the way
 * libconfig's scanner does (comments, strings, names, numbers) to find these.
 */
struct scan {
	int nul_line;		/* first NUL byte, 0 = none */
	int include_line;	/* first @include, 0 = none */
	int open_line;		/* string or comment still open at the end, 0 = none */
	const char *open_what;
	int big_line;		/* first integer literal beyond 32 bits, 0 = none */
	char big[24];		/* its text (cut short) */
	int stray_line;		/* first string where no value can start, 0 = none */
	size_t stray_off;	/* its offset */
};

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool
is_xdigit(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool
is_name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '*';
}

static bool
is_name_char(char ch)
{
	return is_name_start(ch) || is_digit(ch) || ch == '-' || ch == '_';
}

/* Scans a number starting at s[i] (a sign, digit or dot); returns the index
 * after it and records it in sc when it is an integer too big for 32 bits. */
static size_t
scan_number(const char *s, size_t len, size_t i, int line, struct scan *sc)
{
	size_t start = i, j;
	unsigned long long v = 0;
	bool big = false;

	if (s[i] == '+' || s[i] == '-')
		i++;
	/* libconfig's hex literals have no sign. */
	if (i == start && i + 2 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
	    is_xdigit(s[i + 2])) {
		for (i += 2; i < len && is_xdigit(s[i]); i++) {
			unsigned d = is_digit(s[i]) ? (unsigned)(s[i] - '0') :
				(unsigned)((s[i] | 0x20) - 'a' + 10);

			v = v * 16 + d;
			if (v > 0x7fffffffULL)
				big = true;
			if (v > 0xffffffffULL)
				v = 0xffffffffULL;	/* saturate: only "big" matters */
		}
	} else {
		for (; i < len && is_digit(s[i]); i++) {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (v > 0x7fffffffULL)
				big = true;
			if (v > 0xffffffffULL)
				v = 0xffffffffULL;
		}
		/* A dot or an exponent makes it a float, which is never "big". */
		if (i < len && s[i] == '.') {
			for (i++; i < len && is_digit(s[i]); i++)
				;
			big = false;
		}
		if (i < len && (s[i] == 'e' || s[i] == 'E')) {
			j = i + 1;
			if (j < len && (s[j] == '+' || s[j] == '-'))
				j++;
			if (j < len && is_digit(s[j])) {
				for (i = j; i < len && is_digit(s[i]); i++)
					;
				big = false;
			}
		}
	}
	/* The 64-bit suffix, so that the message quotes the literal whole. */
	if (i > start && i < len && s[i] == 'L') {
		i++;
		if (i < len && s[i] == 'L')
			i++;
	}
	if (big && sc->big_line == 0) {
		size_t n = LB_MIN(i - start, sizeof(sc->big) - 1);

		memcpy(sc->big, s + start, n);
		sc->big[n] = '\0';
		sc->big_line = line;
	}
	return i > start ? i : start + 1;
}

/*
 * A string may only follow '=', ':', '[', '(', another string (they
 * concatenate) or a ',' between the elements of an array or list (a ','
 * after a setting ends it, like ';'). Anywhere else it is a syntax error, and
 * one that libconfig 1.5 must not see: its parser leaks the text of a string
 * it fails on (the grammar frees no token during error recovery), so every
 * rejected reload of such a file would leak. The prescan finds the first one.
 * in_values: the innermost bracket is '[' or '('.
 */
static bool
string_may_follow(char prev, bool in_values)
{
	return prev == '=' || prev == ':' || prev == '[' || prev == '(' || prev == '"' ||
		(prev == ',' && in_values);
}

#define SCAN_DEPTH	256

static void
prescan(const char *s, size_t len, struct scan *sc)
{
	size_t i = 0;
	int line = 1;
	char prev = '\0';	/* the last token: its character, 'n' name, '0' number */
	char nest[SCAN_DEPTH];	/* open brackets, innermost last */
	unsigned depth = 0;

	memset(sc, 0, sizeof(*sc));
	while (i < len) {
		char ch = s[i];

		if (ch == '\n') {
			line++;
			i++;
		} else if (ch == '\0') {
			if (sc->nul_line == 0)
				sc->nul_line = line;
			i++;
		} else if (ch == '#' || (ch == '/' && i + 1 < len && s[i + 1] == '/')) {
			while (i < len && s[i] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < len && s[i + 1] == '*') {
			int start = line;

			for (i += 2; i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/'); i++)
				if (s[i] == '\n')
					line++;
			if (i >= len && sc->open_line == 0) {
				sc->open_line = start;
				sc->open_what = "comment";
			}
			i = i < len ? i + 2 : len;
		} else if (ch == '"') {
			int start = line;

			/* deeper than tracked: assume values (never reject a good file) */
			bool in_values = depth == 0 ? false : depth > SCAN_DEPTH ||
				nest[depth - 1] == '[' || nest[depth - 1] == '(';

			if (!string_may_follow(prev, in_values) && sc->stray_line == 0) {
				sc->stray_line = line;
				sc->stray_off = i;
			}
			prev = '"';
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				if (s[i] == '\n')
					line++;
			}
			if (i >= len && sc->open_line == 0) {
				sc->open_line = start;
				sc->open_what = "string";
			}
			i++;
		} else if (is_name_start(ch)) {
			prev = 'n';
			while (i < len && is_name_char(s[i]))
				i++;
		} else if (ch == '@') {
			prev = '@';
			if (len - i >= 8 && memcmp(s + i, "@include", 8) == 0 &&
			    sc->include_line == 0)
				sc->include_line = line;
			i++;
		} else if (is_digit(ch) || ch == '+' || ch == '-' || ch == '.') {
			prev = '0';
			i = scan_number(s, len, i, line, sc);
		} else {
			if (ch == '[' || ch == '(' || ch == '{') {
				if (depth < SCAN_DEPTH)
					nest[depth] = ch;
				depth++;
			} else if ((ch == ']' || ch == ')' || ch == '}') && depth > 0) {
				depth--;
			}
			if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\f' && ch != '\v')
				prev = ch;
			i++;
		}
	}
}

static struct lb_config *
load_text(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	struct lb_config_ctx x = { .name = name, .err = err, .errlen = errlen };
	struct lb_config *c;
	struct scan sc;
	config_t cf;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	prescan(text, len, &sc);
	if (sc.nul_line != 0) {
		lb_config_fail(&x, sc.nul_line, "NUL byte in the file (not a text file?)");
		return NULL;
	}
	if (sc.include_line != 0) {
		lb_config_fail(&x, sc.include_line,
			"@include is not supported (keep the configuration in one file)");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		lb_config_fail(&x, 0, "out of memory");
		return NULL;
	}
	x.c = c;
	snprintf(c->path, sizeof(c->path), "%s", name);

	config_init(&cf);
	if (sc.stray_line != 0) {
		/* libconfig must not see the stray string (see string_may_follow):
		 * report an error before it as libconfig would, else the string */
		char *head = strndup(text, sc.stray_off);

		if (head != NULL && config_read_string(&cf, head) != CONFIG_TRUE &&
		    config_error_line(&cf) < sc.stray_line && config_error_line(&cf) > 0) {
			const char *t = config_error_text(&cf);

			lb_config_fail(&x, config_error_line(&cf), "%s", t != NULL ? t : "syntax error");
		} else {
			lb_config_fail(&x, sc.stray_line, "syntax error (a string where no value "
				"can start)");
		}
		free(head);
		rc = -EINVAL;
	} else if (config_read_string(&cf, text) != CONFIG_TRUE &&
	    (sc.open_line == 0 || config_error_line(&cf) < sc.open_line)) {
		const char *t = config_error_text(&cf);

		lb_config_fail(&x, LB_MAX(config_error_line(&cf), 1), "%s",
			t != NULL ? t : "syntax error");
		rc = -EINVAL;
	} else if (sc.open_line != 0) {
		/* Everything after it was swallowed: any later error is its echo. */
		rc = lb_config_fail(&x, sc.open_line, "unterminated %s", sc.open_what);
	} else if (sc.big_line != 0) {
		rc = lb_config_fail(&x, sc.big_line,
			"integer %s is out of range (lbd's integers fit 32 bits)", sc.big);
	} else {
		rc = lb_config_parse(&x, config_root_setting(&cf));
		if (rc == 0)
			rc = lb_config_check(&x);
	}
	config_destroy(&cf);
	if (rc != 0) {
		lb_config_free(c);
		return NULL;
	}
	return c;
}

struct lb_config *
lb_config_load_string(const char *text, const char *name, char *err, size_t errlen)
{
	if (name == NULL)
		name = "<string>";
	if (text == NULL) {
		struct lb_config_ctx x = { .name = name, .err = err, .errlen = errlen };

		lb_config_fail(&x, 0, "no configuration text");
		return NULL;
	}
	return load_text(text, strlen(text), name, err, errlen);
}

struct lb_config *
lb_config_load(const char *path, char *err, size_t errlen)
{
	struct lb_config_ctx x = { .name = path, .err = err, .errlen = errlen };
	struct lb_config *c;
	char ebuf[128];
	size_t len = 0, cap = 8192, n;
	char *buf, *nbuf;
	FILE *f;

	if (path == NULL) {
		x.name = "<null>";
		lb_config_fail(&x, 0, "no configuration file given");
		return NULL;
	}
	f = fopen(path, "re");
	if (f == NULL) {
		lb_config_fail(&x, 0, "cannot open: %s", strerror_r(errno, ebuf, sizeof(ebuf)));
		return NULL;
	}
	buf = malloc(cap + 1);
	if (buf == NULL) {
		fclose(f);
		lb_config_fail(&x, 0, "out of memory");
		return NULL;
	}
	for (;;) {
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len < cap)
			break;
		if (cap >= LB_CONFIG_FILE_MAX) {
			fclose(f);
			free(buf);
			lb_config_fail(&x, 0, "file larger than %u bytes", LB_CONFIG_FILE_MAX);
			return NULL;
		}
		cap *= 2;
		nbuf = realloc(buf, cap + 1);
		if (nbuf == NULL) {
			fclose(f);
			free(buf);
			lb_config_fail(&x, 0, "out of memory");
			return NULL;
		}
		buf = nbuf;
	}
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		free(buf);
		lb_config_fail(&x, 0, "cannot read: %s", strerror_r(e, ebuf, sizeof(ebuf)));
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	c = load_text(buf, len, path, err, errlen);
	free(buf);
	return c;
}

void
lb_config_free(struct lb_config *c)
{
	uint32_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_eal_args; i++)
		free(c->eal_args[i]);
	if (c->frontends != NULL) {
		for (i = 0; i < c->n_frontends; i++) {
			free(c->frontends[i].src_ranges);
			free(c->frontends[i].targets);
		}
		free(c->frontends);
	}
	for (i = 0; i < c->n_pools; i++) {
		free(c->pools[i].ranges);
		free(c->pool_lines[i].range);
	}
	free(c->pools);
	free(c->pool_lines);
	free(c);
}

const char *
lb_role_str(unsigned role)
{
	switch (role) {
	case LB_ROLE_EXTERNAL:
		return "external";
	case LB_ROLE_INTERNAL:
		return "internal";
	case LB_ROLE_BOTH:
		return "both";
	}
	return "?";
}

