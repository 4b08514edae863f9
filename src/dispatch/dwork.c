/* SPDX-License-Identifier: MIT */
/*
 * dwork.c - submitting work: dispatch_async, dispatch_sync, barriers,
 * dispatch_after, dispatch_apply and dispatch_main.
 *
 * dispatch_sync runs the work on the calling thread when it can claim the
 * queue at once (an idle queue whose target is a global queue); otherwise it
 * queues an item that lives on the caller's stack and waits for it, so a sync
 * from another queue never deadlocks.  A sync onto a serial queue (or a
 * barrier sync onto any queue) that the calling thread is already draining is
 * the documented misuse and crashes with GCD's message.  The main thread
 * owns the main queue.
 *
 * dispatch_after arms a one-shot manager timer that pushes the item.
 * dispatch_apply shares an iteration counter between the caller and
 * helpers pushed to the queue; the caller waits only for the iterations to be
 * done (helpers that start late find nothing left), and the shared state is
 * reference counted so late helpers can still read it.
 * dispatch_main drains the main queue each time its doorbell (dmain.c)
 * rings.
 *
 * Edges: the top of the queue files: calls dqueue.c, dsync.c, dblock.c,
 * dmain.c and the manager's timers; none of them calls it.
 */
#include "dispatch/internal.h"
#include "dispatch/manager.h"
#include "dispatch/dqueue.h"

#include <Block.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static void dwork_submit(dispatch_queue_t q, void *ctx, dispatch_function_t func, unsigned flags)
{
	DispatchItem *it = dqueue_item_new(func, ctx, flags);

	if (it)
		dqueue_push(q, it);
}

void dispatch_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	dwork_submit(queue, context, work, 0);
}

void dispatch_barrier_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	dwork_submit(queue, context, work, DITEM_BARRIER);
}

/* Block versions: without memory for the copy the work is dropped, as
 * when the item cannot be allocated (docs/dispatch.md). */
static void dwork_submit_block(dispatch_queue_t q, dispatch_block_t block, unsigned flags)
{
	dispatch_block_t copy = Block_copy(block);
	DispatchItem *it = copy ? dqueue_item_new(dqueue_call_block, copy, flags) : NULL;

	if (it)
		dqueue_push(q, it);
	else if (copy)
		Block_release(copy);
}

void dispatch_async(dispatch_queue_t queue, dispatch_block_t block)
{
	dwork_submit_block(queue, block, dblock_is_barrier(block) ? DITEM_BARRIER : 0);
}

void dispatch_barrier_async(dispatch_queue_t queue, dispatch_block_t block)
{
	dwork_submit_block(queue, block, DITEM_BARRIER);
}

/* ---- sync ------------------------------------------------------------------- */

typedef struct {
	DispatchItem item;
	DispatchWaiter waiter;
} SyncItem;

static void dwork_sync_invoke(DispatchItem *item)
{
	SyncItem *s = (SyncItem *)item;

	s->item.func(s->item.ctx);
	dsync_waiter_wake(&s->waiter);
}

static int dwork_is_main_thread(void)
{
	return (pid_t)syscall(SYS_gettid) == getpid();
}

/* Crashes when waiting for @q would wait for the calling thread itself: @q
 * (serial, or a barrier) or a serial queue it targets is being drained by
 * this thread; the main thread owns the main queue. */
static void dwork_check_owner(dispatch_queue_t q, int barrier)
{
	for (dispatch_queue_t t = q; t && t->role != QUEUE_ROOT; t = atomic_load(&t->head.target)) {
		if (t->width != 1 && !(t == q && barrier))
			continue;
		if (dqueue_is_current(t) || (t->role == QUEUE_MAIN && dwork_is_main_thread()))
			dobject_crash("dispatch_sync called on queue already owned by current thread");
	}
}

static void dwork_sync(dispatch_queue_t q, void *ctx, dispatch_function_t func, int barrier)
{
	SyncItem s = {.item = {.invoke = dwork_sync_invoke, .func = func, .ctx = ctx}};
	QueueFrame frame;

	if (q->role == QUEUE_ROOT) {
		func(ctx);
		return;
	}
	dwork_check_owner(q, barrier);
	if (dqueue_try_enter(q, barrier)) {
		dqueue_frame_push(&frame, q);
		frame.barrier = barrier || q->width == 1;
		func(ctx);
		dqueue_frame_pop(&frame);
		dqueue_leave(q, barrier);
		return;
	}
	s.item.flags = barrier ? DITEM_BARRIER : 0;
	atomic_init(&s.waiter.state, 0);
	dqueue_push(q, &s.item);
	dsync_waiter_wait(&s.waiter);
}

void dispatch_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	dwork_sync(queue, context, work, 0);
}

void dispatch_barrier_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	dwork_sync(queue, context, work, 1);
}

static void dwork_call_block_borrowed(void *block)
{
	((dispatch_block_t)block)();
}

void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block)
{
	dwork_sync(queue, (void *)block, dwork_call_block_borrowed, dblock_is_barrier(block));
}

