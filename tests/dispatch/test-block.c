/* SPDX-License-Identifier: MIT */
/*
 * test-block.c - dispatch block objects: create/perform, wait and notify
 * after the first execution, cancel before running (the body is skipped,
 * waiters still return), DISPATCH_BLOCK_BARRIER on a concurrent queue,
 * invalid flags and QoS refused, a block released without running
 * completing its notification, and the C11 dispatch_wait/notify/cancel/
 * testcancel names.
 */
#include "harness.h"

#include <Block.h>
#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

static void test_wait_notify(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.block", NULL);
	dispatch_semaphore_t gate = dispatch_semaphore_create(0), notified = dispatch_semaphore_create(0);
	__block int ran = 0;
	dispatch_block_t b = dispatch_block_create(0, ^{
		dispatch_semaphore_wait(gate, DISPATCH_TIME_FOREVER);
		ran++;
	});

	REQUIRE(b != NULL);
	dispatch_block_notify(b, q, ^{
		CHECK_EQ_INT(ran, 1);
		dispatch_semaphore_signal(notified);
	});
	dispatch_async(q, b);
	CHECK(dispatch_block_wait(b, dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_MSEC)) != 0);
	dispatch_semaphore_signal(gate);
	CHECK_EQ_INT(dispatch_block_wait(b, SEC(10)), 0);
	CHECK_EQ_INT(dispatch_semaphore_wait(notified, SEC(10)), 0);
	CHECK_EQ_INT(ran, 1);
	CHECK_EQ_INT(dispatch_block_testcancel(b), 0);
	Block_release(b);
	dispatch_release(gate);
	dispatch_release(notified);
	dispatch_release(q);
}

static void test_cancel(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.cancel", NULL);
	__block int ran = 0;
	dispatch_block_t b = dispatch_block_create(0, ^{
		ran++;
	});

	dispatch_suspend(q);
	dispatch_async(q, b);
	dispatch_block_cancel(b);
	CHECK(dispatch_block_testcancel(b) != 0);
	dispatch_resume(q);
	CHECK_EQ_INT(dispatch_block_wait(b, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(ran, 0);
	});
	Block_release(b);
	dispatch_release(q);
}

static void test_barrier_flag(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.bflag", DISPATCH_QUEUE_CONCURRENT);
	__block atomic_int running = 0, bad = 0, done = 0;

	for (int i = 0; i < 20; i++) {
		dispatch_async(q, ^{
			atomic_fetch_add(&running, 1);
			usleep(500);
			atomic_fetch_sub(&running, 1);
		});
	}
	dispatch_block_t b = dispatch_block_create(DISPATCH_BLOCK_BARRIER, ^{
		if (atomic_load(&running) != 0)
			bad++;
		dispatch_assert_queue_barrier(q);
		done = 1;
	});
	dispatch_async(q, b);
	for (int i = 0; i < 20; i++) {
		dispatch_async(q, ^{
			if (!atomic_load(&done))
				bad++;
		});
	}
	dispatch_barrier_sync(q, ^{
	});
	CHECK_EQ_INT(atomic_load(&bad), 0);
	CHECK_EQ_INT(atomic_load(&done), 1);
	Block_release(b);
	dispatch_release(q);
}

static void test_create_variants(void)
{
	__block int n = 0;
	dispatch_block_t b;

	CHECK(dispatch_block_create(0x1000, ^{
	}) == NULL);
	CHECK(dispatch_block_create_with_qos_class(0, 0x7, 0, ^{
	}) == NULL);
	CHECK(dispatch_block_create_with_qos_class(0, QOS_CLASS_UTILITY, 1, ^{
	}) == NULL);
	b = dispatch_block_create_with_qos_class(DISPATCH_BLOCK_DETACHED, QOS_CLASS_UTILITY, -3, ^{
		n++;
	});
	REQUIRE(b != NULL);
	b();
	b(); /* a block object may run again; wait covers the first run */
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(dispatch_block_wait(b, DISPATCH_TIME_NOW), 0);
	Block_release(b);
	dispatch_block_perform(0, ^{
		n++;
	});
	CHECK_EQ_INT(n, 3);
}

/* Released without running: its notification still runs (GCD). */
static void test_release_unrun(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.unrun", NULL);
	dispatch_semaphore_t notified = dispatch_semaphore_create(0);
	dispatch_block_t b = dispatch_block_create(0, ^{
	});

	dispatch_block_notify(b, q, ^{
		dispatch_semaphore_signal(notified);
	});
	Block_release(b);
	CHECK_EQ_INT(dispatch_semaphore_wait(notified, SEC(10)), 0);
	dispatch_release(notified);
	dispatch_release(q);
}

static void test_generic(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.generic", NULL);
	dispatch_group_t g = dispatch_group_create();
	dispatch_semaphore_t s = dispatch_semaphore_create(1);
	dispatch_source_t src = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_ADD, 0, 0, q);
	dispatch_block_t b = dispatch_block_create(0, ^{
	});
	__block int notified = 0;

	CHECK_EQ_INT(dispatch_wait(s, DISPATCH_TIME_NOW), 0);
	CHECK_EQ_INT(dispatch_wait(g, DISPATCH_TIME_NOW), 0);
	dispatch_notify(g, q, ^{
		notified++;
	});
	dispatch_notify(b, q, ^{
		notified++;
	});
	CHECK_EQ_INT(dispatch_testcancel(b), 0);
	dispatch_cancel(b);
	CHECK(dispatch_testcancel(b) != 0);
	dispatch_async(q, b);
	CHECK_EQ_INT(dispatch_wait(b, SEC(10)), 0);
	CHECK_EQ_INT(dispatch_testcancel(src), 0);
	dispatch_cancel(src);
	CHECK(dispatch_testcancel(src) != 0);
	dispatch_activate(src);
	dispatch_barrier_sync(q, ^{
	});
	dispatch_sync(q, ^{
		CHECK_EQ_INT(notified, 2);
	});
	Block_release(b);
	dispatch_release(src);
	dispatch_release(g);
	dispatch_semaphore_signal(s);
	dispatch_release(s);
	dispatch_release(q);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_wait_notify();
	test_cancel();
	test_barrier_flag();
	test_create_variants();
	test_release_unrun();
	test_generic();
	return harness_end();
}
