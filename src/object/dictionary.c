/* SPDX-License-Identifier: MIT */
/*
 * dictionary.c - string-keyed containers, messages and the error objects
 * (xpc_dictionary_create(3)).
 *
 * Model: a dictionary maps copied C-string keys to retained objects in a
 * hash table (shared/hashmap: O(1) average).  Setting NULL removes a key.
 * Iteration order is unspecified.  xpc_copy() is deep and drops message
 * context.
 *
 * A dictionary is also a message: the connection layer marks a received
 * one with dictionary_set_message_context() (connection retained, frame
 * id, whether a reply is expected).  xpc_dictionary_create_reply() then
 * succeeds once (atomically) and the reply carries the same connection and
 * the id it answers.  xpc_dictionary_get_remote_connection() is non-NULL
 * only for received dictionaries and replies.
 *
 * The error objects (XPC_ERROR_*) are immortal, const dictionaries of type
 * XPC_TYPE_ERROR with one fixed entry (XPC_ERROR_KEY_DESCRIPTION); every
 * reader accepts them, no writer touches them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "object/internal.h"

const char *const _xpc_error_key_description = "XPCErrorDescription";
const char *const _xpc_event_key_name = "XPCEventName";

static struct _xpc_dictionary_s *dict_readable(xpc_object_t xdict)
{
	if (object_is(xdict, XPC_TYPE_DICTIONARY) || object_is(xdict, XPC_TYPE_ERROR))
		return xdict;
	return NULL;
}

static struct _xpc_dictionary_s *dict_writable(xpc_object_t xdict)
{
	return object_is(xdict, XPC_TYPE_DICTIONARY) ? xdict : NULL;
}

static void dict_release_value(void *value)
{
	xpc_release(value);
}

static void dictionary_dispose(xpc_object_t obj)
{
	struct _xpc_dictionary_s *d = obj;

	hashmap_destroy(&d->map, dict_release_value);
	if (d->msg.conn)
		xpc_release(d->msg.conn);
}

/* Calls @fn on every entry until it returns false; false if it did. */
static bool dict_each(struct _xpc_dictionary_s *d, void *ctx, xpc_dictionary_applier_f fn)
{
	size_t cursor = 0;
	const char *key;
	void *value;

	if (d->fixed_key)
		return fn(ctx, d->fixed_key, d->fixed_value);
	while (hashmap_next(&d->map, &cursor, &key, &value))
		if (!fn(ctx, key, value))
			return false;
	return true;
}

static bool dict_equal_entry(void *ctx, const char *key, xpc_object_t value)
{
	return xpc_equal(value, xpc_dictionary_get_value(ctx, key));
}

static bool dictionary_equal(xpc_object_t a, xpc_object_t b)
{
	if (xpc_dictionary_get_count(a) != xpc_dictionary_get_count(b))
		return false;
	return dict_each(a, b, dict_equal_entry);
}

static bool dict_hash_entry(void *ctx, const char *key, xpc_object_t value)
{
	size_t *h = ctx;

	/* order-independent: a sum of mixed per-entry hashes */
	*h += object_hash_mix((size_t)hashmap_hash_bytes(key, strlen(key)) * 31 + xpc_hash(value));
	return true;
}

static size_t dictionary_hash(xpc_object_t obj)
{
	size_t h = xpc_dictionary_get_count(obj);

	dict_each(obj, &h, dict_hash_entry);
	return h;
}

struct describe_ctx {
	StrBuf *sb;
	unsigned indent;
};

static bool dict_describe_entry(void *ctx, const char *key, xpc_object_t value)
{
	struct describe_ctx *c = ctx;

	strbuf_indent(c->sb, c->indent + 1);
	strbuf_printf(c->sb, "\"%s\" => ", key);
	object_describe(value, c->sb, c->indent + 1);
	strbuf_append(c->sb, "\n");
	return true;
}

void dictionary_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	struct describe_ctx c = {sb, indent};

	strbuf_printf(sb, "{ count = %zu, transaction: 0, voucher = 0x0, contents =\n",
		      xpc_dictionary_get_count(obj));
	dict_each(obj, &c, dict_describe_entry);
	strbuf_indent(sb, indent);
	strbuf_append(sb, "}");
}

