/* SPDX-License-Identifier: MIT */
/*
 * receive.c - the read path of peers (c->rx; listeners read check-ins:
 * checkin.c).
 *
 * Whoever reads the link holds rx.lock: the read source's handler
 * (receive_ready_rxlocked, on the handler queue), a sync caller (sync.c),
 * or, for an accepted peer's first request, the worker that ran the
 * listener's handler, on the peer's queue (receive_first_rxlocked).  Each
 * frame is handled in order: MESSAGE frames go to the event handler, REPLY
 * frames to their Pending entry (pending.c), a BATCH is taken apart, the
 * HELLO marks the link checked in.  The first frame with credentials names
 * the peer (peer.c); a peer under a requirement is checked before anything
 * of it is handled (requirement.c).
 *
 * Nothing here changes the connection's state: a frame that ends the link
 * (a violation, the peer's end, no memory) makes the read loop stop and
 * return its ConnError, with the detail in rx.why; the caller, in
 * connection.c, fails the connection while it still holds rx.lock.
 *
 * Receive buffers (rxframes.c): a frame's packet buffer holds a whole packet
 * (FRAME_PACKET_MAX: 128 KiB of address space, a page or two of it touched
 * by small messages), so a peer's link keeps none: each read takes one
 * from a small process-wide cache (RECEIVE_CACHE_MAX frames), or from the
 * RECEIVE_LOCAL_MAX a thread running handlers keeps, and gives it back,
 * and an idle peer costs no buffer (issue 17: 7 KiB resident and 82 KiB
 * of address space per idle peer before).  A link whose peer sent a staged body keeps its
 * frame, which keeps the peer's stage mapped (transport.h, keep_view),
 * until the link ends; a listener keeps one for its check-ins.  Large data
 * items of an inline body are decoded by reference to the packet buffer
 * (wire_decode_message_within); the frame then takes a fresh buffer for
 * its next packet (transport.h, TransportFrame.pkt).
 *
 * Reading ahead: the link's read source is edge-triggered (connection.c,
 * dsource_edge_triggered): it is not re-armed after each delivery (an
 * epoll_ctl per request less), and the next packet makes a new event.  So
 * a reader must know when the link is empty: every read of the source's
 * handler asks the transport for two frames in one call (recv_two:
 * recvmmsg), and one frame back means the link was empty behind it
 * (rx.drained), so the delivery ends there without a read that fails with
 * EAGAIN.  A second frame is kept (rx.ahead, for the link of rx.ahead_src)
 * and handled first by the next read, the handler's or a sync caller's.
 * A sync caller reads one frame at a time (it needs no such knowledge:
 * the source it holds is resumed, or its lazy resume armed, when the call
 * ends, and the resume's EPOLL_CTL_MOD reports a packet that is waiting).  Whenever a reader stops
 * without knowing the link empty (the bound of 64 frames per delivery,
 * back pressure, a suspended connection, a frame still read ahead), it
 * asks for another delivery (dsource_redeliver): no new event comes for a
 * packet already queued or read.  A linger (below) holds the source
 * suspended, so its watch is disarmed while the worker reads itself.  A
 * delivery that finds another reader holding rx.lock (a sync caller)
 * leaves rx.missed, and that reader, letting go, asks for the delivery
 * again (receive_trylock, receive_unlock): the source may have stayed
 * armed under it, and what came after its last read makes no new event.
 *
 * Back pressure: every message queued for the handler charges its size to
 * rx.unread (deliver.c); above CONN_MAX_UNREAD the read source is
 * suspended, so the peer fills the socket buffer and then gets EAGAIN;
 * deliver.c resumes it when the handler has worked the backlog down to
 * half.
 */
#include "connection/internal.h"
#include "dispatch/dqueue.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Drops the frame read ahead, if any (rx.lock held, or the last
 * reference). */
static void receive_drop_ahead(xpc_connection_t c)
{
	TransportFrame *f = c->rx.ahead;

	if (!f)
		return;
	c->rx.ahead = NULL;
	frame_clear(f);
	receive_frame_put(c, f, false);
	dispatch_release(c->rx.ahead_src);
	c->rx.ahead_src = NULL;
}

