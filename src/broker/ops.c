/* SPDX-License-Identifier: MIT */
/*
 * ops.c - the operations of the broker protocol (docs/broker.md), driven by
 * a table: each entry names the operation, its handler, and who may call
 * it (the model: dbus-broker's driver_methods[]).
 *
 * A request is { XPCD_KEY_OP: OP, ... } (src/shared/xpcd-protocol.h) and
 * gets one reply: { "ok": true, ... } or { "error": TEXT, "errno": N }.
 * The table's access says what is checked before the handler runs:
 *
 *   OPS_ANYONE      every caller; the handler applies the job's policy
 *                   (lookup, checkin, list)
 *   OPS_ANYONE_JOB  every caller, on the job named by "label"; what the
 *                   caller sees follows policy_sight (print)
 *   OPS_OWNER       root and the broker's own user (load, reload)
 *   OPS_OWNER_JOB   the same, on the job named by "label" (unload,
 *                   enable, disable, kickstart, kill)
 *
 * A caller that may not call an operation gets "denied" (EPERM) before its
 * label is looked at; an unknown operation is denied to strangers and
 * "unknown operation" (EOPNOTSUPP) to the owner once its label names a
 * job.  The broker is never on a service's data path: a lookup or a
 * check-in (vend.c) hands over a link once.  Handlers run on the main
 * queue; fuzz/fuzz-broker.c calls ops_handle() in-process.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xpc/xpc.h>

#include "broker/activity.h"
#include "broker/blame.h"
#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/describe.h"
#include "broker/jobdirs.h"
#include "broker/deferred.h"
#include "broker/launch.h"
#include "broker/log.h"
#include "broker/monitor.h"
#include "broker/ops.h"
#include "broker/plist.h"
#include "broker/policy.h"
#include "broker/registry.h"
#include "broker/reply.h"
#include "broker/step.h"
#include "broker/user-channels.h"
#include "broker/rundir.h"
#include "broker/supervise.h"
#include "broker/triggers.h"
#include "broker/vend.h"
#include "private/xpc-private.h"
#include "shared/xpcd-protocol.h"

typedef enum OpsAccess {
	OPS_ANYONE,
	OPS_ANYONE_JOB,
	OPS_OWNER,
	OPS_OWNER_JOB,
} OpsAccess;

/* A handler: @job is the job named by "label" for the *_JOB accesses,
 * NULL otherwise.  Return: the reply (+1), NULL when none can be made. */
typedef xpc_object_t (*OpsHandler)(Broker *b, const Caller *who, xpc_object_t req, Job *job);

typedef struct OpsMethod {
	const char *name;
	OpsHandler handler;
	OpsAccess access;
} OpsMethod;

static xpc_object_t reply_ok(xpc_object_t req)
{
	xpc_object_t r = xpc_dictionary_create_reply(req);

	if (r)
		xpc_dictionary_set_bool(r, XPCD_KEY_OK, true);
	return r;
}

/* reply_ok with @value (released) under @key. */
static xpc_object_t reply_ok_with(xpc_object_t req, const char *key, xpc_object_t value)
{
	xpc_object_t r = reply_ok(req);

	if (r && value)
		xpc_dictionary_set_value(r, key, value);
	if (value)
		xpc_release(value);
	return r;
}

/* reply_ok with the job's pid: what every operation on a job answers. */
static xpc_object_t reply_pid(xpc_object_t req, const Job *job)
{
	xpc_object_t r = reply_ok(req);

	if (r)
		xpc_dictionary_set_int64(r, XPCD_KEY_PID, job->pid);
	return r;
}

static xpc_object_t op_list(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	xpc_object_t arr = xpc_array_create(NULL, 0);

	(void)unused;
	for (Job *j = registry_first(&b->registry); j; j = j->next) {
		PolicySight see = policy_sight(j, who);
		if (see == POLICY_SEE_NOTHING)
			continue;
		xpc_object_t d = describe_job(j, see, false);
		xpc_array_append_value(arr, d);
		xpc_release(d);
	}
	return reply_ok_with(req, XPCD_KEY_JOBS, arr);
}

