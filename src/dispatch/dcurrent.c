/* SPDX-License-Identifier: MIT */
/*
 * dcurrent.c - what running code can ask about the queue it runs on:
 * dispatch_assert_queue*, dispatch_get_current_queue, queue-specific data
 * (dispatch_queue_set_specific / dispatch_get_specific), and the small
 * queue calls around creation: create_with_target, workloops, QoS queries,
 * autorelease frequencies, dispatch_debug.
 *
 * "The current queue" is the innermost queue the calling thread drains
 * (its QueueFrame stack, dqueue.c); a thread running an item pushed
 * straight to a global queue runs on that root (dpool_current_priority);
 * the main thread outside any block is on the main queue.  A queue is
 * "current" when it is the current queue or one of the queues that queue
 * targets, as in GCD: a block on a serial queue targeting another runs
 * on both.
 *
 * Specifics: a short list per queue under its lock (a program sets a few
 * keys per queue); a replaced or freed value's destructor runs on the
 * default global queue (dqueue_specific_destroy: the queue frees its list
 * when it goes, so that part is dqueue.c's).
 *
 * Edges: calls dqueue.c, dpool.c and dobject.c; nothing below calls it.
 */
#include "dispatch/internal.h"
#include "dispatch/dqueue.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static int dcurrent_is_main_thread(void)
{
	return (pid_t)syscall(SYS_gettid) == getpid();
}

/* The queue whose work the calling thread runs, NULL if none. */
static dispatch_queue_t dcurrent_queue(void)
{
	QueueFrame *f = dqueue_current_frame();
	int prio;

	if (f)
		return f->queue;
	prio = dpool_current_priority();
	if (prio >= 0)
		return dqueue_root(prio);
	return NULL;
}

/* Whether the calling thread runs on @q (its own frame, or a root the
 * current queue targets); *@barrier: alone on @q (serial, or a barrier). */
static int dcurrent_on(dispatch_queue_t q, int *barrier)
{
	*barrier = 0;
	for (QueueFrame *f = dqueue_current_frame(); f; f = f->prev) {
		if (f->queue == q) {
			*barrier = f->barrier;
			return 1;
		}
	}
	if (q->role == QUEUE_MAIN) /* bound to the main thread, as in GCD */
		return *barrier = dcurrent_is_main_thread();
	if (q->role == QUEUE_ROOT) {
		dispatch_queue_t c = dcurrent_queue();

		for (int depth = 0; c && depth < 64; depth++) {
			if (c == q)
				return 1;
			c = atomic_load(&c->head.target);
		}
	}
	return 0;
}

static void dcurrent_fail(const char *what, dispatch_queue_t q)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "Assertion failed: Block was %s queue [%s (%p)]", what,
		 q->label ? q->label : "", (void *)q);
	dobject_crash(msg);
}

void dispatch_assert_queue(dispatch_queue_t queue)
{
	int barrier;

	if (!dcurrent_on(queue, &barrier))
		dcurrent_fail("expected to execute on", queue);
}

void dispatch_assert_queue_barrier(dispatch_queue_t queue)
{
	int barrier;

	if (!dcurrent_on(queue, &barrier))
		dcurrent_fail("expected to execute on", queue);
	if (!barrier && queue->role != QUEUE_MAIN)
		dcurrent_fail("expected to act as a barrier on", queue);
}

void dispatch_assert_queue_not(dispatch_queue_t queue)
{
	int barrier;

	if (dcurrent_on(queue, &barrier))
		dcurrent_fail("not expected to execute on", queue);
}

dispatch_queue_t dispatch_get_current_queue(void)
{
	dispatch_queue_t q = dcurrent_queue();

	if (q)
		return q;
	if (dcurrent_is_main_thread())
		return dispatch_get_main_queue();
	return dqueue_default_target();
}

/* ---- specifics --------------------------------------------------------------- */

