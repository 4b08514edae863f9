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
 * the handler.
 *
 * A check-in is a packet on R carrying the client's end of a fresh link
 * (docs/services.md).  channel_live_checkins() peeks at the queued ones:
 * one whose client is gone (it closed its end: exited, timed out,
 * cancelled) and left no message on the link is taken off R and dropped,
 * so a client that gave up does not start the job; one that left a
 * message wanting no reply (it sent it and exited: returned from main,
 * or left from a barrier) starts it, for the message must arrive, as on
 * macOS (_xpc_linux_checkin_abandoned).  A packet that is not a check-in
 * counts as live (the job drops it, as before).
 *
 * channel_head() names the check-in first in line (its link's inode), so
 * supervise.c can tell an instance that exited without taking it.
 * channel_refuse_checkins() takes the queued packets off R and answers
 * each check-in with a refusal naming why the job cannot start (its
 * client's connection becomes INVALID with that reason at once), so a job
 * that cannot start neither leaves its clients waiting nor its channel
 * full for the next start (supervise.c decides when; docs/broker.md).
 * A leaf: it calls no other broker file.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	sockets_unwatch(&job->sockets); /* the job's Sockets rest with its channels */
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

/* Room for the descriptors and credentials of one packet. */
#define CHANNEL_CMSG_SPACE (CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(struct ucred)))

/* What take_packet() does with a packet's first descriptor. */
typedef enum { PACKET_PEEK, PACKET_HEAD, PACKET_DROP, PACKET_REFUSE } PacketUse;

/* The packet's SCM_CREDENTIALS, if any. */
static bool packet_creds(struct msghdr *mh, struct ucred *ret)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(*ret))) {
			memcpy(ret, CMSG_DATA(cm), sizeof(*ret));
			return true;
		}
	return false;
}

/*
 * One packet of R: looked at (PACKET_PEEK: *@ret_hup says whether the
 * first descriptor's link was abandoned by its client, see the top;
 * PACKET_HEAD: *@ret_hup is unused, *@ret_ino is that descriptor's
 * inode) or taken off (with PACKET_REFUSE that link is first told @why,
 * if its sender made it: _xpc_linux_checkin_refuse); its descriptors are
 * closed.
 * Return: 1 a packet, 0 none queued, -1 an error.
 */
static int take_packet(int fd, PacketUse use, const char *why, bool *ret_has_fd, bool *ret_hup, ino_t *ret_ino)
{
	union {
		char buf[CHANNEL_CMSG_SPACE];
		struct cmsghdr align;
	} ctl;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
	bool peek = use == PACKET_PEEK || use == PACKET_HEAD;
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (peek ? MSG_PEEK : 0));
	struct stat st;
	struct ucred cred;
	bool has_cred;

	*ret_has_fd = *ret_hup = false;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	has_cred = packet_creds(&mh, &cred);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int *fds = (int *)(void *)CMSG_DATA(cm);
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < nfds; i++) {
			if (!*ret_has_fd && use == PACKET_PEEK)
				*ret_hup = _xpc_linux_checkin_abandoned(fds[i]);
			else if (!*ret_has_fd && use == PACKET_HEAD && ret_ino && fstat(fds[i], &st) == 0)
				*ret_ino = st.st_ino;
			else if (!*ret_has_fd && use == PACKET_REFUSE && has_cred)
				_xpc_linux_checkin_refuse(fds[i], cred.pid, cred.uid, cred.gid, why);
			*ret_has_fd = true;
			close(fds[i]);
		}
	}
	return 1;
}

/* True when R @fd holds a packet that is not a check-in of a client that
 * is gone; those before it are taken off. */
static bool live_on(int fd)
{
	bool has_fd, hup;

	for (unsigned i = 0; i < 4096; i++) {
		if (take_packet(fd, PACKET_PEEK, NULL, &has_fd, &hup, NULL) <= 0)
			return false;
		if (!has_fd || !hup)
			return true;
		take_packet(fd, PACKET_DROP, NULL, &has_fd, &hup, NULL); /* a client that is gone */
	}
	return true;
}

bool channel_live_checkins(Job *job)
{
	bool live = false;

	for (size_t i = 0; i < job->n_services; i++)
		if (job->services[i].recv_fd >= 0 && live_on(job->services[i].recv_fd))
			live = true;
	return live;
}

unsigned long channel_head(Job *job)
{
	bool has_fd, hup;
	ino_t ino = 0;

	for (size_t i = 0; i < job->n_services && !ino; i++)
		if (job->services[i].recv_fd >= 0)
			take_packet(job->services[i].recv_fd, PACKET_HEAD, NULL, &has_fd, &hup, &ino);
	return (unsigned long)ino;
}

unsigned channel_refuse_checkins(Job *job, const char *why, unsigned max)
{
	unsigned n = 0;
	bool has_fd, hup;

	for (size_t i = 0; i < job->n_services; i++)
		while (job->services[i].recv_fd >= 0 && n < max &&
		       take_packet(job->services[i].recv_fd, PACKET_REFUSE, why, &has_fd, &hup, NULL) == 1)
			n++;
	return n;
}