/* dispatch_async_and_wait is dispatch_sync here: the work runs on the
 * caller's thread when the queue is idle (docs/dispatch.md). */
void dispatch_async_and_wait(dispatch_queue_t queue, dispatch_block_t block)
{
	dispatch_sync(queue, block);
}

void dispatch_async_and_wait_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	dwork_sync(queue, context, work, 0);
}

void dispatch_barrier_async_and_wait(dispatch_queue_t queue, dispatch_block_t block)
{
	dwork_sync(queue, (void *)block, dwork_call_block_borrowed, 1);
}

void dispatch_barrier_async_and_wait_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	dwork_sync(queue, context, work, 1);
}

void dispatch_barrier_sync(dispatch_queue_t queue, dispatch_block_t block)
{
	dwork_sync(queue, (void *)block, dwork_call_block_borrowed, 1);
}

/* ---- after ------------------------------------------------------------------- */

typedef struct {
	ManagerTimer timer;
	dispatch_queue_t queue; /* held */
	DispatchItem *item;
} AfterTimer;

static void dwork_after_fire(ManagerTimer *t, uint64_t count)
{
	AfterTimer *a = (AfterTimer *)t;

	dqueue_push(a->queue, a->item);
	dobject_release(a->queue);
	free(a);
}

int dwork_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	AfterTimer *a;

	if (when == DISPATCH_TIME_FOREVER)
		return 0;
	if (when == DISPATCH_TIME_NOW)
		return dqueue_async(queue, context, work) < 0 ? -ENOMEM : 0;
	dqueue_runtime_init();
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->item = dqueue_item_new(work, context, 0);
	if (!a->item) {
		free(a);
		return -ENOMEM;
	}
	a->queue = queue;
	dobject_retain(queue);
	a->timer.fire = dwork_after_fire;
	manager_timer_arm(&a->timer, dobject_deadline_ns(when), 0, 0);
	return 0;
}

void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context, dispatch_function_t work)
{
	dwork_after_f(when, queue, context, work);
}

void dispatch_after(dispatch_time_t when, dispatch_queue_t queue, dispatch_block_t block)
{
	dispatch_block_t copy;

	if (when == DISPATCH_TIME_FOREVER)
		return;
	copy = Block_copy(block);
	if (copy && dwork_after_f(when, queue, copy, dqueue_call_block) < 0)
		Block_release(copy);
}

/* ---- apply ------------------------------------------------------------------- */

typedef struct {
	atomic_int refs;
	atomic_size_t next, done;
	size_t n;
	void *ctx;
	void (*work)(void *, size_t);
	DispatchWaiter waiter;
} Apply;

static void dwork_apply_put(Apply *a)
{
	if (atomic_fetch_sub(&a->refs, 1) == 1)
		free(a);
}

static void dwork_apply_loop(void *arg)
{
	Apply *a = arg;
	size_t i;

	while ((i = atomic_fetch_add(&a->next, 1)) < a->n) {
		a->work(a->ctx, i);
		if (atomic_fetch_add(&a->done, 1) + 1 == a->n)
			dsync_waiter_wake(&a->waiter);
	}
	dwork_apply_put(a);
}

static void dwork_apply_serial(void *arg)
{
	Apply *a = arg;

	for (size_t i = 0; i < a->n; i++)
		a->work(a->ctx, i);
}

void dispatch_apply_f(size_t iterations, dispatch_queue_t queue, void *context,
		      void (*work)(void *context, size_t iteration))
{
	Apply *a, local = {.n = iterations, .ctx = context, .work = work};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t helpers;

	if (!iterations)
		return;
	if (!queue)
		queue = dqueue_default_target();
	a = queue->width == 1 || iterations == 1 ? NULL : malloc(sizeof(*a));
	if (!a) {
		dispatch_sync_f(queue, &local, dwork_apply_serial);
		return;
	}
	*a = local;
	atomic_init(&a->waiter.state, 0);
	helpers = (size_t)(ncpu > 1 ? ncpu - 1 : 1);
	if (helpers > iterations - 1)
		helpers = iterations - 1;
	atomic_init(&a->refs, (int)helpers + 1);
	for (size_t i = 0; i < helpers; i++)
		if (dqueue_async(queue, a, dwork_apply_loop) < 0)
			dwork_apply_put(a);
	atomic_fetch_add(&a->refs, 1); /* the caller's loop puts one */
	dwork_apply_loop(a);
	dsync_waiter_wait(&a->waiter);
	dwork_apply_put(a);
}

typedef struct {
	void (^block)(size_t);
} ApplyBlock;

static void dwork_apply_block(void *ctx, size_t i)
{
	((ApplyBlock *)ctx)->block(i);
}

void dispatch_apply(size_t iterations, dispatch_queue_t queue, void (^block)(size_t))
{
	ApplyBlock b = {block};

	dispatch_apply_f(iterations, queue, &b, dwork_apply_block);
}

/* ---- main queue -------------------------------------------------------------- */

void dispatch_main(void)
{
	dqueue_runtime_init();
	for (;;) {
		dmain_wait();
		dqueue_drain(&_dispatch_main_q);
	}
}
