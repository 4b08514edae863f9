/* SPDX-License-Identifier: MIT */
/*
 * encode.c - object graph -> Apple's byte layout (docs/wire.md).
 *
 * One pass over the graph appends to a geometrically grown WireBuffer; the
 * body length of each array and dictionary is back-patched once its items
 * are written, so nothing is measured twice and no item allocates.  Every
 * descriptor-carrying object (fd, shmem, endpoint) appends its descriptor,
 * borrowed, to the WireFds list in order of appearance; the transport sends
 * them with SCM_RIGHTS.
 *
 * With WireBuffer.use_refs (the connection layer's send path), data and
 * string payloads of WIRE_SEND_REF_MIN bytes or more are not copied: the
 * buffer records where they go and from which object (WireRef), and the
 * transport writes them from the object itself with a scatter/gather
 * sendmsg (inline bodies) or into the out-of-line memfd (one copy).  The
 * bytes on the wire are the same either way.  Back-patched lengths count
 * the referenced bytes.  A buffer that must outlive the message (the send
 * queue) retains the objects with wire_buffer_keep(); both kinds are
 * immutable, so the bytes cannot change before they are sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "object/object.h"
#include "shared/assert.h"
#include "wire/wire.h"

/* For the few helpers of every item, which clang at -O2 left as calls. */
#define ENCODE_INLINE static inline __attribute__((always_inline))

typedef struct Encoder {
	WireBuffer *buf;
	WireFds *fds;
	int err;
	unsigned depth;
	size_t start; /* len + ref_bytes of the buffer before this encoding */
	size_t room;  /* bytes grab() may hand out without growing the buffer or
		       * passing the size limit (0 after an error) */
} Encoder;

/* True if @n more bytes would make this encoding longer than its root's
 * 32-bit length can say (plus the 8-byte header): refused before anything
 * is copied, so a graph of several large items fails fast. */
static bool too_big(const Encoder *e, size_t n)
{
	const WireBuffer *b = e->buf;

	/* in 64 bits: with a 32-bit size_t, UINT32_MAX + 8 would wrap to 7 */
	return (uint64_t)n > UINT32_MAX || (uint64_t)(b->len + b->ref_bytes - e->start) + n > (uint64_t)UINT32_MAX + 8;
}

/* Recomputes e->room: the smaller of the buffer's spare capacity and what
 * the size limit still allows (too_big() is false for any n <= room). */
static void set_room(Encoder *e)
{
	const WireBuffer *b = e->buf;
	uint64_t used = (uint64_t)(b->len + b->ref_bytes - e->start), limit = (uint64_t)UINT32_MAX + 8;
	uint64_t spare = b->cap - b->len, allowed = used < limit ? limit - used : 0;

	e->room = e->err ? 0 : (size_t)(spare < allowed ? spare : allowed);
}

static int reserve(Encoder *e, size_t n)
{
	WireBuffer *b = e->buf;
	size_t cap;
	uint8_t *p;

	xpc_assert(b->len <= b->cap);
	if (too_big(e, n))
		return e->err = WIRE_E_TOO_BIG;
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	p = b->lent ? malloc(cap) : realloc(b->data, cap);
	if (!p)
		return e->err = -ENOMEM;
	if (b->lent && b->len)
		memcpy(p, b->data, b->len);
	b->lent = false;
	b->data = p;
	b->cap = cap;
	return 0;
}

static uint8_t *grab_slow(Encoder *e, size_t n)
{
	uint8_t *p;

	if (e->err || reserve(e, n)) {
		e->room = 0;
		return NULL;
	}
	p = e->buf->data + e->buf->len;
	e->buf->len += n;
	set_room(e);
	return p;
}

/*
 * The next @n bytes of the buffer, to be written by the caller, or NULL
 * when they cannot be had (e->err set).  The common case, a small item with
 * the buffer already large enough, is one comparison: every check of
 * reserve() is folded into e->room.  An error set elsewhere leaves room as
 * it was; bytes written after it stay within the capacity and are dropped
 * with the rest (encode_root puts the length back).
 */
ENCODE_INLINE uint8_t *grab(Encoder *e, size_t n)
{
	uint8_t *p;

	if (n > e->room)
		return grab_slow(e, n);
	p = e->buf->data + e->buf->len;
	e->buf->len += n;
	e->room -= n;
	return p;
}

static inline void store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

ENCODE_INLINE void put_bytes(Encoder *e, const void *src, size_t n)
{
	size_t pad = (4 - (n & 3)) & 3;
	uint8_t *p = grab(e, n + pad);

	if (!p)
		return;
	/* the padding: the last word zeroed, then the bytes over its start
	 * (clang made the byte loop a memset call) */
	if (pad)
		store_u32(p + n + pad - 4, 0);
	if (n)
		memcpy(p, src, n);
}