static xpc_object_t op_print(Broker *b, const Caller *who, xpc_object_t req, Job *job)
{
	PolicySight see = policy_sight(job, who);

	(void)b;
	if (see == POLICY_SEE_NOTHING) /* as for a label no job has: its existence is not told */
		return reply_error(req, "no job with that label", ESRCH);
	return reply_ok_with(req, XPCD_KEY_JOB, describe_job(job, see, true));
}

/* The load's warnings, one string each, for the reply's "warnings". */
static xpc_object_t load_warnings(const PlistWarnings *w)
{
	xpc_object_t a = xpc_array_create(NULL, 0);
	char more[64];

	for (unsigned i = 0; a && i < w->n; i++)
		xpc_array_set_string(a, XPC_ARRAY_APPEND, w->text[i]);
	if (a && w->dropped) {
		snprintf(more, sizeof(more), "(%u more warnings)", w->dropped);
		xpc_array_set_string(a, XPC_ARRAY_APPEND, more);
	}
	return a;
}

/* load: the job file at "path"; its warnings (unknown and unsupported
 * keys) are logged and carried in the reply's "warnings"; with "strict",
 * a file with any warning is refused. */
static xpc_object_t op_load(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	const char *path = xpc_dictionary_get_string(req, XPCD_KEY_PATH);
	PlistWarnings *w = calloc(1, sizeof(*w));
	char err[512];
	Job *job = NULL;
	xpc_object_t r = NULL, list;

	(void)who;
	(void)unused;
	if (!path || !w) {
		free(w);
		return reply_error(req, path ? "load: out of memory" : "load: missing \"path\"", path ? ENOMEM : EINVAL);
	}
	if (plist_load_job_warn(path, &job, w, err, sizeof(err)) < 0) {
		r = reply_error(req, err, EINVAL);
	} else if (w->n && xpc_dictionary_get_bool(req, XPCD_KEY_STRICT)) {
		snprintf(err, sizeof(err), "%s: refused (--strict): %u warning%s, the first: %s", path, w->n + w->dropped,
			 w->n + w->dropped == 1 ? "" : "s", w->text[0]);
		job_free(job);
		r = reply_error(req, err, EINVAL);
	} else if (supervise_add(b, job, err, sizeof(err)) < 0) {
		r = reply_error(req, err, EINVAL);
	} else if ((r = reply_ok(req))) {
		xpc_dictionary_set_string(r, XPCD_KEY_LABEL, job->label);
	}
	for (unsigned i = 0; i < w->n; i++)
		log_line(LOG_WARNING, "%s: %s", path, w->text[i]);
	if (r && w->n && (list = load_warnings(w))) {
		xpc_dictionary_set_value(r, XPCD_KEY_WARNINGS, list);
		xpc_release(list);
	}
	free(w);
	return r;
}

/* A running job: answered once its instance stopped and it is gone
 * (deferred.c), so a load of the same label right after succeeds. */
static xpc_object_t op_unload(Broker *b, const Caller *who, xpc_object_t req, Job *job)
{
	(void)b;
	supervise_remove(job);
	if (job->unloading && job->pid && deferred_add(job, who->link, req, true) == 0)
		return NULL;
	return reply_pid(req, job);
}

/* enable and disable: a disabled job vends nothing and is not started.
 * The choice is kept across broker restarts (overrides.c), also for a
 * label no job has yet, as launchd's. */
static xpc_object_t set_disabled(Broker *b, xpc_object_t req, bool disabled)
{
	const char *label = xpc_dictionary_get_string(req, XPCD_KEY_LABEL);
	Job *job = label ? registry_find_label(&b->registry, label) : NULL;

	if (!label || !*label)
		return reply_error(req, "missing \"" XPCD_KEY_LABEL "\"", EINVAL);
	overrides_set(&b->overrides, &b->rundir, label, disabled);
	if (!job) {
		xpc_object_t r = reply_ok(req);
		if (r)
			xpc_dictionary_set_int64(r, XPCD_KEY_PID, 0);
		return r;
	}
	job->disabled = disabled;
	supervise_services_changed(b);
	if (disabled) {
		user_channels_end(job); /* their holders ask again: "disabled" */
		channel_unwatch(job);
		triggers_disarm(job, false);
	} else {
		if (!job->pid)
			supervise_watch(job);
		triggers_arm(job);
	}
	return reply_pid(req, job);
}

