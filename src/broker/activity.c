/* SPDX-License-Identifier: MIT */
/*
 * activity.c - xpcd's side of background activities: the activities of a
 * job's property list (activity-plist.c) scheduled from their criteria
 * (src/activity/schedule.c) and run in the job over its activity channel
 * (src/activity/protocol.h; docs/activities.md).
 *
 * Model: a loaded job with activities gets one more listener pair, a
 * JobService marked `hidden` named ACTIVITY_CHANNEL: launched jobs inherit
 * its R like any channel, xpcd watches R while the job is stopped, but no
 * lookup ever finds it, so only xpcd checks in over its W.  When an
 * activity is due, xpcd makes (or reuses) its link to the job: a check-in
 * over W, which launches a stopped job through the ordinary on-demand
 * path, then the hello (every activity with its criteria) and a run
 * request; the reply (DONE or DEFER) schedules the next run.  A job
 * started for any other reason gets the link and the hello at once, so
 * its check-ins complete.
 *
 * Invariants:
 * - at most one run per activity is in flight; each ends exactly once:
 *   by the job's reply, or when the job exits (activity_job_exited), which
 *   counts as DONE ("ended without a report");
 * - `epoch` moves on whenever the link goes: replies and timers of an
 *   older epoch or generation are ignored (neither can be cancelled);
 * - on exit the check-ins xpcd left queued in R are drained, so a job
 *   that never listens on its channel is not relaunched for them.
 *
 * Everything runs on the main queue, as the rest of xpcd.
 */
#include <errno.h>
#include <plist/plist.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "activity/protocol.h"
#include "activity/schedule.h"
#include "broker/job.h"
#include "broker/activity.h"
#include "broker/activity-plist.h"
#include "broker/log.h"
#include "private/xpc-private.h"
#include "shared/clock.h"

typedef struct BrokerActivity {
	char *name;
	xpc_object_t criteria; /* dictionary */
	bool in_flight;        /* a run request awaits its reply */
	bool finished;         /* a one-shot activity that ran */
	bool unregistered;     /* xpc_activity_unregister in the job */
	uint64_t generation;   /* of the timer that counts */
	uint64_t due;          /* clock_monotonic_ns(); 0: not scheduled */
	unsigned runs;
	long last_state;       /* XPC_ACTIVITY_STATE_* of the last end, -1 none */
} BrokerActivity;

struct JobActivities {
	BrokerActivity *v;
	size_t n;
	xpc_connection_t link; /* xpcd -> job, or NULL */
	uint64_t epoch;
};

static double activity_scale = 1.0;

void activity_set_time_scale(const char *text)
{
	activity_scale = activity_schedule_parse_scale(text);
	if (activity_scale != 1.0)
		log_line(LOG_INFO, "activities: test clock, time runs %g times faster", activity_scale);
}

/* ---- plist criteria -> xpc ------------------------------------------------------ */

static xpc_object_t activity_from_plist(plist_t p, unsigned depth);

static xpc_object_t activity_dict_from_plist(plist_t p, unsigned depth)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t v = NULL;

	plist_dict_new_iter(p, &it);
	for (plist_dict_next_item(p, it, &k, &v); k; plist_dict_next_item(p, it, &k, &v)) {
		xpc_object_t x = activity_from_plist(v, depth + 1);
		if (x) {
			xpc_dictionary_set_value(d, k, x);
			xpc_release(x);
		}
		free(k);
		k = NULL;
	}
	free(it);
	return d;
}

/* The criteria value of a plist node (+1), NULL for types XPC criteria
 * never hold (dates, data). */
static xpc_object_t activity_from_plist(plist_t p, unsigned depth)
{
	uint64_t u = 0;
	uint8_t b = 0;
	double d = 0;
	const char *s;

	if (depth > 8)
		return NULL;
	switch (plist_get_node_type(p)) {
	case PLIST_BOOLEAN:
		plist_get_bool_val(p, &b);
		return xpc_bool_create(b);
	case PLIST_UINT:
		plist_get_uint_val(p, &u);
		return xpc_int64_create((int64_t)u);
	case PLIST_REAL:
		plist_get_real_val(p, &d);
		return xpc_double_create(d);
	case PLIST_STRING:
		s = plist_get_string_ptr(p, NULL);
		return s ? xpc_string_create(s) : NULL;
	case PLIST_DICT:
		return activity_dict_from_plist(p, depth);
	default:
		return NULL;
	}
}

/* ---- schedule --------------------------------------------------------------------- */

typedef struct ActivityTick {
	Job *job;
	size_t i;
	uint64_t generation;
} ActivityTick;

