/* SPDX-License-Identifier: MIT */
/*
 * supervise.h - a job's life in the broker: add, check-in, exit, adoption,
 * removal (supervise.c).
 */
#ifndef XPC_BROKER_SUPERVISE_H
#define XPC_BROKER_SUPERVISE_H

#include <dispatch/dispatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "broker/job.h"

struct Broker;

typedef struct Supervisor {
	dispatch_source_t sigchld; /* SIGCHLD on the main queue */
	bool booting;              /* jobs are started only after supervise_boot_done */
} Supervisor;

/* Reaps children on SIGCHLD from now on (SIGCHLD blocked by the caller). */
void supervise_start(struct Broker *b);
/*
 * supervise_add() - load @job (taking ownership) into @b
 * Return: 0, or -1 with @err filled and @job freed.  Once booted, a
 *         RunAtLoad/KeepAlive job starts, another one's names are watched.
 */
int supervise_add(struct Broker *b, Job *job, char *err, size_t errlen);
/* Jobs were loaded, unloaded, enabled or disabled: clients look names up
 * again (the socket's generation) and the exported names follow. */
void supervise_services_changed(struct Broker *b);
/* Stops and removes @job (moved to the graveyard once it has exited). */
void supervise_remove(Job *job);
/* Starts @job now, or when ThrottleInterval has passed since its last
 * start.  Return: 0, or -1 (disabled, unloading, failed, or the start
 * failed at once: recorded and judged). */
int supervise_launch(Job *job);
/* kickstart: clears the failed state and starts @job at once (not
 * throttled); with @kill_first a running one is stopped and started again.
 * Return: 0, or -1 (disabled, or the start failed). */
int supervise_kickstart(Job *job, bool kill_first);
/* Watches @job's names: a check-in starts it (or replaces an adopted one). */
void supervise_watch(Job *job);
/* Why @job's clients cannot be served now, into @buf (the failed state's
 * text, or a throttled start after a failure), or false: their check-ins
 * wait for its start.  What its queued check-ins are refused with. */
bool supervise_unavailable(const Job *job, char *buf, size_t len);
/* @job's process ended with wait status @status: relaunch, watch or free. */
void supervise_exited(Job *job, int status);
/* Adopts the running instances recorded in the state file (once the job
 * directories are loaded). */
void supervise_recover(struct Broker *b);
/* Ends booting: starts the RunAtLoad/KeepAlive jobs, watches the others. */
void supervise_boot_done(struct Broker *b);

#endif