void receive_dispose(xpc_connection_t c)
{
	receive_drop_ahead(c);
	charge_unref(c->rx.charge);
	if (c->rx.frame)
		frame_release(c->rx.frame);
	free(c->rx.frame);
	free(c->rx.why);
	pthread_rwlock_destroy(&c->rx.lock);
}

/* Forgets the detail of the last failure (rx.lock held; nothing to do on
 * the common path of each read). */
static void receive_why_clear(xpc_connection_t c)
{
	if (!c->rx.why)
		return;
	free(c->rx.why);
	c->rx.why = NULL;
}

/* Reports @e with @detail (copied into rx.why, may be NULL; without memory
 * for the copy, the failure is reported without its detail). */
static ConnError receive_fail(xpc_connection_t c, ConnError e, const char *detail)
{
	receive_why_clear(c);
	if (detail && *detail)
		c->rx.why = strdup(detail);
	return e;
}

/* A frame the transport refused: a limit of the peer's, or a violation. */
static ConnError receive_refused(xpc_connection_t c, int te)
{
	return receive_fail(c, transport_error_is_limit(te) ? CONN_E_RECEIVE_LIMIT : CONN_E_PROTOCOL,
			    transport_strerror(te));
}

/* A reply: to its Pending entry, which must exist.  A sync caller that
 * read its own reply ends its call under the same lock (sync.c). */
static ConnError receive_reply(xpc_connection_t c, const FrameHeader *h, xpc_object_t dict)
{
	Pending *p;

	conn_lock(c);
	p = pending_take_locked(c, h->reply_to);
	if (p && p->end_locked && pthread_equal(p->waiter, pthread_self()))
		p->sync_ended = p->end_locked(c);
	conn_unlock(c);
	if (!p) {
		xpc_release(dict);
		return receive_fail(c, CONN_E_PROTOCOL, "reply to an unknown request");
	}
	dictionary_set_message_context(dict, c, h->id, false);
	pending_answer(p, dict);
	return CONN_OK;
}

/* A message for the event handler (@n_fds came with it).  *ret_go: false
 * when reading must pause (back pressure). */
static void receive_deliver(xpc_connection_t c, const FrameHeader *h, xpc_object_t dict, size_t n_fds,
			    bool inline_ok, bool *ret_go)
{
	dictionary_set_message_context(dict, c, h->id, h->flags & FRAME_F_WANTS_REPLY);
	if (inline_ok && atomic_load(&c->async_pending) == 0) {
		/* On c->queue with nothing queued before it: call it now. */
		c->rx.answered = h->flags & FRAME_F_WANTS_REPLY;
		deliver_now(c, dict, false);
		xpc_release(dict);
		return;
	}
	/* descriptors held for the handler count too (CONN_UNREAD_FD_COST) */
	size_t bytes = h->body_len + 64 + n_fds * CONN_UNREAD_FD_COST;
	conn_lock(c);
	deliver_event(c, dict, bytes, false);
	if (c->rx.unread > CONN_MAX_UNREAD && c->rsrc && !c->rx.paused) {
		c->rx.paused = true;
		dispatch_suspend(c->rsrc);
	}
	if (c->rx.paused)
		*ret_go = false;
	conn_unlock(c);
}

/*
 * receive_message() - decode and deliver one MESSAGE or REPLY.
 * @h, @body: the frame (body: h->body_len bytes)
 * @f:        the packet it came in for its descriptors and out-of-line
 *            buffer, or NULL (a frame inside a batch has neither)
 * @in:       the buffer an inline @body lies in (large data items point
 *            into it instead of being copied), or NULL
 * *ret_go:   cleared when reading must pause (back pressure)
 * Return: CONN_OK, or the failure that ends the link.
 */
