/* SPDX-License-Identifier: MIT */
/*
 * dsync.c - waiting: the futex waiter used by dispatch_sync/apply,
 * semaphores, groups and dispatch_once.
 *
 * Semaphore: value, waiters and pending wake-ups under a mutex; a waiter
 * that times out simply leaves (no wake-up is consumed), which keeps GCD's
 * rule that wait decrements and signal increments.  Group: a count of
 * outstanding work and a list of notify items under a mutex; the leave that
 * brings it to zero wakes the waiters and pushes the notify items; while
 * notify items wait, the group holds a reference on itself (as GCD does).
 * A dispatch_group_async item is a queue item with its own invoke (here),
 * which leaves the group after the work: the queue code knows no group.
 * dispatch_once: 0 -> ONCE_RUNNING (the winner runs the function) -> ~0
 * (done, read with acquire ordering on the fast path); losers sleep on a
 * process-wide condition variable.
 *
 * Before a wait that may block, a function the caller's layer left for this
 * thread (dsync_before_wait) runs once, outside every lock: the connection
 * layer starts a new peer's read source it held back, which the wait may be
 * waiting for.
 *
 * Edges: calls dqueue.c (items, pushes) and dobject.c; dblock.c and
 * dwork.c call it.
 */
#include "dispatch/internal.h"

#include <Block.h>
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Thread_local DeferredCall dsync_before; /* dsync_before_wait's */

void dsync_before_wait(dispatch_function_t fn, void *ctx)
{
	dsync_before.fn = fn;
	dsync_before.ctx = ctx;
}

/* Runs what dsync_before_wait left, once (no lock held). */
static void dsync_about_to_wait(void)
{
	deferred_call_run(&dsync_before);
}

