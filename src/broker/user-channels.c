/* SPDX-License-Identifier: MIT */
/*
 * user-channels.c - a channel of its own per user and name, so that a
 * user the broker hands no W checks in without the broker in between
 * (docs/security.md, "Per-user channels").
 *
 * A name's W is shared by all its holders, and any holder can end it for
 * everyone with shutdown(2), so it goes only to root and the job's user
 * (vend.c); anyone else checks in through the broker, one hop more per
 * connection.  Once the broker has checked such a user in to a running
 * job, it answers with the W of that user's channel: a fresh listener
 * pair whose R goes to the job's listener in a CHANNEL frame over the
 * name's W (the listener takes it from root only, and then takes only
 * that user's check-ins there: src/connection/user-channel.c).  The user's
 * process caches that W as it would the name's, and checks in over it
 * directly from then on.  A user who shuts its W down ends its own
 * channel only: the broker sees it (POLLHUP) at the user's next request
 * and makes a new one.  A W passed on checks nobody else in.
 *
 * The broker keeps both ends.  When the job exits, the check-ins still
 * queued in a channel's R are moved to the name's R (as the broker's
 * forwarded check-ins, stating their senders: the next instance takes
 * them, so none is lost to an exit, as on the name's own R; another
 * user's, over a W passed on, is refused, as the listener drops it); then every
 * W is shut down, so its holders fail their next check-in there and ask
 * the broker again (where the policy, a disable or an unload apply).
 * At most USER_CHANNELS_PER_NAME users per name; beyond, the broker
 * checks in as before.  A leaf: it calls no other broker file.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/user-channels.h"
#include "private/xpc-private.h"

struct UserChannelPair {
	uid_t uid;
	int recv_fd; /* R: the listener's (and ours, to move what it left) */
	int send_fd; /* W: the user's (and ours) */
};

/* Whether a holder shut @p's W down. */
static bool pair_ended(const UserChannelPair *p)
{
	struct pollfd pfd = {p->send_fd, 0, 0};

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void pair_end(UserChannelPair *p)
{
	shutdown(p->send_fd, SHUT_RDWR); /* for every holder of W */
	close(p->send_fd);
	close(p->recv_fd);
}

/* A new pair for @uid whose R the listener of @s was sent.  0 or -1. */
static int pair_make(JobService *s, uid_t uid, UserChannelPair *ret)
{
	if (_xpc_linux_listener_pair(&ret->recv_fd, &ret->send_fd) < 0)
		return -1;
	ret->uid = uid;
	if (_xpc_linux_channel_give(s->send_fd, ret->recv_fd, uid) < 0) {
		close(ret->recv_fd);
		close(ret->send_fd);
		return -1;
	}
	return 0;
}

int user_channels_get(Job *job, JobService *s, uid_t uid)
{
	UserChannelPair *p = NULL;

	if (!job->pid || job->inetd != INETD_NONE || s->hidden || s->send_fd < 0)
		return -1;
	for (size_t i = 0; i < s->n_uchans && !p; i++)
		if (s->uchans[i].uid == uid)
			p = &s->uchans[i];
	if (p && !pair_ended(p))
		return p->send_fd;
	if (p) { /* ended by a holder: its R ends in the listener too */
		pair_end(p);
		*p = s->uchans[--s->n_uchans];
	}
	if (s->n_uchans >= USER_CHANNELS_PER_NAME)
		return -1;
	if (!s->uchans && !(s->uchans = calloc(USER_CHANNELS_PER_NAME, sizeof(*s->uchans))))
		return -1;
	p = &s->uchans[s->n_uchans];
	if (pair_make(s, uid, p) < 0)
		return -1;
	s->n_uchans++;
	return p->send_fd;
}

xpc_object_t user_channels_describe(const Job *job)
{
	xpc_object_t d = NULL;

	for (size_t i = 0; i < job->n_services; i++) {
		const JobService *s = &job->services[i];
		if (!s->n_uchans)
			continue;
		xpc_object_t uids = xpc_array_create(NULL, 0);
		for (size_t k = 0; k < s->n_uchans; k++)
			xpc_array_set_uint64(uids, XPC_ARRAY_APPEND, s->uchans[k].uid);
		if (!d)
			d = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_value(d, s->name, uids);
		xpc_release(uids);
	}
	return d;
}

void user_channels_end(Job *job)
{
	for (size_t i = 0; i < job->n_services; i++) {
		JobService *s = &job->services[i];
		for (size_t k = 0; k < s->n_uchans; k++)
			pair_end(&s->uchans[k]);
		s->n_uchans = 0;
		free(s->uchans);
		s->uchans = NULL;
	}
}

void user_channels_exited(Job *job)
{
	for (size_t i = 0; i < job->n_services; i++) {
		JobService *s = &job->services[i];
		for (size_t k = 0; k < s->n_uchans; k++) {
			shutdown(s->uchans[k].send_fd, SHUT_RDWR); /* nothing more comes in */
			if (s->send_fd >= 0)
				(void)_xpc_linux_channel_move(s->uchans[k].recv_fd, s->send_fd, s->uchans[k].uid);
		}
	}
	user_channels_end(job);
}
