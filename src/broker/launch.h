/* SPDX-License-Identifier: MIT */
/*
 * launch.h - when a job's process starts and how it stops (launch.c).
 */
#ifndef XPC_BROKER_LAUNCH_H
#define XPC_BROKER_LAUNCH_H

#include "broker/job.h"

/* Starts @job now, or schedules it when ThrottleInterval has not passed.
 * Return: 0 or -1 (disabled, unloading, or the start failed). */
int launch_job(Job *job);
/* Sends @sig to the job's process group. */
void launch_signal(Job *job, int sig);
/* SIGTERM now, SIGKILL after ExitTimeOut. */
void launch_stop(Job *job);

#endif
