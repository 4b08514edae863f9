/* SPDX-License-Identifier: MIT */
/*
 * connection.c - the connection's state machine and its entry points: the
 * public calls that act on a connection, and the handlers of its dispatch
 * sources.
 *
 * Model: see internal.h for the states, the locks and the files below this
 * one, docs/connections.md for the semantics.  The files below report
 * outcomes (ConnError); this file alone decides what they mean for the
 * connection: it fails it (conn_fail_locked), cancels it, activates it,
 * reconnects a named one, arms or disarms the write source, and hands an
 * accepted peer's first request to the worker that ran the listener's
 * handler (conn_handover_hold_locked).
 *
 * Invariants kept here:
 * - INVALID is queued exactly once (conn_fail_locked checks the state) and
 *   after it ran the handler is never called again (deliver.c);
 * - every pending reply is answered exactly once (pending.c unlinks it
 *   under the lock before answering; a failure answers what is left);
 * - a link's end is decided with the reader's rx.lock still held, so the
 *   shutdown() that wakes a blocked reader is made only when one may block.
 */
#include "connection/internal.h"
#include "dispatch/dqueue.h"
#include "dispatch/internal.h"
#include "shared/clock.h"

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the write source ------------------------------------------------------ */

static void conn_write_ready(void *ctx);

/* A WRITE source on a duplicate of the socket, armed only while something
 * is queued.  Return: CONN_OK, or why the queued frames can never leave. */
static ConnError conn_arm_write_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (c->tx.wsrc) {
		if (!c->tx.wsrc_armed) {
			c->tx.wsrc_armed = true;
			dispatch_resume(c->tx.wsrc);
		}
		return CONN_OK;
	}
	int wfd = fcntl(c->link.fd, F_DUPFD_CLOEXEC, 3);
	dispatch_source_t s;
	dispatch_block_t on_cancel;
	if (wfd < 0)
		return CONN_E_DESCRIPTORS; /* queued frames could never leave */
	on_cancel = Block_copy(^{
		close(wfd);
		xpc_release(c);
	});
	s = on_cancel ? dispatch_source_create(DISPATCH_SOURCE_TYPE_WRITE, (uintptr_t)wfd, 0, c->ioq) : NULL;
	if (!s) {
		if (on_cancel)
			Block_release(on_cancel);
		close(wfd);
		return CONN_E_NO_MEMORY;
	}
	xpc_retain(c);
	dispatch_set_context(s, c);
	dispatch_source_set_event_handler_f(s, conn_write_ready);
	dispatch_source_set_cancel_handler(s, on_cancel); /* a heap block: no copy */
	Block_release(on_cancel);
	c->tx.wsrc = s;
	c->tx.wsrc_armed = true;
	dispatch_resume(s);
	return CONN_OK;
}

/* Acts on a flush's outcome (locked). */
void conn_flushed_locked(xpc_connection_t c, ConnError e, SendProgress progress)
{
	lock_assert_held(&c->lock);
	if (e == CONN_OK && progress == SEND_BLOCKED)
		e = conn_arm_write_locked(c);
	else if (e == CONN_OK && progress == SEND_DRAINED && c->tx.wsrc && c->tx.wsrc_armed) {
		c->tx.wsrc_armed = false;
		dispatch_suspend(c->tx.wsrc);
	}
	if (e != CONN_OK)
		conn_fail_locked(c, e, NULL);
}

static void conn_flush_locked(xpc_connection_t c)
{
	SendProgress progress;
	ConnError e;

	lock_assert_held(&c->lock);
	e = send_flush_locked(c, &progress);
	c->tx.flush_wanted = false;
	conn_flushed_locked(c, e, progress);
}

static void conn_write_ready(void *ctx)
{
	xpc_connection_t c = ctx;

	conn_lock(c);
	conn_flush_locked(c);
	conn_unlock(c);
}

