/* SPDX-License-Identifier: MIT */
/*
 * mtimer.h - the manager's timers (mtimer.c): a ManagerTimer calls back on
 * the manager thread at its deadline, then every interval.  The layers
 * above reach it through dispatch/runtime.h; dispatch sources are built on
 * it (dsource.c).  Deadlines are CLOCK_MONOTONIC nanoseconds
 * (shared/clock.h clock_monotonic_ns()).
 */
#ifndef XPC_DISPATCH_MTIMER_H
#define XPC_DISPATCH_MTIMER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ManagerTimer ManagerTimer;
struct ManagerTimer {
	/* Manager thread; @count = expirations since the last call. */
	void (*fire)(ManagerTimer *t, uint64_t count);
	/* private (mtimer.c) */
	ManagerTimer *next_fire;
	size_t heap_idx[2];
	uint64_t deadline, interval, leeway, count;
	int armed;          /* in the heaps (under timers.lock) */
	atomic_int pending; /* MTIMER_PENDING, _CANCELLED or _IDLE (mtimer.c) */
};

/* (Re)arms @t for @deadline (CLOCK_MONOTONIC ns), then every @interval ns
 * (0 or DISPATCH_TIME_FOREVER: once), late by at most @leeway (capped at one
 * second and at half the interval) so that timers can be coalesced.  A
 * periodic timer is disarmed by each fire until manager_timer_continue.
 * O(log n).  Any thread.  Return: 0, or -ENOMEM (then @t is not armed). */
int manager_timer_arm(ManagerTimer *t, uint64_t deadline, uint64_t interval, uint64_t leeway);
/* Stores @t's schedule as manager_timer_arm does, disarmed (a suspended
 * source's): manager_timer_continue arms it. */
void manager_timer_set(ManagerTimer *t, uint64_t deadline, uint64_t interval, uint64_t leeway);
/* Arms @t again at its next deadline (the intervals since its last fire
 * count in the next fire's @count); no effect when it is armed or has no
 * next deadline (a one-shot that fired).  Return: 0 or -ENOMEM. */
int manager_timer_continue(ManagerTimer *t);
/* Any thread; a fire already under way on the manager thread may still
 * follow unless this is called on the manager thread.  The schedule is
 * kept for manager_timer_continue.  Return: 1 if @t was armed (its fire
 * will not follow), 0 if not (a once-timer's fire is under way or done). */
int manager_timer_disarm(ManagerTimer *t);
/* As manager_timer_disarm for a once-timer, without the timers' lock: one
 * atomic operation.  The timer stays in the heaps, not to fire, until it is
 * armed again, disarmed, or its deadline passes, so its memory must stay
 * valid until one of these (disarm it before freeing it).  Any thread.
 * Return: 1 if @t was armed (its fire will not follow), 0 if not. */
int manager_timer_cancel(ManagerTimer *t);
/* Makes a timer stopped by manager_timer_cancel pending again, without the
 * timers' lock, if it is still in the heaps and the timerfd is set within
 * [@deadline, @latest]: it then fires at that setting, or earlier (not
 * before its old deadline) if the manager wakes for another timer.  Any
 * thread.  Return: 1 if so; 0 (nothing done): arm it (manager_timer_arm). */
int manager_timer_resume(ManagerTimer *t, uint64_t deadline, uint64_t latest);
/* Counters of the process's timer traffic since it started (tests): the
 * timerfd settings made, and the timers fired. */
typedef struct {
	unsigned long settimes, fires;
} ManagerTimerStats;
void manager_timer_stats(ManagerTimerStats *ret_stats);
/* manager.c -> mtimer.c: the timerfd, and its expiry (manager thread). */
void manager_timers_init(int timerfd);
void manager_timers_fire(void);

#endif
