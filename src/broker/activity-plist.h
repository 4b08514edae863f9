/* SPDX-License-Identifier: MIT */
/*
 * activity-plist.h - LaunchEvents -> com.apple.xpc.activity of a job file
 * (activity-plist.c).
 */
#ifndef XPC_BROKER_ACTIVITY_PLIST_H
#define XPC_BROKER_ACTIVITY_PLIST_H

#include <stddef.h>

#include "broker/job.h"

#define ACTIVITY_MAX_PER_JOB 64

/* @stream (its plist_t value) checked and kept in job->activity_events.
 * Return: 0, or -1 with @err naming the key. */
int activity_plist_parse(Job *job, void *stream, char *err, size_t errlen);
void activity_plist_free(Job *job);

#endif
