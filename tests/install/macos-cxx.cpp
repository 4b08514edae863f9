/* SPDX-License-Identifier: MIT */
/*
 * macos-cxx.cpp - the XPC and dispatch headers used from C++ (clang++
 * -fblocks), as an Objective-C++-free macOS C++ program uses them: queue
 * types convert to dispatch_object_t, blocks capture C++ locals, and the
 * extern "C" guards give C linkage.  An anonymous listener answers a
 * request through its endpoint, a timer source fires on a concurrent queue.
 * Built and run by test-install.sh.
 */
#include <xpc/xpc.h>
#include <dispatch/dispatch.h>

#include <cstdio>
#include <string>

/* A round trip through an anonymous listener, with C++ strings in blocks. */
static std::string round_trip(const std::string &text)
{
	xpc_connection_t listener = xpc_connection_create(nullptr, nullptr);
	xpc_connection_set_event_handler(listener, ^(xpc_object_t event) {
		if (xpc_get_type(event) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t peer = static_cast<xpc_connection_t>(event);
		xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
			if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
				return;
			std::string echoed = std::string(xpc_dictionary_get_string(msg, "text")) + " back";
			xpc_object_t reply = xpc_dictionary_create_reply(msg);
			xpc_dictionary_set_string(reply, "text", echoed.c_str());
			xpc_connection_send_message(peer, reply);
			xpc_release(reply);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(listener);
	xpc_endpoint_t endpoint = xpc_endpoint_create(listener);
	xpc_connection_t client = xpc_connection_create_from_endpoint(endpoint);
	xpc_connection_set_event_handler(client, ^(xpc_object_t) {
	});
	xpc_connection_resume(client);
	xpc_object_t msg = xpc_dictionary_create(nullptr, nullptr, 0);
	xpc_dictionary_set_string(msg, "text", text.c_str());
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(client, msg);
	std::string result = xpc_get_type(reply) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_string(reply, "text")
									: "error";
	xpc_release(reply);
	xpc_release(msg);
	xpc_connection_cancel(client);
	xpc_connection_cancel(listener);
	xpc_release(client);
	xpc_release(endpoint);
	xpc_release(listener);
	return result;
}

static bool timer_fires()
{
	dispatch_queue_t queue = dispatch_queue_create("com.example.cxx.timer", DISPATCH_QUEUE_CONCURRENT);
	dispatch_source_t timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, queue);
	dispatch_semaphore_t fired = dispatch_semaphore_create(0);

	dispatch_source_set_timer(timer, dispatch_time(DISPATCH_TIME_NOW, NSEC_PER_MSEC), DISPATCH_TIME_FOREVER, 0);
	dispatch_source_set_event_handler(timer, ^{
		dispatch_semaphore_signal(fired);
	});
	dispatch_resume(timer);
	bool ok = dispatch_semaphore_wait(fired, dispatch_time(DISPATCH_TIME_NOW, 5 * NSEC_PER_SEC)) == 0;
	dispatch_source_cancel(timer);
	dispatch_release(timer);
	dispatch_release(fired);
	dispatch_release(queue);
	return ok;
}

int main()
{
	dispatch_queue_t queue = dispatch_queue_create("com.example.cxx", DISPATCH_QUEUE_SERIAL);
	dispatch_group_t group = dispatch_group_create();
	xpc_object_t list = xpc_array_create(nullptr, 0);
	std::string joined;
	__block std::string *out = &joined;

	xpc_array_set_string(list, XPC_ARRAY_APPEND, "a");
	xpc_array_set_string(list, XPC_ARRAY_APPEND, "b");
	dispatch_group_async(group, queue, ^{
		xpc_array_apply(list, ^bool(size_t, xpc_object_t value) {
			*out += xpc_string_get_string_ptr(value);
			return true;
		});
	});
	dispatch_group_wait(group, DISPATCH_TIME_FOREVER);
	dispatch_sync(queue, ^{
		out->append("!");
	});
	xpc_object_t msg = xpc_dictionary_create(nullptr, nullptr, 0);
	xpc_dictionary_set_string(msg, "joined", joined.c_str());
	bool ok = xpc_get_type(msg) == XPC_TYPE_DICTIONARY && joined == "ab!" &&
		  xpc_dictionary_get_value(msg, "missing") == nullptr &&
		  XPC_ERROR_CONNECTION_INVALID != XPC_ERROR_CONNECTION_INTERRUPTED &&
		  round_trip("ping") == "ping back" && timer_fires();
	std::printf("macos-cxx: %s %s\n", xpc_dictionary_get_string(msg, "joined"), ok ? "ok" : "FAILED");
	xpc_release(msg);
	xpc_release(list);
	dispatch_release(group);
	dispatch_release(queue);
	return ok ? 0 : 1;
}
