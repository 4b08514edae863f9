/* SPDX-License-Identifier: MIT */
/* <dispatch/once.h> - dispatch_once: run a function exactly once. */
#ifndef __DISPATCH_ONCE__
#define __DISPATCH_ONCE__

#include <dispatch/base.h>

DISPATCH_BEGIN_DECLS

typedef intptr_t dispatch_once_t;
#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_once(dispatch_once_t *predicate, DISPATCH_NOESCAPE dispatch_block_t block);
#endif
DISPATCH_EXPORT void dispatch_once_f(dispatch_once_t *predicate, void *context, dispatch_function_t function);

DISPATCH_END_DECLS

#endif /* __DISPATCH_ONCE__ */
