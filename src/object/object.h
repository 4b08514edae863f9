/* SPDX-License-Identifier: MIT */
/*
 * object.h - the internal face of the XPC object layer.
 *
 * Every XPC object, including connections and endpoints defined in upper
 * layers, begins with `struct xpc_object_s`: a pointer to its type, an
 * atomic reference count and the size class of its block (object_alloc:
 * small objects' blocks are kept per thread when freed, object.c).  A
 * type is a `struct _xpc_type_s` (the public
 * XPC_TYPE_* constants point at these) holding the name that
 * xpc_type_get_name() returns, the wire tag, and the operations the generic
 * functions (xpc_release, xpc_equal, xpc_hash, xpc_copy_description) call.
 *
 * Global objects (XPC_BOOL_TRUE/FALSE, the three error dictionaries) are
 * immortal: their refcount is OBJECT_IMMORTAL and retain/release never write
 * to them (they live in read-only memory).
 *
 * Upper layers (wire, connection) use only what this header declares plus the
 * public API; the layout of each concrete type stays private to its file.
 */
#ifndef XPC_OBJECT_OBJECT_H
#define XPC_OBJECT_OBJECT_H

#include <stdatomic.h>
#include <string.h>
#include <xpc/xpc.h>

#include "shared/strbuf.h"

#define OBJECT_IMMORTAL INT32_MAX

struct xpc_object_s {
	const struct _xpc_type_s *type;
	_Atomic int32_t refcnt;
	uint8_t block; /* the block's size class + 1 (object_block_get), or 0 */
};

/* The wire tags (docs/wire.md), each type's wire_tag: constants so that
 * the decoder can switch on them. */
#define OBJECT_TAG_NULL 0x1000u
#define OBJECT_TAG_BOOL 0x2000u
#define OBJECT_TAG_INT64 0x3000u
#define OBJECT_TAG_UINT64 0x4000u
#define OBJECT_TAG_DOUBLE 0x5000u
#define OBJECT_TAG_DATE 0x7000u
#define OBJECT_TAG_DATA 0x8000u
#define OBJECT_TAG_STRING 0x9000u
#define OBJECT_TAG_UUID 0xa000u
#define OBJECT_TAG_FD 0xb000u
#define OBJECT_TAG_SHMEM 0xc000u
#define OBJECT_TAG_ARRAY 0xe000u
#define OBJECT_TAG_DICTIONARY 0xf000u
#define OBJECT_TAG_ERROR 0x10000u
#define OBJECT_TAG_ENDPOINT 0x12000u

/* Type flags: so that object.c asks the type instead of knowing each one. */
#define OBJECT_TYPE_SCALAR 1u     /* described "<int64: 0x...>: 42", no space */
#define OBJECT_TYPE_DESCRIPTOR 2u /* carries a descriptor (fd, shmem, endpoint) */

struct _xpc_type_s {
	const char *name;  /* "dictionary", as xpc_type_get_name() returns */
	uint32_t wire_tag; /* wire tag (docs/wire.md: 0xf000 ...), 0 if never encoded */
	unsigned flags;    /* OBJECT_TYPE_*: what object.c asks of a type */
	/* Frees what the object owns (not the object itself); may be NULL. */
	void (*dispose)(xpc_object_t obj);
	/* Both objects have this type.  NULL means pointer identity. */
	bool (*equal)(xpc_object_t a, xpc_object_t b);
	/* NULL means the pointer value. */
	size_t (*hash)(xpc_object_t obj);
	/* Deep copy; NULL means the object is immutable: copy retains it. */
	xpc_object_t (*copy)(xpc_object_t obj);
	/* Append Apple-style description text after "<name: 0x...> ";
	 * @indent is the nesting level of @obj.  NULL prints "{ }". */
	void (*describe)(xpc_object_t obj, StrBuf *sb, unsigned indent);
};

/*
 * object_block_get() - a block for an object of @size bytes, not zeroed;
 * *ret_block is what the object's `block` must be set to.  Objects up to
 * a few hundred bytes come in size classes, from this thread's cache of
 * freed ones when it has one (object.c): an object per item of every
 * message, so a malloc and a free each saved count.  Every block is a
 * malloc() block: free() is always allowed on it (the cache is only
 * skipped).  NULL when out of memory.
 */
void *object_block_get(size_t size, uint8_t *ret_block);

/* object_alloc() with only the first @zeroed bytes zeroed (a trailing area
 * the object fills before reading it); @zeroed <= @size, a constant. */
static inline void *object_alloc_partial(const struct _xpc_type_s *type, size_t size, size_t zeroed)
{
	uint8_t block;
	struct xpc_object_s *obj = object_block_get(size, &block);

	if (!obj)
		return NULL;
	memset(obj, 0, zeroed);
	obj->type = type;
	atomic_init(&obj->refcnt, 1);
	obj->block = block;
	return obj;
}

/*
 * object_alloc() - allocate a zeroed object of @size bytes with refcount 1.
 * Inline: @size is a constant at every call, so the zeroing is a few
 * stores instead of a memset call (objects are made for every message).
 * Return: the object, or NULL when out of memory.
 */
static inline void *object_alloc(const struct _xpc_type_s *type, size_t size)
{
	return object_alloc_partial(type, size, size);
}

/* Appends the full description of @obj (header and contents) at @indent. */
void object_describe(xpc_object_t obj, StrBuf *sb, unsigned indent);

