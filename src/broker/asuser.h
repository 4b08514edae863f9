/* SPDX-License-Identifier: MIT */
/*
 * asuser.h - a job's identity (UserName, GroupName, InitGroups) resolved
 * from the host's databases, and file checks made with it: what the
 * broker does for a job on paths the job names (WatchPaths,
 * QueueDirectories) it does with the rights of the job's user, never with
 * its own (docs/security.md, "Paths a job names").
 */
#ifndef XPC_BROKER_ASUSER_H
#define XPC_BROKER_ASUSER_H

#include <stdbool.h>
#include <sys/types.h>

#include "broker/job.h"

#define ASUSER_MAX_GROUPS 256

typedef struct JobIds {
	uid_t uid;
	gid_t gid;
	gid_t groups[ASUSER_MAX_GROUPS];
	int n_groups;
	bool set_ids; /* false: the job runs with the broker's own identity */
} JobIds;

/* The ids and supplementary groups of @job's UserName/GroupName into
 * @ids (a root broker only; otherwise the broker's own, set_ids false).
 * Return: 0, or -1 (a name that does not resolve; logged). */
int asuser_ids(const Job *job, JobIds *ids);
/*
 * asuser_call() - @fn(@arg) with the file rights of @job's user: on a
 * thread of its own that took the job's groups, gid and uid (raw system
 * calls: credentials are per thread in Linux, the others keep root's) and
 * ends after @fn.  Descriptors @fn opens are the broker's, as any.  A job
 * without an identity of its own (no UserName/GroupName, or a broker that
 * is not root) runs @fn on the calling thread.  @fn must not call
 * anything that reaches the other threads of xpcd (no dispatch, no locks
 * held across the call).
 * Return: 0, or a negative errno (the identity could not be taken: @fn
 * not called).
 */
int asuser_call(const Job *job, void (*fn)(void *arg), void *arg);

#endif
