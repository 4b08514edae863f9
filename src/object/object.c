/* SPDX-License-Identifier: MIT */
/*
 * object.c - what every XPC object has: a type and an atomic reference
 * count (xpc_object(3)).
 *
 * Model: create/copy return +1, get returns a borrowed reference.  The last
 * xpc_release() calls the type's dispose hook, then frees the object.
 * Immortal objects (refcount OBJECT_IMMORTAL: booleans, null, errors and
 * the strings inside them) are never written: retain/release only read
 * them, so they can be const and live in read-only memory.
 *
 * The last reference goes without a locked read-modify-write: a count of
 * 1 read by its holder cannot change under it (xpc_release).  Small
 * objects' blocks come from, and go back to, a per-thread cache of size
 * classes (object_block_get: one allocation per item of every message).
 *
 * Invariants: a live mortal object's count is >= 1.  Releasing an object
 * whose count is already 0 or below, or retaining one that reached 0, is an
 * over-release/resurrection and aborts with "XPC API MISUSE" (as Apple
 * traps).  xpc_retain(NULL)/xpc_release(NULL) are no-ops.
 *
 * The bottom of the layer: it knows no type but through the type's own
 * descriptor (hooks and OBJECT_TYPE_* flags), so it calls no other file of
 * the layer (the block cache empties itself at a thread's exit through
 * src/shared/thread-exit.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object/internal.h"
#include "shared/thread-exit.h"

void object_misuse(const char *fmt, ...)
{
	va_list ap;

	fputs("XPC API MISUSE: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---- the per-thread cache of object blocks ------------------------------ */

/*
 * Objects of up to OBJECT_BLOCK_MAX bytes get a block of their size class
 * (24, 40, 56 ... bytes: what glibc would give them anyway), and a freed
 * one goes to its thread's cache, at most OBJECT_BLOCK_KEEP per class
 * (about 20 KiB a thread at most), where the next object of that class on
 * that thread takes it: about 20 instructions instead of glibc's 130 for a
 * malloc and free.  A thread's blocks are freed when it exits (its
 * ThreadExitHook).  Off in sanitizer builds (their allocators must see every
 * free), and with XPC_OBJECT_CACHE=0 in the environment (tests that weigh
 * the heap or fail its allocations: a cached block counts as in use).
 */
#define OBJECT_BLOCK_CLASSES 16
#define OBJECT_BLOCK_MAX (24u + 16u * (OBJECT_BLOCK_CLASSES - 1))
#define OBJECT_BLOCK_KEEP 8

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define OBJECT_BLOCKS_OFF 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OBJECT_BLOCKS_OFF 1
#endif

static _Thread_local struct {
	void *head[OBJECT_BLOCK_CLASSES]; /* each block's first word links the next */
	uint8_t n[OBJECT_BLOCK_CLASSES];
	int8_t state; /* 0 not set up, 1 on (its exit hook empties it), -1 off */
	ThreadExitHook exit;
} object_blocks;

/* XPC_OBJECT_CACHE, read once: 0 not yet, 1 on, -1 off (threads that race
 * to read it find the same answer). */
static _Atomic int object_blocks_switch;

static size_t object_block_size(unsigned k)
{
	return 24u + 16u * k;
}

/* The thread's exit hook: its blocks go back to malloc, and so does
 * every later one (other destructors may still release objects). */
static void object_blocks_exit(void)
{
	object_blocks.state = -1;
	for (unsigned k = 0; k < OBJECT_BLOCK_CLASSES; k++) {
		while (object_blocks.head[k]) {
			void *b = object_blocks.head[k];
			object_blocks.head[k] = *(void **)b;
			free(b);
		}
		object_blocks.n[k] = 0;
	}
}

/* Whether the cache is on in this process (see above). */
static bool object_blocks_on(void)
{
#ifdef OBJECT_BLOCKS_OFF
	return false;
#else
	int on = atomic_load_explicit(&object_blocks_switch, memory_order_relaxed);

	if (on == 0) {
		const char *e = getenv("XPC_OBJECT_CACHE");
		on = e && strcmp(e, "0") == 0 ? -1 : 1;
		atomic_store_explicit(&object_blocks_switch, on, memory_order_relaxed);
	}
	return on > 0;
#endif
}

/* Sets this thread's cache up at its first free; false if it is off. */
static bool object_blocks_ready(void)
{
	if (object_blocks.state == 0)
		object_blocks.state = object_blocks_on() && thread_exit_hook(&object_blocks.exit, object_blocks_exit) ? 1 : -1;
	return object_blocks.state > 0;
}

