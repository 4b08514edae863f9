/* SPDX-License-Identifier: MIT */
/*
 * schedule.h - when an activity runs, from its criteria (docs/activities.md).
 *
 * One pure function shared by the library (activities registered at run
 * time, src/activity) and xpcd (activities of job property lists,
 * src/broker/activity.c, which compiles schedule.c in), so both schedule
 * the same criteria alike.  It reads only the time criteria:
 *
 *   INTERVAL    seconds; implies REPEATING true, DELAY and GRACE_PERIOD of
 *               half the interval, unless they are given
 *   DELAY       seconds before the first run (after registration, load or
 *               set_criteria)
 *   REPEATING   run again INTERVAL seconds after each DONE (Apple: "timers
 *               present in the activity's criteria will be reset"); a
 *               repeating activity without an interval runs DELAY seconds
 *               after each DONE, and not at all again if DELAY is 0
 *   GRACE_PERIOD  an eligible activity runs at once on Linux (no better
 *               moment to wait for), which is within any grace period
 *
 * A deferred run is retried ACTIVITY_DEFER_RETRY_S seconds later (Apple:
 * "it will remain past due"; Linux has no condition to wait for).  Every
 * figure is divided by the time scale (1 normally; the test clock,
 * docs/activities.md) and clamped to [0, ACTIVITY_MAX_S].
 */
#ifndef XPC_ACTIVITY_SCHEDULE_H
#define XPC_ACTIVITY_SCHEDULE_H

#include <stdint.h>
#include <xpc/xpc.h>

#define ACTIVITY_DEFER_RETRY_S 60
#define ACTIVITY_MAX_S (366ll * 24 * 3600)
/* The test clock's bounds (XPC_ACTIVITY_TIME_SCALE). */
#define ACTIVITY_MAX_TIME_SCALE 1000000.0

typedef enum ActivityEvent {
	ACTIVITY_EV_REGISTERED, /* registered, loaded, or new criteria */
	ACTIVITY_EV_DONE,       /* a run ended DONE (or without a report) */
	ACTIVITY_EV_DEFERRED,   /* a run ended DEFER */
} ActivityEvent;

/*
 * activity_schedule_next_ns() - how long from now until the next run
 * @criteria: a dictionary (borrowed), or NULL (no schedule)
 * @ev:       what just happened
 * @scale:    the time scale (>= 1: test clock)
 * Return: nanoseconds from now, or -1: no further run.
 */
int64_t activity_schedule_next_ns(xpc_object_t criteria, ActivityEvent ev, double scale);

/* Whether @criteria's time keys have the right types (int64 or uint64 >= 0
 * for INTERVAL, DELAY, GRACE_PERIOD; bool for REPEATING).  Return: NULL,
 * or the name of the first bad key. */
const char *activity_schedule_check(xpc_object_t criteria);

/* Parses a time scale ("3600"): >= 1 and <= ACTIVITY_MAX_TIME_SCALE, else
 * 1.  NULL is 1. */
double activity_schedule_parse_scale(const char *text);

#endif
