/* SPDX-License-Identifier: MIT */
/*
 * buffer.c - reference-counted byte buffers for large payloads (object.h,
 * ObjectBuffer), and the process's cache of large buffers they come from.
 *
 * Large data objects and received out-of-line message bodies live in these.
 * Fresh memory is what a large copy costs: filling 64 MiB of fresh 4 KiB
 * pages costs one page fault per page, which on virtual machines with
 * shadow page tables is worth more than the copy itself (measured: 64 MiB
 * memcpy into fresh malloc memory ~500 ms, into a fresh MADV_HUGEPAGE
 * mapping ~20 ms, into memory already touched ~10 ms on the 2-core CI VM).
 * So:
 *
 * - a buffer of OBJECT_BUFFER_MAP_MIN (64 KiB) or more is an anonymous
 *   mapping of its own, its capacity rounded up to a size class (powers of
 *   two up to 2 MiB, then multiples of 2 MiB); from 2 MiB on the mapping is
 *   2 MiB-aligned with MADV_HUGEPAGE (one fault per 2 MiB);
 * - a released mapping goes into a small cache (CACHE_SLOTS buffers,
 *   CACHE_MAX_BYTES in all) and the next buffer of its size class reuses
 *   it, pages already faulted in.  Without it glibc malloc served 64 KiB -
 *   2 MiB with a fresh mmap each until its dynamic threshold had risen, and
 *   the first few hundred large messages of a process were 5-20x slower
 *   (docs/performance.md).  Cached buffers unused for CACHE_IDLE_NS are
 *   unmapped at the next allocation or release, so a burst of large
 *   messages does not pin its memory for the life of the process;
 * - smaller buffers come from malloc, and so does a large one when no
 *   mapping can be made (vm.max_map_count reached, say).
 *
 * A data object made over a part of a buffer holds a reference, so decoded
 * data objects can point into the body they were received in without a
 * copy.  A buffer a peer made this process allocate (a received body) is
 * charged to an account (shared/charge.h) until its last reference goes:
 * then, before it is cached or freed, the account gets its units back.
 */
#include "object/object.h"
#include "shared/charge.h"
#include "shared/clock.h"
#include "shared/lock.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#define OBJECT_BUFFER_HUGE (2u << 20)
#define CACHE_SLOTS 8
#define CACHE_MAX_BYTES ((size_t)96 << 20)
#define CACHE_IDLE_NS (5ull * 1000000000ull)

struct ObjectBuffer {
	_Atomic long refcnt;
	void *map;      /* the mapping, or NULL for malloc memory */
	size_t map_len;
	size_t cap;     /* usable bytes from @bytes (mapped buffers) */
	uint8_t *bytes;
	size_t len;
	uint64_t idle_since; /* while cached */
	Charge *charge;      /* paid for by this account (a reference), or NULL */
	size_t charged;
};

