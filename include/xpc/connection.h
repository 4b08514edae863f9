/* SPDX-License-Identifier: MIT */
/*
 * <xpc/connection.h> - connections, listeners, messages and replies.
 *
 * Apple's semantics (xpc_connection_create(3)): connections are created
 * inactive; nothing is sent or received before the first resume/activate.
 * The event handler never runs concurrently with itself; a listener's handler
 * receives new peer connections, a peer's handler receives messages and the
 * error objects XPC_ERROR_CONNECTION_INTERRUPTED / _INVALID.  Every reply
 * handler gets exactly one answer: the reply, INTERRUPTED or INVALID.
 */
#ifndef __XPC_CONNECTION_H__
#define __XPC_CONNECTION_H__

#ifndef __XPC_H__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#endif

__XPC_BEGIN_DECLS

#define XPC_CONNECTION_MACH_SERVICE_LISTENER (1 << 0)
#define XPC_CONNECTION_MACH_SERVICE_PRIVILEGED (1 << 1)

/* <bsm/audit.h> on macOS: an audit session id is a pid_t. */
#if !defined(_BSM_AUDIT_H) && !defined(_XPC_AU_ASID_T)
#define _XPC_AU_ASID_T
typedef pid_t au_asid_t;
#endif

XPC_EXPORT XPC_MALLOC XPC_WARN_RESULT xpc_connection_t
xpc_connection_create(const char *name, dispatch_queue_t targetq);
XPC_EXPORT XPC_MALLOC XPC_WARN_RESULT xpc_connection_t
xpc_connection_create_mach_service(const char *name, dispatch_queue_t targetq, uint64_t flags);
XPC_EXPORT XPC_MALLOC XPC_WARN_RESULT xpc_connection_t
xpc_connection_create_from_endpoint(xpc_endpoint_t endpoint);

XPC_EXPORT void xpc_connection_set_target_queue(xpc_connection_t connection, dispatch_queue_t targetq);
#ifdef __BLOCKS__
XPC_EXPORT void xpc_connection_set_event_handler(xpc_connection_t connection, xpc_handler_t handler);
#endif
/* Function variant (Linux extension): @handler gets the connection's context
 * (xpc_connection_get_context) and the event. */
XPC_LINUX_EXTENSION
XPC_EXPORT void xpc_connection_set_event_handler_f(xpc_connection_t connection, xpc_handler_f handler);

XPC_EXPORT void xpc_connection_activate(xpc_connection_t connection);
XPC_EXPORT void xpc_connection_suspend(xpc_connection_t connection);
XPC_EXPORT void xpc_connection_resume(xpc_connection_t connection);
XPC_EXPORT void xpc_connection_cancel(xpc_connection_t connection);

XPC_EXPORT void xpc_connection_send_message(xpc_connection_t connection, xpc_object_t message);
#ifdef __BLOCKS__
XPC_EXPORT void xpc_connection_send_barrier(xpc_connection_t connection, dispatch_block_t barrier);
XPC_EXPORT void xpc_connection_send_message_with_reply(xpc_connection_t connection, xpc_object_t message,
						       dispatch_queue_t replyq, xpc_handler_t handler);
#endif
XPC_LINUX_EXTENSION
XPC_EXPORT void xpc_connection_send_barrier_f(xpc_connection_t connection, void *context,
					      dispatch_function_t barrier);
XPC_LINUX_EXTENSION
XPC_EXPORT void xpc_connection_send_message_with_reply_f(xpc_connection_t connection, xpc_object_t message,
							 dispatch_queue_t replyq, void *context,
							 xpc_handler_f handler);
XPC_EXPORT XPC_WARN_RESULT xpc_object_t xpc_connection_send_message_with_reply_sync(xpc_connection_t connection,
										    xpc_object_t message);

XPC_EXPORT const char *xpc_connection_get_name(xpc_connection_t connection);
XPC_EXPORT uid_t xpc_connection_get_euid(xpc_connection_t connection);
XPC_EXPORT gid_t xpc_connection_get_egid(xpc_connection_t connection);
XPC_EXPORT pid_t xpc_connection_get_pid(xpc_connection_t connection);
XPC_EXPORT au_asid_t xpc_connection_get_asid(xpc_connection_t connection);

XPC_EXPORT void xpc_connection_set_context(xpc_connection_t connection, void *context);
XPC_EXPORT void *xpc_connection_get_context(xpc_connection_t connection);
XPC_EXPORT void xpc_connection_set_finalizer_f(xpc_connection_t connection, xpc_finalizer_t finalizer);

/*
 * Peer requirements (docs/peer-requirements.md).  Set before the first
 * resume/activate; on a listener they apply to every peer it accepts.  A
 * peer that does not satisfy the requirement never has a message
 * delivered: its connection's handler gets
 * XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT, then XPC_ERROR_CONNECTION_INVALID
 * with an invalidation reason naming the requirement, and replies it owed
 * are answered with XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT.
 *
 * Apple's forms below name code-signing facts Linux does not have: each
 * returns ENOTSUP and still arms a requirement no peer satisfies (fail
 * closed: a program that ignores the result talks to no one), or EINVAL for
 * a NULL argument or a connection already activated (nothing changes).
 */
XPC_EXPORT int xpc_connection_set_peer_code_signing_requirement(xpc_connection_t connection,
								 const char *requirement);
XPC_EXPORT int xpc_connection_set_peer_entitlement_exists_requirement(xpc_connection_t connection,
								       const char *entitlement);
XPC_EXPORT int
xpc_connection_set_peer_entitlement_matches_value_requirement(xpc_connection_t connection,
							      const char *entitlement, xpc_object_t value);
XPC_EXPORT int xpc_connection_set_peer_team_identity_requirement(xpc_connection_t connection,
								  const char *signing_identifier);
XPC_EXPORT int xpc_connection_set_peer_platform_identity_requirement(xpc_connection_t connection,
								      const char *signing_identifier);
XPC_EXPORT int xpc_connection_set_peer_lightweight_code_requirement(xpc_connection_t connection,
								     xpc_object_t lwcr);
/* macOS 26: sets @requirement (retained; replaces an earlier one).  Setting
 * it on an activated connection is a programming error: the process
 * crashes with a message, as Apple's does. */
XPC_EXPORT void xpc_connection_set_peer_requirement(xpc_connection_t connection,
						    xpc_peer_requirement_t requirement);

/* macOS 12: why the connection became invalid; malloc'd, caller frees; NULL
 * while the connection is valid. */
XPC_EXPORT XPC_MALLOC char *xpc_connection_copy_invalidation_reason(xpc_connection_t connection);

__XPC_END_DECLS

#endif /* __XPC_CONNECTION_H__ */