static void conn_flush_async(void *ctx)
{
	xpc_connection_t c = ctx;

	conn_lock(c);
	c->tx.flush_scheduled = false;
	conn_flush_locked(c);
	conn_unlock(c);
	xpc_release(c);
}

/* Coalesced frames leave soon, from the ioq (send.c, "Coalescing"). */
void conn_schedule_flush_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (c->tx.flush_scheduled || c->tx.wsrc_armed)
		return;
	c->tx.flush_scheduled = true;
	xpc_retain(c);
	dispatch_async_f(c->ioq, c, conn_flush_async);
}

/* ---- the link ---------------------------------------------------------------- */

/*
 * Whether a thread may be blocked reading the link (a sync caller, a peer
 * lingering for its next request): readers hold rx.lock while they take the
 * descriptor (under the lock, after c->link.fd = -1 they see none) and read it.
 * Without one, the shutdown that would wake it is not made: on a suspended
 * source it only costs the manager thread a wake-up for the hang-up, and
 * the peer learns of the end when the cancel handler closes the socket.
 * A listener's R is never shut down: it is a shared channel (xpcd and,
 * for an anonymous listener, nobody else reads it, but shutdown() acts on
 * the socket, not on this descriptor: it would end the channel for every
 * holder and every later instance of the service), and no thread blocks
 * reading it.  The link of a suspended connection is shut down: its
 * cancel handler waits for the resume, and the peer must learn of the end
 * now.
 */
static bool conn_link_has_reader(xpc_connection_t c)
{
	if (c->kind == CONN_LISTENER)
		return false;
	if (c->suspend_count > 0 || pthread_rwlock_trywrlock(&c->rx.lock) != 0)
		return true;
	pthread_rwlock_unlock(&c->rx.lock);
	return false;
}

static void conn_cancel_source(dispatch_source_t s, bool suspended)
{
	if (suspended)
		dispatch_resume(s); /* a suspended source never runs its cancel handler */
	dispatch_source_cancel(s);
	dispatch_release(s);
}

/* Cancels the sources; their cancel handlers close the descriptors. */
static void conn_close_link_locked(xpc_connection_t c)
{
	TransportLink link = transport_link_view(&c->link);
	TransportRing *ring = ring_link_detach(&c->link); /* the read source's, if it has one */
	int fd = link.fd;

	lock_assert_held(&c->lock);
	c->link.fd = -1;
	if (fd >= 0)
		create_refund_link(c);
	if (c->n_uchans) /* a listener's users' channels */
		user_channels_close_locked(c);
	c->requirement_met = false; /* a next link's peer is checked anew */
	c->link.ops->reset(&c->link); /* the next link gets its own stage */
	if (fd >= 0 && !conn_has(c, CONN_F_PEER_CLOSED) && conn_link_has_reader(c))
		link.ops->shutdown(&link); /* wakes a thread blocked reading it */
	conn_set(c, CONN_F_PEER_CLOSED, false); /* (a pollster sees the peer's hang-up itself) */
	if (c->rsrc) {
		dispatch_source_t s = c->rsrc;
		c->rsrc = NULL;
		conn_cancel_source(s, c->rx.paused);
		c->rx.paused = false;
		sync_lazy_stop_locked(c);
		sync_release_locked(c, false);
	} else if (fd >= 0) {
		close(fd);
		ring_free(ring);
	}
	if (c->tx.wsrc) {
		dispatch_source_t w = c->tx.wsrc;
		c->tx.wsrc = NULL;
		conn_cancel_source(w, !c->tx.wsrc_armed);
		c->tx.wsrc_armed = false;
	}
}

