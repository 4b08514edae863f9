/* SPDX-License-Identifier: MIT */
/*
 * fault-hooks.h - forced into every file of src/ (-include) when libxpc is
 * built with -Dfault_injection=true: routes allocations and the system
 * calls of fault.h's FaultPoint through fault_hit(), which makes the armed
 * call fail the way the real one would (NULL / -1 with errno set).
 *
 * The system headers are included first so that their declarations are
 * seen before the names become macros; a function-like macro does not
 * expand inside its own expansion, so each macro calls the real function.
 * Never include this file by hand.
 */
#ifndef XPC_SHARED_FAULT_HOOKS_H
#define XPC_SHARED_FAULT_HOOKS_H

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/fault.h"

#define FAULT_FAIL_(point, err, value, call) (fault_hit(point) ? (errno = (err), (value)) : (call))

#define malloc(n) FAULT_FAIL_(FAULT_ALLOC, ENOMEM, (void *)0, malloc(n))
#define calloc(n, s) FAULT_FAIL_(FAULT_ALLOC, ENOMEM, (void *)0, calloc(n, s))
#define realloc(p, n) FAULT_FAIL_(FAULT_ALLOC, ENOMEM, (void *)0, realloc(p, n))
#define strdup(s) FAULT_FAIL_(FAULT_ALLOC, ENOMEM, (char *)0, strdup(s))
#define strndup(s, n) FAULT_FAIL_(FAULT_ALLOC, ENOMEM, (char *)0, strndup(s, n))
#define asprintf(ret, ...) FAULT_FAIL_(FAULT_ALLOC, ENOMEM, -1, asprintf(ret, __VA_ARGS__))
/* only copies of stack blocks allocate (fault_block_allocates) */
#undef Block_copy
#define Block_copy(...)                                                                  \
	((fault_block_allocates((const void *)(__VA_ARGS__)) && fault_hit(FAULT_ALLOC))  \
		 ? (errno = ENOMEM, (__typeof(__VA_ARGS__))0)                            \
		 : (__typeof(__VA_ARGS__))_Block_copy((const void *)(__VA_ARGS__)))

#define socket(...) FAULT_FAIL_(FAULT_SOCKET, EMFILE, -1, socket(__VA_ARGS__))
#define socketpair(...) FAULT_FAIL_(FAULT_SOCKETPAIR, EMFILE, -1, socketpair(__VA_ARGS__))
#define accept4(...) FAULT_FAIL_(FAULT_ACCEPT, EMFILE, -1, accept4(__VA_ARGS__))
#define memfd_create(...) FAULT_FAIL_(FAULT_MEMFD, EMFILE, -1, memfd_create(__VA_ARGS__))
#define mmap(...) FAULT_FAIL_(FAULT_MMAP, ENOMEM, MAP_FAILED, mmap(__VA_ARGS__))
#define sendmsg(...) FAULT_FAIL_(FAULT_SENDMSG, ENOBUFS, (ssize_t)-1, sendmsg(__VA_ARGS__))
#define recvmsg(...) FAULT_FAIL_(FAULT_RECVMSG, ENOMEM, (ssize_t)-1, recvmsg(__VA_ARGS__))
/* only the duplicating commands count */
#define fcntl(fd, cmd, ...)                                                      \
	((((cmd) == F_DUPFD || (cmd) == F_DUPFD_CLOEXEC) && fault_hit(FAULT_DUP)) \
		 ? (errno = EMFILE, -1)                                           \
		 : fcntl(fd, cmd, ##__VA_ARGS__))
#define dup(fd) FAULT_FAIL_(FAULT_DUP, EMFILE, -1, dup(fd))
#define dup2(a, b) FAULT_FAIL_(FAULT_DUP, EMFILE, -1, dup2(a, b))
#define pthread_create(...) FAULT_FAIL_(FAULT_THREAD, EAGAIN, EAGAIN, pthread_create(__VA_ARGS__))

#endif
