/* SPDX-License-Identifier: MIT */
/*
 * serialize.c - the Linux extension xpc_linux_serialize/deserialize: any
 * object without descriptors to and from Apple's standalone layout (magic
 * 0x42133742, version 5), through the same encoder and strict decoder as
 * messages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* The errno for a refusal of the encoder (documented in <xpc/linux.h>). */
static int encode_errno(int r)
{
	if (r == -ENOMEM)
		return ENOMEM;
	if (r == WIRE_E_TOO_BIG)
		return E2BIG;
	if (r == WIRE_E_BAD_UTF8 || r == WIRE_E_BAD_STRING)
		return EILSEQ;
	return EINVAL;
}

void *xpc_linux_serialize(xpc_object_t object, size_t *ret_length)
{
	WireBuffer buf = {0};
	int r;

	if (!object || !ret_length) {
		errno = EINVAL;
		return NULL;
	}
	r = wire_encode_object(object, &buf);
	if (r) {
		wire_buffer_free(&buf);
		errno = encode_errno(r);
		return NULL;
	}
	*ret_length = buf.len;
	return buf.data;
}

xpc_object_t xpc_linux_deserialize(const void *bytes, size_t length, char **ret_error)
{
	xpc_object_t obj = NULL;
	int r = wire_decode_object(bytes, length, &obj);

	if (r == 0)
		return obj;
	if (ret_error)
		*ret_error = strdup(wire_strerror(r));
	return NULL;
}