static void activity_due(void *ctx);

static void activity_schedule(Job *job, size_t i, ActivityEvent ev)
{
	BrokerActivity *a = &job->activities->v[i];
	int64_t ns = activity_schedule_next_ns(a->criteria, ev, activity_scale);
	ActivityTick *t;

	a->generation++;
	a->due = 0;
	if (ns < 0 || a->unregistered) {
		a->finished = ns < 0;
		return;
	}
	t = malloc(sizeof(*t));
	if (!t || _xpc_linux_dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, ns), dispatch_get_main_queue(), t,
					      activity_due) < 0) {
		log_line(LOG_INFO, "%s: activity %s: cannot schedule: out of memory", job->label, a->name);
		free(t);
		return;
	}
	*t = (ActivityTick){job, i, a->generation};
	a->due = clock_monotonic_ns() + (uint64_t)ns;
}

/* ---- the link to the job -------------------------------------------------------------- */

static JobService *activity_channel(Job *job)
{
	for (size_t i = 0; i < job->n_services; i++)
		if (job->services[i].hidden)
			return &job->services[i];
	return NULL;
}

static xpc_object_t activity_hello(JobActivities *ja)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t acts = xpc_dictionary_create(NULL, NULL, 0);

	for (size_t i = 0; i < ja->n; i++)
		if (!ja->v[i].unregistered && !ja->v[i].finished)
			xpc_dictionary_set_value(acts, ja->v[i].name, ja->v[i].criteria);
	xpc_dictionary_set_string(msg, ACTIVITY_KEY_OP, ACTIVITY_OP_HELLO);
	xpc_dictionary_set_value(msg, ACTIVITY_KEY_ACTIVITIES, acts);
	xpc_release(acts);
	return msg;
}

static BrokerActivity *activity_by_name(JobActivities *ja, const char *name, size_t *ret_i)
{
	for (size_t i = 0; name && i < ja->n; i++)
		if (!strcmp(ja->v[i].name, name)) {
			*ret_i = i;
			return &ja->v[i];
		}
	return NULL;
}

/* A message of the job: new criteria, or an unregistration. */
static void activity_on_job_message(Job *job, uint64_t epoch, xpc_object_t msg)
{
	JobActivities *ja = job->activities;
	const char *op = xpc_dictionary_get_string(msg, ACTIVITY_KEY_OP);
	xpc_object_t crit = xpc_dictionary_get_value(msg, ACTIVITY_KEY_CRITERIA);
	BrokerActivity *a;
	size_t i;

	if (!ja || ja->epoch != epoch || !op ||
	    !(a = activity_by_name(ja, xpc_dictionary_get_string(msg, ACTIVITY_KEY_NAME), &i)))
		return;
	if (!strcmp(op, ACTIVITY_OP_UNREGISTER)) {
		log_line(LOG_INFO, "%s: activity %s unregistered", job->label, a->name);
		a->unregistered = true;
		a->generation++;
		a->due = 0;
	} else if (!strcmp(op, ACTIVITY_OP_CRITERIA) && crit && xpc_get_type(crit) == XPC_TYPE_DICTIONARY &&
		   !activity_schedule_check(crit)) {
		xpc_release(a->criteria);
		a->criteria = xpc_copy(crit);
		a->finished = a->unregistered = false;
		if (!a->in_flight)
			activity_schedule(job, i, ACTIVITY_EV_REGISTERED);
	}
}

static void activity_drop_link(JobActivities *ja)
{
	ja->epoch++;
	if (ja->link) {
		xpc_connection_cancel(ja->link);
		xpc_release(ja->link);
		ja->link = NULL;
	}
}

/* The link to the job, made and greeted when there is none.  Return: it,
 * or NULL (no channel or no memory; logged). */
static xpc_connection_t activity_link(Job *job)
{
	JobActivities *ja = job->activities;
	JobService *ch = activity_channel(job);
	xpc_endpoint_t ep;
	xpc_object_t hello;
	uint64_t epoch;

	if (ja->link)
		return ja->link;
	if (!ch || ch->send_fd < 0)
		return NULL;
	ep = _xpc_linux_endpoint_create_from_send_fd(ch->send_fd);
	ja->link = ep ? xpc_connection_create_from_endpoint(ep) : NULL;
	if (ep)
		xpc_release(ep);
	if (!ja->link) {
		log_line(LOG_INFO, "%s: activities: cannot link to the job: %s", job->label, strerror(errno));
		return NULL;
	}
	epoch = ++ja->epoch;
	xpc_connection_set_target_queue(ja->link, dispatch_get_main_queue());
	xpc_connection_set_event_handler(ja->link, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
			activity_on_job_message(job, epoch, ev);
	});
	xpc_connection_resume(ja->link);
	hello = activity_hello(ja);
	xpc_connection_send_message(ja->link, hello);
	xpc_release(hello);
	return ja->link;
}

