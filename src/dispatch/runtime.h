/* SPDX-License-Identifier: MIT */
/*
 * runtime.h - the dispatch layer's face upward: everything the layers above
 * (connection, session, remote, private) may use of the runtime beyond the
 * public <dispatch/dispatch.h>.  They include this header and no other of
 * src/dispatch/; the rest (internal.h, dqueue.h, manager.h, dsource.h,
 * io-internal.h) is the layer's own business and may change shape freely.
 *
 * What it offers, and why a layer above needs it:
 * - work items embedded in the caller's own structures (DispatchItem,
 *   dqueue_push_embedded): queuing a reply or a barrier cannot fail for
 *   lack of memory, so a connection never drops one;
 * - questions about queues (is the calling thread draining this queue, is
 *   it a root, does other work wait behind it) for the inline paths of
 *   synchronous calls and the decision to keep a thread;
 * - manager timers (ManagerTimer) for timeouts that must not cost a
 *   dispatch source each;
 * - pool hints (dpool_block_begin/_end) around waits of a pool worker, and
 *   work left to run on a worker after its item (dpool_run_after);
 * - dispatch_after and dispatch_async that report ENOMEM instead of
 *   crashing (dwork_after_f, dqueue_async).
 *
 * Threads: every function here may be called from any thread unless its
 * comment says otherwise.  Times are CLOCK_MONOTONIC nanoseconds or
 * dispatch_time_t, as each comment says.
 */
#ifndef XPC_DISPATCH_RUNTIME_H
#define XPC_DISPATCH_RUNTIME_H

#include <dispatch/dispatch.h>
#include <stdint.h>

#include "dispatch/mtimer.h"

typedef struct DispatchItem DispatchItem;

/* An item that waits for the queue's barrier (dispatch_barrier_async). */
#define DITEM_BARRIER 0x1u

/* A unit of work on a queue: an intrusive FIFO link plus the function that
 * runs it and then disposes of it.  Only @func and @ctx are the caller's
 * (set by dqueue_push_embedded); the rest is the runtime's. */
struct DispatchItem {
	DispatchItem *next;
	void (*invoke)(DispatchItem *item); /* runs and disposes of the item */
	dispatch_function_t func;
	void *ctx;
	dispatch_group_t group; /* left (and released) after func, or NULL */
	unsigned flags;
};

/* dqueue.c */
/* dispatch_async_f with an item that lives in the caller's own structure,
 * so it cannot fail for lack of memory; @it may be pushed again once @func
 * has started. */
void dqueue_push_embedded(dispatch_queue_t q, DispatchItem *it, dispatch_function_t func, void *ctx);
/* dispatch_async_f that reports allocation failure (-ENOMEM) to the caller. */
int dqueue_async(dispatch_queue_t q, void *ctx, dispatch_function_t func);
/* The queue new queues and sources target by default (a root queue). */
dispatch_queue_t dqueue_default_target(void);
/* Whether the calling thread is draining @q (directly or through a child). */
int dqueue_is_current(dispatch_queue_t q);
/* Whether @q is a root (global) queue, which is never "current". */
int dqueue_is_root(dispatch_queue_t q);
/* Whether work waits behind the item the calling thread runs on @q: items
 * queued on @q or on a queue it targets, or work waiting for a worker.  A
 * hint for code that would otherwise keep the thread a while. */
int dqueue_others_waiting(dispatch_queue_t q);
/* Whether @q's target is a root (global) queue: then no other queue's work
 * waits while a thread runs @q's items. */
int dqueue_targets_root(dispatch_queue_t q);

/* dwork.c: dispatch_after_f that reports allocation failure (-ENOMEM). */
int dwork_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context, dispatch_function_t work);

/* dsource.c: a READ source whose handler never asks dispatch_source_get_data
 * (a connection's link): an event merges 1 instead of the FIONREAD byte
 * count, one system call less per wake-up.  Before the source is resumed. */
void dsource_skip_estimate(dispatch_source_t ds);
/* dsource.c: a READ source watched edge-triggered (before it is resumed):
 * it is not re-armed after each handler (an epoll_ctl per delivery less),
 * and an event that comes while its handler runs makes it run again.  Its
 * handler must read until it knows the descriptor is empty (EAGAIN, or a
 * receive of two packets that brought one) or call dsource_redeliver for
 * what it leaves unread: no event comes again for data already there. */
void dsource_edge_triggered(dispatch_source_t ds);
/* dsource.c: one more delivery of @ds (any thread; within its handler:
 * after it), as if an event had come; a suspended source gets it when
 * resumed. */
void dsource_redeliver(dispatch_source_t ds);

/* dpool.c: brackets a wait of a pool worker that may last a few
 * milliseconds (a served connection waiting for the next request):
 * meanwhile the worker does not count against the pool's soft limit, so new
 * work gets another worker instead of waiting.  At most the soft limit (the
 * CPU count, at least 2) of workers wait so at once: dpool_block_begin()
 * returns 1 when the wait may begin (end it with dpool_block_end()), 0 when
 * that many already wait (then do not wait; a dpool_block_end() after a
 * refusal does nothing).  Elsewhere than on a worker: returns 1, and
 * neither has an effect.  dpool_block_refusals() counts the refusals so
 * far: a waiter that sees it move knows another worker wanted its place. */
int dpool_block_begin(void);
void dpool_block_end(void);
unsigned long dpool_block_refusals(void);
/* dpool.c: runs @fn(@ctx) on the calling pool worker right after the item
 * it runs now returned (its queue's drain over, the queue let go), before
 * it takes other work.  1 when set; 0 elsewhere than on a worker, or when
 * one is set already (then the caller does without). */
int dpool_run_after(dispatch_function_t fn, void *ctx);
/* dsync.c: runs @fn(@ctx) once, before the calling thread next waits in a
 * semaphore, a group or a dispatch_sync (no lock held), for work held back
 * that the wait may need; NULL clears it.  One per thread. */
void dsync_before_wait(dispatch_function_t fn, void *ctx);

#endif
