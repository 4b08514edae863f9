/* SPDX-License-Identifier: MIT */
/*
 * policy.h - who may use a job's names and what a caller sees of a job
 * (policy.c).
 */
#ifndef XPC_BROKER_POLICY_H
#define XPC_BROKER_POLICY_H

#include <stdbool.h>
#include <sys/types.h>
#include <xpc/xpc.h>

#include "broker/job.h"

/* Who sent a request: the peer's credentials (SO_PEERCRED at connect),
 * and the link it came on (borrowed for the call; NULL in the fuzzer):
 * monitors keep it, kickstart -k answers on it later. */
typedef struct Caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	xpc_connection_t link;
} Caller;

/* What a caller may see of a job. */
typedef enum PolicySight {
	POLICY_SEE_NOTHING, /* not even that it exists */
	POLICY_SEE_STATE,   /* label, state, names */
	POLICY_SEE_ALL,     /* also pid, exit status, the definition */
} PolicySight;

/* The uid @job runs as: UserName's on a root broker, else the broker's.
 * Return: false when UserName names no user. */
bool policy_job_uid(const Job *job, uid_t *ret);
/* True for root and the broker's own user: they may change jobs. */
bool policy_is_owner(const Caller *who);
/* The lookup policy (xpcd.plist(5)): may @who use @job's names? */
bool policy_may_lookup(const Job *job, const Caller *who);
/* What @who may see of @job. */
PolicySight policy_sight(const Job *job, const Caller *who);

#endif
