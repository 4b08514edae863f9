/* SPDX-License-Identifier: MIT */
/*
 * schedule.c - the next run of an activity from its criteria: the rules
 * are in schedule.h.  Only the public API is used, so xpcd compiles this
 * file in as well (src/broker/meson.build).
 */
#include "activity/schedule.h"

#include <math.h>
#include <stdlib.h>

/* A non-negative number of seconds under @key, or -1 when absent or of
 * another type. */
static int64_t sched_seconds(xpc_object_t c, const char *key)
{
	xpc_object_t v = xpc_dictionary_get_value(c, key);

	if (v && xpc_get_type(v) == XPC_TYPE_INT64 && xpc_int64_get_value(v) >= 0)
		return xpc_int64_get_value(v);
	if (v && xpc_get_type(v) == XPC_TYPE_UINT64)
		return xpc_uint64_get_value(v) > (uint64_t)ACTIVITY_MAX_S ? ACTIVITY_MAX_S
									    : (int64_t)xpc_uint64_get_value(v);
	return -1;
}

static bool sched_repeating(xpc_object_t c, int64_t interval)
{
	xpc_object_t v = xpc_dictionary_get_value(c, XPC_ACTIVITY_REPEATING);

	if (v && xpc_get_type(v) == XPC_TYPE_BOOL)
		return xpc_bool_get_value(v);
	return interval > 0;
}

static int64_t sched_ns(int64_t seconds, double scale)
{
	double ns;

	if (seconds > ACTIVITY_MAX_S)
		seconds = ACTIVITY_MAX_S;
	ns = (double)seconds * 1e9 / (scale >= 1.0 ? scale : 1.0);
	return (int64_t)ns;
}

int64_t activity_schedule_next_ns(xpc_object_t criteria, ActivityEvent ev, double scale)
{
	int64_t interval, delay;

	if (!criteria || xpc_get_type(criteria) != XPC_TYPE_DICTIONARY)
		return -1;
	interval = sched_seconds(criteria, XPC_ACTIVITY_INTERVAL);
	delay = sched_seconds(criteria, XPC_ACTIVITY_DELAY);
	if (delay < 0)
		delay = interval > 0 ? interval / 2 : 0;
	switch (ev) {
	case ACTIVITY_EV_REGISTERED:
		return sched_ns(delay, scale);
	case ACTIVITY_EV_DEFERRED:
		return sched_ns(ACTIVITY_DEFER_RETRY_S, scale);
	case ACTIVITY_EV_DONE:
		if (!sched_repeating(criteria, interval))
			return -1;
		if (interval > 0)
			return sched_ns(interval, scale);
		return delay > 0 ? sched_ns(delay, scale) : -1;
	}
	return -1;
}

const char *activity_schedule_check(xpc_object_t criteria)
{
	const char *secs[] = {XPC_ACTIVITY_INTERVAL, XPC_ACTIVITY_DELAY, XPC_ACTIVITY_GRACE_PERIOD};
	xpc_object_t v;

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		v = xpc_dictionary_get_value(criteria, secs[i]);
		if (v && sched_seconds(criteria, secs[i]) < 0)
			return secs[i];
	}
	v = xpc_dictionary_get_value(criteria, XPC_ACTIVITY_REPEATING);
	if (v && xpc_get_type(v) != XPC_TYPE_BOOL)
		return XPC_ACTIVITY_REPEATING;
	return NULL;
}

double activity_schedule_parse_scale(const char *text)
{
	char *end;
	double d;

	if (!text || !*text)
		return 1.0;
	d = strtod(text, &end);
	if (*end || !isfinite(d) || d < 1.0 || d > ACTIVITY_MAX_TIME_SCALE)
		return 1.0;
	return d;
}
