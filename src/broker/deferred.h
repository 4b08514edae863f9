/* SPDX-License-Identifier: MIT */
/*
 * deferred.h - `kickstart -k` answered once the new instance runs,
 * `unload` once the job is gone (deferred.c).
 */
#ifndef XPC_BROKER_DEFERRED_H
#define XPC_BROKER_DEFERRED_H

#include <stdbool.h>
#include <xpc/xpc.h>

#include "broker/job.h"

#define DEFERRED_MAX 16 /* waiting requests per job */

/*
 * deferred_add() - @req (from @link, both borrowed) is answered when
 * @job runs again or cannot, or, when @unload, when @job is gone (with
 * ok and pid 0).
 * Return: 0, or -1 (DEFERRED_MAX reached, or no memory): answer now.
 */
int deferred_add(Job *job, xpc_connection_t link, xpc_object_t req, bool unload);
/* Answers the waiting requests if the restart is decided: the new pid
 * when @job runs, else why not.  Nothing while a restart is still to come. */
void deferred_settle(Job *job);
/* Answers every waiting request: unload's with ok, kickstart's with
 * "the job was unloaded". */
void deferred_cancel(Job *job);

#endif
