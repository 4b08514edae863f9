/* SPDX-License-Identifier: MIT */
/*
 * kickwait.h - `kickstart -k` answered once the new instance runs,
 * `unload` once the job is gone (kickwait.c).
 */
#ifndef XPC_BROKER_KICKWAIT_H
#define XPC_BROKER_KICKWAIT_H

#include <stdbool.h>
#include <xpc/xpc.h>

#include "broker/job.h"

#define KICKWAIT_MAX 16 /* waiting requests per job */

/*
 * kickwait_add() - @req (from @link, both borrowed) is answered when
 * @job runs again or cannot, or, when @unload, when @job is gone (with
 * ok and pid 0).
 * Return: 0, or -1 (KICKWAIT_MAX reached, or no memory): answer now.
 */
int kickwait_add(Job *job, xpc_connection_t link, xpc_object_t req, bool unload);
/* Answers the waiting requests if the restart is decided: the new pid
 * when @job runs, else why not.  Nothing while a restart is still to come. */
void kickwait_settle(Job *job);
/* Answers every waiting request: unload's with ok, kickstart's with
 * "the job was unloaded". */
void kickwait_cancel(Job *job);

#endif
