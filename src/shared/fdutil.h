/* SPDX-License-Identifier: MIT */
/*
 * fdutil.h - the descriptor chores every layer repeated: duplicate with
 * close-on-exec, set or clear O_NONBLOCK and FD_CLOEXEC, test that a
 * number is an open descriptor, and close without losing errno.
 *
 * Conventions (docs/CONTRIBUTING.md "Files"; in the manner of c_close()):
 * - Return values are the result (a descriptor, flags) or a negative errno;
 *   errno is also left set by the failing call, so callers written for
 *   "-1 and errno" keep working with a "< 0" test.
 * - Every descriptor these functions create is close-on-exec and, unless
 *   the caller asks for a lower floor, numbered 3 or above, so it can never
 *   land on a standard stream a program closed.
 * - fd_close() accepts a negative number (a no-op), keeps errno, and returns
 *   -1 so that `fd = fd_close(fd);` both closes and forgets; the kernel
 *   frees the descriptor even when close() reports EINTR, so it is never
 *   retried.  FD_CLEANUP marks a local that is closed on scope exit.
 */
#ifndef XPC_SHARED_FDUTIL_H
#define XPC_SHARED_FDUTIL_H

#include <stdbool.h>

/* The lowest number fd_dup() gives: above stdin, stdout and stderr. */
#define FD_DUP_FLOOR 3

/* What fd_limit() and fd_raise_limit() return for no limit (LONG_MAX,
 * spelled so that no <limits.h> is needed: src/broker has its own). */
#define FD_NO_LIMIT __LONG_MAX__

/*
 * fd_dup_min() - duplicate @fd (borrowed) close-on-exec at @min or above.
 * Return: the new descriptor (the caller owns it) or a negative errno.
 */
int fd_dup_min(int fd, int min);

/* fd_dup_min(@fd, FD_DUP_FLOOR). */
int fd_dup(int fd);

/*
 * fd_set_cloexec() - set (@on) or clear FD_CLOEXEC on @fd (borrowed).
 * Return: 0 or a negative errno.
 */
int fd_set_cloexec(int fd, bool on);

/*
 * fd_set_nonblock() - set (@on) or clear O_NONBLOCK on @fd (borrowed).
 * Return: the file status flags @fd had before (so a caller can restore
 *         them) or a negative errno.
 */
int fd_set_nonblock(int fd, bool on);

/* True if @fd is an open descriptor of this process. */
bool fd_valid(int fd);

/*
 * fd_close() - close @fd (consumed) if it is not negative, keeping errno.
 * Return: -1, for `fd = fd_close(fd);`.
 */
int fd_close(int fd);

/* Closes *@fdp and sets it to -1 (for FD_CLEANUP and arrays). */
void fd_closep(int *fdp);

/* A local descriptor closed when it goes out of scope (unless set to -1). */
#define FD_CLEANUP __attribute__((cleanup(fd_closep)))

/*
 * fd_limit() - the RLIMIT_NOFILE soft limit: how many descriptors this
 * process may hold, for sizing what it keeps free for later.
 * Return: the soft limit (FD_NO_LIMIT for none), or a negative errno.
 */
long fd_limit(void);

/*
 * fd_raise_limit() - raise the RLIMIT_NOFILE soft limit to the hard limit,
 * as systemd advises for programs that do not use select() (the soft limit
 * of 1024 exists only for select()'s FD_SETSIZE): a broker or a service
 * with thousands of peers needs a descriptor or two for each.
 * @ret_old: if not NULL, set to the soft limit before (to give back to
 *           programs this one executes, which may use select())
 * Return: the soft limit now (FD_NO_LIMIT for none), or a negative errno.
 */
long fd_raise_limit(long *ret_old);

/*
 * fd_restore_limit() - set the RLIMIT_NOFILE soft limit back to @old (from
 * fd_raise_limit), e.g. in a child before exec.  Async-signal-safe.
 * Return: 0 or a negative errno.
 */
int fd_restore_limit(long old);

#endif
