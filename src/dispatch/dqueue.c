/* SPDX-License-Identifier: MIT */
/*
 * dqueue.c - queues: the static ones (main, global), creation, targets,
 * suspension, and the drain loop that runs their items (the attributes
 * they are made with are dattr.c's).
 *
 * Model: a queue holds a FIFO of items under its mutex.  It is "scheduled"
 * when its one embedded drain request sits on its target (a root queue goes
 * to the worker pool, the main queue wakes dispatch_main).  The drain request
 * holds a reference on the queue.  The drain loop pops items while they may
 * run: for a serial queue (width 1) one at a time; for a concurrent queue
 * any number of non-barrier items, a barrier only when nothing else runs and
 * nothing after it while it runs.  A concurrent drain re-schedules itself as
 * soon as another item may start, so items fan out over workers.  After 16
 * items a drain yields (re-schedules itself) for fairness when other work waits
 * for a worker (or always, for the main queue).  Every thread
 * keeps a stack of the queues it is draining (QueueFrame), which is what
 * dispatch_sync consults to detect the documented self-deadlock.
 *
 * Checked (shared/assert.h, shared/lock.h): the *_locked functions run
 * under q->lock; a queue never finishes more items than it started; the
 * frames of a thread nest (the one popped is the innermost).
 *
 * Edges: calls dobject.c, dpool.c (root queues), manager.c (the runtime's
 * start) and dmain.c (the main queue's doorbell), never the files above
 * it (dsync.c, dwork.c, dcurrent.c, sources, I/O).  The queue class fills
 * DispatchVtable.async so that dobject.c can send a finalizer to a target
 * without knowing queues.
 */
#include "dispatch/internal.h"
#include "dispatch/dqueue.h"

#include <Block.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_DRAIN_BATCH 16

static void dqueue_dispose(DispatchHead *h);
static void dqueue_suspend(DispatchHead *h);
static void dqueue_resume(DispatchHead *h);
static void dqueue_activate(DispatchHead *h);
static int dqueue_vt_async(DispatchHead *h, void *ctx, dispatch_function_t func);

static const DispatchVtable dqueue_vtable = {
	.kind = DOBJ_QUEUE,
	.dispose = dqueue_dispose,
	.suspend = dqueue_suspend,
	.resume = dqueue_resume,
	.activate = dqueue_activate,
	.async = dqueue_vt_async,
};
#define QUEUE_STATIC(name, r, prio, w, c)                                               \
	{                                                                              \
		.head = DOBJ_STATIC_HEAD(&dqueue_vtable), .lock = PTHREAD_MUTEX_INITIALIZER, \
		.role = (r), .priority = (prio), .width = (w), .label = (char *)(name), .qos = (c), \
	}

static void dqueue_drain_invoke(DispatchItem *item);

struct dispatch_queue_s _dispatch_main_q = {
	.head = DOBJ_STATIC_HEAD(&dqueue_vtable),
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.drain = {.invoke = dqueue_drain_invoke, .ctx = &_dispatch_main_q},
	.role = QUEUE_MAIN,
	.width = 1,
	.label = (char *)"com.apple.main-thread",
};

static struct dispatch_queue_s dqueue_roots[QUEUE_N_PRIORITIES] = {
	QUEUE_STATIC("com.apple.root.user-interactive-qos", QUEUE_ROOT, 0, INT_MAX, QOS_CLASS_USER_INTERACTIVE),
	QUEUE_STATIC("com.apple.root.default-qos", QUEUE_ROOT, 1, INT_MAX, QOS_CLASS_DEFAULT),
	QUEUE_STATIC("com.apple.root.utility-qos", QUEUE_ROOT, 2, INT_MAX, QOS_CLASS_UTILITY),
	QUEUE_STATIC("com.apple.root.background-qos", QUEUE_ROOT, 3, INT_MAX, QOS_CLASS_BACKGROUND),
};

static _Thread_local QueueFrame *dqueue_frames;

QueueFrame *dqueue_current_frame(void)
{
	return dqueue_frames;
}

dispatch_queue_t dqueue_root(int prio)
{
	return &dqueue_roots[prio];
}