static bool dict_copy_entry(void *ctx, const char *key, xpc_object_t value)
{
	struct _xpc_dictionary_s *dst = ctx;
	xpc_object_t v = xpc_copy(value);
	void *old;

	if (!v)
		return false;
	if (hashmap_put(&dst->map, key, v, &old) < 0) {
		xpc_release(v);
		return false;
	}
	return true;
}

static xpc_object_t dictionary_copy(xpc_object_t obj)
{
	struct _xpc_dictionary_s *dst = xpc_dictionary_create_empty();

	if (dst && !dict_each(obj, dst, dict_copy_entry)) {
		xpc_release(dst);
		return NULL;
	}
	return dst;
}

const struct _xpc_type_s _xpc_type_dictionary = {
	.name = "dictionary", .wire_tag = OBJECT_TAG_DICTIONARY, .dispose = dictionary_dispose,
	.equal = dictionary_equal, .hash = dictionary_hash, .copy = dictionary_copy,
	.describe = dictionary_describe};
/* Errors are immortal and immutable: no dispose, copy retains. */
const struct _xpc_type_s _xpc_type_error = {
	.name = "error", .wire_tag = OBJECT_TAG_ERROR, .equal = dictionary_equal, .hash = dictionary_hash,
	.describe = dictionary_describe};

#define ERROR_STRING(name, text)                                                            \
	static const struct _xpc_string_s name = {OBJECT_STATIC_HEADER(&_xpc_type_string), \
						  sizeof(text) - 1, text}
#define ERROR_OBJECT(name, str)                                                     \
	const struct _xpc_dictionary_s name = {.base = OBJECT_STATIC_HEADER(&_xpc_type_error), \
					       .fixed_key = "XPCErrorDescription",     \
					       .fixed_value = (xpc_object_t)&str}

ERROR_STRING(error_text_invalid, "Connection invalid");
ERROR_STRING(error_text_interrupted, "Connection interrupted");
ERROR_STRING(error_text_termination, "Termination imminent");
ERROR_STRING(error_text_peer_requirement, "Peer Forbidden");
ERROR_OBJECT(_xpc_error_connection_invalid, error_text_invalid);
ERROR_OBJECT(_xpc_error_connection_interrupted, error_text_interrupted);
ERROR_OBJECT(_xpc_error_termination_imminent, error_text_termination);
ERROR_OBJECT(_xpc_error_peer_code_signing_requirement, error_text_peer_requirement);

/* ---- creation and the generic accessors ---------------------------------- */

xpc_object_t dictionary_create_for(size_t count)
{
	size_t head = offsetof(struct _xpc_dictionary_s, inl);
	struct _xpc_dictionary_s *d;

	if (count == 0) { /* no block: the map allocates one if it ever needs it */
		d = object_alloc(XPC_TYPE_DICTIONARY, head);
		if (d)
			hashmap_init(&d->map);
		return d;
	}
	d = object_alloc_partial(XPC_TYPE_DICTIONARY, sizeof(*d), head);
	if (d)
		hashmap_init_lent(&d->map, d->inl);
	return d;
}

xpc_object_t xpc_dictionary_create_empty(void)
{
	return dictionary_create_for(1);
}

xpc_object_t xpc_dictionary_create(const char *const *keys, const xpc_object_t *values, size_t count)
{
	struct _xpc_dictionary_s *d;

	if (count && (!keys || !values))
		return NULL;
	d = xpc_dictionary_create_empty();
	for (size_t i = 0; d && i < count; i++) {
		if (!keys[i])
			continue;
		xpc_dictionary_set_value(d, keys[i], values[i]);
		if (values[i] && xpc_dictionary_get_value(d, keys[i]) != values[i]) {
			xpc_release(d); /* ENOMEM */
			return NULL;
		}
	}
	return d;
}

/*
 * xpc_dictionary_set_value() - store @value (retained) under a copy of @key;
 * NULL removes the key.  Out of memory leaves the dictionary unchanged.
 * A non-dictionary (or an error object) is left alone.
 */
