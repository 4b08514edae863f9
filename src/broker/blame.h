/* SPDX-License-Identifier: MIT */
/*
 * blame.h - why a job runs, and the events of jobs for monitors
 * (blame.c; `xpcctl blame`, `procinfo`, `monitor`).
 */
#ifndef XPC_BROKER_BLAME_H
#define XPC_BROKER_BLAME_H

#include <sys/types.h>

#include "broker/job.h"

/* Records why @job is being started (job->why), printf-style. */
void blame_set(Job *job, const char *fmt, ...) __attribute__((__format__(__printf__, 2, 3)));
/* A lookup of @job's @name by @pid/@uid was answered: kept to say which
 * client's check-in a later launch is for. */
void blame_looked_up(Job *job, const char *name, pid_t pid, uid_t uid);
/* A check-in on @job's channels starts it: why, from the last lookup. */
void blame_checkin(Job *job);
/* Tells the monitors @kind (XPCD_EVENT_LAUNCH, _EXIT) of @job's @pid;
 * @status: the wait status of an exit, else -1; @text may be NULL. */
void blame_event(Job *job, const char *kind, pid_t pid, int status, const char *text);

#endif