/* Records @n bytes at @src, owned by @obj, by reference (use_refs);
 * padding copied. */
static void put_ref(Encoder *e, const void *src, size_t n, xpc_object_t obj)
{
	WireBuffer *b = e->buf;
	size_t pad = (4 - (n & 3)) & 3;
	uint8_t *p;

	if (b->n_refs == b->cap_refs) {
		size_t cap = b->cap_refs ? b->cap_refs * 2 : 4;
		WireRef *r = realloc(b->refs, cap * sizeof(*r));
		if (!r) {
			e->err = -ENOMEM;
			e->room = 0;
			return;
		}
		b->refs = r;
		b->cap_refs = cap;
	}
	if (too_big(e, n)) {
		e->err = WIRE_E_TOO_BIG;
		e->room = 0;
		return;
	}
	b->refs[b->n_refs++] = (WireRef){.at = b->len, .p = src, .len = n, .obj = obj};
	b->ref_bytes += n;
	set_room(e); /* the limit counts the referenced bytes */
	/* the padding alone (put_bytes would pad the padding) */
	if (pad && (p = grab(e, pad)))
		memset(p, 0, pad);
}

ENCODE_INLINE void put_u32(Encoder *e, uint32_t v)
{
	uint8_t *p = grab(e, 4);

	if (p)
		store_u32(p, v);
}

ENCODE_INLINE void put_u64(Encoder *e, uint64_t v)
{
	uint8_t *p = grab(e, 8);

	if (p) {
		store_u32(p, (uint32_t)v);
		store_u32(p + 4, (uint32_t)(v >> 32));
	}
}

static void put_fd(Encoder *e, int fd)
{
	WireFds *f = e->fds;

	if (e->err)
		return;
	if (!f || fd < 0) {
		e->err = WIRE_E_UNSERIALIZABLE;
		return;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		int *p = realloc(f->fds, cap * sizeof(int));
		if (!p) {
			e->err = -ENOMEM;
			return;
		}
		f->fds = p;
		f->cap = cap;
	}
	f->fds[f->n++] = fd;
}

static void patch_u32(Encoder *e, size_t at, uint32_t v)
{
	store_u32(e->buf->data + at, v);
}

static void put_object(Encoder *e, xpc_object_t obj);

/* Writes the tag, a length placeholder and the count; returns where the
 * length goes. */
static size_t open_container(Encoder *e, uint32_t tag, size_t count)
{
	uint8_t *p = grab(e, 12);

	if (count > UINT32_MAX && !e->err)
		e->err = WIRE_E_TOO_BIG;
	if (!p)
		return 0;
	store_u32(p, tag);
	store_u32(p + 4, 0);
	store_u32(p + 8, (uint32_t)count);
	return (size_t)(p + 4 - e->buf->data);
}

/* @refs0: ref_bytes when the container was opened. */
static void close_container(Encoder *e, size_t at, size_t refs0)
{
	size_t body = e->buf->len + e->buf->ref_bytes - refs0 - at - 4;

	if (e->err)
		return;
	if (body > UINT32_MAX) {
		e->err = WIRE_E_TOO_BIG;
		return;
	}
	patch_u32(e, at, (uint32_t)body);
}

/* The length of @key with its NUL, and whether every byte of it is ASCII:
 * one pass over a short key instead of strlen, memchr and the UTF-8 check
 * (wire_check_string, still made for a key that is not plain ASCII). */
static size_t key_size(const char *key, bool *ret_ascii)
{
	unsigned char high = 0;
	size_t n = 0;

	for (; key[n]; n++)
		high |= (unsigned char)key[n];
	*ret_ascii = high < 0x80;
	return n + 1;
}

static bool put_entry(Encoder *e, const char *key, xpc_object_t value)
{
	bool ascii;
	size_t n = key_size(key, &ascii);

	if (!e->err && !ascii)
		e->err = wire_check_string(key, n);
	put_bytes(e, key, n);
	put_object(e, value);
	return e->err == 0;
}

static bool put_item(void *ctx, size_t index, xpc_object_t value)
{
	Encoder *e = ctx;

	(void)index;
	put_object(e, value);
	return e->err == 0;
}

