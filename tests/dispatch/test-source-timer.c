/* SPDX-License-Identifier: MIT */
/*
 * test-source-timer.c - TIMER sources: repeating with a count in
 * get_data, one-shot, registration handler before the first event,
 * suspension accumulating fires, re-arming with set_timer, the cancel
 * handler running exactly once and no event after it, and no descriptor
 * left behind.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

static void test_repeating(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.timer", NULL);
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);
	dispatch_semaphore_t five = dispatch_semaphore_create(0), cancelled = dispatch_semaphore_create(0);
	__block int fires = 0, registered = 0, bad = 0, cancels = 0, after_cancel = 0;

	REQUIRE(t != NULL);
	dispatch_source_set_timer(t, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_MSEC), 10 * NSEC_PER_MSEC,
				  NSEC_PER_MSEC);
	dispatch_source_set_registration_handler(t, ^{
		registered = 1;
	});
	dispatch_source_set_event_handler(t, ^{
		if (!registered || dispatch_source_get_data(t) < 1)
			bad++;
		if (cancels)
			after_cancel++;
		fires += (int)dispatch_source_get_data(t);
		if (fires >= 5 && fires - (int)dispatch_source_get_data(t) < 5)
			dispatch_semaphore_signal(five);
	});
	dispatch_source_set_cancel_handler(t, ^{
		cancels++;
		dispatch_semaphore_signal(cancelled);
	});
	usleep(30000);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(fires, 0); /* created inactive */
	});
	dispatch_resume(t);
	CHECK_EQ_INT(dispatch_semaphore_wait(five, SEC(10)), 0);
	dispatch_source_cancel(t);
	dispatch_source_cancel(t);
	CHECK(dispatch_source_testcancel(t));
	CHECK_EQ_INT(dispatch_semaphore_wait(cancelled, SEC(10)), 0);
	usleep(50000);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(cancels, 1);
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(after_cancel, 0);
	});
	dispatch_release(t);
	dispatch_release(q);
	dispatch_release(five);
	dispatch_release(cancelled);
}

static void test_oneshot_suspend(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.timer2", NULL);
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, DISPATCH_TIMER_STRICT, q);
	dispatch_semaphore_t s = dispatch_semaphore_create(0);
	__block atomic_int fires = 0;
	__block uintptr_t data = 0;

	dispatch_source_set_event_handler(t, ^{
		data = dispatch_source_get_data(t);
		atomic_fetch_add(&fires, 1);
		dispatch_semaphore_signal(s);
	});
	dispatch_source_set_timer(t, dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_MSEC), DISPATCH_TIME_FOREVER, 0);
	dispatch_activate(t);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, SEC(10)), 0);
	usleep(100000);
	CHECK_EQ_INT(atomic_load(&fires), 1); /* one-shot */

	/* Suspended: fires accumulate into one delivery after resume. */
	dispatch_suspend(t);
	dispatch_source_set_timer(t, DISPATCH_TIME_NOW, 10 * NSEC_PER_MSEC, 0);
	usleep(150000);
	CHECK_EQ_INT(atomic_load(&fires), 1);
	dispatch_resume(t);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK(data >= 3);
	});
	/* Disarm with FOREVER. */
	dispatch_source_set_timer(t, DISPATCH_TIME_FOREVER, 0, 0);
	usleep(30000);
	int n = atomic_load(&fires);
	usleep(100000);
	CHECK_EQ_INT(atomic_load(&fires), n);
	dispatch_source_cancel(t);
	dispatch_release(t);
	dispatch_release(q);
	dispatch_release(s);
}

static void test_many_cancel(void)
{
	enum { N = 50 };
	dispatch_queue_t q = dispatch_queue_create("t.many", DISPATCH_QUEUE_CONCURRENT);
	dispatch_group_t g = dispatch_group_create();
	__block atomic_int cancels = 0;

	for (int i = 0; i < N; i++) {
		dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);
		dispatch_group_enter(g);
		dispatch_source_set_timer(t, DISPATCH_TIME_NOW, NSEC_PER_MSEC, 0);
		dispatch_source_set_event_handler(t, ^{
			dispatch_source_cancel(t);
		});
		dispatch_source_set_cancel_handler(t, ^{
			atomic_fetch_add(&cancels, 1);
			dispatch_group_leave(g);
		});
		if (i % 5 == 0)
			dispatch_source_cancel(t); /* before activation */
		dispatch_resume(t);
		dispatch_release(t);
	}
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(20)), 0);
	usleep(50000);
	CHECK_EQ_INT(atomic_load(&cancels), N);
	dispatch_release(g);
	dispatch_release(q);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_repeating();
	test_oneshot_suspend();
	test_many_cancel();
	return harness_end();
}
