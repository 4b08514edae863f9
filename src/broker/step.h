/* SPDX-License-Identifier: MIT */
/*
 * step.h - the steps of a job's start that can fail, and their names
 * (step.c).
 */
#ifndef XPC_BROKER_STEP_H
#define XPC_BROKER_STEP_H

#include <stdbool.h>
#include <stddef.h>

/* The set-up step that failed, numbered as systemd's exit codes. */
typedef enum SpawnStep {
	SPAWN_OK = 0,
	SPAWN_CHDIR = 200,  /* WorkingDirectory */
	SPAWN_NICE = 201,   /* Nice */
	SPAWN_FDS = 202,    /* the listener descriptors into place */
	SPAWN_EXEC = 203,   /* the program */
	SPAWN_MEMORY = 204, /* out of memory or processes in xpcd (before fork) */
	SPAWN_LIMITS = 205, /* resource limits */
	SPAWN_STDIN = 208,  /* StandardInPath */
	SPAWN_STDOUT = 209, /* StandardOutPath, or the output pipe */
	SPAWN_CHROOT = 210, /* RootDirectory */
	SPAWN_IOPRIO = 211, /* LowPriorityIO */
	SPAWN_GROUP = 216,  /* GroupName, setgroups, setgid */
	SPAWN_USER = 217,   /* UserName, setuid */
	SPAWN_STDERR = 222, /* StandardErrorPath, or the output pipe */
} SpawnStep;

/* A failed start: the step (SPAWN_OK: none) and its errno (0 when the
 * step failed without one, e.g. "no such user"). */
typedef struct SpawnFailure {
	int step;
	int err;
} SpawnFailure;

/* "203/EXEC" and so on; "0/NONE" for SPAWN_OK. */
const char *step_name(int step);
/* The text of a job's last failed start (@step, @err) into @buf: "start
 * failed at 203/EXEC: No such file or directory", prefixed by the failed
 * state when @failed (the start limit was reached). */
void step_failure_text(bool failed, int step, int err, char *buf, size_t len);

#endif
