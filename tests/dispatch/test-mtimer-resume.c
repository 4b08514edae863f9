/* SPDX-License-Identifier: MIT */
/*
 * test-mtimer-resume.c - a cancelled manager timer taken back without the
 * timers' lock (src/dispatch/mtimer.c, manager_timer_resume): only while it
 * is still in the heaps and the timerfd is set within the window asked
 * for, and a timer taken back fires.  A cancelled timer that the manager
 * has dropped (its deadline passed) is never taken back: it would stay
 * pending outside the heaps and never fire.  No timing bound: the waits
 * are for events, with the harness's overall timeout.
 */
#include "dispatch/manager.h"
#include "harness.h"
#include "shared/clock.h"

#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <unistd.h>

#define HOUR (3600 * NSEC_PER_SEC)

static atomic_int fired_a, fired_b;

static void fire_a(ManagerTimer *t, uint64_t count)
{
	(void)t;
	(void)count;
	atomic_fetch_add(&fired_a, 1);
}

static void fire_b(ManagerTimer *t, uint64_t count)
{
	(void)t;
	(void)count;
	atomic_fetch_add(&fired_b, 1);
}

static void wait_for(atomic_int *n, int want)
{
	while (atomic_load(n) < want)
		usleep(1000);
}

static void noop(void *ctx)
{
	dispatch_semaphore_signal(ctx);
}

/* The manager thread runs, and no other timer of this process is armed. */
static void start_manager(void)
{
	dispatch_semaphore_t s = dispatch_semaphore_create(0);

	dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, NSEC_PER_MSEC), dispatch_get_global_queue(0, 0), s, noop);
	dispatch_semaphore_wait(s, DISPATCH_TIME_FOREVER);
	dispatch_release(s);
}

/* The window: the timerfd is set to deadline + leeway of the only timer. */
static void test_window(void)
{
	ManagerTimer t = {.fire = fire_a};
	uint64_t d = clock_monotonic_ns() + HOUR, at = d + NSEC_PER_SEC;

	CHECK(manager_timer_arm(&t, d, 0, NSEC_PER_SEC) == 0);
	CHECK(manager_timer_resume(&t, d, at) == 0); /* pending: not cancelled */
	CHECK(manager_timer_cancel(&t) == 1);
	CHECK(manager_timer_resume(&t, at + 1, at + HOUR) == 0); /* set before the deadline */
	CHECK(manager_timer_resume(&t, d - HOUR, at - 1) == 0);  /* after the latest time */
	CHECK(manager_timer_resume(&t, at, at) == 1);
	CHECK(manager_timer_cancel(&t) == 1); /* pending again */
	CHECK(manager_timer_disarm(&t) == 0); /* cancelled: out of the heaps now */
	CHECK(manager_timer_resume(&t, 0, UINT64_MAX - 1) == 0);
	CHECK(atomic_load(&fired_a) == 0);
}

/* A timer taken back fires (at the timerfd's setting). */
static void test_fires(void)
{
	ManagerTimer t = {.fire = fire_a};
	uint64_t d = clock_monotonic_ns() + 20 * NSEC_PER_MSEC;

	CHECK(manager_timer_arm(&t, d, 0, 0) == 0);
	CHECK(manager_timer_cancel(&t) == 1);
	CHECK(manager_timer_resume(&t, d, d) == 1);
	wait_for(&fired_a, 1);
	CHECK(manager_timer_resume(&t, 0, UINT64_MAX - 1) == 0); /* fired: out of the heaps */
}

/* A cancelled timer whose deadline passed leaves the heaps unfired, and is
 * not taken back then; b, due just after it, shows the manager went past
 * it. */
static void test_dropped(void)
{
	ManagerTimer a = {.fire = fire_a}, b = {.fire = fire_b};
	uint64_t d = clock_monotonic_ns() + 10 * NSEC_PER_MSEC;
	int before = atomic_load(&fired_a);

	CHECK(manager_timer_arm(&a, d, 0, 0) == 0);
	CHECK(manager_timer_arm(&b, d + 1, 0, 0) == 0);
	CHECK(manager_timer_cancel(&a) == 1);
	wait_for(&fired_b, 1);
	CHECK(manager_timer_resume(&a, 0, UINT64_MAX - 1) == 0);
	CHECK(atomic_load(&fired_a) == before);
	CHECK(manager_timer_disarm(&a) == 0 && manager_timer_disarm(&b) == 0);
}

int main(void)
{
	start_manager(); /* (its descriptors stay: before the harness's count) */
	harness_begin(60);
	test_window();
	test_fires();
	test_dropped();
	return harness_end();
}
