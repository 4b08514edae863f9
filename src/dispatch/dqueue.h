/* SPDX-License-Identifier: MIT */
/*
 * dqueue.h - queue internals shared by the files of the dispatch layer
 * (dwork.c submits, dsource.c and manager.c deliver, dcurrent.c asks).
 */
#ifndef XPC_DISPATCH_DQUEUE_H
#define XPC_DISPATCH_DQUEUE_H

#include "dispatch/internal.h"

#define QUEUE_N_PRIORITIES 4

/* One entry of the per-thread stack of queues being drained. */
typedef struct QueueFrame {
	dispatch_queue_t queue;
	struct QueueFrame *prev;
	int barrier; /* the item running is alone on the queue */
} QueueFrame;

/* The innermost frame of the calling thread, NULL outside any drain. */
QueueFrame *dqueue_current_frame(void);
/* The root (global) queue of priority index @prio. */
dispatch_queue_t dqueue_root(int prio);
/* One queue-specific value (dispatch_queue_set_specific, dcurrent.c), on
 * the queue's list under its lock. */
typedef struct QueueSpecific {
	struct QueueSpecific *next;
	const void *key;
	void *ctx;
	dispatch_function_t destructor;
} QueueSpecific;
/* Frees @s (off any list), its destructor queued on the default global
 * queue (run here when that fails). */
void dqueue_specific_destroy(QueueSpecific *s);

void dqueue_frame_push(QueueFrame *f, dispatch_queue_t q);
void dqueue_frame_pop(QueueFrame *f);
/* Runs the drain loop of @q; consumes the reference of its drain request. */
void dqueue_drain(dispatch_queue_t q);
void dqueue_init_drain(dispatch_queue_t q);
/* Claims @q for the calling thread when it is idle and its target is a root
 * queue (the inline dispatch_sync path); 1 when claimed, then dqueue_leave. */
int dqueue_try_enter(dispatch_queue_t q, int barrier);
void dqueue_leave(dispatch_queue_t q, int barrier);
/* manager.c: starts the manager thread (once, by dqueue_runtime_init). */
void manager_start(void);

/* dmain.c: the main thread's doorbell.  The main queue has work: wakes
 * dispatch_main() (dqueue.c, any thread). */
void dmain_wake(void);
/* Sleeps until dmain_wake() was called since the last return (dwork.c's
 * dispatch_main, on the main thread). */
void dmain_wait(void);

#endif
