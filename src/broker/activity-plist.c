/* SPDX-License-Identifier: MIT */
/*
 * activity-plist.c - the com.apple.xpc.activity stream of a job's
 * LaunchEvents: checked and kept, as property list nodes, for
 * activity.c (docs/activities.md).
 *
 *   <key>LaunchEvents</key>
 *   <dict>
 *     <key>com.apple.xpc.activity</key>
 *     <dict>
 *       <key>NAME</key>
 *       <dict> criteria: Interval, Delay, GracePeriod (integers, seconds),
 *              Repeating (boolean), Priority (string), ... </dict>
 *     </dict>
 *   </dict>
 *
 * The time criteria must have their types (an error names the key); every
 * other criterion is kept as it is (it means nothing on Linux, but the job
 * reads its criteria back with xpc_activity_copy_criteria).  A job has at
 * most ACTIVITY_MAX_PER_JOB activities.  This file needs libplist only, so
 * the job loader's tests and fuzzer take it with plist.c.
 */
#include <plist/plist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity/protocol.h"
#include "broker/job.h"
#include "broker/activity-plist.h"

#define ACTIVITY_PLIST_MAX_SECONDS (366ull * 24 * 3600)

static int activity_plist_fail(char *err, size_t errlen, const char *name, const char *key, const char *what)
{
	snprintf(err, errlen, "key LaunchEvents.%s.%s%s%s: %s", ACTIVITY_CHANNEL, name, key ? "." : "", key ? key : "",
		 what);
	return -1;
}

static int activity_plist_check_one(const char *name, plist_t crit, char *err, size_t errlen)
{
	static const char *const secs[] = {"Interval", "Delay", "GracePeriod"};
	plist_t v;
	uint64_t u = 0;

	if (plist_get_node_type(crit) != PLIST_DICT)
		return activity_plist_fail(err, errlen, name, NULL, "must be a dictionary of criteria");
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		v = plist_dict_get_item(crit, secs[i]);
		if (!v)
			continue;
		if (plist_get_node_type(v) != PLIST_UINT)
			return activity_plist_fail(err, errlen, name, secs[i], "must be an integer (seconds)");
		plist_get_uint_val(v, &u);
		if (u > ACTIVITY_PLIST_MAX_SECONDS)
			return activity_plist_fail(err, errlen, name, secs[i], "out of range (0 to 366 days)");
	}
	v = plist_dict_get_item(crit, "Repeating");
	if (v && plist_get_node_type(v) != PLIST_BOOLEAN)
		return activity_plist_fail(err, errlen, name, "Repeating", "must be a boolean");
	v = plist_dict_get_item(crit, "Priority");
	if (v && plist_get_node_type(v) != PLIST_STRING)
		return activity_plist_fail(err, errlen, name, "Priority", "must be a string");
	return 0;
}

int activity_plist_parse(Job *job, void *stream, char *err, size_t errlen)
{
	plist_t acts = stream;
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t v = NULL;
	int r = 0;

	if (plist_get_node_type(acts) != PLIST_DICT) {
		snprintf(err, errlen, "key LaunchEvents.%s: must be a dictionary of activities", ACTIVITY_CHANNEL);
		return -1;
	}
	if (plist_dict_get_size(acts) > ACTIVITY_MAX_PER_JOB) {
		snprintf(err, errlen, "key LaunchEvents.%s: more than %d activities", ACTIVITY_CHANNEL,
			 ACTIVITY_MAX_PER_JOB);
		return -1;
	}
	plist_dict_new_iter(acts, &it);
	for (plist_dict_next_item(acts, it, &k, &v); k && r == 0; plist_dict_next_item(acts, it, &k, &v)) {
		r = !*k ? activity_plist_fail(err, errlen, "", NULL, "an activity needs a name")
			: activity_plist_check_one(k, v, err, errlen);
		free(k);
		k = NULL;
	}
	free(k);
	free(it);
	if (r < 0)
		return r;
	if (job->activity_events)
		plist_free(job->activity_events);
	job->activity_events = plist_copy(acts);
	if (!job->activity_events) {
		snprintf(err, errlen, "key LaunchEvents: out of memory");
		return -1;
	}
	return 0;
}

void activity_plist_free(Job *job)
{
	if (job->activity_events)
		plist_free(job->activity_events);
	job->activity_events = NULL;
}