void dispatch_queue_set_specific(dispatch_queue_t queue, const void *key, void *context,
				 dispatch_function_t destructor)
{
	QueueSpecific *s, **p, *old = NULL, *add = NULL;

	if (!key || queue->role == QUEUE_ROOT)
		return;
	if (context) {
		add = malloc(sizeof(*add));
		if (!add)
			return;
		*add = (QueueSpecific){.key = key, .ctx = context, .destructor = destructor};
	}
	pthread_mutex_lock(&queue->lock);
	for (p = &queue->specifics; (s = *p); p = &s->next) {
		if (s->key == key) {
			old = s;
			*p = s->next;
			break;
		}
	}
	if (add) {
		add->next = queue->specifics;
		queue->specifics = add;
	}
	pthread_mutex_unlock(&queue->lock);
	if (old)
		dqueue_specific_destroy(old);
}

void *dispatch_queue_get_specific(dispatch_queue_t queue, const void *key)
{
	void *ctx = NULL;

	if (!key || queue->role == QUEUE_ROOT)
		return NULL;
	pthread_mutex_lock(&queue->lock);
	for (QueueSpecific *s = queue->specifics; s; s = s->next) {
		if (s->key == key) {
			ctx = s->ctx;
			break;
		}
	}
	pthread_mutex_unlock(&queue->lock);
	return ctx;
}

void *dispatch_get_specific(const void *key)
{
	dispatch_queue_t q = dispatch_get_current_queue();

	for (int depth = 0; q && depth < 64; depth++) {
		void *ctx = dispatch_queue_get_specific(q, key);

		if (ctx)
			return ctx;
		q = atomic_load(&q->head.target);
	}
	return NULL;
}

/* ---- creation, QoS, workloops ------------------------------------------------- */

dispatch_queue_t dispatch_queue_create_with_target(const char *label, dispatch_queue_attr_t attr,
						   dispatch_queue_t target)
{
	dispatch_queue_t q = dispatch_queue_create(label, attr);

	if (q && target)
		dispatch_set_target_queue(q, target);
	return q;
}

dispatch_queue_attr_t dispatch_queue_attr_make_with_autorelease_frequency(dispatch_queue_attr_t attr,
									  dispatch_autorelease_frequency_t frequency)
{
	return attr; /* no autorelease pools here: every frequency is the same */
}

dispatch_qos_class_t dispatch_queue_get_qos_class(dispatch_queue_t queue, int *relative_priority_ptr)
{
	if (relative_priority_ptr)
		*relative_priority_ptr = queue->qos ? queue->qos_relpri : 0;
	return queue->qos;
}

void dispatch_set_qos_class_floor(dispatch_object_t object, dispatch_qos_class_t qos_class,
				  int relative_priority)
{
	/* Accepted: threads all run at one priority (docs/dispatch.md). */
}

dispatch_workloop_t dispatch_workloop_create(const char *label)
{
	return dispatch_queue_create(label, DISPATCH_QUEUE_SERIAL);
}

dispatch_workloop_t dispatch_workloop_create_inactive(const char *label)
{
	return dispatch_queue_create(label, DISPATCH_QUEUE_SERIAL_INACTIVE);
}

/* ---- dispatch_debug -------------------------------------------------------------- */

static const char *dcurrent_kind_name(DispatchHead *h)
{
	static const char *const names[] = {"object", "queue", "queue-attr", "source", "group",
					    "semaphore", "data", "io"};
	unsigned k = (unsigned)h->vt->kind;

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "object";
}

void dispatch_debugv(dispatch_object_t object, const char *message, va_list ap)
{
	DispatchHead *h = (DispatchHead *)object._do;
	char text[512];

	vsnprintf(text, sizeof(text), message, ap);
	if (h && h->vt->kind == DOBJ_QUEUE)
		fprintf(stderr, "%s %p [%s]: %s\n", dcurrent_kind_name(h), (void *)h,
			((dispatch_queue_t)h)->label ? ((dispatch_queue_t)h)->label : "", text);
	else if (h)
		fprintf(stderr, "%s %p: %s\n", dcurrent_kind_name(h), (void *)h, text);
	else
		fprintf(stderr, "NULL: %s\n", text);
}

void dispatch_debug(dispatch_object_t object, const char *message, ...)
{
	va_list ap;

	va_start(ap, message);
	dispatch_debugv(object, message, ap);
	va_end(ap);
}
