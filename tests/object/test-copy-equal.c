/* SPDX-License-Identifier: MIT */
/*
 * test-copy-equal.c - xpc_copy (deep for containers, retain for immutables),
 * xpc_equal (same type, element-wise) and xpc_hash (equal => equal hash).
 */
#include <stdlib.h>

#include "object-test.h"

static xpc_object_t build(int variant)
{
	xpc_object_t d = xpc_dictionary_create_empty(), a = xpc_array_create_empty();
	xpc_object_t inner = xpc_dictionary_create_empty();
	uuid_t u = {1};

	REQUIRE(d && a && inner);
	xpc_dictionary_set_string(inner, "s", "str");
	xpc_dictionary_set_data(inner, "d", "abc", 3);
	xpc_array_set_int64(a, XPC_ARRAY_APPEND, 1);
	xpc_array_set_double(a, XPC_ARRAY_APPEND, 2.5);
	xpc_array_append_value(a, inner);
	xpc_dictionary_set_value(d, "array", a);
	xpc_dictionary_set_uint64(d, "u", 7);
	xpc_dictionary_set_uuid(d, "uuid", u);
	xpc_dictionary_set_date(d, "date", 99);
	xpc_dictionary_set_bool(d, "b", variant == 0);
	xpc_dictionary_set_value(d, "null", xpc_null_create());
	xpc_release(inner);
	xpc_release(a);
	return d;
}

static void test_deep_copy(void)
{
	xpc_object_t d = build(0), c = xpc_copy(d), inner_d, inner_c;

	REQUIRE(c);
	CHECK(c != d);
	CHECK(xpc_equal(c, d) && xpc_equal(d, c));
	CHECK(xpc_hash(c) == xpc_hash(d));
	CHECK(xpc_dictionary_get_array(c, "array") != xpc_dictionary_get_array(d, "array"));
	inner_d = xpc_array_get_dictionary(xpc_dictionary_get_array(d, "array"), 2);
	inner_c = xpc_array_get_dictionary(xpc_dictionary_get_array(c, "array"), 2);
	CHECK(inner_c && inner_c != inner_d);
	/* immutables inside are shared, not duplicated */
	CHECK(xpc_dictionary_get_value(inner_c, "s") == xpc_dictionary_get_value(inner_d, "s"));
	/* mutating the copy leaves the original alone */
	xpc_dictionary_set_string(inner_c, "s", "changed");
	CHECK_STREQ(xpc_dictionary_get_string(inner_d, "s"), "str");
	CHECK(!xpc_equal(c, d));
	xpc_release(c);
	xpc_release(d);
}

static void test_inequality(void)
{
	xpc_object_t a = build(0), b = build(1), i = xpc_int64_create(1), u = xpc_uint64_create(1);
	xpc_object_t arr1 = xpc_array_create_empty(), arr2 = xpc_array_create_empty();
	xpc_object_t e1 = xpc_dictionary_create_empty(), e2 = xpc_dictionary_create_empty();

	CHECK(!xpc_equal(a, b));
	CHECK(!xpc_equal(i, u)); /* same value, different type */
	CHECK(xpc_equal(arr1, arr2) && xpc_hash(arr1) == xpc_hash(arr2));
	CHECK(xpc_equal(e1, e2) && xpc_hash(e1) == xpc_hash(e2));
	CHECK(!xpc_equal(arr1, e1));
	xpc_array_set_int64(arr1, XPC_ARRAY_APPEND, 1);
	xpc_array_set_int64(arr1, XPC_ARRAY_APPEND, 2);
	xpc_array_set_int64(arr2, XPC_ARRAY_APPEND, 2);
	xpc_array_set_int64(arr2, XPC_ARRAY_APPEND, 1);
	CHECK(!xpc_equal(arr1, arr2)); /* order matters in arrays */
	xpc_dictionary_set_int64(e1, "x", 1);
	xpc_dictionary_set_int64(e1, "y", 2);
	xpc_dictionary_set_int64(e2, "y", 2);
	xpc_dictionary_set_int64(e2, "x", 1);
	CHECK(xpc_equal(e1, e2) && xpc_hash(e1) == xpc_hash(e2)); /* not in dictionaries */
	xpc_dictionary_set_int64(e2, "z", 3);
	CHECK(!xpc_equal(e1, e2));
	xpc_dictionary_set_value(e2, "z", NULL);
	xpc_dictionary_set_int64(e2, "x", 5);
	CHECK(!xpc_equal(e1, e2));
	xpc_release(a);
	xpc_release(b);
	xpc_release(i);
	xpc_release(u);
	xpc_release(arr1);
	xpc_release(arr2);
	xpc_release(e1);
	xpc_release(e2);
}

static void test_hash_spread(void)
{
	size_t h[64];
	int same = 0;

	for (int i = 0; i < 64; i++) {
		xpc_object_t s = xpc_string_create_with_format("s%d", i);

		h[i] = xpc_hash(s);
		xpc_release(s);
	}
	for (int i = 0; i < 64; i++)
		for (int j = i + 1; j < 64; j++)
			same += h[i] == h[j];
	CHECK_EQ_INT(same, 0);
	CHECK_EQ_INT(xpc_hash(NULL), 0);
}

int main(void)
{
	harness_begin(30);
	test_deep_copy();
	test_inequality();
	test_hash_spread();
	return harness_end();
}