void xpc_dictionary_set_value(xpc_object_t xdict, const char *key, xpc_object_t value)
{
	struct _xpc_dictionary_s *d = dict_writable(xdict);
	void *old = NULL;

	if (!d || !key)
		return;
	if (!value) {
		xpc_release(hashmap_remove(&d->map, key));
		return;
	}
	if (hashmap_put(&d->map, key, xpc_retain(value), &old) < 0) {
		xpc_release(value);
		return;
	}
	xpc_release(old);
}

int dictionary_add_new(xpc_object_t xdict, const char *key, xpc_object_t value)
{
	struct _xpc_dictionary_s *d = dict_writable(xdict);
	int r = -EINVAL;

	if (d && key && value)
		r = hashmap_put_new(&d->map, key, value); /* @value's reference is the map's */
	if (r != 0)
		xpc_release(value);
	return r;
}

xpc_object_t xpc_dictionary_get_value(xpc_object_t xdict, const char *key)
{
	struct _xpc_dictionary_s *d = dict_readable(xdict);

	if (!d || !key)
		return NULL;
	if (d->fixed_key)
		return strcmp(key, d->fixed_key) == 0 ? d->fixed_value : NULL;
	return hashmap_get(&d->map, key);
}

size_t xpc_dictionary_get_count(xpc_object_t xdict)
{
	struct _xpc_dictionary_s *d = dict_readable(xdict);

	if (!d)
		return 0;
	return d->fixed_key ? 1 : hashmap_count(&d->map);
}

bool xpc_dictionary_apply_f(xpc_object_t xdict, void *context, xpc_dictionary_applier_f applier)
{
	struct _xpc_dictionary_s *d = dict_readable(xdict);

	if (!d || !applier)
		return d != NULL;
	return dict_each(d, context, applier);
}

bool dictionary_next(xpc_object_t xdict, size_t *cursor, const char **ret_key, xpc_object_t *ret_value)
{
	struct _xpc_dictionary_s *d = dict_readable(xdict);

	if (!d)
		return false;
	if (d->fixed_key) {
		*ret_key = d->fixed_key;
		*ret_value = d->fixed_value;
		return (*cursor)++ == 0;
	}
	return hashmap_next(&d->map, cursor, ret_key, (void **)ret_value);
}

static bool dict_apply_block(void *context, const char *key, xpc_object_t value)
{
	xpc_dictionary_applier_t applier = (xpc_dictionary_applier_t)context;

	return applier(key, value);
}

bool xpc_dictionary_apply(xpc_object_t xdict, xpc_dictionary_applier_t applier)
{
	if (!applier)
		return dict_readable(xdict) != NULL;
	return xpc_dictionary_apply_f(xdict, (void *)applier, dict_apply_block);
}

/* ---- messages and replies ---------------------------------------------------- */

void dictionary_set_message_context(xpc_object_t xdict, xpc_connection_t conn, uint64_t msg_id,
				    bool expects_reply)
{
	struct _xpc_dictionary_s *d = dict_writable(xdict);
	xpc_connection_t old;

	if (!d)
		return;
	old = d->msg.conn;
	d->msg.conn = conn ? xpc_retain(conn) : NULL;
	d->msg.msg_id = msg_id;
	d->msg.received = true;
	d->msg.expects_reply = expects_reply;
	atomic_store(&d->msg.reply_created, false);
	if (old)
		xpc_release(old);
}

bool dictionary_get_reply_to(xpc_object_t xdict, uint64_t *ret_id)
{
	struct _xpc_dictionary_s *d = dict_writable(xdict);

	if (!d || !d->msg.is_reply)
		return false;
	if (ret_id)
		*ret_id = d->msg.reply_to;
	return true;
}

bool dictionary_get_message_id(xpc_object_t xdict, uint64_t *ret_id)
{
	struct _xpc_dictionary_s *d = dict_writable(xdict);

	if (!d || !d->msg.received)
		return false;
	if (ret_id)
		*ret_id = d->msg.msg_id;
	return true;
}

xpc_object_t xpc_dictionary_create_reply(xpc_object_t original)
{
	struct _xpc_dictionary_s *o = dict_writable(original), *r;

	if (!o || !o->msg.received || !o->msg.expects_reply)
		return NULL;
	if (atomic_exchange(&o->msg.reply_created, true))
		return NULL;
	r = xpc_dictionary_create_empty();
	if (!r) {
		atomic_store(&o->msg.reply_created, false);
		return NULL;
	}
	r->msg.conn = o->msg.conn ? xpc_retain(o->msg.conn) : NULL;
	r->msg.reply_to = o->msg.msg_id;
	r->msg.is_reply = true;
	return r;
}

