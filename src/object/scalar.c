/* SPDX-License-Identifier: MIT */
/*
 * scalar.c - the fixed-size value types: null, bool, int64, uint64, double,
 * date and uuid (xpc_objects(3)).
 *
 * All are immutable once created, so xpc_copy() retains them.  null and the
 * two booleans are immortal global objects: xpc_null_create() and
 * xpc_bool_create() return them (as Apple does), so XPC_BOOL_TRUE ==
 * xpc_bool_create(true).  A date is int64 nanoseconds since the Unix epoch.
 * Getters return 0/false/NULL for NULL or an object of another type.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "object/internal.h"
#include "shared/clock.h"
#include "shared/uuidtext.h"

struct scalar {
	struct xpc_object_s base;
	union {
		int64_t i;
		uint64_t u;
		double d;
	} v;
};

struct uuid_obj {
	struct xpc_object_s base;
	uuid_t bytes;
};

static bool scalar_equal(xpc_object_t a, xpc_object_t b)
{
	return ((struct scalar *)a)->v.u == ((struct scalar *)b)->v.u;
}

static size_t scalar_hash(xpc_object_t obj)
{
	return object_hash_mix((size_t)((struct scalar *)obj)->v.u);
}

static bool double_equal(xpc_object_t a, xpc_object_t b)
{
	return ((struct scalar *)a)->v.d == ((struct scalar *)b)->v.d;
}

static size_t double_hash(xpc_object_t obj)
{
	double d = ((struct scalar *)obj)->v.d;
	uint64_t bits;

	if (d == 0)
		return 0; /* 0.0 == -0.0 */
	memcpy(&bits, &d, sizeof(bits));
	return object_hash_mix((size_t)bits);
}

static void null_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	strbuf_append(sb, ": null-object");
}

static void bool_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	strbuf_append(sb, ((struct _xpc_bool_s *)obj)->value ? ": true" : ": false");
}

static bool bool_equal(xpc_object_t a, xpc_object_t b)
{
	return ((struct _xpc_bool_s *)a)->value == ((struct _xpc_bool_s *)b)->value;
}

static size_t bool_hash(xpc_object_t obj)
{
	return ((struct _xpc_bool_s *)obj)->value ? 1 : 2;
}

static void int64_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	strbuf_printf(sb, ": %" PRId64, ((struct scalar *)obj)->v.i);
}

static void uint64_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	strbuf_printf(sb, ": %" PRIu64, ((struct scalar *)obj)->v.u);
}

static void double_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	strbuf_printf(sb, ": %f", ((struct scalar *)obj)->v.d);
}

static void date_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	int64_t ns = ((struct scalar *)obj)->v.i;
	time_t secs = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char buf[64];

	if (frac < 0) {
		frac += 1000000000;
		secs--;
	}
	if (!gmtime_r(&secs, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm)) {
		strbuf_printf(sb, ": %" PRId64 " ns", ns);
		return;
	}
	strbuf_printf(sb, ": %s.%09ld +0000", buf, frac);
}

static bool uuid_equal(xpc_object_t a, xpc_object_t b)
{
	return memcmp(((struct uuid_obj *)a)->bytes, ((struct uuid_obj *)b)->bytes, sizeof(uuid_t)) == 0;
}

static size_t uuid_hash(xpc_object_t obj)
{
	return (size_t)hashmap_hash_bytes(((struct uuid_obj *)obj)->bytes, sizeof(uuid_t));
}

static void uuid_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	char text[UUIDTEXT_SIZE];

	uuidtext_format(((struct uuid_obj *)obj)->bytes, true, text);
	strbuf_append(sb, text);
}

const struct _xpc_type_s _xpc_type_null = {
	.name = "null", .flags = OBJECT_TYPE_SCALAR,
	.wire_tag = OBJECT_TAG_NULL, .equal = bool_equal, .hash = bool_hash,
	.describe = null_describe};
const struct _xpc_type_s _xpc_type_bool = {
	.name = "bool", .flags = OBJECT_TYPE_SCALAR,
	.wire_tag = OBJECT_TAG_BOOL, .equal = bool_equal, .hash = bool_hash,
	.describe = bool_describe};
const struct _xpc_type_s _xpc_type_int64 = {
	.name = "int64", .flags = OBJECT_TYPE_SCALAR,
	.wire_tag = OBJECT_TAG_INT64, .equal = scalar_equal, .hash = scalar_hash,
	.describe = int64_describe};