dispatch_queue_t dqueue_default_target(void)
{
	return &dqueue_roots[1];
}

dispatch_queue_t dispatch_get_global_queue(intptr_t identifier, uintptr_t flags)
{
	switch (identifier) {
	case DISPATCH_QUEUE_PRIORITY_HIGH:
	case QOS_CLASS_USER_INTERACTIVE:
	case QOS_CLASS_USER_INITIATED:
		return &dqueue_roots[0];
	case DISPATCH_QUEUE_PRIORITY_DEFAULT:
	case QOS_CLASS_DEFAULT:
		return &dqueue_roots[1];
	case DISPATCH_QUEUE_PRIORITY_LOW:
	case QOS_CLASS_UTILITY:
		return &dqueue_roots[2];
	case DISPATCH_QUEUE_PRIORITY_BACKGROUND:
	case QOS_CLASS_BACKGROUND:
		return &dqueue_roots[3];
	default:
		return NULL;
	}
}

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
	dispatch_queue_t q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	dqueue_runtime_init();
	dobject_init(&q->head, &dqueue_vtable);
	pthread_mutex_init(&q->lock, NULL);
	dqueue_init_drain(q);
	q->width = attr && attr->concurrent ? INT_MAX : 1;
	q->inactive = attr && attr->inactive;
	q->qos = attr ? attr->qos : QOS_CLASS_UNSPECIFIED;
	q->qos_relpri = attr ? attr->relpri : 0;
	q->label = q->label_buf;
	if (label && strlen(label) >= sizeof(q->label_buf))
		q->label = strdup(label);
	if (!q->label) {
		q->label = q->label_buf;
		label = NULL;
	}
	if (label)
		strcpy(q->label, label);
	atomic_init(&q->head.target, attr && attr->qos_root ? &dqueue_roots[attr->qos_root - 1]
							     : dqueue_default_target());
	return q;
}

const char *dispatch_queue_get_label(dispatch_queue_t queue)
{
	if (queue == DISPATCH_CURRENT_QUEUE_LABEL)
		queue = dqueue_frames ? dqueue_frames->queue : NULL;
	if (!queue)
		return "";
	return queue->label ? queue->label : "";
}

void dqueue_specific_destroy(QueueSpecific *s)
{
	if (s->destructor && s->ctx && dqueue_async(dqueue_default_target(), s->ctx, s->destructor) < 0)
		s->destructor(s->ctx);
	free(s);
}

/* Frees @q's specifics, queueing their destructors (dispose). */
static void dqueue_specifics_free(dispatch_queue_t q)
{
	QueueSpecific *s = q->specifics, *next;

	q->specifics = NULL;
	for (; s; s = next) {
		next = s->next;
		dqueue_specific_destroy(s);
	}
}

static void dqueue_dispose(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->first)
		dobject_crash("Release of a queue that still holds work (suspended or inactive)");
	dqueue_specifics_free(q);
	dobject_release(atomic_load(&q->head.target));
	if (q->label != q->label_buf)
		free(q->label);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void dispatch_set_target_queue(dispatch_object_t object, dispatch_queue_t queue)
{
	DispatchHead *h = (DispatchHead *)object._do;
	dispatch_queue_t old;

	if (atomic_load(&h->refcnt) == DOBJ_IMMORTAL)
		return;
	if (!queue)
		queue = dqueue_default_target();
	dobject_retain(queue);
	old = atomic_exchange(&h->target, queue);
	dobject_release(old);
}

/* ---- scheduling ------------------------------------------------------------ */

/* Called with q->lock held. */
static int dqueue_can_run_locked(dispatch_queue_t q)
{
	DispatchItem *it = q->first;

	lock_assert_held(&q->lock);
	if (!it || q->suspended || q->inactive || q->barrier_running)
		return 0;
	if (q->width == 1 || (it->flags & DITEM_BARRIER))
		return q->running == 0;
	return q->running < q->width;
}

/* Called with q->lock held: claims the drain request if one is needed. */
static int dqueue_claim_schedule_locked(dispatch_queue_t q)
{
	lock_assert_held(&q->lock);
	if (q->scheduled || !dqueue_can_run_locked(q))
		return 0;
	q->scheduled = 1;
	return 1;
}

