/* SPDX-License-Identifier: MIT */
/*
 * lock.h - lock_assert_held(): a *_locked function states that its caller
 * holds the lock, in debug and sanitizer builds, at no cost in release.
 *
 * The model is the kernel's lockdep_assert_held().  The name suffix
 * `_locked` is a promise the compiler cannot check; this makes the debug
 * build (meson -Dbuildtype=debug, which the ASan and TSan builds of the
 * Makefile use) and any -Db_sanitize build check it.  meson.build defines
 * XPC_LOCK_CHECKS for those; without it the macros expand to nothing that
 * is evaluated.
 *
 * How: glibc records the owner of every pthread mutex, whatever its type,
 * as the kernel thread id in the mutex itself (__data.__owner, set by
 * pthread_mutex_lock and cleared by unlock, the condition waits
 * included).  No wrapper type and no change to the mutexes is needed.
 * Elsewhere than glibc the checks are skipped (lock_held() is true).
 * The field is read with a relaxed atomic load, so asking about a mutex
 * another thread holds is not a data race.  A write-locked rwlock (a
 * connection's rx.lock) is checked the same way through its writer's
 * thread id (__data.__cur_writer); the macros pick by the pointer's type.
 */
#ifndef XPC_SHARED_LOCK_H
#define XPC_SHARED_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "shared/assert.h"

#ifdef __GLIBC__
/* Where glibc keeps the thread id of @m's owner, and of @rw's writer. */
static inline int *mutex_owner(pthread_mutex_t *m)
{
	return &m->__data.__owner;
}

static inline int *wrlock_owner(pthread_rwlock_t *rw)
{
	return &rw->__data.__cur_writer;
}

/* True if the owner recorded at @owner is the calling thread. */
static inline bool lock_owner_is_self(int *owner)
{
	return __atomic_load_n(owner, __ATOMIC_RELAXED) == (int)gettid();
}

/* Whether the calling thread holds @m (a mutex, or a rwlock it
 * write-locked), or does not. */
#define lock_held(m) lock_owner_is_self(_Generic((m), pthread_rwlock_t *: wrlock_owner, default: mutex_owner)(m))
#define lock_not_held(m) (!lock_held(m))
#else
/* Off glibc nothing is known: both are true. */
#define lock_held(m) ((void)(m), true)
#define lock_not_held(m) ((void)(m), true)
#endif

#ifdef XPC_LOCK_CHECKS
/* Aborts (xpc_assert) unless the caller holds @m. */
#define lock_assert_held(m) xpc_assert(lock_held(m))
/* Aborts unless the caller does not hold @m (before taking it, or calling
 * out to code that may). */
#define lock_assert_not_held(m) xpc_assert(lock_not_held(m))
#else
#define lock_assert_held(m) ((void)sizeof(m))
#define lock_assert_not_held(m) ((void)sizeof(m))
#endif

#endif
