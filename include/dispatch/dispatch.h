/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/dispatch.h> - the subset of Grand Central Dispatch that XPC
 * programs use, under GCD's own names, split into Apple's headers.
 *
 * Debian has no libdispatch package, so libxpc carries this runtime.  The
 * semantics are GCD's (dispatch_queue_create(3), dispatch_source_create(3));
 * docs/dispatch.md lists what exists and every known difference.  Objects
 * are reference counted with dispatch_retain/release.
 */
#ifndef __DISPATCH_PUBLIC__
#define __DISPATCH_PUBLIC__

#include <dispatch/base.h>
#include <dispatch/time.h>
#include <dispatch/object.h>
#include <dispatch/queue.h>
#include <dispatch/workloop.h>
#include <dispatch/block.h>
#include <dispatch/source.h>
#include <dispatch/group.h>
#include <dispatch/semaphore.h>
#include <dispatch/once.h>
#include <dispatch/data.h>
#include <dispatch/io.h>

#endif /* __DISPATCH_PUBLIC__ */
