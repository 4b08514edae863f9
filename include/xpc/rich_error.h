/* SPDX-License-Identifier: MIT */
/*
 * <xpc/rich_error.h> - rich errors (macOS 13): what the session and listener
 * API (<xpc/session.h>, <xpc/listener.h>) hands back when something fails.
 *
 * A rich error is an immutable XPC object (XPC_TYPE_RICH_ERROR) holding a
 * human-readable description and whether the operation it came from can be
 * retried.  Errors given through an `error_out` parameter or returned by a
 * send are +1 (release them); errors passed to a handler are borrowed.
 */
#ifndef __XPC_RICH_ERROR_H__
#define __XPC_RICH_ERROR_H__

#ifndef __XPC_INDIRECT__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#include <xpc/base.h>
#endif

#ifndef __BLOCKS__
#error "XPC Rich Errors require Blocks support."
#endif

XPC_ASSUME_NONNULL_BEGIN
__XPC_BEGIN_DECLS

/* The description, malloc'd (free it); NULL if @error is not a rich error or
 * memory ran out. */
XPC_EXPORT XPC_WARN_RESULT char *xpc_rich_error_copy_description(xpc_rich_error_t error);

/* Whether the operation the error came from can be retried (for a session:
 * true when the service's process went away, false otherwise). */
XPC_EXPORT XPC_WARN_RESULT bool xpc_rich_error_can_retry(xpc_rich_error_t error);

__XPC_END_DECLS
XPC_ASSUME_NONNULL_END

#endif /* __XPC_RICH_ERROR_H__ */
