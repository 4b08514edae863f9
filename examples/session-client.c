/* SPDX-License-Identifier: MIT */
/*
 * session-client - a client written with the macOS 13/14 session API
 * (<xpc/session.h>), exactly as on macOS.
 *
 *   session-client NAME [ROUNDS]
 *
 * Opens a session to "org.example.session" (xpcd starts session-server on
 * demand), greets it ROUNDS times synchronously, once asynchronously, asks
 * who it is, and cancels.  A name xpcd does not know fails at creation:
 * run it with another XPCD_SOCKET, or with the job unloaded, to see the
 * rich error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

#define SERVICE "org.example.session"

static void print_error(const char *what, xpc_rich_error_t error)
{
	char *d = error ? xpc_rich_error_copy_description(error) : NULL;

	fprintf(stderr, "[session-client] %s: %s (can retry: %s)\n", what, d ? d : "?",
		error && xpc_rich_error_can_retry(error) ? "yes" : "no");
	free(d);
}

static xpc_object_t greeting(const char *name)
{
	xpc_object_t msg = xpc_dictionary_create_empty();

	xpc_dictionary_set_string(msg, "op", "greet");
	xpc_dictionary_set_string(msg, "name", name);
	return msg;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "world";
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	xpc_rich_error_t error = NULL;
	xpc_session_t session;
	xpc_object_t msg, reply;

	session = xpc_session_create_mach_service(SERVICE, NULL, XPC_SESSION_CREATE_INACTIVE, &error);
	if (!session) {
		print_error("cannot create the session", error);
		xpc_release(error);
		return 1;
	}
	xpc_session_set_incoming_message_handler(session, ^(xpc_object_t message) {
		(void)message; /* this service never speaks first */
	});
	xpc_session_set_cancel_handler(session, ^(xpc_rich_error_t why) {
		char *d = xpc_rich_error_copy_description(why);
		printf("[session-client] session cancelled: %s\n", d ? d : "?");
		free(d);
		dispatch_semaphore_signal(done);
	});
	if (!xpc_session_activate(session, &error)) {
		print_error("cannot activate the session", error);
		xpc_release(error);
		dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
		xpc_release(session);
		return 1;
	}

	for (int i = 0; i < rounds; i++) {
		msg = greeting(name);
		reply = xpc_session_send_message_with_reply_sync(session, msg, &error);
		xpc_release(msg);
		if (!reply) {
			print_error("no reply", error);
			xpc_release(error);
			break;
		}
		printf("[session-client] %s (request %lld of this session)\n",
		       xpc_dictionary_get_string(reply, "greeting"), (long long)xpc_dictionary_get_int64(reply, "count"));
		xpc_release(reply);
	}

	msg = xpc_dictionary_create_empty();
	xpc_dictionary_set_string(msg, "op", "who");
	xpc_session_send_message_with_reply_async(session, msg, ^(xpc_object_t r, xpc_rich_error_t e) {
		if (r)
			printf("[session-client] the service sees me as pid %lld (mine: %d), uid %lld\n",
			       (long long)xpc_dictionary_get_int64(r, "pid"), getpid(),
			       (long long)xpc_dictionary_get_int64(r, "uid"));
		else
			print_error("no reply", e);
		xpc_session_cancel(session);
	});
	xpc_release(msg);
	dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
	xpc_release(session);
	dispatch_release(done);
	return 0;
}
