/* SPDX-License-Identifier: MIT */
/*
 * vend.c - how the broker vends a name: lookups and check-ins.
 *
 * Every name has a listener pair (R, W; channel.c).  W is a socket that
 * its holders share, and any holder can end it for all the others with
 * shutdown(2): the kernel refuses every send on it from then on, and R
 * sees its end.  So W goes only to callers that could end the service
 * anyway (vend_may_hold: root, and the user the job runs as), who may
 * keep it and check in over it directly (the library caches it,
 * docs/services.md).  Everyone else checks in through the broker: the
 * client makes its link and sends the far end in { "xpcd.op": "checkin",
 * "name", "link" }; the broker checks that the caller made that link
 * (SO_PEERCRED against the caller's verified identity) and sends it over
 * W in a CHECKIN frame stating the client's pid, euid and egid, as the
 * client would have (root may state them; the listener's own check,
 * transport_checkin_verify, then finds the link its sender's).  The
 * service sees the same check-in as before; the broker is still off the
 * data path: it handles the link's far end once, never its messages.
 *
 * Lookups and check-ins answer the same refusals ("unknown name",
 * "denied", "disabled", a failed job's step) and are told to monitors as
 * lookups.  A refused check-in's link, if the caller made it, is also
 * told why (a REFUSED frame, as a listener refuses): a client that uses
 * its link before the answer comes (src/connection/named-link.c) learns
 * the reason there, not a bare end.  A job that cannot start now (failed,
 * or throttled after a failure: supervise_unavailable) gets nothing
 * forwarded: the check-in is refused with why at once.
 *
 * A caller checked in so also gets a channel of its own to the running
 * job, and checks in over it directly from then on (user-channels.c):
 * the broker is on its path once per user and run of the job.
 *
 * A broker that cannot state another process's ids (not root) answers a
 * check-in with the endpoint instead (its callers are root and its own
 * user, who may hold it), and the client checks in itself; so does a full
 * backlog (hundreds of check-ins unread: W's send buffer) for such a
 * caller, who then waits for room as before.  Others are told the limit
 * (EAGAIN; their link is left alone) and ask again for up to 5 s
 * (src/connection/named.c): the broker never blocks on a service.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "broker/blame.h"
#include "broker/monitor.h"
#include "broker/registry.h"
#include "broker/reply.h"
#include "broker/step.h"
#include "broker/supervise.h"
#include "broker/user-channels.h"
#include "broker/vend.h"
#include "private/xpc-private.h"
#include "shared/xpcd-protocol.h"

bool vend_may_hold(const Job *job, const Caller *who)
{
	uid_t uid;

	if (who->uid == 0)
		return true;
	return policy_job_uid(job, &uid) && uid == who->uid;
}

/* The refusals of a lookup (+1), or NULL when the request may be served.
 * *ret_job and *ret_s: the job and name the request names, found or not
 * (vend_tell names the job in a refusal too). */
static xpc_object_t vend_find(Broker *b, const Caller *who, xpc_object_t req, Job **ret_job, JobService **ret_s)
{
	const char *name = xpc_dictionary_get_string(req, XPCD_KEY_NAME);
	Job *job = name ? registry_find_service(&b->registry, name, ret_s) : NULL;

	*ret_job = job;
	if (!job || job->unloading) /* an unloaded job still stopping vends nothing */
		return reply_error(req, "unknown name", ESRCH);
	if (!policy_may_lookup(job, who))
		return reply_error(req, "denied", EPERM);
	if (job->disabled)
		return reply_error(req, "disabled", ECANCELED);
	if (job->failed) {
		char text[256];
		step_failure_text(job->failed, job->fail_step, job->fail_errno, text, sizeof(text));
		return reply_error(req, text, EIO);
	}
	return NULL;
}

/* { "ok": true } with the endpoint of @w (-1: none): the name's W for a
 * caller who may hold it (vend_may_hold), or the W of the caller's own
 * channel (user-channels.c).  The endpoint is made first: a request has
 * one reply, and a reply made and released unsent would leave none for
 * the error. */
