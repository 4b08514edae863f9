/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/time.h> - dispatch_time_t: CLOCK_MONOTONIC nanoseconds below
 * 2^63, wall-clock times (dispatch_walltime) stored negated, as GCD does.
 */
#ifndef __DISPATCH_TIME__
#define __DISPATCH_TIME__

#include <dispatch/base.h>

DISPATCH_BEGIN_DECLS

typedef uint64_t dispatch_time_t;
#define DISPATCH_TIME_NOW (0ull)
#define DISPATCH_TIME_FOREVER (~0ull)
#define DISPATCH_WALLTIME_NOW (~1ull)
#ifndef NSEC_PER_SEC
#define NSEC_PER_SEC 1000000000ull
#endif
#ifndef NSEC_PER_MSEC
#define NSEC_PER_MSEC 1000000ull
#endif
#ifndef USEC_PER_SEC
#define USEC_PER_SEC 1000000ull
#endif
#ifndef NSEC_PER_USEC
#define NSEC_PER_USEC 1000ull
#endif
#ifndef MSEC_PER_SEC
#define MSEC_PER_SEC 1000ull
#endif

DISPATCH_EXPORT dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta);
DISPATCH_EXPORT dispatch_time_t dispatch_walltime(const struct timespec *when, int64_t delta);

DISPATCH_END_DECLS

#endif /* __DISPATCH_TIME__ */
