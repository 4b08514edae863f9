/* SPDX-License-Identifier: MIT */
/*
 * plain-c.c - libxpc from plain C, no blocks: built by test-install.sh with
 * `gcc $(pkg-config --cflags --libs libxpc)` against the installed package
 * (docs/packaging.md, "pkg-config").  An anonymous listener answers a
 * request through the _f (function pointer) twins of the block APIs; the
 * client asks synchronously and checks the answer.  Prints "plain-c: ok".
 */
#include <stdio.h>
#include <string.h>
#include <xpc/xpc.h>

static void on_message(void *context, xpc_object_t msg)
{
	xpc_connection_t peer = context;
	xpc_object_t reply;

	if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
		return;
	reply = xpc_dictionary_create_reply(msg);
	xpc_dictionary_set_int64(reply, "sum",
				 xpc_dictionary_get_int64(msg, "a") +
					 xpc_dictionary_get_int64(msg, "b"));
	xpc_connection_send_message(peer, reply);
	xpc_release(reply);
}

static void on_peer(void *context, xpc_object_t peer)
{
	(void)context;
	if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
		return;
	xpc_connection_set_context(peer, peer);
	xpc_connection_set_event_handler_f(peer, on_message);
	xpc_connection_resume(peer);
}

static void on_event(void *context, xpc_object_t event)
{
	(void)context;
	(void)event;
}

int main(void)
{
	xpc_connection_t listener = xpc_connection_create(NULL, NULL);
	xpc_endpoint_t ep;
	xpc_connection_t client;
	xpc_object_t req, reply;
	int ok;

	xpc_connection_set_event_handler_f(listener, on_peer);
	xpc_connection_resume(listener);
	ep = xpc_endpoint_create(listener);
	client = xpc_connection_create_from_endpoint(ep);
	xpc_connection_set_event_handler_f(client, on_event);
	xpc_connection_resume(client);

	req = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_int64(req, "a", 40);
	xpc_dictionary_set_int64(req, "b", 2);
	reply = xpc_connection_send_message_with_reply_sync(client, req);
	ok = xpc_get_type(reply) == XPC_TYPE_DICTIONARY &&
	     xpc_dictionary_get_int64(reply, "sum") == 42;
	printf("plain-c: %s\n", ok ? "ok" : "FAILED");

	xpc_release(reply);
	xpc_release(req);
	xpc_connection_cancel(client);
	xpc_release(client);
	xpc_release(ep);
	xpc_connection_cancel(listener);
	xpc_release(listener);
	return ok ? 0 : 1;
}
