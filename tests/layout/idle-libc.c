/* SPDX-License-Identifier: MIT */
/*
 * idle-libc.c - preloaded into tests/layout/idle-code's client by
 * idle-code.py: counts the calls of the two libc functions an idle client
 * must not make (docs/performance.md, "The idle client"): clock_gettime,
 * whose 64 KiB block of libc's code nothing else a client runs touches
 * (src/shared/clock.c reads the vDSO's instead), and
 * pthread_mutex_trylock, which reads a jump table in such a block of
 * libc's data (a connection's rx.lock is a rwlock instead).  Each call is
 * counted and passed on to libc's function; the client finds the counts
 * with dlsym (idle_libc_clock_calls, idle_libc_trylock_calls).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>

#define IDLE_LIBC_EXPORT __attribute__((visibility("default"))) /* the build hides by default */

IDLE_LIBC_EXPORT long idle_libc_clock_calls;
IDLE_LIBC_EXPORT long idle_libc_trylock_calls;

IDLE_LIBC_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);

	__atomic_fetch_add(&idle_libc_clock_calls, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&real, __ATOMIC_ACQUIRE))
		__atomic_store_n(&real, (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime"),
				 __ATOMIC_RELEASE);
	return real(clk, ts);
}

IDLE_LIBC_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);

	__atomic_fetch_add(&idle_libc_trylock_calls, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&real, __ATOMIC_ACQUIRE))
		__atomic_store_n(&real, (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_trylock"),
				 __ATOMIC_RELEASE);
	return real(m);
}
