/* SPDX-License-Identifier: MIT */
/*
 * reply.h - the broker protocol's error reply (reply.c), for the files
 * that answer requests: ops.c, vend.c, clients.c.
 */
#ifndef XPC_BROKER_REPLY_H
#define XPC_BROKER_REPLY_H

#include <xpc/xpc.h>

/* The error reply to @req: { "error": @text, "errno": @err } (+1, or NULL). */
xpc_object_t reply_error(xpc_object_t req, const char *text, int err);

#endif
