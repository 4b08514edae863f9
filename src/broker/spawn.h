/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - making a job's process and hearing how its set-up went
 * (spawn.c).
 */
#ifndef XPC_BROKER_SPAWN_H
#define XPC_BROKER_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "broker/job.h"
#include "broker/step.h"

typedef struct SpawnResult {
	pid_t pid;             /* the process, leading its own process group */
	int report_fd;         /* R of the report pipe (spawn_read_report), -1: none */
	int output_fd;         /* R of the job's output, -1 when not captured */
	SpawnFailure failure;  /* why spawn_job failed */
} SpawnResult;

/*
 * spawn_job() - fork the job's process, set it up and exec its program
 * @socket_path: the broker socket, the job's XPCD_SOCKET (NULL: none)
 * @capture:     standard output and error the job does not name go to a
 *               pipe whose read end is @ret->output_fd (else /dev/null)
 * Return: 0 with @ret's pid and pipes (the caller owns and closes them),
 *         or -1 with @ret->failure (logged: a UserName/GroupName that does
 *         not resolve, out of memory, fork failed).  A step that fails in
 *         the child is logged there and reported on the report pipe.
 */
int spawn_job(const Job *job, const char *socket_path, bool capture, SpawnResult *ret);
/*
 * spawn_read_report() - what the report pipe @fd (non-blocking) says
 * Return: 1 with @ret filled (a step failed), 0 (end of file: the exec
 *         happened, or the child is gone), or -EAGAIN (nothing yet).
 */
int spawn_read_report(int fd, SpawnFailure *ret);

#endif
