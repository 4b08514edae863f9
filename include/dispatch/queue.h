/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/queue.h> - queues and submitting work to them.
 *
 * Serial queues run one block at a time in FIFO order, concurrent queues
 * many; dispatch_main() never returns.  Block-taking calls exist only when
 * the compiler has blocks; each has its `_f` twin taking a context and a
 * function.
 */
#ifndef __DISPATCH_QUEUE__
#define __DISPATCH_QUEUE__

#include <dispatch/base.h>
#include <dispatch/time.h>

DISPATCH_BEGIN_DECLS

#define DISPATCH_QUEUE_SERIAL NULL
#define DISPATCH_QUEUE_CONCURRENT (&_dispatch_queue_attr_concurrent)
DISPATCH_EXPORT struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent;
#define DISPATCH_QUEUE_SERIAL_INACTIVE (&_dispatch_queue_attr_serial_inactive)
DISPATCH_EXPORT struct dispatch_queue_attr_s _dispatch_queue_attr_serial_inactive;
#define DISPATCH_QUEUE_CONCURRENT_INACTIVE (&_dispatch_queue_attr_concurrent_inactive)
DISPATCH_EXPORT struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent_inactive;

/* Autorelease pools do not exist here: the frequency is accepted and has
 * no effect. */
typedef unsigned long dispatch_autorelease_frequency_t;
#define DISPATCH_AUTORELEASE_FREQUENCY_INHERIT 0ul
#define DISPATCH_AUTORELEASE_FREQUENCY_WORK_ITEM 1ul
#define DISPATCH_AUTORELEASE_FREQUENCY_NEVER 2ul
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_attr_t
dispatch_queue_attr_make_with_autorelease_frequency(dispatch_queue_attr_t attr,
						    dispatch_autorelease_frequency_t frequency);
#define DISPATCH_QUEUE_SERIAL_WITH_AUTORELEASE_POOL                                    \
	dispatch_queue_attr_make_with_autorelease_frequency(DISPATCH_QUEUE_SERIAL,     \
							    DISPATCH_AUTORELEASE_FREQUENCY_WORK_ITEM)
#define DISPATCH_QUEUE_CONCURRENT_WITH_AUTORELEASE_POOL                                \
	dispatch_queue_attr_make_with_autorelease_frequency(DISPATCH_QUEUE_CONCURRENT, \
							    DISPATCH_AUTORELEASE_FREQUENCY_WORK_ITEM)

#define DISPATCH_TARGET_QUEUE_DEFAULT NULL
#define DISPATCH_CURRENT_QUEUE_LABEL NULL

#define DISPATCH_QUEUE_PRIORITY_HIGH 2
#define DISPATCH_QUEUE_PRIORITY_DEFAULT 0
#define DISPATCH_QUEUE_PRIORITY_LOW (-2)
#define DISPATCH_QUEUE_PRIORITY_BACKGROUND INT16_MIN

/* An attribute for dispatch_queue_create whose queues target the global
 * queue of @qos_class (relative priorities are accepted, not ordered). */
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_attr_t dispatch_queue_attr_make_with_qos_class(
	dispatch_queue_attr_t attr, dispatch_qos_class_t qos_class, int relative_priority);
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_attr_t
dispatch_queue_attr_make_initially_inactive(dispatch_queue_attr_t attr);

DISPATCH_EXPORT struct dispatch_queue_s _dispatch_main_q;
#define dispatch_get_main_queue() (&_dispatch_main_q)

DISPATCH_EXPORT dispatch_queue_t dispatch_get_global_queue(intptr_t identifier, uintptr_t flags);
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_t dispatch_queue_create(const char *label,
									     dispatch_queue_attr_t attr);
/* dispatch_queue_create, then dispatch_set_target_queue(@target) unless
 * @target is NULL. */
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_t dispatch_queue_create_with_target(const char *label,
											 dispatch_queue_attr_t attr,
											 dispatch_queue_t target);
DISPATCH_EXPORT const char *dispatch_queue_get_label(dispatch_queue_t queue);
/* The class the queue was created with (QOS_CLASS_UNSPECIFIED if none). */
DISPATCH_EXPORT dispatch_qos_class_t dispatch_queue_get_qos_class(dispatch_queue_t queue,
								 int *relative_priority_ptr);
DISPATCH_EXPORT void dispatch_set_target_queue(dispatch_object_t object, dispatch_queue_t queue);
DISPATCH_EXPORT DISPATCH_NORETURN void dispatch_main(void);
/* Deprecated in Apple's SDK, still used: the queue of the running block;
 * outside any, the main queue on the main thread, else the default global
 * queue. */
DISPATCH_EXPORT dispatch_queue_t dispatch_get_current_queue(void);

#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_sync(dispatch_queue_t queue, DISPATCH_NOESCAPE dispatch_block_t block);
DISPATCH_EXPORT void dispatch_async_and_wait(dispatch_queue_t queue, DISPATCH_NOESCAPE dispatch_block_t block);
DISPATCH_EXPORT void dispatch_after(dispatch_time_t when, dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_barrier_async(dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_barrier_sync(dispatch_queue_t queue, DISPATCH_NOESCAPE dispatch_block_t block);
DISPATCH_EXPORT void dispatch_barrier_async_and_wait(dispatch_queue_t queue,
						     DISPATCH_NOESCAPE dispatch_block_t block);
DISPATCH_EXPORT void dispatch_apply(size_t iterations, dispatch_queue_t queue,
				    DISPATCH_NOESCAPE void (^block)(size_t));
#endif
DISPATCH_EXPORT void dispatch_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_async_and_wait_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context,
				      dispatch_function_t work);
DISPATCH_EXPORT void dispatch_barrier_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_barrier_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_barrier_async_and_wait_f(dispatch_queue_t queue, void *context,
						       dispatch_function_t work);
DISPATCH_EXPORT void dispatch_apply_f(size_t iterations, dispatch_queue_t queue, void *context,
				      void (*work)(void *context, size_t iteration));
#define DISPATCH_APPLY_AUTO ((dispatch_queue_t)0)

/* Queue-specific data: @destructor(@context) runs (on the default global
 * queue) when the value is replaced or the queue is freed. */
DISPATCH_EXPORT void dispatch_queue_set_specific(dispatch_queue_t queue, const void *key, void *context,
						 dispatch_function_t destructor);
DISPATCH_EXPORT void *dispatch_queue_get_specific(dispatch_queue_t queue, const void *key);
/* The value for @key of the current queue, else of the queues it targets. */
DISPATCH_EXPORT void *dispatch_get_specific(const void *key);

/* Crash with "BUG IN CLIENT OF LIBDISPATCH: Assertion failed: ..." unless
 * the calling code runs on @queue (directly or through a queue targeting
 * it) / runs there as a barrier / does not run there. */
DISPATCH_EXPORT void dispatch_assert_queue(dispatch_queue_t queue);
DISPATCH_EXPORT void dispatch_assert_queue_barrier(dispatch_queue_t queue);
DISPATCH_EXPORT void dispatch_assert_queue_not(dispatch_queue_t queue);
#define dispatch_assert_queue_debug(q) dispatch_assert_queue(q)
#define dispatch_assert_queue_barrier_debug(q) dispatch_assert_queue_barrier(q)
#define dispatch_assert_queue_not_debug(q) dispatch_assert_queue_not(q)

DISPATCH_END_DECLS

#endif /* __DISPATCH_QUEUE__ */
