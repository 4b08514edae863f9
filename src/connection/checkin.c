/* SPDX-License-Identifier: MIT */
/*
 * checkin.c - the listener side of check-ins, and making one.
 *
 * A client makes a socketpair (c, s), keeps c and sends s in a CHECKIN
 * frame over the listener's W, stating its pid, euid and egid
 * (checkin_make).  The listener reads R: a CHECKIN whose descriptor its
 * sender made becomes a peer connection, charged to the sender's user;
 * everything else is dropped (docs/security.md).
 *
 * R of a listener is a shared channel: every holder of the endpoint
 * writes there (and, for a named service, xpcd holds R too), so nothing a
 * client sends may end or disable it.  A frame that is not a good
 * check-in (garbage, an empty packet, any other kind, a descriptor that is
 * not a link its sender made: transport_checkin_verify) is dropped and the
 * listener reads on; R is never shut down (conn_link_has_reader,
 * connection.c).  What is accepted is handed to connection.c, which makes
 * the peer connection (conn_listener_ready).  An accepted peer's identity is that of the process that
 * made its link and sent the check-in (SO_PEERCRED checked against the
 * packet's SCM_CREDENTIALS).
 *
 * A CHANNEL frame on R, from root or the listener's own user (xpcd, as
 * root), carries the R of another channel for one user's check-ins
 * (user-channel.c reads it; docs/security.md, "Per-user channels"): on
 * it, only that user's check-ins are taken, and no channel.
 *
 * Live peer links are charged to their user (checkin_charge): at most
 * checkin_peer_links_per_uid() per uid and listener, so one user cannot take
 * every descriptor of a service from the others; root and the listener's
 * own euid are not counted (they can take the process anyway).
 */
#include "connection/internal.h"
#include "shared/charge.h"
#include "transport/unix/unix.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* XPC_TRACE=1 says why a frame on R was dropped. */
static void checkin_drop(const char *why)
{
	if (trace_enabled())
		trace_note("drop check-in", why);
}

size_t checkin_peer_links_per_uid(void)
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
static Charge *checkin_uid_account_locked(xpc_connection_t l, uid_t uid)
{
	Charge *free_slot = NULL;
	size_t i;

	lock_assert_held(&l->lock);
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
	if (!(v[l->n_uid_accts] = charge_new(NULL, checkin_peer_links_per_uid())))
		return NULL;
	v[l->n_uid_accts]->key = (unsigned long)uid;
	return v[l->n_uid_accts++];
}

/* Charges a new peer link of @uid to listener @l.  Return: the account
 * (+1, the peer gives its unit back when its link closes), NULL with
 * *ret_ok true for a uid not counted, or NULL with *ret_ok false: refused. */
static Charge *checkin_charge(xpc_connection_t l, uid_t uid, bool *ret_ok)
{
	Charge *a = NULL;

	*ret_ok = true;
	if (uid == 0 || uid == geteuid())
		return NULL;
	conn_lock(l);
	a = checkin_uid_account_locked(l, uid);
	if (a && charge_take(a, 1))
		charge_ref(a);
	else
		a = NULL;
	conn_unlock(l);
	*ret_ok = a != NULL;
	return a;
}

/*
 * A CHANNEL frame on the listener's own R (not on a user's channel:
 * @only_uid): its R, if root or this process's user sent it, with a
 * descriptor made by its sender (as a check-in's link is checked).
 * Return: the R (taken from the frame), or -1: dropped.
 */
static int checkin_take_channel(TransportFrame *f, uid_t only_uid, uid_t *ret_uid)
{
	const uint8_t *b = f->body;
	int r;

	if (only_uid != CHECKIN_ANY_UID) {
		checkin_drop("a channel on a user's channel");
		return -1;
	}
	if (!f->has_creds || (f->uid != 0 && f->uid != geteuid())) {
		checkin_drop("a channel from a user who may not give one");
		return -1;
	}
	r = transport_checkin_verify(f, f->fds[0]);
	if (r != 0) {
		checkin_drop(transport_strerror(r));
		return -1;
	}
	*ret_uid = (uid_t)b[0] | (uid_t)b[1] << 8 | (uid_t)b[2] << 16 | (uid_t)b[3] << 24;
	r = f->fds[0];
	f->fds[0] = -1;
	return r;
}

