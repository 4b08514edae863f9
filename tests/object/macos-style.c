/* SPDX-License-Identifier: MIT */
/*
 * macos-style.c - a program written as one would on macOS: only <xpc/xpc.h>,
 * blocks for iteration, the usual create/set/get/release idioms.  It builds
 * a request, walks it, copies it, inspects the error constants, and exits
 * non-zero if any result differs from what macOS gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xpc/xpc.h>

static int failures;

#define EXPECT(cond)                                                     \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "line %d: %s\n", __LINE__, #cond); \
			failures++;                                      \
		}                                                        \
	} while (0)

static xpc_object_t make_request(void)
{
	xpc_object_t message = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t files = xpc_array_create(NULL, 0);

	xpc_dictionary_set_string(message, "command", "resize");
	xpc_dictionary_set_int64(message, "width", 640);
	xpc_dictionary_set_uint64(message, "height", 480);
	xpc_dictionary_set_double(message, "scale", 2.0);
	xpc_dictionary_set_bool(message, "async", true);
	xpc_dictionary_set_date(message, "sent", 1700000000LL * 1000000000LL);
	xpc_dictionary_set_data(message, "blob", "\x01\x02\x03", 3);
	for (int i = 0; i < 3; i++)
		xpc_array_set_string(files, XPC_ARRAY_APPEND, i == 0 ? "a.png" : i == 1 ? "b.png" : "c.png");
	xpc_dictionary_set_value(message, "files", files);
	xpc_release(files);
	return message;
}

int main(void)
{
	xpc_object_t message = make_request(), copy;
	__block size_t keys = 0, names_len = 0;
	__block bool saw_command = false;
	char *description;

	EXPECT(xpc_get_type(message) == XPC_TYPE_DICTIONARY);
	EXPECT(xpc_dictionary_get_count(message) == 8);
	EXPECT(strcmp(xpc_dictionary_get_string(message, "command"), "resize") == 0);
	EXPECT(xpc_dictionary_get_int64(message, "width") == 640);
	EXPECT(xpc_dictionary_get_int64(message, "height") == 0); /* it is a uint64 */
	EXPECT(xpc_dictionary_get_uint64(message, "height") == 480);

	xpc_dictionary_apply(message, ^bool(const char *key, xpc_object_t value) {
		keys++;
		if (strcmp(key, "command") == 0)
			saw_command = xpc_get_type(value) == XPC_TYPE_STRING;
		return true;
	});
	EXPECT(keys == 8 && saw_command);

	xpc_object_t files = xpc_dictionary_get_value(message, "files");
	EXPECT(xpc_array_get_count(files) == 3);
	xpc_array_apply(files, ^bool(size_t index, xpc_object_t value) {
		names_len += xpc_string_get_length(value);
		return true;
	});
	EXPECT(names_len == 15);

	copy = xpc_copy(message);
	EXPECT(xpc_equal(copy, message));
	EXPECT(xpc_hash(copy) == xpc_hash(message));
	xpc_dictionary_set_value(copy, "files", NULL);
	EXPECT(!xpc_equal(copy, message));
	EXPECT(xpc_dictionary_get_count(message) == 8);
	xpc_release(copy);

	/* not a received message: no reply, no remote connection */
	EXPECT(xpc_dictionary_create_reply(message) == NULL);
	EXPECT(xpc_dictionary_get_remote_connection(message) == NULL);

	xpc_object_t event = XPC_ERROR_CONNECTION_INTERRUPTED;
	if (xpc_get_type(event) == XPC_TYPE_ERROR) {
		const char *why = xpc_dictionary_get_string(event, XPC_ERROR_KEY_DESCRIPTION);

		EXPECT(event != XPC_ERROR_CONNECTION_INVALID);
		EXPECT(why && strcmp(why, "Connection interrupted") == 0);
	} else {
		EXPECT(!"error type");
	}

	description = xpc_copy_description(message);
	EXPECT(description && strncmp(description, "<dictionary: 0x", 15) == 0);
	EXPECT(description && strstr(description, "\"command\" => <string: 0x") != NULL);
	free(description);

	xpc_object_t answer = xpc_bool_create(true);
	EXPECT(answer == XPC_BOOL_TRUE && xpc_bool_get_value(answer));
	xpc_release(answer);
	xpc_release(message);
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
