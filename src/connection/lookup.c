/* SPDX-License-Identifier: MIT */
/*
 * lookup.c - a synchronous lookup of a service name at the broker, for the
 * layers above that must know at once whether a name exists (sessions,
 * src/session: creating one to an unknown name fails, as on macOS).
 *
 * The request is { "xpcd.op": "lookup", "name" }, answered by { "ok",
 * "endpoint" }, by { "ok" } alone to a caller the broker hands no W (it
 * then connects by name and checks in through the broker, as a named
 * connection does: src/broker/vend.c), or by { "error", "errno" }, over a
 * short-lived link to the
 * broker.  A broker over its limits may instead send one unsolicited
 * { "xpcd.error": TEXT } and close the link: the event handler keeps TEXT,
 * and the caller waits for the link's final INVALID, which comes after
 * every event read before it, so TEXT is known when the reason is made.
 * Which broker is asked, and whether it is trusted, is brokerlink.c's rule
 * (brokerlink_path, brokerlink_connect; docs/security.md).
 */
#include "connection/internal.h"

#include <Block.h>
#include <stdlib.h>
#include <string.h>
#include "shared/xpcd-protocol.h"

static xpc_object_t lookup_request(const char *name)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	if (msg) {
		xpc_dictionary_set_string(msg, XPCD_KEY_OP, XPCD_OP_LOOKUP);
		xpc_dictionary_set_string(msg, XPCD_KEY_NAME, name);
	}
	return msg;
}

/* The endpoint of a lookup reply (+1); or NULL with *ret_by_name set (the
 * name exists, but the broker hands its W only to root and the service's
 * own user: a named connection checks in through the broker), or with
 * *ret_reason set. */
static xpc_endpoint_t lookup_answer(xpc_object_t reply, const char *refused, char **ret_reason, bool *ret_by_name)
{
	const char *err = refused;

	if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY) {
		xpc_object_t ep = xpc_dictionary_get_value(reply, XPCD_KEY_ENDPOINT);
		if (xpc_get_type(ep) == XPC_TYPE_ENDPOINT)
			return xpc_retain(ep);
		if (xpc_dictionary_get_string(reply, XPCD_KEY_ERROR))
			err = xpc_dictionary_get_string(reply, XPCD_KEY_ERROR);
		else if (xpc_dictionary_get_bool(reply, XPCD_KEY_OK)) {
			*ret_by_name = true;
			return NULL;
		}
	}
	*ret_reason = strdup(err ? err : "no broker answer");
	return NULL;
}

xpc_endpoint_t connection_lookup_service(const char *name, bool privileged, char **ret_reason, bool *ret_by_name)
{
	char path[256], why[512];
	__block char *refused = NULL;
	xpc_endpoint_t ep = NULL;
	xpc_connection_t b;
	xpc_object_t msg, reply;
	dispatch_semaphore_t ended;
	bool system;
	int fd;

	*ret_reason = NULL;
	*ret_by_name = false;
	brokerlink_path(privileged, path, sizeof(path), &system);
	fd = brokerlink_connect(path, system, why, sizeof(why)); /* trusted brokers only */
	if (fd < 0) {
		*ret_reason = strdup(why);
		return NULL;
	}
	ended = dispatch_semaphore_create(0);
	b = connection_create_from_socket(fd, NULL);
	msg = lookup_request(name ? name : "");
	if (!ended || !b || !msg) {
		*ret_reason = strdup(conn_strerror(CONN_E_NO_MEMORY));
		goto out;
	}
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) {
		const char *text = NULL;
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
			text = xpc_dictionary_get_string(ev, XPCD_KEY_REFUSAL);
		if (text && !refused)
			refused = strdup(text);
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			dispatch_semaphore_signal(ended);
	});
	xpc_connection_activate(b);
	reply = xpc_connection_send_message_with_reply_sync(b, msg);
	xpc_connection_cancel(b);
	dispatch_semaphore_wait(ended, DISPATCH_TIME_FOREVER);
	ep = lookup_answer(reply, refused, ret_reason, ret_by_name);
	xpc_release(reply);
out:
	free(refused);
	xpc_release(msg);
	xpc_release(b);
	if (ended)
		dispatch_release(ended);
	return ep;
}
