/*
 * peer-b - process B of the seed scenario.
 *
 * Asks the rendezvous service for A's endpoint, connects to A with
 * xpc_connection_create_from_endpoint, and talks to A directly: one request
 * every half second for ROUNDS rounds (argv[1], default 10).  Exits 0 when
 * every request got A's reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xpc/xpc.h>

static xpc_connection_t connect_to_a(void)
{
	xpc_connection_t service = xpc_connection_create_mach_service("org.example.rendezvous", NULL, 0);
	xpc_connection_t a = NULL;

	xpc_connection_set_event_handler(service, ^(xpc_object_t event) { (void)event; });
	xpc_connection_resume(service);
	for (int tries = 0; tries < 100 && !a; tries++) {
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(msg, "op", "fetch");
		xpc_dictionary_set_string(msg, "name", "A");
		xpc_object_t reply = xpc_connection_send_message_with_reply_sync(service, msg);
		a = xpc_dictionary_create_connection(reply, "endpoint");
		xpc_release(reply);
		xpc_release(msg);
		if (!a)
			usleep(100 * 1000);
	}
	xpc_connection_cancel(service);
	xpc_release(service);
	return a;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10, answered = 0;
	xpc_connection_t a = connect_to_a();

	if (!a) {
		fprintf(stderr, "[B] could not get A's endpoint from the rendezvous service\n");
		return 1;
	}
	printf("[B] pid %d: got A's endpoint from the service; talking to A directly\n", getpid());
	fflush(stdout);
	xpc_connection_set_event_handler(a, ^(xpc_object_t event) {
		if (event == XPC_ERROR_CONNECTION_INVALID)
			printf("[B] link to A invalid\n");
	});
	xpc_connection_resume(a);
	for (int i = 1; i <= rounds; i++) {
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(msg, "text", "hello from B");
		xpc_dictionary_set_int64(msg, "round", i);
		xpc_object_t reply = xpc_connection_send_message_with_reply_sync(a, msg);
		if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(reply, "round") == i) {
			answered++;
			printf("[B] round %d: A (pid %d) answered \"%s\"\n", i, xpc_connection_get_pid(a),
			       xpc_dictionary_get_string(reply, "text"));
		} else {
			printf("[B] round %d: no answer\n", i);
		}
		fflush(stdout);
		xpc_release(reply);
		xpc_release(msg);
		usleep(500 * 1000);
	}
	printf("[B] %d of %d rounds answered\n", answered, rounds);
	xpc_connection_cancel(a);
	xpc_release(a);
	return answered == rounds ? 0 : 1;
}
