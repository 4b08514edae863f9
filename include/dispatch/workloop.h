/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/workloop.h> - workloops.  Here a workloop is a serial queue
 * (dispatch_workloop_t is dispatch_queue_t): it runs its items one at a
 * time in FIFO order; Apple's priority ordering and thread binding are
 * not reproduced (docs/dispatch.md).
 */
#ifndef __DISPATCH_WORKLOOP__
#define __DISPATCH_WORKLOOP__

#include <dispatch/base.h>

DISPATCH_BEGIN_DECLS

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_workloop_t dispatch_workloop_create(const char *label);
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_workloop_t dispatch_workloop_create_inactive(const char *label);

DISPATCH_END_DECLS

#endif /* __DISPATCH_WORKLOOP__ */
