/* SPDX-License-Identifier: MIT */
/*
 * calendar.h - StartCalendarInterval: its entries, the next time one of
 * them matches, and the broker's calendar clock (real, or a test clock).
 */
#ifndef XPC_BROKER_CALENDAR_H
#define XPC_BROKER_CALENDAR_H

#include <plist/plist.h>
#include <stddef.h>
#include <time.h>

#include "broker/plistval.h"

#define CALENDAR_MAX_ENTRIES 64

/* One dictionary of StartCalendarInterval; -1 is a wildcard.  weekday is
 * 0..6 with Sunday 0 (launchd's 7 is stored as 0). */
typedef struct CalendarEntry {
	signed char minute, hour, day, weekday, month;
} CalendarEntry;

/*
 * calendar_parse() - StartCalendarInterval: a dictionary or an array of
 * them, each with Minute, Hour, Day, Weekday, Month (integers; missing is
 * a wildcard; an unknown field is a warning).
 * @ret, @ret_n: set on success to a new array (caller frees) and its length
 * Return: 0 or -1 (ctx->err filled).
 */
int calendar_parse(PlistCtx *ctx, plist_t v, CalendarEntry **ret, size_t *ret_n);

/*
 * calendar_next() - the first start of a minute strictly after @after at
 * which one of the @n entries matches, in local time, as crontab(5) reads
 * its fields: a field matches when it is a wildcard or equal; Month
 * always restricts; when both Day and Weekday are given, a day matching
 * either one matches (cron's rule).
 * Return: the time, or -1 when no date in the next eight years matches
 * (Day 31 of Month 2).
 */
time_t calendar_next(const CalendarEntry *e, size_t n, time_t after);

/*
 * calendar_clock_parse() - the test clock of a private broker
 * (`xpcd --test-clock START[:SCALE]`): the calendar clock starts at
 * @spec's START (seconds since the epoch) and runs SCALE times faster than
 * real time (default 1).  Return: 0, or -1 when malformed.
 */
int calendar_clock_parse(const char *spec);
/* The calendar clock's now: real time, or the test clock's. */
time_t calendar_now(void);
/* Real seconds until the calendar clock reaches @when (0 if past). */
double calendar_real_delay(time_t when);

#endif
