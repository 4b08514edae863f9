/* SPDX-License-Identifier: MIT */
/*
 * describe.h - a job as the protocol shows it to list and print
 * (describe.c).
 */
#ifndef XPC_BROKER_DESCRIBE_H
#define XPC_BROKER_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <xpc/xpc.h>

#include "broker/job.h"
#include "broker/policy.h"

/* "running", "stopping", "disabled", "failed", "throttled" or "waiting". */
const char *describe_state(const Job *job);
/*
 * describe_job() - the entry of @job (+1): label, state and names for
 * POLICY_SEE_STATE; for POLICY_SEE_ALL also pid and last exit status, and
 * with @full the definition.
 */
xpc_object_t describe_job(const Job *job, PolicySight see, bool full);

#endif
