/* SPDX-License-Identifier: MIT */
/*
 * calendar.c - StartCalendarInterval (launchd.plist(5)): parsing its
 * entries and finding the next time one of them matches.  Pure functions
 * but for the clock; the timers are in schedule.c.
 *
 * Semantics (launchd says "similar to crontab(5)"): the fields are Minute
 * 0-59, Hour 0-23, Day 1-31, Weekday 0-7 (0 and 7 are Sunday), Month
 * 1-12; a missing field is a wildcard, so an empty dictionary fires every
 * minute.  Month always restricts; Day and Weekday both given match a day
 * that is either (cron's rule).  Times are local (TZ), computed with
 * mktime(), so a time skipped by a daylight-saving change fires at its
 * normalised time and a repeated one fires once (calendar_next returns
 * times strictly after the last fire).
 *
 * The calendar clock is real time, or for tests of a private broker a
 * clock that starts at a given time and runs SCALE times faster
 * (`xpcd --test-clock START[:SCALE]`), so a job of Weekday 7 Hour 0 fires a
 * second after a start of Saturday 23:59:59.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/calendar.h"
#include "shared/clock.h"

/* ---- parsing ---------------------------------------------------------------- */

typedef struct CalParse {
	PlistCtx *ctx;
	CalendarEntry *e;
	int r;
} CalParse;

static const struct {
	const char *name;
	int min, max;
	size_t offset;
} cal_fields[] = {
	{"Minute", 0, 59, offsetof(CalendarEntry, minute)},  {"Hour", 0, 23, offsetof(CalendarEntry, hour)},
	{"Day", 1, 31, offsetof(CalendarEntry, day)},        {"Weekday", 0, 7, offsetof(CalendarEntry, weekday)},
	{"Month", 1, 12, offsetof(CalendarEntry, month)},
};

static int cal_field(void *arg, const char *key, plist_t v)
{
	CalParse *p = arg;
	char name[64];
	long long x;

	for (size_t i = 0; i < sizeof(cal_fields) / sizeof(cal_fields[0]); i++) {
		if (strcmp(key, cal_fields[i].name))
			continue;
		snprintf(name, sizeof(name), "StartCalendarInterval.%s", key);
		if (pv_int(p->ctx, name, v, cal_fields[i].min, cal_fields[i].max, &x) < 0)
			return p->r = -1;
		if (!strcmp(key, "Weekday") && x == 7)
			x = 0;
		*((signed char *)p->e + cal_fields[i].offset) = (signed char)x;
		return 0;
	}
	pv_warn(p->ctx, "StartCalendarInterval", "unknown field %s ignored (Minute, Hour, Day, Weekday, Month)", key);
	return 0;
}

static int cal_entry(PlistCtx *ctx, plist_t v, CalendarEntry *e)
{
	CalParse p = {.ctx = ctx, .e = e};

	*e = (CalendarEntry){-1, -1, -1, -1, -1};
	if (plist_get_node_type(v) != PLIST_DICT)
		return pv_fail(ctx, "StartCalendarInterval", "must be a dictionary or an array of dictionaries");
	if (pv_dict_each(v, cal_field, &p) < 0 || p.r < 0)
		return p.r < 0 ? -1 : pv_fail(ctx, "StartCalendarInterval", "out of memory");
	return 0;
}

int calendar_parse(PlistCtx *ctx, plist_t v, CalendarEntry **ret, size_t *ret_n)
{
	bool array = plist_get_node_type(v) == PLIST_ARRAY;
	size_t n = array ? plist_array_get_size(v) : 1;
	CalendarEntry *e;

	if (n == 0 || n > CALENDAR_MAX_ENTRIES)
		return pv_fail(ctx, "StartCalendarInterval", "must hold 1 to %d dictionaries", CALENDAR_MAX_ENTRIES);
	e = calloc(n, sizeof(*e));
	if (!e)
		return pv_fail(ctx, "StartCalendarInterval", "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (cal_entry(ctx, array ? plist_array_get_item(v, (uint32_t)i) : v, &e[i]) < 0) {
			free(e);
			return -1;
		}
	}
	free(*ret);
	*ret = e;
	*ret_n = n;
	return 0;
}

