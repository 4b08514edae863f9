/* SPDX-License-Identifier: MIT */
/*
 * log.h - the broker's log: one line per event on stderr (log.c).
 */
#ifndef XPC_BROKER_LOG_H
#define XPC_BROKER_LOG_H

#include <syslog.h>

/*
 * log_line() - one line of the broker's log: "xpcd[PID] HH:MM:SS.mmm TEXT"
 * @priority: a syslog priority (LOG_ERR ... LOG_DEBUG)
 */
void log_line(int priority, const char *fmt, ...) __attribute__((__format__(__printf__, 2, 3)));

#endif
