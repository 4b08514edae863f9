/* SPDX-License-Identifier: MIT */
/*
 * seqpacket.c - sendmsg/recvmsg of frames over an AF_UNIX SOCK_SEQPACKET
 * socket (unix.h), and the frames' buffers (transport.h).
 *
 * Out-of-line bodies (sealed memfds) are made and taken in ool.c.
 *
 * Check-ins (docs/security.md): the sender states its pid, euid and egid
 * in SCM_CREDENTIALS; the listener accepts the link the frame carries only
 * if the kernel's SO_PEERCRED of it (its maker) says the same.  An empty
 * packet is a bad frame, not the end of the link (only POLLRDHUP is).
 */
#include "transport/unix/unix.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int transport_setup_socket(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

int transport_stop_creds(int fd)
{
	int zero = 0;

	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &zero, sizeof(zero)) < 0)
		return -errno;
	return 0;
}

int transport_set_recv_timeout(int fd, long us)
{
	struct timeval tv = {us / 1000000, us % 1000000};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* @iov[0] is the header; @n pieces in all.  @creds: also state these
 * credentials (SCM_CREDENTIALS; the kernel checks them), or NULL. */
static ssize_t transport_sendmsg_creds(int fd, struct iovec *iov, size_t n_iov, const int *fds, size_t n_fds,
				       const struct ucred *creds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n_iov};
	struct cmsghdr *c;
	ssize_t n;

	if (n_fds || creds) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = (n_fds ? CMSG_SPACE(sizeof(int) * n_fds) : 0) +
				     (creds ? CMSG_SPACE(sizeof(*creds)) : 0);
		c = CMSG_FIRSTHDR(&msg);
	}
	if (n_fds) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
		c = CMSG_NXTHDR(&msg, c);
	}
	if (creds) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(*creds));
		memcpy(CMSG_DATA(c), creds, sizeof(*creds));
	}
	do
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t transport_sendmsg(int fd, struct iovec *iov, size_t n_iov, const int *fds, size_t n_fds)
{
	return transport_sendmsg_creds(fd, iov, n_iov, fds, n_fds, NULL);
}

/*
 * A check-in states the sender's effective ids: the kernel fills in the
 * real ones otherwise, and the listener compares what the packet says
 * with SO_PEERCRED of the socket it carries, which holds the effective
 * ids of its maker (transport_checkin_verify).  An unprivileged sender can
 * only state its own pid and ids (real, effective or saved).
 */
/* A frame of @kind (with the inline @body of @len bytes, if any) stating
 * this process's pid, euid, egid. */
static int transport_send_stating(int fd, uint8_t kind, const void *body, size_t len, const int *fds, size_t n_fds)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = kind, .id = kind == FRAME_CHECKIN, .n_fds = (uint16_t)n_fds,
			 .body_len = len};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)body, len}};
	size_t n_iov = len ? 2 : 1;
	struct ucred me = {.pid = getpid(), .uid = geteuid(), .gid = getegid()};
	ssize_t n = transport_sendmsg_creds(fd, iov, n_iov, fds, n_fds, &me);

	if (n == -EPERM || n == -EINVAL) /* the ids cannot be stated here (user namespace) */
		n = transport_sendmsg(fd, iov, n_iov, fds, n_fds);
	if (n >= 0 && transport_capture_enabled())
		transport_capture_sent(fd, &h, len ? &iov[1] : NULL, n_iov - 1, -1);
	return n < 0 ? (int)n : 0;
}

int transport_send_checkin(int w, int s)
{
	return transport_send_stating(w, FRAME_CHECKIN, NULL, 0, &s, 1);
}

/*
 * The broker's check-in for a client (docs/security.md, "Shared
 * channels"): the packet states @as, the ids of the process that made @s,
 * which only a sender with CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID may
 * state for another process.  No fallback without them: the kernel would
 * state the broker's ids, and the listener would refuse the link as
 * foreign.
 */