void conn_fail_locked(xpc_connection_t c, ConnError e, const char *detail)
{
	bool peer_ended = e == CONN_E_PEER_EXITED || e == CONN_E_LINK_ERROR;
	bool interrupted = (c->role & CONN_ROLE_NAMED) && peer_ended && !conn_has(c, CONN_F_CANCELLED);

	lock_assert_held(&c->lock);
	if (c->state == CONN_INVALID)
		return;
	if (e == CONN_E_REQUIREMENT) {
		/* what waited for the peer, and the handler, learn why first */
		pending_fail_all_locked(c, XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT);
		deliver_event(c, XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT, 0, false);
	}
	conn_close_link_locked(c);
	conn_set(c, CONN_F_CONNECTING | CONN_F_GOT_HELLO, false);
	pending_fail_all_locked(c, interrupted ? XPC_ERROR_CONNECTION_INTERRUPTED : XPC_ERROR_CONNECTION_INVALID);
	send_discard_locked(c);
	if (interrupted) {
		c->state = CONN_DISCONNECTED;
		deliver_event(c, XPC_ERROR_CONNECTION_INTERRUPTED, 0, false);
		return;
	}
	bool was_active = c->state != CONN_INACTIVE;
	c->state = CONN_INVALID; /* INVALID is queued once: the check above */
	exit_untrack_locked(c);
	c->error = e;
	free(c->error_detail);
	c->error_detail = detail && *detail ? strdup(detail) : NULL;
	if (!was_active)
		xpc_retain(c); /* stands in for the activation reference */
	deliver_event(c, XPC_ERROR_CONNECTION_INVALID, 0, true);
}

/*
 * The link ended as a reader saw it (rx.lock held, not the lock): the
 * peer's end is this link's only while it is still the one up (the link
 * was closed under a sync reader by cancel, or by a named peer that
 * reconnected: that end is not this link's).
 */
static void conn_end_link(xpc_connection_t c, ConnError e)
{
	conn_lock(c);
	if (e == CONN_E_PEER_EXITED || e == CONN_E_LINK_ERROR) {
		if (c->link.fd < 0 || c->state != CONN_ACTIVE) {
			conn_unlock(c);
			return;
		}
		conn_set(c, CONN_F_PEER_CLOSED, e == CONN_E_PEER_EXITED);
		if ((c->role & CONN_ROLE_FROM_ENDPOINT) && !conn_has(c, CONN_F_GOT_HELLO))
			e = CONN_E_LISTENER_GONE;
	}
	conn_fail_locked(c, e, c->rx.why);
	conn_unlock(c);
}

/* What a reader reported (rx.lock held): the link's end, or a peer just
 * admitted whose queued frames found the socket full (receive.c). */
void conn_after_read(xpc_connection_t c, ConnError e)
{
	if (e != CONN_OK)
		conn_end_link(c, e);
	if (!c->requirement) /* (set before activation) */
		return;
	conn_lock(c);
	if (c->tx.flush_wanted)
		conn_flush_locked(c);
	conn_unlock(c);
}

