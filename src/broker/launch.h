/* SPDX-License-Identifier: MIT */
/*
 * launch.h - starting a job's process now, its set-up report, stopping it
 * (launch.c).
 */
#ifndef XPC_BROKER_LAUNCH_H
#define XPC_BROKER_LAUNCH_H

#include "broker/job.h"

/* Starts @job's process now.  Return: 0, or -1 with the failure recorded
 * (launch_record_failure). */
int launch_start(Job *job);
/* Reads the report of @job's last start if it is still pending (the
 * process has exited: it is there), recording a failed step. */
void launch_collect(Job *job);
/* Records a failed start of @job at @step (SpawnStep) with @err, logged. */
void launch_record_failure(Job *job, int step, int err);
/* Sends @sig to the job's process group. */
void launch_signal(Job *job, int sig);
/* SIGTERM now, SIGKILL after ExitTimeOut. */
void launch_stop(Job *job);

#endif