/* ---- runs -------------------------------------------------------------------------- */

static void activity_end_run(Job *job, size_t i, long state)
{
	BrokerActivity *a = &job->activities->v[i];

	a->in_flight = false;
	a->last_state = state;
	if (a->unregistered)
		return;
	if (state == XPC_ACTIVITY_STATE_DEFER) {
		log_line(LOG_INFO, "%s: activity %s deferred", job->label, a->name);
		activity_schedule(job, i, ACTIVITY_EV_DEFERRED);
		return;
	}
	activity_schedule(job, i, ACTIVITY_EV_DONE);
	log_line(LOG_INFO, "%s: activity %s done%s", job->label, a->name, a->finished ? " (not repeating)" : "");
}

static void activity_on_reply(Job *job, size_t i, uint64_t epoch, xpc_object_t reply)
{
	JobActivities *ja = job->activities;
	long state = XPC_ACTIVITY_STATE_DONE;

	if (!ja || ja->epoch != epoch || i >= ja->n || !ja->v[i].in_flight)
		return; /* the link went first: activity_job_exited ended the run */
	if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY &&
	    xpc_dictionary_get_int64(reply, ACTIVITY_KEY_STATE) == XPC_ACTIVITY_STATE_DEFER)
		state = XPC_ACTIVITY_STATE_DEFER;
	activity_end_run(job, i, state);
}

static void activity_run(Job *job, size_t i)
{
	JobActivities *ja = job->activities;
	BrokerActivity *a = &ja->v[i];
	xpc_connection_t link = activity_link(job);
	xpc_object_t msg;
	uint64_t epoch = ja->epoch;

	if (!link) {
		activity_schedule(job, i, ACTIVITY_EV_DEFERRED);
		return;
	}
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, ACTIVITY_KEY_OP, ACTIVITY_OP_RUN);
	xpc_dictionary_set_string(msg, ACTIVITY_KEY_NAME, a->name);
	a->in_flight = true;
	a->runs++;
	log_line(LOG_INFO, "%s: activity %s due: run %u%s", job->label, a->name, a->runs, job->pid ? "" : " (launching the job)");
	xpc_connection_send_message_with_reply(link, msg, dispatch_get_main_queue(), ^(xpc_object_t reply) {
		activity_on_reply(job, i, epoch, reply);
	});
	xpc_release(msg);
}

static void activity_due(void *ctx)
{
	ActivityTick *t = ctx;
	Job *job = t->job;
	JobActivities *ja = job->activities;
	BrokerActivity *a = ja && t->i < ja->n ? &ja->v[t->i] : NULL;

	if (a && a->generation == t->generation && !a->in_flight && !a->unregistered && !job->unloading) {
		a->due = 0;
		if (job->disabled)
			activity_schedule(job, t->i, ACTIVITY_EV_DEFERRED);
		else
			activity_run(job, t->i);
	}
	free(t);
}

/* ---- the job's life ------------------------------------------------------------------ */

/* The hidden channel entry, appended to the job's services (its R and W
 * made here: the others are open already). */
static int activity_add_channel(Job *job)
{
	JobService *v = realloc(job->services, (job->n_services + 1) * sizeof(*v));
	JobService *s;

	if (!v)
		return -1;
	job->services = v;
	s = &v[job->n_services];
	memset(s, 0, sizeof(*s));
	s->recv_fd = s->send_fd = -1;
	s->hidden = true;
	s->name = strdup(ACTIVITY_CHANNEL);
	job->n_services++;
	if (!s->name || _xpc_linux_listener_pair(&s->recv_fd, &s->send_fd) < 0)
		return -1;
	return 0;
}

static int activity_fill(Job *job, JobActivities *ja)
{
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t v = NULL;
	uint32_t n = plist_dict_get_size(job->activity_events);

	ja->v = calloc(n ? n : 1, sizeof(*ja->v));
	if (!ja->v)
		return -1;
	plist_dict_new_iter(job->activity_events, &it);
	for (plist_dict_next_item(job->activity_events, it, &k, &v); k && ja->n < n;
	     plist_dict_next_item(job->activity_events, it, &k, &v)) {
		BrokerActivity *a = &ja->v[ja->n++];
		a->name = k;
		a->criteria = activity_from_plist(v, 0);
		a->last_state = -1;
		k = NULL;
		if (!a->criteria) {
			free(it);
			return -1;
		}
	}
	free(k);
	free(it);
	return 0;
}

