/* SPDX-License-Identifier: MIT */
/*
 * log.c - the broker's log: one line per event on stderr, with the pid and
 * the wall-clock time of day, so a line says which broker wrote it and
 * when.  A leaf: it calls nothing else of the broker.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "broker/log.h"

void log_line(int priority, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	(void)priority;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "xpcd[%d] %02ld:%02ld:%02ld.%03ld ", (int)getpid(), (ts.tv_sec / 3600) % 24,
		(ts.tv_sec / 60) % 60, ts.tv_sec % 60, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
