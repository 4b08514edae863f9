/* SPDX-License-Identifier: MIT */
/*
 * session.c - sessions (<xpc/session.h>, docs/sessions.md): a stateful link
 * to a service that is never re-established.
 *
 * Model: a session is an xpc_session_t (what the user retains) over a
 * SessionCore (internal.h) holding the state, the handlers, a serial queue
 * `queue` targeting the user's target queue, and the connection.
 *
 *   INACTIVE --activate--> ACTIVE --cancel / link ends--> CANCELING --> CANCELED
 *      |                                                     ^
 *      +--activation fails, peer rejected or cancelled-------+
 *
 * - A client session is linked at activation: the broker is asked for the
 *   name's endpoint on the calling thread (connection_lookup_service), so an
 *   unknown name fails there; then a connection from that endpoint checks
 *   in.  An endpoint connection never checks in again, which is the
 *   session's "never reconnects".
 * - The connection's queue targets `queue`; its event handler delivers
 *   messages to the message handler while ACTIVE.  Its first INTERRUPTED,
 *   or its INVALID, cancels the session with a rich error (why:
 *   session_link_error); a cancel sets CANCELING and cancels the
 *   connection, whose final INVALID makes the session CANCELED and queues
 *   the cancel handler on `queue`: it runs once, after every message
 *   handler call.  A session that was never linked is CANCELED at once.
 * - The first reason wins: a cancel after an error keeps the error.
 * - References: the object holds one on its core; the connection's event
 *   handler holds one until the final INVALID; each pending async reply
 *   and each queued cancel handler hold one.  A peer session also holds
 *   its own object until it is CANCELED (the runtime's reference: a server
 *   need not keep its peers).
 *
 * Misuses abort with "XPC API MISUSE: ..." as on macOS: configuring or
 * activating a session that is not inactive, sending on an inactive one,
 * a synchronous send from the session's queue or its (non-global) target
 * queue, cancelling an inactive client session, releasing the last
 * reference to a session that is inactive or active.
 *
 * Sending (xpc_session_send_*) is in send.c.
 */
#include "session/internal.h"

#include <Block.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "connection/connection.h"
#include "dispatch/runtime.h"