/* Starts the read source on c->link.fd (locked).  0 or -ENOMEM. */
static int conn_start_read_locked(xpc_connection_t c, dispatch_function_t handler)
{
	int fd = c->link.fd;
	/* A served peer lingers in a blocking receive that must end
	 * (receive.c); a client's link rarely does (it answers no requests,
	 * usually): its timeout is set when it first would */
	bool client = c->kind == CONN_PEER && (c->role & (CONN_ROLE_NAMED | CONN_ROLE_FROM_ENDPOINT));
	dispatch_source_t s;

	lock_assert_held(&c->lock);
	if (receive_setup_locked(c) < 0)
		return -ENOMEM;
	/* a peer's small frames through shared memory, if both opted in */
	if (c->kind == CONN_PEER && !(c->role & CONN_ROLE_RAW) && ring_link_start(&c->link) < 0)
		return -ENOMEM;
	TransportRing *ring = c->link.ring; /* freed with the descriptor */
	c->rx.timeout_lazy = client;
	c->rx.timeout = c->kind == CONN_PEER && !client && c->link.ops->set_recv_timeout(&c->link, CONN_LINGER_US) == 0;
	/* Runs once the manager dropped the watch: no read can follow.  Copied
	 * here, where running out of memory can still be reported. */
	dispatch_block_t on_cancel = Block_copy(^{
		close(fd);
		ring_free(ring);
		xpc_release(c);
	});
	if (!on_cancel)
		return -ENOMEM;
	/* The read handler runs on the handler queue itself: a message is
	 * handed to the event handler without another thread hand-off, and
	 * while the handler runs nothing is read (Apple's semantics). */
	s = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0, c->queue);
	if (!s) {
		Block_release(on_cancel);
		return -ENOMEM;
	}
	dsource_skip_estimate(s); /* the handlers read until EAGAIN */
	if (c->kind == CONN_PEER)
		dsource_edge_triggered(s); /* receive.c reads until the link is empty */
	xpc_retain(c);
	dispatch_set_context(s, c);
	dispatch_source_set_event_handler_f(s, handler);
	dispatch_source_set_cancel_handler(s, on_cancel); /* a heap block: no copy */
	Block_release(on_cancel);
	c->rsrc = s;
	c->rx.paused = false;
	if (client) {
		sync_hold_first_read_locked(c, s);
	} else if (conn_has(c, CONN_F_START_LATER) && !c->start_owed) {
		dispatch_retain(s); /* the activator's, even if a failure cancels it */
		c->start_owed = s;
	} else {
		dispatch_resume(s);
	}
	if (c->kind == CONN_PEER)
		pending_wake_sync_locked(c);
	return 0;
}

static void conn_read_ready(void *ctx);
static void conn_listener_ready(void *ctx);

void conn_link_up_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	conn_set(c, CONN_F_CONNECTING, false);
	if (conn_start_read_locked(c, c->kind == CONN_LISTENER ? conn_listener_ready : conn_read_ready) < 0) {
		conn_fail_locked(c, CONN_E_NO_MEMORY, NULL);
		return;
	}
	if (c->kind == CONN_PEER)
		conn_flush_locked(c);
}

/* ---- the sources' handlers ------------------------------------------------- */

static void conn_read_ready(void *ctx)
{
	xpc_connection_t c = ctx;
	dispatch_source_t src;

	/* A thread in send_message_with_reply_sync reads for us, and gives
	 * us this delivery again when it lets go (receive_unlock). */
	if (!receive_trylock(c))
		return;
	conn_lock(c);
	src = c->rsrc;
	conn_unlock(c);
	conn_after_read(c, receive_ready_rxlocked(c, src));
	pthread_rwlock_unlock(&c->rx.lock);
}

/* A listener's peer for a verified check-in's link @s (consumed), made by
 * @cr, charged to its user (@charge, consumed): says hello, goes to the
 * handler. */
static void conn_listener_accept(xpc_connection_t l, int s, const TransportCreds *cr, Charge *charge)
{
	xpc_connection_t p = create_checked_in(s, cr);

	if (!p) {
		if (charge) {
			charge_give(charge, 1);
			charge_unref(charge);
		}
		return;
	}
	p->link_charge = charge; /* given back when the link closes */
	if (l->name) /* what a monitor shows of the peer's frames (tap.c) */
		p->service = strdup(l->name);
	/* the listener's peer requirement, checked when the peer is activated:
	 * after transport_checkin_verify() made its identity the link's maker */
	requirement_inherit(l, p);
	checkin_hello(s);
	deliver_event(l, p, 0, false);
}

static void conn_user_channel_ready(void *ctx);

/* One frame from @link, listener @l's R or a user's channel (@only_uid,
 * checkin_accept): a peer made of a check-in, a user's channel opened.
 * A failure that ends R ends the listener (R is not shut down: others may
 * hold it), except a user's channel's end (@ret_e).  Return: whether to
 * read on. */
