/* SPDX-License-Identifier: MIT */
/*
 * test-time.c - dispatch_time/dispatch_walltime arithmetic and
 * dispatch_after timing (generous bounds: never early, not absurdly late).
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void test_time(void)
{
	dispatch_time_t t0 = dispatch_time(DISPATCH_TIME_NOW, 0);
	dispatch_time_t t1 = dispatch_time(t0, NSEC_PER_SEC);

	CHECK(t1 - t0 == NSEC_PER_SEC);
	CHECK(dispatch_time(DISPATCH_TIME_FOREVER, 5) == DISPATCH_TIME_FOREVER);
	CHECK(dispatch_time(t0, INT64_MAX) == DISPATCH_TIME_FOREVER);
	CHECK(dispatch_time(t0, INT64_MIN) >= 1 && dispatch_time(t0, INT64_MIN) < t0);
	CHECK((int64_t)dispatch_time(0x8000000000000000ull, 1) < 0); /* extreme wall time stays wall */
	CHECK((int64_t)dispatch_walltime(NULL, 0) < 0);
	struct timespec ts = {1000, 0};
	dispatch_time_t w = dispatch_walltime(&ts, NSEC_PER_SEC);
	CHECK(-(int64_t)w == 1001 * (int64_t)NSEC_PER_SEC);
	CHECK(dispatch_time(w, NSEC_PER_SEC) == dispatch_walltime(&ts, 2 * NSEC_PER_SEC));
}

static void test_after(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.after", NULL);
	dispatch_semaphore_t s = dispatch_semaphore_create(0);
	static uint64_t fired[3];
	uint64_t start = now_ns();

	dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 200 * NSEC_PER_MSEC), q, ^{
		fired[2] = now_ns();
		dispatch_semaphore_signal(s);
	});
	dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 50 * NSEC_PER_MSEC), q, ^{
		fired[0] = now_ns();
		dispatch_semaphore_signal(s);
	});
	dispatch_after(dispatch_walltime(NULL, 100 * NSEC_PER_MSEC), q, ^{
		fired[1] = now_ns();
		dispatch_semaphore_signal(s);
	});
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(dispatch_semaphore_wait(s, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)), 0);
	dispatch_sync(q, ^{
		CHECK(fired[0] >= start + 50 * NSEC_PER_MSEC);
		CHECK(fired[1] >= start + 95 * NSEC_PER_MSEC); /* wall and monotonic clocks differ slightly */
		CHECK(fired[2] >= start + 200 * NSEC_PER_MSEC);
		CHECK(fired[0] < fired[1] && fired[1] < fired[2]);
		CHECK(fired[2] < start + 5 * NSEC_PER_SEC);
	});
	/* FOREVER never fires; NOW runs soon. */
	dispatch_after(DISPATCH_TIME_FOREVER, q, ^{
		CHECK(0);
	});
	dispatch_after_f(DISPATCH_TIME_NOW, q, s, (dispatch_function_t)dispatch_semaphore_signal);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)), 0);
	dispatch_release(q);
	dispatch_release(s);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_time();
	test_after();
	return harness_end();
}
