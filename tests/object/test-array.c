/* SPDX-License-Identifier: MIT */
/*
 * test-array.c - arrays: create (retains), append, set (replaces, releases
 * the old value), every typed setter with XPC_ARRAY_APPEND and with an
 * index, every typed getter including the zero values for a missing index
 * or another type, apply (block and _f, early stop), get_array/dictionary,
 * and the misuse aborts (index out of range, NULL value).
 */
#include <fcntl.h>
#include <stdlib.h>

#include "object-test.h"

static bool stop_at_two(void *ctx, size_t index, xpc_object_t value);

static void test_basic(void)
{
	xpc_object_t v[3] = {xpc_int64_create(1), xpc_string_create("two"), XPC_BOOL_TRUE};
	xpc_object_t a = xpc_array_create(v, 3), r;

	REQUIRE(a);
	CHECK(xpc_get_type(a) == XPC_TYPE_ARRAY);
	CHECK_EQ_INT(xpc_array_get_count(a), 3);
	CHECK_EQ_INT(refcount_of(v[0]), 2); /* retained by the array */
	CHECK(xpc_array_get_value(a, 1) == v[1]);
	CHECK(xpc_array_get_value(a, 3) == NULL);
	CHECK(xpc_array_get_value(a, XPC_ARRAY_APPEND) == NULL);
	r = xpc_double_create(1.5);
	xpc_array_set_value(a, 0, r);
	CHECK_EQ_INT(refcount_of(v[0]), 1); /* replaced value released */
	CHECK(xpc_array_get_double(a, 0) == 1.5);
	xpc_array_append_value(a, r);
	CHECK_EQ_INT(xpc_array_get_count(a), 4);
	xpc_array_set_value(a, XPC_ARRAY_APPEND, r);
	CHECK_EQ_INT(xpc_array_get_count(a), 5);
	CHECK_EQ_INT(refcount_of(r), 4);
	xpc_release(r);
	xpc_release(v[0]);
	xpc_release(v[1]);
	xpc_release(a);
	a = xpc_array_create(NULL, 0);
	REQUIRE(a);
	CHECK_EQ_INT(xpc_array_get_count(a), 0);
	xpc_release(a);
	CHECK(xpc_array_create(NULL, 2) == NULL);
	{
		xpc_object_t with_null[2] = {XPC_BOOL_TRUE, NULL};

		CHECK(xpc_array_create(with_null, 2) == NULL);
	}
	CHECK(!xpc_array_apply_f(NULL, NULL, stop_at_two));
	CHECK_EQ_INT(xpc_array_get_count(NULL), 0);
	CHECK_EQ_INT(xpc_array_get_count(XPC_BOOL_TRUE), 0);
}