const struct _xpc_type_s _xpc_type_uint64 = {
	.name = "uint64", .flags = OBJECT_TYPE_SCALAR,
	.wire_tag = OBJECT_TAG_UINT64, .equal = scalar_equal, .hash = scalar_hash,
	.describe = uint64_describe};
const struct _xpc_type_s _xpc_type_double = {
	.name = "double", .flags = OBJECT_TYPE_SCALAR,
	.wire_tag = OBJECT_TAG_DOUBLE, .equal = double_equal, .hash = double_hash,
	.describe = double_describe};
const struct _xpc_type_s _xpc_type_date = {
	.name = "date", .flags = OBJECT_TYPE_SCALAR,
	.wire_tag = OBJECT_TAG_DATE, .equal = scalar_equal, .hash = scalar_hash,
	.describe = date_describe};
const struct _xpc_type_s _xpc_type_uuid = {
	.name = "uuid", .wire_tag = OBJECT_TAG_UUID, .equal = uuid_equal, .hash = uuid_hash,
	.describe = uuid_describe};

const struct _xpc_bool_s _xpc_bool_true = {OBJECT_STATIC_HEADER(&_xpc_type_bool), true};
const struct _xpc_bool_s _xpc_bool_false = {OBJECT_STATIC_HEADER(&_xpc_type_bool), false};
/* The null singleton (a bool-shaped immortal whose value is unused). */
static const struct _xpc_bool_s scalar_null = {OBJECT_STATIC_HEADER(&_xpc_type_null), false};

xpc_object_t xpc_null_create(void)
{
	return (xpc_object_t)&scalar_null;
}

xpc_object_t xpc_bool_create(bool value)
{
	return value ? XPC_BOOL_TRUE : XPC_BOOL_FALSE;
}

bool xpc_bool_get_value(xpc_object_t xbool)
{
	return object_is(xbool, XPC_TYPE_BOOL) && ((struct _xpc_bool_s *)xbool)->value;
}

static xpc_object_t scalar_create(xpc_type_t type, uint64_t bits)
{
	struct scalar *s = object_alloc(type, sizeof(*s));

	if (s)
		s->v.u = bits;
	return s;
}

static uint64_t scalar_get(xpc_object_t obj, xpc_type_t type)
{
	return object_is(obj, type) ? ((struct scalar *)obj)->v.u : 0;
}

xpc_object_t xpc_int64_create(int64_t value)
{
	return scalar_create(XPC_TYPE_INT64, (uint64_t)value);
}

int64_t xpc_int64_get_value(xpc_object_t xint)
{
	return (int64_t)scalar_get(xint, XPC_TYPE_INT64);
}

xpc_object_t xpc_uint64_create(uint64_t value)
{
	return scalar_create(XPC_TYPE_UINT64, value);
}

uint64_t xpc_uint64_get_value(xpc_object_t xuint)
{
	return scalar_get(xuint, XPC_TYPE_UINT64);
}

xpc_object_t xpc_double_create(double value)
{
	struct scalar *s = object_alloc(XPC_TYPE_DOUBLE, sizeof(*s));

	if (s)
		s->v.d = value;
	return s;
}

double xpc_double_get_value(xpc_object_t xdouble)
{
	return object_is(xdouble, XPC_TYPE_DOUBLE) ? ((struct scalar *)xdouble)->v.d : 0.0;
}

xpc_object_t xpc_date_create(int64_t interval)
{
	return scalar_create(XPC_TYPE_DATE, (uint64_t)interval);
}

xpc_object_t xpc_date_create_from_current(void)
{
	return xpc_date_create((int64_t)clock_realtime_ns());
}

int64_t xpc_date_get_value(xpc_object_t xdate)
{
	return (int64_t)scalar_get(xdate, XPC_TYPE_DATE);
}

xpc_object_t xpc_uuid_create(const uuid_t uuid)
{
	struct uuid_obj *u;

	if (!uuid)
		return NULL;
	u = object_alloc(XPC_TYPE_UUID, sizeof(*u));
	if (u)
		memcpy(u->bytes, uuid, sizeof(uuid_t));
	return u;
}

const uint8_t *xpc_uuid_get_bytes(xpc_object_t xuuid)
{
	return object_is(xuuid, XPC_TYPE_UUID) ? ((struct uuid_obj *)xuuid)->bytes : NULL;
}
