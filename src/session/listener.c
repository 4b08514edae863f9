/* SPDX-License-Identifier: MIT */
/*
 * listener.c - listeners (<xpc/listener.h>, docs/sessions.md): the server
 * side of sessions, over a named-service listener connection
 * (xpc_connection_create_mach_service(name, q, LISTENER): the R xpcd hands
 * this process, docs/services.md).
 *
 *   INACTIVE --activate--> ACTIVE --cancel--> CANCELED
 *
 * Each peer connection the listener connection receives becomes an
 * inactive peer session (session_create_peer) given to the incoming-session
 * handler on the listener's serial queue; when the handler returns, the
 * peer is activated unless it was cancelled or rejected
 * (session_peer_handled).  As with sessions, the object the user holds and
 * the state behind it (ListenerCore) are counted apart: the connection's
 * event handler holds the core until its final INVALID, and releasing the
 * last reference to a listener that was not cancelled is a misuse.
 */
#include "session/internal.h"
#include "bundle/bundle.h"

#include <Block.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { LISTENER_INACTIVE = 1, LISTENER_ACTIVE = 2, LISTENER_CANCELED = 3 } ListenerState;

typedef struct ListenerCore {
	atomic_int refs;
	pthread_mutex_t lock;
	ListenerState state; /* under lock */
	char *name;
	dispatch_queue_t target; /* the user's (retained) or NULL */
	dispatch_queue_t queue;  /* serial, targets `target` */
	xpc_connection_t conn;   /* +1 */
	xpc_listener_incoming_session_handler_t on_session;
	unsigned long n_peers;   /* for peer names in descriptions */
} ListenerCore;

struct _xpc_listener_s {
	struct xpc_object_s head;
	ListenerCore *core;
};

static const char *listener_state_name(ListenerState st)
{
	return st == LISTENER_INACTIVE ? "Inactive" : st == LISTENER_ACTIVE ? "Active" : "Canceled";
}

static void listener_core_unref(ListenerCore *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	xpc_release(c->conn);
	if (c->on_session)
		Block_release(c->on_session);
	dispatch_release(c->queue);
	if (c->target)
		dispatch_release(c->target);
	pthread_mutex_destroy(&c->lock);
	free(c->name);
	free(c);
}

static ListenerState listener_state(ListenerCore *c)
{
	ListenerState st;

	pthread_mutex_lock(&c->lock);
	st = c->state;
	pthread_mutex_unlock(&c->lock);
	return st;
}

static void listener_dispose(xpc_object_t obj)
{
	ListenerCore *c = ((xpc_listener_t)obj)->core;

	if (listener_state(c) != LISTENER_CANCELED)
		session_misuse("Listener must be canceled before it's disposed (%s)", c->name);
	listener_core_unref(c);
}

static void listener_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	ListenerCore *c = ((xpc_listener_t)obj)->core;

	strbuf_printf(sb, "{ name = %s, state = %s }", c->name,
		      listener_state_name(listener_state(c)));
}

/* No public XPC_TYPE_LISTENER (as on macOS); xpc_get_type() returns this. */
static const struct _xpc_type_s listener_type = {
	.name = "listener",
	.dispose = listener_dispose,
	.describe = listener_describe,
};

static ListenerCore *listener_core(xpc_listener_t l)
{
	if (xpc_get_type(l) != &listener_type)
		session_misuse("Given object not of required type. Given: %s, required: listener",
			       l ? xpc_type_get_name(xpc_get_type(l)) : "NULL");
	return l->core;
}

/* ---- incoming peers ---------------------------------------------------------- */

static void listener_peer(ListenerCore *c, xpc_connection_t conn)
{
	char name[320];
	xpc_session_t peer;

	pthread_mutex_lock(&c->lock);
	snprintf(name, sizeof(name), "%s.peer[%d]#%lu", c->name, (int)xpc_connection_get_pid(conn),
		 ++c->n_peers);
	pthread_mutex_unlock(&c->lock);
	peer = session_create_peer(conn, c->target, name);
	if (!peer) {
		xpc_connection_cancel(conn); /* out of memory: the client sees INVALID */
		return;
	}
	c->on_session(peer);
	session_peer_handled(peer);
}

/* The listener connection's event handler, on c->queue. */
static void listener_event(ListenerCore *c, xpc_object_t ev)
{
	if (xpc_get_type(ev) == XPC_TYPE_CONNECTION) {
		if (listener_state(c) == LISTENER_ACTIVE)
			listener_peer(c, (xpc_connection_t)ev);
		else
			xpc_connection_cancel((xpc_connection_t)ev);
		return;
	}
	if (ev == XPC_ERROR_CONNECTION_INVALID) /* the last event */
		listener_core_unref(c);
}

