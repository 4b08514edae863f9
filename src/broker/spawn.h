/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - making a job's process (spawn.c).
 */
#ifndef XPC_BROKER_SPAWN_H
#define XPC_BROKER_SPAWN_H

#include <sys/types.h>

#include "broker/job.h"

/*
 * spawn_job() - fork the job's process, set it up and exec its program
 * @socket_path: the broker socket, the job's XPCD_SOCKET (NULL: none)
 * Return: the pid (leading its own process group), or -1 (logged: a
 *         UserName/GroupName that does not resolve, out of memory, fork
 *         failed).  A step that fails in the child is logged there and the
 *         child exits with 126 (127: exec).
 */
pid_t spawn_job(const Job *job, const char *socket_path);

#endif