static xpc_object_t op_enable(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	(void)who;
	(void)unused;
	return set_disabled(b, req, false);
}

static xpc_object_t op_disable(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	(void)who;
	(void)unused;
	return set_disabled(b, req, true);
}

static xpc_object_t op_kickstart(Broker *b, const Caller *who, xpc_object_t req, Job *job)
{
	bool kill_first = xpc_dictionary_get_bool(req, XPCD_KEY_KILL);
	bool running = job->pid != 0;
	char text[256];

	(void)b;
	if (supervise_kickstart(job, kill_first) < 0) {
		if (job->disabled || !job->fail_step)
			return reply_error(req, "kickstart: the job is disabled or could not start", EIO);
		step_failure_text(job->failed, job->fail_step, job->fail_errno, text, sizeof(text));
		return reply_error(req, text, EIO);
	}
	/* -k on a running job: answered with the new pid once it runs */
	if (kill_first && running && deferred_add(job, who->link, req, false) == 0)
		return NULL;
	return reply_pid(req, job);
}

static xpc_object_t op_kill(Broker *b, const Caller *who, xpc_object_t req, Job *job)
{
	int64_t sig = xpc_dictionary_get_int64(req, XPCD_KEY_SIGNAL);

	(void)b;
	(void)who;
	if (sig <= 0 || sig >= NSIG)
		return reply_error(req, "kill: bad signal number", EINVAL);
	if (!job->pid)
		return reply_error(req, "kill: the job is not running", ESRCH);
	launch_signal(job, (int)sig);
	return reply_pid(req, job);
}

static xpc_object_t op_reload(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	JobdirsCounts c;
	xpc_object_t r;

	(void)who;
	(void)unused;
	jobdirs_reload(b, &c);
	r = reply_ok(req);
	if (r) {
		xpc_dictionary_set_uint64(r, XPCD_KEY_LOADED, c.loaded);
		xpc_dictionary_set_uint64(r, XPCD_KEY_UNLOADED, c.unloaded);
		xpc_dictionary_set_uint64(r, XPCD_KEY_CHANGED, c.changed);
		xpc_dictionary_set_uint64(r, XPCD_KEY_FAILED, c.failed);
	}
	return r;
}

/* monitor: the link receives the broker's events from now on (monitor.c). */
static xpc_object_t op_monitor(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	int r;

	(void)unused;
	if (!who->link)
		return reply_error(req, "monitor: needs a link", EINVAL);
	r = monitor_subscribe(&b->monitors, who->link, who->uid, policy_is_owner(who), req);
	if (r == -EMFILE)
		return reply_error(req, "limit exceeded: monitors", EMFILE);
	if (r == -EALREADY)
		return reply_error(req, "monitor: this link is one already", EALREADY);
	if (r < 0)
		return reply_error(req, "limit exceeded: out of memory", ENOMEM);
	taps_refresh(&b->taps, &b->monitors);
	return reply_ok(req);
}

/* tap: the link reports its process's frames from now on (tap.c); it is
 * told with a "watch" event (the library sends tap one-way; asked with a
 * reply wanted, it gets one too). */
static xpc_object_t op_tap(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	int r;

	(void)unused;
	if (!who->link)
		return reply_error(req, "tap: needs a link", EINVAL);
	r = taps_add(&b->taps, &b->monitors, who->link, who->uid, who->pid);
	if (r == -EALREADY)
		return reply_error(req, "tap: this link is one already", EALREADY);
	if (r < 0)
		return reply_error(req, "limit exceeded: out of memory", ENOMEM);
	return reply_ok(req);
}

