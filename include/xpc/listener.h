/* SPDX-License-Identifier: MIT */
/*
 * <xpc/listener.h> - listeners (macOS 14): the server side of sessions.
 *
 * xpc_listener_create(name) listens on a name xpcd vends to this process
 * (its job's MachServices, docs/services.md).  Each client that connects
 * gives one new, inactive peer session to the incoming-session handler,
 * which must set the peer's message handler (and may set its cancel
 * handler), or cancel or reject it; when the handler returns, the peer is
 * activated.  A peer that got neither a message handler nor a cancel is a
 * misuse (abort).  docs/sessions.md has the Linux details.
 */
#ifndef __XPC_LISTENER_H__
#define __XPC_LISTENER_H__

#ifndef __XPC_INDIRECT__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#include <xpc/base.h>
#endif

#ifndef __BLOCKS__
#error "XPC Listener require Blocks support."
#endif

XPC_ASSUME_NONNULL_BEGIN
__XPC_BEGIN_DECLS

XPC_DECL(xpc_listener);

/* FORCE_MACH is what every listener is here; FORCE_XPCSERVICE (bundled
 * services) fails with a rich error; both together are a misuse. */
XPC_SWIFT_NOEXPORT
XPC_FLAGS_ENUM(xpc_listener_create_flags, uint64_t,
	XPC_LISTENER_CREATE_NONE XPC_SWIFT_NAME("none") = 0,
	XPC_LISTENER_CREATE_INACTIVE XPC_SWIFT_NAME("inactive") = (1 << 0),
	XPC_LISTENER_CREATE_FORCE_MACH XPC_SWIFT_NAME("mach") = (1 << 1),
	XPC_LISTENER_CREATE_FORCE_XPCSERVICE XPC_SWIFT_NAME("xpcservice") = (1 << 2));

typedef void (^xpc_listener_incoming_session_handler_t)(xpc_session_t peer);

/* "Listener<NAME>(STATE)", malloc'd (free it). */
XPC_EXPORT XPC_SWIFT_NOEXPORT XPC_WARN_RESULT char *
xpc_listener_copy_description(xpc_listener_t listener);

/* +1 listener, active unless XPC_LISTENER_CREATE_INACTIVE; NULL and
 * *error_out (+1) when it cannot listen (the name is not vended to this
 * process: "denied"). */
XPC_EXPORT XPC_SWIFT_NOEXPORT XPC_RETURNS_RETAINED XPC_WARN_RESULT xpc_listener_t
xpc_listener_create(const char *service, dispatch_queue_t target_queue,
		    xpc_listener_create_flags_t flags,
		    xpc_listener_incoming_session_handler_t incoming_session_handler,
		    xpc_rich_error_t *error_out);

/* Once, on an inactive listener (a misuse otherwise). */
XPC_EXPORT XPC_SWIFT_NOEXPORT bool xpc_listener_activate(xpc_listener_t listener,
							 xpc_rich_error_t *error_out);

/* Stops accepting; established peer sessions are not touched. */
XPC_EXPORT XPC_SWIFT_NOEXPORT void xpc_listener_cancel(xpc_listener_t listener);

/* Inside the incoming-session handler: refuse @peer; its link is cut and
 * the peer session cancelled with "Peer rejected with reason: REASON". */
XPC_EXPORT XPC_SWIFT_NOEXPORT void xpc_listener_reject_peer(xpc_session_t peer, const char *reason);

__XPC_END_DECLS
XPC_ASSUME_NONNULL_END

#endif /* __XPC_LISTENER_H__ */
