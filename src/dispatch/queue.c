/*
 * queue.c - queues: the static ones (main, global, attributes), creation,
 * targets, suspension, and the drain loop that runs their items.
 *
 * Model: a queue holds a FIFO of items under its mutex.  It is "scheduled"
 * when its one embedded drain request sits on its target (a root queue goes
 * to the worker pool, the main queue wakes dispatch_main).  The drain request
 * holds a reference on the queue.  The drain loop pops items while they may
 * run: for a serial queue (width 1) one at a time; for a concurrent queue
 * any number of non-barrier items, a barrier only when nothing else runs and
 * nothing after it while it runs.  A concurrent drain re-schedules itself as
 * soon as another item may start, so items fan out over workers.  After 16
 * items a drain yields (re-schedules itself) for fairness.  Every thread
 * keeps a stack of the queues it is draining (QueueFrame), which is what
 * dispatch_sync consults to detect the documented self-deadlock.
 */
#include "dispatch/internal.h"
#include "dispatch/queue.h"

#include <Block.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_DRAIN_BATCH 16

static void queue_dispose(DispatchHead *h);
static void queue_suspend(DispatchHead *h);
static void queue_resume(DispatchHead *h);
static void queue_activate(DispatchHead *h);

static const DispatchVtable queue_vtable = {
	.kind = DOBJ_QUEUE,
	.dispose = queue_dispose,
	.suspend = queue_suspend,
	.resume = queue_resume,
	.activate = queue_activate,
};
static const DispatchVtable queue_attr_vtable = {.kind = DOBJ_ATTR};

#define QUEUE_STATIC_HEAD(vtp) {.vt = (vtp), .refcnt = DOBJ_IMMORTAL}

struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent = {
	.head = QUEUE_STATIC_HEAD(&queue_attr_vtable), .concurrent = 1};
struct dispatch_queue_attr_s _dispatch_queue_attr_serial_inactive = {
	.head = QUEUE_STATIC_HEAD(&queue_attr_vtable), .inactive = 1};
struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent_inactive = {
	.head = QUEUE_STATIC_HEAD(&queue_attr_vtable), .concurrent = 1, .inactive = 1};

#define QUEUE_STATIC(name, r, prio, w)                                                 \
	{                                                                              \
		.head = QUEUE_STATIC_HEAD(&queue_vtable), .lock = PTHREAD_MUTEX_INITIALIZER, \
		.role = (r), .priority = (prio), .width = (w), .label = (char *)(name), \
	}

static void queue_drain_invoke(DispatchItem *item);

struct dispatch_queue_s _dispatch_main_q = {
	.head = QUEUE_STATIC_HEAD(&queue_vtable),
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.drain = {.invoke = queue_drain_invoke, .ctx = &_dispatch_main_q},
	.role = QUEUE_MAIN,
	.width = 1,
	.label = (char *)"com.apple.main-thread",
};

static struct dispatch_queue_s queue_roots[QUEUE_N_PRIORITIES] = {
	QUEUE_STATIC("com.apple.root.user-interactive-qos", QUEUE_ROOT, 0, INT_MAX),
	QUEUE_STATIC("com.apple.root.default-qos", QUEUE_ROOT, 1, INT_MAX),
	QUEUE_STATIC("com.apple.root.utility-qos", QUEUE_ROOT, 2, INT_MAX),
	QUEUE_STATIC("com.apple.root.background-qos", QUEUE_ROOT, 3, INT_MAX),
};

static _Thread_local QueueFrame *queue_frames;

dispatch_queue_t queue_default_target(void)
{
	return &queue_roots[1];
}

