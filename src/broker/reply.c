/* SPDX-License-Identifier: MIT */
/*
 * reply.c - the broker protocol's error reply (docs/broker.md): every
 * request that fails is answered { "error": TEXT, "errno": N }.  Below
 * the files that answer requests (ops.c and the vend.c it calls,
 * clients.c's refusals), so that none of them calls another for it.
 */
#include "broker/reply.h"
#include "shared/xpcd-protocol.h"

xpc_object_t reply_error(xpc_object_t req, const char *text, int err)
{
	xpc_object_t r = xpc_dictionary_create_reply(req);

	if (r) {
		xpc_dictionary_set_string(r, XPCD_KEY_ERROR, text);
		xpc_dictionary_set_int64(r, XPCD_KEY_ERRNO, err);
	}
	return r;
}