/* True for the types that carry a descriptor (fd, shmem, endpoint). */
bool object_is_descriptor_type(xpc_type_t type);

/* ---- fd, shmem and endpoint objects: the descriptor they hold ----------- */

/* Take ownership of @fd (must be close-on-exec); NULL on ENOMEM (fd closed). */
xpc_object_t fd_object_create_consume(int fd);
/* Borrowed descriptor of an fd object; -1 for anything else. */
int fd_object_borrow(xpc_object_t xfd);

/* A shmem object over memfd @fd of @size bytes, taking ownership of @fd. */
xpc_object_t shmem_object_create_consume(int fd, size_t size);
int shmem_object_borrow_fd(xpc_object_t xshmem);
size_t shmem_object_get_size(xpc_object_t xshmem);

/*
 * An endpoint wraps the send side of a listener's channel (docs/transport.md,
 * docs/connections.md).  The object layer only stores the descriptor; the connection
 * layer gives it meaning.
 */
xpc_object_t endpoint_object_create_consume(int fd);
int endpoint_object_borrow_fd(xpc_object_t xendpoint);

/* ---- large byte buffers (buffer.c) ---------------------------------------- */

/*
 * A reference-counted buffer for large payloads: from OBJECT_BUFFER_MAP_MIN
 * bytes on an anonymous mapping of its own (huge pages from 2 MiB on) that
 * is reused through a small process-wide cache once released (fresh pages
 * are what a large copy costs: buffer.c).  object_buffer_new() returns it
 * with one reference, or NULL on ENOMEM.
 */
#define OBJECT_BUFFER_MAP_MIN (64u << 10)
typedef struct ObjectBuffer ObjectBuffer;
ObjectBuffer *object_buffer_new(size_t len);
uint8_t *object_buffer_bytes(ObjectBuffer *b);
size_t object_buffer_length(ObjectBuffer *b);
ObjectBuffer *object_buffer_retain(ObjectBuffer *b);
void object_buffer_release(ObjectBuffer *b); /* NULL is fine */
/* Whether a reference other than the caller's exists (objects decoded by
 * reference into @b): the caller must not write into @b then.  Once false
 * it stays false until the caller hands out a reference itself. */
bool object_buffer_shared(ObjectBuffer *b);
/* Records that @n units of the account @c (shared/charge.h; borrowed, a
 * reference is taken) were taken for @b: given back, and the reference
 * dropped, when @b's last reference goes.  Once per buffer. */
struct Charge;
void object_buffer_set_charge(ObjectBuffer *b, struct Charge *c, size_t n);
/* Unmaps every cached buffer (for tests that weigh the heap: a cached
 * buffer's header is a heap block). */
void object_buffer_cache_flush(void);

/*
 * data_object_create_in_buffer() - a data object over @length bytes at
 * @bytes, which lie inside @b; holds a reference on @b instead of copying.
 * The bytes must not change while the object lives.  NULL on ENOMEM.
 */
xpc_object_t data_object_create_in_buffer(ObjectBuffer *b, const void *bytes, size_t length);

/* ---- dictionaries as messages ------------------------------------------- */

/*
 * dictionary_set_message_context() - mark @xdict as received on @conn.
 * @conn:          retained by the dictionary; returned by
 *                 xpc_dictionary_get_remote_connection()
 * @msg_id:        the frame id it arrived with
 * @expects_reply: whether the sender waits for a reply; if so,
 *                 xpc_dictionary_create_reply() succeeds once.
 */
void dictionary_set_message_context(xpc_object_t xdict, xpc_connection_t conn, uint64_t msg_id,
				    bool expects_reply);

/*
 * dictionary_create_for() - an empty dictionary for @count entries: with
 * the map's inline block in the same allocation unless @count is 0 (the
 * decoder's empty dictionaries stay small: docs/wire.md's bound on heap
 * per input byte).  Return: the dictionary, or NULL.
 */
xpc_object_t dictionary_create_for(size_t count);

/*
 * dictionary_add_new() - xpc_dictionary_set_value() of a key not yet
 * present, with one lookup (the decoder's: a duplicate key is an error).
 * @value's reference (+1) is consumed either way: stored, or released.
 * Return: 0, -EEXIST, -ENOMEM (the dictionary is unchanged either way),
 * -EINVAL (not a dictionary, or NULL arguments).
 */
int dictionary_add_new(xpc_object_t xdict, const char *key, xpc_object_t value);

/* Iterates @xdict's entries without a callback per entry (the encoder's):
 * start with *@cursor = 0; each call sets *ret_key and *ret_value
 * (borrowed) and returns true, or returns false at the end.  The
 * dictionary must not change meanwhile. */
bool dictionary_next(xpc_object_t xdict, size_t *cursor, const char **ret_key,
		     xpc_object_t *ret_value);

/* xpc_array_append_value() that takes over @value's reference (+1): it is
 * stored, or released.  Return: 0, -ENOMEM (the array is unchanged),
 * -EINVAL (not an array, or a NULL value). */
int array_append_consume(xpc_object_t xarray, xpc_object_t value);

/* For a dictionary made by xpc_dictionary_create_reply(): sets *ret_id to the
 * id of the message it answers and returns true; false for anything else. */
bool dictionary_get_reply_to(xpc_object_t xdict, uint64_t *ret_id);

/* For a received message: its frame id; false if it was not received. */
bool dictionary_get_message_id(xpc_object_t xdict, uint64_t *ret_id);

#endif /* XPC_OBJECT_OBJECT_H */
