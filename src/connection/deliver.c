/* SPDX-License-Identifier: MIT */
/*
 * deliver.c - calls of the event handler.
 *
 * Invariants: the event handler runs only on c->queue (serial), so never
 * concurrently with itself, and in the order events were queued (FIFO);
 * after a cancel only the final event (INVALID) still reaches it, and
 * after that one ran it is never called again (connection.c queues it
 * exactly once).
 *
 * While a listener's handler runs with a new peer, deliver_handing names
 * that peer on its thread: an activation of it there lets this worker read
 * the peer's first request once the listener's queue is let go
 * (connection.c, the hand-over), never inside that handler.
 *
 * Back pressure: what a message queued for the handler holds (its bytes,
 * its descriptors at CONN_UNREAD_FD_COST each) is charged to rx.unread
 * from its queuing until the handler returned; receive.c pauses reading
 * above CONN_MAX_UNREAD, and this file resumes it at half.
 */
#include "connection/internal.h"
#include "dispatch/dqueue.h"

#include <Block.h>
#include <stdlib.h>

typedef struct DeliverItem {
	xpc_connection_t conn;
	xpc_object_t ev;
	size_t bytes;
	bool final;
	DispatchItem item; /* queuing it cannot fail */
} DeliverItem;

void deliver_now(xpc_connection_t c, xpc_object_t ev, bool final)
{
	xpc_handler_t blk = NULL;
	xpc_handler_f fn = NULL;
	void *hctx;

	conn_lock(c);
	if (!conn_has(c, CONN_F_CANCELLED) || final) {
		blk = c->handler_block ? Block_copy(c->handler_block) : NULL;
		fn = c->handler_fn;
	}
	hctx = c->context;
	conn_unlock(c);
	if (blk) {
		blk(ev);
		Block_release(blk);
	} else if (fn) {
		fn(hctx, ev);
	}
}

/* The handler is done with @bytes of what was read for it: reading
 * paused for back pressure (receive.c) resumes at half the limit. */
static void deliver_unread_done(xpc_connection_t c, size_t bytes)
{
	conn_lock(c);
	c->rx.unread -= bytes;
	if (c->rx.paused && c->rx.unread <= CONN_MAX_UNREAD / 2 && c->rsrc) {
		c->rx.paused = false;
		dispatch_resume(c->rsrc);
	}
	conn_unlock(c);
}

/* The listener and the new peer whose handler runs on this thread. */
static _Thread_local struct {
	xpc_connection_t listener, peer;
} deliver_giving;

xpc_connection_t deliver_handing(xpc_connection_t *ret_listener)
{
	*ret_listener = deliver_giving.listener;
	return deliver_giving.peer;
}

static void deliver_run(void *ctx)
{
	DeliverItem *it = ctx;
	xpc_connection_t c = it->conn;
	/* (a listener's events are its new peers and its errors, dictionaries) */
	bool giving = !it->final && c->kind == CONN_LISTENER && xpc_get_type(it->ev) != XPC_TYPE_DICTIONARY;

	if (giving) {
		deliver_giving.listener = c;
		deliver_giving.peer = (xpc_connection_t)it->ev;
	}
	deliver_now(c, it->ev, it->final);
	if (giving) /* (a listener's handler run inline inside another's clears
		     * it early: that peer is then not handed over) */
		deliver_giving.peer = deliver_giving.listener = NULL;
	atomic_fetch_sub(&c->async_pending, 1);
	xpc_release(it->ev);
	if (it->bytes)
		deliver_unread_done(c, it->bytes);
	if (it->final)
		xpc_release(c); /* the activation reference */
	xpc_release(c);
	free(it);
}

void deliver_event(xpc_connection_t c, xpc_object_t ev, size_t bytes, bool final)
{
	DeliverItem *it = calloc(1, sizeof(*it));

	if (!it) {
		/* Out of memory: the event is lost, but accounting stays right. */
		xpc_release(ev);
		if (final)
			xpc_release(c);
		return;
	}
	if (bytes) /* (locked then) */
		c->rx.unread += bytes;
	xpc_retain(c);
	it->conn = c;
	it->ev = ev;
	it->bytes = bytes;
	it->final = final;
	atomic_fetch_add(&c->async_pending, 1);
	dqueue_push_embedded(c->queue, &it->item, deliver_run, it);
}
