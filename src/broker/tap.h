/* SPDX-License-Identifier: MIT */
/*
 * tap.h - the links of processes that opted in to monitoring
 * (XPC_MONITOR) and the frames they report, turned into monitor events
 * (tap.c; docs/broker.md, "Frames of processes that opt in").
 */
#ifndef XPC_BROKER_TAP_H
#define XPC_BROKER_TAP_H

#include <stdbool.h>
#include <sys/types.h>
#include <xpc/xpc.h>

#include "broker/monitor.h"

#define TAP_BURST 256u /* frames one tap may report at once */
#define TAP_RATE 2000u /* ... and per second after that; more are dropped and counted */

typedef struct Tap Tap;

typedef struct Taps {
	Tap *head;
	unsigned n;
} Taps;

/*
 * taps_add() - makes @link (borrowed; retained while listed) a tap of
 * the process @pid of @uid (the link's SO_PEERCRED) and tells it at once
 * whether a monitor of @m may see it.
 * Return: 0, -EALREADY, -ENOMEM.
 */
int taps_add(Taps *t, const Monitors *m, xpc_connection_t link, uid_t uid, pid_t pid);
/* The link ended: forget it, if it is a tap. */
void taps_remove(Taps *t, xpc_connection_t link);
/* True when @link is a tap (the idle sweep spares it). */
bool taps_has(const Taps *t, xpc_connection_t link);
/* The monitors changed: tell every tap whose answer changed. */
void taps_refresh(Taps *t, const Monitors *m);
/*
 * taps_frame() - the summary @req a tap sent on @link: checked, cut to
 * the protocol's bounds, and emitted to @m as a "frame" event of the
 * tap's uid and pid.  Dropped at once when @link is no tap or no monitor
 * may see it; over TAP_BURST/TAP_RATE dropped and counted, the count
 * carried by the tap's next frame event ("dropped").
 */
void taps_frame(Taps *t, Monitors *m, xpc_connection_t link, xpc_object_t req);

#endif