static ConnError receive_message(xpc_connection_t c, const FrameHeader *h, const uint8_t *body, TransportFrame *f,
				 ObjectBuffer *in, bool inline_ok, bool *ret_go)
{
	xpc_object_t dict = NULL;
	int r;

	if (f && f->ool)
		r = wire_decode_message_in(f->ool, f->fds, f->n_fds, &dict);
	else if (in)
		r = wire_decode_message_within(in, body, h->body_len, f ? f->fds : NULL, f ? f->n_fds : 0, &dict);
	else
		r = wire_decode_message(body, h->body_len, f ? f->fds : NULL, f ? f->n_fds : 0, &dict);
	if (r == -ENOMEM) /* ours, not the peer's fault */
		return receive_fail(c, CONN_E_NO_MEMORY, NULL);
	if (r != 0) {
		char why[160];
		snprintf(why, sizeof(why), "bad encoding: %s", wire_strerror(r));
		return receive_fail(c, CONN_E_PROTOCOL, why);
	}
	if (trace_enabled())
		trace_frame(c, false, "recv", h, dict, NULL);
	if (h->kind == FRAME_REPLY)
		return receive_reply(c, h, dict);
	receive_deliver(c, h, dict, f ? f->n_fds : 0, inline_ok, ret_go);
	return CONN_OK;
}

/* Every frame of a BATCH in order; all of them are delivered even when
 * reading must pause (they are read already). */
static ConnError receive_batch(xpc_connection_t c, const TransportFrame *f, bool inline_ok, bool *ret_go)
{
	const uint8_t *p = f->body;
	size_t left = f->hdr.body_len;

	while (left > 0) {
		FrameHeader h;
		size_t n;
		int te = frame_next_in_batch(p, left, &h, &n);
		if (te != 0)
			return receive_refused(c, te);
		ConnError e = receive_message(c, &h, p + FRAME_HEADER_SIZE, NULL, f->pkt, inline_ok, ret_go);
		if (e != CONN_OK)
			return e;
		p += n;
		left -= n;
	}
	return CONN_OK;
}

/* A peer under a requirement is checked at its first frame (locked); once
 * admitted, what the out-queue held for it leaves (the write source, if
 * the socket is full, is armed by the caller: tx.progress). */
static ConnError receive_admit(xpc_connection_t c)
{
	SendProgress progress;
	ConnError e;
	char why[256] = "";

	conn_lock(c);
	e = c->state == CONN_INVALID ? CONN_E_CANCELLED : requirement_check_locked(c, why, sizeof(why));
	if (e == CONN_OK) {
		e = send_flush_locked(c, &progress);
		c->tx.flush_wanted = progress == SEND_BLOCKED;
	}
	conn_unlock(c);
	return e == CONN_OK ? e : receive_fail(c, e, why);
}

/* A refused check-in (xpcd's answer for a service that cannot start,
 * docs/broker.md): only on a client's link before the HELLO.  Its text,
 * control characters as '?', is the invalidation reason. */
static ConnError receive_refusal(xpc_connection_t c, const TransportFrame *f)
{
	bool client = c->kind == CONN_PEER && (c->role & (CONN_ROLE_NAMED | CONN_ROLE_FROM_ENDPOINT));
	char why[FRAME_MAX_REFUSAL + 1];
	size_t n = (size_t)f->hdr.body_len;
	bool hello;

	conn_lock(c);
	hello = conn_has(c, CONN_F_GOT_HELLO);
	conn_unlock(c);
	if (!client || hello)
		return receive_fail(c, CONN_E_PROTOCOL, "a refusal where none may come");
	for (size_t i = 0; i < n; i++)
		why[i] = f->body[i] < 0x20 || f->body[i] == 0x7f ? '?' : (char)f->body[i];
	why[n] = 0;
	return receive_fail(c, CONN_E_BROKER, why);
}

