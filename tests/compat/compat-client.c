/* SPDX-License-Identifier: MIT */
/*
 * compat-client - the client programs of tests/compat/test-compat.c, each
 * written as the published programs of the compatibility issue are: plain
 * public API, no test harness, one process per run.
 *
 *   compat-client main-sync NAME N      a connection on the main queue, N
 *                                       sync requests from main(), never
 *                                       running dispatch_main(), then the
 *                                       service exits, then N more (a new
 *                                       check-in); prints "ok"
 *   compat-client send-return NAME TOKEN N   N one-way messages "TOKEN-i",
 *                                       then return from main()
 *   compat-client send-exit NAME TOKEN  one message, then exit(0) called on
 *                                       a worker thread while main() sits
 *                                       in dispatch_main()
 *   compat-client barrier NAME TOKEN main|null   one message, then a barrier
 *                                       whose block calls _exit(0) (no atexit
 *                                       flush): the barrier alone suffices
 *   compat-client barrier-fd FD TOKEN   the same (handler queue NULL) over
 *                                       the endpoint of the listener channel
 *                                       W inherited as FD (private API: no
 *                                       broker involved)
 *   compat-client misuse NAME           a sync request from the connection's
 *                                       own event handler: must crash with a
 *                                       message, not hang
 */
#include <dispatch/dispatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "private/xpc-private.h"

static xpc_connection_t connect_to(const char *name, dispatch_queue_t q)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, q, 0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	return c;
}

static xpc_object_t token_message(const char *token, int i)
{
	char buf[128];
	xpc_object_t m = xpc_dictionary_create_empty();

	if (i >= 0)
		snprintf(buf, sizeof(buf), "%s-%d", token, i);
	else
		snprintf(buf, sizeof(buf), "%s", token);
	xpc_dictionary_set_string(m, "token", buf);
	return m;
}

static int main_sync(const char *name, int n)
{
	xpc_connection_t c = connect_to(name, dispatch_get_main_queue());

	for (int i = 0; i < 2 * n; i++) {
		if (i == n) {
			/* the service exits: INTERRUPTED, and the next call
			 * checks in again (xpcd relaunches it), still from main() */
			xpc_object_t m = xpc_dictionary_create_empty();
			xpc_dictionary_set_string(m, "op", "exit");
			xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
			xpc_release(m);
			if (r != XPC_ERROR_CONNECTION_INTERRUPTED) {
				fprintf(stderr, "compat-client: exit answered %p\n", r);
				return 1;
			}
		}
		xpc_object_t m = token_message("sync", i);
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
		xpc_release(m);
		if (xpc_get_type(r) != XPC_TYPE_DICTIONARY || !xpc_dictionary_get_bool(r, "ok")) {
			char *d = xpc_copy_description(r);
			fprintf(stderr, "compat-client: reply %d: %s\n", i, d);
			free(d);
			return 1;
		}
		xpc_release(r);
	}
	printf("ok\n");
	return 0;
}

static int send_return(const char *name, const char *token, int n)
{
	xpc_connection_t c = connect_to(name, NULL);

	for (int i = 0; i < n; i++) {
		xpc_object_t m = token_message(token, n > 1 ? i : -1);
		xpc_connection_send_message(c, m);
		xpc_release(m);
	}
	return 0; /* no barrier, no release: as the published client */
}

static int send_exit(const char *name, const char *token)
{
	xpc_connection_t c = connect_to(name, NULL);
	xpc_object_t m = token_message(token, -1);

	xpc_connection_send_message(c, m);
	xpc_release(m);
	dispatch_async(dispatch_get_global_queue(0, 0), ^{
		exit(0);
	});
	dispatch_main();
}

static int barrier(const char *name, const char *token, bool main_queue)
{
	xpc_connection_t c = connect_to(name, main_queue ? dispatch_get_main_queue() : NULL);
	xpc_object_t m = token_message(token, -1);

	xpc_connection_send_message(c, m);
	xpc_release(m);
	xpc_connection_send_barrier(c, ^{
		_exit(0);
	});
	dispatch_main();
}

static int barrier_fd(int w, const char *token)
{
	xpc_endpoint_t ep = _xpc_linux_endpoint_create_from_send_fd(w);
	xpc_connection_t c = ep ? xpc_connection_create_from_endpoint(ep) : NULL;

	if (!c) {
		fprintf(stderr, "compat-client: no endpoint for descriptor %d\n", w);
		return 1;
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	xpc_object_t m = token_message(token, -1);
	xpc_connection_send_message(c, m);
	xpc_release(m);
	xpc_connection_send_barrier(c, ^{
		_exit(0);
	});
	dispatch_main();
}

static int misuse(const char *name)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_DICTIONARY || !xpc_dictionary_get_bool(ev, "poke"))
			return;
		xpc_object_t m = token_message("misuse", -1);
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
		printf("returned\n"); /* must not get here */
		xpc_release(r);
		xpc_release(m);
		exit(3);
	});
	xpc_connection_resume(c);
	xpc_object_t m = xpc_dictionary_create_empty();
	xpc_dictionary_set_string(m, "op", "poke");
	xpc_connection_send_message(c, m);
	xpc_release(m);
	dispatch_main();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[1] : "";

	if (!strcmp(mode, "main-sync") && argc == 4)
		return main_sync(argv[2], atoi(argv[3]));
	if (!strcmp(mode, "send-return") && argc == 5)
		return send_return(argv[2], argv[3], atoi(argv[4]));
	if (!strcmp(mode, "send-exit") && argc == 4)
		return send_exit(argv[2], argv[3]);
	if (!strcmp(mode, "barrier") && argc == 5)
		return barrier(argv[2], argv[3], !strcmp(argv[4], "main"));
	if (!strcmp(mode, "barrier-fd") && argc == 4)
		return barrier_fd(atoi(argv[2]), argv[3]);
	if (!strcmp(mode, "misuse") && argc == 3)
		return misuse(argv[2]);
	fprintf(stderr, "usage: see the header of compat-client.c\n");
	return 2;
}