/* One frame read from R: a verified check-in's link (charged to its
 * sender's user; ret->cr its maker), a channel (checkin_take_channel), or
 * neither: dropped.  On a user's channel (@only_uid) only that user's
 * check-ins are taken. */
static void checkin_take(xpc_connection_t l, int r, uid_t only_uid, CheckinGot *ret)
{
	TransportFrame *f = l->rx.frame;
	bool ok;
	int s;

	if (r != 0) {
		checkin_drop(transport_strerror(r));
		return;
	}
	if (f->hdr.kind == FRAME_CHANNEL) {
		ret->channel = checkin_take_channel(f, only_uid, &ret->channel_uid);
		return;
	}
	if (f->hdr.kind != FRAME_CHECKIN) {
		checkin_drop("not a check-in");
		return;
	}
	s = f->fds[0];
	r = transport_checkin_verify(f, s);
	if (r != 0) {
		checkin_drop(transport_strerror(r));
		return; /* s is closed with the frame */
	}
	if (only_uid != CHECKIN_ANY_UID && f->uid != only_uid) { /* a W passed on: its link is told */
		checkin_drop("another user's check-in on a user's channel");
		(void)transport_send_refusal(s, "denied: not this channel's user");
		return;
	}
	ret->charge = checkin_charge(l, f->uid, &ok);
	if (!ok) {
		checkin_drop(conn_strerror(CONN_E_PEER_LINKS));
		return;
	}
	f->fds[0] = -1;
	ret->cr = (TransportCreds){.pid = f->pid, .uid = f->uid, .gid = f->gid}; /* = SO_PEERCRED of s */
	if (trace_enabled())
		trace_frame(NULL, false, "recv", &f->hdr, NULL, NULL);
	ret->s = s;
}

ConnError checkin_accept(xpc_connection_t l, TransportLink *link, uid_t only_uid, CheckinGot *ret, ReceiveGot *ret_got)
{
	int r = link->ops->recv(link, l->rx.frame, false);

	*ret = (CheckinGot){.s = -1, .channel = -1};
	*ret_got = RECEIVE_NONE;
	if (r == -EAGAIN)
		return CONN_OK;
	if (r == TRANSPORT_E_EOF || r < 0) {
		/* Every W is closed (the channel's end), or no memory to
		 * read with (xpc_main then exits and xpcd relaunches the
		 * service; the check-in stays queued in the channel). */
		frame_clear(l->rx.frame);
		return r == -ENOMEM || r == -ENOBUFS ? CONN_E_NO_MEMORY : CONN_E_CHANNEL_CLOSED;
	}
	*ret_got = RECEIVE_GOT;
	checkin_take(l, r, only_uid, ret);
	frame_clear(l->rx.frame);
	return CONN_OK;
}

ConnError checkin_make(int send_w, bool wait, int *ret_fd)
{
	FrameHeader h = {.kind = FRAME_CHECKIN, .id = 1, .n_fds = 1};
	int fd = unix_link_checkin(send_w, wait);

	if (fd == -EAGAIN)
		return CONN_E_BACKLOG;
	if (fd == -EMFILE || fd == -ENFILE)
		return CONN_E_DESCRIPTORS;
	if (fd < 0)
		return CONN_E_LISTENER_GONE;
	if (trace_enabled())
		trace_frame(NULL, false, "send", &h, NULL, NULL);
	*ret_fd = fd;
	return CONN_OK;
}

void checkin_hello(int s)
{
	FrameHeader h = {.kind = FRAME_HELLO};

	transport_send_hello(s);
	if (trace_enabled())
		trace_frame(NULL, false, "send", &h, NULL, NULL);
}
