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
 * Invariants: a live mortal object's count is >= 1.  Releasing an object
 * whose count is already 0 or below, or retaining one that reached 0, is an
 * over-release/resurrection and aborts with "XPC API MISUSE" (as Apple
 * traps).  xpc_retain(NULL)/xpc_release(NULL) are no-ops.
 *
 * The bottom of the layer: it knows no type but through the type's own
 * descriptor (hooks and OBJECT_TYPE_* flags), so it calls no other file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object/internal.h"
#include "shared/zalloc.h"

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

void *object_alloc(const struct _xpc_type_s *type, size_t size)
{
	struct xpc_object_s *obj = shared_zalloc(size);

	if (!obj)
		return NULL;
	obj->type = type;
	atomic_init(&obj->refcnt, 1);
	return obj;
}

void *object_alloc_partial(const struct _xpc_type_s *type, size_t size, size_t zeroed)
{
	struct xpc_object_s *obj = malloc(size);

	if (!obj)
		return NULL;
	__asm__ volatile("" : : "r"(obj) : "memory"); /* not a calloc: see zalloc.h */
	memset(obj, 0, zeroed < size ? zeroed : size);
	obj->type = type;
	atomic_init(&obj->refcnt, 1);
	return obj;
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

	if (!obj || atomic_load_explicit(&obj->refcnt, memory_order_relaxed) == OBJECT_IMMORTAL)
		return;
	/* acq_rel rather than release + fence: same cost on x86, and TSan
	 * understands it (it does not model standalone fences) */
	old = atomic_fetch_sub_explicit(&obj->refcnt, 1, memory_order_acq_rel);
	if (old > 1)
		return;
	if (old <= 0)
		object_misuse("over-release of %s object %p", obj->type->name, object);
	if (obj->type->dispose)
		obj->type->dispose(object);
	free(obj);
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
