/* SPDX-License-Identifier: MIT */
/*
 * channel.c - the listener channel of each MachServices name
 * (docs/services.md).
 *
 * xpcd makes one listener pair (R, W) per name when it loads the job and
 * keeps both for as long as the job is loaded.  Lookups hand out duplicates
 * of W; the job inherits R.  While the job is not running xpcd watches R: a
 * check-in queued in R's socket buffer makes it readable, which starts the
 * job; the job then reads every queued check-in, so none is lost across a
 * launch or a crash.  While the job runs R is not watched (the job reads it).
 * What a check-in does is decided above (supervise.c): channel_watch takes
 * the handler.  A leaf: it calls no other broker file.
 */
#include <unistd.h>

#include "broker/channel.h"
#include "broker/job.h"
#include "private/xpc-private.h"

int channel_open(Job *job)
{
	for (size_t i = 0; i < job->n_services; i++) {
		JobService *s = &job->services[i];
		if (_xpc_linux_listener_pair(&s->recv_fd, &s->send_fd) < 0)
			return -1;
	}
	return 0;
}

void channel_watch(Job *job, dispatch_function_t on_checkin)
{
	if (job->disabled)
		return;
	for (size_t i = 0; i < job->n_services; i++) {
		JobService *s = &job->services[i];
		if (s->watch || s->recv_fd < 0)
			continue;
		s->watch = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)s->recv_fd, 0,
						  dispatch_get_main_queue());
		if (!s->watch)
			continue;
		dispatch_set_context(s->watch, job);
		dispatch_source_set_event_handler_f(s->watch, on_checkin);
		dispatch_resume(s->watch);
	}
}

void channel_unwatch(Job *job)
{
	for (size_t i = 0; i < job->n_services; i++) {
		JobService *s = &job->services[i];
		if (!s->watch)
			continue;
		dispatch_source_cancel(s->watch);
		dispatch_release(s->watch);
		s->watch = NULL;
	}
}

void channel_close(Job *job)
{
	for (size_t i = 0; i < job->n_services; i++) {
		JobService *s = &job->services[i];
		int fd = s->recv_fd;
		if (s->watch && fd >= 0) /* close R only once the source let go of it */
			dispatch_source_set_cancel_handler(s->watch, ^{ close(fd); });
		else if (fd >= 0)
			close(fd);
		if (s->send_fd >= 0)
			close(s->send_fd);
		s->recv_fd = s->send_fd = -1;
	}
	channel_unwatch(job);
}
