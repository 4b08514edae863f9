/* SPDX-License-Identifier: MIT */
/*
 * activity.h - the activities of LaunchEvents, scheduled by xpcd and run in
 * the job (activity.c, docs/activities.md).
 */
#ifndef XPC_BROKER_ACTIVITY_H
#define XPC_BROKER_ACTIVITY_H

#include <xpc/xpc.h>

#include "broker/job.h"

/* The test clock (XPC_ACTIVITY_TIME_SCALE of a private broker; main.c). */
void activity_set_time_scale(const char *text);
/* After the job's channels are open: its activity channel, and the
 * schedule.  Return: 0, or -1 with errno (then activity_job_unloaded). */
int activity_job_loaded(Job *job);
void activity_job_started(Job *job);  /* launch.c: link and hello */
void activity_job_stopping(Job *job); /* SIGTERM coming: runs asked to defer */
void activity_job_exited(Job *job);   /* supervise.c, before any relaunch */
void activity_job_unloaded(Job *job); /* the channels are closed */
/* The activities for `print` (+1 array), or NULL when the job has none. */
xpc_object_t activity_describe(Job *job);

#endif