static void put_string(Encoder *e, xpc_object_t obj)
{
	size_t len = xpc_string_get_length(obj);

	if (len >= UINT32_MAX) {
		e->err = WIRE_E_TOO_BIG;
		return;
	}
	if ((e->err = wire_check_string(xpc_string_get_string_ptr(obj), len + 1)))
		return;
	put_u32(e, (uint32_t)(len + 1));
	if (e->buf->use_refs && len + 1 >= WIRE_SEND_REF_MIN && !e->err)
		put_ref(e, xpc_string_get_string_ptr(obj), len + 1, obj);
	else
		put_bytes(e, xpc_string_get_string_ptr(obj), len + 1);
}

static void put_data(Encoder *e, xpc_object_t obj)
{
	size_t len = xpc_data_get_length(obj);

	if (len > UINT32_MAX) {
		e->err = WIRE_E_TOO_BIG;
		return;
	}
	put_u32(e, (uint32_t)len);
	if (e->buf->use_refs && len >= WIRE_SEND_REF_MIN && !e->err)
		put_ref(e, xpc_data_get_bytes_ptr(obj), len, obj);
	else
		put_bytes(e, xpc_data_get_bytes_ptr(obj), len);
}

static void put_containers(Encoder *e, xpc_object_t obj, xpc_type_t t)
{
	size_t at, refs0 = e->buf->ref_bytes;

	if (++e->depth > WIRE_MAX_DEPTH) {
		e->err = WIRE_E_TOO_DEEP;
		return;
	}
	if (t == XPC_TYPE_ARRAY) {
		at = open_container(e, XPC_TYPE_ARRAY->wire_tag, xpc_array_get_count(obj));
		xpc_array_apply_f(obj, e, put_item);
	} else {
		size_t cursor = 0;
		const char *key;
		xpc_object_t value;
		at = open_container(e, XPC_TYPE_DICTIONARY->wire_tag, xpc_dictionary_get_count(obj));
		while (dictionary_next(obj, &cursor, &key, &value) && put_entry(e, key, value))
			;
	}
	close_container(e, at, refs0);
	e->depth--;
}

static void put_object(Encoder *e, xpc_object_t obj)
{
	xpc_type_t t = xpc_get_type(obj);
	uint64_t u;
	double d;

	if (e->err)
		return;
	if (t == XPC_TYPE_ARRAY || t == XPC_TYPE_DICTIONARY) {
		put_containers(e, obj, t);
		return;
	}
	if (!t || !t->wire_tag || t == XPC_TYPE_ERROR || t == XPC_TYPE_CONNECTION) {
		e->err = WIRE_E_UNSERIALIZABLE;
		return;
	}
	put_u32(e, t->wire_tag);
	if (t == XPC_TYPE_BOOL) {
		put_u32(e, xpc_bool_get_value(obj) ? 1 : 0);
	} else if (t == XPC_TYPE_INT64) {
		put_u64(e, (uint64_t)xpc_int64_get_value(obj));
	} else if (t == XPC_TYPE_UINT64) {
		put_u64(e, xpc_uint64_get_value(obj));
	} else if (t == XPC_TYPE_DOUBLE) {
		d = xpc_double_get_value(obj);
		memcpy(&u, &d, sizeof(u));
		put_u64(e, u);
	} else if (t == XPC_TYPE_DATE) {
		put_u64(e, (uint64_t)xpc_date_get_value(obj));
	} else if (t == XPC_TYPE_DATA) {
		put_data(e, obj);
	} else if (t == XPC_TYPE_STRING) {
		put_string(e, obj);
	} else if (t == XPC_TYPE_UUID) {
		put_bytes(e, xpc_uuid_get_bytes(obj), 16);
	} else if (t == XPC_TYPE_FD) {
		put_fd(e, fd_object_borrow(obj));
	} else if (t == XPC_TYPE_SHMEM) {
		size_t size = shmem_object_get_size(obj);
		if (size > UINT32_MAX)
			e->err = WIRE_E_TOO_BIG;
		put_u32(e, (uint32_t)size);
		put_u32(e, 0);
		put_fd(e, shmem_object_borrow_fd(obj));
	} else if (t == XPC_TYPE_ENDPOINT) {
		put_fd(e, endpoint_object_borrow_fd(obj));
	} else if (t != XPC_TYPE_NULL) {
		e->err = WIRE_E_UNSERIALIZABLE;
	}
}

/* On failure the buffer and list are put back as they were. */
static int encode_root(xpc_object_t obj, uint32_t magic, WireBuffer *buf, WireFds *fds)
{
	Encoder e = {.buf = buf, .fds = fds, .start = buf->len + buf->ref_bytes};
	size_t len0 = buf->len, n0 = fds ? fds->n : 0;
	size_t r0 = buf->n_refs, rb0 = buf->ref_bytes;

	xpc_assert(!buf->kept); /* its new refs would not be retained */
	set_room(&e);
	put_u32(&e, magic);
	put_u32(&e, WIRE_VERSION);
	put_object(&e, obj);
	if (e.err) {
		buf->len = len0;
		buf->n_refs = r0;
		buf->ref_bytes = rb0;
		if (fds)
			fds->n = n0;
	}
	return e.err;
}

