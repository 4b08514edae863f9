/* SPDX-License-Identifier: MIT */
/*
 * protocol.h - the activity channel between xpcd and a job, written down
 * once for both sides (src/broker/activity.c, src/activity/link.c;
 * docs/activities.md).
 *
 * For a job whose property list has LaunchEvents -> com.apple.xpc.activity,
 * xpcd owns a listener pair (R, W) like a MachServices channel, but never
 * hands W out: the job inherits R as the XPCD_LISTEN_* descriptor named
 * ACTIVITY_CHANNEL, and only xpcd checks in over W.  While the job is
 * stopped xpcd watches R, so xpcd checking in is what launches a job whose
 * activity is due.  Over the link (xpcd is the client):
 *
 *   xpcd -> job  { OP: "hello", "activities": { NAME: criteria, ... } }
 *                first message of every link: the activities xpcd holds
 *   xpcd -> job  { OP: "run", "name": NAME }  with a reply expected;
 *                reply { "state": int64 }  XPC_ACTIVITY_STATE_DONE or _DEFER
 *   xpcd -> job  { OP: "defer", "name": NAME }  should_defer becomes true
 *   job -> xpcd  { OP: "criteria", "name": NAME, "criteria": {...} }
 *   job -> xpcd  { OP: "unregister", "name": NAME }
 */
#ifndef XPC_ACTIVITY_PROTOCOL_H
#define XPC_ACTIVITY_PROTOCOL_H

#define ACTIVITY_CHANNEL "com.apple.xpc.activity"
#define ACTIVITY_KEY_OP "xpcd.activity"
#define ACTIVITY_OP_HELLO "hello"
#define ACTIVITY_OP_RUN "run"
#define ACTIVITY_OP_DEFER "defer"
#define ACTIVITY_OP_CRITERIA "criteria"
#define ACTIVITY_OP_UNREGISTER "unregister"
#define ACTIVITY_KEY_ACTIVITIES "activities"
#define ACTIVITY_KEY_NAME "name"
#define ACTIVITY_KEY_CRITERIA "criteria"
#define ACTIVITY_KEY_STATE "state"

#endif
