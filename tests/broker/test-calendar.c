/* SPDX-License-Identifier: MIT */
/*
 * test-calendar - StartCalendarInterval: parsing (dictionary, array, every
 * field, ranges, Weekday 7) and the next fire time (src/broker/calendar.c)
 * on fixed dates in UTC and across a daylight-saving change in
 * Europe/Berlin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/calendar.h"
#include "harness.h"

static char err[512];
static PlistWarnings warnings;
static PlistCtx ctx = {.path = "test.plist", .err = err, .errlen = sizeof(err), .warn = &warnings};

/* Parses the XML value @xml (a <dict> or an <array>). */
static int parse(const char *xml, CalendarEntry **ret, size_t *ret_n)
{
	char doc[2048];
	plist_t root = NULL;
	int r;

	snprintf(doc, sizeof(doc), "<plist version=\"1.0\"><dict><key>S</key>%s</dict></plist>", xml);
	plist_from_xml(doc, (uint32_t)strlen(doc), &root);
	REQUIRE(root);
	*ret = NULL;
	r = calendar_parse(&ctx, plist_dict_get_item(root, "S"), ret, ret_n);
	plist_free(root);
	return r;
}

/* Local time @s ("YYYY-MM-DD HH:MM") as a time_t. */
static time_t at(const char *s)
{
	struct tm t = {0};

	REQUIRE(sscanf(s, "%d-%d-%d %d:%d", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour, &t.tm_min) == 5);
	t.tm_year -= 1900;
	t.tm_mon -= 1;
	t.tm_isdst = -1;
	return mktime(&t);
}

static const char *show(time_t w)
{
	static char buf[64];
	struct tm t;

	if (w == -1)
		return "never";
	localtime_r(&w, &t);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M %a", &t);
	return buf;
}

/* The next fire of @xml after @from is @want ("never" for none). */
static void next_is(const char *xml, const char *from, const char *want)
{
	CalendarEntry *e = NULL;
	size_t n = 0;

	REQUIRE(parse(xml, &e, &n) == 0);
	time_t got = calendar_next(e, n, at(from));
	char w[64];
	snprintf(w, sizeof(w), "%s", show(got));
	if (strcmp(want, "never") && strncmp(w, want, strlen(want)))
		fprintf(stderr, "%s after %s: got %s, want %s\n", xml, from, w, want);
	if (!strcmp(want, "never"))
		CHECK(got == -1);
	else
		CHECK(strncmp(w, want, strlen(want)) == 0);
	free(e);
}

