/* SPDX-License-Identifier: MIT */
/*
 * peer.c - the peer's identity (c->peer): pid, euid, egid and pidfd.
 *
 * A link accepted by a listener or wrapped by the broker knows its peer at
 * once from the transport (the unix one: SO_PEERCRED, the process that
 * made the link); a client's link learns it from the SCM_CREDENTIALS of
 * the first frame that carries them (the listener's HELLO), after which
 * the link stops asking for them (TransportOps.stop_creds).
 *
 * The pidfd is opened when first asked for (most connections never are:
 * two syscalls and a descriptor saved per connection), while the link is
 * up: the transport's (SO_PEERPIDFD) names the process that made the link
 * (the listener side: the client made the socketpair), otherwise pidfd_open on the pid
 * the kernel gave (SO_PEERCRED, or SCM_CREDENTIALS of the HELLO), kept only
 * if the peer's end of the link is still open afterwards: a peer that died
 * in between may have left its pid to another process (a peer whose end
 * stays open in another process is the window left).  Once the link is
 * closed there is none.
 */
#include "connection/internal.h"

#include <sys/syscall.h>
#include <unistd.h>

void peer_set_known(xpc_connection_t c, const TransportCreds *cr)
{
	c->peer.pid = cr->pid;
	c->peer.uid = cr->uid;
	c->peer.gid = cr->gid;
	c->peer.flags |= PEER_F_KNOWN | PEER_F_BY_SOCKET;
}

void peer_set_from_link(xpc_connection_t c)
{
	TransportCreds cr;

	if ((c->link.ops->caps & TRANSPORT_CAP_CREDS) && c->link.ops->peer_creds(&c->link, &cr) == 0)
		peer_set_known(c, &cr);
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

	if (pidfd >= 0 && c->link.ops->peer_gone(&c->link)) {
		close(pidfd);
		pidfd = -1;
	}
	return pidfd;
}

int peer_pidfd_locked(xpc_connection_t c)
{
	ConnPeer *p = &c->peer;

	lock_assert_held(&c->lock);
	if (p->pidfd >= 0 || (p->flags & PEER_F_PIDFD_TRIED) || !(p->flags & PEER_F_KNOWN) || c->link.fd < 0 ||
	    c->kind != CONN_PEER)
		return p->pidfd;
	p->flags |= PEER_F_PIDFD_TRIED;
	if (p->flags & PEER_F_BY_SOCKET)
		p->pidfd = c->link.ops->peer_pidfd(&c->link);
	if (p->pidfd < 0)
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
