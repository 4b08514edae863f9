/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the time of day and the time since boot, in nanoseconds.
 *
 * Every layer used to read clock_gettime() and fold the timespec into
 * nanoseconds with its own copy of the same four lines; these are the one
 * copy.  Times are unsigned 64-bit nanoseconds (good for 584 years):
 *
 * - clock_monotonic_ns(): CLOCK_MONOTONIC, for deadlines, timeouts and idle
 *   times (never jumps; the clock dispatch_time() and timerfds use);
 * - clock_coarse_ns(): CLOCK_MONOTONIC_COARSE, a few ms of resolution for a
 *   fraction of the cost, for ageing caches;
 * - clock_realtime_ns(): CLOCK_REALTIME, for dates shown to people and
 *   xpc_date; it can jump, so never measure an interval with it.
 *
 * clock_seconds_since() is the interval from a clock_monotonic_ns() reading
 * to now, in seconds, for throttles and start limits measured in seconds.
 * clock_timespec() turns nanoseconds back into an absolute timespec for
 * the calls that take one (pthread_cond_timedwait, futex, timerfd).
 * The functions cannot fail on Linux; they do not touch errno.
 */
#ifndef XPC_SHARED_CLOCK_H
#define XPC_SHARED_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLOCK_NSEC_PER_SEC 1000000000ull

/* Return: nanoseconds of @clk (any clockid_t), folded from its timespec. */
uint64_t clock_ns(clockid_t clk);
/* Return: CLOCK_MONOTONIC in nanoseconds. */
uint64_t clock_monotonic_ns(void);
/* Return: CLOCK_MONOTONIC_COARSE in nanoseconds. */
uint64_t clock_coarse_ns(void);
/* Return: CLOCK_REALTIME in nanoseconds since the epoch. */
uint64_t clock_realtime_ns(void);
/* Return: seconds from @t0 (a clock_monotonic_ns() reading) to now; 0 for
 * t0 = 0 is the time since boot (longer than any interval that matters). */
double clock_seconds_since(uint64_t t0);
/* Return: @ns as a timespec (seconds and the nanoseconds below one). */
struct timespec clock_timespec(uint64_t ns);

#endif
