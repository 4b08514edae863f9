/* SPDX-License-Identifier: MIT */
/*
 * log.h - the broker's log: one line per event on stderr, with a syslog
 * priority (log.c).
 */
#ifndef XPC_BROKER_LOG_H
#define XPC_BROKER_LOG_H

#include <stddef.h>
#include <syslog.h>

/*
 * log_line() - one line of the broker's log: "xpcd[PID] HH:MM:SS.mmm TEXT"
 * @priority: a syslog priority (LOG_ERR ... LOG_DEBUG)
 */
void log_line(int priority, const char *fmt, ...) __attribute__((__format__(__printf__, 2, 3)));
/*
 * log_format_prefix() - the start of a line of @priority into @buf:
 * "<N>" when stderr is the journal, then "xpcd[PID] " (the time and the
 * text follow).  For the children that log a set-up failure themselves.
 */
void log_format_prefix(int priority, char *buf, size_t len);

#endif
