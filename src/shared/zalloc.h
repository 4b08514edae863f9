/* SPDX-License-Identifier: MIT */
/*
 * zalloc.h - zeroed small allocations that glibc's per-thread cache can
 * serve.
 *
 * glibc before 2.41 never serves calloc from the tcache: every calloc goes
 * to the arena (_int_malloc), and the frees of such chunks then overflow
 * the tcache into the arena too.  For the small objects made and freed for
 * every message (objects, hash tables) malloc + memset is several times
 * cheaper.  The empty asm keeps the compiler from folding the pair back
 * into calloc.
 */
#ifndef XPC_SHARED_ZALLOC_H
#define XPC_SHARED_ZALLOC_H

#include <stdlib.h>
#include <string.h>

static inline void *shared_zalloc(size_t size)
{
	void *p = malloc(size);

	if (!p)
		return NULL;
	__asm__ volatile("" : : "r"(p) : "memory");
	return memset(p, 0, size);
}

#endif
