/* SPDX-License-Identifier: MIT */
/*
 * triggers.c - what starts a job besides a check-in on its MachServices
 * and RunAtLoad: StartInterval, StartCalendarInterval, WatchPaths,
 * QueueDirectories, Sockets, and KeepAlive's PathState and
 * OtherJobEnabled conditions (launchd.plist(5)).
 *
 * Every trigger ends in triggers_fire(), on the main queue like every job
 * event: a job that runs (or whose launch is pending) is not started again,
 * so events while it runs coalesce into nothing, as in launchd; every
 * launch goes through supervise_launch() and its ThrottleInterval.
 *
 * A job is armed while it is loaded and enabled (triggers_arm; disable and
 * unload disarm it): its timers run and its paths are watched whether it
 * runs or not.  Sockets are created at load (triggers_open) and kept until
 * unload; they are watched only while the job is stopped, beside its
 * MachServices channels (supervise_watch, channel_unwatch).
 *
 * StartOnMount: one timer for all such jobs reads /proc/self/mountinfo
 * every MOUNT_POLL_S seconds (the file's own change notification is
 * POLLPRI, which a dispatch READ source does not wait for); a mount id
 * not seen before starts them.
 *
 * StartInterval: every N seconds from arming (not at arming: that is
 * RunAtLoad).  StartCalendarInterval: a one-shot timer to the next
 * matching minute (calendar.c), re-armed at most a minute ahead so that a
 * clock change or a suspend is noticed; a time passed while the machine
 * slept fires once at wake, as launchd does.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h> /* PATH_MAX: <limits.h> is broker/limits.h here */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/asuser.h"
#include "broker/broker.h"
#include "broker/inetd.h"
#include "broker/job.h"
#include "broker/launch.h"
#include "broker/log.h"
#include "broker/policy.h"
#include "broker/registry.h"
#include "broker/triggers.h"
#include "shared/xpcd-protocol.h"

#define CALENDAR_RECHECK_S 60.0
#define MOUNT_POLL_S 1
#define MOUNT_MAX_IDS 65536

/* ---- conditions ------------------------------------------------------------------ */

static bool triggers_keep_path(const JobKeepPath *k)
{
	return (access(k->name, F_OK) == 0) == k->want;
}

static bool triggers_keep_job(const Job *job, const JobKeepPath *k)
{
	Job *other = registry_find_label(&job->broker->registry, k->name);
	bool enabled = other && !other->unloading && !other->disabled;

	return enabled == k->want;
}

bool triggers_want_running(Job *job)
{
	for (size_t i = 0; i < job->n_keep_paths; i++)
		if (triggers_keep_path(&job->keep_paths[i]))
			return true;
	for (size_t i = 0; i < job->n_keep_jobs; i++)
		if (triggers_keep_job(job, &job->keep_jobs[i]))
			return true;
	return watch_queue_nonempty(&job->watch);
}

static const TriggersActions *triggers_actions; /* supervise.c's */

void triggers_set_actions(const TriggersActions *actions)
{
	triggers_actions = actions;
}

void triggers_fire(void *arg, const char *why)
{
	Job *job = arg;

	if (job->disabled || job->unloading || job->pid || job->launch_pending)
		return;
	log_line(LOG_INFO, "%s: %s: launching", job->label, why);
	triggers_actions->launch(job); /* set by supervise_add, before any job */
}

/* A KeepAlive condition (PathState, OtherJobEnabled) changed: the job
 * starts if its conditions now want it running, and not before its first
 * demand with AfterInitialDemand. */
static void triggers_fire_keepalive(Job *job, const char *why)
{
	if (triggers_want_running(job) && !(job->keepalive_after_demand && !job->runs))
		triggers_fire(job, why);
}

/* The watch's events (watch.c): a PathState change is a KeepAlive
 * condition, the others start the job. */
static void triggers_on_watch(void *arg, WatchEvent ev, const char *why)
{
	if (ev == WATCH_STATE)
		triggers_fire_keepalive(arg, why);
	else
		triggers_fire(arg, why);
}

