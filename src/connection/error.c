/* SPDX-License-Identifier: MIT */
/*
 * error.c - the words for the layer's outcomes (ConnError, internal.h).
 *
 * Below the public API an outcome travels as a code; the English reason
 * is made here, once, when xpc_connection_copy_invalidation_reason() (or a
 * caller reporting to a user, lookup.c) asks for it: "TEXT" or
 * "TEXT: DETAIL", where the detail says which limit, which violation or
 * why a requirement failed.  The texts are part of the interface: programs
 * and tests match their prefixes ("limit exceeded", "protocol violation",
 * "denied").
 */
#include "connection/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const conn_texts[] = {
	[CONN_OK] = "ok",
	[CONN_E_CANCELLED] = "cancelled",
	[CONN_E_PEER_EXITED] = "peer exited",
	[CONN_E_LISTENER_GONE] = "listener gone",
	[CONN_E_LINK_ERROR] = "link error",
	[CONN_E_SERVICE_GONE] = "service gone",
	[CONN_E_CHANNEL_CLOSED] = "listener channel closed",
	[CONN_E_NOT_VENDED] = "denied: name not vended to this process",
	[CONN_E_NO_MEMORY] = "limit exceeded: out of memory",
	[CONN_E_DESCRIPTORS] = "limit exceeded: descriptors",
	[CONN_E_UNSENT] = "limit exceeded: unsent messages (peer not reading)",
	[CONN_E_BACKLOG] = "limit exceeded: listener backlog",
	[CONN_E_PEER_LINKS] = "limit exceeded: peer links per user",
	[CONN_E_RECEIVE_LIMIT] = "limit exceeded",
	[CONN_E_PROTOCOL] = "protocol violation",
	[CONN_E_REQUIREMENT] = "peer requirement not met",
	[CONN_E_BROKER] = NULL,
	[CONN_E_BUNDLE] = "bundled XPC service",
};

const char *conn_strerror(ConnError e)
{
	if ((size_t)e >= sizeof(conn_texts) / sizeof(conn_texts[0]))
		return "unknown error";
	return conn_texts[e];
}

bool conn_error_is_limit(ConnError e)
{
	switch (e) {
	case CONN_E_NO_MEMORY:
	case CONN_E_DESCRIPTORS:
	case CONN_E_UNSENT:
	case CONN_E_BACKLOG:
	case CONN_E_PEER_LINKS:
	case CONN_E_RECEIVE_LIMIT:
		return true;
	default:
		return false;
	}
}

char *conn_error_reason(ConnError e, const char *detail)
{
	const char *text = conn_strerror(e);
	char *r = NULL;

	if (!text)
		return strdup(detail ? detail : "no broker answer");
	if (!detail || !*detail)
		return strdup(text);
	if (asprintf(&r, "%s: %s", text, detail) < 0)
		return NULL;
	return r;
}
