/* SPDX-License-Identifier: MIT */
/*
 * <xpc/peer_requirement.h> - peer requirement objects (macOS 26).
 *
 * A peer requirement is a reference-counted, immutable XPC object
 * (xpc_retain / xpc_release) naming what a peer process must be; set on a
 * connection (xpc_connection_set_peer_requirement, <xpc/connection.h>) it
 * is checked from kernel-verified facts before any message of the peer is
 * delivered (docs/peer-requirements.md).
 *
 * Apple's constructors name code-signing facts (entitlements, team and
 * platform identity, lightweight code requirements) that a Linux process
 * does not have: they fail here as Apple's do for an invalid requirement,
 * returning NULL.  The requirements a Linux peer can be held to (uid, group,
 * executable, LSM label, systemd unit) are made by the
 * xpc_linux_peer_requirement_create_* functions of <xpc/linux.h>.
 */
#ifndef __XPC_PEER_REQ_H__
#define __XPC_PEER_REQ_H__

#ifndef __XPC_H__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#endif

__XPC_BEGIN_DECLS

XPC_DECL(xpc_peer_requirement);
/* xpc_rich_error_t is declared by <xpc/xpc.h> (<xpc/rich_error.h>). */

/* Each returns NULL (with *error_out = NULL when error_out is given): there
 * are no entitlements, team or platform identities, nor lightweight code
 * requirements on Linux (docs/peer-requirements.md). */
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_peer_requirement_create_entitlement_exists(const char *entitlement,
					       xpc_rich_error_t *error_out);
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_peer_requirement_create_entitlement_matches_value(const char *entitlement, xpc_object_t value,
						      xpc_rich_error_t *error_out);
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t xpc_peer_requirement_create_team_identity(
	const char *signing_identifier, xpc_rich_error_t *error_out);
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_peer_requirement_create_platform_identity(const char *signing_identifier,
					      xpc_rich_error_t *error_out);
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_peer_requirement_create_lwcr(xpc_object_t lwcr, xpc_rich_error_t *error_out);

/* Whether the peer that sent @message (a dictionary received on a
 * connection) satisfies @peer_requirement now.  False, with *error_out =
 * NULL, for a message not received on a connection, a peer that is gone,
 * or a peer that does not satisfy it. */
XPC_EXPORT bool xpc_peer_requirement_match_received_message(xpc_peer_requirement_t peer_requirement,
							    xpc_object_t message,
							    xpc_rich_error_t *error_out);

__XPC_END_DECLS

#endif /* __XPC_PEER_REQ_H__ */