void dsync_waiter_wait(DispatchWaiter *w)
{
	dsync_about_to_wait();
	while (atomic_load_explicit(&w->state, memory_order_acquire) == 0)
		syscall(SYS_futex, &w->state, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

void dsync_waiter_wake(DispatchWaiter *w)
{
	atomic_store_explicit(&w->state, 1, memory_order_release);
	syscall(SYS_futex, &w->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int dsync_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;
	int r;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

/* Waits on @c until *@flag is non-zero or @timeout; 0 if the flag was seen. */
static int dsync_timedwait(pthread_cond_t *c, pthread_mutex_t *m, dispatch_time_t timeout,
			  int (*ready)(void *), void *arg)
{
	struct timespec ts;
	int forever = !dobject_timespec(timeout, &ts);

	while (!ready(arg)) {
		if (forever)
			pthread_cond_wait(c, m);
		else if (pthread_cond_timedwait(c, m, &ts) == ETIMEDOUT)
			return ready(arg) ? 0 : -1;
	}
	return 0;
}

/* ---- semaphores ---------------------------------------------------------------- */

struct dispatch_semaphore_s {
	DispatchHead head;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	intptr_t value;
	intptr_t waiters, wakeups;
};

static void dsync_sema_dispose(DispatchHead *h)
{
	dispatch_semaphore_t s = (dispatch_semaphore_t)h;

	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const DispatchVtable dsync_sema_vtable = {.kind = DOBJ_SEMAPHORE, .dispose = dsync_sema_dispose};

dispatch_semaphore_t dispatch_semaphore_create(intptr_t value)
{
	dispatch_semaphore_t s;

	if (value < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	dobject_init(&s->head, &dsync_sema_vtable);
	pthread_mutex_init(&s->lock, NULL);
	dsync_cond_init(&s->cond);
	s->value = value;
	return s;
}

static int dsync_sema_ready(void *arg)
{
	return ((dispatch_semaphore_t)arg)->wakeups > 0;
}

intptr_t dispatch_semaphore_wait(dispatch_semaphore_t dsema, dispatch_time_t timeout)
{
	int r;

	if (timeout != DISPATCH_TIME_NOW)
		dsync_about_to_wait();
	pthread_mutex_lock(&dsema->lock);
	if (dsema->value > 0) {
		dsema->value--;
		pthread_mutex_unlock(&dsema->lock);
		return 0;
	}
	if (timeout == DISPATCH_TIME_NOW) {
		pthread_mutex_unlock(&dsema->lock);
		return -1;
	}
	dsema->waiters++;
	r = dsync_timedwait(&dsema->cond, &dsema->lock, timeout, dsync_sema_ready, dsema);
	dsema->waiters--;
	if (r == 0)
		dsema->wakeups--;
	pthread_mutex_unlock(&dsema->lock);
	return r ? -1 : 0;
}

intptr_t dispatch_semaphore_signal(dispatch_semaphore_t dsema)
{
	intptr_t woke = 0;

	pthread_mutex_lock(&dsema->lock);
	if (dsema->waiters > dsema->wakeups) {
		dsema->wakeups++;
		pthread_cond_signal(&dsema->cond);
		woke = 1;
	} else {
		dsema->value++;
	}
	pthread_mutex_unlock(&dsema->lock);
	return woke;
}

/* ---- groups -------------------------------------------------------------------- */

struct dispatch_group_s {
	DispatchHead head;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	intptr_t count;
	struct GroupNotify *notify;
};

typedef struct GroupNotify {
	struct GroupNotify *next;
	dispatch_queue_t queue; /* held */
	DispatchItem *item;
} GroupNotify;

static void dsync_group_dispose(DispatchHead *h)
{
	dispatch_group_t g = (dispatch_group_t)h;

	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static const DispatchVtable dsync_group_vtable = {.kind = DOBJ_GROUP, .dispose = dsync_group_dispose};

dispatch_group_t dispatch_group_create(void)
{
	dispatch_group_t g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	dobject_init(&g->head, &dsync_group_vtable);
	pthread_mutex_init(&g->lock, NULL);
	dsync_cond_init(&g->cond);
	return g;
}

void dispatch_group_enter(dispatch_group_t group)
{
	pthread_mutex_lock(&group->lock);
	group->count++;
	pthread_mutex_unlock(&group->lock);
}

static void dsync_group_notify_all(GroupNotify *n)
{
	GroupNotify *next;

	for (; n; n = next) {
		next = n->next;
		dqueue_push(n->queue, n->item);
		dobject_release(n->queue);
		free(n);
	}
}

void dispatch_group_leave(dispatch_group_t group)
{
	GroupNotify *n = NULL;

	dobject_retain(group);
	pthread_mutex_lock(&group->lock);
	if (group->count <= 0)
		dobject_crash("Unbalanced call to dispatch_group_leave()");
	if (--group->count == 0) {
		n = group->notify;
		group->notify = NULL;
		pthread_cond_broadcast(&group->cond);
	}
	pthread_mutex_unlock(&group->lock);
	if (n) {
		dsync_group_notify_all(n);
		dobject_release(group); /* the reference of the notify list */
	}
	dobject_release(group);
}

static int dsync_group_ready(void *arg)
{
	return ((dispatch_group_t)arg)->count == 0;
}

intptr_t dispatch_group_wait(dispatch_group_t group, dispatch_time_t timeout)
{
	int r;

	if (timeout != DISPATCH_TIME_NOW)
		dsync_about_to_wait();
	pthread_mutex_lock(&group->lock);
	if (timeout == DISPATCH_TIME_NOW)
		r = group->count ? -1 : 0;
	else
		r = dsync_timedwait(&group->cond, &group->lock, timeout, dsync_group_ready, group);
	pthread_mutex_unlock(&group->lock);
	return r ? -1 : 0;
}

void dispatch_group_notify_f(dispatch_group_t group, dispatch_queue_t queue, void *context,
			     dispatch_function_t work)
{
	GroupNotify *n = malloc(sizeof(*n));

	if (!n)
		return;
	n->item = dqueue_item_new(work, context, 0);
	if (!n->item) {
		free(n);
		return;
	}
	n->queue = queue;
	dobject_retain(queue);
	pthread_mutex_lock(&group->lock);
	if (group->count) {
		if (!group->notify)
			dobject_retain(group); /* held while notify items wait (GCD) */
		n->next = group->notify;
		group->notify = n;
		n = NULL;
	}
	pthread_mutex_unlock(&group->lock);
	if (n) {
		n->next = NULL;
		dsync_group_notify_all(n);
	}
}

void dispatch_group_notify(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block)
{
	dispatch_group_notify_f(group, queue, Block_copy(block), dqueue_call_block);
}

/* A dispatch_group_async item (a heap item of dqueue.c's, whose invoke
 * frees it): leaves its group after the work and drops its reference. */
static void dsync_group_item_invoke(DispatchItem *it)
{
	dispatch_function_t func = it->func;
	void *ctx = it->ctx;
	dispatch_group_t group = it->group;

	free(it);
	func(ctx);
	dispatch_group_leave(group);
	dobject_release(group);
}

void dispatch_group_async_f(dispatch_group_t group, dispatch_queue_t queue, void *context,
			    dispatch_function_t work)
{
	DispatchItem *it = dqueue_item_new(work, context, 0);

	if (!it)
		return;
	it->invoke = dsync_group_item_invoke;
	it->group = group;
	dispatch_group_enter(group);
	dobject_retain(group);
	dqueue_push(queue, it);
}

void dispatch_group_async(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block)
{
	dispatch_group_async_f(group, queue, Block_copy(block), dqueue_call_block);
}

/* ---- once -------------------------------------------------------------------- */

#define ONCE_DONE (~(intptr_t)0)
#define ONCE_RUNNING ((intptr_t)1)

static pthread_mutex_t dsync_once_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dsync_once_cond = PTHREAD_COND_INITIALIZER;

void dispatch_once_f(dispatch_once_t *predicate, void *context, dispatch_function_t function)
{
	_Atomic intptr_t *p = (_Atomic intptr_t *)predicate;
	intptr_t expected = 0;

	if (atomic_load_explicit(p, memory_order_acquire) == ONCE_DONE)
		return;
	if (atomic_compare_exchange_strong(p, &expected, ONCE_RUNNING)) {
		function(context);
		pthread_mutex_lock(&dsync_once_lock);
		atomic_store_explicit(p, ONCE_DONE, memory_order_release);
		pthread_cond_broadcast(&dsync_once_cond);
		pthread_mutex_unlock(&dsync_once_lock);
		return;
	}
	pthread_mutex_lock(&dsync_once_lock);
	while (atomic_load_explicit(p, memory_order_acquire) != ONCE_DONE)
		pthread_cond_wait(&dsync_once_cond, &dsync_once_lock);
	pthread_mutex_unlock(&dsync_once_lock);
}

static void dsync_once_block(void *block)
{
	((dispatch_block_t)block)();
}

void dispatch_once(dispatch_once_t *predicate, dispatch_block_t block)
{
	if (atomic_load_explicit((_Atomic intptr_t *)predicate, memory_order_acquire) == ONCE_DONE)
		return;
	dispatch_once_f(predicate, (void *)block, dsync_once_block);
}
