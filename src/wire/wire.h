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

#include <stddef.h>
#include <stdint.h>
#include <xpc/xpc.h>

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

typedef struct WireBuffer {
	uint8_t *data;
	size_t len;
	size_t cap;
} WireBuffer;

typedef struct WireFds {
	int *fds; /* borrowed from the objects while encoding */
	size_t n;
	size_t cap;
} WireFds;

void wire_buffer_free(WireBuffer *buf);
void wire_fds_free(WireFds *fds); /* frees the array, closes nothing */

/* Appends magic, version and @dict to @buf, descriptors to @fds.
 * Return: 0, WIRE_E_UNSERIALIZABLE/WIRE_E_TOO_BIG, or -ENOMEM. */
int wire_encode_message(xpc_object_t dict, WireBuffer *buf, WireFds *fds);

/* Decodes a message body made by wire_encode_message().
 * @fds: @n_fds descriptors received with it; those taken become -1.
 * Return: 0 with *ret_dict (+1), a WIRE_E_* code, or -ENOMEM. */
int wire_decode_message(const void *data, size_t len, int *fds, size_t n_fds, xpc_object_t *ret_dict);

/* Standalone form (WIRE_OBJECT_MAGIC, any root type, no descriptors). */
int wire_encode_object(xpc_object_t obj, WireBuffer *buf);
int wire_decode_object(const void *data, size_t len, xpc_object_t *ret_obj);

/* Text for a WIRE_E_* code or negative errno; never NULL. */
const char *wire_strerror(int err);

#endif
