/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the object encoding (docs/wire.md, Apple's layout) to and from
 * bytes plus an out-of-band descriptor list.
 *
 * Encoding walks the graph and appends bytes to a WireBuffer and, for each
 * fd/shmem/endpoint object in order of appearance, its descriptor (borrowed,
 * not duplicated) to a WireFds list.
 *
 * Decoding is strict and bounded: every length and count is checked against
 * the bytes left, nesting is limited to WIRE_MAX_DEPTH, strings must have
 * their NUL exactly at the declared length and be valid UTF-8, unknown tags
 * and non-zero padding are rejected, and every descriptor slot must exist.
 * It allocates at most a constant factor of the input size and leaks nothing
 * on any failure.  Descriptors the decoded objects took are set to -1 in the
 * caller's array; the caller closes whatever is left.
 */
#ifndef XPC_WIRE_WIRE_H
#define XPC_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <xpc/xpc.h>

#include "object/object.h"

#define WIRE_MESSAGE_MAGIC 0x40585043u /* "CPX@": a message body */
#define WIRE_OBJECT_MAGIC 0x42133742u  /* standalone serialized object */
#define WIRE_VERSION 5u
#define WIRE_MAX_DEPTH 64u    /* containers nested deeper are rejected */
#define WIRE_MAX_FDS 253u     /* SCM_MAX_FD: descriptors per message */

enum {
	WIRE_E_TRUNCATED = 1, /* a length or count runs past the end */
	WIRE_E_BAD_MAGIC,
	WIRE_E_BAD_VERSION,
	WIRE_E_BAD_TAG,      /* unknown tag, low 12 bits set, or not sendable */
	WIRE_E_BAD_LENGTH,   /* container length disagrees with its content */
	WIRE_E_BAD_STRING,   /* NUL not at the declared position, or missing */
	WIRE_E_BAD_UTF8,
	WIRE_E_BAD_PADDING,  /* non-zero padding bytes */
	WIRE_E_BAD_VALUE,    /* e.g. a bool that is not 0 or 1 */
	WIRE_E_TOO_DEEP,
	WIRE_E_TOO_MANY,     /* more entries than the input could hold */
	WIRE_E_NO_FD,        /* a descriptor item without a descriptor */
	WIRE_E_TRAILING,     /* bytes after the root object */
	WIRE_E_NOT_DICTIONARY, /* the root of a message is not a dictionary */
	WIRE_E_UNSERIALIZABLE, /* encoding: connection, error or pointer object */
	WIRE_E_TOO_BIG,        /* encoding: a length does not fit 32 bits */
};

/*
 * A large byte run (data or string bytes of WIRE_SEND_REF_MIN or more) that
 * an encoder with `use_refs` set left in place instead of copying:
 * logically it comes before data[at].  The pointer is borrowed from @obj,
 * an immutable data or string object of the encoded graph (borrowed too,
 * until wire_buffer_keep() retains it).
 */
typedef struct WireRef {
	size_t at;
	const void *p;
	size_t len;
	xpc_object_t obj;
} WireRef;

/* The decoder's threshold for data in place in an out-of-line body. */
#define WIRE_REF_MIN (16u * 1024u)
/* The encoder's (use_refs): from here on a payload costs an iovec and no
 * copy, and a message whose payloads are all referenced stays in the send
 * job's own 256 bytes (no allocation).  Measured: docs/performance.md,
 * "The last copies". */
#define WIRE_SEND_REF_MIN (4u * 1024u)

typedef struct WireBuffer {
	uint8_t *data;
	size_t len;     /* bytes in data */
	size_t cap;
	bool use_refs;  /* set by the caller before encoding */
	WireRef *refs;
	size_t n_refs, cap_refs;
	size_t ref_bytes; /* sum of refs[].len: the encoding is len + ref_bytes */
	bool lent;        /* data is the caller's storage (wire_buffer_lend) */
	bool kept;        /* refs[].obj retained (wire_buffer_keep) */
} WireBuffer;

typedef struct WireFds {
	int *fds; /* borrowed from the objects while encoding */
	size_t n;
	size_t cap;
} WireFds;

void wire_buffer_free(WireBuffer *buf);
/* Starts an empty @buf in the caller's @storage of @cap bytes (a small
 * message then needs no allocation); the first growth past it moves the
 * bytes to the heap.  The storage must outlive the buffer's use, or
 * wire_buffer_own() must be called first. */
void wire_buffer_lend(WireBuffer *buf, void *storage, size_t cap);
/* Moves lent bytes to the heap (the buffer may then outlive the storage).
 * Return: 0 or -ENOMEM (buffer unchanged). */
int wire_buffer_own(WireBuffer *buf);

/* The encoding as pieces, in order, into @iov (at most @max, which must be
 * at least 2 * n_refs + 1); returns how many.  Borrowed. */
size_t wire_buffer_iov(const WireBuffer *buf, struct iovec *iov, size_t max);
/* Copies the referenced runs in: afterwards data holds the whole encoding
 * and n_refs is 0.  Return: 0 or -ENOMEM (buffer unchanged). */
int wire_buffer_flatten(WireBuffer *buf);
/* Makes @buf independent of the encoded graph and of lent storage: moves
 * lent bytes to the heap and retains every referenced object (released by
 * wire_buffer_free or wire_buffer_flatten), so the caller may release the
 * message while the encoding waits to be sent.  Encode nothing more into
 * a kept buffer.  Return: 0 or -ENOMEM (buffer unchanged). */
int wire_buffer_keep(WireBuffer *buf);
/* Writes the whole encoding (len + ref_bytes bytes) to @dst. */
void wire_buffer_copy(const WireBuffer *buf, void *dst);
void wire_fds_free(WireFds *fds); /* frees the array, closes nothing */

/* Appends magic, version and @dict to @buf, descriptors to @fds.
 * Return: 0, WIRE_E_UNSERIALIZABLE/WIRE_E_TOO_BIG/WIRE_E_TOO_DEEP,
 * WIRE_E_BAD_STRING/WIRE_E_BAD_UTF8 (a string or key the decoder would
 * refuse), or -ENOMEM. */
int wire_encode_message(xpc_object_t dict, WireBuffer *buf, WireFds *fds);

/* Decodes a message body made by wire_encode_message().
 * @fds: @n_fds descriptors received with it; those taken become -1.
 * Return: 0 with *ret_dict (+1), a WIRE_E_* code, or -ENOMEM. */
int wire_decode_message(const void *data, size_t len, int *fds, size_t n_fds, xpc_object_t *ret_dict);

/* The same for a body that lies in @b (all of it): large data items point
 * into @b, holding a reference, instead of being copied.  The bytes of @b
 * must never change afterwards. */
int wire_decode_message_in(ObjectBuffer *b, int *fds, size_t n_fds, xpc_object_t *ret_dict);

/* The same for a body of @len bytes at @data that lies inside @b (an inline
 * body in the buffer its packet was received into): data items of
 * WIRE_REF_INLINE_MIN bytes or more point into @b.  Smaller ones are
 * copied: a small item must not pin a whole receive buffer (128 KiB of
 * address space).  The bytes of @b must never change afterwards while a
 * reference is held (object_buffer_shared()). */
#define WIRE_REF_INLINE_MIN (32u * 1024u)
int wire_decode_message_within(ObjectBuffer *b, const void *data, size_t len, int *fds, size_t n_fds,
			       xpc_object_t *ret_dict);

/* Standalone form (WIRE_OBJECT_MAGIC, any root type, no descriptors). */
int wire_encode_object(xpc_object_t obj, WireBuffer *buf);
int wire_decode_object(const void *data, size_t len, xpc_object_t *ret_obj);

/* 0 if the @n bytes at @s are UTF-8 text ending in its only NUL;
 * WIRE_E_BAD_STRING or WIRE_E_BAD_UTF8 otherwise.  The encoder refuses
 * what the decoder would reject. */
int wire_check_string(const void *s, size_t n);

/* Text for a WIRE_E_* code or negative errno; never NULL. */
const char *wire_strerror(int err);

#endif