int transport_forward_checkin(int w, int s, const TransportCreds *as)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_CHECKIN, .id = 1, .n_fds = 1};
	struct iovec iov = {&h, sizeof(h)};
	struct ucred who = {.pid = as->pid, .uid = as->uid, .gid = as->gid};
	ssize_t n = transport_sendmsg_creds(w, &iov, 1, &s, 1, &who);

	if (n >= 0 && transport_capture_enabled())
		transport_capture_sent(w, &h, NULL, 0, -1);
	return n < 0 ? (int)n : 0;
}

int transport_send_channel(int w, int r, uint32_t uid)
{
	uint8_t body[FRAME_CHANNEL_BODY] = {(uint8_t)uid, (uint8_t)(uid >> 8), (uint8_t)(uid >> 16), (uint8_t)(uid >> 24)};

	return transport_send_stating(w, FRAME_CHANNEL, body, sizeof(body), &r, 1);
}

int transport_send_hello(int s)
{
	return transport_send_stating(s, FRAME_HELLO, NULL, 0, NULL, 0);
}

int transport_send_refusal(int s, const char *why)
{
	size_t len = why ? strnlen(why, FRAME_MAX_REFUSAL) : 0;
	FrameHeader h = {.kind = FRAME_REFUSED};

	if (len == 0)
		return -EINVAL;
	return transport_send(s, &h, why, len, NULL, 0);
}

/*
 * transport_checkin_verify(): the socket a check-in carries must be a
 * connected AF_UNIX SOCK_SEQPACKET socket that the sender of the packet
 * made itself: SO_PEERCRED of it (the maker's pid, euid and egid, fixed by
 * the kernel when the pair was made) equals the packet's SCM_CREDENTIALS
 * (the sender's pid, and the ids it may state).  A socket made by another
 * process (a duplicate of a channel's W made by xpcd, a link accepted from
 * a broker, a client's check-in forwarded by a service) carries its
 * maker's identity, not the sender's: refused.
 */
static int transport_sockopt_int(int s, int opt, int *ret)
{
	socklen_t len = sizeof(*ret);

	return getsockopt(s, SOL_SOCKET, opt, ret, &len) == 0 && len == sizeof(*ret) ? 0 : -1;
}

/* The pid, euid and egid of the process that made @s, which must be a
 * connected AF_UNIX SOCK_SEQPACKET socket, not listening.  Return: 0, or
 * a TRANSPORT_E_CHECKIN_*. */
static int transport_link_maker(int s, TransportCreds *ret)
{
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int domain, type, listening;

	if (transport_sockopt_int(s, SO_DOMAIN, &domain) < 0 || transport_sockopt_int(s, SO_TYPE, &type) < 0 ||
	    domain != AF_UNIX || type != SOCK_SEQPACKET)
		return TRANSPORT_E_CHECKIN_NOT_LINK;
	if (transport_sockopt_int(s, SO_ACCEPTCONN, &listening) < 0 || listening)
		return TRANSPORT_E_CHECKIN_LISTENING;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || len != sizeof(peer) || peer.pid <= 0)
		return TRANSPORT_E_CHECKIN_UNCONNECTED;
	*ret = (TransportCreds){.pid = peer.pid, .uid = peer.uid, .gid = peer.gid};
	return 0;
}

int transport_checkin_verify(const TransportFrame *f, int s)
{
	TransportCreds maker;
	int r;

	if (!f->has_creds)
		return TRANSPORT_E_CHECKIN_NO_CREDS;
	if ((r = transport_link_maker(s, &maker)) != 0)
		return r;
	if (maker.pid != f->pid || maker.uid != f->uid || maker.gid != f->gid)
		return TRANSPORT_E_CHECKIN_FOREIGN;
	return 0;
}