dispatch_queue_t dispatch_get_global_queue(intptr_t identifier, uintptr_t flags)
{
	switch (identifier) {
	case DISPATCH_QUEUE_PRIORITY_HIGH:
	case QOS_CLASS_USER_INTERACTIVE:
	case QOS_CLASS_USER_INITIATED:
		return &queue_roots[0];
	case DISPATCH_QUEUE_PRIORITY_DEFAULT:
	case QOS_CLASS_DEFAULT:
		return &queue_roots[1];
	case DISPATCH_QUEUE_PRIORITY_LOW:
	case QOS_CLASS_UTILITY:
		return &queue_roots[2];
	case DISPATCH_QUEUE_PRIORITY_BACKGROUND:
	case QOS_CLASS_BACKGROUND:
		return &queue_roots[3];
	default:
		return NULL;
	}
}

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
	dispatch_queue_t q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	queue_runtime_init();
	object_init(&q->head, &queue_vtable);
	pthread_mutex_init(&q->lock, NULL);
	queue_init_drain(q);
	q->width = attr && attr->concurrent ? INT_MAX : 1;
	q->inactive = attr && attr->inactive;
	q->label = q->label_buf;
	if (label && strlen(label) >= sizeof(q->label_buf))
		q->label = strdup(label);
	if (!q->label) {
		q->label = q->label_buf;
		label = NULL;
	}
	if (label)
		strcpy(q->label, label);
	atomic_init(&q->head.target, queue_default_target());
	return q;
}

const char *dispatch_queue_get_label(dispatch_queue_t queue)
{
	if (queue == DISPATCH_CURRENT_QUEUE_LABEL)
		queue = queue_frames ? queue_frames->queue : NULL;
	if (!queue)
		return "";
	return queue->label ? queue->label : "";
}

static void queue_dispose(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->first)
		object_crash("Release of a queue that still holds work (suspended or inactive)");
	object_release(atomic_load(&q->head.target));
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
		queue = queue_default_target();
	object_retain(queue);
	old = atomic_exchange(&h->target, queue);
	object_release(old);
}

/* ---- scheduling ------------------------------------------------------------ */

/* Called with q->lock held. */
static int queue_can_run(dispatch_queue_t q)
{
	DispatchItem *it = q->first;

	if (!it || q->suspended || q->inactive || q->barrier_running)
		return 0;
	if (q->width == 1 || (it->flags & DITEM_BARRIER))
		return q->running == 0;
	return q->running < q->width;
}

/* Called with q->lock held: claims the drain request if one is needed. */
static int queue_claim_schedule(dispatch_queue_t q)
{
	if (q->scheduled || !queue_can_run(q))
		return 0;
	q->scheduled = 1;
	return 1;
}

static void queue_schedule(dispatch_queue_t q)
{
	object_retain(q);
	if (q->role == QUEUE_MAIN)
		queue_main_wake();
	else
		queue_push(atomic_load(&q->head.target), &q->drain);
}

void queue_push(dispatch_queue_t q, DispatchItem *item)
{
	int sched;

	item->next = NULL;
	if (q->role == QUEUE_ROOT) {
		pool_push(q->priority, item);
		return;
	}
	pthread_mutex_lock(&q->lock);
	if (q->last)
		q->last->next = item;
	else
		q->first = item;
	q->last = item;
	sched = queue_claim_schedule(q);
	pthread_mutex_unlock(&q->lock);
	if (sched)
		queue_schedule(q);
}

/* Called with q->lock held and queue_can_run(q) true. */
static DispatchItem *queue_pop(dispatch_queue_t q, int *barrier)
{
	DispatchItem *it = q->first;

	q->first = it->next;
	if (!q->first)
		q->last = NULL;
	*barrier = q->width == 1 || (it->flags & DITEM_BARRIER);
	q->running++;
	q->barrier_running = *barrier;
	return it;
}

/* Called with q->lock held after an item finished (or a sync ran inline). */
static void queue_finish_locked(dispatch_queue_t q, int barrier)
{
	q->running--;
	if (barrier)
		q->barrier_running = 0;
}

void queue_frame_push(QueueFrame *f, dispatch_queue_t q)
{
	f->queue = q;
	f->prev = queue_frames;
	queue_frames = f;
}

void queue_frame_pop(QueueFrame *f)
{
	queue_frames = f->prev;
}

int queue_is_current(dispatch_queue_t q)
{
	for (QueueFrame *f = queue_frames; f; f = f->prev)
		if (f->queue == q)
			return 1;
	return 0;
}

