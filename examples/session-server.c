/* SPDX-License-Identifier: MIT */
/*
 * session-server - a service written with the macOS 14 listener API
 * (<xpc/listener.h>), exactly as on macOS.
 *
 * Started by xpcd for the name "org.example.session" (a job whose
 * MachServices holds it; examples/session-demo.sh writes one).  Every
 * client session gets an incoming-message handler:
 *   { "op": "greet", "name": S } -> { "greeting": "hello, S", "count": N }
 *   { "op": "who" }              -> { "pid": P, "uid": U } of the client,
 *                                   from its audit token (<xpc/private.h>)
 * N counts the requests of that session: sessions are stateful, and the
 * state lives exactly as long as the peer session.
 */
#include <bsm/libbsm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/private.h>
#include <xpc/xpc.h>

#define SERVICE "org.example.session"

static void handle(xpc_session_t peer, xpc_object_t msg, int64_t *count)
{
	const char *op = xpc_dictionary_get_string(msg, "op");
	xpc_object_t reply = xpc_dictionary_create_reply(msg);

	if (!reply)
		return;
	if (op && strcmp(op, "greet") == 0) {
		char text[256];
		const char *name = xpc_dictionary_get_string(msg, "name");
		snprintf(text, sizeof(text), "hello, %s", name ? name : "stranger");
		xpc_dictionary_set_string(reply, "greeting", text);
		xpc_dictionary_set_int64(reply, "count", ++*count);
	} else if (op && strcmp(op, "who") == 0) {
		audit_token_t token;
		xpc_dictionary_get_audit_token(msg, &token);
		xpc_dictionary_set_int64(reply, "pid", audit_token_to_pid(token));
		xpc_dictionary_set_int64(reply, "uid", audit_token_to_euid(token));
	} else {
		xpc_dictionary_set_string(reply, "error", "unknown op");
	}
	xpc_rich_error_t err = xpc_session_send_message(peer, reply);
	if (err) {
		char *d = xpc_rich_error_copy_description(err);
		fprintf(stderr, "[session-server] reply not sent: %s\n", d ? d : "?");
		free(d);
		xpc_release(err);
	}
	xpc_release(reply);
}

int main(void)
{
	xpc_rich_error_t error = NULL;
	xpc_listener_t listener = xpc_listener_create(SERVICE, NULL, XPC_LISTENER_CREATE_NONE, ^(xpc_session_t peer) {
		__block int64_t count = 0; /* per session */
		char *d = xpc_session_copy_description(peer);
		printf("[session-server] pid %d: new session %s\n", getpid(), d ? d : "?");
		fflush(stdout);
		free(d);
		xpc_session_set_incoming_message_handler(peer, ^(xpc_object_t msg) {
			handle(peer, msg, &count);
		});
		xpc_session_set_cancel_handler(peer, ^(xpc_rich_error_t why) {
			char *text = xpc_rich_error_copy_description(why);
			printf("[session-server] session ended after %lld requests: %s\n", (long long)count,
			       text ? text : "?");
			fflush(stdout);
			free(text);
		});
	}, &error);

	if (!listener) {
		char *d = xpc_rich_error_copy_description(error);
		fprintf(stderr, "[session-server] cannot listen: %s\n", d ? d : "?");
		free(d);
		xpc_release(error);
		return 71;
	}
	dispatch_main();
}