static ConnError receive_frame(xpc_connection_t c, TransportLink *l, TransportFrame *f, bool inline_ok, bool *ret_go)
{
	if (f->hdr.kind == FRAME_REFUSED)
		return receive_refusal(c, f);
	if (peer_record(c, f))
		l->ops->stop_creds(l); /* the kernel stops attaching them */
	if (c->requirement && !atomic_load(&c->requirement_met)) {
		ConnError e = receive_admit(c);
		if (e != CONN_OK)
			return e; /* nothing of a peer that fails it is handled */
	}
	switch (f->hdr.kind) {
	case FRAME_HELLO:
		conn_lock(c);
		conn_set(c, CONN_F_GOT_HELLO, true);
		conn_unlock(c);
		if (trace_enabled())
			trace_frame(c, false, "recv", &f->hdr, NULL, NULL);
		return CONN_OK;
	case FRAME_BATCH:
		return receive_batch(c, f, inline_ok, ret_go);
	case FRAME_MESSAGE:
	case FRAME_REPLY:
		return receive_message(c, &f->hdr, f->body, f, f->pkt, inline_ok, ret_go);
	default:
		return receive_fail(c, CONN_E_PROTOCOL, "unexpected check-in on a peer link");
	}
}

/* The frame read ahead for the link being read, if any, and its
 * receive's result in *ret_r (rx.lock held); one of an older link is
 * dropped. */
static TransportFrame *receive_take_ahead(xpc_connection_t c, int *ret_r)
{
	TransportFrame *f = c->rx.ahead;

	if (!f)
		return NULL;
	if (c->rx.ahead_src != c->rx.src) {
		receive_drop_ahead(c);
		return NULL;
	}
	c->rx.ahead = NULL;
	dispatch_release(c->rx.ahead_src);
	c->rx.ahead_src = NULL;
	*ret_r = c->rx.ahead_r;
	return f;
}

/* Reads one frame into @f and, if @ahead, a second one queued behind it
 * into a frame kept in rx.ahead; sets rx.drained (rx.lock held; without
 * @ahead it only says that nothing was read). */
static int receive_recv(xpc_connection_t c, TransportLink *l, TransportFrame *f, bool wait, bool ahead, bool local)
{
	TransportFrame *f2 = ahead && l->ops->recv_two ? receive_frame_spare(c, local) : NULL;
	int r, r2 = -EAGAIN;

	if (!f2) {
		r = l->ops->recv(l, f, wait);
		c->rx.drained = r == -EAGAIN;
		return r;
	}
	r = l->ops->recv_two(l, f, f2, wait, &r2);
	c->rx.drained = r == -EAGAIN || (r == 0 && r2 == -EAGAIN);
	if (r2 == -EAGAIN || r2 == -ENODATA) { /* (-ENODATA: not tried) */
		receive_frame_put(c, f2, local);
		return r;
	}
	dispatch_retain(c->rx.src);
	c->rx.ahead = f2;
	c->rx.ahead_r = r2;
	c->rx.ahead_src = c->rx.src;
	return r;
}

/* Reads and handles one frame from @l (rx.lock held): the one read ahead,
 * or from the link; @wait: block until one comes; @ahead: read a second
 * one ahead (receive_recv).  *ret_got: what was read (RECEIVE_GOT: reading
 * may go on; rx.drained: the link is empty). */
static ConnError receive_read(xpc_connection_t c, TransportLink *l, bool inline_ok, bool wait, bool ahead,
			      ReceiveGot *ret_got)
{
	int r = 0;
	TransportFrame *f = receive_take_ahead(c, &r);
	ConnError e;
	bool go = true;

	*ret_got = RECEIVE_NONE;
	receive_why_clear(c);
	if (f) {
		c->rx.drained = false; /* more may wait behind it */
	} else {
		f = receive_frame_get(c, inline_ok);
		if (!f)
			return receive_fail(c, CONN_E_NO_MEMORY, NULL);
		r = receive_recv(c, l, f, wait, ahead, inline_ok);
	}
	if (r == -EAGAIN) {
		receive_frame_put(c, f, inline_ok);
		return CONN_OK;
	}
	if (r != 0) {
		frame_clear(f);
		receive_frame_put(c, f, inline_ok);
		if (r == TRANSPORT_E_EOF || r == -ECONNRESET)
			return receive_fail(c, CONN_E_PEER_EXITED, NULL);
		if (r < 0)
			return receive_fail(c, CONN_E_LINK_ERROR, NULL);
		return receive_refused(c, r);
	}
	e = receive_frame(c, l, f, inline_ok, &go);
	frame_clear(f);
	receive_frame_put(c, f, inline_ok);
	*ret_got = go ? RECEIVE_GOT : RECEIVE_PAUSED;
	return e;
}

