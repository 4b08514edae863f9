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
 * Work is a DispatchItem: an intrusive FIFO link plus an invoke function that
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

#define DOBJ_IMMORTAL INT_MAX

typedef struct DispatchHead DispatchHead;
typedef struct DispatchItem DispatchItem;

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
} DispatchVtable;

struct DispatchHead {
	const DispatchVtable *vt;
	atomic_int refcnt;
	void *ctx;
	dispatch_function_t finalizer;
	_Atomic(struct dispatch_queue_s *) target;
};

#define DITEM_BARRIER 0x1u

struct DispatchItem {
	DispatchItem *next;
	void (*invoke)(DispatchItem *item); /* runs and disposes of the item */
	dispatch_function_t func;
	void *ctx;
	dispatch_group_t group; /* left (and released) after func, or NULL */
	unsigned flags;
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
/* A heap item calling @func(@ctx), leaving @group afterwards if non-NULL;
 * NULL on allocation failure. */
DispatchItem *dqueue_item_new(dispatch_function_t func, void *ctx, dispatch_group_t group, unsigned flags);
/* dispatch_async_f with an item that lives in the caller's own structure,
 * so it cannot fail for lack of memory; @it may be pushed again once @func
 * has started. */
void dqueue_push_embedded(dispatch_queue_t q, DispatchItem *it, dispatch_function_t func, void *ctx);
/* dwork.c: dispatch_after_f that reports allocation failure (-ENOMEM). */
int dwork_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context, dispatch_function_t work);
/* dispatch_async_f that reports allocation failure (-ENOMEM) to the caller. */
int dqueue_async(dispatch_queue_t q, void *ctx, dispatch_function_t func);
dispatch_queue_t dqueue_default_target(void);
void dqueue_runtime_init(void);
/* Calls a block stored as a context (Block_copy'd), then releases it. */
void dqueue_call_block(void *block);
/* Whether work waits behind the item the calling thread runs on @q: items
 * queued on @q or on a queue it targets, or work waiting for a worker.  A
 * hint for code that would otherwise keep the thread a while (io.c). */
int dqueue_others_waiting(dispatch_queue_t q);
/* Whether @q's target is a root (global) queue: then no other queue's work
 * waits while a thread runs @q's items. */
int dqueue_targets_root(dispatch_queue_t q);

/* dblock.c: whether @block was made by dispatch_block_create with
 * DISPATCH_BLOCK_BARRIER (0 for any other block or NULL). */
int dblock_is_barrier(const void *block);

/* dsource.c: a READ source whose handler never asks dispatch_source_get_data
 * (a connection's link): an event merges 1 instead of the FIONREAD byte
 * count, one system call less per wake-up.  Before the source is resumed. */
void dsource_skip_estimate(dispatch_source_t ds);

/* dpool.c: the worker threads serving the root (global) queues. */
void dpool_push(int priority, DispatchItem *item);
/* The priority (root queue index) of the item the calling worker runs,
 * -1 off the pool. */
int dpool_current_priority(void);
/* Whether work waits for a worker (a hint, read without locking). */
int dpool_has_waiting(void);
/* Brackets a wait of a pool worker that may last a few milliseconds (a
 * served connection waiting for the next request): meanwhile the worker
 * does not count against the pool's soft limit, so new work gets another
 * worker instead of waiting.  At most the soft limit (the CPU count, at
 * least 2) of workers wait so at once: dpool_block_begin() returns 1 when
 * the wait may begin (end it with dpool_block_end()), 0 when that many
 * already wait (then do not wait; a dpool_block_end() after a refusal does
 * nothing).  Elsewhere than on a worker: returns 1, and neither has an
 * effect. */
int dpool_block_begin(void);
void dpool_block_end(void);
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

#endif
