/* SPDX-License-Identifier: MIT */
/*
 * json.c - the Linux extension mapping XPC objects to JSON and back
 * (jansson, opened on first use), used by `xpcctl send` and tools.
 *
 * dictionary <-> object, array <-> array, string <-> string, bool <-> true/
 * false, null <-> null, int64 <-> integer, double <-> real.  Types JSON lacks
 * are one-key objects: {"$data": base64}, {"$date": ns since 1970},
 * {"$uuid": "xxxxxxxx-..."}, {"$uint64": "decimal"} (a string: JSON
 * integers here are signed 64-bit).  A dictionary whose only key starts
 * with '$' would read back as one of those, so it is written wrapped:
 * {"$dictionary": {"$date": 5}}.  Descriptor-carrying objects and
 * connections print as {"$type": "fd"} etc. and are refused on input.
 * Nesting is limited to WIRE_MAX_DEPTH both ways.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/lazylib.h"
#include "shared/uuidtext.h"
#include "wire/wire.h"

#ifndef XPC_JANSSON_SONAME
#error "XPC_JANSSON_SONAME is set by meson.build"
#endif

/*
 * jansson is opened on the first JSON call (src/shared/lazylib.h), not
 * linked: a process that never converts JSON does not map it.  Every
 * jansson function used here is called through J, also where jansson.h's
 * macros (json_object_foreach, json_boolean...) name it: the defines below
 * turn each name into its pointer.  json_decref, an inline function of
 * jansson.h that calls json_delete, is replaced by jansson_decref.
 */
#define JANSSON_FUNCTIONS(X)                                                                \
	X(json_array) X(json_array_append_new) X(json_array_get) X(json_array_size)         \
	X(json_delete) X(json_dumps) X(json_false) X(json_integer) X(json_integer_value)    \
	X(json_loads) X(json_null) X(json_object) X(json_object_iter)                       \
	X(json_object_iter_key) X(json_object_iter_next) X(json_object_iter_value)          \
	X(json_object_key_to_iter) X(json_object_set_new) X(json_object_size) X(json_real)  \
	X(json_real_value) X(json_string) X(json_string_value) X(json_stringn)              \
	X(json_true)

static struct {
#define JANSSON_SLOT(f) __typeof__(f) *f;
	JANSSON_FUNCTIONS(JANSSON_SLOT)
#undef JANSSON_SLOT
} J;

static const LazySymbol jansson_symbols[] = {
#define JANSSON_SYMBOL(f) {#f, (void **)&J.f},
	JANSSON_FUNCTIONS(JANSSON_SYMBOL)
#undef JANSSON_SYMBOL
};

static LazyLib jansson_lib = LAZYLIB_INIT(XPC_JANSSON_SONAME, jansson_symbols);

#define json_array J.json_array
#define json_array_append_new J.json_array_append_new
#define json_array_get J.json_array_get
#define json_array_size J.json_array_size
#define json_dumps J.json_dumps
#define json_false J.json_false
#define json_integer J.json_integer
#define json_integer_value J.json_integer_value
#define json_loads J.json_loads
#define json_null J.json_null
#define json_object J.json_object
#define json_object_iter J.json_object_iter
#define json_object_iter_key J.json_object_iter_key
#define json_object_iter_next J.json_object_iter_next
#define json_object_iter_value J.json_object_iter_value
#define json_object_key_to_iter J.json_object_key_to_iter
#define json_object_set_new J.json_object_set_new
#define json_object_size J.json_object_size
#define json_real J.json_real
#define json_real_value J.json_real_value
#define json_string J.json_string
#define json_string_value J.json_string_value
#define json_stringn J.json_stringn
#define json_true J.json_true
#define json_decref jansson_decref