static bool conn_listener_take(xpc_connection_t l, TransportLink *link, uid_t only_uid, ConnError *ret_e)
{
	CheckinGot got;
	ReceiveGot rg;

	*ret_e = checkin_accept(l, link, only_uid, &got, &rg);
	if (*ret_e == CONN_E_NO_MEMORY || (*ret_e != CONN_OK && only_uid == CHECKIN_ANY_UID)) {
		conn_lock(l);
		conn_fail_locked(l, *ret_e, NULL);
		conn_unlock(l);
	}
	if (got.s >= 0)
		conn_listener_accept(l, got.s, &got.cr, got.charge);
	if (got.channel >= 0)
		user_channel_open(l, got.channel, got.channel_uid, conn_user_channel_ready);
	return *ret_e == CONN_OK && rg != RECEIVE_NONE;
}

/* A user's channel's R is readable (user-channel.c): that user's
 * check-ins; its end (every W closed or shut down) drops it; no memory to
 * read with ends the listener, as on its own R (xpcd moves what is queued
 * to the next instance). */
static void conn_user_channel_ready(void *ctx)
{
	UserChannel *u = ctx;
	TransportLink link;
	xpc_connection_t l;
	ConnError e;
	uid_t uid;

	for (int i = 0; i < 64 && user_channel_view(u, &l, &link, &uid); i++)
		if (!conn_listener_take(l, &link, uid, &e)) {
			if (e != CONN_OK && e != CONN_E_NO_MEMORY)
				user_channel_drop(u);
			return;
		}
}

static void conn_listener_ready(void *ctx)
{
	xpc_connection_t c = ctx;
	ConnError e;

	for (int i = 0; i < 64; i++) {
		TransportLink link;
		conn_lock(c);
		link = transport_link_view(&c->link);
		if (c->state != CONN_ACTIVE)
			link.fd = -1;
		conn_unlock(c);
		if (link.fd < 0 || !conn_listener_take(c, &link, CHECKIN_ANY_UID, &e))
			return;
	}
}

/* ---- activation, suspension, cancellation -------------------------------- */

static void conn_activate_peer_locked(xpc_connection_t c)
{
	char why[256];
	ConnError e;

	lock_assert_held(&c->lock);
	if (c->link.fd < 0 && c->connect_locked) {
		c->connect_locked(c);
		return;
	}
	if (c->link.fd < 0 && (c->role & CONN_ROLE_FROM_ENDPOINT)) {
		e = checkin_make(c->send_w, true, &c->link.fd);
		if (e != CONN_OK) {
			conn_fail_locked(c, e, NULL);
			return;
		}
	}
	/* a peer known from its socket (a listener's) is checked before its
	 * link is read or written; others at their first frame (receive.c) */
	if (c->requirement && (c->peer.flags & PEER_F_KNOWN)) {
		e = requirement_check_locked(c, why, sizeof(why));
		if (e != CONN_OK) {
			conn_fail_locked(c, e, why);
			return;
		}
	}
	conn_link_up_locked(c);
}

/*
 * A read source made during the activation is resumed once the lock is
 * released: a listener's new peer usually has its first request queued, so
 * its source is delivered at once on another worker, which would otherwise
 * find the connection locked and sleep on it (two context switches more
 * per accepted peer).  A cancel in between leaves the source cancelled
 * before activation: the resume then runs its cancel handler only.
 */
static dispatch_source_t conn_take_owed_start_locked(xpc_connection_t c)
{
	dispatch_source_t s = c->start_owed;

	lock_assert_held(&c->lock);
	conn_set(c, CONN_F_START_LATER, false);
	c->start_owed = NULL;
	return s;
}

