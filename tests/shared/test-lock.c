/* SPDX-License-Identifier: MIT */
/*
 * test-lock.c - shared/lock.h: lock_held() follows lock, unlock, a
 * condition wait and another thread's ownership, for a default and an
 * error-checking mutex, and write-locking and unlocking a rwlock (a
 * connection's rx.lock is one: lock.h); with XPC_LOCK_CHECKS, lock_assert_held() aborts
 * when the caller does not hold the lock.  The checks are forced on here
 * whatever the build type (meson.build enables them in debug and
 * sanitizer builds only).
 */
#ifndef XPC_LOCK_CHECKS
#define XPC_LOCK_CHECKS 1
#endif

#include <time.h>

#include "abort-child.h"
#include "shared/lock.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t step_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t step_cv = PTHREAD_COND_INITIALIZER;
static int step;

static void set_step(int s)
{
	pthread_mutex_lock(&step_lock);
	step = s;
	pthread_cond_broadcast(&step_cv);
	pthread_mutex_unlock(&step_lock);
}

static void wait_step(int s)
{
	pthread_mutex_lock(&step_lock);
	while (step != s)
		pthread_cond_wait(&step_cv, &step_lock);
	pthread_mutex_unlock(&step_lock);
}

/* Holds @m from step 1 to step 2. */
static void *holder(void *arg)
{
	pthread_mutex_lock(&m);
	CHECK(lock_held(&m));
	set_step(1);
	wait_step(2);
	pthread_mutex_unlock(&m);
	return arg;
}

static void test_other_thread(void)
{
	pthread_t t;

	REQUIRE(pthread_create(&t, NULL, holder, NULL) == 0);
	wait_step(1);
#ifdef __GLIBC__
	CHECK(!lock_held(&m)); /* held, but not by us */
	CHECK(lock_not_held(&m));
#endif
	set_step(2);
	pthread_join(t, NULL);
}

static void test_held(pthread_mutex_t *mx)
{
	struct timespec ts;

#ifdef __GLIBC__
	CHECK(!lock_held(mx));
#endif
	pthread_mutex_lock(mx);
	CHECK(lock_held(mx));
	lock_assert_held(mx);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&cv, mx, &ts); /* times out, holds it again */
	CHECK(lock_held(mx));
	pthread_mutex_unlock(mx);
	lock_assert_not_held(mx);
#ifdef __GLIBC__
	CHECK(!lock_held(mx));
#endif
}

/* A rwlock counts as held while this thread has it write-locked. */
static void test_wrlock(void)
{
	pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

	REQUIRE(pthread_rwlock_trywrlock(&rw) == 0);
	CHECK(lock_held(&rw));
	lock_assert_held(&rw);
	pthread_rwlock_unlock(&rw);
	lock_assert_not_held(&rw);
	pthread_rwlock_wrlock(&rw);
	CHECK(lock_held(&rw));
	pthread_rwlock_unlock(&rw);
#ifdef __GLIBC__
	CHECK(!lock_held(&rw));
	CHECK(lock_not_held(&rw));
#endif
	pthread_rwlock_destroy(&rw);
}

static void assert_unheld(void)
{
	lock_assert_held(&m);
}

static void assert_not_held_while_held(void)
{
	pthread_mutex_lock(&m);
	lock_assert_not_held(&m);
}

int main(void)
{
	pthread_mutexattr_t a;
	pthread_mutex_t ec;
	char out[1024];

	harness_begin(30);
	test_held(&m);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&ec, &a);
	pthread_mutexattr_destroy(&a);
	test_held(&ec);
	pthread_mutex_destroy(&ec);
	test_other_thread();
	test_wrlock();
#ifdef __GLIBC__
	CHECK(abort_child_run(assert_unheld, out, sizeof(out)));
	CHECK(strstr(out, "assertion failed: lock_held(&m)") != NULL);
	CHECK(abort_child_run(assert_not_held_while_held, out, sizeof(out)));
	CHECK(strstr(out, "assertion failed: lock_not_held(&m)") != NULL);
#endif
	return harness_end();
}
