/* SPDX-License-Identifier: MIT */
/*
 * assert.h - xpc_assert(): an assertion that is never compiled out.
 *
 * The model is dbus-broker's c_assert() and the kernel's BUG_ON(): a file
 * header promises invariants ("a node is on at most one list", "called
 * with the queue's lock held"), and xpc_assert() states them at the places
 * where breaking them would corrupt memory or a peer's view.  A broken
 * invariant is a bug in libxpc, not an outcome a caller can handle, so the
 * process stops at once with the file, the line, the function and the
 * expression on stderr, and abort() leaves a core.  Unlike <assert.h>,
 * NDEBUG does not remove it: the checks cost a compare and a predicted
 * branch, and the release build is where a silent corruption costs most.
 *
 * Not for what a peer or a caller can cause (a malformed message, a bad
 * argument): those are outcomes, returned as codes.  The expression is
 * evaluated exactly once, so it must have no side effect anyone relies on
 * beyond the check.  For the lock-held check of *_locked functions, which
 * is compiled in only in debug and sanitizer builds, see shared/lock.h.
 */
#ifndef XPC_SHARED_ASSERT_H
#define XPC_SHARED_ASSERT_H

/*
 * assert_fail() - report a broken invariant and abort().  Writes one line
 * "libxpc: FILE:LINE: FUNC: assertion failed: EXPR" with write(2) (no
 * stdio lock, so it works in a signal handler or with stdio locked).
 */
__attribute__((noreturn, cold)) void assert_fail(const char *expr, const char *file, int line, const char *func);

#define xpc_assert(expr)                                                              \
	((void)(__builtin_expect(!!(expr), 1) ? 0                                       \
					       : (assert_fail(#expr, __FILE__, __LINE__, __func__), 0)))

#endif
