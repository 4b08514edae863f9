/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/source.h> - dispatch sources: a handler on a queue for events
 * of a descriptor (READ, WRITE, VNODE), a timer, a signal, a process (PROC)
 * or the program itself (DATA_ADD/OR/REPLACE with dispatch_source_merge_data).
 * What dispatch_source_get_data returns per type: docs/dispatch.md.
 */
#ifndef __DISPATCH_SOURCE__
#define __DISPATCH_SOURCE__

#include <dispatch/base.h>
#include <dispatch/time.h>

DISPATCH_BEGIN_DECLS

typedef const struct dispatch_source_type_s *dispatch_source_type_t;

#define DISPATCH_SOURCE_TYPE_DATA_ADD (&_dispatch_source_type_data_add)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_data_add;
#define DISPATCH_SOURCE_TYPE_DATA_OR (&_dispatch_source_type_data_or)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_data_or;
#define DISPATCH_SOURCE_TYPE_DATA_REPLACE (&_dispatch_source_type_data_replace)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_data_replace;
#define DISPATCH_SOURCE_TYPE_PROC (&_dispatch_source_type_proc)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_proc;
#define DISPATCH_SOURCE_TYPE_READ (&_dispatch_source_type_read)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_read;
#define DISPATCH_SOURCE_TYPE_SIGNAL (&_dispatch_source_type_signal)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_signal;
#define DISPATCH_SOURCE_TYPE_TIMER (&_dispatch_source_type_timer)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_timer;
#define DISPATCH_SOURCE_TYPE_VNODE (&_dispatch_source_type_vnode)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_vnode;
#define DISPATCH_SOURCE_TYPE_WRITE (&_dispatch_source_type_write)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_write;

/* PROC: only EXIT is ever reported here (pidfd); the others are accepted
 * and never fire (docs/dispatch.md). */
typedef unsigned long dispatch_source_proc_flags_t;
#define DISPATCH_PROC_EXIT 0x80000000ul
#define DISPATCH_PROC_FORK 0x40000000ul
#define DISPATCH_PROC_EXEC 0x20000000ul
#define DISPATCH_PROC_SIGNAL 0x08000000ul

/* VNODE (inotify on the descriptor's file). */
typedef unsigned long dispatch_source_vnode_flags_t;
#define DISPATCH_VNODE_DELETE 0x1ul
#define DISPATCH_VNODE_WRITE 0x2ul
#define DISPATCH_VNODE_EXTEND 0x4ul
#define DISPATCH_VNODE_ATTRIB 0x8ul
#define DISPATCH_VNODE_LINK 0x10ul
#define DISPATCH_VNODE_RENAME 0x20ul
#define DISPATCH_VNODE_REVOKE 0x40ul
#define DISPATCH_VNODE_FUNLOCK 0x100ul

typedef unsigned long dispatch_source_timer_flags_t;
#define DISPATCH_TIMER_STRICT 0x1ul

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_source_t dispatch_source_create(dispatch_source_type_t type,
									       uintptr_t handle,
									       uintptr_t mask,
									       dispatch_queue_t queue);
#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_source_set_event_handler(dispatch_source_t source, dispatch_block_t handler);
DISPATCH_EXPORT void dispatch_source_set_cancel_handler(dispatch_source_t source, dispatch_block_t handler);
DISPATCH_EXPORT void dispatch_source_set_registration_handler(dispatch_source_t source,
							      dispatch_block_t handler);
#endif
/* The _f handlers receive the source's context (dispatch_set_context). */
DISPATCH_EXPORT void dispatch_source_set_event_handler_f(dispatch_source_t source, dispatch_function_t handler);
DISPATCH_EXPORT void dispatch_source_set_cancel_handler_f(dispatch_source_t source, dispatch_function_t handler);
DISPATCH_EXPORT void dispatch_source_set_registration_handler_f(dispatch_source_t source,
								dispatch_function_t handler);
DISPATCH_EXPORT void dispatch_source_cancel(dispatch_source_t source);
DISPATCH_EXPORT intptr_t dispatch_source_testcancel(dispatch_source_t source);
DISPATCH_EXPORT uintptr_t dispatch_source_get_handle(dispatch_source_t source);
DISPATCH_EXPORT uintptr_t dispatch_source_get_mask(dispatch_source_t source);
DISPATCH_EXPORT uintptr_t dispatch_source_get_data(dispatch_source_t source);
/* DATA_ADD/OR/REPLACE: adds, ORs or stores @value (0 does nothing) into
 * the data of the next event; merges before that event coalesce. */
DISPATCH_EXPORT void dispatch_source_merge_data(dispatch_source_t source, uintptr_t value);
DISPATCH_EXPORT void dispatch_source_set_timer(dispatch_source_t source, dispatch_time_t start,
					       uint64_t interval, uint64_t leeway);

DISPATCH_END_DECLS

#endif /* __DISPATCH_SOURCE__ */