/*
 * The source's handler yields to a reader that holds rx.lock (a sync
 * caller reads for it), but its event is spent then: a packet that came
 * after that reader's last read makes no new one (edge-triggered), and a
 * sync caller reading a link it does not hold suspended (a reconnect
 * while another call still held the old link: sync.c) would leave that
 * packet unread until the next one.  So the handler leaves rx.missed, and
 * whoever lets go of the lock gives the source another delivery.  Both
 * sides change rx.missed by a read-modify-write: when the holder's comes
 * first, the handler's reads it, which orders the holder's unlock before
 * the handler's trylock (the lock is seen free, or taken by a later
 * holder, who looks at rx.missed in turn).
 */
bool receive_trylock(xpc_connection_t c)
{
	atomic_exchange(&c->rx.missed, true);
	if (pthread_rwlock_trywrlock(&c->rx.lock) != 0)
		return false;
	atomic_store(&c->rx.missed, false); /* handlers never overlap (one queue) */
	return true;
}

void receive_unlock(xpc_connection_t c)
{
	pthread_rwlock_unlock(&c->rx.lock);
	if (!atomic_exchange(&c->rx.missed, false))
		return;
	conn_lock(c);
	if (c->rsrc) /* (a suspended one gets it at its resume) */
		dsource_redeliver(c->rsrc);
	conn_unlock(c);
}

static bool receive_may_linger_locked(xpc_connection_t c, TransportLink *l, bool *ret_timed);

/* receive_link(), and in *ret_stopped whether the handler must not be
 * called now (suspended, or reading paused), under the same lock; with
 * @ret_linger, also receive_may_linger_locked's answer (then *ret_timed). */
static bool receive_link_state(xpc_connection_t c, dispatch_source_t src, TransportLink *ret, bool *ret_stopped,
			       bool *ret_linger, bool *ret_timed)
{
	bool ok;

	conn_lock(c);
	ok = c->link.fd >= 0 && c->state == CONN_ACTIVE && c->rsrc && c->rsrc == src;
	*ret = transport_link_view(&c->link); /* (its descriptor stays open until src's cancel handler ran) */
	*ret_stopped = c->rx.paused || c->suspend_count > 0;
	if (ok && ret_linger)
		*ret_linger = receive_may_linger_locked(c, ret, ret_timed);
	conn_unlock(c);
	if (ok)
		c->rx.src = src; /* (held by the caller: a delivery, or a sync caller) */
	return ok;
}

bool receive_link(xpc_connection_t c, dispatch_source_t src, TransportLink *ret)
{
	bool stopped;

	return receive_link_state(c, src, ret, &stopped, NULL, NULL);
}

/* After a reader stopped (rx.lock held): a frame read ahead, or a link
 * not known to be empty, gets another delivery of @src (no new event
 * comes for what is queued already); after a failure, or with @src no
 * longer the link's (NULL), the frame read ahead is dropped with the link. */
static void receive_stop(xpc_connection_t c, dispatch_source_t src, ConnError e, bool drained)
{
	if (e != CONN_OK || !src)
		receive_drop_ahead(c);
	else if (src && (!drained || c->rx.ahead))
		dsource_redeliver(src);
}

ConnError receive_one_rxlocked(xpc_connection_t c, TransportLink *l, ReceiveGot *ret_got)
{
	lock_assert_held(&c->rx.lock);
	/* one frame at a time: a sync caller waits for one reply, and a
	 * second read into a spare frame (recvmmsg's second slot) would only
	 * find the link empty, as it nearly always is behind the reply */
	ConnError e = receive_read(c, l, false, true, false, ret_got);

	/* the sync caller reads on while its reply has not come; a frame
	 * read ahead before it came is the source's (it holds the source
	 * suspended: the delivery comes once it lets go), and so are
	 * frames the descriptor does not show (a shared ring's) */
	receive_stop(c, c->rx.src, e, !(l->ops->more && l->ops->more(l)));
	return e;
}

