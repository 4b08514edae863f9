/* SPDX-License-Identifier: MIT */
/*
 * dqueue.c - queues: the static ones (main, global, attributes), creation,
 * targets, suspension, and the drain loop that runs their items.
 *
 * Queue attributes are immortal statics: the three exported ones and one per
 * (concurrent, inactive, QoS class) made by dispatch_queue_attr_make_*; a
 * QoS class makes the new queue target the global queue of that class, as
 * dispatch_get_global_queue maps it.
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

static const DispatchVtable dqueue_vtable = {
	.kind = DOBJ_QUEUE,
	.dispose = dqueue_dispose,
	.suspend = dqueue_suspend,
	.resume = dqueue_resume,
	.activate = dqueue_activate,
};
static const DispatchVtable dqueue_attr_vtable = {.kind = DOBJ_ATTR};

#define QUEUE_STATIC_HEAD(vtp) {.vt = (vtp), .refcnt = DOBJ_IMMORTAL}

struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent = {
	.head = QUEUE_STATIC_HEAD(&dqueue_attr_vtable), .concurrent = 1};
struct dispatch_queue_attr_s _dispatch_queue_attr_serial_inactive = {
	.head = QUEUE_STATIC_HEAD(&dqueue_attr_vtable), .inactive = 1};
struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent_inactive = {
	.head = QUEUE_STATIC_HEAD(&dqueue_attr_vtable), .concurrent = 1, .inactive = 1};

/* [concurrent][inactive][class][-relative priority], filled once; the
 * classes in the order of dqueue_qos_classes, mapped onto the roots. */
#define QUEUE_N_RELPRI (1 - QOS_MIN_RELATIVE_PRIORITY)
#define QUEUE_N_QOS 5
static const dispatch_qos_class_t dqueue_qos_classes[QUEUE_N_QOS] = {
	QOS_CLASS_USER_INTERACTIVE, QOS_CLASS_USER_INITIATED, QOS_CLASS_DEFAULT, QOS_CLASS_UTILITY,
	QOS_CLASS_BACKGROUND};
static const int dqueue_qos_roots[QUEUE_N_QOS] = {0, 0, 1, 2, 3};
static struct dispatch_queue_attr_s dqueue_qos_attrs[2][2][QUEUE_N_QOS][QUEUE_N_RELPRI];
static pthread_once_t dqueue_qos_once = PTHREAD_ONCE_INIT;

static void dqueue_qos_attrs_init(void)
{
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < 2; i++)
			for (int k = 0; k < QUEUE_N_QOS; k++)
				for (int p = 0; p < QUEUE_N_RELPRI; p++)
					dqueue_qos_attrs[c][i][k][p] = (struct dispatch_queue_attr_s){
						.head = QUEUE_STATIC_HEAD(&dqueue_attr_vtable),
						.concurrent = c, .inactive = i,
						.qos_root = dqueue_qos_roots[k] + 1,
						.qos = dqueue_qos_classes[k], .relpri = -p};
}

#define QUEUE_STATIC(name, r, prio, w, c)                                               \
	{                                                                              \
		.head = QUEUE_STATIC_HEAD(&dqueue_vtable), .lock = PTHREAD_MUTEX_INITIALIZER, \
		.role = (r), .priority = (prio), .width = (w), .label = (char *)(name), .qos = (c), \
	}

static void dqueue_drain_invoke(DispatchItem *item);

struct dispatch_queue_s _dispatch_main_q = {
	.head = QUEUE_STATIC_HEAD(&dqueue_vtable),
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

/* The attribute with these properties (NULL is the plain serial one). */
static dispatch_queue_attr_t dqueue_attr_lookup(int concurrent, int inactive, dispatch_qos_class_t qos,
						int relpri)
{
	for (int k = 0; qos && k < QUEUE_N_QOS; k++) {
		if (dqueue_qos_classes[k] != qos)
			continue;
		pthread_once(&dqueue_qos_once, dqueue_qos_attrs_init);
		return &dqueue_qos_attrs[concurrent][inactive][k][-relpri];
	}
	if (concurrent)
		return inactive ? &_dispatch_queue_attr_concurrent_inactive : &_dispatch_queue_attr_concurrent;
	return inactive ? &_dispatch_queue_attr_serial_inactive : NULL;
}

/* 1 + the root queue index of a QoS class, 0 for UNSPECIFIED, -1 if unknown. */
static int dqueue_qos_root(dispatch_qos_class_t qos)
{
	switch (qos) {
	case QOS_CLASS_USER_INTERACTIVE:
	case QOS_CLASS_USER_INITIATED:
		return 1;
	case QOS_CLASS_DEFAULT:
		return 2;
	case QOS_CLASS_UTILITY:
		return 3;
	case QOS_CLASS_BACKGROUND:
		return 4;
	case QOS_CLASS_UNSPECIFIED:
		return 0;
	default:
		return -1;
	}
}

/* As GCD does: an unknown class or a relative priority outside
 * [QOS_MIN_RELATIVE_PRIORITY, 0] leaves @attr unchanged. */
dispatch_queue_attr_t dispatch_queue_attr_make_with_qos_class(dispatch_queue_attr_t attr,
							      dispatch_qos_class_t qos_class,
							      int relative_priority)
{
	int root = dqueue_qos_root(qos_class);

	if (root < 0 || relative_priority > 0 || relative_priority < QOS_MIN_RELATIVE_PRIORITY)
		return attr;
	return dqueue_attr_lookup(attr && attr->concurrent, attr && attr->inactive, qos_class,
				  root ? relative_priority : 0);
}

dispatch_queue_attr_t dispatch_queue_attr_make_initially_inactive(dispatch_queue_attr_t attr)
{
	return dqueue_attr_lookup(attr && attr->concurrent, 1, attr ? attr->qos : 0, attr ? attr->relpri : 0);
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

static void dqueue_dispose(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->first)
		dobject_crash("Release of a queue that still holds work (suspended or inactive)");
	dcurrent_specifics_free(q);
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
		dwork_main_wake();
	else
		dqueue_push(atomic_load(&q->head.target), &q->drain);
}

void dqueue_push(dispatch_queue_t q, DispatchItem *item)
{
	int sched;

	item->next = NULL;
	if (q->role == QUEUE_ROOT) {
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
	dispatch_group_t group = it->group;

	free(it);
	func(ctx);
	if (group) {
		dispatch_group_leave(group);
		dobject_release(group);
	}
}

DispatchItem *dqueue_item_new(dispatch_function_t func, void *ctx, dispatch_group_t group, unsigned flags)
{
	DispatchItem *it = malloc(sizeof(*it));

	if (!it)
		return NULL;
	it->next = NULL;
	it->invoke = dqueue_item_invoke;
	it->func = func;
	it->ctx = ctx;
	it->group = group;
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
	DispatchItem *it = dqueue_item_new(func, ctx, NULL, 0);

	if (!it)
		return -1;
	dqueue_push(q, it);
	return 0;
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