/*
 * transport_link_abandoned(): a check-in's link whose client is gone is
 * worth delivering only for the messages it left: a client that sent a
 * message and exited (returned from main, or called _exit from a barrier
 * once the frame was in the kernel) counts on its delivery, as on macOS,
 * where the message waits in the service's port.  A request's answer has
 * nowhere to go.  The frames queued on the link are looked at in place
 * (MSG_PEEK at SO_PEEK_OFF offsets, the headers only; no descriptor is
 * taken) and stay queued for the service; the peek offset is switched off
 * again.  At most TRANSPORT_PEEK_FRAMES are looked at: a client that
 * queued more than that before going counts as having left a message.
 */
#define TRANSPORT_PEEK_FRAMES 64

/* Whether the frame header @h (@n bytes of its packet, 0 or more) is one
 * the service would deliver that wants no reply. */
static bool transport_frame_oneway(const FrameHeader *h, ssize_t n)
{
	if (n < (ssize_t)sizeof(*h) || h->magic != FRAME_MAGIC)
		return false;
	if (h->kind == FRAME_MESSAGE)
		return !(h->flags & FRAME_F_WANTS_REPLY);
	return h->kind == FRAME_REPLY || h->kind == FRAME_BATCH;
}

bool transport_link_abandoned(int s)
{
	struct pollfd p = {.fd = s, .events = POLLIN};
	int off = 0, none = -1;
	bool oneway = false;

	if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLHUP | POLLERR)))
		return false; /* its client still holds its end */
	for (unsigned i = 0; i < TRANSPORT_PEEK_FRAMES && !oneway; i++) {
		FrameHeader h;
		ssize_t n;
		if (setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 && off > 0)
			break; /* (no offsets: the first frame only) */
		/* MSG_TRUNC: the whole packet's length, the step to the next */
		n = recv(s, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == ECONNRESET)
			continue; /* the client left frames unread: reported once */
		if (n <= 0 || n > INT32_MAX - off)
			break; /* no more frames (0: the end), or an error */
		oneway = transport_frame_oneway(&h, n);
		off += (int)n;
	}
	setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &none, sizeof(none));
	return !oneway;
}

#define TRANSPORT_MAX_IOV 64

int transport_sendv(int fd, FrameHeader *hdr, const struct iovec *body, size_t n_body, size_t len, const int *fds,
		    size_t n_fds, int ool_fd)
{
	struct iovec iov[TRANSPORT_MAX_IOV + 1];
	int all[FRAME_MAX_FDS];
	ssize_t n;

	if (len > FRAME_MAX_BODY || n_fds > FRAME_MAX_FDS)
		return -E2BIG;
	hdr->magic = FRAME_MAGIC;
	hdr->body_len = len;
	hdr->n_fds = (uint16_t)n_fds;
	uint8_t staged = hdr->flags & FRAME_F_STAGED;
	hdr->flags &= (uint8_t)~(FRAME_F_OOL | FRAME_F_STAGED);
	iov[0] = (struct iovec){hdr, sizeof(*hdr)};
	if (ool_fd < 0) {
		size_t k = 1;
		if (len > FRAME_MAX_INLINE || n_body > TRANSPORT_MAX_IOV)
			return -E2BIG;
		for (size_t i = 0; i < n_body; i++)
			if (body[i].iov_len)
				iov[k++] = body[i];
		n = transport_sendmsg(fd, iov, k, fds, n_fds);
		if (n >= 0 && transport_capture_enabled())
			transport_capture_sent(fd, hdr, iov + 1, k - 1, -1);
		return n < 0 ? (int)n : 0;
	}
	if (n_fds + 1 > FRAME_MAX_FDS || len <= FRAME_MAX_INLINE)
		return -E2BIG;
	if (n_fds)
		memcpy(all, fds, sizeof(int) * n_fds);
	all[n_fds] = ool_fd;
	hdr->flags |= FRAME_F_OOL | staged;
	hdr->n_fds = (uint16_t)(n_fds + 1);
	n = transport_sendmsg(fd, iov, 1, all, n_fds + 1);
	if (n >= 0 && transport_capture_enabled())
		transport_capture_sent(fd, hdr, NULL, 0, ool_fd);
	return n < 0 ? (int)n : 0;
}

