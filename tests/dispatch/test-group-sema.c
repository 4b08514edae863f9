/* SPDX-License-Identifier: MIT */
/*
 * test-group-sema.c - groups (async, enter/leave, wait with timeout,
 * notify, notify on an empty group) and semaphores (counting, timeout,
 * signal's return value, many waiters).
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)
#define MSEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_MSEC)

static void test_group(void)
{
	dispatch_group_t g = dispatch_group_create();
	dispatch_queue_t q = dispatch_queue_create("t.group", DISPATCH_QUEUE_CONCURRENT);
	dispatch_semaphore_t notified = dispatch_semaphore_create(0);
	__block atomic_int count = 0;

	CHECK_EQ_INT(dispatch_group_wait(g, DISPATCH_TIME_NOW), 0);
	for (int i = 0; i < 100; i++)
		dispatch_group_async(g, q, ^{
			atomic_fetch_add(&count, 1);
		});
	dispatch_group_enter(g);
	CHECK(dispatch_group_wait(g, MSEC(50)) != 0); /* timeout: the enter is open */
	dispatch_group_notify(g, q, ^{
		CHECK_EQ_INT(atomic_load(&count), 101);
		dispatch_semaphore_signal(notified);
	});
	dispatch_async(q, ^{
		atomic_fetch_add(&count, 1);
		dispatch_group_leave(g);
	});
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK_EQ_INT(atomic_load(&count), 101);
	CHECK_EQ_INT(dispatch_semaphore_wait(notified, SEC(10)), 0);
	/* notify on an empty group runs at once */
	dispatch_group_notify_f(g, q, notified, (dispatch_function_t)dispatch_semaphore_signal);
	CHECK_EQ_INT(dispatch_semaphore_wait(notified, SEC(10)), 0);
	/* A group released with a notify pending lives until the notify. */
	dispatch_group_t g2 = dispatch_group_create();
	dispatch_group_enter(g2);
	dispatch_group_notify_f(g2, q, notified, (dispatch_function_t)dispatch_semaphore_signal);
	dispatch_release(g2);
	dispatch_async(q, ^{
		dispatch_group_leave(g2);
	});
	CHECK_EQ_INT(dispatch_semaphore_wait(notified, SEC(10)), 0);
	dispatch_release(g);
	dispatch_release(q);
	dispatch_release(notified);
}

static void test_semaphore(void)
{
	dispatch_semaphore_t s = dispatch_semaphore_create(2);
	dispatch_group_t g = dispatch_group_create();
	__block atomic_int got = 0;

	CHECK(dispatch_semaphore_create(-1) == NULL);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, DISPATCH_TIME_NOW), 0);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, DISPATCH_TIME_NOW), 0);
	CHECK(dispatch_semaphore_wait(s, DISPATCH_TIME_NOW) != 0);
	CHECK(dispatch_semaphore_wait(s, MSEC(30)) != 0);
	CHECK_EQ_INT(dispatch_semaphore_signal(s), 0); /* nobody waiting */
	CHECK_EQ_INT(dispatch_semaphore_wait(s, SEC(1)), 0);
	for (int i = 0; i < 4; i++)
		dispatch_group_async(g, dispatch_get_global_queue(0, 0), ^{
			if (dispatch_semaphore_wait(s, SEC(20)) == 0)
				atomic_fetch_add(&got, 1);
		});
	usleep(50000);
	for (int i = 0; i < 4; i++)
		dispatch_semaphore_signal(s);
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(20)), 0);
	CHECK_EQ_INT(atomic_load(&got), 4);
	CHECK(dispatch_semaphore_wait(s, DISPATCH_TIME_NOW) != 0);
	dispatch_release(s);
	dispatch_release(g);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_group();
	test_semaphore();
	return harness_end();
}
