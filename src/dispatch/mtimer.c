/* SPDX-License-Identifier: MIT */
/*
 * mtimer.c - the manager's timers: two binary heaps over one timerfd.
 *
 * Every armed ManagerTimer sits in two min-heaps (under timers.lock), as in
 * GCD: one ordered by deadline (which timers are due) and one by deadline
 * + leeway (the latest time the timerfd may expire).  Each timer stores its
 * index in both heaps, so arming, disarming and re-arming are O(log n).
 * The timerfd (absolute, CLOCK_MONOTONIC) expires at the smallest deadline
 * + leeway, and is left alone when its current setting suits every timer
 * (not before the first deadline, not after the smallest deadline + leeway).
 * At expiry every timer whose deadline has passed fires, which coalesces
 * timers within their leeway without ever firing early.
 *
 * A timer to fire is MTIMER_PENDING (t->pending): arming sets it, and
 * whoever takes it away first wins, by an atomic operation: the manager
 * thread when it pops the timer to fire it, manager_timer_disarm, or
 * manager_timer_cancel, which leaves the timer in the heaps as
 * MTIMER_CANCELLED (no lock: a sync call stops its connection's
 * lazy-resume timer at every start and arms it again at its end,
 * src/connection/sync.c); such a cancelled timer leaves them when it is
 * armed again, disarmed, or due (then not fired).  manager_timer_resume
 * makes a cancelled timer pending again without the lock when the
 * timerfd's setting (timers.armed_at, also read without the lock) already
 * lies within the new deadline and its leeway: no heap work, no settime.
 * The timer keeps its old place (and deadline) in the heaps, so it fires
 * at that expiry, or earlier if the manager wakes for another timer past
 * its old deadline.  Only a timer in the heaps is PENDING or CANCELLED:
 * whoever takes one out sets MTIMER_IDLE first (an exchange, under
 * timers.lock), so a resume that loses that race fails and never leaves a
 * pending timer outside the heaps.
 *
 * A periodic timer leaves the heaps when it fires: its next deadline is
 * computed (skipping the intervals already counted) but it is armed again
 * only by manager_timer_continue, which a source calls once the fire was
 * delivered to its handler.  So a timer whose owner is suspended, or whose
 * last fire is still undelivered, costs nothing, however short its interval.
 *
 * Checked: the *_locked functions run under timers.lock, and an armed timer
 * is where its two heap indexes say.
 */
#include "dispatch/manager.h"
#include "dispatch/internal.h"
#include "dispatch/dqueue.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>

#define MTIMER_MAX_LEEWAY NSEC_PER_SEC
#define MTIMER_IDLE 0      /* t->pending: no fire to come */
#define MTIMER_PENDING 1   /* ... a fire is to come (in the heaps) */
#define MTIMER_CANCELLED 2 /* ... none, still in the heaps (manager_timer_cancel) */
#define MTIMER_NONE UINT64_MAX /* no next deadline (DISPATCH_TIME_FOREVER) */

typedef struct {
	ManagerTimer **v;
	size_t n, cap;
} TimerHeap;

static struct {
	pthread_mutex_t lock;
	TimerHeap heap[2]; /* 0: by deadline, 1: by deadline + leeway */
	/* the timerfd's setting, UINT64_MAX if not armed (written under the
	 * lock; manager_timer_resume reads it without) */
	_Atomic uint64_t armed_at;
	int fd;
	ManagerTimerStats stats;
} timers = {.lock = PTHREAD_MUTEX_INITIALIZER, .armed_at = UINT64_MAX, .fd = -1};

static uint64_t mtimer_key(const ManagerTimer *t, int k)
{
	uint64_t late = t->deadline + t->leeway;

	if (k == 0)
		return t->deadline;
	return late < t->deadline ? UINT64_MAX : late;
}

static void mtimer_place(TimerHeap *h, int k, size_t i, ManagerTimer *t)
{
	h->v[i] = t;
	t->heap_idx[k] = i;
}

