/*
 * peer-a - process A of the seed scenario.
 *
 * Makes an anonymous listener, publishes its endpoint through the
 * rendezvous service, and answers whoever connects.  The macOS recipe:
 * xpc_connection_create(NULL, q), xpc_endpoint_create(listener), send the
 * endpoint inside a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xpc/xpc.h>

static void serve_peer(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
		if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY) {
			if (msg == XPC_ERROR_CONNECTION_INVALID) {
				printf("[A] B hung up; exiting\n");
				fflush(stdout);
				exit(0);
			}
			return;
		}
		int64_t round = xpc_dictionary_get_int64(msg, "round");
		printf("[A] pid %d: message %lld from pid %d: \"%s\"\n", getpid(), (long long)round,
		       xpc_connection_get_pid(peer), xpc_dictionary_get_string(msg, "text"));
		fflush(stdout);
		xpc_object_t reply = xpc_dictionary_create_reply(msg);
		xpc_dictionary_set_string(reply, "text", "hello from A");
		xpc_dictionary_set_int64(reply, "round", round);
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	});
	xpc_connection_resume(peer);
}

int main(void)
{
	dispatch_queue_t q = dispatch_queue_create("peer-a", DISPATCH_QUEUE_SERIAL);
	xpc_connection_t listener = xpc_connection_create(NULL, q);

	xpc_connection_set_event_handler(listener, ^(xpc_object_t event) {
		if (xpc_get_type(event) == XPC_TYPE_CONNECTION) {
			printf("[A] a peer connected directly: pid %d\n", xpc_connection_get_pid(event));
			fflush(stdout);
			serve_peer(event);
		}
	});
	xpc_connection_resume(listener);

	xpc_connection_t service = xpc_connection_create_mach_service("org.example.rendezvous", q, 0);
	xpc_connection_set_event_handler(service, ^(xpc_object_t event) { (void)event; });
	xpc_connection_resume(service);

	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_endpoint_t ep = xpc_endpoint_create(listener);
	xpc_dictionary_set_string(msg, "op", "publish");
	xpc_dictionary_set_string(msg, "name", "A");
	xpc_dictionary_set_value(msg, "endpoint", ep);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(service, msg);
	if (!xpc_dictionary_get_bool(reply, "ok")) {
		char *why = xpc_connection_copy_invalidation_reason(service);
		fprintf(stderr, "[A] could not publish: %s\n", why ? why : "refused");
		return 1;
	}
	printf("[A] pid %d: listening; endpoint published through org.example.rendezvous\n", getpid());
	fflush(stdout);
	xpc_release(reply);
	xpc_release(msg);
	xpc_release(ep);
	/* The service is not needed any more: A's listener is all B needs. */
	xpc_connection_cancel(service);
	xpc_release(service);
	dispatch_main();
}
