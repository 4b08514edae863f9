/* SPDX-License-Identifier: MIT */
/*
 * triggers.h - what starts a job besides check-ins and RunAtLoad
 * (triggers.c): timers, paths, sockets, KeepAlive conditions.
 */
#ifndef XPC_BROKER_TRIGGERS_H
#define XPC_BROKER_TRIGGERS_H

#include <stdbool.h>
#include <stddef.h>
#include <xpc/xpc.h>

#include "broker/job.h"

struct Broker;

/* Creates the job's Sockets (supervise_add).  While booting, a socket that
 * cannot be made yet (an adopted instance of the previous broker still
 * holds the port) is logged and made when the job is next watched.
 * Return: 0, or -1 with @err. */
int triggers_open(Job *job, bool booting, char *err, size_t errlen);
/* The job is stopped (supervise_watch): its sockets (made now if they are
 * not yet) are watched; a connection starts it. */
void triggers_watch_sockets(Job *job);
/* Starts the timers (StartInterval, StartCalendarInterval) and path
 * watches of a loaded, enabled job, and starts it when a KeepAlive
 * condition or a queue directory asks for it. */
void triggers_arm(Job *job);
/* Stops them (disable, unload); unload closes the sockets too. */
void triggers_disarm(Job *job, bool unload);
/* After an exit: whether PathState, OtherJobEnabled or QueueDirectories
 * want the job running again. */
bool triggers_want_running(Job *job);
/* A job was loaded, unloaded, enabled or disabled: OtherJobEnabled
 * conditions may now hold. */
void triggers_jobs_changed(struct Broker *b);
/* Adds the job's triggers to @d (`xpcctl print`): start_interval,
 * calendar_next (local time), watch_paths, queue_directories, sockets
 * (name -> descriptors held), launch_events. */
void triggers_describe(const Job *job, xpc_object_t d);
/* Starts the job for @why (a timer, a path), unless it runs. */
void triggers_fire(void *job, const char *why);

/* What a trigger does to a job, given by supervise.c (which sits above
 * this file and calls triggers_*): launch it through its ThrottleInterval,
 * or watch its channels again.  Keeps the file graph one-way. */
typedef struct TriggersActions {
	int (*launch)(Job *job);
	void (*watch)(Job *job);
} TriggersActions;
void triggers_set_actions(const TriggersActions *actions);
/* A socket of the job is ready (sockets.c): for inetdCompatibility
 * without Wait the connection is accepted for the next run; then
 * triggers_fire. */
void triggers_socket_ready(void *job, const char *why);

#endif
