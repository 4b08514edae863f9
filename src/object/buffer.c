/*
 * buffer.c - reference-counted byte buffers for large payloads (object.h,
 * ObjectBuffer).
 *
 * Large data objects and received out-of-line message bodies live in these.
 * A buffer of OBJECT_BUFFER_HUGE bytes or more is its own anonymous mapping
 * with MADV_HUGEPAGE: filling 64 MiB of fresh 4 KiB pages costs one page
 * fault per page, which on virtual machines with shadow page tables is
 * worth more than the copy itself, while transparent huge pages take one
 * fault per 2 MiB (measured: 64 MiB memcpy into fresh malloc memory ~500 ms,
 * into a MADV_HUGEPAGE mapping ~25 ms on the 2-core CI VM).  Smaller
 * buffers come from malloc.  A data object made over a part of a buffer
 * holds a reference, so decoded data objects can point into the body they
 * were received in without a copy.
 */
#include "object/object.h"

#include <stdlib.h>
#include <sys/mman.h>

#define OBJECT_BUFFER_HUGE (2u << 20)
#define OBJECT_BUFFER_ALIGN (2u << 20)

struct ObjectBuffer {
	_Atomic long refcnt;
	void *map;      /* the mapping, or NULL for malloc memory */
	size_t map_len;
	uint8_t *bytes;
	size_t len;
};

/* An anonymous mapping aligned to 2 MiB, so that every whole 2 MiB of it
 * can be a huge page. */
static void *buffer_map(size_t len, void **ret_map, size_t *ret_len)
{
	size_t total = len + OBJECT_BUFFER_ALIGN;
	uint8_t *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t start;

	if (p == MAP_FAILED)
		return NULL;
	start = ((uintptr_t)p + OBJECT_BUFFER_ALIGN - 1) & ~(uintptr_t)(OBJECT_BUFFER_ALIGN - 1);
	madvise((void *)start, len, MADV_HUGEPAGE);
	*ret_map = p;
	*ret_len = total;
	return (void *)start;
}

ObjectBuffer *object_buffer_new(size_t len)
{
	ObjectBuffer *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (len >= OBJECT_BUFFER_HUGE)
		b->bytes = buffer_map(len, &b->map, &b->map_len);
	else
		b->bytes = malloc(len ? len : 1);
	if (!b->bytes) {
		free(b);
		return NULL;
	}
	atomic_init(&b->refcnt, 1);
	b->len = len;
	return b;
}

uint8_t *object_buffer_bytes(ObjectBuffer *b)
{
	return b->bytes;
}

size_t object_buffer_length(ObjectBuffer *b)
{
	return b->len;
}

ObjectBuffer *object_buffer_retain(ObjectBuffer *b)
{
	atomic_fetch_add_explicit(&b->refcnt, 1, memory_order_relaxed);
	return b;
}

void object_buffer_release(ObjectBuffer *b)
{
	if (!b || atomic_fetch_sub_explicit(&b->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	if (b->map)
		munmap(b->map, b->map_len);
	else
		free(b->bytes);
	free(b);
}
