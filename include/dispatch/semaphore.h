/* SPDX-License-Identifier: MIT */
/* <dispatch/semaphore.h> - counting semaphores. */
#ifndef __DISPATCH_SEMAPHORE__
#define __DISPATCH_SEMAPHORE__

#include <dispatch/base.h>
#include <dispatch/time.h>

DISPATCH_BEGIN_DECLS

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_semaphore_t dispatch_semaphore_create(intptr_t value);
/* Returns 0 on success, non-zero on timeout. */
DISPATCH_EXPORT intptr_t dispatch_semaphore_wait(dispatch_semaphore_t dsema, dispatch_time_t timeout);
/* Returns non-zero when a thread was woken. */
DISPATCH_EXPORT intptr_t dispatch_semaphore_signal(dispatch_semaphore_t dsema);

DISPATCH_END_DECLS

#endif /* __DISPATCH_SEMAPHORE__ */