int transport_send(int fd, FrameHeader *hdr, const void *body, size_t len, const int *fds, size_t n_fds)
{
	struct iovec iov = {(void *)body, len};
	int memfd, r;

	if (len > FRAME_MAX_BODY || n_fds > FRAME_MAX_FDS)
		return -E2BIG;
	if (len <= FRAME_MAX_INLINE)
		return transport_sendv(fd, hdr, &iov, len ? 1 : 0, len, fds, n_fds, -1);
	if (n_fds + 1 > FRAME_MAX_FDS)
		return -E2BIG;
	memfd = transport_make_ool(&iov, 1, len);
	if (memfd < 0)
		return memfd;
	r = transport_sendv(fd, hdr, NULL, 0, len, fds, n_fds, memfd);
	close(memfd);
	return r;
}

/* Collects descriptors and credentials; returns the number of fds or -1 if
 * a control message has an unexpected shape. */
static int transport_take_cmsgs(struct msghdr *msg, TransportFrame *f)
{
	struct cmsghdr *c;
	int bad = 0;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (f->n_fds + n > FRAME_MAX_FDS) {
				int tmp;
				for (size_t i = 0; i < n; i++) {
					memcpy(&tmp, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					close(tmp);
				}
				bad = 1;
				continue;
			}
			memcpy(f->fds + f->n_fds, CMSG_DATA(c), n * sizeof(int));
			f->n_fds += n;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			f->has_creds = true;
			f->pid = uc.pid;
			f->uid = uc.uid;
			f->gid = uc.gid;
		}
	}
	return bad ? -1 : (int)f->n_fds;
}

/*
 * recvmsg returns 0 both at the end of a SEQPACKET link and for a packet
 * of zero bytes, which anyone who can write to the socket may send: only
 * a socket whose peer side is gone or shut down (POLLRDHUP) has ended.  An
 * empty packet is a bad frame, never an end (on a listener's shared R it
 * would otherwise end the channel for every client).
 */
static int transport_eof_or_empty(int fd)
{
	struct pollfd pfd = {fd, POLLRDHUP, 0};

	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
		return TRANSPORT_E_EOF;
	return TRANSPORT_E_EMPTY;
}

typedef union {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred)) + 64];
} TransportCtl;

/* Points @msg at @f's packet buffer and @ctl, @f emptied.  0 or -ENOMEM. */
static int transport_recv_prepare(TransportFrame *f, struct msghdr *msg, struct iovec *iov, TransportCtl *ctl)
{
	uint8_t *pkt = frame_packet_buffer(f);

	frame_empty(f);
	if (!pkt)
		return -ENOMEM;
	*iov = (struct iovec){pkt, FRAME_PACKET_MAX};
	*msg = (struct msghdr){.msg_iov = iov, .msg_iovlen = 1, .msg_control = ctl->buf,
			       .msg_controllen = sizeof(ctl->buf)};
	return 0;
}

/* The frame in the @n bytes that @msg brought into @f. */
static int transport_recv_finish(int fd, TransportFrame *f, struct msghdr *msg, ssize_t n)
{
	uint8_t *pkt = msg->msg_iov[0].iov_base;
	int r = transport_take_cmsgs(msg, f);

	if (n == 0 && f->n_fds == 0 && !(msg->msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return transport_eof_or_empty(fd);
	/* The control buffer holds the most any sender can pass (SCM_MAX_FD
	 * descriptors and credentials), so truncation means the kernel could
	 * not install the descriptors here: this process has none left.  The
	 * ones that did arrive are closed by the caller (frame_clear). */
	if (msg->msg_flags & MSG_CTRUNC)
		return TRANSPORT_E_NO_FDS_LEFT;
	if (r < 0)
		return TRANSPORT_E_TOO_MANY_FDS;
	if (msg->msg_flags & MSG_TRUNC)
		return TRANSPORT_E_TRUNCATED;
	r = frame_parse_header(pkt, (size_t)n, f->n_fds, &f->hdr);
	if (r != 0)
		return r;
	if (f->hdr.flags & FRAME_F_OOL)
		return transport_take_body(f);
	f->body = pkt + FRAME_HEADER_SIZE;
	return 0;
}

/* A peer that closed its end while frames we sent were unread there makes
 * the kernel report ECONNRESET once, before the frames it had sent us and
 * that are still queued here: read on, they are its last words (a reply, a
 * refusal naming a limit); the end follows as EOF.  So an ECONNRESET is
 * retried once per call (recvmmsg reports one that came after a packet at
 * the next call). */
static int transport_recv_flags(int fd, TransportFrame *f, int flags)
{
	TransportCtl ctl;
	struct iovec iov;
	struct msghdr msg;
	bool reset = false;
	ssize_t n;
	int r = transport_recv_prepare(f, &msg, &iov, &ctl);

	if (r < 0)
		return r;
	do
		n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !reset && (reset = true))));
	if (n < 0)
		return -errno;
	return transport_recv_finish(fd, f, &msg, n);
}

