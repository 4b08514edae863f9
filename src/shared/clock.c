/* SPDX-License-Identifier: MIT */
/*
 * clock.c - clock_gettime() in nanoseconds (the model and the choice of
 * clocks: clock.h).
 *
 * The clocks are read through the vDSO's clock_gettime (x86-64's
 * __vdso_clock_gettime, arm64's __kernel_clock_gettime), looked up once
 * (vdso.h), and through libc's clock_gettime without one (under valgrind,
 * which hides the vDSO; a kernel without it; other architectures).  libc makes the
 * same vDSO call, but its clock_gettime sits in a 64 KiB block of libc's
 * code that nothing else an idle client runs touches, and the kernel maps
 * a cached file 64 KiB around each faulting page: going around it keeps
 * that block out of every client's resident set (docs/performance.md,
 * "The idle client").  MemorySanitizer builds keep libc's call, whose
 * interceptor marks the timespec written.
 */
#include "shared/clock.h"
#include "shared/vdso.h"

#include <stdatomic.h>

typedef int (*ClockFn)(clockid_t, struct timespec *);

/* The vDSO's name for it where it takes libc's timespec and the C calling
 * convention; elsewhere (i386's 32-bit times, x32, powerpc's own
 * convention) libc's call is kept. */
#if defined(__x86_64__) && !defined(__ILP32__)
#define CLOCK_VDSO_NAME "__vdso_clock_gettime"
#elif defined(__aarch64__)
#define CLOCK_VDSO_NAME "__kernel_clock_gettime"
#else
#define CLOCK_NO_VDSO 1
#endif
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#define CLOCK_NO_VDSO 1
#endif
#endif

/* The function to read a clock with: the vDSO's, else libc's. */
static ClockFn clock_fn(void)
{
#ifdef CLOCK_NO_VDSO
	return clock_gettime;
#else
	static _Atomic(ClockFn) fn;
	ClockFn f = atomic_load_explicit(&fn, memory_order_acquire);

	if (!f) { /* threads racing here all find the same one */
		f = (ClockFn)vdso_symbol(CLOCK_VDSO_NAME);
		if (!f)
			f = clock_gettime;
		atomic_store_explicit(&fn, f, memory_order_release);
	}
	return f;
#endif
}

uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts = {0};

	clock_fn()(clk, &ts);
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