void *object_block_get(size_t size, uint8_t *ret_block)
{
	unsigned k;
	void *b;

	if (size > OBJECT_BLOCK_MAX) {
		*ret_block = 0;
		return malloc(size);
	}
	k = size <= 24 ? 0 : (unsigned)(size - 9) / 16; /* the class of 24 + 16 k bytes */
	*ret_block = (uint8_t)(k + 1);
	b = object_blocks.head[k];
	if (!b)
		return malloc(object_block_size(k));
	object_blocks.head[k] = *(void **)b;
	object_blocks.n[k]--;
	return b;
}

/* Frees @obj's block, into this thread's cache if there is room. */
static void object_block_put(struct xpc_object_s *obj)
{
	unsigned k = obj->block - 1u;

	if (obj->block && object_blocks_ready() && object_blocks.n[k] < OBJECT_BLOCK_KEEP) {
		*(void **)obj = object_blocks.head[k];
		object_blocks.head[k] = obj;
		object_blocks.n[k]++;
		return;
	}
	free(obj);
}

xpc_object_t xpc_retain(xpc_object_t object)
{
	struct xpc_object_s *obj = object;
	int32_t old;

	if (!obj || atomic_load_explicit(&obj->refcnt, memory_order_relaxed) == OBJECT_IMMORTAL)
		return object;
	old = atomic_fetch_add_explicit(&obj->refcnt, 1, memory_order_relaxed);
	if (old <= 0)
		object_misuse("retain of a released %s object %p", obj->type->name, object);
	return object;
}

void xpc_release(xpc_object_t object)
{
	struct xpc_object_s *obj = object;
	int32_t old;

	if (!obj)
		return;
	/* A count of 1 is the caller's own reference: nobody else may touch
	 * the object any more, so it goes without a locked read-modify-write
	 * (most objects of a message die unshared).  The acquire pairs with
	 * the release of whoever dropped the count to 1, as the fetch_sub's
	 * would. */
	old = atomic_load_explicit(&obj->refcnt, memory_order_acquire);
	if (old == OBJECT_IMMORTAL)
		return;
	/* acq_rel rather than release + fence: same cost on x86, and TSan
	 * understands it (it does not model standalone fences) */
	if (old != 1)
		old = atomic_fetch_sub_explicit(&obj->refcnt, 1, memory_order_acq_rel);
	else
		atomic_store_explicit(&obj->refcnt, 0, memory_order_relaxed); /* as the sub would */
	if (old > 1)
		return;
	if (old <= 0)
		object_misuse("over-release of %s object %p", obj->type->name, object);
	if (obj->type->dispose)
		obj->type->dispose(object);
	object_block_put(obj);
}

xpc_type_t xpc_get_type(xpc_object_t object)
{
	return object ? ((struct xpc_object_s *)object)->type : NULL;
}

const char *xpc_type_get_name(xpc_type_t type)
{
	return type ? type->name : NULL;
}

xpc_object_t xpc_copy(xpc_object_t object)
{
	struct xpc_object_s *obj = object;

	if (!obj)
		return NULL;
	if (obj->type->copy)
		return obj->type->copy(object);
	return xpc_retain(object);
}

bool xpc_equal(xpc_object_t object1, xpc_object_t object2)
{
	struct xpc_object_s *a = object1, *b = object2;

	if (a == b)
		return true;
	if (!a || !b || a->type != b->type || !a->type->equal)
		return false;
	return a->type->equal(object1, object2);
}

size_t xpc_hash(xpc_object_t object)
{
	struct xpc_object_s *obj = object;

	if (!obj)
		return 0;
	if (obj->type->hash)
		return obj->type->hash(object);
	return object_hash_mix((size_t)(uintptr_t)object);
}

/* Scalars print "<int64: 0x...>: 42" (no space before their text). */
static bool object_type_is_scalar(xpc_type_t t)
{
	return t->flags & OBJECT_TYPE_SCALAR;
}

void object_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	const struct _xpc_type_s *t;

	if (!obj) {
		strbuf_append(sb, "<null pointer>");
		return;
	}
	t = ((struct xpc_object_s *)obj)->type;
	strbuf_printf(sb, "<%s: %p>", t->name, obj);
	if (!object_type_is_scalar(t))
		strbuf_append(sb, " ");
	if (t->describe)
		t->describe(obj, sb, indent);
	else
		strbuf_append(sb, "{ }");
}

char *xpc_copy_description(xpc_object_t object)
{
	StrBuf sb = STRBUF_INIT;

	object_describe(object, &sb, 0);
	return strbuf_steal(&sb);
}

bool object_is_descriptor_type(xpc_type_t type)
{
	return type && (type->flags & OBJECT_TYPE_DESCRIPTOR);
}
