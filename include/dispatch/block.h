/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/block.h> - dispatch block objects: a block made by
 * dispatch_block_create can be waited for, notified of, cancelled, and
 * carries flags (DISPATCH_BLOCK_BARRIER makes dispatch_async submit it as a
 * barrier).  Release it with Block_release.
 */
#ifndef __DISPATCH_BLOCK__
#define __DISPATCH_BLOCK__

#include <dispatch/base.h>
#include <dispatch/time.h>

#ifdef __BLOCKS__

DISPATCH_BEGIN_DECLS

typedef unsigned long dispatch_block_flags_t;
#define DISPATCH_BLOCK_BARRIER 0x1ul
#define DISPATCH_BLOCK_DETACHED 0x2ul
#define DISPATCH_BLOCK_ASSIGN_CURRENT 0x4ul
#define DISPATCH_BLOCK_NO_QOS_CLASS 0x8ul
#define DISPATCH_BLOCK_INHERIT_QOS_CLASS 0x10ul
#define DISPATCH_BLOCK_ENFORCE_QOS_CLASS 0x20ul

/* NULL for unknown flags (or no memory). */
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_block_t dispatch_block_create(dispatch_block_flags_t flags,
									     dispatch_block_t block);
/* NULL also for an unknown class or a relative priority outside
 * [QOS_MIN_RELATIVE_PRIORITY, 0]. */
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_block_t dispatch_block_create_with_qos_class(
	dispatch_block_flags_t flags, dispatch_qos_class_t qos_class, int relative_priority, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_block_perform(dispatch_block_flags_t flags, DISPATCH_NOESCAPE dispatch_block_t block);
/* 0 once the first execution of @block completed, non-zero on timeout. */
DISPATCH_EXPORT intptr_t dispatch_block_wait(dispatch_block_t block, dispatch_time_t timeout);
DISPATCH_EXPORT void dispatch_block_notify(dispatch_block_t block, dispatch_queue_t queue,
					   dispatch_block_t notification_block);
DISPATCH_EXPORT void dispatch_block_cancel(dispatch_block_t block);
DISPATCH_EXPORT intptr_t dispatch_block_testcancel(dispatch_block_t block);

DISPATCH_END_DECLS

#endif /* __BLOCKS__ */

#endif /* __DISPATCH_BLOCK__ */
