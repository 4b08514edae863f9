/* SPDX-License-Identifier: MIT */
/*
 * peer.c - the peer's identity (c->peer): pid, euid, egid and pidfd.
 *
 * A link accepted by a listener or wrapped by the broker knows its peer at
 * once from SO_PEERCRED (the process that made the link); a client's link
 * learns it from the SCM_CREDENTIALS of the first frame that carries them
 * (the listener's HELLO), after which the link stops asking for them.
 *
 * The pidfd is opened when first asked for (most connections never are:
 * two syscalls and a descriptor saved per connection), while the link is
 * up: SO_PEERPIDFD names the process that made the link (the listener
 * side: the client made the socketpair), otherwise pidfd_open on the pid
 * the kernel gave (SO_PEERCRED, or SCM_CREDENTIALS of the HELLO), kept only
 * if the peer's end of the link is still open afterwards: a peer that died
 * in between may have left its pid to another process (a peer whose end
 * stays open in another process is the window left).  Once the link is
 * closed there is none.
 */
#include "connection/internal.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Linux 6.5's SO_PEERPIDFD (asm-generic value) where the C library's
 * headers predate it; older kernels answer ENOPROTOOPT and the pidfd is
 * then opened from the pid of the first frame (docs/connections.md). */
#if !defined(SO_PEERPIDFD) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
			       defined(__arm__) || defined(__riscv))
#define SO_PEERPIDFD 77
#endif

void peer_set_from_socket(xpc_connection_t c, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 && uc.pid > 0) {
		c->peer.pid = uc.pid;
		c->peer.uid = uc.uid;
		c->peer.gid = uc.gid;
		c->peer.flags |= PEER_F_KNOWN | PEER_F_BY_SOCKET;
	}
}

bool peer_record(xpc_connection_t c, const TransportFrame *f)
{
	bool now = false;

	if (!f->has_creds)
		return false;
	conn_lock(c);
	if (!(c->peer.flags & PEER_F_KNOWN)) {
		c->peer.pid = f->pid;
		c->peer.uid = f->uid;
		c->peer.gid = f->gid;
		c->peer.flags |= PEER_F_KNOWN;
		now = true;
	}
	conn_unlock(c);
	return now;
}

static int peer_pidfd_by_pid(xpc_connection_t c)
{
	long r = syscall(SYS_pidfd_open, c->peer.pid, 0); /* always close-on-exec */
	int pidfd = r < 0 ? -1 : (int)r;

	if (pidfd >= 0 && poll(&(struct pollfd){.fd = c->fd, .events = POLLRDHUP}, 1, 0) != 0) {
		close(pidfd);
		pidfd = -1;
	}
	return pidfd;
}

int peer_pidfd_locked(xpc_connection_t c)
{
	ConnPeer *p = &c->peer;

	if (p->pidfd >= 0 || (p->flags & PEER_F_PIDFD_TRIED) || !(p->flags & PEER_F_KNOWN) || c->fd < 0 ||
	    c->kind != CONN_PEER)
		return p->pidfd;
	p->flags |= PEER_F_PIDFD_TRIED;
#ifdef SO_PEERPIDFD
	if (p->flags & PEER_F_BY_SOCKET) {
		int pidfd = -1;
		socklen_t plen = sizeof(pidfd);

		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) == 0 && pidfd >= 0)
			return p->pidfd = pidfd; /* the kernel makes it O_CLOEXEC */
	}
#endif
	p->pidfd = peer_pidfd_by_pid(c);
	return p->pidfd;
}

void peer_dispose(xpc_connection_t c)
{
	if (c->peer.pidfd >= 0)
		close(c->peer.pidfd);
}

/* ---- the public getters ---- */

static ConnPeer peer_snapshot(xpc_connection_t c)
{
	ConnPeer p;

	conn_lock(c);
	p = c->peer;
	conn_unlock(c);
	return p;
}

uid_t xpc_connection_get_euid(xpc_connection_t c)
{
	return peer_snapshot(c).uid;
}

gid_t xpc_connection_get_egid(xpc_connection_t c)
{
	return peer_snapshot(c).gid;
}

pid_t xpc_connection_get_pid(xpc_connection_t c)
{
	return peer_snapshot(c).pid;
}

au_asid_t xpc_connection_get_asid(xpc_connection_t c)
{
	pid_t pid = xpc_connection_get_pid(c);
	pid_t sid = pid > 0 ? getsid(pid) : -1;

	return sid > 0 ? (au_asid_t)sid : 0;
}

int xpc_linux_connection_get_pidfd(xpc_connection_t c)
{
	int v;

	conn_lock(c);
	v = peer_pidfd_locked(c);
	conn_unlock(c);
	return v;
}
