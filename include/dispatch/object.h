/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/object.h> - what every dispatch object has: a reference count
 * (dispatch_retain/release), a context and its finalizer, suspension and
 * activation; and the C11 _Generic dispatch_wait/notify/cancel/testcancel.
 */
#ifndef __DISPATCH_OBJECT__
#define __DISPATCH_OBJECT__

#include <dispatch/base.h>

DISPATCH_BEGIN_DECLS

DISPATCH_EXPORT void dispatch_retain(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_release(dispatch_object_t object);
DISPATCH_EXPORT void *dispatch_get_context(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_set_context(dispatch_object_t object, void *context);
/* The finalizer runs, with the context, when the last reference goes, on
 * the object's target queue; only if the context is not NULL. */
DISPATCH_EXPORT void dispatch_set_finalizer_f(dispatch_object_t object, dispatch_function_t finalizer);
DISPATCH_EXPORT void dispatch_suspend(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_resume(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_activate(dispatch_object_t object);
/* Recorded for dispatch_queue_get_qos_class of nothing: threads all run at
 * one priority (docs/dispatch.md). */
DISPATCH_EXPORT void dispatch_set_qos_class_floor(dispatch_object_t object, dispatch_qos_class_t qos_class,
						  int relative_priority);
/* Deprecated in Apple's SDK: writes "<kind> <address> [<label>]: <message>"
 * to stderr. */
DISPATCH_EXPORT __attribute__((__format__(__printf__, 2, 3))) void dispatch_debug(dispatch_object_t object,
										    const char *message, ...);
DISPATCH_EXPORT __attribute__((__format__(__printf__, 2, 0))) void dispatch_debugv(dispatch_object_t object,
										     const char *message,
										     va_list ap);

/* As in Apple's object.h: one name for the block, group, semaphore and
 * source forms (C11 only; the functions are declared by block.h, group.h,
 * semaphore.h and source.h). */
#if !defined(__cplusplus) && defined(__BLOCKS__) && defined(__has_extension)
#if __has_extension(c_generic_selections)
#define dispatch_wait(object, timeout)                                                 \
	_Generic((object),                                                             \
		dispatch_block_t: dispatch_block_wait,                                 \
		dispatch_group_t: dispatch_group_wait,                                 \
		dispatch_semaphore_t: dispatch_semaphore_wait)((object), (timeout))
#define dispatch_notify(object, queue, notification_block)                             \
	_Generic((object),                                                             \
		dispatch_block_t: dispatch_block_notify,                               \
		dispatch_group_t: dispatch_group_notify)((object), (queue), (notification_block))
#define dispatch_cancel(object)                                                        \
	_Generic((object),                                                             \
		dispatch_block_t: dispatch_block_cancel,                               \
		dispatch_source_t: dispatch_source_cancel)((object))
#define dispatch_testcancel(object)                                                    \
	_Generic((object),                                                             \
		dispatch_block_t: dispatch_block_testcancel,                           \
		dispatch_source_t: dispatch_source_testcancel)((object))
#endif
#endif

DISPATCH_END_DECLS

#endif /* __DISPATCH_OBJECT__ */
