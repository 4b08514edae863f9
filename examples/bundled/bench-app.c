/* SPDX-License-Identifier: MIT */
/*
 * bench-app - an application with a bundled XPC service, laid out as on
 * macOS (docs/bundled-services.md):
 *
 *   Bench.app/Contents/MacOS/bench-app
 *   Bench.app/Contents/XPCServices/org.example.bench.worker.xpc/
 *       Contents/Info.plist            CFBundleIdentifier, CFBundleExecutable, XPCService
 *       Contents/MacOS/bench-worker
 *
 * or installed as PREFIX/bin/bench-app with the bundle under
 * PREFIX/lib/bench-app/XPCServices/.  No launchd plist, no broker: the
 * first message starts the worker as this application's private instance.
 *
 *   bench-app [ROUNDS]     round trips to the worker, then one checksum
 *   bench-app crash        the worker crashes; the next request relaunches it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xpc/xpc.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static xpc_object_t request(xpc_connection_t c, const char *op)
{
	xpc_object_t msg = xpc_dictionary_create_empty();
	xpc_object_t reply;

	xpc_dictionary_set_string(msg, "op", op);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	xpc_release(msg);
	return reply;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 1000;
	bool crash = argc > 1 && !strcmp(argv[1], "crash");
	xpc_connection_t c = xpc_connection_create("org.example.bench.worker", NULL);
	xpc_object_t reply;
	double t0;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INTERRUPTED)
			printf("worker interrupted\n");
	});
	xpc_connection_resume(c);
	reply = request(c, "ping");
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "bench-app: no worker: %s\n", why ? why : "?");
		return 1;
	}
	printf("worker %s, pid %lld\n", xpc_dictionary_get_string(reply, "service"),
	       (long long)xpc_dictionary_get_int64(reply, "pid"));
	xpc_release(reply);
	if (crash) {
		reply = request(c, "crash");
		printf("crash: %s\n", reply == XPC_ERROR_CONNECTION_INTERRUPTED ? "interrupted" : "?");
		xpc_release(reply);
		reply = request(c, "ping");
		printf("relaunched, pid %lld\n", (long long)xpc_dictionary_get_int64(reply, "pid"));
		xpc_release(reply);
		rounds = 0;
	}
	t0 = now();
	for (int i = 0; i < rounds; i++)
		xpc_release(request(c, "ping"));
	if (rounds > 0)
		printf("%d round trips: %.1f us each\n", rounds, (now() - t0) / rounds * 1e6);
	unsigned char data[4096];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)i;
	xpc_object_t msg = xpc_dictionary_create_empty();
	xpc_dictionary_set_string(msg, "op", "sum");
	xpc_dictionary_set_data(msg, "data", data, sizeof(data));
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	printf("checksum %llu\n", (unsigned long long)xpc_dictionary_get_uint64(reply, "sum"));
	xpc_release(reply);
	xpc_release(msg);
	xpc_connection_cancel(c);
	xpc_release(c);
	return 0;
}
