/* SPDX-License-Identifier: MIT */
/*
 * describe.c - a job as the broker protocol shows it (the keys XPCD_JOB_*
 * of src/shared/xpcd-protocol.h): what list and print reply, cut to what
 * the caller may see (policy.c).  A leaf.
 */
#include <stdio.h>
#include <string.h>

#include "broker/activity.h"
#include "broker/describe.h"
#include "broker/step.h"
#include "broker/triggers.h"
#include "broker/user-channels.h"
#include "shared/xpcd-protocol.h"

const char *describe_state(const Job *job)
{
	if (job->pid)
		return job->stopping ? "stopping" : "running";
	if (job->disabled)
		return "disabled";
	if (job->failed)
		return "failed";
	return job->launch_pending ? "throttled" : "waiting";
}

static xpc_object_t string_array(char *const *v, size_t n)
{
	xpc_object_t arr = xpc_array_create(NULL, 0);

	for (size_t i = 0; i < n && v[i]; i++)
		xpc_array_set_string(arr, XPC_ARRAY_APPEND, v[i]);
	return arr;
}

static void set_names(xpc_object_t d, const Job *job)
{
	xpc_object_t names = xpc_array_create(NULL, 0);

	for (size_t i = 0; i < job->n_services; i++)
		if (!job->services[i].hidden) /* the activity channel (activity.c) */
			xpc_array_set_string(names, XPC_ARRAY_APPEND, job->services[i].name);
	xpc_dictionary_set_value(d, XPCD_JOB_SERVICES, names);
	xpc_release(names);
}

static void set_definition(xpc_object_t d, const Job *job)
{
	xpc_dictionary_set_string(d, XPCD_JOB_PROGRAM, job->program ? job->program : job->argv[0]);
	if (job->argv) {
		xpc_object_t args = string_array(job->argv, (size_t)-1);
		xpc_dictionary_set_value(d, XPCD_JOB_ARGUMENTS, args);
		xpc_release(args);
	}
	if (job->path)
		xpc_dictionary_set_string(d, XPCD_JOB_PATH, job->path);
	if (job->user)
		xpc_dictionary_set_string(d, XPCD_JOB_USER, job->user);
	xpc_dictionary_set_uint64(d, XPCD_JOB_RUNS, job->runs);
	xpc_dictionary_set_bool(d, XPCD_JOB_RUN_AT_LOAD, job->run_at_load);
	xpc_dictionary_set_bool(d, XPCD_JOB_KEEPALIVE, job->keepalive);
	xpc_dictionary_set_bool(d, XPCD_JOB_ADOPTED, job->adopted);
	triggers_describe(job, d);
	xpc_dictionary_set_uint64(d, XPCD_JOB_THROTTLE_INTERVAL, job->throttle_interval);
	xpc_dictionary_set_uint64(d, XPCD_JOB_EXIT_TIMEOUT, job->exit_timeout);
}

xpc_object_t describe_job(const Job *job, PolicySight see, bool full)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(d, XPCD_JOB_LABEL, job->label);
	xpc_dictionary_set_string(d, XPCD_JOB_STATE, describe_state(job));
	xpc_dictionary_set_bool(d, XPCD_JOB_DISABLED, job->disabled);
	set_names(d, job);
	if (see != POLICY_SEE_ALL)
		return d;
	xpc_dictionary_set_int64(d, XPCD_JOB_PID, job->pid);
	xpc_dictionary_set_int64(d, XPCD_JOB_LAST_EXIT_STATUS, job->last_status);
	if (job->fail_step) {
		xpc_dictionary_set_string(d, XPCD_JOB_LAST_FAILURE, step_name(job->fail_step));
		xpc_dictionary_set_int64(d, XPCD_JOB_LAST_FAILURE_ERRNO, job->fail_errno);
	}
	if (full)
		set_definition(d, job);
	xpc_object_t acts = full ? activity_describe(job) : NULL;
	if (acts) {
		xpc_dictionary_set_value(d, XPCD_KEY_ACTIVITIES, acts);
		xpc_release(acts);
	}
	xpc_object_t uch = full ? user_channels_describe(job) : NULL;
	if (uch) {
		xpc_dictionary_set_value(d, XPCD_JOB_USER_CHANNELS, uch);
		xpc_release(uch);
	}
	return d;
}