static void mtimer_sift_up(TimerHeap *h, int k, size_t i)
{
	ManagerTimer *t = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (mtimer_key(h->v[parent], k) <= mtimer_key(t, k))
			break;
		mtimer_place(h, k, i, h->v[parent]);
		i = parent;
	}
	mtimer_place(h, k, i, t);
}

static void mtimer_sift_down(TimerHeap *h, int k, size_t i)
{
	ManagerTimer *t = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && mtimer_key(h->v[c + 1], k) < mtimer_key(h->v[c], k))
			c++;
		if (mtimer_key(t, k) <= mtimer_key(h->v[c], k))
			break;
		mtimer_place(h, k, i, h->v[c]);
		i = c;
	}
	mtimer_place(h, k, i, t);
}

/* Makes room for one more timer in both heaps.  Return: 0 or -ENOMEM. */
static int mtimer_reserve(void)
{
	for (int k = 0; k < 2; k++) {
		TimerHeap *h = &timers.heap[k];
		size_t cap = h->cap ? h->cap * 2 : 64;
		ManagerTimer **v;

		if (h->n < h->cap)
			continue;
		v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	return 0;
}

/* Called with timers.lock held, @t not armed. */
static int mtimer_insert_locked(ManagerTimer *t)
{
	lock_assert_held(&timers.lock);
	if (mtimer_reserve() < 0)
		return -ENOMEM;
	for (int k = 0; k < 2; k++) {
		TimerHeap *h = &timers.heap[k];

		mtimer_place(h, k, h->n++, t);
		mtimer_sift_up(h, k, h->n - 1);
	}
	t->armed = 1;
	atomic_store_explicit(&t->pending, MTIMER_PENDING, memory_order_relaxed);
	return 0;
}

/* Under timers.lock, before @t leaves the heaps: takes its fire away
 * (cancelled or not).  Return: 1 if it was still to come. */
static int mtimer_take_pending_locked(ManagerTimer *t)
{
	lock_assert_held(&timers.lock);
	return atomic_exchange(&t->pending, MTIMER_IDLE) == MTIMER_PENDING;
}

/* Called with timers.lock held. */
static void mtimer_unlink_locked(ManagerTimer *t)
{
	lock_assert_held(&timers.lock);
	if (!t->armed)
		return;
	for (int k = 0; k < 2; k++) {
		TimerHeap *h = &timers.heap[k];
		size_t i = t->heap_idx[k];

		xpc_assert(i < h->n && h->v[i] == t); /* an armed timer is in both heaps */
		if (i == --h->n)
			continue;
		mtimer_place(h, k, i, h->v[h->n]);
		mtimer_sift_down(h, k, i);
		mtimer_sift_up(h, k, i); /* a no-op when it moved down */
	}
	t->armed = 0;
}

/* Called with timers.lock held: see the header of this file. */
static void mtimer_program_locked(void)
{
	struct itimerspec its = {{0, 0}, {0, 0}};
	uint64_t first, best, at = atomic_load_explicit(&timers.armed_at, memory_order_relaxed);

	lock_assert_held(&timers.lock);
	if (timers.heap[0].n == 0)
		return; /* one wake-up for nothing is cheaper than a settime */
	first = timers.heap[0].v[0]->deadline;
	best = mtimer_key(timers.heap[1].v[0], 1);
	if (at != UINT64_MAX && at >= first && at <= best)
		return;
	atomic_store_explicit(&timers.armed_at, best, memory_order_relaxed);
	if (best == 0)
		best = 1;
	its.it_value.tv_sec = (time_t)(best / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(best % NSEC_PER_SEC);
	timerfd_settime(timers.fd, TFD_TIMER_ABSTIME, &its, NULL);
	timers.stats.settimes++;
}

/* Called with timers.lock held: stores @t's schedule (leeway capped). */
static void mtimer_store_locked(ManagerTimer *t, uint64_t deadline, uint64_t interval, uint64_t leeway)
{
	lock_assert_held(&timers.lock);
	mtimer_take_pending_locked(t); /* (armed again below, or not at all) */
	mtimer_unlink_locked(t);
	t->deadline = deadline;
	t->interval = interval == DISPATCH_TIME_FOREVER ? 0 : interval;
	t->leeway = leeway > MTIMER_MAX_LEEWAY ? MTIMER_MAX_LEEWAY : leeway;
	if (t->interval && t->leeway > t->interval / 2)
		t->leeway = t->interval / 2;
}

int manager_timer_arm(ManagerTimer *t, uint64_t deadline, uint64_t interval, uint64_t leeway)
{
	int r = 0;

	pthread_mutex_lock(&timers.lock);
	mtimer_store_locked(t, deadline, interval, leeway);
	if (deadline != MTIMER_NONE)
		r = mtimer_insert_locked(t);
	mtimer_program_locked();
	pthread_mutex_unlock(&timers.lock);
	return r;
}

void manager_timer_set(ManagerTimer *t, uint64_t deadline, uint64_t interval, uint64_t leeway)
{
	pthread_mutex_lock(&timers.lock);
	mtimer_store_locked(t, deadline, interval, leeway);
	pthread_mutex_unlock(&timers.lock);
}

int manager_timer_continue(ManagerTimer *t)
{
	int r = 0;

	pthread_mutex_lock(&timers.lock);
	if (!t->armed && t->deadline != MTIMER_NONE) {
		r = mtimer_insert_locked(t);
		mtimer_program_locked();
	}
	pthread_mutex_unlock(&timers.lock);
	return r;
}

int manager_timer_disarm(ManagerTimer *t)
{
	int was;

	pthread_mutex_lock(&timers.lock);
	was = mtimer_take_pending_locked(t);
	mtimer_unlink_locked(t);
	pthread_mutex_unlock(&timers.lock);
	return was;
}

int manager_timer_cancel(ManagerTimer *t)
{
	int expected = MTIMER_PENDING;

	return atomic_compare_exchange_strong(&t->pending, &expected, MTIMER_CANCELLED);
}

int manager_timer_resume(ManagerTimer *t, uint64_t deadline, uint64_t latest)
{
	uint64_t at = atomic_load_explicit(&timers.armed_at, memory_order_relaxed);
	int expected = MTIMER_CANCELLED;

	if (at < deadline || at > latest) /* (UINT64_MAX: not armed) */
		return 0;
	return atomic_compare_exchange_strong(&t->pending, &expected, MTIMER_PENDING);
}

/* Called with timers.lock held: takes the earliest timer out, due at @now,
 * dropping the cancelled ones on the way (manager_timer_cancel). */
static ManagerTimer *mtimer_pop_due_locked(uint64_t now)
{
	ManagerTimer *t;
	int fire;

	lock_assert_held(&timers.lock);
	do {
		if (timers.heap[0].n == 0 || timers.heap[0].v[0]->deadline > now)
			return NULL;
		t = timers.heap[0].v[0];
		fire = mtimer_take_pending_locked(t);
		mtimer_unlink_locked(t);
	} while (!fire);
	t->count = 1;
	if (t->interval) {
		t->count += (now - t->deadline) / t->interval;
		t->deadline += t->count * t->interval;
	} else {
		t->deadline = MTIMER_NONE;
	}
	return t;
}

void manager_timers_fire(void)
{
	ManagerTimer *fire = NULL, **tail = &fire, *t, *next;
	uint64_t now = dobject_now_ns();

	pthread_mutex_lock(&timers.lock);
	/* it expired: a one-shot timerfd disarms itself */
	atomic_store_explicit(&timers.armed_at, UINT64_MAX, memory_order_relaxed);
	while ((t = mtimer_pop_due_locked(now))) { /* fired in deadline order */
		t->next_fire = NULL;
		timers.stats.fires++;
		*tail = t;
		tail = &t->next_fire;
	}
	mtimer_program_locked();
	pthread_mutex_unlock(&timers.lock);
	for (t = fire; t; t = next) {
		next = t->next_fire;
		t->fire(t, t->count);
	}
}

void manager_timer_stats(ManagerTimerStats *ret_stats)
{
	pthread_mutex_lock(&timers.lock);
	*ret_stats = timers.stats;
	pthread_mutex_unlock(&timers.lock);
}

void manager_timers_init(int timerfd)
{
	timers.fd = timerfd;
}