/*
 * After answering a request, a peer in a request/reply exchange usually
 * sends the next one within tens of microseconds.  Waiting for it here, in
 * a blocking recvmsg on the socket itself, saves the manager-thread ->
 * worker hand-off that a re-armed source would cost, and the ppoll that a
 * finer timed wait would need (one system call per round trip).  The wait
 * ends with the next frame, when the link is shut down (cancel), or after
 * SO_RCVTIMEO (CONN_LINGER_US, set when the link starts), which the kernel
 * rounds up to the next clock tick: 1-4 ms at HZ=250.  A timeout that came
 * early (the tick was near) is followed by one ppoll of CONN_LINGER_US.
 * No wait is begun when other work waits behind this thread (on the
 * handler queue, on a queue it targets, or for a worker), when a sync
 * caller wants the link, when the connection is suspended or reading is
 * paused, nor more than RECEIVE_LINGER_MAX times in a row once another
 * worker was refused a wait since the delivery began (its place is wanted:
 * below), or for a wait that is not timed (a queue other connections may
 * share).  A lone busy peer keeps its worker: going back to the source
 * every 33rd request cost an epoll re-arm and a manager -> worker hand-off
 * (about one context switch in 33 round trips of `bench-connection
 * --cpu`).  While it waits, the worker does not count against the pool's
 * limit (dpool_block_begin), so new work gets another one, but only as
 * many workers as the pool's soft limit (the CPU count) wait so at once:
 * the others go back to the source, so a service runs about twice as many
 * threads as CPUs however many peers it serves.  A connection whose queue
 * targets anything but a global queue (the main queue, a serial queue
 * other connections may share: xpcd's links) waits with ppoll for
 * CONN_LINGER_US only, so that work queued behind it meanwhile waits 100
 * us at most, not a tick.
 */
#define RECEIVE_LINGER_MAX 32

/* Whether a delivery that waited @lingered times stops waiting: another
 * worker was refused a wait since it began (@refusals; dpool.c), so the
 * waits are shared out (see above). */
static bool receive_lingered_enough(int lingered, unsigned long refusals)
{
	return lingered >= RECEIVE_LINGER_MAX && dpool_block_refusals() != refusals;
}

/* The connection's part of that (locked, with the link's state:
 * receive_link_state; whether other work waits is looked at first, by
 * receive_ready_rxlocked, without the connection's lock). */
static bool receive_may_linger_locked(xpc_connection_t c, TransportLink *l, bool *ret_timed)
{
	bool ok = !c->rx.paused && c->suspend_count == 0 && c->sync.active == 0;

	lock_assert_held(&c->lock);
	if (ok && c->rx.timeout_lazy && c->link.fd == l->fd) {
		c->rx.timeout_lazy = false;
		c->rx.timeout = l->ops->set_recv_timeout(l, CONN_LINGER_US) == 0;
	}
	*ret_timed = c->rx.timeout && dqueue_targets_root(c->queue);
	return ok;
}

/* Holds @src suspended for a linger, once (*held): the packets the
 * linger reads itself then make no event (resumed by the caller). */
static void receive_hold(dispatch_source_t src, bool *held)
{
	if (!*held)
		dispatch_suspend(src);
	*held = true;
}

/* Waits for the next frame and handles it. */
static ConnError receive_linger(xpc_connection_t c, TransportLink *l, bool timed, dispatch_source_t src, bool *held,
				ReceiveGot *ret_got)
{
	ConnError e = CONN_OK;

	*ret_got = RECEIVE_NONE;
	if (timed) {
		if (!dpool_block_begin())
			return CONN_OK; /* enough workers wait already: back to the source */
		receive_hold(src, held);
		e = receive_read(c, l, true, true, true, ret_got);
		dpool_block_end();
		if (e != CONN_OK || *ret_got != RECEIVE_NONE)
			return e;
	}
	receive_hold(src, held);
	if (l->ops->wait_readable(l, CONN_LINGER_US))
		e = receive_read(c, l, true, false, true, ret_got);
	return e;
}

