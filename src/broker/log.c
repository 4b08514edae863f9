/* SPDX-License-Identifier: MIT */
/*
 * log.c - the broker's log: one line per event on stderr, with the pid and
 * the wall-clock time of day, so a line says which broker wrote it and
 * when.  When stderr is the journal (systemd sets JOURNAL_STREAM to its
 * device and inode), each line starts with "<N>", its syslog priority
 * (sd-daemon(3)), so `journalctl -p warning` shows the warnings and
 * errors.  A leaf: it calls nothing else of the broker.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/log.h"

/* True when stderr is the stream JOURNAL_STREAM names ("DEV:INO"). */
static bool log_to_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_format_prefix(int priority, char *buf, size_t len)
{
	if (log_to_journal())
		snprintf(buf, len, "<%d>xpcd[%d] ", priority & LOG_PRIMASK, (int)getpid());
	else
		snprintf(buf, len, "xpcd[%d] ", (int)getpid());
}

void log_line(int priority, const char *fmt, ...)
{
	char prefix[64];
	struct timespec ts;
	va_list ap;

	log_format_prefix(priority, prefix, sizeof(prefix));
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%s%02ld:%02ld:%02ld.%03ld ", prefix, (ts.tv_sec / 3600) % 24, (ts.tv_sec / 60) % 60,
		ts.tv_sec % 60, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
