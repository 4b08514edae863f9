/* SPDX-License-Identifier: MIT */
/*
 * dqueue.h - queue internals shared by the files of the dispatch layer
 * (dwork.c submits, dsource.c and manager.c deliver).
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
/* dqueue.c -> dcurrent.c: frees @q's specifics, calling destructors. */
void dcurrent_specifics_free(dispatch_queue_t q);

void dqueue_frame_push(QueueFrame *f, dispatch_queue_t q);
void dqueue_frame_pop(QueueFrame *f);
/* Runs the drain loop of @q; consumes the reference of its drain request. */
void dqueue_drain(dispatch_queue_t q);
void dqueue_init_drain(dispatch_queue_t q);
/* Claims @q for the calling thread when it is idle and its target is a root
 * queue (the inline dispatch_sync path); 1 when claimed, then dqueue_leave. */
int dqueue_try_enter(dispatch_queue_t q, int barrier);
void dqueue_leave(dispatch_queue_t q, int barrier);
/* dwork.c: the main queue has work; wake dispatch_main(). */
void dwork_main_wake(void);
/* manager.c: starts the manager thread (once, by dqueue_runtime_init). */
void manager_start(void);

#endif