static void test_parse(void)
{
	CalendarEntry *e = NULL;
	size_t n = 0;

	CHECK(parse("<dict><key>Minute</key><integer>5</integer><key>Hour</key><integer>3</integer>"
		    "<key>Day</key><integer>31</integer><key>Weekday</key><integer>7</integer>"
		    "<key>Month</key><integer>12</integer></dict>", &e, &n) == 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(e[0].minute, 5);
	CHECK_EQ_INT(e[0].hour, 3);
	CHECK_EQ_INT(e[0].day, 31);
	CHECK_EQ_INT(e[0].weekday, 0); /* 7 is Sunday */
	CHECK_EQ_INT(e[0].month, 12);
	free(e);
	CHECK(parse("<array><dict/><dict><key>Hour</key><integer>0</integer></dict></array>", &e, &n) == 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(e[0].minute, -1);
	CHECK_EQ_INT(e[1].hour, 0);
	free(e);
	CHECK(parse("<dict><key>Minute</key><integer>60</integer></dict>", &e, &n) < 0);
	CHECK(strstr(err, "StartCalendarInterval.Minute") != NULL);
	CHECK(parse("<dict><key>Weekday</key><integer>8</integer></dict>", &e, &n) < 0);
	CHECK(parse("<dict><key>Day</key><integer>0</integer></dict>", &e, &n) < 0);
	CHECK(parse("<dict><key>Hour</key><string>3</string></dict>", &e, &n) < 0);
	CHECK(parse("<array/>", &e, &n) < 0);
	CHECK(parse("<string>daily</string>", &e, &n) < 0);
	CHECK(parse("<array><dict/><string>x</string></array>", &e, &n) < 0);
	warnings.n = 0;
	CHECK(parse("<dict><key>Minuet</key><integer>1</integer></dict>", &e, &n) == 0);
	CHECK_EQ_INT(warnings.n, 1);
	CHECK(strstr(warnings.text[0], "Minuet") != NULL);
	free(e);
}

static void test_next_utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	/* 2026-12-05 is a Saturday */
	next_is("<dict/>", "2026-12-05 10:00", "2026-12-05 10:01");
	next_is("<dict><key>Minute</key><integer>30</integer></dict>", "2026-12-05 10:30", "2026-12-05 11:30");
	next_is("<dict><key>Minute</key><integer>30</integer></dict>", "2026-12-05 10:29", "2026-12-05 10:30");
	next_is("<dict><key>Hour</key><integer>3</integer></dict>", "2026-12-05 10:00", "2026-12-06 03:00");
	next_is("<dict><key>Hour</key><integer>3</integer></dict>", "2026-12-06 03:00", "2026-12-06 03:01");
	next_is("<dict><key>Hour</key><integer>3</integer><key>Minute</key><integer>0</integer></dict>",
		"2026-12-05 10:00", "2026-12-06 03:00");
	/* Weekday 0 and 7: Sunday */
	next_is("<dict><key>Weekday</key><integer>0</integer><key>Hour</key><integer>0</integer>"
		"<key>Minute</key><integer>0</integer></dict>", "2026-12-05 23:59", "2026-12-06 00:00 Sun");
	next_is("<dict><key>Weekday</key><integer>7</integer><key>Hour</key><integer>0</integer>"
		"<key>Minute</key><integer>0</integer></dict>", "2026-12-05 23:59", "2026-12-06 00:00 Sun");
	next_is("<dict><key>Weekday</key><integer>1</integer><key>Minute</key><integer>15</integer>"
		"<key>Hour</key><integer>9</integer></dict>", "2026-12-05 10:00", "2026-12-07 09:15 Mon");
	/* Day, Month, both */
	next_is("<dict><key>Day</key><integer>1</integer><key>Hour</key><integer>0</integer>"
		"<key>Minute</key><integer>0</integer></dict>", "2026-12-05 10:00", "2027-01-01 00:00");
	next_is("<dict><key>Month</key><integer>3</integer><key>Day</key><integer>15</integer>"
		"<key>Hour</key><integer>12</integer><key>Minute</key><integer>0</integer></dict>",
		"2026-12-05 10:00", "2027-03-15 12:00");
	next_is("<dict><key>Month</key><integer>2</integer><key>Day</key><integer>29</integer>"
		"<key>Hour</key><integer>0</integer><key>Minute</key><integer>0</integer></dict>",
		"2026-12-05 10:00", "2028-02-29 00:00");
	next_is("<dict><key>Month</key><integer>2</integer><key>Day</key><integer>31</integer></dict>",
		"2026-12-05 10:00", "never");
	/* Day and Weekday: either (crontab) -- the 10th is a Thursday, the
	 * first Monday after the 5th the 7th */
	next_is("<dict><key>Day</key><integer>10</integer><key>Weekday</key><integer>1</integer>"
		"<key>Hour</key><integer>0</integer><key>Minute</key><integer>0</integer></dict>",
		"2026-12-05 10:00", "2026-12-07 00:00 Mon");
	next_is("<dict><key>Day</key><integer>10</integer><key>Weekday</key><integer>1</integer>"
		"<key>Hour</key><integer>0</integer><key>Minute</key><integer>0</integer></dict>",
		"2026-12-07 10:00", "2026-12-10 00:00 Thu");
	/* Month with Weekday: the first Sunday of March */
	next_is("<dict><key>Month</key><integer>3</integer><key>Weekday</key><integer>0</integer>"
		"<key>Hour</key><integer>0</integer><key>Minute</key><integer>0</integer></dict>",
		"2026-12-05 10:00", "2027-03-07 00:00 Sun");
	/* an array: the earliest of its entries */
	next_is("<array><dict><key>Hour</key><integer>20</integer><key>Minute</key><integer>0</integer></dict>"
		"<dict><key>Hour</key><integer>12</integer><key>Minute</key><integer>0</integer></dict></array>",
		"2026-12-05 10:00", "2026-12-05 12:00");
	next_is("<array><dict><key>Hour</key><integer>20</integer><key>Minute</key><integer>0</integer></dict>"
		"<dict><key>Hour</key><integer>12</integer><key>Minute</key><integer>0</integer></dict></array>",
		"2026-12-05 12:00", "2026-12-05 20:00");
	/* year end */
	next_is("<dict><key>Minute</key><integer>0</integer></dict>", "2026-12-31 23:00", "2027-01-01 00:00");
}

static void test_next_dst(void)
{
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	/* 2027-03-28: 02:00 -> 03:00.  02:30 does not exist: fires at the
	 * normalised 03:30; the next day at 02:30 again */
	next_is("<dict><key>Hour</key><integer>2</integer><key>Minute</key><integer>30</integer></dict>",
		"2027-03-27 12:00", "2027-03-28 03:30");
	next_is("<dict><key>Hour</key><integer>2</integer><key>Minute</key><integer>30</integer></dict>",
		"2027-03-28 04:00", "2027-03-29 02:30");
	/* 2027-10-31: 03:00 -> 02:00.  02:30 happens twice; fired once, the
	 * next is the following day */
	CalendarEntry e = {30, 2, -1, -1, -1};
	time_t first = calendar_next(&e, 1, at("2027-10-30 12:00"));
	CHECK(first != -1);
	time_t second = calendar_next(&e, 1, first);
	CHECK(second - first >= 23 * 3600);
}

static void test_clock(void)
{
	time_t t0;

	CHECK(calendar_clock_parse("x") < 0);
	CHECK(calendar_clock_parse("100:0") < 0);
	CHECK(calendar_clock_parse("100:2x") < 0);
	CHECK(calendar_clock_parse("1000000000:60") == 0);
	t0 = calendar_now();
	CHECK(t0 >= 1000000000 && t0 < 1000000000 + 60);
	CHECK(calendar_real_delay(1000000000 + 600) <= 10.0);
	CHECK(calendar_real_delay(1000000000 + 600) > 8.0);
	CHECK(calendar_real_delay(1000000000 - 1) == 0);
}

int main(void)
{
	harness_begin(30);
	test_parse();
	test_next_utc();
	test_next_dst();
	test_clock();
	return harness_end();
}