/* ---- creation and lifecycle ---------------------------------------------------- */

static xpc_listener_t listener_new(const char *name, dispatch_queue_t target,
				   xpc_listener_incoming_session_handler_t handler)
{
	ListenerCore *c = calloc(1, sizeof(*c));
	xpc_listener_t l = object_alloc(&listener_type, sizeof(*l));

	if (!c || !l || !(c->name = strdup(name)) ||
	    !(c->queue = dispatch_queue_create("org.xpc.listener", NULL)) ||
	    !(c->on_session = Block_copy(handler))) {
		if (c && c->queue)
			dispatch_release(c->queue);
		if (c)
			free(c->name);
		free(c);
		free(l);
		return NULL;
	}
	if (target) {
		dispatch_retain(target);
		dispatch_set_target_queue(c->queue, target);
	}
	atomic_init(&c->refs, 1);
	pthread_mutex_init(&c->lock, NULL);
	c->state = LISTENER_INACTIVE;
	c->target = target;
	l->core = c;
	return l;
}

xpc_listener_t xpc_listener_create(const char *service, dispatch_queue_t target_queue,
				   xpc_listener_create_flags_t flags,
				   xpc_listener_incoming_session_handler_t incoming_session_handler,
				   xpc_rich_error_t *error_out)
{
	xpc_listener_t l;

	if (error_out)
		*error_out = NULL;
	if ((flags & XPC_LISTENER_CREATE_FORCE_MACH) && (flags & XPC_LISTENER_CREATE_FORCE_XPCSERVICE))
		session_misuse("Cannot force the listener to be both a MachService and a XPCService");
	if (!service || !incoming_session_handler)
		session_misuse("xpc_listener_create: the service name and the incoming session "
			       "handler are mandatory");
	if ((flags & XPC_LISTENER_CREATE_FORCE_XPCSERVICE) && !bundle_private_instance()) {
		if (error_out)
			*error_out = rich_error_createf(false, "Unable to create listener %s: this process was not "
							       "started as a bundled XPC service", service);
		return NULL;
	}
	l = listener_new(service, target_queue, incoming_session_handler);
	if (l)
		l->core->conn = xpc_connection_create_mach_service(service, l->core->queue,
								   XPC_CONNECTION_MACH_SERVICE_LISTENER);
	if (!l || !l->core->conn) {
		if (l) {
			l->core->state = LISTENER_CANCELED;
			xpc_release(l);
		}
		if (error_out)
			*error_out = rich_error_create("Out of memory", true);
		return NULL;
	}
	if (!(flags & XPC_LISTENER_CREATE_INACTIVE) && !xpc_listener_activate(l, error_out)) {
		xpc_release(l);
		return NULL;
	}
	return l;
}

bool xpc_listener_activate(xpc_listener_t listener, xpc_rich_error_t *error_out)
{
	ListenerCore *c = listener_core(listener);
	char *why;

	if (error_out)
		*error_out = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->state != LISTENER_INACTIVE)
		session_misuse("Attempting to activate %s listener",
			       c->state == LISTENER_ACTIVE ? "an already active" : "a canceled");
	c->state = LISTENER_ACTIVE;
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed); /* the handler's */
	xpc_connection_set_event_handler(c->conn, ^(xpc_object_t ev) {
		listener_event(c, ev);
	});
	xpc_connection_activate(c->conn);
	why = xpc_connection_copy_invalidation_reason(c->conn);
	if (!why)
		return true;
	if (error_out)
		*error_out = rich_error_createf(false, "Unable to activate listener: %s", why);
	free(why);
	xpc_listener_cancel(listener);
	return false;
}

void xpc_listener_cancel(xpc_listener_t listener)
{
	ListenerCore *c = listener_core(listener);
	ListenerState was;

	pthread_mutex_lock(&c->lock);
	was = c->state;
	c->state = LISTENER_CANCELED;
	pthread_mutex_unlock(&c->lock);
	if (was != LISTENER_CANCELED)
		xpc_connection_cancel(c->conn);
}

void xpc_listener_reject_peer(xpc_session_t peer, const char *reason)
{
	session_reject_peer(peer, reason);
}

char *xpc_listener_copy_description(xpc_listener_t listener)
{
	ListenerCore *c;
	char *d;

	if (xpc_get_type(listener) != &listener_type)
		return NULL;
	c = listener->core;
	if (asprintf(&d, "Listener<%s>(%s)", c->name, listener_state_name(listener_state(c))) < 0)
		return NULL;
	return d;
}
