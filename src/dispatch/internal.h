/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the object model of the dispatch runtime, shared by its files.
 *
 * Every dispatch object starts with a DispatchHead: a vtable (its class), an
 * atomic reference count (DOBJ_IMMORTAL for the static objects: the main
 * queue, the global queues, the queue attributes and dispatch_data_empty), the
 * context and finalizer of dispatch_set_context/_finalizer_f, and a target
 * queue (queues: the queue they drain on; sources: the queue their handlers
 * run on; held with a reference).
 *
 * What the layers above may use is in runtime.h (included here); this
 * header is for the files of src/dispatch/ only.  The files call one
 * another one way (docs/dispatch.md, "Files"): dobject.c at the bottom,
 * then timers, pool and manager, queues, then waiting, blocks and
 * submission, sources and I/O on top.
 *
 * Work is a DispatchItem (runtime.h): an intrusive FIFO link plus an invoke function that
 * runs the item and then disposes of it (heap items free themselves, the
 * drain request embedded in each queue does not, a dispatch_sync waiter lives
 * on the caller's stack).  Queues form a tree whose roots are the global
 * queues (served by the worker pool, dpool.c) and the main queue (served by
 * dispatch_main).  Invariant of a non-root queue: while it has runnable items
 * and is not suspended or inactive, either a drain request of it is pending
 * on its target, or a thread is inside its drain loop and will look again.
 */
#ifndef XPC_DISPATCH_INTERNAL_H
#define XPC_DISPATCH_INTERNAL_H

#include <dispatch/dispatch.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dispatch/runtime.h"
#include "shared/assert.h"
#include "shared/list.h"
#include "shared/lock.h"

#define DOBJ_IMMORTAL INT_MAX
/* The head of a static (immortal) object of class @vtp. */
#define DOBJ_STATIC_HEAD(vtp) {.vt = (vtp), .refcnt = DOBJ_IMMORTAL}

typedef struct DispatchHead DispatchHead;

typedef enum {
	DOBJ_QUEUE = 1,
	DOBJ_ATTR,
	DOBJ_SOURCE,
	DOBJ_GROUP,
	DOBJ_SEMAPHORE,
	DOBJ_DATA,
	DOBJ_IO,
} DispatchKind;

typedef struct {
	DispatchKind kind;
	void (*dispose)(DispatchHead *obj); /* frees the object (not the finalizer) */
	void (*suspend)(DispatchHead *obj);
	void (*resume)(DispatchHead *obj);
	void (*activate)(DispatchHead *obj);
	/* Queues only: runs @func(@ctx) on the queue @obj (how dobject.c,
	 * which knows no queue, sends a finalizer to an object's target).
	 * Return: 0, or -1 out of memory (nothing queued). */
	int (*async)(DispatchHead *obj, void *ctx, dispatch_function_t func);
} DispatchVtable;

struct DispatchHead {
	const DispatchVtable *vt;
	atomic_int refcnt;
	void *ctx;
	dispatch_function_t finalizer;
	_Atomic(struct dispatch_queue_s *) target;
};

/* The queue kinds below the API: roots are served by the pool, main by
 * dispatch_main(), plain queues by a drain request on their target. */
typedef enum { QUEUE_PLAIN = 0, QUEUE_ROOT, QUEUE_MAIN } QueueRole;

struct dispatch_queue_attr_s {
	DispatchHead head;
	int concurrent;
	int inactive;
	int qos_root; /* 0: default target; else 1 + index of the root queue */
	dispatch_qos_class_t qos; /* the class itself (UNSPECIFIED: 0) */
	int relpri;   /* relative priority given with the class */
};

struct dispatch_queue_s {
	DispatchHead head;
	pthread_mutex_t lock;
	DispatchItem *first, *last;
	DispatchItem drain; /* the one drain request of this queue */
	int role;
	int priority; /* roots: index into the pool's run lists */
	int width;    /* 1 serial, INT_MAX concurrent */
	int running;
	int barrier_running;
	int scheduled; /* drain request pending on the target */
	int suspended;
	int inactive;
	dispatch_qos_class_t qos;  /* dispatch_queue_get_qos_class */
	int qos_relpri;
	struct QueueSpecific *specifics; /* under lock */
	char *label;
	char label_buf[40];
};

/* dobject.c */
void dobject_init(DispatchHead *head, const DispatchVtable *vt);
void dobject_retain(void *obj);
int dobject_try_retain(void *obj);
void dobject_release(void *obj);
/* Writes "BUG IN CLIENT OF LIBDISPATCH: @msg" to stderr and aborts. */
__attribute__((noreturn)) void dobject_crash(const char *msg);
/* Absolute CLOCK_MONOTONIC nanoseconds of a dispatch_time_t (FOREVER stays). */
uint64_t dobject_deadline_ns(dispatch_time_t when);
uint64_t dobject_now_ns(void);
/* Fills @ts (CLOCK_MONOTONIC, absolute) for @when; false for FOREVER. */
int dobject_timespec(dispatch_time_t when, struct timespec *ts);

/* dqueue.c */
/* Takes ownership of @item (a heap item made by dqueue_item_new). */
void dqueue_push(dispatch_queue_t q, DispatchItem *item);
/* A heap item calling @func(@ctx), then freeing itself; NULL on
 * allocation failure.  (A group item replaces its invoke: dsync.c.) */
DispatchItem *dqueue_item_new(dispatch_function_t func, void *ctx, unsigned flags);
void dqueue_runtime_init(void);
/* Calls a block stored as a context (Block_copy'd), then releases it. */
void dqueue_call_block(void *block);

/* dblock.c: whether @block was made by dispatch_block_create with
 * DISPATCH_BLOCK_BARRIER (0 for any other block or NULL). */
int dblock_is_barrier(const void *block);

/* dpool.c: the worker threads serving the root (global) queues. */
void dpool_push(int priority, DispatchItem *item);
/* The priority (root queue index) of the item the calling worker runs,
 * -1 off the pool. */
int dpool_current_priority(void);
/* Whether work waits for a worker (a hint, read without locking). */
int dpool_has_waiting(void);
/* The number of pool workers now (tests, benchmarks). */
int dpool_thread_count(void);
/* Records the signal mask of the calling thread for the workers. */
void dpool_init(void);
/* A detached thread running @fn(@arg) with signal mask @mask.
 * Return: 0 or a negative errno. */
int dpool_spawn_thread(void *(*fn)(void *), void *arg, const sigset_t *mask);

/* dsync.c: a one-shot wake-up for a waiting thread (futex based). */
typedef struct {
	atomic_uint state;
} DispatchWaiter;
void dsync_waiter_wait(DispatchWaiter *w);
void dsync_waiter_wake(DispatchWaiter *w);

/* A call one thread leaves for itself to make later (a _Thread_local:
 * dpool_run_after's, dsync_before_wait's). */
typedef struct {
	dispatch_function_t fn;
	void *ctx;
} DeferredCall;

/* Makes @d's call, if one is left, after clearing it (the call may leave
 * another).  Return: whether there was one. */
static inline bool deferred_call_run(DeferredCall *d)
{
	dispatch_function_t fn = d->fn;

	if (!fn)
		return false;
	d->fn = NULL;
	fn(d->ctx);
	return true;
}

#endif
