/* SPDX-License-Identifier: MIT */
/*
 * constants.c - Apple's constants of <xpc/activity.h>: the criteria keys
 * and intervals, and XPC_ACTIVITY_CHECK_IN (docs/activities.md).
 *
 * The lowest file of the activity layer: data only, used by the schedule
 * (schedule.c, which reads the time keys) and the registry (activity.c),
 * calling nothing of the layer.
 */
#include <xpc/xpc.h>

#include "object/object.h"

const char *const XPC_ACTIVITY_INTERVAL = "Interval";
const char *const XPC_ACTIVITY_REPEATING = "Repeating";
const char *const XPC_ACTIVITY_DELAY = "Delay";
const char *const XPC_ACTIVITY_GRACE_PERIOD = "GracePeriod";
const int64_t XPC_ACTIVITY_INTERVAL_1_MIN = 60;
const int64_t XPC_ACTIVITY_INTERVAL_5_MIN = 5 * 60;
const int64_t XPC_ACTIVITY_INTERVAL_15_MIN = 15 * 60;
const int64_t XPC_ACTIVITY_INTERVAL_30_MIN = 30 * 60;
const int64_t XPC_ACTIVITY_INTERVAL_1_HOUR = 3600;
const int64_t XPC_ACTIVITY_INTERVAL_4_HOURS = 4 * 3600;
const int64_t XPC_ACTIVITY_INTERVAL_8_HOURS = 8 * 3600;
const int64_t XPC_ACTIVITY_INTERVAL_1_DAY = 24 * 3600;
const int64_t XPC_ACTIVITY_INTERVAL_7_DAYS = 7 * 24 * 3600;
const char *const XPC_ACTIVITY_PRIORITY = "Priority";
const char *const XPC_ACTIVITY_PRIORITY_MAINTENANCE = "Maintenance";
const char *const XPC_ACTIVITY_PRIORITY_UTILITY = "Utility";
const char *const XPC_ACTIVITY_ALLOW_BATTERY = "AllowBattery";
const char *const XPC_ACTIVITY_REQUIRE_SCREEN_SLEEP = "RequireScreenSleep";
const char *const XPC_ACTIVITY_PREVENT_DEVICE_SLEEP = "PreventDeviceSleep";
const char *const XPC_ACTIVITY_REQUIRE_BATTERY_LEVEL = "RequireBatteryLevel";
const char *const XPC_ACTIVITY_REQUIRE_HDD_SPINNING = "RequireHDDSpinning";

/* XPC_ACTIVITY_CHECK_IN: an immortal object of a type of its own, only
 * ever compared by address. */
static void constants_checkin_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	(void)obj;
	(void)indent;
	strbuf_append(sb, "<CHECK-IN>");
}

static const struct _xpc_type_s constants_checkin_type = {
	.name = "activity-check-in",
	.describe = constants_checkin_describe,
};
static const struct xpc_object_s constants_checkin_object = {.type = &constants_checkin_type,
							     .refcnt = OBJECT_IMMORTAL};
const xpc_object_t XPC_ACTIVITY_CHECK_IN = (xpc_object_t)&constants_checkin_object;