/*
 * The hand-over of an accepted peer (issue 17, named connect): the worker
 * that ran the listener's handler reads the peer's first request itself,
 * usually queued already, instead of starting the peer's read source and
 * waking another worker for it (one hand-off and two context switches
 * less per set-up).  An activation of the peer inside the listener's
 * handler, on that thread (deliver.c says which peer that handler was
 * given: deliver_handing), unless other work waits behind the listener's
 * queue, keeps the source in start_owed and leaves the worker
 * conn_first_after to run when the listener's drain is over and its queue
 * let go (dpool_run_after, one per drain: a slow handler of the peer then
 * holds up no check-in, which another worker takes).  It claims the
 * peer's queue only when that is idle, not suspended and targets a global
 * queue (dqueue_try_enter), and no other work waits for a worker, and
 * reads one frame without waiting (receive_first_rxlocked): a peer that
 * sent nothing yet costs one read that finds nothing.  Then the source
 * starts as before (a frame left makes its first delivery).  Only for a
 * listener whose queue targets a global queue directly (its drain is the
 * worker's item); a main-queue listener (xpc_main's) or one on a serial
 * queue of the caller's starts the peer's source at the activation.
 * A listener's handler that waits after the resume, in a semaphore, a
 * group or a dispatch_sync, perhaps for that peer's first message, starts
 * the source then (dsync_before_wait), as without the hand-over.  Any other
 * wait (a condition variable, a sleep, a long computation; a later handler
 * of the same drain) is bounded by a timer: a source held back for longer
 * than HANDOVER_LATE_NS is started by another worker (handover_rescue), so
 * the peer's first request waits that long at most where it would
 * otherwise wait for the handler's return, or for ever.
 */

/*
 * The held sources' bound: one manager timer for the process, armed while
 * any is held, and the connections holding one (at most HANDOVER_MAX: a
 * hand-over that finds no room starts its source at once).  Each entry
 * holds a reference on its connection; whoever takes the source back
 * (conn_take_owed) forgets the entry.
 */
#define HANDOVER_LATE_NS 2000000
#define HANDOVER_MAX 64

static struct {
	pthread_mutex_t lock;
	struct {
		xpc_connection_t conn;
		uint64_t since;
	} held[HANDOVER_MAX];
	int n;
	bool armed;
	ManagerTimer timer;
	DispatchItem item;
} handover = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void handover_rescue(void *unused);

/* Manager thread: the rescue runs on a worker (the item is pushed again
 * only after it ran: the timer is armed again by the rescue alone). */
static void handover_fire(ManagerTimer *t, uint64_t count)
{
	(void)t;
	(void)count;
	dqueue_push_embedded(dqueue_default_target(), &handover.item, handover_rescue, NULL);
}

/* Under handover.lock. */
static void handover_arm_locked(uint64_t now)
{
	handover.armed = true;
	handover.timer.fire = handover_fire;
	if (manager_timer_arm(&handover.timer, now + HANDOVER_LATE_NS, 0, HANDOVER_LATE_NS / 2) != 0)
		handover.armed = false;
}

/* @c's source is held back (c->lock held): listed, false when there is no
 * room or no timer (then the caller starts it). */
static bool handover_hold(xpc_connection_t c)
{
	uint64_t now = clock_monotonic_ns();
	bool ok;

	pthread_mutex_lock(&handover.lock);
	if (!handover.armed && handover.n < HANDOVER_MAX)
		handover_arm_locked(now);
	ok = handover.armed && handover.n < HANDOVER_MAX;
	if (ok) {
		handover.held[handover.n].conn = c;
		handover.held[handover.n].since = now;
		handover.n++;
		xpc_retain(c);
	}
	pthread_mutex_unlock(&handover.lock);
	return ok;
}

/* Takes entry @i out (under handover.lock): its connection, still +1. */
static xpc_connection_t handover_unlist_locked(int i)
{
	xpc_connection_t c = handover.held[i].conn;

	handover.held[i] = handover.held[--handover.n];
	return c;
}

/* @c's source was taken back: its entry, if any, goes. */
static void handover_forget(xpc_connection_t c)
{
	xpc_connection_t found = NULL;

	pthread_mutex_lock(&handover.lock);
	for (int i = 0; i < handover.n && !found; i++)
		if (handover.held[i].conn == c)
			found = handover_unlist_locked(i);
	pthread_mutex_unlock(&handover.lock);
	if (found)
		xpc_release(found);
}