void queue_drain(dispatch_queue_t q)
{
	QueueFrame frame;
	DispatchItem *it;
	int n = 0, barrier, sched;

	queue_frame_push(&frame, q);
	pthread_mutex_lock(&q->lock);
	q->scheduled = 0;
	while (n < QUEUE_DRAIN_BATCH && queue_can_run(q)) {
		it = queue_pop(q, &barrier);
		sched = q->width > 1 && queue_claim_schedule(q);
		pthread_mutex_unlock(&q->lock);
		if (sched)
			queue_schedule(q);
		it->invoke(it);
		pthread_mutex_lock(&q->lock);
		queue_finish_locked(q, barrier);
		n++;
	}
	sched = queue_claim_schedule(q);
	pthread_mutex_unlock(&q->lock);
	queue_frame_pop(&frame);
	if (sched)
		queue_schedule(q);
	object_release(q);
}

static void queue_drain_invoke(DispatchItem *item)
{
	queue_drain(item->ctx);
}

/* ---- the inline path of dispatch_sync ---------------------------------------- */

int queue_try_enter(dispatch_queue_t q, int barrier)
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

void queue_leave(dispatch_queue_t q, int barrier)
{
	int sched;

	pthread_mutex_lock(&q->lock);
	queue_finish_locked(q, barrier || q->width == 1);
	sched = queue_claim_schedule(q);
	pthread_mutex_unlock(&q->lock);
	if (sched)
		queue_schedule(q);
}

/* ---- suspend, resume, activate -------------------------------------------------- */

static void queue_suspend(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->role == QUEUE_ROOT)
		return;
	pthread_mutex_lock(&q->lock);
	q->suspended++;
	pthread_mutex_unlock(&q->lock);
}

static void queue_kick(dispatch_queue_t q)
{
	int sched = queue_claim_schedule(q);

	pthread_mutex_unlock(&q->lock);
	if (sched)
		queue_schedule(q);
}

static void queue_resume(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->role == QUEUE_ROOT)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->suspended == 0 && q->inactive)
		q->inactive = 0;
	else if (q->suspended == 0)
		object_crash("Over-resume of an object");
	else
		q->suspended--;
	queue_kick(q);
}

static void queue_activate(DispatchHead *h)
{
	dispatch_queue_t q = (dispatch_queue_t)h;

	if (q->role != QUEUE_PLAIN)
		return;
	pthread_mutex_lock(&q->lock);
	q->inactive = 0;
	queue_kick(q);
}

/* ---- items ------------------------------------------------------------------- */

static void queue_item_invoke(DispatchItem *it)
{
	dispatch_function_t func = it->func;
	void *ctx = it->ctx;
	dispatch_group_t group = it->group;

	free(it);
	func(ctx);
	if (group) {
		dispatch_group_leave(group);
		object_release(group);
	}
}

DispatchItem *queue_item_new(dispatch_function_t func, void *ctx, dispatch_group_t group, unsigned flags)
{
	DispatchItem *it = malloc(sizeof(*it));

	if (!it)
		return NULL;
	it->next = NULL;
	it->invoke = queue_item_invoke;
	it->func = func;
	it->ctx = ctx;
	it->group = group;
	it->flags = flags;
	return it;
}

void queue_call_block(void *block)
{
	dispatch_block_t b = block;

	b();
	Block_release(b);
}

int queue_async(dispatch_queue_t q, void *ctx, dispatch_function_t func)
{
	DispatchItem *it = queue_item_new(func, ctx, NULL, 0);

	if (!it)
		return -1;
	queue_push(q, it);
	return 0;
}

/* ---- runtime start ------------------------------------------------------------- */

static pthread_once_t queue_once = PTHREAD_ONCE_INIT;

void queue_runtime_init(void)
{
	pthread_once(&queue_once, manager_start);
}

void queue_init_drain(dispatch_queue_t q)
{
	q->drain.invoke = queue_drain_invoke;
	q->drain.ctx = q;
}
