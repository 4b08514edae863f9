/* SPDX-License-Identifier: MIT */
/*
 * test-source-timer-many.c - timers at scale and suspended timers: a
 * suspended fast timer uses no CPU, 10000 suspended timers are set up in
 * well under a second, 2000 live timers all fire, and a resumed timer
 * reports the intervals it missed while suspended in its data.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static dispatch_source_t fast_timer(dispatch_queue_t q, uint64_t interval_ns, atomic_int *fires)
{
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);

	REQUIRE(t != NULL);
	dispatch_source_set_timer(t, DISPATCH_TIME_NOW, interval_ns, 0);
	dispatch_source_set_event_handler(t, ^{
		atomic_fetch_add(fires, 1);
	});
	return t;
}

/* One 10 us timer, activated then suspended: one second of it must cost
 * (almost) no CPU (it burnt ~0.9 s per second before). */
static void test_suspended_fast_timer(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.fast", NULL);
	static atomic_int fires;
	dispatch_source_t t = fast_timer(q, 10 * NSEC_PER_USEC, &fires);
	double cpu;
	int before;

	dispatch_resume(t);
	while (atomic_load(&fires) < 10)
		usleep(1000);
	dispatch_suspend(t);
	usleep(20000);
	before = atomic_load(&fires);
	cpu = cpu_seconds();
	usleep(1000000);
	cpu = cpu_seconds() - cpu;
	CHECK(cpu < 0.25);
	CHECK_EQ_INT(atomic_load(&fires), before);
	dispatch_resume(t); /* fires again, with the missed intervals */
	while (atomic_load(&fires) == before)
		usleep(1000);
	dispatch_source_cancel(t);
	dispatch_release(t);
	dispatch_sync(q, ^{
	});
	dispatch_release(q);
}

/* 10000 5 us timers suspended before activation: set up in well under a
 * second (8-70 s for 1000 before), no fire, cheap to cancel. */
static void test_many_suspended(void)
{
	enum { N = 10000 };
	dispatch_queue_t q = dispatch_queue_create("t.many", NULL);
	static atomic_int fires;
	dispatch_source_t *ts = calloc(N, sizeof(*ts));
	double t0 = now_seconds(), cpu = cpu_seconds();

	REQUIRE(ts != NULL);
	for (int i = 0; i < N; i++) {
		ts[i] = fast_timer(q, 5 * NSEC_PER_USEC, &fires);
		dispatch_suspend(ts[i]);
		dispatch_activate(ts[i]);
	}
	CHECK(now_seconds() - t0 < 2.0);
	usleep(300000);
	CHECK(cpu_seconds() - cpu < 1.0);
	CHECK_EQ_INT(atomic_load(&fires), 0);
	for (int i = 0; i < N; i++) {
		dispatch_source_cancel(ts[i]);
		dispatch_resume(ts[i]);
		dispatch_release(ts[i]);
	}
	dispatch_sync(q, ^{
	});
	free(ts);
	dispatch_release(q);
}

/* 2000 one-shot timers at spread deadlines, armed and running at once:
 * every one fires once. */
static void test_many_live(void)
{
	enum { N = 2000 };
	dispatch_queue_t q = dispatch_queue_create("t.live", DISPATCH_QUEUE_CONCURRENT);
	dispatch_group_t g = dispatch_group_create();
	static atomic_int fires;
	dispatch_source_t *ts = calloc(N, sizeof(*ts));

	REQUIRE(ts != NULL);
	for (int i = 0; i < N; i++) {
		dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);

		REQUIRE(t != NULL);
		ts[i] = t;
		dispatch_group_enter(g);
		dispatch_source_set_timer(t, dispatch_time(DISPATCH_TIME_NOW, (int64_t)((N - i) % 97) * 1000000),
					  DISPATCH_TIME_FOREVER, 0);
		dispatch_source_set_event_handler(t, ^{
			atomic_fetch_add(&fires, 1);
			dispatch_source_cancel(t);
		});
		dispatch_source_set_cancel_handler(t, ^{
			dispatch_group_leave(g);
		});
		dispatch_resume(t);
	}
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(30)), 0);
	CHECK_EQ_INT(atomic_load(&fires), N);
	for (int i = 0; i < N; i++)
		dispatch_release(ts[i]);
	free(ts);
	dispatch_release(g);
	dispatch_release(q);
}

/* A 10 ms timer suspended for ~100 ms: the first event after resume
 * reports the intervals missed meanwhile (GCD accumulates them). */
static void test_missed_count(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.missed", NULL);
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);
	dispatch_semaphore_t got = dispatch_semaphore_create(0);
	__block uintptr_t data = 0;

	dispatch_source_set_timer(t, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_MSEC), 10 * NSEC_PER_MSEC, 0);
	dispatch_source_set_event_handler(t, ^{
		data = dispatch_source_get_data(t);
		dispatch_semaphore_signal(got);
	});
	dispatch_suspend(t);
	dispatch_activate(t);
	usleep(100000);
	dispatch_resume(t);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	dispatch_source_cancel(t);
	dispatch_sync(q, ^{
		CHECK(data >= 5);
	});
	dispatch_release(t);
	dispatch_release(got);
	dispatch_release(q);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(90);
	test_suspended_fast_timer();
	test_many_suspended();
	test_many_live();
	test_missed_count();
	return harness_end();
}