static xpc_object_t vend_ok(xpc_object_t req, int w, bool forwarded)
{
	xpc_object_t r, ep = NULL;

	if (w >= 0 && !(ep = _xpc_linux_endpoint_create_from_send_fd(w)))
		return reply_error(req, "limit exceeded: descriptors (none left in the broker)", errno);
	r = xpc_dictionary_create_reply(req);
	if (r) {
		xpc_dictionary_set_bool(r, XPCD_KEY_OK, true);
		if (forwarded)
			xpc_dictionary_set_bool(r, XPCD_KEY_FORWARDED, true);
		if (ep)
			xpc_dictionary_set_value(r, XPCD_KEY_ENDPOINT, ep);
	}
	if (ep)
		xpc_release(ep);
	return r;
}

/* Tells monitors of a lookup or check-in and its answer ("ok" or the
 * error), and blames the job for it. */
static void vend_tell(Broker *b, const Caller *who, xpc_object_t req, Job *job, xpc_object_t r)
{
	const char *name = xpc_dictionary_get_string(req, XPCD_KEY_NAME);
	const char *err = r ? xpc_dictionary_get_string(r, XPCD_KEY_ERROR) : "no memory";
	MonitorEvent ev = {.kind = XPCD_EVENT_LOOKUP, .name = name, .pid = who->pid, .uid = who->uid,
			   .has_uid = true, .status = -1, .text = err ? err : "ok"};

	if (job && !err)
		blame_looked_up(job, name, who->pid, who->uid);
	if (monitor_active(&b->monitors)) {
		ev.label = job && policy_may_lookup(job, who) ? job->label : NULL;
		monitor_emit(&b->monitors, &ev);
	}
}

xpc_object_t vend_lookup(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	JobService *s = NULL;
	Job *job;
	xpc_object_t r = vend_find(b, who, req, &job, &s);

	(void)unused;
	if (!r)
		r = vend_ok(req, vend_may_hold(job, who) ? s->send_fd : -1, false);
	vend_tell(b, who, req, job, r);
	return r;
}

/* The answer to a check-in the broker could not make. */
static xpc_object_t vend_checkin_failed(xpc_object_t req, int r)
{
	if (r == -EACCES)
		return reply_error(req, "denied: the link was not made by the caller", EACCES);
	if (r == -EAGAIN)
		return reply_error(req, "limit exceeded: the service's backlog of check-ins is full", EAGAIN);
	if (r == -EBADF)
		return reply_error(req, "checkin: missing \"link\"", EINVAL);
	return reply_error(req, "service gone: its channel is closed", -r);
}

static xpc_object_t vend_checkin_made(xpc_object_t req, Job *job, JobService *s, const Caller *who, int link)
{
	char why[256];
	bool hold;
	int r;

	if (link >= 0 && supervise_unavailable(job, why, sizeof(why))) /* it would be refused so, once read */
		return reply_error(req, why, EIO);
	r = link >= 0 ? _xpc_linux_checkin_forward(s->send_fd, link, who->pid, who->uid, who->gid) : -EBADF;
	if (r != 0 && r != -EPERM && r != -EAGAIN)
		return vend_checkin_failed(req, r);
	hold = vend_may_hold(job, who);
	if (r == 0) /* and the caller's own channel for the next ones */
		return vend_ok(req, hold ? s->send_fd : user_channels_get(job, s, who->uid), true);
	if (hold)
		return vend_ok(req, s->send_fd, false); /* the client checks in itself (and waits for room) */
	if (r == -EPERM)
		return reply_error(req, "denied: this broker cannot check in for other users", EPERM);
	return vend_checkin_failed(req, r);
}

xpc_object_t vend_checkin(Broker *b, const Caller *who, xpc_object_t req, Job *unused)
{
	JobService *s = NULL;
	Job *job;
	xpc_object_t r = vend_find(b, who, req, &job, &s);
	int link = xpc_dictionary_dup_fd(req, XPCD_KEY_LINK);
	const char *err;

	(void)unused;
	if (!r)
		r = vend_checkin_made(req, job, s, who, link);
	err = r ? xpc_dictionary_get_string(r, XPCD_KEY_ERROR) : NULL;
	/* the link learns it too, if it is the caller's; but for a full
	 * backlog, which the client asks again with the same link */
	if (link >= 0 && err && xpc_dictionary_get_int64(r, XPCD_KEY_ERRNO) != EAGAIN)
		(void)_xpc_linux_checkin_refuse(link, who->pid, who->uid, who->gid, err);
	if (link >= 0)
		close(link);
	vend_tell(b, who, req, job, r);
	return r;
}
