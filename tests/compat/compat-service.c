/* SPDX-License-Identifier: MIT */
/*
 * compat-service - the job tests/compat/test-compat.c has xpcd launch.
 *
 *   compat-service NAME RECORD-FILE
 *
 * Listens on NAME.  Every message with a string "token" appends one line
 * "TOKEN\n" to RECORD-FILE (one write(2) with O_APPEND, so lines from
 * several peers do not mix); a request gets the reply { "ok": true }.
 * { "op": "poke" } also makes it send the peer an unsolicited message
 * { "poke": true } before the reply (for the misuse test's handler);
 * { "op": "exit" } makes it exit without answering.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

static int record_fd = -1;

static void record(const char *token)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", token);

	if (n > 0 && (size_t)n < sizeof(line) && write(record_fd, line, (size_t)n) < 0)
		perror("compat-service: write");
}

static void serve(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
		if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
			return;
		const char *token = xpc_dictionary_get_string(msg, "token");
		const char *op = xpc_dictionary_get_string(msg, "op");
		if (token)
			record(token);
		if (op && !strcmp(op, "exit"))
			exit(0); /* unanswered: the client gets INTERRUPTED */
		if (op && !strcmp(op, "poke")) {
			xpc_object_t poke = xpc_dictionary_create_empty();
			xpc_dictionary_set_bool(poke, "poke", true);
			xpc_connection_send_message(peer, poke);
			xpc_release(poke);
		}
		xpc_object_t reply = xpc_dictionary_create_reply(msg);
		if (!reply)
			return;
		xpc_dictionary_set_bool(reply, "ok", true);
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	});
	xpc_connection_resume(peer);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: compat-service NAME RECORD-FILE\n");
		return 2;
	}
	record_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (record_fd < 0) {
		perror(argv[2]);
		return 1;
	}
	xpc_connection_t l = xpc_connection_create_mach_service(argv[1], NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve(ev);
	});
	xpc_connection_resume(l);
	dispatch_main();
}
