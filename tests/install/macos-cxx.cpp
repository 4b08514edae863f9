/*
 * macos-cxx.cpp - the XPC and dispatch headers used from C++ (clang++
 * -fblocks), as an Objective-C++-free macOS C++ program uses them: queue
 * types convert to dispatch_object_t, blocks capture C++ locals, and the
 * extern "C" guards give C linkage.  Built and run by test-install.sh.
 */
#include <xpc/xpc.h>
#include <dispatch/dispatch.h>

#include <cstdio>
#include <string>

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
		  XPC_ERROR_CONNECTION_INVALID != XPC_ERROR_CONNECTION_INTERRUPTED;
	std::printf("macos-cxx: %s %s\n", xpc_dictionary_get_string(msg, "joined"), ok ? "ok" : "FAILED");
	xpc_release(msg);
	xpc_release(list);
	dispatch_release(group);
	dispatch_release(queue);
	return ok ? 0 : 1;
}