xpc_connection_t xpc_dictionary_get_remote_connection(xpc_object_t xdict)
{
	struct _xpc_dictionary_s *d = dict_writable(xdict);

	if (!d || (!d->msg.received && !d->msg.is_reply))
		return NULL;
	return d->msg.conn;
}

/* ---- typed setters and getters --------------------------------------------- */

/* Stores @value (+1, consumed: its reference becomes the map's, no
 * retain and release per call); NULL (creation failed) changes nothing.
 * As xpc_dictionary_set_value otherwise. */
static void dict_set_consume(xpc_object_t xdict, const char *key, xpc_object_t value)
{
	struct _xpc_dictionary_s *d = dict_writable(xdict);
	void *old = NULL;

	if (!value)
		return;
	if (!d || !key || hashmap_put(&d->map, key, value, &old) < 0) {
		xpc_release(value);
		return;
	}
	xpc_release(old);
}

void xpc_dictionary_set_bool(xpc_object_t xdict, const char *key, bool value)
{
	dict_set_consume(xdict, key, xpc_bool_create(value));
}

void xpc_dictionary_set_int64(xpc_object_t xdict, const char *key, int64_t value)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_int64_create(value) : NULL);
}

void xpc_dictionary_set_uint64(xpc_object_t xdict, const char *key, uint64_t value)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_uint64_create(value) : NULL);
}

void xpc_dictionary_set_double(xpc_object_t xdict, const char *key, double value)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_double_create(value) : NULL);
}

void xpc_dictionary_set_date(xpc_object_t xdict, const char *key, int64_t value)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_date_create(value) : NULL);
}

void xpc_dictionary_set_data(xpc_object_t xdict, const char *key, const void *bytes, size_t length)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_data_create(bytes, length) : NULL);
}

void xpc_dictionary_set_string(xpc_object_t xdict, const char *key, const char *string)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_string_create(string) : NULL);
}

void xpc_dictionary_set_uuid(xpc_object_t xdict, const char *key, const uuid_t uuid)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_uuid_create(uuid) : NULL);
}

void xpc_dictionary_set_fd(xpc_object_t xdict, const char *key, int fd)
{
	dict_set_consume(xdict, key, dict_writable(xdict) ? xpc_fd_create(fd) : NULL);
}

bool xpc_dictionary_get_bool(xpc_object_t xdict, const char *key)
{
	return xpc_bool_get_value(xpc_dictionary_get_value(xdict, key));
}

int64_t xpc_dictionary_get_int64(xpc_object_t xdict, const char *key)
{
	return xpc_int64_get_value(xpc_dictionary_get_value(xdict, key));
}

uint64_t xpc_dictionary_get_uint64(xpc_object_t xdict, const char *key)
{
	return xpc_uint64_get_value(xpc_dictionary_get_value(xdict, key));
}

double xpc_dictionary_get_double(xpc_object_t xdict, const char *key)
{
	return xpc_double_get_value(xpc_dictionary_get_value(xdict, key));
}

int64_t xpc_dictionary_get_date(xpc_object_t xdict, const char *key)
{
	return xpc_date_get_value(xpc_dictionary_get_value(xdict, key));
}

const void *xpc_dictionary_get_data(xpc_object_t xdict, const char *key, size_t *length)
{
	xpc_object_t v = xpc_dictionary_get_value(xdict, key);

	if (length)
		*length = xpc_data_get_length(v);
	return xpc_data_get_bytes_ptr(v);
}

const char *xpc_dictionary_get_string(xpc_object_t xdict, const char *key)
{
	return xpc_string_get_string_ptr(xpc_dictionary_get_value(xdict, key));
}

const uint8_t *xpc_dictionary_get_uuid(xpc_object_t xdict, const char *key)
{
	return xpc_uuid_get_bytes(xpc_dictionary_get_value(xdict, key));
}

int xpc_dictionary_dup_fd(xpc_object_t xdict, const char *key)
{
	return xpc_fd_dup(xpc_dictionary_get_value(xdict, key));
}
