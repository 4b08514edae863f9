/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the files of the activity layer share (never included
 * outside src/activity).
 *
 * The layer (docs/activities.md) is <xpc/activity.h> and
 * xpc_set_event_stream_handler on top of the connection API:
 * - constants.c: Apple's constants (criteria keys, XPC_ACTIVITY_CHECK_IN);
 * - schedule.c (schedule.h): when an activity runs, from its criteria;
 * - activity.c: the xpc_activity_t objects, the process's registry of
 *   them, states and runs, the in-process schedule of activities
 *   registered at run time, and the answer to xpcd's run requests;
 * - link.c: the job's link to xpcd for the activities of its property
 *   list (the "com.apple.xpc.activity" channel xpcd hands the job as one
 *   of its XPCD_LISTEN_* descriptors), and the event stream handler;
 * - register.c: xpc_activity_register/unregister/set_criteria.
 *
 * Edges point down only: register.c -> link.c -> activity.c ->
 * schedule.c -> constants.c (register.c also calls activity.c directly).
 *
 * One process-wide mutex, `activity_lock` (activity.c), guards every
 * mutable field below and the link's state; handler blocks are always
 * called without it, on the activity's own serial queue.
 */
#ifndef XPC_ACTIVITY_INTERNAL_H
#define XPC_ACTIVITY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <xpc/xpc.h>

#include "object/object.h"
#include "shared/lock.h"

#include "activity/protocol.h"

/* The event stream of xpcd's activities (xpc_set_event_stream_handler). */
#define ACTIVITY_STREAM ACTIVITY_CHANNEL
/* Runs xpcd may have asked for before the job registered the activity. */
#define ACTIVITY_MAX_PENDING_RUNS 64

struct _xpc_activity_s {
	struct xpc_object_s head;
	char *name;
	dispatch_queue_t queue;       /* serial: every handler call */
	/* --- under activity_lock --- */
	xpc_activity_handler_t handler;
	xpc_object_t criteria;        /* dictionary, or NULL */
	xpc_activity_state_t state;
	bool registered;              /* in the registry (not unregistered) */
	bool run_queued;              /* a RUN call of the handler is queued */
	bool in_handler;              /* the handler runs a RUN now */
	bool from_broker;             /* xpcd schedules it (a property list names it) */
	bool awaiting_hello;          /* checked in before xpcd's hello came */
	bool defer_asked;             /* xpc_activity_should_defer */
	uint64_t generation;          /* in-process timers of older schedules are void */
	xpc_object_t run_msg;         /* xpcd's run request to answer, +1, or NULL */
	xpc_connection_t run_peer;    /* ... over this link, +1 */
	struct _xpc_activity_s *next; /* registry */
};

extern pthread_mutex_t activity_lock;

/* activity.c */
xpc_activity_t activity_find_locked(const char *name);
xpc_activity_t activity_first_locked(void); /* the registry, via ->next */
/* The registered activity @name, made and put in the registry (which
 * holds its reference) when there is none.  Return: borrowed, or NULL (no
 * memory). */
xpc_activity_t activity_add_locked(const char *name);
/* Takes @a out of the registry, dropping the registry's reference. */
void activity_unlink_locked(xpc_activity_t a);
/* Takes the criteria xpcd's hello gives @a (@from_plist borrowed, or NULL:
 * none): it is then xpcd's (locked). */
void activity_adopt_hello_locked(xpc_activity_t a, xpc_object_t from_plist);
/* Answers xpcd's run request @msg over @peer (both borrowed) with @st. */
void activity_reply_state(xpc_object_t msg, xpc_connection_t peer, xpc_activity_state_t st);
/* The same, consuming @msg and @peer (locked). */
void activity_reply_run_locked(xpc_object_t msg, xpc_connection_t peer, xpc_activity_state_t state);
/* Starts a run of @a (locked): state RUN and its handler queued.  @msg and
 * @peer (borrowed, both or neither): xpcd's request, answered when the
 * run ends.  Return: false when a run is already under way. */
bool activity_run_locked(xpc_activity_t a, xpc_object_t msg, xpc_connection_t peer);
/* Queues the CHECK_IN call of @a's handler (locked). */
void activity_checkin_locked(xpc_activity_t a);
/* The in-process schedule of @a after @ev (locked). */
void activity_schedule_locked(xpc_activity_t a, int ev);

/* link.c */
/* Whether xpcd gave this process an activity channel (a job with
 * activities in its property list). */
bool link_available(void);
/* Starts listening on it (once; locked).  Return: 0, or -1 (no channel,
 * no memory). */
int link_start_locked(void);
/* xpcd's hello has come, or the channel is gone: *ret_criteria is the
 * criteria the property list gives @name (borrowed; NULL when none).
 * Return: false while the hello is still awaited. */
bool link_hello_lookup_locked(const char *name, xpc_object_t *ret_criteria);
/* Tells xpcd (locked): new criteria for @name, or @criteria NULL: the
 * activity is unregistered. */
void link_send_update_locked(const char *name, xpc_object_t criteria);
/* @a was registered: hands it a run xpcd asked for before (locked). */
void link_take_pending_locked(xpc_activity_t a);

#endif