int activity_job_loaded(Job *job)
{
	JobActivities *ja;

	if (!job->activity_events)
		return 0;
	ja = calloc(1, sizeof(*ja));
	job->activities = ja;
	if (!ja || activity_fill(job, ja) < 0 || activity_add_channel(job) < 0) {
		if (!errno)
			errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < ja->n; i++)
		activity_schedule(job, i, ACTIVITY_EV_REGISTERED);
	log_line(LOG_INFO, "%s: %zu activit%s scheduled", job->label, ja->n, ja->n == 1 ? "y" : "ies");
	return 0;
}

void activity_job_started(Job *job)
{
	if (job->activities)
		activity_link(job);
}

/* Throws away the check-ins xpcd queued in R that the job never took. */
static void activity_drain(Job *job)
{
	JobService *ch = activity_channel(job);
	char buf[256], cbuf[CMSG_SPACE(16 * sizeof(int)) + CMSG_SPACE(64)];

	for (int n = 0; ch && ch->recv_fd >= 0 && n < 1024; n++) {
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		if (recvmsg(ch->recv_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				close(((int *)CMSG_DATA(c))[i]);
		}
	}
}

void activity_job_exited(Job *job)
{
	JobActivities *ja = job->activities;

	if (!ja)
		return;
	activity_drop_link(ja);
	activity_drain(job);
	for (size_t i = 0; i < ja->n; i++)
		if (ja->v[i].in_flight) {
			log_line(LOG_INFO, "%s: activity %s: the job exited before reporting", job->label, ja->v[i].name);
			activity_end_run(job, i, XPC_ACTIVITY_STATE_DONE);
		}
}

void activity_job_stopping(Job *job)
{
	JobActivities *ja = job->activities;
	xpc_object_t msg;

	if (!ja || !ja->link)
		return;
	for (size_t i = 0; i < ja->n; i++) {
		if (!ja->v[i].in_flight)
			continue;
		msg = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(msg, ACTIVITY_KEY_OP, ACTIVITY_OP_DEFER);
		xpc_dictionary_set_string(msg, ACTIVITY_KEY_NAME, ja->v[i].name);
		xpc_connection_send_message(ja->link, msg);
		xpc_release(msg);
	}
}

void activity_job_unloaded(Job *job)
{
	JobActivities *ja = job->activities;

	if (!ja)
		return;
	activity_drop_link(ja);
	for (size_t i = 0; ja->v && i < ja->n; i++) {
		free(ja->v[i].name);
		if (ja->v[i].criteria)
			xpc_release(ja->v[i].criteria);
	}
	free(ja->v);
	free(ja);
	job->activities = NULL;
}

int activity_run_now(Job *job, const char *name)
{
	JobActivities *ja = job->activities;
	BrokerActivity *a;
	size_t i;

	if (!ja || !(a = activity_by_name(ja, name, &i)))
		return -ESRCH;
	if (a->in_flight)
		return -EBUSY;
	if (job->disabled || job->unloading)
		return -ECANCELED;
	a->unregistered = false;
	a->finished = false;
	a->generation++; /* the pending timer is void: this run replaces it */
	a->due = 0;
	log_line(LOG_INFO, "%s: activity %s: run requested", job->label, a->name);
	activity_run(job, i);
	return 0;
}

/* ---- what `print` and the activities request show ---------------------------------------- */

xpc_object_t activity_describe(const Job *job)
{
	JobActivities *ja = job->activities;
	xpc_object_t arr;
	uint64_t now = clock_monotonic_ns();

	if (!ja)
		return NULL;
	arr = xpc_array_create(NULL, 0);
	for (size_t i = 0; i < ja->n; i++) {
		BrokerActivity *a = &ja->v[i];
		xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
		const char *st = a->unregistered ? "unregistered"
				 : a->in_flight  ? "running"
				 : a->finished   ? "done"
						 : "waiting";
		xpc_dictionary_set_string(d, "name", a->name);
		xpc_dictionary_set_string(d, "state", st);
		xpc_dictionary_set_value(d, "criteria", a->criteria);
		xpc_dictionary_set_uint64(d, "runs", a->runs);
		if (a->due)
			xpc_dictionary_set_double(d, "next_run_in", (double)(int64_t)(a->due - now) / 1e9);
		if (a->last_state >= 0)
			xpc_dictionary_set_string(d, "last_end",
						  a->last_state == XPC_ACTIVITY_STATE_DEFER ? "deferred" : "done");
		xpc_array_append_value(arr, d);
		xpc_release(d);
	}
	return arr;
}