/* frame: one summary on a tap link, sent one-way (a request that wants a
 * reply gets "ok", whatever became of it). */
static xpc_object_t op_frame(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	(void)unused;
	taps_frame(&b->taps, &b->monitors, who->link, req);
	return reply_ok(req);
}

/* blame: why the job runs; for those who may see its pid. */
static xpc_object_t op_blame(Broker *b, const Caller *who, xpc_object_t req, Job *job)
{
	PolicySight see = policy_sight(job, who);
	char text[320];
	xpc_object_t r;

	(void)b;
	if (see == POLICY_SEE_NOTHING)
		return reply_error(req, "no job with that label", ESRCH);
	if (see != POLICY_SEE_ALL)
		return reply_error(req, "denied", EPERM);
	if (job->pid)
		snprintf(text, sizeof(text), "%s", job->why[0] ? job->why : "(not recorded)");
	else
		snprintf(text, sizeof(text), "not running%s%s", job->why[0] ? "; last started for: " : "", job->why);
	r = reply_ok(req);
	if (r) {
		xpc_dictionary_set_string(r, XPCD_KEY_REASON, text);
		xpc_dictionary_set_int64(r, XPCD_KEY_PID, job->pid);
	}
	return r;
}

/* procinfo: the job a pid is, for those who may see that job's pid. */
static xpc_object_t op_procinfo(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	int64_t pid = xpc_dictionary_get_int64(req, XPCD_KEY_PID);
	Job *job = pid > 0 && pid <= INT32_MAX ? registry_find_pid(&b->registry, (pid_t)pid) : NULL;
	xpc_object_t d;

	(void)unused;
	if (!job || policy_sight(job, who) != POLICY_SEE_ALL) /* whose process it is is not told */
		return reply_error(req, "no job with that pid", ESRCH);
	d = describe_job(job, POLICY_SEE_ALL, false);
	if (d)
		xpc_dictionary_set_string(d, XPCD_KEY_REASON, job->why[0] ? job->why : "(not recorded)");
	return reply_ok_with(req, XPCD_KEY_PROCESS, d);
}

/* The job's activities (docs/activities.md): who sees the job's definition
 * sees them. */
static xpc_object_t op_activities(Broker *b, const Caller *who, xpc_object_t req, Job *job)
{
	PolicySight see = policy_sight(job, who);
	xpc_object_t acts;

	(void)b;
	if (see == POLICY_SEE_NOTHING)
		return reply_error(req, "no job with that label", ESRCH);
	if (see != POLICY_SEE_ALL)
		return reply_error(req, "denied", EPERM);
	acts = activity_describe(job);
	return reply_ok_with(req, XPCD_KEY_ACTIVITIES, acts ? acts : xpc_array_create(NULL, 0));
}

static xpc_object_t op_run_activity(Broker *b, const Caller *who, xpc_object_t req, Job *job)
{
	const char *name = xpc_dictionary_get_string(req, XPCD_KEY_NAME);
	int r = name ? activity_run_now(job, name) : -EINVAL;

	(void)b;
	(void)who;
	if (r == -ESRCH)
		return reply_error(req, "run-activity: the job has no activity of that name", ESRCH);
	if (r == -EBUSY)
		return reply_error(req, "run-activity: a run of that activity is under way", EBUSY);
	if (r == -ECANCELED)
		return reply_error(req, "run-activity: the job is disabled or unloading", ECANCELED);
	if (r < 0)
		return reply_error(req, "run-activity: missing \"name\"", EINVAL);
	return reply_pid(req, job);
}

