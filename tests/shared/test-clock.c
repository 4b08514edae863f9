/* SPDX-License-Identifier: MIT */
/*
 * test-clock.c - shared/clock.h: each function agrees with clock_gettime()
 * of its clock, the monotonic clock does not go back, clock_seconds_since()
 * measures from a reading (and from one in the future, below zero), and
 * clock_timespec() is the inverse of the folding.  shared/vdso.h finds the
 * vDSO's clock_gettime (which clock.c reads the clocks with) where the
 * kernel maps a vDSO, and nothing for a name it does not define.
 */
#include <sys/auxv.h>
#include <time.h>

#include "harness.h"
#include "shared/clock.h"
#include "shared/vdso.h"

static uint64_t ts_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* @get() lies between two direct reads of @clk (the coarse clock may lag
 * a direct read by its resolution, so allow @slack). */
static void check_between(uint64_t (*get)(void), clockid_t clk, uint64_t slack)
{
	uint64_t a = ts_ns(clk), v = get(), b = ts_ns(clk);

	CHECK(v + slack >= a);
	CHECK(v <= b + slack);
}

typedef int (*ClockFn)(clockid_t, struct timespec *);

/* The vDSO's clock_gettime reads the same clock as libc's. */
static void test_vdso(void)
{
	ClockFn f = NULL;
	struct timespec ts;
	uint64_t a, v, b;

	CHECK(vdso_symbol("xpc_no_such_function") == NULL);
	CHECK(vdso_symbol("__vdso_clock_gettim") == NULL); /* a prefix is not a match */
#if defined(__x86_64__) && !defined(__ILP32__)
	f = (ClockFn)vdso_symbol("__vdso_clock_gettime");
#elif defined(__aarch64__)
	f = (ClockFn)vdso_symbol("__kernel_clock_gettime");
#endif
	if (!getauxval(AT_SYSINFO_EHDR) || !f) /* valgrind hides it; other CPUs */
		return;
	a = ts_ns(CLOCK_MONOTONIC);
	CHECK_EQ_INT(f(CLOCK_MONOTONIC, &ts), 0);
	b = ts_ns(CLOCK_MONOTONIC);
	v = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	CHECK(a <= v && v <= b);
}

int main(void)
{
	uint64_t prev = 0;
	struct timespec res, ts;

	harness_begin(30);
	check_between(clock_monotonic_ns, CLOCK_MONOTONIC, 0);
	check_between(clock_realtime_ns, CLOCK_REALTIME, 0);
	clock_getres(CLOCK_MONOTONIC_COARSE, &res);
	check_between(clock_coarse_ns, CLOCK_MONOTONIC_COARSE, 0);
	check_between(clock_coarse_ns, CLOCK_MONOTONIC, 2 * ((uint64_t)res.tv_sec * 1000000000ull + (uint64_t)res.tv_nsec));
	for (int i = 0; i < 10000; i++) {
		uint64_t now = clock_monotonic_ns();

		CHECK(now >= prev);
		prev = now;
	}
	prev = clock_monotonic_ns();
	CHECK(clock_seconds_since(prev) >= 0);
	CHECK(clock_seconds_since(prev) < 60); /* generous: a loaded machine */
	CHECK(clock_seconds_since(prev - 5 * CLOCK_NSEC_PER_SEC) >= 5);
	CHECK(clock_seconds_since(prev + 3600 * CLOCK_NSEC_PER_SEC) < -3000);
	CHECK(clock_seconds_since(0) > 0);
	CHECK(clock_realtime_ns() > 1500000000ull * CLOCK_NSEC_PER_SEC); /* after 2017 */
	ts = clock_timespec(5 * CLOCK_NSEC_PER_SEC + 123);
	CHECK_EQ_INT(ts.tv_sec, 5);
	CHECK_EQ_INT(ts.tv_nsec, 123);
	ts = clock_timespec(999999999);
	CHECK_EQ_INT(ts.tv_sec, 0);
	CHECK_EQ_INT(ts.tv_nsec, 999999999);
	test_vdso();
	return harness_end();
}
