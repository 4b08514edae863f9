/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the loaded jobs and the state file (registry.c).
 */
#ifndef XPC_BROKER_REGISTRY_H
#define XPC_BROKER_REGISTRY_H

#include <stddef.h>
#include <sys/types.h>

#include "broker/job.h"
#include "broker/rundir.h"

typedef struct Registry {
	Job *jobs;      /* loaded */
	Job *graveyard; /* unloaded: pending timers may still name them */
	Rundir *rundir; /* where the state file is (borrowed) */
} Registry;

void registry_init(Registry *reg, Rundir *rundir);
Job *registry_first(const Registry *reg);
Job *registry_find_label(const Registry *reg, const char *label);
Job *registry_find_service(const Registry *reg, const char *name, JobService **ret_service);
/* A loaded or unloaded job by its running pid. */
Job *registry_find_pid(const Registry *reg, pid_t pid);
/*
 * registry_insert() - add @job (taking ownership) and make its channels
 * Return: 0, or -1 with @err filled (label or name already loaded, no
 *         channels) and @job freed.  Starts nothing (supervise_add does).
 */
int registry_insert(Registry *reg, Job *job, char *err, size_t errlen);
/* Moves @job from the loaded jobs to the graveyard. */
void registry_unlink(Registry *reg, Job *job);
/* Writes the state file: the running jobs. */
void registry_save_state(const Registry *reg);
/* Calls @adopt(@ctx, job, pid) for each running instance of a loaded job
 * that the state file records and that is still the same process. */
void registry_recover_state(Registry *reg, void (*adopt)(void *ctx, Job *job, pid_t pid), void *ctx);
/* Frees the unloaded jobs.  Only for in-process tests (fuzz/fuzz-broker.c):
 * the broker keeps them since pending timers may still name them. */
void registry_free_unloaded(Registry *reg);

#endif
