/* SPDX-License-Identifier: MIT */
/*
 * <xpc/activity.h> - background activities (xpc_activity_*), with Apple's
 * names, signatures and constants; included by <xpc/xpc.h>.
 *
 * An activity is work a program wants done now and then: registered with a
 * criteria dictionary (when, how often), it becomes eligible to run and its
 * handler block is called with the state XPC_ACTIVITY_STATE_RUN.  The
 * handler reports how the run ended with xpc_activity_set_state (DONE,
 * DEFER, or CONTINUE to keep running after it returns).
 *
 * On Linux (docs/activities.md):
 * - Activities named in a job's property list (LaunchEvents ->
 *   com.apple.xpc.activity -> {NAME: criteria}) are scheduled by xpcd,
 *   which launches the job when one is due; the job checks in with
 *   xpc_activity_register(NAME, XPC_ACTIVITY_CHECK_IN, handler).
 * - Activities registered at run time with a criteria dictionary are
 *   scheduled inside the registering process, for its lifetime.
 * - Time criteria (INTERVAL, DELAY, GRACE_PERIOD, REPEATING) are honoured;
 *   the others (priority, battery, screen sleep, network, disk, ...)
 *   describe conditions Linux has no scheduler for: they are accepted,
 *   kept in the criteria and otherwise ignored.
 */
#ifndef __XPC_ACTIVITY_H__
#define __XPC_ACTIVITY_H__

#ifndef __XPC_INDIRECT__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#include <xpc/base.h>
#endif

#ifdef __BLOCKS__

__XPC_BEGIN_DECLS

/* ---- criteria keys (the values are the key strings of the dictionary) ---- */

/* int64 seconds: run about once per interval.  Implies REPEATING true,
 * DELAY and GRACE_PERIOD of half the interval unless given. */
XPC_EXPORT const char *const XPC_ACTIVITY_INTERVAL;
/* bool: run again after each DONE. */
XPC_EXPORT const char *const XPC_ACTIVITY_REPEATING;
/* int64 seconds: wait at least this long after registration (or after the
 * previous run, for a repeating activity) before running. */
XPC_EXPORT const char *const XPC_ACTIVITY_DELAY;
/* int64 seconds: how long the scheduler may wait for a better moment after
 * the activity became eligible.  Linux has no better moment: an activity
 * runs as soon as it is eligible, so this only bounds that. */
XPC_EXPORT const char *const XPC_ACTIVITY_GRACE_PERIOD;

XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_1_MIN;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_5_MIN;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_15_MIN;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_30_MIN;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_1_HOUR;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_4_HOURS;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_8_HOURS;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_1_DAY;
XPC_EXPORT const int64_t XPC_ACTIVITY_INTERVAL_7_DAYS;

/* string: XPC_ACTIVITY_PRIORITY_MAINTENANCE or _UTILITY.  Accepted; the
 * handler's queue has the default priority either way. */
XPC_EXPORT const char *const XPC_ACTIVITY_PRIORITY;
XPC_EXPORT const char *const XPC_ACTIVITY_PRIORITY_MAINTENANCE;
XPC_EXPORT const char *const XPC_ACTIVITY_PRIORITY_UTILITY;

/* Conditions without a Linux meaning: accepted and ignored. */
XPC_EXPORT const char *const XPC_ACTIVITY_ALLOW_BATTERY;          /* bool */
XPC_EXPORT const char *const XPC_ACTIVITY_REQUIRE_SCREEN_SLEEP;   /* bool */
XPC_EXPORT const char *const XPC_ACTIVITY_PREVENT_DEVICE_SLEEP;   /* bool */
XPC_EXPORT const char *const XPC_ACTIVITY_REQUIRE_BATTERY_LEVEL;  /* int64 % (deprecated by Apple) */
XPC_EXPORT const char *const XPC_ACTIVITY_REQUIRE_HDD_SPINNING;   /* bool (deprecated by Apple) */

/* ---- the activity object -------------------------------------------------- */

#define XPC_TYPE_ACTIVITY (&_xpc_type_activity)
XPC_EXPORT XPC_TYPE(_xpc_type_activity);
XPC_DECL(xpc_activity);

typedef void (^xpc_activity_handler_t)(xpc_activity_t activity);

/* Passed as the criteria to xpc_activity_register: look up the activity
 * of that name (one from the job's property list) without changing it. */
XPC_EXPORT const xpc_object_t XPC_ACTIVITY_CHECK_IN;

enum {
	XPC_ACTIVITY_STATE_CHECK_IN,
	XPC_ACTIVITY_STATE_WAIT,
	XPC_ACTIVITY_STATE_RUN,
	XPC_ACTIVITY_STATE_DEFER,
	XPC_ACTIVITY_STATE_CONTINUE,
	XPC_ACTIVITY_STATE_DONE,
};
typedef long xpc_activity_state_t;

/*
 * Registers @identifier with @criteria (a dictionary, copied) or checks in
 * with XPC_ACTIVITY_CHECK_IN.  @handler (copied) is called on a serial
 * queue of the activity, never reentrantly: with the state CHECK_IN once
 * after a check-in, and with RUN whenever the activity is due.  Registering
 * an identifier again replaces its handler and, unless checking in, its
 * criteria.
 */
XPC_EXPORT void
xpc_activity_register(const char *identifier, xpc_object_t criteria, xpc_activity_handler_t handler);

/* The criteria (+1 dictionary), or NULL when the activity has none (a
 * check-in to an activity no property list names, or one that finished). */
XPC_EXPORT XPC_WARN_RESULT xpc_object_t xpc_activity_copy_criteria(xpc_activity_t activity);

/* Replaces the criteria (@criteria is copied); the schedule restarts from
 * now with them. */
XPC_EXPORT void xpc_activity_set_criteria(xpc_activity_t activity, xpc_object_t criteria);

XPC_EXPORT XPC_WARN_RESULT xpc_activity_state_t xpc_activity_get_state(xpc_activity_t activity);

/* From RUN or CONTINUE to CONTINUE, DEFER or DONE.  Return: false for any
 * other transition (the state is unchanged). */
XPC_EXPORT XPC_WARN_RESULT bool xpc_activity_set_state(xpc_activity_t activity,
								   xpc_activity_state_t state);

/* True once the scheduler asks a running activity to stop early: on Linux
 * when xpcd is stopping or unloading its job, or the activity was
 * unregistered while it ran. */
XPC_EXPORT XPC_WARN_RESULT bool xpc_activity_should_defer(xpc_activity_t activity);

/* Stops scheduling @identifier: a run-time activity is gone; one from a
 * property list is not run again until its job is loaded again.  A run in
 * progress goes on to its end. */
XPC_EXPORT void xpc_activity_unregister(const char *identifier);

__XPC_END_DECLS

#endif /* __BLOCKS__ */

#endif /* __XPC_ACTIVITY_H__ */
