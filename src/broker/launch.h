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
/* inetdCompatibility without Wait (inetd.c): an instance of @job for the
 * connection @conn (consumed), not the job's own process: its pid and its
 * report pipe (close it with launch_instance_exited).  Return: 0, or -1
 * (logged and recorded as the job's last failure). */
int launch_instance(Job *job, int conn, pid_t *ret_pid, int *ret_report_fd);
/* An instance exited: its set-up failure if any (recorded), the log line,
 * its group's leftovers; @report_fd is closed. */
void launch_instance_exited(Job *job, pid_t pid, int report_fd, int status);

#endif
