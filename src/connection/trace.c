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
 *
 * XPC_MONITOR=1 (tap.c) shares the switch: trace_enabled() is true when
 * either is on, so a process with neither pays one relaxed load and one
 * branch per frame; the message's description is made once for both.
 */
#include "connection/internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What is on, read once: 0 not read yet, else TRACE_READ | TRACE_*. */
enum { TRACE_READ = 1, TRACE_STDERR = 2, TRACE_TAP = 4 };
static atomic_int trace_state;

static bool trace_switch(const char *e)
{
	return e && *e && strcmp(e, "0") != 0;
}

static int trace_read(void)
{
	int s = TRACE_READ;

	if (trace_switch(secure_getenv("XPC_TRACE")))
		s |= TRACE_STDERR;
	if (trace_switch(secure_getenv("XPC_MONITOR")))
		s |= TRACE_TAP;
	atomic_store_explicit(&trace_state, s, memory_order_relaxed);
	return s;
}

bool trace_enabled(void)
{
	int s = atomic_load_explicit(&trace_state, memory_order_relaxed);

	if (s == 0)
		s = trace_read();
	return s != TRACE_READ;
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

static void trace_line(const char *dir, const FrameHeader *h, const char *desc);

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

/* Whether @c's frames go to the broker's monitors now (tap.c). */
static bool trace_tapped(int s, xpc_connection_t c)
{
	return (s & TRACE_TAP) && c && tap_wanted(c);
}

static char *trace_copy(xpc_object_t msg)
{
	char *d = xpc_copy_description(msg);

	if (d)
		trace_fold(d);
	return d;
}

char *trace_describe(xpc_connection_t c, xpc_object_t msg)
{
	int s;

	if (!msg || !trace_enabled())
		return NULL;
	s = atomic_load_explicit(&trace_state, memory_order_relaxed);
	return (s & TRACE_STDERR) || trace_tapped(s, c) ? trace_copy(msg) : NULL;
}

void trace_frame(xpc_connection_t c, bool locked, const char *dir, const FrameHeader *h, xpc_object_t msg,
		 const char *desc)
{
	int s = atomic_load_explicit(&trace_state, memory_order_relaxed);
	bool tapped = (h->kind == FRAME_MESSAGE || h->kind == FRAME_REPLY) && trace_tapped(s, c);
	char *own = NULL;

	if (!desc && msg && ((s & TRACE_STDERR) || tapped))
		desc = own = trace_copy(msg);
	if (s & TRACE_STDERR)
		trace_line(dir, h, desc);
	if (tapped)
		tap_frame(c, locked, dir, h, desc);
	free(own);
}

/* The XPC_TRACE line of a frame on stderr. */
static void trace_line(const char *dir, const FrameHeader *h, const char *desc)
{
	char stamp[96], *line = NULL;

	trace_stamp(stamp, sizeof(stamp));
	if (asprintf(&line, "%s %s %s id=%llu reply_to=%llu size=%llu fds=%u%s%s%s\n", stamp, dir,
		     frame_kind_name(h->kind), (unsigned long long)h->id, (unsigned long long)h->reply_to,
		     (unsigned long long)h->body_len, (unsigned)h->n_fds, (h->flags & FRAME_F_OOL) ? " ool" : "",
		     desc ? " " : "", desc ? desc : "") >= 0)
		trace_write(line);
	free(line);
}

void trace_note(const char *what, const char *why)
{
	char stamp[96], *line = NULL;

	trace_stamp(stamp, sizeof(stamp));
	if (asprintf(&line, "%s %s: %s\n", stamp, what, why) >= 0)
		trace_write(line);
	free(line);
}
