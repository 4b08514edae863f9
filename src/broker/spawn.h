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
	int go_fd;             /* W of the go pipe: spawn_go() lets the child exec */
	SpawnFailure failure;  /* why spawn_job failed */
} SpawnResult;

/*
 * spawn_job() - fork the job's process, set it up and exec its program
 * @socket_path: the broker socket, the job's XPCD_SOCKET (NULL: none)
 * @capture:     standard output and error the job does not name go to a
 *               pipe whose read end is @ret->output_fd (else /dev/null)
 * The child waits before exec until the caller, having recorded the pid
 * (the state file a restarted broker adopts from), calls spawn_go(): a job
 * never serves a client while a broker killed at that moment would not
 * know of it (a second instance after the restart).  A child whose broker
 * died before spawn_go() exits 126 without running the program.
 * Return: 0 with @ret's pid and pipes (the caller owns and closes them),
 *         or -1 with @ret->failure (logged: a UserName/GroupName that does
 *         not resolve, out of memory, fork failed).  A step that fails in
 *         the child is logged there and reported on the report pipe.
 */
int spawn_job(const Job *job, const char *socket_path, bool capture, SpawnResult *ret);
/* Lets the child of @ret exec (see spawn_job) and closes @ret->go_fd. */
void spawn_go(SpawnResult *ret);
/*
 * spawn_read_report() - what the report pipe @fd (non-blocking) says
 * Return: 1 with @ret filled (a step failed), 0 (end of file: the exec
 *         happened, or the child is gone), or -EAGAIN (nothing yet).
 */
int spawn_read_report(int fd, SpawnFailure *ret);

/* The RLIMIT_NOFILE soft limit jobs start with (xpcd's own at start,
 * before it raised it; -1, the default: what xpcd has). */
void spawn_keep_nofile_soft(long soft);

#endif
