/* SPDX-License-Identifier: MIT */
/*
 * blame.c - why a job runs (launchctl blame), and its launches and exits
 * as monitor events.
 *
 * supervise.c says why at each place a start is decided: RunAtLoad,
 * KeepAlive (and the exit it follows), kickstart, adoption, or a check-in
 * on one of its channels.  A check-in does not pass through the broker
 * (the client writes to the channel directly, docs/services.md), so the
 * client is named by the last lookup the broker answered for the job's
 * names, with its pid, uid and time: usually the client that checked in,
 * always one that could have (a process that looked the name up earlier
 * may check in again over its cached channel without a lookup).
 *
 * Job events go to the monitors as the job's user's (policy_job_uid), so
 * a user's monitor sees the launches and exits of its own jobs only.
 */
#include "broker/blame.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/monitor.h"
#include "broker/policy.h"

void blame_set(Job *job, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->why, sizeof(job->why), fmt, ap);
	va_end(ap);
}

void blame_looked_up(Job *job, const char *name, pid_t pid, uid_t uid)
{
	time_t now = time(NULL);
	struct tm tm;
	char when[32];

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(job->looked_up, sizeof(job->looked_up), "%s looked up by pid %d (uid %u) at %s", name, (int)pid,
		 (unsigned)uid, when);
}

void blame_checkin(Job *job)
{
	if (job->looked_up[0])
		blame_set(job, "a check-in on its channel (last lookup: %s)", job->looked_up);
	else
		blame_set(job, "a check-in on its channel (no lookup since xpcd started: a client that looked up before)");
}

void blame_event(Job *job, const char *kind, pid_t pid, int status, const char *text)
{
	Broker *b = job->broker;
	MonitorEvent ev = {.kind = kind, .label = job->label, .pid = pid, .status = status, .text = text};

	if (!b || !monitor_active(&b->monitors))
		return;
	ev.has_uid = policy_job_uid(job, &ev.uid);
	monitor_emit(&b->monitors, &ev);
}