/* The first request of @c, if there, on c->queue when it can be claimed. */
static void conn_read_first(xpc_connection_t c, dispatch_source_t src)
{
	QueueFrame frame;

	if (dpool_has_waiting() || !dqueue_try_enter(c->queue, 0))
		return; /* others wait, or busy, suspended, not on a global queue */
	dqueue_frame_push(&frame, c->queue);
	frame.barrier = 1;
	if (receive_trylock(c)) {
		conn_after_read(c, receive_first_rxlocked(c, src));
		pthread_rwlock_unlock(&c->rx.lock);
	}
	dqueue_frame_pop(&frame);
	dqueue_leave(c->queue, 0);
}

/* The source the activation left, started (and released). */
static void conn_start_owed(dispatch_source_t owed)
{
	dispatch_resume(owed);
	dispatch_release(owed);
}

static dispatch_source_t conn_take_owed(xpc_connection_t c)
{
	dispatch_source_t owed;

	conn_lock(c);
	owed = c->start_owed;
	c->start_owed = NULL;
	conn_unlock(c);
	if (owed)
		handover_forget(c);
	return owed;
}

/* @ctx's held-back source, if still held, started: by the timer, or when
 * the listener's handler waits in a dispatch wait (a semaphore, a group, a
 * dispatch_sync), perhaps for that very peer. */
static void conn_start_held(void *ctx)
{
	dispatch_source_t owed = conn_take_owed(ctx);

	if (owed)
		conn_start_owed(owed);
}

/* On a worker, the timer fired: the sources held back too long start
 * (see above); the timer is armed again while others are still held. */
static void handover_rescue(void *unused)
{
	xpc_connection_t late[HANDOVER_MAX];
	uint64_t now = clock_monotonic_ns();
	int n = 0;

	(void)unused;
	pthread_mutex_lock(&handover.lock);
	for (int i = 0; i < handover.n;) {
		if (now - handover.held[i].since >= HANDOVER_LATE_NS)
			late[n++] = handover_unlist_locked(i);
		else
			i++;
	}
	handover.armed = false;
	if (handover.n > 0)
		handover_arm_locked(now);
	pthread_mutex_unlock(&handover.lock);
	for (int i = 0; i < n; i++) {
		conn_start_held(late[i]);
		xpc_release(late[i]);
	}
}

/* On the worker, the listener's queue let go (dpool_run_after). */
static void conn_first_after(void *ctx)
{
	xpc_connection_t c = ctx;
	dispatch_source_t owed;

	dsync_before_wait(NULL, NULL); /* the listener's handlers are over */
	owed = conn_take_owed(c);
	if (owed) {
		conn_read_first(c, owed);
		conn_start_owed(owed);
	}
	xpc_release(c);
}

/* At the activation of @c inside the handler of its listener @l, on this
 * thread (c->lock held): whether that runs on a worker with nothing
 * waiting behind it, so that the worker reads @c's first request once the
 * listener's queue is let go (see above).  Then @c is listed for the
 * timer, and its source is held back by the caller.  Out of line: a
 * client's activation never gets here (libxpc-hot.ld: code an idle client
 * does not run stays out of its block). */
__attribute__((noinline)) static bool conn_handover_hold_locked(xpc_connection_t c, xpc_connection_t l)
{
	lock_assert_held(&c->lock);
	if (!dqueue_targets_root(l->queue) || dqueue_others_waiting(l->queue))
		return false;
	if (!handover_hold(c))
		return false;
	xpc_retain(c); /* conn_first_after's */
	if (dpool_run_after(conn_first_after, c)) {
		dsync_before_wait(conn_start_held, c);
		return true;
	}
	xpc_release(c);
	handover_forget(c);
	return false;
}

