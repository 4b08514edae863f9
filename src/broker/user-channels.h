/* SPDX-License-Identifier: MIT */
/*
 * user-channels.h - the per-user channels of each MachServices name
 * (user-channels.c; docs/security.md, "Per-user channels").
 */
#ifndef XPC_BROKER_USER_CHANNELS_H
#define XPC_BROKER_USER_CHANNELS_H

#include <sys/types.h>

#include "broker/job.h"

/* At most this many users' channels per name (the listener takes as
 * many: USER_CHANNELS_MAX, src/connection/internal.h). */
#define USER_CHANNELS_PER_NAME 64u

/*
 * user_channels_get() - the W of @uid's channel to name @s of the running
 * @job: the one made before, if none of its holders ended it, else a new
 * one whose R the job's listener is sent (over @s's W).
 * Return: W (borrowed: hand out a duplicate), or -1: none (the job is not
 * running or is inetd-style, the limit, no descriptors): check in through
 * the broker as before.
 */
int user_channels_get(Job *job, JobService *s, uid_t uid);

/* The users with a channel, per name of @job that has any: { name: [uid,
 * ...] } (+1), or NULL when none (print: XPCD_JOB_USER_CHANNELS). */
xpc_object_t user_channels_describe(const Job *job);

/* Ends every user's channel of @job (disabled, unloaded): each W is shut
 * down, so its holders ask the broker again. */
void user_channels_end(Job *job);

/* @job exited: the check-ins still queued in its users' channels go to
 * the names' R (the next instance takes them), then every channel ends. */
void user_channels_exited(Job *job);

#endif
