/* SPDX-License-Identifier: MIT */
/*
 * echo-service - the job the broker tests launch.
 *
 * Listens on the name given as argv[1] (XPC_CONNECTION_MACH_SERVICE_LISTENER)
 * and answers { "op": "echo", ... } with { "pid": its pid, "value": ... }.
 * "crash" aborts without answering; "exit" exits 0.  "env" also answers
 * "env" (its XPC_TEST_VAR) and "cwd"; "ignore-term" ignores SIGTERM from
 * then on; "print" writes the string "text" to stdout and to stderr (to test
 * EnvironmentVariables, WorkingDirectory, ExitTimeOut, Standard*Path).
 * With argv[2] = "squat"
 * it is a squatter: started by hand, it reports on stdout whether its
 * listener got XPC_ERROR_CONNECTION_INVALID ("invalid") or a peer ("peer").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

static void serve(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
		if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
			return;
		const char *op = xpc_dictionary_get_string(msg, "op");
		if (op && !strcmp(op, "crash"))
			abort();
		if (op && !strcmp(op, "exit"))
			exit(0);
		xpc_object_t reply = xpc_dictionary_create_reply(msg);
		if (!reply)
			return;
		if (op && !strcmp(op, "env")) {
			char cwd[512];
			const char *var = getenv("XPC_TEST_VAR");
			xpc_dictionary_set_string(reply, "env", var ? var : "");
			xpc_dictionary_set_string(reply, "cwd", getcwd(cwd, sizeof(cwd)) ? cwd : "");
		}
		if (op && !strcmp(op, "ignore-term"))
			signal(SIGTERM, SIG_IGN);
		if (op && !strcmp(op, "print")) {
			const char *text = xpc_dictionary_get_string(msg, "text");
			printf("%s\n", text ? text : "");
			fflush(stdout);
			fprintf(stderr, "%s\n", text ? text : "");
		}
		xpc_dictionary_set_int64(reply, "pid", getpid());
		xpc_object_t v = xpc_dictionary_get_value(msg, "value");
		if (v)
			xpc_dictionary_set_value(reply, "value", v);
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	});
	xpc_connection_resume(peer);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "org.xpc.test.echo";
	bool squat = argc > 2 && !strcmp(argv[2], "squat");
	xpc_connection_t l = xpc_connection_create_mach_service(name, NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION) {
			if (squat) {
				printf("peer\n");
				fflush(stdout);
				exit(0);
			}
			serve(ev);
		} else if (ev == XPC_ERROR_CONNECTION_INVALID && squat) {
			char *why = xpc_connection_copy_invalidation_reason(l);
			printf("invalid: %s\n", why ? why : "");
			fflush(stdout);
			exit(0);
		}
	});
	xpc_connection_resume(l);
	dispatch_main();
}