static struct {
	pthread_mutex_t lock;
	ObjectBuffer *slot[CACHE_SLOTS];
	size_t n;
	size_t bytes; /* sum of the cached capacities */
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The capacity of a mapped buffer of @len bytes: its size class. */
static size_t buffer_class(size_t len)
{
	size_t c = OBJECT_BUFFER_MAP_MIN;

	if (len > SIZE_MAX - OBJECT_BUFFER_HUGE)
		return 0;
	if (len >= OBJECT_BUFFER_HUGE)
		return (len + OBJECT_BUFFER_HUGE - 1) & ~(size_t)(OBJECT_BUFFER_HUGE - 1);
	while (c < len)
		c <<= 1;
	return c;
}

static void buffer_unmap(ObjectBuffer *b)
{
	munmap(b->map, b->map_len);
	free(b);
}

/* A fresh mapping of @cap bytes; from 2 MiB on aligned to 2 MiB, so that
 * every whole 2 MiB of it can be a huge page. */
static int buffer_map(ObjectBuffer *b, size_t cap)
{
	bool huge = cap >= OBJECT_BUFFER_HUGE;
	size_t total = huge ? cap + OBJECT_BUFFER_HUGE : cap;
	uint8_t *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t start = (uintptr_t)p;

	if (p == MAP_FAILED)
		return -1;
	if (huge) {
		start = (start + OBJECT_BUFFER_HUGE - 1) & ~(uintptr_t)(OBJECT_BUFFER_HUGE - 1);
		madvise((void *)start, cap, MADV_HUGEPAGE);
	}
	b->map = p;
	b->map_len = total;
	b->cap = cap;
	b->bytes = (uint8_t *)start;
	return 0;
}

/* Unmaps, outside the lock, what cache_trim_locked() took out. */
static void buffer_unmap_all(ObjectBuffer **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buffer_unmap(v[i]);
}

static ObjectBuffer *cache_remove_locked(size_t i)
{
	ObjectBuffer *b;

	lock_assert_held(&cache.lock);
	xpc_assert(i < cache.n && cache.bytes >= cache.slot[i]->cap);
	b = cache.slot[i];
	cache.slot[i] = cache.slot[--cache.n];
	cache.bytes -= b->cap;
	return b;
}

/* Takes out the buffers idle too long; returns how many went to @out. */
static size_t cache_trim_locked(uint64_t now, ObjectBuffer **out)
{
	size_t k = 0;

	lock_assert_held(&cache.lock);
	for (size_t i = 0; i < cache.n;) {
		if (now - cache.slot[i]->idle_since >= CACHE_IDLE_NS)
			out[k++] = cache_remove_locked(i);
		else
			i++;
	}
	return k;
}

/* The best cached fit for @cap: same class, or up to half as big again. */
static ObjectBuffer *cache_take(size_t cap)
{
	ObjectBuffer *old[CACHE_SLOTS], *b = NULL;
	size_t best = 0, n_old;

	pthread_mutex_lock(&cache.lock);
	n_old = cache_trim_locked(clock_coarse_ns(), old);
	for (size_t i = 0; i < cache.n; i++) {
		size_t c = cache.slot[i]->cap;
		if (c >= cap && c - cap <= cap / 2 && (!b || c < b->cap)) {
			b = cache.slot[i];
			best = i;
		}
	}
	if (b)
		cache_remove_locked(best);
	pthread_mutex_unlock(&cache.lock);
	buffer_unmap_all(old, n_old);
	return b;
}

/* Keeps @b for reuse, making room by dropping the longest idle ones. */
static void cache_put(ObjectBuffer *b)
{
	ObjectBuffer *old[CACHE_SLOTS + 1];
	uint64_t now = clock_coarse_ns();
	size_t n_old;

	if (b->cap > CACHE_MAX_BYTES) {
		buffer_unmap(b);
		return;
	}
	pthread_mutex_lock(&cache.lock);
	n_old = cache_trim_locked(now, old);
	while (cache.n == CACHE_SLOTS || cache.bytes + b->cap > CACHE_MAX_BYTES) {
		size_t oldest = 0;
		for (size_t i = 1; i < cache.n; i++)
			if (cache.slot[i]->idle_since < cache.slot[oldest]->idle_since)
				oldest = i;
		old[n_old++] = cache_remove_locked(oldest);
	}
	b->idle_since = now;
	cache.slot[cache.n++] = b;
	cache.bytes += b->cap;
	pthread_mutex_unlock(&cache.lock);
	buffer_unmap_all(old, n_old);
}

void object_buffer_cache_flush(void)
{
	ObjectBuffer *old[CACHE_SLOTS];
	size_t n = 0;

	pthread_mutex_lock(&cache.lock);
	while (cache.n)
		old[n++] = cache_remove_locked(0);
	pthread_mutex_unlock(&cache.lock);
	buffer_unmap_all(old, n);
}

static ObjectBuffer *buffer_new_mapped(size_t len)
{
	size_t cap = buffer_class(len);
	ObjectBuffer *b;

	if (!cap)
		return NULL;
	b = cache_take(cap);
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (b && buffer_map(b, cap) < 0) {
		free(b);
		b = NULL;
	}
	return b;
}

ObjectBuffer *object_buffer_new(size_t len)
{
	ObjectBuffer *b = NULL;

	/* No mapping (out of memory, or of mappings: vm.max_map_count)?
	 * malloc may still have room. */
	if (len >= OBJECT_BUFFER_MAP_MIN)
		b = buffer_new_mapped(len);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (b)
			b->bytes = malloc(len ? len : 1);
		if (b && !b->bytes) {
			free(b);
			b = NULL;
		}
	}
	if (!b)
		return NULL;
	atomic_init(&b->refcnt, 1);
	b->len = len;
	b->charge = NULL;
	b->charged = 0;
	return b;
}

void object_buffer_set_charge(ObjectBuffer *b, Charge *c, size_t n)
{
	b->charge = charge_ref(c);
	b->charged = n;
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

bool object_buffer_shared(ObjectBuffer *b)
{
	/* acquire: the last reader's release happens before our next write */
	return atomic_load_explicit(&b->refcnt, memory_order_acquire) > 1;
}

void object_buffer_release(ObjectBuffer *b)
{
	if (!b || atomic_fetch_sub_explicit(&b->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	if (b->charge) {
		charge_give(b->charge, b->charged);
		charge_unref(b->charge);
		b->charge = NULL;
	}
	if (b->map) {
		cache_put(b);
	} else {
		free(b->bytes);
		free(b);
	}
}