/* ---- the next match --------------------------------------------------------- */

static bool cal_day_matches(const CalendarEntry *e, const struct tm *t)
{
	bool day = e->day >= 0 && t->tm_mday == e->day;
	bool wday = e->weekday >= 0 && t->tm_wday == e->weekday;

	if (e->month >= 0 && t->tm_mon + 1 != e->month)
		return false;
	if (e->day >= 0 && e->weekday >= 0)
		return day || wday;
	if (e->day >= 0)
		return day;
	if (e->weekday >= 0)
		return wday;
	return true;
}

/* The first matching minute of day @t (any time of that day) after @after. */
static time_t cal_in_day(const CalendarEntry *e, const struct tm *t, time_t after)
{
	int h0 = e->hour >= 0 ? e->hour : 0, h1 = e->hour >= 0 ? e->hour : 23;
	int m0 = e->minute >= 0 ? e->minute : 0, m1 = e->minute >= 0 ? e->minute : 59;

	for (int h = h0; h <= h1; h++) {
		for (int m = m0; m <= m1; m++) {
			struct tm c = *t;
			time_t w;
			c.tm_hour = h;
			c.tm_min = m;
			c.tm_sec = 0;
			c.tm_isdst = -1;
			w = mktime(&c);
			if (w > after)
				return w;
		}
	}
	return -1;
}

static time_t cal_entry_next(const CalendarEntry *e, time_t after)
{
	struct tm start;

	if (!localtime_r(&after, &start))
		return -1;
	for (int d = 0; d < 366 * 8 + 2; d++) {
		struct tm t = start;
		time_t w;
		t.tm_mday += d;
		t.tm_hour = 12; /* noon: no daylight-saving change moves it to another day */
		t.tm_min = t.tm_sec = 0;
		t.tm_isdst = -1;
		if (mktime(&t) == (time_t)-1 || !cal_day_matches(e, &t))
			continue;
		if ((w = cal_in_day(e, &t, after)) != -1)
			return w;
	}
	return -1;
}

time_t calendar_next(const CalendarEntry *e, size_t n, time_t after)
{
	time_t best = -1;

	for (size_t i = 0; i < n; i++) {
		time_t w = cal_entry_next(&e[i], after);
		if (w != -1 && (best == -1 || w < best))
			best = w;
	}
	return best;
}

/* ---- the clock -------------------------------------------------------------- */

static struct {
	bool set;
	time_t start;
	unsigned scale;
	uint64_t t0; /* clock_monotonic_ns() when the test clock started */
} cal_clock;

int calendar_clock_parse(const char *spec)
{
	char *end;
	long long start = strtoll(spec, &end, 10);
	unsigned long scale = 1;

	if (end == spec || start < 0)
		return -1;
	if (*end == ':') {
		const char *s = end + 1;
		scale = strtoul(s, &end, 10);
		if (end == s || scale < 1 || scale > 3600)
			return -1;
	}
	if (*end)
		return -1;
	cal_clock.set = true;
	cal_clock.start = (time_t)start;
	cal_clock.scale = (unsigned)scale;
	cal_clock.t0 = clock_monotonic_ns();
	return 0;
}

static double cal_elapsed(void)
{
	return clock_seconds_since(cal_clock.t0);
}

time_t calendar_now(void)
{
	if (!cal_clock.set)
		return time(NULL);
	return cal_clock.start + (time_t)(cal_elapsed() * cal_clock.scale);
}

double calendar_real_delay(time_t when)
{
	double d;

	if (!cal_clock.set) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		d = (double)(when - now.tv_sec) - (double)now.tv_nsec / 1e9;
	} else {
		d = ((double)(when - cal_clock.start) / cal_clock.scale) - cal_elapsed();
	}
	return d > 0 ? d : 0;
}
