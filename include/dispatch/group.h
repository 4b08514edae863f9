/* SPDX-License-Identifier: MIT */
/* <dispatch/group.h> - dispatch groups: wait for or be notified of the end
 * of a set of work items. */
#ifndef __DISPATCH_GROUP__
#define __DISPATCH_GROUP__

#include <dispatch/base.h>
#include <dispatch/time.h>

DISPATCH_BEGIN_DECLS

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_group_t dispatch_group_create(void);
#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_group_async(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_group_notify(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block);
#endif
DISPATCH_EXPORT void dispatch_group_async_f(dispatch_group_t group, dispatch_queue_t queue, void *context,
					    dispatch_function_t work);
DISPATCH_EXPORT void dispatch_group_notify_f(dispatch_group_t group, dispatch_queue_t queue, void *context,
					     dispatch_function_t work);
/* Returns 0 when the group emptied, non-zero on timeout. */
DISPATCH_EXPORT intptr_t dispatch_group_wait(dispatch_group_t group, dispatch_time_t timeout);
DISPATCH_EXPORT void dispatch_group_enter(dispatch_group_t group);
DISPATCH_EXPORT void dispatch_group_leave(dispatch_group_t group);

DISPATCH_END_DECLS

#endif /* __DISPATCH_GROUP__ */
