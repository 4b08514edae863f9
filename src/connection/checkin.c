/* SPDX-License-Identifier: MIT */
/*
 * checkin.c - the listener side of check-ins, and making one.
 *
 * A client makes a socketpair (c, s), keeps c and sends s in a CHECKIN
 * frame over the listener's W, stating its pid, euid and egid
 * (conn_checkin).  The listener reads R: a CHECKIN whose descriptor its
 * sender made becomes a peer connection, charged to the sender's user;
 * everything else is dropped (docs/security.md).
 *
 * R of a listener is a shared channel: every holder of the endpoint
 * writes there (and, for a named service, xpcd holds R too), so nothing a
 * client sends may end or disable it.  A frame that is not a good
 * check-in (garbage, an empty packet, any other kind, a descriptor that is
 * not a link its sender made: transport_checkin_verify) is dropped and the
 * listener reads on; R is never shut down (conn_link_has_reader,
 * connection.c).  An accepted peer's identity is that of the process that
 * made its link and sent the check-in (SO_PEERCRED checked against the
 * packet's SCM_CREDENTIALS).
 *
 * Live peer links are charged to their user (conn_peer_charge): at most
 * conn_peer_links_per_uid() per uid and listener, so one user cannot take
 * every descriptor of a service from the others; root and the listener's
 * own euid are not counted (they can take the process anyway).
 */
#include "connection/internal.h"
#include "shared/charge.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* XPC_TRACE=1 says why a frame on R was dropped. */
static void conn_checkin_drop(const char *why)
{
	if (transport_trace_enabled())
		fprintf(stderr, "[xpc %d] drop check-in: %s\n", (int)getpid(), why);
}

size_t conn_peer_links_per_uid(void)
{
	static _Atomic size_t limit;
	size_t v = atomic_load_explicit(&limit, memory_order_relaxed);

	if (v == 0) {
		const char *e = secure_getenv("XPC_PEER_LINKS_PER_UID");
		char *end = NULL;
		unsigned long long n = e && *e ? strtoull(e, &end, 10) : 0;
		v = end && *end == '\0' && n > 0 ? (size_t)n : CONN_MAX_PEERS_PER_UID;
		atomic_store_explicit(&limit, v, memory_order_relaxed);
	}
	return v;
}

/* The listener's account for @uid's peer links (borrowed), made on first
 * use; accounts nothing holds any more are reused.  Locked. */
static Charge *conn_uid_account_locked(xpc_connection_t l, uid_t uid)
{
	Charge *free_slot = NULL;
	size_t i;

	for (i = 0; i < l->n_uid_accts; i++) {
		Charge *a = l->uid_accts[i];
		if (a->key == (unsigned long)uid)
			return a;
		if (!free_slot && atomic_load(&a->refs) == 1 && charge_used(a) == 0)
			free_slot = a;
	}
	if (free_slot) {
		free_slot->key = (unsigned long)uid;
		return free_slot;
	}
	Charge **v = realloc(l->uid_accts, (l->n_uid_accts + 1) * sizeof(*v));
	if (!v)
		return NULL;
	l->uid_accts = v;
	if (!(v[l->n_uid_accts] = charge_new(NULL, conn_peer_links_per_uid())))
		return NULL;
	v[l->n_uid_accts]->key = (unsigned long)uid;
	return v[l->n_uid_accts++];
}

/* Charges a new peer link of @uid to listener @l.  Return: the account
 * (+1, the peer gives its unit back when its link closes), NULL with
 * *ret_ok true for a uid not counted, or NULL with *ret_ok false: refused. */
static Charge *conn_peer_charge(xpc_connection_t l, uid_t uid, bool *ret_ok)
{
	Charge *a = NULL;

	*ret_ok = true;
	if (uid == 0 || uid == geteuid())
		return NULL;
	conn_lock(l);
	a = conn_uid_account_locked(l, uid);
	if (a && charge_take(a, 1))
		charge_ref(a);
	else
		a = NULL;
	conn_unlock(l);
	*ret_ok = a != NULL;
	return a;
}

/* A peer for a verified check-in's descriptor @s (consumed): charged to
 * its user, says hello, delivered to the listener. */
static void conn_listener_accept(xpc_connection_t l, int s)
{
	FrameHeader h = {.kind = FRAME_HELLO};
	xpc_connection_t p;
	bool ok;
	Charge *acct = conn_peer_charge(l, l->rx->uid, &ok);

	if (!ok) {
		close(s);
		conn_checkin_drop("limit exceeded: peer links per user");
		return;
	}
	p = connection_create_from_socket(s, NULL);
	if (!p) {
		if (acct) {
			charge_give(acct, 1);
			charge_unref(acct);
		}
		return;
	}
	p->link_charge = acct; /* given back when the link closes */
	/* the listener's peer requirement, checked when the peer is activated:
	 * after transport_checkin_verify() made its identity the link's maker */
	conn_requirement_inherit(l, p);
	transport_send_hello(s);
	if (transport_trace_enabled())
		transport_trace("send", &h, NULL);
	conn_deliver(l, p, 0);
}

/* One frame read from R: a verified check-in becomes a peer; anything
 * else is dropped. */
static void conn_listener_frame(xpc_connection_t c, int r, const char *why)
{
	int s;

	if (r == TRANSPORT_INVALID) {
		conn_checkin_drop(why);
		return;
	}
	if (c->rx->hdr.kind != FRAME_CHECKIN) {
		conn_checkin_drop("not a check-in");
		return;
	}
	s = c->rx->fds[0];
	if (transport_checkin_verify(c->rx, s, &why) != 0) {
		conn_checkin_drop(why);
		return; /* s is closed with the frame */
	}
	c->rx->fds[0] = -1;
	if (transport_trace_enabled())
		transport_trace("recv", &c->rx->hdr, NULL);
	conn_listener_accept(c, s);
}

void conn_listener_ready(void *ctx)
{
	xpc_connection_t c = ctx;
	const char *why = NULL;

	for (int i = 0; i < 64; i++) {
		int fd, r;
		conn_lock(c);
		fd = c->fd;
		bool ok = fd >= 0 && c->state == CONN_ACTIVE;
		conn_unlock(c);
		if (!ok)
			return;
		r = transport_recv(fd, c->rx, &why);
		if (r == -EAGAIN)
			return;
		if (r == TRANSPORT_EOF || (r < 0 && r != -EAGAIN)) {
			/* Every W is closed (the channel's end: "listener
			 * channel closed"), or no memory to read with (xpc_main
			 * then exits and xpcd relaunches the service; the
			 * check-in stays queued in the channel).  R is not shut
			 * down: others may hold it. */
			bool nomem = r == -ENOMEM || r == -ENOBUFS;
			transport_frame_clear(c->rx);
			conn_lock(c);
			conn_fail_locked(c,
					 nomem ? "limit exceeded: out of memory"
					       : "listener channel closed",
					 false);
			conn_unlock(c);
			return;
		}
		conn_listener_frame(c, r, why);
		transport_frame_clear(c->rx);
	}
}

int conn_checkin(int send_w, bool wait, int *ret_fd, const char **ret_reason)
{
	FrameHeader h = {.kind = FRAME_CHECKIN, .id = 1};
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		*ret_reason = "limit exceeded: descriptors";
		return -errno;
	}
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
		*ret_reason = r == -EAGAIN ? "limit exceeded: listener backlog" : "listener gone";
		return r;
	}
	if (transport_trace_enabled())
		transport_trace("send", &h, NULL);
	*ret_fd = sv[0];
	return 0;
}
