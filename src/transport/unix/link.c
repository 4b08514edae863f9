/* SPDX-License-Identifier: MIT */
/*
 * link.c - the unix transport's links: the ops table the connection layer
 * drives (transport.h) over one AF_UNIX SOCK_SEQPACKET socket, and the
 * making of sockets for links (pairs, a connect to a path).
 *
 * Everything here is the socket's: sendmsg/recvmsg/recvmmsg (seqpacket.c), the
 * receive timeout (SO_RCVTIMEO, rounded up by the kernel to a clock tick),
 * SO_PASSCRED, SO_PEERCRED, SO_PEERPIDFD, SO_PEERSEC, shutdown() to wake a reader
 * blocked in recvmsg, the stage for large bodies (stage.c).  The link does
 * not own its descriptor: the connection closes it when the sources that
 * watch it are gone.
 */
#include "transport/unix/unix.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Linux 6.5's SO_PEERPIDFD (asm-generic value) where the C library's
 * headers predate it; older kernels answer ENOPROTOOPT and the caller
 * opens the pidfd from the pid (docs/connections.md). */
#if !defined(SO_PEERPIDFD) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
			       defined(__arm__) || defined(__riscv))
#define SO_PEERPIDFD 77
#endif

static int link_send(TransportLink *l, FrameHeader *hdr, const struct iovec *iov, size_t n, size_t len,
		     const int *fds, size_t n_fds, int ool_fd)
{
	return transport_sendv(l->fd, hdr, iov, n, len, fds, n_fds, ool_fd);
}

/* A shared ring's control frame: a peer that opted in offers its ring
 * (src/transport/ring/); a plain link ignores it, and the peer keeps to
 * the socket. */
static bool link_ring_control(const TransportFrame *f)
{
	return frame_kind_ring_control(f->hdr.kind);
}

static int link_recv(TransportLink *l, TransportFrame *f, bool wait)
{
	for (;;) {
		int r = wait ? transport_recv_wait(l->fd, f) : transport_recv(l->fd, f);
		if (r != 0 || !link_ring_control(f))
			return r;
		frame_clear(f);
	}
}

static int link_recv_two(TransportLink *l, TransportFrame *f, TransportFrame *f2, bool wait, int *ret_2)
{
	int r = transport_recv_two(l->fd, f, f2, wait, ret_2);

	if (r != 0)
		return r;
	if (!link_ring_control(f)) {
		if (*ret_2 == 0 && link_ring_control(f2)) {
			frame_clear(f2); /* (more may follow it: not known empty) */
			*ret_2 = -ENODATA;
		}
		return r;
	}
	frame_clear(f);
	if (*ret_2 == 0 && !link_ring_control(f2)) {
		frame_swap(f, f2); /* the second is the first now */
		*ret_2 = -ENODATA;
		return 0;
	}
	if (*ret_2 != 0 && *ret_2 != -EAGAIN && *ret_2 != -ENODATA) {
		r = *ret_2; /* the second frame's failure is the first's now */
		frame_clear(f2);
		*ret_2 = -EAGAIN;
		return r;
	}
	if (*ret_2 == 0)
		frame_clear(f2);
	*ret_2 = -ENODATA;
	return link_recv(l, f, wait);
}

static bool link_wait_readable(TransportLink *l, long timeout_us)
{
	struct pollfd pfd = {l->fd, POLLIN, 0};
	struct timespec ts = {timeout_us / 1000000, (timeout_us % 1000000) * 1000};

	return ppoll(&pfd, 1, &ts, NULL) == 1;
}

static int link_set_recv_timeout(TransportLink *l, long us)
{
	return transport_set_recv_timeout(l->fd, us);
}

static int link_stop_creds(TransportLink *l)
{
	return transport_stop_creds(l->fd);
}

static int link_peer_creds(TransportLink *l, TransportCreds *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(l->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (len != sizeof(uc) || uc.pid <= 0)
		return -ENODATA;
	ret->pid = uc.pid;
	ret->uid = uc.uid;
	ret->gid = uc.gid;
	return 0;
}

static int link_peer_pidfd(TransportLink *l)
{
#ifdef SO_PEERPIDFD
	int pidfd = -1;
	socklen_t plen = sizeof(pidfd);

	if (getsockopt(l->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) == 0 && pidfd >= 0)
		return pidfd; /* the kernel makes it O_CLOEXEC */
#endif
	(void)l;
	return -1;
}

static ssize_t link_peer_label(TransportLink *l, char *buf, size_t size)
{
	socklen_t len = (socklen_t)(size - 1);

	if (getsockopt(l->fd, SOL_SOCKET, SO_PEERSEC, buf, &len) < 0)
		return -errno;
	buf[len] = 0;
	return len;
}

static bool link_peer_gone(TransportLink *l)
{
	return poll(&(struct pollfd){.fd = l->fd, .events = POLLRDHUP}, 1, 0) != 0;
}

/* Into the link's stage, or if that is busy into a fresh sealed memfd. */
static int link_body(TransportLink *l, const struct iovec *iov, size_t n, size_t len, uint8_t *flags)
{
	int fd = stage_write(&l->stage, iov, n, len);

	if (fd >= 0) {
		*flags |= FRAME_F_STAGED;
		return fd;
	}
	return transport_make_ool(iov, n, len);
}

static void link_shutdown(TransportLink *l)
{
	shutdown(l->fd, SHUT_RDWR);
}

static void link_reset(TransportLink *l)
{
	stage_drop(&l->stage); /* the next link gets its own */
}

const TransportOps unix_link_ops = {
	.name = "unix",
	.caps = TRANSPORT_CAP_FDS | TRANSPORT_CAP_CREDS | TRANSPORT_CAP_OOL,
	.send = link_send,
	.recv = link_recv,
	.recv_two = link_recv_two,
	.wait_readable = link_wait_readable,
	.set_recv_timeout = link_set_recv_timeout,
	.stop_creds = link_stop_creds,
	.peer_creds = link_peer_creds,
	.peer_pidfd = link_peer_pidfd,
	.peer_label = link_peer_label,
	.peer_gone = link_peer_gone,
	.body = link_body,
	.shutdown = link_shutdown,
	.reset = link_reset,
};

void unix_link_init(TransportLink *l, int fd)
{
	l->ops = &unix_link_ops;
	l->fd = fd;
}

int unix_link_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	transport_setup_socket(sv[0]);
	transport_setup_socket(sv[1]);
	return 0;
}

int unix_link_checkin(int send_w, bool wait)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return errno == ENFILE ? -ENFILE : -EMFILE;
	/* our end reads the HELLO's credentials; the listener learns ours
	 * from the check-in's SCM_CREDENTIALS and SO_PEERCRED */
	transport_setup_socket(sv[0]);
	for (int tries = 0;; tries++) {
		r = transport_send_checkin(send_w, sv[1]);
		if (r != -EAGAIN || tries >= 50 || !wait)
			break;
		struct pollfd pfd = {send_w, POLLOUT, 0};
		poll(&pfd, 1, 100);
	}
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r == -EAGAIN ? r : -ECONNREFUSED;
	}
	return sv[0];
}

int unix_link_connect(const char *path, TransportCreds *ret_peer)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	TransportLink l;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	unix_link_init(&l, fd);
	r = link_peer_creds(&l, ret_peer);
	if (r < 0) {
		close(fd);
		return -ENODATA;
	}
	return fd;
}