/* ---- timers ------------------------------------------------------------------------ */

static void triggers_on_interval(void *arg)
{
	triggers_fire(arg, "StartInterval");
}

static void triggers_calendar_rearm(Job *job)
{
	double d = job->calendar_due == -1 ? CALENDAR_RECHECK_S : calendar_real_delay(job->calendar_due);

	if (d > CALENDAR_RECHECK_S)
		d = CALENDAR_RECHECK_S;
	d += 0.005; /* land after the minute starts, not a rounding before it */
	dispatch_source_set_timer(job->calendar_timer, dispatch_time(DISPATCH_TIME_NOW, (int64_t)(d * 1e9)),
				  DISPATCH_TIME_FOREVER, 1000000);
}

static void triggers_on_calendar(void *arg)
{
	Job *job = arg;
	time_t now = calendar_now();

	if (job->calendar_due == -1 || now >= job->calendar_due) {
		bool due = job->calendar_due != -1;
		job->calendar_due = calendar_next(job->calendar, job->n_calendar, now);
		if (due)
			triggers_fire(job, "StartCalendarInterval");
	}
	triggers_calendar_rearm(job);
}

static dispatch_source_t triggers_timer(Job *job, dispatch_function_t fn)
{
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());

	if (!t) {
		log_line(LOG_INFO, "%s: cannot create a timer: out of memory", job->label);
		return NULL;
	}
	dispatch_set_context(t, job);
	dispatch_source_set_event_handler_f(t, fn);
	return t;
}

static void triggers_cancel(dispatch_source_t *t)
{
	if (!*t)
		return;
	dispatch_source_cancel(*t);
	dispatch_release(*t);
	*t = NULL;
}

/* ---- StartOnMount ---------------------------------------------------------------------- */

static struct {
	Broker *broker; /* the one broker of this process */
	dispatch_source_t timer;
	int *ids; /* sorted mount ids last seen */
	size_t n;
} mounts;

