/* SPDX-License-Identifier: MIT */
/*
 * bench-worker - the XPC service bundled with bench-app (a benchmark
 * application that runs its untrusted plug-in work out of process, as
 * macOS applications do with Contents/XPCServices; docs/bundled-services.md).
 *
 * Started by libxpc as bench-app's private instance when bench-app first
 * connects to "org.example.bench.worker"; xpc_main() serves the one
 * channel it was given and the process ends with the application.
 * Requests: { "op": "ping" } -> { "pid", "service" ($XPC_SERVICE_NAME),
 * "mode" ($BENCH_WORKER_MODE, from the Info.plist) };
 * { "op": "sum", "data": DATA } -> { "sum": the bytes added up };
 * { "op": "crash" } -> the plug-in crashes (abort), for the demo of
 * XPC_ERROR_CONNECTION_INTERRUPTED.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

static void answer(xpc_connection_t peer, xpc_object_t msg)
{
	const char *op = xpc_dictionary_get_string(msg, "op");
	xpc_object_t reply = xpc_dictionary_create_reply(msg);
	size_t len = 0;
	const unsigned char *data;
	uint64_t sum = 0;

	if (!reply)
		return;
	if (op && !strcmp(op, "crash"))
		abort();
	if (op && !strcmp(op, "sum")) {
		data = xpc_dictionary_get_data(msg, "data", &len);
		for (size_t i = 0; data && i < len; i++)
			sum += data[i];
		xpc_dictionary_set_uint64(reply, "sum", sum);
	}
	xpc_dictionary_set_int64(reply, "pid", getpid());
	xpc_dictionary_set_string(reply, "service", getenv("XPC_SERVICE_NAME") ? getenv("XPC_SERVICE_NAME") : "");
	/* from the bundle's Info.plist (XPCService.EnvironmentVariables) */
	xpc_dictionary_set_string(reply, "mode", getenv("BENCH_WORKER_MODE") ? getenv("BENCH_WORKER_MODE") : "");
	xpc_connection_send_message(peer, reply);
	xpc_release(reply);
}

static void on_peer(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
		if (xpc_get_type(msg) == XPC_TYPE_DICTIONARY)
			answer(peer, msg);
	});
	xpc_connection_resume(peer);
}

int main(void)
{
	xpc_main(on_peer);
}