static void jansson_decref(json_t *j)
{
	if (j && j->refcount != (size_t)-1 && JSON_INTERNAL_DECREF(j) == 0)
		J.json_delete(j);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Return: malloc'd bytes (*ret_n of them), or NULL if @s is not base64. */
static uint8_t *base64_decode(const char *s, size_t *ret_n)
{
	size_t len = strlen(s), n = 0;
	uint8_t *out;

	if (len % 4)
		return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = (s[i + k] == '=' && i + 4 == len && k >= 2) ? 0 : b64_value(s[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || (s[i + 2] == '=' && s[i + 3] != '=')) {
			free(out);
			return NULL;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[n++] = (uint8_t)(w >> 16);
		if (s[i + 2] != '=')
			out[n++] = (uint8_t)(w >> 8);
		if (s[i + 3] != '=')
			out[n++] = (uint8_t)w;
	}
	*ret_n = n;
	return out;
}

/* {"key": value}; takes @value (NULL: an earlier failure, passed on). */
static json_t *tagged(const char *key, json_t *value)
{
	json_t *o;

	if (!value)
		return NULL;
	o = json_object();
	if (!o) {
		json_decref(value);
		errno = ENOMEM;
		return NULL;
	}
	if (json_object_set_new(o, key, value) < 0) { /* took @value */
		json_decref(o);
		errno = ENOMEM;
		return NULL;
	}
	return o;
}

static json_t *to_json(xpc_object_t obj, unsigned depth);

/* Every refusal of XPC -> JSON goes through here, so that
 * xpc_linux_copy_json() can say why in errno. */
static json_t *refuse(int err)
{
	errno = err;
	return NULL;
}

/* jansson says NULL for out of memory and for a value it cannot represent;
 * @err names the second (ENOMEM stays ENOMEM only if errno says so). */
static json_t *checked(json_t *j, int err)
{
	return j ? j : refuse(errno == ENOMEM ? ENOMEM : err);
}

typedef struct JsonCtx {
	json_t *out;
	unsigned depth;
	bool failed;
} JsonCtx;

static bool put_member(void *ctx, const char *key, xpc_object_t value)
{
	JsonCtx *c = ctx;
	json_t *v = to_json(value, c->depth + 1);

	if (!v)
		c->failed = true;
	else if (json_object_set_new(c->out, key, v) < 0) { /* took @v */
		errno = EILSEQ; /* jansson refuses keys that are not UTF-8 */
		c->failed = true;
	}
	return !c->failed;
}

static bool put_element(void *ctx, size_t index, xpc_object_t value)
{
	JsonCtx *c = ctx;
	json_t *v = to_json(value, c->depth + 1);

	(void)index;
	if (!v)
		c->failed = true;
	else if (json_array_append_new(c->out, v) < 0) {
		errno = ENOMEM;
		c->failed = true;
	}
	return !c->failed;
}

static json_t *container_to_json(xpc_object_t obj, xpc_type_t t, unsigned depth)
{
	JsonCtx c = {.out = t == XPC_TYPE_ARRAY ? json_array() : json_object(), .depth = depth};

	if (!c.out || depth >= WIRE_MAX_DEPTH) { /* the root is depth 0 here, 1 on the wire */
		json_decref(c.out);
		return refuse(c.out ? E2BIG : ENOMEM);
	}
	if (t == XPC_TYPE_ARRAY)
		xpc_array_apply_f(obj, &c, put_element);
	else
		xpc_dictionary_apply_f(obj, &c, put_member);
	if (c.failed) {
		int err = errno;
		json_decref(c.out);
		return refuse(err);
	}
	if (t != XPC_TYPE_ARRAY && json_object_size(c.out) == 1 && json_object_iter_key(json_object_iter(c.out))[0] == '$')
		return tagged("$dictionary", c.out);
	return c.out;
}

static json_t *to_json(xpc_object_t obj, unsigned depth)
{
	xpc_type_t t = xpc_get_type(obj);
	char buf[40];

	if (t == XPC_TYPE_DICTIONARY || t == XPC_TYPE_ARRAY || t == XPC_TYPE_ERROR)
		return container_to_json(obj, t == XPC_TYPE_ARRAY ? t : XPC_TYPE_DICTIONARY, depth);
	if (t == XPC_TYPE_STRING)
		return checked(json_stringn(xpc_string_get_string_ptr(obj), xpc_string_get_length(obj)), EILSEQ);
	if (t == XPC_TYPE_INT64)
		return checked(json_integer(xpc_int64_get_value(obj)), ENOMEM);
	if (t == XPC_TYPE_BOOL)
		return json_boolean(xpc_bool_get_value(obj));
	if (t == XPC_TYPE_NULL)
		return json_null();
	if (t == XPC_TYPE_DOUBLE)
		return checked(json_real(xpc_double_get_value(obj)), EDOM);
	if (t == XPC_TYPE_UINT64) {
		snprintf(buf, sizeof(buf), "%" PRIu64, xpc_uint64_get_value(obj));
		return tagged("$uint64", checked(json_string(buf), ENOMEM));
	}
	if (t == XPC_TYPE_DATE)
		return tagged("$date", checked(json_integer(xpc_date_get_value(obj)), ENOMEM));
	if (t == XPC_TYPE_UUID) {
		uuidtext_format(xpc_uuid_get_bytes(obj), false, buf);
		return tagged("$uuid", checked(json_string(buf), ENOMEM));
	}
	if (t == XPC_TYPE_DATA) {
		char *s = base64_encode(xpc_data_get_bytes_ptr(obj), xpc_data_get_length(obj));
		json_t *j = tagged("$data", s ? checked(json_string(s), ENOMEM) : refuse(ENOMEM));
		free(s);
		return j;
	}
	return tagged("$type", checked(json_string(xpc_type_get_name(t)), ENOMEM));
}

char *xpc_linux_copy_json(xpc_object_t object, int flags)
{
	json_t *j;
	char *s;

	if (!object || (flags & ~XPC_LINUX_JSON_COMPACT)) {
		errno = EINVAL;
		return NULL;
	}
	if (lazylib_load(&jansson_lib) < 0) {
		errno = ELIBACC;
		return NULL;
	}
	errno = 0;
	j = to_json(object, 0);
	if (!j) {
		if (!errno)
			errno = ENOMEM;
		return NULL;
	}
	s = json_dumps(j, JSON_ENCODE_ANY | JSON_SORT_KEYS |
				  ((flags & XPC_LINUX_JSON_COMPACT) ? JSON_COMPACT : JSON_INDENT(2)));
	json_decref(j);
	if (!s)
		errno = ENOMEM;
	return s;
}

/* ---- JSON -> XPC -------------------------------------------------------------- */

static xpc_object_t from_json(json_t *j, unsigned depth, const char **why);
static xpc_object_t members_from_json(json_t *j, unsigned depth, const char **why);

static xpc_object_t from_tagged(const char *key, json_t *v, unsigned depth, const char **why)
{
	if (!strcmp(key, "$dictionary") && json_is_object(v))
		return members_from_json(v, depth, why);
	if (!strcmp(key, "$date") && json_is_integer(v))
		return xpc_date_create(json_integer_value(v));
	if (!strcmp(key, "$uint64") && (json_is_string(v) || json_is_integer(v))) {
		char *end;
		const char *s = json_string_value(v);
		unsigned long long u;
		if (!s && json_integer_value(v) >= 0)
			return xpc_uint64_create((uint64_t)json_integer_value(v));
		errno = 0;
		/* digits only: strtoull would skip blanks and wrap " -5" */
		if (s && s[0] >= '0' && s[0] <= '9' && (u = strtoull(s, &end, 10), !*end && errno == 0))
			return xpc_uint64_create(u);
	}
	if (!strcmp(key, "$uuid") && json_is_string(v)) {
		uuid_t u;
		if (uuidtext_parse(json_string_value(v), u) == 0)
			return xpc_uuid_create(u);
	}
	if (!strcmp(key, "$data") && json_is_string(v)) {
		size_t n = 0;
		uint8_t *bytes = base64_decode(json_string_value(v), &n);
		xpc_object_t d = bytes ? xpc_data_create(bytes, n) : NULL;
		free(bytes);
		if (d)
			return d;
	}
	*why = "bad value for a $-tagged object ($data, $date, $uuid, $uint64) or an unsupported $type";
	return NULL;
}

/* The members of @j as a dictionary, no tag read. */
static xpc_object_t members_from_json(json_t *j, unsigned depth, const char **why)
{
	const char *key;
	json_t *v;
	xpc_object_t d = xpc_dictionary_create_empty();

	if (!d)
		return NULL;
	json_object_foreach(j, key, v)
	{
		xpc_object_t x = from_json(v, depth + 1, why);
		if (!x) {
			xpc_release(d);
			return NULL;
		}
		xpc_dictionary_set_value(d, key, x);
		xpc_release(x);
	}
	return d;
}

static xpc_object_t object_from_json(json_t *j, unsigned depth, const char **why)
{
	const char *key;
	json_t *v;

	if (json_object_size(j) == 1) {
		json_object_foreach(j, key, v) if (key[0] == '$') return from_tagged(key, v, depth, why);
	}
	return members_from_json(j, depth, why);
}

static xpc_object_t from_json(json_t *j, unsigned depth, const char **why)
{
	size_t i;
	json_t *v;

	if (depth >= WIRE_MAX_DEPTH && (json_is_object(j) || json_is_array(j))) {
		*why = "nested too deep";
		return NULL;
	}
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return object_from_json(j, depth, why);
	case JSON_ARRAY: {
		xpc_object_t a = xpc_array_create_empty();
		json_array_foreach(j, i, v)
		{
			xpc_object_t x = from_json(v, depth + 1, why);
			if (!x) {
				xpc_release(a);
				return NULL;
			}
			xpc_array_append_value(a, x);
			xpc_release(x);
		}
		return a;
	}
	case JSON_STRING:
		return xpc_string_create(json_string_value(j));
	case JSON_INTEGER:
		return xpc_int64_create(json_integer_value(j));
	case JSON_REAL:
		return xpc_double_create(json_real_value(j));
	case JSON_TRUE:
		return xpc_bool_create(true);
	case JSON_FALSE:
		return xpc_bool_create(false);
	case JSON_NULL:
		return xpc_null_create();
	}
	*why = "unknown JSON type";
	return NULL;
}

xpc_object_t xpc_linux_create_from_json(const char *text, char **ret_error)
{
	json_error_t jerr;
	json_t *j;
	const char *why = "out of memory";
	xpc_object_t obj;

	if (lazylib_load(&jansson_lib) < 0) {
		if (ret_error && asprintf(ret_error, "cannot read JSON: %s", jansson_lib.why) < 0)
			*ret_error = NULL;
		errno = ELIBACC;
		return NULL;
	}
	j = text ? json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!j) {
		if (ret_error && asprintf(ret_error, "line %d column %d: %s", text ? jerr.line : 0,
					  text ? jerr.column : 0, text ? jerr.text : "no text") < 0)
			*ret_error = NULL;
		return NULL;
	}
	obj = from_json(j, 0, &why);
	json_decref(j);
	if (!obj && ret_error)
		*ret_error = strdup(why);
	return obj;
}