static int triggers_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The mount ids of /proc/self/mountinfo, sorted (+1), or NULL. */
static int *triggers_mount_ids(size_t *ret_n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int *ids = f ? malloc(MOUNT_MAX_IDS * sizeof(int)) : NULL;
	char line[4096];
	size_t n = 0;

	while (ids && n < MOUNT_MAX_IDS && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d", &ids[n]) == 1)
			n++;
	if (f)
		fclose(f);
	if (ids)
		qsort(ids, n, sizeof(int), triggers_int_cmp);
	*ret_n = n;
	return ids;
}

/* Whether @now holds an id @before does not (both sorted). */
static bool triggers_mount_new(const int *before, size_t nb, const int *now, size_t nn)
{
	size_t i = 0;

	for (size_t k = 0; k < nn; k++) {
		while (i < nb && before[i] < now[k])
			i++;
		if (i >= nb || before[i] != now[k])
			return true;
	}
	return false;
}

static void triggers_on_mount_poll(void *arg)
{
	size_t n = 0;
	int *ids = triggers_mount_ids(&n);

	(void)arg;
	if (!ids)
		return;
	if (triggers_mount_new(mounts.ids, mounts.n, ids, n))
		for (Job *j = mounts.broker ? registry_first(&mounts.broker->registry) : NULL; j; j = j->next)
			if (j->triggers_armed && j->start_on_mount)
				triggers_fire(j, "StartOnMount: a file system was mounted");
	free(mounts.ids);
	mounts.ids = ids;
	mounts.n = n;
}

static void triggers_mount_watch(Broker *b)
{
	mounts.broker = b;
	if (mounts.timer)
		return;
	mounts.ids = triggers_mount_ids(&mounts.n);
	mounts.timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
	if (!mounts.timer) {
		log_line(LOG_INFO, "StartOnMount: cannot create a timer: out of memory");
		return;
	}
	dispatch_source_set_event_handler_f(mounts.timer, triggers_on_mount_poll);
	dispatch_source_set_timer(mounts.timer, dispatch_time(DISPATCH_TIME_NOW, MOUNT_POLL_S * (int64_t)NSEC_PER_SEC),
				  MOUNT_POLL_S * NSEC_PER_SEC, NSEC_PER_SEC / 10);
	dispatch_resume(mounts.timer);
}

/* ---- arming ------------------------------------------------------------------------- */

/* sockets_open, with whom SecureSocketWithKey files belong to: the job's user. */
static int triggers_sockets_open(Job *job, char *why, size_t size)
{
	uid_t owner;

	job->sockets.owner = policy_job_uid(job, &owner) ? owner : geteuid();
	return sockets_open(&job->sockets, why, size);
}

int triggers_open(Job *job, bool booting, char *err, size_t errlen)
{
	char why[400];

	if (!job->sockets.n_specs)
		return 0;
	if (triggers_sockets_open(job, why, sizeof(why)) < 0) {
		if (booting && errno == EADDRINUSE) {
			log_line(LOG_INFO, "%s: %s: made once the job is stopped", job->label, why);
			return 0;
		}
		snprintf(err, errlen, "%s: %s", job->path ? job->path : job->label, why);
		sockets_close(&job->sockets);
		return -1;
	}
	return 0;
}

void triggers_watch_sockets(Job *job)
{
	char why[400];

	/* those missing since boot: an adopted instance held them */
	if (!sockets_complete(&job->sockets) && !job->unloading &&
	    triggers_sockets_open(job, why, sizeof(why)) < 0 && !job->pid)
		log_line(LOG_INFO, "%s: %s", job->label, why);
	sockets_watch(&job->sockets, triggers_socket_ready, job);
}

/* WatchPaths and QueueDirectories are watched with the job user's rights
 * (watch.c, asuser.c). */
static int triggers_as_user(void *ctx, void (*fn)(void *arg), void *arg)
{
	return asuser_call(ctx, fn, arg);
}

static void triggers_arm_watch(Job *job)
{
	char text[PATH_MAX + 128];
	int r;

	if (!job->watch.states && job->n_keep_paths) {
		job->watch.states = calloc(job->n_keep_paths + 1, sizeof(char *));
		for (size_t i = 0; job->watch.states && i < job->n_keep_paths; i++)
			job->watch.states[i] = strdup(job->keep_paths[i].name);
	}
	if (!watch_wanted(&job->watch))
		return;
	if ((r = watch_start(&job->watch, triggers_on_watch, triggers_as_user, job)) < 0)
		log_line(LOG_INFO, "%s: cannot watch its paths: %s", job->label, strerror(-r));
	for (size_t i = 0; r == 0 && watch_refused_text(&job->watch, i, text, sizeof(text)); i++)
		log_line(LOG_ERR, "%s: %s", job->label, text);
}

void triggers_arm(Job *job)
{
	if (job->triggers_armed || job->disabled || job->unloading)
		return;
	job->triggers_armed = true;
	if (job->start_interval && (job->interval_timer = triggers_timer(job, triggers_on_interval))) {
		uint64_t ns = (uint64_t)job->start_interval * NSEC_PER_SEC;
		dispatch_source_set_timer(job->interval_timer, dispatch_time(DISPATCH_TIME_NOW, (int64_t)ns), ns,
					  ns / 100);
		dispatch_resume(job->interval_timer);
	}
	if (job->n_calendar && (job->calendar_timer = triggers_timer(job, triggers_on_calendar))) {
		job->calendar_due = calendar_next(job->calendar, job->n_calendar, calendar_now());
		triggers_calendar_rearm(job);
		dispatch_resume(job->calendar_timer);
	}
	triggers_arm_watch(job);
	if (job->start_on_mount)
		triggers_mount_watch(job->broker); /* runs for the broker's life once needed */
	if (job->n_keep_paths || job->n_keep_jobs)
		triggers_fire_keepalive(job, "KeepAlive condition");
}

void triggers_disarm(Job *job, bool unload)
{
	job->triggers_armed = false;
	triggers_cancel(&job->interval_timer);
	triggers_cancel(&job->calendar_timer);
	job->calendar_due = -1;
	watch_stop(&job->watch);
	if (!unload)
		return;
	sockets_close(&job->sockets);
	inetd_stop(job);
	if (job->inetd_conn >= 0) {
		close(job->inetd_conn);
		job->inetd_conn = -1;
	}
}

void triggers_socket_ready(void *arg, const char *why)
{
	Job *job = arg;

	if (job->adopted && job->pid) {
		/* an instance of the previous broker does not listen on these
		 * sockets: replace it, the new one takes the connection */
		log_line(LOG_INFO, "%s: %s for an adopted instance: replacing pid %d", job->label, why, (int)job->pid);
		launch_stop(job);
		return;
	}
	if (job->inetd == INETD_NOWAIT) { /* an instance per connection (inetd.c) */
		if (!job->unloading && !job->disabled && inetd_accept(job))
			triggers_watch_sockets(job);
		return;
	}
	triggers_fire(job, why);
}

void triggers_jobs_changed(Broker *b)
{
	for (Job *j = registry_first(&b->registry); j; j = j->next)
		if (j->triggers_armed && j->n_keep_jobs && !j->pid)
			triggers_fire_keepalive(j, "KeepAlive.OtherJobEnabled");
}

/* ---- print ----------------------------------------------------------------------------- */

static void triggers_describe_paths(xpc_object_t d, const char *key, char **paths)
{
	xpc_object_t a;

	if (!paths || !(a = xpc_array_create(NULL, 0)))
		return;
	for (size_t i = 0; paths[i]; i++)
		xpc_array_set_string(a, XPC_ARRAY_APPEND, paths[i]);
	xpc_dictionary_set_value(d, key, a);
	xpc_release(a);
}

static void triggers_describe_refused(const Job *job, xpc_object_t d)
{
	char text[PATH_MAX + 128];
	xpc_object_t a = NULL;

	for (size_t i = 0; watch_refused_text(&job->watch, i, text, sizeof(text)); i++)
		if (a || (a = xpc_array_create(NULL, 0)))
			xpc_array_set_string(a, XPC_ARRAY_APPEND, text);
	if (a) {
		xpc_dictionary_set_value(d, XPCD_JOB_WATCH_REFUSED, a);
		xpc_release(a);
	}
}

static void triggers_describe_sockets(const Job *job, xpc_object_t d)
{
	xpc_object_t s = xpc_dictionary_create(NULL, NULL, 0);

	for (size_t i = 0; s && i < job->sockets.n_specs; i++) {
		const char *name = job->sockets.specs[i].name;
		int64_t n = 0;
		for (size_t k = 0; k < job->sockets.n_fds; k++)
			n += !strcmp(job->sockets.fd_names[k], name);
		xpc_dictionary_set_int64(s, name, n);
	}
	if (s) {
		xpc_dictionary_set_value(d, XPCD_JOB_SOCKETS, s);
		xpc_release(s);
	}
}

void triggers_describe(const Job *job, xpc_object_t d)
{
	char when[64];
	struct tm tm;

	if (job->start_interval)
		xpc_dictionary_set_int64(d, XPCD_JOB_START_INTERVAL, job->start_interval);
	if (job->calendar_due != -1 && localtime_r(&job->calendar_due, &tm) &&
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M %a", &tm))
		xpc_dictionary_set_string(d, XPCD_JOB_CALENDAR_NEXT, when);
	triggers_describe_paths(d, XPCD_JOB_WATCH_PATHS, job->watch.paths);
	triggers_describe_paths(d, XPCD_JOB_QUEUE_DIRECTORIES, job->watch.queues);
	triggers_describe_refused(job, d);
	if (job->sockets.n_specs)
		triggers_describe_sockets(job, d);
	if (job->launch_events)
		xpc_dictionary_set_value(d, XPCD_JOB_LAUNCH_EVENTS, job->launch_events);
}
