/* SPDX-License-Identifier: MIT */
/*
 * user-channel.c - a listener's per-user channels (docs/security.md,
 * "Per-user channels").
 *
 * A service's W is shared by everyone who holds it, and any holder can
 * end it for all with shutdown(2), so xpcd hands it only to root and the
 * service's own user; anyone else checks in through xpcd, one hop more
 * per connection.  To spare that hop, xpcd gives such a user a channel of
 * its own: the channel's R goes to the listener in a CHANNEL frame on the
 * listener's R (checkin.c takes it only from root or the listener's own
 * user, and only there), its W to the user.  The listener reads check-ins
 * from each such R as from its own, on its handler queue, but takes only
 * that user's: a W passed on checks nobody else in (checkin.c refuses the
 * link, saying why), and a user who ends
 * its W ends only its own channel.  An R whose every W is closed or shut
 * down (xpcd shuts them down when the job exits, is disabled or unloaded)
 * is dropped.  One per user: a user's new channel replaces its last (xpcd
 * makes one only when the last one's W was shut down, by its user or
 * whoever its user passed it to), so a user who shuts channels down
 * faster than the listener reads their ends cannot fill its slots for
 * the others.  At most USER_CHANNELS_MAX per listener, none twice (the
 * same socket), none while the listener is not active.
 *
 * The read handler is connection.c's (it makes the peers); each channel's
 * source holds a reference on the listener, and its cancel handler,
 * which runs on the same serial queue after the last delivery, closes R.
 */
#include "connection/internal.h"
#include "transport/unix/unix.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct UserChannel {
	xpc_connection_t l;
	int fd;                /* R */
	uid_t uid;             /* whose check-ins it carries */
	dev_t dev;
	ino_t ino;
	dispatch_source_t src; /* under l's lock; NULL once dropped */
};

static void user_channel_cancelled(void *ctx)
{
	UserChannel *u = ctx;

	close(u->fd);
	xpc_release(u->l);
	free(u);
}

/* Whether the listener reads the socket @st already (locked). */
static bool user_channel_known_locked(xpc_connection_t l, const struct stat *st)
{
	struct stat own;

	lock_assert_held(&l->lock);
	if (fstat(l->link.fd, &own) == 0 && own.st_dev == st->st_dev && own.st_ino == st->st_ino)
		return true;
	for (size_t i = 0; i < l->n_uchans; i++)
		if (l->uchans[i]->dev == st->st_dev && l->uchans[i]->ino == st->st_ino)
			return true;
	return false;
}

static void user_channel_stop_locked(UserChannel *u);

/* A new channel of @uid replaces the one before (locked): xpcd makes one
 * only when its user's W of the last one was shut down. */
static void user_channel_replace_locked(xpc_connection_t l, uid_t uid)
{
	lock_assert_held(&l->lock);
	for (size_t i = 0; i < l->n_uchans; i++)
		if (l->uchans[i]->uid == uid) {
			user_channel_stop_locked(l->uchans[i]);
			l->uchans[i] = l->uchans[--l->n_uchans];
			return;
		}
}

/* Whether @l may take one more channel, for @uid (locked). */
static bool user_channel_room_locked(xpc_connection_t l, const struct stat *st, uid_t uid)
{
	lock_assert_held(&l->lock);
	if (l->state != CONN_ACTIVE || l->link.fd < 0 || user_channel_known_locked(l, st))
		return false;
	user_channel_replace_locked(l, uid);
	if (l->n_uchans >= USER_CHANNELS_MAX)
		return false;
	if (!l->uchans)
		l->uchans = calloc(USER_CHANNELS_MAX, sizeof(*l->uchans));
	return l->uchans != NULL;
}

void user_channel_open(xpc_connection_t l, int r, uid_t uid, dispatch_function_t handler)
{
	UserChannel *u = calloc(1, sizeof(*u));
	struct stat st;
	bool ok = false;

	if (u && fstat(r, &st) == 0 && transport_setup_socket(r) == 0) {
		*u = (UserChannel){.l = l, .fd = r, .uid = uid, .dev = st.st_dev, .ino = st.st_ino};
		conn_lock(l);
		if (user_channel_room_locked(l, &st, uid) &&
		    (u->src = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)r, 0, l->queue))) {
			xpc_retain(l);
			dispatch_set_context(u->src, u);
			dispatch_source_set_event_handler_f(u->src, handler);
			dispatch_source_set_cancel_handler_f(u->src, user_channel_cancelled);
			l->uchans[l->n_uchans++] = u;
			dispatch_resume(u->src);
			ok = true;
		}
		conn_unlock(l);
	}
	if (!ok) {
		if (trace_enabled())
			trace_note("drop channel", "no room, known, or the listener ended");
		close(r);
		free(u);
	}
}

bool user_channel_view(UserChannel *u, xpc_connection_t *ret_l, TransportLink *ret_link, uid_t *ret_uid)
{
	xpc_connection_t l = u->l;
	bool live;

	conn_lock(l);
	live = u->src && l->state == CONN_ACTIVE;
	if (live) {
		*ret_link = transport_link_view(&l->link);
		ret_link->fd = u->fd;
	}
	conn_unlock(l);
	*ret_l = l;
	*ret_uid = u->uid;
	return live;
}

/* Stops reading @u (locked); its cancel handler closes it. */
static void user_channel_stop_locked(UserChannel *u)
{
	lock_assert_held(&u->l->lock);
	dispatch_source_cancel(u->src);
	dispatch_release(u->src);
	u->src = NULL;
}

void user_channel_drop(UserChannel *u)
{
	xpc_connection_t l = u->l;

	conn_lock(l);
	for (size_t i = 0; u->src && i < l->n_uchans; i++)
		if (l->uchans[i] == u) {
			l->uchans[i] = l->uchans[--l->n_uchans];
			user_channel_stop_locked(u);
		}
	conn_unlock(l);
}

void user_channels_close_locked(xpc_connection_t l)
{
	lock_assert_held(&l->lock);
	for (size_t i = 0; i < l->n_uchans; i++)
		user_channel_stop_locked(l->uchans[i]);
	l->n_uchans = 0;
}
