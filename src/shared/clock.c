/* SPDX-License-Identifier: MIT */
/*
 * clock.c - clock_gettime() in nanoseconds (the model and the choice of
 * clocks: clock.h).
 */
#include "shared/clock.h"

uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * CLOCK_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t clock_coarse_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

uint64_t clock_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

double clock_seconds_since(uint64_t t0)
{
	return (double)(int64_t)(clock_monotonic_ns() - t0) / 1e9;
}

struct timespec clock_timespec(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / CLOCK_NSEC_PER_SEC),
		.tv_nsec = (long)(ns % CLOCK_NSEC_PER_SEC),
	};

	return ts;
}
