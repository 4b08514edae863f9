/* SPDX-License-Identifier: MIT */
/*
 * channel.h - the listener pair (R, W) of each MachServices name and the
 * watch on R while the job is stopped (channel.c).
 */
#ifndef XPC_BROKER_CHANNEL_H
#define XPC_BROKER_CHANNEL_H

#include <dispatch/dispatch.h>
#include <stdbool.h>

#include "broker/job.h"

/* Makes the pair of every name of @job.  Return: 0, or -1 with errno
 * (the pairs made so far stay: channel_close() frees them). */
int channel_open(Job *job);
/* Watches every R of @job (not of a disabled one): a check-in queued in
 * one calls @on_checkin(@job) on the main queue. */
void channel_watch(Job *job, dispatch_function_t on_checkin);
void channel_unwatch(Job *job);
/* Drops the check-ins queued by clients that are gone.  Return: true when
 * a packet is left that should start the job. */
bool channel_live_checkins(Job *job);
/* The check-in first in line on @job's R ends: the inode of its link
 * (the same while it is queued), 0 when none is queued. */
unsigned long channel_head(Job *job);
/* Takes up to @max packets queued on @job's R ends off and answers each
 * check-in with a refusal naming @why (its client's connection ends
 * INVALID with that reason).  Return: how many were taken. */
unsigned channel_refuse_checkins(Job *job, const char *why, unsigned max);
/* Closes both ends of every pair (R once its watch let go of it). */
void channel_close(Job *job);

#endif
