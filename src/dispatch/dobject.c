/* SPDX-License-Identifier: MIT */
/*
 * dobject.c - what all dispatch objects share: reference counting, context,
 * finalizer, suspend/resume/activate (forwarded to the class), and time.
 *
 * The last dispatch_release disposes of the object; its finalizer, if any,
 * runs afterwards on the object's target queue (GCD's rule), or inline for
 * objects without one.  Static objects are immortal: retain and release do
 * nothing.  Times: a dispatch_time_t below 2^63 is CLOCK_MONOTONIC
 * nanoseconds; a wall-clock time (dispatch_walltime) is stored negated, as
 * GCD does, and converted to the monotonic clock when a wait or timer is
 * armed (so later changes of the wall clock are not followed).
 *
 * The lowest file of the layer: it calls nothing of it.  A finalizer goes
 * to the target through the target's class (DispatchVtable.async, which
 * the queue class fills), so this file need not know queues.
 */
#include "dispatch/internal.h"
#include "shared/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void dobject_init(DispatchHead *head, const DispatchVtable *vt)
{
	head->vt = vt;
	atomic_init(&head->refcnt, 1);
	head->ctx = NULL;
	head->finalizer = NULL;
	atomic_init(&head->target, NULL);
}

void dobject_crash(const char *msg)
{
	static const char prefix[] = "BUG IN CLIENT OF LIBDISPATCH: ";
	ssize_t r;

	r = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
	r = write(STDERR_FILENO, msg, strlen(msg));
	r = write(STDERR_FILENO, "\n", 1);
	(void)r;
	abort();
}

void dobject_retain(void *obj)
{
	DispatchHead *h = obj;

	if (!h || atomic_load_explicit(&h->refcnt, memory_order_relaxed) == DOBJ_IMMORTAL)
		return;
	if (atomic_fetch_add_explicit(&h->refcnt, 1, memory_order_relaxed) <= 0)
		dobject_crash("Resurrection of an object");
}

/* A retain that fails (0) on an object whose last reference is gone. */
int dobject_try_retain(void *obj)
{
	DispatchHead *h = obj;
	int old = atomic_load_explicit(&h->refcnt, memory_order_relaxed);

	if (old == DOBJ_IMMORTAL)
		return 1;
	do {
		if (old <= 0)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(&h->refcnt, &old, old + 1, memory_order_relaxed,
							 memory_order_relaxed));
	return 1;
}

typedef struct {
	dispatch_function_t finalizer;
	void *ctx;
} Finalize;

static void dobject_run_finalizer(void *arg)
{
	Finalize f = *(Finalize *)arg;

	free(arg);
	f.finalizer(f.ctx);
}

static void dobject_finalize(DispatchHead *h)
{
	dispatch_function_t fin = h->finalizer;
	void *ctx = h->ctx;
	dispatch_queue_t tq = atomic_load(&h->target);
	Finalize *f;

	if (tq)
		dobject_retain(tq);
	h->vt->dispose(h);
	if (!fin || !ctx) /* dispatch_set_finalizer_f(3): only for a context */
		goto out;
	f = tq ? malloc(sizeof(*f)) : NULL;
	if (!f) {
		fin(ctx);
		goto out;
	}
	f->finalizer = fin;
	f->ctx = ctx;
	if (tq->head.vt->async(&tq->head, f, dobject_run_finalizer) < 0) {
		free(f);
		fin(ctx);
	}
out:
	if (tq)
		dobject_release(tq);
}

void dobject_release(void *obj)
{
	DispatchHead *h = obj;
	int old;

	if (!h || atomic_load_explicit(&h->refcnt, memory_order_relaxed) == DOBJ_IMMORTAL)
		return;
	old = atomic_fetch_sub_explicit(&h->refcnt, 1, memory_order_acq_rel);
	if (old > 1)
		return;
	if (old < 1)
		dobject_crash("Over-release of an object");
	dobject_finalize(h);
}

void dispatch_retain(dispatch_object_t object)
{
	dobject_retain(object._do);
}

void dispatch_release(dispatch_object_t object)
{
	dobject_release(object._do);
}

void *dispatch_get_context(dispatch_object_t object)
{
	return ((DispatchHead *)object._do)->ctx;
}

void dispatch_set_context(dispatch_object_t object, void *context)
{
	DispatchHead *h = (DispatchHead *)object._do;

	if (atomic_load(&h->refcnt) != DOBJ_IMMORTAL)
		h->ctx = context;
}

void dispatch_set_finalizer_f(dispatch_object_t object, dispatch_function_t finalizer)
{
	DispatchHead *h = (DispatchHead *)object._do;

	if (atomic_load(&h->refcnt) != DOBJ_IMMORTAL)
		h->finalizer = finalizer;
}

void dispatch_suspend(dispatch_object_t object)
{
	DispatchHead *h = (DispatchHead *)object._do;

	if (h->vt->suspend)
		h->vt->suspend(h);
}

void dispatch_resume(dispatch_object_t object)
{
	DispatchHead *h = (DispatchHead *)object._do;

	if (h->vt->resume)
		h->vt->resume(h);
}

void dispatch_activate(dispatch_object_t object)
{
	DispatchHead *h = (DispatchHead *)object._do;

	if (h->vt->activate)
		h->vt->activate(h);
}

/* ---- time ---------------------------------------------------------------- */

uint64_t dobject_now_ns(void)
{
	return clock_monotonic_ns();
}

static dispatch_time_t dobject_add(uint64_t base, int64_t delta, int wall)
{
	int64_t v;

	if (delta < 0 && (0 - (uint64_t)delta) > base)
		v = 1;
	else if (delta > 0 && base + (uint64_t)delta >= (1ull << 62))
		return DISPATCH_TIME_FOREVER;
	else
		v = (int64_t)(base + (uint64_t)delta);
	if (v <= 0)
		v = 1;
	return wall ? (dispatch_time_t)(-v) : (dispatch_time_t)v;
}

dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta)
{
	if (when == DISPATCH_TIME_FOREVER)
		return DISPATCH_TIME_FOREVER;
	if (when == DISPATCH_WALLTIME_NOW)
		return dobject_add(clock_realtime_ns(), delta, 1);
	if ((int64_t)when < 0)
		return dobject_add((0 - (uint64_t)when), delta, 1);
	if (when == DISPATCH_TIME_NOW)
		when = dobject_now_ns();
	return dobject_add(when, delta, 0);
}

dispatch_time_t dispatch_walltime(const struct timespec *when, int64_t delta)
{
	uint64_t base;

	if (when)
		base = (uint64_t)when->tv_sec * NSEC_PER_SEC + (uint64_t)when->tv_nsec;
	else
		base = clock_realtime_ns();
	return dobject_add(base, delta, 1);
}

uint64_t dobject_deadline_ns(dispatch_time_t when)
{
	uint64_t wall, now;

	if (when == DISPATCH_TIME_FOREVER)
		return DISPATCH_TIME_FOREVER;
	if (when == DISPATCH_TIME_NOW)
		return dobject_now_ns();
	if (when == DISPATCH_WALLTIME_NOW)
		return dobject_now_ns();
	if ((int64_t)when >= 0)
		return when;
	wall = (0 - (uint64_t)when);
	now = clock_realtime_ns();
	if (wall <= now)
		return dobject_now_ns();
	return dobject_now_ns() + (wall - now);
}

int dobject_timespec(dispatch_time_t when, struct timespec *ts)
{
	uint64_t ns = dobject_deadline_ns(when);

	if (ns == DISPATCH_TIME_FOREVER)
		return 0;
	*ts = clock_timespec(ns);
	return 1;
}