/*
 * Two packets in one recvmmsg (MSG_WAITFORONE: waiting, if @wait, for the
 * first only).  One packet back means the socket was empty after it, which
 * a reader of an edge-triggered watch needs to know (it stops there: the
 * next packet makes a new event) and would otherwise learn from one more
 * recvmsg that fails with EAGAIN.  *ret_b: 0 when @b holds the second
 * frame, -EAGAIN when none came, -ENODATA when none was asked for (no
 * memory for its buffer: @a was read alone), else that frame's failure;
 * after a failure of @a, @b is cleared and *ret_b is -EAGAIN.
 */
static int transport_recv_two_flags(int fd, TransportFrame *a, TransportFrame *b, bool wait, int *ret_b)
{
	TransportCtl ctl[2];
	struct iovec iov[2];
	struct mmsghdr m[2];
	bool reset = false;
	int n, r;

	*ret_b = -ENODATA; /* no buffer for @b: one packet read, nothing known behind it */
	if (transport_recv_prepare(b, &m[1].msg_hdr, &iov[1], &ctl[1]) < 0)
		return transport_recv_flags(fd, a, wait ? 0 : MSG_DONTWAIT);
	*ret_b = -EAGAIN;
	r = transport_recv_prepare(a, &m[0].msg_hdr, &iov[0], &ctl[0]);
	if (r < 0)
		return r;
	do
		n = recvmmsg(fd, m, 2, (wait ? MSG_WAITFORONE : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC, NULL);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !reset && (reset = true))));
	if (n < 0)
		return -errno;
	r = transport_recv_finish(fd, a, &m[0].msg_hdr, (ssize_t)m[0].msg_len);
	/* after the end, a second empty read with nothing in it is the end
	 * again: no second poll to tell (anything else is taken, to close) */
	if (n == 2 && !(r == TRANSPORT_E_EOF && m[1].msg_len == 0 && m[1].msg_hdr.msg_controllen == 0))
		*ret_b = transport_recv_finish(fd, b, &m[1].msg_hdr, (ssize_t)m[1].msg_len);
	if (r != 0 && n == 2) {
		frame_clear(b);
		*ret_b = -EAGAIN;
	}
	return r;
}

int transport_recv(int fd, TransportFrame *f)
{
	int r = transport_recv_flags(fd, f, MSG_DONTWAIT);

	if (r == 0 && transport_capture_enabled())
		transport_capture_received(fd, f);
	return r;
}

int transport_recv_wait(int fd, TransportFrame *f)
{
	int r = transport_recv_flags(fd, f, 0);

	if (r == 0 && transport_capture_enabled())
		transport_capture_received(fd, f);
	return r;
}

int transport_recv_two(int fd, TransportFrame *a, TransportFrame *b, bool wait, int *ret_b)
{
	int r = transport_recv_two_flags(fd, a, b, wait, ret_b);

	if (r == 0 && transport_capture_enabled())
		transport_capture_received(fd, a);
	if (*ret_b == 0 && transport_capture_enabled())
		transport_capture_received(fd, b);
	return r;
}