/* A linger that read the link's end (@e) cancels @src before letting go
 * of its hold, as conn_after_read is about to: the resume then arms no
 * watch on a socket that holds only its end (epoll would report it at
 * once: a manager wake-up for nothing).  Only while @src is still the
 * live link's, which conn_after_read then closes. */
static void receive_cancel_ended(xpc_connection_t c, dispatch_source_t src, ConnError e)
{
	if (e != CONN_E_PEER_EXITED && e != CONN_E_LINK_ERROR)
		return;
	conn_lock(c);
	if (c->rsrc == src && c->link.fd >= 0 && c->state == CONN_ACTIVE)
		dispatch_source_cancel(src);
	conn_unlock(c);
}

/*
 * The source's delivery: reads until the link is known empty (rx.drained),
 * at most 64 frames besides those its lingers wait for (the fairness
 * bound: then another delivery is queued behind the work of other queues;
 * a linger ends whenever work waits behind this thread).  Just after
 * answering a request with the link empty, it may linger for the next one
 * (above): the source is held suspended meanwhile, so the packets the
 * linger reads itself make no event (a manager wake-up and a delivery that
 * would find nothing); its resume re-arms the watch, and epoll reports a
 * packet that came since.
 */
ConnError receive_ready_rxlocked(xpc_connection_t c, dispatch_source_t src)
{
	ReceiveGot got = RECEIVE_GOT;
	ConnError e = CONN_OK;
	bool answered = false, held = false, linked = true;
	int lingered = 0;
	unsigned long refusals = dpool_block_refusals();

	lock_assert_held(&c->rx.lock);
	c->rx.drained = false;
	for (int i = 0; i < 64 && got == RECEIVE_GOT && e == CONN_OK;) {
		TransportLink l;
		bool timed = false, linger = false, stopped, empty = c->rx.drained && !c->rx.ahead;
		/* (the stops that read nothing come before the link's lock:
		 * under load a delivery ends here after its one request) */
		if (empty && !answered)
			break; /* empty: its next packet makes a new event */
		if (empty && (receive_lingered_enough(lingered, refusals) || dqueue_others_waiting(c->queue)))
			break; /* no linger: work waits behind this thread */
		if (!receive_link_state(c, src, &l, &stopped, empty ? &linger : NULL, &timed)) {
			linked = false;
			break;
		}
		if (empty) {
			/* just answered a request: the next one is usually on its way */
			lingered++;
			if (!linger || (!timed && lingered > RECEIVE_LINGER_MAX))
				break;
			c->rx.answered = false;
			e = receive_linger(c, &l, timed, src, &held, &got);
		} else {
			/* a handler that suspended its connection is not called
			 * again before the resume (the source waits for it) */
			if (stopped)
				break;
			i++;
			c->rx.answered = false;
			e = receive_read(c, &l, true, false, true, &got);
		}
		answered = c->rx.answered;
	}
	c->rx.answered = false;
	receive_stop(c, linked ? src : NULL, e, c->rx.drained);
	if (held && linked)
		receive_cancel_ended(c, src, e);
	if (held)
		dispatch_resume(src);
	return e;
}

/*
 * An accepted peer's first request, read by the thread that ran the
 * listener's handler, on c->queue, before @src (suspended, never resumed
 * yet) is started (connection.c, conn_read_first): one read that does not
 * wait, and no linger, so that a peer that sent nothing yet, or a slow
 * handler, holds that thread no longer than one request.  A frame read
 * ahead, or a link not known empty, gets a delivery at the resume.
 */
ConnError receive_first_rxlocked(xpc_connection_t c, dispatch_source_t src)
{
	ReceiveGot got;
	ConnError e;
	TransportLink l;
	bool stopped;

	lock_assert_held(&c->rx.lock);
	if (!receive_link_state(c, src, &l, &stopped, NULL, NULL) || stopped)
		return CONN_OK;
	c->rx.answered = false;
	e = receive_read(c, &l, true, false, true, &got);
	c->rx.answered = false;
	receive_stop(c, src, e, c->rx.drained);
	return e;
}
