/*
 * rendezvous - the service of the seed scenario (a launchd-style job).
 *
 * Vended by xpcd under the name "org.example.rendezvous".  Peers publish an
 * endpoint under a name and others fetch it:
 *   { "op": "publish", "name": S, "endpoint": E }  -> { "ok": true }
 *   { "op": "fetch", "name": S }                   -> { "endpoint": E } or { "error": "not published" }
 * Written exactly as it would be for macOS: xpc_main() hands it each client.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

static xpc_object_t published; /* name -> endpoint, touched on one queue */
static dispatch_queue_t state_queue;

static void handle(xpc_connection_t peer, xpc_object_t msg)
{
	const char *op = xpc_dictionary_get_string(msg, "op");
	const char *name = xpc_dictionary_get_string(msg, "name");
	xpc_object_t reply = xpc_dictionary_create_reply(msg);

	if (!reply || !op || !name)
		goto out;
	dispatch_sync(state_queue, ^{
		if (strcmp(op, "publish") == 0) {
			xpc_object_t ep = xpc_dictionary_get_value(msg, "endpoint");
			if (ep && xpc_get_type(ep) == XPC_TYPE_ENDPOINT) {
				xpc_dictionary_set_value(published, name, ep);
				xpc_dictionary_set_bool(reply, "ok", true);
				printf("[rendezvous] pid %d: \"%s\" published its endpoint\n", getpid(), name);
			}
		} else if (strcmp(op, "fetch") == 0) {
			xpc_object_t ep = xpc_dictionary_get_value(published, name);
			if (ep) {
				xpc_dictionary_set_value(reply, "endpoint", ep);
				printf("[rendezvous] pid %d: handed \"%s\"'s endpoint to pid %d\n", getpid(), name,
				       xpc_connection_get_pid(peer));
			} else {
				xpc_dictionary_set_string(reply, "error", "not published");
			}
		}
		fflush(stdout);
	});
	xpc_connection_send_message(peer, reply);
out:
	if (reply)
		xpc_release(reply);
}

static void new_client(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t event) {
		if (xpc_get_type(event) == XPC_TYPE_DICTIONARY)
			handle(peer, event);
	});
	xpc_connection_resume(peer);
}

int main(void)
{
	published = xpc_dictionary_create(NULL, NULL, 0);
	state_queue = dispatch_queue_create("rendezvous.state", DISPATCH_QUEUE_SERIAL);
	printf("[rendezvous] pid %d: started on demand by xpcd\n", getpid());
	fflush(stdout);
	xpc_main(new_client);
}