static const OpsMethod ops_methods[] = {
	{XPCD_OP_LOOKUP, vend_lookup, OPS_ANYONE},
	{XPCD_OP_CHECKIN, vend_checkin, OPS_ANYONE},
	{XPCD_OP_LIST, op_list, OPS_ANYONE},
	{XPCD_OP_PRINT, op_print, OPS_ANYONE_JOB},
	{XPCD_OP_LOAD, op_load, OPS_OWNER},
	{XPCD_OP_UNLOAD, op_unload, OPS_OWNER_JOB},
	{XPCD_OP_ENABLE, op_enable, OPS_OWNER},
	{XPCD_OP_DISABLE, op_disable, OPS_OWNER},
	{XPCD_OP_KICKSTART, op_kickstart, OPS_OWNER_JOB},
	{XPCD_OP_KILL, op_kill, OPS_OWNER_JOB},
	{XPCD_OP_RELOAD, op_reload, OPS_OWNER},
	{XPCD_OP_ACTIVITIES, op_activities, OPS_ANYONE_JOB},
	{XPCD_OP_RUN_ACTIVITY, op_run_activity, OPS_OWNER_JOB},
	{XPCD_OP_MONITOR, op_monitor, OPS_ANYONE},
	{XPCD_OP_TAP, op_tap, OPS_ANYONE},
	{XPCD_OP_FRAME, op_frame, OPS_ANYONE},
	{XPCD_OP_BLAME, op_blame, OPS_ANYONE_JOB},
	{XPCD_OP_PROCINFO, op_procinfo, OPS_ANYONE},
};

static const OpsMethod *ops_find(const char *name)
{
	for (size_t i = 0; i < sizeof(ops_methods) / sizeof(ops_methods[0]); i++)
		if (!strcmp(ops_methods[i].name, name))
			return &ops_methods[i];
	return NULL;
}

static xpc_object_t ops_dispatch(Broker *b, const Caller *who, xpc_object_t req);

/* The operations monitors hear of besides lookup: those that change state,
 * and any request refused with "denied". */
static void ops_tell(Broker *b, const Caller *who, xpc_object_t req, xpc_object_t reply)
{
	const char *op = xpc_dictionary_get_string(req, XPCD_KEY_OP);
	const OpsMethod *m = op ? ops_find(op) : NULL;
	const char *err = reply ? xpc_dictionary_get_string(reply, XPCD_KEY_ERROR) : NULL;
	bool denied = err && !strcmp(err, "denied");
	MonitorEvent ev = {.kind = denied ? XPCD_EVENT_REFUSED : op, .label = xpc_dictionary_get_string(req, XPCD_KEY_LABEL),
			   .pid = who->pid, .uid = who->uid, .has_uid = true, .status = -1};
	char text[160];

	if (!m || (!denied && (m->access == OPS_ANYONE || m->access == OPS_ANYONE_JOB)))
		return;
	if (!reply) /* kickstart -k: answered later */
		snprintf(text, sizeof(text), "waiting for the new instance");
	else
		snprintf(text, sizeof(text), "%s%s%s", denied ? op : "", denied ? ": " : "", err ? err : "ok");
	ev.text = text;
	monitor_emit(&b->monitors, &ev);
}

xpc_object_t ops_handle(Broker *b, const Caller *who, xpc_object_t req)
{
	xpc_object_t reply = ops_dispatch(b, who, req);

	if (monitor_active(&b->monitors))
		ops_tell(b, who, req, reply);
	return reply;
}

static xpc_object_t ops_dispatch(Broker *b, const Caller *who, xpc_object_t req)
{
	const char *name = xpc_dictionary_get_string(req, XPCD_KEY_OP);
	const OpsMethod *m;
	const char *label;
	Job *job;

	if (!name)
		return reply_error(req, "missing \"" XPCD_KEY_OP "\"", EINVAL);
	m = ops_find(name);
	if (m && m->access == OPS_ANYONE)
		return m->handler(b, who, req, NULL);
	if ((!m || m->access != OPS_ANYONE_JOB) && !policy_is_owner(who))
		return reply_error(req, "denied", EPERM);
	if (m && m->access == OPS_OWNER)
		return m->handler(b, who, req, NULL);
	label = xpc_dictionary_get_string(req, XPCD_KEY_LABEL);
	job = label ? registry_find_label(&b->registry, label) : NULL;
	if (!job)
		return reply_error(req, "no job with that label", ESRCH);
	if (!m)
		return reply_error(req, "unknown operation", EOPNOTSUPP);
	return m->handler(b, who, req, job);
}