static void dqueue_schedule(dispatch_queue_t q)
{
	dobject_retain(q);
	if (q->role == QUEUE_MAIN)
		dmain_wake();
	else
		dqueue_push(atomic_load(&q->head.target), &q->drain);
}

void dqueue_push(dispatch_queue_t q, DispatchItem *item)
{
	int sched;

	item->next = NULL;
	if (q->role == QUEUE_ROOT) {
		dqueue_runtime_init(); /* the pool's threads need the manager */
		dpool_push(q->priority, item);
		return;
	}
	pthread_mutex_lock(&q->lock);
	if (q->last)
		q->last->next = item;
	else
		q->first = item;
	q->last = item;
	sched = dqueue_claim_schedule_locked(q);
	pthread_mutex_unlock(&q->lock);
	if (sched)
		dqueue_schedule(q);
}

/* Called with q->lock held and dqueue_can_run_locked(q) true. */
static DispatchItem *dqueue_pop_locked(dispatch_queue_t q, int *barrier)
{
	DispatchItem *it = q->first;

	lock_assert_held(&q->lock);
	q->first = it->next;
	if (!q->first)
		q->last = NULL;
	*barrier = q->width == 1 || (it->flags & DITEM_BARRIER);
	q->running++;
	q->barrier_running = *barrier;
	return it;
}

/* Called with q->lock held after an item finished (or a sync ran inline). */
static void dqueue_finish_locked(dispatch_queue_t q, int barrier)
{
	lock_assert_held(&q->lock);
	xpc_assert(q->running > 0);
	q->running--;
	if (barrier)
		q->barrier_running = 0;
}

void dqueue_frame_push(QueueFrame *f, dispatch_queue_t q)
{
	f->queue = q;
	f->barrier = 1;
	f->prev = dqueue_frames;
	dqueue_frames = f;
}

void dqueue_frame_pop(QueueFrame *f)
{
	xpc_assert(dqueue_frames == f); /* frames nest */
	dqueue_frames = f->prev;
}

int dqueue_is_current(dispatch_queue_t q)
{
	for (QueueFrame *f = dqueue_frames; f; f = f->prev)
		if (f->queue == q)
			return 1;
	return 0;
}

void dqueue_drain(dispatch_queue_t q)
{
	QueueFrame frame;
	DispatchItem *it;
	int n = 0, barrier, sched;

	dqueue_frame_push(&frame, q);
	pthread_mutex_lock(&q->lock);
	q->scheduled = 0;
	while (dqueue_can_run_locked(q)) {
		if (n >= QUEUE_DRAIN_BATCH && (q->role == QUEUE_MAIN || dpool_has_waiting()))
			break;
		it = dqueue_pop_locked(q, &barrier);
		frame.barrier = barrier;
		sched = q->width > 1 && dqueue_claim_schedule_locked(q);
		pthread_mutex_unlock(&q->lock);
		if (sched)
			dqueue_schedule(q);
		it->invoke(it);
		pthread_mutex_lock(&q->lock);
		dqueue_finish_locked(q, barrier);
		n++;
	}
	sched = dqueue_claim_schedule_locked(q);
	pthread_mutex_unlock(&q->lock);
	dqueue_frame_pop(&frame);
	if (sched)
		dqueue_schedule(q);
	dobject_release(q);
}

static void dqueue_drain_invoke(DispatchItem *item)
{
	dqueue_drain(item->ctx);
}

int dqueue_others_waiting(dispatch_queue_t q)
{
	for (int depth = 0; q && depth < 16; depth++) {
		if (q->role == QUEUE_ROOT)
			return dpool_has_waiting();
		pthread_mutex_lock(&q->lock);
		int waiting = q->first != NULL;
		pthread_mutex_unlock(&q->lock);
		if (waiting)
			return 1;
		q = atomic_load(&q->head.target);
	}
	return 0;
}

int dqueue_is_root(dispatch_queue_t q)
{
	return q->role == QUEUE_ROOT;
}

int dqueue_targets_root(dispatch_queue_t q)
{
	dispatch_queue_t tq = atomic_load(&q->head.target);

	return q->role == QUEUE_PLAIN && tq && tq->role == QUEUE_ROOT;
}

