/* SPDX-License-Identifier: MIT */
/*
 * policy.h - who may use a job's names and what a caller sees of a job
 * (policy.c).
 */
#ifndef XPC_BROKER_POLICY_H
#define XPC_BROKER_POLICY_H

#include <stdbool.h>
#include <sys/types.h>

#include "broker/job.h"

/* Who sent a request: the peer's credentials (SO_PEERCRED at connect). */
typedef struct Caller {
	uid_t uid;
	gid_t gid;
} Caller;

/* What a caller may see of a job. */
typedef enum PolicySight {
	POLICY_SEE_NOTHING, /* not even that it exists */
	POLICY_SEE_STATE,   /* label, state, names */
	POLICY_SEE_ALL,     /* also pid, exit status, the definition */
} PolicySight;

/* True for root and the broker's own user: they may change jobs. */
bool policy_is_owner(const Caller *who);
/* The lookup policy (xpcd.plist(5)): may @who use @job's names? */
bool policy_may_lookup(const Job *job, const Caller *who);
/* What @who may see of @job. */
PolicySight policy_sight(const Job *job, const Caller *who);

#endif
