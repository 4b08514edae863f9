/* SPDX-License-Identifier: MIT */
/*
 * data.c - byte buffers and strings (xpc_objects(3)).
 *
 * Both are immutable after creation (xpc_copy() retains them).  Data copies
 * the caller's bytes, except xpc_data_create_with_dispatch_data(), which
 * keeps a contiguous dispatch_data_create_map() of the dispatch data and
 * points into it, and data_object_create_in_buffer() (received bodies),
 * which holds a reference on an ObjectBuffer.  Copies of DATA_BIG (64 KiB)
 * or more go into an ObjectBuffer too (cached mappings, huge pages: see
 * buffer.c).  A string holds UTF-8 text and its length without the NUL;
 * it owns its bytes (trailing array) unless it is an immortal static string
 * (the error descriptions).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object/internal.h"

struct data_obj {
	struct xpc_object_s base;
	size_t length;
	const uint8_t *bytes;   /* into @buf or into @mapped */
	dispatch_data_t mapped; /* owned, or NULL */
	ObjectBuffer *backing;  /* owned reference, or NULL */
	uint8_t buf[];
};

static void data_dispose(xpc_object_t obj)
{
	struct data_obj *d = obj;

	if (d->mapped)
		dispatch_release(d->mapped);
	object_buffer_release(d->backing);
}

/* From here on a copy goes into an ObjectBuffer (its own mapping, reused
 * from the process's cache of large buffers: buffer.c). */
#define DATA_BIG OBJECT_BUFFER_MAP_MIN

static bool data_equal(xpc_object_t a, xpc_object_t b)
{
	struct data_obj *x = a, *y = b;

	return x->length == y->length && (x->length == 0 || memcmp(x->bytes, y->bytes, x->length) == 0);
}

static size_t data_hash(xpc_object_t obj)
{
	struct data_obj *d = obj;

	return (size_t)hashmap_hash_bytes(d->bytes, d->length);
}

/* Apple prints the bytes in hex, shortened past 32 of them. */
static void data_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	struct data_obj *d = obj;
	size_t n = d->length > 32 ? 32 : d->length;

	strbuf_printf(sb, "{ length = %zu bytes, contents = 0x", d->length);
	for (size_t i = 0; i < n; i++)
		strbuf_printf(sb, "%02x", d->bytes[i]);
	strbuf_append(sb, d->length > n ? "... }" : " }");
}

const struct _xpc_type_s _xpc_type_data = {
	.name = "data", .wire_tag = OBJECT_TAG_DATA, .dispose = data_dispose, .equal = data_equal,
	.hash = data_hash, .describe = data_describe};

xpc_object_t xpc_data_create(const void *bytes, size_t length)
{
	struct data_obj *d;

	if (!bytes && length)
		return NULL;
	if (length > SIZE_MAX - sizeof(*d))
		return NULL;
	if (length >= DATA_BIG) {
		ObjectBuffer *b = object_buffer_new(length);
		xpc_object_t obj;
		if (!b)
			return NULL;
		memcpy(object_buffer_bytes(b), bytes, length);
		obj = data_object_create_in_buffer(b, object_buffer_bytes(b), length);
		object_buffer_release(b);
		return obj;
	}
	/* Only the header is zeroed: the bytes are overwritten at once (a
	 * calloc would write a received 64 KiB payload twice). */
	d = object_alloc_partial(XPC_TYPE_DATA, sizeof(*d) + length, sizeof(*d));
	if (!d)
		return NULL;
	d->length = length;
	d->bytes = d->buf;
	if (length)
		memcpy(d->buf, bytes, length);
	return d;
}

xpc_object_t data_object_create_in_buffer(ObjectBuffer *b, const void *bytes, size_t length)
{
	struct data_obj *d = object_alloc(XPC_TYPE_DATA, sizeof(*d));

	if (!d)
		return NULL;
	d->backing = object_buffer_retain(b);
	d->bytes = length ? bytes : d->buf;
	d->length = length;
	return d;
}

