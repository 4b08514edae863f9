/* SPDX-License-Identifier: MIT */
/*
 * <xpc/private.h> - Apple's private SPI that most macOS daemons use anyway,
 * as far as libxpc provides it.  Not in Apple's public SDK: on macOS these
 * declarations come from private headers, so code that uses them is not
 * App Store code; here they are supported like the public API.
 *
 * Audit tokens identify a peer without the pid-reuse race of
 * xpc_connection_get_pid(): the token carries the pid *and* a pid version
 * (the process's start time, docs/sessions.md), so a later process that got
 * the same pid has another token.  Read it with <bsm/libbsm.h>.
 */
#ifndef __XPC_PRIVATE_H__
#define __XPC_PRIVATE_H__

#include <xpc/xpc.h>
#include <bsm/audit.h>

__XPC_BEGIN_DECLS

/* The audit token of @connection's peer, into *@token: euid, egid and pid
 * as the kernel checked them when the link was made; auid, ruid, rgid and
 * the pid version read from /proc while the pidfd shows the peer alive
 * ((unsigned)-1 and 0 once it has exited); asid as xpc_connection_get_asid.
 * All zero for a connection without a peer (a listener, not yet linked). */
XPC_EXPORT void xpc_connection_get_audit_token(xpc_connection_t connection, audit_token_t *token);

/* The audit token of the sender of @xdict, a message received on a
 * connection (its remote connection's token); all zero for any other
 * dictionary. */
XPC_EXPORT void xpc_dictionary_get_audit_token(xpc_object_t xdict, audit_token_t *token);

__XPC_END_DECLS

#endif /* __XPC_PRIVATE_H__ */
