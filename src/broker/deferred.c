/* SPDX-License-Identifier: MIT */
/*
 * deferred.c - requests answered once a job's instance has changed, not
 * when they arrive:
 *
 * - `xpcctl kickstart -k` prints the new instance's pid, so its request is
 *   answered only once the old instance is gone and the new one started
 *   (or could not);
 * - `xpcctl unload` (and bootout) of a running job is answered once the
 *   instance has stopped and the job is gone, as launchctl's: a `load` of
 *   the same file right after it finds no job of that label still
 *   stopping.
 *
 * The reply is made at once and kept with the link it goes to
 * (DeferredReply), and sent from supervise.c when the job's exit has been
 * judged (deferred_settle) or the job removed (deferred_cancel).  A link
 * that closed meanwhile takes the send as a no-op.  At most DEFERRED_MAX
 * requests wait per job; more are answered at once, as before.
 */
#include "broker/deferred.h"

#include <errno.h>
#include <stdlib.h>

#include "broker/job.h"
#include "broker/step.h"
#include "shared/xpcd-protocol.h"

struct DeferredReply {
	struct DeferredReply *next;
	xpc_connection_t link; /* retained */
	xpc_object_t reply;    /* made from the request */
	bool unload;           /* answered when the job is gone */
};

int deferred_add(Job *job, xpc_connection_t link, xpc_object_t req, bool unload)
{
	struct DeferredReply *w;
	unsigned n = 0;

	for (w = job->deferred_replies; w; w = w->next)
		n++;
	if (!link || n >= DEFERRED_MAX || !(w = calloc(1, sizeof(*w))))
		return -1;
	if (!(w->reply = xpc_dictionary_create_reply(req))) {
		free(w);
		return -1;
	}
	w->link = xpc_retain(link);
	w->unload = unload;
	w->next = job->deferred_replies;
	job->deferred_replies = w;
	return 0;
}

static void answer_all(Job *job, const char *error)
{
	struct DeferredReply *w = job->deferred_replies;

	job->deferred_replies = NULL;
	while (w) {
		struct DeferredReply *next = w->next;
		if (w->unload) { /* the job is gone: what unload waited for */
			xpc_dictionary_set_bool(w->reply, XPCD_KEY_OK, true);
			xpc_dictionary_set_int64(w->reply, XPCD_KEY_PID, 0);
		} else if (error) {
			xpc_dictionary_set_string(w->reply, XPCD_KEY_ERROR, error);
			xpc_dictionary_set_int64(w->reply, XPCD_KEY_ERRNO, EIO);
		} else {
			xpc_dictionary_set_bool(w->reply, XPCD_KEY_OK, true);
			xpc_dictionary_set_int64(w->reply, XPCD_KEY_PID, job->pid);
		}
		xpc_connection_send_message(w->link, w->reply);
		xpc_release(w->reply);
		xpc_release(w->link);
		free(w);
		w = next;
	}
}

void deferred_settle(Job *job)
{
	char text[256];

	if (!job->deferred_replies || job->relaunch_once || job->stopping)
		return;
	if (job->pid) {
		answer_all(job, NULL);
		return;
	}
	if (job->launch_pending)
		return;
	if (job->fail_step)
		step_failure_text(job->failed, job->fail_step, job->fail_errno, text, sizeof(text));
	answer_all(job, job->fail_step ? text : "kickstart: the job did not start again (disabled or failed)");
}

void deferred_cancel(Job *job)
{
	if (job->deferred_replies)
		answer_all(job, "kickstart: the job was unloaded");
}