/* ---- the inline path of dispatch_sync ---------------------------------------- */

int dqueue_try_enter(dispatch_queue_t q, int barrier)
{
	dispatch_queue_t tq = atomic_load(&q->head.target);
	int ok;

	if (q->role != QUEUE_PLAIN || !tq || tq->role != QUEUE_ROOT)
		return 0;
	pthread_mutex_lock(&q->lock);
	ok = !q->first && !q->suspended && !q->inactive && !q->barrier_running;
	if (ok && (barrier || q->width == 1))
		ok = q->running == 0;
	if (ok) {
		q->running++;
		q->barrier_running = barrier || q->width == 1;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void dqueue_leave(dispatch_queue_t q, int barrier)
{
	int sched;

	pthread_mutex_lock(&q->lock);
	dqueue_finish_locked(q, barrier || q->width == 1);
	sched = dqueue_claim_schedule_locked(q);
	pthread_mutex_unlock(&q->lock);
	if (sched)
		dqueue_schedule(q);
}

/* ---- suspend, resume, activate -------------------------------------------------- */

static void dqueue_suspend(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->role == QUEUE_ROOT)
		return;
	pthread_mutex_lock(&q->lock);
	q->suspended++;
	pthread_mutex_unlock(&q->lock);
}

static void dqueue_kick(dispatch_queue_t q)
{
	int sched = dqueue_claim_schedule_locked(q);

	pthread_mutex_unlock(&q->lock);
	if (sched)
		dqueue_schedule(q);
}

static void dqueue_resume(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->role == QUEUE_ROOT)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->suspended == 0 && q->inactive)
		q->inactive = 0;
	else if (q->suspended == 0)
		dobject_crash("Over-resume of an object");
	else
		q->suspended--;
	dqueue_kick(q);
}

static void dqueue_activate(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->role != QUEUE_PLAIN)
		return;
	pthread_mutex_lock(&q->lock);
	q->inactive = 0;
	dqueue_kick(q);
}

/* ---- items ------------------------------------------------------------------- */

static void dqueue_item_invoke(DispatchItem *it)
{
	dispatch_function_t func = it->func;
	void *ctx = it->ctx;

	free(it);
	func(ctx);
}

DispatchItem *dqueue_item_new(dispatch_function_t func, void *ctx, unsigned flags)
{
	DispatchItem *it = malloc(sizeof(*it));

	if (!it)
		return NULL;
	it->next = NULL;
	it->invoke = dqueue_item_invoke;
	it->func = func;
	it->ctx = ctx;
	it->group = NULL;
	it->flags = flags;
	return it;
}

void dqueue_call_block(void *block)
{
	dispatch_block_t b = block;

	b();
	Block_release(b);
}

static void dqueue_embedded_invoke(DispatchItem *it)
{
	dispatch_function_t func = it->func;

	func(it->ctx); /* may push @it again: not touched afterwards */
}

void dqueue_push_embedded(dispatch_queue_t q, DispatchItem *it, dispatch_function_t func, void *ctx)
{
	it->next = NULL;
	it->invoke = dqueue_embedded_invoke;
	it->func = func;
	it->ctx = ctx;
	it->group = NULL;
	it->flags = 0;
	dqueue_push(q, it);
}

int dqueue_async(dispatch_queue_t q, void *ctx, dispatch_function_t func)
{
	DispatchItem *it = dqueue_item_new(func, ctx, 0);

	if (!it)
		return -1;
	dqueue_push(q, it);
	return 0;
}

/* The queue class's async: how dobject.c queues a finalizer on a target. */
static int dqueue_vt_async(DispatchHead *h, void *ctx, dispatch_function_t func)
{
	return dqueue_async((dispatch_queue_t)h, ctx, func);
}

/* ---- runtime start ------------------------------------------------------------- */

static pthread_once_t dqueue_once = PTHREAD_ONCE_INIT;

void dqueue_runtime_init(void)
{
	pthread_once(&dqueue_once, manager_start);
}

void dqueue_init_drain(dispatch_queue_t q)
{
	q->drain.invoke = dqueue_drain_invoke;
	q->drain.ctx = q;
}
