/* SPDX-License-Identifier: MIT */
/*
 * <xpc/session.h> - sessions (macOS 13/14): the client side of a stateful
 * link to a named service, and the server side's peers (<xpc/listener.h>).
 *
 * Apple's semantics, kept here (docs/sessions.md):
 * - A session is created active unless XPC_SESSION_CREATE_INACTIVE is given;
 *   its message handler, cancel handler and target queue can be set only
 *   while it is inactive (otherwise the process aborts with "XPC API
 *   MISUSE"), and xpc_session_activate() is called once.
 * - Creating (or activating) a session to a name the broker does not know
 *   fails then: NULL (or false) and a rich error in *error_out.
 * - A session never reconnects: the first interruption or invalidation of
 *   its link cancels it, and the cancel handler runs once with a rich error
 *   (can_retry is true when the service's process went away).
 * - Sending on an inactive session, sending synchronously from the session's
 *   target queue, releasing the last reference to a session that was neither
 *   cancelled nor ended, and activating it twice are misuses (abort).
 */
#ifndef __XPC_SESSION_H__
#define __XPC_SESSION_H__

#ifndef __XPC_INDIRECT__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#include <xpc/base.h>
#endif

#ifndef __BLOCKS__
#error "XPC Session require Blocks support."
#endif

XPC_ASSUME_NONNULL_BEGIN
__XPC_BEGIN_DECLS

XPC_SWIFT_NOEXPORT
XPC_FLAGS_ENUM(xpc_session_create_flags, uint64_t,
	XPC_SESSION_CREATE_NONE XPC_SWIFT_NAME("none") = 0,
	XPC_SESSION_CREATE_INACTIVE XPC_SWIFT_NAME("inactive") = (1 << 0),
	XPC_SESSION_CREATE_MACH_PRIVILEGED XPC_SWIFT_NAME("privileged") = (1 << 1));

typedef void (^xpc_session_cancel_handler_t)(xpc_rich_error_t error) XPC_SWIFT_NOEXPORT;
typedef void (^xpc_session_incoming_message_handler_t)(xpc_object_t message) XPC_SWIFT_NOEXPORT;
typedef void (^xpc_session_reply_handler_t)(xpc_object_t reply,
					    xpc_rich_error_t error) XPC_SWIFT_NOEXPORT;

/* "Session<NAME>(STATE)", malloc'd (free it); NULL for anything else. */
XPC_EXPORT XPC_WARN_RESULT char *xpc_session_copy_description(xpc_session_t session);

/* A session with the XPC service @name bundled with this program (an
 * app's Contents/XPCServices, or PREFIX/lib/PROGRAM/XPCServices;
 * docs/bundled-services.md), started as this process's private instance.
 * +1, or NULL with a rich error (no such bundle, bundle refused). */
XPC_EXPORT XPC_RETURNS_RETAINED XPC_WARN_RESULT xpc_session_t
xpc_session_create_xpc_service(const char *name, dispatch_queue_t target_queue,
			       xpc_session_create_flags_t flags, xpc_rich_error_t *error_out);

/* A session with the service @mach_service vends through xpcd
 * (docs/services.md; MACH_PRIVILEGED asks the system broker).  +1, or NULL
 * and *error_out (+1) when the name is unknown, denied, or no broker
 * answers (at activation for an inactive session). */
XPC_EXPORT XPC_RETURNS_RETAINED XPC_WARN_RESULT xpc_session_t
xpc_session_create_mach_service(const char *mach_service, dispatch_queue_t target_queue,
				xpc_session_create_flags_t flags, xpc_rich_error_t *error_out);

/* Only while inactive (a misuse otherwise); each replaces the one before. */
XPC_EXPORT void xpc_session_set_incoming_message_handler(xpc_session_t session,
							 xpc_session_incoming_message_handler_t handler);
XPC_EXPORT void xpc_session_set_cancel_handler(xpc_session_t session,
					       xpc_session_cancel_handler_t cancel_handler);
XPC_EXPORT void xpc_session_set_target_queue(xpc_session_t session, dispatch_queue_t target_queue);

/* Once, on an inactive session (a misuse otherwise).  False and *error_out
 * (+1) when the link cannot be made; the session is then cancelled. */
XPC_EXPORT bool xpc_session_activate(xpc_session_t session, xpc_rich_error_t *error_out);

/* Asynchronous; unsent messages are dropped, pending replies get a rich
 * error, the cancel handler runs once.  A misuse on an inactive client
 * session. */
XPC_EXPORT void xpc_session_cancel(xpc_session_t session);

/* NULL when queued; a +1 rich error once the session is cancelled. */
XPC_EXPORT XPC_RETURNS_RETAINED XPC_WARN_RESULT xpc_rich_error_t
xpc_session_send_message(xpc_session_t session, xpc_object_t message);

/* The reply (+1), or NULL and *error_out (+1).  A misuse from the session's
 * target queue (it would deadlock). */
XPC_EXPORT XPC_RETURNS_RETAINED XPC_WARN_RESULT xpc_object_t
xpc_session_send_message_with_reply_sync(xpc_session_t session, xpc_object_t message,
					 xpc_rich_error_t *error_out);

/* @reply_handler runs once on the session's queue: the reply, or NULL and
 * a rich error. */
XPC_EXPORT void xpc_session_send_message_with_reply_async(xpc_session_t session,
							  xpc_object_t message,
							  xpc_session_reply_handler_t reply_handler);

__XPC_END_DECLS
XPC_ASSUME_NONNULL_END

#endif /* __XPC_SESSION_H__ */
