/* SPDX-License-Identifier: MIT */
/*
 * fault.h - fault injection (meson -Dfault_injection=true): make the Nth
 * allocation, or the Nth call of a descriptor-making or I/O system call,
 * fail inside libxpc, so tests can walk N over a scenario and check that
 * every failure ends in a clean error (docs/reliability.md).
 *
 * With the option on, every file of src/ is compiled with fault-hooks.h
 * forced in (-include), which routes malloc, calloc, realloc, strdup,
 * strndup, asprintf, Block_copy and the system calls listed in FaultPoint
 * through fault_hit().  Only libxpc's own calls are affected; libc's and the
 * tests' are not.  With the option off, nothing is routed and fault_arm()
 * does nothing (fault_compiled_in() says which).
 *
 * From the environment (read at the first routed call):
 *     XPC_FAIL_ALLOC=N          fail the Nth allocation (N counts from 0)
 *     XPC_FAIL_SYSCALL=name:N   fail the Nth call of name (fault_point_name)
 *     XPC_FAULT_VERBOSE=1       print a backtrace where each fault hits
 *     XPC_FAIL_ONCE=PATH        arm only in the process that creates PATH
 *                               first (a service relaunched by xpcd after
 *                               its fault runs without one)
 * Each armed point fails once, then behaves normally again.
 */
#ifndef XPC_SHARED_FAULT_H
#define XPC_SHARED_FAULT_H

#include <stdbool.h>

typedef enum {
	FAULT_ALLOC = 0,   /* malloc & co, Block_copy: NULL, ENOMEM */
	FAULT_SOCKET,      /* socket: EMFILE */
	FAULT_SOCKETPAIR,  /* socketpair: EMFILE */
	FAULT_ACCEPT,      /* accept4: EMFILE */
	FAULT_MEMFD,       /* memfd_create: EMFILE */
	FAULT_MMAP,        /* mmap: ENOMEM */
	FAULT_SENDMSG,     /* sendmsg: ENOBUFS */
	FAULT_RECVMSG,     /* recvmsg: ENOMEM */
	FAULT_DUP,         /* fcntl(F_DUPFD*), dup, dup2: EMFILE */
	FAULT_THREAD,      /* pthread_create: EAGAIN */
	FAULT_N_POINTS
} FaultPoint;

/* Whether the hooks are compiled into src/ (-Dfault_injection=true). */
bool fault_compiled_in(void);
/* Fails the @n-th call (from 0, counted from now) of @p once; -1 disarms. */
void fault_arm(FaultPoint p, long n);
/* Calls of @p counted since it was last armed. */
long fault_calls(FaultPoint p);
/* Faults injected so far, all points together. */
long fault_injected(void);
/* "alloc", "socket", ...; -1 / NULL for an unknown one. */
const char *fault_point_name(FaultPoint p);
int fault_point_by_name(const char *name);

/* Whether Block_copy(@block) allocates: false for heap and global blocks
 * (copying them only counts a reference) and for NULL. */
bool fault_block_allocates(const void *block);

/* The hook: true when this call of @p must fail. */
bool fault_hit(FaultPoint p);

#endif
