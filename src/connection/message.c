/* SPDX-License-Identifier: MIT */
/*
 * message.c - the public calls that send: messages, requests with an
 * asynchronous or a synchronous reply, barriers.
 *
 * A message is encoded outside the lock (send.c), then, under the lock,
 * given its id, its request listed as pending (pending.c), and sent or
 * queued; what that did to the link (it must end, the write source must
 * be armed, a flush of coalesced frames is due) is connection.c's to act
 * on.  A named connection that was INTERRUPTED checks in again here, at
 * its next send.  A synchronous caller reads the link itself (sync.c).
 */
#include "connection/internal.h"

/* What a sync caller takes over (sync_take_locked) in conn_send's locked
 * section, before its request leaves: one lock for both. */
typedef struct SyncTake {
	dispatch_source_t src;
	bool waits_link; /* no link yet: wait for one (sync_wait_link) */
} SyncTake;

/*
 * conn_send() - encode @msg and send or queue it.
 * @p: a pending reply entry (owned from here on: answered exactly once), or NULL
 * @take: a sync caller's, or NULL
 */
static void conn_send(xpc_connection_t c, xpc_object_t msg, Pending *p, SyncTake *take)
{
	bool sync_caller = p && p->sync; /* (p may be answered, and gone, below) */
	ConnError e;
	SendJob j;

	send_job_init(c, msg, p != NULL, &j);
	conn_lock(c);
	if (take) { /* before the request leaves: the reply is the caller's to read */
		take->src = sync_take_locked(c);
		take->waits_link = !take->src && c->kind == CONN_PEER && c->state != CONN_INVALID;
	}
	/* Unsendable message, dead connection, a listener (nothing to send
	 * to), or too many requests waiting: the reply handler gets INVALID. */
	if (j.encode_error != 0 || c->state == CONN_INVALID || c->kind == CONN_LISTENER ||
	    c->pending.n >= CONN_MAX_PENDING_REPLIES) {
		e = send_job_refuse_locked(c, &j, p);
	} else {
		send_job_assign_locked(c, &j, p);
		conn_reconnect_locked(c);
		e = send_job_locked(c, &j, p);
		if (j.schedule_flush)
			conn_schedule_flush_locked(c);
		sync_after_send_locked(c, sync_caller);
		if (e == CONN_OK)
			conn_flushed_locked(c, CONN_OK, j.progress);
	}
	if (e != CONN_OK)
		conn_fail_locked(c, e, NULL);
	conn_unlock(c);
	send_job_free(&j);
}

void xpc_connection_send_message(xpc_connection_t c, xpc_object_t message)
{
	conn_send(c, message, NULL, NULL);
}

/*
 * Without memory for the request's own bookkeeping the reply handler still
 * gets its one answer, INVALID, but on the calling thread: queuing it would
 * need memory too (docs/reliability.md).
 */
void xpc_connection_send_message_with_reply(xpc_connection_t c, xpc_object_t message, dispatch_queue_t replyq,
					    xpc_handler_t handler)
{
	Pending *p = pending_new(replyq, handler, NULL, NULL);

	if (!p) {
		handler(XPC_ERROR_CONNECTION_INVALID);
		return;
	}
	conn_send(c, message, p, NULL);
}

void xpc_connection_send_message_with_reply_f(xpc_connection_t c, xpc_object_t message, dispatch_queue_t replyq,
					      void *context, xpc_handler_f handler)
{
	Pending *p = pending_new(replyq, NULL, context, handler);

	if (!p) { /* see xpc_connection_send_message_with_reply */
		handler(context, XPC_ERROR_CONNECTION_INVALID);
		return;
	}
	conn_send(c, message, p, NULL);
}

/* The waiting thread reads the link itself (sync.c). */
xpc_object_t xpc_connection_send_message_with_reply_sync(xpc_connection_t c, xpc_object_t message)
{
	/* On the stack: no allocation per call.  Usually this thread reads
	 * the reply itself; the condition variable is for the other cases. */
	Pending p = {.sync = true, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
		     .waiter = pthread_self(), .end_locked = sync_end_locked};
	SyncTake take;
	dispatch_source_t src;

	sync_check_queue(c);
	conn_send(c, message, &p, &take);
	src = take.src;
	if (!src && take.waits_link)
		src = sync_wait_link(c, &p);
	if (src) {
		pthread_rwlock_wrlock(&c->rx.lock);
		conn_after_read(c, sync_read_rxlocked(c, src, &p));
		receive_unlock(c); /* a delivery it kept from the source comes again */
		if (!p.sync_ended) /* (ended with its reply: receive.c) */
			sync_done(c);
	}
	return sync_wait_answer(&p);
}

void xpc_connection_send_barrier(xpc_connection_t c, dispatch_block_t barrier)
{
	send_barrier(c, barrier, NULL, NULL);
}

void xpc_connection_send_barrier_f(xpc_connection_t c, void *context, dispatch_function_t barrier)
{
	send_barrier(c, NULL, context, barrier);
}