void xpc_connection_activate(xpc_connection_t c)
{
	dispatch_source_t owed;
	xpc_connection_t l;

	conn_lock(c);
	if (c->state != CONN_INACTIVE || conn_has(c, CONN_F_CANCELLED)) {
		conn_unlock(c);
		return;
	}
	c->state = CONN_ACTIVE;
	xpc_retain(c); /* released after the final INVALID was delivered */
	conn_set(c, CONN_F_START_LATER, true);
	if (c->kind == CONN_LISTENER && c->link.fd < 0 && c->connect_locked)
		c->connect_locked(c);
	else if (c->kind == CONN_LISTENER)
		conn_link_up_locked(c);
	else {
		exit_track_locked(c);
		conn_activate_peer_locked(c);
	}
	owed = conn_take_owed_start_locked(c);
	if (owed && deliver_handing(&l) == c && conn_handover_hold_locked(c, l)) {
		c->start_owed = owed; /* conn_first_after starts it */
		owed = NULL;
	}
	conn_unlock(c);
	if (owed)
		conn_start_owed(owed);
}

void xpc_connection_resume(xpc_connection_t c)
{
	conn_lock(c);
	if (c->state == CONN_INACTIVE && !conn_has(c, CONN_F_CANCELLED)) {
		conn_unlock(c);
		xpc_connection_activate(c);
		return;
	}
	if (c->suspend_count > 0) {
		c->suspend_count--;
		dispatch_resume(c->queue);
	}
	conn_unlock(c);
}

void xpc_connection_suspend(xpc_connection_t c)
{
	conn_lock(c);
	if (c->state != CONN_INACTIVE) {
		c->suspend_count++;
		dispatch_suspend(c->queue);
	}
	conn_unlock(c);
}

void xpc_connection_cancel(xpc_connection_t c)
{
	conn_lock(c);
	if (!conn_has(c, CONN_F_CANCELLED)) {
		conn_set(c, CONN_F_CANCELLED, true);
		if (c->tx.flush_scheduled) /* what would have left at once */
			conn_flush_locked(c);
		conn_fail_locked(c, CONN_E_CANCELLED, NULL);
	}
	conn_unlock(c);
}

/* A named client that was INTERRUPTED checks in again at its next send. */
void conn_reconnect_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (c->state == CONN_DISCONNECTED && !conn_has(c, CONN_F_CONNECTING) && c->connect_locked) {
		c->state = CONN_ACTIVE;
		c->connect_locked(c);
	}
}

/* ---- the handler, the reason ---------------------------------------------- */

void xpc_connection_set_event_handler(xpc_connection_t c, xpc_handler_t handler)
{
	xpc_handler_t copy = handler ? Block_copy(handler) : NULL, old;

	conn_lock(c);
	if (handler && !copy) {
		/* a connection nobody listens to would leave its peer waiting */
		conn_fail_locked(c, CONN_E_NO_MEMORY, NULL);
		conn_unlock(c);
		return;
	}
	old = c->handler_block;
	c->handler_block = copy;
	c->handler_fn = NULL;
	conn_unlock(c);
	if (old)
		Block_release(old);
}

void xpc_connection_set_event_handler_f(xpc_connection_t c, xpc_handler_f handler)
{
	xpc_handler_t old;

	conn_lock(c);
	old = c->handler_block;
	c->handler_block = NULL;
	c->handler_fn = handler;
	conn_unlock(c);
	if (old)
		Block_release(old);
}

char *connection_copy_limit_reason(xpc_connection_t c)
{
	char *r = NULL;

	conn_lock(c);
	if (c->state == CONN_INVALID && conn_error_is_limit(c->error))
		r = conn_error_reason(c->error, c->error_detail);
	conn_unlock(c);
	return r;
}

char *xpc_connection_copy_invalidation_reason(xpc_connection_t c)
{
	char *r = NULL;

	conn_lock(c);
	if (c->state == CONN_INVALID)
		r = conn_error_reason(c->error, c->error_detail);
	conn_unlock(c);
	return r;
}