int wire_encode_message(xpc_object_t dict, WireBuffer *buf, WireFds *fds)
{
	if (xpc_get_type(dict) != XPC_TYPE_DICTIONARY)
		return WIRE_E_NOT_DICTIONARY;
	return encode_root(dict, WIRE_MESSAGE_MAGIC, buf, fds);
}

int wire_encode_object(xpc_object_t obj, WireBuffer *buf)
{
	return encode_root(obj, WIRE_OBJECT_MAGIC, buf, NULL);
}

void wire_buffer_lend(WireBuffer *buf, void *storage, size_t cap)
{
	memset(buf, 0, sizeof(*buf));
	buf->data = storage;
	buf->cap = cap;
	buf->lent = true;
}

int wire_buffer_own(WireBuffer *buf)
{
	uint8_t *p;

	if (!buf->lent)
		return 0;
	p = malloc(buf->len ? buf->len : 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, buf->data, buf->len);
	buf->data = p;
	buf->cap = buf->len;
	buf->lent = false;
	return 0;
}

/* Releases what wire_buffer_keep() retained. */
static void wire_buffer_unkeep(WireBuffer *buf)
{
	if (!buf->kept)
		return;
	for (size_t i = 0; i < buf->n_refs; i++)
		xpc_release(buf->refs[i].obj);
	buf->kept = false;
}

int wire_buffer_keep(WireBuffer *buf)
{
	if (buf->kept)
		return 0;
	if (wire_buffer_own(buf) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < buf->n_refs; i++)
		xpc_retain(buf->refs[i].obj);
	buf->kept = true;
	return 0;
}

void wire_buffer_free(WireBuffer *buf)
{
	wire_buffer_unkeep(buf);
	if (!buf->lent)
		free(buf->data);
	buf->lent = false;
	if (buf->refs) /* (most messages have none: no call) */
		free(buf->refs);
	buf->data = NULL;
	buf->refs = NULL;
	buf->len = buf->cap = 0;
	buf->n_refs = buf->cap_refs = buf->ref_bytes = 0;
}

size_t wire_buffer_iov(const WireBuffer *buf, struct iovec *iov, size_t max)
{
	size_t n = 0, from = 0;

	for (size_t i = 0; i < buf->n_refs && n + 2 <= max; i++) {
		const WireRef *r = &buf->refs[i];
		if (r->at > from)
			iov[n++] = (struct iovec){buf->data + from, r->at - from};
		iov[n++] = (struct iovec){(void *)r->p, r->len};
		from = r->at;
	}
	if (buf->len > from && n < max)
		iov[n++] = (struct iovec){buf->data + from, buf->len - from};
	return n;
}

int wire_buffer_flatten(WireBuffer *buf)
{
	size_t total = buf->len + buf->ref_bytes, from = buf->len, shift = buf->ref_bytes;
	uint8_t *p;

	if (!buf->n_refs)
		return 0;
	if (wire_buffer_own(buf) < 0)
		return -ENOMEM;
	p = realloc(buf->data, total);
	if (!p)
		return -ENOMEM;
	/* Back to front: each run of data moves up by the refs before it. */
	for (size_t i = buf->n_refs; i-- > 0;) {
		const WireRef *r = &buf->refs[i];
		memmove(p + r->at + shift, p + r->at, from - r->at);
		memcpy(p + r->at + shift - r->len, r->p, r->len);
		shift -= r->len;
		from = r->at;
	}
	buf->data = p;
	buf->len = buf->cap = total;
	wire_buffer_unkeep(buf);
	buf->n_refs = 0;
	buf->ref_bytes = 0;
	return 0;
}

void wire_buffer_copy(const WireBuffer *buf, void *dst)
{
	uint8_t *out = dst;
	size_t from = 0;

	for (size_t i = 0; i < buf->n_refs; i++) {
		const WireRef *r = &buf->refs[i];
		if (r->at > from)
			memcpy(out, buf->data + from, r->at - from);
		out += r->at - from;
		memcpy(out, r->p, r->len);
		out += r->len;
		from = r->at;
	}
	if (buf->len > from)
		memcpy(out, buf->data + from, buf->len - from);
}

void wire_fds_free(WireFds *fds)
{
	if (fds->fds)
		free(fds->fds);
	fds->fds = NULL;
	fds->n = fds->cap = 0;
}
