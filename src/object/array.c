/* SPDX-License-Identifier: MIT */
/*
 * array.c - ordered containers (xpc_array_create(3)).
 *
 * An array is a growable vector of retained, non-NULL objects.  Indices
 * are 0..count-1; setters also take XPC_ARRAY_APPEND.  Setting a value at
 * an index past the end or a NULL value is a programming error that Apple
 * traps: it aborts with "XPC API MISUSE".  Getters return 0/false/NULL for
 * a missing index or a value of another type.  xpc_copy() is deep.
 * Not thread-safe for mutation (like Apple's): callers serialise writers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "object/internal.h"

struct array_obj {
	struct xpc_object_s base;
	xpc_object_t *items; /* each retained */
	size_t count;
	size_t cap;
};

static void array_dispose(xpc_object_t obj)
{
	struct array_obj *a = obj;

	for (size_t i = 0; i < a->count; i++)
		xpc_release(a->items[i]);
	free(a->items);
}

static bool array_equal(xpc_object_t x, xpc_object_t y)
{
	struct array_obj *a = x, *b = y;

	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (!xpc_equal(a->items[i], b->items[i]))
			return false;
	return true;
}

static size_t array_hash(xpc_object_t obj)
{
	struct array_obj *a = obj;
	size_t h = 0x9e3779b9 + a->count;

	for (size_t i = 0; i < a->count; i++)
		h = object_hash_mix(h * 31 + xpc_hash(a->items[i]));
	return h;
}

static void array_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	struct array_obj *a = obj;

	strbuf_printf(sb, "{ count = %zu, capacity = %zu, contents =\n", a->count, a->cap);
	for (size_t i = 0; i < a->count; i++) {
		strbuf_indent(sb, indent + 1);
		strbuf_printf(sb, "%zu: ", i);
		object_describe(a->items[i], sb, indent + 1);
		strbuf_append(sb, "\n");
	}
	strbuf_indent(sb, indent);
	strbuf_append(sb, "}");
}

/* Grows the vector so one more item fits; false on ENOMEM. */
static bool array_reserve_one(struct array_obj *a)
{
	size_t cap;
	xpc_object_t *items;

	if (a->count < a->cap)
		return true;
	cap = a->cap ? a->cap * 2 : 4;
	if (cap > SIZE_MAX / sizeof(*items))
		return false;
	items = realloc(a->items, cap * sizeof(*items));
	if (!items)
		return false;
	a->items = items;
	a->cap = cap;
	return true;
}

static xpc_object_t array_copy(xpc_object_t obj);

const struct _xpc_type_s _xpc_type_array = {
	.name = "array", .wire_tag = OBJECT_TAG_ARRAY, .dispose = array_dispose, .equal = array_equal,
	.hash = array_hash, .copy = array_copy, .describe = array_describe};

static struct array_obj *array_cast(xpc_object_t xarray)
{
	return object_is(xarray, XPC_TYPE_ARRAY) ? xarray : NULL;
}

/* Appends @value, taking over the caller's reference; false on ENOMEM. */
static bool array_push_consume(struct array_obj *a, xpc_object_t value)
{
	if (!array_reserve_one(a))
		return false;
	a->items[a->count++] = value;
	return true;
}

static xpc_object_t array_copy(xpc_object_t obj)
{
	struct array_obj *src = obj, *dst = xpc_array_create_empty();

	for (size_t i = 0; dst && i < src->count; i++) {
		xpc_object_t v = xpc_copy(src->items[i]);

		if (!v || !array_push_consume(dst, v)) {
			xpc_release(v);
			xpc_release(dst);
			return NULL;
		}
	}
	return dst;
}

xpc_object_t xpc_array_create_empty(void)
{
	return object_alloc(XPC_TYPE_ARRAY, sizeof(struct array_obj));
}

xpc_object_t xpc_array_create(const xpc_object_t *objects, size_t count)
{
	struct array_obj *a;

	if (count && !objects)
		return NULL;
	for (size_t i = 0; i < count; i++)
		if (!objects[i])
			return NULL;
	a = xpc_array_create_empty();
	for (size_t i = 0; a && i < count; i++) {
		if (!array_push_consume(a, xpc_retain(objects[i]))) {
			xpc_release(objects[i]);
			xpc_release(a);
			return NULL;
		}
	}
	return a;
}

void xpc_array_set_value(xpc_object_t xarray, size_t index, xpc_object_t value)
{
	struct array_obj *a = array_cast(xarray);
	xpc_object_t old;

	if (!a)
		object_misuse("xpc_array_set_value on a non-array object");
	if (!value)
		object_misuse("xpc_array_set_value with a NULL value");
	if (index == XPC_ARRAY_APPEND) {
		xpc_array_append_value(xarray, value);
		return;
	}
	if (index >= a->count)
		object_misuse("xpc_array_set_value index %zu out of range (count %zu)", index, a->count);
	old = a->items[index];
	a->items[index] = xpc_retain(value);
	xpc_release(old);
}

int array_append_consume(xpc_object_t xarray, xpc_object_t value)
{
	struct array_obj *a = array_cast(xarray);

	if (a && value && array_push_consume(a, value))
		return 0;
	xpc_release(value);
	return a && value ? -ENOMEM : -EINVAL;
}