xpc_object_t xpc_data_create_with_dispatch_data(dispatch_data_t ddata)
{
	struct data_obj *d;
	const void *ptr = NULL;
	size_t size = 0;
	dispatch_data_t map;

	if (!ddata)
		return NULL;
	d = object_alloc(XPC_TYPE_DATA, sizeof(*d));
	if (!d)
		return NULL;
	map = dispatch_data_create_map(ddata, &ptr, &size);
	if (!map) {
		free(d);
		return NULL;
	}
	d->mapped = map;
	d->bytes = size ? ptr : d->buf;
	d->length = size;
	return d;
}

static struct data_obj *data_cast(xpc_object_t xdata)
{
	return object_is(xdata, XPC_TYPE_DATA) ? xdata : NULL;
}

size_t xpc_data_get_length(xpc_object_t xdata)
{
	struct data_obj *d = data_cast(xdata);

	return d ? d->length : 0;
}

const void *xpc_data_get_bytes_ptr(xpc_object_t xdata)
{
	struct data_obj *d = data_cast(xdata);

	return d ? d->bytes : NULL;
}

size_t xpc_data_get_bytes(xpc_object_t xdata, void *buffer, size_t off, size_t length)
{
	struct data_obj *d = data_cast(xdata);
	size_t n;

	if (!d || !buffer || off >= d->length)
		return 0;
	n = d->length - off < length ? d->length - off : length;
	memcpy(buffer, d->bytes + off, n);
	return n;
}

/* ---- strings ---------------------------------------------------------------- */

static bool string_equal(xpc_object_t a, xpc_object_t b)
{
	struct _xpc_string_s *x = a, *y = b;

	return x->length == y->length && memcmp(x->str, y->str, x->length) == 0;
}

static size_t string_hash(xpc_object_t obj)
{
	struct _xpc_string_s *s = obj;

	return (size_t)hashmap_hash_bytes(s->str, s->length);
}

static void string_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	struct _xpc_string_s *s = obj;

	strbuf_printf(sb, "{ length = %zu, contents = \"", s->length);
	strbuf_append_len(sb, s->str, s->length);
	strbuf_append(sb, "\" }");
}

const struct _xpc_type_s _xpc_type_string = {
	.name = "string", .wire_tag = OBJECT_TAG_STRING, .equal = string_equal, .hash = string_hash,
	.describe = string_describe};

/* A string of @length bytes (plus NUL) whose text the caller fills in. */
static struct _xpc_string_s *string_alloc(size_t length)
{
	struct _xpc_string_s *s;

	if (length > SIZE_MAX - sizeof(*s) - 1)
		return NULL;
	s = object_alloc(XPC_TYPE_STRING, sizeof(*s) + length + 1);
	if (!s)
		return NULL;
	s->length = length;
	s->str = s->buf;
	return s;
}

xpc_object_t xpc_string_create(const char *string)
{
	struct _xpc_string_s *s;
	size_t len;

	if (!string)
		return NULL;
	len = strlen(string);
	s = string_alloc(len);
	if (s)
		memcpy(s->buf, string, len + 1);
	return s;
}

xpc_object_t xpc_string_create_with_format_and_arguments(const char *fmt, va_list ap)
{
	struct _xpc_string_s *s;
	va_list aq;
	int n;

	if (!fmt)
		return NULL;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return NULL;
	s = string_alloc((size_t)n);
	if (s)
		vsnprintf(s->buf, (size_t)n + 1, fmt, ap);
	return s;
}

xpc_object_t xpc_string_create_with_format(const char *fmt, ...)
{
	xpc_object_t s;
	va_list ap;

	va_start(ap, fmt);
	s = xpc_string_create_with_format_and_arguments(fmt, ap);
	va_end(ap);
	return s;
}

size_t xpc_string_get_length(xpc_object_t xstring)
{
	return object_is(xstring, XPC_TYPE_STRING) ? ((struct _xpc_string_s *)xstring)->length : 0;
}

const char *xpc_string_get_string_ptr(xpc_object_t xstring)
{
	return object_is(xstring, XPC_TYPE_STRING) ? ((struct _xpc_string_s *)xstring)->str : NULL;
}
