/* SPDX-License-Identifier: MIT */
/*
 * plist.h - launchd job property lists into Job definitions (plist.c).
 */
#ifndef XPC_BROKER_PLIST_H
#define XPC_BROKER_PLIST_H

#include <stddef.h>

#include "broker/job.h"
#include "broker/plistval.h"

/*
 * plist_load_job() - parse a launchd property list (XML or binary).
 * @path:    the file
 * @ret_job: set on success to a new job (caller frees with job_free)
 * @err:     on failure, a message naming the file and the key
 * Return: 0, or -1 with @err filled.  Unknown keys are reported on stderr.
 */
int plist_load_job(const char *path, Job **ret_job, char *err, size_t errlen);
/* plist_load_job(), with the warnings (unknown or unsupported keys) in
 * @warn instead of on stderr. */
int plist_load_job_warn(const char *path, Job **ret_job, PlistWarnings *warn, char *err, size_t errlen);

#endif