static void test_typed(void)
{
	xpc_object_t a = xpc_array_create_empty(), inner = xpc_array_create_empty();
	xpc_object_t dict = xpc_dictionary_create_empty();
	uuid_t u = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	size_t len = 99;
	int fd;

	REQUIRE(a && inner && dict);
	xpc_array_set_bool(a, XPC_ARRAY_APPEND, true);          /* 0 */
	xpc_array_set_int64(a, XPC_ARRAY_APPEND, -7);           /* 1 */
	xpc_array_set_uint64(a, XPC_ARRAY_APPEND, 7);           /* 2 */
	xpc_array_set_double(a, XPC_ARRAY_APPEND, 0.5);         /* 3 */
	xpc_array_set_date(a, XPC_ARRAY_APPEND, 123);           /* 4 */
	xpc_array_set_data(a, XPC_ARRAY_APPEND, "xyz", 3);      /* 5 */
	xpc_array_set_string(a, XPC_ARRAY_APPEND, "str");       /* 6 */
	xpc_array_set_uuid(a, XPC_ARRAY_APPEND, u);             /* 7 */
	xpc_array_set_fd(a, XPC_ARRAY_APPEND, 0);               /* 8 */
	xpc_array_append_value(a, inner);                       /* 9 */
	xpc_array_append_value(a, dict);                        /* 10 */
	CHECK_EQ_INT(xpc_array_get_count(a), 11);
	CHECK(xpc_array_get_bool(a, 0));
	CHECK_EQ_INT(xpc_array_get_int64(a, 1), -7);
	CHECK_EQ_INT(xpc_array_get_uint64(a, 2), 7);
	CHECK(xpc_array_get_double(a, 3) == 0.5);
	CHECK_EQ_INT(xpc_array_get_date(a, 4), 123);
	CHECK(memcmp(xpc_array_get_data(a, 5, &len), "xyz", 3) == 0);
	CHECK_EQ_INT(len, 3);
	CHECK_STREQ(xpc_array_get_string(a, 6), "str");
	CHECK(memcmp(xpc_array_get_uuid(a, 7), u, 16) == 0);
	fd = xpc_array_dup_fd(a, 8);
	CHECK(fd > 2);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	CHECK(xpc_array_get_array(a, 9) == inner);
	CHECK(xpc_array_get_dictionary(a, 10) == dict);

	/* wrong type or missing index: zero values */
	CHECK(!xpc_array_get_bool(a, 1));
	CHECK_EQ_INT(xpc_array_get_int64(a, 2), 0);
	CHECK_EQ_INT(xpc_array_get_uint64(a, 1), 0);
	CHECK(xpc_array_get_double(a, 1) == 0.0);
	CHECK_EQ_INT(xpc_array_get_date(a, 1), 0);
	len = 99;
	CHECK(xpc_array_get_data(a, 6, &len) == NULL);
	CHECK_EQ_INT(len, 0);
	CHECK(xpc_array_get_string(a, 5) == NULL);
	CHECK(xpc_array_get_uuid(a, 6) == NULL);
	CHECK_EQ_INT(xpc_array_dup_fd(a, 6), -1);
	CHECK(xpc_array_get_array(a, 10) == NULL);
	CHECK(xpc_array_get_dictionary(a, 9) == NULL);
	CHECK(xpc_array_get_string(a, 100) == NULL);
	CHECK_EQ_INT(xpc_array_get_int64(NULL, 0), 0);
	CHECK_EQ_INT(xpc_array_dup_fd(a, 100), -1);

	/* typed setters at an index replace */
	xpc_array_set_int64(a, 1, 99);
	CHECK_EQ_INT(xpc_array_get_int64(a, 1), 99);
	xpc_array_set_string(a, 0, "now a string");
	CHECK_STREQ(xpc_array_get_string(a, 0), "now a string");
	CHECK_EQ_INT(xpc_array_get_count(a), 11);
	xpc_release(inner);
	xpc_release(dict);
	xpc_release(a);
}

static bool stop_at_two(void *ctx, size_t index, xpc_object_t value)
{
	size_t *seen = ctx;

	(*seen)++;
	return index < 2;
}

static void test_apply(void)
{
	xpc_object_t a = xpc_array_create_empty();
	__block int64_t sum = 0;
	__block size_t expect = 0;
	size_t seen = 0;

	REQUIRE(a);
	for (int i = 0; i < 10; i++)
		xpc_array_set_int64(a, XPC_ARRAY_APPEND, i);
	CHECK(xpc_array_apply(a, ^bool(size_t index, xpc_object_t value) {
		CHECK_EQ_INT(index, expect);
		expect++;
		sum += xpc_int64_get_value(value);
		return true;
	}));
	CHECK_EQ_INT(sum, 45);
	CHECK(!xpc_array_apply(a, ^bool(size_t index, xpc_object_t value) {
		return index != 4;
	}));
	CHECK(!xpc_array_apply_f(a, &seen, stop_at_two));
	CHECK_EQ_INT(seen, 3);
	seen = 0;
	xpc_release(a);
	a = xpc_array_create_empty();
	CHECK(xpc_array_apply_f(a, &seen, stop_at_two));
	CHECK_EQ_INT(seen, 0);
	xpc_release(a);
}

static void misuse_set_out_of_range(void *arg)
{
	xpc_object_t a = xpc_array_create_empty();

	xpc_array_set_value(a, 0, XPC_BOOL_TRUE);
}

static void misuse_typed_out_of_range(void *arg)
{
	xpc_object_t a = xpc_array_create_empty();

	xpc_array_append_value(a, XPC_BOOL_TRUE);
	xpc_array_set_int64(a, 5, 1);
}

static void misuse_null_value(void *arg)
{
	xpc_object_t a = xpc_array_create_empty();

	xpc_array_append_value(a, NULL);
}

static void misuse_not_array(void *arg)
{
	xpc_object_t d = xpc_dictionary_create_empty();

	xpc_array_append_value(d, XPC_BOOL_TRUE);
}

int main(void)
{
	harness_begin(60);
	test_basic();
	test_typed();
	test_apply();
	CHECK(expect_misuse(misuse_set_out_of_range, NULL));
	CHECK(expect_misuse(misuse_typed_out_of_range, NULL));
	CHECK(expect_misuse(misuse_null_value, NULL));
	CHECK(expect_misuse(misuse_not_array, NULL));
	return harness_end();
}
