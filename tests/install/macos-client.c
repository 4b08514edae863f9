/* SPDX-License-Identifier: MIT */
/*
 * macos-client.c - a connection program as one writes it on macOS: only
 * <xpc/xpc.h>, blocks, GCD.  An anonymous listener answers "add" requests;
 * a client connects through the listener's endpoint, sends a request with
 * an async reply, then a sync one, cancels, and the program exits from a
 * block on the main queue under dispatch_main().  Built by test-install.sh
 * against the installed package only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xpc/xpc.h>

static void serve(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t event) {
		if (xpc_get_type(event) != XPC_TYPE_DICTIONARY)
			return;
		xpc_object_t reply = xpc_dictionary_create_reply(event);
		xpc_dictionary_set_int64(reply, "sum",
		    xpc_dictionary_get_int64(event, "a") + xpc_dictionary_get_int64(event, "b"));
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	});
	xpc_connection_resume(peer);
}

static void fail(const char *what)
{
	fprintf(stderr, "macos-client: %s\n", what);
	exit(1);
}

int main(void)
{
	dispatch_queue_t q = dispatch_queue_create("com.example.listener", NULL);
	xpc_connection_t listener = xpc_connection_create(NULL, q);

	xpc_connection_set_event_handler(listener, ^(xpc_object_t event) {
		if (xpc_get_type(event) == XPC_TYPE_CONNECTION)
			serve((xpc_connection_t)event);
	});
	xpc_connection_resume(listener);

	xpc_endpoint_t endpoint = xpc_endpoint_create(listener);
	xpc_connection_t client = xpc_connection_create_from_endpoint(endpoint);
	xpc_release(endpoint);
	xpc_connection_set_event_handler(client, ^(xpc_object_t event) {
		if (event != XPC_ERROR_CONNECTION_INVALID)
			fail("unexpected event on the client");
	});
	xpc_connection_resume(client);

	xpc_object_t message = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_int64(message, "a", 2);
	xpc_dictionary_set_int64(message, "b", 3);
	xpc_connection_send_message_with_reply(client, message, dispatch_get_main_queue(), ^(xpc_object_t reply) {
		if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY || xpc_dictionary_get_int64(reply, "sum") != 5)
			fail("bad async reply");
		dispatch_async(dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0), ^{
			xpc_object_t again = xpc_dictionary_create(NULL, NULL, 0);
			xpc_dictionary_set_int64(again, "a", 40);
			xpc_dictionary_set_int64(again, "b", 2);
			xpc_object_t sync = xpc_connection_send_message_with_reply_sync(client, again);
			if (xpc_dictionary_get_int64(sync, "sum") != 42)
				fail("bad sync reply");
			xpc_release(sync);
			xpc_release(again);
			xpc_connection_cancel(client);
			xpc_connection_cancel(listener);
			dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_MSEC), dispatch_get_main_queue(), ^{
				printf("macos-client: ok\n");
				exit(0);
			});
		});
	});
	xpc_release(message);
	dispatch_main();
}
