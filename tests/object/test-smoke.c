/* SPDX-License-Identifier: MIT */
/*
 * test-smoke.c - the object layer's core in one pass: scalars, strings,
 * containers, errors and a description.
 */
#include <string.h>
#include <xpc/xpc.h>

#include "harness.h"

int main(void)
{
	xpc_object_t d, a, s;
	char *desc;

	harness_begin(30);
	d = xpc_dictionary_create(NULL, NULL, 0);
	REQUIRE(d);
	xpc_dictionary_set_string(d, "key", "hello");
	xpc_dictionary_set_int64(d, "n", 42);
	CHECK_STREQ(xpc_dictionary_get_string(d, "key"), "hello");
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "n"), 42);
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 2);
	a = xpc_array_create_empty();
	xpc_array_set_uint64(a, XPC_ARRAY_APPEND, 7);
	xpc_dictionary_set_value(d, "a", a);
	xpc_release(a);
	CHECK_EQ_INT(xpc_array_get_uint64(xpc_dictionary_get_array(d, "a"), 0), 7);
	s = xpc_copy(d);
	CHECK(xpc_equal(s, d));
	CHECK(xpc_hash(s) == xpc_hash(d));
	xpc_release(s);
	desc = xpc_copy_description(d);
	REQUIRE(desc);
	CHECK(strstr(desc, "<dictionary: 0x") == desc);
	CHECK(strstr(desc, "\t\"n\" => <int64: 0x") != NULL);
	free(desc);
	CHECK(xpc_get_type(XPC_ERROR_CONNECTION_INVALID) == XPC_TYPE_ERROR);
	CHECK_STREQ(xpc_dictionary_get_string(XPC_ERROR_CONNECTION_INVALID, XPC_ERROR_KEY_DESCRIPTION),
		    "Connection invalid");
	CHECK(xpc_bool_create(true) == XPC_BOOL_TRUE);
	xpc_release(d);
	return harness_end();
}
