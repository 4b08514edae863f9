/* SPDX-License-Identifier: MIT */
/*
 * send.c - sending on a session (<xpc/session.h>): a message, a message
 * with a reply handler, a message with a reply waited for.
 *
 * The session's state decides first (session_send_check): an inactive
 * session is a misuse, a cancelled one answers with a rich error and sends
 * nothing.  Then the message goes on the session's connection.  A reply
 * that is a connection error ends the session (session_reply_error): the
 * link is gone, and the rich error the caller gets is the session's
 * reason, the same one its cancel handler sees.  The one exception is a
 * message the connection refused while its link stays up (not encodable, a
 * limit exceeded): that fails the message, not the session.
 *
 * A synchronous send from the session's own queue, or its non-global
 * target queue, would wait for a reply that queue must deliver: it aborts
 * as a misuse, as on macOS.  An async reply handler holds a reference on
 * the core until it ran.
 */
#include "session/internal.h"

#include <stdlib.h>

#include "connection/connection.h"
#include "dispatch/runtime.h"

/* ---- sending ------------------------------------------------------------------- */

/* The session's state for a send: aborts on an inactive session; a +1
 * rich error once it is cancelled; NULL when the message may go. */
static xpc_rich_error_t session_send_check(SessionCore *c)
{
	SessionState st = session_state(c);

	if (st == SESSION_INACTIVE)
		session_misuse("Attempting to send a message using a session that is neither "
			       "active or canceled.");
	if (st == SESSION_CANCELING)
		return rich_error_create("Attempting to send message using a session that's canceling",
					 false);
	if (st == SESSION_CANCELED)
		return rich_error_create("Attempting to send message using a canceled session", false);
	return NULL;
}

xpc_rich_error_t xpc_session_send_message(xpc_session_t session, xpc_object_t message)
{
	SessionCore *c = session_core(session);
	xpc_rich_error_t err = session_send_check(c);

	if (!err)
		xpc_connection_send_message(c->conn, message);
	return err;
}

/*
 * A reply that is an error: the link's end cancels the session, and the
 * session's reason (+1) is returned.  A message the connection refused to
 * send while its link stays up (too many descriptors, not encodable,
 * docs/connections.md "Limits") gets INVALID too: that fails this one
 * message only.
 */
static xpc_rich_error_t session_reply_error(SessionCore *c, xpc_object_t reply)
{
	xpc_rich_error_t err;
	char *why = xpc_connection_copy_invalidation_reason(c->conn);

	if (!why && reply == XPC_ERROR_CONNECTION_INVALID)
		return rich_error_create("The message could not be sent (not encodable, or a limit "
					 "exceeded); the session goes on",
					 false);
	free(why);
	session_cancel_with(c, session_link_error(c, reply));
	pthread_mutex_lock(&c->lock);
	err = xpc_retain(c->reason);
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Whether the calling thread runs on @q or on a queue that targets it. */
static bool session_on_queue(dispatch_queue_t q)
{
	return q && !dqueue_is_root(q) && dqueue_is_current(q);
}

xpc_object_t xpc_session_send_message_with_reply_sync(xpc_session_t session, xpc_object_t message,
						      xpc_rich_error_t *error_out)
{
	SessionCore *c = session_core(session);
	xpc_rich_error_t err = session_send_check(c);
	xpc_object_t reply;

	if (error_out)
		*error_out = NULL;
	if (session_on_queue(c->queue) || session_on_queue(c->target))
		session_misuse("xpc_session_send_message_with_reply_sync called on the target queue of %s "
			       "(it would deadlock)", c->name);
	if (err)
		goto fail;
	reply = xpc_connection_send_message_with_reply_sync(c->conn, message);
	if (xpc_get_type(reply) != XPC_TYPE_ERROR)
		return reply;
	err = session_reply_error(c, reply);
	xpc_release(reply);
fail:
	if (error_out)
		*error_out = err;
	else
		xpc_release(err);
	return NULL;
}

void xpc_session_send_message_with_reply_async(xpc_session_t session, xpc_object_t message,
					       xpc_session_reply_handler_t reply_handler)
{
	SessionCore *c = session_core(session);
	xpc_rich_error_t err = session_send_check(c);

	session_core_ref(c);
	if (err) {
		dispatch_async(c->queue, ^{
			reply_handler(NULL, err);
			xpc_release(err);
			session_core_unref(c);
		});
		return;
	}
	xpc_connection_send_message_with_reply(c->conn, message, c->queue, ^(xpc_object_t reply) {
		if (xpc_get_type(reply) == XPC_TYPE_ERROR) {
			xpc_rich_error_t e = session_reply_error(c, reply);
			reply_handler(NULL, e);
			xpc_release(e);
		} else {
			reply_handler(reply, NULL);
		}
		session_core_unref(c);
	});
}