void session_misuse(const char *fmt, ...)
{
	va_list ap;

	fputs("XPC API MISUSE: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static const char *session_state_name(SessionState st)
{
	switch (st) {
	case SESSION_INACTIVE:
		return "Inactive";
	case SESSION_ACTIVE:
		return "Active";
	case SESSION_CANCELING:
		return "Canceling";
	case SESSION_CANCELED:
		return "Canceled";
	}
	return "Unknown";
}

/* ---- the core and the object ----------------------------------------------- */

void session_core_ref(SessionCore *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void session_core_unref(SessionCore *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	xpc_release(c->conn);
	xpc_release(c->reason);
	if (c->on_message)
		Block_release(c->on_message);
	if (c->on_cancel)
		Block_release(c->on_cancel);
	dispatch_release(c->queue);
	if (c->target)
		dispatch_release(c->target);
	pthread_mutex_destroy(&c->lock);
	free(c->name);
	free(c);
}

SessionState session_state(SessionCore *c)
{
	SessionState st;

	pthread_mutex_lock(&c->lock);
	st = c->state;
	pthread_mutex_unlock(&c->lock);
	return st;
}

static void session_dispose(xpc_object_t obj)
{
	SessionCore *c = ((xpc_session_t)obj)->core;
	SessionState st = session_state(c);

	if (st == SESSION_INACTIVE || st == SESSION_ACTIVE)
		session_misuse("Session must be canceled before it's disposed (%s is %s)", c->name,
			       session_state_name(st));
	session_core_unref(c);
}

static void session_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	SessionCore *c = ((xpc_session_t)obj)->core;

	strbuf_printf(sb, "{ name = %s, state = %s }", c->name,
		      session_state_name(session_state(c)));
}

const struct _xpc_type_s _xpc_type_session = {
	.name = "session",
	.dispose = session_dispose,
	.describe = session_describe,
};

/* The serial queue of a session or listener, targeting @target (NULL: the
 * default global queue). */
static dispatch_queue_t session_queue_new(const char *label, dispatch_queue_t target)
{
	dispatch_queue_t q = dispatch_queue_create(label, NULL);

	if (q && target)
		dispatch_set_target_queue(q, target);
	return q;
}

static xpc_session_t session_new(const char *name, dispatch_queue_t target, bool peer)
{
	SessionCore *c = calloc(1, sizeof(*c));
	xpc_session_t s = object_alloc(&_xpc_type_session, sizeof(*s));

	if (!c || !s || !(c->name = strdup(name)) ||
	    !(c->queue = session_queue_new("org.xpc.session", target))) {
		if (c)
			free(c->name);
		free(c);
		free(s);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	pthread_mutex_init(&c->lock, NULL);
	c->state = SESSION_INACTIVE;
	c->peer = peer;
	c->target = target;
	if (target)
		dispatch_retain(target);
	s->core = c;
	return s;
}

SessionCore *session_core(xpc_session_t s)
{
	if (xpc_get_type(s) != XPC_TYPE_SESSION)
		session_misuse("Given object not of required type. Given: %s, required: session",
			       s ? xpc_type_get_name(xpc_get_type(s)) : "NULL");
	return s->core;
}

/* ---- cancellation ---------------------------------------------------------- */

/* Why the link ended, as a +1 rich error (NULL out of memory). */
xpc_rich_error_t session_link_error(SessionCore *c, xpc_object_t ev)
{
	xpc_rich_error_t e;
	char *why;

	if (ev == XPC_ERROR_CONNECTION_INTERRUPTED)
		return rich_error_create("Underlying connection interrupted", true);
	why = c->conn ? xpc_connection_copy_invalidation_reason(c->conn) : NULL;
	if (!c->peer && why && !strcmp(why, "peer exited"))
		e = rich_error_create("Underlying connection interrupted: the service exited", true);
	else
		e = rich_error_createf(false, "Underlying connection was invalidated. Reason: %s",
				       why ? why : "unknown");
	free(why);
	return e;
}

/* CANCELED: queues the cancel handler (once) and drops a peer's runtime
 * reference once it ran. */
static void session_finish(SessionCore *c)
{
	xpc_session_cancel_handler_t h;
	xpc_rich_error_t reason;
	xpc_session_t self;

	pthread_mutex_lock(&c->lock);
	if (c->state == SESSION_CANCELED) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->state = SESSION_CANCELED;
	h = c->on_cancel;
	c->on_cancel = NULL;
	reason = xpc_retain(c->reason);
	self = c->self;
	c->self = NULL;
	pthread_mutex_unlock(&c->lock);
	session_core_ref(c);
	dispatch_async(c->queue, ^{
		if (h) {
			h(reason);
			Block_release(h);
		}
		xpc_release(reason);
		xpc_release(self);
		session_core_unref(c);
	});
}

/*
 * CANCELING with @err (consumed; the first reason wins).  Return: true when
 * this call began the cancellation, false when it had begun before.
 */
static bool session_begin_cancel(SessionCore *c, xpc_rich_error_t err)
{
	pthread_mutex_lock(&c->lock);
	if (c->state == SESSION_CANCELING || c->state == SESSION_CANCELED) {
		pthread_mutex_unlock(&c->lock);
		xpc_release(err);
		return false;
	}
	c->state = SESSION_CANCELING;
	c->reason = err;
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* Cancels with @err (consumed): cuts the link, whose final INVALID finishes
 * the session; one never linked finishes now. */
void session_cancel_with(SessionCore *c, xpc_rich_error_t err)
{
	bool linked;

	if (!session_begin_cancel(c, err))
		return;
	pthread_mutex_lock(&c->lock);
	linked = c->linked;
	pthread_mutex_unlock(&c->lock);
	if (c->conn)
		xpc_connection_cancel(c->conn);
	if (!linked)
		session_finish(c);
}

/* ---- events ------------------------------------------------------------------ */

static void session_deliver(SessionCore *c, xpc_object_t msg)
{
	xpc_session_incoming_message_handler_t h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->state == SESSION_ACTIVE && c->on_message)
		h = Block_copy(c->on_message);
	pthread_mutex_unlock(&c->lock);
	if (h) {
		h(msg);
		Block_release(h);
	}
}

/* The connection's event handler (on its queue, which targets c->queue). */
static void session_event(SessionCore *c, xpc_object_t ev)
{
	if (xpc_get_type(ev) != XPC_TYPE_ERROR) {
		session_deliver(c, ev);
		return;
	}
	if (ev == XPC_ERROR_CONNECTION_INVALID) { /* the last event */
		session_begin_cancel(c, session_link_error(c, ev));
		session_finish(c);
		session_core_unref(c);
	} else if (ev == XPC_ERROR_CONNECTION_INTERRUPTED) {
		session_cancel_with(c, session_link_error(c, ev));
	} /* TERMINATION_IMMINENT: nothing to do */
}

/*
 * Links the session to c->conn: events to session_event on c->queue, then
 * activation.  Return: true, or false when the link failed at once (the
 * session is then CANCELING with the reason; its INVALID finishes it).
 */
static bool session_link_up(SessionCore *c)
{
	char *why;

	xpc_connection_set_target_queue(c->conn, c->queue);
	session_core_ref(c); /* the handler's, until the final INVALID */
	xpc_connection_set_event_handler(c->conn, ^(xpc_object_t ev) {
		session_event(c, ev);
	});
	pthread_mutex_lock(&c->lock);
	c->linked = true;
	c->state = SESSION_ACTIVE;
	pthread_mutex_unlock(&c->lock);
	xpc_connection_activate(c->conn);
	why = xpc_connection_copy_invalidation_reason(c->conn);
	if (!why)
		return true;
	free(why);
	session_cancel_with(c, session_link_error(c, XPC_ERROR_CONNECTION_INVALID));
	return false;
}

static bool session_link(SessionCore *c)
{
	bool ok;

	session_core_ref(c); /* a peer's only reference may go with the link */
	ok = session_link_up(c);
	session_core_unref(c);
	return ok;
}

/* Gives *error_out (if asked for) a reference on the session's reason. */
static void session_report(SessionCore *c, xpc_rich_error_t *error_out)
{
	if (!error_out)
		return;
	pthread_mutex_lock(&c->lock);
	*error_out = xpc_retain(c->reason);
	pthread_mutex_unlock(&c->lock);
}

/* The endpoint of this application's instance of its bundled service
 * @name (started now if none runs; docs/bundled-services.md), or NULL
 * with *ret_why. */
static xpc_endpoint_t session_bundled_endpoint(const char *name, char **ret_why)
{
	char why[512] = "";
	xpc_endpoint_t ep;
	int w, r = bundle_service_send_fd(name, &w, why, sizeof(why));

	if (r == 0)
		snprintf(why, sizeof(why), "XPC service %s: not bundled with this program", name);
	if (r <= 0) {
		*ret_why = strdup(why);
		return NULL;
	}
	ep = endpoint_create_from_send_fd(w);
	close(w);
	if (!ep)
		*ret_why = strdup("limit exceeded: descriptors");
	return ep;
}

/* A client session's activation: lookup, connection, link. */
static bool session_activate_client(SessionCore *c, xpc_rich_error_t *error_out)
{
	char *why = NULL;
	bool by_name = false;
	xpc_endpoint_t ep = c->xpc_service ? session_bundled_endpoint(c->name, &why)
					   : connection_lookup_service(c->name, c->privileged, &why, &by_name);

	if (ep) {
		c->conn = xpc_connection_create_from_endpoint(ep);
		xpc_release(ep);
	} else if (by_name) { /* checks in through the broker (docs/security.md) */
		c->conn = xpc_connection_create_mach_service(c->name, NULL,
							     c->privileged ? XPC_CONNECTION_MACH_SERVICE_PRIVILEGED : 0);
	}
	if (!c->conn) {
		session_cancel_with(c, rich_error_createf(false, "Underlying connection was invalidated. Reason: %s",
							  why ? why : "limit exceeded: out of memory"));
		free(why);
		session_report(c, error_out);
		return false;
	}
	if (session_link(c))
		return true;
	session_report(c, error_out);
	return false;
}

/* ---- creation ------------------------------------------------------------------ */

xpc_session_t xpc_session_create_xpc_service(const char *name, dispatch_queue_t target_queue,
					     xpc_session_create_flags_t flags, xpc_rich_error_t *error_out)
{
	xpc_session_t s;

	if (flags & XPC_SESSION_CREATE_MACH_PRIVILEGED)
		session_misuse("Attempting to set privileged flag on connection to XPC Service.");
	if (error_out)
		*error_out = NULL;
	if (!name)
		session_misuse("xpc_session_create_xpc_service: NULL service name");
	s = session_new(name, target_queue, false);
	if (!s) {
		if (error_out)
			*error_out = rich_error_create("Out of memory", true);
		return NULL;
	}
	s->core->xpc_service = true;
	if (flags & XPC_SESSION_CREATE_INACTIVE)
		return s;
	if (!session_activate_client(s->core, error_out)) {
		xpc_release(s);
		return NULL;
	}
	return s;
}

xpc_session_t xpc_session_create_mach_service(const char *mach_service,
					      dispatch_queue_t target_queue,
					      xpc_session_create_flags_t flags,
					      xpc_rich_error_t *error_out)
{
	xpc_session_t s;

	if (error_out)
		*error_out = NULL;
	if (!mach_service)
		session_misuse("xpc_session_create_mach_service: NULL service name");
	s = session_new(mach_service, target_queue, false);
	if (!s) {
		if (error_out)
			*error_out = rich_error_create("Out of memory", true);
		return NULL;
	}
	s->core->privileged = (flags & XPC_SESSION_CREATE_MACH_PRIVILEGED) != 0;
	if (flags & XPC_SESSION_CREATE_INACTIVE)
		return s;
	if (!session_activate_client(s->core, error_out)) {
		xpc_release(s);
		return NULL;
	}
	return s;
}

xpc_session_t session_create_peer(xpc_connection_t peer, dispatch_queue_t target, const char *name)
{
	xpc_session_t s = session_new(name, target, true);

	if (!s)
		return NULL;
	s->core->conn = xpc_retain(peer);
	return s;
}

/* ---- configuration (inactive only) ----------------------------------------------- */

/* Locks @c, aborting unless it is inactive ("to <what>"). */
static void session_lock_inactive(SessionCore *c, const char *what)
{
	pthread_mutex_lock(&c->lock);
	if (c->state != SESSION_INACTIVE)
		session_misuse("Session must be inactive to %s, not %s", what,
			       session_state_name(c->state));
}

void xpc_session_set_incoming_message_handler(xpc_session_t session,
					      xpc_session_incoming_message_handler_t handler)
{
	SessionCore *c = session_core(session);
	void *copy = handler ? Block_copy(handler) : NULL, *old;

	session_lock_inactive(c, "set the message handler");
	old = c->on_message;
	c->on_message = copy;
	pthread_mutex_unlock(&c->lock);
	if (old)
		Block_release(old);
}

void xpc_session_set_cancel_handler(xpc_session_t session,
				    xpc_session_cancel_handler_t cancel_handler)
{
	SessionCore *c = session_core(session);
	void *copy = cancel_handler ? Block_copy(cancel_handler) : NULL, *old;

	session_lock_inactive(c, "set the cancel handler");
	old = c->on_cancel;
	c->on_cancel = copy;
	pthread_mutex_unlock(&c->lock);
	if (old)
		Block_release(old);
}

void xpc_session_set_target_queue(xpc_session_t session, dispatch_queue_t target_queue)
{
	SessionCore *c = session_core(session);
	dispatch_queue_t old;

	session_lock_inactive(c, "set the target queue");
	old = c->target;
	c->target = target_queue;
	if (target_queue)
		dispatch_retain(target_queue);
	dispatch_set_target_queue(c->queue, target_queue ? target_queue : dqueue_default_target());
	pthread_mutex_unlock(&c->lock);
	if (old)
		dispatch_release(old);
}

/* ---- lifecycle ------------------------------------------------------------------- */

bool xpc_session_activate(xpc_session_t session, xpc_rich_error_t *error_out)
{
	SessionCore *c = session_core(session);
	SessionState st = session_state(c);

	if (error_out)
		*error_out = NULL;
	if (st == SESSION_ACTIVE)
		session_misuse("Attempting to activate an already active session");
	if (st != SESSION_INACTIVE)
		session_misuse("Attempting to activate a %s session",
			       st == SESSION_CANCELING ? "canceling" : "canceled");
	if (!c->peer)
		return session_activate_client(c, error_out);
	if (session_link(c))
		return true;
	session_report(c, error_out);
	return false;
}

void xpc_session_cancel(xpc_session_t session)
{
	SessionCore *c = session_core(session);

	if (!c->peer && session_state(c) == SESSION_INACTIVE)
		session_misuse("Attempting to cancel an inactive session");
	session_cancel_with(c, rich_error_create("Session manually canceled", false));
}

void session_peer_handled(xpc_session_t peer)
{
	SessionCore *c = peer->core;
	SessionState st;
	bool has_handler;

	pthread_mutex_lock(&c->lock);
	st = c->state;
	has_handler = c->on_message != NULL;
	if (st != SESSION_CANCELED)
		c->self = peer; /* the runtime's reference, until CANCELED */
	pthread_mutex_unlock(&c->lock);
	if (st == SESSION_INACTIVE && !has_handler)
		session_misuse("Incoming session handler of %s returned without setting a message handler on the "
			       "peer session or cancelling it", c->name);
	if (st == SESSION_INACTIVE)
		session_link(c);
	if (st == SESSION_CANCELED)
		xpc_release(peer);
}

/* ---- description -------------------------------------------------------------- */

char *xpc_session_copy_description(xpc_session_t session)
{
	SessionCore *c;
	char *d;

	if (xpc_get_type(session) != XPC_TYPE_SESSION)
		return NULL;
	c = session->core;
	if (asprintf(&d, "Session<%s>(%s)", c->name, session_state_name(session_state(c))) < 0)
		return NULL;
	return d;
}

void session_reject_peer(xpc_session_t peer, const char *reason)
{
	SessionCore *c = session_core(peer);

	if (!c->peer)
		session_misuse("xpc_listener_reject_peer: %s is not a peer session", c->name);
	if (session_state(c) != SESSION_INACTIVE)
		session_misuse("xpc_listener_reject_peer: the peer session must be inactive (inside the incoming "
			       "session handler), not %s", session_state_name(session_state(c)));
	session_cancel_with(c, rich_error_createf(false, "Peer rejected with reason: %s",
						  reason ? reason : "(null)"));
}
