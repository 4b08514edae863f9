/* SPDX-License-Identifier: MIT */
/*
 * limits.h - a job's process attributes that launchd sets before exec:
 * Umask, Nice, LowPriorityIO, SoftResourceLimits, HardResourceLimits.
 */
#ifndef XPC_BROKER_LIMITS_H
#define XPC_BROKER_LIMITS_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "broker/plistval.h"

#define LIMITS_N_RLIMITS 9 /* the launchd names, limits.c */

typedef struct JobLimits {
	bool has_umask, has_nice, low_priority_io;
	mode_t umask;
	int nice;
	struct {
		bool soft_set, hard_set;
		rlim_t soft, hard;
	} rlim[LIMITS_N_RLIMITS]; /* in the order of limits.c's table */
} JobLimits;

/*
 * limits_parse_key() - one top-level key of a job file, if it is one of
 * this module's.
 * Return: 1 taken, 0 not one of these keys, -1 a bad value (ctx->err).
 */
int limits_parse_key(PlistCtx *ctx, JobLimits *l, const char *key, plist_t v);

/*
 * limits_apply() - in the forked child, before the job's identity is
 * taken (raising a hard limit and a negative Nice need root): resource
 * limits, Nice, LowPriorityIO (the idle I/O class), Umask.  Only system
 * calls: safe between fork and exec.
 * @ret_step: on failure, the key that failed
 * Return: 0, or the errno.
 */
int limits_apply(const JobLimits *l, const char **ret_step);

#endif
