/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging: one line per event, in logfmt,
 *
 *   ts=2025-01-31T12:00:00.123Z level=info msg="port started" port=ext driver=net_pcap
 *
 * written to stderr with a single write(2), so lines from the control,
 * builder, metrics and telemetry threads never interleave. When stderr is the
 * systemd journal ($JOURNAL_STREAM names it), the line starts with the
 * syslog priority ("<6>") instead of a timestamp: journald keeps both.
 *
 * Callers write the message, then the fields: the first " key=" with a
 * lower-case key starts them. The message is quoted here; field values the
 * caller cannot vouch for go through LBD_Q(). Events a packet can trigger
 * are rate-limited per call site (LBD_LOG_RL).
 *
 * Also systemd's notify protocol (lbd_notify), which needs no library.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "lbd.h"

static int log_level = LBD_INFO;
static int journal = -1;	/* unknown until the first line */

void
lbd_log_set_level(int level)
{
	log_level = level;
}

/* Whether stderr is the stream $JOURNAL_STREAM ("DEV:INODE") names. */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Length of the message part of text: up to the first " key=". */
static size_t
message_len(const char *text)
{
	const char *p;

	for (p = text; *p != '\0'; p++) {
		const char *k = p;

		if (p != text && p[-1] != ' ')
			continue;
		if (!islower((unsigned char)*k))
			continue;
		while (islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '_')
			k++;
		if (*k == '=')
			return (size_t)(p - text);
	}
	return strlen(text);
}

static size_t
put_escaped(char *out, size_t cap, size_t off, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && off + 2 < cap; i++) {
		char c = s[i];

		if (c == '"' || c == '\\') {
			out[off++] = '\\';
			out[off++] = c;
		} else if (c == '\n') {
			out[off++] = '\\';
			out[off++] = 'n';
		} else if ((unsigned char)c < 0x20) {
			out[off++] = ' ';
		} else {
			out[off++] = c;
		}
	}
	return off;
}

void
lbd_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { 3, 4, 6, 7 };	/* syslog levels */
	char text[4096], line[8192];
	size_t off = 0, mlen, tail;
	struct timespec ts;
	struct tm tm;
	va_list ap;
	ssize_t w;

	if (level > log_level || level < 0)
		return;
	if (journal < 0)
		journal = stderr_is_journal();
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (journal) {
		off = (size_t)snprintf(line, sizeof(line), "<%d>", prio[level]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		off += (size_t)snprintf(line + off, sizeof(line) - off, ".%03ldZ ",
			ts.tv_nsec / 1000000L);
	}
	off += (size_t)snprintf(line + off, sizeof(line) - off, "level=%s msg=\"", names[level]);
	mlen = message_len(text);
	tail = mlen;
	/* "reload failed: key=v" and "stopping, key=v" read as a message */
	while (tail > 0 && (text[tail - 1] == ' ' || text[tail - 1] == ':' || text[tail - 1] == ','))
		tail--;
	off = put_escaped(line, sizeof(line), off, text, tail);
	if (off < sizeof(line) - 1)
		line[off++] = '"';
	if (text[mlen] != '\0') {
		size_t n = strlen(text + mlen);

		if (off + 1 + n + 1 < sizeof(line)) {
			line[off++] = ' ';
			memcpy(line + off, text + mlen, n);
			off += n;
		}
	}
	if (off >= sizeof(line))
		off = sizeof(line) - 1;
	line[off++] = '\n';
	do {
		w = write(2, line, off);
	} while (w < 0 && errno == EINTR);
}

const char *
lbd_log_quote(char *buf, size_t len, const char *s)
{
	size_t off = 0;
	const char *p;
	bool plain = s != NULL && *s != '\0';

	if (s == NULL)
		s = "";
	for (p = s; *p != '\0' && plain; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x21)
			plain = false;
	if (plain)
		return s;
	if (len < 3)
		return "\"\"";
	buf[off++] = '"';
	off = put_escaped(buf, len - 1, off, s, strlen(s));
	buf[off++] = '"';
	buf[off] = '\0';
	return buf;
}

uint64_t
lbd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *
lbd_log_suppressed(char *buf, size_t len, uint32_t n)
{
	if (n == 0)
		return "";
	snprintf(buf, len, " suppressed=%u", n);
	return buf;
}

void
lbd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		lbd_log(LBD_WARN, "systemd notify failed state=%s error=%s", LBD_Q(state),
			LBD_Q(strerror(errno)));
	close(fd);
}