void xpc_array_append_value(xpc_object_t xarray, xpc_object_t value)
{
	struct array_obj *a = array_cast(xarray);

	if (!a)
		object_misuse("xpc_array_append_value on a non-array object");
	if (!value)
		object_misuse("xpc_array_append_value with a NULL value");
	if (!array_push_consume(a, xpc_retain(value)))
		xpc_release(value); /* ENOMEM: the array is unchanged */
}

size_t xpc_array_get_count(xpc_object_t xarray)
{
	struct array_obj *a = array_cast(xarray);

	return a ? a->count : 0;
}

xpc_object_t xpc_array_get_value(xpc_object_t xarray, size_t index)
{
	struct array_obj *a = array_cast(xarray);

	return a && index < a->count ? a->items[index] : NULL;
}

bool xpc_array_apply_f(xpc_object_t xarray, void *context, xpc_array_applier_f applier)
{
	struct array_obj *a = array_cast(xarray);

	if (!a || !applier)
		return a != NULL;
	for (size_t i = 0; i < a->count; i++)
		if (!applier(context, i, a->items[i]))
			return false;
	return true;
}

static bool array_apply_block(void *context, size_t index, xpc_object_t value)
{
	xpc_array_applier_t applier = (xpc_array_applier_t)context;

	return applier(index, value);
}

bool xpc_array_apply(xpc_object_t xarray, xpc_array_applier_t applier)
{
	if (!applier)
		return array_cast(xarray) != NULL;
	return xpc_array_apply_f(xarray, (void *)applier, array_apply_block);
}

/* ---- typed setters: create, store (or append), release ------------------- */

/* Stores @value (+1, consumed: its reference becomes the array's, no
 * retain and release per call; NULL after ENOMEM does nothing). */
static void array_set_consume(xpc_object_t xarray, size_t index, xpc_object_t value)
{
	struct array_obj *a = array_cast(xarray);
	xpc_object_t old;

	if (!a)
		object_misuse("typed array setter on a non-array object");
	if (index != XPC_ARRAY_APPEND && index >= a->count)
		object_misuse("array index %zu out of range (count %zu)", index, a->count);
	if (!value)
		return;
	if (index == XPC_ARRAY_APPEND) {
		if (!array_push_consume(a, value))
			xpc_release(value); /* ENOMEM: the array is unchanged */
		return;
	}
	old = a->items[index];
	a->items[index] = value;
	xpc_release(old);
}

void xpc_array_set_bool(xpc_object_t xarray, size_t index, bool value)
{
	array_set_consume(xarray, index, xpc_bool_create(value));
}

void xpc_array_set_int64(xpc_object_t xarray, size_t index, int64_t value)
{
	array_set_consume(xarray, index, xpc_int64_create(value));
}

void xpc_array_set_uint64(xpc_object_t xarray, size_t index, uint64_t value)
{
	array_set_consume(xarray, index, xpc_uint64_create(value));
}

void xpc_array_set_double(xpc_object_t xarray, size_t index, double value)
{
	array_set_consume(xarray, index, xpc_double_create(value));
}

void xpc_array_set_date(xpc_object_t xarray, size_t index, int64_t value)
{
	array_set_consume(xarray, index, xpc_date_create(value));
}

void xpc_array_set_data(xpc_object_t xarray, size_t index, const void *bytes, size_t length)
{
	array_set_consume(xarray, index, xpc_data_create(bytes, length));
}

void xpc_array_set_string(xpc_object_t xarray, size_t index, const char *string)
{
	array_set_consume(xarray, index, xpc_string_create(string));
}

void xpc_array_set_uuid(xpc_object_t xarray, size_t index, const uuid_t uuid)
{
	array_set_consume(xarray, index, xpc_uuid_create(uuid));
}

void xpc_array_set_fd(xpc_object_t xarray, size_t index, int fd)
{
	array_set_consume(xarray, index, xpc_fd_create(fd));
}

/* ---- typed getters ------------------------------------------------------------ */

bool xpc_array_get_bool(xpc_object_t xarray, size_t index)
{
	return xpc_bool_get_value(xpc_array_get_value(xarray, index));
}

int64_t xpc_array_get_int64(xpc_object_t xarray, size_t index)
{
	return xpc_int64_get_value(xpc_array_get_value(xarray, index));
}

uint64_t xpc_array_get_uint64(xpc_object_t xarray, size_t index)
{
	return xpc_uint64_get_value(xpc_array_get_value(xarray, index));
}

double xpc_array_get_double(xpc_object_t xarray, size_t index)
{
	return xpc_double_get_value(xpc_array_get_value(xarray, index));
}

int64_t xpc_array_get_date(xpc_object_t xarray, size_t index)
{
	return xpc_date_get_value(xpc_array_get_value(xarray, index));
}

const void *xpc_array_get_data(xpc_object_t xarray, size_t index, size_t *length)
{
	xpc_object_t v = xpc_array_get_value(xarray, index);

	if (length)
		*length = xpc_data_get_length(v);
	return xpc_data_get_bytes_ptr(v);
}

const char *xpc_array_get_string(xpc_object_t xarray, size_t index)
{
	return xpc_string_get_string_ptr(xpc_array_get_value(xarray, index));
}

const uint8_t *xpc_array_get_uuid(xpc_object_t xarray, size_t index)
{
	return xpc_uuid_get_bytes(xpc_array_get_value(xarray, index));
}

int xpc_array_dup_fd(xpc_object_t xarray, size_t index)
{
	return xpc_fd_dup(xpc_array_get_value(xarray, index));
}
