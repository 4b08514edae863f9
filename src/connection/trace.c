/* SPDX-License-Identifier: MIT */
/*
 * trace.c - XPC_TRACE=1: one line per frame on stderr.
 *
 *   2026-12-06T06:05:27.123456Z xpc[1234] send message id=3 reply_to=0
 *   size=96 fds=0 <dictionary: 0x...> { "op" => <string: "ping"> }
 *
 * (one line): the wall-clock time (CLOCK_REALTIME, ISO 8601, UTC, with
 * microseconds), the pid, the direction, the frame's kind and header
 * fields, and the message in its description form (xpc_copy_description)
 * with its line breaks folded into spaces.  Frames of a BATCH are traced
 * one by one, sent and received alike; frames without a
 * message (check-in, hello) end after the header fields.  A line is
 * written with one write(2), so lines of several threads do not mix.
 *
 * The variable is read with secure_getenv: a set-uid or set-gid program
 * (or one with file capabilities) never traces, so whoever starts it
 * cannot read the messages it exchanges with its services on stderr
 * (docs/security.md, "Variables of a privileged process").
 */
#include "connection/internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool trace_enabled(void)
{
	static atomic_int state; /* 0 unknown, 1 off, 2 on */
	int s = atomic_load_explicit(&state, memory_order_relaxed);

	if (s == 0) {
		const char *e = secure_getenv("XPC_TRACE");
		s = (e && *e && strcmp(e, "0") != 0) ? 2 : 1;
		atomic_store_explicit(&state, s, memory_order_relaxed);
	}
	return s == 2;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ xpc[PID]" into @buf. */
static void trace_stamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ldZ xpc[%d]", day, ts.tv_nsec / 1000, (int)getpid());
}

/* Line breaks and tabs of a description become single spaces. */
static void trace_fold(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		bool space = *r == '\n' || *r == '\t' || *r == ' ';
		if (space && (w == s || w[-1] == ' '))
			continue;
		*w++ = space ? ' ' : *r;
	}
	if (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

static void trace_write(const char *line)
{
	size_t len = strlen(line);

	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, line, len);
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

char *trace_describe(xpc_object_t msg)
{
	char *d;

	if (!msg || !trace_enabled())
		return NULL;
	d = xpc_copy_description(msg);
	if (d)
		trace_fold(d);
	return d;
}

void trace_frame(const char *dir, const FrameHeader *h, xpc_object_t msg, const char *desc)
{
	char stamp[96], *own = NULL, *line = NULL;

	if (!desc && msg)
		desc = own = trace_describe(msg);
	trace_stamp(stamp, sizeof(stamp));
	if (asprintf(&line, "%s %s %s id=%llu reply_to=%llu size=%llu fds=%u%s%s%s\n", stamp, dir,
		     frame_kind_name(h->kind), (unsigned long long)h->id, (unsigned long long)h->reply_to,
		     (unsigned long long)h->body_len, (unsigned)h->n_fds, (h->flags & FRAME_F_OOL) ? " ool" : "",
		     desc ? " " : "", desc ? desc : "") >= 0)
		trace_write(line);
	free(line);
	free(own);
}

void trace_note(const char *what, const char *why)
{
	char stamp[96], *line = NULL;

	trace_stamp(stamp, sizeof(stamp));
	if (asprintf(&line, "%s %s: %s\n", stamp, what, why) >= 0)
		trace_write(line);
	free(line);
}
