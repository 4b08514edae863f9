/* SPDX-License-Identifier: MIT */
/*
 * step.c - the names of the steps of a job's start (step.h): systemd's
 * exit codes and names (200/CHDIR, 203/EXEC, 217/USER, ...), so an
 * operator reads a failure as in `systemctl status`.  A leaf.
 */
#include "broker/step.h"

#include <stdio.h>
#include <string.h>

const char *step_name(int step)
{
	switch (step) {
	case SPAWN_CHDIR: return "200/CHDIR";
	case SPAWN_NICE: return "201/NICE";
	case SPAWN_FDS: return "202/FDS";
	case SPAWN_EXEC: return "203/EXEC";
	case SPAWN_MEMORY: return "204/MEMORY";
	case SPAWN_LIMITS: return "205/LIMITS";
	case SPAWN_STDIN: return "208/STDIN";
	case SPAWN_CHROOT: return "210/CHROOT";
	case SPAWN_IOPRIO: return "211/IOPRIO";
	case SPAWN_STDOUT: return "209/STDOUT";
	case SPAWN_GROUP: return "216/GROUP";
	case SPAWN_USER: return "217/USER";
	case SPAWN_STDERR: return "222/STDERR";
	default: return "0/NONE";
	}
}

void step_failure_text(bool failed, int step, int err, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", failed ? "failed: start limit reached; last start failed at " : "start failed at ",
			 step_name(step));

	if (err && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ": %s", strerror(err));
}
