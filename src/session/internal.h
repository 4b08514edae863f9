/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the files of the session layer share (never included
 * outside src/session).
 *
 * The layer is Apple's macOS 13/14 API built on the public connection API
 * and the connection layer's internal face (connection/connection.h):
 * rich errors (rich_error.c), sessions (session.c; sending: send.c), listeners
 * (listener.c), and the private audit-token SPI (audit.c).
 *
 * Sessions and listeners have two reference counts, as on macOS: the XPC
 * object the user holds (its refcount: retain/release) and the state
 * behind it (SessionCore / ListenerCore, an atomic count of its own) that
 * the connection's handlers and pending replies hold.  The object's last
 * release checks the state (releasing a session or listener that is still
 * active is a misuse) and drops its core reference; the core lives on until
 * the link's final event has been delivered.
 */
#ifndef XPC_SESSION_INTERNAL_H
#define XPC_SESSION_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <xpc/xpc.h>

#include "object/object.h"

/* Apple's state numbers (xpc_session_copy_description names them). */
typedef enum {
	SESSION_INACTIVE = 1,
	SESSION_ACTIVE = 3,
	SESSION_CANCELING = 4,
	SESSION_CANCELED = 5,
} SessionState;

typedef struct SessionCore SessionCore;

/* The state behind a session (session.c holds the model). */
struct SessionCore {
	atomic_int refs;
	pthread_mutex_t lock;
	SessionState state;    /* under lock */
	bool peer;             /* made by a listener */
	bool privileged;       /* XPC_SESSION_CREATE_MACH_PRIVILEGED */
	bool xpc_service;      /* xpc_session_create_xpc_service: a bundled service */
	bool linked;           /* conn has our event handler and was activated */
	char *name;
	dispatch_queue_t target; /* the user's (retained), NULL: default */
	dispatch_queue_t queue;  /* serial, targets `target` */
	xpc_connection_t conn;   /* +1; NULL until a client session is linked */
	xpc_session_incoming_message_handler_t on_message;
	xpc_session_cancel_handler_t on_cancel;
	xpc_rich_error_t reason;  /* why it was cancelled; set once */
	xpc_session_t self;       /* a peer's runtime reference, until CANCELED */
};

struct _xpc_session_s {
	struct xpc_object_s head;
	SessionCore *core; /* one reference */
};

/* rich_error.c */
/* A +1 rich error with @text (copied); NULL out of memory. */
xpc_rich_error_t rich_error_create(const char *text, bool can_retry);
__attribute__((__format__(__printf__, 2, 3))) xpc_rich_error_t rich_error_createf(bool can_retry,
										  const char *fmt, ...);

/* session.c */
/* Aborts with "XPC API MISUSE: <message>" (programming errors Apple traps). */
__attribute__((__noreturn__, __format__(__printf__, 1, 2))) void session_misuse(const char *fmt,
										   ...);
/* For listener.c: a new inactive peer session over @peer (an inactive peer
 * connection, retained) whose events run on a serial queue targeting
 * @target.  @name names it in descriptions.  +1, or NULL out of memory. */
xpc_session_t session_create_peer(xpc_connection_t peer, dispatch_queue_t target, const char *name);
/* After the incoming-session handler returned: activates @peer if it is
 * still inactive (a misuse without a message handler), then drops the
 * runtime's creation reference unless the session is now active. */
void session_peer_handled(xpc_session_t peer);
/* xpc_listener_reject_peer(): cancels an inactive peer session. */
void session_reject_peer(xpc_session_t peer, const char *reason);
/* For send.c: references on the core; its state read under its lock; the
 * core of @s (a misuse unless @s is a session); the first reason wins:
 * cancels with @err (+1, consumed) unless already cancelled; why the link
 * ended, as a +1 rich error for the connection event @ev. */
void session_core_ref(SessionCore *c);
void session_core_unref(SessionCore *c);
SessionState session_state(SessionCore *c);
SessionCore *session_core(xpc_session_t s);
void session_cancel_with(SessionCore *c, xpc_rich_error_t err);
xpc_rich_error_t session_link_error(SessionCore *c, xpc_object_t ev);

#endif
